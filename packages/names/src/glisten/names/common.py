"""Base class for resolvers: one ``lookup*`` method per record type (Twisted's ``common``)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zope.interface import implementer

from glisten.internet import defer
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._message import Query, RRHeader
from glisten.names._wire._name import Name
from glisten.names.interfaces import IResolver

__all__ = [
    "EMPTY_RESULT",
    "ClientReactor",
    "QueryResolver",
    "ResolverBase",
    "Result",
    "TimeReactor",
    "Timeout",
    "extractRecord",
]


#: What every lookup fires with: (answers, authority, additional).
Result = tuple[list[RRHeader], list[RRHeader], list[RRHeader]]

#: A lookup's timeout: Twisted's seconds per try (a sequence), one number, or the default.
Timeout = Sequence[float] | float | None


class QueryResolver(Protocol):
    """
    The part of :class:`~glisten.internet.interfaces.IResolver` a server or a
    chain uses (``query``), as a type a checker without the zope plugin
    understands: every resolver in glisten.names has it.
    """

    def query(self, query: Query, timeout: Timeout = None) -> defer.Deferred[Result]: ...


class TimeReactor(Protocol):
    """
    What caches and servers need of a reactor: ``IReactorTime`` (``seconds``,
    ``callLater``). Every glisten reactor and ``task.Clock`` provide it.
    """

    def seconds(self) -> float: ...

    def callLater(self, *args: Any, **kwargs: Any) -> Any: ...


class ClientReactor(TimeReactor, Protocol):
    """
    What a resolver that asks servers needs of a reactor: ``IReactorTime``,
    ``IReactorUDP`` (``listenUDP``) and ``IReactorTCP`` (``connectTCP``).
    Every glisten reactor provides it.
    """

    def listenUDP(self, *args: Any, **kwargs: Any) -> Any: ...

    def connectTCP(self, *args: Any, **kwargs: Any) -> Any: ...


EMPTY_RESULT: Result = ([], [], [])

_ERRORS: dict[int, type[Exception]] = {
    C.EFORMAT: error.DNSFormatError,
    C.ESERVER: error.DNSServerError,
    C.ENAME: error.DNSNameError,
    C.ENOTIMP: error.DNSNotImplementedError,
    C.EREFUSED: error.DNSQueryRefusedError,
}


def _nameBytes(name: bytes | str | Name) -> bytes:
    if isinstance(name, Name):
        return name.name
    return Name(name).name


@implementer(IResolver)
class ResolverBase:
    """
    Implements every ``lookup*`` by calling ``_lookup(name, cls, type, timeout)``.

    Subclasses override ``_lookup``; ``query`` dispatches on the query type.
    """

    _errormap = _ERRORS

    def __init__(self) -> None:
        self.typeToMethod: dict[int, Callable[..., defer.Deferred[Result]]] = {}
        for t, method in (
            (C.A, self.lookupAddress),
            (C.AAAA, self.lookupIPV6Address),
            (C.A6, self.lookupAddress6),
            (C.NS, self.lookupNameservers),
            (C.CNAME, self.lookupCanonicalName),
            (C.SOA, self.lookupAuthority),
            (C.MB, self.lookupMailBox),
            (C.MG, self.lookupMailGroup),
            (C.MR, self.lookupMailRename),
            (C.NULL, self.lookupNull),
            (C.WKS, self.lookupWellKnownServices),
            (C.PTR, self.lookupPointer),
            (C.HINFO, self.lookupHostInfo),
            (C.MINFO, self.lookupMailboxInfo),
            (C.MX, self.lookupMailExchange),
            (C.TXT, self.lookupText),
            (C.SPF, self.lookupSenderPolicy),
            (C.RP, self.lookupResponsibility),
            (C.AFSDB, self.lookupAFSDatabase),
            (C.SRV, self.lookupService),
            (C.NAPTR, self.lookupNamingAuthorityPointer),
            (C.AXFR, self.lookupZone),
            (C.ALL_RECORDS, self.lookupAllRecords),
        ):
            self.typeToMethod[t] = method

    def exceptionForCode(self, responseCode: int) -> type[Exception]:
        """:return: the exception class for a response code."""
        return self._errormap.get(responseCode, error.DNSUnknownError)

    def query(self, query: Query, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Answer ``query``; types without a ``lookup*`` method go to ``_lookup``."""
        method = self.typeToMethod.get(query.type)
        if method is None:
            return self._lookup(query.name.name, query.cls, query.type, timeout)
        return method(query.name.name, timeout)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        return defer.fail(NotImplementedError(f"{self.__class__.__name__}._lookup"))

    def _lookupName(self, name: bytes | str, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        try:
            n = _nameBytes(name)
        except ValueError as e:  # not a name at all (bad IDNA, say): fail, do not raise
            return defer.fail(e)
        return self._lookup(n, C.IN, type, timeout)

    def lookupAddress(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up A records."""
        return self._lookupName(name, C.A, timeout)

    def lookupIPV6Address(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up AAAA records."""
        return self._lookupName(name, C.AAAA, timeout)

    def lookupAddress6(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up A6 records (RFC 2874, experimental; Twisted API)."""
        return self._lookupName(name, C.A6, timeout)

    def lookupMailExchange(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up MX records."""
        return self._lookupName(name, C.MX, timeout)

    def lookupNameservers(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up NS records."""
        return self._lookupName(name, C.NS, timeout)

    def lookupCanonicalName(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up CNAME records."""
        return self._lookupName(name, C.CNAME, timeout)

    def lookupMailBox(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up MB records."""
        return self._lookupName(name, C.MB, timeout)

    def lookupMailGroup(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up MG records."""
        return self._lookupName(name, C.MG, timeout)

    def lookupMailRename(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up MR records."""
        return self._lookupName(name, C.MR, timeout)

    def lookupPointer(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up PTR records."""
        return self._lookupName(name, C.PTR, timeout)

    def lookupAuthority(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up SOA records."""
        return self._lookupName(name, C.SOA, timeout)

    def lookupNull(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up NULL records."""
        return self._lookupName(name, C.NULL, timeout)

    def lookupWellKnownServices(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up WKS records."""
        return self._lookupName(name, C.WKS, timeout)

    def lookupService(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up SRV records."""
        return self._lookupName(name, C.SRV, timeout)

    def lookupHostInfo(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up HINFO records."""
        return self._lookupName(name, C.HINFO, timeout)

    def lookupMailboxInfo(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up MINFO records."""
        return self._lookupName(name, C.MINFO, timeout)

    def lookupText(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Look up TXT records."""
        return self._lookupName(name, C.TXT, timeout)

    def lookupSenderPolicy(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up SPF records."""
        return self._lookupName(name, C.SPF, timeout)

    def lookupResponsibility(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up RP records."""
        return self._lookupName(name, C.RP, timeout)

    def lookupAFSDatabase(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up AFSDB records."""
        return self._lookupName(name, C.AFSDB, timeout)

    def lookupNamingAuthorityPointer(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Look up NAPTR records."""
        return self._lookupName(name, C.NAPTR, timeout)

    def lookupAllRecords(
        self, name: bytes | str, timeout: Timeout = None
    ) -> defer.Deferred[Result]:
        """Ask for all records (type ANY)."""
        return self._lookupName(name, C.ALL_RECORDS, timeout)

    def lookupZone(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Transfer a zone (AXFR)."""
        return self._lookupName(name, C.AXFR, timeout)

    def getHostByName(
        self, name: bytes | str, timeout: Timeout = None, effort: int = 10
    ) -> defer.Deferred[str]:
        """
        Resolve ``name`` to one address, following CNAMEs.

        As Twisted documents it, an IPv6 address is given in preference to
        an IPv4 one (A6, then AAAA, then A). Where Twisted asks one ANY
        question (which RFC 8482 lets servers answer with almost nothing),
        glisten asks for AAAA and A records at once and picks from both.

        :return: a Deferred firing with the address as a ``str``, or failing
            with :class:`~glisten.names.error.DNSNameError` when there is none
            (or with the failure of the A lookup when both lookups fail).
        """
        try:
            n = _nameBytes(name)
        except ValueError as e:
            return defer.fail(e)
        lookups = [self.lookupIPV6Address(n, timeout), self.lookupAddress(n, timeout)]
        d = defer.DeferredList(lookups, consumeErrors=True)
        return d.addCallback(self._cbBothRecords, n, effort)

    def _cbBothRecords(self, results: list[tuple[bool, Any]], name: bytes, effort: int) -> Any:
        answers: list[RRHeader] = []
        for ok, result in results:
            if ok:
                ans, auth, add = result
                answers += [*ans, *auth, *add]
        if not results[0][0] and not results[1][0]:
            return results[1][1]
        return self._cbRecords((answers, [], []), name, effort)

    def _cbRecords(self, records: Result, name: bytes, effort: int) -> Any:
        ans, auth, add = records
        result = extractRecord(self, Name(name), [*ans, *auth, *add], effort)
        if not result:
            raise error.DNSNameError(name)
        return result


def extractRecord(
    resolver: ResolverBase, name: Name, answers: list[RRHeader], level: int = 10
) -> str | defer.Deferred[str] | None:
    """
    Find an address for ``name`` among ``answers`` (A6, then AAAA, then A,
    as Twisted documents), following CNAMEs (asking ``resolver`` again when
    the target's address is not there).

    :return: an address string, a Deferred firing with one, or ``None``.
    """
    if not level:
        return None
    for rtype, family in (
        (C.A6, socket.AF_INET6),
        (C.AAAA, socket.AF_INET6),
        (C.A, socket.AF_INET),
    ):
        for r in answers:
            if r.name == name and r.type == rtype and r.payload is not None:
                packed = r.payload.suffix if rtype == C.A6 else r.payload.address  # type: ignore[attr-defined]
                return socket.inet_ntop(family, packed)
    for r in answers:
        if r.name == name and r.type == C.CNAME and r.payload is not None:
            target: Name = r.payload.name  # type: ignore[attr-defined]
            result = extractRecord(resolver, target, answers, level - 1)
            if not result:
                return resolver.getHostByName(target.name, effort=level - 1)
            return result
    return None
