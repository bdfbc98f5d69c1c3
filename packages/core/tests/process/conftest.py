"""
A fresh reactor per test and a helper that runs it until a Deferred fires.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glisten.internet.defer import Deferred
from glisten.python.failure import Failure


def _makeReactor() -> Any:
    kind = os.environ.get("GLISTEN_REACTOR", "epoll")
    if kind == "poll":
        from glisten.internet.pollreactor import PollReactor

        return PollReactor()
    if kind == "select":
        from glisten.internet.selectreactor import SelectReactor

        return SelectReactor()
    if kind == "asyncio":
        from glisten.internet.asyncioreactor import AsyncioSelectorReactor

        return AsyncioSelectorReactor()
    from glisten.internet.epollreactor import EPollReactor

    return EPollReactor()


@pytest.fixture
def reactor() -> Iterator[Any]:
    yield _makeReactor()


@pytest.fixture
def wait(reactor: Any) -> Callable[..., Any]:
    """
    Run the reactor until ``d`` fires (at most ``limit`` seconds, a guard against hangs) and
    return its result or raise its failure. One call per test: reactors do not restart.
    """

    def wait(d: Deferred[Any], limit: float = 30.0) -> Any:
        result: list[Any] = []

        def done(r: Any) -> None:
            result.append(r)
            if reactor.running:
                reactor.stop()

        d.addBoth(done)
        if result:
            return _unwrap(result[0])
        guard = reactor.callLater(limit, reactor.stop)
        reactor.run(installSignalHandlers=False)
        if guard.active():
            guard.cancel()
        if not result:
            raise AssertionError(f"the Deferred did not fire within {limit} seconds")
        return _unwrap(result[0])

    return wait


def _unwrap(r: Any) -> Any:
    if isinstance(r, Failure):
        r.raiseException()
    return r
