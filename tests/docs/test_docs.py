"""The documentation: every howto program runs and prints what its page says, and the whole
site (guides plus the API reference from every package's docstrings) builds without a warning."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "examples"

EXPECTED = {
    "tcp.py": "HELLO\nGLISTEN\n",
    "udp.py": "echo: ping\n",
    "tls.py": (
        "with a client certificate: hello over TLS\n"
        "without a client certificate: refused by the server\n"
    ),
    "web_site.py": (
        "200 /files/note.txt a static file\n"
        "200 /hello Hello from a Resource\n"
        "200 /app/some/where Hello from WSGI at /some/where\n"
    ),
    "web_pages.py": (
        '401 Digest realm="example.org"\n'
        "200 <p>Hello, <b>alice</b>. You have\n&lt;3&gt; messages.</p>\n"
        "add(2, 3) = 5\n"
    ),
    "dns_server.py": "www.example.com -> 192.0.2.80\nwww.example.org -> 198.51.100.7\n",
    "testing.py": "...",
    "asyncio_interop.py": "from a Deferred\nfrom asyncio\n",
}


def test_everyHowtoProgramIsChecked() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED)
    pages = {p.stem for p in (DOCS / "howto").glob("*.rst")}
    assert {Path(name).stem for name in EXPECTED} <= pages


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_howtoProgram(name: str) -> None:
    if name == "tls.py" and shutil.which("openssl") is None:
        pytest.skip("the TLS howto makes its certificates with the openssl command")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(EXPECTED[name])


@pytest.mark.timeout(600)
def test_docsBuildWithoutWarnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "api" / "glisten.internet.defer.html").exists()
