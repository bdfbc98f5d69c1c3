"""Tests for glisten.protocols.policies."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.internet import interfaces, task
from glisten.internet.address import IPv4Address
from glisten.internet.protocol import ClientFactory, Factory, Protocol, ServerFactory
from glisten.internet.testing import AccumulatingProtocol, StringTransport
from glisten.protocols import policies
from glisten.python.failure import Failure


def addr(host: str = "1.2.3.4", port: int = 5) -> IPv4Address:
    return IPv4Address("TCP", host, port)


class Recorder(Protocol):
    def connectionMade(self) -> None:
        self.received = b""
        self.lost: list[Failure] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.append(reason)


def connectWrapped(factory: Any, address: Any = None) -> tuple[Any, StringTransport]:
    proto = factory.buildProtocol(address or addr())
    transport = StringTransport(peerAddress=address or addr())
    proto.makeConnection(transport)
    return proto, transport


# -------------------------------------------------------------------------- WrappingFactory


def test_wrappingPassesThrough() -> None:
    inner = Factory.forProtocol(Recorder)
    factory = policies.WrappingFactory(inner)
    wrapper, transport = connectWrapped(factory)
    assert isinstance(wrapper, policies.ProtocolWrapper)
    assert wrapper in factory.protocols
    assert interfaces.ITCPTransport.providedBy(wrapper)
    wrapper.dataReceived(b"in")
    assert wrapper.wrappedProtocol.received == b"in"
    wrapper.wrappedProtocol.transport.write(b"out")
    wrapper.wrappedProtocol.transport.writeSequence([b"1", b"2"])
    assert transport.value() == b"out12"
    assert wrapper.getPeer() == addr()
    assert wrapper.getTcpNoDelay() is False  # unknown attributes come from the transport
    wrapper.loseConnection()
    assert transport.disconnecting and wrapper.disconnecting
    wrapper.connectionLost(Failure(Exception("gone")))
    assert wrapper not in factory.protocols
    assert len(wrapper.wrappedProtocol.lost) == 1


def test_wrappingFactoryRefusal() -> None:
    class Refuse(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            return None

    assert policies.WrappingFactory(Refuse()).buildProtocol(addr()) is None


def test_wrappingFactoryDelegates() -> None:
    events: list[str] = []

    class Inner(ClientFactory):
        def doStart(self) -> None:
            events.append("start")

        def doStop(self) -> None:
            events.append("stop")

        def startedConnecting(self, connector: Any) -> None:
            events.append("connecting")

        def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
            events.append("failed")

        def clientConnectionLost(self, connector: Any, reason: Any) -> None:
            events.append("lost")

    factory = policies.WrappingFactory(Inner())
    factory.doStart()
    factory.startedConnecting(None)
    factory.clientConnectionFailed(None, None)  # type: ignore[arg-type]
    factory.clientConnectionLost(None, None)  # type: ignore[arg-type]
    factory.doStop()
    assert events == ["start", "connecting", "failed", "lost", "stop"]
    assert "WrappingFactory" in factory.logPrefix()


def test_halfClose() -> None:
    @implementer(interfaces.IHalfCloseableProtocol)
    class Half(Recorder):
        def readConnectionLost(self) -> None:
            self.readLost = True

        def writeConnectionLost(self) -> None:
            self.writeLost = True

    wrapper, transport = connectWrapped(policies.WrappingFactory(Factory.forProtocol(Half)))
    wrapper.readConnectionLost()
    wrapper.writeConnectionLost()
    assert wrapper.wrappedProtocol.readLost and wrapper.wrappedProtocol.writeLost
    plain, transport2 = connectWrapped(policies.WrappingFactory(Factory.forProtocol(Recorder)))
    plain.readConnectionLost()
    assert transport2.disconnecting


# ---------------------------------------------------------------------------- TimeoutMixin


class TimeoutTester(Protocol, policies.TimeoutMixin):
    timedOut = False

    def __init__(self, clock: task.Clock) -> None:
        self.clock = clock

    def connectionMade(self) -> None:
        self.setTimeout(10)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()

    def timeoutConnection(self) -> None:
        self.timedOut = True
        policies.TimeoutMixin.timeoutConnection(self)


def test_timeoutMixin() -> None:
    clock = task.Clock()
    proto = TimeoutTester(clock)
    transport = StringTransport()
    proto.makeConnection(transport)
    clock.advance(9)
    proto.dataReceived(b"x")
    clock.advance(9)
    assert not proto.timedOut
    clock.advance(1)
    assert proto.timedOut and transport.disconnecting


def test_timeoutMixinChange() -> None:
    clock = task.Clock()
    proto = TimeoutTester(clock)
    proto.makeConnection(StringTransport())
    assert proto.setTimeout(20) == 10
    clock.advance(15)
    assert not proto.timedOut
    assert proto.setTimeout(None) == 20
    clock.advance(100)
    assert not proto.timedOut
    assert clock.getDelayedCalls() == []
    proto.resetTimeout()  # no timeout: nothing happens
    proto.setTimeout(1)
    clock.advance(1)
    assert proto.timedOut


# --------------------------------------------------------------------------- TimeoutFactory


def test_timeoutFactory() -> None:
    clock = task.Clock()
    factory = policies.TimeoutFactory(Factory.forProtocol(Recorder), timeoutPeriod=3, clock=clock)
    wrapper, transport = connectWrapped(factory)
    clock.advance(2)
    wrapper.dataReceived(b"a")
    clock.advance(2)
    wrapper.write(b"b")
    clock.advance(2)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting
    wrapper2, transport2 = connectWrapped(factory)
    wrapper2.connectionLost(Failure(Exception("x")))
    clock.advance(10)
    assert not transport2.disconnecting
    assert clock.getDelayedCalls() == []


# ------------------------------------------------------------------------ ThrottlingFactory


def test_throttlingMaxConnections() -> None:
    clock = task.Clock()
    factory = policies.ThrottlingFactory(
        Factory.forProtocol(Recorder), maxConnectionCount=2, clock=clock
    )
    p1, _ = connectWrapped(factory)
    p2, _ = connectWrapped(factory)
    assert factory.buildProtocol(addr()) is None
    p1.connectionLost(Failure(Exception("x")))
    assert factory.connectionCount == 1
    assert factory.buildProtocol(addr()) is not None


def test_throttlingReads() -> None:
    clock = task.Clock()
    factory = policies.ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=10, clock=clock)
    proto, transport = connectWrapped(factory)
    proto.dataReceived(b"x" * 25)
    clock.advance(1)
    assert transport.producerState == "paused"
    clock.advance(1.5)
    assert transport.producerState == "producing"
    proto.connectionLost(Failure(Exception("x")))
    assert all(not c.active() for c in clock.getDelayedCalls())


def test_throttlingWrites() -> None:
    clock = task.Clock()
    factory = policies.ThrottlingFactory(Factory.forProtocol(Recorder), writeLimit=10, clock=clock)
    proto, transport = connectWrapped(factory)
    producer = StringTransport()
    proto.registerProducer(producer, True)
    proto.write(b"y" * 30)
    clock.advance(1)
    assert producer.producerState == "paused"
    clock.advance(2)
    assert producer.producerState == "producing"
    proto.unregisterProducer()
    proto.connectionLost(Failure(Exception("x")))
    assert clock.getDelayedCalls() == []


# ------------------------------------------------------------------- connection limits


def test_limitTotalConnections() -> None:
    factory = policies.LimitTotalConnectionsFactory()
    factory.protocol = AccumulatingProtocol
    factory.connectionLimit = 1
    p1, t1 = connectWrapped(factory)
    assert factory.connectionCount == 1
    assert factory.buildProtocol(addr()) is None

    class Busy(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"busy")
            self.transport.loseConnection()

    factory.overflowProtocol = Busy
    p2, t2 = connectWrapped(factory)
    assert t2.value() == b"busy" and t2.disconnecting
    p1.connectionLost(Failure(Exception("x")))
    p2.connectionLost(Failure(Exception("x")))
    assert factory.connectionCount == 0
    assert isinstance(factory, ServerFactory)


def test_limitConnectionsByPeer() -> None:
    factory = policies.LimitConnectionsByPeer(Factory.forProtocol(Recorder))
    factory.maxConnectionsPerPeer = 2
    factory.startFactory()
    a1, _ = connectWrapped(factory, addr("10.0.0.1"))
    a2, _ = connectWrapped(factory, addr("10.0.0.1"))
    assert factory.buildProtocol(addr("10.0.0.1")) is None
    b1, _ = connectWrapped(factory, addr("10.0.0.2"))
    assert b1 is not None
    a1.connectionLost(Failure(Exception("x")))
    assert factory.peerConnections["10.0.0.1"] == 1
    assert factory.buildProtocol(addr("10.0.0.1")) is not None


def test_spewing() -> None:
    from glisten.logger import globalLogPublisher

    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        wrapper, transport = connectWrapped(policies.SpewingFactory(Factory.forProtocol(Recorder)))
        wrapper.dataReceived(b"in")
        wrapper.write(b"out")
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert transport.value() == b"out"
    assert wrapper.wrappedProtocol.received == b"in"
    texts = [e.get("log_format") for e in events]
    assert "Received: {data!r}" in texts and "Sending: {data!r}" in texts
