"""The legacy logging API (``msg``, ``err``, ``startLogging``), on top of :mod:`glisten.logger`.

Ported Twisted programs keep working: legacy calls become :mod:`glisten.logger` events, and
legacy observers (callables taking an old-style event dict with ``message``, ``isError``,
``system``, ``time``) receive every event, including those from new-style
:class:`~glisten.logger.Logger` objects. New code should use :class:`glisten.logger.Logger`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, Any, TypeVar

from zope.interface import Interface

from ..logger import (
    LogLevel,
    formatEvent,
    formatTime,
    globalLogBeginner,
    globalLogPublisher,
)
from ..logger import LogPublisher as _NewLogPublisher
from ..logger._stdlib import fromStdlibLevel
from .failure import Failure
from .reflect import safe_str

_T = TypeVar("_T")

EventDict = dict[str, Any]
LegacyObserver = Callable[[EventDict], Any]


class ILogObserver(Interface):
    """A legacy observer: a callable taking one old-style event dictionary."""

    def __call__(eventDict: EventDict) -> None:
        """Receive an event with at least ``message``, ``isError``, ``system``, ``time``."""


class ILogContext:
    """Keys of the legacy logging context (kept for API compatibility)."""


_context = threading.local()


def _currentContext() -> dict[str, Any]:
    stack: list[dict[str, Any]] | None = getattr(_context, "stack", None)
    if not stack:
        return {"system": "-"}
    return stack[-1]


def callWithContext(ctx: dict[str, Any], func: Callable[..., _T], *args: Any, **kw: Any) -> _T:
    """Call ``func`` with ``ctx`` merged into the context that :func:`msg` adds to events."""
    stack: list[dict[str, Any]] | None = getattr(_context, "stack", None)
    if stack is None:
        stack = _context.stack = []
    merged = dict(_currentContext())
    merged.update(ctx)
    stack.append(merged)
    try:
        return func(*args, **kw)
    finally:
        stack.pop()


def callWithLogger(logger: Any, func: Callable[..., _T], *args: Any, **kw: Any) -> _T | None:
    """Call ``func`` with ``logger.logPrefix()`` as the ``system``; log (not raise) errors.

    :return: what ``func`` returned, or ``None`` if it raised.
    """
    try:
        prefix = str(logger.logPrefix())
    except Exception:
        prefix = "(buggy logPrefix method)"
        err(system=prefix)
    try:
        return callWithContext({"system": prefix}, func, *args, **kw)
    except Exception:
        err(system=prefix)
        return None


def textFromEventDict(eventDict: EventDict) -> str | None:
    """The text of a legacy event: its message, failure, or ``format % eventDict``."""
    message = eventDict.get("message", ())
    if message:
        return " ".join(safe_str(m) for m in message)
    if eventDict.get("isError") and "failure" in eventDict:
        why = eventDict.get("why")
        why = safe_str(why) if why else "Unhandled Error"
        failure = eventDict["failure"]
        try:
            tb = failure.getTraceback()
        except Exception as e:
            tb = f"(unable to obtain traceback): {e}"
        return f"{why}\n{tb}"
    fmt = eventDict.get("format")
    if fmt is not None:
        try:
            return str(fmt % eventDict)
        except Exception as e:
            return f"Invalid format string or unformattable object in log message: {fmt!r}, {e}"
    return None


def _legacyToNew(eventDict: EventDict) -> EventDict:
    event = dict(eventDict)
    event.setdefault("log_time", event.get("time", time.time()))
    event.setdefault("log_system", event.get("system", "-"))
    event.setdefault("log_namespace", "log_legacy")
    event.setdefault("log_source", None)
    event.setdefault("log_logger", None)
    if "log_level" not in event:
        if "logLevel" in event:
            event["log_level"] = fromStdlibLevel(int(event["logLevel"]))
        elif event.get("isError"):
            event["log_level"] = LogLevel.critical
        else:
            event["log_level"] = LogLevel.info
    if "log_format" not in event:
        failure = event.get("failure")
        if event.get("isError") and failure is not None and not event.get("message"):
            event["log_failure"] = failure
            event["log_text"] = event.get("why") or "Unhandled Error"
            event["log_format"] = "{log_text}"
        else:
            text = textFromEventDict(event)
            if text is not None:
                event["log_text"] = text
                event["log_format"] = "{log_text}"
    return event


class _StringifiableFromEvent:
    def __init__(self, event: EventDict) -> None:
        self.event = event

    def __str__(self) -> str:
        return formatEvent(self.event)


def _newToLegacy(event: EventDict) -> EventDict:
    legacy = dict(event)
    legacy.setdefault("message", ())
    legacy.setdefault("time", event.get("log_time", time.time()))
    legacy.setdefault("system", event.get("log_system", "-"))
    if "format" not in legacy and event.get("log_format") is not None:
        legacy["format"] = "%(log_legacy)s"
        legacy["log_legacy"] = _StringifiableFromEvent(event)
    failure = event.get("log_failure")
    if failure is not None and "failure" not in legacy:
        legacy["failure"] = failure
        legacy["isError"] = 1
        legacy["why"] = formatEvent(event)
    elif "isError" not in legacy:
        level = event.get("log_level")
        legacy["isError"] = 1 if level in (LogLevel.error, LogLevel.critical) else 0
    return legacy


class LegacyLogObserverWrapper:
    """Adapts a legacy observer so it can be added to a new-style publisher."""

    def __init__(self, legacyObserver: LegacyObserver) -> None:
        self.legacyObserver = legacyObserver

    def __repr__(self) -> str:
        return f"LegacyLogObserverWrapper({self.legacyObserver!r})"

    def __call__(self, event: EventDict) -> None:
        self.legacyObserver(_newToLegacy(event))


class LogPublisherLegacy:
    """The legacy publisher: ``msg`` plus observer registration, backed by the new one."""

    def __init__(self, publisher: _NewLogPublisher) -> None:
        self._publisher = publisher
        self._wrappers: dict[Any, LegacyLogObserverWrapper] = {}

    @property
    def observers(self) -> list[LegacyObserver]:
        """The legacy observers currently registered."""
        return [w.legacyObserver for w in self._wrappers.values()]

    def addObserver(self, other: LegacyObserver) -> None:
        """Send every event, in legacy form, to ``other``."""
        if other in self._wrappers:
            return
        wrapper = LegacyLogObserverWrapper(other)
        self._wrappers[other] = wrapper
        self._publisher.addObserver(wrapper)

    def removeObserver(self, other: LegacyObserver) -> None:
        """Stop sending events to ``other``; nothing happens if it was not added."""
        wrapper = self._wrappers.pop(other, None)
        if wrapper is not None:
            self._publisher.removeObserver(wrapper)

    def msg(self, *message: Any, **kw: Any) -> None:
        """Log ``message`` (joined by spaces) with ``kw`` as extra fields."""
        actualEventDict = dict(_currentContext())
        actualEventDict.update(kw)
        actualEventDict["message"] = message
        actualEventDict["time"] = time.time()
        actualEventDict.setdefault("isError", 0)
        self._publisher(_legacyToNew(actualEventDict))


theLogPublisher = LogPublisherLegacy(globalLogPublisher)
addObserver = theLogPublisher.addObserver
removeObserver = theLogPublisher.removeObserver
msg = theLogPublisher.msg


def err(_stuff: Any = None, _why: str | None = None, **kw: Any) -> None:
    """Log an error: the current exception, a :class:`Failure` or an exception.

    :param _stuff: ``None`` for the exception being handled, or a failure/exception/other.
    :param _why: what was going on when the error happened.
    """
    if _stuff is None:
        _stuff = Failure()
    if isinstance(_stuff, Failure):
        msg(failure=_stuff, why=_why, isError=1, **kw)
    elif isinstance(_stuff, BaseException):
        msg(failure=Failure(_stuff), why=_why, isError=1, **kw)
    else:
        msg(repr(_stuff), why=_why, isError=1, **kw)


deferr = err


class FileLogObserver:
    """A legacy observer writing ``TIME [SYSTEM] text`` lines to a file."""

    timeFormat: str | None = None

    def __init__(self, f: IO[str]) -> None:
        self.write = f.write
        self.flush = f.flush

    def getTimezoneOffset(self, when: float) -> int:
        """Seconds west of UTC at ``when`` (the sign convention of :data:`time.timezone`)."""
        offset = time.localtime(when).tm_gmtoff
        return -offset

    def formatTime(self, when: float) -> str:
        """Render ``when`` with :attr:`timeFormat`, or ISO 8601 with offset."""
        if self.timeFormat is not None:
            return time.strftime(self.timeFormat, time.localtime(when))
        return formatTime(when, "%Y-%m-%d %H:%M:%S%z")

    def emit(self, eventDict: EventDict) -> None:
        """Write one legacy event."""
        text = textFromEventDict(eventDict)
        if text is None:
            return
        timeStr = self.formatTime(eventDict.get("time", time.time()))
        system = eventDict.get("system", "-")
        text = text.replace("\n", "\n\t")
        self.write(f"{timeStr} [{system}] {text}\n")
        self.flush()

    def start(self) -> None:
        """Begin receiving events."""
        addObserver(self.emit)

    def stop(self) -> None:
        """Stop receiving events."""
        removeObserver(self.emit)


class PythonLoggingObserver:
    """A legacy observer forwarding to the :mod:`logging` logger ``loggerName``."""

    def __init__(self, loggerName: str = "glisten") -> None:
        import logging

        self._logger = logging.getLogger(loggerName)

    def emit(self, eventDict: EventDict) -> None:
        """Forward one event."""
        import logging

        if "logLevel" in eventDict:
            level = int(eventDict["logLevel"])
        elif eventDict.get("isError"):
            level = logging.ERROR
        else:
            level = logging.INFO
        text = textFromEventDict(eventDict)
        if text is None:
            return
        self._logger.log(level, "%s", text)

    def start(self) -> None:
        """Begin receiving events."""
        addObserver(self.emit)

    def stop(self) -> None:
        """Stop receiving events."""
        removeObserver(self.emit)


def startLogging(
    file: IO[str], *a: Any, setStdout: bool = True, **kw: Any
) -> FileLogObserver | None:
    """Begin logging to ``file`` in the classic ``TIME [SYSTEM] text`` form, as Twisted does:
    the first line written is ``Log opened.``; with ``setStdout``, ``print`` output and
    anything written to ``sys.stderr`` become log lines too.

    :return: the :class:`FileLogObserver` writing the file (``None`` if ``file`` is itself
        a redirected standard stream, which would loop).
    """
    from ..logger._io import LoggingFile

    if isinstance(file, LoggingFile):
        return None
    flo = FileLogObserver(file)
    startLoggingWithObserver(flo.emit, setStdout)
    return flo


def startLoggingWithObserver(observer: LegacyObserver, setStdout: bool = True) -> None:
    """Begin logging to a legacy observer (redirecting stdio if ``setStdout``); logs
    ``Log opened.`` first, as Twisted does."""
    globalLogBeginner.beginLoggingTo(
        [LegacyLogObserverWrapper(observer)], redirectStandardIO=setStdout
    )
    msg("Log opened.")


def discardLogs() -> None:
    """Begin logging to nowhere (events are dropped)."""
    globalLogBeginner.beginLoggingTo([lambda event: None], redirectStandardIO=False)


class NullFile:
    """A file that swallows what is written to it."""

    softspace = 0

    def read(self) -> str:
        """Nothing."""
        return ""

    def write(self, bytes: str) -> None:
        """Discard."""

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to close."""


class Logger:
    """The legacy base class whose ``logPrefix`` names the ``system`` of its events."""

    def logPrefix(self) -> str:
        """The system name for events logged on this object's behalf."""
        return "-"


LogPublisher = LogPublisherLegacy


__all__ = [
    "FileLogObserver",
    "LogPublisher",
    "Logger",
    "NullFile",
    "discardLogs",
    "ILogContext",
    "ILogObserver",
    "LegacyLogObserverWrapper",
    "PythonLoggingObserver",
    "addObserver",
    "callWithContext",
    "callWithLogger",
    "deferr",
    "err",
    "msg",
    "removeObserver",
    "startLogging",
    "startLoggingWithObserver",
    "textFromEventDict",
    "theLogPublisher",
]
