"""Errors of the scp codec."""

from __future__ import annotations


class SCPProtocolError(Exception):
    """
    The peer broke the scp record format or order; the transfer must end.

    The message is ours, never the peer's bytes, so it is safe to log and to send back.
    """
