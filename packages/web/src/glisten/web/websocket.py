"""WebSocket servers (RFC 6455) as a resource, :class:`WebSocketResource`, and clients,
:class:`WebSocketClientEndpoint` (in :mod:`glisten.web._wsclient`).

Put a :class:`WebSocketResource` in the resource tree; a request for it that is a valid
WebSocket handshake is answered ``101 Switching Protocols`` and the connection then carries
messages between the client and a protocol the factory builds::

    class Echo(WebSocketProtocol):
        def textMessageReceived(self, data: str) -> None:
            self.transport.sendTextMessage(data)

    root.putChild(b"ws", WebSocketResource(WebSocketServerFactory.forProtocol(Echo)))

The shape follows ``twisted.web.websocket`` (a factory building protocols from the request;
``negotiationStarted``/``negotiationFinished``; ``textMessageReceived``/``bytesMessageReceived``;
a transport with ``sendTextMessage``/``sendBytesMessage``/``ping``/``loseConnection``). Pings
are answered automatically; protocol errors close with the right code (1002, 1007, 1009).
"""

from __future__ import annotations

from zope.interface import implementer

from glisten.internet.interfaces import IAddress, IDelayedCall, IReactorTime, ITCPTransport
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import http
from glisten.web._ws import (
    CloseCode,
    CloseState,
    Message,
    Pong,
    WebSocketConnection,
    WebSocketError,
    acceptKey,
)
from glisten.web._ws._codec import validKey
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource
from glisten.web.server import NOT_DONE_YET

_log = Logger()

#: Seconds to wait for the client's close frame after sending ours.
CLOSE_TIMEOUT = 10.0


class WebSocketProtocol:
    """Base class for a WebSocket application protocol; override what you need.

    :ivar transport: The :class:`WebSocketTransport`, from :meth:`negotiationStarted` on.
    """

    transport: WebSocketTransport

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        """The handshake is accepted; the 101 response is about to be sent."""
        self.transport = transport

    def negotiationFinished(self) -> None:
        """The connection is a WebSocket now; messages can be sent."""

    def textMessageReceived(self, data: str) -> None:
        """A complete text message arrived."""

    def bytesMessageReceived(self, data: bytes) -> None:
        """A complete binary message arrived."""

    def pongReceived(self, payload: bytes) -> None:
        """A pong arrived (pings are answered for you)."""

    def connectionLost(self, reason: Failure) -> None:
        """The connection is gone; :attr:`WebSocketTransport.closeCode` says how it ended."""


class WebSocketServerFactory:
    """Builds a protocol for each accepted handshake.

    Override :meth:`buildProtocol` to choose per request, or to refuse (return ``None``: the
    client gets 403).
    """

    protocol: type[WebSocketProtocol] = WebSocketProtocol
    #: Largest message accepted; larger closes the connection with 1009.
    maxMessageSize = 16 * 1024 * 1024
    #: Largest frame accepted.
    maxFrameSize = 16 * 1024 * 1024
    #: Subprotocols this server speaks, in order of preference.
    subprotocols: tuple[str, ...] = ()

    @classmethod
    def forProtocol(cls, protocol: type[WebSocketProtocol]) -> WebSocketServerFactory:
        """A factory for ``protocol`` (a :class:`WebSocketProtocol` subclass)."""
        factory = cls()
        factory.protocol = protocol
        return factory

    def buildProtocol(self, request: IRequest) -> WebSocketProtocol | None:
        """A protocol for this handshake request, or ``None`` to refuse it."""
        return self.protocol()


class WebSocketTransport:
    """One WebSocket connection, as the application protocol sees it: the thin layer between
    the sans-I/O :class:`~glisten.web._ws.WebSocketConnection` and the TCP transport.

    :ivar subprotocol: The negotiated subprotocol, if any.
    """

    def __init__(
        self,
        transport: ITCPTransport,
        protocol: WebSocketProtocol,
        connection: WebSocketConnection,
        reactor: IReactorTime,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._connection = connection
        self._reactor = reactor
        self._gone = False
        self._closeTimer: IDelayedCall | None = None
        self.subprotocol: str | None = None

    @property
    def closeCode(self) -> int | None:
        """The close code once the connection is closing or closed (1006 if it dropped
        without a closing handshake)."""
        return self._connection.closeCode

    # -- sending -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if data and not self._gone:
            self._transport.write(data)

    def sendTextMessage(self, text: str) -> None:
        """Send a text message."""
        self._write(self._connection.sendText(text))

    def sendBytesMessage(self, data: bytes) -> None:
        """Send a binary message."""
        self._write(self._connection.sendBytes(data))

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping (payload at most 125 bytes); the pong arrives in ``pongReceived``.

        :raises ValueError: The payload is too long.
        """
        self._write(self._connection.ping(payload))

    def loseConnection(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake; the TCP connection closes once the client answers
        (or after :data:`CLOSE_TIMEOUT` seconds)."""
        if self._gone:
            return
        frame = self._connection.close(code, reason)
        if frame:
            self._write(frame)
            self._closeTimer = self._reactor.callLater(CLOSE_TIMEOUT, self._abort)

    def _abort(self) -> None:
        self._closeTimer = None
        if not self._gone:
            self._transport.abortConnection()

    def getPeer(self) -> IAddress:
        """The client's address."""
        return self._transport.getPeer()

    def getHost(self) -> IAddress:
        """The server's address."""
        return self._transport.getHost()

    # -- receiving ---------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        protocol = self._protocol
        connection = self._connection
        for event in connection.receiveData(data):
            if isinstance(event, Message):
                if isinstance(event.data, str):
                    protocol.textMessageReceived(event.data)
                else:
                    protocol.bytesMessageReceived(event.data)
            elif isinstance(event, Pong):
                protocol.pongReceived(event.payload)
            elif isinstance(event, WebSocketError):
                _log.debug("WebSocket protocol error: {message}", message=event.message)
            if self._gone:
                return
        self._write(connection.bytesToSend())
        if connection.state is CloseState.CLOSED:
            # RFC 6455 7.1.1: the server closes the TCP connection first.
            self._transport.loseConnection()

    def connectionLost(self, reason: Failure) -> None:
        if self._gone:
            return
        self._gone = True
        if self._closeTimer is not None and self._closeTimer.active():
            self._closeTimer.cancel()
        self._closeTimer = None
        self._connection.connectionLost()
        try:
            self._protocol.connectionLost(reason)
        except Exception:
            _log.failure("WebSocket protocol failed in connectionLost")


def _headerTokens(request: IRequest, name: bytes) -> list[bytes]:
    return [
        t.strip().lower()
        for v in request.requestHeaders.getRawHeaders(name, [])
        for t in v.split(b",")
    ]


@implementer(IResource)
class WebSocketResource:
    """A leaf resource that accepts WebSocket handshakes.

    :param factory: Builds a protocol per connection.
    """

    isLeaf = True

    def __init__(self, factory: WebSocketServerFactory) -> None:
        self._factory = factory

    def getChildWithDefault(self, name: bytes, request: IRequest) -> IResource:
        raise RuntimeError("a WebSocketResource has no children")

    def putChild(self, path: bytes, child: IResource) -> None:
        raise RuntimeError("a WebSocketResource has no children")

    def _refuse(self, request: IRequest, code: int, message: bytes) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return message

    def render(self, request: IRequest) -> bytes | int:
        if not isinstance(request, http.Request):
            raise TypeError("a WebSocket handshake needs the connection of an http.Request")
        if request.method != b"GET" or request.clientproto != b"HTTP/1.1":
            request.setHeader(b"allow", b"GET")
            return self._refuse(request, http.NOT_ALLOWED, b"WebSocket handshakes use GET.\n")
        if b"websocket" not in _headerTokens(request, b"upgrade") or b"upgrade" not in (
            _headerTokens(request, b"connection")
        ):
            return self._refuse(request, http.BAD_REQUEST, b"Not a WebSocket handshake.\n")
        if request.getHeader(b"sec-websocket-version") != b"13":
            request.setHeader(b"sec-websocket-version", b"13")
            return self._refuse(request, 426, b"Unsupported WebSocket version.\n")
        keys = request.requestHeaders.getRawHeaders(b"sec-websocket-key", [])
        if len(keys) != 1 or not validKey(keys[0].strip()):
            return self._refuse(request, http.BAD_REQUEST, b"Invalid Sec-WebSocket-Key.\n")
        protocol = self._factory.buildProtocol(request)
        if protocol is None:
            return self._refuse(request, http.FORBIDDEN, b"WebSocket refused.\n")
        factory = self._factory
        channel = request.channel
        connection = WebSocketConnection(factory.maxFrameSize, factory.maxMessageSize)
        transport = WebSocketTransport(
            request.transport, protocol, connection, getReactor(getattr(channel, "clock", None))
        )
        offered = [
            t.decode("ascii", "replace") for t in _headerTokens(request, b"sec-websocket-protocol")
        ]
        for name in factory.subprotocols:
            if name.lower() in offered:
                transport.subprotocol = name
                request.setHeader(b"sec-websocket-protocol", name.encode("ascii"))
                break
        request.setHeader(b"upgrade", b"websocket")
        request.setHeader(b"connection", b"Upgrade")
        request.setHeader(b"sec-websocket-accept", acceptKey(keys[0].strip()))
        request.responseHeaders.removeHeader(b"content-type")
        request.defaultContentType = None
        protocol.negotiationStarted(transport)
        leftover = channel.switchProtocols(request, transport)
        protocol.negotiationFinished()
        if leftover:
            transport.dataReceived(leftover)
        return NOT_DONE_YET


# The client side lives in its own module, which builds on the classes above.
from glisten.web._wsclient import (  # noqa: E402
    ConnectionRejected,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
)

__all__ = [
    "CloseCode",
    "ConnectionRejected",
    "WebSocketClientEndpoint",
    "WebSocketClientFactory",
    "WebSocketProtocol",
    "WebSocketResource",
    "WebSocketServerFactory",
    "WebSocketTransport",
]
