"""Events the HTTP/2 server codec produces.

Slotted attrs classes, one per thing the adapter must act on; the codec handles everything
else (SETTINGS, PING answers, window updates) itself.
"""

from __future__ import annotations

import attrs

#: Header fields: lower-cased names, each mapped to its values in the order they arrived.
RawHeaders = dict[bytes, list[bytes]]


@attrs.define(slots=True)
class RequestReceived:
    """A request's header block arrived on a new stream.

    :ivar streamId: The stream.
    :ivar method: ``:method``.
    :ivar path: ``:path`` (``*`` for a server-wide OPTIONS).
    :ivar scheme: ``:scheme``.
    :ivar authority: ``:authority``, or ``None``.
    :ivar headers: The regular fields; ``host`` is filled from ``:authority`` when absent,
        and cookie fields split by the client are joined again (RFC 9113 8.2.3).
    :ivar contentLength: The announced body length, or ``None``.
    :ivar expectContinue: The client waits for ``100 Continue`` before the body.
    :ivar endStream: The request has no body (a :class:`StreamEnded` follows).
    """

    streamId: int
    method: bytes
    path: bytes
    scheme: bytes
    authority: bytes | None
    headers: RawHeaders
    contentLength: int | None = None
    expectContinue: bool = False
    endStream: bool = False


@attrs.define(slots=True)
class DataReceived:
    """A piece of a request body.

    :ivar streamId: The stream.
    :ivar data: The bytes (padding removed).
    """

    streamId: int
    data: bytes


@attrs.define(slots=True)
class StreamEnded:
    """The client finished sending the request on ``streamId``."""

    streamId: int


@attrs.define(slots=True)
class BodyTooLarge:
    """The request body on ``streamId`` passed :attr:`Limits.maxBody`; no more of it is
    delivered. The adapter answers 413 (:meth:`ServerConnection.sendResponse` still works)."""

    streamId: int


@attrs.define(slots=True)
class StreamReset:
    """``streamId`` ended early: the client reset it (``remote``) or the codec did, because
    the client sent something malformed on it or more streams than allowed.

    :ivar errorCode: The RST_STREAM error code.
    """

    streamId: int
    errorCode: int
    remote: bool


@attrs.define(slots=True)
class GoAwayReceived:
    """The client sent GOAWAY: it opens no more streams, and nothing more can be sent.

    :ivar errorCode: Its error code (``0``: a normal goodbye).
    """

    errorCode: int


@attrs.define(slots=True)
class ConnectionFailed:
    """The codec ended the connection: a GOAWAY with ``errorCode`` is in the bytes to send,
    and nothing more is read. Always the last event.

    :ivar errorCode: The GOAWAY error code (PROTOCOL_ERROR, ENHANCE_YOUR_CALM, ...).
    :ivar message: What went wrong, in the codec's words (never the client's bytes).
    """

    errorCode: int
    message: str


Event = (
    RequestReceived
    | DataReceived
    | StreamEnded
    | BodyTooLarge
    | StreamReset
    | GoAwayReceived
    | ConnectionFailed
)


@attrs.define(slots=True)
class ResponseReceived:
    """A response's final header block arrived (client side; ``1xx`` heads are not events).

    :ivar streamId: The stream.
    :ivar status: ``:status``.
    :ivar headers: The regular fields.
    :ivar contentLength: The announced body length, or ``None``.
    :ivar endStream: The response has no body (a :class:`StreamEnded` follows).
    """

    streamId: int
    status: int
    headers: RawHeaders
    contentLength: int | None = None
    endStream: bool = False


@attrs.define(slots=True)
class ServerGoAway:
    """The server sent GOAWAY (client side): streams above ``lastStreamId`` were not
    processed and may be retried elsewhere (RFC 9113 6.8); no new stream may be opened.

    :ivar errorCode: Its error code (``0``: a graceful shutdown).
    :ivar lastStreamId: The highest stream the server may have processed.
    """

    errorCode: int
    lastStreamId: int


ClientEvent = (
    ResponseReceived | DataReceived | StreamEnded | StreamReset | ServerGoAway | ConnectionFailed
)
