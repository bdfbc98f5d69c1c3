"""HTTPChannel's phases and timeouts (through TimeoutMixin), and the codec operations it uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.task import Clock
from glisten.web import _h11
from glisten.web.resource import Resource
from glisten.web.server import NOT_DONE_YET

Conn = Any


class Hold(Resource):
    """Answers nothing until the test says so."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Any] = []

    def render_GET(self, request: Any) -> Any:
        self.pending.append(request)
        return NOT_DONE_YET

    render_POST = render_GET


def test_bodyTimeoutAbortsAStalledBody(connect: Callable[..., Conn], clock: Clock) -> None:
    conn = connect(Hold())
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
    clock.advance(59)
    assert not conn.transport.disconnecting
    clock.advance(2)
    assert conn.transport.aborted


def test_bodyTrafficResetsTheTimeout(connect: Callable[..., Conn], clock: Clock) -> None:
    root = Hold()
    conn = connect(root)
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
    for _ in range(9):
        clock.advance(50)
        conn.channel.dataReceived(b"x")
    assert not conn.transport.disconnecting
    conn.channel.dataReceived(b"x")
    assert len(root.pending) == 1


def test_applicationTimeIsUnlimited(connect: Callable[..., Conn], clock: Clock) -> None:
    """While the application answers (no body arriving, no pull producer), no timeout."""
    root = Hold()
    conn = connect(root)
    conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    for _ in range(10):
        clock.advance(60)
    assert not conn.transport.disconnecting
    root.pending[0].write(b"late")
    root.pending[0].finish()
    assert conn.transport.value().endswith(b"late\r\n0\r\n\r\n")
    # Idle again: the idle timeout counts from the end of the response.
    clock.advance(59)
    assert not conn.transport.disconnecting
    clock.advance(2)
    assert conn.transport.disconnecting and not conn.transport.aborted


def test_headTimeoutIsNotResetByTraffic(connect: Callable[..., Conn], clock: Clock) -> None:
    conn = connect(Hold())
    conn.channel.headerTimeout = 10
    conn.send(b"GET / HTTP/1.1\r\n")
    for _ in range(4):
        clock.advance(3)
        conn.channel.dataReceived(b"X-A: 1\r\n")
    assert conn.transport.disconnecting
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")


def test_timedOutClientThatDoesNotCloseIsAborted(
    connect: Callable[..., Conn], clock: Clock
) -> None:
    conn = connect(Hold())
    clock.advance(61)
    assert conn.transport.disconnecting and not conn.transport.aborted
    clock.advance(6)
    assert conn.transport.aborted


def test_headHeldUntilBodyOrEnd(connect: Callable[..., Conn]) -> None:
    """The response head leaves with the first piece of body, in one transport write."""
    writes: list[bytes] = []
    root = Hold()
    conn = connect(root)
    conn.transport.write = writes.append  # type: ignore[method-assign]
    conn.channel.dataReceived(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    request = root.pending[0]
    request.setHeader(b"content-length", b"2")
    request.write(b"ok")
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\nok")


def test_codecOperations() -> None:
    codec = _h11.ServerConnection()
    assert codec.nextEvents() == []
    events = codec.receiveData(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: x\r\n\r\nGET /2 HTTP/1.1\r\nHo"
    )
    assert isinstance(events[0], _h11.Request)
    assert codec.bufferedByteCount == len(b"GET /2 HTTP/1.1\r\nHo")
    assert not codec.readingHead and not codec.readingBody
    with pytest.raises(_h11.LocalProtocolError):
        codec.takeTrailingData()
    codec.sendResponse(101, {b"upgrade": [b"x"]})
    assert codec.takeTrailingData() == b"GET /2 HTTP/1.1\r\nHo"
    assert codec.bufferedByteCount == 0

    codec = _h11.ServerConnection()
    codec.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert codec.nextEvents() == []  # the first response is not done yet
    codec.sendResponse(200, {b"content-length": [b"0"]})
    codec.sendEnd()
    events = codec.nextEvents()
    assert isinstance(events[0], _h11.Request) and events[0].target == b"/2"

    codec = _h11.ServerConnection()
    codec.receiveData(b"GET / HTT")
    assert codec.readingHead
    assert codec.sendError(408).startswith(b"HTTP/1.1 408 ")
    assert codec.state.server is _h11.State.MUST_CLOSE


def test_clientCodecFollowsTheTable() -> None:
    client = _h11.ClientConnection()
    client.sendRequest(b"GET", b"/", {b"host": [b"h"]})
    assert client.state.client is _h11.State.MUST_CLOSE
    assert client.state.server is _h11.State.SEND_RESPONSE
    client.receiveData(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert client.state.server is _h11.State.SEND_RESPONSE
    client.receiveData(b"Content-Length: 2\r\n\r\nh")
    assert client.state.server is _h11.State.SEND_BODY
    client.receiveData(b"i")
    assert client.state.server is _h11.State.MUST_CLOSE
    assert client.receiveData(b"more") == []
    with pytest.raises(_h11.LocalProtocolError):
        client.sendRequest(b"GET", b"/", {})
    client = _h11.ClientConnection()
    client.sendRequest(b"GET", b"/", {})
    assert isinstance(client.receiveEOF()[-1], _h11.ProtocolError)
    assert client.state.server is _h11.State.ERROR
