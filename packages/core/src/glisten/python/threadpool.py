"""
A pool of worker threads for blocking calls, as used by the reactor's ``callInThread``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()

_Work = tuple[Callable[..., object], tuple[object, ...], dict[str, object]]
_STOP = object()


class ThreadPool:
    """
    Runs callables in up to ``max`` threads, started on demand and kept while idle.

    Work queued before :meth:`start` runs once started. An exception in a callable is logged
    and does not kill its thread.

    :ivar min: the threads kept alive.
    :ivar max: the most threads run at once.
    :ivar name: the prefix of the thread names.
    :ivar started: whether :meth:`start` was called (and :meth:`stop` not yet).
    :ivar joined: whether the pool was stopped.
    """

    def __init__(self, minthreads: int = 5, maxthreads: int = 20, name: str | None = None) -> None:
        if minthreads < 0:
            raise ValueError("minimum is negative")
        if minthreads > maxthreads:
            raise ValueError("minimum is greater than maximum")
        self.min = minthreads
        self.max = maxthreads
        self.name = name
        self.started = False
        self.joined = False
        self.threads: list[threading.Thread] = []
        self._queue: deque[object] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._idle = 0
        self._working = 0
        self._counter = 0

    @property
    def workers(self) -> int:
        """
        The number of threads.
        """
        return len(self.threads)

    @property
    def working(self) -> list[object]:
        """
        One entry per busy thread (its length is what callers use).
        """
        return [None] * self._working

    @property
    def waiters(self) -> list[object]:
        """
        One entry per idle thread.
        """
        return [None] * self._idle

    def start(self) -> None:
        """
        Start the pool: ``min`` threads now, more as work arrives.
        """
        with self._cond:
            self.joined = False
            self.started = True
            wanted = max(self.min, min(self.max, len(self._queue)))
            for _ in range(wanted - len(self.threads)):
                self._startThread()

    def _startThread(self) -> None:
        self._counter += 1
        name = f"{self.name or 'PoolThread'}-{self._counter}"
        t = threading.Thread(target=self._worker, name=name, daemon=True)
        self.threads.append(t)
        t.start()

    def callInThread(self, func: Callable[..., object], *args: object, **kw: object) -> None:
        """
        Run ``func(*args, **kw)`` in a pool thread.
        """
        self.callInThreadWithCallback(None, func, *args, **kw)

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, object], object] | None,
        func: Callable[..., object],
        *args: object,
        **kw: object,
    ) -> None:
        """
        Run ``func`` in a pool thread, then ``onResult(success, resultOrFailure)`` in that
        same thread.
        """
        if self.joined:
            return
        work: Any = (onResult, func, args, kw)
        with self._cond:
            self._queue.append(work)
            if self.started:
                if self._idle:
                    # The woken thread no longer counts as idle: later work spawns threads.
                    self._idle -= 1
                    self._cond.notify()
                elif len(self.threads) < self.max:
                    self._startThread()

    def _worker(self) -> None:
        me = threading.current_thread()
        cond = self._cond
        queue = self._queue
        while True:
            with cond:
                while not queue:
                    # The notifier decrements _idle for the thread it wakes.
                    self._idle += 1
                    cond.wait()
                work = queue.popleft()
                if work is _STOP:
                    self.threads.remove(me)
                    return
                self._working += 1
            onResult: Any
            func: Callable[..., object]
            args: tuple[object, ...]
            kw: dict[str, object]
            onResult, func, args, kw = work  # type: ignore[misc]
            try:
                try:
                    result = func(*args, **kw)
                except BaseException:
                    failure = Failure()
                    if onResult is None:
                        _log.failure("Unhandled error in thread {func!r}", failure, func=func)
                    else:
                        onResult(False, failure)
                else:
                    if onResult is not None:
                        onResult(True, result)
            except BaseException:
                _log.failure("Unhandled error in thread pool callback")
            finally:
                del work, onResult, func, args, kw
                with cond:
                    self._working -= 1

    def stop(self) -> None:
        """
        Finish the queued work, then end every thread and wait for them.
        """
        with self._cond:
            self.joined = True
            self.started = False
            threads = list(self.threads)
            for _ in threads:
                self._queue.append(_STOP)
            self._idle = 0
            self._cond.notify_all()
        current = threading.current_thread()
        for t in threads:
            if t is not current:
                t.join()

    def adjustPoolsize(self, minthreads: int | None = None, maxthreads: int | None = None) -> None:
        """
        Change the thread limits.

        :raises ValueError: if the minimum is negative or above the maximum.
        """
        if minthreads is None:
            minthreads = self.min
        if maxthreads is None:
            maxthreads = self.max
        if minthreads < 0:
            raise ValueError("minimum is negative")
        if minthreads > maxthreads:
            raise ValueError("minimum is greater than maximum")
        with self._cond:
            self.min = minthreads
            self.max = maxthreads
            if not self.started:
                return
            excess = len(self.threads) - self.max
            for _ in range(max(0, excess)):
                self._queue.appendleft(_STOP)
                if self._idle:
                    self._idle -= 1
                    self._cond.notify()
            while len(self.threads) < self.min:
                self._startThread()

    def dumpStats(self) -> None:
        """
        Log the pool's state.
        """
        _log.info(
            "queue: {queue} waiters: {idle} workers: {working} total: {total}",
            queue=len(self._queue),
            idle=self._idle,
            working=self._working,
            total=len(self.threads),
        )


__all__ = ["ThreadPool"]
