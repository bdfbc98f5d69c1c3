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
    conn.channel.minBodyRate = 0  # the timeout alone
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
    clock.advance(59)
    assert not conn.transport.disconnecting
    clock.advance(2)
    assert conn.transport.aborted


def test_bodyTrafficResetsTheTimeout(connect: Callable[..., Conn], clock: Clock) -> None:
    root = Hold()
    conn = connect(root)
    conn.channel.minBodyRate = 0  # the timeout alone (the rate would cut this body)
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
    assert client.state.client is _h11.State.DONE
    assert client.state.server is _h11.State.SEND_RESPONSE
    client.receiveData(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert client.state.server is _h11.State.SEND_RESPONSE
    client.receiveData(b"Content-Length: 2\r\n\r\nh")
    assert client.state.server is _h11.State.SEND_BODY
    client.receiveData(b"i")
    # Keep-alive: both sides start the next cycle.
    assert client.state.server is _h11.State.IDLE and client.state.client is _h11.State.IDLE
    (error,) = client.receiveData(b"more")  # nothing is due: a smuggling attempt
    assert isinstance(error, _h11.ProtocolError)
    client = _h11.ClientConnection()
    client.sendRequest(b"GET", b"/", {b"connection": [b"close"]})
    assert client.state.client is _h11.State.MUST_CLOSE
    client.receiveData(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert client.state.server is _h11.State.MUST_CLOSE
    with pytest.raises(_h11.LocalProtocolError):
        client.sendRequest(b"GET", b"/", {})
    client = _h11.ClientConnection()
    client.sendRequest(b"GET", b"/", {})
    assert isinstance(client.receiveEOF()[-1], _h11.ProtocolError)
    assert client.state.server is _h11.State.ERROR


# -- the request body's minimum rate ----------------------------------------------------------

_SLOW_HEAD = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n"


def _trickle(conn: Conn, clock: Clock, seconds: int, perSecond: int) -> None:
    """Send ``perSecond`` body bytes at the start of each of ``seconds`` seconds."""
    for _ in range(seconds):
        conn.channel.dataReceived(b"x" * perSecond)
        clock.advance(1)
        if conn.transport.disconnecting:
            return


def test_bodyBelowTheRateGets408(connect: Callable[..., Conn], clock: Clock) -> None:
    """A body trickled a byte a second resets the body timeout forever; the rate stops it
    when the window ends."""
    root = Hold()
    conn = connect(root)
    conn.send(_SLOW_HEAD)
    _trickle(conn, clock, 29, 1)
    assert not conn.transport.disconnecting
    _trickle(conn, clock, 1, 1)
    assert conn.transport.disconnecting
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")
    assert conn.transport.producerState == "paused"
    assert root.pending == []
    # A client that does not close is aborted, as for the other timeouts.
    clock.advance(6)
    assert conn.transport.aborted


@pytest.mark.parametrize("perSecond", [1024, 4096])
def test_bodyAtOrAboveTheRateIsNotCut(
    connect: Callable[..., Conn], clock: Clock, perSecond: int
) -> None:
    root = Hold()
    conn = connect(root)
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 409600\r\n\r\n")
    _trickle(conn, clock, 400 * 1024 // perSecond, perSecond)
    assert not conn.transport.disconnecting
    assert len(root.pending) == 1
    # The body is complete: the application's time is unlimited, the rate no longer checked.
    clock.advance(300)
    assert not conn.transport.disconnecting
    assert len(clock.getDelayedCalls()) == 1  # TimeoutMixin's own timer, no rate check


def test_slowBodyThatSpeedsUpInTime(connect: Callable[..., Conn], clock: Clock) -> None:
    """The rate is an average from the body's start: a slow start made up before the window
    ends is fine."""
    root = Hold()
    conn = connect(root)
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
    _trickle(conn, clock, 20, 10)
    conn.channel.dataReceived(b"x" * 40000)
    _trickle(conn, clock, 15, 10)
    assert not conn.transport.disconnecting
    conn.channel.dataReceived(b"x" * (100000 - 40000 - 350))
    assert len(root.pending) == 1


def test_bodyFallingBehindLaterIsCut(connect: Callable[..., Conn], clock: Clock) -> None:
    """After the window the rate is checked again whenever the bytes so far would fall
    behind: a burst buys time in proportion to its size, not forever."""
    conn = connect(Hold())
    conn.send(_SLOW_HEAD + b"x" * 40 * 1024)
    _trickle(conn, clock, 39, 1)
    assert not conn.transport.disconnecting
    _trickle(conn, clock, 3, 1)
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")


def test_bodyRateZeroDisables(connect: Callable[..., Conn], clock: Clock) -> None:
    site_conn = connect(Hold())
    site_conn.site.minBodyRate = 0
    conn = connect(Hold(), site=site_conn.site)
    assert conn.channel.minBodyRate == 0
    conn.send(_SLOW_HEAD)
    _trickle(conn, clock, 300, 1)
    assert not conn.transport.disconnecting


def test_bodyRateSettingsThroughTheFactory(connect: Callable[..., Conn], clock: Clock) -> None:
    site = connect(Hold()).site
    site.minBodyRate = 100
    site.bodyRateWindow = 5
    conn = connect(Hold(), site=site)
    assert (conn.channel.minBodyRate, conn.channel.bodyRateWindow) == (100, 5)
    conn.send(_SLOW_HEAD)
    _trickle(conn, clock, 4, 99)
    assert not conn.transport.disconnecting
    _trickle(conn, clock, 1, 99)
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")


def test_headersAreNotTheBody(connect: Callable[..., Conn], clock: Clock) -> None:
    """No rate while idle or while a head arrives; the idle connection's timer alone runs."""
    conn = connect(Hold())
    conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    clock.advance(45)
    assert not conn.transport.disconnecting


def test_chunkedBodyBelowTheRateGets408(connect: Callable[..., Conn], clock: Clock) -> None:
    """Chunk framing does not count: a chunk of one byte a second is one byte a second."""
    root = Hold()
    conn = connect(root)
    conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(30):
        conn.channel.dataReceived(b"1;ext=padding-padding\r\nx\r\n")
        clock.advance(1)
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")
    assert root.pending == []


def test_timePausedByTheServerDoesNotCount(connect: Callable[..., Conn], clock: Clock) -> None:
    """While the server itself stops reading (``HTTPChannel.pauseProducing``), the body's
    clock stops too; it runs again on ``resumeProducing``."""
    root = Hold()
    conn = connect(root)
    conn.send(_SLOW_HEAD + b"x" * 20 * 1024)
    conn.channel.setTimeout(None)  # the rate alone, not the body timeout
    clock.advance(10)
    conn.channel.pauseProducing()
    clock.advance(100)
    assert not conn.transport.disconnecting
    conn.channel.resumeProducing()
    clock.advance(19)
    assert not conn.transport.disconnecting
    clock.advance(2)
    assert conn.transport.value().startswith(b"HTTP/1.1 408 ")
