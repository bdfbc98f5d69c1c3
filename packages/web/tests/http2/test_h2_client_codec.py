"""The sans-I/O HTTP/2 client codec (:class:`glisten.web._h2.ClientConnection`), against the
server codec in memory and against hand-made frames."""

from __future__ import annotations

from typing import Any

import pytest
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, PingFrame, SettingsFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.web import _h2


def pair() -> tuple[_h2.ClientConnection, _h2.ServerConnection]:
    client = _h2.ClientConnection()
    server = _h2.ServerConnection()
    client.initiate()
    server.initiate()
    pump(client, server)
    return client, server


def pump(
    client: _h2.ClientConnection, server: _h2.ServerConnection, byteAtATime: bool = False
) -> tuple[list[Any], list[Any]]:
    """Move bytes both ways until neither side has any: (client events, server events)."""
    clientEvents: list[Any] = []
    serverEvents: list[Any] = []
    while True:
        toServer = client.dataToSend()
        toClient = server.dataToSend()
        if not toServer and not toClient:
            return clientEvents, serverEvents
        serverEvents += server.receiveData(toServer)
        if byteAtATime:
            for i in range(len(toClient)):
                clientEvents += client.receiveData(toClient[i : i + 1])
        else:
            clientEvents += client.receiveData(toClient)


def get(client: _h2.ClientConnection, path: bytes = b"/") -> int:
    return client.sendRequest(b"GET", b"https", b"example.com", path, [], True)


def merged(events: list[Any]) -> list[Any]:
    """Adjacent DataReceived of one stream joined (byte-at-a-time feeding splits them)."""
    out: list[Any] = []
    for event in events:
        if (
            isinstance(event, _h2.DataReceived)
            and out
            and isinstance(out[-1], _h2.DataReceived)
            and out[-1].streamId == event.streamId
        ):
            out[-1] = _h2.DataReceived(event.streamId, out[-1].data + event.data)
        else:
            out.append(event)
    return out


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_requestAndResponse(byteAtATime: bool) -> None:
    client, server = pair()
    streamId = client.sendRequest(
        b"GET", b"https", b"example.com", b"/x?y", [(b"accept", b"*/*")], True
    )
    _, serverEvents = pump(client, server)
    request = serverEvents[0]
    assert isinstance(request, _h2.RequestReceived)
    assert (request.method, request.path, request.authority) == (b"GET", b"/x?y", b"example.com")
    assert request.headers[b"accept"] == [b"*/*"] and request.endStream
    server.sendResponse(streamId, 200, [(b"content-length", b"5"), (b"x-a", b"1")])
    server.sendData(streamId, b"he")
    server.sendData(streamId, b"llo")
    server.sendEnd(streamId)
    clientEvents, _ = pump(client, server, byteAtATime)
    assert merged(clientEvents) == [
        _h2.ResponseReceived(streamId, 200, {b"content-length": [b"5"], b"x-a": [b"1"]}, 5),
        _h2.DataReceived(streamId, b"hello"),
        _h2.StreamEnded(streamId),
    ]
    assert client.openStreams == 0 and client.canOpenStream


def test_concurrentStreamsInterleave() -> None:
    client, server = pair()
    ids = [get(client, b"/%d" % i) for i in range(3)]
    assert ids == [1, 3, 5] and client.openStreams == 3
    pump(client, server)
    for streamId in reversed(ids):
        server.sendResponse(streamId, 200, [])
        server.sendData(streamId, b"body %d" % streamId)
    for streamId in ids:
        server.sendEnd(streamId)
    clientEvents, _ = pump(client, server)
    bodies = {e.streamId: e.data for e in clientEvents if isinstance(e, _h2.DataReceived)}
    assert bodies == {1: b"body 1", 3: b"body 3", 5: b"body 5"}
    assert sorted(e.streamId for e in clientEvents if isinstance(e, _h2.StreamEnded)) == ids


def test_requestBodyWaitsForTheServersWindow() -> None:
    client, server = pair()
    streamId = client.sendRequest(b"POST", b"https", b"h", b"/", [], False)
    body = bytes(range(256)) * 800  # 204800 bytes: three times the default window
    client.sendData(streamId, body)
    client.sendEnd(streamId)
    _, serverEvents = pump(client, server)
    got = b"".join(e.data for e in serverEvents if isinstance(e, _h2.DataReceived))
    # The server's stream window is 65535 until it acknowledges what it read.
    assert len(got) == 65535 and client.bufferedFor(streamId) == len(body) - 65535
    while client.bufferedFor(streamId) or not any(
        isinstance(e, _h2.StreamEnded) for e in serverEvents
    ):
        server.acknowledgeData(streamId, len(got))
        _, serverEvents = pump(client, server)
        more = b"".join(e.data for e in serverEvents if isinstance(e, _h2.DataReceived))
        assert more
        got += more
    assert got == body


def test_responseBodyWaitsForTheClientToTakeIt() -> None:
    client, server = pair()
    streamId = get(client)
    pump(client, server)
    size = 3 * _h2.CLIENT_LIMITS.initialWindowSize
    server.sendResponse(streamId, 200, [])
    server.sendData(streamId, b"x" * size)
    server.sendEnd(streamId)
    clientEvents, _ = pump(client, server)
    received = sum(len(e.data) for e in clientEvents if isinstance(e, _h2.DataReceived))
    # Nothing acknowledged: the server stops at the advertised stream window.
    assert received == _h2.CLIENT_LIMITS.initialWindowSize
    assert server.bufferedFor(streamId) == size - received
    total = received
    while total < size:
        client.acknowledgeData(streamId, received)
        clientEvents, _ = pump(client, server)
        received = sum(len(e.data) for e in clientEvents if isinstance(e, _h2.DataReceived))
        assert received
        total += received
    assert isinstance(clientEvents[-1], _h2.StreamEnded)


def test_serverGoAwayNamesTheLastStream() -> None:
    client, server = pair()
    first = get(client)
    pump(client, server)
    server.startShutdown()
    second = get(client)
    clientEvents, serverEvents = pump(client, server)
    assert _h2.ServerGoAway(0, first) in clientEvents
    assert not client.canOpenStream and client.goingAway
    with pytest.raises(_h2.NoStreamAvailable):
        get(client)
    # The stream opened after the GOAWAY is refused; the first one is still served.
    assert _h2.StreamReset(second, int(_h2.REFUSED_STREAM), True) in clientEvents
    server.sendResponse(first, 204, [])
    server.sendEnd(first)
    clientEvents, _ = pump(client, server)
    assert [type(e) for e in clientEvents] == [_h2.ResponseReceived, _h2.StreamEnded]


def test_serverResetsAStream() -> None:
    client, server = pair()
    one, two = get(client), get(client)
    pump(client, server)
    server.resetStream(one, _h2.INTERNAL_ERROR)
    server.sendResponse(two, 200, [])
    server.sendEnd(two)
    clientEvents, _ = pump(client, server)
    assert clientEvents[0] == _h2.StreamReset(one, int(_h2.INTERNAL_ERROR), True)
    assert clientEvents[-1] == _h2.StreamEnded(two)


def test_clientResetDropsTheStreamsBytes() -> None:
    client, server = pair()
    streamId = client.sendRequest(b"POST", b"https", b"h", b"/", [], False)
    client.sendData(streamId, b"a" * 100000)
    client.resetStream(streamId)
    assert client.bufferedFor(streamId) == 0 and client.openStreams == 0
    _, serverEvents = pump(client, server)
    assert isinstance(serverEvents[-1], _h2.StreamReset)
    assert client.canOpenStream


def test_concurrencyLimitOfTheServer() -> None:
    client = _h2.ClientConnection()
    server = _h2.ServerConnection(_h2.Limits(maxConcurrentStreams=2))
    client.initiate()
    server.initiate()
    pump(client, server)
    get(client), get(client)
    assert not client.canOpenStream
    with pytest.raises(_h2.NoStreamAvailable):
        get(client)


def test_conflictingContentLengthsAreAProtocolError() -> None:
    client, server = pair()
    streamId = get(client)
    pump(client, server)
    frame = HeadersFrame(streamId, flags=["END_HEADERS"])
    # Literal fields (no indexing): :status 200, content-length 1, content-length 2.
    frame.data = b"\x08\x03200" + b"\x0f\x0d\x011" + b"\x0f\x0d\x012"
    events = client.receiveData(frame.serialize())
    # h2 makes a malformed response a connection error (RFC 9113 8.1.1 allows either).
    assert events == [
        _h2.ConnectionFailed(int(_h2.PROTOCOL_ERROR), "HTTP/2 protocol error (ProtocolError)")
    ]
    assert client.openStreams == 0


def test_pingFloodEndsTheConnection() -> None:
    client, server = pair()
    flood = b"".join(PingFrame(0, opaque_data=b"%08d" % i).serialize() for i in range(200))
    events = client.receiveData(flood)
    assert events[-1] == _h2.ConnectionFailed(int(_h2.ENHANCE_YOUR_CALM), "ping flood")
    assert client.failed and client.receiveData(b"more") == []
    goaway = client.dataToSend()
    assert goaway[-17:-8][3] == 0x7  # the GOAWAY frame's type


def test_settingsFloodEndsTheConnection() -> None:
    client, _ = pair()
    flood = SettingsFrame(0).serialize() * 150
    events = client.receiveData(flood)
    assert events[-1] == _h2.ConnectionFailed(int(_h2.ENHANCE_YOUR_CALM), "settings flood")


def test_emptyDataFloodEndsTheConnection() -> None:
    client, server = pair()
    streamId = get(client)
    pump(client, server)
    server.sendResponse(streamId, 200, [])
    server.sendData(streamId, b"x")
    pump(client, server)
    flood = DataFrame(streamId).serialize() * 150
    events = client.receiveData(flood)
    assert events[-1] == _h2.ConnectionFailed(int(_h2.ENHANCE_YOUR_CALM), "empty frame flood")


def test_garbageIsAFrameSizeError() -> None:
    client, _ = pair()
    events = client.receiveData(b"HTTP/1.1 200 OK\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], _h2.ConnectionFailed)
    # "HTT" read as a frame length is far more than the 16384 bytes advertised.
    assert events[0].errorCode == 6  # FRAME_SIZE_ERROR
    # The message names the error, never the server's bytes.
    assert "HTTP/1.1" not in events[0].message


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_framesAfterAGoAwayStillArrive(byteAtATime: bool) -> None:
    client, server = pair()
    one, two = get(client), get(client)
    pump(client, server)
    server.sendResponse(one, 200, [])
    server.sendData(one, b"before")
    wire = server.dataToSend()
    wire += GoAwayFrame(0, last_stream_id=one, error_code=0).serialize()
    server.sendData(one, b" after")
    server.sendEnd(one)
    wire += server.dataToSend()
    events: list[Any] = []
    step = 1 if byteAtATime else len(wire)
    for i in range(0, len(wire), step):
        events += client.receiveData(wire[i : i + step])
    assert merged(events) == [
        _h2.ResponseReceived(one, 200, {}),
        _h2.DataReceived(one, b"before"),
        _h2.ServerGoAway(0, one),
        _h2.DataReceived(one, b" after"),
        _h2.StreamEnded(one),
    ]
    assert two == 3 and not client.canOpenStream


def test_goAwayWithAnError() -> None:
    client, _ = pair()
    get(client)
    events = client.receiveData(GoAwayFrame(0, last_stream_id=0, error_code=11).serialize())
    assert events == [_h2.ServerGoAway(11, 0)]


def test_malformedGoAwayIsAProtocolError() -> None:
    client, _ = pair()
    # Seven bytes of payload: shorter than a GOAWAY's fixed fields.
    events = client.receiveData(b"\x00\x00\x07\x07\x00\x00\x00\x00\x00" + bytes(7))
    assert isinstance(events[-1], _h2.ConnectionFailed)


def test_pushIsRefused() -> None:
    client = _h2.ClientConnection()
    client.initiate()
    sent = client.dataToSend()
    # ENABLE_PUSH (2) = 0 in the client's SETTINGS.
    assert b"\x00\x02\x00\x00\x00\x00" in sent


def test_badHeadersAreRefusedLocally() -> None:
    client, _ = pair()
    with pytest.raises(ValueError):
        client.sendRequest(b"GET", b"https", b"h", b"/", [(b"x", b"a\r\nb")], True)
    assert client.openStreams == 0


_ERRORS = (_h2.ConnectionFailed,)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=200))
def test_randomServerBytesOnlyGiveProtocolEvents(data: bytes, cut: int) -> None:
    client, server = pair()
    streamId = get(client)
    pump(client, server)
    server.sendResponse(streamId, 200, [])
    server.sendData(streamId, b"partial")
    valid = server.dataToSend()
    # A valid prefix, then random bytes; or a valid stream with some bytes flipped.
    for feed in (valid[:cut] + data, bytes(b ^ (data[0] if data else 1) for b in valid[:cut])):
        fresh, other = pair()
        get(fresh)
        pump(fresh, other)
        events = fresh.receiveData(feed)
        for event in events:
            assert isinstance(
                event,
                _h2.ResponseReceived
                | _h2.DataReceived
                | _h2.StreamEnded
                | _h2.StreamReset
                | _h2.ServerGoAway
                | _h2.ConnectionFailed,
            )
        fresh.dataToSend()


def test_atMost100StreamsBeforeTheServersSettings() -> None:
    client = _h2.ClientConnection()
    client.initiate()
    for _ in range(100):
        get(client)
    assert not client.canOpenStream
    with pytest.raises(_h2.NoStreamAvailable):
        get(client)
    # The server's SETTINGS (no limit of its own) lift it.
    client.receiveData(SettingsFrame(0).serialize())
    assert client.canOpenStream
