"""One WebSocket connection, sans I/O, server or client side: frames in, events and bytes out,
and the closing handshake (RFC 6455 section 7) as an explicit state.

The connection layer (:class:`glisten.web.websocket.WebSocketTransport`) writes what
:meth:`WebSocketConnection.bytesToSend` gives, closes the TCP connection once
:attr:`WebSocketConnection.state` is :attr:`CloseState.CLOSED` (the server closes first,
RFC 6455 7.1.1), and runs the timer that aborts a peer which never answers our close frame.
"""

from __future__ import annotations

import enum
import os

from glisten.web._ws._codec import (
    Close,
    CloseCode,
    FrameDecoder,
    Opcode,
    Ping,
    WebSocketError,
    WSEvent,
    encodeClose,
    encodeFrame,
)


class CloseState(enum.Enum):
    """Where a connection is in the closing handshake."""

    #: Messages flow both ways.
    OPEN = "open"
    #: We sent a close frame and wait for the peer's; we send nothing more.
    CLOSE_SENT = "close-sent"
    #: The handshake is over (or the peer broke the protocol): close the TCP connection.
    CLOSED = "closed"


_OPEN = CloseState.OPEN
_CLOSE_SENT = CloseState.CLOSE_SENT
_CLOSED = CloseState.CLOSED


class WebSocketConnection:
    """One side of one WebSocket connection.

    :param maxFrameSize: Largest frame payload accepted.
    :param maxMessageSize: Largest reassembled message accepted.
    :param client: The client's side: frames sent are masked with a fresh random key, frames
        received must not be.
    :ivar state: The :class:`CloseState`.
    :ivar closeCode: How the connection ended (or is ending): the code we sent or received,
        :attr:`CloseCode.ABNORMAL` if it dropped without a closing handshake; ``None`` while
        open.
    """

    def __init__(
        self,
        maxFrameSize: int = 16 * 1024 * 1024,
        maxMessageSize: int = 16 * 1024 * 1024,
        client: bool = False,
    ) -> None:
        self._decoder = FrameDecoder(maxFrameSize, maxMessageSize, client)
        self._client = client
        self._out: list[bytes] = []
        self.state = _OPEN
        self.closeCode: int | None = None

    # -- sending -----------------------------------------------------------------------------

    def _mask(self) -> bytes | None:
        # RFC 6455 5.3: a fresh key from a strong source for every client frame.
        return os.urandom(4) if self._client else None

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        return encodeFrame(opcode, payload, mask=self._mask())

    def sendText(self, text: str) -> bytes:
        """A text message's frame; nothing once closing started."""
        if self.state is not _OPEN:
            return b""
        return self._frame(Opcode.TEXT, text.encode("utf-8"))

    def sendBytes(self, data: bytes) -> bytes:
        """A binary message's frame; nothing once closing started."""
        if self.state is not _OPEN:
            return b""
        return self._frame(Opcode.BINARY, data)

    def ping(self, payload: bytes = b"") -> bytes:
        """A ping frame; nothing once closing started.

        :raises ValueError: The payload is longer than 125 bytes.
        """
        if len(payload) > 125:
            raise ValueError("ping payload longer than 125 bytes")
        if self.state is not _OPEN:
            return b""
        return self._frame(Opcode.PING, payload)

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> bytes:
        """Start the closing handshake.

        :return: The close frame; nothing if closing already started.
        """
        if self.state is not _OPEN:
            return b""
        self.state = _CLOSE_SENT
        self.closeCode = code
        return encodeClose(code, reason, self._mask())

    # -- receiving ---------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[WSEvent]:
        """Decode the peer's frames. Pings are answered, a peer's close frame is echoed and
        a protocol error is answered with its close code; those replies wait in
        :meth:`bytesToSend`.

        :return: The events, for the application (a ``Close`` or ``WebSocketError`` ends
            them, and the state is then :attr:`CloseState.CLOSED`).
        """
        if self.state is _CLOSED:
            return []
        events = self._decoder.receiveData(data)
        for event in events:
            if isinstance(event, Ping):
                if self.state is _OPEN:
                    self._out.append(self._frame(Opcode.PONG, event.payload))
            elif isinstance(event, Close):
                self._peerClosed(event)
            elif isinstance(event, WebSocketError):
                if self.state is _OPEN:
                    self.closeCode = event.code
                    self._out.append(encodeClose(event.code, "", self._mask()))
                self.state = _CLOSED
        return events

    def _peerClosed(self, event: Close) -> None:
        if self.state is _OPEN:
            self.closeCode = event.code
            echo = None if event.code == CloseCode.NO_STATUS else event.code
            self._out.append(encodeClose(echo, "", self._mask()))
        elif self.closeCode is None:
            self.closeCode = event.code
        self.state = _CLOSED

    def bytesToSend(self) -> bytes:
        """Replies the connection owes the peer (pongs, close frames), once."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return b"".join(out)

    def connectionLost(self) -> None:
        """The TCP connection is gone; without a closing handshake that is an abnormal end."""
        if self.state is _OPEN:
            self.closeCode = CloseCode.ABNORMAL
        self.state = _CLOSED
