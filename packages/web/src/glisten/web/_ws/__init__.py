"""A sans-I/O WebSocket (RFC 6455) codec, server side: handshake checks, frame decoding with
limits, message reassembly, and frame encoding."""

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
    "encodeClose",
    "encodeFrame",
]
