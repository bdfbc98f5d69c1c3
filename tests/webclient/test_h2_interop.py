"""glisten.web.client over HTTP/2 against nginx with ``http2`` on its TLS listener: ALPN,
concurrent requests as streams of one connection, a large download and upload under flow
control, nginx's GOAWAY after ``keepalive_requests``, and HTTP/1.1 from a listener without
``http2``."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from glisten.internet import defer
from glisten.internet.ssl import Certificate
from glisten.internet.task import Cooperator
from glisten.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    FileBodyProducer,
    HTTPConnectionPool,
    readBody,
)

from .conftest import freePort, makeCertificates, requireBinary, runClient, waitForPort

pytestmark = pytest.mark.interop

pytest.importorskip("h2", reason="the http2 extra is not installed")

NGINX_H2_CONF = """
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
    default_type application/octet-stream;
    keepalive_requests {maxRequests};
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{h2Port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {dir}/www;
        add_header X-Connection $connection always;
        location /upload/ {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
    server {{
        listen 127.0.0.1:{h1Port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {dir}/www;
        add_header X-Connection $connection always;
    }}
}}
"""


@attrs.define
class NginxH2:
    h2Port: int
    h1Port: int
    www: Path
    ca: Path
    maxRequests: int


@pytest.fixture
def nginxH2(tmp_path: Path) -> Iterator[NginxH2]:
    binary = requireBinary("nginx")
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_bytes(b"hello over h2\n")
    (www / "big.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    (www / "upload").mkdir()
    certs = makeCertificates(tmp_path)
    tmp_path.chmod(0o755)
    www.chmod(0o777)
    (www / "upload").chmod(0o777)
    ports = [freePort(), freePort()]
    maxRequests = 30
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_H2_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "",
            dir=tmp_path,
            h2Port=ports[0],
            h1Port=ports[1],
            cert=certs.valid[0],
            key=certs.valid[1],
            maxRequests=maxRequests,
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
        yield NginxH2(ports[0], ports[1], www, certs.ca, maxRequests)
    finally:
        proc.terminate()
        proc.wait(10)


def agentFor(reactor: Any, nginx: NginxH2, pool: HTTPConnectionPool) -> Agent:
    policy = BrowserLikePolicyForHTTPS(Certificate.loadPEM(nginx.ca.read_bytes()))
    return Agent(reactor, contextFactory=policy, pool=pool)


def test_concurrentRequestsShareOneConnection(nginxH2: NginxH2) -> None:
    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginxH2, pool)
        uri = f"https://localhost:{nginxH2.h2Port}/hello.txt".encode()
        responses = await defer.gatherResults([agent.request(b"GET", uri) for _ in range(20)])
        bodies = await defer.gatherResults([readBody(r) for r in responses])
        await pool.closeCachedConnections()
        return responses, bodies

    responses, bodies = runClient(main)
    assert {r.version for r in responses} == {(b"HTTP", 2, 0)}
    assert set(bodies) == {b"hello over h2\n"}
    connections = {r.headers.getRawHeaders(b"x-connection")[0] for r in responses}
    assert len(connections) == 1


def test_largeDownloadAndUpload(nginxH2: NginxH2) -> None:
    big = (nginxH2.www / "big.bin").read_bytes()

    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginxH2, pool)
        base = f"https://localhost:{nginxH2.h2Port}"
        response = await agent.request(b"GET", f"{base}/big.bin".encode())
        assert response.version == (b"HTTP", 2, 0) and response.length == len(big)
        body = await readBody(response)
        coop = Cooperator(scheduler=lambda f: reactor.callLater(0, f))
        upload = FileBodyProducer(io.BytesIO(big), cooperator=coop)
        put = await agent.request(b"PUT", f"{base}/upload/copy.bin".encode(), bodyProducer=upload)
        await readBody(put)
        await pool.closeCachedConnections()
        return body, put.code

    body, code = runClient(main)
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert code == 201
    assert (nginxH2.www / "upload" / "copy.bin").read_bytes() == big


def test_goAwayAfterKeepaliveRequests(nginxH2: NginxH2) -> None:
    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginxH2, pool)
        uri = f"https://localhost:{nginxH2.h2Port}/hello.txt".encode()
        seen = []
        # nginx ends a connection with GOAWAY after keepalive_requests streams; the pool
        # moves on to a new connection, and no request fails.
        for _ in range(nginxH2.maxRequests * 2 + 5):
            response = await agent.request(b"GET", uri)
            assert await readBody(response) == b"hello over h2\n"
            seen.append(response.headers.getRawHeaders(b"x-connection")[0])
        await pool.closeCachedConnections()
        return seen

    seen = runClient(main)
    assert len(set(seen)) == 3
    assert seen.count(seen[0]) == nginxH2.maxRequests


def test_fallbackToHTTP11(nginxH2: NginxH2) -> None:
    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginxH2, pool)
        uri = f"https://localhost:{nginxH2.h1Port}/hello.txt".encode()
        responses = await defer.gatherResults([agent.request(b"GET", uri) for _ in range(4)])
        bodies = await defer.gatherResults([readBody(r) for r in responses])
        await pool.closeCachedConnections()
        return responses, bodies

    responses, bodies = runClient(main)
    assert {r.version for r in responses} == {(b"HTTP", 1, 1)}
    assert set(bodies) == {b"hello over h2\n"}
