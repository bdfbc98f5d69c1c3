"""static.File: files, listings, ranges, conditional requests, and staying inside the root."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.web import http
from glisten.web.static import File

Conn = Any
Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]


def get(path: bytes, *headers: bytes, method: bytes = b"GET") -> bytes:
    extra = b"".join(h + b"\r\n" for h in headers)
    return b"%s %s HTTP/1.1\r\nHost: h\r\n%s\r\n" % (method, path, extra)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    (served / "hello.txt").write_bytes(b"0123456789")
    (served / "sub").mkdir()
    (served / "sub" / "index.html").write_bytes(b"<p>index</p>")
    (served / "big.bin").write_bytes(bytes(range(256)) * 1024)
    (served / "<b>&name.txt").write_bytes(b"x")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.txt", served / "escape.txt")
    os.symlink(tmp_path, served / "escapedir")
    os.symlink(served / "hello.txt", served / "inside.txt")
    return served


def test_file(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    status, headers, body = parse(connect(File(str(root))).send(get(b"/hello.txt")))
    assert (status, body) == (200, b"0123456789")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"accept-ranges"] == b"bytes"
    assert b"etag" in headers and b"last-modified" in headers


def test_head(connect: Callable[..., Conn], root: Path) -> None:
    out = connect(File(str(root))).send(get(b"/hello.txt", method=b"HEAD"))
    assert out.endswith(b"\r\n\r\n") and b"Content-Length: 10\r\n" in out


def test_indexAndRedirect(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    conn = connect(File(str(root)))
    status, _, body = parse(conn.send(get(b"/sub/")))
    assert (status, body) == (200, b"<p>index</p>")
    status, headers, _ = parse(conn.send(get(b"/sub?q=1")))
    assert status == 302 and headers[b"location"] == b"/sub/?q=1"


def test_listingEscapesNames(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    status, _, body = parse(connect(File(str(root))).send(get(b"/")))
    assert status == 200
    assert b"&lt;b&gt;&amp;name.txt" in body and b"<b>&name" not in body
    assert b'href="%3Cb%3E%26name.txt"' in body
    assert b"sub/" in body


@pytest.mark.parametrize(
    "path",
    [
        b"/../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/sub/..%2f..%2fsecret.txt",
        b"/escape.txt",
        b"/escapedir/secret.txt",
        b"/%00",
        b"/sub/%2e%2e/%2e%2e/secret.txt",
        b"/..%5csecret.txt",
    ],
)
def test_noWayOut(connect: Callable[..., Conn], parse: Parse, root: Path, path: bytes) -> None:
    status, _, body = parse(connect(File(str(root))).send(get(path)))
    assert status in (403, 404)
    assert b"secret" not in body


def test_symlinkInsideAllowed(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    assert parse(connect(File(str(root))).send(get(b"/inside.txt")))[2] == b"0123456789"


def test_missing(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    assert parse(connect(File(str(root))).send(get(b"/nope")))[0] == 404


@pytest.mark.parametrize(
    "spec,status,body,crange",
    [
        (b"bytes=2-4", 206, b"234", b"bytes 2-4/10"),
        (b"bytes=7-", 206, b"789", b"bytes 7-9/10"),
        (b"bytes=-2", 206, b"89", b"bytes 8-9/10"),
        (b"bytes=5-100", 206, b"56789", b"bytes 5-9/10"),
        (b"bytes=20-30", 416, b"", b"bytes */10"),
        (b"bytes=4-2", 200, b"0123456789", None),
        (b"items=1-2", 200, b"0123456789", None),
        (b"bytes=x-2", 200, b"0123456789", None),
    ],
)
def test_range(
    connect: Callable[..., Conn],
    parse: Parse,
    root: Path,
    spec: bytes,
    status: int,
    body: bytes,
    crange: bytes | None,
) -> None:
    got = parse(connect(File(str(root))).send(get(b"/hello.txt", b"Range: " + spec)))
    assert got[0] == status and got[2] == body
    assert got[1].get(b"content-range") == crange


def test_multipartRanges(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    status, headers, body = parse(
        connect(File(str(root))).send(get(b"/hello.txt", b"Range: bytes=0-1,5-6"))
    )
    assert status == 206
    ctype = headers[b"content-type"]
    assert ctype.startswith(b"multipart/byteranges; boundary=")
    boundary = ctype.split(b"=", 1)[1]
    assert int(headers[b"content-length"]) == len(body)
    parts = body.split(b"--" + boundary)
    assert parts[1].endswith(b"\r\n\r\n01\r\n") and b"Content-Range: bytes 0-1/10" in parts[1]
    assert parts[2].endswith(b"\r\n\r\n56\r\n")
    assert parts[3] == b"--\r\n"


def test_conditional(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    conn = connect(File(str(root)))
    _, headers, _ = parse(conn.send(get(b"/hello.txt")))
    status, _, body = parse(conn.send(get(b"/hello.txt", b"If-None-Match: " + headers[b"etag"])))
    assert (status, body) == (304, b"")
    status, _, _ = parse(
        conn.send(get(b"/hello.txt", b"If-Modified-Since: " + headers[b"last-modified"]))
    )
    assert status == 304
    old = http.datetimeToString(0)
    status, _, body = parse(conn.send(get(b"/hello.txt", b"If-Modified-Since: " + old)))
    assert (status, body) == (200, b"0123456789")
    status, _, body = parse(
        conn.send(get(b"/hello.txt", b"Range: bytes=0-1", b'If-Range: "stale"'))
    )
    assert (status, body) == (200, b"0123456789")


def test_bigFileStreams(connect: Callable[..., Conn], root: Path) -> None:
    conn = connect(File(str(root)))
    conn.send(get(b"/big.bin"))
    out = conn.pump()
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"Content-Length: 262144" in head
    assert body == bytes(range(256)) * 1024
    assert not conn.transport.disconnecting


def test_bigFileRange(connect: Callable[..., Conn], root: Path) -> None:
    conn = connect(File(str(root)))
    conn.send(get(b"/big.bin", b"Range: bytes=1000-200000"))
    body = conn.pump().partition(b"\r\n\r\n")[2]
    assert body == (bytes(range(256)) * 1024)[1000:200001]


def test_mimeTypes() -> None:
    from glisten.web.static import getTypeAndEncoding

    types = File.contentTypes
    assert getTypeAndEncoding("a.tar.gz", types, File.contentEncodings, "x") == (
        "application/x-tar",
        "gzip",
    )
    assert getTypeAndEncoding("a.unknownext", types, {}, "text/html") == ("text/html", None)


def test_slowReaderTimesOut(connect: Callable[..., Conn], root: Path) -> None:
    """A client that stops reading a large file is disconnected after the idle timeout,
    while one that reads slowly but steadily gets the whole file."""
    conn = connect(File(str(root)))
    conn.send(get(b"/big.bin"))
    while conn.transport.producer is not None:  # one chunk every 50 seconds
        conn.clock.advance(50)
        assert not conn.transport.disconnecting
        conn.transport.producer.resumeProducing()
    assert conn.transport.value().endswith(bytes(range(256)))

    stalled = connect(File(str(root)))
    stalled.send(get(b"/big.bin"))
    assert stalled.transport.producer is not None
    for _ in range(40):  # never reads
        stalled.clock.advance(5)
    assert stalled.transport.disconnecting


# -- issue 12: safe defaults and minimal requests ---------------------------------------------


@pytest.fixture
def withHidden(root: Path) -> Path:
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"[remote]")
    (root / ".env").write_bytes(b"SECRET=1")
    (root / "sub" / ".htpasswd").write_bytes(b"user:hash")
    (root / ".well-known").mkdir()
    (root / ".well-known" / "acme").write_bytes(b"token")
    (root / "upload").write_bytes(b"<script>alert(1)</script>")
    return root


@pytest.mark.parametrize("path", [b"/.git/config", b"/.git/", b"/.env", b"/sub/.htpasswd"])
def test_hiddenIsNotFound(
    connect: Callable[..., Conn], parse: Parse, withHidden: Path, path: bytes
) -> None:
    status, _, body = parse(connect(File(str(withHidden))).send(get(path)))
    assert status == 404
    assert b"SECRET" not in body and b"remote" not in body


def test_hiddenLeftOutOfListings(
    connect: Callable[..., Conn], parse: Parse, withHidden: Path
) -> None:
    status, _, body = parse(connect(File(str(withHidden))).send(get(b"/")))
    assert status == 200
    assert b".git" not in body and b".env" not in body
    assert b".well-known/" in body and b"hello.txt" in body


def test_wellKnownStaysPublic(connect: Callable[..., Conn], parse: Parse, withHidden: Path) -> None:
    status, _, body = parse(connect(File(str(withHidden))).send(get(b"/.well-known/acme")))
    assert (status, body) == (200, b"token")


def test_allowHidden(connect: Callable[..., Conn], parse: Parse, withHidden: Path) -> None:
    served = File(str(withHidden))
    served.allowHidden = True
    conn = connect(served)
    status, _, body = parse(conn.send(get(b"/.env")))
    assert (status, body) == (200, b"SECRET=1")
    status, _, body = parse(conn.send(get(b"/sub/.htpasswd")))
    assert status == 200
    status, _, body = parse(conn.send(get(b"/")))
    assert b".git/" in body


def test_unknownTypeIsOctetStreamAndNosniff(
    connect: Callable[..., Conn], parse: Parse, withHidden: Path
) -> None:
    """An uploaded file without an extension must not be served as a page (stored XSS)."""
    status, headers, _ = parse(connect(File(str(withHidden))).send(get(b"/upload")))
    assert status == 200
    assert headers[b"content-type"] == b"application/octet-stream"
    assert headers[b"x-content-type-options"] == b"nosniff"


def test_listingIsNosniff(connect: Callable[..., Conn], parse: Parse, root: Path) -> None:
    _, headers, _ = parse(connect(File(str(root))).send(get(b"/")))
    assert headers[b"x-content-type-options"] == b"nosniff"


def test_twistedDefaultTypeStillSelectable(
    connect: Callable[..., Conn], parse: Parse, withHidden: Path
) -> None:
    _, headers, _ = parse(connect(File(str(withHidden), "text/html")).send(get(b"/upload")))
    assert headers[b"content-type"] == b"text/html; charset=utf-8"


def test_loadMimeTypesInit(tmp_path: Path) -> None:
    """Twisted's ``loadMimeTypes(mimetype_locations, init=mimetypes.init)`` signature."""
    import mimetypes

    from glisten.web.static import loadMimeTypes

    table = tmp_path / "mime.types"
    table.write_text("application/x-glisten-test\tglistentest\n")
    calls: list[object] = []

    def init(files: object = None) -> None:
        calls.append(files)
        mimetypes.init(files)  # type: ignore[arg-type]

    types = loadMimeTypes([str(table)], init=init)
    assert calls == [[str(table)]]
    assert types[".glistentest"] == "application/x-glisten-test"
    assert types[".md"] == "text/markdown"  # glisten's additions still apply
    assert loadMimeTypes(init=mimetypes.init)[".html"] == "text/html"


class MinimalRequest:
    """A request object with only what a resource's caller must give: no ``code``, no
    ``path`` (Twisted's tests and programs build such objects)."""

    def __init__(self, uri: bytes) -> None:
        self.uri = uri
        self.method = b"GET"
        self.headers: dict[bytes, bytes] = {}
        self.requestHeaders: dict[bytes, bytes] = {}
        self.responseCode = 200
        self.written: list[bytes] = []

    def getHeader(self, name: bytes) -> bytes | None:
        return self.requestHeaders.get(name.lower())

    def setHeader(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def setResponseCode(self, code: int) -> None:
        self.responseCode = code

    def setETag(self, etag: bytes) -> None:
        return None

    def setLastModified(self, when: float) -> None:
        return None


def test_minimalRequestFile(root: Path) -> None:
    request = MinimalRequest(b"/hello.txt")
    request.requestHeaders[b"range"] = b"bytes=0-3"
    body = File(str(root / "hello.txt")).render(request)
    assert body == b"0123" and request.responseCode == 206


def test_minimalRequestListing(root: Path) -> None:
    request = MinimalRequest(b"/?x=1")
    body = File(str(root)).directoryListing().render(request)
    assert b"Directory listing for /</title>" in body
