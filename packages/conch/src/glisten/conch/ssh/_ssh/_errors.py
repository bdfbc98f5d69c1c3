"""Errors of the SSH core and the disconnect reason codes of RFC 4253 section 11.1."""

from __future__ import annotations

DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT = 1
DISCONNECT_PROTOCOL_ERROR = 2
DISCONNECT_KEY_EXCHANGE_FAILED = 3
DISCONNECT_RESERVED = 4
DISCONNECT_MAC_ERROR = 5
DISCONNECT_COMPRESSION_ERROR = 6
DISCONNECT_SERVICE_NOT_AVAILABLE = 7
DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED = 8
DISCONNECT_HOST_KEY_NOT_VERIFIABLE = 9
DISCONNECT_CONNECTION_LOST = 10
DISCONNECT_BY_APPLICATION = 11
DISCONNECT_TOO_MANY_CONNECTIONS = 12
DISCONNECT_AUTH_CANCELLED_BY_USER = 13
DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE = 14
DISCONNECT_ILLEGAL_USER_NAME = 15


class SSHProtocolError(Exception):
    """
    The peer broke the protocol; the connection must end with a DISCONNECT.

    The message is ours, never the peer's bytes, so it is safe to send and to log.

    :ivar reasonCode: the RFC 4253 disconnect reason code to send.
    """

    def __init__(self, reasonCode: int, message: str) -> None:
        super().__init__(message)
        self.reasonCode = reasonCode
        self.message = message


class DecodeError(SSHProtocolError):
    """A message did not decode (truncated, trailing bytes, a bad field)."""

    def __init__(self, message: str = "malformed message") -> None:
        super().__init__(DISCONNECT_PROTOCOL_ERROR, message)
