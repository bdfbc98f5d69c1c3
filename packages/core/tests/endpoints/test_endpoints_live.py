"""Endpoints on real loopback sockets with a fresh reactor per test (the pytest plugin's
``reactor`` fixture), run by the top-level conftest's ``wait`` fixture."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glisten.internet._haproxy import buildV1, buildV2
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.defer import Deferred
from glisten.internet.endpoints import (
    AdoptedStreamServerEndpoint,
    HostnameEndpoint,
    TCP4ClientEndpoint,
    clientFromString,
    connectProtocol,
    quoteStringArgument,
    serverFromString,
)
from glisten.internet.error import ConnectError, ConnectingCancelledError, DNSLookupError
from glisten.internet.protocol import Factory, Protocol
from glisten.logger import capturedLogs

GUARD = 30.0


class Echo(Protocol):
    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.transport.write(
            f"peer={getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')};".encode()
        )

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    def __init__(self, expect: bytes) -> None:
        self.expect = expect
        self.received = b""
        self.done: Deferred[bytes] = Deferred()
        self.closed: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.received.endswith(self.expect) and not self.done.called:
            self.done.callback(self.received)

    def connectionLost(self, reason: Any) -> None:
        if not self.done.called:
            self.done.errback(reason)
        self.closed.callback(None)


async def exchange(
    port: Any, clientEndpoint: Any, send: bytes, expect: bytes | None = None
) -> bytes:
    client = Client(send if expect is None else expect)
    await connectProtocol(clientEndpoint, client)
    client.transport.write(send)
    received = await client.done
    client.transport.loseConnection()
    await client.closed
    await port.stopListening()
    return received


def serve(reactor: Any, description: str) -> Deferred[Any]:
    d: Deferred[Any] = serverFromString(reactor, description).listen(Factory.forProtocol(Echo))
    return d


def test_tcp_round_trip(reactor: Any, wait: Any) -> None:
    async def work() -> bytes:
        port = await serve(reactor, "tcp:0:interface=127.0.0.1")
        number = port.getHost().port
        endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{number}")
        return await exchange(port, endpoint, b"hello")

    received = wait(lambda: Deferred.fromCoroutine(work()))
    assert received.startswith(b"peer=127.0.0.1:") and received.endswith(b";hello")


def test_tcp6_round_trip(reactor: Any, wait: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def work() -> bytes:
        port = await serve(reactor, r"tcp6:0:interface=\:\:1")
        endpoint = clientFromString(reactor, rf"tcp:\:\:1:{port.getHost().port}")
        return await exchange(port, endpoint, b"six")

    assert wait(lambda: Deferred.fromCoroutine(work())).endswith(b";six")


def test_unix_round_trip(reactor: Any, tmp_path: Path, wait: Any) -> None:
    path = tmp_path / "s.sock"

    async def work() -> bytes:
        port = await serve(reactor, f"unix:{path}:mode=600")
        assert (os.stat(path).st_mode & 0o777) == 0o600
        return await exchange(port, clientFromString(reactor, f"unix:{path}"), b"u")

    assert wait(lambda: Deferred.fromCoroutine(work())).endswith(b"u")


@pytest.mark.parametrize("version", [1, 2])
def test_haproxy_real_peer(reactor: Any, version: int, wait: Any) -> None:
    claimed = IPv4Address("TCP", "203.0.113.9", 4242)

    async def work() -> bytes:
        port = await serve(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        local = IPv4Address("TCP", "127.0.0.1", port.getHost().port)
        header = buildV1(claimed, local) if version == 1 else buildV2(claimed, local)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return await exchange(port, endpoint, header + b"data", b"data")

    assert wait(lambda: Deferred.fromCoroutine(work())) == b"peer=203.0.113.9:4242;data"


def test_haproxy_v2_ipv6_real_peer(reactor: Any, wait: Any) -> None:
    claimed = IPv6Address("TCP", "2001:db8::9", 80)

    async def work() -> bytes:
        port = await serve(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        header = buildV2(claimed, IPv6Address("TCP", "2001:db8::1", 443))
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return await exchange(port, endpoint, header + b"x", b";x")

    assert wait(lambda: Deferred.fromCoroutine(work())) == b"peer=2001:db8::9:80;x"


def test_haproxy_bad_header_closes_connection(reactor: Any, wait: Any) -> None:
    async def work() -> tuple[bytes, list[Any]]:
        port = await serve(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        client = Client(b"never")
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        with capturedLogs() as events:
            await connectProtocol(endpoint, client)
            client.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await client.closed
        await port.stopListening()
        return client.received, events

    received, events = wait(lambda: Deferred.fromCoroutine(work()))
    assert received == b""
    assert len([e for e in events if "invalid PROXY header" in e.get("log_format", "")]) == 1


@pytest.mark.parametrize(
    ("family", "host", "clientHost"),
    [(socket.AF_INET, "127.0.0.1", "127.0.0.1"), (socket.AF_INET6, "::1", r"\:\:1")],
)
def test_adopted_socket(reactor: Any, family: int, host: str, clientHost: str, wait: Any) -> None:
    listening = socket.socket(family)
    listening.bind((host, 0))
    listening.listen()
    number = listening.getsockname()[1]
    fd = os.dup(listening.fileno())
    listening.close()

    async def work() -> bytes:
        endpoint = AdoptedStreamServerEndpoint(reactor, fd, family)
        port = await endpoint.listen(Factory.forProtocol(Echo))
        again: list[Any] = []
        endpoint.listen(Factory()).addErrback(again.append)
        assert again  # an adopted socket can only be listened on once
        client = clientFromString(reactor, f"tcp:{clientHost}:{number}")
        return await exchange(port, client, b"adopted")

    assert wait(lambda: Deferred.fromCoroutine(work())).endswith(b";adopted")
    with pytest.raises(OSError):
        os.fstat(fd)  # the endpoint closed the original descriptor


def test_hostname_endpoint_races_to_the_working_family(reactor: Any, wait: Any) -> None:
    # "localhost" usually resolves to ::1 and 127.0.0.1; only the IPv4 one listens, so the
    # IPv6 attempt is refused and the race falls through to IPv4.
    async def work() -> bytes:
        port = await serve(reactor, "tcp:0:interface=127.0.0.1")
        endpoint = HostnameEndpoint(reactor, "localhost", port.getHost().port)
        return await exchange(port, endpoint, b"named")

    assert wait(lambda: Deferred.fromCoroutine(work())).endswith(b";named")


def test_hostname_endpoint_all_refused(reactor: Any, wait: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closedPort = s.getsockname()[1]
    endpoint = HostnameEndpoint(reactor, "127.0.0.1", closedPort)
    with pytest.raises(ConnectError):
        wait(lambda: endpoint.connect(Factory.forProtocol(Protocol)))


def test_hostname_endpoint_unknown_name(reactor: Any, wait: Any) -> None:
    endpoint = HostnameEndpoint(reactor, "no-such-host.invalid", 80)
    with pytest.raises(DNSLookupError):
        wait(lambda: endpoint.connect(Factory.forProtocol(Protocol)))


def test_hostname_endpoint_cancel(reactor: Any, wait: Any) -> None:
    endpoint = HostnameEndpoint(reactor, "no-such-host.invalid", 80)

    def work() -> Deferred[Any]:
        d = endpoint.connect(Factory.forProtocol(Protocol))
        d.cancel()
        return d

    with pytest.raises(ConnectingCancelledError):
        wait(work)


def test_listen_error_is_a_failed_deferred(reactor: Any, tmp_path: Path, wait: Any) -> None:
    from glisten.internet.error import CannotListenError

    with pytest.raises(CannotListenError):
        wait(lambda: serve(reactor, f"unix:{tmp_path}/missing/dir/s.sock"))


def test_tls_server_and_verified_client(
    reactor: Any, tmp_path: Path, makeCertificate: Any, wait: Any
) -> None:
    keyPath, certPath = makeCertificate(tmp_path)
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(certPath.read_bytes())

    async def work() -> bytes:
        port = await serve(
            reactor, f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"
        )
        number = port.getHost().port
        nested = quoteStringArgument(f"tcp:127.0.0.1:{number}")
        endpoint = clientFromString(
            reactor, f"tls:localhost:{number}:trustRoots={roots}:endpoint={nested}"
        )
        return await exchange(port, endpoint, b"secret")

    assert wait(lambda: Deferred.fromCoroutine(work())).endswith(b";secret")


def test_tls_client_rejects_unknown_authority(
    reactor: Any, tmp_path: Path, makeCertificate: Any, wait: Any
) -> None:
    keyPath, certPath = makeCertificate(tmp_path)
    _, otherCert = makeCertificate(tmp_path, "other")
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(otherCert.read_bytes())

    async def work() -> bytes:
        port = await serve(
            reactor, f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"
        )
        number = port.getHost().port
        nested = quoteStringArgument(f"tcp:127.0.0.1:{number}")
        endpoint = clientFromString(
            reactor, f"tls:localhost:{number}:trustRoots={roots}:endpoint={nested}"
        )
        try:
            return await exchange(port, endpoint, b"secret")
        finally:
            await port.stopListening()

    with pytest.raises(Exception) as caught:
        wait(lambda: Deferred.fromCoroutine(work()))
    assert "certificate" in str(caught.value).lower() or "verify" in str(caught.value).lower()


def test_process_endpoint(reactor: Any, wait: Any) -> None:
    from glisten.internet.endpoints import ProcessEndpoint

    async def work() -> bytes:
        client = Client(b"through cat")
        endpoint = ProcessEndpoint(reactor, "/bin/cat", ["cat"], env=dict(os.environ))
        await connectProtocol(endpoint, client)
        client.transport.write(b"through cat")
        received = await client.done
        client.transport.closeStdin()
        await client.closed
        return received

    assert wait(lambda: Deferred.fromCoroutine(work())) == b"through cat"


def test_process_endpoint_reports_stderr(reactor: Any, wait: Any) -> None:
    from glisten.internet.endpoints import ProcessEndpoint

    async def work() -> Any:
        client = Client(b"never")
        client.done.addErrback(lambda f: None)  # the child writes nothing to stdout
        endpoint = ProcessEndpoint(
            reactor, sys.executable, [sys.executable, "-c", "import sys; sys.stderr.write('oops')"]
        )
        with capturedLogs() as events:
            await connectProtocol(endpoint, client)
            await client.closed
        return events

    events = wait(lambda: Deferred.fromCoroutine(work()))
    assert any(e.get("data") == b"oops" for e in events)


def test_stdio_endpoint_via_the_runner(tmp_path: Path) -> None:
    helper = Path(__file__).parent.parent / "application" / "runservice_helper.py"
    process = subprocess.Popen(
        [sys.executable, str(helper), "echo", "stdio:", "--log-file", str(tmp_path / "log")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"over stdio")
        process.stdin.flush()
        assert process.stdout.read(len(b"over stdio")) == b"over stdio"
        process.send_signal(signal.SIGTERM)
        process.stdin.close()
        assert process.wait(timeout=GUARD) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()  # type: ignore[union-attr]


TLS_CLIENT = """
import socket, ssl, sys
port, cafile, header = int(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3])
raw = socket.create_connection(("127.0.0.1", port), timeout=30)
raw.sendall(header)  # the PROXY header goes in clear text, before the handshake
context = ssl.create_default_context(cafile=cafile)
with context.wrap_socket(raw, server_hostname="localhost") as tls:
    tls.sendall(b"over tls")
    received = b""
    while not received.endswith(b"over tls"):
        chunk = tls.recv(100)
        if not chunk:
            break
        received += chunk
sys.stdout.write(received.decode())
"""


def test_haproxy_in_front_of_tls(
    reactor: Any, tmp_path: Path, makeCertificate: Any, wait: Any
) -> None:
    from glisten.internet.endpoints import ProcessEndpoint

    keyPath, certPath = makeCertificate(tmp_path)
    claimed = IPv4Address("TCP", "198.51.100.23", 5555)

    async def work() -> bytes:
        port = await serve(
            reactor,
            f"haproxy:ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        )
        number = port.getHost().port
        header = buildV2(claimed, IPv4Address("TCP", "127.0.0.1", number))
        client = Client(b"over tls")
        endpoint = ProcessEndpoint(
            reactor,
            sys.executable,
            [sys.executable, "-c", TLS_CLIENT, str(number), str(certPath), header.hex()],
            env=dict(os.environ),
        )
        await connectProtocol(endpoint, client)
        received = await client.done
        await client.closed
        await port.stopListening()
        return received

    received = wait(lambda: Deferred.fromCoroutine(work()))
    assert received == b"peer=198.51.100.23:5555;over tls"


def test_client_service_reconnects_on_a_real_reactor(reactor: Any, wait: Any) -> None:
    from glisten.application.internet import ClientService

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        number = s.getsockname()[1]

    async def work() -> list[str]:
        events: list[str] = []
        service = ClientService(
            TCP4ClientEndpoint(reactor, "127.0.0.1", number),
            Factory.forProtocol(Protocol),
            retryPolicy=lambda attempt: 0.01,
            clock=reactor,
        )
        service.startService()
        try:
            await service.whenConnected(failAfterFailures=1)
        except ConnectError:
            events.append("refused while nobody listens")
        port = await serve(reactor, f"tcp:{number}:interface=127.0.0.1")
        first = await service.whenConnected()
        events.append("connected")
        lost: Deferred[None] = Deferred()
        original = first.connectionLost

        def noticeLoss(reason: Any) -> None:
            original(reason)
            lost.callback(None)

        first.connectionLost = noticeLoss
        first.transport.loseConnection()
        await lost
        second = await service.whenConnected()
        events.append("reconnected" if second is not first else "same protocol")
        await service.stopService()
        await port.stopListening()
        return events

    assert wait(lambda: Deferred.fromCoroutine(work())) == [
        "refused while nobody listens",
        "connected",
        "reconnected",
    ]
