"""Interfaces of glisten.web, as in ``twisted.web.iweb``: the server side, then the client side.

The attributes are declared with their types (for type checkers and readers); the methods
carry full signatures, so code written against the interfaces is checked as strictly as code
written against the classes.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, AnyStr

from zope.interface import Attribute, Interface

from glisten.internet.interfaces import IProducer

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred
    from glisten.internet.interfaces import (
        IAddress,
        IConsumer,
        IProtocol,
        IStreamClientEndpoint,
    )
    from glisten.web.client import URI
    from glisten.web.http_headers import Headers


class IRequest(Interface):
    """An HTTP request being answered (see :class:`glisten.web.http.Request`).

    :ivar method: The request method, e.g. ``b"GET"``.
    :ivar uri: The full request target, as sent.
    :ivar path: The target's path, without the query.
    :ivar args: Query (and form) arguments: name to values.
    :ivar clientproto: ``b"HTTP/1.1"`` or ``b"HTTP/1.0"``.
    :ivar code: The response status code.
    :ivar code_message: The response reason phrase.
    :ivar sentLength: Body bytes written so far.
    :ivar requestHeaders: The request's headers.
    :ivar responseHeaders: The response's headers.
    :ivar content: The request body, a file-like object positioned at its start.
    :ivar received_cookies: Cookies the client sent.
    """

    method: bytes
    uri: bytes = Attribute("The full request target, as sent.")
    path: bytes = Attribute("The target's path, without the query.")
    args: dict[bytes, list[bytes]] = Attribute("Query (and form) arguments: name to values.")
    clientproto: bytes
    code: int
    code_message: bytes
    sentLength: int
    requestHeaders: Headers = Attribute("The request's headers.")
    responseHeaders: Headers = Attribute("The response's headers.")
    content: IO[bytes] = Attribute("The request body, a file-like object positioned at its start.")
    received_cookies: dict[bytes, bytes]

    def getHeader(key: AnyStr) -> AnyStr | None:
        """The last value of a request header, or ``None`` (``str`` for a ``str`` name)."""

    def getAllHeaders() -> dict[bytes, bytes]:
        """Every request header with its last value (lower-cased names)."""

    def getCookie(key: bytes) -> bytes | None:
        """A cookie the client sent, or ``None``."""

    def getRequestHostname() -> bytes:
        """The host the client asked for, without the port."""

    def getHost() -> IAddress | None:
        """The local address the request arrived at."""

    def setHost(host: bytes, port: int, ssl: bool = False) -> None:
        """Make the request believe it arrived at ``host:port`` (behind a reverse proxy)."""

    def getClientAddress() -> IAddress | None:
        """The client's address."""

    def getClientIP() -> str | None:
        """The client's IP address, or ``None`` for non-IP connections."""

    def getUser() -> bytes:
        """The user name of HTTP Basic authentication, or ``b""``."""

    def getPassword() -> bytes:
        """The password of HTTP Basic authentication, or ``b""``."""

    def isSecure() -> bool:
        """Whether the request came over TLS (or :meth:`setHost` said so)."""

    def setResponseCode(code: int, message: bytes | None = None) -> None:
        """Set the response status."""

    def setHeader(name: bytes | str, value: bytes | str) -> None:
        """Set a response header, replacing earlier values."""

    def addCookie(
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
        """Add a ``Set-Cookie`` header."""

    def redirect(url: bytes | str) -> None:
        """Answer ``302 Found`` to ``url``."""

    def setLastModified(when: float) -> object | None:
        """Set ``Last-Modified``; :data:`~glisten.web.http.CACHED` if the client's copy is
        current."""

    def setETag(etag: bytes) -> object | None:
        """Set ``ETag``; :data:`~glisten.web.http.CACHED` if the client's copy is current."""

    def write(data: bytes) -> None:
        """Write part of the response body (sending the head first)."""

    def finish() -> None:
        """The response is complete."""

    def notifyFinish() -> Deferred[None]:
        """Fires when the response is finished, fails if the connection is lost first."""

    def registerProducer(producer: IProducer, streaming: bool) -> None:
        """Let ``producer`` write the body."""

    def unregisterProducer() -> None:
        """The producer is done."""


class _IRequestEncoder(Interface):
    """Encodes one response's body (gzip, say)."""

    def encode(data: bytes) -> bytes:
        """Encode a piece of the body; may return ``b""`` while buffering."""

    def finish() -> bytes:
        """The rest of the encoded body."""


class _IRequestEncoderFactory(Interface):
    """Chooses an encoder for a request, or none."""

    def encoderForRequest(request: IRequest) -> _IRequestEncoder | None:
        """An encoder if the client accepts this encoding (it may set response headers)."""


class IAccessLogFormatter(Interface):
    """A callable ``(timestamp, request) -> str`` that gives one access log line."""

    def __call__(timestamp: str, request: IRequest) -> str:
        """Format one line."""


class IRenderable(Interface):
    """Something the template flattener renders: an :class:`~glisten.web.template.Element`,
    say."""

    def lookupRenderMethod(name: str) -> Any:
        """The renderer called ``name``: ``(request, tag) -> flattenable``.

        :raises glisten.web.error.MissingRenderMethod: There is none.
        """

    def render(request: IRequest | None) -> Any:
        """The tree (tags, strings, Deferreds...) this object stands for."""


class ITemplateLoader(Interface):
    """Loads a template (an XML document, a tag) as a list of flattenable objects."""

    def load() -> list[Any]:
        """The template's top-level nodes."""


class ICredentialFactory(Interface):
    """Turns one HTTP authentication scheme's ``Authorization`` header into credentials
    (see :mod:`glisten.web.guard`)."""

    scheme: bytes = Attribute("The scheme, lower case: b'basic', b'digest'.")

    def getChallenge(request: IRequest) -> dict[str, bytes | str]:
        """The parameters of the ``WWW-Authenticate`` challenge for ``request``."""

    def decode(response: bytes, request: IRequest) -> Any:
        """The credentials in ``response`` (the header after the scheme).

        :raises glisten.cred.error.LoginFailed: They are malformed or stale.
        """


# -- the client side (as in ``twisted.web.iweb``) ---------------------------------------------


class _UnknownLength:
    """The type of :data:`UNKNOWN_LENGTH`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN_LENGTH"


#: The ``length`` of a body whose size is not known in advance (sent chunked).
UNKNOWN_LENGTH: object = _UnknownLength()


class IBodyProducer(IProducer):
    """Writes a request body to a consumer.

    :ivar length: The body's size in bytes, or :data:`UNKNOWN_LENGTH` (then it is sent
        with chunked coding).
    """

    length: int | object = Attribute("The body's size in bytes, or UNKNOWN_LENGTH.")

    def startProducing(consumer: IConsumer) -> Deferred[None]:
        """Start writing the body to ``consumer``; the result fires when it is all written
        and fails if producing fails."""

    def pauseProducing() -> None:
        """Stop writing until :meth:`resumeProducing`."""

    def resumeProducing() -> None:
        """Continue writing."""


class IClientRequest(Interface):
    """A request a client sent.

    :ivar method: The method.
    :ivar absoluteURI: The full URI, or ``None`` if not known.
    :ivar headers: The request's headers.
    """

    method: bytes
    absoluteURI: bytes | None
    headers: Headers


class IResponse(Interface):
    """A response a client received.

    :ivar version: ``(b"HTTP", major, minor)``.
    :ivar code: The status code.
    :ivar phrase: The reason phrase.
    :ivar headers: The response headers.
    :ivar length: The body length, or :data:`UNKNOWN_LENGTH`.
    :ivar request: The request it answers.
    :ivar previousResponse: The response that redirected to this one, or ``None``.
    """

    version: tuple[bytes, int, int]
    code: int
    phrase: bytes
    headers: Headers
    length: int | object
    request: IClientRequest | None
    previousResponse: IResponse | None

    def deliverBody(protocol: IProtocol) -> None:
        """Send the body to ``protocol`` (``makeConnection``, ``dataReceived``,
        ``connectionLost`` with ``ResponseDone`` when complete)."""

    def setPreviousResponse(response: IResponse) -> None:
        """Remember the response that redirected to this one."""


class IAgent(Interface):
    """Makes HTTP requests."""

    def request(
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri``; the result fires with the response once its head arrived."""


class IPolicyForHTTPS(Interface):
    """Chooses the TLS settings for an ``https`` host."""

    def creatorForNetloc(hostname: bytes, port: int) -> object:
        """A client connection creator (``IOpenSSLClientConnectionCreator``) for the host."""


class IAgentEndpointFactory(Interface):
    """Makes the endpoint an :class:`IAgent` connects through for a URI."""

    def endpointForURI(uri: URI) -> IStreamClientEndpoint:
        """An endpoint that reaches ``uri``'s host (a ``glisten.web.client.URI``)."""
