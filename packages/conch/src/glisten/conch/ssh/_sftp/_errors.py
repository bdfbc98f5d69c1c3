"""Errors of the SFTP codec."""

from __future__ import annotations


class SFTPProtocolError(Exception):
    """
    The peer broke the SFTP framing or order; the session must end.

    The message is ours, never the peer's bytes, so it is safe to log.
    """
