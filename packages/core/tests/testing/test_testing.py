"""Tests for glisten.internet.testing: in-memory transports, reactors and the IO pump."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.internet import error, interfaces, task, testing
from glisten.internet.address import IPv4Address, IPv6Address, UNIXAddress
from glisten.internet.defer import Deferred
from glisten.internet.protocol import ClientFactory, Factory, Protocol
from glisten.logger import Logger, LogPublisher
from glisten.python.failure import Failure

# --------------------------------------------------------------------------- StringTransport


def test_stringTransportInterfaces() -> None:
    t = testing.StringTransport()
    assert verifyObject(interfaces.ITransport, t)
    assert verifyObject(interfaces.ITCPTransport, t)
    assert verifyObject(interfaces.IConsumer, t)
    assert verifyObject(interfaces.IPushProducer, t)


def test_stringTransportValueAndClear() -> None:
    t = testing.StringTransport()
    t.write(b"abc")
    t.writeSequence([b"d", b"ef"])
    assert t.value() == b"abcdef"
    t.clear()
    assert t.value() == b""
    t.write(b"x")
    assert t.value() == b"x"


def test_stringTransportRejectsStr() -> None:
    t = testing.StringTransport()
    with pytest.raises(TypeError):
        t.write("text")  # type: ignore[arg-type]


def test_stringTransportAddresses() -> None:
    t = testing.StringTransport()
    assert t.getHost() == IPv4Address("TCP", "10.0.0.1", 12345)
    assert t.getPeer() == IPv4Address("TCP", "192.168.1.1", 54321)
    host = IPv4Address("TCP", "127.0.0.1", 1)
    peer = IPv4Address("TCP", "127.0.0.1", 2)
    t2 = testing.StringTransport(hostAddress=host, peerAddress=peer)
    assert t2.getHost() is host and t2.getPeer() is peer


def test_stringTransportLoseConnection() -> None:
    t = testing.StringTransport()
    assert not t.disconnecting
    t.loseConnection()
    assert t.disconnecting
    t2 = testing.StringTransport()
    t2.abortConnection()
    assert t2.disconnecting and t2.aborted


def test_stringTransportProducers() -> None:
    t = testing.StringTransport()
    producer = object()
    t.registerProducer(producer, True)
    assert t.producer is producer and t.streaming is True
    with pytest.raises(RuntimeError):
        t.registerProducer(object(), False)
    t.unregisterProducer()
    assert t.producer is None and t.streaming is None
    with pytest.raises(RuntimeError):
        t.unregisterProducer()


def test_stringTransportProducerState() -> None:
    t = testing.StringTransport()
    assert t.producerState == "producing"
    t.pauseProducing()
    assert t.producerState == "paused"
    t.resumeProducing()
    assert t.producerState == "producing"
    t.stopProducing()
    assert t.producerState == "stopped"
    with pytest.raises(RuntimeError):
        t.resumeProducing()


def test_stringTransportTcpOptions() -> None:
    t = testing.StringTransport()
    t.setTcpNoDelay(True)
    t.setTcpKeepAlive(True)
    assert t.getTcpNoDelay() and t.getTcpKeepAlive()


def test_stringTransportWithDisconnection() -> None:
    proto = testing.AccumulatingProtocol()
    t = testing.StringTransportWithDisconnection()
    t.protocol = proto
    proto.makeConnection(t)
    assert proto.made == 1
    proto.dataReceived(b"hi")
    t.loseConnection()
    assert proto.closed == 1
    assert proto.closedReason is not None and proto.closedReason.check(error.ConnectionDone)
    t.loseConnection()  # only once
    assert proto.closed == 1


def test_accumulatingProtocolFactoryDeferred() -> None:
    factory = Factory.forProtocol(testing.AccumulatingProtocol)
    made: Deferred[Any] = Deferred()
    factory.protocolConnectionMade = made  # type: ignore[attr-defined]
    proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    got: list[Any] = []
    made.addCallback(got.append)
    proto.makeConnection(testing.StringTransport())
    assert got == [proto]
    closed: Deferred[None] = Deferred()
    proto.closedDeferred = closed
    fired: list[Any] = []
    closed.addCallback(fired.append)
    proto.connectionLost(Failure(error.ConnectionDone()))
    assert fired == [None]


def test_nonStreamingProducer() -> None:
    t = testing.StringTransport()
    producer = testing.NonStreamingProducer(t)
    t.registerProducer(producer, False)
    done: list[Any] = []
    producer.result.addCallback(done.append)
    while t.producer is not None:
        t.producer.resumeProducing()
    assert t.value() == b"0123456789"
    assert done == [None]


# ----------------------------------------------------------------------------- MemoryReactor


def test_memoryReactorInterfaces() -> None:
    r = testing.MemoryReactor()
    for iface in (
        interfaces.IReactorCore,
        interfaces.IReactorTCP,
        interfaces.IReactorSSL,
        interfaces.IReactorUNIX,
        interfaces.IReactorUDP,
        interfaces.IReactorSocket,
        interfaces.IReactorFDSet,
    ):
        assert verifyObject(iface, r), iface


def test_memoryReactorRecordsTCP() -> None:
    r = testing.MemoryReactor()
    factory = Factory()
    port = r.listenTCP(1234, factory, backlog=7, interface="127.0.0.1")
    assert r.tcpServers == [(1234, factory, 7, "127.0.0.1")]
    assert port.getHost() == IPv4Address("TCP", "127.0.0.1", 1234)
    port6 = r.listenTCP(5, factory, interface="::1")
    assert port6.getHost() == IPv6Address("TCP", "::1", 5)
    results: list[Any] = []
    port.stopListening().addCallback(results.append)
    assert results == [None] and port.stopped

    started: list[Any] = []

    class CF(ClientFactory):
        def startedConnecting(self, connector: Any) -> None:
            started.append(connector)

    cf = CF()
    connector = r.connectTCP("example.com", 80, cf, timeout=3, bindAddress=("0.0.0.0", 0))
    assert r.tcpClients == [("example.com", 80, cf, 3, ("0.0.0.0", 0))]
    assert started == [connector]
    assert r.connectors == [connector]
    assert connector.getDestination() == IPv4Address("TCP", "example.com", 80)
    connector.stopConnecting()
    connector.disconnect()
    assert connector.stoppedConnecting and connector.disconnected


def test_memoryReactorRecordsOthers() -> None:
    r = testing.MemoryReactor()
    f = Factory()
    cf = ClientFactory()
    ctx = object()
    r.listenSSL(443, f, ctx, 5, "")
    r.connectSSL("h", 443, cf, ctx, 10, None)
    r.listenUNIX("/tmp/x.sock", f, 3, 0o600, True)
    r.connectUNIX("/tmp/x.sock", cf, 4, True)
    proto = object()
    r.listenUDP(53, proto, "127.0.0.1", 512)
    r.adoptStreamPort(3, socket.AF_INET, f)
    r.adoptStreamConnection(4, socket.AF_INET6, f)
    r.adoptDatagramPort(5, socket.AF_INET, proto, 1000)
    assert r.sslServers == [(443, f, ctx, 5, "")]
    assert r.sslClients == [("h", 443, cf, ctx, 10, None)]
    assert r.unixServers == [("/tmp/x.sock", f, 3, 0o600, True)]
    assert r.unixClients == [("/tmp/x.sock", cf, 4, True)]
    assert r.udpServers == [(53, proto, "127.0.0.1", 512)]
    assert r.adoptedPorts == [(3, socket.AF_INET, f)]
    assert r.adoptedStreamConnections == [(4, socket.AF_INET6, f)]
    assert r.adoptedDatagramPorts == [(5, socket.AF_INET, proto, 1000)]
    assert r.connectors[1].getDestination() == UNIXAddress("/tmp/x.sock")


def test_memoryReactorCore() -> None:
    r = testing.MemoryReactor()
    calls: list[str] = []
    r.callWhenRunning(calls.append, "running")
    trigger = r.addSystemEventTrigger("before", "shutdown", calls.append, "before")
    r.addSystemEventTrigger("after", "shutdown", calls.append, "after")
    assert not r.hasRun
    r.run()
    assert r.hasRun and r.running and calls == ["running"]
    with pytest.raises(error.ReactorAlreadyRunning):
        r.run()
    r.callWhenRunning(calls.append, "now")
    assert calls[-1] == "now"
    r.removeSystemEventTrigger(trigger)
    with pytest.raises(ValueError):
        r.removeSystemEventTrigger(trigger)
    r.fireSystemEvent("shutdown")
    assert calls[-1] == "after" and "before" not in calls
    r.stop()
    assert r.hasStopped and not r.running
    with pytest.raises(error.ReactorNotRunning):
        r.stop()
    r.crash()
    assert r.hasCrashed
    with pytest.raises(KeyError):
        r.addSystemEventTrigger("sometime", "shutdown", calls.append)
    r.install()
    assert r.hasInstalled
    with pytest.raises(NotImplementedError):
        r.resolve("example.com")


def test_memoryReactorFDSet() -> None:
    r = testing.MemoryReactor()
    a, b = object(), object()
    r.addReader(a)
    r.addWriter(b)
    assert r.getReaders() == [a] and r.getWriters() == [b]
    r.removeReader(a)
    assert r.getReaders() == []
    assert r.removeAll() == [b]
    assert r.getWriters() == []


def test_memoryReactorClock() -> None:
    r = testing.MemoryReactorClock()
    calls: list[int] = []
    r.callLater(2, calls.append, 1)
    r.advance(1)
    assert calls == []
    r.advance(1)
    assert calls == [1]
    r.listenTCP(1, Factory())
    assert len(r.tcpServers) == 1
    assert testing.Clock is task.Clock


def test_raisingMemoryReactor() -> None:
    listen = error.CannotListenError("", 1, OSError("nope"))
    connect = error.ConnectionRefusedError()
    r = testing.RaisingMemoryReactor(listen, connect)
    f = Factory()
    for call in (
        lambda: r.listenTCP(1, f),
        lambda: r.listenSSL(1, f, None),
        lambda: r.listenUNIX("/x", f),
        lambda: r.listenUDP(1, object()),
        lambda: r.adoptStreamPort(1, socket.AF_INET, f),
        lambda: r.adoptStreamConnection(1, socket.AF_INET, f),
        lambda: r.adoptDatagramPort(1, socket.AF_INET, object()),
    ):
        with pytest.raises(error.CannotListenError):
            call()
    for call in (
        lambda: r.connectTCP("h", 1, ClientFactory()),
        lambda: r.connectSSL("h", 1, ClientFactory(), None),
        lambda: r.connectUNIX("/x", ClientFactory()),
    ):
        with pytest.raises(error.ConnectionRefusedError):
            call()
    assert r.tcpServers == [] and r.tcpClients == []
    quiet = testing.RaisingMemoryReactor()
    quiet.listenTCP(1, f)
    assert len(quiet.tcpServers) == 1


# ---------------------------------------------------------------------- EventLoggingObserver


def test_eventLoggingObserver() -> None:
    publisher = LogPublisher()
    cleanups: list[Any] = []

    class FakeCase:
        def addCleanup(self, f: Any, *args: Any) -> None:
            cleanups.append((f, args))

    observer = testing.EventLoggingObserver.createWithCleanup(FakeCase(), publisher)
    log = Logger(observer=publisher)
    log.info("hello {name}", name="world")
    assert len(observer) == 1
    assert observer[0]["name"] == "world"
    assert [e["log_format"] for e in observer] == ["hello {name}"]
    for f, args in cleanups:
        f(*args)
    log.info("again")
    assert len(observer) == 1


# ------------------------------------------------------------------------------- IOPump


class Greeter(Protocol):
    def connectionMade(self) -> None:
        self.received = b""
        self.lost: Failure | None = None
        self.transport.write(b"hello from " + (b"server" if self.isServer else b"client"))

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if data == b"bye":
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost = reason


class ServerGreeter(Greeter):
    isServer = True


class ClientGreeter(Greeter):
    isServer = False


def test_connectedServerAndClient() -> None:
    client, server, pump = testing.connectedServerAndClient(ServerGreeter, ClientGreeter)
    assert client.received == b"hello from server"
    assert server.received == b"hello from client"
    client.transport.write(b"more")
    assert server.received == b"hello from client"
    assert pump.pump()
    assert server.received == b"hello from clientmore"
    assert not pump.pump()


def test_pumpDisconnection() -> None:
    client, server, pump = testing.connectedServerAndClient(ServerGreeter, ClientGreeter)
    client.transport.write(b"bye")
    pump.flush()
    assert server.lost is not None and server.lost.check(error.ConnectionDone)
    assert client.lost is not None and client.lost.check(error.ConnectionDone)
    assert not client.transport.connected


def test_pumpAbort() -> None:
    client, server, pump = testing.connectedServerAndClient(ServerGreeter, ClientGreeter)
    client.transport.write(b"dropped")
    client.transport.abortConnection()
    pump.flush()
    assert server.received == b"hello from client"
    assert server.lost is not None and server.lost.check(error.ConnectionLost)
    assert client.lost is not None and client.lost.check(error.ConnectionLost)


def test_pumpNoGreet() -> None:
    client, server, pump = testing.connectedServerAndClient(
        ServerGreeter, ClientGreeter, greet=False
    )
    assert client.received == b""
    pump.flush()
    assert client.received == b"hello from server"


def test_pumpClockAdvances() -> None:
    clock = task.Clock()
    seen: list[bytes] = []

    class Later(Protocol):
        def dataReceived(self, data: bytes) -> None:
            clock.callLater(0, self.transport.write, data.upper())

    class Recorder(Protocol):
        def dataReceived(self, data: bytes) -> None:
            seen.append(data)

    client, server, pump = testing.connectedServerAndClient(Later, Recorder, clock=clock)
    client.transport.write(b"abc")
    pump.flush()
    assert seen == [b"ABC"]


def test_pumpPullProducer() -> None:
    class Pull(Protocol):
        def connectionMade(self) -> None:
            self.producer = testing.NonStreamingProducer(self.transport)
            self.transport.registerProducer(self.producer, False)

    class Sink(Protocol):
        def connectionMade(self) -> None:
            self.data = b""

        def dataReceived(self, data: bytes) -> None:
            self.data += data

    client, server, pump = testing.connectedServerAndClient(Pull, Sink)
    pump.flush()
    assert client.data == b"0123456789"


def test_pumpLivelock() -> None:
    class Chatty(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"x")

        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    client, server, pump = testing.connectedServerAndClient(Chatty, Chatty, greet=False)
    with pytest.raises(RuntimeError):
        pump.flush()


def test_fakeTransportRejectsStr() -> None:
    client, server, pump = testing.connectedServerAndClient(ServerGreeter, ClientGreeter)
    with pytest.raises(TypeError):
        client.transport.write("text")
    assert verifyObject(interfaces.ITCPTransport, client.transport)
    assert client.transport.getPeer() != client.transport.getHost()


def test_lineSendingProtocol() -> None:
    proto = testing.LineSendingProtocol([b"one", b"two"])
    transport = testing.StringTransport()
    proto.makeConnection(transport)
    assert transport.value() == b"one\r\ntwo\r\n"
    proto.dataReceived(b"reply\r\n")
    assert proto.response == [b"reply"]
    proto.connectionLost(Failure(error.ConnectionDone()))
    assert proto.lostConn
    lazy = testing.LineSendingProtocol([b"hello"], start=False)
    lazyTransport = testing.StringTransport()
    lazy.makeConnection(lazyTransport)
    assert lazyTransport.value() == b""
    lazy.dataReceived(b"go\r\n")
    assert lazyTransport.value() == b"hello\r\n"


def test_fakeDatagramTransportAndStringIO() -> None:
    t = testing.FakeDatagramTransport()
    t.write(b"pkt", ("127.0.0.1", 53))
    assert t.written == [(b"pkt", ("127.0.0.1", 53))]
    io = testing.StringIOWithoutClosing()
    io.write(b"kept")
    io.close()
    assert io.getvalue() == b"kept"
