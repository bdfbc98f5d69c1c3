"""The HTTP client, as in ``twisted.web.client``: :class:`Agent` and the agents that wrap it.

::

    from glisten.web.client import Agent, readBody

    agent = Agent(reactor)
    response = await agent.request(b"GET", b"https://example.com/")
    body = await readBody(response)

Where glisten differs from Twisted on purpose:

- HTTPS verifies the server's certificate and host name (:class:`BrowserLikePolicyForHTTPS`,
  the default), with the standard library's ``ssl``.
- A persistent :class:`HTTPConnectionPool` never opens more than ``maxPersistentPerHost``
  connections to one server; further requests wait for one to come free.
- Responses are parsed strictly (``glisten.web._h11``): a response that lies about its
  length, carries both framings, sends bytes after its end or a head larger than the limits
  fails with :class:`ResponseFailed` and its connection is not reused.
- With the ``h2`` package installed (``glisten-web[http2]``), ``https`` requests use
  HTTP/2 when the server selects it by ALPN, many requests to one origin sharing a
  connection (Twisted's agent speaks HTTP/1.1 only).
- Redirects across origins drop ``Authorization``, ``Cookie`` and ``Proxy-Authorization``
  (Twisted CVE-2022-21712).

On top of Twisted's agents, :class:`HTTPClient` and the functions :func:`get`,
:func:`post`, ... are a high-level API in the spirit of treq (see
:mod:`glisten.web._httpclient`).
"""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import urlsplit

from zope.interface import implementer

from glisten.internet import task
from glisten.internet.defer import Deferred, fail
from glisten.internet.endpoints import HostnameEndpoint, connectProtocol, wrapClientTLS
from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol
from glisten.internet.ssl import optionsForClientTLS
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web._clientpool import HTTPConnectionPool
from glisten.web._clientwrappers import (
    BrowserLikeRedirectAgent,
    ContentDecoderAgent,
    CookieAgent,
    DeflateDecoder,
    GzipDecoder,
    RedirectAgent,
)
from glisten.web._httpclient import (
    HTTPClient,
    HTTPResponse,
    collect,
    delete,
    get,
    head,
    patch,
    post,
    put,
    request,
)
from glisten.web._newclient import (
    RESPONSE_DONE,
    ConnectionAborted,
    PotentialDataLoss,
    Request,
    RequestGenerationFailed,
    RequestNotSent,
    RequestTransmissionFailed,
    Response,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
    StreamResetError,
    WrongBodyLength,
    fileLength,
)
from glisten.web.error import PartialDownloadError, SchemeNotSupported
from glisten.web.http_headers import Headers
from glisten.web.iweb import (
    UNKNOWN_LENGTH,
    IAgent,
    IAgentEndpointFactory,
    IBodyProducer,
    IPolicyForHTTPS,
    IResponse,
)

_DEFAULT_PORTS = {b"http": 80, b"https": 443, b"ws": 80, b"wss": 443}


class URI:
    """A parsed absolute URI.

    :ivar scheme: e.g. ``b"https"``.
    :ivar netloc: The authority as written (``host[:port]``).
    :ivar host: The host, without IPv6 brackets.
    :ivar port: The port (the scheme's default when not written).
    :ivar path: The path; ``params``, ``query`` and ``fragment`` the rest.
    """

    def __init__(
        self,
        scheme: bytes,
        netloc: bytes,
        host: bytes,
        port: int,
        path: bytes,
        params: bytes,
        query: bytes,
        fragment: bytes,
    ) -> None:
        self.scheme = scheme
        self.netloc = netloc
        self.host = host
        self.port = port
        self.path = path
        self.params = params
        self.query = query
        self.fragment = fragment

    @classmethod
    def fromBytes(cls, uri: bytes, defaultPort: int | None = None) -> URI:
        """Parse ``uri``.

        :param defaultPort: The port when none is written and the scheme has no default.
        :raises ValueError: The URI has no scheme or host, or a bad port.
        """
        uri = uri.strip()
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        netloc = parts.netloc
        if not scheme or not netloc:
            raise ValueError("not an absolute URI")
        hostport = netloc.rpartition(b"@")[2]
        if hostport.startswith(b"["):
            end = hostport.find(b"]")
            if end < 0:
                raise ValueError("unterminated IPv6 address")
            host, rest = hostport[1:end], hostport[end + 1 :]
            portText = rest[1:] if rest.startswith(b":") else b""
        else:
            host, _, portText = hostport.partition(b":")
        if portText:
            if not portText.isdigit() or not 0 < int(portText) < 65536:
                raise ValueError("invalid port")
            port = int(portText)
        else:
            port = _DEFAULT_PORTS.get(scheme, defaultPort or 0)
        path, _, params = parts.path.partition(b";")
        return cls(scheme, netloc, host.lower(), port, path, params, parts.query, parts.fragment)

    @property
    def absoluteURI(self) -> bytes:
        """:meth:`toBytes`, computed once (a URI is not changed after it is parsed)."""
        cached: bytes | None = self.__dict__.get("_absolute")
        if cached is None:
            cached = self.__dict__["_absolute"] = self.toBytes()
        return cached

    def toBytes(self) -> bytes:
        """The URI as bytes (without a fragment's ``#`` when there is none)."""
        out = b"%s://%s%s" % (self.scheme, self.netloc, self.originForm)
        if self.fragment:
            out += b"#" + self.fragment
        return out

    @property
    def originForm(self) -> bytes:
        """The request target for a request to the origin server: path, params, query."""
        target = self.path or b"/"
        if self.params:
            target += b";" + self.params
        if self.query:
            target += b"?" + self.query
        return target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URI) and self.toBytes() == other.toBytes()

    def __hash__(self) -> int:
        return hash(self.toBytes())

    def __repr__(self) -> str:
        return f"<URI {self.toBytes()!r}>"


def _hostHeader(scheme: bytes, host: bytes, port: int) -> bytes:
    """The ``Host`` value: the port only when it is not the scheme's default."""
    if b":" in host:
        host = b"[" + host + b"]"
    if _DEFAULT_PORTS.get(scheme) == port:
        return host
    return b"%s:%d" % (host, port)


@implementer(IPolicyForHTTPS)
class BrowserLikePolicyForHTTPS:
    """Verify the server as a browser does: a chain to a trusted authority and a certificate
    for the host name.

    :param trustRoot: Authorities to trust (an ``IOpenSSLTrustRoot``, such as
        ``Certificate.loadPEM(...)`` or ``trustRootFromCertificates``); the platform's by
        default.
    """

    def __init__(self, trustRoot: Any = None) -> None:
        self._trustRoot = trustRoot

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """TLS options for ``hostname``, which the certificate must name."""
        return optionsForClientTLS(hostname.decode("ascii"), trustRoot=self._trustRoot)

    def _creatorForProtocols(self, hostname: bytes, port: int, protocols: list[bytes]) -> Any:
        """:meth:`creatorForNetloc`, also offering ``protocols`` by ALPN (an agent able to
        speak HTTP/2 offers ``h2``; a policy without this method is not asked to)."""
        return optionsForClientTLS(
            hostname.decode("ascii"), trustRoot=self._trustRoot, acceptableProtocols=protocols
        )


@implementer(IPolicyForHTTPS)
class HostnameCachingHTTPSPolicy:
    """Keeps the TLS settings another policy made for the most recently used hosts: building
    them (a fresh ``SSLContext``) costs more than a small request.

    :param policyforHTTPS: The policy whose answers are kept.
    :param cacheSize: How many hosts are remembered.
    """

    def __init__(self, policyforHTTPS: IPolicyForHTTPS, cacheSize: int = 20) -> None:
        self._policy = policyforHTTPS
        self._cacheSize = cacheSize
        self._cache: dict[tuple[Any, ...], Any] = {}

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """The kept settings for ``hostname``, or new ones from the wrapped policy."""
        key = (hostname, port)
        creator = self._cache.pop(key, None)
        if creator is None:
            creator = self._policy.creatorForNetloc(hostname, port)
            if len(self._cache) >= self._cacheSize:
                # Forget the least recently used host (dicts keep insertion order).
                del self._cache[next(iter(self._cache))]
        self._cache[key] = creator
        return creator

    def _creatorForProtocols(self, hostname: bytes, port: int, protocols: list[bytes]) -> Any:
        """As :meth:`creatorForNetloc`, offering ``protocols`` by ALPN when the wrapped
        policy can (see :meth:`BrowserLikePolicyForHTTPS._creatorForProtocols`)."""
        inner = getattr(self._policy, "_creatorForProtocols", None)
        if inner is None:
            return self.creatorForNetloc(hostname, port)
        key = (hostname, port, *protocols)
        creator = self._cache.pop(key, None)
        if creator is None:
            creator = inner(hostname, port, protocols)
            if len(self._cache) >= self._cacheSize:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = creator
        return creator


@implementer(IAgentEndpointFactory)
class _StandardEndpointFactory:
    """Endpoints for ``http`` and ``https`` URIs: a TCP connection to the host, wrapped in
    TLS for ``https``."""

    def __init__(
        self,
        reactor: Any,
        contextFactory: IPolicyForHTTPS,
        connectTimeout: float | None,
        bindAddress: Any,
    ) -> None:
        self._reactor = reactor
        self._policy = contextFactory
        #: Whether ``https`` connections offer ``h2`` by ALPN: set by the agent when its
        #: pool can speak HTTP/2 on them.
        self.offerHTTP2 = False
        self._kwargs: dict[str, Any] = {}
        if connectTimeout is not None:
            self._kwargs["timeout"] = connectTimeout
        if bindAddress is not None:
            self._kwargs["bindAddress"] = bindAddress

    def endpointForURI(self, uri: URI) -> Any:
        """:raises SchemeNotSupported: For a scheme other than ``http`` and ``https``."""
        endpoint = HostnameEndpoint(self._reactor, uri.host, uri.port, **self._kwargs)
        if uri.scheme == b"http":
            return endpoint
        if uri.scheme == b"https":
            withProtocols = getattr(self._policy, "_creatorForProtocols", None)
            if self.offerHTTP2 and withProtocols is not None:
                creator = withProtocols(uri.host, uri.port, [b"h2", b"http/1.1"])
            else:
                creator = self._policy.creatorForNetloc(uri.host, uri.port)
            return wrapClientTLS(creator, endpoint)
        raise SchemeNotSupported(f"unsupported scheme: {uri.scheme!r}")


@implementer(IAgent)
class Agent:
    """Makes HTTP requests over connections from a pool: HTTP/1.1, or HTTP/2 when the
    ``h2`` package is installed (``glisten-web[http2]``) and an ``https`` server selects it by
    ALPN. Over HTTP/2, a persistent pool sends concurrent requests to one origin as streams
    of one connection.

    :param reactor: The reactor (the global one when ``None``).
    :param contextFactory: The TLS policy for ``https`` (verifying by default).
    :param connectTimeout: Seconds to wait for a connection.
    :param bindAddress: The local address to connect from.
    :param pool: Where connections come from; a non-persistent pool by default (one
        connection per request, as in Twisted).
    """

    def __init__(
        self,
        reactor: Any = None,
        contextFactory: IPolicyForHTTPS | None = None,
        connectTimeout: float | None = None,
        bindAddress: Any = None,
        pool: HTTPConnectionPool | None = None,
    ) -> None:
        reactor = getReactor(reactor)
        policy = contextFactory if contextFactory is not None else BrowserLikePolicyForHTTPS()
        self._init(
            reactor, _StandardEndpointFactory(reactor, policy, connectTimeout, bindAddress), pool
        )

    def _init(self, reactor: Any, endpointFactory: Any, pool: HTTPConnectionPool | None) -> None:
        self._reactor = reactor
        self._endpointFactory = endpointFactory
        self._endpoints: dict[tuple[bytes, bytes, int], Any] = {}
        self._parsed: dict[bytes, URI] = {}
        self._pool = pool if pool is not None else HTTPConnectionPool(reactor, persistent=False)
        if isinstance(endpointFactory, _StandardEndpointFactory):
            endpointFactory.offerHTTP2 = self._pool._negotiates((b"https",))

    @classmethod
    def usingEndpointFactory(
        cls,
        reactor: Any,
        endpointFactory: IAgentEndpointFactory,
        pool: HTTPConnectionPool | None = None,
    ) -> Agent:
        """An agent that connects through the endpoints ``endpointFactory`` makes (a UNIX
        socket, a SOCKS proxy, a test transport)."""
        agent = cls.__new__(cls)
        agent._init(getReactor(reactor), endpointFactory, pool)
        return agent

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri``.

        :return: Fires with the :class:`Response` once its head arrived; fails with
            :class:`ResponseNeverReceived`, :class:`ResponseFailed`,
            :class:`SchemeNotSupported` or a connection error. Cancelling it drops the
            connection.
        """
        try:
            parsed = self._parsed.get(uri)
            if parsed is None:
                parsed = URI.fromBytes(uri)
                # The same URIs come back request after request: keep a few parsed.
                if len(self._parsed) >= 256:
                    self._parsed.clear()
                self._parsed[uri] = parsed
            key = (parsed.scheme, parsed.host, parsed.port)
            endpoint = self._endpoints.get(key)
            if endpoint is None:
                endpoint = self._endpointFactory.endpointForURI(parsed)
                if isinstance(self._endpointFactory, _StandardEndpointFactory):
                    # Its endpoints depend on the key alone: keep a few for reuse.
                    if len(self._endpoints) >= 64:
                        self._endpoints.clear()
                    self._endpoints[key] = endpoint
        except Exception as e:
            return fail(e)
        return self._requestWithEndpoint(
            key, endpoint, method, parsed, headers, bodyProducer, parsed.originForm
        )

    def _requestWithEndpoint(
        self,
        key: Any,
        endpoint: Any,
        method: bytes,
        parsedURI: URI,
        headers: Headers | None,
        bodyProducer: IBodyProducer | None,
        requestPath: bytes,
    ) -> Deferred[IResponse]:
        headers = Headers() if headers is None else headers.copy()
        if not headers.hasHeader(b"host"):
            headers.addRawHeader(
                b"host", _hostHeader(parsedURI.scheme, parsedURI.host, parsedURI.port)
            )
        request = Request(
            method,
            requestPath,
            headers,
            bodyProducer,
            persistent=self._pool.persistent,
            absoluteURI=parsedURI.absoluteURI,
        )

        def send(connection: Any) -> Deferred[Any]:
            sent: Deferred[Any] = connection.request(request)
            return sent

        result: Deferred[IResponse] = self._pool.getConnection(key, endpoint).addCallback(send)
        return result


# -- proxies -------------------------------------------------------------------------------


class _TunnelProtocol(Protocol):
    """Asks a proxy for a tunnel (``CONNECT host:port``), then speaks TLS through it and
    hands the connection to the application's protocol."""

    def __init__(
        self,
        authority: bytes,
        creator: Any,
        wrapped: Any,
        connected: Deferred[Any],
        proxyHeaders: Headers | None,
    ) -> None:
        self._codec = _h11.ClientConnection()
        self._authority = authority
        self._creator = creator
        self._wrapped = wrapped
        self._connected: Deferred[Any] | None = connected
        self._proxyHeaders = proxyHeaders
        self._tunnelled = False

    def connectionMade(self) -> None:
        headers: _h11.RawHeaders = {b"host": [self._authority]}
        if self._proxyHeaders is not None:
            for name, values in self._proxyHeaders.getAllRawHeaders():
                headers[name.lower()] = list(values)
        self.transport.write(self._codec.sendRequest(b"CONNECT", self._authority, headers))

    def dataReceived(self, data: bytes) -> None:
        if self._tunnelled:
            self._wrapped.dataReceived(data)
            return
        for event in self._codec.receiveData(data):
            if isinstance(event, _h11.Response):
                if not 200 <= event.status < 300:
                    self._fail(TunnelError(event.status, event.reason))
                    return
                self._tunnelled = True
                self.transport.startTLS(self._creator)
                self._wrapped.makeConnection(self.transport)
                d, self._connected = self._connected, None
                if d is not None:
                    d.callback(self._wrapped)
                rest = self._codec.trailingData
                if rest:
                    self._wrapped.dataReceived(rest)
                return
            if isinstance(event, _h11.ProtocolError):
                self._fail(TunnelError(502, event.message.encode("ascii")))
                return

    def _fail(self, error: Exception) -> None:
        d, self._connected = self._connected, None
        self.transport.abortConnection()
        if d is not None:
            d.errback(error)

    def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
        if self._tunnelled:
            self._wrapped.connectionLost(reason)
            return
        d, self._connected = self._connected, None
        if d is not None:
            d.errback(TunnelError(502, b"the proxy closed the connection"))


class TunnelError(Exception):
    """The proxy refused to open a tunnel (``CONNECT``) or broke HTTP answering.

    :ivar code: The proxy's status code.
    :ivar phrase: Its reason phrase.
    """

    def __init__(self, code: int, phrase: bytes) -> None:
        # The message is the status alone: the phrase is the proxy's bytes.
        super().__init__(f"the proxy answered {code}")
        self.code = code
        self.phrase = phrase


class _TunnelEndpoint:
    """Connects to ``host:port`` through a tunnel opened by a proxy, with TLS inside."""

    def __init__(
        self, proxyEndpoint: Any, uri: URI, creator: Any, proxyHeaders: Headers | None
    ) -> None:
        self._proxyEndpoint = proxyEndpoint
        self._authority = _hostHeader(b"", uri.host, uri.port)
        self._creator = creator
        self._proxyHeaders = proxyHeaders

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        connected: Deferred[Any] = Deferred()
        wrapped = protocolFactory.buildProtocol(None)
        tunnel = _TunnelProtocol(
            self._authority, self._creator, wrapped, connected, self._proxyHeaders
        )
        d = connectProtocol(self._proxyEndpoint, tunnel)
        d.addErrback(lambda f: connected.errback(f) if not connected.called else None)
        return connected


@implementer(IAgent)
class ProxyAgent:
    """Requests through an HTTP proxy: ``http`` URIs as absolute-form requests to the
    proxy, ``https`` URIs through a ``CONNECT`` tunnel with TLS to the origin inside it
    (verified as :class:`Agent` verifies). Tunnels are pooled per origin.

    :param endpoint: Connects to the proxy.
    :param reactor: The reactor (the global one when ``None``).
    :param pool: Where connections come from (non-persistent by default).
    :param contextFactory: The TLS policy for origins reached through a tunnel.
    :param proxyHeaders: Headers for the proxy only (``Proxy-Authorization``): sent with
        ``CONNECT`` and with ``http`` requests, never into a tunnel.
    """

    def __init__(
        self,
        endpoint: Any,
        reactor: Any = None,
        pool: HTTPConnectionPool | None = None,
        *,
        contextFactory: IPolicyForHTTPS | None = None,
        proxyHeaders: Headers | None = None,
    ) -> None:
        reactor = getReactor(reactor)
        self._proxyEndpoint = endpoint
        self._policy = contextFactory if contextFactory is not None else BrowserLikePolicyForHTTPS()
        self._proxyHeaders = proxyHeaders
        self._agent = Agent.usingEndpointFactory(reactor, _NoEndpoints(), pool)

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri`` through the proxy."""
        try:
            parsed = URI.fromBytes(uri)
        except ValueError as e:
            return fail(e)
        agent = self._agent
        if parsed.scheme == b"http":
            if self._proxyHeaders is not None:
                headers = Headers() if headers is None else headers.copy()
                for name, values in self._proxyHeaders.getAllRawHeaders():
                    headers.setRawHeaders(name, list(values))
            key: tuple[Any, ...] = ("http-proxy", self._proxyEndpoint)
            return agent._requestWithEndpoint(
                key, self._proxyEndpoint, method, parsed, headers, bodyProducer, parsed.toBytes()
            )
        if parsed.scheme == b"https":
            creator = self._policy.creatorForNetloc(parsed.host, parsed.port)
            endpoint = _TunnelEndpoint(self._proxyEndpoint, parsed, creator, self._proxyHeaders)
            key = ("https-tunnel", self._proxyEndpoint, parsed.host, parsed.port)
            return agent._requestWithEndpoint(
                key, endpoint, method, parsed, headers, bodyProducer, parsed.originForm
            )
        return fail(SchemeNotSupported(f"unsupported scheme: {parsed.scheme!r}"))


@implementer(IAgentEndpointFactory)
class _NoEndpoints:
    """The endpoint factory of an agent that is only given endpoints directly."""

    def endpointForURI(self, uri: URI) -> Any:
        raise SchemeNotSupported("this agent picks its endpoints itself")


# -- bodies --------------------------------------------------------------------------------


@implementer(IBodyProducer)
class FileBodyProducer:
    """A request body read from a file, a piece at a time as the connection takes it: a
    large upload streams without being held in memory.

    :param inputFile: A binary file; its length is found by seeking when it can be.
    :param cooperator: What schedules the reads: anything with a ``cooperate`` method
        (``None``: :mod:`glisten.internet.task`, its global cooperator).
    :param readSize: Bytes per read.
    """

    def __init__(self, inputFile: IO[bytes], cooperator: Any = None, readSize: int = 2**16) -> None:
        self._inputFile = inputFile
        self._cooperate = (task if cooperator is None else cooperator).cooperate
        self._readSize = readSize
        self.length: int | object = self._determineLength(inputFile)
        self._task: Any = None

    def _determineLength(self, fObj: IO[bytes]) -> int | object:
        return fileLength(fObj)

    def startProducing(self, consumer: Any) -> Deferred[None]:
        """Write the file to ``consumer``; fires when all of it was written."""
        self._task = self._cooperate(self._writeloop(consumer))
        d: Deferred[Any] = self._task.whenDone()

        def maybeStopped(reason: Failure) -> Any:
            if reason.check(task.TaskStopped):
                # Stopped on purpose: whoever stopped it does not wait on this.
                return Deferred()
            return reason

        return d.addCallbacks(lambda _: None, maybeStopped)

    def _writeloop(self, consumer: Any) -> Any:
        while True:
            data = self._inputFile.read(self._readSize)
            if not data:
                self._inputFile.close()
                return
            consumer.write(data)
            yield None

    def stopProducing(self) -> None:
        """Stop reading and close the file."""
        self._inputFile.close()
        if self._task is not None:
            try:
                self._task.stop()
            except task.TaskFinished:
                pass

    def pauseProducing(self) -> None:
        """Pause reading."""
        self._task.pause()

    def resumeProducing(self) -> None:
        """Resume reading."""
        self._task.resume()


class _ReadBodyProtocol(Protocol):
    def __init__(self, status: int, message: bytes, deferred: Deferred[bytes]) -> None:
        self.deferred = deferred
        self.status = status
        self.message = message
        self.dataBuffer: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.dataBuffer.append(data)

    def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
        if self.deferred.called:
            return
        if reason.check(ResponseDone):
            self.deferred.callback(b"".join(self.dataBuffer))
        elif reason.check(PotentialDataLoss):
            self.deferred.errback(
                PartialDownloadError(self.status, self.message, b"".join(self.dataBuffer))
            )
        else:
            self.deferred.errback(reason)


def readBody(response: IResponse) -> Deferred[bytes]:
    """Read the whole body of ``response``.

    :return: Fires with the body; fails with :class:`PartialDownloadError` (its
        ``response`` holds what arrived) when the body ended with the connection and no
        length proved it complete, or with :class:`ResponseFailed`. Cancelling it drops the
        connection.
    """

    def cancel(d: Deferred[bytes]) -> None:
        transport = protocol.transport
        if transport is not None:
            transport.stopProducing()

    d: Deferred[bytes] = Deferred(cancel)
    protocol = _ReadBodyProtocol(response.code, response.phrase, d)
    response.deliverBody(protocol)
    return d


__all__ = [
    "UNKNOWN_LENGTH",
    "Agent",
    "BrowserLikePolicyForHTTPS",
    "BrowserLikeRedirectAgent",
    "ConnectionAborted",
    "ContentDecoderAgent",
    "CookieAgent",
    "DeflateDecoder",
    "GzipDecoder",
    "HTTPClient",
    "HTTPResponse",
    "ProxyAgent",
    "RedirectAgent",
    "TunnelError",
    "FileBodyProducer",
    "HTTPConnectionPool",
    "HostnameCachingHTTPSPolicy",
    "PartialDownloadError",
    "PotentialDataLoss",
    "RequestGenerationFailed",
    "RequestNotSent",
    "RequestTransmissionFailed",
    "Response",
    "ResponseDone",
    "ResponseFailed",
    "ResponseNeverReceived",
    "SchemeNotSupported",
    "StreamResetError",
    "URI",
    "WrongBodyLength",
    "collect",
    "delete",
    "get",
    "head",
    "patch",
    "post",
    "put",
    "readBody",
    "request",
]
