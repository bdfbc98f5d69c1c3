"""A reverse proxy: :class:`ReverseProxyResource`, as in ``twisted.web.proxy``.

Each request below the resource is sent to an upstream HTTP/1.1 server over a new connection
and the response is streamed back. Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded in
either direction; ``X-Forwarded-For``, ``X-Forwarded-Host`` and ``X-Forwarded-Proto`` are
added. An upstream that cannot be reached or breaks HTTP gives ``502 Bad Gateway``. The
upstream response is parsed by the same strict codec as requests, so a smuggling attempt by
the upstream does not reach the client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_from_bytes

from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import _h11, http, resource
from glisten.web.server import NOT_DONE_YET

_log = Logger()

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


def _withoutHopByHop(fields: dict[bytes, list[bytes]]) -> dict[bytes, list[bytes]]:
    named = {t.strip().lower() for v in fields.get(b"connection", []) for t in v.split(b",")}
    return {k: list(v) for k, v in fields.items() if k not in _HOP_BY_HOP and k not in named}


class ProxyClient(Protocol):
    """Sends one request upstream and relays the response to ``father`` (the client's
    request)."""

    def __init__(
        self,
        command: bytes,
        rest: bytes,
        version: bytes,
        headers: dict[bytes, list[bytes]],
        data: bytes,
        father: Any,
    ) -> None:
        self.command = command
        self.rest = rest
        self.headers = headers
        self.data = data
        self.father = father
        self._codec = _h11.ClientConnection()
        self._done = False

    def connectionMade(self) -> None:
        headers = dict(self.headers)
        headers[b"connection"] = [b"close"]
        if self.data or self.command in (b"POST", b"PUT", b"PATCH"):
            headers[b"content-length"] = [b"%d" % len(self.data)]
        self.transport.write(self._codec.sendRequest(self.command, self.rest, headers) + self.data)
        self.father.notifyFinish().addErrback(self._clientGone)

    def _clientGone(self, reason: Failure) -> None:
        self._done = True
        if self.transport is not None:
            self.transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        self._handle(self._codec.receiveData(data))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not self._done:
            self._handle(self._codec.receiveEOF())

    def _handle(self, events: list[_h11.Event]) -> None:
        father = self.father
        for event in events:
            if self._done:
                return
            if isinstance(event, _h11.Response):
                father.setResponseCode(event.status, event.reason or None)
                raw = father.responseHeaders._raw
                raw.clear()
                raw.update(_withoutHopByHop(event.headers))
                father.defaultContentType = None
            elif isinstance(event, _h11.Data):
                father.write(event.data)
            elif isinstance(event, _h11.EndOfMessage):
                self._done = True
                father.finish()
                if self.transport is not None:
                    self.transport.loseConnection()
            elif isinstance(event, _h11.ProtocolError):
                self._done = True
                _log.warn("Bad response from upstream: {message}", message=event.message)
                if father.startedWriting:
                    father.loseConnection()
                else:
                    _badGateway(father)
                if self.transport is not None:
                    self.transport.abortConnection()


def _badGateway(request: Any) -> None:
    if request.finished or request._disconnected:
        return
    body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    request.setResponseCode(http.BAD_GATEWAY)
    request.responseHeaders._raw.clear()
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"content-length", b"%d" % len(body))
    request.write(body)
    request.finish()


class ProxyClientFactory(ClientFactory):
    """Makes the :class:`ProxyClient` for one request; a failed connection gives 502."""

    protocol = ProxyClient

    def __init__(
        self,
        command: bytes,
        rest: bytes,
        version: bytes,
        headers: dict[bytes, list[bytes]],
        data: bytes,
        father: Any,
    ) -> None:
        self.args = (command, rest, version, headers, data, father)
        self.father = father

    def buildProtocol(self, addr: Any) -> ProxyClient:
        proto = ProxyClient(*self.args)
        proto.factory = self
        return proto

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        _log.warn("Cannot reach upstream: {reason}", reason=reason.getErrorMessage())
        _badGateway(self.father)


class ReverseProxyResource(resource.Resource):
    """Forward requests for this resource and its children to ``host:port`` under ``path``.

    :param host: Upstream host name or address (str).
    :param port: Upstream port.
    :param path: Path prefix on the upstream (bytes), e.g. ``b"/app"``.
    :param reactor: For the upstream connections; the global reactor if ``None``.
    """

    proxyClientFactoryClass: Any = ProxyClientFactory

    def __init__(self, host: str, port: int, path: bytes, reactor: Any = None) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.path = path
        self.reactor = reactor

    def getChild(self, path: bytes, request: Any) -> ReverseProxyResource:
        return ReverseProxyResource(
            self.host,
            self.port,
            self.path + b"/" + quote_from_bytes(path, safe="").encode("ascii"),
            self.reactor,
        )

    def render(self, request: Any) -> int:
        reactor = getReactor(self.reactor)
        headers = _withoutHopByHop(request.requestHeaders._raw)
        originalHost = request.getHeader(b"host")
        headers[b"host"] = [
            self.host.encode("idna") + (b"" if self.port == 80 else b":%d" % self.port)
        ]
        peer = getattr(request.getClientAddress(), "host", None)
        if peer:
            forwarded = headers.get(b"x-forwarded-for", [])
            headers[b"x-forwarded-for"] = [b", ".join([*forwarded, peer.encode("ascii")])]
        if originalHost:
            headers[b"x-forwarded-host"] = [originalHost]
        headers[b"x-forwarded-proto"] = [b"https" if request.isSecure() else b"http"]
        _, sep, query = request.uri.partition(b"?")
        rest = (self.path or b"/") + (b"?" + query if sep else b"")
        request.content.seek(0)
        factory = self.proxyClientFactoryClass(
            request.method, rest, request.clientproto, headers, request.content.read(), request
        )
        reactor.connectTCP(self.host, self.port, factory, timeout=30)
        return NOT_DONE_YET
