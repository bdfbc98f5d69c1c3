"""A file-system lock taken with a Deferred, and small Deferred helpers Twisted exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from glisten.internet.defer import CancelledError, Deferred, TimeoutError, _logger, fail, succeed
from glisten.internet.main import getReactor
from glisten.python.failure import Failure
from glisten.python.lockfile import FilesystemLock

_T = TypeVar("_T")


class AlreadyTryingToLockError(Exception):
    """:meth:`DeferredFilesystemLock.deferUntilLocked` was called while a call is pending."""


class DeferredFilesystemLock(FilesystemLock):
    """A :class:`~glisten.python.lockfile.FilesystemLock` that can wait for the lock.

    :param scheduler: an ``IReactorTime`` to poll with (the global reactor by default).
    :cvar _interval: seconds between attempts.
    """

    _interval = 1.0
    _tryLockCall: Any = None
    _timeoutCall: Any = None

    def __init__(self, name: str, scheduler: Any = None) -> None:
        super().__init__(name)
        self._scheduler = scheduler  # looked up when used: constructing installs nothing

    def deferUntilLocked(self, timeout: float | None = None) -> Deferred[None]:
        """Take the lock as soon as it is free.

        :param timeout: give up after this many seconds (errback with ``TimeoutError``).
        :return: a Deferred firing with ``None`` once locked; cancelling it stops trying
            (it still succeeds if the lock happens to be free at that moment).
        """
        if self._tryLockCall is not None:
            return fail(AlreadyTryingToLockError("deferUntilLocked isn't safe for concurrent use."))

        def stop(reason: Any) -> None:
            if self._tryLockCall is not None:
                self._tryLockCall.cancel()
                self._tryLockCall = None
            if self._timeoutCall is not None and self._timeoutCall.active():
                self._timeoutCall.cancel()
            self._timeoutCall = None
            if self.lock():
                d.callback(None)
            else:
                d.errback(reason)

        d: Deferred[None] = Deferred(lambda _: stop(CancelledError()))

        def tryLock() -> None:
            if self.lock():
                if self._timeoutCall is not None:
                    if self._timeoutCall.active():
                        self._timeoutCall.cancel()
                    self._timeoutCall = None
                self._tryLockCall = None
                d.callback(None)
                return
            if timeout is not None and self._timeoutCall is None:
                reason = Failure(
                    TimeoutError(f"Timed out acquiring lock: {self.name} after {timeout}s")
                )
                self._timeoutCall = getReactor(self._scheduler).callLater(timeout, stop, reason)
            self._tryLockCall = getReactor(self._scheduler).callLater(self._interval, tryLock)

        tryLock()
        return d


def execute(callable: Callable[..., _T], *args: Any, **kwargs: Any) -> Deferred[_T]:
    """Call ``callable`` now and return a fired Deferred with its result or its exception."""
    try:
        result = callable(*args, **kwargs)
    except BaseException:
        return fail()
    return succeed(result)


def logError(err: Failure) -> Failure:
    """An errback that logs the failure and passes it on."""
    _logger().failure("Unhandled Error", err)
    return err
