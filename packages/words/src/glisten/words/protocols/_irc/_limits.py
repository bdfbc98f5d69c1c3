"""Size limits of the IRC codec (RFC 1459 section 2.3, IRCv3 message-tags)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """What a peer may send before its line is refused.

    :ivar maxBodyLength: bytes of a line after its tags, line ending included (RFC 1459: 512).
    :ivar maxTagsLength: bytes of the tags section, ``@`` and the space after it included
        (IRCv3 message-tags: 8191 for what a client receives).
    :ivar maxParams: parameters before the rest of the line becomes the last one (RFC 2812: 15).
    """

    maxBodyLength: int = 512
    maxTagsLength: int = 8191
    maxParams: int = 15


DEFAULT_LIMITS = Limits()
