"""
TCP over loopback on every reactor: data, closing, half-close, producers and the faults.
"""

from __future__ import annotations

import resource
import socket
import struct
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import error
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.defer import Deferred, gatherResults
from glisten.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from glisten.internet.protocol import ClientFactory, Factory, Protocol, ServerFactory
from glisten.logger import capturedLogs
from glisten.python.failure import Failure


def _hasIPv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class Why:
    """
    Carries a Failure through ``callback`` (a Failure given to ``callback`` would errback).
    """

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        self.value = failure.value

    def check(self, *types: type[BaseException]) -> Any:
        return self.failure.check(*types)


class Recorder(Protocol):
    """
    Records what happens to it; ``lost`` fires with the reason of connectionLost.
    """

    def __init__(self) -> None:
        self.data = bytearray()
        self.made: Deferred[Recorder] = Deferred()
        self.lost: Deferred[Why] = Deferred()
        self.want = 0
        self.got: Deferred[bytes] | None = None

    def connectionMade(self) -> None:
        self.made.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.got is not None and len(self.data) >= self.want:
            d, self.got = self.got, None
            d.callback(bytes(self.data))

    def waitFor(self, n: int) -> Deferred[bytes]:
        self.want = n
        self.got = Deferred()
        if len(self.data) >= n:
            d, self.got = self.got, None
            d.callback(bytes(self.data))
        return d if self.got is None else self.got

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.callback(Why(reason))


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class OneFactory(ServerFactory):
    """
    A server factory remembering its protocols and firing ``connected`` for the first one.
    """

    noisy = False

    def __init__(self, protocol: type[Protocol]) -> None:
        self.protocol = protocol
        self.instances: list[Any] = []
        self.connected: Deferred[Any] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = ServerFactory.buildProtocol(self, addr)
        p.peerAddr = addr
        self.instances.append(p)
        if len(self.instances) == 1:
            p.made.addCallback(self.connected.callback)
        return p


class ClientCatcher(ClientFactory):
    noisy = False

    def __init__(self, protocol: Any) -> None:
        self.proto = protocol
        self.failed: Deferred[Why] = Deferred()
        self.lostReason: Deferred[Why] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        self.proto.factory = self
        self.proto.addr = addr
        return self.proto

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.failed.callback(Why(reason))

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.lostReason.callback(Why(reason))


def test_echoAndAddresses(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    host = port.getHost()
    assert isinstance(host, IPv4Address) and host.host == "127.0.0.1" and host.port > 0
    client = Recorder()
    r.connectTCP("127.0.0.1", host.port, ClientCatcher(client))

    async def go() -> bytes:
        await client.made
        assert client.transport.getPeer() == IPv4Address("TCP", "127.0.0.1", host.port)
        assert client.transport.getHost().host == "127.0.0.1"
        client.transport.write(b"hello ")
        client.transport.writeSequence([b"wor", b"ld"])
        return await client.waitFor(11)

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"hello world"


@pytest.mark.skipif(not _hasIPv6(), reason="no IPv6 loopback")
def test_ipv6(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="::1")
    host = port.getHost()
    assert isinstance(host, IPv6Address) and host.host == "::1"
    client = Recorder()
    r.connectTCP("::1", host.port, ClientCatcher(client))

    async def go() -> Any:
        await client.made
        client.transport.write(b"six")
        sp = await server.connected
        return (await sp.waitFor(3), sp.peerAddr, client.transport.getPeer())

    data, peer, clientPeer = runUntil(r, Deferred.fromCoroutine(go()))
    assert data == b"six"
    assert isinstance(peer, IPv6Address) and peer.host == "::1"
    assert clientPeer.port == host.port


def test_connectByNameAndBindAddress(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    client = Recorder()
    r.connectTCP(
        "localhost", port.getHost().port, ClientCatcher(client), bindAddress=("127.0.0.1", 0)
    )

    async def go() -> Any:
        await client.made
        return await server.connected

    sp = runUntil(r, Deferred.fromCoroutine(go()))
    assert sp.peerAddr.host == "127.0.0.1"


def test_connectionRefused(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    portNumber = s.getsockname()[1]
    s.close()
    f = ClientCatcher(Recorder())
    r.connectTCP("127.0.0.1", portNumber, f)
    reason = runUntil(r, f.failed)
    assert reason.check(error.ConnectionRefusedError)


def test_unknownHost(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    f = ClientCatcher(Recorder())
    r.connectTCP("no-such-host.invalid", 80, f)
    reason = runUntil(r, f.failed)
    assert reason.check(error.DNSLookupError)


def test_stopConnecting(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    f = ClientCatcher(Recorder())
    connector = r.connectTCP("127.0.0.1", 9, f)
    connector.stopConnecting()
    reason = runUntil(r, f.failed)
    assert reason.check(error.UserError)
    with pytest.raises(error.NotConnectingError):
        connector.stopConnecting()


def test_cannotListenTwice(anyReactor: Any) -> None:
    r = anyReactor
    port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    with pytest.raises(error.CannotListenError):
        r.listenTCP(port.getHost().port, Factory.forProtocol(Echo), interface="127.0.0.1")


def test_stopListeningFreesPort(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    stopped: list[bool] = []

    class F(Factory):
        noisy = False
        protocol = Echo

        def stopFactory(self) -> None:
            stopped.append(True)

    port = r.listenTCP(0, F(), interface="127.0.0.1")
    number = port.getHost().port

    async def go() -> int:
        await port.stopListening()
        assert stopped == [True]
        again = r.listenTCP(number, F(), interface="127.0.0.1")
        n: int = again.getHost().port
        await again.stopListening()
        return n

    assert runUntil(r, Deferred.fromCoroutine(go())) == number


def test_loseConnectionFlushes(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    payload = bytes(range(256)) * 16384  # 4 MiB: more than the socket buffers hold

    class Sender(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(payload)
            self.transport.loseConnection()
            # Writes after loseConnection are still sent, before the close.
            self.transport.write(b"end")

    port = r.listenTCP(0, Factory.forProtocol(Sender), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))
    reason = runUntil(r, client.lost)
    assert reason.check(error.ConnectionDone)
    assert bytes(client.data) == payload + b"end"


def test_abortConnection(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> Any:
        await client.made
        sp = await server.connected
        client.transport.write(b"x" * 1_000_000)
        client.transport.abortConnection()
        client.transport.abortConnection()  # a second call is harmless
        return await gatherResults([client.lost, sp.lost])

    clientReason, serverReason = runUntil(r, Deferred.fromCoroutine(go()))
    assert clientReason.check(error.ConnectionAborted)
    assert serverReason.check(error.ConnectionLost, error.ConnectionDone)


@implementer(IHalfCloseableProtocol)
class HalfCloser(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def readConnectionLost(self) -> None:
        self.events.append("read")
        self.transport.write(b"reply:" + bytes(self.data))
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        self.events.append("write")


def test_halfClose(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(HalfCloser)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    client = HalfCloser()
    readLost: Deferred[None] = Deferred()

    def clientReadLost() -> None:
        client.events.append("read")
        readLost.callback(None)

    client.readConnectionLost = clientReadLost  # type: ignore[method-assign]
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> Any:
        await client.made
        client.transport.write(b"question")
        client.transport.loseWriteConnection()
        await client.waitFor(14)
        sp = await server.connected
        await sp.lost
        await readLost
        client.transport.loseConnection()
        await client.lost
        return sp

    sp = runUntil(r, Deferred.fromCoroutine(go()))
    assert bytes(client.data) == b"reply:question"
    assert sp.events == ["read"]
    assert client.events == ["write", "read"]


def test_exceptionInDataReceivedDropsOnlyThatConnection(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor

    class Touchy(Recorder):
        def dataReceived(self, data: bytes) -> None:
            if b"bad" in data:
                raise ValueError("bad data")
            self.transport.write(data)

    server = OneFactory(Touchy)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    bad, good = Recorder(), Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(bad))
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(good))

    async def go() -> Any:
        await bad.made
        await good.made
        bad.transport.write(b"bad")
        await bad.lost
        good.transport.write(b"good")
        echoed = await good.waitFor(4)
        lostReasons = [p.lost.result for p in server.instances if p.lost.called]
        assert len(lostReasons) == 1 and lostReasons[0].check(ValueError)
        return echoed

    with capturedLogs() as events:
        assert runUntil(r, Deferred.fromCoroutine(go())) == b"good"
    failures = [e["log_failure"] for e in events if "log_failure" in e]
    assert [f for f in failures if f.check(ValueError)]


def test_writeRejectsStr(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> bytes:
        await client.made
        with pytest.raises(TypeError):
            client.transport.write("text")
        with pytest.raises(TypeError):
            client.transport.writeSequence([b"a", "b"])
        client.transport.write(bytearray(b"ab"))
        client.transport.write(memoryview(b"cd"))
        return await client.waitFor(4)

    assert runUntil(r, Deferred.fromCoroutine(go())) == b"abcd"


def test_socketOptions(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> list[bool]:
        await client.made
        t = client.transport
        out = [t.getTcpNoDelay(), t.getTcpKeepAlive()]
        t.setTcpNoDelay(True)
        t.setTcpKeepAlive(True)
        out += [t.getTcpNoDelay(), t.getTcpKeepAlive()]
        assert t.getHandle().fileno() == t.fileno()
        return out

    assert runUntil(r, Deferred.fromCoroutine(go())) == [False, False, True, True]


@implementer(IPushProducer)
class FloodProducer:
    """
    Writes chunks while not paused; records the buffer size at each pause.
    """

    def __init__(self, transport: Any, chunk: int, limit: int) -> None:
        self.transport = transport
        self.chunk = b"z" * chunk
        self.limit = limit
        self.sent = 0
        self.paused = False
        self.pauses: list[int] = []
        self.resumes = 0
        self.stopped = False
        self.pausedOnce: Deferred[None] = Deferred()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses.append(len(self.transport._wbuf or b""))
        if not self.pausedOnce.called:
            self.pausedOnce.callback(None)

    def resumeProducing(self) -> None:
        self.paused = False
        self.resumes += 1
        self.produce()

    def stopProducing(self) -> None:
        self.stopped = True

    def produce(self) -> None:
        while not self.paused and self.sent < self.limit:
            self.transport.write(self.chunk)
            self.sent += len(self.chunk)
        if self.sent >= self.limit and not self.paused:
            self.transport.unregisterProducer()
            self.transport.loseConnection()


def test_slowReaderPausesProducerAndBoundsMemory(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    total = 16 * 1024 * 1024
    chunk = 16384
    producers: list[FloodProducer] = []

    class Flooder(Protocol):
        def connectionMade(self) -> None:
            p = FloodProducer(self.transport, chunk, total)
            producers.append(p)
            self.transport.registerProducer(p, True)
            p.produce()

    port = r.listenTCP(0, Factory.forProtocol(Flooder), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))

    async def go() -> None:
        await client.made
        # The client stops reading: the kernel buffers fill, then the transport's buffer.
        client.transport.pauseProducing()
        while not producers:
            await _turn(r)
        await producers[0].pausedOnce
        # A few more turns: nothing more is written while paused.
        for _ in range(5):
            await _turn(r)
        assert producers[0].paused
        client.transport.resumeProducing()
        await client.lost

    runUntil(r, Deferred.fromCoroutine(go()), limit=30)
    p = producers[0]
    assert len(client.data) == total
    # The transport never buffered more than its high-water mark plus one chunk.
    assert max(p.pauses) <= 2**16 + chunk
    assert p.resumes >= 1
    assert not p.stopped


def _turn(r: Any) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    r.callLater(0.001, d.callback, None)
    return d


def test_pullProducer(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    chunks = [b"a" * 100_000, b"b" * 100_000, b"c"]

    class Pull:
        def __init__(self, transport: Any) -> None:
            self.transport = transport
            self.calls = 0

        def resumeProducing(self) -> None:
            self.calls += 1
            if chunks:
                self.transport.write(chunks.pop(0))
            else:
                self.transport.unregisterProducer()
                self.transport.loseConnection()

        def stopProducing(self) -> None:
            pass

    class Puller(Protocol):
        def connectionMade(self) -> None:
            self.transport.registerProducer(Pull(self.transport), False)
            with pytest.raises(RuntimeError):
                self.transport.registerProducer(Pull(self.transport), False)

    port = r.listenTCP(0, Factory.forProtocol(Puller), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))
    reason = runUntil(r, client.lost)
    assert reason.check(error.ConnectionDone)
    assert bytes(client.data) == b"a" * 100_000 + b"b" * 100_000 + b"c"


def test_sendfileAfterBufferedWrites(anyReactor: Any, runUntil: Any, tmp_path: Any) -> None:
    """A pull producer sends a file with ``sendfile`` after a buffered head; the bytes arrive
    in order, and a file that ends early raises EOFError instead of looping."""
    r = anyReactor
    body = bytes(range(256)) * 16384  # 4 MiB: more than the socket buffers take at once
    path = tmp_path / "body"
    path.write_bytes(body)
    results: dict[str, Any] = {"calls": 0, "busy": 0}

    class FilePull:
        def __init__(self, transport: Any, f: Any) -> None:
            self.transport = transport
            self.file = f
            self.offset = 0

        def resumeProducing(self) -> None:
            results["calls"] += 1
            if self.offset == len(body):
                try:
                    self.transport.sendfile(self.file.fileno(), self.offset, 10)
                except EOFError:
                    results["eof"] = True
                self.file.close()
                self.transport.unregisterProducer()
                self.transport.loseConnection()
                return
            sent = self.transport.sendfile(self.file.fileno(), self.offset, len(body))
            assert sent is not None
            results["busy"] += sent == 0
            self.offset += sent

        def stopProducing(self) -> None:
            self.file.close()

    class Sender(Protocol):
        def connectionMade(self) -> None:
            # Buffered before the file: the file must wait for it.
            self.transport.write(b"head" * 100_000)
            self.transport.registerProducer(FilePull(self.transport, open(path, "rb")), False)

    port = r.listenTCP(0, Factory.forProtocol(Sender), interface="127.0.0.1")
    client = Recorder()
    r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))
    reason = runUntil(r, client.lost)
    assert reason.check(error.ConnectionDone)
    assert bytes(client.data) == b"head" * 100_000 + body
    assert results.get("eof") is True
    assert results["calls"] > 2


def test_peerResetMidWrite(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    raw = socket.create_connection(("127.0.0.1", port.getHost().port))

    async def go() -> Why:
        sp = await server.connected
        sp.transport.write(b"x" * 8_000_000)  # far more than the socket buffers hold
        # The peer resets (SO_LINGER 0) with the data unread.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        reason: Why = await sp.lost
        sp.transport.write(b"more")  # writing after the loss is a no-op
        return reason

    with capturedLogs() as events:
        reason = runUntil(r, Deferred.fromCoroutine(go()))
    assert reason.check(error.ConnectionLost)
    assert not [e for e in events if "log_failure" in e]


def test_clientConnectionLostAndReconnect(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="127.0.0.1")
    made: list[Any] = []
    done: Deferred[None] = Deferred()

    class Client(Protocol):
        def connectionMade(self) -> None:
            made.append(self)
            self.transport.loseConnection()

    class Reconnect(ClientFactory):
        noisy = False
        protocol = Client

        def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
            if len(made) < 2:
                connector.connect()
            else:
                done.callback(None)

    number = port.getHost().port
    connector = r.connectTCP("127.0.0.1", number, Reconnect())
    runUntil(r, done)
    assert len(made) == 2
    assert connector.getDestination() == IPv4Address("TCP", "127.0.0.1", number)


def test_acceptAtDescriptorLimit(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    server = OneFactory(Recorder)
    port = r.listenTCP(0, server, interface="127.0.0.1", backlog=50)
    clients = [socket.create_connection(("127.0.0.1", port.getHost().port)) for _ in range(6)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    import os

    # Fill the holes below the highest open descriptor, so that the limit below leaves room
    # for exactly two more, whatever earlier tests closed.
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    holes: list[int] = []
    while (fd := os.open(os.devnull, os.O_RDONLY)) <= highest:
        holes.append(fd)
    os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1 + 2, hard))

    async def go() -> None:
        try:
            while len(server.instances) < 2:
                await _turn(r)
            # Let the listener hit EMFILE a few times.
            for _ in range(20):
                await _turn(r)
            assert len(server.instances) <= 3
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        while len(server.instances) < 6:
            await _turn(r)

    try:
        with capturedLogs() as events:
            runUntil(r, Deferred.fromCoroutine(go()), limit=20)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for c in clients:
            c.close()
        for fd in holes:
            os.close(fd)
    complaints = [e for e in events if "cannot accept" in str(e.get("log_format", ""))]
    assert len(complaints) == 1
    assert len(server.instances) == 6


def test_connectTimeout(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    # A listener that never accepts, its queue filled: further SYNs go unanswered.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(full.getsockname())
        fillers.append(s)
    f = ClientCatcher(Recorder())
    r.connectTCP("127.0.0.1", full.getsockname()[1], f, timeout=0.2)
    try:
        reason = runUntil(r, f.failed)
    finally:
        for s in fillers:
            s.close()
        full.close()
    assert reason.check(error.TimeoutError)


def test_acceptsPerReadFixesTheAccepts(anyReactor: Any) -> None:
    """``acceptsPerRead`` (processes sharing one socket, ``glisten --workers``) caps what one
    readiness accepts; ``None`` accepts all that is waiting."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(10)
    accepted: list[object] = []

    class Counting(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            accepted.append(addr)
            return None

    port = anyReactor.adoptStreamPort(listener.fileno(), socket.AF_INET, Counting())
    listener.close()
    clients = [socket.create_connection(("127.0.0.1", port.getHost().port)) for _ in range(3)]
    try:
        port.acceptsPerRead = 1
        port.doRead()
        assert len(accepted) == 1
        port.acceptsPerRead = None
        port.doRead()
        assert len(accepted) == 3
    finally:
        for c in clients:
            c.close()
        port.stopListening()
