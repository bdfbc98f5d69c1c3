"""Interfaces of glisten.names (Twisted keeps ``IResolver`` in ``internet.interfaces``)."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred
    from glisten.names.common import Result, Timeout
    from glisten.names.dns import Query

__all__ = ["IEncodable", "IRecord", "IResolver"]


class IEncodable(Interface):
    """Something with a DNS wire form (Twisted's ``dns.IEncodable``)."""

    def encode(strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """Write the wire form to ``strio``, compressing names against ``compDict``."""

    def decode(strio: IO[bytes], length: int | None = None) -> None:
        """Read the wire form from ``strio`` (a file holding the whole message)."""


class IRecord(IEncodable):
    """A record payload (Twisted's ``dns.IRecord``)."""

    TYPE = Attribute("The record type number.")
    ttl = Attribute("The time to live, or None.")


class IResolver(Interface):
    """
    Something that answers DNS questions.

    Every ``lookup*`` method returns a Deferred firing with
    (answers, authority, additional), each a list of
    :class:`~glisten.names.dns.RRHeader`, or failing with a
    :mod:`glisten.names.error` exception.
    """

    def query(query: Query, timeout: Timeout = None) -> Deferred[Result]:
        """Answer a :class:`~glisten.names.dns.Query`."""

    def lookupAddress(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up A records."""

    def lookupIPV6Address(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up AAAA records."""

    def lookupAddress6(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up A6 (RFC 2874, experimental) records."""

    def lookupMailExchange(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up MX records."""

    def lookupNameservers(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up NS records."""

    def lookupCanonicalName(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up CNAME records."""

    def lookupMailBox(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up MB records."""

    def lookupMailGroup(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up MG records."""

    def lookupMailRename(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up MR records."""

    def lookupPointer(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up PTR records."""

    def lookupAuthority(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up SOA records."""

    def lookupNull(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up NULL records."""

    def lookupWellKnownServices(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up WKS records."""

    def lookupHostInfo(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up HINFO records."""

    def lookupMailboxInfo(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up MINFO records."""

    def lookupText(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up TXT records."""

    def lookupSenderPolicy(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up SPF records."""

    def lookupResponsibility(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up RP records."""

    def lookupAFSDatabase(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up AFSDB records."""

    def lookupService(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Look up SRV records."""

    def lookupNamingAuthorityPointer(
        name: bytes | str, timeout: Timeout = None
    ) -> Deferred[Result]:
        """Look up NAPTR records."""

    def lookupAllRecords(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Ask for all records (type ANY, which servers may answer minimally)."""

    def lookupZone(name: bytes | str, timeout: Timeout = None) -> Deferred[Result]:
        """Transfer a whole zone (AXFR)."""
