"""The record interfaces of the wire layer (re-exported by :mod:`glisten.names.interfaces`)."""

from __future__ import annotations

from typing import IO

from zope.interface import Attribute, Interface

__all__ = ["IEncodable", "IRecord"]


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
