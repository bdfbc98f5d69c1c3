"""glisten web against curl: keep-alive, chunked upload, 100-continue, ranges, HTTPS,
HTTP/1.0. The server is the ``glisten web`` plugin run as the ``glisten`` command runs it."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "web", *sys.argv[1:]])
"""

APP = """
import os
from glisten.web.resource import Resource
from glisten.web.static import File


class Echo(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"%s %s secure=%d" % (request.method, request.clientproto, request.isSecure())

    def render_POST(self, request):
        body = request.content.read()
        return b"got %d bytes: %s" % (len(body), body[:64])

    render_PUT = render_POST


class Stream(Resource):
    isLeaf = True

    def render_GET(self, request):
        for i in range(3):
            request.write(b"part%d;" % i)
        request.finish()
        return 1  # NOT_DONE_YET


class Root(Resource):
    def __init__(self):
        super().__init__()
        self.putChild(b"files", File(os.environ["GLISTEN_TEST_FILES"]))
        self.putChild(b"echo", Echo())
        self.putChild(b"stream", Stream())
"""


def needBinary(name: str) -> str:
    """The path of a peer binary; skip locally without it, fail in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


class WebServer:
    def __init__(self, proc: subprocess.Popen[str], ports: list[int], cert: Path, files: Path):
        self.proc = proc
        self.ports = ports
        self.cert = cert
        self.files = files
        self.log: list[str] = []

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def https(self) -> str:
        return f"https://localhost:{self.ports[1]}"


def makeCertificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    keyPath, certPath = directory / "key.pem", directory / "cert.pem"
    keyPath.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath


@contextlib.contextmanager
def runWebServer(folder: Path, *options: str) -> Iterator[WebServer]:
    """``glisten web --class app.Root [options]`` on a plain and a TLS port of 127.0.0.1, with
    files and a certificate made in ``folder``; its log is read all along (a full pipe would
    block it)."""
    files = folder / "files"
    files.mkdir()
    (files / "hello.txt").write_bytes(b"0123456789")
    (files / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (folder / "app.py").write_text(APP)
    keyPath, certPath = makeCertificate(folder)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            "--class",
            "app.Root",
            *options,
            "--listen",
            "tcp:0:interface=127.0.0.1",
            "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "GLISTEN_TEST_FILES": str(files)},
    )
    assert proc.stdout is not None
    ports: list[int] = []
    for line in proc.stdout:
        m = re.search(r"starting on (\d+)", line)
        if m:
            ports.append(int(m.group(1)))
            if len(ports) == 2:
                break
    if len(ports) != 2:
        proc.wait()
        raise AssertionError("glisten web did not start")
    server = WebServer(proc, ports, certPath, files)
    reader = threading.Thread(target=lambda: server.log.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)


@pytest.fixture
def webServer(tmp_path: Path) -> Iterator[WebServer]:
    with runWebServer(tmp_path) as server:
        yield server


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [needBinary("curl"), "-sS", "--max-time", "20", *args], capture_output=True, timeout=30
    )


def test_keepAlive(webServer: WebServer) -> None:
    r = curl("-v", f"{webServer.http}/echo", f"{webServer.http}/files/hello.txt")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"GET HTTP/1.1 secure=00123456789"
    assert b"Re-using existing connection" in r.stderr or b"Reusing existing" in r.stderr


def test_chunkedUpload(webServer: WebServer, tmp_path: Path) -> None:
    body = tmp_path / "body"
    body.write_bytes(b"x" * 100000)
    r = curl(
        "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{body}", f"{webServer.http}/echo"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"got 100000 bytes: xxx")


def test_expectContinue(webServer: WebServer, tmp_path: Path) -> None:
    body = tmp_path / "body"
    body.write_bytes(b"y" * 2_000_000)
    r = curl("-v", "-T", str(body), f"{webServer.http}/echo")
    assert r.returncode == 0, r.stderr
    assert b"100 Continue" in r.stderr
    assert r.stdout.startswith(b"got 2000000 bytes: yyy")


def test_ranges(webServer: WebServer) -> None:
    r = curl("-r", "2-5", f"{webServer.http}/files/hello.txt")
    assert r.stdout == b"2345"
    r = curl("-i", "-r", "0-1,8-9", f"{webServer.http}/files/hello.txt")
    assert b"206 Partial Content" in r.stdout and b"multipart/byteranges" in r.stdout
    assert b"Content-Range: bytes 8-9/10\r\n\r\n89\r\n" in r.stdout


def test_bigFile(webServer: WebServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = curl("-o", str(out), f"{webServer.http}/files/big.bin")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (webServer.files / "big.bin").read_bytes()


def test_https(webServer: WebServer) -> None:
    # HTTP/1.1 over TLS (with glisten-web[http2] installed, ALPN would choose h2).
    r = curl("--http1.1", "--cacert", str(webServer.cert), f"{webServer.https}/echo")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"GET HTTP/1.1 secure=1"
    r = curl(f"{webServer.https}/echo")  # not trusted: curl must refuse
    assert r.returncode != 0


def test_http10(webServer: WebServer) -> None:
    r = curl("-0", "-i", f"{webServer.http}/echo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"GET HTTP/1.0 secure=0")
    assert b"HTTP/1.1 200 OK" in r.stdout


def test_head(webServer: WebServer) -> None:
    r = curl("-I", f"{webServer.http}/files/hello.txt")
    assert b"Content-Length: 10" in r.stdout and b"ETag:" in r.stdout


def test_chunkedResponse(webServer: WebServer) -> None:
    r = curl("--raw", "-i", f"{webServer.http}/stream")
    assert b"Transfer-Encoding: chunked" in r.stdout
    assert r.stdout.endswith(b"6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n")
    r = curl(f"{webServer.http}/stream")
    assert r.stdout == b"part0;part1;part2;"
    r = curl("-0", f"{webServer.http}/stream")  # HTTP/1.0: no chunking, ends with the close
    assert r.stdout == b"part0;part1;part2;"
