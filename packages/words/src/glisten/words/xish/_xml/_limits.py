"""Limits of the XML stream parser: what a peer may send before the stream is refused."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Bounds on one XML stream.

    :ivar maxDepth: element nesting, the stream's root element counting as 1.
    :ivar maxAttributes: attributes (namespace declarations included) on one element.
    :ivar maxStanzaSize: bytes of one top-level child of the root (a stanza), and bytes the
        parser may hold outside a stanza (an unfinished tag, whitespace).
    """

    maxDepth: int = 64
    maxAttributes: int = 64
    maxStanzaSize: int = 1 << 20


DEFAULT_LIMITS = Limits()
