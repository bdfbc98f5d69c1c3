"""Timed calls: glisten's reactor heap against Twisted's, with many pending calls.

Run with ``hatch run python benchmarks/timers.py``. Each case builds a fresh reactor holding
``PENDING`` pending calls, then times ``OPERATIONS`` operations (described in each case's
docstring) and reports operations per second.
"""

from __future__ import annotations

import time
from typing import Any

from _harness import Case, main

PENDING = 100_000
OPERATIONS = 200_000


def _reactor(impl: str) -> Any:
    if impl == "glisten":
        from glisten.internet.epollreactor import EPollReactor

        return EPollReactor()
    from twisted.internet.epollreactor import EPollReactor  # type: ignore[no-redef]

    return EPollReactor()


def _noop() -> None:
    pass


def _prepared(impl: str) -> Any:
    r = _reactor(impl)
    for i in range(PENDING):
        r.callLater(1000 + i, _noop)
    return r


def _timed(f: Any, count: int) -> float:
    start = time.perf_counter()
    f(count)
    return count / (time.perf_counter() - start)


def scheduleAndCancel(impl: str, n: int) -> float:
    """callLater then cancel, next to 100,000 pending calls (a timeout that did not fire)."""
    r = _prepared(impl)

    def run(count: int) -> None:
        for i in range(count):
            r.callLater(500 + (i % 1000), _noop).cancel()
        # Each implementation's deferred bookkeeping counts too.
        r.runUntilCurrent()

    return _timed(run, OPERATIONS)


def resetLater(impl: str, n: int) -> float:
    """Push an idle timeout back (``reset``), next to 100,000 pending calls."""
    r = _prepared(impl)
    call = r.callLater(10, _noop)

    def run(count: int) -> None:
        for i in range(count):
            call.reset(10 + (i % 7))
        r.runUntilCurrent()

    return _timed(run, OPERATIONS)


def scheduleAndRun(impl: str, n: int) -> float:
    """callLater(0) and run it, next to 100,000 pending calls."""
    r = _prepared(impl)
    ran = [0]

    def bump() -> None:
        ran[0] += 1

    def run(count: int) -> None:
        for _ in range(count // 100):
            for _ in range(100):
                r.callLater(0, bump)
            r.runUntilCurrent()

    rate = _timed(run, OPERATIONS)
    assert ran[0] == OPERATIONS // 100 * 100, ran[0]
    return rate


if __name__ == "__main__":
    main(
        [
            Case("callLater+cancel, 100k pending", scheduleAndCancel, selfTimed=True),
            Case("DelayedCall.reset, 100k pending", resetLater, selfTimed=True),
            Case("callLater(0)+run, 100k pending", scheduleAndRun, selfTimed=True),
        ]
    )
