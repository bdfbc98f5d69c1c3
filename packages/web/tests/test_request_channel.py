"""``http.Request`` over a test double with Twisted's documented channel surface.

The double is shaped like Twisted's ``DummyChannel`` (``twisted.web.test.requesthelper``):
``transport``, ``getPeer``, ``getHost``, ``isSecure``, ``writeHeaders``, ``write``,
``writeSequence``, ``requestDone``, ``registerProducer``/``unregisterProducer`` and
``loseConnection``; it writes raw bytes and frames nothing. A request must work over it
without touching anything private, as Twisted's does.
"""

from __future__ import annotations

import io
from typing import Any

from zope.interface import implementer

from glisten.internet.address import IPv4Address
from glisten.internet.interfaces import ISSLTransport
from glisten.python.failure import Failure
from glisten.web import http, server
from glisten.web.http_headers import Headers
from glisten.web.resource import Resource


class DummyChannel:
    class TCP:
        port = 80
        disconnected = False

        def __init__(self, peer: Any = None) -> None:
            self._peer = peer or IPv4Address("TCP", "192.168.1.1", 12344)
            self.written = io.BytesIO()
            self.producers: list[tuple[Any, bool]] = []

        def getPeer(self) -> Any:
            return self._peer

        def getHost(self) -> Any:
            return IPv4Address("TCP", "10.0.0.1", self.port)

        def write(self, data: bytes) -> None:
            self.written.write(data)

        def writeSequence(self, data: list[bytes]) -> None:
            for piece in data:
                self.write(piece)

        def registerProducer(self, producer: Any, streaming: bool) -> None:
            self.producers.append((producer, streaming))

        def unregisterProducer(self) -> None:
            self.producers.pop()

        def loseConnection(self) -> None:
            self.disconnected = True

    @implementer(ISSLTransport)
    class SSL(TCP):
        port = 443

    site = server.Site(Resource())

    def __init__(self, peer: Any = None, secure: bool = False) -> None:
        self.transport = self.SSL(peer) if secure else self.TCP(peer)
        self.done: list[Any] = []

    def requestDone(self, request: Any) -> None:
        self.done.append(request)

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Headers) -> None:
        lines = [version + b" " + code + b" " + reason + b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            lines.extend(name + b": " + value + b"\r\n" for value in values)
        lines.append(b"\r\n")
        self.transport.writeSequence(lines)

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.transport.unregisterProducer()

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def writeSequence(self, data: list[bytes]) -> None:
        self.transport.writeSequence(data)

    def loseConnection(self) -> None:
        self.transport.loseConnection()

    def isSecure(self) -> bool:
        return isinstance(self.transport, self.SSL)


class Answer(http.Request):
    def process(self) -> None:
        self.setHeader(b"content-type", b"text/plain")
        self.write(b"you asked for " + self.path)
        self.finish()


def written(channel: DummyChannel) -> bytes:
    return channel.transport.written.getvalue()


def test_requestAnswersOverDummyChannel() -> None:
    channel = DummyChannel()
    request = Answer(channel, False)
    request.requestHeaders.setRawHeaders(b"host", [b"example.com"])
    request.requestReceived(b"GET", b"/a?x=1", b"HTTP/1.1")
    out = written(channel)
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: text/plain\r\n" in out
    assert out.endswith(b"\r\n\r\nyou asked for /a")
    assert channel.done == [request]
    assert request.finished and request.startedWriting
    assert request.sentLength == len(b"you asked for /a")


def test_documentedAttributes() -> None:
    channel = DummyChannel()
    request = Answer(channel, False)
    assert request.channel is channel
    assert request.transport is channel.transport
    assert request.client == IPv4Address("TCP", "192.168.1.1", 12344)
    assert request.getClientAddress() == request.client
    assert request.getClientIP() == "192.168.1.1"
    assert request.host == IPv4Address("TCP", "10.0.0.1", 80)
    assert request.getHost() == request.host
    assert request.queued == 0
    assert request.code == 200 and request.code_message == b"OK"
    assert (request.finished, request.startedWriting, request.sentLength) == (False, False, 0)
    assert request.cookies == []
    assert request.content.read() == b""
    request.requestHeaders.setRawHeaders(b"cookie", [b"a=1; b=2"])
    request.requestReceived(b"POST", b"/p/q?k=v&k=w", b"HTTP/1.0")
    assert (request.method, request.uri, request.path) == (b"POST", b"/p/q?k=v&k=w", b"/p/q")
    assert request.clientproto == b"HTTP/1.0"
    assert request.args == {b"k": [b"v", b"w"]}
    assert request.received_cookies == {b"a": b"1", b"b": b"2"}


def test_isSecureAndSetHost() -> None:
    assert not Answer(DummyChannel(), False).isSecure()
    assert Answer(DummyChannel(secure=True), False).isSecure()
    request = Answer(DummyChannel(), False)
    request.setHost(b"www.example.com", 443, ssl=True)
    assert request.isSecure()
    assert request.getHeader(b"host") == b"www.example.com"
    assert request.getHost() == IPv4Address("TCP", "www.example.com", 443)
    assert request.getRequestHostname() == b"www.example.com"
    request = Answer(DummyChannel(), False)
    request.setHost(b"example.org", 8080)
    assert not request.isSecure()
    assert request.getHeader(b"host") == b"example.org:8080"


def test_bodyAndCookiesAndHead() -> None:
    channel = DummyChannel()
    request = http.Request(channel, False)
    request.gotLength(5)
    request.handleContentChunk(b"hel")
    request.handleContentChunk(b"lo")

    def process() -> None:
        assert request.content.read() == b"hello"
        request.addCookie(b"s", b"1", path=b"/")
        request.write(b"body")
        request.finish()

    request.process = process  # type: ignore[method-assign]
    request.requestReceived(b"HEAD", b"/", b"HTTP/1.1")
    out = written(channel)
    assert b"Set-Cookie: s=1; Path=/\r\n" in out
    # A HEAD response has no body, whatever the resource writes.
    assert out.endswith(b"\r\n\r\n")
    assert channel.done == [request]


def test_producerGoesThroughTheChannel() -> None:
    channel = DummyChannel()
    request = http.Request(channel, False)
    producer = object()
    request.registerProducer(producer, False)  # type: ignore[arg-type]
    assert channel.transport.producers == [(producer, False)]
    request.unregisterProducer()
    assert channel.transport.producers == []


def test_notifyFinishAndConnectionLost() -> None:
    request = http.Request(DummyChannel(), False)
    seen: list[Any] = []
    request.notifyFinish().addErrback(seen.append)
    request.connectionLost(Failure(ConnectionError("gone")))
    assert len(seen) == 1 and seen[0].check(ConnectionError)


def test_siteRequestOverDummyChannel() -> None:
    """``server.Request`` finds and renders a resource over the double (its ``site``)."""

    class Leaf(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"leaf at " + b"/".join(request.prepath)

    root = Resource()
    root.putChild(b"x", Leaf())
    channel = DummyChannel()
    channel.site = server.Site(root)
    request = server.Request(channel, False)
    request.requestHeaders.setRawHeaders(b"host", [b"h"])
    request.requestReceived(b"GET", b"/x/y", b"HTTP/1.1")
    out = written(channel)
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.endswith(b"leaf at x")
    assert channel.done == [request]


def test_httpChannelTakesHeaderPairs(connect: Any) -> None:
    """Old callers pass ``writeHeaders`` name/value pairs instead of Headers."""

    class Pairs(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.startedWriting = True
            request.channel.writeHeaders(
                b"HTTP/1.1", b"200", b"OK", [(b"Content-Length", b"2"), (b"X-A", b"1")]
            )
            request.channel.write(b"ok")
            request.finished = True
            request.channel.requestDone(request)
            return server.NOT_DONE_YET

    out = connect(Pairs()).send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"X-A: 1\r\n" in out and out.endswith(b"\r\n\r\nok")


def test_wsgiOverDummyChannel() -> None:
    """A WSGI application answers a site request made over the double (a real reactor runs
    the application's thread)."""
    from glisten.internet.epollreactor import EPollReactor
    from glisten.web.wsgi import WSGIResource

    def app(environ: dict[str, Any], startResponse: Any) -> list[bytes]:
        startResponse("201 Created", [("Content-Type", "text/plain")])
        return [b"wsgi saw ", environ["PATH_INFO"].encode("ascii")]

    reactor = EPollReactor()
    channel = DummyChannel()
    channel.site = server.Site(WSGIResource(reactor, None, app), reactor=reactor)
    request = server.Request(channel, False)
    request.requestHeaders.setRawHeaders(b"host", [b"h"])

    def start() -> None:
        request.notifyFinish().addBoth(lambda _: reactor.stop())
        request.requestReceived(b"GET", b"/some/path", b"HTTP/1.1")

    reactor.callWhenRunning(start)
    reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    out = written(channel)
    assert out.startswith(b"HTTP/1.1 201 Created\r\n")
    assert out.endswith(b"wsgi saw /some/path")
    assert channel.done == [request]
