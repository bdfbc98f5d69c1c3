"""
Running blocking code in threads and getting results back to the reactor thread.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from glisten.internet import defer
from glisten.internet.main import getReactor
from glisten.python.failure import Failure

_T = TypeVar("_T")


def deferToThreadPool(
    reactor: Any, threadpool: Any, f: Callable[..., _T], *args: object, **kwargs: object
) -> defer.Deferred[_T]:
    """
    Call ``f(*args, **kwargs)`` in ``threadpool``.

    :return: a Deferred fired in the reactor thread with the result or the failure.
    """
    d: defer.Deferred[_T] = defer.Deferred()

    def onResult(success: bool, result: Any) -> None:
        if success:
            reactor.callFromThread(d.callback, result)
        else:
            reactor.callFromThread(d.errback, result)

    threadpool.callInThreadWithCallback(onResult, f, *args, **kwargs)
    return d


def deferToThread(f: Callable[..., _T], *args: object, **kwargs: object) -> defer.Deferred[_T]:
    """
    Call ``f(*args, **kwargs)`` in the global reactor's thread pool.

    :return: a Deferred with its result.
    """
    reactor = getReactor()
    return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args, **kwargs)


def _runMultiple(tupleList: Iterable[tuple[Callable[..., object], tuple, dict]]) -> None:
    for f, args, kwargs in tupleList:
        f(*args, **kwargs)


def callMultipleInThread(tupleList: Iterable[tuple[Callable[..., object], tuple, dict]]) -> None:
    """
    Run each ``(f, args, kwargs)`` of ``tupleList``, in order, in one pool thread.
    """
    getReactor().callInThread(_runMultiple, list(tupleList))


def blockingCallFromThread(reactor: Any, f: Callable[..., Any], *a: object, **kw: object) -> Any:
    """
    From a non-reactor thread, run ``f(*a, **kw)`` in the reactor thread and wait for its
    result (waiting for a returned Deferred or coroutine as well).

    :return: the result.
    :raises: the exception it failed with.
    :raises RuntimeError: if called from the reactor thread itself (it would deadlock).
    """
    ioThread = getattr(reactor, "_ioThread", None)
    import threading

    if ioThread is not None and ioThread is threading.current_thread():
        raise RuntimeError("blockingCallFromThread must not be called in the reactor thread")
    results: queue.Queue[Any] = queue.Queue()

    def inReactor() -> None:
        result = defer.maybeDeferred(f, *a, **kw)
        result.addBoth(results.put)

    reactor.callFromThread(inReactor)
    result = results.get()
    if isinstance(result, Failure):
        result.raiseException()
    return result


__all__ = [
    "blockingCallFromThread",
    "callMultipleInThread",
    "deferToThread",
    "deferToThreadPool",
]
