""":class:`glisten.web._http2client.H2ClientProtocol` over a memory transport and a fake
clock, with the server codec playing the server."""

from __future__ import annotations

from typing import Any

from hyperframe.frame import GoAwayFrame

from glisten.internet.defer import TimeoutError
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.web import _h2
from glisten.web._http2client import H2ClientProtocol
from glisten.web.client import (
    Request,
    ResponseFailed,
    ResponseNeverReceived,
    StreamResetError,
    readBody,
)
from glisten.web.http_headers import Headers


class Connected:
    """A client protocol on a StringTransport, and a server codec to answer it."""

    def __init__(self, timeout: float | None = None) -> None:
        self.clock = Clock()
        self.quiescent: list[Any] = []
        self.lost: list[Any] = []
        self.protocol = H2ClientProtocol(
            self.quiescent.append,
            timeout=timeout,
            clock=self.clock,
            lostCallback=self.lost.append,
        )
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)
        self.server = _h2.ServerConnection()
        self.server.initiate()
        self.requests: list[Any] = []
        self.exchange()

    def exchange(self) -> None:
        """Deliver what each side wrote to the other until both are quiet."""
        while True:
            sent = self.transport.value()
            self.transport.clear()
            if sent:
                self.requests += [
                    e for e in self.server.receiveData(sent) if isinstance(e, _h2.RequestReceived)
                ]
            answer = self.server.dataToSend()
            if answer:
                self.protocol.dataReceived(answer)
            if not sent and not answer:
                return

    def get(self, path: bytes = b"/") -> Any:
        headers = Headers({b"host": [b"example.com"]})
        d = self.protocol.request(Request(b"GET", path, headers, persistent=True))
        self.exchange()
        return d


def test_requestHeadIsWellFormed() -> None:
    c = Connected()
    c.get(b"/a?b")
    (request,) = c.requests
    # Not over TLS here: the scheme is http.
    assert (request.method, request.path, request.scheme) == (b"GET", b"/a?b", b"http")
    assert request.authority == b"example.com" and b"connection" not in request.headers


def test_responseAndBody() -> None:
    c = Connected()
    d = c.get()
    streamId = c.requests[0].streamId
    c.server.sendResponse(streamId, 201, [(b"content-length", b"2"), (b"x-y", b"z")])
    c.server.sendData(streamId, b"ok")
    c.server.sendEnd(streamId)
    c.exchange()
    response = result(d)
    assert (response.version, response.code, response.phrase) == ((b"HTTP", 2, 0), 201, b"Created")
    assert response.length == 2 and response.headers.getRawHeaders(b"x-y") == [b"z"]
    assert result(readBody(response)) == b"ok"
    assert c.quiescent == [c.protocol] and c.protocol.state == "QUIESCENT"
    assert c.protocol.reused


def test_timeoutFailsTheRequests() -> None:
    c = Connected(timeout=5)
    d = c.get()
    c.clock.advance(5)
    assert c.transport.disconnecting
    c.protocol.connectionLost(ConnectionDone())
    failure = failureOf(d)
    assert failure.check(ResponseNeverReceived)
    assert failure.value.reasons[0].check(TimeoutError)
    assert c.lost == [c.protocol]


def test_pausedBodyDoesNotTimeOut() -> None:
    c = Connected(timeout=5)
    d = c.get()
    streamId = c.requests[0].streamId
    c.server.sendResponse(streamId, 200, [])
    c.server.sendData(streamId, b"part")
    c.exchange()
    response = result(d)
    response._transport.pauseProducing()
    c.clock.advance(20)
    assert not c.transport.disconnecting


def test_goAwayFailsUnprocessedStreamsOnly() -> None:
    c = Connected()
    first, second = c.get(), c.get()
    ids = [r.streamId for r in c.requests]
    c.protocol.dataReceived(GoAwayFrame(0, last_stream_id=ids[0], error_code=0).serialize())
    failure = failureOf(second)
    assert failure.check(ResponseNeverReceived) and c.protocol.state == "CONNECTION_LOST"
    assert not first.called and not c.transport.disconnecting
    c.server.sendResponse(ids[0], 204, [])
    c.server.sendEnd(ids[0])
    c.exchange()
    assert result(first).code == 204
    # Nothing left to finish: the connection closes.
    assert c.transport.disconnecting


def test_streamResetAfterTheHead() -> None:
    c = Connected()
    d = c.get()
    streamId = c.requests[0].streamId
    c.server.sendResponse(streamId, 200, [])
    c.server.sendData(streamId, b"par")
    c.exchange()
    body = readBody(result(d))
    c.server.resetStream(streamId, _h2.INTERNAL_ERROR)
    c.exchange()
    failure = failureOf(body)
    assert failure.check(ResponseFailed)
    assert failure.value.reasons[0].check(StreamResetError)


def test_cancelResetsOnlyThatStream() -> None:
    c = Connected()
    d = c.get()
    other = c.get()
    d.cancel()
    assert failureOf(d).check(ResponseNeverReceived)
    c.exchange()
    assert not c.transport.disconnecting and not other.called
    assert c.protocol.openStreams == 1


def test_connectionLostFailsEverything() -> None:
    c = Connected()
    d = c.get()
    c.protocol.connectionLost(ConnectionDone())
    assert failureOf(d).check(ResponseNeverReceived)
    assert c.protocol.state == "CONNECTION_LOST"
    assert failureOf(c.protocol.request(Request(b"GET", b"/", Headers()))).check(Exception)


def test_protocolErrorFromTheServerEndsTheConnection() -> None:
    c = Connected()
    d = c.get()
    c.protocol.dataReceived(b"\x00\x00\x01\x04\x00\x00\x00\x00\x00\x00")  # bad SETTINGS
    assert c.transport.disconnecting
    c.protocol.connectionLost(ConnectionDone())
    failure = failureOf(d)
    assert failure.check(ResponseNeverReceived)
    assert "protocol error" in str(failure.value.reasons[0].value)


def result(d: Any) -> Any:
    box: list[Any] = []
    d.addBoth(box.append)
    assert box, "not fired"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]


def failureOf(d: Any) -> Any:
    box: list[Any] = []
    d.addBoth(box.append)
    assert box and hasattr(box[0], "check"), box
    return box[0]
