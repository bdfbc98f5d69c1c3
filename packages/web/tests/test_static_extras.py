"""static.File extras: pre-compressed ``.br``/``.gz`` siblings, ``ignoreExt("*")``, and the
``glisten web`` options ``--cache-control``, ``--allow-ignore-ext``, ``--no-precompressed``."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.web._filecache import FileCache
from glisten.web.server import _acceptsCoding
from glisten.web.static import File
from glisten.web.tap import makeResource

from .test_static import get
from .test_tap import parse as parseOptions

Conn = Any
Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]

TEXT = b"console.log('hello');\n" * 50
GZ = gzip.compress(TEXT, mtime=0)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    (served / "app.js").write_bytes(TEXT)
    (served / "app.js.gz").write_bytes(GZ)
    (served / "app.js.br").write_bytes(b"pretend brotli")
    (served / "style.css").write_bytes(b"body{}")
    (served / "style.css.gz").write_bytes(gzip.compress(b"body{}"))
    (served / "plain.txt").write_bytes(b"plain")
    (served / "big.bin").write_bytes(os.urandom(200_000))
    (served / "big.bin.gz").write_bytes(
        gzip.compress((tmp_path / "served" / "big.bin").read_bytes())
    )
    (tmp_path / "outside.gz").write_bytes(b"secret")
    os.symlink(tmp_path / "outside.gz", served / "leak.txt.gz")
    (served / "leak.txt").write_bytes(b"leak")
    return served


def precompressedFile(root: Path) -> File:
    files = File(str(root))
    files.precompressed = True
    return files


@pytest.mark.parametrize(
    ("accept", "coding", "body"),
    [
        (b"gzip, deflate, br", b"br", b"pretend brotli"),
        (b"br;q=0.5, gzip", b"br", b"pretend brotli"),
        (b"gzip", b"gzip", GZ),
        (b"br;q=0, gzip;q=0.8", b"gzip", GZ),
        (b"x-gzip", b"gzip", GZ),
        (b"*", b"br", b"pretend brotli"),
        (b"identity", None, TEXT),
        (b"gzip;q=0, br;q=0.000", None, TEXT),
        (None, None, TEXT),
    ],
)
def test_siblingChosenByAcceptEncoding(
    connect: Callable[..., Conn],
    parse: Parse,
    root: Path,
    accept: bytes | None,
    coding: bytes | None,
    body: bytes,
) -> None:
    headers = [] if accept is None else [b"Accept-Encoding: " + accept]
    status, got, content = parse(connect(precompressedFile(root)).send(get(b"/app.js", *headers)))
    assert status == 200
    if coding is None:
        assert content == TEXT and b"content-encoding" not in got
    else:
        assert content == body and got[b"content-encoding"] == coding
    assert got[b"content-type"] == b"text/javascript; charset=utf-8"
    assert got[b"content-length"] == b"%d" % len(content)
    assert got[b"vary"] == b"Accept-Encoding"


def test_gzipOnlySiblingAndNoSibling(
    connect: Callable[..., Conn], parse: Parse, root: Path
) -> None:
    conn = connect(precompressedFile(root))
    status, headers, body = parse(conn.send(get(b"/style.css", b"Accept-Encoding: br, gzip")))
    assert (status, headers[b"content-encoding"]) == (200, b"gzip")
    assert gzip.decompress(body) == b"body{}"
    assert headers[b"content-type"] == b"text/css; charset=utf-8"
    # No sibling: the file as it is, and nothing varies.
    status, headers, body = parse(conn.send(get(b"/plain.txt", b"Accept-Encoding: br, gzip")))
    assert body == b"plain" and b"vary" not in headers and b"content-encoding" not in headers


def test_offByDefault(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    status, headers, body = parse(
        connect(File(str(root))).send(get(b"/app.js", b"Accept-Encoding: gzip, br"))
    )
    assert body == TEXT and b"vary" not in headers and b"content-encoding" not in headers


def test_rangeRequestsGetTheFileItself(
    connect: Callable[..., Conn], parse: Parse, root: Path
) -> None:
    conn = connect(precompressedFile(root))
    status, headers, body = parse(
        conn.send(get(b"/app.js", b"Accept-Encoding: gzip, br", b"Range: bytes=0-6"))
    )
    assert (status, body) == (206, TEXT[:7])
    assert b"content-encoding" not in headers and headers[b"vary"] == b"Accept-Encoding"


def test_conditionalAndHead(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    conn = connect(precompressedFile(root))
    _, plain, _ = parse(conn.send(get(b"/app.js")))
    _, gz, _ = parse(conn.send(get(b"/app.js", b"Accept-Encoding: gzip")))
    # Each representation has its own validator.
    assert plain[b"etag"] != gz[b"etag"]
    status, headers, body = parse(
        conn.send(get(b"/app.js", b"Accept-Encoding: gzip", b"If-None-Match: " + gz[b"etag"]))
    )
    assert (status, body) == (304, b"")
    status, headers, body = parse(
        conn.send(get(b"/app.js", b"Accept-Encoding: gzip", b"If-None-Match: " + plain[b"etag"]))
    )
    assert status == 200 and headers[b"content-encoding"] == b"gzip"
    out = conn.send(get(b"/app.js", b"Accept-Encoding: gzip", method=b"HEAD"))
    assert out.endswith(b"\r\n\r\n") and b"Content-Encoding: gzip\r\n" in out
    assert b"Content-Length: %d\r\n" % len(GZ) in out


def test_largeSiblingIsStreamed(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    conn = connect(precompressedFile(root))
    conn.send(get(b"/big.bin", b"Accept-Encoding: gzip"))
    status, headers, body = parse(conn.pump())
    assert status == 200 and headers[b"content-encoding"] == b"gzip"
    assert gzip.decompress(body) == (root / "big.bin").read_bytes()


def test_encodedFilesAndEscapingSiblings(
    connect: Callable[..., Conn], parse: Parse, root: Path
) -> None:
    conn = connect(precompressedFile(root))
    # Asking for the .gz itself: sent as it is (no .gz.gz search).
    status, headers, body = parse(conn.send(get(b"/app.js.gz", b"Accept-Encoding: gzip")))
    assert body == GZ and headers[b"content-encoding"] == b"gzip"
    assert b"vary" not in headers
    # A sibling that is a link out of the served folder is not used.
    status, headers, body = parse(conn.send(get(b"/leak.txt", b"Accept-Encoding: gzip")))
    assert body == b"leak" and b"content-encoding" not in headers


def test_absentSiblingsAreRemembered() -> None:
    now = [0.0]
    cache = FileCache(maxAge=1.0, maxEntries=2, clock=lambda: now[0])
    assert not cache.absent("/a.gz")
    cache.noteAbsent("/a.gz")
    assert cache.absent("/a.gz")
    now[0] = 1.5
    assert not cache.absent("/a.gz")
    # Bounded: past maxEntries the remembered absences are forgotten.
    for name in ("/b", "/c", "/d"):
        cache.noteAbsent(name)
    assert cache.absent("/d") and not cache.absent("/b")
    # maxAge 0 keeps nothing.
    nothing = FileCache(maxAge=0)
    nothing.noteAbsent("/a")
    assert not nothing.absent("/a")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        (b"", False),
        (b"gzip", True),
        (b"GZIP;Q=1", True),
        (b"deflate, gzip;q=0.1", True),
        (b"gzip;q=0", False),
        (b"gzip;q=0.000", False),
        (b"gzip;q=nonsense", False),
        (b"*;q=0.5", True),
        (b"*, gzip;q=0", False),
        (b"*;q=0", False),
        (b"br", False),
    ],
)
def test_acceptsCoding(accept: bytes | None, expected: bool) -> None:
    assert _acceptsCoding(accept, b"gzip") is expected


def test_anyExtension(connect: Callable[..., Conn], parse: Parse, tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(b"html")
    (tmp_path / "page.txt").write_bytes(b"text")
    (tmp_path / ".secret.txt").write_bytes(b"hidden")
    (tmp_path / "report.pdf").write_bytes(b"pdf")
    files = File(str(tmp_path))
    files.ignoreExt(".txt")
    files.ignoreExt("*")
    conn = connect(files)
    # Named extensions first, in order; then any extension, the first by name.
    assert parse(conn.send(get(b"/page")))[2] == b"text"
    assert parse(conn.send(get(b"/report")))[2] == b"pdf"
    # Never a hidden file, nothing for a name no file starts with.
    assert parse(conn.send(get(b"/")))[0] == 200
    assert parse(conn.send(get(b"/.secret")))[0] == 404
    assert parse(conn.send(get(b"/missing")))[0] == 404
    assert parse(conn.send(get(b"/rep")))[0] == 404


def test_webOptions(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    files = makeResource(
        parseOptions("--path", str(root), "--cache-control", "max-age=3600", "--allow-ignore-ext")
    )
    assert isinstance(files, File) and files.precompressed
    conn = connect(files)
    status, headers, body = parse(conn.send(get(b"/app.js", b"Accept-Encoding: gzip")))
    assert headers[b"cache-control"] == b"max-age=3600"
    assert headers[b"content-encoding"] == b"gzip"
    status, headers, body = parse(conn.send(get(b"/plain")))
    assert (status, body) == (200, b"plain")
    assert headers[b"cache-control"] == b"max-age=3600"
    off = makeResource(parseOptions("--path", str(root), "--no-precompressed"))
    assert isinstance(off, File) and not off.precompressed
    status, headers, body = parse(connect(off).send(get(b"/app.js", b"Accept-Encoding: gzip")))
    assert body == TEXT and b"cache-control" not in headers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--path", ".", "--cache-control", "a\r\nSet-Cookie: x"), "one line"),
        (("--path", ".", "--cache-control", " "), "one line"),
        (("--class", "x.Y", "--cache-control", "no-store"), "goes with --path"),
    ],
)
def test_badCacheControl(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        makeResource(parseOptions(*args))
