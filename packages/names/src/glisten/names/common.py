"""Base class for resolvers: one ``lookup*`` method per record type (Twisted's ``common``)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from glisten.internet import defer
from glisten.names import _constants as C
from glisten.names import error
from glisten.names._message import Query, RRHeader
from glisten.names._name import Name
from glisten.names.interfaces import IResolver

__all__ = ["EMPTY_RESULT", "ResolverBase", "Result", "extractRecord"]


class LazyReactor:
    """
    A ``_reactor`` attribute that, when none was given, means the global
    reactor looked up at use time, so building resolvers (e.g. in a plugin's
    ``makeService``) never installs a reactor early.
    """

    _givenReactor: Any = None

    @property
    def _reactor(self) -> Any:
        if self._givenReactor is None:
            from glisten.internet import reactor

            return reactor
        return self._givenReactor

    @_reactor.setter
    def _reactor(self, value: Any) -> None:
        self._givenReactor = value


#: What every lookup fires with: (answers, authority, additional).
Result = tuple[list[RRHeader], list[RRHeader], list[RRHeader]]

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

    def query(self, query: Query, timeout: Any = None) -> defer.Deferred[Result]:
        """Answer ``query``; types without a ``lookup*`` method go to ``_lookup``."""
        method = self.typeToMethod.get(query.type)
        if method is None:
            return self._lookup(query.name.name, query.cls, query.type, timeout)
        return method(query.name.name, timeout)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> defer.Deferred[Result]:
        return defer.fail(NotImplementedError(f"{self.__class__.__name__}._lookup"))

    def _lookupName(self, name: bytes | str, type: int, timeout: Any) -> defer.Deferred[Result]:
        try:
            n = _nameBytes(name)
        except ValueError as e:  # not a name at all (bad IDNA, say): fail, do not raise
            return defer.fail(e)
        return self._lookup(n, C.IN, type, timeout)

    def lookupAddress(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up A records."""
        return self._lookupName(name, C.A, timeout)

    def lookupIPV6Address(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up AAAA records."""
        return self._lookupName(name, C.AAAA, timeout)

    def lookupMailExchange(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up MX records."""
        return self._lookupName(name, C.MX, timeout)

    def lookupNameservers(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up NS records."""
        return self._lookupName(name, C.NS, timeout)

    def lookupCanonicalName(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up CNAME records."""
        return self._lookupName(name, C.CNAME, timeout)

    def lookupMailBox(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up MB records."""
        return self._lookupName(name, C.MB, timeout)

    def lookupMailGroup(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up MG records."""
        return self._lookupName(name, C.MG, timeout)

    def lookupMailRename(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up MR records."""
        return self._lookupName(name, C.MR, timeout)

    def lookupPointer(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up PTR records."""
        return self._lookupName(name, C.PTR, timeout)

    def lookupAuthority(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up SOA records."""
        return self._lookupName(name, C.SOA, timeout)

    def lookupNull(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up NULL records."""
        return self._lookupName(name, C.NULL, timeout)

    def lookupWellKnownServices(
        self, name: bytes | str, timeout: Any = None
    ) -> defer.Deferred[Result]:
        """Look up WKS records."""
        return self._lookupName(name, C.WKS, timeout)

    def lookupService(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up SRV records."""
        return self._lookupName(name, C.SRV, timeout)

    def lookupHostInfo(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up HINFO records."""
        return self._lookupName(name, C.HINFO, timeout)

    def lookupMailboxInfo(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up MINFO records."""
        return self._lookupName(name, C.MINFO, timeout)

    def lookupText(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up TXT records."""
        return self._lookupName(name, C.TXT, timeout)

    def lookupSenderPolicy(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up SPF records."""
        return self._lookupName(name, C.SPF, timeout)

    def lookupResponsibility(
        self, name: bytes | str, timeout: Any = None
    ) -> defer.Deferred[Result]:
        """Look up RP records."""
        return self._lookupName(name, C.RP, timeout)

    def lookupAFSDatabase(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Look up AFSDB records."""
        return self._lookupName(name, C.AFSDB, timeout)

    def lookupNamingAuthorityPointer(
        self, name: bytes | str, timeout: Any = None
    ) -> defer.Deferred[Result]:
        """Look up NAPTR records."""
        return self._lookupName(name, C.NAPTR, timeout)

    def lookupAllRecords(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Ask for all records (type ANY)."""
        return self._lookupName(name, C.ALL_RECORDS, timeout)

    def lookupZone(self, name: bytes | str, timeout: Any = None) -> defer.Deferred[Result]:
        """Transfer a zone (AXFR)."""
        return self._lookupName(name, C.AXFR, timeout)

    def getHostByName(
        self, name: bytes | str, timeout: Any = None, effort: int = 10
    ) -> defer.Deferred[str]:
        """
        :return: a Deferred firing with one IPv4 address (a ``str``) for ``name``,
            following CNAMEs.

        Twisted asks for ALL_RECORDS (ANY), which RFC 8482 lets servers answer
        with almost nothing; glisten asks for A records.
        """
        try:
            n = _nameBytes(name)
        except ValueError as e:
            return defer.fail(e)
        d: defer.Deferred[Any] = self.lookupAddress(n, timeout)
        d.addCallback(self._cbRecords, n, effort)
        return d

    def _cbRecords(self, records: Result, name: bytes, effort: int) -> Any:
        ans, auth, add = records
        result = extractRecord(self, Name(name), ans + auth + add, effort)
        if not result:
            raise error.DNSNameError(name)
        return result


def extractRecord(
    resolver: ResolverBase, name: Name, answers: list[RRHeader], level: int = 10
) -> Any:
    """
    Find an IPv4 address for ``name`` among ``answers``, following CNAMEs
    (asking ``resolver`` again when the target's address is not there).

    :return: an address string, a Deferred firing with one, or ``None``.
    """
    if not level:
        return None
    for r in answers:
        if r.name == name and r.type == C.A and r.payload is not None:
            return socket.inet_ntop(socket.AF_INET, r.payload.address)  # type: ignore[attr-defined]
    for r in answers:
        if r.name == name and r.type == C.CNAME and r.payload is not None:
            target: Name = r.payload.name  # type: ignore[attr-defined]
            result = extractRecord(resolver, target, answers, level - 1)
            if not result:
                return resolver.getHostByName(target.name, effort=level - 1)
            return result
    return None
