"""Interfaces of glisten.names.

``IResolver`` is core's :class:`glisten.internet.interfaces.IResolver` (where Twisted keeps
it), re-exported here: one interface, so a resolver from this package provides the interface a
program imports from either place. The record interfaces belong to the wire layer.
"""

from __future__ import annotations

from glisten.internet.interfaces import IResolver
from glisten.names._wire._interfaces import IEncodable, IRecord

__all__ = ["IEncodable", "IRecord", "IResolver"]
