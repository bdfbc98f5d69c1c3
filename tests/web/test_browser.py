"""A real browser (headless Debian chromium) loads a template-rendered page and a directory
listing from ``glisten web``: the DOM it builds has the rendered content and the right title,
and its screenshot is not blank."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from .._peers import requireBinary
from ._glistenweb import glistenWeb

pytestmark = pytest.mark.interop

APP = """
import os
from glisten.internet import reactor
from glisten.internet.defer import Deferred
from glisten.web.resource import Resource
from glisten.web.static import File
from glisten.web.template import Element, XMLString, renderElement, renderer, tags

TEMPLATE = '''<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1">
<head><title t:render="title" /></head>
<body style="background:#fff;color:#000;font-size:40px">
<h1 t:render="heading" />
<ul><li t:render="items"><t:slot name="item"/></li></ul>
<p id="later" t:render="later" />
</body></html>'''


class Page(Element):
    loader = XMLString(TEMPLATE)

    @renderer
    def title(self, request, tag):
        return tag("glisten <template> page")

    @renderer
    def heading(self, request, tag):
        return tag("Rendered by glisten.web.template")

    @renderer
    def items(self, request, tag):
        for name in ["<script>alert(1)</script>", "second & last"]:
            yield tag.clone().fillSlots(item=name)

    @renderer
    def later(self, request, tag):
        d = Deferred()
        reactor.callLater(0.05, d.callback, "arrived later")
        return tag(d)


class PageResource(Resource):
    isLeaf = True

    def render_GET(self, request):
        return renderElement(request, Page())


class Root(Resource):
    def __init__(self):
        super().__init__()
        self.putChild(b"page", PageResource())
        self.putChild(b"files", File(os.environ["GLISTEN_BROWSER_FILES"]))
"""


def chromium(userData: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            requireBinary("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={userData}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        timeout=120,
    )


def distinctPixelBytes(png: bytes) -> int:
    """How many different byte values the image's pixel rows hold (filter bytes aside): a
    blank page has one or two."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, channels = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", data[:4])[0]
            channels = {2: 3, 6: 4, 0: 1, 4: 2}[data[9]]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    values: set[int] = set()
    for row in range(0, len(raw), stride):
        values.update(raw[row + 1 : row + stride])
    return len(values)


def test_browserRendersTemplateAndListing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requireBinary("chromium")
    files = tmp_path / "files"
    files.mkdir()
    (files / "report.txt").write_text("numbers")
    (files / "notes & <ideas>.txt").write_text("x")
    (tmp_path / "browserapp.py").write_text(APP)
    monkeypatch.setenv("GLISTEN_BROWSER_FILES", str(files))
    with glistenWeb(tmp_path, "--class", "browserapp.Root") as url:
        dom = chromium(tmp_path / "profile", "--dump-dom", url + "/page")
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout.decode()
        assert "<title>glisten &lt;template&gt; page</title>" in html
        assert "<h1>Rendered by glisten.web.template</h1>" in html
        assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in html
        assert "<li>second &amp; last</li>" in html
        assert '<p id="later">arrived later</p>' in html
        shot = tmp_path / "page.png"
        result = chromium(
            tmp_path / "profile",
            f"--screenshot={shot}",
            "--window-size=800,600",
            url + "/page",
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert distinctPixelBytes(shot.read_bytes()) > 2
        listing = chromium(tmp_path / "profile", "--dump-dom", url + "/files/")
        html = listing.stdout.decode()
        assert "<title>Directory listing for /files/</title>" in html
        assert "report.txt" in html and "notes &amp; &lt;ideas&gt;.txt" in html
