"""HTTP/2 through a Site: the same requests, resources and producers as HTTP/1.1."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.internet.interfaces import IPushProducer
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.web import server, static
from glisten.web.resource import Resource
from glisten.web.wsgi import WSGIResource

from ._h2peer import Hello, Later, Peer, parseFrames

SETTINGS = h2.settings.SettingCodes


def test_helloPriorKnowledge(h2peer: Any) -> None:
    peer: Peer = h2peer()
    sid = peer.request(b"/")
    status, headers, body, ended = peer.response(sid)
    assert (status, body, ended) == (200, b"hello HTTP/2", True)
    assert headers[b"content-length"] == b"12"
    assert headers[b"server"].startswith(b"glisten-web/")
    assert not peer.closed


def test_synchronousResponseIsOneWrite(h2peer: Any) -> None:
    """A response made while the request is read leaves as HEADERS and one DATA frame that
    ends the stream, in one transport write."""
    peer: Peer = h2peer()
    writes: list[bytes] = []
    original = peer.transport.write
    peer.transport.write = lambda data: (writes.append(data), original(data))  # type: ignore[method-assign]
    peer.client.send_headers(
        1,
        [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"), (b":authority", b"h")],
        end_stream=True,
    )
    peer.channel.dataReceived(peer.client.data_to_send())
    assert len(writes) == 1
    frames = [f for f in parseFrames(writes[0]) if f.stream_id == 1]
    assert [type(f).__name__ for f in frames] == ["HeadersFrame", "DataFrame"]
    assert "END_STREAM" in frames[1].flags


def test_severalStreamsOneConnection(h2peer: Any) -> None:
    peer: Peer = h2peer()
    ids = [peer.request(b"/") for _ in range(5)]
    for sid in ids:
        assert peer.response(sid)[2] == b"hello HTTP/2"


def test_postBody(h2peer: Any) -> None:
    peer: Peer = h2peer()
    body = os.urandom(200_000)  # larger than a window: the server must acknowledge it
    sid = peer.client.get_next_available_stream_id()
    peer.client.send_headers(
        sid,
        [
            (b":method", b"POST"),
            (b":path", b"/"),
            (b":scheme", b"http"),
            (b":authority", b"h"),
            (b"content-length", b"%d" % len(body)),
        ],
    )
    sent = 0
    while sent < len(body):
        room = min(peer.client.local_flow_control_window(sid), 16384, len(body) - sent)
        assert room > 0, "the server stopped opening its window"
        peer.client.send_data(sid, body[sent : sent + room], end_stream=sent + room == len(body))
        sent += room
        peer.flush()
    assert peer.response(sid)[2] == b"got 200000"


def test_alpnOverTLS(clock: Clock) -> None:
    """The default (http2=None) serves h2 when TLS negotiated it."""
    site = server.Site(Hello(), reactor=clock)
    assert site.acceptableProtocols() == [b"h2", b"http/1.1"]
    peer = Peer(site, clock, tls=True)
    sid = peer.request(b"/")
    assert peer.response(sid)[:1] == (200,)
    assert peer.response(sid)[2] == b"hello HTTP/2"


def test_alpnHTTP11(clock: Clock) -> None:
    """TLS that negotiated http/1.1 stays HTTP/1.1."""
    site = server.Site(Hello(), reactor=clock)
    transport = StringTransport()
    from zope.interface import alsoProvides

    from glisten.internet.interfaces import ISSLTransport

    alsoProvides(transport, ISSLTransport)
    transport.negotiatedProtocol = b"http/1.1"  # type: ignore[attr-defined]
    channel = site.buildProtocol(None)
    channel.makeConnection(transport)
    channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 200 OK")
    assert transport.value().endswith(b"hello HTTP/1.1")


def test_cleartextOffByDefault(clock: Clock) -> None:
    """Without http2=True a clear-text preface is not HTTP/2 (Twisted's behaviour)."""
    site = server.Site(Hello(), reactor=clock)
    peer = Peer(site, clock, preface=False)
    peer.channel.dataReceived(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert peer.transport.value().startswith(b"HTTP/1.1 ")


def test_http2Off(clock: Clock) -> None:
    site = server.Site(Hello(), reactor=clock)
    site.http2 = False
    assert site.acceptableProtocols() == [b"http/1.1"]


def test_http11StillServedWhenCleartextOn(h2peer: Any) -> None:
    peer: Peer = h2peer(preface=False)
    for piece in (b"G", b"ET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        peer.channel.dataReceived(piece)
    assert peer.transport.value().endswith(b"hello HTTP/1.1")


@pytest.mark.parametrize("http2", [True, False])
def test_bytesAfterTheDecisionThroughTheOldMethod(h2peer: Any, http2: bool) -> None:
    """TLS delivers every record of one read through the method it looked up first: bytes
    that arrive that way after the channel decided go to the protocol it decided for."""
    peer: Peer = h2peer(preface=False)
    first = peer.channel.dataReceived
    if http2:
        peer.client.initiate_connection()
        preface = peer.client.data_to_send()
        peer.client.send_headers(
            1,
            [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"), (b":authority", b"x")],
            end_stream=True,
        )
        first(preface)
        first(peer.client.data_to_send())
        peer.read()
        assert peer.response(1)[2] == b"hello HTTP/2"
    else:
        first(b"GET / HTTP/1.1\r\n")
        first(b"Host: x\r\n\r\n")
        assert peer.transport.value().endswith(b"hello HTTP/1.1")


def test_prefaceByteAtATime(h2peer: Any) -> None:
    peer: Peer = h2peer(preface=False)
    peer.client.initiate_connection()
    data = peer.client.data_to_send()
    for i in range(len(data)):
        peer.channel.dataReceived(data[i : i + 1])
    peer.read()
    sid = peer.request(b"/")
    assert peer.response(sid)[2] == b"hello HTTP/2"


def test_upgradeH2c(h2peer: Any) -> None:
    peer: Peer = h2peer(preface=False)
    settings = peer.client.initiate_upgrade_connection()
    assert settings is not None
    peer.channel.dataReceived(
        b"GET /up HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n" + peer.client.data_to_send()
    )
    out = peer.transport.value()
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols")
    assert b"Upgrade: h2c" in head
    peer.transport.clear()
    peer.events.extend(peer.client.receive_data(rest))
    peer.flush()
    assert peer.response(1)[:1] == (200,)
    assert peer.response(1)[2] == b"hello HTTP/2"
    sid = peer.request(b"/again")
    assert peer.response(sid)[2] == b"hello HTTP/2"


@pytest.mark.parametrize(
    "extra",
    [
        b"Content-Length: 3\r\n\r\nabc",  # a body: not upgraded
        b"\r\n",  # no HTTP2-Settings
    ],
)
def test_upgradeIgnored(h2peer: Any, extra: bytes) -> None:
    peer: Peer = h2peer(preface=False)
    settings = b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n" if extra.startswith(b"Content") else b""
    peer.channel.dataReceived(
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        + settings
        + extra
    )
    assert peer.transport.value().startswith(b"HTTP/1.1 200 OK")


def test_upgradeBadSettingsIgnored(h2peer: Any) -> None:
    peer: Peer = h2peer(preface=False)
    peer.channel.dataReceived(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: " + base64.urlsafe_b64encode(b"12345") + b"\r\n\r\n"
    )
    assert peer.transport.value().startswith(b"HTTP/1.1 200 OK")


def test_head(h2peer: Any) -> None:
    peer: Peer = h2peer()
    sid = peer.request(b"/", method=b"HEAD")
    status, headers, body, ended = peer.response(sid)
    assert (status, body, ended) == (200, b"", True)
    assert headers[b"content-length"] == b"12"


def test_notFoundAndErrors(h2peer: Any) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise RuntimeError("boom")

    root = Resource()
    root.putChild(b"boom", Boom())
    peer: Peer = h2peer(root)
    assert peer.response(peer.request(b"/missing"))[0] == 404
    assert peer.response(peer.request(b"/boom"))[0] == 500
    assert peer.response(peer.request(b"/boom", method=b"BREW"))[0] == 501
    assert not peer.closed


def test_requestSurface(h2peer: Any) -> None:
    seen: dict[str, Any] = {}

    class Look(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            seen["host"] = request.getHeader(b"host")
            seen["cookies"] = request.received_cookies
            seen["args"] = request.args
            seen["secure"] = request.isSecure()
            seen["proto"] = request.clientproto
            seen["uri"] = request.uri
            request.setHeader(b"connection", b"close")  # HTTP/1.1 only: dropped
            request.addCookie(b"k", b"v")
            return b"ok"

    peer: Peer = h2peer(Look())
    sid = peer.request(
        b"/a?x=1&x=2", headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"accept", b"*/*")]
    )
    status, headers, _, _ = peer.response(sid)
    assert status == 200
    assert b"connection" not in headers
    assert headers[b"set-cookie"] == b"k=v"
    assert seen == {
        "host": b"example.com",
        "cookies": {b"a": b"1", b"b": b"2"},
        "args": {b"x": [b"1", b"2"]},
        "secure": False,
        "proto": b"HTTP/2",
        "uri": b"/a?x=1&x=2",
    }


def test_laterAnswersInAnyOrder(h2peer: Any) -> None:
    later = Later()
    pending = later.pending
    peer: Peer = h2peer(later)
    first, second = peer.request(b"/1"), peer.request(b"/2")
    assert len(pending) == 2
    pending[1].callback(b"two")
    peer.read()
    assert peer.response(second)[2] == b"two"
    assert peer.response(first)[3] is False
    pending[0].callback(b"one")
    peer.read()
    assert peer.response(first)[2] == b"one"


def test_clientResetCancelsRequest(h2peer: Any) -> None:
    lost: list[Any] = []

    class Hang(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.notifyFinish().addErrback(lost.append)
            return server.NOT_DONE_YET

    peer: Peer = h2peer(Hang())
    sid = peer.request(b"/")
    peer.client.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    peer.flush()
    assert len(lost) == 1
    assert not peer.closed


def test_expectContinue(h2peer: Any) -> None:
    peer: Peer = h2peer()
    sid = peer.request(
        b"/",
        method=b"POST",
        headers=[(b"expect", b"100-continue"), (b"content-length", b"3")],
        end=False,
    )
    informational = [
        e for e in peer.events if isinstance(e, h2.events.InformationalResponseReceived)
    ]
    assert informational and dict(informational[0].headers)[b":status"] == b"100"
    peer.client.send_data(sid, b"abc", end_stream=True)
    peer.flush()
    assert peer.response(sid)[2] == b"got 3"


def test_bodyTooLarge(clock: Clock) -> None:
    site = server.Site(Hello(), reactor=clock)
    site.maxRequestBody = 10
    site.http2 = True
    peer = Peer(site, clock)
    sid = peer.request(b"/", method=b"POST", body=b"x" * 11)
    assert peer.response(sid)[0] == 413
    assert not peer.closed
    assert peer.response(peer.request(b"/"))[0] == 200


def test_accessLog(tmp_path: Path, clock: Clock) -> None:
    log = tmp_path / "access.log"
    site = server.Site(Hello(), logPath=str(log), reactor=clock)
    site.http2 = True
    site.startFactory()
    try:
        peer = Peer(site, clock)
        peer.response(peer.request(b"/logged"))
    finally:
        site.stopFactory()
    assert '"GET /logged HTTP/2" 200 12' in log.read_text()


def test_wsgi(h2peer: Any) -> None:
    from glisten.python.threadpool import ThreadPool

    def app(environ: dict[str, Any], start: Any) -> list[bytes]:
        start("200 OK", [("Content-Type", "text/plain")])
        return [environ["SERVER_PROTOCOL"].encode(), b" ", environ["PATH_INFO"].encode()]

    class SyncPool(ThreadPool):
        def callInThreadWithCallback(self, onResult: Any, f: Any, *a: Any, **kw: Any) -> None:
            try:
                result = f(*a, **kw)
            except BaseException as e:  # pragma: no cover - not expected
                onResult(False, e)
            else:
                onResult(True, result)

    class SyncReactor:
        def callFromThread(self, f: Any, *a: Any, **kw: Any) -> None:
            f(*a, **kw)

    peer: Peer = h2peer(WSGIResource(SyncReactor(), SyncPool(), app))  # type: ignore[arg-type]
    status, _, body, ended = peer.response(peer.request(b"/w/x"))
    assert (status, body, ended) == (200, b"HTTP/2 /w/x", True)


@implementer(IPushProducer)
class Firehose:
    """A push producer writing ``chunk`` until told to pause, ``total`` bytes in all."""

    def __init__(self, request: Any, total: int, chunk: int = 16384) -> None:
        self.request = request
        self.left = total
        self.chunk = chunk
        self.paused = False
        self.pauses = 0

    def start(self) -> None:
        self.request.registerProducer(self, True)
        self.resumeProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        while not self.paused and self.left > 0:
            n = min(self.chunk, self.left)
            self.left -= n
            self.request.write(b"z" * n)
        if self.left <= 0 and not self.paused:
            self.request.unregisterProducer()
            self.request.finish()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def stopProducing(self) -> None:
        self.left = 0


def _producerSite(total: int, clock: Clock, made: list[Firehose]) -> server.Site:
    class Stream(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            producer = Firehose(request, total)
            made.append(producer)
            producer.start()
            return server.NOT_DONE_YET

    site = server.Site(Stream(), reactor=clock)
    site.http2 = True
    return site


def test_slowReaderPausesProducer(clock: Clock) -> None:
    """The client's window, not the producer, decides how fast bytes leave: the producer is
    paused while its stream holds a buffer's worth, and resumed as the client reads."""
    made: list[Firehose] = []
    total = 1_000_000
    peer = Peer(_producerSite(total, clock, made), clock)
    sid = peer.request(b"/")
    producer = made[0]
    assert producer.paused
    codec = peer.channel._upgraded._codec  # the test looks at the codec's queue
    limit = codec.limits.streamBufferSize
    assert codec.bufferedFor(sid) <= limit + producer.chunk
    got = 0
    for _ in range(1000):
        status, _, body, ended = peer.response(sid)
        peer.events = [e for e in peer.events if not isinstance(e, h2.events.DataReceived)]
        got += len(body)
        peer.flush()
        assert codec.bufferedFor(sid) <= limit + producer.chunk
        if ended:
            break
    assert got == total
    assert producer.pauses > 1


def test_staticFileWindowed(tmp_path: Path, clock: Clock) -> None:
    data = os.urandom(300_000)
    (tmp_path / "big.bin").write_bytes(data)
    site = server.Site(static.File(str(tmp_path)), reactor=clock)
    site.http2 = True
    peer = Peer(site, clock)
    sid = peer.request(b"/big.bin")
    codec = peer.channel._upgraded._codec
    assert codec.bufferedFor(sid) <= codec.limits.streamBufferSize + 65536
    body = b""
    for _ in range(1000):
        status, headers, chunk, ended = peer.response(sid)
        peer.events = [e for e in peer.events if not isinstance(e, h2.events.DataReceived)]
        body += chunk
        peer.flush()
        if ended:
            break
    assert status == 200 and headers[b"content-length"] == b"300000"
    assert body == data


def test_transportBackPressure(clock: Clock) -> None:
    """A full transport pauses the stream's producer and reading; resuming resumes both."""
    made: list[Firehose] = []
    peer = Peer(
        _producerSite(100_000, clock, made), clock, settings={SETTINGS.INITIAL_WINDOW_SIZE: 2**30}
    )
    connection = peer.channel._upgraded
    connection.pauseProducing()
    assert peer.transport.producerState == "paused"
    peer.client.increment_flow_control_window(2**30)
    sid = peer.request(b"/")
    assert made[0].paused
    before = len(peer.transport.value())
    connection.resumeProducing()
    assert peer.transport.producerState == "producing"
    assert len(peer.transport.value()) >= before
    peer.read()
    assert peer.response(sid)[3]


def test_gracefulShutdown(h2peer: Any) -> None:
    later = Later()
    pending = later.pending
    peer: Peer = h2peer(later)
    sid = peer.request(b"/")
    peer.channel._upgraded.gracefulShutdown()
    peer.read()
    peer.transport.clear()
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == 0 and goaway.last_stream_id == sid
    assert not peer.closed
    pending[0].callback(b"finished")
    # The h2 client stops reading at GOAWAY; the frames after it are checked raw.
    frames = parseFrames(peer.transport.value())
    assert type(frames[0]).__name__ == "HeadersFrame"
    assert b"".join(f.data for f in frames[1:]) == b"finished"
    assert "END_STREAM" in frames[-1].flags
    assert peer.closed


def test_idleTimeout(h2peer: Any, clock: Clock) -> None:
    peer: Peer = h2peer()
    peer.response(peer.request(b"/"))
    clock.advance(59)
    assert not peer.closed
    clock.advance(2)
    peer.read()
    assert peer.closed
    assert peer.goaway() is not None


def test_applicationHasNoTimeLimit(h2peer: Any, clock: Clock) -> None:
    class Hang(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    peer: Peer = h2peer(Hang())
    peer.request(b"/")
    clock.advance(600)
    assert not peer.closed


def test_stalledRequestBodyTimesOut(clock: Clock) -> None:
    """A request whose body stops coming does not hold the connection."""
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    site.minBodyRate = 0  # the timeout alone, here
    peer = Peer(site, clock)
    sid = peer.request(b"/", method=b"POST", headers=[(b"content-length", b"10")], end=False)
    peer.client.send_data(sid, b"12345")
    peer.flush()
    clock.advance(59)
    assert not peer.closed
    peer.client.send_data(sid, b"6")  # traffic restarts the countdown
    peer.flush()
    clock.advance(59)
    assert not peer.closed
    clock.advance(2)
    assert peer.closed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_randomFramesNeverRaise(chunks: list[bytes]) -> None:
    """Whatever follows a valid opening, the connection answers or hangs up; nothing
    escapes into the reactor."""
    clock = Clock()
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    peer = Peer(site, clock)
    peer.request(b"/")
    for chunk in chunks:
        peer.channel.dataReceived(chunk)
    clock.advance(120)
    assert peer.closed


def _slowBodySite(clock: Clock) -> server.Site:
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    site.minBodyRate = 100
    site.bodyRateWindow = 10
    return site


def test_requestBodyTooSlow(clock: Clock) -> None:
    """A body trickled below the minimum rate (data dribble) is answered 408, and its
    stream closed, however regularly its bytes come."""
    peer = Peer(_slowBodySite(clock), clock)
    slow = peer.request(b"/", method=b"POST", headers=[(b"content-length", b"100000")], end=False)
    fast = peer.request(b"/", method=b"POST", headers=[(b"content-length", b"4000")], end=False)
    for _ in range(9):
        peer.client.send_data(slow, b"x")
        peer.client.send_data(fast, b"y" * 200)
        peer.flush()
        clock.advance(1)
    assert peer.response(slow)[0] == 0
    clock.advance(1)
    peer.read()
    assert peer.response(slow)[:1] == (408,)
    assert peer.response(slow)[3]
    assert peer.response(fast)[0] == 0  # 200 bytes a second: still arriving, still welcome
    peer.client.send_data(fast, b"y" * 2200, end_stream=True)
    peer.flush()
    assert peer.response(fast)[2] == b"got 4000"
    assert not peer.closed


def test_requestBodyRateOff(clock: Clock) -> None:
    site = _slowBodySite(clock)
    site.minBodyRate = 0
    peer = Peer(site, clock)
    sid = peer.request(b"/", method=b"POST", headers=[(b"content-length", b"2")], end=False)
    peer.client.send_data(sid, b"x")
    peer.flush()
    clock.advance(50)
    peer.client.send_data(sid, b"x", end_stream=True)
    peer.flush()
    assert peer.response(sid)[2] == b"got 2"
