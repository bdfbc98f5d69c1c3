"""Parsing cost is linear in the input (issue 29): counted work, not time.

Each parser is fed N bytes made of the smallest units its protocol allows (1-byte chunks,
header lines, 1-byte WebSocket frames) through a buffer that counts the bytes it copies
(slicing, concatenation) and scans (``find``): core's ``testing.CopyCounter``. A parser that re-slices its buffer after every
unit copies about N**2 / (2 * unit) bytes; a linear one copies a small multiple of N.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.testing import CopyCounter
from glisten.web._h11 import (
    ClientConnection,
    Data,
    EndOfMessage,
    Event,
    Limits,
    ProtocolError,
    Request,
    ServerConnection,
)
from glisten.web._h11._readers import ChunkedReader
from glisten.web._ws import FrameDecoder, Message

counter = CopyCounter()


def CountingBytes(data: bytes) -> bytes:
    return counter.wrap(data)


def chunked(units: int) -> bytes:
    return b"1\r\nx\r\n" * units + b"0\r\n\r\n"


NO_CHUNK_LIMIT = Limits(minAverageChunkSize=0)
SIZES = [16 * 1024, 64 * 1024]


@pytest.mark.parametrize("size", SIZES)
def test_chunkedReaderLinear(size: int) -> None:
    body = chunked(size // 6)
    reader = ChunkedReader(len(body), minAverageChunk=0)
    events: list[Event] = []
    counter.reset()
    rest = reader.feed(CountingBytes(body), events)
    assert rest == b"" and reader.done
    # Every chunk of the feed arrives as one piece.
    assert events == [Data(b"x" * (size // 6)), EndOfMessage()]
    assert counter.copied <= 2 * len(body)
    assert counter.scanned <= 2 * len(body)


@pytest.mark.parametrize("size", SIZES)
def test_serverChunkedRequestLinear(size: int) -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = head + chunked(size // 6)
    conn = ServerConnection(NO_CHUNK_LIMIT)
    counter.reset()
    events = conn.receiveData(CountingBytes(data))
    assert isinstance(events[0], Request) and isinstance(events[-1], EndOfMessage)
    assert counter.copied <= 3 * len(data)
    assert counter.scanned <= 2 * len(data)


@pytest.mark.parametrize("size", SIZES)
def test_serverHeadOfManyFieldsLinear(size: int) -> None:
    lines = size // 6
    head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"a:b\r\n" * lines + b"\r\n"
    conn = ServerConnection(Limits(maxHeaders=lines + 10, maxHeaderBytes=len(head) + 10))
    counter.reset()
    events = conn.receiveData(CountingBytes(head))
    assert isinstance(events[0], Request) and len(events[0].headers[b"a"]) == lines
    assert counter.copied <= 3 * len(head)
    assert counter.scanned <= 2 * len(head)


@pytest.mark.parametrize("size", SIZES)
def test_clientChunkedResponseLinear(size: int) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = head + chunked(size // 6)
    conn = ClientConnection(NO_CHUNK_LIMIT)
    conn.sendRequest(b"GET", b"/", {b"host": [b"a"]})
    counter.reset()
    events = conn.receiveData(CountingBytes(data))
    assert isinstance(events[-1], EndOfMessage)
    assert counter.copied <= 3 * len(data)
    assert counter.scanned <= 2 * len(data)


def test_clientHeadByteAtATimeLinear() -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"a:b\r\n" * 2000 + b"Content-Length: 0\r\n\r\n"
    conn = ClientConnection(Limits(maxHeaders=3000))
    conn.sendRequest(b"GET", b"/", {b"host": [b"a"]})
    events: list[Event] = []
    counter.reset()
    for i in range(len(head)):
        events.extend(conn.receiveData(CountingBytes(head[i : i + 1])))
    assert isinstance(events[-1], EndOfMessage)
    assert counter.copied <= 3 * len(head)


def wsFrame(payload: bytes, opcode: int = 2) -> bytes:
    mask = b"abcd"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + mask + masked


@pytest.mark.parametrize("size", SIZES)
def test_websocketSmallFramesLinear(size: int) -> None:
    frame = wsFrame(b"y")
    data = frame * (size // len(frame))
    decoder = FrameDecoder()
    counter.reset()
    events = decoder.receiveData(CountingBytes(data))
    assert events == [Message(b"y")] * (size // len(frame))
    assert counter.copied <= 2 * len(data)


def test_websocketBigFrameInPiecesLinear() -> None:
    """A large frame arriving in many reads is joined once, not once per read."""
    frame = wsFrame(b"z" * (1024 * 1024))
    decoder = FrameDecoder()
    events = []
    counter.reset()
    for i in range(0, len(frame), 4096):
        events.extend(decoder.receiveData(CountingBytes(frame[i : i + 4096])))
    assert events == [Message(b"z" * (1024 * 1024))]
    assert counter.copied <= 3 * len(frame)


def test_tinyChunksRefusedByDefault() -> None:
    """Past 1024 chunks, an average below the limit is refused with 413 at once."""
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn = ServerConnection()
    events = conn.receiveData(head + chunked(100_000))
    assert isinstance(events[-1], ProtocolError) and events[-1].status == 413
    data = b"".join(e.data for e in events if isinstance(e, Data))
    assert len(data) <= 1025


def test_chunkExtensionBudget() -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn = ServerConnection(Limits(maxChunkExtensionBytes=100))
    ext = b";name=" + b"v" * 40
    events = conn.receiveData(head + (b"5" + ext + b"\r\nhello\r\n") * 3)
    assert isinstance(events[-1], ProtocolError) and events[-1].status == 400
    assert events[-1].message == "chunk extensions too long"
    # Within the budget, extensions are accepted and ignored.
    conn = ServerConnection(Limits(maxChunkExtensionBytes=100))
    events = conn.receiveData(head + b"5" + ext + b"\r\nhello\r\n0\r\n\r\n")
    assert events[1:] == [Data(b"hello"), EndOfMessage()]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=40), max_size=20),
    st.lists(st.integers(1, 30), max_size=20),
)
def test_chunkedRoundTripAnySplit(pieces: list[bytes], cuts: list[int]) -> None:
    """Whatever way the wire bytes are cut into reads, the body comes out whole."""
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nx-t: 1\r\n\r\n"
    reader = ChunkedReader(1 << 20)
    events: list[Event] = []
    buf = b""
    pos = 0
    for cut in [*cuts, len(wire)]:
        buf = reader.feed(buf + wire[pos : pos + cut], events)
        pos += cut
        if reader.done:
            break
    assert reader.done and buf == b""
    assert not any(isinstance(e, ProtocolError) for e in events)
    assert b"".join(e.data for e in events if isinstance(e, Data)) == b"".join(pieces)
    assert events[-1] == EndOfMessage({b"x-t": [b"1"]})
