"""Endpoints on real loopback sockets with a fresh reactor per test."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet._haproxy import buildV1, buildV2
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.defer import Deferred
from glisten.internet.endpoints import (
    AdoptedStreamServerEndpoint,
    HostnameEndpoint,
    TCP4ClientEndpoint,
    clientFromString,
    connectProtocol,
    serverFromString,
)
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.error import ConnectError, ConnectingCancelledError, DNSLookupError
from glisten.internet.protocol import Factory, Protocol
from glisten.logger import capturedLogs

GUARD = 30.0


@pytest.fixture
def reactor() -> Iterator[EPollReactor]:
    r = EPollReactor()
    yield r


def run(reactor: EPollReactor, work: Callable[[], Deferred[Any]]) -> Any:
    """Run ``work()`` on the reactor until its Deferred fires; return or raise its result."""
    outcome: list[Any] = []

    def start() -> None:
        d = defer.maybeDeferred(work)
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.stop())

    def guard() -> None:
        outcome.append(TimeoutError("the reactor test did not finish"))
        reactor.stop()

    reactor.callWhenRunning(start)
    timer = reactor.callLater(GUARD, guard)
    reactor.run(installSignalHandlers=False)
    if timer.active():
        timer.cancel()
    result = outcome[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    if isinstance(result, BaseException):
        raise result
    return result


class Echo(Protocol):
    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.transport.write(f"peer={getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')};".encode())

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


async def exchange(port: Any, clientEndpoint: Any, send: bytes) -> bytes:
    client = Client(send)
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


def test_tcp_round_trip(reactor: EPollReactor) -> None:
    async def work() -> bytes:
        port = await serve(reactor, "tcp:0:interface=127.0.0.1")
        number = port.getHost().port
        endpoint = clientFromString(reactor, f"tcp:127.0.0.1:{number}")
        return await exchange(port, endpoint, b"hello")

    received = run(reactor, lambda: Deferred.fromCoroutine(work()))
    assert received.startswith(b"peer=127.0.0.1:") and received.endswith(b";hello")


def test_tcp6_round_trip(reactor: EPollReactor) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def work() -> bytes:
        port = await serve(reactor, r"tcp6:0:interface=\:\:1")
        endpoint = clientFromString(reactor, rf"tcp:\:\:1:{port.getHost().port}")
        return await exchange(port, endpoint, b"six")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())).endswith(b";six")


def test_unix_round_trip(reactor: EPollReactor, tmp_path: Path) -> None:
    path = tmp_path / "s.sock"

    async def work() -> bytes:
        port = await serve(reactor, f"unix:{path}:mode=600")
        assert (os.stat(path).st_mode & 0o777) == 0o600
        return await exchange(port, clientFromString(reactor, f"unix:{path}"), b"u")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())).endswith(b"u")


@pytest.mark.parametrize("version", [1, 2])
def test_haproxy_real_peer(reactor: EPollReactor, version: int) -> None:
    claimed = IPv4Address("TCP", "203.0.113.9", 4242)

    async def work() -> bytes:
        port = await serve(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        local = IPv4Address("TCP", "127.0.0.1", port.getHost().port)
        header = buildV1(claimed, local) if version == 1 else buildV2(claimed, local)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return await exchange(port, endpoint, header + b"data")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())) == b"peer=203.0.113.9:4242;data"


def test_haproxy_v2_ipv6_real_peer(reactor: EPollReactor) -> None:
    claimed = IPv6Address("TCP", "2001:db8::9", 80)

    async def work() -> bytes:
        port = await serve(reactor, "haproxy:tcp:0:interface=127.0.0.1")
        header = buildV2(claimed, IPv6Address("TCP", "2001:db8::1", 443))
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return await exchange(port, endpoint, header + b"x")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())) == b"peer=2001:db8::9:80;x"


def test_haproxy_bad_header_closes_connection(reactor: EPollReactor) -> None:
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

    received, events = run(reactor, lambda: Deferred.fromCoroutine(work()))
    assert received == b""
    assert len([e for e in events if "invalid PROXY header" in e.get("log_format", "")]) == 1


def test_adopted_socket(reactor: EPollReactor) -> None:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    number = listening.getsockname()[1]
    fd = os.dup(listening.fileno())
    listening.close()

    async def work() -> bytes:
        endpoint = AdoptedStreamServerEndpoint(reactor, fd, socket.AF_INET)
        port = await endpoint.listen(Factory.forProtocol(Echo))
        again: list[Any] = []
        endpoint.listen(Factory()).addErrback(again.append)
        assert again  # an adopted socket can only be listened on once
        client = TCP4ClientEndpoint(reactor, "127.0.0.1", number)
        return await exchange(port, client, b"adopted")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())).endswith(b";adopted")
    with pytest.raises(OSError):
        os.fstat(fd)  # the endpoint closed the original descriptor


def test_hostname_endpoint_races_to_the_working_family(reactor: EPollReactor) -> None:
    # "localhost" usually resolves to ::1 and 127.0.0.1; only the IPv4 one listens, so the
    # IPv6 attempt is refused and the race falls through to IPv4.
    async def work() -> bytes:
        port = await serve(reactor, "tcp:0:interface=127.0.0.1")
        endpoint = HostnameEndpoint(reactor, "localhost", port.getHost().port)
        return await exchange(port, endpoint, b"named")

    assert run(reactor, lambda: Deferred.fromCoroutine(work())).endswith(b";named")


def test_hostname_endpoint_all_refused(reactor: EPollReactor) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closedPort = s.getsockname()[1]
    endpoint = HostnameEndpoint(reactor, "127.0.0.1", closedPort)
    with pytest.raises(ConnectError):
        run(reactor, lambda: endpoint.connect(Factory.forProtocol(Protocol)))


def test_hostname_endpoint_unknown_name(reactor: EPollReactor) -> None:
    endpoint = HostnameEndpoint(reactor, "no-such-host.invalid", 80)
    with pytest.raises(DNSLookupError):
        run(reactor, lambda: endpoint.connect(Factory.forProtocol(Protocol)))


def test_hostname_endpoint_cancel(reactor: EPollReactor) -> None:
    endpoint = HostnameEndpoint(reactor, "no-such-host.invalid", 80)

    def work() -> Deferred[Any]:
        d = endpoint.connect(Factory.forProtocol(Protocol))
        d.cancel()
        return d

    with pytest.raises(ConnectingCancelledError):
        run(reactor, work)


def test_listen_error_is_a_failed_deferred(reactor: EPollReactor, tmp_path: Path) -> None:
    from glisten.internet.error import CannotListenError

    with pytest.raises(CannotListenError):
        run(reactor, lambda: serve(reactor, f"unix:{tmp_path}/missing/dir/s.sock"))
