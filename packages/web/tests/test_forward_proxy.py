"""The forward proxy (Proxy, ProxyRequest, ProxyClient, ProxyClientFactory) and its SSRF guard.

Twisted's ``proxy.py`` and ``logging-proxy.py`` examples, renamed, run against a real upstream.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.defer import Deferred
from glisten.internet.testing import StringTransport
from glisten.web import http as ghttp
from glisten.web import proxy, server
from glisten.web.http_headers import Headers
from glisten.web.resource import Resource


class Upstream(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"x-upstream", b"yes")
        return b"|".join(
            [
                request.uri,
                request.getHeader(b"host") or b"",
                request.getHeader(b"x-custom") or b"",
                b"proxy-connection" if request.getHeader(b"proxy-connection") else b"-",
            ]
        )

    def render_POST(self, request: Any) -> bytes:
        return b"posted " + request.content.read()


def runProxy(
    reactor: Any, proxyFactory: Any, client: Callable[[int, int], Any], upstream: bool = True
) -> Any:
    """Serve an upstream site and ``proxyFactory`` on loopback ports; run the blocking
    ``client(proxyPort, upstreamPort)`` in a thread; return what it returned."""
    up = reactor.listenTCP(0, server.Site(Upstream(), reactor=reactor), interface="127.0.0.1")
    port = reactor.listenTCP(0, proxyFactory, interface="127.0.0.1")
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["value"] = client(port.getHost().port, up.getHost().port)
        except BaseException as e:
            result["error"] = e
        finally:
            reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(threading.Thread(target=work, daemon=True).start)
    reactor.callLater(60, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def fetch(
    proxyPort: int, method: str, target: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxyPort, timeout=20)
    try:
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class LoopbackProxyRequest(proxy.ProxyRequest):
    allowPrivateAddresses = True


class LoopbackProxy(proxy.Proxy):
    requestFactory = LoopbackProxyRequest


class ProxyFactory(ghttp.HTTPFactory):
    """Twisted's doc/web/examples/proxy.py, renamed."""

    protocolClass: Any = proxy.Proxy

    def buildProtocol(self, addr: Any) -> Any:
        channel = self.protocolClass()
        # The example leaves ``factory`` unset, so the channel uses the global reactor; these
        # tests run a reactor of their own, which the channel finds through its factory.
        channel.factory = self
        return channel


def test_twistedProxyExampleRefusesLoopbackByDefault(realReactor: Any) -> None:
    """No open SSRF proxy: the default proxy does not fetch from loopback."""

    def client(proxyPort: int, upPort: int) -> list[tuple[int, bytes]]:
        return [
            fetch(proxyPort, "GET", f"http://127.0.0.1:{upPort}/x"),
            fetch(proxyPort, "GET", f"http://localhost:{upPort}/x"),
            fetch(proxyPort, "GET", f"http://[::ffff:127.0.0.1]:{upPort}/x"),
        ]

    results = runProxy(realReactor, ProxyFactory(reactor=realReactor), client)
    assert [status for status, _ in results] == [403, 403, 403]
    assert all(b"127.0.0.1" not in body for _, body in results)


def test_proxyFetchesWhenAllowed(realReactor: Any) -> None:
    factory = ProxyFactory(reactor=realReactor)
    factory.protocolClass = LoopbackProxy

    def client(proxyPort: int, upPort: int) -> list[tuple[int, bytes]]:
        return [
            fetch(
                proxyPort,
                "GET",
                f"http://127.0.0.1:{upPort}/a/b?q=1",
                **{"X-Custom": "kept", "Proxy-Connection": "keep-alive"},
            ),
            fetch(proxyPort, "POST", f"http://127.0.0.1:{upPort}/", body=b"data"),
        ]

    results = runProxy(realReactor, factory, client)
    host = results[0][1].split(b"|")[1]
    assert results[0] == (200, b"/a/b?q=1|" + host + b"|kept|-")
    assert host.startswith(b"127.0.0.1:")
    assert results[1] == (200, b"posted data")


def test_allowedNetworks(realReactor: Any) -> None:
    class Request(proxy.ProxyRequest):
        allowedNetworks = [ipaddress.ip_network("127.0.0.0/8")]

    factory = ProxyFactory(reactor=realReactor)
    factory.protocolClass = type("P", (proxy.Proxy,), {"requestFactory": Request})
    status, _ = runProxy(
        realReactor, factory, lambda p, u: fetch(p, "GET", f"http://127.0.0.1:{u}/")
    )
    assert status == 200


@pytest.mark.parametrize(
    ("method", "target", "status"),
    [
        ("CONNECT", "example.com:443", 501),
        ("GET", "/origin/form", 400),
        ("GET", "https://example.com/", 501),
        ("GET", "http://example.com:99999/", 400),
    ],
)
def test_refusals(realReactor: Any, method: str, target: str, status: int) -> None:
    got, _ = runProxy(
        realReactor, ProxyFactory(reactor=realReactor), lambda p, u: fetch(p, method, target)
    )
    assert got == status


def test_addressAllowed() -> None:
    request = proxy.ProxyRequest.__new__(proxy.ProxyRequest)
    for address in ("127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "0.0.0.0"):
        assert not request.addressAllowed(address), address
    for address in ("fe80::1", "224.0.0.1", "::ffff:10.0.0.1", "100.64.0.1", "nonsense"):
        assert not request.addressAllowed(address), address
    assert request.addressAllowed("93.184.216.34")
    assert request.addressAllowed("2606:2800:220:1:248:1893:25c8:1946")


def test_unreachableUpstreamIs502(realReactor: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    factory = ProxyFactory(reactor=realReactor)
    factory.protocolClass = LoopbackProxy
    status, _ = runProxy(
        realReactor, factory, lambda p, u: fetch(p, "GET", f"http://127.0.0.1:{dead}/")
    )
    assert status == 502


# -- Twisted's logging-proxy.py example: the ProxyClient hooks -------------------------------


def test_loggingProxyExampleHooks(realReactor: Any) -> None:
    seen: list[tuple[str, Any]] = []

    class LoggingProxyClient(proxy.ProxyClient):
        def handleStatus(self, version: bytes, code: bytes, message: bytes) -> None:
            seen.append(("status", (version, code)))
            super().handleStatus(version, code, message)

        def handleHeader(self, key: bytes, value: bytes) -> None:
            seen.append(("header", key))
            super().handleHeader(key, value)

        def handleResponsePart(self, buffer: bytes) -> None:
            seen.append(("part", buffer))
            super().handleResponsePart(buffer)

        def handleResponseEnd(self) -> None:
            seen.append(("end", None))
            super().handleResponseEnd()

    class LoggingProxyClientFactory(proxy.ProxyClientFactory):
        protocol = LoggingProxyClient

    class LoggingProxyRequest(LoopbackProxyRequest):
        protocols = {b"http": LoggingProxyClientFactory}

        def process(self) -> None:
            seen.append(("request", self.uri))
            super().process()

    class LoggingProxy(proxy.Proxy):
        requestFactory = LoggingProxyRequest

    factory = ProxyFactory(reactor=realReactor)
    factory.protocolClass = LoggingProxy
    status, body = runProxy(
        realReactor, factory, lambda p, u: fetch(p, "GET", f"http://127.0.0.1:{u}/logged")
    )
    assert status == 200 and body.startswith(b"/logged|")
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "request" and kinds[1] == "status" and kinds[-1] == "end"
    assert ("status", (b"HTTP/1.1", b"200")) in seen
    assert ("header", b"x-upstream") in seen
    assert b"".join(v for k, v in seen if k == "part") == body


# -- ProxyClient with Twisted's single-valued headers ----------------------------------------


class FakeFather:
    """The parts of a request a ProxyClient uses."""

    def __init__(self) -> None:
        self.responseHeaders = Headers()
        self.code = 200
        self.written: list[bytes] = []
        self.finished = False
        self.startedWriting = False
        self._disconnected = False
        self.defaultContentType: bytes | None = b"text/html"

    def notifyFinish(self) -> Deferred[None]:
        return Deferred()

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        self.code = code

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def finish(self) -> None:
        self.finished = True


def test_proxyClientTakesSingleHeaderValues() -> None:
    """Twisted passes ``{name: value}`` (getAllHeaders): a value is not a list of bytes."""
    father = FakeFather()
    client = proxy.ProxyClient(
        b"GET",
        b"/x",
        b"HTTP/1.1",
        {b"host": b"example.com", b"X-Foo": b"bar", "x-str": "text", b"x-list": [b"a", b"b"]},
        b"",
        father,
    )
    transport = StringTransport()
    client.makeConnection(transport)
    sent = transport.value()
    assert sent.startswith(b"GET /x HTTP/1.1\r\n")
    assert b"host: example.com\r\n" in sent.lower()
    assert b"x-foo: bar\r\n" in sent.lower()
    assert b"x-str: text\r\n" in sent.lower()
    assert sent.lower().count(b"x-list: ") == 2
    client.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Up: 1\r\n\r\nhi")
    assert father.finished and father.written == [b"hi"]
    assert father.responseHeaders.getRawHeaders(b"x-up") == [b"1"]


# -- Twisted's proxy.py example, renamed, on the global reactor -------------------------------

EXAMPLE = """
import sys
from glisten.internet import reactor
from glisten.web import proxy, http


class ProxyFactory(http.HTTPFactory):
    def buildProtocol(self, addr):
        return proxy.Proxy()


port = reactor.listenTCP(0, ProxyFactory(), interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
"""


def test_twistedProxyExampleRuns() -> None:
    """The example as Twisted ships it (port aside): it runs, and refuses loopback."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-c", EXAMPLE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            upstream = s.getsockname()[1]
            status, _ = fetch(port, "GET", f"http://127.0.0.1:{upstream}/")
        assert status == 403
        status, _ = fetch(port, "CONNECT", "127.0.0.1:22")
        assert status == 501
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
