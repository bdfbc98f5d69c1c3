"""DeferredList, gatherResults, race, DeferredLock, DeferredSemaphore, DeferredQueue."""

from __future__ import annotations

from typing import Any

import pytest

from glisten.internet.defer import (
    FAILURE,
    SUCCESS,
    CancelledError,
    Deferred,
    DeferredList,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    FailureGroup,
    FirstError,
    QueueOverflow,
    QueueUnderflow,
    ensureDeferred,
    fail,
    gatherResults,
    race,
    succeed,
)
from glisten.python.failure import Failure


def _collect(d: Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


# -- DeferredList ---------------------------------------------------------------------------


def test_deferredListWaitsForAll() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got = _collect(DeferredList([a, b]))
    b.callback(2)
    assert got == []
    a.errback(KeyError())
    assert len(got) == 1
    results = got[0]
    assert results[0][0] is FAILURE and results[0][1].check(KeyError)
    assert results[1] == (SUCCESS, 2)
    # Without consumeErrors, a's own chain still holds the Failure.
    assert isinstance(a.result, Failure)
    a.addErrback(lambda f: None)


def test_deferredListEmptyFiresAtOnce() -> None:
    assert DeferredList([]).result == []


def test_deferredListEmptyWithFireOnOneCallbackNeverFires() -> None:
    assert not DeferredList([], fireOnOneCallback=True).called


def test_deferredListAlreadyFired() -> None:
    dl = DeferredList([succeed(1), succeed(2)])
    assert dl.result == [(True, 1), (True, 2)]


def test_deferredListKeepsOrder() -> None:
    ds: list[Deferred[int]] = [Deferred() for _ in range(4)]
    got = _collect(DeferredList(ds))
    for i in (3, 1, 0, 2):
        ds[i].callback(i)
    assert got == [[(True, 0), (True, 1), (True, 2), (True, 3)]]


def test_fireOnOneCallback() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got = _collect(DeferredList([a, b], fireOnOneCallback=True))
    a.errback(KeyError())
    assert got == []
    b.callback("b")
    assert got == [("b", 1)]
    a.addErrback(lambda f: None)


def test_fireOnOneErrback() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], fireOnOneErrback=True)
    got = _collect(dl)
    a.callback(1)
    assert got == []
    b.errback(KeyError("k"))
    assert len(got) == 1
    error = got[0].value
    assert isinstance(error, FirstError)
    assert error.index == 1
    assert error.subFailure.check(KeyError)
    assert "FirstError[#1" in repr(error) and "FirstError[#1" in str(error)
    b.addErrback(lambda f: None)


def test_firstErrorEquality() -> None:
    f = Failure(KeyError())
    assert FirstError(f, 1) == FirstError(f, 1)
    assert FirstError(f, 1) != FirstError(f, 2)
    assert FirstError(f, 1) != "other"


def test_consumeErrors() -> None:
    a: Deferred[int] = Deferred()
    DeferredList([a], consumeErrors=True)
    a.errback(KeyError())
    assert a.result is None


def test_deferredListCallbacksBeforeAndAfter() -> None:
    a: Deferred[int] = Deferred()
    a.addCallback(lambda r: r * 10)
    dl = DeferredList([a])
    after: list[Any] = []
    a.addCallback(after.append)
    a.callback(1)
    assert dl.result == [(True, 10)]
    assert after == [10]


def test_deferredListCancel() -> None:
    cancelled: list[Any] = []
    a: Deferred[int] = Deferred(cancelled.append)
    b: Deferred[int] = Deferred(cancelled.append)
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    assert cancelled == [a, b]
    assert [ok for ok, _ in dl.result] == [False, False]


def test_deferredListCancelLogsBrokenCanceller(logEvents: list[dict[str, Any]]) -> None:
    def broken(d: Deferred[Any]) -> None:
        raise RuntimeError("canceller broke")

    a: Deferred[int] = Deferred(broken)
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    assert b.called
    assert any(e.get("log_failure") and e["log_failure"].check(RuntimeError) for e in logEvents)
    a.callback(1)
    assert dl.called


def test_deferredListCancelAfterFiringDoesNothing() -> None:
    cancelled: list[Any] = []
    a: Deferred[int] = Deferred(cancelled.append)
    b = succeed(1)
    dl = DeferredList([a, b], fireOnOneCallback=True)
    dl.cancel()
    assert cancelled == []


def test_deferredListRejectsNonDeferreds() -> None:
    with pytest.raises(TypeError):
        DeferredList([1])  # type: ignore[list-item]


# -- gatherResults --------------------------------------------------------------------------


def test_gatherResults() -> None:
    a: Deferred[int] = Deferred()
    got = _collect(gatherResults([a, succeed(2)]))
    a.callback(1)
    assert got == [[1, 2]]


def test_nestedGatherResultsChains() -> None:
    """Issue 13: gathers of gathers, and a callback that returns a gather, chain without
    "a callback returned the Deferred it was added to"."""
    inner: Deferred[int] = Deferred()
    nested = _collect(gatherResults([gatherResults([inner, succeed(2)]), succeed(3)]))
    inner.callback(1)
    assert nested == [[[1, 2], 3]]
    x: Deferred[int] = Deferred()
    y: Deferred[int] = Deferred()
    x.addCallback(lambda _: gatherResults([y]))
    outer = _collect(gatherResults([x]))
    x.callback(0)
    y.callback(5)
    assert outer == [[[5]]]


def test_gatherResultsEmpty() -> None:
    assert gatherResults([]).result == []


def test_gatherResultsFailsOnFirstError() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    d = gatherResults([a, b], consumeErrors=True)
    got = _collect(d)
    b.errback(OSError())
    assert len(got) == 1
    assert got[0].check(FirstError)
    assert got[0].value.subFailure.check(OSError)
    assert got[0].value.index == 1
    assert b.result is None


def test_gatherResultsCancel() -> None:
    a: Deferred[int] = Deferred()
    d = gatherResults([a], consumeErrors=True)
    got = _collect(d)
    d.cancel()
    assert got[0].value.subFailure.check(CancelledError)


# -- race -----------------------------------------------------------------------------------


def test_raceFirstSuccessWinsAndCancelsOthers() -> None:
    cancelled: list[Any] = []
    a: Deferred[int] = Deferred(cancelled.append)
    b: Deferred[int] = Deferred(cancelled.append)
    c: Deferred[int] = Deferred(cancelled.append)
    got = _collect(race([a, b, c]))
    b.callback(2)
    assert got == [(1, 2)]
    assert cancelled == [a, c]


def test_raceIgnoresFailuresWhileOthersPending() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got = _collect(race([a, b]))
    a.errback(KeyError())
    assert got == []
    b.callback(5)
    assert got == [(1, 5)]


def test_raceAllFail() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got = _collect(race([a, b]))
    b.errback(KeyError())
    a.errback(OSError())
    assert len(got) == 1
    group = got[0].value
    assert isinstance(group, FailureGroup)
    assert [f.type for f in group.failures] == [OSError, KeyError]


def test_raceEmpty() -> None:
    d = race([])
    assert d.result.check(FailureGroup)
    assert d.result.value.failures == []
    d.addErrback(lambda f: None)


def test_raceCancelCancelsAll() -> None:
    cancelled: list[Any] = []
    a: Deferred[int] = Deferred(cancelled.append)
    b: Deferred[int] = Deferred(cancelled.append)
    d = race([a, b])
    got = _collect(d)
    d.cancel()
    assert cancelled == [a, b]
    assert got[0].check(FailureGroup, CancelledError)


def test_raceAlreadyFired() -> None:
    assert race([Deferred(), succeed("now")]).result == (1, "now")


# -- DeferredLock ---------------------------------------------------------------------------


def test_lockAcquireRelease() -> None:
    lock = DeferredLock()
    first = lock.acquire()
    assert first.result is lock
    assert lock.locked
    second = lock.acquire()
    assert not second.called
    lock.release()
    assert second.result is lock
    assert lock.locked
    lock.release()
    assert not lock.locked


def test_lockWaitersInOrder() -> None:
    lock = DeferredLock()
    lock.acquire()
    order: list[int] = []
    for i in range(3):
        lock.acquire().addCallback(lambda _, i=i: order.append(i))
    for _ in range(3):
        lock.release()
    assert order == [0, 1, 2]


def test_lockReleaseUnlocked() -> None:
    with pytest.raises(AssertionError):
        DeferredLock().release()


def test_lockCancelWaiter() -> None:
    lock = DeferredLock()
    lock.acquire()
    waiter = lock.acquire()
    waiter.cancel()
    assert waiter.result.check(CancelledError)
    waiter.addErrback(lambda f: None)
    assert lock.waiting == []
    lock.release()
    assert not lock.locked


def test_lockRun() -> None:
    lock = DeferredLock()
    inner: Deferred[str] = Deferred()
    d = lock.run(lambda x: inner.addCallback(lambda r: r + x), "!")
    assert lock.locked
    queued = lock.run(lambda: "second")
    assert not queued.called
    inner.callback("done")
    assert d.result == "done!"
    assert queued.result == "second"
    assert not lock.locked


def test_lockRunReleasesOnError() -> None:
    lock = DeferredLock()
    d = lock.run(lambda: 1 / 0)
    assert d.result.check(ZeroDivisionError)
    d.addErrback(lambda f: None)
    assert not lock.locked


def test_lockRunCoroutine() -> None:
    lock = DeferredLock()
    waiting: Deferred[int] = Deferred()

    async def work() -> int:
        return await waiting

    d = lock.run(work)
    assert lock.locked
    waiting.callback(3)
    assert d.result == 3
    assert not lock.locked


def test_lockAsyncWith() -> None:
    lock = DeferredLock()
    lock.acquire()
    inside: list[bool] = []

    async def work() -> None:
        async with lock:
            inside.append(lock.locked)

    d = ensureDeferred(work())
    assert inside == []
    lock.release()
    assert inside == [True]
    assert d.called
    assert not lock.locked


# -- DeferredSemaphore ----------------------------------------------------------------------


def test_semaphoreTokens() -> None:
    sem = DeferredSemaphore(2)
    assert sem.limit == 2
    a, b, c = sem.acquire(), sem.acquire(), sem.acquire()
    assert a.called and b.called and not c.called
    assert sem.tokens == 0
    sem.release()
    assert c.result is sem
    assert sem.tokens == 0
    sem.release()
    sem.release()
    assert sem.tokens == 2


def test_semaphoreInvalid() -> None:
    with pytest.raises(ValueError):
        DeferredSemaphore(0)


def test_semaphoreOverRelease() -> None:
    with pytest.raises(AssertionError):
        DeferredSemaphore(1).release()


def test_semaphoreCancelWaiter() -> None:
    sem = DeferredSemaphore(1)
    sem.acquire()
    waiter = sem.acquire()
    waiter.cancel()
    waiter.addErrback(lambda f: None)
    assert sem.waiting == []
    sem.release()
    assert sem.tokens == 1


def test_semaphoreRunLimitsConcurrency() -> None:
    sem = DeferredSemaphore(2)
    pending: list[Deferred[int]] = [Deferred() for _ in range(4)]
    running: list[int] = []

    def job(i: int) -> Deferred[int]:
        running.append(i)
        return pending[i]

    results = [sem.run(job, i) for i in range(4)]
    assert running == [0, 1]
    pending[1].callback(1)
    assert running == [0, 1, 2]
    pending[0].callback(0)
    pending[2].callback(2)
    pending[3].callback(3)
    assert [r.result for r in results] == [0, 1, 2, 3]
    assert sem.tokens == 2


# -- DeferredQueue --------------------------------------------------------------------------


def test_queuePutThenGet() -> None:
    q: DeferredQueue[int] = DeferredQueue()
    q.put(1)
    q.put(2)
    assert q.pending == [1, 2]
    assert q.get().result == 1
    assert q.get().result == 2


def test_queueGetThenPut() -> None:
    q: DeferredQueue[str] = DeferredQueue()
    a, b = q.get(), q.get()
    assert not a.called
    q.put("x")
    q.put("y")
    assert (a.result, b.result) == ("x", "y")
    assert q.waiting == []


def test_queueSizeLimit() -> None:
    q: DeferredQueue[int] = DeferredQueue(size=1)
    q.put(1)
    with pytest.raises(QueueOverflow):
        q.put(2)


def test_queueSizeZeroStillHandsToWaiters() -> None:
    q: DeferredQueue[int] = DeferredQueue(size=0)
    d = q.get()
    q.put(1)
    assert d.result == 1
    with pytest.raises(QueueOverflow):
        q.put(2)


def test_queueBacklogLimit() -> None:
    q: DeferredQueue[int] = DeferredQueue(backlog=1)
    q.get()
    with pytest.raises(QueueUnderflow):
        q.get()


def test_queueInvalidLimits() -> None:
    with pytest.raises(ValueError):
        DeferredQueue(size=-1)
    with pytest.raises(ValueError):
        DeferredQueue(backlog=-1)


def test_queueCancelGet() -> None:
    q: DeferredQueue[int] = DeferredQueue()
    d = q.get()
    d.cancel()
    d.addErrback(lambda f: None)
    assert q.waiting == []
    q.put(1)
    assert q.pending == [1]


def test_queueWithFailedGetterChain() -> None:
    q: DeferredQueue[int] = DeferredQueue()
    d = q.get()
    d.addCallback(lambda r: 1 / r)
    q.put(0)
    assert d.result.check(ZeroDivisionError)
    d.addErrback(lambda f: None)
    assert fail(KeyError()).addErrback(lambda f: "ok").result == "ok"
