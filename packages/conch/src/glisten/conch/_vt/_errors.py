"""Errors of the terminal codecs; messages never contain the peer's bytes."""

from __future__ import annotations


class TerminalProtocolError(Exception):
    """A terminal stream broke a limit (an endless control sequence or paste)."""
