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
from glisten.conch.ssh._ssh._wire import Reader, boolean, string, uint32

MSG_USERAUTH_REQUEST = 50
MSG_USERAUTH_FAILURE = 51
MSG_USERAUTH_SUCCESS = 52
MSG_USERAUTH_BANNER = 53
MSG_USERAUTH_PK_OK = 60
MSG_USERAUTH_PASSWD_CHANGEREQ = 60
MSG_USERAUTH_INFO_REQUEST = 60
MSG_USERAUTH_INFO_RESPONSE = 61

#: The most prompts one keyboard-interactive round may carry (RFC 4256 sets no bound).
MAX_PROMPTS = 32

Packet = tuple[int, bytes]


@attrs.define(slots=True)
class AuthRequest:
    """
    A login attempt.

    :ivar method: ``b"none"``, ``b"password"``, ``b"publickey"`` or another name.
    :ivar password: for ``password`` (the old password of a change request).
    :ivar newPassword: for a ``password`` request that changes the password (RFC 4252
        section 8): the new one.
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
    submethods: bytes | None = None
    newPassword: bytes | None = None


@attrs.define(slots=True)
class InfoResponse:
    """
    The client's answers to a keyboard-interactive INFO_REQUEST (RFC 4256 section 3.4).

    :ivar responses: one answer per prompt, in order (UTF-8 by the RFC; not checked here).
    """

    responses: list[bytes]


@attrs.define(slots=True, frozen=True)
class InfoRequest:
    """
    A keyboard-interactive INFO_REQUEST as the client receives it (all the peer's text).

    :ivar prompts: ``(prompt, echo)`` pairs: ``echo`` is false for secrets.
    """

    name: bytes
    instruction: bytes
    prompts: list[tuple[bytes, bool]]


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


def encodePasswordChange(old: bytes, new: bytes) -> bytes:
    """The method-specific part of a ``password`` request that changes the password (RFC 4252
    section 8), the answer to a PASSWD_CHANGEREQ."""
    return boolean(True) + string(old) + string(new)


def decodePasswordChangeRequest(payload: bytes) -> bytes:
    """
    Client: decode a USERAUTH_PASSWD_CHANGEREQ; the server's prompt (its text: show it,
    never interpret it). The language tag is read and dropped.

    :raises SSHProtocolError: malformed.
    """
    r = Reader(payload, maxString=65536)
    prompt = r.string()
    r.string()
    r.done()
    return prompt


def encodeKeyboardInteractive(submethods: bytes = b"") -> bytes:
    """The method-specific part of a ``keyboard-interactive`` request (RFC 4256 section 3.1)."""
    return string(b"") + string(submethods)


def encodeInfoResponse(responses: list[bytes]) -> Packet:
    """A USERAUTH_INFO_RESPONSE (client): one answer per prompt."""
    return MSG_USERAUTH_INFO_RESPONSE, uint32(len(responses)) + b"".join(
        string(r) for r in responses
    )


def decodeInfoRequest(payload: bytes) -> InfoRequest:
    """
    Client: decode a USERAUTH_INFO_REQUEST.

    :raises SSHProtocolError: malformed, or more than :data:`MAX_PROMPTS` prompts.
    """
    r = Reader(payload, maxString=65536)
    name = r.string()
    instruction = r.string()
    r.string()  # language tag (deprecated by RFC 4256)
    count = r.uint32()
    if count > MAX_PROMPTS:
        raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "too many prompts")
    prompts = [(r.string(), r.boolean()) for _ in range(count)]
    r.done()
    return InfoRequest(name, instruction, prompts)


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
        self.expectedResponses: int | None = None

    def receive(self, messageType: int, payload: bytes) -> AuthRequest | InfoResponse:
        """
        Decode a client message: a request, or the answers to :meth:`infoRequest`.

        A new request while answers are awaited abandons the keyboard-interactive exchange,
        which counts as a failed attempt (so abandoning cannot dodge the attempt limit).

        :raises SSHProtocolError: not a request, malformed, answers nobody asked for or with
            the wrong count, a request sent while another is pending, or the attempt limit.
        """
        if self.done:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected authentication message")
        if messageType == MSG_USERAUTH_INFO_RESPONSE and self.expectedResponses is not None:
            r = Reader(payload, maxString=65536)
            count = r.uint32()
            if count != self.expectedResponses:
                raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "wrong number of responses")
            responses = [r.string() for _ in range(count)]
            r.done()
            self.expectedResponses = None
            return InfoResponse(responses)
        if messageType != MSG_USERAUTH_REQUEST:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected authentication message")
        if self.expectedResponses is not None:
            self.expectedResponses = None
            self.failure([], counts=True)
        if self.inFlight:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "authentication request while busy")
        r = Reader(payload, maxString=65536)
        username = r.string()
        service = r.string()
        method = r.string()
        request = AuthRequest(username, service, method)
        if method == b"password":
            change = r.boolean()
            request.password = r.string()
            if change:
                request.newPassword = r.string()
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
        elif method == b"keyboard-interactive":
            r.string()  # language tag (deprecated by RFC 4256)
            request.submethods = r.string()
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

    def infoRequest(self, name: str, instruction: str, prompts: list[tuple[str, bool]]) -> Packet:
        """
        Ask the client of the keyboard-interactive request in flight to answer ``prompts``.

        :param prompts: ``(prompt, echo)`` pairs; ``echo`` false hides the answer as it is typed.
        """
        if not self.inFlight or len(prompts) > MAX_PROMPTS:
            raise ValueError("no request in flight, or too many prompts")
        self.expectedResponses = len(prompts)
        body = string(name.encode("utf-8")) + string(instruction.encode("utf-8")) + string(b"")
        body += uint32(len(prompts))
        for prompt, echo in prompts:
            body += string(prompt.encode("utf-8")) + boolean(echo)
        return MSG_USERAUTH_INFO_REQUEST, body

    def passwordChangeRequest(self, prompt: str, counts: bool = False) -> Packet:
        """
        Answer the ``password`` request in flight with PASSWD_CHANGEREQ: the password is right
        but a new one is needed (RFC 4252 section 8).

        :param counts: whether it counts against the attempt limit (a refused new password
            does, so a client cannot try new passwords without end).
        :raises SSHProtocolError: the attempt limit is reached.
        """
        self.failure([], counts=counts)
        return MSG_USERAUTH_PASSWD_CHANGEREQ, string(prompt.encode("utf-8")) + string(b"")

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
    "InfoRequest",
    "InfoResponse",
    "UserAuthServerMachine",
    "decodeBanner",
    "decodeFailure",
    "decodeInfoRequest",
    "encodeInfoResponse",
    "encodeKeyboardInteractive",
    "encodePassword",
    "encodePublicKey",
    "encodeRequest",
    "publicKeySignedData",
]
