"""Deferred combinators and Deferred-based concurrency primitives.

Import them from :mod:`glisten.internet.defer`; they live here to keep that module short.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload

from glisten.internet.defer import Deferred, _logger, maybeDeferred, succeed
from glisten.python.failure import Failure

_T = TypeVar("_T")
_P = ParamSpec("_P")
_Self = TypeVar("_Self", bound="_ConcurrencyPrimitive")

#: The ``success`` flag of a :class:`DeferredList` result entry for a result.
SUCCESS = True
#: The ``success`` flag of a :class:`DeferredList` result entry for a Failure.
FAILURE = False


class FirstError(Exception):
    """The first Failure of a :class:`DeferredList` with ``fireOnOneErrback`` (and so of
    :func:`gatherResults`).

    :ivar subFailure: that Failure.
    :ivar index: the position of its Deferred in the list.
    """

    def __init__(self, failure: Failure, index: int) -> None:
        super().__init__(failure, index)
        self.subFailure = failure
        self.index = index

    def __repr__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure.value!r}]"

    def __str__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure}]"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FirstError):
            return (self.index, self.subFailure) == (other.index, other.subFailure)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.index, id(self.subFailure)))


class FailureGroup(Exception):
    """Every Deferred given to :func:`race` failed.

    :ivar failures: their Failures, in the order of the Deferreds.
    """

    def __init__(self, failures: Sequence[Failure]) -> None:
        super().__init__(list(failures))
        self.failures = list(failures)


class DeferredList(Deferred[Any]):
    """A Deferred for a group of Deferreds.

    By default it fires, once all of them have fired, with a list of ``(success, result)``
    pairs in their order: ``success`` is :data:`SUCCESS` with the result or :data:`FAILURE`
    with the Failure. An empty list fires at once with ``[]``.

    It adds a callback/errback pair to each Deferred, so callbacks added to them before see
    their results first, and callbacks added after see what the pair returns.
    """

    def __init__(
        self,
        deferredList: Iterable[Deferred[Any]],
        fireOnOneCallback: bool = False,
        fireOnOneErrback: bool = False,
        consumeErrors: bool = False,
    ) -> None:
        """
        :param fireOnOneCallback: fire with ``(result, index)`` as soon as one succeeds.
        :param fireOnOneErrback: errback with a :class:`FirstError` as soon as one fails.
        :param consumeErrors: hand ``None`` on down each failed Deferred's own chain instead of
            its Failure, so it is not also logged as unhandled.
        """
        self._deferredList = list(deferredList)
        for d in self._deferredList:
            if not isinstance(d, Deferred):
                raise TypeError(f"DeferredList needs Deferreds, not {d!r}")
        self.resultList: list[tuple[bool, Any] | None] = [None] * len(self._deferredList)
        Deferred.__init__(self)
        if not self._deferredList and not fireOnOneCallback:
            self.callback([])
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors
        self.finishedCount = 0
        for index, d in enumerate(self._deferredList):
            d.addCallbacks(
                self._cbDeferred,
                self._cbDeferred,
                callbackArgs=(index, SUCCESS),
                errbackArgs=(index, FAILURE),
            )

    def _cbDeferred(self, result: Any, index: int, succeeded: bool) -> Any:
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self) -> None:
        """Not fired yet: cancel every Deferred in the list (an exception from one of their
        cancellers is logged and does not stop the others). Fired: do nothing."""
        if self.called:
            return
        for d in self._deferredList:
            try:
                d.cancel()
            except BaseException:
                _logger().failure("Exception raised from user supplied canceller")


def _parseResults(resultList: list[tuple[bool, _T]]) -> list[_T]:
    return [value for _, value in resultList]


def gatherResults(
    deferredList: Iterable[Deferred[_T]], consumeErrors: bool = False
) -> Deferred[list[_T]]:
    """Return a Deferred firing with the list of the Deferreds' results once all succeed,
    or with a :class:`FirstError` Failure as soon as one fails. Cancelling it cancels them.

    :param consumeErrors: see :class:`DeferredList`.
    """
    d = DeferredList(deferredList, fireOnOneErrback=True, consumeErrors=consumeErrors)
    return d.addCallback(_parseResults)


def race(ds: Sequence[Deferred[_T]]) -> Deferred[tuple[int, _T]]:
    """Return a Deferred firing with ``(index, result)`` of the first Deferred to succeed;
    the others are cancelled then. If all fail, it fails with a :class:`FailureGroup` of
    their Failures (an empty ``ds`` fails that way at once). Cancelling it cancels them all.
    """
    toCancel = list(ds)
    winner: Deferred[_T] | None = None
    failures: list[tuple[int, Failure]] = []

    def cancel(result: Deferred[Any]) -> None:
        for d in toCancel:
            d.cancel()

    final: Deferred[tuple[int, _T]] = Deferred(cancel)

    def succeeded(value: _T, index: int) -> None:
        nonlocal winner
        if winner is None:
            winner = toCancel[index]
            for d in toCancel:
                if d is not winner:
                    d.cancel()
            final.callback((index, value))

    def failed(failure: Failure, index: int) -> None:
        failures.append((index, failure))
        if len(failures) == len(toCancel):
            failures.sort(key=lambda pair: pair[0])
            final.errback(FailureGroup([f for _, f in failures]))

    if not toCancel:
        final.errback(FailureGroup([]))
    for index, d in enumerate(toCancel):
        d.addCallbacks(succeeded, failed, callbackArgs=(index,), errbackArgs=(index,))
    return final


# -- concurrency primitives -----------------------------------------------------------------


class _ConcurrencyPrimitive:
    """What :class:`DeferredLock` and :class:`DeferredSemaphore` share: :meth:`run` and
    ``async with``."""

    def __init__(self) -> None:
        self.waiting: list[Deferred[Any]] = []

    def acquire(self: _Self) -> Deferred[_Self]:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def _cancelAcquire(self, d: Deferred[Any]) -> None:
        # Only called while d is unfired, so it is still waiting.
        self.waiting.remove(d)

    def _releaseAndReturn(self, result: _T) -> _T:
        self.release()
        return result

    @overload
    def run(
        self, f: Callable[_P, Deferred[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Deferred[_T]: ...

    @overload
    def run(
        self,
        f: Callable[_P, Coroutine[Any, Any, _T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T]: ...

    @overload
    def run(self, f: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...

    def run(self, f: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Acquire, call ``f(*args, **kwargs)``, and release when its result (a Deferred or
        coroutine is waited for) is in.

        :return: a Deferred for ``f``'s result.
        """

        def execute(_: object) -> Deferred[Any]:
            return maybeDeferred(f, *args, **kwargs).addBoth(self._releaseAndReturn)

        return self.acquire().addCallback(execute)

    def __aenter__(self: _Self) -> Deferred[_Self]:
        return self.acquire()

    def __aexit__(
        self,
        excType: type[BaseException] | None,
        excValue: BaseException | None,
        tb: TracebackType | None,
    ) -> Deferred[Literal[False]]:
        self.release()
        return succeed(False)


class DeferredLock(_ConcurrencyPrimitive):
    """A lock for code that waits with Deferreds: :meth:`acquire` gives a Deferred that fires
    (with the lock) once the lock is yours. Waiters get it in order.

    :ivar locked: whether someone holds it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.locked = False

    def acquire(self) -> Deferred[DeferredLock]:
        """Return a Deferred that fires with this lock once it is acquired (cancelling it
        gives up the place in the queue)."""
        d: Deferred[DeferredLock] = Deferred(self._cancelAcquire)
        if self.locked:
            self.waiting.append(d)
        else:
            self.locked = True
            d.callback(self)
        return d

    def release(self) -> None:
        """Release the lock, handing it to the first waiter.

        :raises AssertionError: it is not locked (raised explicitly, so also under ``-O``).
        """
        if not self.locked:
            raise AssertionError("tried to release an unlocked DeferredLock")
        self.locked = False
        if self.waiting:
            self.locked = True
            self.waiting.pop(0).callback(self)


class DeferredSemaphore(_ConcurrencyPrimitive):
    """A semaphore for code that waits with Deferreds: at most ``tokens`` holders at once.

    :ivar limit: the number of tokens.
    :ivar tokens: how many are free.
    """

    def __init__(self, tokens: int) -> None:
        """:raises ValueError: ``tokens`` is less than 1."""
        super().__init__()
        if tokens < 1:
            raise ValueError("DeferredSemaphore requires tokens >= 1")
        self.tokens = tokens
        self.limit = tokens

    def acquire(self) -> Deferred[DeferredSemaphore]:
        """Return a Deferred that fires with this semaphore once a token is yours."""
        d: Deferred[DeferredSemaphore] = Deferred(self._cancelAcquire)
        if self.tokens:
            self.tokens -= 1
            d.callback(self)
        else:
            self.waiting.append(d)
        return d

    def release(self) -> None:
        """Give a token back, handing it to the first waiter.

        :raises AssertionError: more releases than acquisitions.
        """
        if self.tokens >= self.limit:
            raise AssertionError("DeferredSemaphore released more often than acquired")
        if self.waiting:
            self.waiting.pop(0).callback(self)
        else:
            self.tokens += 1


class QueueOverflow(Exception):
    """:meth:`DeferredQueue.put` on a queue already holding ``size`` objects."""


class QueueUnderflow(Exception):
    """:meth:`DeferredQueue.get` on a queue already holding ``backlog`` waiting gets."""


class DeferredQueue(Generic[_T]):
    """A queue whose :meth:`get` returns a Deferred that fires once an object is there.

    :ivar size: the most objects it holds, or ``None`` for no limit.
    :ivar backlog: the most unanswered gets it holds, or ``None`` for no limit.
    :ivar pending: the objects waiting for a get.
    :ivar waiting: the Deferreds of gets waiting for an object.
    """

    def __init__(self, size: int | None = None, backlog: int | None = None) -> None:
        if size is not None and size < 0:
            raise ValueError("size must be None or at least 0")
        if backlog is not None and backlog < 0:
            raise ValueError("backlog must be None or at least 0")
        self.waiting: list[Deferred[_T]] = []
        self.pending: list[_T] = []
        self.size = size
        self.backlog = backlog

    def _cancelGet(self, d: Deferred[_T]) -> None:
        self.waiting.remove(d)

    def put(self, obj: _T) -> None:
        """Hand ``obj`` to the oldest waiting get, or keep it.

        :raises QueueOverflow: the queue holds ``size`` objects already.
        """
        if self.waiting:
            self.waiting.pop(0).callback(obj)
        elif self.size is None or len(self.pending) < self.size:
            self.pending.append(obj)
        else:
            raise QueueOverflow()

    def get(self) -> Deferred[_T]:
        """Return a Deferred for the next object (cancelling it gives up the place).

        :raises QueueUnderflow: ``backlog`` gets are waiting already.
        """
        if self.pending:
            return succeed(self.pending.pop(0))
        if self.backlog is None or len(self.waiting) < self.backlog:
            d: Deferred[_T] = Deferred(self._cancelGet)
            self.waiting.append(d)
            return d
        raise QueueUnderflow()
