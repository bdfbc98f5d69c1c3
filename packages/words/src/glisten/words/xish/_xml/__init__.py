"""Sans-I/O XML for XMPP: the element tree, its serialiser and a guarded incremental stream
parser on expat. Nothing here imports glisten's core: bytes in, elements or events out."""

from __future__ import annotations

from ._element import (
    G_PREFIXES,
    Element,
    SerializedXML,
    escapeToXml,
    serialize,
    unescapeFromXml,
)
from ._errors import ParserError, ParserErrorKind
from ._events import ElementReceived, Event, StreamEnded, StreamStarted
from ._limits import DEFAULT_LIMITS, Limits
from ._parser import StreamParser

__all__ = [
    "DEFAULT_LIMITS",
    "G_PREFIXES",
    "Element",
    "ElementReceived",
    "Event",
    "Limits",
    "ParserError",
    "ParserErrorKind",
    "SerializedXML",
    "StreamEnded",
    "StreamParser",
    "StreamStarted",
    "escapeToXml",
    "serialize",
    "unescapeFromXml",
]
