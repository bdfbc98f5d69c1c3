"""Watch files and folders for changes with Linux's inotify, as ``twisted.internet.inotify``.

::

    def changed(ignored, path, mask):
        print(path.path, humanReadableMask(mask))

    notifier = INotify()
    notifier.watch(FilePath("/srv/incoming"), callbacks=[changed], autoAdd=True)

Each watch calls its callbacks with ``(ignored, FilePath, mask)`` for every event; with
``autoAdd`` a folder created inside a watched folder is watched too, and ``recursive`` watches
a whole tree. The descriptor is read by the reactor like a socket; the kernel's event records
are decoded by :func:`parseEvents`, which keeps a partial record for the next read.

Linux only (the system calls come from the C library through :mod:`ctypes`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from glisten.internet.abstract import FileDescriptor
from glisten.python.failure import Failure
from glisten.python.filepath import FilePath

__all__ = [
    "IN_ACCESS",
    "IN_ATTRIB",
    "IN_CHANGED",
    "IN_CLOSE",
    "IN_CLOSE_NOWRITE",
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_DONT_FOLLOW",
    "IN_IGNORED",
    "IN_ISDIR",
    "IN_MASK_ADD",
    "IN_MODIFY",
    "IN_MOVED",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_MOVE_SELF",
    "IN_ONESHOT",
    "IN_ONLYDIR",
    "IN_OPEN",
    "IN_Q_OVERFLOW",
    "IN_UNMOUNT",
    "IN_WATCH_MASK",
    "INotify",
    "INotifyError",
    "humanReadableMask",
    "parseEvents",
]

IN_ACCESS = 0x00000001
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_MASK_ADD = 0x20000000
IN_ISDIR = 0x40000000
IN_ONESHOT = 0x80000000

IN_CLOSE = IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
IN_MOVED = IN_MOVED_FROM | IN_MOVED_TO
IN_CHANGED = IN_MODIFY | IN_ATTRIB
IN_WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_UNMOUNT
    | IN_MOVED_FROM
    | IN_MOVED_TO
)

_FLAG_NAMES = [
    (IN_ACCESS, "access"),
    (IN_MODIFY, "modify"),
    (IN_ATTRIB, "attrib"),
    (IN_CLOSE_WRITE, "close_write"),
    (IN_CLOSE_NOWRITE, "close_nowrite"),
    (IN_OPEN, "open"),
    (IN_MOVED_FROM, "moved_from"),
    (IN_MOVED_TO, "moved_to"),
    (IN_CREATE, "create"),
    (IN_DELETE, "delete"),
    (IN_DELETE_SELF, "delete_self"),
    (IN_MOVE_SELF, "move_self"),
    (IN_UNMOUNT, "unmount"),
    (IN_Q_OVERFLOW, "queue_overflow"),
    (IN_IGNORED, "ignored"),
    (IN_ONLYDIR, "only_dir"),
    (IN_DONT_FOLLOW, "dont_follow"),
    (IN_MASK_ADD, "mask_add"),
    (IN_ISDIR, "is_dir"),
    (IN_ONESHOT, "one_shot"),
]

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_HEADER = struct.Struct("iIII")
#: The longest name the kernel puts in one record (NAME_MAX + 1, rounded up): more is
#: not a record, it is a broken stream.
_MAX_NAME = 4096


def humanReadableMask(mask: int) -> list[str]:
    """The names of the flags set in ``mask`` (``["create", "is_dir"]``)."""
    return [name for flag, name in _FLAG_NAMES if mask & flag]


class INotifyError(Exception):
    """inotify is not available, or refused a watch."""


def parseEvents(buffer: bytearray) -> list[tuple[int, int, int, bytes]]:
    """Take the complete event records from the front of ``buffer``.

    :return: ``(wd, mask, cookie, name)`` per record (``name`` empty for the watched path
        itself); a partial record stays in ``buffer``.
    :raises INotifyError: A record announces a name longer than the kernel ever sends.
    """
    events = []
    offset = 0
    end = len(buffer)
    size = _HEADER.size
    while end - offset >= size:
        wd, mask, cookie, length = _HEADER.unpack_from(buffer, offset)
        if length > _MAX_NAME:
            raise INotifyError("corrupt inotify record")
        if end - offset - size < length:
            break
        start = offset + size
        name = bytes(buffer[start : start + length]).rstrip(b"\x00")
        events.append((wd, mask, cookie, name))
        offset = start + length
    del buffer[:offset]
    return events


class _Libc:
    """The three inotify system calls, found once."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(path, use_errno=True)
            self.init1 = libc.inotify_init1
            self.addWatch = libc.inotify_add_watch
            self.rmWatch = libc.inotify_rm_watch
        except (OSError, AttributeError) as e:
            raise INotifyError(f"inotify is not available here: {e}") from None
        self.init1.argtypes = [ctypes.c_int]
        self.addWatch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.rmWatch.argtypes = [ctypes.c_int, ctypes.c_int]


_libc: _Libc | None = None


def _getLibc() -> _Libc:
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


class _Watch:
    """One watched path: its callbacks and how it grows."""

    def __init__(
        self,
        path: FilePath[Any],
        mask: int,
        autoAdd: bool,
        callbacks: Sequence[Callable[[Any, FilePath[Any], int], object]],
    ) -> None:
        self.path = path
        self.mask = mask
        self.autoAdd = autoAdd
        self.callbacks = list(callbacks)

    def notify(self, path: FilePath[Any], mask: int) -> None:
        for callback in self.callbacks:
            callback(self, path, mask)


class INotify(FileDescriptor):
    """An inotify instance, read by the reactor.

    :param reactor: The reactor (the global one if ``None``).
    :raises INotifyError: inotify is not available.
    """

    def __init__(self, reactor: Any = None) -> None:
        super().__init__(reactor)
        libc = _getLibc()
        fd = libc.init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            raise INotifyError(f"inotify_init1 failed: {os.strerror(ctypes.get_errno())}")
        self._fd = fd
        self._libc = libc
        self._watches: dict[int, _Watch] = {}
        self._buffer = bytearray()
        self.connected = 1
        self.startReading()

    def _addWatch(
        self,
        path: FilePath[Any],
        mask: int,
        autoAdd: bool,
        callbacks: Sequence[Callable[[Any, FilePath[Any], int], object]],
    ) -> int:
        raw = path.asBytesMode().path
        wd = self._libc.addWatch(self._fd, raw, mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise INotifyError(f"cannot watch {path.path!r}: {os.strerror(code)}")
        watch = self._watches.get(wd)
        if watch is not None and mask & IN_MASK_ADD:
            watch.callbacks.extend(callbacks)
            watch.mask |= mask
        else:
            self._watches[wd] = _Watch(path, mask, autoAdd, callbacks)
        return int(wd)

    def watch(
        self,
        path: FilePath[Any],
        mask: int = IN_WATCH_MASK,
        autoAdd: bool = False,
        callbacks: Iterable[Callable[[Any, FilePath[Any], int], object]] | None = None,
        recursive: bool = False,
    ) -> int | None:
        """Watch ``path`` for the events in ``mask``.

        :param autoAdd: Also watch folders created inside ``path`` later.
        :param callbacks: Called as ``callback(ignored, FilePath, mask)`` per event.
        :param recursive: Watch every folder below ``path`` too.
        :return: The watch descriptor (for ``path`` itself).
        :raises INotifyError: The kernel refused (no such path, no permission, too many).
        """
        found = list(callbacks or ())
        if recursive:
            wd = None
            for child in path.walk():
                if child.isdir():
                    added = self.watch(child, mask, autoAdd, found, False)
                    wd = added if wd is None else wd
            return wd
        return self._addWatch(path, mask, autoAdd, found)

    def ignore(self, path: FilePath[Any]) -> None:
        """Stop watching ``path``.

        :raises KeyError: It is not watched.
        """
        for wd, watch in list(self._watches.items()):
            if watch.path == path:
                del self._watches[wd]
                self._libc.rmWatch(self._fd, wd)
                return
        raise KeyError(path)

    def _isWatched(self, path: FilePath[Any]) -> bool:
        return any(w.path == path for w in self._watches.values())

    def doRead(self) -> object:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EINTR:
                return None
            return e
        self._buffer += data
        try:
            events = parseEvents(self._buffer)
        except INotifyError as e:
            return e
        for wd, mask, _cookie, name in events:
            watch = self._watches.get(wd)
            if watch is None:
                continue
            path = watch.path
            if name:
                path = path.child(os.fsdecode(name) if isinstance(path.path, str) else name)
            if mask & IN_IGNORED:
                # The kernel dropped the watch (the path is gone, or IN_ONESHOT fired).
                self._watches.pop(wd, None)
            watch.notify(path, mask)
            if watch.autoAdd and mask & IN_CREATE and mask & IN_ISDIR and not self._isWatched(path):
                self._addWatched(path, watch)
        return None

    def _addWatched(self, path: FilePath[Any], parent: _Watch) -> None:
        try:
            self._addWatch(path, parent.mask, True, parent.callbacks)
        except INotifyError:
            # Gone again before we could watch it: nothing to watch.
            return
        # What was created in it before the watch existed is reported now.
        for child in path.children():
            parent.notify(child, IN_CREATE | (IN_ISDIR if child.isdir() else 0))

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._watches.clear()

    def loseConnection(self) -> None:
        """Stop watching everything and close the descriptor."""
        if self.connected:
            self.stopReading()
            from glisten.internet import error

            self.connectionLost(Failure(error.ConnectionDone()))

    def getHost(self) -> None:
        return None

    def getPeer(self) -> None:
        return None
