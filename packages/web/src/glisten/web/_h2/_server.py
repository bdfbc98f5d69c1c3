"""The HTTP/2 server codec: :class:`ServerConnection`.

It drives the ``h2`` package's sans-I/O ``H2Connection`` (framing, HPACK, stream states,
SETTINGS and PING answers) and adds what a server needs on top: rate limits for the flood
classes of the HTTP/2 CVE list, a per-stream queue of response bytes released as the flow
control windows allow, graceful shutdown, and events shaped for the request layer. Bytes go in
through :meth:`ServerConnection.receiveData`, bytes come out of
:meth:`ServerConnection.dataToSend`; nothing here knows about sockets or clocks (the caller
passes the time in).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque

import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hpack.exceptions import HPACKError
from hyperframe.exceptions import HyperframeError
from hyperframe.frame import GoAwayFrame

from glisten.web._h2._base import CodecBase, _Rate
from glisten.web._h2._events import (
    BodyTooLarge,
    ConnectionFailed,
    DataReceived,
    Event,
    GoAwayReceived,
    RawHeaders,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from glisten.web._h2._limits import DEFAULT_LIMITS, Limits
from glisten.web._h2._sending import releaseQueued

#: The client connection preface (RFC 9113 3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

NO_ERROR = h2.errors.ErrorCodes.NO_ERROR
PROTOCOL_ERROR = h2.errors.ErrorCodes.PROTOCOL_ERROR
INTERNAL_ERROR = h2.errors.ErrorCodes.INTERNAL_ERROR
REFUSED_STREAM = h2.errors.ErrorCodes.REFUSED_STREAM
CANCEL = h2.errors.ErrorCodes.CANCEL
ENHANCE_YOUR_CALM = h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
COMPRESSION_ERROR = h2.errors.ErrorCodes.COMPRESSION_ERROR

_SETTING = h2.settings.SettingCodes
_DIGITS = re.compile(rb"[0-9]{1,18}")
# Errors the h2 stack raises for bad input; anything else is a bug worth a traceback.
_INPUT_ERRORS = (h2.exceptions.H2Error, HPACKError, HyperframeError)


def validUpgradeSettings(value: bytes) -> bool:
    """Whether ``value`` is a usable ``HTTP2-Settings`` field (RFC 7540 3.2.1): base64url of
    whole 6-byte settings. A server must not upgrade on anything else.

    :param value: The field's value.
    """
    if len(value) > 1024:
        return False
    try:
        raw = base64.b64decode(value + b"=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) % 6:
        return False
    for i in range(0, len(raw), 6):
        code = int.from_bytes(raw[i : i + 2], "big")
        setting = int.from_bytes(raw[i + 2 : i + 6], "big")
        if (
            (code == _SETTING.ENABLE_PUSH and setting > 1)
            or (code == _SETTING.INITIAL_WINDOW_SIZE and setting > 2**31 - 1)
            or (code == _SETTING.MAX_FRAME_SIZE and not 16384 <= setting <= 16777215)
        ):
            return False
    return True


class _Stream:
    """The codec's record of one request stream."""

    __slots__ = ("buffered", "endAfter", "head", "localDone", "pending", "received", "remoteOpen")

    def __init__(self, remoteOpen: bool) -> None:
        self.pending: deque[bytes] = deque()
        self.buffered = 0
        self.head: list[tuple[bytes, bytes]] | None = None
        self.endAfter = False
        self.localDone = False
        self.remoteOpen = remoteOpen
        self.received = 0


class ServerConnection(CodecBase):
    """One HTTP/2 connection, server side.

    Response bytes given to :meth:`sendData` wait in the stream's queue until both flow
    control windows (the stream's and the connection's) have room; :meth:`bufferedFor` tells
    the caller how much waits, so it can pause whatever produces them.

    :param limits: The connection's :class:`Limits`.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits, clientSide=False)
        self._streams: dict[int, _Stream] = {}
        self._ready: deque[int] = deque()
        self._out = bytearray()
        self._lastStreamId = 0
        self._opened = 0
        self._settingsSeen = False
        self._resets = _Rate(limits.maxResets, limits.floodWindow)

    # -- state -------------------------------------------------------------------------------

    @property
    def openStreams(self) -> int:
        """Streams whose response is not finished."""
        return len(self._streams)

    @property
    def lastStreamId(self) -> int:
        """The highest stream the connection accepted."""
        return self._lastStreamId

    def isOpen(self, streamId: int) -> bool:
        """Whether ``streamId`` still takes response bytes."""
        stream = self._streams.get(streamId)
        return stream is not None and not stream.localDone and not stream.endAfter

    def bufferedFor(self, streamId: int) -> int:
        """Response bytes of ``streamId`` waiting for window (``0`` for unknown streams)."""
        stream = self._streams.get(streamId)
        return stream.buffered if stream is not None else 0

    @property
    def blocked(self) -> bool:
        """Whether response bytes wait for the client to open a flow control window."""
        return bool(self._ready)

    # -- starting ----------------------------------------------------------------------------

    def initiate(self) -> None:
        """Start the connection: the server's SETTINGS go into :meth:`dataToSend`."""
        self._h2.initiate_connection()
        self._configure()

    def initiateUpgrade(self, settingsHeader: bytes) -> None:
        """Start a connection upgraded from HTTP/1.1 (``Upgrade: h2c``): the client's
        ``HTTP2-Settings`` apply, and the upgraded request is stream 1, whose request side is
        complete. Check the header with :func:`validUpgradeSettings` first.

        :param settingsHeader: The ``HTTP2-Settings`` field's value.
        """
        self._h2.initiate_upgrade_connection(settingsHeader)
        self._configure()
        self._streams[1] = _Stream(remoteOpen=False)
        self._lastStreamId = 1
        self._opened = 1

    def _configure(self) -> None:
        # h2 advertised its defaults in the first SETTINGS; ours that differ follow (they
        # apply once the client acknowledges them). Server push is never used, so
        # SETTINGS_ENABLE_PUSH (the client's to set) does not matter.
        limits = self.limits
        wanted = {
            _SETTING.MAX_CONCURRENT_STREAMS: limits.maxConcurrentStreams,
            _SETTING.MAX_HEADER_LIST_SIZE: limits.maxHeaderListSize,
            _SETTING.MAX_FRAME_SIZE: limits.maxFrameSize,
            _SETTING.INITIAL_WINDOW_SIZE: limits.initialWindowSize,
        }
        current = self._h2.local_settings
        changed = {code: value for code, value in wanted.items() if current[code] != value}
        if changed:
            self._h2.update_settings(changed)  # type: ignore[arg-type]
        extra = limits.connectionWindowSize - 65535
        if extra > 0:
            self._h2.increment_flow_control_window(extra)

    # -- receiving ---------------------------------------------------------------------------

    def receiveData(self, data: bytes, now: float = 0.0) -> list[Event]:
        """Feed bytes from the client.

        :param data: What arrived.
        :param now: The caller's clock, in seconds, for the flood rates.
        :return: The events the bytes completed; a :class:`ConnectionFailed` is the last.
        """
        if self._failed:
            return []
        try:
            h2Events = self._h2.receive_data(data)
        except _INPUT_ERRORS as e:
            code = getattr(e, "error_code", PROTOCOL_ERROR)
            if not isinstance(e, h2.exceptions.ProtocolError):
                # h2 queues a GOAWAY only for its protocol errors.
                self._h2.close_connection(PROTOCOL_ERROR)
                code = PROTOCOL_ERROR
            elif isinstance(e.__cause__, HPACKError) and code == PROTOCOL_ERROR:
                # A field block that does not decode is a COMPRESSION_ERROR (RFC 9113 4.3);
                # h2 says PROTOCOL_ERROR in the GOAWAY it just queued (the last frame, with
                # no debug data): its error code is corrected.
                out = self._h2.data_to_send()
                if len(out) >= 17 and out[-14] == 0x7:
                    code = COMPRESSION_ERROR
                    out = out[:-4] + int(code).to_bytes(4, "big")
                self._out += out
            return [self._fail(int(code), _describe(e))]
        events: list[Event] = []
        skipPriority: object = None
        for ev in h2Events:
            cls = ev.__class__
            if not self._settingsSeen:
                if cls is not h2.events.RemoteSettingsChanged:
                    # The client's preface ends with SETTINGS (RFC 9113 3.4).
                    self._h2.close_connection(PROTOCOL_ERROR)
                    events.append(self._fail(int(PROTOCOL_ERROR), "preface without SETTINGS"))
                    break
                self._settingsSeen = True
                continue
            if cls is h2.events.RequestReceived:
                skipPriority = ev.priority_updated  # type: ignore[attr-defined]
                self._request(ev, events, now)  # type: ignore[arg-type]
            elif cls is h2.events.DataReceived:
                self._data(ev, events, now)  # type: ignore[arg-type]
            elif cls is h2.events.StreamEnded:
                self._ended(ev.stream_id, events)  # type: ignore[attr-defined]
            elif cls is h2.events.StreamReset:
                self._reset(ev, events, now)  # type: ignore[arg-type]
            elif cls is h2.events.PingReceived:
                if self._pings.exceeded(now):
                    events.append(self._calm("ping flood"))
            elif cls is h2.events.RemoteSettingsChanged:
                if self._settings.exceeded(now):
                    events.append(self._calm("settings flood"))
            elif cls is h2.events.PriorityUpdated:
                if ev is not skipPriority and self._empty.exceeded(now):
                    events.append(self._calm("empty frame flood"))
            elif cls is h2.events.UnknownFrameReceived:
                if self._empty.exceeded(now):
                    events.append(self._calm("empty frame flood"))
            elif cls is h2.events.ConnectionTerminated:
                self._goingAway = True
                events.append(GoAwayReceived(int(ev.error_code or 0)))  # type: ignore[attr-defined]
            # TrailersReceived (ignored: the request is complete at StreamEnded), window
            # updates and acknowledgements need nothing here.
            if self._failed:
                break
        return events

    def _request(self, ev: h2.events.RequestReceived, events: list[Event], now: float) -> None:
        streamId = ev.stream_id
        assert streamId is not None
        if self._goingAway:
            # Opened after our GOAWAY: not served (RFC 9113 6.8).
            self._refuse(streamId, REFUSED_STREAM, events, now)
            return
        pseudo: dict[bytes, bytes] = {}
        fields: RawHeaders = {}
        for name, value in ev.headers or ():
            # h2 has validated the block (RFC 9113 8.2, 8.3): lower-case names, no CR, LF
            # or NUL, pseudo-fields first and well-formed.
            name = bytes(name)
            value = bytes(value)
            if name[:1] == b":":
                pseudo[name] = value
            else:
                values = fields.get(name)
                if values is None:
                    fields[name] = [value]
                else:
                    values.append(value)
        contentLength: int | None = None
        lengths = fields.get(b"content-length")
        if lengths is not None:
            if len(set(lengths)) != 1 or _DIGITS.fullmatch(lengths[0]) is None:
                self._refuse(streamId, PROTOCOL_ERROR, events, now)
                return
            contentLength = int(lengths[0])
        cookies = fields.get(b"cookie")
        if cookies is not None and len(cookies) > 1:
            fields[b"cookie"] = [b"; ".join(cookies)]
        authority = pseudo.get(b":authority")
        if authority is not None and b"host" not in fields:
            fields[b"host"] = [authority]
        method = pseudo.get(b":method", b"")
        endStream = ev.stream_ended is not None
        self._streams[streamId] = _Stream(remoteOpen=not endStream)
        self._lastStreamId = streamId
        self._opened += 1
        expect = fields.get(b"expect")
        events.append(
            RequestReceived(
                streamId,
                method,
                pseudo.get(b":path", authority or b""),
                pseudo.get(b":scheme", b""),
                authority,
                fields,
                contentLength,
                expect is not None and expect[-1].lower() == b"100-continue",
                endStream,
            )
        )
        if self._opened >= self.limits.maxStreamsPerConnection:
            # This stream is served; later ones are refused, and the connection ends once
            # the open ones finish.
            self.startShutdown()

    def _data(self, ev: h2.events.DataReceived, events: list[Event], now: float) -> None:
        streamId = ev.stream_id
        assert streamId is not None
        data = ev.data or b""
        flowLength = ev.flow_controlled_length or 0
        stream = self._streams.get(streamId)
        padding = flowLength - len(data)
        if stream is None or stream.received > self.limits.maxBody:
            # A stream already answered (reset, or its body over the limit): its bytes are
            # dropped but still count as read, so the connection's window stays open.
            if flowLength:
                self._h2.acknowledge_received_data(flowLength, streamId)
            return
        if padding:
            self._h2.acknowledge_received_data(padding, streamId)
        if not data:
            if ev.stream_ended is None and self._empty.exceeded(now):
                events.append(self._calm("empty frame flood"))
            return
        stream.received += len(data)
        if stream.received > self.limits.maxBody:
            self._h2.acknowledge_received_data(len(data), streamId)
            events.append(BodyTooLarge(streamId))
            return
        events.append(DataReceived(streamId, data))

    def _ended(self, streamId: int, events: list[Event]) -> None:
        stream = self._streams.get(streamId)
        if stream is None:
            return
        stream.remoteOpen = False
        if stream.received > self.limits.maxBody:
            return
        events.append(StreamEnded(streamId))
        if stream.localDone:
            del self._streams[streamId]

    def _reset(self, ev: h2.events.StreamReset, events: list[Event], now: float) -> None:
        streamId = ev.stream_id
        assert streamId is not None
        stream = self._streams.pop(streamId, None)
        if stream is None:
            return
        self._unready(streamId)
        events.append(StreamReset(streamId, int(ev.error_code or 0), True))
        if not stream.localDone and self._resets.exceeded(now):
            events.append(self._calm("reset flood"))

    def _refuse(self, streamId: int, code: int, events: list[Event], now: float) -> None:
        """Reset a stream the client should not have opened or sent malformed."""
        self._h2.reset_stream(streamId, code)
        stream = self._streams.pop(streamId, None)
        if stream is not None:
            self._unready(streamId)
            events.append(StreamReset(streamId, code, False))
        if self._resets.exceeded(now):
            events.append(self._calm("reset flood"))

    def _calm(self, why: str) -> ConnectionFailed:
        self._h2.close_connection(ENHANCE_YOUR_CALM, last_stream_id=self._lastStreamId)
        return self._fail(int(ENHANCE_YOUR_CALM), why)

    def _fail(self, code: int, message: str) -> ConnectionFailed:
        self._failed = True
        self._goingAway = True
        self._streams.clear()
        self._ready.clear()
        return ConnectionFailed(code, message)

    # -- sending -----------------------------------------------------------------------------

    def sendInformational(self, streamId: int, status: int) -> None:
        """Send a 1xx response head (``100 Continue``) on ``streamId``."""
        if self.isOpen(streamId):
            self._h2.send_headers(streamId, [(b":status", b"%d" % status)])

    def sendResponse(self, streamId: int, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Queue the response head of ``streamId``; it leaves with the first body bytes or the
        end (so a body-less response is one HEADERS frame).

        :param status: The status code.
        :param headers: Lower-cased names and values, without connection-specific fields.
        """
        stream = self._streams.get(streamId)
        if stream is not None and not stream.localDone:
            stream.head = [(b":status", b"%d" % status), *headers]

    def sendData(self, streamId: int, data: bytes) -> None:
        """Queue response body bytes of ``streamId`` (dropped if the stream is gone)."""
        stream = self._streams.get(streamId)
        if stream is None or stream.localDone or stream.endAfter:
            return
        self._sendHead(streamId, stream, False)
        if data:
            if not stream.buffered:
                self._ready.append(streamId)
            stream.pending.append(data)
            stream.buffered += len(data)

    def sendEnd(self, streamId: int) -> None:
        """End the response of ``streamId`` once its queued bytes have gone."""
        stream = self._streams.get(streamId)
        if stream is None or stream.localDone or stream.endAfter:
            return
        if stream.buffered:
            stream.endAfter = True
            return
        if stream.head is not None:
            self._sendHead(streamId, stream, True)
        else:
            self._h2.end_stream(streamId)
        self._finish(streamId, stream)

    def resetStream(self, streamId: int, code: int = CANCEL) -> None:
        """Abandon ``streamId`` with RST_STREAM (``code``), dropping what it queued."""
        stream = self._streams.pop(streamId, None)
        if stream is None or self._failed:
            return
        self._unready(streamId)
        self._h2.reset_stream(streamId, code)

    def acknowledgeData(self, streamId: int, size: int) -> None:
        """``size`` request body bytes of ``streamId`` were consumed: the client may send
        more (the window update goes out when half a window was consumed)."""
        if size and not self._failed and streamId in self._streams:
            self._h2.acknowledge_received_data(size, streamId)

    def startShutdown(self) -> None:
        """Send GOAWAY(NO_ERROR) naming the last stream served: streams opened later are
        refused, open ones finish (RFC 9113 6.8). The caller closes the connection once
        :attr:`openStreams` is 0."""
        if self._goingAway:
            return
        self._goingAway = True
        # Written here rather than through h2's close_connection, after which h2 would
        # refuse to finish the open streams.
        self._out += self._h2.data_to_send()
        frame = GoAwayFrame(0, last_stream_id=self._lastStreamId, error_code=NO_ERROR)
        self._out += frame.serialize()

    def dataToSend(self, flowing: bool = True) -> bytes:
        """The bytes to write to the client.

        :param flowing: Whether to release queued response bytes (as the windows allow);
            ``False`` while the transport cannot take more, which leaves only control frames.
        """
        if flowing and self._ready and not self._failed:
            self._release()
        out = self._h2.data_to_send()
        if self._out:
            out = bytes(self._out) + out
            self._out.clear()
        return out

    def _sendHead(self, streamId: int, stream: _Stream, end: bool) -> None:
        head = stream.head
        if head is not None:
            stream.head = None
            self._h2.send_headers(streamId, head, end_stream=end)

    def _release(self) -> None:
        """Move queued bytes into frames, a frame per stream in turn, while windows allow."""
        releaseQueued(self._h2, self._ready, self._streams, self._finish)

    def _finish(self, streamId: int, stream: _Stream) -> None:
        stream.localDone = True
        if stream.remoteOpen:
            # The client is still sending a body nobody will read: tell it to stop
            # (RFC 9113 8.1).
            self._h2.reset_stream(streamId, NO_ERROR)
        self._streams.pop(streamId, None)

    def _unready(self, streamId: int) -> None:
        try:
            self._ready.remove(streamId)
        except ValueError:
            pass


def _describe(error: Exception) -> str:
    """A message for a failed connection naming the error class, never the client's bytes."""
    return f"HTTP/2 protocol error ({type(error).__name__})"
