"""Errors of the sans-I/O SMTP codec.

Messages are short and fixed: they never echo the peer's bytes, so a hostile peer cannot put
text of its choice into logs or replies.
"""

from __future__ import annotations


class SMTPProtocolError(Exception):
    """The peer broke SMTP in a way the codec cannot answer and go on from.

    :ivar code: The reply code a server should send before closing (``0`` on the client side).
    :ivar message: A short explanation for logs.
    """

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LocalProtocolError(Exception):
    """The local side (the application) asked the codec for something SMTP does not allow
    now, such as accepting a recipient no ``RCPT`` asked for."""
