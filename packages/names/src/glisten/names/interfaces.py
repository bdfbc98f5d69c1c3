"""Interfaces of glisten.names (Twisted keeps ``IResolver`` in ``internet.interfaces``)."""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

__all__ = ["IEncodable", "IRecord", "IResolver"]


class IEncodable(Interface):
    """Something with a DNS wire form (Twisted's ``dns.IEncodable``)."""

    def encode(strio: Any, compDict: Any = None) -> None:
        """Write the wire form to ``strio``, compressing names against ``compDict``."""

    def decode(strio: Any, length: Any = None) -> None:
        """Read the wire form from ``strio`` (a file holding the whole message)."""


class IRecord(IEncodable):
    """A record payload (Twisted's ``dns.IRecord``)."""

    TYPE = Attribute("The record type number.")
    ttl = Attribute("The time to live, or None.")


class IResolver(Interface):
    """
    Something that answers DNS questions.

    Every ``lookup*`` method returns a Deferred firing with a 3-tuple of
    lists of :class:`~glisten.names.dns.RRHeader`: (answers, authority,
    additional), or failing with a :mod:`glisten.names.error` exception.
    """

    def query(query: Any, timeout: Any = None) -> Any:
        """Answer a :class:`~glisten.names.dns.Query`."""

    def lookupAddress(name: bytes | str, timeout: object = None) -> object:
        """Look up A records."""

    def lookupIPV6Address(name: bytes | str, timeout: object = None) -> object:
        """Look up AAAA records."""

    def lookupMailExchange(name: bytes | str, timeout: object = None) -> object:
        """Look up MX records."""

    def lookupNameservers(name: bytes | str, timeout: object = None) -> object:
        """Look up NS records."""

    def lookupCanonicalName(name: bytes | str, timeout: object = None) -> object:
        """Look up CNAME records."""

    def lookupPointer(name: bytes | str, timeout: object = None) -> object:
        """Look up PTR records."""

    def lookupAuthority(name: bytes | str, timeout: object = None) -> object:
        """Look up SOA records."""

    def lookupText(name: bytes | str, timeout: object = None) -> object:
        """Look up TXT records."""

    def lookupService(name: bytes | str, timeout: object = None) -> object:
        """Look up SRV records."""

    def lookupAllRecords(name: bytes | str, timeout: object = None) -> object:
        """Ask for all records (type ANY, which servers may answer minimally)."""

    def lookupZone(name: bytes | str, timeout: object = None) -> object:
        """Transfer a whole zone (AXFR)."""
