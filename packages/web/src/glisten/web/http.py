"""HTTP/1.1 server: :class:`Request`, :class:`HTTPChannel` and :class:`HTTPFactory`.

The API is ``twisted.web.http``'s; the wire format is handled by the strict sans-I/O codec in
:mod:`glisten.web._h11`, and this module is the thin layer between it and a transport.

Where glisten differs from Twisted on purpose:

- Requests are parsed one at a time: a pipelined request is read only once the response to the
  previous one is finished, so responses always go out in request order (Twisted
  CVE-2023-46137, CVE-2024-41671), and reading pauses while pipelined bytes pile up.
- Malformed or ambiguous requests (Twisted CVE-2020-10108, CVE-2020-10109, CVE-2022-24801)
  get 400, 413, 414, 431, 501 or 505 and a closed connection.
- A request head must arrive within :attr:`HTTPChannel.headerTimeout` seconds (slowloris),
  idle keep-alive connections close after :attr:`HTTPChannel.timeOut` seconds, and so does a
  connection whose pull producer (a static file) makes no progress for that long because the
  client stopped reading.
"""

from __future__ import annotations

import calendar
import io
import tempfile
import time
from collections.abc import Callable
from email.utils import formatdate, parsedate_tz
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs as _parse_qs
from urllib.parse import urlsplit

import attrs
from zope.interface import implementer

from glisten.internet import interfaces
from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol, ServerFactory, connectionDone
from glisten.logger import Logger, LogLevel, globalLogPublisher
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web._h11 import RESPONSES as _RESPONSES
from glisten.web.http_headers import Headers
from glisten.web.iweb import IAccessLogFormatter, IRequest

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred

# -- status codes (Twisted exports them as module constants) --------------------------------

CONTINUE = 100
SWITCHING = 101
OK = 200
CREATED = 201
ACCEPTED = 202
NO_CONTENT = 204
PARTIAL_CONTENT = 206
MULTIPLE_CHOICE = 300
MOVED_PERMANENTLY = 301
FOUND = 302
SEE_OTHER = 303
NOT_MODIFIED = 304
TEMPORARY_REDIRECT = 307
PERMANENT_REDIRECT = 308
BAD_REQUEST = 400
UNAUTHORIZED = 401
FORBIDDEN = 403
NOT_FOUND = 404
NOT_ALLOWED = 405
NOT_ACCEPTABLE = 406
REQUEST_TIMEOUT = 408
CONFLICT = 409
GONE = 410
LENGTH_REQUIRED = 411
PRECONDITION_FAILED = 412
REQUEST_ENTITY_TOO_LARGE = 413
REQUEST_URI_TOO_LONG = 414
UNSUPPORTED_MEDIA_TYPE = 415
REQUESTED_RANGE_NOT_SATISFIABLE = 416
EXPECTATION_FAILED = 417
REQUEST_HEADER_FIELDS_TOO_LARGE = 431
INTERNAL_SERVER_ERROR = 500
NOT_IMPLEMENTED = 501
BAD_GATEWAY = 502
SERVICE_UNAVAILABLE = 503
GATEWAY_TIMEOUT = 504
HTTP_VERSION_NOT_SUPPORTED = 505

#: Status code -> reason phrase (bytes).
RESPONSES: dict[int, bytes] = _RESPONSES
#: Returned by :meth:`Request.setLastModified` and :meth:`Request.setETag` when the client's
#: copy is current and the body must not be sent.
CACHED = object()
NO_BODY_CODES = (204, 304)

_log = Logger()
_IDLE = _h11.State.IDLE
_SEND_BODY = _h11.State.SEND_BODY
# The codec's event classes, looked up once for the dispatch loop.
_EV_REQUEST = _h11.Request
_EV_END = _h11.EndOfMessage
_EV_DATA = _h11.Data
_EV_ERROR = _h11.ProtocolError
#: Where access-log lines go when no log file is set (one logger, not one per request).
_accessLog = Logger(namespace="glisten.web.access", observer=globalLogPublisher)
_INFO = LogLevel.info


def datetimeToString(msSinceEpoch: float | None = None) -> bytes:
    """An HTTP date (RFC 9110 5.6.7), e.g. ``b"Sun, 06 Nov 1994 08:49:37 GMT"``."""
    if msSinceEpoch is None:
        msSinceEpoch = time.time()
    return formatdate(msSinceEpoch, usegmt=True).encode("ascii")


def stringToDatetime(dateString: bytes) -> int:
    """Parse an HTTP date into seconds since the epoch.

    :raises ValueError: Not a date.
    """
    parsed = parsedate_tz(dateString.decode("ascii", "replace"))
    if parsed is None:
        raise ValueError(f"invalid HTTP date {dateString!r}")
    return calendar.timegm(parsed[:6]) - (parsed[9] or 0)


def datetimeToLogString(msSinceEpoch: float | None = None) -> str:
    """A timestamp in the Common Log Format: ``[25/Nov/2026:07:54:49 +0000]``."""
    return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(msSinceEpoch))


class _DateCache:
    """The ``Date`` header value, rebuilt once a second rather than once a request."""

    __slots__ = ("second", "value")

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = datetimeToString(now)
        return self.value


_dateCache = _DateCache()
_httpDates: dict[int, bytes] = {}


def _httpDate(seconds: int) -> bytes:
    """:func:`datetimeToString` for whole seconds, cached: the same modification times of
    static files come back request after request, and formatting a date is slow."""
    value = _httpDates.get(seconds)
    if value is None:
        if len(_httpDates) > 4096:
            _httpDates.clear()
        value = _httpDates[seconds] = datetimeToString(seconds)
    return value


_newHeaders = object.__new__

#: Request bodies up to this size stay in memory; larger ones go to a temporary file.
_MEMORY_BODY = 100_000


def _parseQuery(query: bytes) -> dict[bytes, list[bytes]]:
    return _parse_qs(query, keep_blank_values=True)


def _parseMultipart(contentType: bytes, body: bytes) -> dict[bytes, list[bytes]]:
    """Fields of a ``multipart/form-data`` body (RFC 7578): name -> values (file contents for
    file fields). A malformed body gives no fields rather than an error: the request is still
    served, and the resource sees the raw body in ``content``."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + contentType + b"\r\n\r\n" + body
    )
    fields: dict[bytes, list[bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        if part.get_content_disposition() != "form-data":
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            fields.setdefault(name.encode("utf-8"), []).append(payload)
    return fields


@implementer(IRequest)
class Request:
    """One HTTP request and the response to it.

    :ivar method: The request method (bytes).
    :ivar uri: The request target as sent.
    :ivar path: The target's path, without the query.
    :ivar clientproto: ``b"HTTP/1.1"`` or ``b"HTTP/1.0"``.
    :ivar code: The response status code.
    :ivar requestHeaders: The request's :class:`Headers`.
    :ivar responseHeaders: The response's :class:`Headers`.
    :ivar content: The request body, a file-like object positioned at its start.
    :ivar cookies: ``Set-Cookie`` values added with :meth:`addCookie`.
    :ivar finished: Whether :meth:`finish` was called.
    :ivar startedWriting: Whether the response head was sent.
    :ivar sentLength: Body bytes written so far.
    """

    method: bytes = b"(no method yet)"
    uri: bytes = b""
    path: bytes = b""
    clientproto: bytes = b"(no clientproto yet)"
    code: int = OK
    code_message: bytes = b"OK"
    finished: bool = False
    startedWriting: bool = False
    sentLength: int = 0
    etag: bytes | None = None
    lastModified: float | None = None
    producer: Any = None
    defaultContentType: bytes | None = b"text/html"
    _disconnected: bool = False
    _query: bytes = b""
    _args: dict[bytes, list[bytes]] | None = None
    _cookiesIn: dict[bytes, bytes] | None = None
    _finishNotifications: list[Deferred[None]] | None = None
    _forceSSL: bool = False
    _pullProducer: bool = False

    def __init__(self, channel: HTTPChannel, queued: object = None) -> None:
        """
        :param channel: The connection the request arrived on.
        :param queued: Ignored; kept for Twisted compatibility.
        """
        self.channel = channel
        self.transport = channel.transport
        # The channel hands over the parsed request head this way, so the request is not
        # built with an empty Headers that is thrown away at once.
        incoming = getattr(channel, "_incomingHeaders", None)
        # Headers._fromParsed, inlined: two calls fewer per request.
        requestHeaders = self.requestHeaders = _newHeaders(Headers)
        requestHeaders._raw = incoming if incoming is not None else {}
        responseHeaders = self.responseHeaders = _newHeaders(Headers)
        responseHeaders._raw = {}
        self.cookies: list[bytes] = []
        self.host = channel._getHost()

    # Most requests (GET, HEAD) have no body and nobody reads ``content``: it is made on
    # first use rather than for every request.
    _content: IO[bytes] | None = None

    @property
    def content(self) -> IO[bytes]:
        """The request body, a file-like object positioned at its start."""
        content = self._content
        if content is None:
            content = self._content = io.BytesIO()
        return content

    @content.setter
    def content(self, value: IO[bytes]) -> None:
        self._content = value

    # -- receiving ---------------------------------------------------------------------------

    def gotLength(self, length: int | None) -> None:
        """The body's announced length (``None`` for chunked): large bodies go to a temporary
        file instead of memory."""
        if length is None or length > _MEMORY_BODY:
            self._content = tempfile.SpooledTemporaryFile(max_size=_MEMORY_BODY)

    def handleContentChunk(self, data: bytes) -> None:
        """Store a piece of the request body."""
        self.content.write(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """The whole request arrived: record it and :meth:`process` it.

        :param command: The method.
        :param path: The request target.
        :param version: ``b"HTTP/1.1"`` or ``b"HTTP/1.0"``.
        """
        content = self._content
        if content is not None:
            content.seek(0)
        self.method = command
        self.uri = path
        self.clientproto = version
        if path[:1] != b"/" and (path[:7] == b"http://" or path[:8] == b"https://"):
            # absolute-form (RFC 9112 3.2.2): route by its path.
            parts = urlsplit(path)
            path = parts.path or b"/"
            if parts.query:
                path += b"?" + parts.query
        base, sep, query = path.partition(b"?")
        self.path = base
        if sep:
            self._query = query
        self.process()

    def _body(self) -> bytes:
        pos = self.content.tell()
        self.content.seek(0)
        body = self.content.read()
        self.content.seek(pos)
        return body

    @property
    def args(self) -> dict[bytes, list[bytes]]:
        """Query arguments, and for ``application/x-www-form-urlencoded`` bodies the form's,
        parsed on first use."""
        args = self._args
        if args is None:
            args = _parseQuery(self._query) if self._query else {}
            ctype = self.requestHeaders._raw.get(b"content-type")
            if ctype:
                kind = ctype[0].split(b";")[0].strip().lower()
                if kind == b"application/x-www-form-urlencoded":
                    form = _parseQuery(self._body())
                elif kind == b"multipart/form-data":
                    form = _parseMultipart(ctype[0], self._body())
                else:
                    form = {}
                for k, v in form.items():
                    args.setdefault(k, []).extend(v)
            self._args = args
        return args

    @args.setter
    def args(self, value: dict[bytes, list[bytes]]) -> None:
        self._args = value

    @property
    def received_cookies(self) -> dict[bytes, bytes]:
        """Cookies the client sent, parsed on first use."""
        cookies = self._cookiesIn
        if cookies is None:
            cookies = {}
            for header in self.requestHeaders._raw.get(b"cookie", ()):
                for pair in header.split(b";"):
                    name, sep, value = pair.partition(b"=")
                    if sep:
                        cookies[name.strip()] = value.strip()
            self._cookiesIn = cookies
        return cookies

    @received_cookies.setter
    def received_cookies(self, value: dict[bytes, bytes]) -> None:
        self._cookiesIn = value

    def process(self) -> None:
        """Answer the request; :class:`glisten.web.server.Request` renders a resource. The
        base class answers 501, so a bare ``HTTPFactory`` is never silent."""
        self.setResponseCode(NOT_IMPLEMENTED)
        self.setHeader(b"content-length", b"0")
        self.finish()

    # -- reading the request -----------------------------------------------------------------

    def getHeader(self, key: Any) -> Any:
        """The last value of a request header, or ``None``; ``str`` for a ``str`` key, as in
        Twisted."""
        if key.__class__ is bytes:
            values = self.requestHeaders._raw.get(key.lower())
            return values[-1] if values else None
        strValues = self.requestHeaders.getRawHeaders(key)
        return strValues[-1] if strValues else None

    def getAllHeaders(self) -> dict[bytes, bytes]:
        """Every request header with its last value (lower-cased names)."""
        return {k: v[-1] for k, v in self.requestHeaders._raw.items()}

    def getCookie(self, key: bytes) -> bytes | None:
        """A cookie the client sent, or ``None``."""
        return self.received_cookies.get(key)

    def getRequestHostname(self) -> bytes:
        """The host the client asked for (``Host`` without the port), or this server's
        address."""
        host = self.requestHeaders._raw.get(b"host")
        if host:
            value = host[0]
            if value.startswith(b"["):
                return value[: value.find(b"]") + 1]
            return value.rsplit(b":", 1)[0] if value.count(b":") == 1 else value
        return str(getattr(self.getHost(), "host", "")).encode("ascii")

    def getHost(self) -> Any:
        """The local address of the connection."""
        return self.host

    def getClientAddress(self) -> Any:
        """The peer's address (an ``IAddress``)."""
        return self.channel._getPeer()

    def isSecure(self) -> bool:
        """Whether the request came over TLS."""
        if self._forceSSL:
            return True
        return self.channel.isSecure()

    def _authorization(self) -> tuple[bytes, bytes]:
        import base64
        import binascii

        header = self.getHeader(b"authorization")
        if header and header[:6].lower() == b"basic ":
            try:
                user, _, password = base64.b64decode(header[6:].strip()).partition(b":")
                return user, password
            except (binascii.Error, ValueError):
                pass
        return b"", b""

    def getUser(self) -> bytes:
        """The user name of HTTP Basic authentication, or ``b""``."""
        return self._authorization()[0]

    def getPassword(self) -> bytes:
        """The password of HTTP Basic authentication, or ``b""``."""
        return self._authorization()[1]

    # -- the response ------------------------------------------------------------------------

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        """Set the status code (and optionally reason phrase) of the response."""
        if not isinstance(code, int):
            raise TypeError("HTTP response code must be int")
        self.code = code
        if message is not None:
            if b"\r" in message or b"\n" in message:
                raise ValueError("CR or LF in a reason phrase")
            self.code_message = message
        else:
            self.code_message = RESPONSES.get(code, b"Unknown Status")

    def setHeader(self, name: bytes | str, value: bytes | str) -> None:
        """Set a response header, replacing earlier values."""
        rawName = name.encode("iso-8859-1") if name.__class__ is str else name
        rawValue = value.encode("utf-8") if value.__class__ is str else value
        self.responseHeaders._setOne(rawName, rawValue)  # type: ignore[arg-type]

    def addCookie(
        self,
        k: bytes | str,
        v: bytes | str,
        expires: bytes | str | None = None,
        domain: bytes | str | None = None,
        path: bytes | str | None = None,
        max_age: bytes | str | int | None = None,
        comment: bytes | str | None = None,
        secure: bool | None = None,
        httpOnly: bool = False,
        sameSite: str | None = None,
    ) -> None:
        """Add a ``Set-Cookie`` header. Characters that would end the cookie or the header
        (``;``, CR, LF) are refused with :class:`ValueError`."""

        def enc(x: bytes | str | int) -> bytes:
            out = str(x).encode("utf-8") if not isinstance(x, bytes) else x
            if b";" in out or b"\r" in out or b"\n" in out:
                raise ValueError(f"invalid character in cookie attribute {x!r}")
            return out

        parts = [enc(k) + b"=" + enc(v)]
        if expires is not None:
            parts.append(b"Expires=" + enc(expires))
        if domain is not None:
            parts.append(b"Domain=" + enc(domain))
        if path is not None:
            parts.append(b"Path=" + enc(path))
        if max_age is not None:
            parts.append(b"Max-Age=" + enc(max_age))
        if comment is not None:
            parts.append(b"Comment=" + enc(comment))
        if secure:
            parts.append(b"Secure")
        if httpOnly:
            parts.append(b"HttpOnly")
        if sameSite is not None:
            if sameSite.lower() not in ("lax", "strict", "none"):
                raise ValueError("sameSite must be lax, strict or none")
            parts.append(b"SameSite=" + sameSite.capitalize().encode("ascii"))
        self.cookies.append(b"; ".join(parts))

    def redirect(self, url: bytes | str) -> None:
        """Answer with ``302 Found`` to ``url`` (a header; see
        :func:`glisten.web.util.redirectTo` for a body too)."""
        self.setResponseCode(FOUND)
        self.setHeader(b"location", url)

    def setLastModified(self, when: float) -> object | None:
        """Set ``Last-Modified``; if the client's ``If-Modified-Since`` is as new, answer 304.

        :return: :data:`CACHED` if the body must not be sent, else ``None``.
        """
        when = int(when)
        if not self.lastModified or self.lastModified < when:
            self.lastModified = when
        modifiedSince = self.getHeader(b"if-modified-since")
        if modifiedSince and self.getHeader(b"if-none-match") is None:
            try:
                since = stringToDatetime(modifiedSince.split(b";", 1)[0])
            except ValueError:
                return None
            if since >= when:
                self.setResponseCode(NOT_MODIFIED)
                return CACHED
        return None

    def setETag(self, etag: bytes) -> object | None:
        """Set ``ETag``; if the client's ``If-None-Match`` matches, answer 304 (or 412 for
        methods other than GET and HEAD).

        :return: :data:`CACHED` if the body must not be sent, else ``None``.
        """
        if etag:
            self.etag = etag
        tags = self.getHeader(b"if-none-match")
        if tags:
            candidates = [t.strip() for t in tags.split(b",")]
            weak = etag[2:] if etag.startswith(b"W/") else etag
            if b"*" in candidates or any(
                (c[2:] if c.startswith(b"W/") else c) == weak for c in candidates
            ):
                if self.method in (b"GET", b"HEAD"):
                    self.setResponseCode(NOT_MODIFIED)
                else:
                    self.setResponseCode(PRECONDITION_FAILED)
                return CACHED
        return None

    def _headerFields(self) -> dict[bytes, list[bytes]]:
        raw = self.responseHeaders._raw
        code = self.code
        if self.lastModified is not None and b"last-modified" not in raw:
            raw[b"last-modified"] = [_httpDate(int(self.lastModified))]
        if self.etag is not None and b"etag" not in raw:
            raw[b"etag"] = [self.etag]
        if (
            self.defaultContentType is not None
            and b"content-type" not in raw
            and code not in NO_BODY_CODES
        ):
            raw[b"content-type"] = [self.defaultContentType]
        if self.cookies:
            raw = dict(raw)
            raw[b"set-cookie"] = raw.get(b"set-cookie", []) + self.cookies
        return raw

    def write(self, data: bytes) -> None:
        """Write part of the response body; the first call sends the head.

        :raises RuntimeError: The request is already finished.
        """
        if self.finished:
            raise RuntimeError("Request.write called after Request.finish")
        if self._disconnected:
            return
        channel = self.channel
        codec = channel._codec
        if not self.startedWriting:
            self.startedWriting = True
            head = codec.sendResponse(self.code, self._headerFields(), self.code_message)
            self.sentLength += len(data)
            out = head + codec.sendData(data) if data else head
        elif data:
            self.sentLength += len(data)
            out = codec.sendData(data)
        else:
            return
        # channel._writeBytes, inlined: this runs for every response.
        transport = channel.transport
        if out and transport is not None:
            transport.write(out)

    def writeSequence(self, data: list[bytes]) -> None:
        """Write several pieces of the body."""
        for piece in data:
            self.write(piece)

    def finish(self) -> None:
        """The response is complete.

        :raises RuntimeError: Called twice.
        """
        if self._disconnected:
            return
        if self.finished:
            raise RuntimeError("Request.finish called twice")
        if not self.startedWriting:
            self.write(b"")
        self.finished = True
        self.channel._requestDone(self)
        notifications = self._finishNotifications
        if notifications:
            self._finishNotifications = None
            for d in notifications:
                d.callback(None)

    def notifyFinish(self) -> Deferred[None]:
        """A Deferred that fires with ``None`` when the response is finished, or fails when
        the connection is lost first."""
        from glisten.internet.defer import Deferred, fail, succeed

        if self.finished:
            return succeed(None)
        if self._disconnected:
            from glisten.internet.error import ConnectionLost

            return fail(ConnectionLost("connection lost before the response was finished"))
        d: Deferred[None] = Deferred()
        if self._finishNotifications is None:
            self._finishNotifications = []
        self._finishNotifications.append(d)
        return d

    def connectionLost(self, reason: Failure) -> None:
        """The connection closed before :meth:`finish`."""
        self._disconnected = True
        notifications = self._finishNotifications
        if notifications:
            self._finishNotifications = None
            for d in notifications:
                d.errback(reason)

    def loseConnection(self) -> None:
        """Close the connection (after what was written)."""
        if self.channel.transport is not None:
            self.channel.transport.loseConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let ``producer`` write the body, paced by the transport."""
        if self.producer is not None:
            raise ValueError("a producer is already registered")
        self.producer = producer
        self._pullProducer = not streaming
        transport = self.channel.transport
        if transport is not None:
            transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """The producer is done."""
        transport = self.channel.transport
        if transport is not None and self.producer is not None:
            transport.unregisterProducer()
        self.producer = None

    def getClientIP(self) -> str | None:
        """The peer's IP address as text, or ``None`` for non-IP connections."""
        return getattr(self.getClientAddress(), "host", None)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} at 0x{id(self):x} method={self.method!r} uri={self.uri!r} clientproto={self.clientproto!r}>"


@implementer(interfaces.IPushProducer)
class HTTPChannel(Protocol):
    """One HTTP/1.1 connection: feeds the codec, makes :class:`Request` objects, writes their
    responses in order, and enforces timeouts.

    :ivar requestFactory: Makes a request: ``requestFactory(channel, queued)``.
    :ivar timeOut: Seconds an idle connection (no request in progress) stays open.
    :ivar headerTimeout: Seconds a client has to send a complete request head.
    :ivar limits: The codec's request limits.
    :ivar maxPipelineBuffer: Bytes of pipelined requests buffered before reading pauses.
    """

    requestFactory: Callable[..., Request] = Request
    timeOut: float | None = 60
    headerTimeout: float = 30
    limits: _h11.Limits = _h11.DEFAULT_LIMITS
    maxPipelineBuffer = 65536
    site: Any = None
    factory: Any = None
    _secure: bool | None = None

    #: Twisted's names for two of the limits; a subclass may override them.
    maxHeaders: int = _h11.DEFAULT_LIMITS.maxHeaders
    totalHeadersSize: int = _h11.DEFAULT_LIMITS.maxHeaderBytes

    def __init__(self) -> None:
        limits = self.limits
        if self.maxHeaders != limits.maxHeaders or self.totalHeadersSize != limits.maxHeaderBytes:
            limits = self.limits = attrs.evolve(
                limits, maxHeaders=self.maxHeaders, maxHeaderBytes=self.totalHeadersSize
            )
        self._codec = _h11.ServerConnection(limits)
        self._request: Request | None = None
        self._dispatching = False
        self._nextReady = False
        self._readingPaused = False
        self._timer: Any = None
        self._reactor: Any = None
        self._activity = 0
        self._seenActivity = -1
        self._requests = 0
        self._seenRequests = -1
        self._headSince: float | None = None
        self._idleSince = 0.0
        self._seenSent = -1
        self._sentSince = 0.0
        self._closed = False

    # -- connection events -------------------------------------------------------------------

    def connectionMade(self) -> None:
        factory = self.factory
        reactor = getattr(factory, "reactor", None) if factory is not None else None
        reactor = getReactor(reactor)
        self._reactor = reactor
        self._idleSince = reactor.seconds()
        self._scheduleTick()

    def dataReceived(self, data: bytes) -> None:
        self._activity += 1
        events = self._codec.receiveData(data)
        if events:
            self._dispatch(events)
        elif self._codec.state.server is not _IDLE:
            self._checkPipelineBuffer()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._upgraded is not None:
            self._closed = True
            self._upgraded.connectionLost(reason)
            return
        self._closed = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        request = self._request
        self._request = None
        if request is not None and not request.finished:
            request.connectionLost(reason)

    _host: Any = None
    _peer: Any = None

    def _getPeer(self) -> Any:
        peer = self._peer
        if peer is None and self.transport is not None:
            peer = self._peer = self.transport.getPeer()
        return peer

    def _getHost(self) -> Any:
        host = self._host
        if host is None and self.transport is not None:
            host = self._host = self.transport.getHost()
        return host

    def isSecure(self) -> bool:
        """Whether the transport is TLS."""
        secure = self._secure
        if secure is None:
            secure = self._secure = interfaces.ISSLTransport.providedBy(self.transport)
        return secure

    # -- the codec's events ------------------------------------------------------------------

    def _dispatch(self, events: list[_h11.Event]) -> None:
        if self._dispatching:
            raise RuntimeError("re-entered HTTPChannel._dispatch")
        self._dispatching = True
        codec = self._codec
        try:
            while events:
                for event in events:
                    cls = event.__class__
                    if cls is _EV_REQUEST:
                        self._startRequest(event)  # type: ignore[arg-type]
                    elif cls is _EV_END:
                        request = self._request
                        assert request is not None and self._head is not None
                        head = self._head
                        self._head = None
                        request.requestReceived(
                            head.method,
                            head.target,
                            b"HTTP/1.1" if head.version == b"1.1" else b"HTTP/1.0",
                        )
                    elif cls is _EV_DATA:
                        assert self._request is not None
                        self._request.handleContentChunk(event.data)  # type: ignore[union-attr]
                    elif cls is _EV_ERROR:
                        self._protocolError(event)  # type: ignore[arg-type]
                        return
                events = []
                if self._nextReady:
                    self._nextReady = False
                    # Only buffered (pipelined) bytes can make events; usually there are none.
                    if codec._buf:
                        events = codec.receiveData(b"")
            if codec.state.server is not _IDLE:
                self._checkPipelineBuffer()
        finally:
            self._dispatching = False

    _head: _h11.Request | None = None
    _incomingHeaders: dict[bytes, list[bytes]] | None = None

    def _startRequest(self, head: _h11.Request) -> None:
        self._requests += 1
        self._headSince = None
        self._incomingHeaders = head.headers
        request = self.requestFactory(self, False)
        self._incomingHeaders = None
        if request.requestHeaders._raw is not head.headers:
            request.requestHeaders = Headers._fromParsed(head.headers)
        self._request = request
        self._head = head
        if head.contentLength != 0:
            request.gotLength(head.contentLength)
            if head.expectContinue:
                self._writeBytes(self._codec.sendContinue())

    def _protocolError(self, error: _h11.ProtocolError) -> None:
        _log.debug(
            "Bad HTTP request from {peer}: {message}",
            peer=self.transport.getPeer() if self.transport else None,
            message=error.message,
        )
        codec = self._codec
        if self._request is not None and codec.responseStarted:
            self.transport.abortConnection()
            return
        self._writeBytes(codec.sendError(error.status))
        self.transport.loseConnection()

    def _checkPipelineBuffer(self) -> None:
        if (
            not self._readingPaused
            and len(self._codec._buf) > self.maxPipelineBuffer
            and self.transport is not None
        ):
            self._readingPaused = True
            self.transport.pauseProducing()

    # -- the response ------------------------------------------------------------------------

    def _writeBytes(self, data: bytes) -> None:
        if data and self.transport is not None:
            self.transport.write(data)

    def _requestDone(self, request: Request) -> None:
        codec = self._codec
        end = codec.sendEnd()
        if end:
            self._writeBytes(end)
        self._request = None
        factory = self.factory
        if factory is not None:
            factory.log(request)
        if not codec.keepAlive:
            if self.transport is not None:
                self.transport.loseConnection()
            return
        self._idleSince = -1.0  # refreshed on the next tick
        if self._readingPaused:
            self._readingPaused = False
            self.transport.resumeProducing()
        if self._dispatching:
            self._nextReady = True
        elif codec._buf:
            events = codec.receiveData(b"")
            if events:
                self._dispatch(events)

    def _switchProtocols(self, request: Request, protocol: Any) -> bytes:
        """Send ``request``'s response as ``101 Switching Protocols`` and hand the connection
        to ``protocol`` (an object with ``dataReceived`` and ``connectionLost``).

        :return: Bytes the client sent after the request, which belong to ``protocol``.
        """
        codec = self._codec
        request.code = SWITCHING
        request.code_message = RESPONSES[SWITCHING]
        head = codec.sendResponse(SWITCHING, request._headerFields(), request.code_message)
        request.startedWriting = True
        request.finished = True
        self._writeBytes(head)
        leftover = codec.trailingData
        codec._buf = b""
        self._request = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._upgraded = protocol
        self.dataReceived = protocol.dataReceived  # type: ignore[method-assign]
        if self.factory is not None:
            self.factory.log(request)
        return leftover

    _upgraded: Any = None

    # -- IPushProducer, for callers that pause the whole connection -------------------------

    def pauseProducing(self) -> None:
        if self.transport is not None:
            self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        if self.transport is not None:
            self.transport.resumeProducing()

    def stopProducing(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    # -- timeouts ----------------------------------------------------------------------------

    def _tickInterval(self) -> float:
        timeouts = [self.headerTimeout]
        if self.timeOut is not None:
            timeouts.append(self.timeOut)
        return max(min(timeouts) / 4, 0.05)

    def _scheduleTick(self) -> None:
        if not self._closed:
            self._timer = self._reactor.callLater(self._tickInterval(), self._tick)

    def _tick(self) -> None:
        """Check the timeouts. One timer per connection, ticking a few times per timeout,
        costs nothing per request (unlike resetting a timer on every read)."""
        self._timer = None
        if self._closed or self.transport is None:
            return
        now = self._reactor.seconds()
        codec = self._codec
        activity = self._activity
        if activity != self._seenActivity or self._idleSince < 0:
            # Bytes arrived, or a response finished, since the last tick.
            self._seenActivity = activity
            self._idleSince = now
        state = codec.state
        waitingHead = state.client is _IDLE and state.server is _IDLE
        if waitingHead and codec._buf:
            if self._seenRequests != self._requests or self._headSince is None:
                self._seenRequests = self._requests
                self._headSince = now
            elif now - self._headSince >= self.headerTimeout:
                self._timedOut(headers=True)
                return
        else:
            self._headSince = None
        request = self._request
        idle = request is None or state.client is _SEND_BODY
        if self.timeOut is not None and idle and now - self._idleSince >= self.timeOut:
            self._timedOut(headers=False)
            return
        if self.timeOut is not None and request is not None and request._pullProducer:
            # A pull producer (a static file) writes whenever the client reads; no progress
            # for a whole timeout means the client stopped reading (a "slow read" attack).
            if request.sentLength != self._seenSent:
                self._seenSent = request.sentLength
                self._sentSince = now
            elif now - self._sentSince >= self.timeOut:
                self._timedOut(headers=False)
                return
        self._scheduleTick()

    def _timedOut(self, headers: bool) -> None:
        transport = self.transport
        if headers:
            self._writeBytes(self._codec.sendError(REQUEST_TIMEOUT))
            transport.loseConnection()
        elif self._request is not None:
            transport.abortConnection()
        else:
            transport.loseConnection()
        # A client that stops reading must not keep the connection open either.
        self._reactor.callLater(5, self._forceAbort)

    def _forceAbort(self) -> None:
        if not self._closed and self.transport is not None:
            self.transport.abortConnection()

    def timeoutConnection(self) -> None:
        """Close the connection now, as a timeout would."""
        self._timedOut(headers=False)


def _escape(s: str) -> str:
    return (
        s.replace("\\", "\\\\")
        .replace('"', '\\"')
        .encode("ascii", "backslashreplace")
        .decode("ascii")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _printable(b: bytes | None) -> str:
    if b is None:
        return "-"
    return _escape(b.decode("latin-1"))


@implementer(IAccessLogFormatter)
def combinedLogFormatter(timestamp: str, request: Request) -> str:
    """One line in the Combined Log Format; every field from the client is escaped, so a
    request cannot forge log lines."""
    address = request.getClientAddress()
    ip = getattr(address, "host", "-")
    line = _printable(request.method + b" " + request.uri + b" " + request.clientproto)
    length = str(request.sentLength) if request.sentLength else "-"
    return '"%s" - - %s "%s" %d %s "%s" "%s"' % (
        ip,
        timestamp,
        line,
        request.code,
        length,
        _printable(request.getHeader(b"referer")),
        _printable(request.getHeader(b"user-agent")),
    )


@implementer(IAccessLogFormatter)
def proxiedLogFormatter(timestamp: str, request: Request) -> str:
    """Like :func:`combinedLogFormatter`, with the client address taken from the last
    ``X-Forwarded-For`` entry (for a server behind a reverse proxy you trust)."""
    forwarded = request.getHeader(b"x-forwarded-for")
    line = combinedLogFormatter(timestamp, request)
    if forwarded:
        ip = _printable(forwarded.split(b",")[-1].strip())
        line = '"%s"%s' % (ip, line[line.index('"', 1) + 1 :])
    return line


class _AccessLine:
    """An access-log line for the logging system, formatted only if an observer reads it.

    It keeps a copy of the few fields the combined format needs, not the request: log buffers
    may hold many events, and holding whole requests there would cost memory and GC time.
    """

    __slots__ = ("fields", "timestamp", "_text")

    def __init__(self, timestamp: str, r: Request) -> None:
        headers = r.requestHeaders._raw
        referer = headers.get(b"referer")
        agent = headers.get(b"user-agent")
        # The request line is joined only if the line is formatted.
        self.fields = (
            getattr(r.getClientAddress(), "host", "-"),
            (r.method, r.uri, r.clientproto),
            r.code,
            r.sentLength,
            referer[-1] if referer else None,
            agent[-1] if agent else None,
        )
        self.timestamp = timestamp
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            ip, line, code, length, referer, agent = self.fields
            self._text = '"%s" - - %s "%s" %d %s "%s" "%s"' % (
                ip,
                self.timestamp,
                _printable(b" ".join(line)),
                code,
                str(length) if length else "-",
                _printable(referer),
                _printable(agent),
            )
        return self._text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class HTTPFactory(ServerFactory):
    """Makes :class:`HTTPChannel` connections and writes the access log.

    :param logPath: A file to append access log lines to; ``None`` sends them to the
        ``glisten.logger`` system (level info).
    :param timeout: Idle timeout of connections, seconds (``None``: never).
    :param logFormatter: Makes a log line (default :func:`combinedLogFormatter`).
    :param reactor: The reactor for timeouts; the global one if ``None``.
    """

    protocol: Any = HTTPChannel
    logPath: str | None = None

    def __init__(
        self,
        logPath: str | None = None,
        timeout: float | None = 60,
        logFormatter: Callable[[str, Request], str] | None = None,
        reactor: Any = None,
    ) -> None:
        self.logPath = logPath
        self.timeOut = timeout
        self._logFormatter = logFormatter or combinedLogFormatter
        self.reactor = reactor
        self._logFile: IO[str] | None = None
        self._logStampSecond = -1
        self._logStamp = ""
        self.maxRequestBody: int | None = None

    def startFactory(self) -> None:
        if self.logPath:
            self._logFile = open(self.logPath, "a", encoding="utf-8")

    def stopFactory(self) -> None:
        if self._logFile is not None:
            self._logFile.close()
            self._logFile = None

    def buildProtocol(self, addr: Any) -> HTTPChannel:
        channel: HTTPChannel = self.protocol()
        channel.factory = self
        channel.timeOut = self.timeOut
        if self.maxRequestBody is not None:
            channel.limits = attrs.evolve(channel.limits, maxBody=self.maxRequestBody)
            channel._codec = _h11.ServerConnection(channel.limits)
        return channel

    @property
    def _logDateTime(self) -> str:
        now = int(time.time())
        if now != self._logStampSecond:
            self._logStampSecond = now
            self._logStamp = datetimeToLogString(now)
        return self._logStamp

    def log(self, request: Request) -> None:
        """Write the access log line for a finished request."""
        if self._logFile is not None:
            self._logFile.write(self._logFormatter(self._logDateTime, request) + "\n")
        elif self._logFormatter is combinedLogFormatter:
            # What _accessLog.info("{line}", line=...) sends, built directly: this runs for
            # every request, and the Logger's generic path costs more than the event itself.
            # One clock reading serves both the line's timestamp and the event's.
            now = time.time()
            if int(now) != self._logStampSecond:
                self._logStampSecond = int(now)
                self._logStamp = datetimeToLogString(int(now))
            globalLogPublisher(
                {
                    "line": _AccessLine(self._logStamp, request),
                    "log_logger": _accessLog,
                    "log_level": _INFO,
                    "log_namespace": "glisten.web.access",
                    "log_source": None,
                    "log_format": "{line}",
                    "log_time": now,
                }
            )
        else:
            _accessLog.info("{line}", line=self._logFormatter(self._logDateTime, request))
