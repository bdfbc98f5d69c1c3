"""HTTP proxies, as in ``twisted.web.proxy``: a reverse proxy (:class:`ReverseProxyResource`)
and a forward proxy (:class:`Proxy`, :class:`ProxyRequest`).

Each request is sent to an upstream HTTP/1.1 server over a new connection by a
:class:`ProxyClient` and the response is streamed back through its ``handle*`` hooks, which
subclasses override as in Twisted (``handleHeader``, ``handleResponsePart``, ...). Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded in
either direction; ``X-Forwarded-For``, ``X-Forwarded-Host`` and ``X-Forwarded-Proto`` are
added. An upstream that cannot be reached or breaks HTTP gives ``502 Bad Gateway``. The
upstream response is parsed by the same strict codec as requests, so a smuggling attempt by
the upstream does not reach the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote_from_bytes, urlsplit, urlunsplit

from glisten.internet.interfaces import IAddress, IConnector, IReactorTCP
from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import _h11, http, resource
from glisten.web.iweb import IRequest
from glisten.web.server import NOT_DONE_YET

_log = Logger()

if TYPE_CHECKING:
    from glisten.web.server import Request as SiteRequest

#: What makes the client factory for one proxied request: called as
#: ``(command, rest, version, headers, data, father)``, like :class:`ProxyClientFactory`.
_FactoryMaker = Callable[
    [bytes, bytes, bytes, dict[bytes, list[bytes]], bytes, http.Request], ClientFactory
]

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


def _asBytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    if isinstance(value, int) and not isinstance(value, bool):
        return b"%d" % value
    raise TypeError(f"header values are bytes or str, not {type(value).__name__}")


def _headerLists(
    headers: Mapping[bytes, object] | Mapping[str, object],
) -> dict[bytes, list[bytes]]:
    """Header name -> list of values, from Twisted's ``{name: value}`` (what
    ``Request.getAllHeaders()`` gives) or from ``{name: [values]}``.

    A single ``bytes`` value is one value, never a sequence of byte-sized ones.
    """
    out: dict[bytes, list[bytes]] = {}
    for name, value in headers.items():
        values = value if isinstance(value, list | tuple) else [value]
        out.setdefault(_asBytes(name).lower(), []).extend(_asBytes(v) for v in values)
    return out


class ProxyClient(Protocol):
    """Sends one request upstream and relays the response to ``father`` (the client's
    request).

    :param headers: The request's headers, ``{name: value}`` as Twisted passes them (from
        ``getAllHeaders()``) or ``{name: [values]}``.

    The response goes through :meth:`handleStatus`, :meth:`handleHeader` (once per value),
    :meth:`handleEndHeaders`, :meth:`handleResponsePart` and :meth:`handleResponseEnd`, the
    hooks a Twisted subclass overrides (a logging proxy, say).
    """

    def __init__(
        self,
        command: bytes,
        rest: bytes,
        version: bytes,
        headers: dict[bytes, list[bytes]],
        data: bytes,
        father: http.Request,
    ) -> None:
        self.command = command
        self.rest = rest
        self.headers = headers
        self.data = data
        self.father = father
        self._codec = _h11.ClientConnection()
        self._done = False

    def connectionMade(self) -> None:
        headers = _headerLists(self.headers)
        for name in (b"proxy-connection", b"keep-alive"):
            headers.pop(name, None)
        headers[b"connection"] = [b"close"]
        codec = self._codec
        head = codec.sendRequest(self.command, self.rest, headers, len(self.data))
        if self.data:
            head += codec.sendData(self.data) + codec.sendEndOfMessage()
        self.transport.write(head)
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

    # -- Twisted's hooks ---------------------------------------------------------------------

    def handleStatus(self, version: bytes, code: bytes, message: bytes) -> None:
        """The upstream's status line (``code`` as bytes, as Twisted gives it)."""
        self.father.setResponseCode(int(code), message or None)

    def handleHeader(self, key: bytes, value: bytes) -> None:
        """One response header (hop-by-hop ones are not passed on)."""
        self.father.responseHeaders.addRawHeader(key, value)

    def handleEndHeaders(self) -> None:
        """The response head is complete."""

    def handleResponsePart(self, buffer: bytes) -> None:
        """A piece of the response body."""
        self.father.write(buffer)

    def handleResponseEnd(self) -> None:
        """The response is complete: finish the client's request and close upstream."""
        if not self._done:
            self._done = True
            self.father.finish()
            if self.transport is not None:
                self.transport.loseConnection()

    def _handle(self, events: list[_h11.Event]) -> None:
        father = self.father
        for event in events:
            if self._done:
                return
            if isinstance(event, _h11.Response):
                self.handleStatus(b"HTTP/" + event.version, b"%d" % event.status, event.reason)
                # Drop what the server would have sent itself: the upstream's head is the one.
                father.responseHeaders._raw.clear()
                father.defaultContentType = None
                for name, values in _withoutHopByHop(event.headers).items():
                    for value in values:
                        self.handleHeader(name, value)
                self.handleEndHeaders()
            elif isinstance(event, _h11.Data):
                self.handleResponsePart(event.data)
            elif isinstance(event, _h11.EndOfMessage):
                self.handleResponseEnd()
            elif isinstance(event, _h11.ProtocolError):
                self._done = True
                _log.warn("Bad response from upstream: {message}", message=event.message)
                if father.startedWriting:
                    father.loseConnection()
                else:
                    _badGateway(father)
                if self.transport is not None:
                    self.transport.abortConnection()


def _badGateway(request: http.Request) -> None:
    _errorPage(request, http.BAD_GATEWAY, b"Bad Gateway")


def _errorPage(request: http.Request, code: int, title: bytes, detail: bytes = b"") -> None:
    """A small fixed page; ``detail`` is glisten's own text, never the client's bytes."""
    if request.finished or request._disconnected:
        return
    body = b"<html><body><h1>%d %s</h1>%s</body></html>" % (
        code,
        title,
        b"<p>" + detail + b"</p>" if detail else b"",
    )
    request.setResponseCode(code)
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
        father: http.Request,
    ) -> None:
        self.args = (command, rest, version, headers, data, father)
        self.father = father

    def buildProtocol(self, addr: IAddress | None) -> ProxyClient:
        proto = self.protocol(*self.args)
        proto.factory = self
        return proto

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        _log.warn("Cannot reach upstream: {reason}", reason=reason.getErrorMessage())
        _badGateway(self.father)


class ReverseProxyResource(resource.Resource):
    """Forward requests for this resource and its children to ``host:port`` under ``path``.

    :param host: Upstream host name or address (str).
    :param port: Upstream port.
    :param path: Path prefix on the upstream (bytes), e.g. ``b"/app"``.
    :param reactor: For the upstream connections; the global reactor if ``None``.
    """

    proxyClientFactoryClass: _FactoryMaker = ProxyClientFactory

    def __init__(
        self, host: str, port: int, path: bytes, reactor: IReactorTCP | None = None
    ) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.path = path
        self.reactor = reactor

    def getChild(self, path: bytes, request: IRequest) -> ReverseProxyResource:
        return ReverseProxyResource(
            self.host,
            self.port,
            self.path + b"/" + quote_from_bytes(path, safe="").encode("ascii"),
            self.reactor,
        )

    def render(self, request: IRequest) -> int:
        reactor: IReactorTCP = getReactor(self.reactor)
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
            request.method,
            rest,
            request.clientproto,
            headers,
            request.content.read(),
            # The resource walk (the only caller) passes a server.Request.
            cast("SiteRequest", request),
        )
        reactor.connectTCP(self.host, self.port, factory, timeout=30)
        return NOT_DONE_YET


# -- the forward proxy ----------------------------------------------------------------------

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyRequest(http.Request):
    """A request to a forward proxy: ``GET http://host/path`` is fetched from ``host``.

    :ivar protocols: URI scheme -> client factory class (Twisted's ``protocols``); only
        ``http`` by default.
    :ivar ports: URI scheme -> default port.
    :ivar allowPrivateAddresses: Whether requests may reach loopback, private, link-local,
        multicast and other non-global addresses. Off by default, unlike Twisted: a proxy
        anyone can reach would otherwise let them into the proxy host's own network (SSRF).
    :ivar allowedNetworks: Networks reachable even though not global (``[ip_network(
        "10.1.0.0/16")]``), for a proxy meant to reach some internal hosts.
    :param reactor: Connects upstream (``connectTCP``) and resolves host names (``resolve``,
        as every reactor provides); the channel's reactor if ``None``.

    ``CONNECT`` (tunnels) is answered ``501 Not Implemented``, as is any scheme without a
    factory; a target that is not an absolute URI gets ``400``. The host name is resolved once
    and the connection goes to the address that was checked, so a DNS answer that changes
    between check and use cannot slip a private address through.
    """

    protocols: dict[bytes, _FactoryMaker] = {b"http": ProxyClientFactory}
    ports: dict[bytes, int] = {b"http": 80}
    allowPrivateAddresses: bool = False
    allowedNetworks: Sequence[_Network] = ()

    def __init__(
        self, channel: http.HTTPChannel, queued: object = None, reactor: IReactorTCP | None = None
    ) -> None:
        super().__init__(channel, queued)
        self.reactor = reactor

    def _getReactor(self) -> Any:
        # The reactor the channel runs on (its ``clock``), so resolving and connecting happen
        # on the reactor that serves this request.
        return getReactor(self.reactor or getattr(self.channel, "clock", None))

    def addressAllowed(self, address: str) -> bool:
        """Whether the proxy may connect to ``address`` (an IP address literal)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowedNetworks):
            return True
        return self.allowPrivateAddresses or (ip.is_global and not ip.is_multicast)

    def process(self) -> None:
        """Check the target, resolve its host, and hand the request to a client factory."""
        if self.method == b"CONNECT":
            _errorPage(self, http.NOT_IMPLEMENTED, b"Not Implemented", b"CONNECT is not supported.")
            return
        try:
            parts = urlsplit(self.uri)
            port = parts.port
        except ValueError:
            _errorPage(self, http.BAD_REQUEST, b"Bad Request", b"Malformed request target.")
            return
        scheme = parts.scheme.lower()
        hostname = parts.hostname
        if not scheme or not hostname:
            _errorPage(
                self, http.BAD_REQUEST, b"Bad Request", b"A proxy request needs an absolute URI."
            )
            return
        factoryClass = self.protocols.get(scheme)
        if factoryClass is None:
            _errorPage(self, http.NOT_IMPLEMENTED, b"Not Implemented", b"Unsupported scheme.")
            return
        if port is None:
            port = self.ports.get(scheme, 80)
        try:
            host = hostname.decode("ascii")
        except UnicodeDecodeError:
            _errorPage(self, http.BAD_REQUEST, b"Bad Request", b"Malformed host name.")
            return
        rest = urlunsplit((b"", b"", parts.path or b"/", parts.query, b""))
        headers = _withoutHopByHop(self.requestHeaders._raw)
        headers[b"host"] = [parts.netloc.rpartition(b"@")[2]]
        self.content.seek(0)
        data = self.content.read()
        reactor = self._getReactor()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            resolved = reactor.resolve(host)
        else:
            from glisten.internet.defer import succeed

            resolved = succeed(host)

        def connect(address: str) -> None:
            if self.finished or self._disconnected:
                return
            if not self.addressAllowed(address):
                _log.info("Proxy refused {host}: not a public address", host=host)
                _errorPage(self, http.FORBIDDEN, b"Forbidden", b"The proxy does not connect there.")
                return
            factory = factoryClass(self.method, rest, self.clientproto, headers, data, self)
            reactor.connectTCP(address, port, factory)

        def cannotResolve(reason: Failure) -> None:
            _log.info("Proxy cannot resolve {host}: {why}", host=host, why=reason.value)
            _badGateway(self)

        resolved.addCallbacks(connect, cannotResolve)


class Proxy(http.HTTPChannel):
    """A forward HTTP proxy connection (Twisted's ``Proxy``): each request is a
    :class:`ProxyRequest`. Serve it with a factory whose ``buildProtocol`` returns one, or
    ``http.HTTPFactory`` with ``protocol = Proxy``."""

    requestFactory = ProxyRequest


__all__ = [
    "Proxy",
    "ProxyClient",
    "ProxyClientFactory",
    "ProxyRequest",
    "ReverseProxyResource",
]
