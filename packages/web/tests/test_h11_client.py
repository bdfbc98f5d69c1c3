"""The client side of the codec (the Agent and the reverse proxy)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.web._h11 import (
    ClientConnection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Limits,
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
    assert len(events) == 1 and isinstance(events[0], ProtocolError) and events[0].status == 502


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
    # Framing is the codec's: the caller's framing fields are replaced.
    c = ClientConnection()
    head = c.sendRequest(b"POST", b"/", {b"content-length": [b"99"], b"transfer-encoding": [b"x"]})
    assert head == b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(LocalProtocolError):
        c.sendRequest(b"GET", b"/", {})
    with pytest.raises(LocalProtocolError):
        ClientConnection().sendRequest(b"GET", b"/", {b"x": [b"a\r\nb"]})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_randomNeverRaises(data: bytes) -> None:
    for event in run(data, False, eof=True):
        assert isinstance(event, (Response, Data, EndOfMessage, ProtocolError))


def test_requestBodies() -> None:
    c = ClientConnection()
    out = c.sendRequest(b"PUT", b"/", {}, 5)
    assert b"Content-Length: 5\r\n" in out
    assert c.sendData(b"abc") == b"abc"
    with pytest.raises(LocalProtocolError):
        c.sendEndOfMessage()  # two bytes short
    with pytest.raises(LocalProtocolError):
        c.sendData(b"xyz")  # one byte too many
    assert c.sendData(b"de") == b"de"
    assert c.sendEndOfMessage() == b""
    with pytest.raises(LocalProtocolError):
        c.sendData(b"late")
    c = ClientConnection()
    out = c.sendRequest(b"POST", b"/", {}, None)
    assert b"Transfer-Encoding: chunked\r\n" in out
    assert c.sendData(b"hello") == b"5\r\nhello\r\n"
    assert c.sendData(b"") == b""
    assert c.sendEndOfMessage() == b"0\r\n\r\n"


def test_keepAliveCycles() -> None:
    c = ClientConnection()
    for i in range(3):
        assert c.reusable
        c.sendRequest(b"GET", b"/%d" % i, {b"host": [b"h"]})
        assert not c.reusable
        events = c.receiveData(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % i)
        assert events[1:] == [Data(b"%d" % i), EndOfMessage()]
    assert c.reusable
    assert c.receiveEOF() == [ConnectionClosed()]
    assert not c.reusable


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_notReusable(response: bytes) -> None:
    c = ClientConnection()
    c.sendRequest(b"GET", b"/", {})
    assert c.receiveData(response)[-1] == EndOfMessage()
    assert not c.reusable
    c = ClientConnection()
    c.sendRequest(b"GET", b"/", {b"connection": [b"close"]})
    c.receiveData(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert not c.reusable


def test_earlyResponseEndsReuse() -> None:
    c = ClientConnection()
    c.sendRequest(b"POST", b"/", {}, 100)
    events = c.receiveData(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
    assert events[-1] == EndOfMessage()
    assert c.sendingBody and not c.reusable


@both
def test_smuggledSecondResponse(oneByte: bool) -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
    )
    events = run(data, oneByte)
    assert events[:3] == [
        Response(200, b"OK", b"1.1", {b"content-length": [b"2"]}),
        Data(b"ok"),
        EndOfMessage(),
    ]
    assert isinstance(events[3], ProtocolError) and len(events) == 4


def test_dataOnIdleConnection() -> None:
    c = ClientConnection()
    events = c.receiveData(b"HTTP/1.1 200 OK\r\n\r\n")
    assert isinstance(events[-1], ProtocolError)
    assert not c.reusable


def test_limits() -> None:
    limits = Limits(maxHeaderBytes=100, maxHeaders=3, maxBody=10)
    for data in [
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200,
        b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 4 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n",
    ]:
        c = ClientConnection(limits)
        c.sendRequest(b"GET", b"/", {})
        events = c.receiveData(data)
        assert isinstance(events[-1], ProtocolError), data


def test_switchingAndTunnel() -> None:
    c = ClientConnection()
    c.sendRequest(b"GET", b"/", {b"upgrade": [b"websocket"]})
    events = c.receiveData(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"
    )
    assert events[0].status == 101  # type: ignore[union-attr]
    assert c.trailingData == b"\x81\x00"
    c.receiveData(b"more")
    assert c.trailingData == b"\x81\x00more"
    c = ClientConnection()
    c.sendRequest(b"CONNECT", b"h:443", {b"host": [b"h:443"]})
    events = c.receiveData(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
    assert events[0].status == 200 and c.trailingData == b"\x16\x03"  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8), st.binary(max_size=200))
def test_mutatedResponsesNeverRaise(pieces: list[bytes], noise: bytes) -> None:
    valid = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    data = bytearray(valid)
    for piece in pieces:
        at = len(piece) and piece[0] % (len(data) + 1)
        data[at:at] = piece[1:]
    for chunked in (bytes(data), noise):
        c = ClientConnection()
        c.sendRequest(b"GET", b"/", {})
        for i in range(0, len(chunked), 7):
            for event in c.receiveData(chunked[i : i + 7]):
                assert isinstance(event, (Response, Data, EndOfMessage, ProtocolError))
        for event in c.receiveEOF():
            assert isinstance(event, (ConnectionClosed, Data, EndOfMessage, ProtocolError))


def test_expectingContinue() -> None:
    c = ClientConnection()
    c.sendRequest(b"PUT", b"/", {b"expect": [b"100-continue"]}, 3)
    assert c.expectingContinue
    c.receiveData(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert not c.expectingContinue
    c = ClientConnection()
    c.sendRequest(b"PUT", b"/", {b"expect": [b"100-continue"]}, 3)
    c.receiveData(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
    assert not c.expectingContinue and c.response is not None and not c.reusable
    c = ClientConnection()
    c.sendRequest(b"GET", b"/", {b"expect": [b"100-continue"]})
    assert not c.expectingContinue  # no body, nothing to wait for
