"""Bounds on what a Telnet peer may send."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """
    :ivar maxSubnegotiationLength: the longest subnegotiation payload (option byte excluded,
        IAC escapes removed); terminal types and environments are small, so a peer that
        sends more is either broken or trying to make us buffer without end.
    """

    maxSubnegotiationLength: int = 8192
