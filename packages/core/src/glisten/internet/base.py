"""
The platform-independent part of every reactor: timed calls, system events, threads, running.

Timed calls live in a binary heap of ``(time, sequence, call)`` tuples (compared in C, no
``__lt__`` calls). Cancelling only marks a call; the dead entries are skipped when they reach the
top and the heap is rebuilt once they outnumber the live ones, so 100,000 pending calls with
heavy cancellation cost O(log n) per operation. Pushing a call later (``delay``/``reset``, as
idle timeouts do constantly) is O(1): the entry is moved only when it reaches the top.
"""

from __future__ import annotations

import heapq
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from zope.interface import implementer

from glisten.internet import error
from glisten.internet.interfaces import (
    IDelayedCall,
    IReactorCore,
    IReactorPluggableNameResolver,
    IReactorPluggableResolver,
    IReactorThreads,
    IReactorTime,
)
from glisten.logger import Logger

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred
    from glisten.internet.interfaces import IHostnameResolver
    from glisten.python.threadpool import ThreadPool

_log = Logger()

_seconds = time.monotonic


def _validDelay(delay: float) -> float:
    """
    Check a callLater delay.

    :raises ValueError: for a negative or NaN delay. Twisted only ``assert``\\ s this, which
        vanishes under ``python -O`` and then schedules the call in the past; glisten refuses it
        always.
    :raises TypeError: if ``delay`` is not a number.
    """
    if not isinstance(delay, int | float) or isinstance(delay, bool):
        raise TypeError(f"delay must be a number, not {type(delay).__name__}")
    if not delay >= 0:  # also catches NaN
        raise ValueError(f"{delay!r} is not greater than or equal to 0 seconds")
    return delay


@implementer(IDelayedCall)
class DelayedCall:
    """
    A call scheduled to run later; see :class:`~glisten.internet.interfaces.IDelayedCall`.

    :ivar time: when the call runs, on the scheduler's clock.
    :ivar func: the callable.
    :ivar args: its positional arguments.
    :ivar kw: its keyword arguments.
    :ivar cancelled: true once cancelled.
    :ivar called: true once run.
    """

    __slots__ = (
        "time",
        "func",
        "args",
        "kw",
        "cancelled",
        "called",
        "seconds",
        "_canceller",
        "_resetter",
        "_seq",
        "_heapTime",
        "__weakref__",
    )

    debug = False

    def __init__(
        self,
        time: float,
        func: Callable[..., object],
        args: Sequence[object],
        kw: dict[str, object],
        cancel: Callable[[DelayedCall], object],
        reset: Callable[[DelayedCall], object],
        seconds: Callable[[], float] = _seconds,
    ) -> None:
        """
        :param cancel: called with this call when it is cancelled.
        :param reset: called with this call after its time changed.
        :param seconds: the clock that ``reset`` counts from.
        """
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self.cancelled = 0
        self.called = 0
        self.seconds = seconds
        self._canceller = cancel
        self._resetter = reset
        self._seq = 0
        self._heapTime = time

    def getTime(self) -> float:
        """
        :return: when the call will run.
        """
        return self.time

    def cancel(self) -> None:
        """
        Do not run the call.

        :raises glisten.internet.error.AlreadyCancelled: if it was cancelled before.
        :raises glisten.internet.error.AlreadyCalled: if it already ran.
        """
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.cancelled = 1
        self._canceller(self)
        # Drop references so a cancelled call in the heap keeps nothing alive.
        self.args = ()
        self.kw = {}

    def reset(self, secondsFromNow: float) -> None:
        """
        Run the call ``secondsFromNow`` seconds from now instead.
        """
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.time = self.seconds() + _validDelay(secondsFromNow)
        self._resetter(self)

    def delay(self, secondsLater: float) -> None:
        """
        Run the call ``secondsLater`` seconds later than planned (negative: earlier).
        """
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.time += secondsLater
        self._resetter(self)

    def active(self) -> bool:
        """
        :return: True until the call runs or is cancelled.
        """
        return not (self.cancelled or self.called)

    def __lt__(self, other: DelayedCall) -> bool:
        return self.time < other.time

    def __le__(self, other: DelayedCall) -> bool:
        return self.time <= other.time

    def __repr__(self) -> str:
        func = getattr(self.func, "__qualname__", None) or repr(self.func)
        now = self.seconds()
        state = "cancelled" if self.cancelled else "called" if self.called else "pending"
        return f"<DelayedCall 0x{id(self):x} [{self.time - now:.6g}s] {state} {func}>"


class _HeapDelayedCall(DelayedCall):
    """
    A reactor's DelayedCall: it refers to its heap instead of holding three bound methods,
    so each pending call is two objects for the garbage collector (itself and its heap
    entry), not five.
    """

    __slots__ = ("_owner",)

    def __init__(
        self,
        time: float,
        func: Callable[..., object],
        args: Sequence[object],
        kw: dict[str, object],
        owner: _TimedCalls,
        seq: int,
    ) -> None:
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self.cancelled = 0
        self.called = 0
        self._owner = owner
        self._seq = seq
        self._heapTime = time

    @property
    def seconds(self) -> Callable[[], float]:  # type: ignore[override]
        return self._owner.seconds

    def cancel(self) -> None:
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.cancelled = 1
        self.args = ()
        self.kw = {}
        self._owner._cancelled(self)

    def reset(self, secondsFromNow: float) -> None:
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        if not secondsFromNow >= 0:  # also NaN; a non-number raises TypeError
            _validDelay(secondsFromNow)
        owner = self._owner
        self.time = time = owner.seconds() + secondsFromNow
        if time < self._heapTime:
            # Earlier than its heap entry; a later time (an idle timer reset on traffic, the
            # common case) leaves the entry where it is, with no further call.
            owner._reset(self)

    def delay(self, secondsLater: float) -> None:
        if self.cancelled:
            raise error.AlreadyCancelled()
        if self.called:
            raise error.AlreadyCalled()
        self.time += secondsLater
        self._owner._reset(self)


class _TimedCalls:
    """
    The heap of a reactor's timed calls (see the module docstring).
    """

    __slots__ = ("heap", "dead", "seq", "seconds", "movedEarlier")

    def __init__(self, seconds: Callable[[], float]) -> None:
        self.heap: list[tuple[float, int, DelayedCall]] = []
        self.dead = 0
        self.seq = 0
        self.seconds = seconds
        #: Called with a call whose time moved earlier (a reactor with its own timer rearms).
        self.movedEarlier: Callable[[DelayedCall], object] | None = None

    def schedule(
        self,
        delay: float,
        func: Callable[..., object],
        args: tuple[object, ...],
        kw: dict[str, Any],
    ) -> DelayedCall:
        t = self.seconds() + delay
        self.seq = seq = self.seq + 1
        call = _HeapDelayedCall(t, func, args, kw, self, seq)
        heapq.heappush(self.heap, (t, seq, call))
        return call

    def _cancelled(self, call: DelayedCall) -> None:
        self.dead += 1
        if self.dead > 64 and self.dead * 2 > len(self.heap):
            self.compact()

    def _reset(self, call: DelayedCall) -> None:
        if call.time >= call._heapTime:
            # Later: leave the entry, it is moved when it reaches the top.
            return
        # Earlier: push a fresh entry; the old one is now dead.
        self.seq = seq = self.seq + 1
        call._seq = seq
        call._heapTime = call.time
        heapq.heappush(self.heap, (call.time, seq, call))
        self._cancelled(call)
        if self.movedEarlier is not None:
            self.movedEarlier(call)

    def compact(self) -> None:
        """
        Drop dead entries and re-heapify.
        """
        live = []
        for entry in self.heap:
            call = entry[2]
            if call.cancelled or call._seq != entry[1]:
                continue
            if call.time != entry[0]:
                entry = (call.time, entry[1], call)
                call._heapTime = call.time
            live.append(entry)
        heapq.heapify(live)
        # In place: runDue may hold a reference to the list while a call cancels others.
        self.heap[:] = live
        self.dead = 0

    def nextTime(self) -> float | None:
        """
        :return: the time of the earliest live call, or None.
        """
        heap = self.heap
        while heap:
            t, seq, call = heap[0]
            if call.cancelled or call._seq != seq:
                heapq.heappop(heap)
                self.dead -= 1
                continue
            if call.time != t:
                heapq.heapreplace(heap, (call.time, seq, call))
                call._heapTime = call.time
                continue
            return t
        return None

    def runDue(self) -> None:
        """
        Run every call due now (but none scheduled while running).
        """
        heap = self.heap
        if not heap:
            return
        now = self.seconds()
        limit = self.seq
        pop = heapq.heappop
        while heap:
            t, seq, call = heap[0]
            if t > now or seq > limit:
                return
            pop(heap)
            if call.cancelled or call._seq != seq:
                self.dead -= 1
                continue
            if call.time != t:
                call._heapTime = call.time
                heapq.heappush(heap, (call.time, seq, call))
                continue
            call.called = 1
            try:
                call.func(*call.args, **call.kw)
            except BaseException:
                if not isinstance(sys.exc_info()[1], Exception):
                    raise
                _log.failure("Unhandled error in delayed call {call!r}", call=call)

    def pending(self) -> list[DelayedCall]:
        """
        :return: the live calls, in no particular order.
        """
        return [
            e[2] for e in self.heap if not e[2].cancelled and not e[2].called and e[2]._seq == e[1]
        ]


class _ThreePhaseEvent:
    """
    The ``before``/``during``/``after`` triggers of one system event.

    Deferreds returned by ``before`` triggers are waited for before ``during`` runs.
    """

    def __init__(self) -> None:
        self.phases: dict[str, list[tuple[Callable[..., object], tuple[object, ...], dict]]] = {
            "before": [],
            "during": [],
            "after": [],
        }
        self.state = "BASE"
        self._waiting = 0

    def addTrigger(
        self, phase: str, callable: Callable[..., object], *args: object, **kwargs: object
    ) -> tuple[str, Callable[..., object], tuple[object, ...], dict]:
        if phase not in self.phases:
            raise KeyError(f"invalid phase {phase!r}")
        entry = (callable, args, kwargs)
        self.phases[phase].append(entry)
        return (phase, callable, args, kwargs)

    def removeTrigger(self, handle: object) -> None:
        phase: str
        callable: Callable[..., object]
        args: tuple[object, ...]
        kwargs: dict[str, object]
        try:
            phase, callable, args, kwargs = handle  # type: ignore[misc]
            triggers = self.phases[phase]
        except (TypeError, ValueError, KeyError):
            raise ValueError(f"invalid trigger {handle!r}")
        for i, (c, a, k) in enumerate(triggers):
            if c is callable and a is args and k is kwargs:
                if self.state == "BASE" or phase != "before":
                    del triggers[i]
                else:
                    # Running "before" triggers: neutralise in place to keep indexes valid.
                    triggers[i] = (_noop, (), {})
                return
        raise ValueError(f"trigger {handle!r} is not registered")

    def fireEvent(self) -> None:
        from glisten.internet.defer import Deferred

        self.state = "BEFORE"
        pending: list[Deferred[Any]] = []
        before = self.phases["before"]
        while before:
            callable, args, kwargs = before.pop(0)
            try:
                result = callable(*args, **kwargs)
            except Exception:
                _log.failure("Error in system event trigger {trigger!r}", trigger=callable)
            else:
                if isinstance(result, Deferred):
                    pending.append(result)
        if not pending:
            self._continueFiring()
            return
        self._waiting = len(pending)

        def oneDone(result: object) -> None:
            from glisten.python.failure import Failure

            if isinstance(result, Failure):
                _log.failure("Error in system event trigger Deferred", failure=result)
            self._waiting -= 1
            if self._waiting == 0:
                self._continueFiring()

        for d in pending:
            d.addBoth(oneDone)

    def _continueFiring(self) -> None:
        self.state = "BASE"
        for phase in ("during", "after"):
            triggers = self.phases[phase]
            while triggers:
                callable, args, kwargs = triggers.pop(0)
                try:
                    callable(*args, **kwargs)
                except Exception:
                    _log.failure("Error in system event trigger {trigger!r}", trigger=callable)


def _noop() -> None:
    pass


@implementer(
    IReactorCore,
    IReactorTime,
    IReactorThreads,
    IReactorPluggableNameResolver,
    IReactorPluggableResolver,
)
class ReactorBase:
    """
    Scheduling, system events, threads and name resolution, shared by every reactor.

    Subclasses provide :meth:`doIteration` (wait for and dispatch I/O), :meth:`wakeUp` (make
    a blocked :meth:`doIteration` return, from any thread) and the I/O methods.

    :ivar running: True while running (set in the ``during startup`` phase).
    """

    installed = False
    usingThreads = True
    _registerAsIOThread = True

    def __init__(self) -> None:
        self.running = False
        self._started = False
        self._stopped = True
        self._justStopped = False
        self._startedBefore = False
        self._installSignalHandlers = False
        self._eventTriggers: dict[str, _ThreePhaseEvent] = {}
        self._timed = _TimedCalls(self.seconds)
        self.threadCallQueue: deque[tuple[Callable[..., object], tuple, dict]] = deque()
        self._wakeScheduled = False
        self.threadpool: ThreadPool | None = None
        self._threadpoolStartupID: object = None
        self.threadpoolShutdownID: object = None
        self._ioThread: threading.Thread | None = None
        self._signalsSaved: dict[int, Any] = {}
        self._savedWakeupFd: int | None = None
        self._exitSignal: int | None = None
        from glisten.internet._resolver import (
            ComplexResolverSimplifier,
            GAIResolver,
        )

        self._nameResolver: IHostnameResolver = GAIResolver(self, self.getThreadPool)
        self.resolver: Any = ComplexResolverSimplifier(self._nameResolver)
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)
        self.addSystemEventTrigger("during", "shutdown", self.crash)
        self.addSystemEventTrigger("during", "shutdown", self.disconnectAll)

    # ---------------------------------------------------------------- name resolution

    @property
    def nameResolver(self) -> IHostnameResolver:
        """
        The IHostnameResolver used for connections by name.
        """
        return self._nameResolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Use ``resolver`` for names from now on (also for :meth:`resolve`).

        :return: the previous resolver.
        """
        from glisten.internet._resolver import ComplexResolverSimplifier

        old = self._nameResolver
        self._nameResolver = resolver
        self.resolver = ComplexResolverSimplifier(resolver)
        return old

    def installResolver(self, resolver: Any) -> Any:
        """
        Use the IResolverSimple ``resolver`` for :meth:`resolve` and names.

        :return: the previous simple resolver.
        """
        from glisten.internet._resolver import SimpleResolverComplexifier

        old = self.resolver
        self.resolver = resolver
        self._nameResolver = SimpleResolverComplexifier(resolver)
        return old

    def resolve(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        """
        Resolve ``name`` to one IPv4 address.

        :return: a Deferred firing with the address, or failing with DNSLookupError.
        """
        from glisten.internet.defer import succeed

        if not name:
            return succeed("0.0.0.0")
        if _isIPv4(name):
            return succeed(name)
        result: Deferred[str] = self.resolver.getHostByName(name, timeout)
        return result

    # ---------------------------------------------------------------- time

    #: The reactor's clock: monotonic seconds, unaffected by wall-clock changes. (Twisted
    #: uses ``time.time``; call ``time.time()`` yourself for dates.) The builtin itself, so
    #: that timed calls pay no extra Python call.
    seconds = staticmethod(_seconds)

    def callLater(
        self, delay: float, callable: Callable[..., object], *args: object, **kw: object
    ) -> DelayedCall:
        """
        Call ``callable(*args, **kw)`` in ``delay`` seconds.

        :raises ValueError: for a negative or NaN delay.
        :raises TypeError: if ``callable`` is not callable.
        """
        if type(delay) is not float or not delay >= 0:
            _validDelay(delay)
        if not builtinsCallable(callable):
            raise TypeError(f"{callable!r} is not callable")
        call = self._timed.schedule(delay, callable, args, kw)
        self._timedCallAdded(call)
        return call

    def _timedCallAdded(self, call: DelayedCall) -> None:
        """
        Hook for reactors that must rearm a timer when a call is added (asyncio).
        """

    def getDelayedCalls(self) -> list[DelayedCall]:
        """
        :return: the pending delayed calls.
        """
        return self._timed.pending()

    def timeout(self) -> float | None:
        """
        :return: how long the next iteration may block: None for ever, 0 if work is pending.
        """
        if self.threadCallQueue or self._justStopped:
            return 0.0
        t = self._timed.nextTime()
        if t is None:
            return None
        return max(0.0, t - self.seconds())

    def runUntilCurrent(self) -> None:
        """
        Run the calls from threads and the timed calls that are due.
        """
        if self.threadCallQueue:
            self._wakeScheduled = False
            queue = self.threadCallQueue
            for _ in range(len(queue)):
                f, a, kw = queue.popleft()
                try:
                    f(*a, **kw)
                except Exception:
                    _log.failure("Unhandled error in callFromThread call {f!r}", f=f)
        self._timed.runDue()
        if self._justStopped:
            self._justStopped = False
            self.fireSystemEvent("shutdown")

    # ---------------------------------------------------------------- threads

    def callFromThread(self, f: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """
        Run ``f(*args, **kwargs)`` in the reactor thread soon; safe from any thread, and from
        signal handlers.
        """
        if not builtinsCallable(f):
            raise TypeError(f"{f!r} is not callable")
        self.threadCallQueue.append((f, args, kwargs))
        if not self._wakeScheduled:
            self._wakeScheduled = True
            self.wakeUp()

    def wakeUp(self) -> None:
        """
        Make a blocked :meth:`doIteration` return (from any thread).
        """

    def _initThreadPool(self) -> None:
        from glisten.python.threadpool import ThreadPool

        self.threadpool = ThreadPool(0, 10, "glisten.threadpool")
        self._threadpoolStartupID = self.callWhenRunning(self.threadpool.start)
        self.threadpoolShutdownID = self.addSystemEventTrigger(
            "during", "shutdown", self._stopThreadPool
        )

    def _stopThreadPool(self) -> None:
        if self._threadpoolStartupID is not None:
            try:
                self.removeSystemEventTrigger(self._threadpoolStartupID)
            except ValueError:
                pass
            self._threadpoolStartupID = None
        self.threadpoolShutdownID = None
        pool, self.threadpool = self.threadpool, None
        if pool is not None:
            pool.stop()

    def getThreadPool(self) -> ThreadPool:
        """
        :return: the reactor's thread pool (created on first use, stopped at shutdown).
        """
        if self.threadpool is None:
            self._initThreadPool()
            assert self.threadpool is not None
        return self.threadpool

    def callInThread(self, _callable: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """
        Run ``_callable(*args, **kwargs)`` in the thread pool.
        """
        self.getThreadPool().callInThread(_callable, *args, **kwargs)

    def suggestThreadPoolSize(self, size: int) -> None:
        """
        Allow at most ``size`` threads in the pool.
        """
        self.getThreadPool().adjustPoolsize(maxthreads=size)

    # ---------------------------------------------------------------- system events

    def addSystemEventTrigger(
        self,
        phase: str,
        eventType: str,
        callable: Callable[..., object],
        *args: object,
        **kwargs: object,
    ) -> tuple[str, tuple[str, Callable[..., object], tuple[object, ...], dict]]:
        """
        Call ``callable`` in ``phase`` (before/during/after) of the event ``eventType``.

        :return: an identifier for :meth:`removeSystemEventTrigger`.
        :raises KeyError: for an unknown phase.
        """
        if not builtinsCallable(callable):
            raise TypeError(f"{callable!r} is not callable")
        event = self._eventTriggers.get(eventType)
        if event is None:
            event = self._eventTriggers[eventType] = _ThreePhaseEvent()
        return (eventType, event.addTrigger(phase, callable, *args, **kwargs))

    def removeSystemEventTrigger(self, triggerID: object) -> None:
        """
        Remove a trigger added by :meth:`addSystemEventTrigger`.

        :raises ValueError: if it is not registered.
        """
        eventType: str
        handle: object
        try:
            eventType, handle = triggerID  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"invalid trigger {triggerID!r}")
        event = self._eventTriggers.get(eventType)
        if event is None:
            raise ValueError(f"no such event {eventType!r}")
        event.removeTrigger(handle)

    def fireSystemEvent(self, eventType: str) -> None:
        """
        Run the triggers of ``eventType``.
        """
        event = self._eventTriggers.get(eventType)
        if event is not None:
            event.fireEvent()

    def callWhenRunning(
        self, callable: Callable[..., object], *args: object, **kwargs: object
    ) -> object:
        """
        Call ``callable`` once the reactor runs (now, if it already does).

        :return: a trigger identifier, or None if called now.
        """
        if self.running:
            callable(*args, **kwargs)
            return None
        return self.addSystemEventTrigger("after", "startup", callable, *args, **kwargs)

    # ---------------------------------------------------------------- running

    def startRunning(self, installSignalHandlers: bool = True) -> None:
        """
        Fire the startup event (the first half of :meth:`run`).

        :raises glisten.internet.error.ReactorAlreadyRunning: if running.
        :raises glisten.internet.error.ReactorNotRestartable: if it ran and stopped before.
        """
        if self._started:
            raise error.ReactorAlreadyRunning()
        if self._startedBefore:
            raise error.ReactorNotRestartable()
        self._started = True
        self._stopped = False
        self._installSignalHandlers = installSignalHandlers
        self._ioThread = threading.current_thread()
        if installSignalHandlers:
            self._handleSignals()
        self.fireSystemEvent("startup")

    def _reallyStartRunning(self) -> None:
        self.running = True

    def run(self, installSignalHandlers: bool = True) -> None:
        """
        Run until :meth:`stop` is called and the shutdown triggers have run.

        :param installSignalHandlers: stop cleanly on SIGINT/SIGTERM (main thread only).
        """
        self.startRunning(installSignalHandlers=installSignalHandlers)
        try:
            self.mainLoop()
        finally:
            self._restoreSignals()
            if self._startedBefore and not self._started:
                # Stopped for good (not crashed): free our descriptors and threads.
                self._releaseResources()

    def mainLoop(self) -> None:
        """
        Loop until crashed or stopped.
        """
        while self._started:
            try:
                while self._started:
                    self.runUntilCurrent()
                    if not self._started:
                        break
                    t2 = self.timeout()
                    t = self.running and t2
                    self.doIteration(t)
            except Exception:
                _log.failure("Unexpected error in main loop.")

    def doIteration(self, delay: float | None) -> None:
        """
        Wait at most ``delay`` seconds (None: indefinitely) for I/O and dispatch it.
        """
        raise NotImplementedError()

    def iterate(self, delay: float = 0) -> None:
        """
        Run one pass: due calls, then wait at most ``delay`` for I/O.
        """
        self.runUntilCurrent()
        self.doIteration(delay)

    def stop(self) -> None:
        """
        Stop after the shutdown triggers.

        :raises glisten.internet.error.ReactorNotRunning: if not running or already stopping.
        """
        if self._stopped:
            raise error.ReactorNotRunning("Can't stop reactor that isn't running.")
        self._stopped = True
        self._justStopped = True
        self._startedBefore = True
        self.wakeUp()

    def crash(self) -> None:
        """
        Stop looping now, skipping the shutdown triggers.
        """
        self._started = False
        self.running = False
        self.addSystemEventTrigger("during", "startup", self._reallyStartRunning)

    def disconnectAll(self) -> None:
        """
        Close every connection and port (at shutdown).
        """

    def _releaseResources(self) -> None:
        """
        Free the reactor's own descriptors after shutdown; subclasses extend.
        """

    # ---------------------------------------------------------------- signals

    def _handleSignals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._signalsSaved[signum] = signal.signal(signum, self._onSignal)
            except (ValueError, OSError):
                pass
        if self._signalsSaved:
            self._startSignalWakeup()

    def _startSignalWakeup(self) -> None:
        """
        Make every signal wake a blocked wait, so none is lost.

        Python runs a handler only between bytecodes of the main thread: a signal landing after
        the loop's last check and before it blocks in ``epoll_wait`` would sit unhandled until
        something else woke the loop (a second signal, say). With ``signal.set_wakeup_fd`` the
        C-level handler also writes a byte to a pipe the wait watches, so the wait returns and
        the Python handler runs.
        """
        fd = self._signalWakeupFd()
        if fd is None:
            return
        try:
            self._savedWakeupFd = signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
        except (ValueError, OSError):
            self._signalWakeupDone()

    def _signalWakeupFd(self) -> int | None:
        """
        :return: a non-blocking descriptor whose readability wakes the wait, for signals; None
            if this reactor has none.
        """
        return None

    def _signalWakeupDone(self) -> None:
        """
        Release what :meth:`_signalWakeupFd` made.
        """

    def _restoreSignals(self) -> None:
        for signum, handler in self._signalsSaved.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, OSError, TypeError):
                pass
        self._signalsSaved.clear()
        if self._savedWakeupFd is not None:
            try:
                signal.set_wakeup_fd(self._savedWakeupFd)
            except (ValueError, OSError):
                pass
            self._savedWakeupFd = None
            self._signalWakeupDone()

    def _onSignal(self, signum: int, frame: object) -> None:
        # Only queue work here: logging from a signal handler could deadlock on a lock the
        # interrupted code holds.
        self._exitSignal = signum
        self.callFromThread(self._stopFromSignal, signum)

    def _stopFromSignal(self, signum: int) -> None:
        _log.info("Received signal {signum}, shutting down.", signum=signum)
        try:
            self.stop()
        except error.ReactorNotRunning:
            pass


# The builtin, under a name that parameters called ``callable`` (Twisted's) do not shadow.
builtinsCallable = callable


def _isIPv4(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, name)
    except (OSError, ValueError, TypeError):
        return False
    return True


__all__ = ["DelayedCall", "ReactorBase"]
