"""
UDP and Unix sockets on every reactor, plus adopted sockets.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import error
from glisten.internet.address import IPv4Address, IPv6Address, UNIXAddress
from glisten.internet.defer import Deferred
from glisten.internet.interfaces import IFileDescriptorReceiver
from glisten.internet.protocol import ConnectedDatagramProtocol, DatagramProtocol, Factory
from glisten.logger import capturedLogs

from .test_tcp import ClientCatcher, Echo, OneFactory, Recorder, _hasIPv6, _turn


class Datagrams(DatagramProtocol):
    noisy = False

    def __init__(self) -> None:
        self.received: list[tuple[bytes, Any]] = []
        self.waiting: Deferred[Any] | None = None
        self.started = 0
        self.stopped = 0
        self.refused = 0

    def startProtocol(self) -> None:
        self.started += 1

    def stopProtocol(self) -> None:
        self.stopped += 1

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.received.append((data, addr))
        if self.waiting is not None:
            d, self.waiting = self.waiting, None
            d.callback((data, addr))

    def connectionRefused(self) -> None:
        self.refused += 1
        if self.waiting is not None:
            d, self.waiting = self.waiting, None
            d.callback("refused")

    def next(self) -> Deferred[Any]:
        self.waiting = Deferred()
        return self.waiting


def test_udpRoundTrip(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    a, b = Datagrams(), Datagrams()
    pa = r.listenUDP(0, a, interface="127.0.0.1")
    pb = r.listenUDP(0, b, interface="127.0.0.1")
    assert a.started == 1
    host = pa.getHost()
    assert isinstance(host, IPv4Address) and host.type == "UDP"

    async def go() -> Any:
        got = b.next()
        pa.write(b"one", ("127.0.0.1", pb.getHost().port))
        data, addr = await got
        assert addr == ("127.0.0.1", host.port)
        got = a.next()
        b.transport.write(b"two", addr)
        result = await got
        await pa.stopListening()
        assert a.stopped == 1
        return data, result

    data, (data2, _) = runUntil(r, Deferred.fromCoroutine(go()))
    assert (data, data2) == (b"one", b"two")


def test_udpBadInput(anyReactor: Any) -> None:
    r = anyReactor
    p = r.listenUDP(0, Datagrams(), interface="127.0.0.1")
    with pytest.raises(error.InvalidAddressError):
        p.write(b"x", ("localhost", 9))
    with pytest.raises(ValueError):
        p.write(b"x")
    with pytest.raises(TypeError):
        p.write("text", ("127.0.0.1", 9))
    with pytest.raises(error.MessageLengthError):
        p.write(b"x" * 70000, ("127.0.0.1", 9))
    with pytest.raises(error.InvalidAddressError):
        r.listenUDP(0, Datagrams(), interface="localhost")
    with pytest.raises(error.CannotListenError):
        r.listenUDP(p.getHost().port, Datagrams(), interface="127.0.0.1")


def test_udpConnectedRefused(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    closedPort = s.getsockname()[1]
    s.close()
    proto = Datagrams()
    p = r.listenUDP(0, proto, interface="127.0.0.1")
    p.connect("127.0.0.1", closedPort)
    with pytest.raises(RuntimeError):
        p.connect("127.0.0.1", closedPort)
    with pytest.raises(ValueError):
        p.write(b"x", ("127.0.0.1", 1))

    async def go() -> Any:
        got = proto.next()
        p.write(b"anyone?")
        return await got

    assert runUntil(r, Deferred.fromCoroutine(go())) == "refused"


def test_udpExceptionInDatagramReceivedKeepsServing(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor

    class Touchy(Datagrams):
        def datagramReceived(self, data: bytes, addr: Any) -> None:
            if data == b"bad":
                raise ValueError("bad datagram")
            super().datagramReceived(data, addr)

    proto = Touchy()
    p = r.listenUDP(0, proto, interface="127.0.0.1")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def go() -> Any:
        got = proto.next()
        sender.sendto(b"bad", ("127.0.0.1", p.getHost().port))
        sender.sendto(b"good", ("127.0.0.1", p.getHost().port))
        return await got

    try:
        with capturedLogs() as events:
            data, _ = runUntil(r, Deferred.fromCoroutine(go()))
    finally:
        sender.close()
    assert data == b"good"
    assert [e for e in events if "log_failure" in e and e["log_failure"].check(ValueError)]


@pytest.mark.skipif(not _hasIPv6(), reason="no IPv6 loopback")
def test_udpIPv6(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    a, b = Datagrams(), Datagrams()
    pa = r.listenUDP(0, a, interface="::1")
    pb = r.listenUDP(0, b, interface="::1")
    assert isinstance(pa.getHost(), IPv6Address)

    async def go() -> Any:
        got = b.next()
        pa.write(b"six", ("::1", pb.getHost().port))
        return await got

    portA = pa.getHost().port
    data, addr = runUntil(r, Deferred.fromCoroutine(go()))
    assert data == b"six" and addr == ("::1", portA)


def test_multicastOptionsAndLoopback(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    receiver = Datagrams()
    p = r.listenMulticast(0, receiver, listenMultiple=True)
    p.setTTL(2)
    assert p.getTTL() == 2
    with pytest.raises(ValueError):
        p.setTTL(300)
    p.setLoopbackMode(False)
    assert p.getLoopbackMode() is False
    p.setLoopbackMode(True)
    assert p.getLoopbackMode() is True
    group = "239.255.42.99"

    async def go() -> Any:
        await p.setOutgoingInterface("127.0.0.1")
        assert p.getOutgoingInterface() == "127.0.0.1"
        try:
            await p.joinGroup(group, "127.0.0.1")
        except error.MulticastJoinError as e:
            pytest.skip(f"multicast on loopback unavailable here: {e}")
        got = receiver.next()
        p.write(b"to the group", (group, p.getHost().port))
        result = await got
        await p.leaveGroup(group, "127.0.0.1")
        try:
            await p.joinGroup("127.0.0.1")  # not a multicast address
        except error.MulticastJoinError:
            return result
        raise AssertionError("joining a unicast address succeeded")

    data, _ = runUntil(r, Deferred.fromCoroutine(go()))
    assert data == b"to the group"


def test_unixStreamModeLockAndFDPassing(anyReactor: Any, tmp_path: Path, runUntil: Any) -> None:
    r = anyReactor
    path = str(tmp_path / "sock")
    received: list[bytes] = []

    @implementer(IFileDescriptorReceiver)
    class Receiver(Recorder):
        def fileDescriptorReceived(self, descriptor: int) -> None:
            received.append(os.read(descriptor, 100))
            os.close(descriptor)

    server = OneFactory(Receiver)
    port = r.listenUNIX(path, server, mode=0o600, wantPID=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.readlink(path + ".lock") == str(os.getpid())
    assert port.getHost() == UNIXAddress(path)
    # A second listener is refused while the lock is held.
    with pytest.raises(error.CannotListenError):
        r.listenUNIX(path, Factory.forProtocol(Echo), wantPID=True)
    client = Recorder()
    r.connectUNIX(path, ClientCatcher(client), checkPID=True)

    async def go() -> Any:
        await client.made
        rfd, wfd = os.pipe()
        os.write(wfd, b"through the socket")
        os.close(wfd)
        client.transport.sendFileDescriptor(rfd)
        client.transport.write(b"data")
        os.close(rfd)
        sp = await server.connected
        data = await sp.waitFor(4)
        assert client.transport.getPeer() == UNIXAddress(path)
        await port.stopListening()
        return data

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"data"
    assert received == [b"through the socket"]
    assert not os.path.exists(path) and not os.path.exists(path + ".lock")


def test_unixUnwantedDescriptorsClosed(anyReactor: Any, tmp_path: Path, runUntil: Any) -> None:
    r = anyReactor
    path = str(tmp_path / "s")
    server = OneFactory(Recorder)
    r.listenUNIX(path, server)
    client = Recorder()
    r.connectUNIX(path, ClientCatcher(client))

    async def go() -> bytes:
        await client.made
        rfd, wfd = os.pipe()
        client.transport.sendFileDescriptor(rfd)
        client.transport.write(b"x")
        os.close(rfd)
        sp = await server.connected
        data = await sp.waitFor(1)
        # The server did not want the descriptor: with no read end left anywhere, writing to
        # the pipe fails, so it was closed rather than leaked.
        with pytest.raises(BrokenPipeError):
            os.write(wfd, b"y")
        os.close(wfd)
        return data

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"x"


def test_unixStaleSocketReplaced(anyReactor: Any, tmp_path: Path) -> None:
    r = anyReactor
    path = str(tmp_path / "stale")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # leaves the file behind
    with pytest.raises(error.CannotListenError):
        r.listenUNIX(path, Factory.forProtocol(Echo))
    os.symlink("999999999", path + ".lock")  # a dead owner
    port = r.listenUNIX(path, Factory.forProtocol(Echo), wantPID=True)
    assert os.readlink(path + ".lock") == str(os.getpid())
    port.connectionLost(None)


def test_unixAbstractNamespace(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    name = f"\0glisten-test-{os.getpid()}-{id(r)}"
    r.listenUNIX(name, Factory.forProtocol(Echo))
    client = Recorder()
    r.connectUNIX(name, ClientCatcher(client))

    async def go() -> bytes:
        await client.made
        client.transport.write(b"abstract")
        return await client.waitFor(8)

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"abstract"


def test_unixConnectFails(anyReactor: Any, tmp_path: Path, runUntil: Any) -> None:
    r = anyReactor
    f = ClientCatcher(Recorder())
    r.connectUNIX(str(tmp_path / "nothing"), f)
    reason = runUntil(r, f.failed)
    assert reason.check(error.ConnectError)

    r2 = type(r)()
    f2 = ClientCatcher(Recorder())
    r2.connectUNIX(str(tmp_path / "nothing"), f2, checkPID=True)
    assert runUntil(r2, f2.failed).check(error.BadFileError)


def test_unixDatagram(anyReactor: Any, tmp_path: Path, runUntil: Any) -> None:
    r = anyReactor
    serverPath = str(tmp_path / "dgram")
    server = Datagrams()
    r.listenUNIXDatagram(serverPath, server)
    got: Deferred[bytes] = Deferred()

    class Connected(ConnectedDatagramProtocol):
        noisy = False

        def startProtocol(self) -> None:
            self.transport.write(b"ping")

        def datagramReceived(self, data: bytes, addr: Any = None) -> None:
            got.callback(data)

    clientPath = str(tmp_path / "client")
    r.connectUNIXDatagram(serverPath, Connected(), bindAddress=clientPath)

    async def go() -> bytes:
        data, addr = await server.next()
        assert data == b"ping"
        server.transport.write(b"pong", addr)
        return await got

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"pong"


def test_adoptStreamPortAndConnection(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = r.adoptStreamPort(listener.fileno(), socket.AF_INET, Factory.forProtocol(Echo))
    listener.close()  # the port holds its own duplicate
    assert port.getHost().port > 0
    a, b = socket.socketpair()
    r.adoptStreamConnection(b.fileno(), socket.AF_UNIX, Factory.forProtocol(Echo))
    b.close()
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> Any:
        await client.made
        client.transport.write(b"adopted")
        echoed = await client.waitFor(7)
        a.sendall(b"pair")
        a.setblocking(False)
        while True:
            try:
                return echoed, a.recv(10)
            except BlockingIOError:
                await _turn(r)

    assert runUntil(r, Deferred.fromCoroutine(go())) == (b"adopted", b"pair")
    a.close()
    with pytest.raises(error.UnsupportedAddressFamily):
        r.adoptStreamPort(0, socket.AF_PACKET, Factory.forProtocol(Echo))


def test_adoptedUnixPortLeavesItsFile(anyReactor: Any, runUntil: Any, tmp_path: Path) -> None:
    """The socket file of an adopted Unix port is its binder's (systemd, a ``glisten
    --workers`` supervisor whose other workers still listen): stopping leaves it."""
    path = tmp_path / "adopted.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(5)
    port = anyReactor.adoptStreamPort(listener.fileno(), socket.AF_UNIX, Factory.forProtocol(Echo))
    assert os.fsdecode(port.getHost().name) == str(path)
    runUntil(anyReactor, port.stopListening())
    assert path.exists()
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))  # the binder's copy still listens
    listener.close()


def test_adoptDatagramPort(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    proto = Datagrams()
    p = r.adoptDatagramPort(s.fileno(), socket.AF_INET, proto)
    s.close()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def go() -> Any:
        got = proto.next()
        sender.sendto(b"hi", ("127.0.0.1", p.getHost().port))
        return await got

    try:
        data, _ = runUntil(r, Deferred.fromCoroutine(go()))
    finally:
        sender.close()
    assert data == b"hi"


def test_spawnProcessThroughReactor(anyReactor: Any, runUntil: Any) -> None:
    from glisten.internet.protocol import ProcessProtocol

    r = anyReactor
    ended: Deferred[Any] = Deferred()

    class P(ProcessProtocol):
        out = b""

        def outReceived(self, data: bytes) -> None:
            self.out += data

        def processEnded(self, reason: Any) -> None:
            ended.callback((self.out, reason.value.exitCode))

    r.spawnProcess(P(), "/bin/sh", ["sh", "-c", "echo spawned; exit 0"])
    assert runUntil(r, ended) == (b"spawned\n", 0)
