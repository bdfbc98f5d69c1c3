"""Errors of the sans-I/O IMAP4 codec.

Their texts are fixed: they never echo the peer's bytes, so a hostile peer cannot put text
of its choice into logs or replies.
"""

from __future__ import annotations


class IMAPParseError(Exception):
    """A command (or a response) that IMAP's grammar does not allow; a server answers it
    with a tagged ``BAD``."""


class LocalProtocolError(Exception):
    """The application asked the codec for something IMAP does not allow now."""
