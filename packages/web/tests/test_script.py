"""glisten.web.script: .rpy resource scripts, .epy pages, static.File processors, and the
``glisten web`` options that use them (--resource-script, --processor, --ignore-ext, --https)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.web import script, static
from glisten.web.tap import _listenStrings, makeResource, serviceMaker

Decode = Callable[[bytes], tuple[bytes, bytes]]
GET = b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n"

RPY = """
from glisten.web.resource import Resource

class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"rpy %s at %s" % (MARK, request.uri)

MARK = b"one"
resource = Page()
"""

CACHED_RPY = """
cache()
from glisten.web.resource import Resource

class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"made %d" % id(self)

resource = Page()
"""


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def folder(tmp_path: Path) -> Path:
    (tmp_path / "page.rpy").write_text(RPY)
    (tmp_path / "cached.rpy").write_text(CACHED_RPY)
    (tmp_path / "empty.rpy").write_text("x = 1\n")
    (tmp_path / "bad.rpy").write_text("resource = 42\n")
    (tmp_path / "hello.epy").write_text('request.write(b"epy " + request.uri)\n')
    (tmp_path / "broken.epy").write_text('raise RuntimeError("epy secret")\n')
    (tmp_path / "plain.txt").write_text("text")
    return tmp_path


def test_rpyNotRunWithoutProcessor(
    tmp_path: Path, connect: Callable[..., Any], decode: Decode
) -> None:
    conn = connect(static.File(folder(tmp_path)))
    response = conn.send(GET % b"/page.rpy")
    assert status(response) == 200 and decode(response)[1] == RPY.encode()


def test_rpyProcessor(tmp_path: Path, connect: Callable[..., Any], decode: Decode) -> None:
    files = static.File(folder(tmp_path))
    files.processors = {".rpy": script.ResourceScript, ".epy": script.PythonScript}
    conn = connect(files)
    assert decode(conn.send(GET % b"/page.rpy"))[1] == b"rpy one at /page.rpy"
    # Not cached: an edit shows on the next request.
    (tmp_path / "page.rpy").write_text(RPY.replace('b"one"', 'b"two"'))
    assert decode(conn.send(GET % b"/page.rpy?x"))[1] == b"rpy two at /page.rpy?x"
    assert decode(conn.send(GET % b"/plain.txt"))[1] == b"text"
    assert decode(conn.send(GET % b"/hello.epy"))[1] == b"epy /hello.epy"


def test_rpyCache(tmp_path: Path, connect: Callable[..., Any], decode: Decode) -> None:
    files = static.File(folder(tmp_path))
    files.processors = {".rpy": script.ResourceScript}
    conn = connect(files)
    first = decode(conn.send(GET % b"/cached.rpy"))[1]
    assert first == decode(conn.send(GET % b"/cached.rpy"))[1]
    path = tmp_path / "cached.rpy"
    path.write_text(CACHED_RPY + "\n# changed\n")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert decode(conn.send(GET % b"/cached.rpy"))[1] != first


def test_rpyWithoutResource(tmp_path: Path, connect: Callable[..., Any], decode: Decode) -> None:
    files = static.File(folder(tmp_path))
    files.processors = {".rpy": script.ResourceScript}
    conn = connect(files)
    response = conn.send(GET % b"/empty.rpy")
    assert status(response) == 500 and b"resource" in decode(response)[1]
    assert status(conn.send(GET % b"/bad.rpy")) == 500


def test_epyErrorHidesTraceback(
    tmp_path: Path, connect: Callable[..., Any], decode: Decode
) -> None:
    files = static.File(folder(tmp_path))
    files.processors = {".epy": script.PythonScript}
    conn = connect(files)
    response = conn.send(GET % b"/broken.epy")
    assert status(response) == 500 and b"epy secret" not in response
    conn.site.displayTracebacks = True
    response = conn.send(GET % b"/broken.epy")
    assert b"epy secret" in response


def test_resourceScriptWrapperAndDirectory(
    tmp_path: Path, connect: Callable[..., Any], decode: Decode
) -> None:
    folder(tmp_path)
    wrapper = script.ResourceScriptWrapper(str(tmp_path / "page.rpy"))
    assert decode(connect(wrapper).send(GET % b"/x"))[1] == b"rpy one at /x"
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "inner.rpy").write_text(RPY)
    directory = script.ResourceScriptDirectory(str(tmp_path))
    conn = connect(directory)
    assert decode(conn.send(GET % b"/page.rpy"))[1] == b"rpy one at /page.rpy"
    assert decode(conn.send(GET % b"/sub/inner.rpy"))[1] == b"rpy one at /sub/inner.rpy"
    assert status(conn.send(GET % b"/")) == 403
    assert status(conn.send(GET % b"/missing.rpy")) == 404
    assert status(conn.send(GET % b"/%2e%2e/etc")) == 404


def test_registryCacheFollowsMtime(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("a")
    registry = static.Registry()
    marker = object()
    registry.cachePath(str(path), marker)
    assert registry.getCachedPath(str(path)) is marker
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert registry.getCachedPath(str(path)) is None


# -- glisten web options ---------------------------------------------------------------------


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def test_tapResourceScript(tmp_path: Path, connect: Callable[..., Any], decode: Decode) -> None:
    folder(tmp_path)
    root = makeResource(parse("--resource-script", str(tmp_path / "page.rpy")))
    assert isinstance(root, script.ResourceScriptWrapper)
    assert decode(connect(root).send(GET % b"/y"))[1] == b"rpy one at /y"
    with pytest.raises(ValueError, match="not a file"):
        makeResource(parse("--resource-script", str(tmp_path / "nope.rpy")))
    with pytest.raises(ValueError, match="exactly one"):
        makeResource(parse("--resource-script", "x.rpy", "--path", str(tmp_path)))


def test_tapProcessorAndIgnoreExt(
    tmp_path: Path, connect: Callable[..., Any], decode: Decode
) -> None:
    folder(tmp_path)
    root = makeResource(
        parse(
            "--path",
            str(tmp_path),
            "--processor",
            ".rpy=glisten.web.script.ResourceScript",
            "--ignore-ext",
            "rpy",
        )
    )
    conn = connect(root)
    assert decode(conn.send(GET % b"/page"))[1] == b"rpy one at /page"
    with pytest.raises(ValueError, match="--processor"):
        makeResource(parse("--path", str(tmp_path), "--processor", "rpy"))


def test_tapHttps(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    (tmp_path / "k:ey.pem").write_text("x")
    options = parse(
        "--path",
        str(tmp_path),
        "--https",
        "8443",
        "--certificate",
        str(tmp_path / "c.pem"),
        "--privkey",
        str(tmp_path / "k:ey.pem"),
    )
    listen = _listenStrings(options)
    assert listen[0] == "tcp:8080"
    assert listen[1].startswith("ssl:8443:privateKey=") and "k\\:ey.pem" in listen[1]
    with pytest.raises(ValueError, match="--certificate"):
        _listenStrings(parse("--path", ".", "--https", "8443"))
    assert parse("--logfile", "x.log").accessLog == "x.log"


def test_tapRunScripts(tmp_path: Path) -> None:
    from glisten.web.twcgi import CGIScript

    root = makeResource(parse("--path", str(tmp_path), "--run-scripts"))
    assert isinstance(root, static.File)
    assert root.processors == {
        ".rpy": script.ResourceScript,
        ".epy": script.PythonScript,
        ".cgi": CGIScript,
    }
    plain = makeResource(parse("--path", str(tmp_path)))
    assert isinstance(plain, static.File) and plain.processors == {}


PTL = """
from quixote.ptl import ptl_html

from glisten.web.resource import Resource


@ptl_html
def page(name):
    F'<html><body><p class="greeting">Hello, {name}!</p></body></html>'


class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        name = request.args.get(b"name", [b"world"])[0].decode()
        return str(page(name)).encode("utf-8")


resource = Page()
"""


def test_resourceTemplate(tmp_path: Path, connect: Callable[..., Any], decode: Decode) -> None:
    pytest.importorskip("quixote.ptl.ptl_compile")
    (tmp_path / "hello.ptl").write_text(PTL)
    files = static.File(str(tmp_path))
    files.processors = {".ptl": script.ResourceTemplate}
    conn = connect(files)
    _, out = decode(conn.send(GET % b"/hello.ptl?name=%3Cb%3Eann%3C/b%3E"))
    assert (
        out == b'<html><body><p class="greeting">Hello, &lt;b&gt;ann&lt;/b&gt;!</p></body></html>'
    )


def test_resourceTemplateWithoutQuixote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "quixote.ptl.ptl_compile", None)
    (tmp_path / "x.ptl").write_text(PTL)
    with pytest.raises(ImportError, match="pip install quixote"):
        script.ResourceTemplate(str(tmp_path / "x.ptl"), static.Registry())
