"""The global log publisher and the one-time "begin logging" switch.

Before a program picks its log destination, events are kept in a bounded buffer (and
critical ones are also written to standard error, so a crash before logging starts is not
silent). :meth:`LogBeginner.beginLoggingTo` attaches the real observers and replays the
buffer to them, so nothing logged during start-up is lost.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable
from typing import IO, Any

from ._filter import FilteringLogObserver, LogLevelFilterPredicate
from ._format import eventAsText
from ._interfaces import LogEvent
from ._io import LoggingFile
from ._levels import LogLevel
from ._logger import Logger
from ._observer import LimitedHistoryLogObserver, LogPublisher

MORE_THAN_ONCE_WARNING = (
    "Warning: primary log target selected twice at <{fileNow}:{lineNow}> - "
    "previously selected at <{fileThen}:{lineThen}>.  Remove one of the calls to "
    "beginLoggingTo."
)


def _criticalText(event: LogEvent) -> str:
    return eventAsText(event, includeTimestamp=False, includeSystem=False) + "\n"


class LogBeginner:
    """Switches the publisher from start-up buffering to its real observers, once.

    :param publisher: the publisher the observers are added to.
    :param errorStream: where critical events go before logging begins.
    :param stdio: an object with ``stdout`` and ``stderr`` attributes (normally ``sys``),
        replaced by logging files when standard I/O is redirected.
    :param warningsModule: an object with ``showwarning`` (normally :mod:`warnings`).
    :param initialBufferSize: how many early events to keep.
    """

    _DEFAULT_BUFFER_SIZE = 200

    def __init__(
        self,
        publisher: LogPublisher,
        errorStream: IO[str],
        stdio: Any,
        warningsModule: Any,
        initialBufferSize: int | None = None,
    ) -> None:
        if initialBufferSize is None:
            initialBufferSize = self._DEFAULT_BUFFER_SIZE
        self._initialBuffer = LimitedHistoryLogObserver(size=initialBufferSize)
        self._publisher = publisher
        self._log = Logger(namespace="glisten.logger.LogBeginner", observer=publisher)
        self._stdio = stdio
        self._warningsModule = warningsModule
        self._errorStream = errorStream
        self._temporaryObserver: LogPublisher | None = LogPublisher(
            self._initialBuffer,
            FilteringLogObserver(
                self._writeCritical,
                [LogLevelFilterPredicate(defaultLogLevel=LogLevel.critical)],
            ),
        )
        self._previousBegin: tuple[str, int] = ("", 0)
        publisher.addObserver(self._temporaryObserver)
        self._oldshowwarning: Callable[..., Any] = warningsModule.showwarning

    def _writeCritical(self, event: LogEvent) -> None:
        try:
            self._errorStream.write(_criticalText(event))
            self._errorStream.flush()
        except (OSError, ValueError):
            pass

    def beginLoggingTo(
        self,
        observers: Iterable[Callable[[LogEvent], Any]],
        discardBuffer: bool = False,
        redirectStandardIO: bool = True,
    ) -> None:
        """Send all events from now on (and the buffered early ones) to ``observers``.

        :param discardBuffer: drop the early events instead of replaying them.
        :param redirectStandardIO: replace ``stdout``/``stderr`` with files that log each
            line (``info`` and ``error``), so stray prints reach the log too.
        """
        caller = sys._getframe(1)
        filename, lineno = caller.f_code.co_filename, caller.f_lineno
        for observer in observers:
            self._publisher.addObserver(observer)
        if self._temporaryObserver is not None:
            self._publisher.removeObserver(self._temporaryObserver)
            if not discardBuffer:
                self._initialBuffer.replayTo(self._publisher)
            self._temporaryObserver = None
            self._warningsModule.showwarning = self.showwarning
        else:
            previousFile, previousLine = self._previousBegin
            self._log.warn(
                MORE_THAN_ONCE_WARNING,
                fileNow=filename,
                lineNow=lineno,
                fileThen=previousFile,
                lineThen=previousLine,
            )
        self._previousBegin = (filename, lineno)
        if redirectStandardIO:
            for stream, level in (("stdout", LogLevel.info), ("stderr", LogLevel.error)):
                oldStream = getattr(self._stdio, stream)
                loggingFile = LoggingFile(
                    logger=Logger(namespace=stream, observer=self._publisher),
                    level=level,
                    encoding=getattr(oldStream, "encoding", None),
                    fallback=oldStream,
                )
                setattr(self._stdio, stream, loggingFile)

    def showwarning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: IO[str] | None = None,
        line: str | None = None,
    ) -> None:
        """Replacement for :func:`warnings.showwarning` that logs warnings as events."""
        if file is None:
            self._log.warn(
                "{filename}:{lineno}: {category}: {warning}",
                warning=message,
                category=f"{category.__module__}.{category.__qualname__}",
                filename=filename,
                lineno=lineno,
            )
        else:
            self._oldshowwarning(message, category, filename, lineno, file, line)


#: The publisher every :class:`~glisten.logger.Logger` sends to by default.
globalLogPublisher = LogPublisher()

#: Call ``globalLogBeginner.beginLoggingTo([...])`` once, when the program knows where logs go.
globalLogBeginner = LogBeginner(globalLogPublisher, sys.stderr, sys, warnings)
