"""Durable file writes: what "written" means before a server may answer 250."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.threads import deferToThreadPool
from glisten.python.failure import Failure

_T = TypeVar("_T")


def fsyncDirectory(path: str) -> None:
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writeDurably(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically and durably: a temporary file in the same
    folder, fsynced, renamed over ``path``, and the folder fsynced."""
    folder = os.path.dirname(path) or "."
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsyncDirectory(folder)


class DurableFile:
    """A new file that a message is written into line by line, then made durable.

    Lines are buffered and written in 64 KiB batches. :meth:`commit` writes the rest, then
    fsyncs and closes the file and runs ``finish`` (a rename, a queue entry): in the
    reactor's thread pool when there is a reactor, so that the fsyncs of many messages overlap
    instead of queueing behind each other in the reactor thread, else at once. Whatever
    fails removes the file.

    :param path: The file to create (it must not exist).
    :param lineEnd: What ends each line on disk.
    :param reactor: The reactor whose thread pool runs the fsyncs, or ``None``.
    :ivar size: Bytes written so far, line ends included.
    """

    def __init__(self, path: str, lineEnd: bytes, reactor: Any = None) -> None:
        self.path = path
        self.size = 0
        self._lineEnd = lineEnd
        self._reactor = reactor
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._buf: list[bytes] = []
        self._buffered = 0

    def writeLine(self, line: bytes) -> None:
        self._buf.append(line)
        self._buf.append(self._lineEnd)
        length = len(line) + len(self._lineEnd)
        self._buffered += length
        self.size += length
        if self._buffered > 65536:
            self._drain()

    def _drain(self) -> None:
        data = memoryview(b"".join(self._buf))
        self._buf = []
        self._buffered = 0
        while data:
            data = data[os.write(self._fd, data) :]

    def commit(self, finish: Callable[[], _T]) -> Deferred[_T]:
        """Make the file durable, then call ``finish``; fires with what it returned."""

        def durably() -> _T:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            return finish()

        try:
            self._drain()
            getThreadPool = getattr(self._reactor, "getThreadPool", None)
            if getThreadPool is None:
                return succeed(durably())
        except OSError:
            self.discard()
            return fail()
        d = deferToThreadPool(self._reactor, getThreadPool(), durably)

        def failed(failure: Failure) -> Failure:
            self.discard()
            return failure

        return d.addErrback(failed)

    def discard(self) -> None:
        """Close and remove the file (the message is not kept)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
