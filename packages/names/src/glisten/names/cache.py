"""A cache of answers, TTLs respected, negative answers too (Twisted's ``twisted.names.cache``)."""

from __future__ import annotations

from typing import Any

from glisten.internet import defer
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._message import Message, Query, RRHeader
from glisten.names.common import ResolverBase, Result, Timeout, TimeReactor

__all__ = ["CacheResolver"]

log = Logger()

#: Entries held at most; the oldest go first when it is full.
MAX_CACHE_ENTRIES = 100_000


class CacheResolver(ResolverBase):
    """
    Answers from what it was told with :meth:`cacheResult` (and
    :meth:`cacheNegative`), each entry kept for its smallest TTL; answers
    come back with TTLs reduced by the time spent in the cache. Lookups of
    anything not cached fail with :class:`~glisten.names.error.DomainError`
    so the next resolver in a chain is asked.

    :ivar cache: query -> (time cached, result or NXDOMAIN message).
    """

    def __init__(
        self,
        cache: dict[Query, tuple[float, Result]] | None = None,
        verbose: int = 0,
        reactor: TimeReactor | None = None,
    ) -> None:
        super().__init__()
        self._givenReactor = reactor
        self.verbose = verbose
        self.cache: dict[Query, tuple[float, Any]] = {}
        self.cancel: dict[Query, Any] = {}
        if cache:
            for query, (seconds, payload) in cache.items():
                self.cacheResult(query, payload, seconds)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("CacheResolver is not picklable")

    def clearEntry(self, query: Query) -> None:
        """Forget one entry."""
        self.cache.pop(query, None)
        call = self.cancel.pop(query, None)
        if call is not None and call.active():
            call.cancel()

    def _store(self, query: Query, value: Any, when: float, ttl: int) -> None:
        if query in self.cache:
            self.clearEntry(query)
        while len(self.cache) >= MAX_CACHE_ENTRIES:
            self.clearEntry(next(iter(self.cache)))
        self.cache[query] = (when, value)
        self.cancel[query] = getReactor(self._givenReactor).callLater(ttl, self.clearEntry, query)

    def cacheResult(self, query: Query, payload: Result, cacheTime: float | None = None) -> None:
        """
        Remember an answer for the smallest TTL among its records (a NODATA
        answer: the SOA's negative TTL, RFC 2308 5; none at all: not cached).
        """
        when = getReactor(self._givenReactor).seconds() if cacheTime is None else cacheTime
        ans, auth, add = payload
        ttl: int | None
        if ans:
            ttl = min(r.ttl for r in list(ans) + list(auth) + list(add))
        else:
            # NODATA: the SOA's negative TTL; an answer with no records at
            # all is kept until the reactor next runs its timers (as Twisted).
            ttl = _negativeTTL(auth)
            if ttl is None:
                ttl = 0
        if self.verbose > 1:
            log.debug("Adding {query} to cache for {ttl}s", query=query, ttl=ttl)
        self._store(query, payload, when, ttl)

    def cacheNegative(self, query: Query, message: Message, cacheTime: float | None = None) -> None:
        """Remember an NXDOMAIN answer for its SOA's negative TTL (RFC 2308 5)."""
        ttl = _negativeTTL(message.authority)
        if ttl is None:
            return
        when = getReactor(self._givenReactor).seconds() if cacheTime is None else cacheTime
        self._store(query, message, when, ttl)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        q = Query(name, type, cls)
        entry = self.cache.get(q)
        if entry is None:
            return defer.fail(error.DomainError(name))
        when, value = entry
        elapsed = int(getReactor(self._givenReactor).seconds() - when)
        if isinstance(value, Message):
            m = value.copy(authority=[_aged(r, elapsed) for r in value.authority])
            return defer.fail(error.DNSNameError(m))
        ans, auth, add = value
        return defer.succeed(
            (
                [_aged(r, elapsed) for r in ans],
                [_aged(r, elapsed) for r in auth],
                [_aged(r, elapsed) for r in add],
            )
        )


def _aged(r: RRHeader, elapsed: int) -> RRHeader:
    return RRHeader(r.name, r.type, r.cls, max(0, r.ttl - elapsed), r.payload, r.auth)


def _negativeTTL(authority: Any) -> int | None:
    for r in authority:
        if r.type == C.SOA and r.payload is not None:
            return min(r.ttl, r.payload.minimum)
    return None
