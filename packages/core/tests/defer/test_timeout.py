"""Deferred.addTimeout with a fake clock."""

from __future__ import annotations

from typing import Any

from glisten.internet.defer import CancelledError, Deferred, TimeoutError
from glisten.python.failure import Failure


def _collect(d: Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


def test_firesInTimeCancelsTheTimer(timeClock: Any) -> None:
    d: Deferred[str] = Deferred()
    assert d.addTimeout(10, timeClock) is d
    assert len(timeClock.getDelayedCalls()) == 1
    got = _collect(d)
    d.callback("in time")
    assert got == ["in time"]
    assert timeClock.getDelayedCalls() == []
    timeClock.advance(20)
    assert got == ["in time"]


def test_failureInTimePassesThrough(timeClock: Any) -> None:
    d: Deferred[str] = Deferred()
    d.addTimeout(10, timeClock)
    got = _collect(d)
    d.errback(KeyError())
    assert got[0].check(KeyError)
    assert timeClock.getDelayedCalls() == []


def test_timesOut(timeClock: Any) -> None:
    cancelled: list[Any] = []
    d: Deferred[str] = Deferred(cancelled.append)
    d.addTimeout(10, timeClock)
    got = _collect(d)
    timeClock.advance(9.9)
    assert got == []
    timeClock.advance(0.2)
    assert cancelled == [d]
    assert len(got) == 1 and isinstance(got[0], Failure)
    assert got[0].check(TimeoutError)
    assert got[0].value.args == (10, "Deferred")


def test_lateResultAfterTimeoutIsIgnored(timeClock: Any) -> None:
    d: Deferred[str] = Deferred()
    d.addTimeout(1, timeClock)
    got = _collect(d)
    timeClock.advance(1)
    d.callback("too late")
    assert len(got) == 1 and got[0].check(TimeoutError)


def test_cancellerFiringWithValueIsKept(timeClock: Any) -> None:
    d: Deferred[str] = Deferred(lambda d: d.callback("fallback"))
    d.addTimeout(1, timeClock)
    got = _collect(d)
    timeClock.advance(1)
    assert got == ["fallback"]


def test_onTimeoutCancel(timeClock: Any) -> None:
    seen: list[Any] = []

    def onTimeout(result: Any, timeout: float) -> str:
        seen.append((type(result), timeout))
        return "replaced"

    d: Deferred[str] = Deferred()
    d.addTimeout(5, timeClock, onTimeoutCancel=onTimeout)
    got = _collect(d)
    timeClock.advance(5)
    assert seen == [(Failure, 5)]
    assert got == ["replaced"]


def test_onTimeoutCancelNotCalledWithoutTimeout(timeClock: Any) -> None:
    seen: list[Any] = []
    d: Deferred[str] = Deferred()
    d.addTimeout(5, timeClock, onTimeoutCancel=lambda r, t: seen.append(r))
    d.callback("ok")
    assert seen == []
    assert d.result == "ok"


def test_explicitCancelIsNotATimeout(timeClock: Any) -> None:
    d: Deferred[str] = Deferred()
    d.addTimeout(5, timeClock)
    got = _collect(d)
    d.cancel()
    assert got[0].check(CancelledError)
    assert timeClock.getDelayedCalls() == []


def test_timeoutAlreadyFired(timeClock: Any) -> None:
    d: Deferred[int] = Deferred()
    d.callback(1)
    d.addTimeout(5, timeClock)
    assert d.result == 1
    assert timeClock.getDelayedCalls() == []


def test_timeoutWhileWaitingOnInnerDeferred(timeClock: Any) -> None:
    cancelled: list[Any] = []
    inner: Deferred[int] = Deferred(cancelled.append)
    d: Deferred[Any] = Deferred()
    d.addCallback(lambda _: inner)
    d.addTimeout(3, timeClock)
    got = _collect(d)
    d.callback(None)
    timeClock.advance(3)
    assert cancelled == [inner]
    assert got[0].check(TimeoutError)
