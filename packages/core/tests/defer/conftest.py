"""Fixtures for the Deferred tests: a clock for addTimeout, and log capture."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glisten.internet import defer


class _FakeDelayedCall:
    def __init__(self, clock: _FakeClock, when: float, f: Callable[[], None]) -> None:
        self.clock = clock
        self.when = when
        self.f = f
        self.called = False
        self.cancelled = False

    def active(self) -> bool:
        return not (self.called or self.cancelled)

    def cancel(self) -> None:
        assert self.active()
        self.cancelled = True
        self.clock.calls.remove(self)

    def getTime(self) -> float:
        return self.when


class _FakeClock:
    """The part of IReactorTime that addTimeout uses, with time moved by hand; used only
    until glisten.internet.task.Clock exists."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[_FakeDelayedCall] = []

    def seconds(self) -> float:
        return self.now

    def callLater(self, delay: float, f: Callable[..., None], *a: Any, **kw: Any) -> Any:
        call = _FakeDelayedCall(self, self.now + delay, lambda: f(*a, **kw))
        self.calls.append(call)
        return call

    def getDelayedCalls(self) -> list[_FakeDelayedCall]:
        return list(self.calls)

    def advance(self, amount: float) -> None:
        self.now += amount
        for call in sorted(self.calls, key=lambda c: c.when):
            if call.when <= self.now and call.active():
                self.calls.remove(call)
                call.called = True
                call.f()


@pytest.fixture
def timeClock() -> Any:
    """A clock for addTimeout: glisten.internet.task.Clock when it exists."""
    try:
        from glisten.internet.task import Clock
    except ImportError:
        return _FakeClock()
    return Clock()


@pytest.fixture(autouse=True)
def _noDebugging() -> Iterator[None]:
    """Every test starts and ends with Deferred debugging off."""
    defer.setDebugging(False)
    yield
    defer.setDebugging(False)


@pytest.fixture
def logEvents() -> Iterator[list[dict[str, Any]]]:
    """Collect the events published to the global log publisher during the test."""
    from glisten.logger import globalLogPublisher

    gc.collect()
    events: list[dict[str, Any]] = []
    observer = events.append
    globalLogPublisher.addObserver(observer)
    try:
        yield events
    finally:
        gc.collect()
        globalLogPublisher.removeObserver(observer)
