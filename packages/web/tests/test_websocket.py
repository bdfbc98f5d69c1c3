"""WebSocketResource: the frame codec alone, then a real server with a wsproto client."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from glisten.web import _ws
from glisten.web.resource import Resource
from glisten.web.websocket import WebSocketProtocol, WebSocketResource, WebSocketServerFactory

Serve = Callable[..., Any]


def clientFrame(
    opcode: int, payload: bytes, fin: bool = True, mask: bytes = b"abcd", rsv: int = 0
) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, n)
    return header + mask + _ws._codec.unmask(payload, mask)


def decodeAll(data: bytes, oneByte: bool, **kw: Any) -> list[Any]:
    d = _ws.FrameDecoder(**kw)
    if not oneByte:
        return d.receiveData(data)
    out: list[Any] = []
    for i in range(len(data)):
        out.extend(d.receiveData(data[i : i + 1]))
    return out


both = pytest.mark.parametrize("oneByte", [False, True], ids=["whole", "bytewise"])


@both
def test_decodeMessages(oneByte: bool) -> None:
    data = (
        clientFrame(1, "héllo".encode())
        + clientFrame(2, b"\x00\x01", fin=False)
        + clientFrame(9, b"ping")
        + clientFrame(0, b"\x02", fin=False)
        + clientFrame(0, b"\x03")
        + clientFrame(2, b"x" * 70000)
        + clientFrame(1, "é".encode()[:1], fin=False)
        + clientFrame(0, "é".encode()[1:])
        + clientFrame(8, struct.pack("!H", 1000) + b"bye")
        + clientFrame(1, b"after close")
    )
    assert decodeAll(data, oneByte) == [
        _ws.Message("héllo"),
        _ws.Ping(b"ping"),
        _ws.Message(b"\x00\x01\x02\x03"),
        _ws.Message(b"x" * 70000),
        _ws.Message("é"),
        _ws.Close(1000, "bye"),
    ]


BAD = [
    ("unmasked", b"\x81\x02hi", 1002),
    ("reserved bit", clientFrame(1, b"a", rsv=0x40), 1002),
    ("unknown opcode", clientFrame(3, b"a"), 1002),
    ("fragmented ping", clientFrame(9, b"a", fin=False), 1002),
    ("long ping", clientFrame(9, b"a" * 126), 1002),
    ("lone continuation", clientFrame(0, b"a"), 1002),
    ("message in message", clientFrame(1, b"a", fin=False) + clientFrame(1, b"b"), 1002),
    ("bad utf-8", clientFrame(1, b"\xff"), 1007),
    ("truncated utf-8", clientFrame(1, b"\xc3"), 1007),
    ("one-byte close", clientFrame(8, b"\x03"), 1002),
    ("close code 1005", clientFrame(8, struct.pack("!H", 1005)), 1002),
    ("close code 999", clientFrame(8, struct.pack("!H", 999)), 1002),
    ("close reason not utf-8", clientFrame(8, struct.pack("!H", 1000) + b"\xff"), 1007),
    ("frame too big", clientFrame(2, b"a" * 101), 1009),
    ("message too big", clientFrame(2, b"a" * 80, fin=False) + clientFrame(0, b"a" * 80), 1009),
    ("non-minimal length", b"\x82\xfe\x00\x05abcd" + b"12345", 1002),
]


@both
@pytest.mark.parametrize("name,data,code", BAD, ids=[b[0] for b in BAD])
def test_decodeErrors(name: str, data: bytes, code: int, oneByte: bool) -> None:
    events = decodeAll(data, oneByte, maxFrameSize=100, maxMessageSize=150)
    assert isinstance(events[-1], _ws.WebSocketError), events
    assert events[-1].code == code


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=8))
def test_randomFramesNeverRaise(data: bytes, cuts: list[int]) -> None:
    d = _ws.FrameDecoder(maxFrameSize=200, maxMessageSize=300)
    pos = 0
    for size in [*cuts, len(data)]:
        for event in d.receiveData(data[pos : pos + size]):
            assert isinstance(
                event, (_ws.Message, _ws.Ping, _ws.Pong, _ws.Close, _ws.WebSocketError)
            )
        pos += size


def test_acceptKey() -> None:
    # The example of RFC 6455 section 1.3.
    assert _ws.acceptKey(b"dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class Echo(WebSocketProtocol):
    def textMessageReceived(self, data: str) -> None:
        if data == "close please":
            self.transport.loseConnection(4000, "asked")
        elif data == "ping me":
            self.transport.ping(b"srv")
        else:
            self.transport.sendTextMessage(data.upper())

    def bytesMessageReceived(self, data: bytes) -> None:
        self.transport.sendBytesMessage(data[::-1])

    def pongReceived(self, payload: bytes) -> None:
        self.transport.sendTextMessage("pong:" + payload.decode())


class Factory(WebSocketServerFactory):
    protocol = Echo
    maxMessageSize = 100_000
    subprotocols = ("chat",)

    def buildProtocol(self, request: Any) -> WebSocketProtocol | None:
        if request.args.get(b"refuse"):
            return None
        return super().buildProtocol(request)


def site() -> Resource:
    root = Resource()
    root.putChild(b"ws", WebSocketResource(Factory()))
    return root


class Client:
    """A blocking wsproto client over a socket."""

    def __init__(self, port: int, target: str = "/ws", subprotocols: list[str] | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(
            self.ws.send(Request(host="localhost", target=target, subprotocols=subprotocols or []))
        )
        self.handshake = self.next()

    def next(self) -> Any:
        while True:
            for event in self.ws.events():
                return event
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            if not data:
                for event in self.ws.events():
                    return event
                return None

    def send(self, event: Any) -> None:
        self.sock.sendall(self.ws.send(event))


def test_realConversation(serveReal: Serve) -> None:
    def client(port: int) -> list[Any]:
        c = Client(port, subprotocols=["other", "chat"])
        out: list[Any] = [type(c.handshake).__name__, c.handshake.subprotocol]
        c.send(TextMessage("hello"))
        out.append(c.next().data)
        big = os.urandom(70000)
        c.send(BytesMessage(big[:30000], message_finished=False))
        c.send(BytesMessage(big[30000:]))
        reply = b""
        while True:
            event = c.next()
            reply += event.data
            if event.message_finished:
                break
        out.append(reply == big[::-1])
        c.send(Ping(b"p1"))
        out.append(c.next())
        c.send(TextMessage("ping me"))
        ping = c.next()
        c.send(ping.response())
        out.append(c.next().data)
        c.send(TextMessage("close please"))
        close = c.next()
        out.append((close.code, close.reason))
        c.send(close.response())
        out.append(c.sock.recv(10))  # the server closes the TCP connection
        return out

    assert serveReal(site(), client) == [
        "AcceptConnection",
        "chat",
        "HELLO",
        True,
        Pong(b"p1"),
        "pong:srv",
        (4000, "asked"),
        b"",
    ]


def test_clientCloseAndLimits(serveReal: Serve) -> None:
    def client(port: int) -> list[Any]:
        out = []
        c = Client(port)
        c.send(CloseConnection(code=1001, reason="bye"))
        event = c.next()
        out.append((type(event).__name__, event.code))
        c = Client(port)
        c.send(BytesMessage(b"a" * 100_001))
        event = c.next()
        out.append((type(event).__name__, event.code))
        c = Client(port)
        c.sock.sendall(clientFrame(1, b"\xff\xfe"))
        event = c.next()
        out.append((type(event).__name__, event.code))
        return out

    assert serveReal(site(), client) == [
        ("CloseConnection", 1001),
        ("CloseConnection", CloseReason.MESSAGE_TOO_BIG),
        ("CloseConnection", CloseReason.INVALID_FRAME_PAYLOAD_DATA),
    ]


def test_handshakeRefusals(serveReal: Serve) -> None:
    def client(port: int) -> list[Any]:
        out = [type(Client(port, "/ws?refuse=1").handshake).__name__]
        for request in (
            b"GET /ws HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(request)
                out.append(s.recv(65536).split(b"\r\n", 1)[0])
        return out

    assert serveReal(site(), client) == [
        "RejectConnection",
        b"HTTP/1.1 400 Bad Request",
        b"HTTP/1.1 426 Upgrade Required",
        b"HTTP/1.1 400 Bad Request",
    ]
    assert RejectConnection and AcceptConnection
