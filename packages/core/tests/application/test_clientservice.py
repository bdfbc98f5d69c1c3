"""ClientService: connect, reconnect with backoff, whenConnected, stop."""

from __future__ import annotations

from typing import Any

from glisten.application.internet import ClientService
from glisten.internet.defer import CancelledError, Deferred, fail, succeed
from glisten.internet.error import ConnectionRefusedError
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.python.failure import Failure


class Tracked(Protocol):
    lostReason: Any = None

    def connectionLost(self, reason: Any) -> None:
        self.lostReason = reason


class ScriptedEndpoint:
    """Each connect() takes the next scripted outcome: "ok", "fail" or "pending"."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes
        self.attempts = 0
        self.protocols: list[Any] = []
        self.pending: list[Deferred[Any]] = []

    def connect(self, factory: Any) -> Deferred[Any]:
        outcome = self.outcomes[min(self.attempts, len(self.outcomes) - 1)]
        self.attempts += 1
        if outcome == "fail":
            return fail(ConnectionRefusedError())
        if outcome == "pending":
            d: Deferred[Any] = Deferred()
            self.pending.append(d)
            return d
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.protocols.append(protocol)
        return succeed(protocol)


def lose(protocol: Any) -> None:
    protocol.connectionLost(Failure(ConnectionRefusedError()))


def make(outcomes: list[str], **kw: Any) -> tuple[ClientService, ScriptedEndpoint, Clock]:
    clock = Clock()
    endpoint = ScriptedEndpoint(outcomes)
    service = ClientService(
        endpoint, Factory.forProtocol(Tracked), retryPolicy=lambda n: 10.0 * n, clock=clock, **kw
    )
    return service, endpoint, clock


def test_connects_and_whenConnected() -> None:
    service, endpoint, _ = make(["ok"])
    early: list[Any] = []
    service.whenConnected().addBoth(early.append)  # before start: stopped -> cancelled
    assert isinstance(early[0].value, CancelledError)
    service.startService()
    got: list[Any] = []
    service.whenConnected().addCallback(got.append)
    assert got == endpoint.protocols and len(got) == 1


def test_retries_with_backoff_then_reconnects_after_loss() -> None:
    service, endpoint, clock = make(["fail", "fail", "ok"])
    service.startService()
    waiting: list[Any] = []
    service.whenConnected().addCallback(waiting.append)
    assert endpoint.attempts == 1
    clock.advance(9.9)
    assert endpoint.attempts == 1  # first retry after policy(1) = 10 s
    clock.advance(0.1)
    assert endpoint.attempts == 2
    clock.advance(19.9)
    assert endpoint.attempts == 2  # second retry after policy(2) = 20 s
    clock.advance(0.1)
    assert endpoint.attempts == 3
    assert waiting == [endpoint.protocols[0]]
    lose(endpoint.protocols[0])
    assert endpoint.protocols[0].lostReason is not None  # user's connectionLost still runs
    clock.advance(0)  # policy(0) = 0: reconnect at once
    assert endpoint.attempts == 4
    got: list[Any] = []
    service.whenConnected().addCallback(got.append)
    assert got == [endpoint.protocols[1]]


def test_whenConnected_failAfterFailures() -> None:
    service, endpoint, clock = make(["fail"])
    service.startService()
    failed: list[Any] = []
    service.whenConnected(failAfterFailures=2).addErrback(failed.append)
    patient: list[Any] = []
    service.whenConnected().addBoth(patient.append)
    assert not failed
    clock.advance(10)
    assert failed and failed[0].check(ConnectionRefusedError)
    assert not patient
    service.stopService()
    assert isinstance(patient[0].value, CancelledError)


def test_stop_while_connected_waits_for_connectionLost() -> None:
    service, endpoint, clock = make(["ok"])
    service.startService()
    protocol = endpoint.protocols[0]
    stopped: list[Any] = []
    service.stopService().addCallback(stopped.append)
    assert protocol.transport.disconnecting
    assert not stopped
    lose(protocol)
    assert stopped == [None]
    clock.advance(1000)
    assert endpoint.attempts == 1  # no reconnect after stop


def test_stop_cancels_pending_attempt_and_retry_timer() -> None:
    service, endpoint, clock = make(["pending"])
    service.startService()
    stopped: list[Any] = []
    service.stopService().addCallback(stopped.append)
    assert stopped == [None]
    assert endpoint.pending[0].called  # cancelled
    service2, endpoint2, clock2 = make(["fail"])
    service2.startService()
    assert clock2.getDelayedCalls()
    done: list[Any] = []
    service2.stopService().addCallback(done.append)
    assert done == [None] and not clock2.getDelayedCalls()
    again: list[Any] = []
    service2.stopService().addCallback(again.append)
    assert again == [None]


def test_restart_after_stop() -> None:
    service, endpoint, _ = make(["ok"])
    service.startService()
    service.stopService()
    lose(endpoint.protocols[0])
    service.startService()
    assert endpoint.attempts == 2


def test_prepareConnection() -> None:
    prepared: list[Deferred[None]] = []

    def prepare(protocol: Any) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        prepared.append(d)
        return d

    service, endpoint, clock = make(["ok"], prepareConnection=prepare)
    service.startService()
    got: list[Any] = []
    service.whenConnected().addCallback(got.append)
    assert not got
    prepared[0].callback(None)
    assert got == [endpoint.protocols[0]]


def test_failed_prepareConnection_closes_and_retries() -> None:
    def prepare(protocol: Any) -> Any:
        raise ValueError("handshake refused")

    service, endpoint, clock = make(["ok"], prepareConnection=prepare)
    service.startService()
    first = endpoint.protocols[0]
    assert first.transport.disconnecting
    lose(first)
    clock.advance(10)
    assert endpoint.attempts == 2
