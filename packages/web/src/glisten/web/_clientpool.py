"""The client's connection pool: :class:`HTTPConnectionPool`, as in ``twisted.web.client``.

Connections are keyed by ``(scheme, host, port)`` (or whatever key the agent picks: a proxy
agent keys by proxy). A persistent pool keeps idle connections for reuse and, unlike
Twisted's, never opens more than :attr:`HTTPConnectionPool.maxPersistentPerHost` connections
to one key: further requests wait in line for a connection to come free, so a burst of
requests cannot open an unbounded number of sockets to one server.

The pool only relies on a connection's ``request``, ``abort`` and ``state`` and on the
quiescent callback it gives the factory. When the ``h2`` package is installed, an ``https``
origin's connections offer HTTP/2 by ALPN (:mod:`glisten.web._http2client`); one the server
takes up is ``multiplexed``: the pool hands it to every request for its origin while it has
streams to spare, and requests that arrive while the first connection to an ``https`` origin
is being opened wait for it rather than opening more.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Hashable
from typing import Any

from glisten.internet.defer import Deferred, DeferredList, succeed
from glisten.internet.endpoints import connectProtocol
from glisten.internet.main import getReactor
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web._channel import http2Available
from glisten.web._newclient import (
    HTTP11ClientProtocol,
    Request,
    RequestNotSent,
    RequestTransmissionFailed,
    Response,
    ResponseNeverReceived,
)

#: Methods whose requests may be repeated without changing their effect (RFC 9110 9.2.2).
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})


class _PooledConnection:
    """A connection handed out by the pool, which retries a request the server dropped
    before answering on a connection that had been idle (it likely timed out there).

    :ivar protocol: The connection.
    """

    def __init__(self, pool: HTTPConnectionPool, key: Hashable, protocol: HTTP11ClientProtocol):
        self._pool = pool
        self._key = key
        self.protocol = protocol

    def request(self, request: Request) -> Deferred[Response]:
        """Send ``request`` on this connection, retrying once on a fresh one when allowed."""
        protocol = self.protocol
        wasReused = protocol.reused
        d = protocol.request(request)
        pool = self._pool
        if getattr(protocol, "multiplexed", False):
            # A stream is under way: the requests waiting for this origin can share it.
            pool._serveWaiters(self._key, protocol)
        if not (wasReused and pool.retryAutomatically and _mayRetry(request)):
            return d

        def retry(failure: Failure) -> Any:
            if (
                not failure.check(ResponseNeverReceived, RequestNotSent, RequestTransmissionFailed)
                or protocol._gotBytes
            ):
                return failure
            if _cancelled(failure):
                return failure
            fresh = pool._newConnection(self._key, pool._endpointFor(self._key))
            return fresh.addCallback(lambda conn: conn.request(request))

        return d.addErrback(retry)


@functools.cache
def _negotiator() -> Any:
    """The factory of connections that offer HTTP/2, or ``None`` without ``h2``."""
    if not http2Available():
        return None
    from glisten.web._http2client import negotiatingProtocol

    return negotiatingProtocol


def _cancelled(failure: Failure) -> bool:
    from glisten.internet.defer import CancelledError

    reasons = getattr(failure.value, "reasons", [])
    return any(r.check(CancelledError) for r in reasons)


def _mayRetry(request: Request) -> bool:
    producer = request.bodyProducer
    return request.method in _IDEMPOTENT and (producer is None or hasattr(producer, "rewind"))


class HTTPConnectionPool:
    """Connections for an agent to use, kept for reuse when ``persistent``.

    :param reactor: The reactor (the global one when ``None``).
    :param persistent: Whether connections are kept open between requests.
    :ivar maxPersistentPerHost: Most connections (busy or idle) to one key; requests beyond
        it wait for one to come free.
    :ivar cachedConnectionTimeout: Seconds an idle connection is kept.
    :ivar retryAutomatically: Whether an idempotent request without a body that fails on a
        reused connection before any response byte is sent again on a new one.
    :ivar timeout: Seconds of server silence while a response is due before the request
        fails (``None``: no limit).
    :ivar limits: Limits on response heads and bodies.
    :ivar http2: Whether ``https`` connections offer HTTP/2 (when ``h2`` is installed): one
        connection then carries every request to an origin at once, at about three times the
        client CPU per request of HTTP/1.1 (``h2`` frames in pure Python). ``False`` (set
        before the pool is given to an agent) keeps HTTP/1.1; a glisten addition.
    """

    maxPersistentPerHost = 2
    cachedConnectionTimeout = 240
    retryAutomatically = True
    timeout: float | None = None
    limits: _h11.Limits = _h11.CLIENT_LIMITS
    http2 = True
    #: What makes a connection's protocol, given the pool's callback for a connection that
    #: comes free (an HTTP/2 connection plugs in here).
    _factory = HTTP11ClientProtocol

    def __init__(self, reactor: Any = None, persistent: bool = True) -> None:
        self._reactor = getReactor(reactor)
        self.persistent = persistent
        #: Idle connections by key, and their expiry calls.
        self._connections: dict[Hashable, list[HTTP11ClientProtocol]] = {}
        self._timeouts: dict[HTTP11ClientProtocol, Any] = {}
        #: Busy connections by key, and connections being opened.
        self._active: dict[Hashable, set[HTTP11ClientProtocol]] = {}
        self._pending: dict[Hashable, int] = {}
        self._waiting: dict[Hashable, deque[tuple[Deferred[Any], Any]]] = {}
        self._endpoints: dict[Hashable, Any] = {}
        #: HTTP/2 connections by key, which take many requests at once; and the keys
        #: whose server answered with HTTP/1.1 (their first connections do not wait).
        self._multiplexed: dict[Hashable, list[Any]] = {}
        self._http11: set[Hashable] = set()

    def _negotiates(self, key: Hashable) -> bool:
        """Whether connections for ``key`` offer HTTP/2: an ``https`` key of an
        :class:`~glisten.web.client.Agent`, the default factory, and ``h2`` installed."""
        return (
            self.http2
            and type(self)._factory is HTTP11ClientProtocol
            and isinstance(key, tuple)
            and key[:1] == (b"https",)
            and _negotiator() is not None
        )

    def _endpointFor(self, key: Hashable) -> Any:
        return self._endpoints[key]

    def _count(self, key: Hashable) -> int:
        return (
            self._pending.get(key, 0)
            + len(self._active.get(key, ()))
            + len(self._connections.get(key, ()))
        )

    def getConnection(self, key: Hashable, endpoint: Any) -> Deferred[_PooledConnection]:
        """A connection for ``key``: an idle one, a new one through ``endpoint``, or (at
        the per-key limit) the next one to come free.

        :return: Fires with an object whose ``request(Request)`` sends a request.
        """
        self._endpoints[key] = endpoint
        if not self.persistent:
            return self._newConnection(key, endpoint)
        for protocol in self._multiplexed.get(key, ()):
            if protocol.state == "QUIESCENT":
                self._removeConnection(key, protocol)
                self._active.setdefault(key, set()).add(protocol)
                return succeed(_PooledConnection(self, key, protocol))
        idle = self._connections.get(key)
        while idle:
            protocol = idle.pop()
            self._removeConnection(key, protocol)
            if protocol.state == "QUIESCENT":
                self._active.setdefault(key, set()).add(protocol)
                return succeed(_PooledConnection(self, key, protocol))
        if self._count(key) >= self.maxPersistentPerHost or (
            # The connection being opened may well speak HTTP/2 and carry this one too.
            self._pending.get(key) and key not in self._http11 and self._negotiates(key)
        ):
            waiter: Deferred[_PooledConnection] = Deferred(lambda d: self._dropWaiter(key, d))
            self._waiting.setdefault(key, deque()).append((waiter, endpoint))
            return waiter
        return self._newConnection(key, endpoint)

    def _dropWaiter(self, key: Hashable, waiter: Deferred[Any]) -> None:
        queue = self._waiting.get(key)
        if queue:
            for entry in list(queue):
                if entry[0] is waiter:
                    queue.remove(entry)

    def _newConnection(self, key: Hashable, endpoint: Any) -> Deferred[_PooledConnection]:
        """Open a connection for ``key`` (counted against its limit once persistent)."""
        persistent = self.persistent

        def quiescent(protocol: HTTP11ClientProtocol) -> None:
            if persistent:
                self._putConnection(key, protocol)
            else:
                protocol.transport.loseConnection()

        factory: Any = self._factory
        negotiates = self._negotiates(key)
        if negotiates:
            factory = _negotiator()
        protocol = factory(
            quiescent,
            timeout=self.timeout,
            limits=self.limits,
            clock=self._reactor,
            lostCallback=lambda p: self._lost(key, p),
        )
        if persistent:
            self._pending[key] = self._pending.get(key, 0) + 1

        def connected(p: Any) -> _PooledConnection:
            if persistent:
                self._pending[key] -= 1
                self._active.setdefault(key, set()).add(p)
                if getattr(p, "multiplexed", False):
                    self._multiplexed.setdefault(key, []).append(p)
                    self._http11.discard(key)
                    # Its own request usually serves the waiters; should it have been
                    # cancelled meanwhile, they are served on the next turn anyway.
                    self._reactor.callLater(0, self._serveWaiters, key, p)
                elif negotiates:
                    # HTTP/1.1 after all: the requests that waited get connections of
                    # their own (up to the limit).
                    self._http11.add(key)
                    self._wakeWaiter(key)
            return _PooledConnection(self, key, p)

        def failed(reason: Failure) -> Failure:
            if persistent:
                self._pending[key] -= 1
                self._wakeWaiter(key)
            return reason

        d = connectProtocol(endpoint, protocol)
        if negotiates:
            # Which protocol TLS chose is known once the handshake is done.
            d.addCallback(lambda negotiator: negotiator.ready)
        return d.addCallbacks(connected, failed)

    def _wakeWaiter(self, key: Hashable) -> None:
        """Room was made under the limit for ``key``: open connections for waiters."""
        queue = self._waiting.get(key)
        while queue and self._count(key) < self.maxPersistentPerHost:
            waiter, endpoint = queue.popleft()
            if not waiter.called:
                self._newConnection(key, endpoint).chainDeferred(waiter)

    def _serveWaiters(self, key: Hashable, protocol: Any) -> None:
        """Give requests waiting for ``key`` to the multiplexed ``protocol`` while it has
        streams to spare."""
        if self._serving:
            # Called again by a waiter's request, which this loop is serving.
            return
        self._serving = True
        try:
            queue = self._waiting.get(key)
            while queue and protocol.state == "QUIESCENT":
                waiter, _ = queue.popleft()
                if not waiter.called:
                    # The waiter's request opens its stream right away.
                    waiter.callback(_PooledConnection(self, key, protocol))
        finally:
            self._serving = False

    _serving = False

    def _lost(self, key: Hashable, protocol: HTTP11ClientProtocol) -> None:
        multiplexed = self._multiplexed.get(key)
        if multiplexed is not None and protocol in multiplexed:
            multiplexed.remove(protocol)
            if not multiplexed:
                del self._multiplexed[key]
        idle = self._connections.get(key)
        if idle is not None and protocol in idle:
            # An idle connection the server closed.
            self._removeConnection(key, protocol)
        active = self._active.get(key)
        if active is not None and protocol in active:
            active.discard(protocol)
        self._wakeWaiter(key)

    def _putConnection(self, key: Hashable, protocol: Any) -> None:
        """A connection came free: give it to the next waiter or keep it idle (an HTTP/2
        one only once none of its streams is open)."""
        if getattr(protocol, "multiplexed", False):
            self._serveWaiters(key, protocol)
            if protocol.openStreams or protocol in self._connections.get(key, ()):
                return
        queue = self._waiting.get(key)
        while queue:
            waiter, _ = queue.popleft()
            if not waiter.called:
                waiter.callback(_PooledConnection(self, key, protocol))
                return
        active = self._active.get(key)
        if active is not None:
            active.discard(protocol)
        self._connections.setdefault(key, []).append(protocol)
        self._timeouts[protocol] = self._reactor.callLater(
            self.cachedConnectionTimeout, self._expire, key, protocol
        )

    def _expire(self, key: Hashable, protocol: HTTP11ClientProtocol) -> None:
        self._timeouts.pop(protocol, None)
        self._removeConnection(key, protocol)
        protocol.transport.loseConnection()

    def _removeConnection(self, key: Hashable, protocol: HTTP11ClientProtocol) -> None:
        idle = self._connections.get(key)
        if idle is not None and protocol in idle:
            idle.remove(protocol)
        if idle is not None and not idle:
            del self._connections[key]
        call = self._timeouts.pop(protocol, None)
        if call is not None and call.active():
            call.cancel()

    def closeCachedConnections(self) -> Deferred[Any]:
        """Close every idle connection.

        :return: Fires once they are all closed.
        """
        closing = []
        for key, idle in list(self._connections.items()):
            for protocol in list(idle):
                self._removeConnection(key, protocol)
                closing.append(protocol.abort())
        return DeferredList(closing)
