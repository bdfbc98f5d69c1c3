"""glisten.internet.inotify: the record decoder, and watches on a real reactor."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.internet import inotify
from glisten.internet.defer import Deferred
from glisten.python.filepath import FilePath


def record(wd: int, mask: int, name: bytes = b"", cookie: int = 0) -> bytes:
    padded = name + b"\x00" * ((-len(name)) % 16) if name else b""
    return struct.pack("iIII", wd, mask, cookie, len(padded)) + padded


def test_parseWholeAndByteAtATime() -> None:
    wire = record(1, inotify.IN_CREATE, b"new.txt") + record(2, inotify.IN_DELETE_SELF)
    expected = [(1, inotify.IN_CREATE, 0, b"new.txt"), (2, inotify.IN_DELETE_SELF, 0, b"")]
    whole = bytearray(wire)
    assert inotify.parseEvents(whole) == expected and whole == b""
    buffer = bytearray()
    events = []
    for i in range(len(wire)):
        buffer += wire[i : i + 1]
        events.extend(inotify.parseEvents(buffer))
    assert events == expected and buffer == b""


def test_corruptRecord() -> None:
    with pytest.raises(inotify.INotifyError):
        inotify.parseEvents(bytearray(struct.pack("iIII", 1, 0, 0, 1 << 30)))


@given(st.binary(max_size=200))
def test_randomBytesOnlyGiveRecordsOrTheError(data: bytes) -> None:
    buffer = bytearray(data)
    try:
        inotify.parseEvents(buffer)
    except inotify.INotifyError:
        return
    # What is left is one incomplete record.
    if len(buffer) >= 16:
        assert struct.unpack_from("iIII", buffer)[3] > len(buffer) - 16


def test_humanReadableMask() -> None:
    assert inotify.humanReadableMask(inotify.IN_CREATE | inotify.IN_ISDIR) == ["create", "is_dir"]


class Collector:
    """Fires ``done`` once ``want`` (path name, flag) pairs have been seen."""

    def __init__(self, *want: tuple[str, int]) -> None:
        self.want = set(want)
        self.seen: list[tuple[str, list[str]]] = []
        self.done: Deferred[None] = Deferred()

    def __call__(self, ignored: Any, path: FilePath[Any], mask: int) -> None:
        self.seen.append((path.basename(), inotify.humanReadableMask(mask)))
        self.want = {(n, f) for n, f in self.want if not (path.basename() == n and mask & f)}
        if not self.want and not self.done.called:
            self.done.callback(None)


def test_watchReportsChanges(reactor: Any, wait: Any, tmp_path: Path) -> None:
    notifier = inotify.INotify(reactor)
    collect = Collector(("a.txt", inotify.IN_CREATE), ("a.txt", inotify.IN_MODIFY))
    notifier.watch(FilePath(str(tmp_path)), callbacks=[collect])

    def change() -> None:
        (tmp_path / "a.txt").write_text("hello")

    reactor.callLater(0, change)
    wait(collect.done)
    notifier.loseConnection()
    assert notifier.fileno() == -1


def test_autoAddWatchesNewFolders(reactor: Any, wait: Any, tmp_path: Path) -> None:
    notifier = inotify.INotify(reactor)
    collect = Collector(("inner", inotify.IN_CREATE), ("deep.txt", inotify.IN_CREATE))
    notifier.watch(FilePath(str(tmp_path)), autoAdd=True, callbacks=[collect])

    def change() -> None:
        (tmp_path / "inner").mkdir()
        (tmp_path / "inner" / "deep.txt").write_text("x")

    reactor.callLater(0, change)
    wait(collect.done)
    notifier.loseConnection()


def test_recursiveAndIgnore(reactor: Any, wait: Any, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    notifier = inotify.INotify(reactor)
    collect = Collector(("b.txt", inotify.IN_CREATE))
    notifier.watch(FilePath(str(tmp_path)), recursive=True, callbacks=[collect])
    notifier.ignore(FilePath(str(tmp_path)))
    with pytest.raises(KeyError):
        notifier.ignore(FilePath(str(tmp_path)))
    reactor.callLater(0, (tmp_path / "sub" / "b.txt").write_text, "x")
    wait(collect.done)
    notifier.loseConnection()


def test_watchingWhatIsNotThere(reactor: Any, tmp_path: Path) -> None:
    notifier = inotify.INotify(reactor)
    with pytest.raises(inotify.INotifyError, match="cannot watch"):
        notifier.watch(FilePath(str(tmp_path / "missing")))
    notifier.loseConnection()
