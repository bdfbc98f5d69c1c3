"""WebSocket clients (RFC 6455): :class:`WebSocketClientEndpoint`, re-exported by
:mod:`glisten.web.websocket` as in ``twisted.web.websocket``::

    class Hello(WebSocketProtocol):
        def negotiationFinished(self) -> None:
            self.transport.sendTextMessage("hello")

        def textMessageReceived(self, data: str) -> None:
            print(data)
            self.transport.loseConnection()

    endpoint = WebSocketClientEndpoint.new(reactor, "wss://example.com/chat")
    protocol = await endpoint.connect(WebSocketClientFactory.forProtocol(Hello))

The opening handshake goes through the HTTP/1.1 client codec (``glisten.web._h11``) and is
checked by ``glisten.web._ws.checkServerHandshake``; then the connection is the same
:class:`WebSocketTransport` servers use, with a codec in the client role (masked frames out,
unmasked frames in). ``wss`` verifies the server as :class:`glisten.web.client.Agent` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs

from glisten.internet.defer import Deferred
from glisten.internet.main import getReactor
from glisten.internet.protocol import Factory, Protocol, connectionDone
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web._newclient import Response
from glisten.web._ws import WebSocketConnection, checkServerHandshake, clientKey
from glisten.web.http_headers import Headers
from glisten.web.iweb import IAgentEndpointFactory, IPolicyForHTTPS, IResponse
from glisten.web.websocket import WebSocketProtocol, WebSocketTransport


class ConnectionRejected(Exception):
    """The server did not accept the WebSocket handshake.

    :ivar response: Its HTTP response (status and headers; the body is not read).
    :ivar reason: Why the answer was not an acceptance.
    """

    def __init__(self, response: IResponse, reason: str = "") -> None:
        super().__init__(response.code, reason)
        self.response = response
        self.reason = reason


class WebSocketClientFactory:
    """Builds the protocol for an outgoing WebSocket connection.

    :ivar protocol: The :class:`WebSocketProtocol` subclass :meth:`buildProtocol` makes.
    """

    protocol: type[WebSocketProtocol] = WebSocketProtocol

    @classmethod
    def forProtocol(cls, protocol: type[WebSocketProtocol]) -> WebSocketClientFactory:
        """A factory for ``protocol``."""
        factory = cls()
        factory.protocol = protocol
        return factory

    def buildProtocol(self, url: str) -> WebSocketProtocol:
        """A protocol for a connection to ``url``."""
        return self.protocol()


class _ClientHandshake(Protocol):
    """Sends the opening handshake, checks the answer, then hands the connection to a
    :class:`WebSocketTransport`."""

    def __init__(
        self,
        endpoint: WebSocketClientEndpoint,
        host: bytes,
        target: bytes,
        application: WebSocketProtocol,
        done: Deferred[WebSocketProtocol],
    ) -> None:
        self._endpoint = endpoint
        self._host = host
        self._target = target
        self._application = application
        self._done: Deferred[WebSocketProtocol] | None = done
        self._http = _h11.ClientConnection()
        self._key = clientKey(os.urandom(16))
        self._ws: WebSocketTransport | None = None

    def connectionMade(self) -> None:
        headers: _h11.RawHeaders = {
            b"host": [self._host],
            b"upgrade": [b"websocket"],
            b"connection": [b"Upgrade"],
            b"sec-websocket-key": [self._key],
            b"sec-websocket-version": [b"13"],
        }
        if self._endpoint.subprotocols:
            headers[b"sec-websocket-protocol"] = [
                ", ".join(self._endpoint.subprotocols).encode("ascii")
            ]
        for name, values in self._endpoint.headers.getAllRawHeaders():
            headers.setdefault(name.lower(), list(values))
        self.transport.write(self._http.sendRequest(b"GET", self._target, headers))

    def dataReceived(self, data: bytes) -> None:
        if self._ws is not None:
            self._ws.dataReceived(data)
            return
        for event in self._http.receiveData(data):
            if isinstance(event, _h11.Response):
                self._answered(event)
                return
            if isinstance(event, _h11.ProtocolError):
                self._fail(ConnectionRefusedError(f"bad handshake response: {event.message}"))
                return

    def _answered(self, head: _h11.Response) -> None:
        subprotocol, problem = checkServerHandshake(
            head.status, head.headers, self._key, list(self._endpoint.subprotocols)
        )
        if problem is not None:
            self._fail(ConnectionRejected(Response._fromHead(head, None), problem))
            return
        endpoint = self._endpoint
        connection = WebSocketConnection(
            endpoint.maxFrameSize, endpoint.maxMessageSize, client=True
        )
        ws = WebSocketTransport(
            self.transport, self._application, connection, getReactor(endpoint.reactor)
        )
        ws.subprotocol = subprotocol
        self._ws = ws
        self._application.negotiationStarted(ws)
        self._application.negotiationFinished()
        done, self._done = self._done, None
        if done is not None:
            done.callback(self._application)
        rest = self._http.trailingData
        if rest:
            ws.dataReceived(rest)

    def _fail(self, error: Exception) -> None:
        done, self._done = self._done, None
        self.transport.abortConnection()
        if done is not None:
            done.errback(error)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._ws is not None:
            self._ws.connectionLost(reason)
            return
        done, self._done = self._done, None
        if done is not None:
            done.errback(reason)


@attrs.frozen
class WebSocketClientEndpoint:
    """Where a WebSocket client connects: a URL, and how to reach its host.

    :ivar endpointFactory: Makes the stream endpoint for the URL's host (TLS for ``wss``).
    :ivar url: ``ws://`` or ``wss://`` URL.
    :ivar subprotocols: Subprotocols to offer, most preferred first; the one the server
        chose is the transport's ``subprotocol``.
    :ivar maxMessageSize: Largest message accepted; a larger one closes with 1009.
    :ivar maxFrameSize: Largest frame accepted.
    :ivar headers: Extra handshake headers (``Origin``, ``Authorization``, cookies).
    :ivar reactor: Runs the closing-handshake timer.
    """

    endpointFactory: IAgentEndpointFactory
    url: str
    subprotocols: tuple[str, ...] = ()
    maxMessageSize: int = 16 * 1024 * 1024
    maxFrameSize: int = 16 * 1024 * 1024
    headers: Headers = attrs.field(factory=Headers)
    reactor: Any = None

    @classmethod
    def new(
        cls,
        reactor: Any,
        url: str,
        tlsPolicy: IPolicyForHTTPS | None = None,
        connectTimeout: float | None = None,
        bindAddress: Any = None,
        *,
        subprotocols: Sequence[str] = (),
        maxMessageSize: int = 16 * 1024 * 1024,
        headers: Headers | None = None,
    ) -> WebSocketClientEndpoint:
        """An endpoint for ``url`` over TCP (and TLS for ``wss``, verified by
        ``tlsPolicy``, :class:`~glisten.web.client.BrowserLikePolicyForHTTPS` by default)."""
        from glisten.web.client import BrowserLikePolicyForHTTPS, _StandardEndpointFactory

        reactor = getReactor(reactor)
        policy = tlsPolicy if tlsPolicy is not None else BrowserLikePolicyForHTTPS()
        factory = _StandardEndpointFactory(reactor, policy, connectTimeout, bindAddress)
        return cls(
            factory,
            url,
            tuple(subprotocols),
            maxMessageSize,
            headers=headers if headers is not None else Headers(),
            reactor=reactor,
        )

    async def connect(self, protocolFactory: WebSocketClientFactory) -> WebSocketProtocol:
        """Connect and run the opening handshake.

        :return: The protocol, once the server accepted (its ``negotiationFinished`` has
            run); fails with :class:`ConnectionRejected` if the server answered otherwise.
        """
        from glisten.web.client import URI, _hostHeader

        uri = URI.fromBytes(self.url.encode("utf-8"))
        scheme = {b"ws": b"http", b"wss": b"https"}.get(uri.scheme)
        if scheme is None:
            raise ValueError(f"not a WebSocket URL: {self.url!r}")
        httpURI = URI(scheme, uri.netloc, uri.host, uri.port, uri.path, uri.params, uri.query, b"")
        endpoint: Any = self.endpointFactory.endpointForURI(httpURI)
        done: Deferred[WebSocketProtocol] = Deferred()
        handshake = _ClientHandshake(
            self,
            _hostHeader(uri.scheme, uri.host, uri.port),
            httpURI.originForm,
            protocolFactory.buildProtocol(self.url),
            done,
        )
        connecting: Deferred[Any] = endpoint.connect(Factory.forProtocol(lambda: handshake))

        def connectFailed(reason: Failure) -> None:
            if not done.called:
                done.errback(reason)

        connecting.addErrback(connectFailed)
        return await done
