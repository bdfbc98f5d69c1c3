"""Errors of the Telnet codec. Messages are ours, never the peer's bytes."""

from __future__ import annotations


class TelnetProtocolError(Exception):
    """The peer broke the protocol or a limit; the connection should be closed."""


class NegotiationStateError(Exception):
    """
    A local request that the option's negotiation state does not allow.

    :ivar reason: ``"enabled"``, ``"disabled"`` or ``"negotiating"``.
    :ivar option: the option code.
    """

    def __init__(self, option: int, reason: str) -> None:
        super().__init__(f"option {option} is already {reason}")
        self.option = option
        self.reason = reason
