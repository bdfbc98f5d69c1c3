"""The codec's own errors: every malformed frame or packet raises one of these.

They subclass :class:`ValueError`, so callers that only know "bad input" can catch that. Messages
name the layer and the sizes involved, never the peer's bytes.
"""

from __future__ import annotations


class MalformedPacket(ValueError):
    """A frame or packet that cannot be decoded; the base of every codec error."""


class TruncatedPacket(MalformedPacket):
    """A header or a length field claims more bytes than the frame holds."""


class ChecksumError(MalformedPacket):
    """A checksum does not match the bytes it covers."""


class LimitExceeded(MalformedPacket):
    """The input passes one of the codec's :class:`~glisten.pair._wire._limits.Limits`."""


class UnsupportedPacket(MalformedPacket):
    """Well-formed perhaps, but of a kind this codec does not decode (an IP version, an ARP
    hardware type)."""
