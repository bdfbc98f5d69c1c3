"""The client side of the codec (used by the reverse proxy)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.web._h11 import (
    ClientConnection,
    Data,
    EndOfMessage,
    Event,
    LocalProtocolError,
    ProtocolError,
    Response,
)


def run(data: bytes, oneByte: bool, method: bytes = b"GET", eof: bool = False) -> list[Event]:
    c = ClientConnection()
    c.sendRequest(method, b"/", {b"host": [b"h"]})
    events: list[Event] = []
    pieces = [data[i : i + 1] for i in range(len(data))] if oneByte else [data]
    for piece in pieces:
        events.extend(c.receiveData(piece))
    if eof:
        events.extend(c.receiveEOF())
    out: list[Event] = []
    for e in events:
        if isinstance(e, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + e.data)
        else:
            out.append(e)
    return out


both = pytest.mark.parametrize("oneByte", [False, True], ids=["whole", "bytewise"])


@both
def test_lengthAndChunked(oneByte: bool) -> None:
    events = run(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", oneByte
    )
    assert events == [
        Response(200, b"OK", b"1.1", {b"content-length": [b"3"]}),
        Data(b"abc"),
        EndOfMessage(),
    ]
    events = run(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", oneByte
    )
    assert events[1:] == [Data(b"ab"), EndOfMessage()]


@both
def test_closeDelimitedAndHead(oneByte: bool) -> None:
    events = run(b"HTTP/1.0 200 OK\r\n\r\nall of it", oneByte, eof=True)
    assert events[1:] == [Data(b"all of it"), EndOfMessage()]
    events = run(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", oneByte, method=b"HEAD")
    assert events[1:] == [EndOfMessage()]


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
    ],
)
def test_badResponses(data: bytes) -> None:
    events = run(data, False)
    assert isinstance(events[-1], ProtocolError) and events[-1].status == 502


def test_truncated() -> None:
    assert isinstance(
        run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", False, eof=True)[-1], ProtocolError
    )
    assert isinstance(run(b"", False, eof=True)[-1], ProtocolError)


def test_requestSerialization() -> None:
    c = ClientConnection()
    assert c.sendRequest(b"GET", b"/x", {b"host": [b"h"], b"x-a": [b"1"]}) == (
        b"GET /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"
    )
    with pytest.raises(LocalProtocolError):
        c.sendRequest(b"GET", b"/", {})
    with pytest.raises(LocalProtocolError):
        ClientConnection().sendRequest(b"GET", b"/", {b"x": [b"a\r\nb"]})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_randomNeverRaises(data: bytes) -> None:
    for event in run(data, False, eof=True):
        assert isinstance(event, (Response, Data, EndOfMessage, ProtocolError))
