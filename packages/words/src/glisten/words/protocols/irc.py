"""IRC: the client (:class:`IRCClient`), the server-side connection (:class:`IRC`), the
message codec, CTCP quoting and mIRC formatting, under Twisted's names
(``twisted.words.protocols.irc``).

Differences from Twisted, on purpose:

- Lines are never low-level quoted (``\\x10`` escapes) on the wire; current clients and
  servers do not use it. :func:`lowQuote` and :func:`lowDequote` remain for callers.
- Received lines are parsed strictly: NUL bytes, over-long lines (512 bytes of body, 8191 of
  IRCv3 tags), malformed tags, prefixes and commands are refused, not passed on.
- :meth:`IRCClient.msg` splits at UTF-8 byte boundaries, never inside a character.
- IRCv3 capability negotiation, SASL, message tags and batches are supported.
- DCC: receiving files (``dcc_SEND``, ``dccDoSend``, :class:`DccFileReceive`) with the
  offered name reduced to a safe base name inside the download folder; sending them
  (:meth:`IRCClient.dccSend`, which Twisted leaves unfinished) and chats (``dcc_CHAT``,
  ``dccDoChat``, :meth:`IRCClient.dccChat`, :class:`DccChat`), and RESUME/ACCEPT for
  offers made with ``dccSend``. Offers received are never acted on by default.
"""

from __future__ import annotations

import builtins

from glisten.words.protocols._irc import (
    DEFAULT_LIMITS,
    BadLine,
    BadLineKind,
    ClientCapabilities,
    IRCBadMessage,
    IRCBadModes,
    IRCLocalError,
    Limits,
    LineDecoder,
    Message,
    parseLine,
    splitUTF8,
)
from glisten.words.protocols._irc._ctcp import (
    M_QUOTE,
    X_DELIM,
    X_QUOTE,
    ctcpDequote,
    ctcpExtract,
    ctcpQuote,
    ctcpStringify,
    lowDequote,
    lowQuote,
)
from glisten.words.protocols._irc._dcc import (
    dccDescribeAddress,
    dccParseAddress,
    formatDccSend,
    parseDccChat,
    parseDccPassiveChat,
    parseDccPassiveReply,
    parseDccPassiveResume,
    parseDccPassiveSend,
    parseDccResume,
    parseDccSend,
    safeFileName,
)
from glisten.words.protocols._irc._formatting import (
    assembleFormattedText,
    attributes,
    parseFormattedText,
    stripFormatting,
)
from glisten.words.protocols._irc._isupport import ServerSupportedFeatures
from glisten.words.protocols._irc._modes import parseModes
from glisten.words.protocols._irc._numerics import numeric_to_symbolic, symbolic_to_numeric
from glisten.words.protocols._ircclient import (
    CHANNEL_PREFIXES,
    Batch,
    IRCClient,
    IRCPasswordMismatch,
)
from glisten.words.protocols._ircdcc import (
    DccChat,
    DccChatFactory,
    DccFileReceive,
    DccFileReceiveBasic,
    DccFileReceiveFactory,
    DccSendFactory,
    DccSendProtocol,
    fileSize,
)
from glisten.words.protocols._ircserver import IRC

NL = "\n"
CR = "\r"
LF = "\n"
SPC = " "
MAX_COMMAND_LENGTH = 512

__all__ = [
    "CHANNEL_PREFIXES",
    "CR",
    "DEFAULT_LIMITS",
    "IRC",
    "LF",
    "MAX_COMMAND_LENGTH",
    "M_QUOTE",
    "NL",
    "SPC",
    "X_DELIM",
    "X_QUOTE",
    "BadLine",
    "BadLineKind",
    "Batch",
    "ClientCapabilities",
    "DccChat",
    "DccChatFactory",
    "DccFileReceive",
    "DccFileReceiveBasic",
    "DccFileReceiveFactory",
    "DccSendFactory",
    "DccSendProtocol",
    "IRCBadMessage",
    "IRCBadModes",
    "IRCClient",
    "IRCLocalError",
    "IRCPasswordMismatch",
    "LineDecoder",
    "Limits",
    "Message",
    "ServerSupportedFeatures",
    "assembleFormattedText",
    "attributes",
    "ctcpDequote",
    "dccDescribeAddress",
    "dccParseAddress",
    "fileSize",
    "formatDccSend",
    "parseDccChat",
    "parseDccPassiveChat",
    "parseDccPassiveReply",
    "parseDccPassiveResume",
    "parseDccPassiveSend",
    "parseDccResume",
    "parseDccSend",
    "safeFileName",
    "ctcpExtract",
    "ctcpQuote",
    "ctcpStringify",
    "lowDequote",
    "lowQuote",
    "numeric_to_symbolic",
    "parseModes",
    "parsemsg",
    "split",
    "stripFormatting",
    "parseFormattedText",
    "symbolic_to_numeric",
]

# Twisted's module-level numeric constants: RPL_WELCOME = "001", ...
globals().update(symbolic_to_numeric)
__all__ += list(symbolic_to_numeric)


def parsemsg(s: str) -> tuple[str, str, list[str]]:
    """Parse one line into ``(prefix, command, params)``; the prefix is ``""`` when absent.

    :raises IRCBadMessage: the line is empty, malformed, too long or contains NUL.
    """
    if not s.strip():
        raise IRCBadMessage("Empty line.")
    event = parseLine(s.rstrip("\r\n").encode("utf-8"))
    if isinstance(event, BadLine):
        raise IRCBadMessage(event.message)
    return event.prefix or "", event.command, event.params


def split(str: builtins.str, length: int = 80) -> list[builtins.str]:
    """Split text into lines of at most ``length`` UTF-8 bytes, at newlines, then at
    spaces where possible, never inside a character."""
    out: list[builtins.str] = []
    for line in str.split("\n"):
        out.extend(piece.rstrip(" ") or piece for piece in splitUTF8(line, max(length, 4)))
    return out
