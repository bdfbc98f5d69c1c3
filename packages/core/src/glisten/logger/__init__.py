"""Structured, event-based logging.

Events are dictionaries; a :class:`Logger` creates them from a PEP 3101 format string and
keyword fields, a :class:`LogPublisher` fans them out to observers, and observers write them
as text, JSON or standard-library log records::

    from glisten.logger import Logger
    log = Logger()
    log.info("served {path} in {elapsed:.3f}s", path=path, elapsed=elapsed)
"""

from ._capture import capturedLogs
from ._file import FileLogObserver, textFileLogObserver
from ._filter import (
    FilteringLogObserver,
    ILogFilterPredicate,
    LogLevelFilterPredicate,
    PredicateResult,
)
from ._format import (
    eventAsText,
    extractField,
    flattenEvent,
    formatEvent,
    formatEventAsClassicLogText,
    formatTime,
    formatWithCall,
    timeFormatRFC3339,
)
from ._global import LogBeginner, globalLogBeginner, globalLogPublisher
from ._interfaces import ILogObserver, LogEvent
from ._io import LoggingFile
from ._json import eventAsJSON, eventFromJSON, eventsFromJSONLogFile, jsonFileLogObserver
from ._levels import InvalidLogLevelError, LogLevel
from ._logger import Logger, Operation
from ._observer import LimitedHistoryLogObserver, LogPublisher
from ._stdlib import STDLibLogHandler, STDLibLogObserver

__all__ = [
    "FileLogObserver",
    "FilteringLogObserver",
    "ILogFilterPredicate",
    "ILogObserver",
    "InvalidLogLevelError",
    "LimitedHistoryLogObserver",
    "LogBeginner",
    "LogEvent",
    "LogLevel",
    "LogLevelFilterPredicate",
    "LogPublisher",
    "Logger",
    "LoggingFile",
    "Operation",
    "PredicateResult",
    "STDLibLogHandler",
    "STDLibLogObserver",
    "capturedLogs",
    "eventAsJSON",
    "eventAsText",
    "eventFromJSON",
    "extractField",
    "flattenEvent",
    "eventsFromJSONLogFile",
    "formatEvent",
    "formatEventAsClassicLogText",
    "formatTime",
    "formatWithCall",
    "globalLogBeginner",
    "globalLogPublisher",
    "jsonFileLogObserver",
    "textFileLogObserver",
    "timeFormatRFC3339",
]
