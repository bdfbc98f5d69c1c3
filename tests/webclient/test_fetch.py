"""``glisten fetch`` run as a command against nginx: downloads, heads, uploads, failures,
TLS with a test CA."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Nginx, freePort

pytestmark = pytest.mark.interop


def fetch(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from glisten.application.cli import main; main()", "fetch", *args],
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )


def test_fetchFromNginx(nginx: Nginx, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{nginx.port}"
    result = fetch(f"{base}/hello.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello from nginx\n"  # the log stays on standard error
    result = fetch("-o", "big.bin", f"{base}/big.bin", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "big.bin").read_bytes() == (nginx.www / "big.bin").read_bytes()
    result = fetch("-i", "-L", f"{base}/redirect", cwd=tmp_path)
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert result.stdout.endswith(b"\r\n\r\nhello from nginx\n")
    (tmp_path / "up.txt").write_bytes(b"uploaded by glisten fetch\n")
    result = fetch("-X", "PUT", "-d", "@up.txt", f"{base}/upload/up.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (nginx.www / "upload" / "up.txt").read_bytes() == b"uploaded by glisten fetch\n"
    result = fetch("-f", f"{base}/missing", cwd=tmp_path)
    assert result.returncode == 22 and b"404" in result.stderr
    result = fetch(f"http://127.0.0.1:{freePort()}/", cwd=tmp_path)
    assert result.returncode == 1 and b"ConnectionRefusedError" in result.stderr
    result = fetch("ftp://example.com/", cwd=tmp_path)
    assert result.returncode == 1 and b"not an http:// or https:// URL" in result.stderr


def test_fetchOverTLS(nginx: Nginx, tmp_path: Path) -> None:
    url = f"https://localhost:{nginx.tlsPort}/hello.txt"
    result = fetch("--cacert", str(nginx.certificates.ca), url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello from nginx\n"
    result = fetch(url, cwd=tmp_path)  # the platform's authorities do not know the test CA
    assert result.returncode == 1 and b"certificate verify failed" in result.stderr
