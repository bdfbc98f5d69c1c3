"""Receiving files offered with DCC SEND, guarded: :class:`DccFileReceive`.

The receiver writes only inside its folder (the offered name is reduced to a safe base name,
the file is created without following symbolic links and, unless asked, never over an existing
file), stops at the announced size, and acknowledges bytes as the DCC protocol asks.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.words.protocols._irc._dcc import safeFileName

__all__ = ["DccFileReceive", "DccFileReceiveBasic"]

_log = Logger()


class DccFileReceiveBasic(Protocol):
    """Counts and acknowledges received bytes; subclasses store them.

    :ivar bytesReceived: bytes received so far (after ``resumeOffset``).
    """

    bytesReceived = 0

    def __init__(self, resumeOffset: int = 0) -> None:
        self.bytesReceived = resumeOffset
        self.resumeOffset = resumeOffset

    def dataReceived(self, data: bytes) -> None:
        self.bytesReceived += len(data)
        self.transport.write(struct.pack("!I", self.bytesReceived & 0xFFFFFFFF))


class DccFileReceive(DccFileReceiveBasic):
    """Writes an offered file into ``destDir``.

    :param filename: the name the sender offered (reduced with ``safeFileName``).
    :param fileSize: the announced size, -1 if unknown; more data than that aborts.
    :param queryData: the offer's ``(user, channel, data)``, for logs.
    :param destDir: the folder to write into.
    :param resumeOffset: bytes of an earlier attempt to append to.
    :ivar maxFileSize: the most written when the size is unknown.
    """

    maxFileSize = 1 << 31
    overwrite = False
    fileSize = -1

    def __init__(
        self,
        filename: str,
        fileSize: int = -1,
        queryData: Any = None,
        destDir: str = ".",
        resumeOffset: int = 0,
    ) -> None:
        super().__init__(resumeOffset)
        self.filename = safeFileName(filename)
        self.destDir = destDir
        self.fileSize = fileSize
        self.queryData = queryData
        self.file: Any = None
        self.error: str | None = None

    def set_directory(self, directory: str) -> None:
        """Write into ``directory`` (it must exist)."""
        if not os.path.isdir(directory):
            raise OSError(f"not a folder: {directory!r}")
        self.destDir = directory

    def set_filename(self, filename: str) -> None:
        """Write under another (also sanitised) name."""
        self.filename = safeFileName(filename)

    def set_overwrite(self, boolean: bool) -> None:
        """Allow replacing an existing file."""
        self.overwrite = boolean

    def path(self) -> str:
        """Where the file goes; always inside ``destDir``."""
        folder = os.path.realpath(self.destDir)
        path = os.path.join(folder, self.filename)
        if os.path.dirname(path) != folder:
            raise OSError("file name escapes the download folder")
        return path

    def connectionMade(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        if self.resumeOffset:
            flags |= os.O_APPEND
        elif self.overwrite:
            flags |= os.O_TRUNC
        else:
            flags |= os.O_EXCL
        try:
            fd = os.open(self.path(), flags, 0o600)
        except OSError as e:
            self.error = e.strerror or str(e)
            _log.warn("DCC: refusing {name}: {why}", name=self.filename, why=self.error)
            self.transport.loseConnection()
            return
        self.file = os.fdopen(fd, "ab" if self.resumeOffset else "wb")

    def dataReceived(self, data: bytes) -> None:
        if self.file is None:
            return
        limit = self.fileSize if self.fileSize >= 0 else self.maxFileSize
        if self.bytesReceived + len(data) > limit:
            self.error = "more data than announced"
            self.file.close()
            self.file = None
            self.transport.abortConnection()
            return
        self.file.write(data)
        super().dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.error is None and 0 <= self.fileSize != self.bytesReceived:
            self.error = "incomplete"

    def __str__(self) -> str:
        return f"<DCC file {self.filename} {self.bytesReceived}/{self.fileSize}>"
