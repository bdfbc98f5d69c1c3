"""The first step of a coroutine: it runs before its Deferred exists, and a coroutine that ends
at once gets a plain fired Deferred with the same behaviour as one driven step by step."""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.defer import (
    CancelledError,
    Deferred,
    ensureDeferred,
    inlineCallbacks,
    succeed,
)
from glisten.python.failure import Failure


def _unhandled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if "Unhandled" in str(e.get("log_format"))]


def test_endsAtOnceGivesFiredDeferred() -> None:
    async def run() -> int:
        return await succeed(1) + await succeed(2)

    d = Deferred.fromCoroutine(run())
    assert isinstance(d, Deferred)
    assert d.called
    assert not d.paused
    assert d.result == 3
    seen: list[int] = []
    d.addCallback(seen.append)
    assert seen == [3]


def test_endsAtOnceCancelDoesNothing() -> None:
    async def run() -> str:
        return "done"

    d = ensureDeferred(run())
    d.cancel()
    assert d.result == "done"


def test_endsAtOnceCallbackAgainRaises() -> None:
    async def run() -> None:
        return None

    d: Deferred[Any] = ensureDeferred(run())
    with pytest.raises(defer.AlreadyCalledError):
        d.callback(1)


def test_raisesAtOnceGivesFailedDeferred() -> None:
    async def run() -> None:
        raise ValueError("at once")

    d = ensureDeferred(run())
    failures: list[Failure] = []
    d.addErrback(failures.append)
    assert len(failures) == 1
    assert failures[0].check(ValueError)
    assert d.result is None


def test_raisesAtOnceUnhandledIsReported(logEvents: list[dict[str, Any]]) -> None:
    async def run() -> None:
        raise ValueError("nobody looks")

    ensureDeferred(run())
    gc.collect()
    assert len(_unhandled(logEvents)) == 1


def test_raisesAtOnceHandledIsNotReported(logEvents: list[dict[str, Any]]) -> None:
    async def run() -> None:
        raise ValueError("handled")

    ensureDeferred(run()).addErrback(lambda f: None)
    gc.collect()
    assert _unhandled(logEvents) == []


def test_returnsUnfiredDeferredAtOnceWaitsForIt() -> None:
    inner: Deferred[int] = Deferred()

    async def run() -> Deferred[int]:
        return inner

    d: Deferred[Any] = ensureDeferred(run())
    assert d.paused
    seen: list[int] = []
    d.addCallback(seen.append)
    assert seen == []
    inner.callback(5)
    assert seen == [5]


def test_returnsUnfiredDeferredAtOnceCancelReachesIt() -> None:
    inner: Deferred[int] = Deferred()

    async def run() -> Deferred[int]:
        return inner

    d = ensureDeferred(run())
    failures: list[Failure] = []
    d.addErrback(failures.append)
    d.cancel()
    assert len(failures) == 1
    assert failures[0].check(CancelledError)


def test_returnsFiredDeferredAtOnceTakesItsResult() -> None:
    async def run() -> Deferred[int]:
        return succeed(8)

    d = ensureDeferred(run())
    assert not d.paused
    assert d.result == 8


def test_firstStepWaitsThenDriverResumes() -> None:
    first: Deferred[int] = Deferred()

    async def run() -> int:
        return await first + await succeed(1)

    d = ensureDeferred(run())
    assert not d.called
    first.callback(1)
    assert d.result == 2


def test_firstYieldFiredThenUnfired() -> None:
    later: Deferred[int] = Deferred()

    @inlineCallbacks
    def run() -> Generator[Any, Any, int]:
        a = yield succeed(1)
        b = yield later
        return a + b

    d = run()
    assert not d.called
    later.callback(2)
    assert d.result == 3


def test_firstYieldPlainValueComesBack() -> None:
    @inlineCallbacks
    def run() -> Generator[Any, Any, int]:
        a = yield 4
        return a + 1

    assert run().result == 5


def test_cancelBeforeFirstWaitEnds() -> None:
    first: Deferred[int] = Deferred()

    async def run() -> int:
        try:
            return await first
        except CancelledError:
            return -1

    d = ensureDeferred(run())
    d.cancel()
    assert d.result == -1


def test_debuggingRecordsCreatorForCoroutineEndingAtOnce() -> None:
    defer.setDebugging(True)

    async def run() -> None:
        raise KeyError("debugged")

    d = ensureDeferred(run())
    info = d._debugInfo
    assert info is not None
    assert info.creator is not None
    assert any("test_debuggingRecordsCreator" in line for line in info.creator)
    d.addErrback(lambda f: None)
