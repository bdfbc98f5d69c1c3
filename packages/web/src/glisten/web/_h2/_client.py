"""The HTTP/2 client codec: :class:`ClientConnection`.

It drives the ``h2`` package's ``H2Connection`` on the client side and adds what a client
needs: one call to open a request stream, a per-stream queue of request body bytes released
as the server's flow control windows allow, limits on what a misbehaving server can make the
client do (PING, SETTINGS and empty-frame floods end the connection), and events shaped for
the response layer. Server push is turned off. As the server codec, it never sees a socket or
a clock: the caller passes the time in.
"""

from __future__ import annotations

import re
from collections import deque

import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hpack.exceptions import HPACKError
from hyperframe.exceptions import HyperframeError

from glisten.web._h2._base import CodecBase
from glisten.web._h2._events import (
    ClientEvent,
    ConnectionFailed,
    DataReceived,
    RawHeaders,
    ResponseReceived,
    ServerGoAway,
    StreamEnded,
    StreamReset,
)
from glisten.web._h2._limits import CLIENT_LIMITS, Limits
from glisten.web._h2._sending import releaseQueued
from glisten.web._h2._server import (
    _DIGITS,
    _INPUT_ERRORS,
    CANCEL,
    ENHANCE_YOUR_CALM,
    PROTOCOL_ERROR,
)

_SETTING = h2.settings.SettingCodes
#: The highest stream identifier (RFC 9113 5.1.1): a client runs out of them eventually.
_MAX_STREAM_ID = 2**31 - 1
_FRAME_ERRORS = (HPACKError, HyperframeError)
#: What a field may not hold on any HTTP version (RFC 9110 5.5, RFC 9113 8.2.1).
_FORBIDDEN = re.compile(rb"[\r\n\x00]")
_GOAWAY = 0x7
_ASSUMED_CONCURRENCY = 100


FRAME_SIZE_ERROR = h2.errors.ErrorCodes.FRAME_SIZE_ERROR


class _FrameTooLarge(Exception):
    """A frame header announced more than ``Limits.maxFrameSize``."""


class NoStreamAvailable(Exception):
    """No request stream can be opened now: the server's concurrency limit is reached, the
    connection is going away, or its stream identifiers are used up."""


class _Outbound:
    """Request body bytes of one stream, waiting for window."""

    __slots__ = ("buffered", "endAfter", "pending")

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.buffered = 0
        self.endAfter = False


class ClientConnection(CodecBase):
    """One HTTP/2 connection, client side.

    Requests open streams (:meth:`sendRequest`); their bodies go through :meth:`sendData`,
    held per stream until the server's windows have room (:meth:`bufferedFor` tells how much
    waits, so the caller can pause the body's producer). Response body bytes count against
    this side's windows until :meth:`acknowledgeData` says the application took them: a
    reader that stops taking them makes the server stop sending.

    :param limits: The connection's :class:`Limits`: the frame, header list and window sizes
        it advertises and the flood rates it tolerates (see :data:`CLIENT_LIMITS`).
    """

    def __init__(self, limits: Limits = CLIENT_LIMITS) -> None:
        super().__init__(limits, clientSide=True)
        #: Streams whose response is not complete, and those with body bytes queued.
        self._open: set[int] = set()
        self._outbound: dict[int, _Outbound] = {}
        self._ready: deque[int] = deque()
        #: Frame boundaries of what the server sent: bytes of the current frame still to
        #: come, and the start of a frame whose header (or GOAWAY) is incomplete.
        self._skip = 0
        self._carry = b""
        self._settingsSeen = False

    # -- state -------------------------------------------------------------------------------

    @property
    def openStreams(self) -> int:
        """Streams whose response is not complete."""
        return len(self._open)

    @property
    def canOpenStream(self) -> bool:
        """Whether :meth:`sendRequest` would open a stream now."""
        limit = self._h2.remote_settings.max_concurrent_streams
        if not self._settingsSeen:
            # Until the server says, no more than the 100 RFC 9113 6.5.2 recommends it
            # allow at least (h2 assumes no limit).
            limit = min(limit, _ASSUMED_CONCURRENCY)
        if self._goingAway or len(self._open) >= limit:
            return False
        return (self._h2.highest_outbound_stream_id or 0) + 2 <= _MAX_STREAM_ID

    def bufferedFor(self, streamId: int) -> int:
        """Request body bytes of ``streamId`` waiting for window (``0`` for others)."""
        out = self._outbound.get(streamId)
        return out.buffered if out is not None else 0

    # -- starting ----------------------------------------------------------------------------

    def initiate(self) -> None:
        """Start the connection: the preface and SETTINGS go into :meth:`dataToSend`.
        Server push is refused (``SETTINGS_ENABLE_PUSH`` = 0)."""
        h2conn = self._h2
        h2conn.initiate_connection()
        limits = self.limits
        h2conn.update_settings(
            {
                _SETTING.ENABLE_PUSH: 0,
                _SETTING.MAX_HEADER_LIST_SIZE: limits.maxHeaderListSize,
                _SETTING.MAX_FRAME_SIZE: limits.maxFrameSize,
                # The server applies it on receipt, before any response (its ACK comes
                # first on the wire, so h2 has applied it too when the bytes arrive).
                _SETTING.INITIAL_WINDOW_SIZE: limits.initialWindowSize,
            }
        )
        extra = limits.connectionWindowSize - 65535
        if extra > 0:
            h2conn.increment_flow_control_window(extra)

    # -- sending -----------------------------------------------------------------------------

    def sendRequest(
        self,
        method: bytes,
        scheme: bytes,
        authority: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        endStream: bool,
    ) -> int:
        """Open a stream with a request head.

        :param headers: Lower-cased regular fields, without connection-specific ones.
        :param endStream: The request has no body.
        :return: The new stream's identifier.
        :raises NoStreamAvailable: See :attr:`canOpenStream`.
        :raises ValueError: A field the wire cannot carry (the stream is not opened).
        """
        if self._failed or not self.canOpenStream:
            raise NoStreamAvailable()
        for name, value in headers:
            if _FORBIDDEN.search(name) or _FORBIDDEN.search(value) or not name:
                raise ValueError("a request field holds CR, LF or NUL")
        h2conn = self._h2
        streamId = h2conn.get_next_available_stream_id()
        block = [
            (b":method", method),
            (b":scheme", scheme),
            (b":authority", authority),
            (b":path", path),
            *headers,
        ]
        try:
            h2conn.send_headers(streamId, block, end_stream=endStream)
        except h2.exceptions.ProtocolError as e:
            raise ValueError(f"request head refused ({type(e).__name__})") from None
        self._open.add(streamId)
        if not endStream:
            self._outbound[streamId] = _Outbound()
        return streamId

    def sendData(self, streamId: int, data: bytes) -> None:
        """Queue request body bytes of ``streamId`` (dropped once the stream is gone)."""
        out = self._outbound.get(streamId)
        if out is None or out.endAfter or not data:
            return
        if not out.buffered:
            self._ready.append(streamId)
        out.pending.append(data)
        out.buffered += len(data)

    def sendEnd(self, streamId: int) -> None:
        """End the request body of ``streamId`` once its queued bytes have gone."""
        out = self._outbound.get(streamId)
        if out is None or out.endAfter:
            return
        out.endAfter = True
        if not out.buffered:
            del self._outbound[streamId]
            if not self._failed:
                self._h2.end_stream(streamId)

    def resetStream(self, streamId: int, code: int = CANCEL) -> None:
        """Abandon ``streamId`` with RST_STREAM (``code``), dropping what it queued."""
        if streamId not in self._open:
            return
        self._forget(streamId)
        if not self._failed:
            try:
                self._h2.reset_stream(streamId, code)
            except h2.exceptions.StreamClosedError:
                # The server closed it in the same moment: nothing to reset.
                pass

    def acknowledgeData(self, streamId: int, size: int) -> None:
        """The application took ``size`` response body bytes of ``streamId``: the server may
        send as many more (a window update leaves once half a window was taken)."""
        if size and not self._failed and streamId in self._open:
            self._h2.acknowledge_received_data(size, streamId)

    def close(self) -> None:
        """Say goodbye with GOAWAY(NO_ERROR) (an idle connection the client closes)."""
        if not self._failed and not self._goingAway:
            self._goingAway = True
            self._h2.close_connection()

    def dataToSend(self, flowing: bool = True) -> bytes:
        """The bytes to write to the server.

        :param flowing: Whether to release queued body bytes (as the windows allow);
            ``False`` while the transport cannot take more.
        """
        if flowing and self._ready and not self._failed:
            self._release()
        return self._h2.data_to_send()

    def _release(self) -> None:
        """Move queued body bytes into DATA frames, one frame per stream in turn."""
        releaseQueued(self._h2, self._ready, self._outbound, self._released)

    def _released(self, streamId: int, out: _Outbound) -> None:
        del self._outbound[streamId]

    def _forget(self, streamId: int) -> None:
        self._open.discard(streamId)
        if self._outbound.pop(streamId, None) is not None:
            try:
                self._ready.remove(streamId)
            except ValueError:
                pass

    # -- receiving ---------------------------------------------------------------------------

    def receiveData(self, data: bytes, now: float = 0.0) -> list[ClientEvent]:
        """Feed bytes from the server.

        :param data: What arrived.
        :param now: The caller's clock, in seconds, for the flood rates.
        :return: The events the bytes completed; a :class:`ConnectionFailed` is the last.
        """
        if self._failed:
            return []
        events: list[ClientEvent] = []
        try:
            pieces = self._splitGoAway(data)
        except _FrameTooLarge:
            self._h2.close_connection(FRAME_SIZE_ERROR)
            return [self._fail(int(FRAME_SIZE_ERROR), "frame larger than advertised")]
        for piece in pieces:
            if piece.__class__ is ServerGoAway:
                self._goingAway = True
                events.append(piece)
            else:
                self._receive(piece, now, events)  # type: ignore[arg-type]
            if self._failed:
                break
        return events

    def _splitGoAway(self, data: bytes) -> list[bytes | ServerGoAway]:
        """Take the server's GOAWAY frames out of ``data``: the ``h2`` package closes its
        state machine on one and would refuse the frames of the streams the server still
        finishes (RFC 9113 6.8). The rest goes to ``h2`` as it came."""
        buf = self._carry + data if self._carry else data
        self._carry = b""
        size = len(buf)
        i = min(self._skip, size)
        self._skip -= i
        start = 0
        pieces: list[bytes | ServerGoAway] = []
        maxFrame = self.limits.maxFrameSize
        while i < size:
            if size - i < 9:
                self._carry = buf[i:]
                break
            length = int.from_bytes(buf[i : i + 3], "big")
            if length > maxFrame:
                # h2 would take up to 16 MiB until a changed SETTINGS is acknowledged; the
                # server is held to what the client advertised from its first frame.
                raise _FrameTooLarge()
            if buf[i + 3] == _GOAWAY and length >= 8 and buf[i + 5 : i + 9] == bytes(4):
                end = i + 9 + length
                if end > size:
                    self._carry = buf[i:]
                    break
                if i > start:
                    pieces.append(buf[start:i])
                last = int.from_bytes(buf[i + 9 : i + 13], "big") & 0x7FFFFFFF
                pieces.append(ServerGoAway(int.from_bytes(buf[i + 13 : i + 17], "big"), last))
                start = i = end
                continue
            end = i + 9 + length
            if end > size:
                self._skip = end - size
                i = size
                break
            i = end
        stop = size - len(self._carry)
        if stop > start:
            pieces.append(buf[start:stop] if start or stop < size else buf)
        return pieces

    def _receive(self, data: bytes, now: float, events: list[ClientEvent]) -> None:
        try:
            h2Events = self._h2.receive_data(data)
        except _INPUT_ERRORS as e:
            code = getattr(e, "error_code", PROTOCOL_ERROR)
            if not isinstance(e, h2.exceptions.ProtocolError) or isinstance(e, _FRAME_ERRORS):
                # h2 queues a GOAWAY only for its own protocol errors.
                self._h2.close_connection(PROTOCOL_ERROR)
                code = PROTOCOL_ERROR
            events.append(self._fail(int(code), f"HTTP/2 protocol error ({type(e).__name__})"))
            return
        for ev in h2Events:
            cls = ev.__class__
            if cls is h2.events.ResponseReceived:
                self._response(ev, events)  # type: ignore[arg-type]
            elif cls is h2.events.DataReceived:
                self._data(ev, events, now)  # type: ignore[arg-type]
            elif cls is h2.events.StreamEnded:
                streamId = ev.stream_id  # type: ignore[attr-defined]
                if streamId in self._open:
                    self._forget(streamId)
                    events.append(StreamEnded(streamId))
            elif cls is h2.events.StreamReset:
                streamId = ev.stream_id  # type: ignore[attr-defined]
                if streamId in self._open:
                    self._forget(streamId)
                    events.append(StreamReset(streamId, int(ev.error_code or 0), True))  # type: ignore[attr-defined]
            elif cls is h2.events.TrailersReceived:
                # Trailers end the body; their fields are not passed on.
                pass
            elif cls is h2.events.PushedStreamReceived:
                # Push was refused in SETTINGS; a server that pushes before reading them
                # gets its stream cancelled.
                self._h2.reset_stream(ev.pushed_stream_id, CANCEL)  # type: ignore[attr-defined]
            elif cls is h2.events.PingReceived:
                if self._pings.exceeded(now):
                    events.append(self._calm("ping flood"))
            elif cls is h2.events.RemoteSettingsChanged:
                self._settingsSeen = True
                if self._settings.exceeded(now):
                    events.append(self._calm("settings flood"))
            elif cls is h2.events.PriorityUpdated or cls is h2.events.UnknownFrameReceived:
                if self._empty.exceeded(now):
                    events.append(self._calm("empty frame flood"))
            # Informational (1xx) heads, window updates and acknowledgements need nothing;
            # GOAWAY frames do not reach h2 (see _splitGoAway).
            if self._failed:
                break

    def _response(self, ev: h2.events.ResponseReceived, events: list[ClientEvent]) -> None:
        streamId = ev.stream_id
        assert streamId is not None
        status = 0
        fields: RawHeaders = {}
        for name, value in ev.headers or ():
            name = bytes(name)
            value = bytes(value)
            if name == b":status":
                status = int(value)
            elif name[:1] != b":":
                values = fields.get(name)
                if values is None:
                    fields[name] = [value]
                else:
                    values.append(value)
        contentLength: int | None = None
        lengths = fields.get(b"content-length")
        if lengths is not None:
            if len(set(lengths)) != 1 or _DIGITS.fullmatch(lengths[0]) is None:
                # A malformed response (RFC 9113 8.1.1): the stream is reset.
                self._forget(streamId)
                self._h2.reset_stream(streamId, PROTOCOL_ERROR)
                events.append(StreamReset(streamId, int(PROTOCOL_ERROR), False))
                return
            contentLength = int(lengths[0])
        endStream = ev.stream_ended is not None
        events.append(ResponseReceived(streamId, status, fields, contentLength, endStream))

    def _data(self, ev: h2.events.DataReceived, events: list[ClientEvent], now: float) -> None:
        streamId = ev.stream_id
        assert streamId is not None
        data = ev.data or b""
        flowLength = ev.flow_controlled_length or 0
        if streamId not in self._open:
            # A stream this side abandoned: its bytes still count as read.
            if flowLength:
                self._h2.acknowledge_received_data(flowLength, streamId)
            return
        padding = flowLength - len(data)
        if padding:
            self._h2.acknowledge_received_data(padding, streamId)
        if not data:
            if ev.stream_ended is None and self._empty.exceeded(now):
                events.append(self._calm("empty frame flood"))
            return
        events.append(DataReceived(streamId, data))

    def _calm(self, why: str) -> ConnectionFailed:
        self._h2.close_connection(ENHANCE_YOUR_CALM)
        return self._fail(int(ENHANCE_YOUR_CALM), why)

    def _fail(self, code: int, message: str) -> ConnectionFailed:
        self._failed = True
        self._goingAway = True
        self._open.clear()
        self._outbound.clear()
        self._ready.clear()
        return ConnectionFailed(code, message)
