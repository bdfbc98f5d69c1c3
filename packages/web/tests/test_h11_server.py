"""The sans-I/O HTTP/1.1 server codec: framing, keep-alive, pipelining, and the bad-input
corpus (request smuggling, malformed heads, limits)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.web._h11 import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Limits,
    LocalProtocolError,
    ProtocolError,
    Request,
    ServerConnection,
    State,
)


def feed(conn: ServerConnection, data: bytes, oneByte: bool) -> list[Event]:
    events: list[Event] = []
    if oneByte:
        for i in range(len(data)):
            events.extend(conn.receiveData(data[i : i + 1]))
    else:
        events.extend(conn.receiveData(data))
    return normalize(events)


def normalize(events: list[Event]) -> list[Event]:
    """Merge adjacent Data events, so whole and byte-at-a-time feeding compare equal."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + e.data)
        else:
            out.append(e)
    return out


both = pytest.mark.parametrize("oneByte", [False, True], ids=["whole", "bytewise"])


@both
def test_simpleGet(oneByte: bool) -> None:
    conn = ServerConnection()
    events = feed(conn, b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-A:  1 \r\n\r\n", oneByte)
    assert events == [
        Request(b"GET", b"/a?b=c", b"1.1", {b"host": [b"example.com"], b"x-a": [b"1"]}),
        EndOfMessage(),
    ]
    assert conn.state.client is State.DONE


@both
def test_contentLengthBody(oneByte: bool) -> None:
    conn = ServerConnection()
    events = feed(conn, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", oneByte)
    assert events[1:] == [Data(b"hello"), EndOfMessage()]
    assert isinstance(events[0], Request) and events[0].contentLength == 5


@both
def test_chunkedBodyWithTrailers(oneByte: bool) -> None:
    conn = ServerConnection()
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1;q="a b"\r\nhello\r\n6\r\n world\r\n0\r\nDigest: x\r\nOther: y\r\n\r\n'
    )
    events = feed(conn, data, oneByte)
    assert events[1:] == [
        Data(b"hello world"),
        EndOfMessage({b"digest": [b"x"], b"other": [b"y"]}),
    ]


@both
def test_pipeliningWaitsForResponse(oneByte: bool) -> None:
    """A second request is not parsed before the first response is finished, so responses
    cannot be sent out of order (Twisted CVE-2023-46137, CVE-2024-41671)."""
    conn = ServerConnection()
    data = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
    events = feed(conn, data, oneByte)
    assert [e.target for e in events if isinstance(e, Request)] == [b"/1"]
    conn.sendResponse(200, {b"content-length": [b"0"]})
    conn.sendEnd()
    events = conn.receiveData(b"")
    assert [e.target for e in events if isinstance(e, Request)] == [b"/2"]


def test_keepAliveAndClose() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    head = conn.sendResponse(200, {b"content-length": [b"2"]})
    assert b"Connection: close\r\n" in head
    conn.sendData(b"ok")
    conn.sendEnd()
    assert not conn.keepAlive
    assert conn.state.server is State.MUST_CLOSE
    assert conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") == []


def test_http10() -> None:
    conn = ServerConnection()
    events = conn.receiveData(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(events[0], Request) and events[0].version == b"1.0"
    head = conn.sendResponse(200, {})
    assert b"Transfer-Encoding" not in head
    assert conn.sendData(b"abc") == b"abc"
    conn.sendEnd()
    assert not conn.keepAlive


def test_http10KeepAlive() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head = conn.sendResponse(200, {b"content-length": [b"1"]})
    assert b"Connection: keep-alive\r\n" in head
    conn.sendData(b"x")
    conn.sendEnd()
    assert conn.keepAlive and conn.state.client is State.IDLE


def test_chunkedResponseAndHead() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in conn.sendResponse(200, {})
    assert conn.sendData(b"abc") == b"3\r\nabc\r\n"
    assert conn.sendEnd() == b"0\r\n\r\n"
    conn.receiveData(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    head = conn.sendResponse(200, {b"content-length": [b"10"]})
    assert head.endswith(b"Content-Length: 10\r\n\r\n")
    assert conn.sendData(b"0123456789") == b""
    conn.sendEnd()
    assert conn.keepAlive


def test_expectContinue() -> None:
    conn = ServerConnection()
    events = conn.receiveData(
        b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    )
    assert isinstance(events[0], Request) and events[0].expectContinue
    assert conn.sendContinue() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.sendContinue() == b""
    assert conn.receiveData(b"abc") == [Data(b"abc"), EndOfMessage()]


def test_responseBeforeBodyCloses() -> None:
    """Answering before the body is read (an early 4xx) ends the connection."""
    conn = ServerConnection()
    conn.receiveData(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nabc")
    conn.sendResponse(403, {b"content-length": [b"0"]})
    conn.sendEnd()
    assert not conn.keepAlive


def test_localErrors() -> None:
    conn = ServerConnection()
    with pytest.raises(LocalProtocolError):
        conn.sendResponse(200, {})
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    conn.sendResponse(200, {b"content-length": [b"1"]})
    with pytest.raises(LocalProtocolError):
        conn.sendData(b"too long")
    conn.sendEnd()
    assert not conn.keepAlive  # short body: the connection cannot be reused


def test_switchProtocols() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n\x81\x00")
    conn.sendResponse(101, {b"upgrade": [b"websocket"]})
    assert conn.state.server is State.SWITCHED_PROTOCOL
    assert conn.trailingData == b"\x81\x00"


def test_eof() -> None:
    conn = ServerConnection()
    assert conn.receiveEOF() == [ConnectionClosed()]
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHo")
    assert isinstance(conn.receiveEOF()[-1], ProtocolError)
    conn = ServerConnection()
    conn.receiveData(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
    assert isinstance(conn.receiveEOF()[-1], ProtocolError)


def test_leadingEmptyLines() -> None:
    conn = ServerConnection()
    events = conn.receiveData(b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert isinstance(events[0], Request)


H = b"Host: h\r\n"
BAD: list[tuple[str, bytes, int]] = [
    (
        "CL and TE",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "TE and CL",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400,
    ),
    (
        "two CLs",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    ),
    ("CL list", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 4\r\n\r\nabcd", 400),
    ("signed CL", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc", 400),
    ("negative CL", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -3\r\n\r\nabc", 400),
    ("hex CL", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nabc", 400),
    ("CL with space", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1 2\r\n\r\nabc", 400),
    (
        "huge CL digits",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: " + b"9" * 40 + b"\r\n\r\n",
        400,
    ),
    (
        "0x chunk size",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        "signed chunk size",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size overflow",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n",
        400,
    ),
    (
        "chunk without CRLF",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size LF only",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        "bad chunk ext",
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\n\r\n3;\x01\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        "bad trailer",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n",
        400,
    ),
    ("unknown TE", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    (
        "TE not last chunked",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
        501,
    ),
    (
        "TE chunked twice",
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        501,
    ),
    ("TE identity", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n", 501),
    (
        "TE with vertical tab",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: \x0bchunked\r\n\r\n",
        400,
    ),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("bare CR in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400),
    ("bare LF in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\nb\r\n\r\n", 400),
    ("bare LF line ends", b"GET / HTTP/1.1\n" + H + b"\n", 400),
    ("bare CR in request line", b"GET /\r HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("NUL in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n  b\r\n\r\n", 400),
    ("obs-fold tab", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n\tb\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\n" + H + b"Content-Length : 3\r\n\r\nabc", 400),
    ("tab before colon", b"GET / HTTP/1.1\r\n" + H + b"X\t: 3\r\n\r\n", 400),
    ("empty name", b"GET / HTTP/1.1\r\n" + H + b": x\r\n\r\n", 400),
    ("invalid name", b"GET / HTTP/1.1\r\n" + H + b"X(y): x\r\n\r\n", 400),
    ("no colon", b"GET / HTTP/1.1\r\n" + H + b"Xy\r\n\r\n", 400),
    ("non-ascii name", b"GET / HTTP/1.1\r\n" + H + b"X\xc3\xa9: x\r\n\r\n", 400),
    ("missing host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("bad request line", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("lowercase version", b"GET / http/1.1\r\n" + H + b"\r\n", 400),
    ("no version", b"GET /\r\n" + H + b"\r\n", 400),
    ("space in target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("binary garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("request line too long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("request line too long, partial", b"GET /" + b"a" * 9000, 414),
    ("too many headers", b"GET / HTTP/1.1\r\n" + H + b"X: y\r\n" * 101 + b"\r\n", 431),
    (
        "head too large",
        b"GET / HTTP/1.1\r\n" + H + (b"X: " + b"y" * 1000 + b"\r\n") * 70 + b"\r\n",
        431,
    ),
    ("body too large", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2000\r\n\r\n", 413),
    (
        "chunked body too large",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n7d0\r\n",
        413,
    ),
]


@both
@pytest.mark.parametrize("name,data,status", BAD, ids=[b[0] for b in BAD])
def test_badInput(name: str, data: bytes, status: int, oneByte: bool) -> None:
    """Every smuggling or malformed request ends with a ProtocolError of the right status,
    and nothing after it is parsed."""
    conn = ServerConnection(Limits(maxBody=1000))
    events = feed(conn, data, oneByte)
    assert events, name
    last = events[-1]
    assert isinstance(last, ProtocolError), events
    assert last.status == status
    assert not conn.keepAlive
    assert conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") == []
    error = conn.sendError(last.status)
    assert error.startswith(b"HTTP/1.1 %d " % status) and b"Connection: close" in error


def test_errorResponseDoesNotEcho() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET /<script> HTTP/1.1\r\n\r\n")
    assert b"<script>" not in conn.sendError(400)


REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]


def drive(data: bytes, chunks: list[int]) -> None:
    """Feed ``data`` in pieces, answering each request, and check the codec only ever returns
    events (never raises) and stops after a ProtocolError."""
    conn = ServerConnection(Limits(maxBody=100, maxHeaders=10, maxHeaderBytes=300))
    pos = 0
    for size in [*chunks, len(data)]:
        piece, pos = data[pos : pos + size], pos + size
        pending = conn.receiveData(piece)
        while pending:
            for event in pending:
                assert isinstance(
                    event, (Request, Data, EndOfMessage, ProtocolError, ConnectionClosed)
                )
            if isinstance(pending[-1], ProtocolError):
                assert conn.receiveData(b"x") == []
                return
            pending = []
            if conn.state.client is State.DONE and conn.state.server is State.SEND_RESPONSE:
                conn.sendResponse(200, {})
                conn.sendEnd()
                pending = conn.receiveData(b"")
        if pos >= len(data):
            break
    conn.receiveEOF()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 50), max_size=10))
def test_randomBytesNeverRaise(data: bytes, chunks: list[int]) -> None:
    drive(data, chunks)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(REQUESTS), min_size=1, max_size=3),
    st.lists(
        st.tuples(st.integers(0, 300), st.sampled_from([0, 1, 2]), st.binary(max_size=4)),
        max_size=4,
    ),
    st.lists(st.integers(1, 50), max_size=10),
)
def test_mutatedRequestsNeverRaise(
    requests: list[bytes], mutations: list[tuple[int, int, bytes]], chunks: list[int]
) -> None:
    data = bytearray(b"".join(requests))
    for pos, kind, blob in mutations:
        pos = pos % (len(data) + 1)
        if kind == 0:
            data[pos:pos] = blob
        elif kind == 1:
            del data[pos : pos + len(blob) + 1]
        else:
            data[pos : pos + len(blob)] = blob
    drive(bytes(data), chunks)
