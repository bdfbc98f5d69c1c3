"""
A stub resolver talking to recursive servers (Twisted's ``twisted.names.client``).

Each UDP query goes out from a new socket on a kernel-chosen (random) port
with a random id, and only an answer from the address and port asked, with
that id, is accepted. Truncated answers are asked again over TCP.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol, cast

from zope.interface import implementer

from glisten.internet import defer, protocol
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.interfaces import (
    IAddress,
    IConnector,
    IHostnameResolver,
    IResolutionReceiver,
)
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names import error, resolve
from glisten.names._protocol import DNSDatagramProtocol, DNSProtocol
from glisten.names._wire import _constants as C
from glisten.names._wire._message import Message, Query
from glisten.names._wire._name import Name
from glisten.names.common import ClientReactor, ResolverBase, Result, Timeout, TimeReactor
from glisten.python.failure import Failure

__all__ = [
    "AXFRController",
    "DNSClientFactory",
    "HostnameResolver",
    "Resolver",
    "createResolver",
    "getHostByName",
    "getResolver",
    "lookupAFSDatabase",
    "lookupAddress",
    "lookupAddress6",
    "lookupAllRecords",
    "lookupAuthority",
    "lookupCanonicalName",
    "lookupHostInfo",
    "lookupIPV6Address",
    "lookupMailBox",
    "lookupMailExchange",
    "lookupMailGroup",
    "lookupMailRename",
    "lookupMailboxInfo",
    "lookupNameservers",
    "lookupNamingAuthorityPointer",
    "lookupNull",
    "lookupPointer",
    "lookupResponsibility",
    "lookupSenderPolicy",
    "lookupService",
    "lookupText",
    "lookupWellKnownServices",
    "lookupZone",
    "query",
]

log = Logger()

#: Seconds between checks of resolv.conf for changes.
RESOLV_READ_INTERVAL = 60


def parseResolvConf(text: str) -> list[tuple[str, int]]:
    """:return: the ``nameserver`` addresses in a resolv.conf, with port 53."""
    servers = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            host = parts[1].split("%", 1)[0]
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
            except OSError:
                continue
            servers.append((host, C.PORT))
    return servers


class DNSClientFactory(protocol.ClientFactory):
    """Builds TCP :class:`DNSProtocol` connections for a :class:`Resolver`."""

    def __init__(self, controller: Resolver, timeout: Sequence[float] | None = None) -> None:
        self.controller = controller
        self.timeout = timeout

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        pass

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        d = getattr(connector, "_glistenWaiting", None)
        if d is not None and not d.called:
            d.errback(reason)

    def buildProtocol(self, addr: IAddress) -> DNSProtocol:
        p = DNSProtocol(self.controller, self.controller._givenReactor)
        p.factory = self
        return p


class Resolver(ResolverBase):
    """
    Ask recursive servers, over UDP with retries, then TCP when truncated.

    :param resolv: a resolv.conf to read servers from (re-read when it changes).
    :param servers: ``(host, port)`` pairs to ask (tried before resolv.conf's).
    :param timeout: seconds to wait on each try; each try asks the next server.
    :param reactor: the reactor (default: the global one, looked up when needed).
    """

    _resolvReadInterval = RESOLV_READ_INTERVAL
    #: The RD bit of queries (cleared by the iterative resolver in ``root``).
    recDes = 1

    def __init__(
        self,
        resolv: str | bytes | None = None,
        servers: Sequence[tuple[str, int]] | None = None,
        timeout: Sequence[float] = (1, 3, 11, 45),
        reactor: ClientReactor | None = None,
    ) -> None:
        super().__init__()
        if not servers and not resolv:
            raise ValueError("No nameservers specified")
        self.servers = list(servers or [])
        self.dynServers: list[tuple[str, int]] = []
        self.timeout = tuple(timeout)
        self.resolv = resolv
        self._givenReactor = reactor
        self._lastResolvMTime: float | None = None
        self._lastResolvCheck: float | None = None
        self.factory = DNSClientFactory(self, timeout)
        self.connections: list[DNSProtocol] = []
        self._waiting: dict[tuple[bytes, int, int], list[defer.Deferred[Result]]] = {}
        self.maybeParseConfig()

    # -- configuration

    def maybeParseConfig(self) -> None:
        """Re-read resolv.conf if it changed (checked at most once a minute)."""
        if self.resolv is None:
            return
        now = time.monotonic()
        if (
            self._lastResolvCheck is not None
            and now - self._lastResolvCheck < self._resolvReadInterval
        ):
            return
        self._lastResolvCheck = now
        try:
            mtime = os.path.getmtime(self.resolv)
        except OSError:
            self.dynServers = [("127.0.0.1", C.PORT)]
            return
        if mtime == self._lastResolvMTime:
            return
        self._lastResolvMTime = mtime
        try:
            with open(self.resolv) as f:
                self.parseConfig(f)
        except OSError:
            self.dynServers = [("127.0.0.1", C.PORT)]

    def parseConfig(self, resolvConf: IO[str]) -> None:
        """Take servers from an open resolv.conf (no servers: 127.0.0.1, like libc)."""
        self.dynServers = parseResolvConf(resolvConf.read()) or [("127.0.0.1", C.PORT)]

    def pickServer(self) -> tuple[str, int]:
        """:return: the first server to ask."""
        self.maybeParseConfig()
        servers = self.servers + self.dynServers
        if not servers:
            raise error.ResolverError("No nameservers available")
        return servers[0]

    # -- controller API (DNSProtocol calls these)

    def connectionMade(self, protocol: DNSProtocol) -> None:
        self.connections.append(protocol)

    def connectionLost(self, protocol: DNSProtocol) -> None:
        if protocol in self.connections:
            self.connections.remove(protocol)

    def messageReceived(
        self, message: Message, protocol: object, address: tuple[str, int] | None = None
    ) -> None:
        log.debug("Unexpected DNS message from {address}", address=address)

    # -- UDP

    def _connectedProtocol(self, interface: str = "") -> DNSDatagramProtocol:
        """A new UDP protocol on a fresh, kernel-chosen random port."""
        p = DNSDatagramProtocol(self, reactor=getReactor(self._givenReactor))
        p.recDes = self.recDes
        getReactor(self._givenReactor).listenUDP(0, p, interface=interface, maxPacketSize=65535)
        return p

    def _query(
        self, address: tuple[str, int], queries: list[Query], timeout: float
    ) -> defer.Deferred[Message]:
        try:
            p = self._connectedProtocol("::" if ":" in address[0] else "")
        except Exception as e:
            return defer.fail(e)
        d = p.query(address, queries, timeout)

        def cleanup(result: Any) -> Any:
            if p.transport is not None:
                p.transport.stopListening()
            return result

        return d.addBoth(cleanup)

    def queryUDP(
        self, queries: list[Query], timeout: Sequence[float] | float | None = None
    ) -> defer.Deferred[Message]:
        """
        Ask over UDP, moving to the next server (and the next timeout) each
        time one does not answer in time.

        :return: a Deferred firing with the answer, or failing with
            :class:`~glisten.names.error.DNSQueryTimeoutError`.
        """
        if timeout is None:
            timeout = self.timeout
        if isinstance(timeout, int | float):
            timeouts = [float(timeout)]
        else:
            timeouts = list(timeout) or [5.0]
        self.maybeParseConfig()
        servers = self.servers + self.dynServers
        if not servers:
            return defer.fail(error.ResolverError("No nameservers available"))
        result: defer.Deferred[Message] = defer.Deferred()
        attempt = [0]

        def tryNext() -> None:
            i = attempt[0]
            attempt[0] += 1
            if i >= len(timeouts):
                result.errback(error.DNSQueryTimeoutError(queries))
                return
            server = servers[i % len(servers)]
            d = self._query(server, queries, timeouts[i])
            d.addCallbacks(result.callback, failed)

        def failed(f: Any) -> None:
            if f.check(error.DNSQueryTimeoutError, defer.TimeoutError):
                tryNext()
            else:
                result.errback(f)

        tryNext()
        return result

    # -- TCP

    def queryTCP(self, queries: list[Query], timeout: float = 10) -> defer.Deferred[Message]:
        """Ask the first server over TCP (used for truncated answers)."""
        try:
            host, port = self.pickServer()
        except error.ResolverError as e:
            return defer.fail(e)
        return self._tcpExchange(host, port, lambda p: p.query(queries, timeout), timeout)

    def _tcpExchange(self, host: str, port: int, send: Any, timeout: float) -> defer.Deferred[Any]:
        connected: defer.Deferred[DNSProtocol] = defer.Deferred()
        reactor = getReactor(self._givenReactor)
        resolver = self

        class _Connected(DNSProtocol):
            recDes = resolver.recDes

            def connectionMade(self) -> None:
                super().connectionMade()
                if not connected.called:
                    connected.callback(self)

        class _Factory(DNSClientFactory):
            def buildProtocol(self, addr: IAddress) -> DNSProtocol:
                p = _Connected(resolver, reactor)
                p.factory = self
                return p

            def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
                if not connected.called:
                    connected.errback(reason)

        connector = reactor.connectTCP(host, port, _Factory(self), timeout=timeout)

        def go(p: DNSProtocol) -> defer.Deferred[Any]:
            d: defer.Deferred[Any] = send(p)

            def close(result: Any) -> Any:
                if p.transport is not None:
                    p.transport.loseConnection()
                return result

            return d.addBoth(close)

        connected.addCallback(go)
        del connector
        return connected

    # -- results

    def filterAnswers(self, message: Message) -> Result | Failure | defer.Deferred[Result]:
        """
        :return: (answers, authority, additional); a Deferred asking again
            over TCP if ``message`` was truncated; a :class:`Failure` of the
            :mod:`~glisten.names.error` exception for an error rCode (as Twisted).
        """
        if message.trunc:
            d: defer.Deferred[Any] = self.queryTCP(message.queries)
            return d.addCallback(cast(Any, self._filterTCPAnswers))
        return self._filterTCPAnswers(message)

    def _filterTCPAnswers(self, message: Message) -> Result | Failure:
        # A truncated answer over TCP is all there is: asking again would loop.
        if message.rCode != C.OK:
            return Failure(self.exceptionForCode(message.rCode)(message))
        return (message.answers, message.authority, message.additional)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        key = (Name(name)._key, cls, type)
        waiting = self._waiting.get(key)
        if waiting is not None:
            # Share one question on the wire between identical lookups.
            d: defer.Deferred[Result] = defer.Deferred()
            waiting.append(d)
            return d
        self._waiting[key] = []
        result = self.queryUDP([Query(name, type, cls)], timeout)
        result.addCallback(cast(Any, self.filterAnswers))

        def share(r: Any) -> Any:
            for w in self._waiting.pop(key, []):
                if isinstance(r, Failure):
                    w.errback(r)
                else:
                    w.callback(r)
            return r

        result.addBoth(share)
        return cast(defer.Deferred[Result], result)

    def lookupZone(self, name: bytes | str, timeout: Timeout = 10) -> defer.Deferred[Result]:
        """
        Transfer a zone over TCP (AXFR) from the first server.

        :return: a Deferred firing with (records, [], []), the records
            between and including the two SOAs.
        """
        if not isinstance(timeout, int | float):
            timeout = 10
        try:
            host, port = self.pickServer()
        except error.ResolverError as e:
            return defer.fail(e)
        try:
            qname = Name(name)
        except ValueError as e:
            return defer.fail(e)

        def send(p: DNSProtocol) -> defer.Deferred[Result]:
            controller = AXFRController(qname, p, timeout, getReactor(self._givenReactor))
            return controller.start()

        return self._tcpExchange(host, port, send, timeout)


class AXFRController:
    """
    Collects the messages of one zone transfer on a TCP connection until the
    closing SOA arrives (RFC 5936 2.2).
    """

    #: Most records accepted in one transfer, so a hostile primary cannot fill memory.
    maxRecords = 1_000_000

    def __init__(
        self, name: Name, proto: DNSProtocol, timeout: float, reactor: TimeReactor
    ) -> None:
        self.name = name
        self.proto = proto
        self.timeout = timeout
        self.reactor = reactor
        self.records: list[Any] = []
        self.deferred: defer.Deferred[Result] = defer.Deferred()
        self.id = proto.pickID()

    def start(self) -> defer.Deferred[Result]:
        self.proto.controller = self
        m = Message(self.id)
        m.queries = [Query(self.name, C.AXFR, C.IN)]
        # The transfer's many messages come to _answer, not to the one-answer bookkeeping.
        self.proto.routeAnswers(self._answer)
        self.proto.writeMessage(m)
        self._timer = self.reactor.callLater(self.timeout, self._timedOut)
        return self.deferred

    def _timedOut(self) -> None:
        if not self.deferred.called:
            self.deferred.errback(error.DNSQueryTimeoutError(self.name))

    def _answer(self, m: Message, address: Any) -> bool:
        if m.id != self.id or self.deferred.called:
            return False
        if m.rCode != C.OK:
            self._finish(defer.fail(ResolverBase().exceptionForCode(m.rCode)(m)))
            return True
        for rr in m.answers:
            if not self.records and rr.type != C.SOA:
                self._finish(
                    defer.fail(error.DNSFormatError("zone transfer did not start with SOA"))
                )
                return True
            self.records.append(rr)
            if rr.type == C.SOA and len(self.records) > 1:
                self._finish(defer.succeed((self.records, [], [])))
                return True
        if len(self.records) > self.maxRecords:
            self._finish(defer.fail(error.DNSFormatError("zone transfer too large")))
        return True

    def _finish(self, d: defer.Deferred[Result]) -> None:
        if self._timer.active():
            self._timer.cancel()
        d.chainDeferred(self.deferred)

    def messageReceived(
        self, message: Message, protocol: object, address: tuple[str, int] | None = None
    ) -> None:
        pass

    def connectionMade(self, protocol: object) -> None:
        pass

    def connectionLost(self, protocol: object) -> None:
        if not self.deferred.called:
            if self._timer.active():
                self._timer.cancel()
            self.deferred.errback(ConnectionError("connection lost during zone transfer"))


@implementer(IHostnameResolver)
class HostnameResolver:
    """
    An ``IHostnameResolver`` backed by a glisten.names resolver, for
    ``reactor.installNameResolver(HostnameResolver(createResolver()))``:
    asks for A and AAAA records at once and reports every address.
    """

    def __init__(self, resolver: ResolverBase | None = None) -> None:
        self.resolver: ResolverBase = resolver if resolver is not None else getResolver()

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IResolutionReceiver:
        from glisten.internet.resolver import HostResolution

        cancelled = [False]
        resolution = HostResolution(hostName, onCancel=lambda: cancelled.__setitem__(0, True))
        resolutionReceiver.resolutionBegan(resolution)
        kind = "UDP" if transportSemantics == "UDP" else "TCP"
        wanted: list[tuple[Any, int, Any]] = []
        if addressTypes is None or IPv4Address in addressTypes:
            wanted.append((self.resolver.lookupAddress, socket.AF_INET, IPv4Address))
        if addressTypes is None or IPv6Address in addressTypes:
            wanted.append((self.resolver.lookupIPV6Address, socket.AF_INET6, IPv6Address))

        # Literal addresses need no lookup.
        for _, family, cls in wanted:
            try:
                socket.inet_pton(family, hostName)
            except OSError:
                continue
            resolutionReceiver.addressResolved(cls(kind, hostName, portNumber))
            resolutionReceiver.resolutionComplete()
            return resolutionReceiver

        def got(result: Result, family: int, cls: Any, rtype: int) -> None:
            if cancelled[0]:
                return
            for rr in result[0]:
                if rr.type == rtype and rr.payload is not None:
                    host = socket.inet_ntop(family, rr.payload.address)  # type: ignore[attr-defined]
                    resolutionReceiver.addressResolved(cls(kind, host, portNumber))

        ds = []
        for method, family, cls in wanted:
            rtype = C.A if family == socket.AF_INET else C.AAAA
            d = method(hostName)
            d.addCallback(got, family, cls, rtype)
            d.addErrback(lambda f: None)
            ds.append(d)

        def done(_: Any) -> None:
            resolutionReceiver.resolutionComplete()

        defer.DeferredList(ds).addCallback(done)
        return resolutionReceiver


def createResolver(
    servers: Sequence[tuple[str, int]] | None = None,
    resolvconf: str | bytes | None = None,
    hosts: str | bytes | None = None,
    reactor: ClientReactor | None = None,
) -> resolve.ResolverChain:
    """
    :return: a resolver asking the hosts file, then a cache, then DNS servers
        (``servers`` if given, else ``resolvconf``, default ``b"/etc/resolv.conf"``;
        the hosts file defaults to ``b"/etc/hosts"``, bytes as in Twisted).
    """
    from glisten.names import cache
    from glisten.names import hosts as hostsModule

    if hosts is None:
        hosts = b"/etc/hosts"
    if resolvconf is None and not servers:
        resolvconf = b"/etc/resolv.conf"
    hostResolver = hostsModule.Resolver(hosts)
    theResolver = Resolver(resolvconf, servers, reactor=reactor)
    return resolve.ResolverChain([hostResolver, cache.CacheResolver(reactor=reactor), theResolver])


theResolver: ResolverBase | None = None


def getResolver() -> ResolverBase:
    """:return: the process-wide resolver, created on first use."""
    global theResolver
    if theResolver is None:
        try:
            theResolver = createResolver()
        except ValueError:
            theResolver = createResolver(servers=[("127.0.0.1", C.PORT)])
    return theResolver


def getHostByName(
    name: bytes | str, timeout: Timeout = None, effort: int = 10
) -> defer.Deferred[str]:
    """:return: a Deferred firing with one IPv4 address for ``name``."""
    return getResolver().getHostByName(name, timeout, effort)


class _Lookup(Protocol):
    def __call__(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]: ...


def _forward(method: str) -> _Lookup:
    def lookup(name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        result: defer.Deferred[Result] = getattr(getResolver(), method)(name, timeout)
        return result

    lookup.__name__ = lookup.__qualname__ = method
    lookup.__doc__ = f"Call ``{method}`` on the process-wide resolver (see :func:`getResolver`)."
    return lookup


lookupAddress = _forward("lookupAddress")
lookupIPV6Address = _forward("lookupIPV6Address")
lookupAddress6 = _forward("lookupAddress6")
lookupMailExchange = _forward("lookupMailExchange")
lookupNameservers = _forward("lookupNameservers")
lookupCanonicalName = _forward("lookupCanonicalName")
lookupMailBox = _forward("lookupMailBox")
lookupMailGroup = _forward("lookupMailGroup")
lookupMailRename = _forward("lookupMailRename")
lookupPointer = _forward("lookupPointer")
lookupAuthority = _forward("lookupAuthority")
lookupNull = _forward("lookupNull")
lookupWellKnownServices = _forward("lookupWellKnownServices")
lookupService = _forward("lookupService")
lookupHostInfo = _forward("lookupHostInfo")
lookupMailboxInfo = _forward("lookupMailboxInfo")
lookupText = _forward("lookupText")
lookupSenderPolicy = _forward("lookupSenderPolicy")
lookupResponsibility = _forward("lookupResponsibility")
lookupAFSDatabase = _forward("lookupAFSDatabase")
lookupNamingAuthorityPointer = _forward("lookupNamingAuthorityPointer")
lookupAllRecords = _forward("lookupAllRecords")
lookupZone = _forward("lookupZone")


def query(query: Query, timeout: Timeout = None) -> defer.Deferred[Result]:
    """Ask the process-wide resolver ``query`` (a :class:`~glisten.names.dns.Query`)."""
    return getResolver().query(query, timeout)
