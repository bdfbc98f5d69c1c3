"""A sans-I/O WebSocket (RFC 6455) codec for servers and clients: handshake checks, frame
decoding with limits, message reassembly, and frame encoding (masked for clients)."""

from glisten.web._ws._codec import (
    Close,
    CloseCode,
    FrameDecoder,
    Message,
    Opcode,
    Ping,
    Pong,
    WebSocketError,
    acceptKey,
    checkServerHandshake,
    clientKey,
    encodeClose,
    encodeFrame,
)
from glisten.web._ws._connection import CloseState, WebSocketConnection

__all__ = [
    "Close",
    "CloseCode",
    "CloseState",
    "FrameDecoder",
    "Message",
    "Opcode",
    "Ping",
    "Pong",
    "WebSocketConnection",
    "WebSocketError",
    "acceptKey",
    "checkServerHandshake",
    "clientKey",
    "encodeClose",
    "encodeFrame",
]
