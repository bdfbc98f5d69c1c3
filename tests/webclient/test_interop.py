"""glisten.web.client against servers nobody here wrote: nginx (keep-alive, gzip, chunked,
large files, PUT uploads, TLS verification), Python's http.server, and tinyproxy (plain
proxying and CONNECT tunnels)."""

from __future__ import annotations

import hashlib
import io
import ssl
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

from glisten.internet.endpoints import TCP4ClientEndpoint
from glisten.internet.ssl import Certificate
from glisten.internet.task import Cooperator
from glisten.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    ContentDecoderAgent,
    CookieAgent,
    FileBodyProducer,
    GzipDecoder,
    HTTPConnectionPool,
    ProxyAgent,
    RedirectAgent,
    ResponseNeverReceived,
    readBody,
)
from glisten.web.iweb import UNKNOWN_LENGTH

from .conftest import Nginx, runClient

pytestmark = pytest.mark.interop


def policy(nginx: Nginx) -> BrowserLikePolicyForHTTPS:
    return BrowserLikePolicyForHTTPS(Certificate.loadPEM(nginx.certificates.ca.read_bytes()))


def test_nginxKeepAliveAndLargeFile(nginx: Nginx) -> None:
    big = (nginx.www / "big.bin").read_bytes()

    async def main(reactor: Any) -> None:
        pool = HTTPConnectionPool(reactor)
        agent = Agent(reactor, pool=pool)
        base = f"http://127.0.0.1:{nginx.port}"
        for _ in range(5):
            response = await agent.request(b"GET", f"{base}/hello.txt".encode())
            assert response.code == 200
            assert await readBody(response) == b"hello from nginx\n"
        assert sum(len(c) for c in pool._connections.values()) == 1
        response = await agent.request(b"GET", f"{base}/big.bin".encode())
        assert response.length == len(big)
        assert await readBody(response) == big
        response = await agent.request(b"GET", f"{base}/missing".encode())
        assert response.code == 404
        await readBody(response)
        response = await agent.request(b"HEAD", f"{base}/big.bin".encode())
        assert response.headers.getRawHeaders(b"content-length") is None  # as in Twisted
        assert await readBody(response) == b""
        await pool.closeCachedConnections()

    runClient(main)


def test_nginxGzipChunked(nginx: Nginx) -> None:
    async def main(reactor: Any) -> None:
        agent = ContentDecoderAgent(Agent(reactor), [(b"gzip", GzipDecoder)])
        response = await agent.request(b"GET", f"http://127.0.0.1:{nginx.port}/text.txt".encode())
        # nginx compresses on the fly: chunked, of unknown length.
        assert response.length is UNKNOWN_LENGTH
        assert response.headers.getRawHeaders(b"content-encoding") is None
        assert await readBody(response) == b"compress me please " * 5000

    runClient(main)


def test_nginxUploads(nginx: Nginx) -> None:
    data = bytes(range(256)) * 40000  # 10 MB

    class Unseekable(io.BytesIO):
        def seek(self, *a: Any) -> int:
            raise OSError("not seekable")

    async def main(reactor: Any) -> None:
        coop = Cooperator(scheduler=lambda f: reactor.callLater(0, f))
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor))
        for name, body in [("a.bin", io.BytesIO(data)), ("b.bin", Unseekable(data))]:
            uri = f"http://127.0.0.1:{nginx.port}/upload/{name}".encode()
            response = await agent.request(b"PUT", uri, None, FileBodyProducer(body, coop))
            assert response.code == 201, response.code
            await readBody(response)

    runClient(main)
    for name in ("a.bin", "b.bin"):
        stored = (nginx.www / "upload" / name).read_bytes()
        assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def test_nginxRedirectAndCookies(nginx: Nginx) -> None:
    async def main(reactor: Any) -> None:
        jar = CookieJar()
        agent = RedirectAgent(CookieAgent(Agent(reactor), jar))
        base = f"http://127.0.0.1:{nginx.port}"
        response = await agent.request(b"GET", f"{base}/redirect".encode())
        assert await readBody(response) == b"hello from nginx\n"
        assert response.previousResponse is not None
        await readBody(await agent.request(b"GET", f"{base}/cookie".encode()))
        assert [(c.name, c.value) for c in jar] == [("flavour", "oatmeal")]

    runClient(main)


def test_tlsVerification(nginx: Nginx) -> None:
    async def main(reactor: Any) -> list[str]:
        agent = Agent(reactor, policy(nginx))
        response = await agent.request(
            b"GET", f"https://localhost:{nginx.tlsPort}/hello.txt".encode()
        )
        assert await readBody(response) == b"hello from nginx\n"
        failures = []
        for host, port in [
            ("127.0.0.1", nginx.tlsPort),  # the certificate names localhost only
            ("localhost", nginx.expiredPort),
            ("localhost", nginx.selfPort),
        ]:
            with pytest.raises(Exception) as info:
                await agent.request(b"GET", f"https://{host}:{port}/hello.txt".encode())
            failures.append(repr(info.value))
        # The platform's authorities do not know the test CA either.
        with pytest.raises(Exception) as info:
            await Agent(reactor).request(b"GET", f"https://localhost:{nginx.tlsPort}/".encode())
        failures.append(repr(info.value))
        return failures

    failures = runClient(main)
    assert "hostname" in failures[0].lower() or "ip address mismatch" in failures[0].lower()
    assert "expired" in failures[1]
    assert "self-signed" in failures[2] or "self signed" in failures[2]
    assert "certificate verify failed" in failures[3]


def test_httpServer(httpServer: tuple[int, Path]) -> None:
    port, folder = httpServer
    data = (folder / "data.bin").read_bytes()

    async def main(reactor: Any) -> None:
        pool = HTTPConnectionPool(reactor)
        agent = Agent(reactor, pool=pool)
        response = await agent.request(b"GET", f"http://127.0.0.1:{port}/index.txt".encode())
        assert response.version == (b"HTTP", 1, 0)
        assert await readBody(response) == b"served by http.server\n"
        response = await agent.request(b"GET", f"http://127.0.0.1:{port}/data.bin".encode())
        assert await readBody(response) == data
        response = await agent.request(b"GET", f"http://127.0.0.1:{port}/nope".encode())
        assert response.code == 404
        await readBody(response)
        # HTTP/1.0 without keep-alive: nothing is kept for reuse.
        assert not pool._connections

    runClient(main)


def test_proxyPlainAndTunnel(nginx: Nginx, tinyproxy: int) -> None:
    async def main(reactor: Any) -> None:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", tinyproxy)
        pool = HTTPConnectionPool(reactor)
        agent = ProxyAgent(endpoint, reactor, pool, contextFactory=policy(nginx))
        for _ in range(2):
            response = await agent.request(
                b"GET", f"http://127.0.0.1:{nginx.port}/hello.txt".encode()
            )
            assert await readBody(response) == b"hello from nginx\n"
        for _ in range(3):
            response = await agent.request(
                b"GET", f"https://localhost:{nginx.tlsPort}/hello.txt".encode()
            )
            assert await readBody(response) == b"hello from nginx\n"
        # One tunnel, reused.
        tunnels = [k for k in pool._connections if k[0] == "https-tunnel"]
        assert len(tunnels) == 1 and len(pool._connections[tunnels[0]]) == 1
        # Verification applies through the tunnel too.
        with pytest.raises(ResponseNeverReceived):
            await agent.request(b"GET", f"https://localhost:{nginx.selfPort}/".encode())
        await pool.closeCachedConnections()

    runClient(main)


def test_sslModuleAgrees(nginx: Nginx) -> None:
    """The test CA is sound: the standard library accepts the valid certificate, so the
    failures above are the client's verification at work."""
    context = ssl.create_default_context(cafile=str(nginx.certificates.ca))
    import socket

    with socket.create_connection(("127.0.0.1", nginx.tlsPort)) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() is not None
