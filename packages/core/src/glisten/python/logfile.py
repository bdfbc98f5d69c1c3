"""Log files that rotate by size (:class:`LogFile`) or by day (:class:`DailyLogFile`).

Rotation happens between writes, never inside one: each ``write`` lands whole in one file,
and a rotation renames the full file out of the way before a new one is opened, so no data
is lost. Files are opened in text mode, line-buffered, as in Twisted; ``bytes`` written are
decoded as UTF-8 (undecodable bytes escaped) so a logger handing bytes in does not crash.
"""

from __future__ import annotations

import glob
import os
import time
from typing import IO, Any

__all__ = ["BaseLogFile", "DailyLogFile", "LogFile", "LogReader"]


class LogReader:
    """Reads lines from a (rotated) log file."""

    def __init__(self, name: str) -> None:
        self._file: IO[str] = open(name, encoding="utf-8", errors="backslashreplace")

    def readLines(self, lines: int = 10) -> list[str]:
        """Up to ``lines`` further lines."""
        result = []
        for _ in range(lines):
            line = self._file.readline()
            if not line:
                break
            result.append(line)
        return result

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class BaseLogFile:
    """A log file that knows when to rotate; subclasses say when and how."""

    synchronized = ["write", "rotate"]

    def __init__(self, name: str, directory: str, defaultMode: int | None = None) -> None:
        self.directory = directory
        self.name = name
        self.path = os.path.join(directory, name)
        if defaultMode is None and os.path.exists(self.path):
            self.defaultMode: int | None = os.stat(self.path).st_mode & 0o777
        else:
            self.defaultMode = defaultMode
        self._openFile()

    @classmethod
    def fromFullPath(cls, filename: str, *args: Any, **kwargs: Any) -> Any:
        """Make a log file for the path ``filename``."""
        logPath = os.path.abspath(filename)
        return cls(os.path.basename(logPath), os.path.dirname(logPath), *args, **kwargs)

    def shouldRotate(self) -> bool:
        """Whether the next write should go to a fresh file."""
        raise NotImplementedError  # pragma: no cover - subclasses decide

    def rotate(self) -> None:
        """Move the current file aside and start a new one."""
        raise NotImplementedError  # pragma: no cover - subclasses decide

    def _openFile(self) -> None:
        self.closed = False
        if os.path.exists(self.path):
            self._file: IO[str] = open(
                self.path, "r+", 1, encoding="utf-8", errors="backslashreplace"
            )
            self._file.seek(0, 2)
        elif self.defaultMode is not None:
            oldUmask = os.umask(0o777)
            try:
                self._file = open(self.path, "w+", 1, encoding="utf-8")
            finally:
                os.umask(oldUmask)
        else:
            self._file = open(self.path, "w+", 1, encoding="utf-8")
        if self.defaultMode is not None:
            try:
                os.chmod(self.path, self.defaultMode)
            except OSError:
                pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_file"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._openFile()

    def _canRotate(self) -> bool:
        return os.access(self.directory, os.W_OK) and os.access(self.path, os.W_OK)

    def write(self, data: str | bytes) -> None:
        """Write ``data``, rotating first if it is time."""
        if isinstance(data, bytes):
            data = data.decode("utf-8", "backslashreplace")
        if self.shouldRotate():
            self.flush()
            self.rotate()
        self._file.write(data)

    def flush(self) -> None:
        """Flush to the OS."""
        self._file.flush()

    def close(self) -> None:
        """Close the file; writing again needs :meth:`reopen`."""
        self.closed = True
        self._file.close()

    def reopen(self) -> None:
        """Close and reopen the file (after an outside tool moved it, for instance)."""
        self.close()
        self._openFile()

    def getCurrentLog(self) -> LogReader:
        """A reader for the file being written."""
        return LogReader(self.path)


class LogFile(BaseLogFile):
    """A log file that rotates when it reaches ``rotateLength`` bytes.

    Rotated files are ``name.1`` (newest) to ``name.N``; with ``maxRotatedFiles`` the oldest
    beyond that count are deleted.
    """

    def __init__(
        self,
        name: str,
        directory: str,
        rotateLength: int = 1000000,
        defaultMode: int | None = None,
        maxRotatedFiles: int | None = None,
    ) -> None:
        self.rotateLength = rotateLength
        self.maxRotatedFiles = maxRotatedFiles
        super().__init__(name, directory, defaultMode)

    def _openFile(self) -> None:
        super()._openFile()
        self.size = self._file.tell()

    def shouldRotate(self) -> bool:
        """Whether the file has reached ``rotateLength``."""
        return bool(self.rotateLength and self.size >= self.rotateLength)

    def getLog(self, identifier: int) -> LogReader:
        """A reader for rotated file ``name.identifier``.

        :raises ValueError: there is no such file.
        """
        filename = f"{self.path}.{identifier:d}"
        if not os.path.exists(filename):
            raise ValueError("no such logfile exists")
        return LogReader(filename)

    def write(self, data: str | bytes) -> None:
        """Write ``data`` (rotating first if the file is full)."""
        if isinstance(data, bytes):
            data = data.decode("utf-8", "backslashreplace")
        super().write(data)
        self.size += len(data.encode("utf-8", "backslashreplace"))

    def rotate(self) -> None:
        """Shift ``name.N`` to ``name.N+1``, the current file to ``name.1``, start anew.

        Does nothing if the directory or file is not writable.
        """
        if not self._canRotate():
            return
        for i in reversed(self.listLogs()):
            if self.maxRotatedFiles is not None and i >= self.maxRotatedFiles:
                os.remove(f"{self.path}.{i}")
            else:
                os.rename(f"{self.path}.{i}", f"{self.path}.{i + 1}")
        self._file.close()
        os.rename(self.path, f"{self.path}.1")
        self._openFile()

    def listLogs(self) -> list[int]:
        """The numbers of the existing rotated files, ascending."""
        result = []
        for name in glob.glob(glob.escape(self.path) + ".*"):
            try:
                counter = int(name.rsplit(".", 1)[-1])
            except ValueError:
                continue
            if counter > 0:
                result.append(counter)
        result.sort()
        return result

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("size", None)
        return state


class DailyLogFile(BaseLogFile):
    """A log file that rotates when the local date changes; rotated files are ``name.Y_M_D``."""

    def _openFile(self) -> None:
        super()._openFile()
        self.lastDate = self.toDate(os.stat(self.path).st_mtime)

    def shouldRotate(self) -> bool:
        """Whether today is later than the day of the last write."""
        return self.toDate() > self.lastDate

    def toDate(self, *args: float) -> tuple[int, int, int]:
        """``(year, month, day)`` of a timestamp (now if none), in local time."""
        return tuple(time.localtime(*args)[:3])  # type: ignore[return-value]

    def suffix(self, tupledate: tuple[int, ...] | float) -> str:
        """The rotated-file suffix for a date tuple or timestamp: ``2026_12_6``."""
        if isinstance(tupledate, (int, float)):
            tupledate = self.toDate(tupledate)
        return "_".join(map(str, tupledate))

    def getLog(self, identifier: tuple[int, ...] | float) -> LogReader:
        """A reader for the file of the day ``identifier`` (the current file if it is today).

        :raises ValueError: there is no such file.
        """
        if isinstance(identifier, (int, float)):
            identifier = self.toDate(identifier)
        if tuple(identifier) == self.toDate():
            return self.getCurrentLog()
        filename = f"{self.path}.{self.suffix(identifier)}"
        if not os.path.exists(filename):
            raise ValueError("no such logfile exists")
        return LogReader(filename)

    def write(self, data: str | bytes) -> None:
        """Write ``data`` (rotating first if the day changed)."""
        super().write(data)
        # Guard against the clock going back to yesterday.
        self.lastDate = max(self.lastDate, self.toDate())

    def rotate(self) -> None:
        """Rename the file to ``name.<day of last write>`` and start anew.

        Does nothing if that name is taken (the file keeps growing rather than overwrite
        an older log) or the directory is not writable.
        """
        if not self._canRotate():
            return
        newpath = f"{self.path}.{self.suffix(self.lastDate)}"
        if os.path.exists(newpath):
            return
        self._file.close()
        os.rename(self.path, newpath)
        self._openFile()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("lastDate", None)
        return state
