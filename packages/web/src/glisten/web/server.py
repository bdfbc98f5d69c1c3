"""The web server: :class:`Site`, its :class:`Request` and :class:`Session`, as in
``twisted.web.server``.

A :class:`Site` is an :class:`~glisten.web.http.HTTPFactory` that answers each request by
walking its resource tree and rendering the resource found. A render method may return the
body (bytes), :data:`NOT_DONE_YET` (it will write and finish the request itself), or, unlike
Twisted, a Deferred or a coroutine whose result is the body.
"""

from __future__ import annotations

import inspect
import secrets
import time
import zlib
from collections.abc import Callable, Coroutine, Sequence
from html import escape
from typing import Any, overload
from urllib.parse import quote_from_bytes, unquote_to_bytes

from zope.interface.interface import InterfaceClass

from glisten.internet.defer import Deferred
from glisten.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python import urlpath
from glisten.python.components import Componentized
from glisten.python.failure import Failure
from glisten.web import http, resource
from glisten.web._accesslog import dateCache
from glisten.web._version import __version__
from glisten.web.error import UnsupportedMethod
from glisten.web.http_headers import Headers
from glisten.web.iweb import IRequest, _IRequestEncoder
from glisten.web.resource import IResource

#: Returned by a render method that finishes the request later.
NOT_DONE_YET = 1

#: The ``Server`` header.
version = b"glisten-web/" + __version__.encode("ascii")

#: Methods that exist but a resource may not implement: 405 rather than 501.
supportedMethods = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS")

_log = Logger()
_dateCache = dateCache


class Request(http.Request):
    """A request answered by a :class:`Site`.

    :ivar site: The site.
    :ivar prepath: Path segments already consumed by the resource walk.
    :ivar postpath: Path segments still to consume.
    :ivar sitepath: The prepath at the site's root.
    """

    site: Site | None = None
    sitepath: list[bytes]
    prepath: list[bytes]
    postpath: list[bytes]
    _encoder: _IRequestEncoder | None = None
    _secureSession: Session | None = None
    _insecureSession: Session | None = None
    appRootURL: bytes | None = None

    def process(self) -> None:
        """Find the resource for the path and render it."""
        # Read by every write and finish: an instance attribute, quickest to look up.
        self._encoder = None
        raw = self.responseHeaders._raw
        raw[b"server"] = [version]
        # _dateCache.get(), inlined: this runs for every request.
        now = int(time.time())
        if now != _dateCache.second:
            _dateCache.refresh(now)
        raw[b"date"] = [_dateCache.value]
        self.site = site = self.channel.site
        if site is None:
            raise RuntimeError("a server.Request needs a channel with a site")
        path = self.path
        self.prepath = []
        if b"%" in path:
            self.postpath = [unquote_to_bytes(p) for p in path[1:].split(b"/")]
        else:
            self.postpath = path[1:].split(b"/")
        try:
            resrc = site.getResourceFor(self)
            if resource._IEncodingResource.providedBy(resrc):
                encoder = resrc.getEncoder(self)
                if encoder is not None:
                    self._encoder = encoder
            self.render(resrc)
        except BaseException:
            self.processingFailed(Failure())

    def render(self, resrc: IResource) -> None:
        """Render ``resrc`` and write what it returns."""
        try:
            body = resrc.render(self)
        except UnsupportedMethod as e:
            self._unsupported(e.allowedMethods)
            return
        if body is NOT_DONE_YET:
            return
        if body.__class__ is bytes:
            self._writeBody(body)  # type: ignore[arg-type,unused-ignore]
            return
        if isinstance(body, Deferred) or inspect.iscoroutine(body):
            self._renderLater(body)
            return
        self._badBody(resrc, body)

    def _badBody(self, resrc: IResource | None, body: object) -> None:
        detail = (
            f"Request did not return bytes. Resource: {resrc!r}. Value: {body!r}."
            if self.site is not None and self.site.displayTracebacks
            else "The resource did not return bytes."
        )
        page = resource.ErrorPage(
            http.INTERNAL_SERVER_ERROR, "Request did not return bytes", detail
        )
        self.responseHeaders = Headers._fromParsed({})
        self._writeBody(page.render(self))

    def _renderLater(
        self, body: Deferred[bytes] | Deferred[int] | Coroutine[object, object, bytes | int]
    ) -> None:
        d: Deferred[Any] = body if isinstance(body, Deferred) else Deferred.fromCoroutine(body)

        def rendered(result: object) -> None:
            if self._disconnected or self.finished or result is NOT_DONE_YET:
                return
            if isinstance(result, bytes):
                self._writeBody(result)
            else:
                self._badBody(None, result)

        def failed(reason: Failure) -> None:
            if not self._disconnected and not self.finished:
                self.processingFailed(reason)

        def lost(reason: Failure) -> None:
            d.cancel()

        self.notifyFinish().addErrback(lost)
        d.addCallbacks(rendered, failed)

    def _unsupported(self, allowedMethods: Sequence[bytes]) -> None:
        if self.method in supportedMethods:
            self.setResponseCode(http.NOT_ALLOWED)
            self.setHeader(b"allow", b", ".join(allowedMethods))
            page = resource.ErrorPage(
                http.NOT_ALLOWED,
                "Method Not Allowed",
                "Your browser approached me with a method that I do not support.",
            )
        else:
            page = resource.ErrorPage(
                http.NOT_IMPLEMENTED,
                "Not Implemented",
                "This method is not implemented by the server.",
            )
        self._writeBody(page.render(self))

    def _writeBody(self, body: bytes) -> None:
        if self.method == b"HEAD":
            # A HEAD render that returns nothing keeps the Content-Length it set itself.
            if body and self._encoder is None:
                self.responseHeaders._raw[b"content-length"] = [b"%d" % len(body)]
            self.write(b"")
        elif self.code in http.NO_BODY_CODES:
            self.write(b"")
        else:
            if self._encoder is None:
                self.responseHeaders._raw[b"content-length"] = [b"%d" % len(body)]
            self.write(body)
        self.finish()

    def write(self, data: bytes) -> None:
        encoder = self._encoder
        if encoder is not None and not self.finished:
            if not self.startedWriting:
                self.responseHeaders._raw.pop(b"content-length", None)
            data = encoder.encode(data)
        http.Request.write(self, data)

    def finish(self) -> None:
        encoder = self._encoder
        if encoder is not None and not self.finished and not self._disconnected:
            self._encoder = None
            if not self.startedWriting:
                self.responseHeaders._raw.pop(b"content-length", None)
            http.Request.write(self, encoder.encode(b"") + encoder.finish())
        http.Request.finish(self)

    def processingFailed(self, reason: Failure) -> None:
        """Rendering raised: log it and answer 500 (with the traceback, escaped, only when
        the site's ``displayTracebacks`` is on)."""
        _log.failure("Exception rendering {uri!r}", failure=reason, uri=self.uri)
        if self.finished or self._disconnected:
            return
        if self.startedWriting:
            # Half a response was sent: the only honest end is to cut the connection.
            transport = self.channel.transport
            if transport is not None:
                transport.abortConnection()
            return
        if self.site is not None and self.site.displayTracebacks:
            text = reason.getTraceback()
            body = (
                "<html><head><title>web.Server Traceback (most recent call last)</title></head>"
                "<body><b>web.Server Traceback (most recent call last):</b>\n\n<pre>%s</pre>"
                "</body></html>" % escape(text)
            ).encode("utf-8")
        else:
            body = (
                b"<html><head><title>Processing Failed</title></head><body>"
                b"<b>Processing Failed</b></body></html>"
            )
        self._encoder = None
        self.responseHeaders = Headers._fromParsed(
            {b"server": [version], b"date": [_dateCache.get()]}
        )
        self.cookies = []
        self.setResponseCode(http.INTERNAL_SERVER_ERROR)
        self.setHeader(b"content-type", b"text/html; charset=utf-8")
        self._writeBody(body)

    # -- URLs -------------------------------------------------------------------------------

    def _prePathURL(self, prepath: list[bytes]) -> bytes:
        port = getattr(self.getHost(), "port", 0)
        if self.isSecure():
            default = 443
            scheme = b"https"
        else:
            default = 80
            scheme = b"http"
        hostport = b"" if port == default else b":%d" % port
        prefix = b"%s://%s%s/" % (scheme, self.getRequestHostname(), hostport)
        path = b"/".join(quote_from_bytes(seg, safe="").encode("ascii") for seg in prepath)
        return prefix + path

    def prePathURL(self) -> bytes:
        """The absolute URL of the resource being rendered."""
        return self._prePathURL(self.prepath)

    def URLPath(self) -> urlpath.URLPath:
        """The URL of the resource being rendered, as a :class:`URLPath` to build links
        from (``request.URLPath().child(b"edit")``, ``.sibling``, ``.parent``)."""
        return urlpath.URLPath.fromBytes(self.prePathURL())

    def rememberRootURL(self) -> None:
        """Remember the current prepath as the application's root."""
        self.appRootURL = self._prePathURL(self.prepath[:-1] if self.prepath else [])

    def getRootURL(self) -> bytes | None:
        """The URL remembered by :meth:`rememberRootURL`."""
        return self.appRootURL

    # -- sessions ---------------------------------------------------------------------------

    @overload
    def getSession(
        self, sessionInterface: None = None, forceNotSecure: bool = False
    ) -> Session: ...

    @overload
    def getSession(
        self, sessionInterface: InterfaceClass, forceNotSecure: bool = False
    ) -> object: ...

    def getSession(
        self, sessionInterface: InterfaceClass | None = None, forceNotSecure: bool = False
    ) -> object:
        """The client's session, made (and its cookie set) on first use.

        Over TLS the session cookie is ``Secure`` and separate from the plain-HTTP one, so a
        session made over HTTPS is never sent in the clear. Cookies are ``HttpOnly`` and
        ``SameSite=Lax``.

        :param sessionInterface: If given, return the session's component for it.
        """
        site = self.site
        if site is None:
            raise RuntimeError("sessions need a Site")
        secure = self.isSecure() and not forceNotSecure
        base = b"GLISTEN_SECURE_SESSION" if secure else b"GLISTEN_SESSION"
        cookieName = b"_".join([base, *getattr(self, "sitepath", [])])
        session = self._secureSession if secure else self._insecureSession
        if session is None:
            uid = self.getCookie(cookieName)
            if uid:
                try:
                    session = site.getSession(uid)
                except KeyError:
                    session = None
            if session is None:
                session = site.makeSession()
                self.addCookie(
                    cookieName, session.uid, path=b"/", secure=secure, httpOnly=True, sameSite="lax"
                )
            if secure:
                self._secureSession = session
            else:
                self._insecureSession = session
        session.touch()
        if sessionInterface is not None:
            return session.getComponent(sessionInterface)
        return session


class Session(Componentized):
    """A server-side session, found again through a cookie; expires after
    :attr:`sessionTimeout` seconds without use.

    Per-session state lives in components, as in Twisted: register an adapter from
    ``Session`` to your interface and ``IFoo(session)`` makes it once per session and keeps it
    (see :class:`~glisten.python.components.Componentized`).

    :param site: The site holding the session.
    :param uid: Its identifier (the cookie value).
    :param reactor: For expiry timers; the global reactor if ``None``.
    """

    sessionTimeout: float = 900

    def __init__(self, site: Site, uid: bytes, reactor: IReactorTime | None = None) -> None:
        super().__init__()
        if reactor is None:
            reactor = site.reactor
        reactor = getReactor(reactor)
        self._reactor = reactor
        self.site = site
        self.uid = uid
        self.expireCallbacks: list[Callable[[], object]] = []
        self.touch()
        self.sessionNamespaces: dict[str, object] = {}
        self._expireCall: IDelayedCall | None = None

    def startCheckingExpiration(self) -> None:
        """Start the expiry timer."""
        self._expireCall = self._reactor.callLater(self.sessionTimeout, self.expire)

    def notifyOnExpire(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when the session expires."""
        self.expireCallbacks.append(callback)

    def expire(self) -> None:
        """End the session now."""
        self.site.sessions.pop(self.uid, None)
        for callback in self.expireCallbacks:
            callback()
        self.expireCallbacks = []
        if self._expireCall is not None and self._expireCall.active():
            self._expireCall.cancel()
        self._expireCall = None

    def touch(self) -> None:
        """The session was used: push its expiry back."""
        self.lastModified = self._reactor.seconds()
        call = getattr(self, "_expireCall", None)
        if call is not None and call.active():
            call.reset(self.sessionTimeout)


class Site(http.HTTPFactory):
    """Serve a resource tree over HTTP.

    :param resource: The root resource.
    :param requestFactory: The request class (default :class:`Request`).
    :ivar displayTracebacks: Show tracebacks in 500 pages (escaped); off by default.
    """

    counter = 0
    requestFactory: Callable[..., Request] = Request
    displayTracebacks = False
    sessionFactory: Callable[[Site, bytes], Session] = Session
    isLeaf = False

    def __init__(
        self,
        resource: IResource,
        requestFactory: Callable[..., Request] | None = None,
        *args: Any,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.sessions: dict[bytes, Session] = {}
        self.resource = resource
        if requestFactory is not None:
            self.requestFactory = requestFactory

    def _mkuid(self) -> bytes:
        return secrets.token_hex(32).encode("ascii")

    def makeSession(self) -> Session:
        """Make a new session and start its expiry timer."""
        uid = self._mkuid()
        session = self.sessions[uid] = self.sessionFactory(self, uid)
        session.startCheckingExpiration()
        return session

    def getSession(self, uid: bytes) -> Session:
        """The session with identifier ``uid``.

        :raises KeyError: There is none (it expired, or never existed).
        """
        return self.sessions[uid]

    def buildProtocol(self, addr: IAddress | None) -> http.HTTPChannel:
        channel = super().buildProtocol(addr)
        channel.requestFactory = self.requestFactory
        channel.site = self
        return channel

    def render(self, request: Request) -> int:
        """Redirect to the same URL with a trailing slash."""
        request.redirect(request.prePathURL() + b"/")
        request.finish()
        return NOT_DONE_YET

    def getChildWithDefault(self, pathEl: bytes, request: Request) -> IResource:
        request.site = self
        return self.resource.getChildWithDefault(pathEl, request)

    def getResourceFor(self, request: Request) -> IResource:
        """The resource that renders ``request``."""
        request.site = self
        request.sitepath = request.prepath[:]
        return resource.getChildForRequest(self.resource, request)


class _GzipEncoder:
    """Compresses one response."""

    def __init__(self, compressLevel: int, request: IRequest) -> None:
        self._zlib = zlib.compressobj(compressLevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._request = request

    def encode(self, data: bytes) -> bytes:
        return self._zlib.compress(data) if data else b""

    def finish(self) -> bytes:
        return self._zlib.flush()


class GzipEncoderFactory:
    """Gzip responses for clients that send ``Accept-Encoding: gzip``.

    :param compressLevel: zlib's level, 1 (fast) to 9 (small).
    """

    def __init__(self, compressLevel: int = 9) -> None:
        self.compressLevel = compressLevel

    def encoderForRequest(self, request: IRequest) -> _GzipEncoder | None:
        """An encoder if the client accepts gzip (and did not give it ``q=0``)."""
        if _acceptsCoding(request.getHeader(b"accept-encoding"), b"gzip", b"x-gzip"):
            request.responseHeaders.setRawHeaders(b"content-encoding", [b"gzip"])
            request.responseHeaders.addRawHeader(b"vary", b"accept-encoding")
            return _GzipEncoder(self.compressLevel, request)
        return None


def _acceptsCoding(accept: bytes | None, *codings: bytes) -> bool:
    """Whether an ``Accept-Encoding`` value accepts one of ``codings`` (lower case): named
    with a weight above 0, or left to a ``*`` that is (RFC 9110, 12.5.3).

    :param accept: The header's value, or ``None`` when the request has none.
    """
    if not accept:
        return False
    star = False
    for item in accept.split(b","):
        coding, _, params = item.strip().partition(b";")
        coding = coding.strip().lower()
        weight = 1.0
        for param in params.split(b";"):
            name, _, value = param.strip().partition(b"=")
            if name.strip().lower() == b"q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        if coding in codings:
            return weight > 0
        if coding == b"*":
            star = weight > 0
    return star
