"""WebSocket frames (RFC 6455 section 5) for either side: a server decodes masked client frames
and sends unmasked ones; a client masks what it sends and refuses masked frames.

The decoder enforces what RFC 6455 asks of the receiving side: client frames masked (server
frames unmasked), no reserved bits (no
extensions are negotiated), known opcodes, control frames short and unfragmented, continuation
frames only inside a fragmented message, text that is valid UTF-8, close codes that may appear
on the wire, and limits on frame and message sizes. A violation ends decoding with a
:class:`WebSocketError` event carrying the close code to send.
"""

from __future__ import annotations

import base64
import codecs
import enum
import hashlib
import struct

import attrs

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Opcode(enum.IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 section 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011


@attrs.frozen
class Message:
    """A complete data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


@attrs.frozen
class Ping:
    payload: bytes


@attrs.frozen
class Pong:
    payload: bytes


@attrs.frozen
class Close:
    """The peer started or answered the closing handshake.

    :ivar code: The status code, :attr:`CloseCode.NO_STATUS` if none was sent.
    """

    code: int
    reason: str


@attrs.frozen
class WebSocketError:
    """The peer broke the protocol; close with ``code`` and stop reading."""

    code: int
    message: str


WSEvent = Message | Ping | Pong | Close | WebSocketError


def acceptKey(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def validKey(key: bytes) -> bool:
    """Whether ``key`` is base64 of 16 bytes, as RFC 6455 4.1 requires."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def _isValidCloseCode(code: int) -> bool:
    return (1000 <= code <= 1003 or 1007 <= code <= 1014) or 3000 <= code <= 4999


def unmask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the repeating 4-byte ``mask`` (as one big integer, not byte by byte)."""
    n = len(data)
    if not n:
        return data
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def encodeFrame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A frame: unmasked (a server's), or masked with the 4-byte ``mask`` (a client's, whose
    key must be fresh and unpredictable for every frame, RFC 6455 5.3)."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    masked = 0x80 if mask is not None else 0
    if n < 126:
        header = struct.pack("!BB", first, masked | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, masked | 126, n)
    else:
        header = struct.pack("!BBQ", first, masked | 127, n)
    if mask is not None:
        return header + mask + unmask(payload, mask)
    return header + payload


def encodeClose(code: int | None, reason: str = "", mask: bytes | None = None) -> bytes:
    """A close frame; ``None`` sends no status code. The reason is cut to fit 123 bytes."""
    if code is None:
        return encodeFrame(Opcode.CLOSE, b"", mask=mask)
    raw = reason.encode("utf-8")[:123]
    while True:
        try:
            raw.decode("utf-8")
            break
        except UnicodeDecodeError:
            raw = raw[:-1]
    return encodeFrame(Opcode.CLOSE, struct.pack("!H", code) + raw, mask=mask)


_DATA_OPCODES = (Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY)
_CONTROL_OPCODES = (Opcode.CLOSE, Opcode.PING, Opcode.PONG)


class FrameDecoder:
    """Decodes the frames the peer sends into events.

    :param maxFrameSize: Largest frame payload; larger closes with 1009.
    :param maxMessageSize: Largest reassembled message; larger closes with 1009.
    :param client: Decode as a client: the server's frames must not be masked.
    """

    def __init__(
        self,
        maxFrameSize: int = 16 * 1024 * 1024,
        maxMessageSize: int = 16 * 1024 * 1024,
        client: bool = False,
    ):
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.client = client
        self._buf = b""
        # A frame that arrives in many reads: the pieces wait in a list until the frame is
        # complete (``_need`` bytes), instead of re-joining the growing buffer on every read.
        self._pieces: list[bytes] = []
        self._piecesLen = 0
        self._need = 0
        self._failed = False
        self._closed = False
        self._msgOpcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._text: codecs.IncrementalDecoder | None = None
        self._textParts: list[str] = []

    def receiveData(self, data: bytes) -> list[WSEvent]:
        """Decode as many frames as ``data`` completes.

        :return: Events; a :class:`WebSocketError` is always last, after which nothing more is
            decoded. Nothing is decoded after a :class:`Close` either.
        """
        events: list[WSEvent] = []
        if self._failed or self._closed:
            return events
        if self._need:
            if self._piecesLen + len(data) < self._need:
                self._pieces.append(data)
                self._piecesLen += len(data)
                return events
            self._pieces.append(data)
            buf = b"".join(self._pieces)
            self._pieces = []
            self._piecesLen = 0
            self._need = 0
        else:
            buf = self._buf + data if self._buf else data
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            headerLen = 2
            if length == 126:
                headerLen = 4
            elif length == 127:
                headerLen = 10
            if b1 & 0x80:
                headerLen += 4
            if end - pos < headerLen:
                break
            if length == 126:
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                if length < 126:
                    return self._fail(events, CloseCode.PROTOCOL_ERROR, "non-minimal length")
            elif length == 127:
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                if length >> 63:
                    return self._fail(events, CloseCode.PROTOCOL_ERROR, "length with top bit set")
                if length < 65536:
                    return self._fail(events, CloseCode.PROTOCOL_ERROR, "non-minimal length")
            error = self._checkHeader(b0, b1, length)
            if error is not None:
                return self._fail(events, *error)
            if end - pos - headerLen < length:
                # Wait for the rest of this frame without copying what is here again.
                self._need = headerLen + length
                self._pieces = [buf[pos:] if pos else buf]
                self._piecesLen = end - pos
                self._buf = b""
                return events
            start = pos + headerLen
            if b1 & 0x80:
                payload = unmask(buf[start : start + length], buf[start - 4 : start])
            else:
                payload = buf[start : start + length]
            pos = start + length
            if not self._frame(b0 & 0x80, b0 & 0x0F, payload, events):
                self._buf = b""
                return events
        self._buf = buf[pos:] if pos else buf
        return events

    def _fail(self, events: list[WSEvent], code: int, message: str) -> list[WSEvent]:
        self._failed = True
        self._buf = b""
        events.append(WebSocketError(int(code), message))
        return events

    def _checkHeader(self, b0: int, b1: int, length: int) -> tuple[int, str] | None:
        if b0 & 0x70:
            return CloseCode.PROTOCOL_ERROR, "reserved bits set"
        if self.client:
            if b1 & 0x80:
                return CloseCode.PROTOCOL_ERROR, "server frame masked"
        elif not b1 & 0x80:
            return CloseCode.PROTOCOL_ERROR, "client frame not masked"
        opcode = b0 & 0x0F
        if opcode in _CONTROL_OPCODES:
            if not b0 & 0x80:
                return CloseCode.PROTOCOL_ERROR, "fragmented control frame"
            if length > 125:
                return CloseCode.PROTOCOL_ERROR, "control frame too long"
        elif opcode in _DATA_OPCODES:
            if opcode == Opcode.CONTINUATION and self._msgOpcode is None:
                return CloseCode.PROTOCOL_ERROR, "continuation without a message"
            if opcode != Opcode.CONTINUATION and self._msgOpcode is not None:
                return CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one"
            if length > self.maxFrameSize:
                return CloseCode.MESSAGE_TOO_BIG, "frame too large"
            if self._size + length > self.maxMessageSize:
                return CloseCode.MESSAGE_TOO_BIG, "message too large"
        else:
            return CloseCode.PROTOCOL_ERROR, "unknown opcode"
        return None

    def _frame(self, fin: int, opcode: int, payload: bytes, events: list[WSEvent]) -> bool:
        """Handle one valid frame; return False to stop decoding."""
        if opcode == Opcode.PING:
            events.append(Ping(payload))
            return True
        if opcode == Opcode.PONG:
            events.append(Pong(payload))
            return True
        if opcode == Opcode.CLOSE:
            return self._close(payload, events)
        if opcode != Opcode.CONTINUATION:
            self._msgOpcode = opcode
            self._parts = []
            self._textParts = []
            self._size = 0
            self._text = (
                codecs.getincrementaldecoder("utf-8")("strict") if opcode == Opcode.TEXT else None
            )
        self._size += len(payload)
        if self._text is not None:
            try:
                self._textParts.append(self._text.decode(payload, final=bool(fin)))
            except UnicodeDecodeError:
                self._fail(events, CloseCode.INVALID_DATA, "text is not UTF-8")
                return False
        else:
            self._parts.append(payload)
        if fin:
            if self._text is not None:
                events.append(Message("".join(self._textParts)))
            else:
                events.append(Message(b"".join(self._parts)))
            self._msgOpcode = None
            self._parts = []
            self._textParts = []
            self._text = None
            self._size = 0
        return True

    def _close(self, payload: bytes, events: list[WSEvent]) -> bool:
        self._closed = True
        if not payload:
            events.append(Close(CloseCode.NO_STATUS, ""))
            return False
        if len(payload) == 1:
            self._fail(events, CloseCode.PROTOCOL_ERROR, "close frame of one byte")
            return False
        code = struct.unpack("!H", payload[:2])[0]
        if not _isValidCloseCode(code):
            self._fail(events, CloseCode.PROTOCOL_ERROR, "invalid close code")
            return False
        try:
            reason = payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            self._fail(events, CloseCode.INVALID_DATA, "close reason is not UTF-8")
            return False
        events.append(Close(code, reason))
        return False


def clientKey(nonce: bytes) -> bytes:
    """The ``Sec-WebSocket-Key`` for a 16-byte random ``nonce`` (RFC 6455 4.1)."""
    if len(nonce) != 16:
        raise ValueError("the nonce must be 16 bytes")
    return base64.b64encode(nonce)


def checkServerHandshake(
    status: int, headers: dict[bytes, list[bytes]], key: bytes, offered: list[str]
) -> tuple[str | None, str | None]:
    """Check a server's answer to a client's opening handshake (RFC 6455 4.1, 4.2.2).

    :param headers: The response's fields, names lower-cased.
    :param key: The ``Sec-WebSocket-Key`` the client sent.
    :param offered: The subprotocols the client offered.
    :return: ``(subprotocol, None)`` when it is accepted, ``(None, reason)`` when not.
    """
    if status != 101:
        return None, "the server did not switch protocols"

    def tokens(name: bytes) -> list[bytes]:
        return [t.strip().lower() for v in headers.get(name, []) for t in v.split(b",")]

    if tokens(b"upgrade") != [b"websocket"]:
        return None, "the server upgraded to something else than websocket"
    if b"upgrade" not in tokens(b"connection"):
        return None, "the server's Connection field lacks upgrade"
    if headers.get(b"sec-websocket-accept") != [acceptKey(key)]:
        return None, "the server's Sec-WebSocket-Accept does not match the key"
    if headers.get(b"sec-websocket-extensions"):
        return None, "the server chose an extension that was not offered"
    chosen = headers.get(b"sec-websocket-protocol")
    if not chosen:
        return None, None
    subprotocol = chosen[0].strip().decode("ascii", "replace")
    if len(chosen) > 1 or subprotocol not in offered:
        return None, "the server chose a subprotocol that was not offered"
    return subprotocol, None
