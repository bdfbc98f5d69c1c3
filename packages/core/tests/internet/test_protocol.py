"""
Protocol and factory base classes, addresses and errors (no reactor needed).
"""

from __future__ import annotations

from typing import Any

import pytest

from glisten.internet import error, task
from glisten.internet.address import HostnameAddress, IPv4Address, IPv6Address, UNIXAddress
from glisten.internet.interfaces import IProtocol, IProtocolFactory
from glisten.internet.protocol import (
    ClientFactory,
    Factory,
    ProcessProtocol,
    Protocol,
    ReconnectingClientFactory,
    connectionDone,
)
from glisten.python.failure import Failure


def test_factoryForProtocolAndStartStop() -> None:
    events: list[str] = []

    class F(Factory):
        noisy = False

        def __init__(self, tag: str) -> None:
            self.tag = tag

        def startFactory(self) -> None:
            events.append("start")

        def stopFactory(self) -> None:
            events.append("stop")

    f = F.forProtocol(Protocol, "tag")
    assert f.tag == "tag" and IProtocolFactory.providedBy(f)
    p = f.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert isinstance(p, Protocol) and p.factory is f and IProtocol.providedBy(p)
    f.doStart()
    f.doStart()
    f.doStop()
    f.doStop()
    f.doStop()  # an extra stop is ignored
    assert events == ["start", "stop"]


def test_protocolDefaults() -> None:
    p = Protocol()
    transport = object()
    p.makeConnection(transport)
    assert p.connected == 1 and p.transport is transport
    p.dataReceived(b"ignored")
    p.connectionLost(connectionDone)
    assert connectionDone.check(error.ConnectionDone)
    assert p.logPrefix() == "Protocol"


def test_processProtocolDispatch() -> None:
    seen: list[Any] = []

    class P(ProcessProtocol):
        def outReceived(self, data: bytes) -> None:
            seen.append(("out", data))

        def errReceived(self, data: bytes) -> None:
            seen.append(("err", data))

        def inConnectionLost(self) -> None:
            seen.append("in")

        def outConnectionLost(self) -> None:
            seen.append("outlost")

        def errConnectionLost(self) -> None:
            seen.append("errlost")

    p = P()
    p.childDataReceived(1, b"a")
    p.childDataReceived(2, b"b")
    p.childDataReceived(3, b"ignored")
    for fd in (0, 1, 2, 3):
        p.childConnectionLost(fd)
    assert seen == [("out", b"a"), ("err", b"b"), "in", "outlost", "errlost"]


class FakeConnector:
    def __init__(self) -> None:
        self.attempts = 0
        self.stopped = 0

    def connect(self) -> None:
        self.attempts += 1

    def stopConnecting(self) -> None:
        self.stopped += 1
        raise error.NotConnectingError()


def test_reconnectingClientFactoryBacksOff() -> None:
    clock = task.Clock()
    f = ReconnectingClientFactory()
    f.noisy = False
    f.clock = clock
    f.jitter = 0
    f.maxDelay = 10
    connector = FakeConnector()
    reason = Failure(error.ConnectionRefusedError())
    delays = []
    for _ in range(5):
        f.clientConnectionFailed(connector, reason)
        (call,) = clock.getDelayedCalls()
        delays.append(round(call.getTime() - clock.seconds(), 3))
        clock.advance(call.getTime() - clock.seconds())
    assert connector.attempts == 5
    assert delays == [2.718, 7.389, 10, 10, 10]
    f.resetDelay()
    assert f.delay == f.initialDelay and f.retries == 0
    f.clientConnectionLost(connector, reason)
    f.stopTrying()
    assert clock.getDelayedCalls() == [] and not f.continueTrying
    f.clientConnectionLost(connector, reason)
    assert clock.getDelayedCalls() == []


def test_reconnectingMaxRetries() -> None:
    clock = task.Clock()
    f = ReconnectingClientFactory()
    f.noisy = False
    f.clock = clock
    f.maxRetries = 2
    connector = FakeConnector()
    for _ in range(4):
        f.clientConnectionFailed(connector, Failure(error.ConnectionRefusedError()))
        clock.advance(10_000)
    assert connector.attempts == 2


def test_addresses() -> None:
    assert IPv4Address("TCP", "1.2.3.4", 5) == IPv4Address("TCP", "1.2.3.4", 5)
    assert hash(IPv6Address("UDP", "::1", 5)) == hash(IPv6Address("UDP", "::1", 5))
    with pytest.raises(ValueError):
        IPv4Address("SCTP", "1.2.3.4", 5)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        IPv4Address("TCP", "1.2.3.4", 5).port = 6  # type: ignore[misc]
    assert UNIXAddress("/tmp/x").name == b"/tmp/x"
    assert UNIXAddress(None) == UNIXAddress(None)
    assert UNIXAddress(b"\0abstract") != UNIXAddress(b"\0other")
    assert HostnameAddress(b"example.com", 80).port == 80


def test_errorMessages() -> None:
    assert str(error.ConnectionRefusedError()) == "Connection was refused by other side."
    e = error.getConnectError(ConnectionRefusedError(111, "Connection refused"))
    assert isinstance(e, error.ConnectionRefusedError) and e.osError == 111
    assert isinstance(error.getConnectError(OSError(113, "No route")), error.NoRouteError)
    assert "Couldn't listen on any:80" in str(error.CannotListenError("", 80, OSError("x")))
    assert error.ProcessTerminated(exitCode=3).exitCode == 3
    assert str(error.ConnectionDone()) == "Connection was closed cleanly."
    assert issubclass(error.ConnectionAborted, error.ConnectionLost)
    assert issubclass(error.TimeoutError, error.UserError)


def test_clientFactoryHooksExist() -> None:
    f = ClientFactory()
    f.startedConnecting(None)
    f.clientConnectionFailed(None, Failure(error.ConnectionRefusedError()))
    f.clientConnectionLost(None, Failure(error.ConnectionDone()))
