"""Peers for the HTTP client's interop tests: nginx (plain and TLS with a test CA, plus an
expired and a self-signed certificate), Python's http.server and tinyproxy, each started on
127.0.0.1 with its configuration in a temporary folder; and a runner that drives the client
on a real reactor."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from .._peers import freePort, requireBinary, waitForPort

__all__ = ["freePort", "requireBinary", "runClient", "waitForPort"]


def runClient(main: Callable[[Any], Awaitable[Any]], limit: float = 60.0) -> Any:
    """Run ``main(reactor)`` on a fresh real reactor until it finishes; its result or error."""
    from glisten.internet import defer
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    result: dict[str, Any] = {}

    async def go() -> None:
        try:
            result["value"] = await main(reactor)
        except BaseException as e:
            result["error"] = e

    def start() -> None:
        defer.ensureDeferred(go()).addBoth(lambda _: reactor.callLater(0, reactor.stop))

    # A guard against a hang in the code under test, not a wait for something.
    guard = reactor.callLater(limit, reactor.stop)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    if "error" in result:
        raise result["error"]
    assert "value" in result, "the client did not finish in time"
    return result["value"]


@attrs.define
class Certificates:
    """A test CA and server certificates in PEM files."""

    ca: Path
    valid: tuple[Path, Path]
    expired: tuple[Path, Path]
    selfSigned: tuple[Path, Path]


def _write(folder: Path, stem: str, key: Any, cert: Any) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    certPath, keyPath = folder / f"{stem}.pem", folder / f"{stem}.key"
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyPath.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certPath, keyPath


def makeCertificates(folder: Path) -> Certificates:
    """A CA; a certificate it signed for ``localhost`` (only: 127.0.0.1 is the "wrong host");
    one it signed that expired yesterday; a self-signed one for ``localhost``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    caKey = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("glisten client test CA"))
        .issuer_name(name("glisten client test CA"))
        .public_key(caKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + 2 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(caKey, hashes.SHA256())
    )

    def leaf(issuerKey: Any, issuer: x509.Name, start: Any, end: Any) -> tuple[Any, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name("localhost"))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(issuerKey, hashes.SHA256())
        )
        return key, cert

    caPath = folder / "ca.pem"
    from cryptography.hazmat.primitives import serialization

    caPath.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    valid = _write(folder, "valid", *leaf(caKey, ca.subject, now - day, now + 2 * day))
    expired = _write(folder, "expired", *leaf(caKey, ca.subject, now - 3 * day, now - day))
    selfKey = ec.generate_private_key(ec.SECP256R1())
    selfCert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(name("localhost"))
        .public_key(selfKey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + 2 * day)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(selfKey, hashes.SHA256())
    )
    selfSigned = _write(folder, "self", selfKey, selfCert)
    return Certificates(caPath, valid, expired, selfSigned)


NGINX_CONF = """
{user}worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 100000;
    default_type application/octet-stream;
    types {{ text/plain txt; }}
    gzip on;
    gzip_types text/plain;
    gzip_min_length 10;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        client_max_body_size 100m;
        location /upload/ {{
            dav_methods PUT;
            create_full_put_path on;
        }}
        location = /redirect {{ return 302 /hello.txt; }}
        location = /cookie {{
            add_header Set-Cookie "flavour=oatmeal; Path=/";
            return 200 "cookie set";
        }}
    }}
    server {{
        listen 127.0.0.1:{tlsPort} ssl;
        ssl_certificate {valid[0]};
        ssl_certificate_key {valid[1]};
        root {dir}/www;
    }}
    server {{
        listen 127.0.0.1:{expiredPort} ssl;
        ssl_certificate {expired[0]};
        ssl_certificate_key {expired[1]};
        root {dir}/www;
    }}
    server {{
        listen 127.0.0.1:{selfPort} ssl;
        ssl_certificate {selfSigned[0]};
        ssl_certificate_key {selfSigned[1]};
        root {dir}/www;
    }}
    server {{
        listen 127.0.0.1:{h2Port} ssl http2;
        ssl_certificate {valid[0]};
        ssl_certificate_key {valid[1]};
        root {dir}/www;
        keepalive_requests {h2MaxRequests};
        client_max_body_size 100m;
        add_header X-Connection $connection always;
        location /upload/ {{
            dav_methods PUT;
            create_full_put_path on;
        }}
        location /small/ {{
            dav_methods PUT;
            client_max_body_size 1k;
        }}
    }}
}}
"""


@attrs.define
class Nginx:
    """A running nginx: ``port`` plain, ``tlsPort`` (valid certificate for ``localhost``),
    ``expiredPort``, ``selfPort``, ``h2Port`` (``tlsPort`` with HTTP/2, which ends a
    connection with GOAWAY after ``h2MaxRequests`` streams); files under ``www``."""

    port: int
    tlsPort: int
    expiredPort: int
    selfPort: int
    www: Path
    certificates: Certificates
    h2Port: int = 0
    h2MaxRequests: int = 30


#: Streams nginx's HTTP/2 listener serves on one connection before its GOAWAY.
H2_MAX_REQUESTS = Nginx.__attrs_attrs__.h2MaxRequests.default


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    binary = requireBinary("nginx")
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_bytes(b"hello from nginx\n")
    (www / "text.txt").write_bytes(b"compress me please " * 5000)
    (www / "big.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    (www / "upload").mkdir()
    certs = makeCertificates(tmp_path)
    tmp_path.chmod(0o755)
    www.chmod(0o777)
    (www / "upload").chmod(0o777)
    ports = [freePort() for _ in range(5)]
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "",
            dir=tmp_path,
            port=ports[0],
            tlsPort=ports[1],
            expiredPort=ports[2],
            selfPort=ports[3],
            h2Port=ports[4],
            h2MaxRequests=H2_MAX_REQUESTS,
            valid=certs.valid,
            expired=certs.expired,
            selfSigned=certs.selfSigned,
        )
    )
    proc = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for port in ports:
            waitForPort(port, proc)
        yield Nginx(*ports[:4], www, certs, ports[4])
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def httpServer(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``python -m http.server`` serving a folder: (port, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "index.txt").write_bytes(b"served by http.server\n")
    (folder / "data.bin").write_bytes(bytes(range(256)) * 4096)
    port = freePort()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        waitForPort(port, proc)
        yield port, folder
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[int]:
    """tinyproxy, a forward proxy (plain requests and CONNECT), on a free port."""
    binary = requireBinary("tinyproxy")
    port = freePort()
    conf = tmp_path / "tinyproxy.conf"
    user = "User root\nGroup root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}Port {port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\n"
        f'MaxClients 100\nLogLevel Critical\nPidFile "{tmp_path}/tinyproxy.pid"\n'
        "DisableViaHeader Yes\n"
    )
    proc = subprocess.Popen(
        [binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        waitForPort(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
