"""RFC 9113's MUST clauses, walked with raw frames in the manner of h2spec: each test sends
what a section forbids (or requires an answer to) and checks the server's answer.

A stream error may be answered as a connection error (RFC 9113 5.4.2), so
:func:`_streamError` accepts either.
"""

from __future__ import annotations

import struct
from typing import Any

import h2.errors
import pytest
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from glisten.internet.task import Clock
from glisten.web import server

from ._h2peer import Hello, RawPeer

E = h2.errors.ErrorCodes


@pytest.fixture
def peer(clock: Clock) -> RawPeer:
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    return RawPeer(site, clock)


def _raw(frameType: int, flags: int, streamId: int, payload: bytes) -> bytes:
    """A frame built by hand, for headers hyperframe refuses to make."""
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([frameType, flags])
        + struct.pack(">I", streamId)
        + payload
    )


def _connectionError(peer: RawPeer, code: int) -> None:
    peer.send()
    goaway = peer.goaway()
    assert goaway is not None, "expected GOAWAY"
    assert goaway.error_code == code
    assert peer.closed


def _streamError(peer: RawPeer, streamId: int, code: int) -> None:
    peer.send()
    reset = peer.resetCode(streamId)
    if reset is not None:
        assert reset == code
        return
    _connectionError(peer, code)


def _answered(peer: RawPeer, streamId: int) -> bool:
    return any(
        type(f).__name__ == "DataFrame" and f.stream_id == streamId and "END_STREAM" in f.flags
        for f in peer.frames
    )


# -- 3.4 HTTP/2 connection preface ---------------------------------------------------------


def test_3_4_invalidPreface(clock: Clock) -> None:
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    peer = RawPeer(site, clock, preface=False)
    # The preface, then something that is not a SETTINGS frame.
    peer.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + PingFrame(0, opaque_data=b"x" * 8).serialize())
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_3_4_serverPrefaceIsSettings(peer: RawPeer) -> None:
    assert type(peer.frames[0]).__name__ == "SettingsFrame"
    assert "ACK" not in peer.frames[0].flags


# -- 4 frames --------------------------------------------------------------------------------


def test_4_1_unknownFrameTypeIgnored(peer: RawPeer) -> None:
    peer.send(_raw(0xEE, 0, 0, b"whatever"))
    peer.send(peer.headers(1))
    assert _answered(peer, 1)


def test_4_1_unknownFlagsIgnored(peer: RawPeer) -> None:
    peer.send(_raw(0x6, 0x16, 0, b"12345678"))  # PING with undefined flags
    assert any(type(f).__name__ == "PingFrame" and "ACK" in f.flags for f in peer.frames)


def test_4_2_frameTooLarge(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(_raw(0x0, 0x1, 1, b"x" * 16385))
    _streamError(peer, 1, E.FRAME_SIZE_ERROR)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b"\xff\xff\xff\xff", id="truncated-integer"),
        pytest.param(b"\xbf", id="index-beyond-tables"),
        pytest.param(b"\x3f\xe2\x1f", id="table-size-over-setting"),
        pytest.param(b"\x40\x81\xff\x01a", id="bad-huffman"),
        pytest.param(b"\x40\x0a", id="string-past-block"),
    ],
)
def test_4_3_badHeaderBlock(peer: RawPeer, block: bytes) -> None:
    """HPACK decoding errors are COMPRESSION_ERROR (RFC 9113 4.3, RFC 7541)."""
    peer.send(HeadersFrame(1, block, flags=["END_HEADERS", "END_STREAM"]))
    _connectionError(peer, E.COMPRESSION_ERROR)


# -- 5.1 stream states -----------------------------------------------------------------------


def test_5_1_dataOnIdleStream(peer: RawPeer) -> None:
    peer.send(DataFrame(1, b"x"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_5_1_rstOnIdleStream(peer: RawPeer) -> None:
    peer.send(RstStreamFrame(1, error_code=8))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_5_1_windowUpdateOnIdleStream(peer: RawPeer) -> None:
    peer.send(WindowUpdateFrame(1, window_increment=1))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_5_1_dataOnHalfClosedRemote(peer: RawPeer) -> None:
    peer.send(peer.headers(1))  # END_STREAM: half-closed (remote)
    peer.send(DataFrame(1, b"late"))
    _streamError(peer, 1, E.STREAM_CLOSED)


def test_5_1_headersOnClosedStream(peer: RawPeer) -> None:
    peer.send(peer.headers(1))
    assert _answered(peer, 1)
    peer.send(peer.headers(1))
    _streamError(peer, 1, E.STREAM_CLOSED)


def test_5_1_1_evenStreamId(peer: RawPeer) -> None:
    peer.send(peer.headers(2))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_5_1_1_decreasingStreamId(peer: RawPeer) -> None:
    peer.send(peer.headers(5))
    peer.send(peer.headers(3))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_5_1_2_concurrentStreamLimit(clock: Clock) -> None:
    class Hang(Hello):
        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    site = server.Site(Hang(), reactor=clock)
    site.http2 = True
    peer = RawPeer(site, clock)
    for streamId in range(1, 200, 2):
        peer.send(peer.headers(streamId))
    peer.send(peer.headers(201))
    _streamError(peer, 201, E.PROTOCOL_ERROR)


# -- 6 frame definitions -----------------------------------------------------------------------


def test_6_1_dataOnStreamZero(peer: RawPeer) -> None:
    peer.send(_raw(0x0, 0x1, 0, b"x"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_1_badPadding(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(_raw(0x0, 0x8 | 0x1, 1, b"\x05ab"))  # pad length beyond the payload
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_2_headersOnStreamZero(peer: RawPeer) -> None:
    peer.send(_raw(0x1, 0x5, 0, peer.encoder.encode([(b":method", b"GET")])))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_3_priorityOnStreamZero(peer: RawPeer) -> None:
    peer.send(_raw(0x2, 0, 0, b"\x00\x00\x00\x01\x10"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_3_priorityBadLength(peer: RawPeer) -> None:
    peer.send(_raw(0x2, 0, 1, b"\x00\x00\x00\x03"))
    _streamError(peer, 1, E.FRAME_SIZE_ERROR)


def test_6_3_priorityOnIdleStreamAllowed(peer: RawPeer) -> None:
    peer.send(PriorityFrame(9, depends_on=0, stream_weight=10))
    peer.send(peer.headers(1))
    assert _answered(peer, 1) and not peer.closed


def test_6_4_rstOnStreamZero(peer: RawPeer) -> None:
    peer.send(_raw(0x3, 0, 0, b"\x00\x00\x00\x08"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_4_rstBadLength(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(_raw(0x3, 0, 1, b"\x00\x00\x08"))
    _connectionError(peer, E.FRAME_SIZE_ERROR)


def test_6_5_settingsAcknowledged(peer: RawPeer) -> None:
    peer.send(SettingsFrame(0, settings={3: 50}))
    assert any(type(f).__name__ == "SettingsFrame" and "ACK" in f.flags for f in peer.frames)


def test_6_5_settingsAckWithPayload(peer: RawPeer) -> None:
    """RFC 9113 asks for FRAME_SIZE_ERROR; h2's frame parser answers PROTOCOL_ERROR (a
    known deviation: the connection ends either way)."""
    peer.send(_raw(0x4, 0x1, 0, b"\x00\x03\x00\x00\x00\x01"))
    peer.send()
    goaway = peer.goaway()
    assert goaway is not None and peer.closed
    assert goaway.error_code in (E.FRAME_SIZE_ERROR, E.PROTOCOL_ERROR)


def test_6_5_settingsOnStream(peer: RawPeer) -> None:
    peer.send(_raw(0x4, 0, 1, b""))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_5_settingsBadLength(peer: RawPeer) -> None:
    peer.send(_raw(0x4, 0, 0, b"\x00\x03\x00"))
    _connectionError(peer, E.FRAME_SIZE_ERROR)


@pytest.mark.parametrize(
    "setting, value, code",
    [
        (0x2, 2, E.PROTOCOL_ERROR),  # ENABLE_PUSH neither 0 nor 1
        (0x4, 2**31, E.FLOW_CONTROL_ERROR),  # INITIAL_WINDOW_SIZE too large
        (0x5, 16383, E.PROTOCOL_ERROR),  # MAX_FRAME_SIZE too small
        (0x5, 2**24, E.PROTOCOL_ERROR),  # MAX_FRAME_SIZE too large
    ],
)
def test_6_5_2_badSettingValues(peer: RawPeer, setting: int, value: int, code: int) -> None:
    peer.send(_raw(0x4, 0, 0, struct.pack(">HI", setting, value)))
    _connectionError(peer, code)


def test_6_5_2_unknownSettingIgnored(peer: RawPeer) -> None:
    peer.send(_raw(0x4, 0, 0, struct.pack(">HI", 0xFF, 1)))
    assert not peer.closed


def test_6_7_pingAnswered(peer: RawPeer) -> None:
    peer.send(PingFrame(0, opaque_data=b"glisten!"))
    acks = [f for f in peer.frames if type(f).__name__ == "PingFrame" and "ACK" in f.flags]
    assert acks and acks[0].opaque_data == b"glisten!"


def test_6_7_pingAckNotAnswered(peer: RawPeer) -> None:
    before = len(peer.frames)
    peer.send(PingFrame(0, opaque_data=b"12345678", flags=["ACK"]))
    assert len(peer.frames) == before and not peer.closed


def test_6_7_pingOnStream(peer: RawPeer) -> None:
    peer.send(_raw(0x6, 0, 1, b"12345678"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_7_pingBadLength(peer: RawPeer) -> None:
    peer.send(_raw(0x6, 0, 0, b"123456"))
    _connectionError(peer, E.FRAME_SIZE_ERROR)


def test_6_8_goawayOnStream(peer: RawPeer) -> None:
    peer.send(_raw(0x7, 0, 1, b"\x00\x00\x00\x00\x00\x00\x00\x00"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_8_clientGoawayClosesConnection(peer: RawPeer) -> None:
    peer.send(GoAwayFrame(0, last_stream_id=0, error_code=0))
    assert peer.closed


def test_6_9_zeroIncrementOnConnection(peer: RawPeer) -> None:
    peer.send(_raw(0x8, 0, 0, b"\x00\x00\x00\x00"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_9_zeroIncrementOnStream(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(_raw(0x8, 0, 1, b"\x00\x00\x00\x00"))
    _streamError(peer, 1, E.PROTOCOL_ERROR)


def test_6_9_windowUpdateBadLength(peer: RawPeer) -> None:
    peer.send(_raw(0x8, 0, 0, b"\x00\x00\x01"))
    _connectionError(peer, E.FRAME_SIZE_ERROR)


def test_6_9_1_connectionWindowOverflow(peer: RawPeer) -> None:
    peer.send(WindowUpdateFrame(0, window_increment=2**31 - 1))
    _connectionError(peer, E.FLOW_CONTROL_ERROR)


def test_6_9_1_streamWindowOverflow(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(WindowUpdateFrame(1, window_increment=2**31 - 1))
    _streamError(peer, 1, E.FLOW_CONTROL_ERROR)


def test_6_9_2_initialWindowOverflow(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(WindowUpdateFrame(1, window_increment=2**31 - 65536))
    peer.send(SettingsFrame(0, settings={4: 2**31 - 1}))
    _connectionError(peer, E.FLOW_CONTROL_ERROR)


def test_6_9_dataBeyondWindow(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    # Read no more of the body: its window is not reopened behind it.
    peer.channel._upgraded.streams[1].pauseProducing()
    for _ in range(4):
        peer.send(DataFrame(1, b"x" * 16384))
    peer.send(DataFrame(1, b"x" * 16384))  # past the stream's 65535-byte window
    _streamError(peer, 1, E.FLOW_CONTROL_ERROR)


def test_6_10_continuationWithoutHeaders(peer: RawPeer) -> None:
    peer.send(ContinuationFrame(1, b"", flags=["END_HEADERS"]))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_10_frameInsideHeaderBlock(peer: RawPeer) -> None:
    peer.send(HeadersFrame(1, peer.encoder.encode([(b":method", b"GET")]), flags=[]))
    peer.send(PingFrame(0, opaque_data=b"12345678"))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_10_continuationOnOtherStream(peer: RawPeer) -> None:
    peer.send(HeadersFrame(1, peer.encoder.encode([(b":method", b"GET")]), flags=[]))
    peer.send(ContinuationFrame(3, b"", flags=["END_HEADERS"]))
    _connectionError(peer, E.PROTOCOL_ERROR)


def test_6_10_headerBlockInPieces(peer: RawPeer) -> None:
    block = peer.encoder.encode(
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"h")]
    )
    peer.send(HeadersFrame(1, block[:3], flags=["END_STREAM"]))
    peer.send(ContinuationFrame(1, block[3:6]))
    peer.send(ContinuationFrame(1, block[6:], flags=["END_HEADERS"]))
    assert _answered(peer, 1)


def test_8_4_pushPromiseFromClient(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(PushPromiseFrame(1, promised_stream_id=2, data=b"", flags=["END_HEADERS"]))
    _connectionError(peer, E.PROTOCOL_ERROR)


# -- 8 HTTP message semantics ---------------------------------------------------------------

BASE = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"h")]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param([*BASE, (b"X-Upper", b"1")], id="8.2-uppercase-name"),
        pytest.param([*BASE, (b"connection", b"keep-alive")], id="8.2.2-connection-field"),
        pytest.param([*BASE, (b"te", b"gzip")], id="8.2.2-te-not-trailers"),
        pytest.param([*BASE, (b":bogus", b"1")], id="8.3-unknown-pseudo"),
        pytest.param(
            [(b":method", b"GET"), (b"accept", b"*/*"), *BASE[1:]], id="8.3-pseudo-after-field"
        ),
        pytest.param(BASE[1:], id="8.3.1-no-method"),
        pytest.param([BASE[0], BASE[1], BASE[3]], id="8.3.1-no-path"),
        pytest.param([BASE[0], BASE[2], BASE[3]], id="8.3.1-no-scheme"),
        pytest.param([*BASE, (b":method", b"GET")], id="8.3.1-repeated-pseudo"),
        pytest.param([*BASE[:2], (b":path", b""), BASE[3]], id="8.3.1-empty-path"),
        pytest.param([*BASE, (b":status", b"200")], id="8.3.2-response-pseudo"),
    ],
)
def test_8_malformedRequests(peer: RawPeer, fields: list[tuple[bytes, bytes]]) -> None:
    peer.send(peer.headers(1, fields=fields))
    _streamError(peer, 1, E.PROTOCOL_ERROR)
    assert not _answered(peer, 1)


def test_8_1_1_contentLengthMismatch(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False, extra=[(b"content-length", b"5")]))
    peer.send(DataFrame(1, b"abc", flags=["END_STREAM"]))
    _streamError(peer, 1, E.PROTOCOL_ERROR)
    assert not _answered(peer, 1)


def test_8_1_trailersAccepted(peer: RawPeer) -> None:
    peer.send(peer.headers(1, method=b"POST", end=False))
    peer.send(DataFrame(1, b"abc"))
    peer.send(
        HeadersFrame(
            1, peer.encoder.encode([(b"x-trailer", b"1")]), flags=["END_HEADERS", "END_STREAM"]
        )
    )
    assert _answered(peer, 1)


def test_8_2_3_responseHasNoConnectionFields(peer: RawPeer) -> None:
    from hpack import Decoder

    peer.send(peer.headers(1))
    block = b"".join(
        f.data for f in peer.frames if type(f).__name__ == "HeadersFrame" and f.stream_id == 1
    )
    names = {name for name, _ in Decoder().decode(block, raw=True)}
    assert names.isdisjoint({b"connection", b"keep-alive", b"transfer-encoding", b"upgrade"})
    assert b":status" in names
