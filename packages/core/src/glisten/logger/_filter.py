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


# Enum members looked up once: reading them from the class costs more on every event.
_YES = PredicateResult.yes
_NO = PredicateResult.no
_MAYBE = PredicateResult.maybe


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
            if result is _YES:
                return True
            if result is _NO:
                return False
            if result is not _MAYBE:
                raise TypeError(f"Invalid predicate result: {result!r}")
        return True

    def __call__(self, event: LogEvent) -> None:
        predicates = self._predicates
        if len(predicates) == 1:
            # The usual filter (one level predicate), decided without a second call.
            result = predicates[0](event)
            if result is _NO:
                if self._negativeObserver is not _noop:
                    self._negativeObserver(event)
                return
            if result is not _YES and result is not _MAYBE:
                raise TypeError(f"Invalid predicate result: {result!r}")
            passed = True
        else:
            passed = self._shouldLog(event)
        if passed:
            if "log_trace" in event:
                trace = event["log_trace"]
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

    #: At most this many namespaces' levels are remembered between changes.
    _CACHE_SIZE = 1024

    def __init__(self, defaultLogLevel: LogLevel = LogLevel.info) -> None:
        self._logLevelsByNamespace: dict[str, LogLevel] = {}
        # namespace -> the minimum level's rank: the prefix walk of logLevelForNamespace done
        # once per namespace rather than once per event. Emptied whenever a level changes.
        self._rankCache: dict[str | None, int] = {}
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
        self._rankCache.clear()

    def clearLogLevels(self) -> None:
        """Forget every per-namespace level; only the default remains."""
        self._logLevelsByNamespace = {"": self.defaultLogLevel}
        self._rankCache.clear()

    def __call__(self, event: LogEvent) -> PredicateResult:
        level = event.get("log_level")
        if level.__class__ is not LogLevel:
            return _NO
        namespace = event.get("log_namespace")
        try:
            minimum = self._rankCache[namespace]
        except (KeyError, TypeError):
            minimum = self._minimumRank(namespace)
        if level._value_ < minimum:
            return _NO
        return _MAYBE

    def _minimumRank(self, namespace: Any) -> int:
        rank: int = self.logLevelForNamespace(namespace)._value_
        if (namespace is None or namespace.__class__ is str) and (
            # A subclass's own logLevelForNamespace may answer differently over time.
            type(self).logLevelForNamespace is LogLevelFilterPredicate.logLevelForNamespace
        ):
            cache = self._rankCache
            if len(cache) >= self._CACHE_SIZE:
                cache.clear()
            cache[namespace] = rank
        return rank
