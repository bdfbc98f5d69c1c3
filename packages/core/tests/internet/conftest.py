"""
Fixtures for the reactor tests: a fresh reactor of each kind per test, and a helper that runs
it until a Deferred fires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glisten.internet.asyncioreactor import AsyncioSelectorReactor
from glisten.internet.defer import Deferred
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.pollreactor import PollReactor
from glisten.internet.selectreactor import SelectReactor
from glisten.python.failure import Failure

REACTORS: dict[str, Callable[[], Any]] = {
    "epoll": EPollReactor,
    "poll": PollReactor,
    "select": SelectReactor,
    "asyncio": AsyncioSelectorReactor,
}


class ReactorTimedOut(Exception):
    """
    The safety limit of :func:`runUntil` passed before the Deferred fired.
    """


@pytest.fixture(params=sorted(REACTORS))
def anyReactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """
    A fresh, not installed, reactor of each kind.
    """
    r = REACTORS[request.param]()
    yield r


def runUntil(r: Any, d: Deferred[Any], limit: float = 10.0) -> Any:
    """
    Run ``r`` until ``d`` fires and return its result (raising its failure).

    ``limit`` is a safety net against hangs (the test fails), not a wait.
    """
    results: list[Any] = []
    stopping = [False]

    def stop() -> None:
        if not stopping[0]:
            stopping[0] = True
            r.stop()

    def done(result: Any) -> None:
        results.append(result)
        if r.running:
            stop()
        else:
            r.callWhenRunning(stop)

    d.addBoth(done)

    def timedOut() -> None:
        results.append(Failure(ReactorTimedOut()))
        stop()

    safety = r.callLater(limit, timedOut)
    r.run(installSignalHandlers=False)
    if safety.active():
        safety.cancel()
    assert results, "reactor stopped before the Deferred fired"
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result
