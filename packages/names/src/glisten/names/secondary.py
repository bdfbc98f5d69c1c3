"""
Secondary zones pulled from a primary by AXFR (Twisted's ``twisted.names.secondary``).

A :class:`SecondaryAuthority` transfers its zone, then asks the primary for
the SOA every ``refresh`` seconds and transfers again when the serial grew
(RFC 1982 arithmetic), retrying after ``retry`` seconds when the primary
cannot be reached. A NOTIFY from the primary (RFC 1996) makes it check at
once, and after ``expire`` seconds without reaching the primary it stops
answering for the zone (RFC 1035 4.3.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glisten.application import service
from glisten.internet import defer
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._name import Name
from glisten.names._wire._records import IEncodableRecord, Record_SOA
from glisten.names.authority import FileAuthority
from glisten.names.common import ClientReactor, Result, Timeout

__all__ = ["SecondaryAuthority", "SecondaryAuthorityService", "serialGreater"]

log = Logger()


def serialGreater(a: int, b: int) -> bool:
    """:return: whether serial ``a`` is after ``b`` (RFC 1982 serial arithmetic)."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


class SecondaryAuthority(FileAuthority):
    """
    An authority for a zone copied from a primary server.

    Until the first transfer succeeds every lookup fails with
    :class:`~glisten.names.error.DomainError` (so a server answers REFUSED).

    :param primaryIP: the primary's address.
    :param domain: the zone's name.
    :param port: the primary's port.
    """

    def __init__(
        self,
        primaryIP: str,
        domain: bytes | str,
        reactor: ClientReactor | None = None,
        port: int = C.PORT,
    ) -> None:
        super().__init__()
        self.primary = primaryIP
        self._port = port
        self.domain = Name(domain).name
        self._givenReactor = reactor
        self._call: Any = None
        self._lastRefresh: float | None = None

    @classmethod
    def fromServerAddressAndDomain(
        cls,
        serverAddress: tuple[str, int],
        domain: bytes | str,
        reactor: ClientReactor | None = None,
    ) -> SecondaryAuthority:
        """:return: a secondary for ``domain`` pulling from ``(host, port)``."""
        return cls(serverAddress[0], domain, reactor, serverAddress[1])

    def _resolver(self) -> Any:
        from glisten.names import client

        return client.Resolver(servers=[(self.primary, self._port)], reactor=self._givenReactor)

    def transfer(self) -> defer.Deferred[None]:
        """Transfer the zone now; the Deferred fires once it is loaded."""
        d = self._resolver().lookupZone(self.domain)
        d.addCallback(self._cbZone)
        return d

    def _cbZone(self, zone: Result) -> None:
        records = zone[0]
        soa: tuple[bytes, Record_SOA] | None = None
        table: dict[bytes, list[IEncodableRecord]] = {}
        for rr in records[:-1]:
            if not rr.name.isSubdomainOf(self.domain) or rr.payload is None:
                continue
            p = rr.payload
            if isinstance(p, Record_SOA):
                if soa is not None:
                    continue
                soa = (rr.name.name, p)
            object.__setattr__(p, "ttl", rr.ttl)
            table.setdefault(rr.name._key, []).append(p)
        if soa is None:
            raise error.DNSFormatError("zone transfer without an SOA")
        self.setData(soa, table)
        self._lastRefresh = getReactor(self._givenReactor).seconds()
        log.info("Transferred {domain} serial {serial}", domain=self.domain, serial=soa[1].serial)

    def _answer(self, name: bytes | Name, cls: int, type: int) -> Result:
        # RFC 1035 4.3.5: a secondary that could not refresh for ``expire``
        # seconds must stop answering for the zone.
        if self._lastRefresh is None or (
            getReactor(self._givenReactor).seconds() - self._lastRefresh > self.soa[1].expire
        ):
            raise error.DomainError(name)
        return super()._answer(name, cls, type)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        if not hasattr(self, "soa"):
            return defer.fail(error.DomainError(name))
        return super()._lookup(name, cls, type, timeout)

    # -- refreshing

    def startRefreshing(self) -> defer.Deferred[None]:
        """Transfer now, then check the serial every ``refresh`` seconds."""
        d = self.transfer()
        d.addCallbacks(lambda _: self._schedule(ok=True), lambda f: self._failed(f))
        return d

    def _failed(self, f: Any) -> None:
        log.warn("Zone transfer of {domain} failed: {f}", domain=self.domain, f=f.value)
        self._schedule(ok=False)

    def _schedule(self, ok: bool) -> None:
        if hasattr(self, "soa"):
            soa = self.soa[1]
            delay = soa.refresh if ok else soa.retry
        else:
            delay = 60
        self._call = getReactor(self._givenReactor).callLater(max(1, delay), self._check)

    def _check(self) -> None:
        self._call = None
        d = self._resolver().lookupAuthority(self.domain)

        def gotSOA(result: Result) -> Any:
            self._lastRefresh = getReactor(self._givenReactor).seconds()
            for rr in result[0]:
                if rr.type == C.SOA and rr.payload is not None:
                    serial = rr.payload.serial  # type: ignore[attr-defined]
                    if not hasattr(self, "soa") or serialGreater(serial, self.soa[1].serial):
                        return self.transfer()
            return None

        d.addCallback(gotSOA)
        d.addCallbacks(lambda _: self._schedule(ok=True), self._failed)

    def notified(self) -> None:
        """The primary sent a NOTIFY: check its serial now instead of at the next refresh."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._check()

    def stopRefreshing(self) -> None:
        """Stop the periodic serial checks."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None


class SecondaryAuthorityService(service.Service):
    """
    Keeps secondary zones from one primary up to date while running.

    :param primary: the primary's address.
    :param domains: the zones to copy.
    """

    def __init__(
        self,
        primary: str,
        domains: Sequence[bytes | str],
        port: int = C.PORT,
        reactor: ClientReactor | None = None,
    ) -> None:
        self.primary = primary
        self.domains = [SecondaryAuthority(primary, d, reactor, port) for d in domains]

    @classmethod
    def fromServerAddressAndDomains(
        cls,
        serverAddress: tuple[str, int],
        domains: Sequence[bytes | str],
        reactor: ClientReactor | None = None,
    ) -> SecondaryAuthorityService:
        """:return: a service for ``domains`` pulling from ``(host, port)``."""
        return cls(serverAddress[0], domains, serverAddress[1], reactor)

    def startService(self) -> None:
        super().startService()
        for d in self.domains:
            d.startRefreshing()

    def stopService(self) -> None:
        for d in self.domains:
            d.stopRefreshing()
        super().stopService()
