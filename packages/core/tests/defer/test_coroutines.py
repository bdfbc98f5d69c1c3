"""Coroutines and Deferreds: await, fromCoroutine, ensureDeferred, inlineCallbacks, asyncio."""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Generator
from typing import Any

import pytest

from glisten.internet.defer import (
    CancelledError,
    Deferred,
    NotACoroutineError,
    ensureDeferred,
    fail,
    inlineCallbacks,
    succeed,
)
from glisten.python.failure import Failure

# -- await ----------------------------------------------------------------------------------


def test_awaitFiredDeferred() -> None:
    async def run() -> int:
        return await succeed(4) + 1

    d = ensureDeferred(run())
    assert d.result == 5


def test_awaitUnfiredDeferred() -> None:
    waiting: Deferred[int] = Deferred()
    steps: list[str] = []

    async def run() -> int:
        steps.append("before")
        value = await waiting
        steps.append("after")
        return value * 2

    d = ensureDeferred(run())
    assert steps == ["before"]
    assert not d.called
    waiting.callback(21)
    assert steps == ["before", "after"]
    assert d.result == 42
    # Awaiting consumed the result.
    assert waiting.result is None


def test_awaitFailedDeferredRaises() -> None:
    async def run() -> str:
        try:
            await fail(KeyError("k"))
        except KeyError as e:
            return f"caught {e.args[0]}"
        return "not raised"

    assert ensureDeferred(run()).result == "caught k"


def test_awaitLaterFailure() -> None:
    waiting: Deferred[int] = Deferred()

    async def run() -> str:
        try:
            await waiting
        except ValueError:
            return "caught"
        return "not raised"

    d = ensureDeferred(run())
    waiting.errback(ValueError())
    assert d.result == "caught"


def test_awaitedFailureIsNotReportedUnhandled(logEvents: list[dict[str, Any]]) -> None:
    async def run() -> None:
        try:
            await fail(KeyError())
        except KeyError:
            pass

    ensureDeferred(run())
    import gc

    gc.collect()
    assert [e for e in logEvents if "Unhandled" in str(e.get("log_format"))] == []


def test_uncaughtExceptionFailsTheDeferred() -> None:
    async def run() -> None:
        raise OSError("inside")

    d = ensureDeferred(run())
    assert d.result.check(OSError)
    assert "run" in d.result.getTraceback()
    d.addErrback(lambda f: None)


def test_awaitPausedFiredDeferredWaitsForUnpause() -> None:
    paused = succeed(3)
    paused.pause()

    async def run() -> int:
        return await paused

    d = ensureDeferred(run())
    assert not d.called
    paused.unpause()
    assert d.result == 3


def test_awaitDeferredFiringWithDeferredResult() -> None:
    inner: Deferred[int] = Deferred()
    outer = succeed(0).addCallback(lambda _: inner)

    async def run() -> int:
        return await outer

    d = ensureDeferred(run())
    assert not d.called
    inner.callback(8)
    assert d.result == 8


def test_awaitManyInSequence() -> None:
    ds: list[Deferred[int]] = [Deferred() for _ in range(5)]

    async def run() -> int:
        total = 0
        for d in ds:
            total += await d
        return total

    result = ensureDeferred(run())
    for i, d in enumerate(ds):
        assert not result.called
        d.callback(i)
    assert result.result == 10


def test_manySynchronousAwaitsDoNotRecurse() -> None:
    async def run() -> int:
        total = 0
        for i in range(50_000):
            total += await succeed(i)
        return total

    assert ensureDeferred(run()).result == sum(range(50_000))


def test_awaitNestedCoroutines() -> None:
    waiting: Deferred[int] = Deferred()

    async def inner() -> int:
        return await waiting + 1

    async def outer() -> int:
        return await inner() + await ensureDeferred(inner())

    d = ensureDeferred(outer())
    waiting.callback(1)
    assert d.result == 4


def test_coroutineReturningDeferred() -> None:
    later: Deferred[str] = Deferred()

    async def run() -> Any:
        return later

    got: list[Any] = []
    ensureDeferred(run()).addBoth(got.append)
    assert got == []
    later.callback("later")
    assert got == ["later"]


# -- fromCoroutine / ensureDeferred ---------------------------------------------------------


def test_fromCoroutine() -> None:
    async def run() -> str:
        return "ok"

    d = Deferred.fromCoroutine(run())
    assert isinstance(d, Deferred)
    assert d.result == "ok"


def test_fromCoroutineAcceptsGenerator() -> None:
    def gen() -> Generator[Any, Any, int]:
        x = yield succeed(2)
        return x * 3

    assert Deferred.fromCoroutine(gen()).result == 6


@pytest.mark.parametrize("bad", [1, "s", None, lambda: None])
def test_fromCoroutineRejectsOthers(bad: Any) -> None:
    with pytest.raises(NotACoroutineError):
        Deferred.fromCoroutine(bad)


def test_ensureDeferredReturnsDeferredUnchanged() -> None:
    d: Deferred[int] = Deferred()
    assert ensureDeferred(d) is d


def test_ensureDeferredRejectsOthers() -> None:
    with pytest.raises(NotACoroutineError):
        ensureDeferred(5)  # type: ignore[arg-type]
    assert issubclass(NotACoroutineError, TypeError)


def test_coroutineRunsInItsOwnContext() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    waiting: Deferred[None] = Deferred()
    seen: list[str] = []

    async def run() -> None:
        var.set("inside")
        await waiting
        seen.append(var.get())

    ensureDeferred(run())
    assert var.get() == "outside"
    waiting.callback(None)
    assert seen == ["inside"]
    assert var.get() == "outside"


# -- cancellation ---------------------------------------------------------------------------


def test_cancelCancelsAwaitedDeferred() -> None:
    cancelled: list[Any] = []
    waiting: Deferred[int] = Deferred(cancelled.append)

    async def run() -> int:
        return await waiting

    d = ensureDeferred(run())
    d.cancel()
    assert cancelled == [waiting]
    assert d.result.check(CancelledError)
    d.addErrback(lambda f: None)


def test_cancelledCoroutineMayRecover() -> None:
    first: Deferred[int] = Deferred()
    second: Deferred[int] = Deferred()

    async def run() -> str:
        try:
            await first
        except CancelledError:
            value = await second
            return f"recovered {value}"
        return "not cancelled"

    d = ensureDeferred(run())
    d.cancel()
    assert not d.called or isinstance(d.result, Deferred)
    got: list[Any] = []
    d.addBoth(got.append)
    assert got == []
    second.callback(7)
    assert got == ["recovered 7"]


def test_cancelAgainWhileRecovering() -> None:
    first: Deferred[int] = Deferred()
    second: Deferred[int] = Deferred()

    async def run() -> str:
        try:
            await first
        except CancelledError:
            await second
        return "finished"

    d = ensureDeferred(run())
    d.cancel()
    d.cancel()
    got: list[Any] = []
    d.addBoth(got.append)
    assert len(got) == 1 and isinstance(got[0], Failure)
    assert got[0].check(CancelledError)


def test_cancelFromInsideTheCoroutine() -> None:
    holder: list[Deferred[Any]] = []
    gate: Deferred[None] = Deferred()
    waiting: Deferred[int] = Deferred()

    async def run() -> str:
        await gate
        holder[0].cancel()
        try:
            await waiting
        except CancelledError:
            return "cancelled at the next await"
        return "not cancelled"

    d = ensureDeferred(run())
    holder.append(d)
    got: list[Any] = []
    d.addBoth(got.append)
    gate.callback(None)
    assert got == ["cancelled at the next await"]


def test_cancelFinishedCoroutineDoesNothing() -> None:
    async def run() -> int:
        return 1

    d = ensureDeferred(run())
    d.cancel()
    assert d.result == 1


# -- inlineCallbacks ------------------------------------------------------------------------


def test_inlineCallbacksReturnValue() -> None:
    @inlineCallbacks
    def work(a: int) -> Generator[Deferred[int], Any, int]:
        b = yield succeed(a + 1)
        return b * 10

    d = work(1)
    assert isinstance(d, Deferred)
    assert d.result == 20


def test_inlineCallbacksWaits() -> None:
    waiting: Deferred[str] = Deferred()

    @inlineCallbacks
    def work() -> Generator[Deferred[str], Any, str]:
        value = yield waiting
        return value.upper()

    d = work()
    assert not d.called
    waiting.callback("x")
    assert d.result == "X"


def test_inlineCallbacksFailureRaisedAtYield() -> None:
    @inlineCallbacks
    def work() -> Generator[Deferred[Any], Any, str]:
        try:
            yield fail(KeyError())
        except KeyError:
            return "caught"
        return "missed"

    assert work().result == "caught"


def test_inlineCallbacksLaterFailure() -> None:
    waiting: Deferred[int] = Deferred()

    @inlineCallbacks
    def work() -> Generator[Deferred[Any], Any, str]:
        try:
            yield waiting
        except ValueError as e:
            return str(e)
        return "missed"

    d = work()
    waiting.errback(ValueError("late"))
    assert d.result == "late"


def test_inlineCallbacksException() -> None:
    @inlineCallbacks
    def work() -> Generator[Deferred[Any], Any, None]:
        yield succeed(None)
        raise OSError("bad")

    d = work()
    assert d.result.check(OSError)
    d.addErrback(lambda f: None)


def test_inlineCallbacksPlainValuesComeBack() -> None:
    @inlineCallbacks
    def work() -> Generator[Any, Any, list[Any]]:
        a = yield 1
        b = yield "two"
        return [a, b]

    assert work().result == [1, "two"]


def test_inlineCallbacksYieldCoroutine() -> None:
    waiting: Deferred[int] = Deferred()

    async def coro() -> int:
        return await waiting + 1

    @inlineCallbacks
    def work() -> Generator[Any, Any, int]:
        value = yield coro()
        return value * 2

    d = work()
    waiting.callback(2)
    assert d.result == 6


def test_inlineCallbacksNoYield() -> None:
    @inlineCallbacks
    def work() -> Generator[Any, Any, int]:
        return 5
        yield  # pragma: no cover

    assert work().result == 5


def test_inlineCallbacksRequiresGenerator() -> None:
    @inlineCallbacks
    def notGen() -> Any:
        return 1

    with pytest.raises(TypeError, match="generator"):
        notGen()


def test_inlineCallbacksKeepsMetadata() -> None:
    def work() -> Generator[Any, Any, None]:
        """Docstring."""
        yield None

    wrapped = inlineCallbacks(work)
    assert wrapped.__name__ == "work"
    assert wrapped.__doc__ == "Docstring."


def test_inlineCallbacksCancel() -> None:
    cancelled: list[Any] = []
    waiting: Deferred[int] = Deferred(cancelled.append)

    @inlineCallbacks
    def work() -> Generator[Deferred[int], Any, int]:
        value = yield waiting
        return value

    d = work()
    d.cancel()
    assert cancelled == [waiting]
    assert d.result.check(CancelledError)
    d.addErrback(lambda f: None)


def test_inlineCallbacksManySynchronousYields() -> None:
    @inlineCallbacks
    def work() -> Generator[Deferred[int], Any, int]:
        total = 0
        for i in range(50_000):
            total += yield succeed(i)
        return total

    assert work().result == sum(range(50_000))


def test_inlineCallbacksYieldedDeferredGivesUpResult() -> None:
    d = succeed("value")

    @inlineCallbacks
    def work() -> Generator[Deferred[str], Any, str]:
        return (yield d)

    assert work().result == "value"
    assert d.result is None


def test_inlineCallbacksYieldsDeferredRunningItsCallbacks() -> None:
    # A generator started from a callback of d, yielding d itself, resumes once d's current
    # callback is done.
    d: Deferred[int] = Deferred()
    results: list[Any] = []

    @inlineCallbacks
    def work() -> Generator[Deferred[int], Any, None]:
        value = yield d
        results.append(value)

    d.addCallback(lambda r: (work(), r + 1)[1])
    d.callback(1)
    assert results == [2]


# -- asyncio --------------------------------------------------------------------------------


def test_asFuture() -> None:
    loop = asyncio.new_event_loop()
    try:
        d: Deferred[int] = Deferred()
        future = d.asFuture(loop)
        assert not future.done()
        d.callback(5)
        assert loop.run_until_complete(future) == 5
        assert d.result is None
    finally:
        loop.close()


def test_asFutureFailure() -> None:
    loop = asyncio.new_event_loop()
    try:
        d: Deferred[int] = Deferred()
        future = d.asFuture(loop)
        d.errback(KeyError("k"))
        with pytest.raises(KeyError):
            loop.run_until_complete(future)
    finally:
        loop.close()


def test_asFutureCancelCancelsDeferred() -> None:
    loop = asyncio.new_event_loop()
    try:
        cancelled: list[Any] = []
        d: Deferred[int] = Deferred(cancelled.append)
        future = d.asFuture(loop)
        future.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        assert cancelled == [d]
        assert d.result is None
    finally:
        loop.close()


def test_fromFuture() -> None:
    loop = asyncio.new_event_loop()
    try:
        future: asyncio.Future[int] = loop.create_future()
        d = Deferred.fromFuture(future)
        assert not d.called
        future.set_result(3)
        loop.run_until_complete(asyncio.sleep(0))
        assert d.result == 3
    finally:
        loop.close()


def test_fromFutureFailure() -> None:
    loop = asyncio.new_event_loop()
    try:
        future: asyncio.Future[int] = loop.create_future()
        d = Deferred.fromFuture(future)
        future.set_exception(OSError("o"))
        loop.run_until_complete(asyncio.sleep(0))
        assert d.result.check(OSError)
        d.addErrback(lambda f: None)
    finally:
        loop.close()


def test_fromFutureCancel() -> None:
    loop = asyncio.new_event_loop()
    try:
        future: asyncio.Future[int] = loop.create_future()
        d = Deferred.fromFuture(future)
        d.cancel()
        assert future.cancelled()
        # As in Twisted: the Deferred fails with what the Future reports, asyncio's
        # CancelledError, once the loop has run the Future's callbacks.
        outcome: list[Any] = []
        d.addBoth(outcome.append)
        assert outcome == []
        loop.run_until_complete(asyncio.sleep(0))
        assert len(outcome) == 1 and outcome[0].check(asyncio.CancelledError)
        assert not outcome[0].check(CancelledError)
    finally:
        loop.close()


def test_fromFutureOfCoroutineTask() -> None:
    loop = asyncio.new_event_loop()
    try:

        async def work() -> str:
            await asyncio.sleep(0)
            return "task"

        task = loop.create_task(work())
        d = Deferred.fromFuture(task)
        loop.run_until_complete(task)
        loop.run_until_complete(asyncio.sleep(0))
        assert d.result == "task"
    finally:
        loop.close()


def test_deferredIsAwaitableType() -> None:
    d: Deferred[int] = Deferred()
    gen = d.__await__()
    assert isinstance(gen, types.GeneratorType)
    assert next(gen) is d
    d.callback(1)
    with pytest.raises(StopIteration) as info:
        next(gen)
    assert info.value.value == 1


def test_deepStackOfCoroutinesFinishesWithoutRecursion() -> None:
    depth = 5_000
    gates: list[Deferred[None]] = [Deferred() for _ in range(depth)]
    bottom: Deferred[int] = Deferred()

    async def level(i: int) -> int:
        # Wait on a gate first, so that starting the levels does not nest.
        await gates[i]
        if i == depth - 1:
            return await bottom + 1
        return await deferreds[i + 1] + 1

    deferreds = [ensureDeferred(level(i)) for i in range(depth)]
    for gate in gates:
        gate.callback(None)
    bottom.callback(0)
    assert deferreds[0].result == depth


@pytest.mark.parametrize("depth", [5_000])
def test_deepInlineCallbacksChainFinishesWithoutRecursion(depth: int) -> None:
    gates: list[Deferred[None]] = [Deferred() for _ in range(depth)]
    bottom: Deferred[int] = Deferred()

    @inlineCallbacks
    def level(i: int) -> Generator[Any, Any, int]:
        # Wait on a gate first, so that starting the levels does not nest.
        yield gates[i]
        if i == depth - 1:
            value = yield bottom
        else:
            value = yield deferreds[i + 1]
        return value + 1

    deferreds = [level(i) for i in range(depth)]
    for gate in gates:
        gate.callback(None)
    bottom.callback(0)
    assert deferreds[0].result == depth


def test_finishedCoroutineDeferredIsNotInACycle() -> None:
    import gc
    import weakref

    async def run() -> int:
        return await succeed(1)

    gc.disable()
    try:
        d = ensureDeferred(run())
        ref = weakref.ref(d)
        del d
        # Freed by reference counting alone, without the cycle collector.
        assert ref() is None
    finally:
        gc.enable()


def test_returnValue_ends_inlineCallbacks_with_warning() -> None:
    import warnings

    from glisten.internet import defer

    @defer.inlineCallbacks
    def legacy(x: int):  # type: ignore[no-untyped-def]
        y = yield defer.succeed(x + 1)
        defer.returnValue(y * 2)
        raise AssertionError("not reached")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = legacy(1)
    results: list[int] = []
    d.addCallback(results.append)
    assert results == [4]
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "use a return statement" in str(caught[0].message)
    assert caught[0].filename == __file__

    # Also after waiting on a Deferred that fires later, and from a helper it calls.
    waiter: defer.Deferred[int] = defer.Deferred()

    def helper(v: int) -> None:
        defer.returnValue(v)

    @defer.inlineCallbacks
    def later():  # type: ignore[no-untyped-def]
        v = yield waiter
        helper(v)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        d2 = later()
        out: list[int] = []
        d2.addCallback(out.append)
        waiter.callback(9)
    assert out == [9]
    assert issubclass(defer._DefGen_Return, BaseException)


def test_yield_from_deferred_in_inlineCallbacks() -> None:
    from glisten.internet import defer

    waiting: defer.Deferred[int] = defer.Deferred()

    @defer.inlineCallbacks
    def gen():  # type: ignore[no-untyped-def]
        a = yield from defer.succeed(1)
        b = yield from waiting
        try:
            yield from defer.fail(KeyError("k"))
        except KeyError:
            pass
        return a + b

    out: list[Any] = []
    gen().addBoth(out.append)
    assert out == []
    waiting.callback(2)
    assert out == [3]


def test_deferred_debug_is_settable() -> None:
    from glisten.internet import defer

    assert defer.Deferred.debug is False
    defer.Deferred.debug = True  # type: ignore[misc]
    try:
        assert defer.getDebugging() and defer.Deferred.debug
        assert defer.Deferred().debug
    finally:
        defer.Deferred.debug = False  # type: ignore[misc]
    assert not defer.getDebugging()
    d: defer.Deferred[int] = defer.Deferred()
    assert not d.debug
    d.debug = True
    assert d.debug and d._debugInfo is not None and d._debugInfo.creator
    d.callback(1)
