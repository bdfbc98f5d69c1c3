"""What :class:`~glisten.web.static.File` knows about a file between requests.

Serving a small file costs far more in system calls (``lstat``, ``open``, ``fstat``,
``read``, ``close``) and header formatting than in the bytes themselves. :class:`FileCache`
keeps, per path, the file's description (:class:`FileInfo`: size, ETag, modification time,
content type) and, for small regular files, the contents, so that repeated requests make no
system call at all for :attr:`FileCache.maxAge` seconds. After that the next request opens
and ``fstat``\\ s the file again: if its identity (device, inode, size, modification time) is
unchanged the cached bytes are reused, otherwise they are read again. A changed file is
therefore served within ``maxAge`` seconds of the change (nginx's ``open_file_cache_valid``
trades the same way, with a 60 s default; glisten's is 1 s).

The cache is bounded in bytes and in entries; the oldest entries go first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO


class FileInfo:
    """A regular file as the server describes it: the validators and the header values.

    :ivar key: What identifies this version of the file: device, inode, size and
        modification time in nanoseconds.
    :ivar size: Its length in bytes.
    :ivar etag: The strong entity tag sent as ``ETag``.
    :ivar mtime: The modification time, whole seconds (``Last-Modified``).
    :ivar contentType: The ``Content-Type`` value.
    :ivar contentEncoding: The ``Content-Encoding`` value, or ``None``.
    :ivar body: The whole contents, when the file is small enough to keep; else ``None``.
    :ivar checked: When (``time.monotonic``) the description was last known to be current.
    """

    __slots__ = (
        "key",
        "size",
        "etag",
        "mtime",
        "contentType",
        "contentEncoding",
        "body",
        "checked",
    )

    def __init__(
        self,
        st: os.stat_result,
        contentType: bytes,
        contentEncoding: bytes | None,
        body: bytes | None = None,
        checked: float = 0.0,
    ) -> None:
        self.key = identity(st)
        self.size = st.st_size
        self.etag = b'"%x-%x"' % (st.st_mtime_ns, st.st_size)
        self.mtime = int(st.st_mtime)
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.body = body
        self.checked = checked


_monotonic = time.monotonic


def identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a file is replaced or written: device, inode, size, mtime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class FileCache:
    """Descriptions and contents of recently served small files, by path.

    :param maxAge: Seconds an entry is trusted without looking at the file again (0: every
        request looks, and nothing is kept).
    :param maxFileSize: Files up to this size have their contents kept.
    :param maxBytes: The most file contents kept at once.
    :param maxEntries: The most paths kept at once.
    :param clock: The monotonic clock (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        maxAge: float = 1.0,
        maxFileSize: int = 65536,
        maxBytes: int = 32 * 1024 * 1024,
        maxEntries: int = 4096,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.maxAge = maxAge
        self.maxFileSize = maxFileSize
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
        self.clock = clock if clock is not None else _monotonic
        self._entries: dict[str, FileInfo] = {}
        self._bytes = 0
        # Paths recently found missing (pre-compressed siblings that are not there), with
        # when they were looked for.
        self._absent: dict[str, float] = {}

    def fresh(self, path: str) -> FileInfo | None:
        """The entry of ``path`` if it was checked less than ``maxAge`` seconds ago."""
        info = self._entries.get(path)
        if info is not None and self.clock() - info.checked < self.maxAge:
            return info
        return None

    def absent(self, path: str) -> bool:
        """Whether ``path`` was found missing less than ``maxAge`` seconds ago."""
        when = self._absent.get(path)
        return when is not None and self.clock() - when < self.maxAge

    def noteAbsent(self, path: str) -> None:
        """Remember that ``path`` is missing (for ``maxAge`` seconds)."""
        if self.maxAge <= 0:
            return
        absent = self._absent
        if len(absent) >= self.maxEntries:
            absent.clear()
        absent[path] = self.clock()

    def load(
        self,
        path: str,
        f: IO[bytes],
        st: os.stat_result,
        describe: Callable[[], tuple[bytes, bytes | None]],
    ) -> FileInfo:
        """Describe the regular file ``f`` (open at ``path``, ``fstat`` result ``st``),
        reading its contents if it is small (and keeping them, unless ``maxAge`` is 0), and
        reusing what is kept when the file did not change.

        :param describe: Gives ``(contentType, contentEncoding)``; called only when the file
            is new to the cache.
        """
        now = self.clock()
        entries = self._entries
        old = entries.get(path)
        if old is not None and old.key == identity(st):
            old.checked = now
            return old
        contentType, contentEncoding = describe()
        small = st.st_size <= min(self.maxFileSize, self.maxBytes)
        body = _readAll(f, st.st_size) if small else None
        info = FileInfo(st, contentType, contentEncoding, body, now)
        if old is not None:
            self._forget(path)
        if body is not None and len(body) == st.st_size and self.maxAge > 0:
            entries[path] = info
            self._bytes += len(body)
            while self._bytes > self.maxBytes or len(entries) > self.maxEntries:
                self._forget(next(iter(entries)))
        elif body is not None and len(body) != st.st_size:
            # The file changed while it was read: serve what was read, keep nothing.
            info.size = len(body)
        return info

    def _forget(self, path: str) -> None:
        info = self._entries.pop(path)
        if info.body is not None:
            self._bytes -= len(info.body)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytesHeld(self) -> int:
        """The file contents held now, in bytes."""
        return self._bytes


def _readAll(f: IO[bytes], size: int) -> bytes:
    f.seek(0)
    return f.read(size)
