"""defer.DeferredFilesystemLock, execute, logError."""

from __future__ import annotations

import os
from typing import Any

from glisten.internet import defer
from glisten.internet.task import Clock
from glisten.python.failure import Failure


def _outcome(d: defer.Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


def test_locks_at_once_when_free(tmp_path: Any) -> None:
    lock = defer.DeferredFilesystemLock(str(tmp_path / "l"), scheduler=Clock())
    assert _outcome(lock.deferUntilLocked()) == [None] and lock.locked
    lock.unlock()


def test_waits_until_released(tmp_path: Any) -> None:
    clock = Clock()
    name = str(tmp_path / "l")
    holder = defer.DeferredFilesystemLock(name, scheduler=clock)
    assert holder.lock()
    waiter = defer.DeferredFilesystemLock(name, scheduler=clock)
    # The holder is this very process, so a second lock object cannot take it.
    out = _outcome(waiter.deferUntilLocked())
    assert out == []
    again = _outcome(waiter.deferUntilLocked())
    assert len(again) == 1 and isinstance(again[0], Failure)
    assert again[0].check(defer.AlreadyTryingToLockError)
    clock.advance(1)
    assert out == []
    holder.unlock()
    clock.advance(1)
    assert out == [None] and waiter.locked
    waiter.unlock()


def test_timeout_and_cancel(tmp_path: Any) -> None:
    clock = Clock()
    name = str(tmp_path / "l")
    holder = defer.DeferredFilesystemLock(name, scheduler=clock)
    assert holder.lock()
    waiter = defer.DeferredFilesystemLock(name, scheduler=clock)
    out = _outcome(waiter.deferUntilLocked(timeout=2.5))
    clock.advance(1)
    clock.advance(1)
    assert out == []
    clock.advance(0.5)
    assert len(out) == 1 and out[0].check(defer.TimeoutError)
    assert not clock.getDelayedCalls()
    d = waiter.deferUntilLocked()
    cancelled = _outcome(d)
    d.cancel()
    assert cancelled[0].check(defer.CancelledError) and not clock.getDelayedCalls()
    holder.unlock()
    assert not os.path.lexists(name)


def test_execute_and_log_error() -> None:
    assert _outcome(defer.execute(lambda x: x + 1, 1)) == [2]
    failed = _outcome(defer.execute(lambda: 1 / 0))
    assert failed[0].check(ZeroDivisionError)
    f = Failure(ValueError("x"))
    assert defer.logError(f) is f
