"""The Deferred callback chain: ordering, errors, chaining, pausing, cancellation."""

from __future__ import annotations

import sys
import weakref
from typing import Any

import pytest

from glisten.internet.defer import (
    AlreadyCalledError,
    CancelledError,
    Deferred,
    fail,
    maybeDeferred,
    passthru,
    succeed,
)
from glisten.python.failure import Failure, NoCurrentExceptionError


def _results(d: Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


# -- the basic chain ------------------------------------------------------------------------


def test_callbackAddedBeforeFiring() -> None:
    d: Deferred[int] = Deferred()
    seen: list[int] = []
    d.addCallback(seen.append)
    assert seen == []
    d.callback(1)
    assert seen == [1]
    assert d.called


def test_callbackAddedAfterFiringRunsAtOnce() -> None:
    d: Deferred[int] = Deferred()
    d.callback(3)
    seen: list[int] = []
    d.addCallback(seen.append)
    assert seen == [3]


def test_resultsFlowThroughCallbacksInOrder() -> None:
    calls: list[str] = []

    def step(r: str, name: str) -> str:
        calls.append(name)
        return r + name

    d: Deferred[str] = Deferred()
    d.addCallback(step, "a").addCallback(step, "b")
    d.callback("")
    d.addCallback(step, "c")
    assert calls == ["a", "b", "c"]
    assert d.result == "abc"


def test_extraArgumentsAndKeywords() -> None:
    got: list[Any] = []
    d: Deferred[int] = Deferred()
    d.addCallback(lambda r, a, b=0: got.append((r, a, b)), 1, b=2)
    d.addCallbacks(
        lambda r, x, y: got.append((r, x, y)),
        callbackArgs=("x",),
        callbackKeywords={"y": "y"},
    )
    d.callback(0)
    # The first callback returned None, which the second one got.
    assert got == [(0, 1, 2), (None, "x", "y")]


def test_errbackArgumentsAndKeywords() -> None:
    got: list[Any] = []
    d: Deferred[int] = Deferred()
    d.addCallbacks(
        lambda r: got.append("callback"),
        lambda f, a, k=None: got.append((f.type, a, k)),
        errbackArgs=(1,),
        errbackKeywords={"k": 2},
    )
    d.errback(ValueError())
    d.addErrback(lambda f, *a, **kw: got.append((a, kw)), 5, z=6)
    assert got == [(ValueError, 1, 2)]
    assert d.result is None


def test_addMethodsReturnSelf() -> None:
    d: Deferred[int] = Deferred()
    assert d.addCallback(passthru) is d
    assert d.addErrback(passthru) is d
    assert d.addBoth(passthru) is d
    assert d.addCallbacks(passthru, passthru) is d
    d.callback(1)
    assert d.addCallback(passthru) is d
    assert d.addErrback(passthru) is d
    assert d.addBoth(passthru) is d
    assert d.addCallbacks(passthru, passthru) is d


@pytest.mark.parametrize("method", ["addCallback", "addErrback", "addBoth", "addCallbacks"])
@pytest.mark.parametrize("fired", [False, True])
def test_nonCallableRejected(method: str, fired: bool) -> None:
    d: Deferred[int] = Deferred()
    if fired:
        d.callback(1)
    with pytest.raises(TypeError):
        getattr(d, method)("not callable")


def test_addCallbacksRejectsNonCallableErrback() -> None:
    with pytest.raises(TypeError):
        Deferred().addCallbacks(passthru, 5)  # type: ignore[arg-type]


def test_resultAbsentBeforeFiring() -> None:
    d: Deferred[int] = Deferred()
    assert not hasattr(d, "result")
    assert not d.called
    assert d.paused == 0


# -- errors ---------------------------------------------------------------------------------


def test_errbacksSkipCallbacks() -> None:
    calls: list[str] = []
    d: Deferred[int] = Deferred()
    d.addCallback(lambda r: calls.append("cb1"))
    d.addErrback(lambda f: calls.append("eb1") or "recovered")
    d.addCallback(lambda r: calls.append(f"cb2:{r}"))
    d.addErrback(lambda f: calls.append("eb2"))
    d.errback(ValueError("x"))
    assert calls == ["eb1", "cb2:recovered"]


def test_callbacksSkipErrbacks() -> None:
    calls: list[str] = []
    d: Deferred[int] = Deferred()
    d.addErrback(lambda f: calls.append("eb"))
    d.addCallback(lambda r: calls.append(f"cb:{r}"))
    d.callback(1)
    assert calls == ["cb:1"]


def test_errbackSkippedWhenFiredBeforeAdding() -> None:
    d = succeed(5)
    calls: list[Any] = []
    d.addErrback(calls.append)
    assert calls == []
    assert d.result == 5


def test_callbackSkippedWhenFailedBeforeAdding() -> None:
    d = fail(ValueError())
    calls: list[Any] = []
    d.addCallback(calls.append)
    assert calls == []
    assert isinstance(d.result, Failure)
    d.addErrback(lambda f: None)


def test_exceptionInCallbackBecomesFailure() -> None:
    d: Deferred[int] = Deferred()

    def boom(r: int) -> int:
        raise KeyError(r)

    d.addCallback(boom)
    caught: list[Failure] = []
    d.addErrback(caught.append)
    d.callback(7)
    assert len(caught) == 1
    assert caught[0].type is KeyError
    assert caught[0].value.args == (7,)
    # The traceback reaches into the callback that raised.
    assert "boom" in caught[0].getTraceback()


def test_exceptionInCallbackAddedAfterFiring() -> None:
    d = succeed(1)
    d.addCallback(lambda r: 1 / 0)
    assert isinstance(d.result, Failure)
    assert d.result.check(ZeroDivisionError)
    d.addErrback(lambda f: None)


def test_returningFailureSwitchesToErrbacks() -> None:
    d: Deferred[int] = Deferred()
    d.addCallback(lambda r: Failure(ValueError("from callback")))
    got: list[str] = []
    d.addCallbacks(lambda r: got.append("cb"), lambda f: got.append(f.getErrorMessage()))
    d.callback(1)
    assert got == ["from callback"]


def test_errbackRaisingKeepsErrorPath() -> None:
    d: Deferred[int] = Deferred()
    d.addErrback(lambda f: f.trap(KeyError))
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.type))
    d.errback(ValueError())
    assert got == [ValueError]


def test_trapInErrbackHandlesMatching() -> None:
    d: Deferred[int] = Deferred()
    d.addErrback(lambda f: f.trap(ValueError) and "trapped")
    d.errback(ValueError())
    assert d.result == "trapped"


def test_errbackWithException() -> None:
    d: Deferred[int] = Deferred()
    err = ValueError("v")
    d.errback(err)
    assert isinstance(d.result, Failure)
    assert d.result.value is err
    d.addErrback(lambda f: None)


def test_errbackWithoutArgumentUsesCurrentException() -> None:
    d: Deferred[int] = Deferred()
    try:
        raise RuntimeError("current")
    except RuntimeError:
        d.errback()
    assert d.result.getErrorMessage() == "current"
    assert d.result.tb is not None
    d.addErrback(lambda f: None)


def test_errbackWithoutArgumentOutsideExceptRaises() -> None:
    with pytest.raises(NoCurrentExceptionError):
        Deferred().errback()


def test_callbackWithFailureGoesToErrbacks() -> None:
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addErrback(got.append)
    f = Failure(ValueError())
    d.callback(f)
    assert got == [f]


def test_baseExceptionInCallbackIsCaughtToo() -> None:
    d: Deferred[int] = Deferred()

    def interrupt(r: int) -> None:
        raise KeyboardInterrupt()

    d.addCallback(interrupt)
    d.callback(1)
    assert d.result.check(KeyboardInterrupt)
    d.addErrback(lambda f: None)


# -- firing twice ---------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["callback", "errback"])
@pytest.mark.parametrize("second", ["callback", "errback"])
def test_alreadyCalled(first: str, second: str) -> None:
    d: Deferred[Any] = Deferred()
    d.addErrback(lambda f: None)
    getattr(d, first)(ValueError() if first == "errback" else 1)
    with pytest.raises(AlreadyCalledError):
        getattr(d, second)(ValueError() if second == "errback" else 2)


def test_callbackWithDeferredRejected() -> None:
    d: Deferred[Any] = Deferred()
    with pytest.raises(AssertionError):
        d.callback(Deferred())
    assert not d.called


def test_succeedWithDeferredRejected() -> None:
    with pytest.raises(AssertionError):
        succeed(Deferred())


# -- returning Deferreds from callbacks -----------------------------------------------------


def test_callbackReturningUnfiredDeferredWaits() -> None:
    inner: Deferred[str] = Deferred()
    outer: Deferred[int] = Deferred()
    got: list[Any] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(got.append)
    outer.callback(1)
    assert got == []
    assert outer.paused == 1
    assert "waiting on Deferred" in repr(outer)
    inner.callback("inner")
    assert got == ["inner"]
    assert outer.paused == 0
    # The inner Deferred gave its result away.
    assert inner.result is None


def test_callbackReturningFiredDeferredTakesItsResult() -> None:
    inner = succeed("ready")
    outer: Deferred[int] = Deferred()
    got: list[Any] = []
    outer.addCallback(lambda r: inner).addCallback(got.append)
    outer.callback(1)
    assert got == ["ready"]
    assert inner.result is None


def test_callbackReturningFailedDeferred() -> None:
    inner = fail(ValueError("inner"))
    outer = succeed(1)
    outer.addCallback(lambda r: inner)
    got: list[Any] = []
    outer.addErrback(lambda f: got.append(f.getErrorMessage()))
    assert got == ["inner"]


def test_innerFailureAfterWaiting() -> None:
    inner: Deferred[int] = Deferred()
    outer = succeed(1)
    outer.addCallback(lambda r: inner)
    got: list[Any] = []
    outer.addErrback(lambda f: got.append(f.type))
    inner.errback(KeyError())
    assert got == [KeyError]


def test_innerCallbacksRunBeforeOuterContinues() -> None:
    order: list[str] = []
    inner: Deferred[int] = Deferred()
    inner.addCallback(lambda r: order.append("inner-before") or r)
    outer = succeed(0)
    outer.addCallback(lambda r: inner)
    outer.addCallback(lambda r: order.append(f"outer:{r}"))
    inner.addCallback(lambda r: order.append("inner-after") or "after")
    inner.callback(5)
    # Callbacks added to inner before outer started waiting ran first; the ones added after
    # see None because the result went to outer.
    assert order == ["inner-before", "outer:5", "inner-after"]


def test_callbackAddedAfterFiringReturningDeferred() -> None:
    inner: Deferred[int] = Deferred()
    outer = succeed(0)
    outer.addCallback(lambda r: inner)
    got: list[Any] = []
    outer.addCallback(got.append)
    assert got == []
    inner.callback(9)
    assert got == [9]


def test_callbackReturningItsOwnDeferredFails() -> None:
    d: Deferred[Any] = Deferred()
    d.addCallback(lambda r: d)
    d.callback(1)
    assert d.result.check(TypeError)
    d.addErrback(lambda f: None)


def test_deepNestingHasNoRecursionLimit() -> None:
    n = 100_000
    ds: list[Deferred[Any]] = [Deferred() for _ in range(n)]
    for i in range(n - 1):
        ds[i].addCallback(lambda _, nxt=ds[i + 1]: nxt)
    for i in range(n - 1):
        ds[i].callback(None)
    got: list[Any] = []
    ds[0].addCallback(got.append)
    ds[-1].callback("deep")
    assert got == ["deep"]


def test_deepNestingOfFiredDeferreds() -> None:
    # Each callback returns a Deferred whose own callback returns another, all at once.
    n = 50_000
    last = succeed("end")
    d: Deferred[Any] = last
    for _ in range(n):
        d = succeed(None).addCallback(lambda _, inner=d: inner)
    assert d.result == "end"


def test_deepChainDeferred() -> None:
    n = 100_000
    ds: list[Deferred[Any]] = [Deferred() for _ in range(n)]
    for i in range(n - 1):
        ds[i].chainDeferred(ds[i + 1])
    ds[0].callback("chained")
    assert ds[-1].result == "chained"
    assert ds[0].result is None


def test_recursionLimitUntouched() -> None:
    assert sys.getrecursionlimit() <= 10_000


# -- chainDeferred --------------------------------------------------------------------------


def test_chainDeferredPassesResult() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got: list[Any] = []
    b.addCallback(got.append)
    assert a.chainDeferred(b) is a
    a.callback(4)
    assert got == [4]
    assert a.result is None


def test_chainDeferredPassesFailure() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    got: list[Any] = []
    b.addErrback(lambda f: got.append(f.type))
    a.chainDeferred(b)
    a.errback(ValueError())
    assert got == [ValueError]
    assert a.result is None


def test_chainDeferredToFiredDeferredFails() -> None:
    a: Deferred[int] = Deferred()
    b = succeed(1)
    a.chainDeferred(b)
    a.callback(2)
    assert a.result.check(AlreadyCalledError)
    a.addErrback(lambda f: None)


def test_chainDeferredAfterFiring() -> None:
    a = succeed(3)
    b: Deferred[int] = Deferred()
    a.chainDeferred(b)
    assert b.result == 3


def test_chainDeferredRejectsSelfAndNonDeferred() -> None:
    d: Deferred[int] = Deferred()
    with pytest.raises(ValueError):
        d.chainDeferred(d)
    with pytest.raises(TypeError):
        d.chainDeferred(5)  # type: ignore[arg-type]


def test_chainDeferredToCancelledDeferredIsSwallowed() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    a.chainDeferred(b)
    b.cancel()
    b.addErrback(lambda f: None)
    a.callback(1)
    assert a.result is None


def test_chainDeferredToPausedTarget() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    b.pause()
    got: list[Any] = []
    b.addCallback(got.append)
    a.chainDeferred(b)
    after: list[Any] = []
    a.addCallback(after.append)
    a.callback(1)
    # a goes on with None although b is paused; b runs when unpaused.
    assert after == [None]
    assert got == []
    b.unpause()
    assert got == [1]


# -- pause ----------------------------------------------------------------------------------


def test_pauseBeforeFiring() -> None:
    d: Deferred[int] = Deferred()
    got: list[int] = []
    d.pause()
    d.addCallback(got.append)
    d.callback(1)
    assert got == []
    d.unpause()
    assert got == [1]


def test_pauseAfterFiring() -> None:
    d = succeed(1)
    d.pause()
    got: list[int] = []
    d.addCallback(got.append)
    assert got == []
    d.unpause()
    assert got == [1]


def test_pausesNest() -> None:
    d = succeed(1)
    d.pause()
    d.pause()
    got: list[int] = []
    d.addCallback(got.append)
    d.unpause()
    assert got == []
    d.unpause()
    assert got == [1]


def test_pauseInsideCallbackStopsTheChain() -> None:
    d: Deferred[int] = Deferred()
    order: list[str] = []

    def pauser(r: int) -> int:
        order.append("pauser")
        d.pause()
        return r + 1

    d.addCallback(pauser)
    d.addCallback(lambda r: order.append(f"next:{r}"))
    d.callback(1)
    assert order == ["pauser"]
    d.unpause()
    assert order == ["pauser", "next:2"]


def test_pauseAndUnpauseInsideCallback() -> None:
    d: Deferred[int] = Deferred()
    order: list[str] = []

    def both(r: int) -> int:
        d.pause()
        d.unpause()
        order.append("both")
        return r

    d.addCallback(both).addCallback(lambda r: order.append("next"))
    d.callback(1)
    assert order == ["both", "next"]


def test_unpauseWithoutPause() -> None:
    with pytest.raises(ValueError):
        Deferred().unpause()


def test_unpauseBeforeFiringDoesNotRun() -> None:
    d: Deferred[int] = Deferred()
    d.pause()
    got: list[int] = []
    d.addCallback(got.append)
    d.unpause()
    assert got == []
    d.callback(3)
    assert got == [3]


# -- reentrancy -----------------------------------------------------------------------------


def test_callbackAddedFromCallbackRunsAfterTheCurrentOnes() -> None:
    d: Deferred[int] = Deferred()
    order: list[str] = []

    def adder(r: int) -> int:
        d.addCallback(lambda r: order.append(f"added:{r}"))
        order.append("adder")
        return r + 1

    d.addCallback(adder)
    d.addCallback(lambda r: order.append(f"second:{r}") or r)
    d.callback(1)
    assert order == ["adder", "second:2", "added:2"]


def test_callbackAddedFromCallbackOfFiredDeferred() -> None:
    d = succeed(1)
    order: list[str] = []

    def adder(r: int) -> int:
        d.addCallback(lambda r: order.append(f"added:{r}"))
        order.append("adder")
        return r + 1

    d.addCallback(adder)
    assert order == ["adder", "added:2"]


def test_callbackFiresAnotherDeferred() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    order: list[str] = []
    a.addCallback(lambda r: b.callback(r + 1))
    b.addCallback(lambda r: order.append(f"b:{r}"))
    a.addCallback(lambda r: order.append("a-after"))
    a.callback(1)
    assert order == ["b:2", "a-after"]


# -- cancel ---------------------------------------------------------------------------------


def test_cancelWithoutCanceller() -> None:
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.type))
    d.cancel()
    assert got == [CancelledError]
    # The operation's late result is ignored once ...
    d.callback(1)
    # ... but only once.
    with pytest.raises(AlreadyCalledError):
        d.callback(2)


def test_cancelWithoutCancellerLateErrbackIgnored() -> None:
    d: Deferred[int] = Deferred()
    d.addErrback(lambda f: None)
    d.cancel()
    d.errback(ValueError())
    assert d.result is None


def test_cancellerCalledWithDeferred() -> None:
    seen: list[Deferred[Any]] = []
    d: Deferred[int] = Deferred(seen.append)
    d.addErrback(lambda f: f.type)
    d.cancel()
    assert seen == [d]
    assert d.result is CancelledError


def test_cancellerThatFiresTheDeferred() -> None:
    d: Deferred[str] = Deferred(lambda d: d.callback("cancelled nicely"))
    d.cancel()
    assert d.result == "cancelled nicely"


def test_cancellerThatErrbacks() -> None:
    d: Deferred[str] = Deferred(lambda d: d.errback(KeyError()))
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.type))
    d.cancel()
    assert got == [KeyError]


def test_cancelWithCancellerDoesNotSwallowLateResult() -> None:
    d: Deferred[str] = Deferred(lambda d: None)
    d.addErrback(lambda f: None)
    d.cancel()
    with pytest.raises(AlreadyCalledError):
        d.callback("late")


def test_cancelFiredDeferredDoesNothing() -> None:
    calls: list[Any] = []
    d: Deferred[int] = Deferred(calls.append)
    d.callback(1)
    d.cancel()
    assert calls == []
    assert d.result == 1


def test_cancelForwardsToAwaitedDeferred() -> None:
    innerCancelled: list[Any] = []
    inner: Deferred[int] = Deferred(innerCancelled.append)
    outer = succeed(0)
    outer.addCallback(lambda r: inner)
    got: list[Any] = []
    outer.addErrback(lambda f: got.append(f.type))
    outer.cancel()
    assert innerCancelled == [inner]
    assert got == [CancelledError]


def test_cancelTwice() -> None:
    calls: list[Any] = []
    d: Deferred[int] = Deferred(calls.append)
    d.addErrback(lambda f: None)
    d.cancel()
    d.cancel()
    assert len(calls) == 1


# -- helpers --------------------------------------------------------------------------------


def test_succeed() -> None:
    d = succeed("x")
    assert d.called and d.result == "x"
    got: list[str] = []
    d.addCallback(got.append)
    assert got == ["x"]


def test_succeedWithFailureIsAFailedDeferred() -> None:
    d = succeed(Failure(ValueError()))
    assert d.called
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.type))
    assert got == [ValueError]


def test_failWithException() -> None:
    d = fail(KeyError("k"))
    assert d.result.type is KeyError
    d.addErrback(lambda f: None)


def test_failWithFailure() -> None:
    f = Failure(KeyError())
    d = fail(f)
    assert d.result is f
    d.addErrback(lambda f: None)


def test_failWithCurrentException() -> None:
    try:
        raise OSError("now")
    except OSError:
        d = fail()
    assert d.result.getErrorMessage() == "now"
    d.addErrback(lambda f: None)


def test_maybeDeferredValue() -> None:
    d = maybeDeferred(lambda x, y=0: x + y, 1, y=2)
    assert d.result == 3


def test_maybeDeferredException() -> None:
    d = maybeDeferred(lambda: 1 / 0)
    assert d.result.check(ZeroDivisionError)
    d.addErrback(lambda f: None)


def test_maybeDeferredDeferred() -> None:
    inner: Deferred[int] = Deferred()
    assert maybeDeferred(lambda: inner) is inner


def test_maybeDeferredFailure() -> None:
    f = Failure(ValueError())
    d = maybeDeferred(lambda: f)
    assert d.result is f
    d.addErrback(lambda f: None)


def test_maybeDeferredCoroutine() -> None:
    async def coro(x: int) -> int:
        return x * 2

    d = maybeDeferred(coro, 4)
    assert d.result == 8


def test_passthru() -> None:
    o = object()
    assert passthru(o) is o


# -- representation and typing --------------------------------------------------------------


def test_repr() -> None:
    d: Deferred[int] = Deferred()
    assert repr(d) == f"<Deferred at 0x{id(d):x}>"
    d.callback(5)
    assert repr(d) == f"<Deferred at 0x{id(d):x} current result: 5>"
    assert str(d) == repr(d)


def test_genericSubscription() -> None:
    alias = Deferred[int]
    d = alias()
    assert isinstance(d, Deferred)


def test_weakrefable() -> None:
    d: Deferred[int] = Deferred()
    r = weakref.ref(d)
    assert r() is d


def test_subclassBehavesLikeDeferred() -> None:
    class MyDeferred(Deferred[int]):
        pass

    outer = succeed(0)
    inner = MyDeferred()
    outer.addCallback(lambda r: inner)
    inner.callback(4)
    assert outer.result == 4
    with pytest.raises(AssertionError):
        Deferred().callback(MyDeferred())


def test_errbackReturningDeferredWhilePaused() -> None:
    inner: Deferred[str] = Deferred()
    d: Deferred[int] = Deferred()

    def recover(f: Failure) -> Deferred[str]:
        d.pause()
        return inner

    d.addErrback(recover)
    got: list[Any] = []
    d.addBoth(got.append)
    d.errback(KeyError())
    assert got == []
    d.unpause()
    assert got == []
    inner.callback("recovered")
    assert got == ["recovered"]
    assert d._debugInfo is None or d._debugInfo.failResult is None


def test_addCallbacksAcceptsNoneForExtras() -> None:
    got: list[Any] = []
    d: Deferred[int] = Deferred()
    d.addCallbacks(
        lambda r, k=None: got.append((r, k)),
        callbackArgs=None,  # type: ignore[arg-type]
        callbackKeywords={"k": 1},
        errbackArgs=None,  # type: ignore[arg-type]
        errbackKeywords=None,
    )
    d.callback(0)
    assert got == [(0, 1)]


def test_failureFromCallbackIsNotInACycle() -> None:
    import gc

    refs: list[weakref.ref[Failure]] = []

    def boom(r: int) -> int:
        raise ValueError(r)

    def handle(f: Failure) -> None:
        refs.append(weakref.ref(f))

    gc.disable()
    try:
        d: Deferred[int] = Deferred()
        d.addCallback(boom).addErrback(handle)
        d.callback(1)
        # A handled Failure is freed by reference counting alone, without the cycle
        # collector.
        assert refs[0]() is None
    finally:
        gc.enable()
