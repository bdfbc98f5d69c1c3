"""Observers that write events to a text file."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from zope.interface import implementer

from ._format import formatEventAsClassicLogText, formatTime, timeFormatRFC3339
from ._interfaces import ILogObserver, LogEvent


@implementer(ILogObserver)
class FileLogObserver:
    """Writes each event, as rendered by ``formatEvent``, to ``outFile`` and flushes.

    :param formatEvent: returns the text for an event (newline included), or ``None`` to skip.
    """

    def __init__(self, outFile: IO[str], formatEvent: Callable[[LogEvent], str | None]) -> None:
        self._outFile = outFile
        self._formatEvent = formatEvent
        self._flush: Callable[[], object] | None = getattr(outFile, "flush", None)

    def __call__(self, event: LogEvent) -> None:
        text = self._formatEvent(event)
        if text:
            self._outFile.write(text)
            if self._flush is not None:
                self._flush()


def textFileLogObserver(
    outFile: IO[str], timeFormat: str | None = timeFormatRFC3339
) -> FileLogObserver:
    """An observer writing classic ``TIME [SYSTEM] message`` lines to ``outFile``.

    :param timeFormat: :func:`time.strftime` format for the timestamp; ``None`` writes ``-``.
    """

    # The rendered time of the last whole second: a busy server logs many events a second,
    # and rendering a time costs more than the rest of a line.
    wholeSeconds = timeFormat is not None and "%f" not in timeFormat
    lastSecond: int | None = None
    lastText = ""

    def _formatTime(when: float | None) -> str:
        nonlocal lastSecond, lastText
        if when is None or not wholeSeconds:
            return formatTime(when, timeFormat)
        second = int(when)
        if second != lastSecond:
            lastSecond, lastText = second, formatTime(when, timeFormat)
        return lastText

    def _format(event: LogEvent) -> str | None:
        return formatEventAsClassicLogText(event, formatTime=_formatTime)

    return FileLogObserver(outFile, _format)
