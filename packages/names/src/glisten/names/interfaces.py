"""Interfaces of glisten.names.

``IResolver`` is core's :class:`glisten.internet.interfaces.IResolver` (where Twisted keeps
it), re-exported here: one interface, so a resolver from this package provides the interface a
program imports from either place.
"""

from __future__ import annotations

from typing import IO

from zope.interface import Attribute, Interface

from glisten.internet.interfaces import IResolver

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
