"""Chaining resolvers (Twisted's ``twisted.names.resolve``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from glisten.internet import defer
from glisten.names import error
from glisten.names._wire._message import Query
from glisten.names.common import QueryResolver, ResolverBase, Result, Timeout
from glisten.python.failure import Failure

__all__ = ["FailureHandler", "ResolverChain"]


class FailureHandler:
    """
    An errback asking the next resolver when the previous one did not know
    (a :class:`~glisten.names.error.DomainError`, a timeout or
    ``NotImplementedError``); anything else, including an authority's
    :class:`~glisten.names.error.AuthoritativeDomainError`, stops the chain.
    """

    def __init__(
        self, resolver: Callable[..., defer.Deferred[Result]], query: Query, timeout: Timeout
    ) -> None:
        self.resolver = resolver
        self.query = query
        self.timeout = timeout

    def __call__(self, failure: Failure) -> defer.Deferred[Result]:
        failure.trap(error.DomainError, defer.TimeoutError, NotImplementedError)
        return self.resolver(self.query, self.timeout)


class ResolverChain(ResolverBase):
    """Ask each resolver in turn until one answers."""

    def __init__(self, resolvers: Sequence[QueryResolver]) -> None:
        super().__init__()
        self.resolvers: list[Any] = list(resolvers)

    def query(self, query: Query, timeout: Timeout = None) -> defer.Deferred[Result]:
        if not self.resolvers:
            return defer.fail(error.DomainError(query.name.name))
        d: defer.Deferred[Result] = self.resolvers[0].query(query, timeout)
        for r in self.resolvers[1:]:
            d = d.addErrback(FailureHandler(r.query, query, timeout))
        return d

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        return self.query(Query(name, type, cls), timeout)

    def lookupAllRecords(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Ask every resolver in turn for type ANY."""
        return super().lookupAllRecords(name, timeout)
