"""Site, Request and Resource over an in-memory transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.defer import Deferred, succeed
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.python.failure import Failure
from glisten.web import http, server, util, vhost
from glisten.web.resource import EncodingResourceWrapper, Resource
from glisten.web.server import NOT_DONE_YET, GzipEncoderFactory

Conn = Any
Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]


GET = b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n"


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"hello " + request.path


class Echo(Resource):
    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        return request.content.read()


def test_helloKeepAlive(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Hello())
    for path in (b"/a", b"/b"):
        status, headers, body = parse(conn.send(GET % path))
        assert status == 200 and body == b"hello " + path
        assert headers[b"content-length"] == b"%d" % len(body)
        assert headers[b"server"].startswith(b"glisten-web/")
        assert b"date" in headers
    assert not conn.transport.disconnecting


def test_pipelinedInOrder(connect: Callable[..., Conn]) -> None:
    """Two pipelined requests, the first answered later: the second waits for it."""
    pending: list[Any] = []

    class Slow(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            if request.path == b"/slow":
                pending.append(request)
                return NOT_DONE_YET
            return b"fast"

    conn = connect(Slow())
    out = conn.send(GET % b"/slow" + GET % b"/fast")
    assert out == b""
    pending[0].write(b"slow")
    pending[0].finish()
    out = conn.transport.value()
    assert out.index(b"slow") < out.index(b"fast")


def test_chunkedUploadAndChunkedResponse(connect: Callable[..., Conn]) -> None:
    class Stream(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> int:
            request.write(request.content.read())
            request.write(b"!")
            request.finish()
            return NOT_DONE_YET

    conn = connect(Stream())
    out = conn.send(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert b"Transfer-Encoding: chunked" in out
    assert out.endswith(b"\r\n\r\n3\r\nabc\r\n1\r\n!\r\n0\r\n\r\n")


def test_expectContinue(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Echo())
    out = conn.send(
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    )
    assert out == b"HTTP/1.1 100 Continue\r\n\r\n"
    status, _, body = parse(conn.send(b"data"))
    assert (status, body) == (200, b"data")


def test_head(connect: Callable[..., Conn]) -> None:
    conn = connect(Hello())
    out = conn.send(b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert out.endswith(b"\r\n\r\n") and b"Content-Length: 8\r\n" in out


def test_http10Closes(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Hello())
    status, headers, body = parse(conn.send(b"GET /x HTTP/1.0\r\n\r\n"))
    assert status == 200 and body == b"hello /x"
    assert conn.transport.disconnecting


def test_connectionClose(connect: Callable[..., Conn]) -> None:
    conn = connect(Hello())
    out = conn.send(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert b"Connection: close" in out and conn.transport.disconnecting


@pytest.mark.parametrize(
    "data,status",
    [
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"A: b\r\n" * 200 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n", 501),
    ],
)
def test_badRequestAnsweredAndClosed(
    connect: Callable[..., Conn], data: bytes, status: int
) -> None:
    conn = connect(Hello())
    out = conn.send(data)
    assert out.startswith(b"HTTP/1.1 %d " % status)
    assert conn.transport.disconnecting


def test_bodyLimit(connect: Callable[..., Conn]) -> None:
    conn = connect(Echo(), maxRequestBody=10)
    out = conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 ")


def test_resourceTree(parse: Parse, connect: Callable[..., Conn]) -> None:
    root = Resource()
    child = Resource()
    root.putChild(b"a", child)
    child.putChild(b"b c", Hello())
    conn = connect(root)
    status, _, body = parse(conn.send(GET % b"/a/b%20c/rest"))
    assert status == 200 and body == b"hello /a/b%20c/rest"
    status, _, body = parse(conn.send(GET % b"/nope"))
    assert status == 404 and b"No Such Resource" in body


def test_putChildNeedsBytes() -> None:
    with pytest.raises(TypeError):
        Resource().putChild("a", Hello())  # type: ignore[arg-type]


def test_unsupportedMethod(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Hello())
    status, headers, _ = parse(conn.send(b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n"))
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"
    status, _, _ = parse(conn.send(b"BREW / HTTP/1.1\r\nHost: h\r\n\r\n"))
    assert status == 501


def test_renderErrorIs500WithoutTraceback(parse: Parse, connect: Callable[..., Conn]) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise ValueError("<secret>")

    conn = connect(Boom())
    status, _, body = parse(conn.send(GET % b"/"))
    assert status == 500 and b"secret" not in body


def test_displayTracebacksEscaped(parse: Parse, connect: Callable[..., Conn]) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise ValueError("<script>")

    conn = connect(Boom())
    conn.site.displayTracebacks = True
    status, _, body = parse(conn.send(GET % b"/"))
    assert status == 500 and b"&lt;script&gt;" in body and b"<script>" not in body


def test_renderDeferredAndCoroutine(parse: Parse, connect: Callable[..., Conn]) -> None:
    later: Deferred[bytes] = Deferred()

    class Async(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            if request.path == b"/d":
                return later
            return self.coro()

        async def coro(self) -> bytes:
            return await succeed(b"from coroutine")

    conn = connect(Async())
    assert conn.send(GET % b"/d") == b""
    later.callback(b"from deferred")
    assert parse(conn.transport.value())[2] == b"from deferred"
    assert parse(conn.send(GET % b"/c"))[2] == b"from coroutine"


def test_argsAndCookies(connect: Callable[..., Conn]) -> None:
    seen: dict[str, Any] = {}

    class Inspect(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            seen["args"] = request.args
            seen["cookie"] = request.getCookie(b"sid")
            request.addCookie(b"k", b"v", path=b"/", httpOnly=True, sameSite="strict")
            return b""

    conn = connect(Inspect())
    body = b"x=1&y=2"
    out = conn.send(
        b"POST /?x=0 HTTP/1.1\r\nHost: h\r\nCookie: a=b; sid=42\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    assert seen["args"] == {b"x": [b"0", b"1"], b"y": [b"2"]}
    assert seen["cookie"] == b"42"
    assert b"Set-Cookie: k=v; Path=/; HttpOnly; SameSite=Strict\r\n" in out
    with pytest.raises(ValueError):
        http.Request(conn.channel).addCookie(b"k", b"v;evil")


def test_headerInjectionNeutralized(connect: Callable[..., Conn]) -> None:
    class Inject(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"x-a", b"1\r\nSet-Cookie: evil")
            return b""

    out = connect(Inject()).send(GET % b"/")
    assert b"\r\nSet-Cookie" not in out and b"X-A: 1 Set-Cookie: evil\r\n" in out


def test_notifyFinish(connect: Callable[..., Conn]) -> None:
    results: list[Any] = []

    class Hold(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.notifyFinish().addBoth(results.append)
            return NOT_DONE_YET

    conn = connect(Hold())
    conn.send(GET % b"/")
    from glisten.python.failure import Failure

    conn.channel.connectionLost(Failure(ConnectionError("gone")))
    assert len(results) == 1 and isinstance(results[0], Failure)


def test_redirectToEscapes(parse: Parse, connect: Callable[..., Conn]) -> None:
    class R(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return util.redirectTo(b'/x"><script>alert(1)</script>', request)

    status, headers, body = parse(connect(R()).send(GET % b"/"))
    assert status == 302
    assert b"<script>" not in body and b"&lt;script&gt;" in body
    with pytest.raises(TypeError):
        util.redirectTo("/x", None)  # type: ignore[arg-type]


def test_vhost(parse: Parse, connect: Callable[..., Conn]) -> None:
    root = vhost.NameVirtualHost()
    root.addHost(b"example.com", Hello())
    conn = connect(root)
    status, _, body = parse(conn.send(b"GET /p HTTP/1.1\r\nHost: Example.com:80\r\n\r\n"))
    assert status == 200 and body == b"hello /p"
    status, _, body = parse(conn.send(b"GET / HTTP/1.1\r\nHost: <img src=x>\r\n\r\n"))
    assert status == 404 and b"<img" not in body and b"&lt;img" in body


def test_gzip(parse: Parse, connect: Callable[..., Conn]) -> None:
    import gzip

    conn = connect(EncodingResourceWrapper(Hello(), [GzipEncoderFactory()]))
    out = conn.send(b"GET /z HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head and b"Content-Length" not in head
    chunks = []
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        chunks.append(rest[:n])
        body = rest[n + 2 :]
    assert gzip.decompress(b"".join(chunks)) == b"hello /z"
    status, headers, body = parse(conn.send(GET % b"/p"))
    assert body == b"hello /p" and b"content-encoding" not in headers


def test_sessions(parse: Parse, connect: Callable[..., Conn], clock: Clock) -> None:
    class S(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return request.getSession().uid

    conn = connect(S())
    out = conn.send(GET % b"/")
    _, headers, uid = parse(out)
    assert headers[b"set-cookie"].startswith(b"GLISTEN_SESSION=" + uid)
    assert b"HttpOnly" in headers[b"set-cookie"]
    again = parse(
        conn.send(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: GLISTEN_SESSION=%s\r\n\r\n" % uid)
    )
    assert again[2] == uid and b"set-cookie" not in again[1]
    clock.advance(server.Session.sessionTimeout + 1)
    assert uid not in conn.site.sessions


def test_headerTimeout(connect: Callable[..., Conn], clock: Clock) -> None:
    """A client that never finishes its request head is answered 408 and disconnected."""
    conn = connect(Hello())
    conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n")
    for _ in range(20):
        clock.advance(5)
        conn.channel.dataReceived(b"X-Slow: 1\r\n")
        if conn.transport.disconnecting:
            break
    assert conn.transport.disconnecting
    assert b"408" in conn.transport.value()


def test_idleTimeout(connect: Callable[..., Conn], clock: Clock) -> None:
    conn = connect(Hello())
    conn.send(GET % b"/")
    clock.advance(30)
    assert not conn.transport.disconnecting
    for _ in range(10):
        clock.advance(10)
    assert conn.transport.disconnecting


def test_accessLog(tmp_path: Any, connect: Callable[..., Conn]) -> None:
    path = tmp_path / "access.log"
    conn = connect(Hello(), logPath=str(path))
    site = conn.site
    site.startFactory()
    conn = connect(Hello(), site=site)
    conn.send(
        b'GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: a"b\nc\r\nReferer: r\r\n\r\n'.replace(
            b"\nc", b"c"
        )
    )
    site.stopFactory()
    line = path.read_text()
    assert '"GET /x HTTP/1.1" 200 8 "r" "a\\"bc"' in line
    assert line.count("\n") == 1


def test_multipartForm(connect: Callable[..., Conn]) -> None:
    seen: dict[str, Any] = {}

    class Inspect(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            seen["args"] = request.args
            return b""

    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--XyZ--\r\n"
    )
    connect(Inspect()).send(
        b"POST /?q=1 HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert seen["args"] == {b"q": [b"1"], b"a": [b"one"], b"f": [b"\x00\x01"]}


def test_pipelineFloodPausesReading(connect: Callable[..., Conn]) -> None:
    """While a request is being answered, pipelined bytes beyond the buffer limit pause the
    transport, and finishing the response resumes it."""
    pending: list[Any] = []

    class Hold(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            pending.append(request)
            return NOT_DONE_YET

    conn = connect(Hold())
    conn.send(GET % b"/first")
    one = GET % b"/next"
    # Just over the limit: answering one request brings the buffer back under it.
    for _ in range(conn.channel.maxPipelineBuffer // len(one) + 1):
        conn.channel.dataReceived(one)
    assert conn.transport.producerState == "paused"
    assert len(pending) == 1
    pending[0].finish()
    assert conn.transport.producerState == "producing"
    assert len(pending) == 2


def test_pipelinedRequestsYieldToOtherConnections(
    connect: Callable[..., Conn], clock: Clock
) -> None:
    """One read full of pipelined requests is answered ``maxRequestsPerTurn`` at a time, with
    reading paused and the rest left to a later turn of the reactor, so other connections get
    theirs (issue 29). (The fake clock runs the following turns in one ``advance``; the
    reactor runs one a turn.)"""
    conn = connect(Hello())
    per = conn.channel.maxRequestsPerTurn
    out = conn.send(b"".join(GET % (b"/%d" % i) for i in range(3 * per + 10)))
    assert out.count(b"HTTP/1.1 200") == per
    assert conn.transport.producerState == "paused"
    assert [c for c in clock.getDelayedCalls() if "_takeTurn" in repr(c)]
    clock.advance(0)
    assert conn.transport.value().count(b"HTTP/1.1 200") == 3 * per + 10
    assert conn.transport.producerState == "producing"
    assert all("_takeTurn" not in repr(c) for c in clock.getDelayedCalls())
    # In order, nothing lost.
    parts = conn.transport.value().split(b"hello /")[1:]
    assert [int(part.split(b"HTTP/")[0]) for part in parts] == list(range(3 * per + 10))


def test_yieldedTurnIsCancelledWhenTheConnectionCloses(
    connect: Callable[..., Conn], clock: Clock
) -> None:
    conn = connect(Hello())
    conn.send(b"".join(GET % b"/" for _ in range(conn.channel.maxRequestsPerTurn + 1)))
    conn.channel.connectionLost(Failure(ConnectionDone()))
    assert all("_takeTurn" not in repr(c) for c in clock.getDelayedCalls())


def test_maxHeadersSubclass(clock: Clock) -> None:
    class Strict(http.HTTPChannel):
        maxHeaders = 3

    site = server.Site(Hello(), reactor=clock)
    site.protocol = Strict
    channel = site.buildProtocol(None)
    from glisten.internet.testing import StringTransport

    transport = StringTransport()
    channel.makeConnection(transport)
    channel.dataReceived(b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 431 ")


def test_accessLogToLogger(connect: Callable[..., Conn]) -> None:
    from glisten.logger import formatEvent, globalLogPublisher

    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        connect(Hello()).send(b"GET /q HTTP/1.1\r\nHost: h\r\nUser-Agent: curl\r\n\r\n")
    finally:
        globalLogPublisher.removeObserver(events.append)
    lines = [formatEvent(e) for e in events if e.get("log_namespace") == "glisten.web.access"]
    assert len(lines) == 1
    assert '"GET /q HTTP/1.1" 200 8 "-" "curl"' in lines[0]


def test_accessLogIsWrittenInBatches(
    tmp_path: Any, connect: Callable[..., Conn], clock: Any
) -> None:
    """Lines wait at most a second (or until a batch is full), then go out in order."""
    path = tmp_path / "access.log"
    site = connect(Hello(), logPath=str(path)).site
    site.startFactory()
    conn = connect(Hello(), site=site)
    for i in range(3):
        conn.send(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i)
    assert path.read_text() == ""
    clock.advance(1)
    assert [line.split('"')[3] for line in path.read_text().splitlines()] == [
        "GET /0 HTTP/1.1",
        "GET /1 HTTP/1.1",
        "GET /2 HTTP/1.1",
    ]
    site._logFile.maxLines = 2
    conn.send(b"GET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert path.read_text().count("\n") == 3
    conn.send(b"GET /4 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert path.read_text().count("\n") == 5
    assert not [c for c in clock.getDelayedCalls() if "flush" in repr(c)]
    conn.send(b"GET /5 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert [c for c in clock.getDelayedCalls() if "flush" in repr(c)]
    site.stopFactory()
    assert path.read_text().splitlines()[-1].split('"')[3] == "GET /5 HTTP/1.1"


def test_proxiedLogFormatter(connect: Callable[..., Conn], tmp_path: Any) -> None:
    path = tmp_path / "access.log"
    conn = connect(Hello(), logPath=str(path), logFormatter=http.proxiedLogFormatter)
    conn.site.startFactory()
    conn.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n")
    conn.site.stopFactory()
    assert path.read_text().startswith('"10.0.0.2" - - [')
