"""What the decoders accept."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Bounds on what a decoder accepts; past them it raises
    :class:`~glisten.pair._wire._errors.LimitExceeded`.

    :ivar maxFrameSize: Largest frame or packet handed to a decoder, in bytes.
    :ivar maxVLANTags: Most stacked 802.1Q/802.1ad tags in one Ethernet frame.
    :ivar maxIPv6ExtensionHeaders: Most IPv6 extension headers walked before the upper layer;
        the walk is the one place where a small packet could make a decoder loop for long.
    :ivar verifyChecksums: Check IPv4 header, UDP, ICMP and ICMPv6 checksums on decode.
    """

    maxFrameSize: int = 65535 + 4 + 18
    maxVLANTags: int = 2
    maxIPv6ExtensionHeaders: int = 8
    verifyChecksums: bool = True


#: The limits used when none are given.
DEFAULT_LIMITS = Limits()
