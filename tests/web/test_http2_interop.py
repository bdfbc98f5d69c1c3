"""glisten web --http2 against real HTTP/2 clients: curl (ALPN, prior knowledge, Upgrade:
h2c), nghttp and h2load. The server is the ``glisten`` command, as a user runs it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .._peers import requireBinary
from .test_curl import WebServer, runWebServer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def h2server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """``glisten web --http2`` on a clear-text and a TLS port of 127.0.0.1."""
    with runWebServer(tmp_path_factory.mktemp("h2server"), "--http2") as server:
        yield server
    output = "".join(server.log)
    assert "Traceback" not in output, output


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [requireBinary("curl"), "-sS", "--max-time", "30", *args],
        capture_output=True,
        timeout=60,
    )


def _version(result: subprocess.CompletedProcess[bytes]) -> tuple[bytes, bytes]:
    """Split curl's output into the body and the ``-w`` version marker after it."""
    body, _, version = result.stdout.rpartition(b"|v=")
    return body, version


def test_curlALPN(h2server: WebServer) -> None:
    r = curl(
        "--http2",
        "--cacert",
        str(h2server.cert),
        "-w",
        "|v=%{http_version}",
        f"{h2server.https}/echo",
    )
    assert r.returncode == 0, r.stderr
    assert _version(r) == (b"GET HTTP/2 secure=1", b"2")


def test_curlHTTP11OverTLSStillWorks(h2server: WebServer) -> None:
    r = curl(
        "--http1.1",
        "--cacert",
        str(h2server.cert),
        "-w",
        "|v=%{http_version}",
        f"{h2server.https}/echo",
    )
    assert _version(r) == (b"GET HTTP/1.1 secure=1", b"1.1")


def test_curlPriorKnowledge(h2server: WebServer) -> None:
    # One URL per run: curl 7.88 fails to reuse a prior-knowledge connection (with any
    # server: nginx too).
    r = curl("--http2-prior-knowledge", "-w", "|v=%{http_version}", f"{h2server.http}/echo")
    assert r.returncode == 0, r.stderr
    assert _version(r) == (b"GET HTTP/2 secure=0", b"2")
    r = curl("--http2-prior-knowledge", f"{h2server.http}/stream")
    assert r.stdout == b"part0;part1;part2;"


def test_curlUpgrade(h2server: WebServer) -> None:
    r = curl("-v", "--http2", "-w", "|v=%{http_version}", f"{h2server.http}/echo")
    assert r.returncode == 0, r.stderr
    assert b"101 Switching Protocols" in r.stderr
    assert _version(r) == (b"GET HTTP/2 secure=0", b"2")


def test_curlUpload(h2server: WebServer, tmp_path: Path) -> None:
    body = tmp_path / "body"
    body.write_bytes(b"u" * 1_000_000)
    r = curl("--http2-prior-knowledge", "--data-binary", f"@{body}", f"{h2server.http}/echo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"got 1000000 bytes: uuu")


def test_curlBigFile(h2server: WebServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = curl(
        "--http2", "--cacert", str(h2server.cert), "-o", str(out), f"{h2server.https}/files/big.bin"
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (h2server.files / "big.bin").read_bytes()


def test_nghttp(h2server: WebServer) -> None:
    nghttp = requireBinary("nghttp")
    for url in (h2server.http, h2server.https):
        r = subprocess.run(
            [nghttp, "-n", "-s", f"{url}/echo", f"{url}/files/big.bin", f"{url}/stream"],
            capture_output=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        # -s prints one line per stream with its status; every one must be a 200.
        statuses = re.findall(rb"\s(\d{3})\s", r.stdout)
        assert statuses.count(b"200") == 3, r.stdout


def test_nghttpSmallWindow(h2server: WebServer, tmp_path: Path) -> None:
    """A client with a 16 KiB window (-w 14 -W 14) still gets a 3 MB file, in step."""
    out = tmp_path / "big"
    r = subprocess.run(
        [requireBinary("nghttp"), "-w", "14", "-W", "14", f"{h2server.http}/files/big.bin"],
        stdout=out.open("wb"),
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (h2server.files / "big.bin").read_bytes()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_h2load(h2server: WebServer, scheme: str) -> None:
    url = h2server.http if scheme == "http" else h2server.https
    r = subprocess.run(
        [requireBinary("h2load"), "-n", "400", "-c", "4", "-m", "20", f"{url}/echo"],
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert b"400 succeeded, 0 failed, 0 errored" in r.stdout, r.stdout
    assert b"Application protocol: h2" in r.stdout


def test_nghttpUpgradeAndUpload(h2server: WebServer, tmp_path: Path) -> None:
    """nghttp's ``Upgrade: h2c`` (-u), and a POST body over HTTP/2 (-d)."""
    nghttp = requireBinary("nghttp")
    r = subprocess.run([nghttp, "-u", f"{h2server.http}/echo"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"GET HTTP/2 secure=0"
    body = tmp_path / "body"
    body.write_bytes(b"n" * 300_000)
    r = subprocess.run(
        [nghttp, "-d", str(body), f"{h2server.https}/echo"], capture_output=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"got 300000 bytes: nnn")
