"""
The one way a server answers from its zones: :func:`respond`, query octets in, response octets out.

UDP and TCP both call it first. It answers every plain query (see
:func:`~glisten.names._wire._query.parseQuery`) for a name in the zones, and
says :data:`NEEDS_RESOLVER` for everything else: a query of another shape
(which the full decoder must judge, FORMERR included), a zone transfer, a
name outside the zones (caches, upstream servers or REFUSED), an answer
that does not fit (the full path truncates it).
"""

from __future__ import annotations

import enum

from glisten.names._wire._constants import AXFR, IXFR
from glisten.names._wire._query import buildResponse, parseQuery
from glisten.names._wire._zones import SLOW, Zones

__all__ = ["NEEDS_RESOLVER", "NeedsResolver", "respond"]


class NeedsResolver(enum.Enum):
    """The answer must come from the resolver chain (Message objects and Deferreds)."""

    NEEDS_RESOLVER = "needs-resolver"


NEEDS_RESOLVER = NeedsResolver.NEEDS_RESOLVER

#: The size limit of an answer over TCP.
TCP_MAX_SIZE = 65535


def respond(query: bytes, zones: Zones, tcp: bool = False) -> bytes | NeedsResolver:
    """
    :param query: a DNS message as received (over TCP, without its length prefix).
    :param zones: what to answer from.
    :param tcp: whether the answer goes over TCP (no UDP size limit).
    :return: the response octets, or :data:`NEEDS_RESOLVER`.
    """
    kept = zones.response(query)
    if kept is not None:
        return kept
    q = parseQuery(query)
    if q is None:
        return NEEDS_RESOLVER
    qtype = q[3]
    if qtype == AXFR or qtype == IXFR:
        return NEEDS_RESOLVER
    w = zones.answer(q[2], q[4], qtype)
    if w is None or w is SLOW:
        return NEEDS_RESOLVER
    rCode, aa, counts, body = w  # type: ignore[misc]
    data = buildResponse(
        query, q, rCode, aa, zones.recursionAvailable, counts, body, TCP_MAX_SIZE if tcp else None
    )
    if data is None:
        return NEEDS_RESOLVER
    if len(data) <= q[5]:
        # Fits the client's UDP limit, so right for UDP and TCP alike.
        zones.keepResponse(query, data)
    return data
