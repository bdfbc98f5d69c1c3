"""A file-like object that turns written lines into log events (for redirected stdio)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import IO

from ._levels import LogLevel
from ._logger import Logger


class LoggingFile:
    """Text written here becomes one log event per line, field ``log_io``.

    Used to capture ``print`` output once logging has begun. A write made while this file is
    already emitting (an observer that prints) goes to ``fallback`` instead of recursing.

    :param logger: emits the events.
    :param level: the level of every event.
    :param encoding: how ``bytes`` written here are decoded.
    :param fallback: where re-entrant writes go; dropped if ``None``.
    """

    softspace = 0

    def __init__(
        self,
        logger: Logger,
        level: LogLevel = LogLevel.info,
        encoding: str | None = None,
        fallback: IO[str] | None = None,
    ) -> None:
        self.level = level
        self.log = logger
        self._encoding = encoding or "utf-8"
        self._buffer = ""
        self._closed = False
        self._fallback = fallback
        self._local = threading.local()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def encoding(self) -> str:
        """The encoding used for ``bytes``."""
        return self._encoding

    @property
    def mode(self) -> str:
        """Always ``"w"``."""
        return "w"

    @property
    def newlines(self) -> None:
        """Not tracked."""
        return None

    @property
    def name(self) -> str:
        """A descriptive name, for ``repr`` of code that prints file names."""
        return f"<{type(self).__name__} {self.log.namespace}#{self.level.name}>"

    def close(self) -> None:
        """Flush the pending partial line and refuse further writes."""
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = ""
        self._closed = True

    def flush(self) -> None:
        """Nothing is held except an unterminated line, which waits for its end."""

    def fileno(self) -> int:
        """There is no file descriptor behind this object."""
        return -1

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def writable(self) -> bool:
        """Always writable until closed."""
        return not self._closed

    def write(self, message: str | bytes) -> int:
        """Log every complete line in ``message``; keep an unterminated tail for later.

        :raises ValueError: if the file is closed.
        """
        if self._closed:
            raise ValueError("I/O operation on closed file")
        if isinstance(message, bytes):
            text = message.decode(self._encoding, "replace")
        else:
            text = message
        if getattr(self._local, "busy", False):
            if self._fallback is not None:
                self._fallback.write(text)
            return len(message)
        lines = (self._buffer + text).split("\n")
        self._buffer = lines.pop()
        for line in lines:
            self._emit(line)
        return len(message)

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        """Write each of ``lines``."""
        for line in lines:
            self.write(line)

    def _emit(self, line: str) -> None:
        self._local.busy = True
        try:
            self.log.emit(self.level, "{log_io}", log_io=line)
        finally:
            self._local.busy = False
