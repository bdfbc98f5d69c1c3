"""Bridges to and from the standard library's :mod:`logging`.

:class:`STDLibLogObserver` sends glisten events to a :mod:`logging` logger;
:class:`STDLibLogHandler` is a :class:`logging.Handler` that sends records to glisten's
publisher. Both can be installed at once: each marks what it forwards and ignores what the
other forwarded, so an event never goes round in a loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from ._format import formatEvent
from ._interfaces import ILogObserver, LogEvent
from ._levels import LogLevel

_TO_STDLIB: dict[LogLevel, int] = {
    LogLevel.debug: logging.DEBUG,
    LogLevel.info: logging.INFO,
    LogLevel.warn: logging.WARNING,
    LogLevel.error: logging.ERROR,
    LogLevel.critical: logging.CRITICAL,
}

#: Attribute set on records this module creates from glisten events.
_FROM_GLISTEN = "glisten_event"
#: Field set on events this module creates from stdlib records.
_FROM_STDLIB = "log_stdlib"


def fromStdlibLevel(levelno: int) -> LogLevel:
    """The glisten level for a :mod:`logging` level number (rounded down to a known one)."""
    if levelno >= logging.CRITICAL:
        return LogLevel.critical
    if levelno >= logging.ERROR:
        return LogLevel.error
    if levelno >= logging.WARNING:
        return LogLevel.warn
    if levelno >= logging.INFO:
        return LogLevel.info
    return LogLevel.debug


class _LazyMessage:
    """Formats the event only if a :mod:`logging` handler actually wants the text."""

    def __init__(self, event: LogEvent) -> None:
        self.event = event

    def __str__(self) -> str:
        return formatEvent(self.event)


@implementer(ILogObserver)
class STDLibLogObserver:
    """Forwards glisten events to the :mod:`logging` logger ``name``.

    Failures are passed as ``exc_info`` so :mod:`logging` formats their tracebacks; the whole
    event is available to handlers as ``record.glisten_event``. ``stackDepth`` is accepted
    for compatibility with Twisted and not used.
    """

    defaultStackDepth = 4

    def __init__(self, name: str = "glisten", stackDepth: int = defaultStackDepth) -> None:
        self.logger = logging.getLogger(name)
        self.stackDepth = stackDepth

    def __call__(self, event: LogEvent) -> None:
        if event.get(_FROM_STDLIB):
            return
        level = event.get("log_level", LogLevel.info)
        stdlibLevel = _TO_STDLIB.get(level, logging.INFO)
        if not self.logger.isEnabledFor(stdlibLevel):
            return
        excInfo: Any = None
        failure = event.get("log_failure")
        if failure is not None and hasattr(failure, "getTracebackObject"):
            excInfo = (failure.type, failure.value, failure.getTracebackObject())
        self.logger.log(
            stdlibLevel,
            _LazyMessage(event),
            exc_info=excInfo,
            extra={_FROM_GLISTEN: event},
        )


class STDLibLogHandler(logging.Handler):
    """A :mod:`logging` handler that turns records into glisten events.

    The event's namespace is the logger name, its message the record's formatted message
    (field ``log_stdlib_message``), and an exception attached to the record becomes
    ``log_failure``. Records that came from :class:`STDLibLogObserver` are ignored.

    :param observer: where events go; the global publisher if ``None``.
    """

    def __init__(
        self, observer: Callable[[LogEvent], Any] | None = None, level: int = logging.NOTSET
    ) -> None:
        super().__init__(level)
        self._observer = observer

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, _FROM_GLISTEN):
            return
        try:
            message = record.getMessage()
        except Exception:
            self.handleError(record)
            return
        event: LogEvent = {
            "log_format": "{log_stdlib_message}",
            "log_stdlib_message": message,
            "log_level": fromStdlibLevel(record.levelno),
            "log_namespace": record.name,
            "log_source": None,
            "log_logger": None,
            "log_time": record.created,
            "log_system": record.name,
            _FROM_STDLIB: True,
        }
        if record.exc_info and record.exc_info[1] is not None:
            from ..python.failure import Failure

            _, value, tb = record.exc_info
            event["log_failure"] = Failure(value, type(value), tb)
        observer = self._observer
        if observer is None:
            from ._global import globalLogPublisher

            observer = globalLogPublisher
        observer(event)
