"""The HTTP request: :class:`Request`, as in ``twisted.web.http.Request``.

A request talks to its connection only through the channel surface Twisted documents:
``channel.transport``, ``getPeer``, ``getHost``, ``isSecure``, ``writeHeaders``, ``write``,
``requestDone``, ``registerProducer``/``unregisterProducer`` and ``loseConnection``. So it works
over glisten's :class:`~glisten.web.http.HTTPChannel` and over any test double that provides
that surface, as Twisted's does.

One difference from Twisted: glisten's channel owns the body framing (its codec chooses
``Content-Length``, chunked or close-delimited and frames each ``write``), so the request never
frames the body itself. Over a channel that writes raw bytes, the body goes out unframed.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO, TYPE_CHECKING, AnyStr
from urllib.parse import parse_qs as _parse_qs
from urllib.parse import urlsplit

from zope.interface import implementer

from glisten.internet.address import IPv4Address
from glisten.internet.interfaces import IAddress, IProducer
from glisten.python.failure import Failure
from glisten.web._accesslog import dateCache, stringToDatetime
from glisten.web._codes import (
    FOUND,
    NO_BODY_CODES,
    NOT_IMPLEMENTED,
    NOT_MODIFIED,
    OK,
    PRECONDITION_FAILED,
    RESPONSES,
)
from glisten.web.http_headers import Headers
from glisten.web.iweb import IRequest

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred
    from glisten.web._channel import HTTPChannel

#: Returned by :meth:`Request.setLastModified` and :meth:`Request.setETag` when the client's
#: copy is current and the body must not be sent.
CACHED = object()

_newHeaders = object.__new__
#: Status codes as the bytes ``writeHeaders`` takes.
_CODES: dict[int, bytes] = {code: b"%d" % code for code in RESPONSES}

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

    :ivar channel: The connection the request arrived on.
    :ivar transport: The channel's transport.
    :ivar client: The peer's address (an ``IAddress``).
    :ivar host: The local address of the connection, or what :meth:`setHost` set.
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
    :ivar queued: Always ``0``; kept for Twisted compatibility.
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
    producer: IProducer | None = None
    queued: int = 0
    defaultContentType: bytes | None = b"text/html"
    _disconnected: bool = False
    _query: bytes = b""
    _args: dict[bytes, list[bytes]] | None = None
    _cookiesIn: dict[bytes, bytes] | None = None
    _finishNotifications: list[Deferred[None]] | None = None
    _forceSSL: bool = False
    _noBody: bool = False

    def __init__(self, channel: HTTPChannel, queued: object = None) -> None:
        """
        :param channel: The connection the request arrived on: glisten's
            :class:`~glisten.web.http.HTTPChannel` or anything with Twisted's channel surface.
            The channel fills :attr:`requestHeaders` and the body in, then calls
            :meth:`requestReceived`.
        :param queued: Ignored; kept for Twisted compatibility.
        """
        self.channel = channel
        self.transport = channel.transport
        # Headers._fromParsed, inlined: two calls fewer per request.
        requestHeaders = self.requestHeaders = _newHeaders(Headers)
        requestHeaders._raw = {}
        responseHeaders = self.responseHeaders = _newHeaders(Headers)
        responseHeaders._raw = {}
        self.cookies: list[bytes] = []
        # The response's progress, read several times per request: instance attributes,
        # where a lookup is quickest (a class default costs a full lookup on every read).
        self.finished = False
        self.startedWriting = False
        self.sentLength = 0
        self._disconnected = False
        self._noBody = False
        self.etag = None
        self.lastModified = None
        self._content = None
        self._finishNotifications = None
        # The status (a subclass may set another default) is read a few times per request.
        self.code = self.code
        self.client: IAddress | None = channel.getPeer()
        self.host: IAddress | None = channel.getHost()

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

    def getHeader(self, key: AnyStr) -> AnyStr | None:
        """The last value of a request header, or ``None``; ``str`` for a ``str`` key, as in
        Twisted."""
        if isinstance(key, bytes):
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

    def getHost(self) -> IAddress | None:
        """The local address of the connection (or the one :meth:`setHost` set)."""
        return self.host

    def setHost(self, host: bytes, port: int, ssl: bool = False) -> None:
        """Make the request believe it arrived at ``host:port`` (behind a reverse proxy that
        listens on another address, so that generated URLs point at the proxy).

        :param host: The host name, as the ``Host`` header will say.
        :param port: The port.
        :param ssl: Whether the request is to count as secure (:meth:`isSecure`).
        """
        self._forceSSL = bool(ssl)
        default = 443 if self.isSecure() else 80
        hostHeader = host if port == default else b"%s:%d" % (host, port)
        self.requestHeaders._setOne(b"host", hostHeader)
        self.host = IPv4Address("TCP", host.decode("ascii", "replace"), port)

    def getClientAddress(self) -> IAddress | None:
        """The peer's address (an ``IAddress``)."""
        return self.client

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

    def _writeHeaders(self) -> None:
        # The response head: the fields the request adds itself (Last-Modified, ETag, a
        # default Content-Type, the cookies) go into responseHeaders, as in Twisted, so the
        # channel sees one Headers.
        self.startedWriting = True
        responseHeaders = self.responseHeaders
        raw = responseHeaders._raw
        code = self.code
        if self.lastModified is not None and b"last-modified" not in raw:
            raw[b"last-modified"] = [dateCache.httpDate(int(self.lastModified))]
        if self.etag is not None and b"etag" not in raw:
            raw[b"etag"] = [self.etag]
        noBody = code in NO_BODY_CODES
        contentType = self.defaultContentType
        if contentType is not None and b"content-type" not in raw and not noBody:
            raw[b"content-type"] = [contentType]
        if self.cookies:
            raw[b"set-cookie"] = raw.get(b"set-cookie", []) + self.cookies
        if noBody or self.method == b"HEAD":
            self._noBody = True
        self.channel.writeHeaders(
            self.clientproto,
            _CODES.get(code) or b"%d" % code,
            self.code_message,
            responseHeaders,
        )

    def write(self, data: bytes) -> None:
        """Write part of the response body; the first call sends the head.

        :raises RuntimeError: The request is already finished.
        """
        if self.finished:
            raise RuntimeError("Request.write called after Request.finish")
        if self._disconnected:
            return
        if not self.startedWriting:
            self._writeHeaders()
            if self._noBody:
                # HEAD, 204 and 304 responses carry no body; the head goes out now.
                self.channel.write(b"")
                return
            self.sentLength += len(data)
            # Even empty: a write after the head sends the head now.
            self.channel.write(data)
        elif data and not self._noBody:
            self.sentLength += len(data)
            self.channel.write(data)

    def sendfile(self, fileno: int, offset: int, count: int) -> int | None:
        """Write up to ``count`` bytes of the body straight from the open file ``fileno`` at
        ``offset`` (``sendfile(2)``), for producers of large files; a glisten extension. The
        first call sends the head.

        :return: The bytes sent (0: the connection is busy; a registered pull producer is
            resumed when it is not), or ``None`` when this connection cannot send from files
            (TLS, a framed body, HTTP/2): use :meth:`write`.
        :raises RuntimeError: The request is already finished.
        :raises EOFError: The file ends before ``offset``.
        """
        if self.finished:
            raise RuntimeError("Request.sendfile called after Request.finish")
        if self._disconnected:
            return 0
        send = getattr(self.channel, "sendfile", None)
        if send is None:
            return None
        if not self.startedWriting:
            self.write(b"")
        if self._noBody:
            return None
        sent: int | None = send(fileno, offset, count)
        if sent:
            self.sentLength += sent
        return sent

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
            self._writeHeaders()
        self.finished = True
        self.channel.requestDone(self)
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
        self.channel.loseConnection()

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Let ``producer`` write the body, paced by the connection.

        :raises ValueError: A producer is already registered.
        """
        if self.producer is not None:
            raise ValueError("a producer is already registered")
        self.producer = producer
        self.channel.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """The producer is done."""
        if self.producer is not None:
            self.channel.unregisterProducer()
        self.producer = None

    def getClientIP(self) -> str | None:
        """The peer's IP address as text, or ``None`` for non-IP connections."""
        return getattr(self.getClientAddress(), "host", None)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} at 0x{id(self):x} method={self.method!r} uri={self.uri!r} clientproto={self.clientproto!r}>"
