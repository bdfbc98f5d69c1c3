"""The static-file cache: what it keeps, when it looks at the file again, and its bounds."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.web import static
from glisten.web._filecache import FileCache, FileInfo
from glisten.web.static import File

Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def describe() -> tuple[bytes, bytes | None]:
    return b"text/plain", None


def load(cache: FileCache, path: Path) -> FileInfo:
    with open(path, "rb") as f:
        return cache.load(str(path), f, os.fstat(f.fileno()), describe)


def test_keepsSmallFilesUntilMaxAge(tmp_path: Path) -> None:
    clock = FakeClock()
    cache = FileCache(maxAge=1.0, clock=clock)
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    info = load(cache, path)
    assert (info.body, info.size, info.contentType) == (b"hello", 5, b"text/plain")
    assert cache.fresh(str(path)) is info
    clock.now += 0.99
    assert cache.fresh(str(path)) is info
    clock.now += 0.02
    assert cache.fresh(str(path)) is None


def test_unchangedFileIsReusedChangedFileIsRead(tmp_path: Path) -> None:
    clock = FakeClock()
    cache = FileCache(maxAge=1.0, clock=clock)
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    first = load(cache, path)
    clock.now += 5
    assert load(cache, path) is first and cache.fresh(str(path)) is first
    path.write_bytes(b"changed!")
    clock.now += 5
    second = load(cache, path)
    assert second is not first and second.body == b"changed!" and second.etag != first.etag
    assert cache.bytesHeld == len(b"changed!") and len(cache) == 1


def test_largeFilesAreDescribedNotKept(tmp_path: Path) -> None:
    cache = FileCache(maxFileSize=10, clock=FakeClock())
    path = tmp_path / "big"
    path.write_bytes(b"x" * 11)
    info = load(cache, path)
    assert info.body is None and info.size == 11
    assert cache.fresh(str(path)) is None and cache.bytesHeld == 0


def test_boundedInBytesAndEntries(tmp_path: Path) -> None:
    cache = FileCache(maxBytes=25, maxEntries=3, clock=FakeClock())
    paths = []
    for i in range(6):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d" % i * 10)
        paths.append(path)
        load(cache, path)
        assert cache.bytesHeld <= 25 and len(cache) <= 3
    # The oldest went first: the newest two are kept.
    assert [cache.fresh(str(p)) is not None for p in paths] == [False] * 4 + [True] * 2


def test_maxAgeZeroKeepsNothing(tmp_path: Path) -> None:
    cache = FileCache(maxAge=0, clock=FakeClock())
    path = tmp_path / "a"
    path.write_bytes(b"abc")
    assert load(cache, path).body == b"abc"
    assert len(cache) == 0 and cache.fresh(str(path)) is None


def get(path: bytes, *headers: bytes) -> bytes:
    extra = b"".join(h + b"\r\n" for h in headers)
    return b"GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n" % (path, extra)


def test_servedFromMemoryWithoutOpeningTheFile(
    connect: Callable[..., Any], parse: Parse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_bytes(b"cached body")
    root = File(str(tmp_path))
    root.cacheTime = 3600
    conn = connect(root)
    status, headers, body = parse(conn.send(get(b"/a.txt")))
    assert (status, body) == (200, b"cached body")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened again")

    monkeypatch.setattr(static, "open", refuse, raising=False)
    monkeypatch.setattr(static, "_lstat", refuse)
    status2, headers2, body2 = parse(conn.send(get(b"/a.txt")))
    assert (status2, body2) == (200, b"cached body")
    assert headers2[b"etag"] == headers[b"etag"]
    assert parse(conn.send(get(b"/a.txt", b"Range: bytes=7-")))[2] == b"body"
    assert parse(conn.send(get(b"/a.txt", b"If-None-Match: " + headers[b"etag"])))[0] == 304


def test_cacheTimeZeroSeesEveryChange(
    connect: Callable[..., Any], parse: Parse, tmp_path: Path
) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"one")
    root = File(str(tmp_path))
    root.cacheTime = 0
    conn = connect(root)
    assert parse(conn.send(get(b"/a.txt")))[2] == b"one"
    path.write_bytes(b"second version")
    assert parse(conn.send(get(b"/a.txt")))[2] == b"second version"
    path.unlink()
    assert parse(conn.send(get(b"/a.txt")))[0] == 404


def test_replacedFileIsServedAfterCacheTime(
    connect: Callable[..., Any], parse: Parse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr("glisten.web._filecache._monotonic", clock)
    path = tmp_path / "a.txt"
    path.write_bytes(b"one")
    conn = connect(File(str(tmp_path)))
    assert parse(conn.send(get(b"/a.txt")))[2] == b"one"
    # Same size, a new inode: the identity check sees it once the entry is stale.
    replacement = tmp_path / "b.tmp"
    replacement.write_bytes(b"two")
    os.replace(replacement, path)
    assert parse(conn.send(get(b"/a.txt")))[2] == b"one"
    clock.now += 1.5
    assert parse(conn.send(get(b"/a.txt")))[2] == b"two"
