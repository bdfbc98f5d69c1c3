"""A sans-I/O IRC codec: framing, message tags, CTCP, mIRC formatting, ISUPPORT and the
client's capability negotiation. Nothing here imports glisten's core; the protocols in
:mod:`glisten.words.protocols.irc` adapt it to transports."""

from glisten.words.protocols._irc._cap import (
    CapabilitiesAcknowledged,
    CapabilitiesAdded,
    CapabilitiesAvailable,
    CapabilitiesRejected,
    CapabilitiesRemoved,
    CapState,
    ClientCapabilities,
    NegotiationDone,
    SASLFailed,
    SASLSucceeded,
    parseCapList,
    saslChunks,
    saslPlainPayload,
)
from glisten.words.protocols._irc._codec import (
    LineDecoder,
    decodeText,
    escapeTagValue,
    parseLine,
    parseTags,
    serializeMessage,
    serializeTags,
    splitUTF8,
    unescapeTagValue,
)
from glisten.words.protocols._irc._errors import IRCBadMessage, IRCBadModes, IRCLocalError
from glisten.words.protocols._irc._events import BadLine, BadLineKind, Event, Message
from glisten.words.protocols._irc._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "BadLine",
    "BadLineKind",
    "CapState",
    "CapabilitiesAcknowledged",
    "CapabilitiesAdded",
    "CapabilitiesAvailable",
    "CapabilitiesRejected",
    "CapabilitiesRemoved",
    "ClientCapabilities",
    "Event",
    "IRCBadMessage",
    "IRCBadModes",
    "IRCLocalError",
    "LineDecoder",
    "Limits",
    "Message",
    "NegotiationDone",
    "SASLFailed",
    "SASLSucceeded",
    "decodeText",
    "escapeTagValue",
    "parseCapList",
    "parseLine",
    "parseTags",
    "saslChunks",
    "saslPlainPayload",
    "serializeMessage",
    "serializeTags",
    "splitUTF8",
    "unescapeTagValue",
]
