"""
User authentication (RFC 4252) as a sans-IO machine for the server side, and the message
encoders both sides use.

:class:`UserAuthServerMachine` decodes requests into events, keeps one request in flight,
counts failures and builds the data a public key signature must cover.
"""

from __future__ import annotations

import attrs

from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    DISCONNECT_PROTOCOL_ERROR,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._wire import Reader, boolean, string

MSG_USERAUTH_REQUEST = 50
MSG_USERAUTH_FAILURE = 51
MSG_USERAUTH_SUCCESS = 52
MSG_USERAUTH_BANNER = 53
MSG_USERAUTH_PK_OK = 60
MSG_USERAUTH_PASSWD_CHANGEREQ = 60

Packet = tuple[int, bytes]


@attrs.define(slots=True)
class AuthRequest:
    """
    A login attempt.

    :ivar method: ``b"none"``, ``b"password"``, ``b"publickey"`` or another name.
    :ivar password: for ``password``.
    :ivar algorithm: for ``publickey``: the signature algorithm.
    :ivar blob: for ``publickey``: the public key blob.
    :ivar signature: for ``publickey``: the signature, ``None`` for the query step.
    :ivar signedData: for ``publickey`` with a signature: what it must cover.
    """

    username: bytes
    service: bytes
    method: bytes
    password: bytes | None = None
    algorithm: bytes | None = None
    blob: bytes | None = None
    signature: bytes | None = None
    signedData: bytes | None = None


def publicKeySignedData(
    sessionID: bytes, username: bytes, service: bytes, algorithm: bytes, blob: bytes
) -> bytes:
    """What a ``publickey`` request's signature covers (RFC 4252 section 7)."""
    return (
        string(sessionID)
        + bytes((MSG_USERAUTH_REQUEST,))
        + string(username)
        + string(service)
        + string(b"publickey")
        + boolean(True)
        + string(algorithm)
        + string(blob)
    )


def encodeRequest(username: bytes, service: bytes, method: bytes, data: bytes = b"") -> Packet:
    """A USERAUTH_REQUEST (client)."""
    return MSG_USERAUTH_REQUEST, string(username) + string(service) + string(method) + data


def encodePassword(password: bytes) -> bytes:
    """The method-specific part of a ``password`` request."""
    return boolean(False) + string(password)


def encodePublicKey(algorithm: bytes, blob: bytes, signature: bytes | None) -> bytes:
    """The method-specific part of a ``publickey`` request (a query without signature)."""
    data = boolean(signature is not None) + string(algorithm) + string(blob)
    if signature is not None:
        data += string(signature)
    return data


class UserAuthServerMachine:
    """
    The server side of RFC 4252.

    :param sessionID: the transport's session identifier.
    :param maxAttempts: failed attempts (``none`` and key queries excluded) before disconnect.
    """

    def __init__(self, sessionID: bytes, maxAttempts: int = 20) -> None:
        self.sessionID = sessionID
        self.maxAttempts = maxAttempts
        self.failures = 0
        self.inFlight = False
        self.done = False

    def receive(self, messageType: int, payload: bytes) -> AuthRequest:
        """
        Decode a client message.

        :raises SSHProtocolError: not a request, malformed, or sent while another is pending.
        """
        if messageType != MSG_USERAUTH_REQUEST or self.done:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected authentication message")
        if self.inFlight:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "authentication request while busy")
        r = Reader(payload, maxString=65536)
        username = r.string()
        service = r.string()
        method = r.string()
        request = AuthRequest(username, service, method)
        if method == b"password":
            if r.boolean():
                raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "password change not supported")
            request.password = r.string()
            r.done()
        elif method == b"publickey":
            hasSignature = r.boolean()
            request.algorithm = r.string()
            request.blob = r.string()
            if hasSignature:
                request.signature = r.string()
                request.signedData = publicKeySignedData(
                    self.sessionID, username, service, request.algorithm, request.blob
                )
            r.done()
        self.inFlight = True
        return request

    def failure(self, methods: list[bytes], partial: bool = False, counts: bool = True) -> Packet:
        """
        Answer the request in flight with a failure.

        :param counts: whether it counts against the attempt limit.
        :raises SSHProtocolError: the attempt limit is reached (after this failure).
        """
        self.inFlight = False
        if counts:
            self.failures += 1
            if self.failures >= self.maxAttempts:
                raise SSHProtocolError(
                    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures"
                )
        return MSG_USERAUTH_FAILURE, string(b",".join(methods)) + boolean(partial)

    def publicKeyOK(self, algorithm: bytes, blob: bytes) -> Packet:
        """Answer a key query: this key would do."""
        self.inFlight = False
        return MSG_USERAUTH_PK_OK, string(algorithm) + string(blob)

    def success(self) -> Packet:
        """The user is in; the machine accepts nothing more."""
        self.inFlight = False
        self.done = True
        return MSG_USERAUTH_SUCCESS, b""

    def banner(self, message: str) -> Packet:
        """A banner to show the user."""
        return MSG_USERAUTH_BANNER, string(message.encode("utf-8")) + string(b"")


def decodeFailure(payload: bytes) -> tuple[list[bytes], bool]:
    """Client: a USERAUTH_FAILURE's methods that can continue and its partial-success flag."""
    r = Reader(payload)
    methods = r.nameList()
    partial = r.boolean()
    return methods, partial


def decodeBanner(payload: bytes) -> bytes:
    """Client: a banner's text (the peer's bytes: show, never interpret)."""
    return Reader(payload, maxString=65536).string()


__all__ = [
    "AuthRequest",
    "UserAuthServerMachine",
    "decodeBanner",
    "decodeFailure",
    "encodePassword",
    "encodePublicKey",
    "encodeRequest",
    "publicKeySignedData",
]
