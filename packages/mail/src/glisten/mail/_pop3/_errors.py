"""Errors of the sans-I/O POP3 codec.

Their messages are fixed texts: they never echo the peer's bytes, so a hostile peer cannot
put text of its choice into logs.
"""

from __future__ import annotations


class POP3ProtocolError(Exception):
    """The peer broke POP3 in a way the codec cannot go on from (a reply line too long, a
    response that is neither ``+OK`` nor ``-ERR``, too much unanswered input)."""


class LocalProtocolError(Exception):
    """The application asked the codec for something POP3 does not allow now, such as
    answering a command nobody sent."""
