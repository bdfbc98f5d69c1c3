"""
Iterative resolution from root hints (Twisted's ``twisted.names.root``).

Starting from the hints, ask each server without recursion and follow
referrals (using glue, or resolving the name servers' addresses from the
root when there is none) and CNAMEs, up to ``maximumQueries`` queries.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from glisten.internet import defer
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._message import Message, Query, RRHeader
from glisten.names._wire._name import Name
from glisten.names.common import ClientReactor, ResolverBase, Result, Timeout

if TYPE_CHECKING:
    from glisten.names.client import Resolver as ClientResolver

__all__ = ["DeferredResolver", "Resolver", "bootstrap"]


def _address(rr: RRHeader) -> str | None:
    if rr.type == C.A and rr.payload is not None:
        return socket.inet_ntop(socket.AF_INET, rr.payload.address)  # type: ignore[attr-defined]
    if rr.type == C.AAAA and rr.payload is not None:
        return socket.inet_ntop(socket.AF_INET6, rr.payload.address)  # type: ignore[attr-defined]
    return None


class Resolver(ResolverBase):
    """
    An iterative resolver.

    :param hints: root server addresses (IPv4 or IPv6 literals).
    :param maximumQueries: queries one lookup may send before it gives up.
    :param resolverFactory: makes the resolver for each step, called as
        ``resolverFactory(servers=..., reactor=...)`` (default
        :class:`glisten.names.client.Resolver`).
    :param port: the port every server is asked on (53; other values are
        for tests that run servers on unprivileged ports).
    """

    def __init__(
        self,
        hints: Sequence[str],
        maximumQueries: int = 10,
        reactor: ClientReactor | None = None,
        resolverFactory: Callable[..., ClientResolver] | None = None,
        port: int = C.PORT,
    ) -> None:
        super().__init__()
        self.hints = list(hints)
        self._maximumQueries = maximumQueries
        self._reactor = reactor
        if resolverFactory is None:
            from glisten.names.client import Resolver as ClientResolver

            resolverFactory = ClientResolver
        self._resolverFactory = resolverFactory
        self._port = port

    def _roots(self) -> list[tuple[str, int]]:
        return [(ip, self._port) for ip in self.hints]

    def _query(
        self, query: Query, servers: list[tuple[str, int]], timeout: Any
    ) -> defer.Deferred[Message]:
        r = self._resolverFactory(servers=servers, reactor=self._reactor)
        r.recDes = 0
        return r.queryUDP([query], timeout)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        if timeout is None:
            timeout = (1, 3, 11, 45)
        budget = [self._maximumQueries]
        return self._discoverAuthority(Query(name, type, cls), self._roots(), timeout, budget)

    def _discoverAuthority(
        self, query: Query, servers: list[tuple[str, int]], timeout: Timeout, budget: list[int]
    ) -> defer.Deferred[Result]:
        if budget[0] <= 0:
            return defer.fail(error.ResolverError("Query limit reached without result"))
        budget[0] -= 1
        d: defer.Deferred[Any] = self._query(query, servers, timeout)
        d.addCallback(self._discoveredAuthority, query, timeout, budget)
        return cast(defer.Deferred[Result], d)

    def _discoveredAuthority(
        self, response: Message, query: Query, timeout: Timeout, budget: list[int]
    ) -> Any:
        if response.rCode != C.OK:
            return defer.fail(self.exceptionForCode(response.rCode)(response))
        records: dict[Name, list[RRHeader]] = {}
        for r in response.answers + response.authority + response.additional:
            records.setdefault(r.name, []).append(r)

        def answerOrCNAME(name: Name) -> RRHeader | None:
            cname = None
            for r in records.get(name, []):
                if r.cls == query.cls and r in response.answers:
                    if r.type == query.type or query.type == C.ALL_RECORDS:
                        return r
                    if r.type == C.CNAME:
                        cname = r
            return cname

        seen: set[Name] = set()
        name = query.name
        chain: list[RRHeader] = []
        while True:
            seen.add(name)
            record = answerOrCNAME(name)
            if record is None:
                if name == query.name:
                    break
                # A CNAME leads out of this answer: resolve its target from the root.
                d = self._discoverAuthority(
                    Query(name, query.type, query.cls), self._roots(), timeout, budget
                )
                d.addCallback(lambda res: (chain + list(res[0]), list(res[1]), list(res[2])))
                return d
            if record.type != C.CNAME or query.type == C.CNAME:
                return (response.answers, response.authority, response.additional)
            chain.append(record)
            target: Name = record.payload.name  # type: ignore[union-attr]
            if target in seen:
                return defer.fail(error.ResolverError("Cycle in CNAME processing"))
            name = target

        # A referral: find the delegated servers' addresses.
        nameservers = [
            r.payload.name  # type: ignore[union-attr]
            for r in response.authority
            if r.type == C.NS and query.name.isSubdomainOf(r.name)
        ]
        if not nameservers:
            if response.auth or not response.authority:
                return (response.answers, response.authority, response.additional)
            return defer.fail(
                error.ResolverError("Stuck at response without answers or delegation")
            )
        addresses = []
        for ns in nameservers:
            for r in records.get(ns, []):
                a = _address(r)
                if a is not None:
                    addresses.append((a, self._port))
        if addresses:
            return self._discoverAuthority(query, addresses, timeout, budget)
        # No glue: look up the first name server's address from the root.
        d = self._discoverAuthority(
            Query(nameservers[0], C.A, C.IN), self._roots(), timeout, budget
        )

        def gotNS(res: Result) -> defer.Deferred[Result]:
            addrs = [(a, self._port) for a in (_address(r) for r in res[0]) if a is not None]
            if not addrs:
                return defer.fail(error.ResolverError("No address for the delegated name servers"))
            return self._discoverAuthority(query, addrs, timeout, budget)

        return d.addCallback(gotNS)


class DeferredResolver(ResolverBase):
    """
    A resolver that is not ready yet: questions asked before ``resolverDeferred`` fires
    wait for the resolver it fires with, then go to it (Twisted's ``root.DeferredResolver``).
    """

    def __init__(self, resolverDeferred: defer.Deferred[ResolverBase]) -> None:
        super().__init__()
        self._resolver: ResolverBase | None = None
        self._waiting: list[defer.Deferred[ResolverBase]] = []
        resolverDeferred.addCallback(self._gotResolver)

    def _gotResolver(self, resolver: ResolverBase) -> ResolverBase:
        self._resolver = resolver
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(resolver)
        return resolver

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        question = Query(name, type, cls)
        if self._resolver is not None:
            return self._resolver.query(question, timeout)
        d: defer.Deferred[ResolverBase] = defer.Deferred()
        self._waiting.append(d)
        return d.addCallback(lambda resolver: resolver.query(question, timeout))


def bootstrap(
    resolver: ResolverBase, resolverFactory: Callable[..., ClientResolver] | None = None
) -> DeferredResolver:
    """
    :return: a resolver that becomes a root :class:`Resolver` once the addresses of
        a.root-servers.net ... m.root-servers.net are looked up with ``resolver`` (the
        lookups start when this is called; questions asked before wait for them).
    """
    names = [f"{c}.root-servers.net" for c in "abcdefghijklm"]

    def rootResolver(results: list[tuple[bool, Any]]) -> ResolverBase:
        return Resolver([r for ok, r in results if ok], resolverFactory=resolverFactory)

    found = defer.DeferredList(
        [resolver.getHostByName(n) for n in names], consumeErrors=True
    ).addCallback(rootResolver)
    return DeferredResolver(found)
