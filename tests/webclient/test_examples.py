"""Twisted's documented HTTP client examples (request, response, responseBody, sendbody,
filesendbody, cookies, gzipdecoder), with only their imports renamed, print what they print
under Twisted.

The examples fetch public sites; the test points their URL at a local server with fixed
headers instead. ``expected/`` holds Twisted's output: regenerate it with
``python tests/webclient/test_examples.py PATH-TO-A-PYTHON-WITH-TWISTED``.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "examples"
EXAMPLES = [
    "request",
    "response",
    "responseBody",
    "sendbody",
    "filesendbody",
    "cookies",
    "gzipdecoder",
]
PUBLIC_URLS = [b"http://example.com/", b"http://httpbin.org/post", b"http://www.google.com/"]

pytestmark = pytest.mark.interop


class Handler(BaseHTTPRequestHandler):
    """A site with fixed headers, so outputs compare exactly."""

    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "ExampleServer/1.0"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if not size:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Set-Cookie", "example=cookie; Path=/")
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        received = self._body()
        self._answer(
            b"<html><body>An example page; got %d body bytes.</body></html>\n" % len(received)
        )

    do_POST = do_GET


def serve() -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def runExample(python: str, name: str, port: int, folder: Path, rename: str | None) -> str:
    """Run example ``name`` with its public URL pointed at ``port``; its normalized output."""
    for source in HERE.glob("*.py"):
        text = source.read_bytes()
        for public in PUBLIC_URLS:
            text = text.replace(public, b"http://127.0.0.1:%d/" % port)
        if rename is not None:
            text = text.replace(b"glisten", rename.encode())
        (folder / source.name).write_bytes(text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [python, name + ".py"], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout
    if rename is not None:
        output = output.replace(rename, "glisten")
    return re.sub(r"0x[0-9a-f]+", "0x...", output)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server, port = serve()
    yield port
    server.shutdown()


@pytest.mark.parametrize("name", EXAMPLES)
def test_exampleMatchesTwisted(name: str, port: int, tmp_path: Path) -> None:
    source = (HERE / f"{name}.py").read_text()
    assert "twisted" not in source
    expected = (HERE / "expected" / f"{name}.out").read_text()
    assert runExample(sys.executable, name, port, tmp_path, None) == expected


if __name__ == "__main__":
    import tempfile

    server, serverPort = serve()
    for example in EXAMPLES:
        with tempfile.TemporaryDirectory() as tmp:
            out = runExample(sys.argv[1], example, serverPort, Path(tmp), "twisted")
        (HERE / "expected" / f"{example}.out").write_text(out)
        print(f"{example}: {len(out)} characters")
    server.shutdown()
