"""Events the HTTP/1.1 codec produces and consumes.

The codec turns bytes into these events and back; nothing here knows about sockets. Event
classes are slotted attrs classes: they are made for every request, so they stay cheap.
"""

from __future__ import annotations

import attrs

#: Header fields as the codec hands them out: lower-cased names, each mapped to its values in
#: the order they arrived.
RawHeaders = dict[bytes, list[bytes]]


@attrs.define(slots=True)
class Request:
    """A request head has arrived.

    :ivar method: The method token, as sent (methods are case-sensitive).
    :ivar target: The request target (origin-form, absolute-form, authority-form or ``*``).
    :ivar version: ``b"1.0"`` or ``b"1.1"``.
    :ivar headers: The header fields, names lower-cased.
    :ivar expectContinue: The client sent ``Expect: 100-continue`` and waits before the body.
    :ivar contentLength: The announced body length, ``None`` for a chunked body.
    """

    method: bytes
    target: bytes
    version: bytes
    headers: RawHeaders
    expectContinue: bool = False
    contentLength: int | None = 0


@attrs.define(slots=True)
class Response:
    """A response head has arrived (client side).

    :ivar status: The status code.
    :ivar reason: The reason phrase, possibly empty.
    :ivar version: ``b"1.0"`` or ``b"1.1"``.
    :ivar headers: The header fields, names lower-cased.
    """

    status: int
    reason: bytes
    version: bytes
    headers: RawHeaders


@attrs.define(slots=True)
class Data:
    """A piece of a message body, framing removed."""

    data: bytes


@attrs.frozen
class EndOfMessage:
    """The body is complete.

    :ivar trailers: Trailer fields of a chunked body (names lower-cased), else empty.
    """

    trailers: RawHeaders = attrs.Factory(dict)


#: The end of a body without trailers; shared, since it carries nothing.
END_OF_MESSAGE = EndOfMessage()


@attrs.define(slots=True, frozen=True)
class ConnectionClosed:
    """The peer closed its side at a point where that is allowed."""


@attrs.define(slots=True, frozen=True)
class ProtocolError:
    """The peer broke the protocol. The codec stops reading; the connection must close.

    :ivar status: The status code a server should answer with (400, 413, 414, 431, 501, 505).
    :ivar message: A short explanation for logs; never echoes the peer's bytes.
    """

    status: int
    message: str


Event = Request | Response | Data | EndOfMessage | ConnectionClosed | ProtocolError


class LocalProtocolError(Exception):
    """The local side (the application) tried something HTTP does not allow, such as writing
    more body than its ``Content-Length`` or a second response."""
