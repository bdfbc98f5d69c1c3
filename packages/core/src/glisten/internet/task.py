"""
Scheduling helpers: repeating calls, delayed results, cooperative iteration and a fake clock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from zope.interface import implementer

from glisten.internet import defer, error
from glisten.internet.base import DelayedCall, _validDelay
from glisten.internet.interfaces import IReactorTime
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

_T = TypeVar("_T")
_log = Logger()


class LoopingCall:
    """
    Call a function every ``interval`` seconds.

    If a call returns a Deferred, the next one is scheduled when it fires. Missed intervals
    (the process was busy) are skipped, not replayed; :meth:`withCount` tells the function how
    many intervals passed.

    :ivar f: the function.
    :ivar clock: the IReactorTime used (the global reactor unless set).
    :ivar running: whether the loop runs.
    :ivar interval: the interval, once started.
    :ivar call: the pending IDelayedCall, if any.
    """

    call: Any = None
    running = False
    _deferred: defer.Deferred[LoopingCall] | None = None
    interval: float | None = None
    _runAtStart = False
    starttime: float | None = None
    _realLastTime: float | None = None

    def __init__(self, f: Callable[..., object], *a: object, **kw: object) -> None:
        self.f = f
        self.a = a
        self.kw = kw
        self._clock: Any = None

    @property
    def clock(self) -> Any:
        """
        The IReactorTime to schedule with; defaults to the global reactor at first use.
        """
        if self._clock is None:
            self._clock = getReactor()
        return self._clock

    @clock.setter
    def clock(self, value: Any) -> None:
        self._clock = value

    @property
    def deferred(self) -> defer.Deferred[LoopingCall] | None:
        """
        The Deferred returned by :meth:`start`, while running.
        """
        return self._deferred

    @classmethod
    def withCount(cls, countCallable: Callable[[int], object]) -> LoopingCall:
        """
        Build a LoopingCall calling ``countCallable(n)``, ``n`` being the number of intervals
        since the previous call (more than 1 when the process fell behind).
        """

        def counter() -> object:
            now = self.clock.seconds()
            if self.interval == 0:
                self._realLastTime = now
                return countCallable(1)
            lastTime = self._realLastTime
            if lastTime is None:
                assert self.starttime is not None and self.interval is not None
                lastTime = self.starttime
                if self._runAtStart:
                    lastTime -= self.interval
            count = self._intervalOf(now) - self._intervalOf(lastTime)
            if count > 0:
                self._realLastTime = now
                return countCallable(count)
            return None

        self = cls(counter)
        return self

    def _intervalOf(self, t: float) -> int:
        assert self.starttime is not None and self.interval
        return int((t - self.starttime) / self.interval)

    def start(self, interval: float, now: bool = True) -> defer.Deferred[LoopingCall]:
        """
        Start calling every ``interval`` seconds (first call now, unless ``now`` is False).

        :return: a Deferred firing with this LoopingCall when stopped, or failing with the
            function's error (which stops the loop).
        :raises ValueError: for a negative interval.
        """
        if self.running:
            raise RuntimeError("Tried to start an already running LoopingCall.")
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self.running = True
        d = self._deferred = defer.Deferred()
        self.starttime = self.clock.seconds()
        self.interval = interval
        self._runAtStart = now
        if now:
            self()
        else:
            self._scheduleFrom(self.starttime)
        return d

    def stop(self) -> None:
        """
        Stop looping; the Deferred from :meth:`start` fires.
        """
        if not self.running:
            raise RuntimeError("Tried to stop a LoopingCall that was not running.")
        self.running = False
        if self.call is not None:
            self.call.cancel()
            self.call = None
        d, self._deferred = self._deferred, None
        if d is not None:
            d.callback(self)

    def reset(self) -> None:
        """
        Restart the interval from now (no call now).
        """
        if not self.running:
            raise RuntimeError("Tried to reset a LoopingCall that was not running.")
        if self.call is not None:
            self.call.cancel()
            self.call = None
        self.starttime = self.clock.seconds()
        self._scheduleFrom(self.starttime)

    def __call__(self) -> None:
        def cb(result: object) -> None:
            if self.running:
                self._scheduleFrom(self.clock.seconds())
            else:
                d, self._deferred = self._deferred, None
                if d is not None:
                    d.callback(self)

        def eb(failure: Failure) -> None:
            self.running = False
            d, self._deferred = self._deferred, None
            if d is not None:
                d.errback(failure)

        self.call = None
        d = defer.maybeDeferred(self.f, *self.a, **self.kw)
        d.addCallback(cb)
        d.addErrback(eb)

    def _scheduleFrom(self, when: float) -> None:
        assert self.interval is not None and self.starttime is not None
        interval = self.interval
        if interval == 0:
            delay = 0.0
        else:
            untilNext = interval - ((when - self.starttime) % interval)
            # Guard against float rounding making us fire twice for one interval.
            delay = interval if when == when + untilNext else untilNext
        self.call = self.clock.callLater(delay, self)

    def __repr__(self) -> str:
        func = getattr(self.f, "__qualname__", None) or repr(self.f)
        return f"LoopingCall<{self.interval!r}>({func}, *{self.a!r}, **{self.kw!r})"


class SchedulerError(Exception):
    """
    A Cooperator or CooperativeTask was used in a way it does not allow.
    """


class SchedulerStopped(SchedulerError):
    """
    The Cooperator was stopped.
    """


class TaskFinished(SchedulerError):
    """
    The task is already finished.
    """


class TaskDone(TaskFinished):
    """
    The task's iterator ran out.
    """


class TaskStopped(TaskFinished):
    """
    The task was stopped.
    """


class TaskFailed(TaskFinished):
    """
    The task's iterator raised.
    """


class NotPaused(SchedulerError):
    """
    :meth:`CooperativeTask.resume` was called on a task that is not paused.
    """


class CooperativeTask:
    """
    One iterator being run by a :class:`Cooperator`; can be paused, resumed and stopped.
    """

    def __init__(self, iterator: Iterator[object], cooperator: Cooperator) -> None:
        self._iterator = iterator
        self._cooperator = cooperator
        self._deferreds: list[defer.Deferred[Iterator[object]]] = []
        self._pauseCount = 0
        self._completionState: SchedulerError | None = None
        self._completionResult: object = None
        cooperator._addTask(self)

    def whenDone(self) -> defer.Deferred[Iterator[object]]:
        """
        :return: a Deferred firing with the iterator when it is exhausted, or failing with
            TaskStopped or the iterator's error.
        """
        d: defer.Deferred[Iterator[object]] = defer.Deferred()
        if self._completionState is None:
            self._deferreds.append(d)
        else:
            d.callback(self._completionResult)  # type: ignore[arg-type]
        return d

    def pause(self) -> None:
        """
        Stop iterating until :meth:`resume` (pauses nest).
        """
        self._checkFinish()
        self._pauseCount += 1
        if self._pauseCount == 1:
            self._cooperator._removeTask(self)

    def resume(self) -> None:
        """
        Undo one :meth:`pause`.

        :raises NotPaused: if not paused.
        """
        if self._pauseCount == 0:
            raise NotPaused()
        self._pauseCount -= 1
        if self._pauseCount == 0 and self._completionState is None:
            self._cooperator._addTask(self)

    def _completeWith(self, completionState: SchedulerError, deferredResult: object) -> None:
        self._completionState = completionState
        self._completionResult = deferredResult
        if not self._pauseCount:
            self._cooperator._removeTask(self)
        for d in self._deferreds:
            d.callback(deferredResult)  # type: ignore[arg-type]
        self._deferreds = []

    def stop(self) -> None:
        """
        Stop for good; :meth:`whenDone` Deferreds fail with TaskStopped.

        :raises TaskFinished: if already finished.
        """
        self._checkFinish()
        self._completeWith(TaskStopped(), Failure(TaskStopped()))

    def _checkFinish(self) -> None:
        if self._completionState is not None:
            raise self._completionState

    def _oneWorkUnit(self) -> None:
        try:
            result = next(self._iterator)
        except StopIteration:
            self._completeWith(TaskDone(), self._iterator)
        except Exception:
            self._completeWith(TaskFailed(), Failure())
        else:
            if isinstance(result, defer.Deferred):
                self.pause()

                def failLater(f: Failure) -> None:
                    self._completeWith(TaskFailed(), f)

                result.addCallbacks(lambda _: self.resume(), failLater)


def _defaultScheduler(x: Callable[[], object]) -> Any:
    return getReactor().callLater(0.0, x)


class _Timer:
    """
    The default termination predicate: work for 10 ms per tick.
    """

    MAX_SLICE = 0.01

    def __init__(self) -> None:
        self.end = time.monotonic() + self.MAX_SLICE

    def __call__(self) -> bool:
        return time.monotonic() >= self.end


class Cooperator:
    """
    Run many iterators a step at a time, in turn, a slice of time per reactor turn.
    """

    def __init__(
        self,
        terminationPredicateFactory: Callable[[], Callable[[], bool]] = _Timer,
        scheduler: Callable[[Callable[[], None]], Any] = _defaultScheduler,
        started: bool = True,
    ) -> None:
        """
        :param terminationPredicateFactory: called at each tick; the predicate it returns says
            when the tick should end.
        :param scheduler: schedules the next tick; returns an object with ``cancel()``.
        :param started: start at once (else call :meth:`start`).
        """
        self._tasks: list[CooperativeTask] = []
        self._metarator: Iterator[CooperativeTask] = iter(())
        self._terminationPredicateFactory = terminationPredicateFactory
        self._scheduler = scheduler
        self._delayedCall: Any = None
        self._stopped = False
        self._started = started

    def coiterate(
        self, iterator: Iterator[object], doneDeferred: defer.Deferred[Any] | None = None
    ) -> defer.Deferred[Iterator[object]]:
        """
        Run ``iterator`` cooperatively.

        :return: a Deferred firing with the iterator when exhausted.
        """
        if doneDeferred is None:
            doneDeferred = defer.Deferred()
        CooperativeTask(iterator, self).whenDone().chainDeferred(doneDeferred)
        return doneDeferred

    def cooperate(self, iterator: Iterator[object]) -> CooperativeTask:
        """
        :return: a CooperativeTask running ``iterator``.
        """
        return CooperativeTask(iterator, self)

    def _addTask(self, task: CooperativeTask) -> None:
        if self._stopped:
            self._tasks.append(task)
            task._completeWith(SchedulerStopped(), Failure(SchedulerStopped()))
        else:
            self._tasks.append(task)
            self._reschedule()

    def _removeTask(self, task: CooperativeTask) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not self._tasks and self._delayedCall is not None:
            self._delayedCall.cancel()
            self._delayedCall = None

    def _tasksWhileNotStopped(self) -> Iterator[CooperativeTask]:
        terminator = self._terminationPredicateFactory()
        while self._tasks:
            for t in self._metarator:
                yield t
                if terminator():
                    return
            self._metarator = iter(list(self._tasks))

    def _tick(self) -> None:
        self._delayedCall = None
        for taskObj in self._tasksWhileNotStopped():
            taskObj._oneWorkUnit()
        self._reschedule()

    _mustScheduleOnStart = False

    def _reschedule(self) -> None:
        if not self._started:
            self._mustScheduleOnStart = True
            return
        if self._delayedCall is None and self._tasks:
            self._delayedCall = self._scheduler(self._tick)

    def start(self) -> None:
        """
        Begin ticking (for a Cooperator built with ``started=False``).
        """
        self._stopped = False
        self._started = True
        if self._mustScheduleOnStart:
            del self._mustScheduleOnStart
            self._reschedule()

    def stop(self) -> None:
        """
        Stop every task (their Deferreds fail with SchedulerStopped) and stop ticking.
        """
        if self._stopped:
            raise SchedulerStopped()
        self._stopped = True
        for taskObj in list(self._tasks):
            taskObj._completeWith(SchedulerStopped(), Failure(SchedulerStopped()))
        self._tasks = []
        if self._delayedCall is not None:
            self._delayedCall.cancel()
            self._delayedCall = None

    @property
    def running(self) -> bool:
        """
        Whether the Cooperator is started and not stopped.
        """
        return self._started and not self._stopped


_theCooperator = Cooperator()


def coiterate(iterator: Iterator[object]) -> defer.Deferred[Iterator[object]]:
    """
    Run ``iterator`` on the global Cooperator.
    """
    return _theCooperator.coiterate(iterator)


def cooperate(iterator: Iterator[object]) -> CooperativeTask:
    """
    Run ``iterator`` on the global Cooperator; return its task.
    """
    return _theCooperator.cooperate(iterator)


@implementer(IReactorTime)
class Clock:
    """
    A fake IReactorTime for tests: time moves only when :meth:`advance` is called.

    :ivar rightNow: the current fake time.
    :ivar calls: the pending calls, sorted by time.
    """

    rightNow = 0.0

    def __init__(self) -> None:
        self.calls: list[DelayedCall] = []

    def seconds(self) -> float:
        """
        :return: the fake time.
        """
        return self.rightNow

    def _sortCalls(self) -> None:
        self.calls.sort(key=lambda a: a.getTime())

    def callLater(
        self, delay: float, callable: Callable[..., object], *args: object, **kw: object
    ) -> DelayedCall:
        """
        Schedule ``callable`` at ``seconds() + delay``.

        :raises ValueError: for a negative or NaN delay (as the real reactors do).
        """
        _validDelay(delay)
        dc = DelayedCall(
            self.seconds() + delay,
            callable,
            args,
            kw,
            self.calls.remove,
            lambda c: self._sortCalls(),
            self.seconds,
        )
        self.calls.append(dc)
        self._sortCalls()
        return dc

    def getDelayedCalls(self) -> Sequence[DelayedCall]:
        """
        :return: the pending calls.
        """
        return self.calls

    def advance(self, amount: float) -> None:
        """
        Move time forward by ``amount`` and run the calls now due (errors propagate).
        """
        self.rightNow += amount
        self._sortCalls()
        while self.calls and self.calls[0].getTime() <= self.seconds():
            call = self.calls.pop(0)
            call.called = 1
            call.func(*call.args, **call.kw)
            self._sortCalls()

    def pump(self, timings: Iterable[float]) -> None:
        """
        :meth:`advance` by each amount in turn.
        """
        for amount in timings:
            self.advance(amount)


def deferLater(
    clock: Any,
    delay: float,
    callable: Callable[..., Any] | None = None,
    *args: object,
    **kw: object,
) -> defer.Deferred[Any]:
    """
    Call ``callable(*args, **kw)`` after ``delay`` seconds on ``clock``.

    :return: a Deferred with its result; cancelling it cancels the call.
    """

    def deferLaterCancel(deferred: defer.Deferred[Any]) -> None:
        delayedCall.cancel()

    def cb(result: object) -> object:
        if callable is None:
            return None
        return callable(*args, **kw)

    d: defer.Deferred[Any] = defer.Deferred(deferLaterCancel)
    d.addCallback(cb)
    delayedCall = clock.callLater(delay, d.callback, None)
    return d


def react(
    main: Callable[..., defer.Deferred[Any] | Coroutine[Any, Any, Any]],
    argv: Iterable[object] = (),
    _reactor: Any = None,
) -> NoReturn:
    """
    Run ``main(reactor, *argv)`` and the reactor until its result fires, then exit.

    The exit status is 0, the code of a SystemExit it fails with, or 1 after logging any
    other failure.
    """
    if _reactor is None:
        _reactor = getReactor()
    finished = defer.ensureDeferred(main(_reactor, *argv))
    code: Any = 0
    stopping = False

    def onShutdown() -> None:
        nonlocal stopping
        stopping = True

    _reactor.addSystemEventTrigger("before", "shutdown", onShutdown)

    def stop(result: object, stopReactor: bool) -> None:
        nonlocal code
        if stopReactor:
            try:
                _reactor.stop()
            except error.ReactorNotRunning:
                pass
        if isinstance(result, Failure):
            if result.check(SystemExit) is not None:
                code = getattr(result.value, "code", 1)
            else:
                _log.failure("main function encountered error", failure=result)
                code = 1

    def cbFinish(result: object) -> None:
        if stopping:
            stop(result, False)
        else:
            _reactor.callWhenRunning(stop, result, True)

    finished.addBoth(cbFinish)
    _reactor.run()
    sys.exit(code)


__all__ = [
    "Clock",
    "CooperativeTask",
    "Cooperator",
    "LoopingCall",
    "NotPaused",
    "SchedulerError",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskStopped",
    "coiterate",
    "cooperate",
    "deferLater",
    "react",
]
