"""Writers: HTTP/1.1 heads and body framing as bytes (RFC 9112), beside the readers.

The codecs decide *what* to send (which framing, which connection options); these functions
only say how it looks on the wire. Header names are written in their canonical case, from
caches, since the same names come back response after response.
"""

from __future__ import annotations

from glisten.web._h11._events import LocalProtocolError, RawHeaders
from glisten.web._h11._status import RESPONSES, reasonPhrase

_CANONICAL: dict[bytes, bytes] = {}
#: ``b"content-type"`` -> ``b"Content-Type: "``; never holds transfer-encoding, which the
#: codecs write themselves.
_PREFIX: dict[bytes, bytes] = {}
#: Status lines without their CRLF, for the standard codes.
_STATUS: dict[int, bytes] = {code: b"HTTP/1.1 %d %s" % (code, p) for code, p in RESPONSES.items()}

#: The interim response a client waiting on ``Expect: 100-continue`` gets.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: The last chunk of a chunked body without trailers.
LAST_CHUNK = b"0\r\n\r\n"


def canonicalName(name: bytes) -> bytes:
    """``content-type`` -> ``Content-Type``, cached: names repeat from response to response."""
    canonical = _CANONICAL.get(name)
    if canonical is None:
        canonical = b"-".join(part.capitalize() for part in name.split(b"-"))
        if name == b"www-authenticate":
            canonical = b"WWW-Authenticate"
        elif name == b"etag":
            canonical = b"ETag"
        if len(_CANONICAL) < 1000:
            _CANONICAL[name] = canonical
    return canonical


def responseHead(
    status: int, reason: bytes | None, headers: RawHeaders, extra: list[bytes] | None
) -> bytes:
    """A response head: the status line (the standard phrase when ``reason`` is ``None``),
    the header fields, then the codec's own ``extra`` lines (framing, connection options).
    ``Transfer-Encoding`` from ``headers`` is left out: framing is the codec's choice, never
    the application's."""
    if reason is None:
        first = _STATUS.get(status) or b"HTTP/1.1 %d %s" % (status, reasonPhrase(status))
    elif reason == RESPONSES.get(status):
        first = _STATUS[status]
    else:
        first = b"HTTP/1.1 %d %s" % (status, reason)
    parts = [first]
    append = parts.append
    for name, values in headers.items():
        prefix = _PREFIX.get(name)
        if prefix is None:
            if name == b"transfer-encoding":
                continue
            prefix = canonicalName(name) + b": "
            if len(_PREFIX) < 1000:
                _PREFIX[name] = prefix
        for value in values:
            append(prefix + value)
    if extra:
        parts += extra
    append(b"\r\n")
    return b"\r\n".join(parts)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body; empty data makes no chunk (it would end the body)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


def lastChunk(trailers: RawHeaders | None) -> bytes:
    """The end of a chunked body, with trailer fields if any."""
    if not trailers:
        return LAST_CHUNK
    lines = [b"0\r\n"]
    for name, values in trailers.items():
        for value in values:
            lines.append(b"%s: %s\r\n" % (canonicalName(name), value))
    lines.append(b"\r\n")
    return b"".join(lines)


def errorResponse(status: int) -> bytes:
    """A complete response for a request that cannot be served, closing the connection. Its
    body is the status line's text only: never anything the client sent."""
    phrase = reasonPhrase(status)
    body = b"%d %s" % (status, phrase)
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, phrase, len(body), body)
    )


def requestHead(method: bytes, target: bytes, headers: RawHeaders) -> bytes:
    """A request head.

    :raises LocalProtocolError: A header value holds CR or LF (it would smuggle a line).
    """
    parts = [b"%s %s HTTP/1.1\r\n" % (method, target)]
    for name, values in headers.items():
        for value in values:
            if b"\r" in value or b"\n" in value:
                raise LocalProtocolError("CR or LF in a header value")
            parts.append(b"%s: %s\r\n" % (canonicalName(name), value))
    parts.append(b"\r\n")
    return b"".join(parts)
