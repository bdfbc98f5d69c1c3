"""The HTTP/2 flood and abuse classes of the CVE list: each is answered with GOAWAY and a closed
connection, and leaves nothing buffered behind."""

from __future__ import annotations

from typing import Any

import h2.errors
import pytest
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from glisten.internet.task import Clock
from glisten.web import server, static
from glisten.web._h2 import Limits

from ._h2peer import Hello, RawPeer

CALM = h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
PROTOCOL = h2.errors.ErrorCodes.PROTOCOL_ERROR


def _site(clock: Clock, root: Any = None) -> server.Site:
    site = server.Site(root if root is not None else Hello(), reactor=clock)
    site.http2 = True
    return site


def _assertEnded(peer: RawPeer, code: int) -> None:
    peer.send()  # collect what the server wrote since
    goaway = peer.goaway()
    assert goaway is not None, "no GOAWAY"
    assert goaway.error_code == code
    assert peer.closed
    connection = peer.channel._upgraded
    assert not connection.streams
    assert connection._codec.openStreams == 0 and not connection._codec.blocked


def _flood(peer: RawPeer, frame: Any, count: int) -> int:
    """Send ``frame`` until the server hangs up; return how many it took."""
    for sent in range(1, count + 1):
        peer.send(frame)
        if peer.closed:
            return sent
    return count + 1


def test_pingFlood(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    sent = _flood(peer, PingFrame(0, opaque_data=b"12345678"), 1000)
    assert sent == Limits().maxPings + 1
    _assertEnded(peer, CALM)
    # What the server answered before hanging up is bounded by the limit too.
    acks = [f for f in peer.frames if type(f).__name__ == "PingFrame"]
    assert len(acks) <= Limits().maxPings + 1


def test_pingsSpreadOutAreFine(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    for _ in range(3 * Limits().maxPings):
        peer.send(PingFrame(0, opaque_data=b"12345678"))
        clock.advance(Limits().floodWindow / Limits().maxPings * 1.5)
    assert not peer.closed


def test_settingsFlood(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    _flood(peer, SettingsFrame(0, settings={4: 65535}), 1000)
    _assertEnded(peer, CALM)


def test_emptyDataFlood(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    peer.send(peer.headers(1, method=b"POST", end=False))
    _flood(peer, DataFrame(1, b""), 1000)
    _assertEnded(peer, CALM)


def test_priorityFlood(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    _flood(peer, PriorityFrame(3, depends_on=0, stream_weight=15), 1000)
    _assertEnded(peer, CALM)


def test_rapidReset(clock: Clock) -> None:
    """CVE-2023-44487: streams opened and cancelled at once, as fast as the client can."""
    seen: list[bytes] = []

    class Slow(Hello):
        def render_GET(self, request: Any) -> int:
            seen.append(request.uri)
            return server.NOT_DONE_YET

    peer = RawPeer(_site(clock, Slow()), clock)
    streamId = 1
    for _ in range(1000):
        peer.send(peer.headers(streamId), RstStreamFrame(streamId, error_code=8))
        streamId += 2
        if peer.closed:
            break
    _assertEnded(peer, CALM)
    assert len(seen) <= Limits().maxResets + 1


def test_resetsOfFinishedStreamsAreFine(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    streamId = 1
    for _ in range(2 * Limits().maxResets):
        peer.send(peer.headers(streamId))
        peer.send(RstStreamFrame(streamId, error_code=8))
        streamId += 2
    assert not peer.closed


def test_streamsPastGoAwayCountAsResets(clock: Clock) -> None:
    """A client that keeps opening streams after GOAWAY has them refused, and a flood of
    refusals ends the connection."""

    class Hang(Hello):
        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    peer = RawPeer(_site(clock, Hang()), clock)
    peer.channel._upgraded._codec.limits = Limits(maxStreamsPerConnection=1)
    peer.send(peer.headers(1))
    assert peer.goaway() is not None and not peer.closed
    streamId = 3
    for _ in range(1000):
        peer.send(peer.headers(streamId))
        streamId += 2
        if peer.closed:
            break
    assert peer.resetCode(3) == h2.errors.ErrorCodes.REFUSED_STREAM
    goaways = [f for f in peer.frames if type(f).__name__ == "GoAwayFrame"]
    assert goaways[-1].error_code == CALM
    assert peer.closed


def test_hpackBomb(clock: Clock) -> None:
    """A small header block that decodes into a huge list (one big field put in the dynamic
    table, then referenced over and over) ends the connection."""
    peer = RawPeer(_site(clock), clock)
    pseudo = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"h")]
    big = (b"x-bomb", b"a" * 4000)
    peer.send(peer.headers(1, fields=[*pseudo, big]))
    assert not peer.closed
    payload = peer.encoder.encode([*pseudo, *[big] * 100])
    assert len(payload) < 300  # 400 kB once decoded
    peer.send(HeadersFrame(3, payload, flags=["END_HEADERS", "END_STREAM"]))
    _assertEnded(peer, CALM)


def test_continuationFlood(clock: Clock) -> None:
    """The 2024 CONTINUATION flood: a header block that never ends."""
    peer = RawPeer(_site(clock), clock)
    peer.send(HeadersFrame(1, peer.encoder.encode([(b":method", b"GET")]), flags=[]))
    sent = _flood(peer, ContinuationFrame(1, b"\x40\x01a\x01b"), 10_000)
    assert sent < 100
    _assertEnded(peer, PROTOCOL)


def test_emptyContinuationFlood(clock: Clock) -> None:
    peer = RawPeer(_site(clock), clock)
    peer.send(HeadersFrame(1, b"", flags=[]))
    sent = _flood(peer, ContinuationFrame(1, b""), 10_000)
    assert sent < 100
    _assertEnded(peer, PROTOCOL)


def test_streamIdExhaustion(clock: Clock) -> None:
    """A connection serves so many streams, then says GOAWAY and closes."""
    site = _site(clock)
    peer = RawPeer(site, clock)
    peer.channel._upgraded.limits = Limits(maxStreamsPerConnection=5)
    peer.channel._upgraded._codec.limits = Limits(maxStreamsPerConnection=5)
    for streamId in range(1, 12, 2):
        peer.send(peer.headers(streamId))
    goaway = peer.goaway()
    assert goaway is not None and goaway.error_code == 0 and goaway.last_stream_id == 9
    assert peer.closed
    answered = {f.stream_id for f in peer.frames if type(f).__name__ == "HeadersFrame"}
    assert answered == {1, 3, 5, 7, 9}


def test_tooManyConcurrentStreams(clock: Clock) -> None:
    class Hang(Hello):
        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    peer = RawPeer(_site(clock, Hang()), clock)
    for streamId in range(1, 200, 2):
        peer.send(peer.headers(streamId))
    assert not peer.closed
    peer.send(peer.headers(201))
    _assertEnded(peer, PROTOCOL)


def test_zeroWindowSlowRead(clock: Clock, tmp_path: Any) -> None:
    """A client that opens no window for a large response: the server holds a bounded
    amount for it, then closes the connection after its timeout."""
    (tmp_path / "big").write_bytes(b"b" * 5_000_000)
    peer = RawPeer(_site(clock, static.File(str(tmp_path))), clock, preface=False)
    peer.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0, settings={4: 0}).serialize())
    peer.send(peer.headers(1, path=b"/big"))
    connection = peer.channel._upgraded
    codec = connection._codec
    assert codec.blocked
    assert codec.bufferedFor(1) <= codec.limits.streamBufferSize + 65536
    for _ in range(5):
        clock.advance(11)
        assert codec.bufferedFor(1) <= codec.limits.streamBufferSize + 65536
    clock.advance(60)
    _assertEnded(peer, 0)
    assert peer.resetCode(1) is not None


def test_windowUpdateDribble(clock: Clock, tmp_path: Any) -> None:
    """Windows opened a byte at a time keep the response moving, so they are not a stall."""
    (tmp_path / "f").write_bytes(b"c" * 1000)
    peer = RawPeer(_site(clock, static.File(str(tmp_path))), clock, preface=False)
    peer.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0, settings={4: 0}).serialize())
    peer.send(peer.headers(1, path=b"/f"))
    for _ in range(20):
        peer.send(WindowUpdateFrame(1, window_increment=1))
        clock.advance(30)
    assert not peer.closed
    data = b"".join(f.data for f in peer.frames if type(f).__name__ == "DataFrame")
    assert data == b"c" * 20


@pytest.mark.parametrize("size", [1, 7])
def test_floodByteAtATime(clock: Clock, size: int) -> None:
    """The limits count frames, however the bytes arrive."""
    peer = RawPeer(_site(clock), clock)
    data = PingFrame(0, opaque_data=b"12345678").serialize() * (Limits().maxPings + 1)
    for i in range(0, len(data), size):
        peer.send(data[i : i + size])
    _assertEnded(peer, CALM)


def test_resetChurnLeavesNothingBehind(clock: Clock) -> None:
    """Streams opened and reset at an allowed rate, window after window: the connection
    stays up and holds no state for them (memory stays flat)."""
    import tracemalloc

    class Slow(Hello):
        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    peer = RawPeer(_site(clock, Slow()), clock)
    connection = peer.channel._upgraded
    streamId = 1

    def churn(windows: int) -> None:
        nonlocal streamId
        for _ in range(windows):
            for _ in range(Limits().maxResets // 2):
                peer.send(peer.headers(streamId), RstStreamFrame(streamId, error_code=8))
                streamId += 2
            peer.frames.clear()
            clock.advance(Limits().floodWindow)

    churn(2)  # warm up: first-use allocations
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        churn(10)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert not peer.closed
    assert not connection.streams and connection._codec.openStreams == 0
    # 1000 streams came and went; what is left is h2's bounded record of closed streams.
    assert grown < 300_000, grown
