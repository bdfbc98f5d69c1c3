"""glisten.web.client over HTTP/2 against nginx with ``http2`` on its TLS listener: ALPN,
concurrent requests as streams of one connection, a large download and upload under flow
control, nginx's GOAWAY after ``keepalive_requests``, and HTTP/1.1 from a listener without
``http2``."""

from __future__ import annotations

import hashlib
import io
from typing import Any

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

from .conftest import Nginx, runClient

pytestmark = pytest.mark.interop

pytest.importorskip("h2", reason="the http2 extra is not installed")


def agentFor(reactor: Any, nginx: Nginx, pool: HTTPConnectionPool) -> Agent:
    policy = BrowserLikePolicyForHTTPS(Certificate.loadPEM(nginx.certificates.ca.read_bytes()))
    return Agent(reactor, contextFactory=policy, pool=pool)


async def getAll(reactor: Any, nginx: Nginx, port: int, count: int) -> Any:
    """``count`` concurrent GETs of ``/hello.txt`` on ``port``: (responses, bodies)."""
    pool = HTTPConnectionPool(reactor)
    agent = agentFor(reactor, nginx, pool)
    uri = f"https://localhost:{port}/hello.txt".encode()
    responses = await defer.gatherResults([agent.request(b"GET", uri) for _ in range(count)])
    bodies = await defer.gatherResults([readBody(r) for r in responses])
    await pool.closeCachedConnections()
    return responses, bodies


def test_concurrentRequestsShareOneConnection(nginx: Nginx) -> None:
    responses, bodies = runClient(lambda reactor: getAll(reactor, nginx, nginx.h2Port, 20))
    assert {r.version for r in responses} == {(b"HTTP", 2, 0)}
    assert set(bodies) == {b"hello from nginx\n"}
    connections = {r.headers.getRawHeaders(b"x-connection")[0] for r in responses}
    assert len(connections) == 1


def test_fallbackToHTTP11(nginx: Nginx) -> None:
    # The same certificate and files, on a listener without http2.
    responses, bodies = runClient(lambda reactor: getAll(reactor, nginx, nginx.tlsPort, 4))
    assert {r.version for r in responses} == {(b"HTTP", 1, 1)}
    assert set(bodies) == {b"hello from nginx\n"}


def test_largeDownloadAndUpload(nginx: Nginx) -> None:
    big = (nginx.www / "big.bin").read_bytes()

    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginx, pool)
        base = f"https://localhost:{nginx.h2Port}"
        response = await agent.request(b"GET", f"{base}/big.bin".encode())
        assert response.version == (b"HTTP", 2, 0) and response.length == len(big)
        body = await readBody(response)
        # nginx announces the length of a body HEAD does not carry.
        head = await agent.request(b"HEAD", f"{base}/big.bin".encode())
        assert head.length == 0 and await readBody(head) == b""
        coop = Cooperator(scheduler=lambda f: reactor.callLater(0, f))
        upload = FileBodyProducer(io.BytesIO(big), cooperator=coop)
        put = await agent.request(b"PUT", f"{base}/upload/copy.bin".encode(), bodyProducer=upload)
        await readBody(put)
        await pool.closeCachedConnections()
        return body, put.code

    body, code = runClient(main)
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert code == 201
    assert (nginx.www / "upload" / "copy.bin").read_bytes() == big


def test_goAwayAfterKeepaliveRequests(nginx: Nginx) -> None:
    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginx, pool)
        uri = f"https://localhost:{nginx.h2Port}/hello.txt".encode()
        seen = []
        # nginx ends a connection with GOAWAY after keepalive_requests streams; the pool
        # moves on to a new connection, and no request fails.
        for _ in range(nginx.h2MaxRequests * 2 + 5):
            response = await agent.request(b"GET", uri)
            assert await readBody(response) == b"hello from nginx\n"
            seen.append(response.headers.getRawHeaders(b"x-connection")[0])
        await pool.closeCachedConnections()
        return seen

    seen = runClient(main)
    assert len(set(seen)) == 3
    assert seen.count(seen[0]) == nginx.h2MaxRequests


def test_earlyAnswerToALargeUpload(nginx: Nginx) -> None:
    """nginx refuses a body over its limit before reading it (413, then RST_STREAM): the
    upload stops, the answer arrives, and the connection carries the next request."""
    big = (nginx.www / "big.bin").read_bytes()

    async def main(reactor: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(reactor, nginx, pool)
        base = f"https://localhost:{nginx.h2Port}"
        coop = Cooperator(scheduler=lambda f: reactor.callLater(0, f))
        upload = FileBodyProducer(io.BytesIO(big), cooperator=coop)
        refused = await agent.request(b"PUT", f"{base}/small/x.bin".encode(), bodyProducer=upload)
        await readBody(refused)
        after = await agent.request(b"GET", f"{base}/hello.txt".encode())
        body = await readBody(after)
        await pool.closeCachedConnections()
        return refused, after, body

    refused, after, body = runClient(main)
    assert refused.code == 413 and body == b"hello from nginx\n"
    assert refused.version == after.version == (b"HTTP", 2, 0)
    same = refused.headers.getRawHeaders(b"x-connection")
    assert same == after.headers.getRawHeaders(b"x-connection")
