"""Errors of the XML stream parser. Their messages never contain the peer's bytes."""

from __future__ import annotations

import enum


class ParserErrorKind(enum.Enum):
    """Why a stream was refused; each value is the RFC 6120 stream error condition to send."""

    #: Not well-formed XML, or not UTF-8.
    NOT_WELL_FORMED = "not-well-formed"
    #: XML that XMPP forbids: a DTD, entity declarations, processing instructions, comments.
    RESTRICTED_XML = "restricted-xml"
    #: Over a :class:`Limits` bound (depth, attributes, stanza size).
    POLICY_VIOLATION = "policy-violation"


class ParserError(Exception):
    """The stream cannot be parsed any further (Twisted's ``domish.ParserError``).

    :ivar kind: why, as a :class:`ParserErrorKind`.
    """

    def __init__(self, message: str, kind: ParserErrorKind = ParserErrorKind.NOT_WELL_FORMED):
        super().__init__(message)
        self.kind = kind
