"""Fan-out of log events to observers, and a bounded buffer of recent events."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import implementer

from ._interfaces import ILogObserver, LogEvent
from ._levels import LogLevel

Observer = Callable[[LogEvent], Any]


@implementer(ILogObserver)
class LogPublisher:
    """An observer that forwards every event to each of its observers.

    An observer that raises does not stop the others: the error is reported, as an event, to
    every other observer (and to standard error if there is no other), and delivery goes on.
    """

    def __init__(self, *observers: Observer) -> None:
        self._observers: list[Observer] = list(observers)
        self._snapshot: tuple[Observer, ...] = ()
        self._direct: tuple[Observer, ...] = ()
        self._changed()

    def _changed(self) -> None:
        # What __call__ iterates: tuples rebuilt on every change (rare) instead of a copy of
        # the list made for every event, so observers added or removed during delivery take
        # effect from the next event. ``_direct`` holds what to call for each observer: the
        # observer itself, or for a plain history buffer its deque's append (one Python call
        # fewer per event while logging has not begun).
        self._snapshot = tuple(self._observers)
        self._direct = tuple(
            o._buffer.append if type(o) is LimitedHistoryLogObserver else o for o in self._snapshot
        )

    def addObserver(self, observer: Observer) -> None:
        """Start sending events to ``observer`` (added once even if added twice).

        :raises TypeError: if ``observer`` is not callable.
        """
        if not callable(observer):
            raise TypeError(f"Observer is not callable: {observer!r}")
        if observer not in self._observers:
            self._observers.append(observer)
            self._changed()

    def removeObserver(self, observer: Observer) -> None:
        """Stop sending events to ``observer``; nothing happens if it was not added."""
        try:
            self._observers.remove(observer)
        except ValueError:
            pass
        else:
            self._changed()

    @property
    def observers(self) -> list[Observer]:
        """A copy of the current observers, in delivery order."""
        return list(self._observers)

    def __call__(self, event: LogEvent) -> None:
        # Every log event passes here, usually through two publishers (the global one and,
        # until logging begins, the start-up buffer's): the common case (no tracing, no
        # observer raising) allocates nothing.
        if "log_trace" in event:
            self._callTraced(event)
            return
        brokenObservers: list[tuple[Observer, BaseException]] | None = None
        direct = self._direct
        snapshot = self._snapshot
        for observer in direct:
            try:
                observer(event)
            except Exception as e:
                if brokenObservers is None:
                    brokenObservers = []
                # Report the observer that was added, not its stand-in.
                index = next(i for i, o in enumerate(direct) if o is observer)
                brokenObservers.append((snapshot[index], e))
        if brokenObservers is not None:
            for broken, error in brokenObservers:
                self._reportBroken(broken, error, event)

    def _callTraced(self, event: LogEvent) -> None:
        trace = event["log_trace"]
        brokenObservers: list[tuple[Observer, BaseException]] = []
        for observer in self._snapshot:
            if trace is not None:
                trace.append((self, observer))
            try:
                observer(event)
            except Exception as e:
                brokenObservers.append((observer, e))
        for broken, error in brokenObservers:
            self._reportBroken(broken, error, event)

    def _reportBroken(self, broken: Observer, error: BaseException, event: LogEvent) -> None:
        from ..python.failure import Failure

        failure = Failure(error)
        report: LogEvent = {
            "log_format": "Temporarily disabling observer {observer} due to exception",
            "observer": broken,
            "log_failure": failure,
            "log_level": LogLevel.critical,
            "log_namespace": "glisten.logger",
            "log_source": None,
            "log_logger": None,
            "log_time": event.get("log_time"),
            "log_original_event": event,
        }
        others = [o for o in self._observers if o is not broken]
        delivered = False
        for other in others:
            try:
                other(report)
                delivered = True
            except Exception:
                pass
        if not delivered:
            from ._format import eventAsText

            try:
                sys.stderr.write(eventAsText(report) + "\n")
            except Exception:
                pass


@implementer(ILogObserver)
class LimitedHistoryLogObserver:
    """Keeps the last ``size`` events so they can be replayed to a real observer later."""

    def __init__(self, size: int = 2**16) -> None:
        self._buffer: deque[LogEvent] = deque(maxlen=size)

    def __call__(self, event: LogEvent) -> None:
        self._buffer.append(event)

    def replayTo(self, otherObserver: Observer) -> None:
        """Send every buffered event, oldest first, to ``otherObserver``."""
        for event in list(self._buffer):
            otherObserver(event)

    def __len__(self) -> int:
        return len(self._buffer)

    def events(self) -> Iterable[LogEvent]:
        """The buffered events, oldest first."""
        return list(self._buffer)
