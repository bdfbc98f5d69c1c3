"""Tests for glisten.protocols.wire, loopback and portforward."""

from __future__ import annotations

import struct
import time
from typing import Any

from glisten.internet import defer, task
from glisten.internet.protocol import ClientFactory, Factory, Protocol
from glisten.internet.testing import StringTransport
from glisten.protocols import basic, loopback, portforward, wire
from glisten.trial import unittest

# ------------------------------------------------------------------------------------- wire


def connect(proto: Any) -> StringTransport:
    transport = StringTransport()
    proto.makeConnection(transport)
    return transport


def test_echo() -> None:
    proto = wire.Echo()
    transport = connect(proto)
    proto.dataReceived(b"hello")
    proto.dataReceived(b"\x00\xff")
    assert transport.value() == b"hello\x00\xff"


def test_discard() -> None:
    proto = wire.Discard()
    transport = connect(proto)
    proto.dataReceived(b"hello")
    assert transport.value() == b""


def test_chargen() -> None:
    proto = wire.Chargen()
    transport = connect(proto)
    assert transport.producer is proto and transport.streaming is False
    proto.resumeProducing()
    lines = transport.value().split(b"\r\n")
    assert all(len(line) == 72 for line in lines[:-1])
    assert lines[0] == bytes(range(32, 104))
    assert lines[1] == bytes(range(33, 105))
    assert len(lines) - 1 == 95
    proto.pauseProducing()
    proto.stopProducing()


def test_daytime() -> None:
    clock = task.Clock()
    clock.advance(0)
    proto = wire.Daytime()
    proto.clock = clock
    transport = connect(proto)
    assert transport.value() == b"Thu Jan  1 00:00:00 1970\r\n"
    assert transport.disconnecting


def test_daytimeRealClock() -> None:
    proto = wire.Daytime()
    transport = connect(proto)
    assert str(time.gmtime().tm_year).encode() in transport.value()


def test_time() -> None:
    clock = task.Clock()
    clock.advance(1)
    proto = wire.Time()
    proto.clock = clock
    transport = connect(proto)
    assert struct.unpack("!I", transport.value()) == (2208988801,)
    assert transport.disconnecting


def test_qotdAndWho() -> None:
    for cls in (wire.QOTD, wire.Who):
        transport = connect(cls())
        assert transport.value().endswith(b"\r\n") and len(transport.value()) > 2
        assert transport.disconnecting


# --------------------------------------------------------------------------------- loopback


class LineServer(basic.LineReceiver):
    def lineReceived(self, line: bytes) -> None:
        if line == b"quit":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())


class LineClient(basic.LineReceiver):
    def connectionMade(self) -> None:
        self.lines: list[bytes] = []
        self.lost = False
        self.sendLine(b"hello")
        self.sendLine(b"world")

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if len(self.lines) == 2:
            self.sendLine(b"quit")

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True


def runClock(clock: task.Clock, d: defer.Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    for _ in range(100):
        if out:
            break
        clock.advance(0)
    return out


def test_loopbackAsync() -> None:
    clock = task.Clock()
    server, client = LineServer(), LineClient()
    result = runClock(clock, loopback.loopbackAsync(server, client, clock=clock))
    assert result == [None]
    assert client.lines == [b"HELLO", b"WORLD"]
    assert client.lost


def test_loopbackCollapsing() -> None:
    clock = task.Clock()
    received: list[bytes] = []

    class Writer(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"a")
            self.transport.write(b"b")
            self.transport.loseConnection()

    class Reader(Protocol):
        def dataReceived(self, data: bytes) -> None:
            received.append(data)

    out = runClock(
        clock,
        loopback.loopbackAsync(
            Writer(), Reader(), pumpPolicy=loopback.collapsingPumpPolicy, clock=clock
        ),
    )
    assert out == [None]
    assert received == [b"ab"]


def test_loopbackPullProducer() -> None:
    clock = task.Clock()
    chunks = [b"1", b"2", b"3"]

    class Producer:
        def __init__(self, transport: Any) -> None:
            self.transport = transport

        def resumeProducing(self) -> None:
            if chunks:
                self.transport.write(chunks.pop(0))
            else:
                self.transport.unregisterProducer()
                self.transport.loseConnection()

        def stopProducing(self) -> None:
            pass

    class Sender(Protocol):
        def connectionMade(self) -> None:
            self.transport.registerProducer(Producer(self.transport), False)

    class Sink(Protocol):
        data = b""

        def dataReceived(self, data: bytes) -> None:
            self.data += data

    sink = Sink()
    assert runClock(clock, loopback.loopbackAsync(Sender(), sink, clock=clock)) == [None]
    assert sink.data == b"123"


# ------------------------------------------------------------------------------ portforward


class Upper(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data.upper())

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.lost.callback(None)


class TrackedProxyServer(portforward.ProxyServer):
    """Reports when the client-facing side of the proxy has closed."""

    def connectionLost(self, reason: Any = None) -> None:
        portforward.ProxyServer.connectionLost(self, reason)
        self.factory.serverLost.callback(None)


class TrackedProxyClient(portforward.ProxyClient):
    """Reports when the target-facing side of the proxy has closed."""

    def connectionLost(self, reason: Any = None) -> None:
        portforward.ProxyClient.connectionLost(self, reason)
        trackedClientLost[-1].callback(None)


trackedClientLost: list[defer.Deferred[None]] = []


class TrackedClientFactory(portforward.ProxyClientFactory):
    protocol = TrackedProxyClient


class TrackedProxyServerWithClient(TrackedProxyServer):
    clientProtocolFactory = TrackedClientFactory


class PortForwardTests(unittest.TestCase):
    async def test_forward(self) -> None:
        from glisten.internet import reactor

        targetFactory = Factory.forProtocol(Upper)
        targetFactory.lost = defer.Deferred()  # type: ignore[attr-defined]
        target = reactor.listenTCP(0, targetFactory, interface="127.0.0.1")
        proxyFactory = portforward.ProxyFactory("127.0.0.1", target.getHost().port, reactor)
        proxyFactory.protocol = TrackedProxyServerWithClient
        proxyFactory.serverLost = defer.Deferred()  # type: ignore[attr-defined]
        trackedClientLost.append(defer.Deferred())
        proxy = reactor.listenTCP(0, proxyFactory, interface="127.0.0.1")
        received: defer.Deferred[bytes] = defer.Deferred()
        lost: defer.Deferred[None] = defer.Deferred()

        class Client(Protocol):
            buffer = b""

            def connectionMade(self) -> None:
                self.transport.write(b"through the proxy")

            def dataReceived(self, data: bytes) -> None:
                self.buffer += data
                if len(self.buffer) == len(b"through the proxy"):
                    received.callback(self.buffer)
                    self.transport.loseConnection()

            def connectionLost(self, reason: Any = None) -> None:
                lost.callback(None)

        reactor.connectTCP("127.0.0.1", proxy.getHost().port, ClientFactory.forProtocol(Client))
        assert await received == b"THROUGH THE PROXY"
        await defer.gatherResults(
            [
                lost,
                proxyFactory.serverLost,  # type: ignore[attr-defined]
                trackedClientLost[-1],
                targetFactory.lost,  # type: ignore[attr-defined]
            ]
        )
        await proxy.stopListening()
        await target.stopListening()

    async def test_targetRefuses(self) -> None:
        from glisten.internet import reactor

        dead = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        deadPort = dead.getHost().port
        await dead.stopListening()
        proxyFactory = portforward.ProxyFactory("127.0.0.1", deadPort, reactor=reactor)
        proxyFactory.protocol = TrackedProxyServer
        proxyFactory.serverLost = defer.Deferred()  # type: ignore[attr-defined]
        proxy = reactor.listenTCP(0, proxyFactory, interface="127.0.0.1")
        lost: defer.Deferred[None] = defer.Deferred()

        class Client(Protocol):
            def connectionLost(self, reason: Any = None) -> None:
                lost.callback(None)

        reactor.connectTCP("127.0.0.1", proxy.getHost().port, ClientFactory.forProtocol(Client))
        await defer.gatherResults([lost, proxyFactory.serverLost])  # type: ignore[attr-defined]
        await proxy.stopListening()
