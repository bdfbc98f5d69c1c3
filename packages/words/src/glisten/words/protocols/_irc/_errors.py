"""Errors of the IRC codec. None of their messages ever contain the peer's bytes."""

from __future__ import annotations


class IRCBadMessage(Exception):
    """A message could not be parsed, or cannot be written because it would break framing."""


class IRCLocalError(IRCBadMessage, ValueError):
    """The local side asked to send something IRC cannot carry (a CR, LF or NUL inside a
    parameter, a space inside a middle parameter, an over-long line)."""


class IRCBadModes(ValueError):
    """A mode string could not be parsed against the modes the server announced."""
