"""``glisten web --path`` static extras with curl: pre-compressed siblings (``--compressed``
decodes them), ``--cache-control`` and ``--allow-ignore-ext``."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ._glistenweb import curl, glistenWeb

pytestmark = pytest.mark.interop


def test_precompressedCacheControlAndAnyExtension(tmp_path: Path) -> None:
    text = "<!doctype html><title>precompressed</title>\n" * 200
    (tmp_path / "index.html").write_text(text)
    (tmp_path / "index.html.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "notes.txt").write_text("notes\n")
    with glistenWeb(
        tmp_path, "--path", ".", "--cache-control", "public, max-age=60", "--allow-ignore-ext"
    ) as url:
        head = curl("-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", url + "/")
        assert "content-encoding: gzip" in head.lower()
        assert "vary: accept-encoding" in head.lower()
        assert "cache-control: public, max-age=60" in head.lower()
        # curl asks for gzip and decodes it: the page arrives as written.
        assert curl("--compressed", url + "/index.html") == text
        # Without Accept-Encoding: the file itself.
        plain = curl("-D", "-", url + "/index.html")
        assert "content-encoding" not in plain.lower() and plain.endswith(text)
        # A range is served from the file itself, never from its compressed sibling.
        assert curl("-H", "Accept-Encoding: gzip", "-r", "0-14", url + "/index.html") == text[:15]
        assert curl(url + "/notes") == "notes\n"
