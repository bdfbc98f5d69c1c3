"""TrafficLoggingFactory, loopbackTCP/loopbackUNIX, ClientCreator, ConsumerToProtocolAdapter."""

from __future__ import annotations

import io
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.internet import error, interfaces
from glisten.internet.defer import CancelledError, Deferred
from glisten.internet.protocol import (
    ClientCreator,
    ConsumerToProtocolAdapter,
    Factory,
    Protocol,
)
from glisten.internet.testing import (
    AccumulatingProtocol,
    MemoryReactorClock,
    RaisingMemoryReactor,
    StringTransport,
)
from glisten.protocols import basic, loopback, policies
from glisten.python.failure import Failure


class _Files(policies.TrafficLoggingFactory):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.files: dict[str, io.StringIO] = {}

    def open(self, name: str) -> io.StringIO:
        f = self.files[name] = io.StringIO()
        return f


class Upper(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data.upper())
        self.transport.writeSequence([b"a", b"b"])
        if data == b"bye":
            self.transport.loseConnection()


def test_traffic_logging_factory(tmp_path: Any) -> None:
    factory = _Files(Factory.forProtocol(Upper), "prefix", lengthLimit=20)
    p = factory.buildProtocol(None)
    t = StringTransport()
    p.makeConnection(t)
    p.dataReceived(b"hi")
    p.dataReceived(b"x" * 40)
    p.dataReceived(b"bye")
    p.connectionLost(Failure(error.ConnectionDone()))
    assert list(factory.files) == ["prefix-1"]
    lines = factory.files["prefix-1"].getvalue().splitlines()
    assert lines[0] == "*"
    assert lines[1] == "C 1: b'hi'" and lines[2] == "S 1: b'HI'"
    assert lines[3] == "SV 1: [b'a', b'b']"
    assert lines[4] == "C 1: b'xxxxxxxx<... elided>'"
    assert "S 1: *" in lines
    assert lines[-1].startswith("C 1: <") and "ConnectionDone" in lines[-1]
    assert t.value().startswith(b"HIab")
    factory.buildProtocol(None)
    assert "prefix-2" in factory.files
    factory.resetCounter()
    factory.buildProtocol(None)
    assert len(factory.files) == 2

    # The real open() writes files.
    real = policies.TrafficLoggingFactory(Factory.forProtocol(Upper), str(tmp_path / "log"))
    rp = real.buildProtocol(None)
    rp.makeConnection(StringTransport())
    rp.dataReceived(b"q")
    assert (tmp_path / "log-1").read_text().splitlines()[:3] == ["*", "C 1: b'q'", "S 1: b'Q'"]


def test_consumer_to_protocol_adapter() -> None:
    t = StringTransport()
    adapter = ConsumerToProtocolAdapter(t)
    verifyObject(interfaces.IProtocol, adapter)
    adapter.makeConnection(None)
    adapter.dataReceived(b"abc")
    adapter.connectionLost(error.ConnectionDone())
    assert t.value() == b"abc"


def test_client_creator_memory() -> None:
    reactor = MemoryReactorClock()
    cc = ClientCreator(reactor, AccumulatingProtocol)
    d = cc.connectTCP("example.com", 1234, timeout=5)
    host, port, factory, timeout, bindAddress = reactor.tcpClients[0]
    assert (host, port, timeout) == ("example.com", 1234, 5)
    results: list[Any] = []
    d.addCallback(results.append)
    proto = factory.buildProtocol(None)
    proto.makeConnection(StringTransport())
    assert results == []  # fires on the next turn, after connectionMade
    reactor.advance(0)
    assert results == [proto] and proto.made == 1

    failed = cc.connectUNIX("/x/y")
    factory = reactor.unixClients[0][1]
    errors: list[Any] = []
    failed.addErrback(errors.append)
    factory.clientConnectionFailed(None, error.ConnectionRefusedError())
    reactor.advance(0)
    assert errors and errors[0].check(error.ConnectionRefusedError)

    # Cancelling disconnects the connector and fails with CancelledError.
    d3 = cc.connectSSL("h", 1, object())
    connector = reactor.connectors[-1]
    cancelled: list[Any] = []
    d3.addErrback(cancelled.append)
    d3.cancel()
    assert connector.disconnected
    assert len(cancelled) == 1 and cancelled[0].check(CancelledError)


def test_client_creator_raising_reactor() -> None:
    cc = ClientCreator(RaisingMemoryReactor(connectException=RuntimeError("no")), Protocol)
    with pytest.raises(RuntimeError):
        cc.connectTCP("h", 1)


def test_loopback_addresses_provide_iaddress() -> None:
    server, client = AccumulatingProtocol(), AccumulatingProtocol()
    from glisten.internet.task import Clock

    loopback.loopbackAsync(server, client, clock=Clock())
    verifyObject(interfaces.IAddress, server.transport.getHost())
    verifyObject(interfaces.IAddress, client.transport.getPeer())


class _Greeter(basic.LineReceiver):
    def connectionMade(self) -> None:
        self.sendLine(b"hello")

    def lineReceived(self, line: bytes) -> None:
        self.factory_lines.append(line)
        if line == b"bye":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())


class _Talker(basic.LineReceiver):
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if line == b"hello":
            self.sendLine(b"one")
        elif line == b"ONE":
            self.sendLine(b"bye")


@pytest.mark.parametrize("kind", ["TCP", "UNIX"])
def test_loopback_over_sockets(reactor: Any, wait: Any, kind: str) -> None:
    server, client = _Greeter(), _Talker()
    server.factory_lines = []  # type: ignore[attr-defined]
    if kind == "TCP":
        d: Deferred[None] = loopback.loopbackTCP(server, client, noisy=False, reactor=reactor)
    else:
        d = loopback.loopbackUNIX(server, client, noisy=False, reactor=reactor)
    wait(d)
    assert client.lines == [b"hello", b"ONE"]
    assert server.factory_lines == [b"one", b"bye"]  # type: ignore[attr-defined]
    if kind == "TCP":
        verifyObject(interfaces.IAddress, server.transport.getPeer())


def test_client_creator_real_connection(reactor: Any, wait: Any) -> None:
    async def scenario() -> list[Any]:
        port = reactor.listenTCP(0, Factory.forProtocol(Upper), interface="127.0.0.1")
        portNumber = port.getHost().port
        try:
            proto = await ClientCreator(reactor, AccumulatingProtocol).connectTCP(
                "127.0.0.1", portNumber
            )
            done: Deferred[None] = Deferred()
            proto.closedDeferred = done
            proto.transport.write(b"bye")
            await done
        finally:
            await port.stopListening()
        refused = ClientCreator(reactor, Protocol).connectTCP("127.0.0.1", portNumber)
        try:
            await refused
        except error.ConnectionRefusedError as e:
            return [proto, e]
        return [proto, None]

    proto, refusal = wait(lambda: Deferred.fromCoroutine(scenario()))
    assert isinstance(proto, AccumulatingProtocol) and proto.made == 1
    assert proto.data.startswith(b"BYE")
    assert isinstance(refusal, error.ConnectionRefusedError)


def test_intn_recvd() -> None:
    received: list[bytes] = []

    class R(basic.Int16StringReceiver):
        def stringReceived(self, string: bytes) -> None:
            received.append(string)

    r = R()
    r.makeConnection(StringTransport())
    r.dataReceived(b"\x00\x05ab")
    assert r.recvd == b"\x00\x05ab"
    r.dataReceived(b"c")
    assert r.recvd == b"\x00\x05abc"
    r.recvd = b""
    r.dataReceived(b"\x00\x02hi\x00\x01")
    assert received == [b"hi"] and r.recvd == b"\x00\x01"
    r.recvd = b"\x00\x03xy"
    r.dataReceived(b"z")
    assert received == [b"hi", b"xyz"] and r.recvd == b""
    # A large frame gathered in pieces is part of recvd too.
    big = b"\x7f\xff" + b"q" * 40000
    r.MAX_LENGTH = 1 << 16
    r.dataReceived(big[:20000])
    r.dataReceived(big[20000:30000])
    assert r.recvd == big[:30000]
