"""The sans-I/O WebSocket connection: the closing handshake as a state, and the replies it
owes the peer."""

from __future__ import annotations

import struct

from glisten.web._ws import (
    Close,
    CloseCode,
    CloseState,
    Message,
    Ping,
    WebSocketConnection,
    WebSocketError,
    encodeClose,
    encodeFrame,
)


def clientFrame(opcode: int, payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + masked


def test_peerStartsClosing() -> None:
    conn = WebSocketConnection()
    events = conn.receiveData(clientFrame(0x1, b"hi") + clientFrame(0x8, b"\x03\xe8bye"))
    assert events == [Message("hi"), Close(1000, "bye")]
    assert conn.state is CloseState.CLOSED and conn.closeCode == 1000
    assert conn.bytesToSend() == encodeClose(1000)
    assert conn.bytesToSend() == b""
    assert conn.sendText("late") == b"" and conn.receiveData(clientFrame(0x1, b"x")) == []


def test_weStartClosing() -> None:
    conn = WebSocketConnection()
    assert conn.close(CloseCode.GOING_AWAY, "bye") == encodeClose(1001, "bye")
    assert conn.state is CloseState.CLOSE_SENT and conn.closeCode == 1001
    assert conn.close() == b"" and conn.sendBytes(b"x") == b"" and conn.ping() == b""
    # Pings are not answered once our close is sent.
    assert conn.receiveData(clientFrame(0x9, b"p")) == [Ping(b"p")]
    assert conn.bytesToSend() == b""
    conn.receiveData(clientFrame(0x8, b"\x03\xe8"))
    assert conn.state is CloseState.CLOSED and conn.closeCode == 1001
    assert conn.bytesToSend() == b""


def test_pingAnsweredWhileOpen() -> None:
    conn = WebSocketConnection()
    assert conn.receiveData(clientFrame(0x9, b"p")) == [Ping(b"p")]
    assert conn.bytesToSend() == encodeFrame(0xA, b"p")
    assert conn.state is CloseState.OPEN


def test_protocolErrorClosesWithItsCode() -> None:
    conn = WebSocketConnection()
    unmasked = struct.pack("!BB", 0x81, 1) + b"x"
    events = conn.receiveData(unmasked)
    assert isinstance(events[-1], WebSocketError)
    assert conn.state is CloseState.CLOSED and conn.closeCode == CloseCode.PROTOCOL_ERROR
    assert conn.bytesToSend() == encodeClose(CloseCode.PROTOCOL_ERROR)


def test_droppedWithoutHandshakeIsAbnormal() -> None:
    conn = WebSocketConnection()
    conn.connectionLost()
    assert conn.state is CloseState.CLOSED and conn.closeCode == CloseCode.ABNORMAL
    conn = WebSocketConnection()
    conn.close()
    conn.connectionLost()
    assert conn.closeCode == CloseCode.NORMAL
