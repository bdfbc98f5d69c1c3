"""Deferred hot paths: glisten.internet.defer against twisted.internet.defer.

Run with ``hatch run python benchmarks/deferred.py`` (optionally with words selecting cases).
Each case performs ``n`` operations; an operation is described in its docstring.
"""

from __future__ import annotations

import os
from typing import Any

from _harness import Case, main


def _defer(impl: str) -> Any:
    if impl == "glisten":
        from glisten.internet import defer
    else:
        from twisted.internet import defer  # type: ignore[no-redef]
    return defer


# Import the implementation now, so that the first timed call does not pay for it.
if os.environ.get("GLISTEN_BENCH_IMPL") in ("glisten", "twisted"):
    _defer(os.environ["GLISTEN_BENCH_IMPL"])


def _batches(n: int, size: int) -> list[int]:
    """Split ``n`` operations into batches of ``size`` and a remainder, so that every case
    performs exactly ``n`` operations."""
    return [size] * (n // size) + ([n % size] if n % size else [])


def _inc(x: int) -> int:
    return x + 1


def chainFiredFirst(impl: str, n: int) -> None:
    """Fire a Deferred, then add 10 callbacks (each runs at once)."""
    Deferred = _defer(impl).Deferred
    inc = _inc
    for _ in range(n):
        d = Deferred()
        d.callback(0)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        assert d.result == 10


def chainFiredLast(impl: str, n: int) -> None:
    """Add 10 callbacks to a Deferred, then fire it."""
    Deferred = _defer(impl).Deferred
    inc = _inc
    for _ in range(n):
        d = Deferred()
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.addCallback(inc)
        d.callback(0)
        assert d.result == 10


def errbackChain(impl: str, n: int) -> None:
    """Errback a Deferred through 10 entries: 4 skipped callbacks, 4 errbacks passing the
    Failure on, one errback that traps the wrong type (re-raising), one that handles it."""
    Deferred = _defer(impl).Deferred

    def passOn(f: Any) -> Any:
        return f

    def trapWrong(f: Any) -> Any:
        return f.trap(KeyError)

    def handle(f: Any) -> int:
        f.trap(ValueError)
        return 1

    for _ in range(n):
        d = Deferred()
        d.addCallback(_inc)
        d.addErrback(passOn)
        d.addCallback(_inc)
        d.addErrback(passOn)
        d.addErrback(trapWrong)
        d.addCallback(_inc)
        d.addErrback(passOn)
        d.addCallback(_inc)
        d.addErrback(passOn)
        d.addErrback(handle)
        d.errback(ValueError("boom"))
        assert d.result == 1


def chained1000(impl: str, n: int) -> None:
    """1,000 Deferreds, each one's callback returning the next (unfired) one; fire them all,
    then the last, whose result travels back up through all 1,000."""
    Deferred = _defer(impl).Deferred
    for size in _batches(n, 1000):
        ds = [Deferred() for _ in range(size)]
        for i in range(size - 1):
            ds[i].addCallback(lambda _, nxt=ds[i + 1]: nxt)
        for i in range(size - 1):
            ds[i].callback(None)
        ds[-1].callback(7)
        assert ds[0].result == 7


def awaitFired(impl: str, n: int) -> None:
    """A coroutine (run by ``Deferred.fromCoroutine``) awaiting 10 fired Deferreds."""
    defer = _defer(impl)
    Deferred = defer.Deferred
    succeed = defer.succeed

    async def work(count: int) -> int:
        total = 0
        for i in range(count):
            total += await succeed(i)
        return total

    for size in _batches(n, 10):
        d = Deferred.fromCoroutine(work(size))
        assert d.result == sum(range(size))


def coroutineAwaitingFired(impl: str, n: int) -> None:
    """Run a coroutine (``Deferred.fromCoroutine``) that awaits one fired Deferred."""
    defer = _defer(impl)
    Deferred = defer.Deferred
    succeed = defer.succeed

    async def work(i: int) -> int:
        return await succeed(i)

    for i in range(n):
        d = Deferred.fromCoroutine(work(i))
        assert d.result == i


def awaitUnfired(impl: str, n: int) -> None:
    """A coroutine awaiting 10 unfired Deferreds in turn, each fired while it waits."""
    Deferred = _defer(impl).Deferred

    async def work(ds: list[Any]) -> int:
        total = 0
        for d in ds:
            total += await d
        return total

    for size in _batches(n, 10):
        ds = [Deferred() for _ in range(size)]
        outer = Deferred.fromCoroutine(work(ds))
        for i, d in enumerate(ds):
            d.callback(i)
        assert outer.result == sum(range(size))


def inlineCallbacks10(impl: str, n: int) -> None:
    """An ``inlineCallbacks`` generator yielding 10 fired Deferreds."""
    defer = _defer(impl)
    succeed = defer.succeed

    @defer.inlineCallbacks
    def work() -> Any:
        total = 0
        for i in range(10):
            total += yield succeed(i)
        return total

    for _ in range(n):
        d = work()
        assert d.result == 45


if __name__ == "__main__":
    main(
        [
            Case("chain of 10 callbacks, fired first", chainFiredFirst),
            Case("chain of 10 callbacks, fired last", chainFiredLast),
            Case("errback chain", errbackChain),
            Case("1,000 chained Deferreds (per Deferred)", chained1000),
            Case("await fired Deferred (per await)", awaitFired),
            Case("coroutine awaiting one fired Deferred", coroutineAwaitingFired),
            Case("await unfired Deferred (per await)", awaitUnfired),
            Case("inlineCallbacks with 10 yields", inlineCallbacks10),
        ]
    )
