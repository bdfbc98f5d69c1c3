"""The sans-I/O HTTP/2 server codec alone: bytes in, events out; no reactor, no transport."""

from __future__ import annotations

import base64

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.web import _h2
from glisten.web._h2 import (
    ConnectionFailed,
    DataReceived,
    Limits,
    RequestReceived,
    ServerConnection,
    StreamEnded,
)

_EVENT_TYPES = (
    _h2.RequestReceived,
    _h2.DataReceived,
    _h2.StreamEnded,
    _h2.StreamReset,
    _h2.BodyTooLarge,
    _h2.GoAwayReceived,
    _h2.ConnectionFailed,
)


def _client(**settingsValues: int) -> h2.connection.H2Connection:
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    client.initiate_connection()
    if settingsValues:
        client.update_settings(
            {getattr(h2.settings.SettingCodes, k): v for k, v in settingsValues.items()}
        )
    return client


def _server() -> ServerConnection:
    server = ServerConnection()
    server.initiate()
    return server


def _exchange(client: h2.connection.H2Connection, server: ServerConnection) -> list[object]:
    """Pass bytes both ways until quiet; return the server's events."""
    events: list[object] = []
    for _ in range(50):
        toServer = client.data_to_send()
        if toServer:
            events.extend(server.receiveData(toServer))
        toClient = server.dataToSend()
        if toClient:
            client.receive_data(toClient)
        if not toServer and not toClient:
            break
    return events


REQUEST = [
    (b":method", b"POST"),
    (b":scheme", b"https"),
    (b":path", b"/upload?x=1"),
    (b":authority", b"example.com:8443"),
    (b"cookie", b"a=1"),
    (b"cookie", b"b=2"),
    (b"content-length", b"5"),
    (b"expect", b"100-continue"),
]


def _requestBytes() -> bytes:
    client = _client()
    client.send_headers(1, REQUEST)
    client.send_data(1, b"hello", end_stream=True)
    return client.data_to_send()


def _summary(events: list[object]) -> list[object]:
    return [e for e in events if not isinstance(e, DataReceived)] + [
        b"".join(e.data for e in events if isinstance(e, DataReceived))
    ]


def test_requestEvents() -> None:
    server = _server()
    events = server.receiveData(_requestBytes())
    assert events == [
        RequestReceived(
            1,
            b"POST",
            b"/upload?x=1",
            b"https",
            b"example.com:8443",
            {
                b"cookie": [b"a=1; b=2"],
                b"content-length": [b"5"],
                b"expect": [b"100-continue"],
                b"host": [b"example.com:8443"],
            },
            5,
            True,
            False,
        ),
        DataReceived(1, b"hello"),
        StreamEnded(1),
    ]


def test_byteAtATime() -> None:
    data = _requestBytes()
    whole = _server().receiveData(data)
    server = _server()
    pieces: list[object] = []
    for i in range(len(data)):
        pieces.extend(server.receiveData(data[i : i + 1]))
    assert _summary(pieces) == _summary(whole)


def test_response() -> None:
    client = _client()
    server = _server()
    client.send_headers(1, REQUEST[:4], end_stream=True)
    _exchange(client, server)
    server.sendResponse(1, 200, [(b"content-type", b"text/plain")])
    server.sendData(1, b"abc")
    server.sendData(1, b"def")
    server.sendEnd(1)
    events = client.receive_data(server.dataToSend())
    response = next(e for e in events if isinstance(e, h2.events.ResponseReceived))
    assert response.headers == [(b":status", b"200"), (b"content-type", b"text/plain")]
    body = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    assert body == b"abcdef"
    assert any(isinstance(e, h2.events.StreamEnded) for e in events)
    assert server.openStreams == 0


def test_bodylessResponseIsOneFrame() -> None:
    client = _client()
    server = _server()
    client.send_headers(1, REQUEST[:4], end_stream=True)
    _exchange(client, server)
    server.sendResponse(1, 204, [])
    server.sendEnd(1)
    events = client.receive_data(server.dataToSend())
    assert [type(e).__name__ for e in events] == ["ResponseReceived", "StreamEnded"]


def test_flowControlHoldsAndReleases() -> None:
    client = _client(INITIAL_WINDOW_SIZE=10)
    server = _server()
    client.send_headers(1, REQUEST[:4], end_stream=True)
    client.send_headers(3, REQUEST[:4], end_stream=True)
    _exchange(client, server)
    for streamId in (1, 3):
        server.sendResponse(streamId, 200, [])
        server.sendData(streamId, b"x" * 25)
        server.sendEnd(streamId)
    events = client.receive_data(server.dataToSend())
    sent = {1: 0, 3: 0}
    for e in events:
        if isinstance(e, h2.events.DataReceived):
            sent[e.stream_id] += len(e.data)
    assert sent == {1: 10, 3: 10}  # each stream's window, no more
    assert server.bufferedFor(1) == 15 and server.blocked
    client.increment_flow_control_window(100, stream_id=1)
    _exchange(client, server)
    assert server.bufferedFor(1) == 0 and server.bufferedFor(3) == 15
    assert server.openStreams == 1


def test_flowingFalseHoldsData() -> None:
    client = _client()
    server = _server()
    client.send_headers(1, REQUEST[:4], end_stream=True)
    _exchange(client, server)
    server.sendResponse(1, 200, [])
    server.sendData(1, b"x" * 100)
    server.dataToSend(flowing=False)
    assert server.bufferedFor(1) == 100
    server.dataToSend()
    assert server.bufferedFor(1) == 0


def test_shutdownRefusesNewStreams() -> None:
    client = _client()
    server = _server()
    client.send_headers(1, REQUEST[:4], end_stream=True)
    _exchange(client, server)
    server.startShutdown()
    assert server.goingAway
    raw = server.dataToSend()
    assert b"\x07\x00\x00\x00\x00\x00\x00\x00\x00\x01" in raw  # GOAWAY, last stream 1
    client2 = _client()
    client2.send_headers(1, REQUEST[:4], end_stream=True)
    client2.send_headers(3, REQUEST[:4], end_stream=True)
    data = client2.data_to_send()
    server2 = _server()
    server2.receiveData(data[: len(data) // 2])
    server2.startShutdown()
    events = server2.receiveData(data[len(data) // 2 :])
    assert all(not isinstance(e, RequestReceived) or e.streamId == 1 for e in events)
    # The open stream still answers after GOAWAY.
    server.sendResponse(1, 200, [])
    server.sendEnd(1)
    assert server.dataToSend()
    assert server.openStreams == 0


def test_bodyTooLarge() -> None:
    client = _client()
    server = ServerConnection(Limits(maxBody=4))
    server.initiate()
    client.send_headers(1, REQUEST[:4])
    client.send_data(1, b"12345", end_stream=True)
    events = _exchange(client, server)
    assert _h2.BodyTooLarge(1) in events
    assert StreamEnded(1) not in events


def test_lateBytesAfterFailure() -> None:
    server = _server()
    events = server.receiveData(b"GET / HTTP/1.1\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], ConnectionFailed)
    assert "GET" not in events[0].message
    assert server.receiveData(b"more") == []
    assert server.failed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"maxFrameSize": 100},
        {"initialWindowSize": 2**31},
        {"connectionWindowSize": 10},
        {"maxConcurrentStreams": 0},
    ],
)
def test_badLimits(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Limits(**kwargs)


def test_advertisedSettings() -> None:
    server = ServerConnection(Limits(maxConcurrentStreams=7, initialWindowSize=1000))
    server.initiate()
    client = _client()
    events = client.receive_data(server.dataToSend())
    changed: dict[int, int] = {}
    for e in events:
        if isinstance(e, h2.events.RemoteSettingsChanged):
            changed.update({k: v.new_value for k, v in e.changed_settings.items()})
    assert changed[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == 7
    assert changed[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] == 1000


def test_validUpgradeSettings() -> None:
    assert _h2.validUpgradeSettings(base64.urlsafe_b64encode(b"\x00\x03\x00\x00\x00\x64"))
    assert _h2.validUpgradeSettings(b"")
    assert not _h2.validUpgradeSettings(b"!!!")
    assert not _h2.validUpgradeSettings(base64.urlsafe_b64encode(b"12345"))
    assert not _h2.validUpgradeSettings(b"A" * 2000)
    assert not _h2.validUpgradeSettings(base64.urlsafe_b64encode(b"\x00\x02\x00\x00\x00\x02"))
    assert not _h2.validUpgradeSettings(base64.urlsafe_b64encode(b"\x00\x05\x00\x00\x00\x01"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_randomBytesOnlyGiveProtocolEvents(data: bytes) -> None:
    server = _server()
    for chunk in (_h2.PREFACE, data):
        for event in server.receiveData(chunk):
            assert isinstance(event, _EVENT_TYPES)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_mutatedRequestsOnlyGiveProtocolEvents(data: st.DataObject) -> None:
    raw = bytearray(_requestBytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    server = _server()
    split = data.draw(st.integers(0, len(raw)))
    for chunk in (bytes(raw[:split]), bytes(raw[split:])):
        for event in server.receiveData(chunk):
            assert isinstance(event, _EVENT_TYPES)
        server.dataToSend()
