"""Filtering observers: pass events on only when predicates agree."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import Interface, implementer

from ._interfaces import ILogObserver, LogEvent
from ._levels import InvalidLogLevelError, LogLevel


class PredicateResult(enum.Enum):
    """A predicate's verdict: ``yes`` passes the event now, ``no`` drops it, ``maybe`` defers."""

    yes = "yes"
    no = "no"
    maybe = "maybe"


class ILogFilterPredicate(Interface):
    """Decides whether an event goes on to the filtered observer."""

    def __call__(event: LogEvent) -> PredicateResult:
        """:return: the verdict for ``event``."""


def _noop(event: LogEvent) -> None:
    pass


@implementer(ILogObserver)
class FilteringLogObserver:
    """Passes events to ``observer`` unless a predicate says ``no``.

    Predicates are asked in order: the first ``yes`` or ``no`` decides; if all say ``maybe``
    the event passes. Dropped events go to ``negativeObserver``.
    """

    def __init__(
        self,
        observer: Callable[[LogEvent], Any],
        predicates: Iterable[Callable[[LogEvent], PredicateResult]],
        negativeObserver: Callable[[LogEvent], Any] = _noop,
    ) -> None:
        self._observer = observer
        self._predicates = list(predicates)
        self._negativeObserver = negativeObserver

    def _shouldLog(self, event: LogEvent) -> bool:
        for predicate in self._predicates:
            result = predicate(event)
            if result is PredicateResult.yes:
                return True
            if result is PredicateResult.no:
                return False
            if result is not PredicateResult.maybe:
                raise TypeError(f"Invalid predicate result: {result!r}")
        return True

    def __call__(self, event: LogEvent) -> None:
        if self._shouldLog(event):
            trace = event.get("log_trace")
            if trace is not None:
                trace.append((self, self._observer))
            self._observer(event)
        else:
            self._negativeObserver(event)


@implementer(ILogFilterPredicate)
class LogLevelFilterPredicate:
    """Drops events below a minimum level, configurable per namespace.

    The level for ``a.b.c`` is the one set for the longest dotted prefix that has one
    (``a.b.c``, then ``a.b``, then ``a``), else the default.
    """

    def __init__(self, defaultLogLevel: LogLevel = LogLevel.info) -> None:
        self._logLevelsByNamespace: dict[str, LogLevel] = {}
        self.defaultLogLevel = defaultLogLevel
        self.clearLogLevels()

    def logLevelForNamespace(self, namespace: str | None) -> LogLevel:
        """The minimum level that passes for ``namespace``."""
        if not namespace:
            return self._logLevelsByNamespace[""]
        if namespace in self._logLevelsByNamespace:
            return self._logLevelsByNamespace[namespace]
        segments = namespace.split(".")
        for index in range(len(segments) - 1, 0, -1):
            prefix = ".".join(segments[:index])
            if prefix in self._logLevelsByNamespace:
                return self._logLevelsByNamespace[prefix]
        return self._logLevelsByNamespace[""]

    def setLogLevelForNamespace(self, namespace: str | None, level: LogLevel) -> None:
        """Set the minimum level for ``namespace`` and everything under it.

        :raises InvalidLogLevelError: if ``level`` is not a :class:`LogLevel`.
        """
        if not isinstance(level, LogLevel):
            raise InvalidLogLevelError(level)
        self._logLevelsByNamespace[namespace or ""] = level

    def clearLogLevels(self) -> None:
        """Forget every per-namespace level; only the default remains."""
        self._logLevelsByNamespace = {"": self.defaultLogLevel}

    def __call__(self, event: LogEvent) -> PredicateResult:
        level = event.get("log_level")
        namespace = event.get("log_namespace")
        if not isinstance(level, LogLevel):
            return PredicateResult.no
        if level < self.logLevelForNamespace(namespace):
            return PredicateResult.no
        return PredicateResult.maybe
