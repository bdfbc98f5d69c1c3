"""glisten.web.client against glisten's own server and scripted raw servers, on loopback
sockets of a real reactor; timeouts and cancellation on memory transports with a fake clock."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.internet import defer
from glisten.internet.endpoints import TCP4ClientEndpoint
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.task import Clock, Cooperator
from glisten.internet.testing import StringTransport
from glisten.python.failure import Failure
from glisten.web import server
from glisten.web._newclient import RESPONSE_DONE, HTTP11ClientProtocol, Request
from glisten.web.client import (
    URI,
    Agent,
    BrowserLikeRedirectAgent,
    ContentDecoderAgent,
    CookieAgent,
    DeflateDecoder,
    FileBodyProducer,
    GzipDecoder,
    HTTPConnectionPool,
    PartialDownloadError,
    PotentialDataLoss,
    ProxyAgent,
    RedirectAgent,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
    SchemeNotSupported,
    TunnelError,
    readBody,
)
from glisten.web.error import InfiniteRedirection, PageRedirect
from glisten.web.http_headers import Headers
from glisten.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from glisten.web.resource import Resource


class App(Resource):
    """Echoes what it got; ``/redirect?...`` and ``/cookie`` and ``/gzip`` do what they say."""

    isLeaf = True

    def render(self, request: Any) -> bytes:
        path = request.path
        if path == b"/port":
            return b"%d" % request.getClientAddress().port
        if path == b"/redirect":
            target = request.args.get(b"to", [b"/target"])[0]
            request.setResponseCode(int(request.args.get(b"code", [b"302"])[0]))
            request.setHeader(b"location", target)
            return b"moved"
        if path == b"/loop":
            request.setResponseCode(302)
            request.setHeader(b"location", b"/loop")
            return b""
        if path == b"/cookie":
            request.setHeader(b"set-cookie", b"session=abc; Path=/")
            return b"set"
        if path == b"/gzip":
            request.setHeader(b"content-encoding", b"gzip")
            return gzip.compress(b"hello gzip " * 1000)
        if path == b"/deflate":
            request.setHeader(b"content-encoding", b"deflate")
            return zlib.compress(b"hello deflate")
        if path == b"/stream":
            for i in range(5):
                request.write(b"piece%d;" % i)
            request.finish()
            return server.NOT_DONE_YET  # type: ignore[return-value]
        body = request.content.read()
        headers = b";".join(
            b"%s=%s" % (k.lower(), v[0])
            for k, v in sorted(request.requestHeaders.getAllRawHeaders())
        )
        return b"%s %s %d %s %s" % (
            request.method,
            request.uri,
            len(body),
            hashlib.sha256(body).hexdigest().encode(),
            headers,
        )


Main = Callable[[Any, int], Awaitable[Any]]


def run(main: Main, factory: Any = None) -> Any:
    """Serve ``factory`` (glisten's Site with :class:`App` by default) on loopback and run
    ``main(reactor, port)`` on the same real reactor."""
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    if factory is None:
        factory = server.Site(App(), reactor=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    result: dict[str, Any] = {}

    async def go() -> None:
        try:
            result["value"] = await main(reactor, port.getHost().port)
        except BaseException as e:
            result["error"] = e

    def start() -> None:
        d = defer.ensureDeferred(go())
        d.addBoth(lambda _: reactor.callLater(0, reactor.stop))

    # A guard against a hang in the code under test, not a wait for something.
    guard = reactor.callLater(30, reactor.stop)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    if "error" in result:
        raise result["error"]
    assert "value" in result, "the test timed out"
    return result["value"]


class Scripted(Protocol):
    """Answers each request head with the next canned reply; ``None`` closes instead."""

    def __init__(self, replies: list[bytes | None], log: list[bytes]) -> None:
        self.replies = list(replies)
        self.log = log
        self.buf = b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            self.log.append(head)
            reply = self.replies.pop(0) if self.replies else None
            if reply is None:
                self.transport.loseConnection()
                return
            self.transport.write(reply)
            if reply.endswith(b"<close>"):
                self.transport.loseConnection()


def scripted(perConnection: list[list[bytes | None]], log: list[bytes]) -> Factory:
    """A server whose n-th connection answers with ``perConnection[n]``."""
    f = Factory()
    scripts = list(perConnection)
    f.buildProtocol = lambda addr: Scripted(scripts.pop(0) if scripts else [], log)  # type: ignore[method-assign]
    return f


def cooperator(reactor: Any) -> Cooperator:
    """Runs body producers on the test's reactor."""
    return Cooperator(scheduler=lambda f: reactor.callLater(0, f))


def url(port: int, path: str = "/") -> bytes:
    return f"http://127.0.0.1:{port}{path}".encode()


def test_getAndReadBody() -> None:
    async def main(reactor: Any, port: int) -> None:
        agent = Agent(reactor)
        response = await agent.request(b"GET", url(port, "/x?y=1"), Headers({b"X-A": [b"b"]}))
        assert response.code == 200 and response.phrase == b"OK"
        assert response.version == (b"HTTP", 1, 1)
        body = await readBody(response)
        assert body.startswith(b"GET /x?y=1 0 ")
        assert b"host=127.0.0.1:%d" % port in body and b"x-a=b" in body
        assert response.length == len(body)
        response = await agent.request(b"HEAD", url(port))
        assert await readBody(response) == b""
        stream = await agent.request(b"GET", url(port, "/stream"))
        assert stream.length is UNKNOWN_LENGTH
        assert await readBody(stream) == b"piece0;piece1;piece2;piece3;piece4;"

    run(main)


def test_persistentPoolReusesAndQueues() -> None:
    async def main(reactor: Any, port: int) -> None:
        pool = HTTPConnectionPool(reactor)
        agent = Agent(reactor, pool=pool)
        ports = set()
        for _ in range(3):
            ports.add(await readBody(await agent.request(b"GET", url(port, "/port"))))
        assert len(ports) == 1
        # Twelve at once, at most two connections.
        pool.maxPersistentPerHost = 2

        async def one() -> bytes:
            return await readBody(await agent.request(b"GET", url(port, "/port")))

        results = await defer.gatherResults([defer.ensureDeferred(one()) for _ in range(12)])
        assert len(results) == 12 and len(set(results)) <= 2
        await pool.closeCachedConnections()

    run(main)


def test_uploads() -> None:
    data = bytes(range(256)) * 20000  # 5 MB

    class Unseekable(io.BytesIO):
        def seek(self, *a: Any) -> int:
            raise OSError("not seekable")

    async def main(reactor: Any, port: int) -> None:
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor))
        digest = hashlib.sha256(data).hexdigest().encode()
        producer = FileBodyProducer(io.BytesIO(data), cooperator(reactor))
        assert producer.length == len(data)
        body = await readBody(await agent.request(b"POST", url(port), None, producer))
        assert body.startswith(b"POST / %d %s" % (len(data), digest))
        assert b"content-length=%d" % len(data) in body
        producer = FileBodyProducer(Unseekable(data), cooperator(reactor))
        assert producer.length is UNKNOWN_LENGTH
        body = await readBody(await agent.request(b"PUT", url(port), None, producer))
        assert body.startswith(b"PUT / %d %s" % (len(data), digest))
        assert b"transfer-encoding=chunked" in body
        body = await readBody(await agent.request(b"POST", url(port)))
        assert b"content-length=0" in body

    run(main)


def test_redirects() -> None:
    async def main(reactor: Any, port: int) -> None:
        agent = RedirectAgent(Agent(reactor))
        response = await agent.request(b"GET", url(port, "/redirect?to=/target"))
        assert response.code == 200 and (await readBody(response)).startswith(b"GET /target ")
        assert response.previousResponse is not None and response.previousResponse.code == 302
        # 303 turns a POST into a GET.
        response = await agent.request(
            b"POST",
            url(port, "/redirect?code=303"),
            None,
            FileBodyProducer(io.BytesIO(b"x"), cooperator(reactor)),
        )
        assert (await readBody(response)).startswith(b"GET /target 0 ")
        # 307 for a POST is not followed: its body cannot be replayed.
        with pytest.raises(ResponseFailed) as info:
            await agent.request(b"POST", url(port, "/redirect?code=307"))
        assert info.value.reasons[0].check(PageRedirect)
        with pytest.raises(ResponseFailed) as info:
            await RedirectAgent(Agent(reactor), redirectLimit=3).request(b"GET", url(port, "/loop"))
        assert info.value.reasons[0].check(InfiniteRedirection)
        # A browser-like agent turns a 302 POST into a GET, and keeps a HEAD a HEAD.
        browser = BrowserLikeRedirectAgent(Agent(reactor))
        response = await browser.request(b"POST", url(port, "/redirect"))
        assert (await readBody(response)).startswith(b"GET /target ")
        response = await agent.request(b"HEAD", url(port, "/redirect?code=303"))
        assert response.code == 200 and await readBody(response) == b""

    run(main)


def test_redirectDropsCredentialsAcrossOrigins() -> None:
    async def main(reactor: Any, port: int) -> None:
        other = reactor.listenTCP(0, server.Site(App(), reactor=reactor), interface="127.0.0.1")
        otherURL = url(other.getHost().port, "/elsewhere").decode()
        agent = RedirectAgent(Agent(reactor))
        secret = Headers(
            {
                b"Authorization": [b"Basic c2VjcmV0"],
                b"Cookie": [b"a=b"],
                b"Proxy-Authorization": [b"x"],
                b"X-Keep": [b"1"],
            }
        )
        same = await readBody(await agent.request(b"GET", url(port, "/redirect"), secret))
        assert b"authorization=Basic" in same and b"cookie=a=b" in same
        target = f"/redirect?to={otherURL}"
        body = await readBody(await agent.request(b"GET", url(port, target), secret))
        assert body.startswith(b"GET /elsewhere ")
        assert b"authorization" not in body and b"cookie" not in body
        assert b"x-keep=1" in body
        await other.stopListening()

    run(main)


def test_contentDecoding() -> None:
    async def main(reactor: Any, port: int) -> None:
        agent = ContentDecoderAgent(
            Agent(reactor), [(b"gzip", GzipDecoder), (b"deflate", DeflateDecoder)]
        )
        response = await agent.request(b"GET", url(port, "/gzip"))
        assert response.headers.getRawHeaders(b"content-encoding") is None
        assert await readBody(response) == b"hello gzip " * 1000
        response = await agent.request(b"GET", url(port, "/deflate"))
        assert await readBody(response) == b"hello deflate"
        echo = await readBody(await agent.request(b"GET", url(port, "/")))
        assert b"accept-encoding=gzip,deflate" in echo

    run(main)


def test_brokenGzipFails() -> None:
    log: list[bytes] = []
    bad = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnotgzip!"
    truncated = gzip.compress(b"a" * 1000)[:-10]
    cut = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(truncated),
        truncated,
    )

    async def main(reactor: Any, port: int) -> None:
        agent = ContentDecoderAgent(Agent(reactor), [(b"gzip", GzipDecoder)])
        for _ in range(2):
            with pytest.raises(ResponseFailed):
                await readBody(await agent.request(b"GET", url(port)))

    run(main, scripted([[bad], [cut]], log))


def test_cookies() -> None:
    async def main(reactor: Any, port: int) -> None:
        jar = CookieJar()
        agent = CookieAgent(Agent(reactor), jar)
        await readBody(await agent.request(b"GET", url(port, "/cookie")))
        assert [c.name for c in jar] == ["session"]
        body = await readBody(await agent.request(b"GET", url(port, "/")))
        assert b"cookie=session=abc" in body

    run(main)


def test_readToCloseIsPartial() -> None:
    log: list[bytes] = []
    reply = b"HTTP/1.0 200 OK\r\n\r\nuntil the end<close>"

    async def main(reactor: Any, port: int) -> None:
        response = await Agent(reactor).request(b"GET", url(port))
        with pytest.raises(PartialDownloadError) as info:
            await readBody(response)
        assert info.value.response == b"until the end<close>"

    run(main, scripted([[reply]], log))


def test_badResponsesFail() -> None:
    log: list[bytes] = []
    lying = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort<close>"
    hugeHead = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n"
    both = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc"

    async def main(reactor: Any, port: int) -> None:
        agent = Agent(reactor)
        response = await agent.request(b"GET", url(port))
        with pytest.raises(ResponseFailed) as info:
            await readBody(response)
        assert not isinstance(info.value, PartialDownloadError)
        for _ in range(2):
            with pytest.raises(ResponseNeverReceived):
                await agent.request(b"GET", url(port))

    run(main, scripted([[lying], [hugeHead], [both]], log))


def test_smuggledResponseEndsConnection() -> None:
    log: list[bytes] = []
    first = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
    )
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhonest"

    async def main(reactor: Any, port: int) -> None:
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor))
        assert await readBody(await agent.request(b"GET", url(port))) == b"ok"
        # The smuggled bytes never answer the next request: a new connection does.
        assert await readBody(await agent.request(b"GET", url(port))) == b"honest"

    run(main, scripted([[first], [second]], log))
    assert len(log) == 2


def test_retryOnStaleConnection() -> None:
    log: list[bytes] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def main(reactor: Any, port: int) -> list[bytes]:
        pool = HTTPConnectionPool(reactor)
        agent = Agent(reactor, pool=pool)
        out = [await readBody(await agent.request(b"GET", url(port)))]
        # The server drops the idle connection as the second request arrives: it is sent
        # again on a new connection.
        out.append(await readBody(await agent.request(b"GET", url(port))))
        # A POST is not repeated.
        with pytest.raises(ResponseNeverReceived):
            await agent.request(b"POST", url(port))
        await pool.closeCachedConnections()
        return out

    assert run(main, scripted([[ok, None], [ok, None]], log)) == [b"ok", b"ok"]


def test_unsupportedScheme() -> None:
    async def main(reactor: Any, port: int) -> None:
        with pytest.raises(SchemeNotSupported):
            await Agent(reactor).request(b"GET", b"ftp://example.com/")

    run(main)


def test_proxyAgentHTTP() -> None:
    log: list[bytes] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def main(reactor: Any, port: int) -> None:
        agent = ProxyAgent(TCP4ClientEndpoint(reactor, "127.0.0.1", port), reactor)
        response = await agent.request(b"GET", b"http://example.com/path?q")
        assert await readBody(response) == b"ok"

    run(main, scripted([[ok]], log))
    assert log[0].startswith(b"GET http://example.com/path?q HTTP/1.1\r\n")
    assert b"Host: example.com\r\n" in log[0]


def test_uri() -> None:
    uri = URI.fromBytes(b"https://user@[::1]:8443/a;p?q=1#frag")
    assert (uri.scheme, uri.host, uri.port, uri.path, uri.params, uri.query, uri.fragment) == (
        b"https",
        b"::1",
        8443,
        b"/a",
        b"p",
        b"q=1",
        b"frag",
    )
    assert uri.originForm == b"/a;p?q=1"
    assert uri.toBytes() == b"https://user@[::1]:8443/a;p?q=1#frag"
    assert URI.fromBytes(b"http://Example.COM").port == 80
    assert URI.fromBytes(b"http://example.com").originForm == b"/"
    for bad in [b"/relative", b"http://h:99999/", b"http://h:x/"]:
        with pytest.raises(ValueError):
            URI.fromBytes(bad)


# -- memory transports and a fake clock -------------------------------------------------------


def connected(timeout: float | None = None) -> tuple[HTTP11ClientProtocol, StringTransport, Clock]:
    clock = Clock()
    protocol = HTTP11ClientProtocol(timeout=timeout, clock=clock)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport, clock


def lose(protocol: HTTP11ClientProtocol, transport: StringTransport) -> None:
    from glisten.internet.error import ConnectionLost

    assert transport.disconnecting or getattr(transport, "aborted", False)
    protocol.connectionLost(Failure(ConnectionLost()))


def test_timeoutBeforeResponse() -> None:
    protocol, transport, clock = connected(timeout=5)
    d = protocol.request(Request(b"GET", b"/", Headers({b"host": [b"h"]})))
    failures: list[Failure] = []
    d.addErrback(failures.append)
    clock.advance(4)
    protocol.dataReceived(b"HTTP/1.1 200")  # traffic resets the countdown
    clock.advance(4)
    assert not failures
    clock.advance(2)
    lose(protocol, transport)
    assert failures[0].check(ResponseNeverReceived)
    assert failures[0].value.reasons[0].check(defer.TimeoutError)


def test_idleBodyTimeout() -> None:
    protocol, transport, clock = connected(timeout=5)
    responses: list[Any] = []
    protocol.request(Request(b"GET", b"/", Headers())).addCallback(responses.append)
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    body = readBody(responses[0])
    errors: list[Failure] = []
    body.addErrback(errors.append)
    clock.advance(6)
    lose(protocol, transport)
    assert errors[0].check(ResponseFailed)
    assert errors[0].value.reasons[0].check(defer.TimeoutError)


def test_cancelBeforeResponse() -> None:
    protocol, transport, clock = connected()
    d = protocol.request(Request(b"GET", b"/", Headers()))
    failures: list[Failure] = []
    d.addErrback(failures.append)
    d.cancel()
    lose(protocol, transport)
    assert failures[0].check(ResponseNeverReceived)
    assert failures[0].value.reasons[0].check(defer.CancelledError)


def test_bodyBufferedUntilDelivered() -> None:
    protocol, transport, clock = connected()
    quiet: list[Any] = []
    protocol._quiescentCallback = quiet.append
    responses: list[Any] = []
    protocol.request(Request(b"GET", b"/", Headers(), persistent=True)).addCallback(
        responses.append
    )
    wire = transport.value()
    assert wire == b"GET / HTTP/1.1\r\n\r\n"
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
    protocol.dataReceived(b"lo")
    assert quiet == [protocol]  # the connection is free before the body was asked for

    got: list[bytes] = []
    reasons: list[Failure] = []

    class Sink(Protocol):
        def dataReceived(self, data: bytes) -> None:
            got.append(data)

        def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
            reasons.append(reason)

    responses[0].deliverBody(Sink())
    assert b"".join(got) == b"hello" and reasons[0].check(ResponseDone)
    with pytest.raises(RuntimeError):
        responses[0].deliverBody(Sink())


def test_bytewiseResponse() -> None:
    protocol, transport, clock = connected()
    responses: list[Any] = []
    protocol.request(Request(b"GET", b"/", Headers(), persistent=True)).addCallback(
        responses.append
    )
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    bodies: list[bytes] = []
    for i in range(len(wire)):
        protocol.dataReceived(wire[i : i + 1])
        if responses and i == wire.index(b"\r\n\r\n") + 3:
            readBody(responses[0]).addCallback(bodies.append)
    assert bodies == [b"abcde"]
    assert protocol.state == "QUIESCENT"


# -- the treq-like API ---------------------------------------------------------------------


class Form(Resource):
    """Echoes the parsed form and the raw body type."""

    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        import json

        ctype = request.getHeader(b"content-type") or b""
        out: dict[str, Any] = {"type": ctype.decode().split(";")[0]}
        out["args"] = {
            k.decode(): [v.decode("latin-1") for v in vs] for k, vs in request.args.items()
        }
        out["body"] = request.content.read().decode("latin-1")
        out["auth"] = (request.getUser().decode(), request.getPassword().decode())
        out["cookie"] = (request.getHeader(b"cookie") or b"").decode()
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        return json.dumps(out).encode()

    render_GET = render_POST
    render_PUT = render_POST


def test_httpClient() -> None:
    from glisten.web.client import HTTPClient, collect

    async def main(reactor: Any, port: int) -> None:
        http = HTTPClient(reactor=reactor, cooperator=cooperator(reactor))
        base = f"http://127.0.0.1:{port}/"
        response = await http.get(base, params={"a": "1", "b": ["x", "y"]})
        assert response.code == 200
        got = await response.json()
        assert got["args"] == {"a": ["1"], "b": ["x", "y"]}
        assert await response.json() == got  # the body is kept
        got = await (await http.post(base, data={"name": "v"})).json()
        assert got["type"] == "application/x-www-form-urlencoded"
        assert got["args"] == {"name": ["v"]}
        got = await (await http.put(base, json={"k": [1, 2]})).json()
        assert got["type"] == "application/json" and got["body"] == '{"k":[1,2]}'
        got = await (await http.post(base, data=b"raw bytes")).json()
        assert got["body"] == "raw bytes"
        files = {"upload": ("a.txt", io.BytesIO(b"file contents"))}
        got = await (await http.post(base, data={"field": "1"}, files=files)).json()
        assert got["type"] == "multipart/form-data"
        assert 'name="upload"; filename="a.txt"' in got["body"]
        assert "file contents" in got["body"] and 'name="field"' in got["body"]
        got = await (await http.get(base, auth=("user", "pw"), cookies={"c": "1"})).json()
        assert got["auth"] == ["user", "pw"] and got["cookie"] == "c=1"
        text = await (await http.get(base)).text()
        assert text.startswith("{")
        pieces: list[bytes] = []
        await collect(await http.get(base), pieces.append)
        assert b"".join(pieces).startswith(b"{")

    run(main, server.Site(Form()))


def test_httpClientRedirectsAndTimeout() -> None:
    from glisten.web.client import HTTPClient

    log: list[bytes] = []
    redirect = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"

    async def main(reactor: Any, port: int) -> None:
        http = HTTPClient(reactor=reactor)
        response = await http.get(url(port))
        assert await response.content() == b"done"
        assert [r.code for r in response.history()] == [302]
        response = await http.get(url(port), allow_redirects=False)
        assert response.code == 302
        # The third connection never answers.
        with pytest.raises(defer.TimeoutError):
            await http.get(url(port, "/slow"), timeout=0.05)

    run(main, scripted([[redirect, final], [redirect], [b""]], log))


# -- robustness ------------------------------------------------------------------------------


VALID_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
]


@st.composite
def responses(draw: Any) -> bytes:
    """Random bytes, or a valid response with random bytes put in or cut out somewhere."""
    if draw(st.booleans()):
        return bytes(draw(st.binary(max_size=400)))
    data = bytearray(draw(st.sampled_from(VALID_RESPONSES)))
    at = draw(st.integers(0, len(data)))
    if draw(st.booleans()):
        data[at:at] = draw(st.binary(max_size=12))
    else:
        del data[at : at + draw(st.integers(1, 6))]
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(responses(), st.integers(min_value=1, max_value=50))
def test_randomResponsesFailCleanly(data: bytes, step: int) -> None:
    """Whatever a server sends, the request ends in a response or in ResponseFailed (or
    ResponseNeverReceived), with the body's end reported exactly once: nothing else raises."""
    protocol, transport, clock = connected(timeout=5)
    outcomes: list[Any] = []
    ends: list[Failure] = []

    class Sink(Protocol):
        def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
            ends.append(reason)

    def got(response: Any) -> None:
        outcomes.append(response)
        response.deliverBody(Sink())

    d = protocol.request(Request(b"GET", b"/", Headers(), persistent=True))
    d.addCallbacks(got, outcomes.append)
    for i in range(0, len(data), step):
        if protocol._lost:
            break
        protocol.dataReceived(data[i : i + step])
    if not protocol._lost:
        from glisten.internet.error import ConnectionDone

        protocol.connectionLost(Failure(ConnectionDone()))
    assert len(outcomes) == 1
    if isinstance(outcomes[0], Failure):
        assert outcomes[0].check(ResponseNeverReceived)
        assert not ends
    else:
        assert len(ends) == 1
        assert ends[0].check(ResponseDone, ResponseFailed, PotentialDataLoss)


def test_uploadFollowsTheTransportsPace() -> None:
    """The body producer is registered with the transport, so a full socket buffer pauses it
    (a large upload streams with flat memory)."""
    protocol, transport, clock = connected()
    events: list[str] = []

    @implementer(IBodyProducer)
    class Producer:
        length = UNKNOWN_LENGTH

        def startProducing(self, consumer: Any) -> defer.Deferred[None]:
            self.consumer = consumer
            self.done: defer.Deferred[None] = defer.Deferred()
            return self.done

        def pauseProducing(self) -> None:
            events.append("pause")

        def resumeProducing(self) -> None:
            events.append("resume")

        def stopProducing(self) -> None:
            events.append("stop")

    producer = Producer()
    protocol.request(Request(b"PUT", b"/", Headers(), producer))
    assert transport.producer is not None and transport.streaming
    transport.producer.pauseProducing()
    transport.producer.resumeProducing()
    producer.consumer.write(b"abc")
    producer.done.callback(None)
    assert events == ["pause", "resume"]
    assert transport.producer is None
    assert transport.value().endswith(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")


def test_fetchCommandPieces() -> None:
    import argparse

    from glisten.web._fetch import FetchServiceMaker, _Progress

    stream = io.StringIO()
    progress = _Progress(stream, 4_000_000)
    progress.update(2_000_000)
    progress.finish()
    assert "[###############               ]  50%      2.0 MB" in stream.getvalue()
    assert stream.getvalue().endswith("\n")
    maker = FetchServiceMaker()
    parser = argparse.ArgumentParser()
    maker.addArguments(parser)
    options = parser.parse_args(["-X", "PUT", "-H", "A: b", "-d", "x", "-L", "http://h/"])
    assert (options.request, options.header, options.data, options.location) == (
        "PUT",
        ["A: b"],
        "x",
        True,
    )
    with pytest.raises(ValueError):
        maker.makeService(parser.parse_args(["file:///etc/passwd"]))


def test_expectContinue() -> None:
    """With ``Expect: 100-continue`` the body waits for ``100 Continue``; a final answer
    instead means it is never sent; no answer within a second, and it goes anyway."""

    def start() -> tuple[HTTP11ClientProtocol, StringTransport, Clock, list[Any]]:
        protocol, transport, clock = connected()
        responses: list[Any] = []
        headers = Headers({b"expect": [b"100-continue"]})
        body = _Bytes(b"payload")
        protocol.request(Request(b"PUT", b"/", headers, body, persistent=True)).addBoth(
            responses.append
        )
        assert transport.value().endswith(b"Content-Length: 7\r\n\r\n")
        return protocol, transport, clock, responses

    protocol, transport, clock, responses = start()
    protocol.dataReceived(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert transport.value().endswith(b"\r\n\r\npayload")
    protocol.dataReceived(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert responses[0].code == 201 and protocol.state == "QUIESCENT"

    protocol, transport, clock, responses = start()
    protocol.dataReceived(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
    assert responses[0].code == 417
    assert not transport.value().endswith(b"payload") and transport.disconnecting
    clock.advance(2)
    assert not transport.value().endswith(b"payload")

    protocol, transport, clock, responses = start()
    clock.advance(1)
    assert transport.value().endswith(b"\r\n\r\npayload")


@implementer(IBodyProducer)
class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def test_proxyRefusesTunnel() -> None:
    log: list[bytes] = []
    refused = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"

    async def main(reactor: Any, port: int) -> None:
        agent = ProxyAgent(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port),
            reactor,
            proxyHeaders=Headers({b"Proxy-Authorization": [b"Basic eDp5"]}),
        )
        with pytest.raises(TunnelError) as info:
            await agent.request(b"GET", b"https://example.com/")
        assert info.value.code == 407

    run(main, scripted([[refused]], log))
    assert log[0].startswith(b"CONNECT example.com:443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic eDp5" in log[0]


def test_cancelReadBody() -> None:
    protocol, transport, clock = connected()
    responses: list[Any] = []
    protocol.request(Request(b"GET", b"/", Headers())).addCallback(responses.append)
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
    body = readBody(responses[0])
    errors: list[Failure] = []
    body.addErrback(errors.append)
    body.cancel()
    lose(protocol, transport)
    assert errors and errors[0].check(defer.CancelledError, ResponseFailed)


def test_queuedRequestCancelled() -> None:
    """A request waiting for a connection at the per-host limit can be cancelled; the queue
    then moves on."""
    log: list[bytes] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def main(reactor: Any, port: int) -> None:
        pool = HTTPConnectionPool(reactor)
        pool.maxPersistentPerHost = 1
        agent = Agent(reactor, pool=pool)
        first = agent.request(b"GET", url(port, "/1"))
        second = agent.request(b"GET", url(port, "/2"))
        third = agent.request(b"GET", url(port, "/3"))
        second.cancel()
        with pytest.raises(defer.CancelledError):
            await second
        assert await readBody(await first) == b"ok"
        assert await readBody(await third) == b"ok"
        await pool.closeCachedConnections()

    run(main, scripted([[ok, ok]], log))
    assert [line.split(b" ")[1] for line in log] == [b"/1", b"/3"]


def test_queueMovesOnWhenAConnectionCloses() -> None:
    log: list[bytes] = []
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 7\r\n\r\n<close>"
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def main(reactor: Any, port: int) -> None:
        pool = HTTPConnectionPool(reactor)
        pool.maxPersistentPerHost = 1
        agent = Agent(reactor, pool=pool)
        first = agent.request(b"GET", url(port, "/1"))
        second = agent.request(b"GET", url(port, "/2"))
        assert await readBody(await first) == b"<close>"
        assert await readBody(await second) == b"ok"
        await pool.closeCachedConnections()

    run(main, scripted([[closing], [ok]], log))
    assert len(log) == 2


def test_deflateEitherWay() -> None:
    from glisten.web._clientwrappers import _RawOrZlibDeflate

    text = b"deflate me " * 100
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for compressed in (zlib.compress(text), raw.compress(text) + raw.flush()):
        d = _RawOrZlibDeflate()
        out = b"".join(d.decompress(compressed[i : i + 1], 1 << 16) for i in range(len(compressed)))
        assert out + d.flush() == text and d.eof


def test_hostnameCachingPolicy() -> None:
    from glisten.web.client import HostnameCachingHTTPSPolicy

    made: list[bytes] = []

    class Counting:
        def creatorForNetloc(self, hostname: bytes, port: int) -> object:
            made.append(hostname)
            return object()

    policy = HostnameCachingHTTPSPolicy(Counting(), cacheSize=2)  # type: ignore[arg-type]
    a = policy.creatorForNetloc(b"a", 443)
    policy.creatorForNetloc(b"b", 443)
    assert policy.creatorForNetloc(b"a", 443) is a  # kept, and now the most recent
    policy.creatorForNetloc(b"c", 443)  # pushes out b, the least recently used
    assert policy.creatorForNetloc(b"a", 443) is a
    policy.creatorForNetloc(b"b", 443)
    assert made == [b"a", b"b", b"c", b"b"]


def test_lostWhileSendingTheBody() -> None:
    from glisten.internet.error import ConnectionLost
    from glisten.web.client import RequestTransmissionFailed

    protocol, transport, clock = connected()

    @implementer(IBodyProducer)
    class Endless:
        length = UNKNOWN_LENGTH

        def startProducing(self, consumer: Any) -> defer.Deferred[None]:
            consumer.write(b"some")
            return defer.Deferred()

        def pauseProducing(self) -> None:
            pass

        def resumeProducing(self) -> None:
            pass

        def stopProducing(self) -> None:
            pass

    failures: list[Failure] = []
    protocol.request(Request(b"POST", b"/", Headers(), Endless())).addErrback(failures.append)
    protocol.connectionLost(Failure(ConnectionLost()))
    assert failures[0].check(RequestTransmissionFailed)


def test_httpClientTimeoutWhileConnecting() -> None:
    """A timeout that expires before the connection is made fails with TimeoutError too (the
    endpoint reports its cancellation as ConnectingCancelledError)."""
    from glisten.internet.testing import MemoryReactorClock
    from glisten.web.client import HTTPClient

    reactor = MemoryReactorClock()
    d = defer.ensureDeferred(HTTPClient(reactor=reactor).get("http://127.0.0.1:8080/", timeout=5))
    assert len(reactor.tcpClients) == 1 and not d.called  # still connecting
    reactor.advance(5)
    failure = d.result
    d.addErrback(lambda _: None)
    assert isinstance(failure, Failure) and failure.check(defer.TimeoutError), failure
