"""
The SSH agent protocol's framing (``uint32 length``, ``byte type``, body) and the bodies of
its messages, for both the client and the agent side.

A length of zero or beyond :attr:`Limits.maxMessageLength` is an :class:`AgentProtocolError`
(the connection ends); a body that does not decode is one too, since the protocol has no way
to say which request failed other than in order. An identity list claiming more keys than
:attr:`Limits.maxKeys` (or more than its bytes could hold) is refused the same way.
"""

from __future__ import annotations

import struct

import attrs

from glisten.conch.ssh._agent._destinations import (
    RESTRICT_DESTINATION,
    DestinationConstraint,
    packDestinations,
    parseDestinations,
)
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint32

SSH_AGENT_FAILURE = 5
SSH_AGENT_SUCCESS = 6
SSH_AGENTC_REQUEST_IDENTITIES = 11
SSH_AGENT_IDENTITIES_ANSWER = 12
SSH_AGENTC_SIGN_REQUEST = 13
SSH_AGENT_SIGN_RESPONSE = 14
SSH_AGENTC_ADD_IDENTITY = 17
SSH_AGENTC_REMOVE_IDENTITY = 18
SSH_AGENTC_REMOVE_ALL_IDENTITIES = 19
SSH_AGENTC_LOCK = 22
SSH_AGENTC_UNLOCK = 23
SSH_AGENTC_ADD_ID_CONSTRAINED = 25
SSH_AGENTC_EXTENSION = 27

SSH_AGENT_CONSTRAIN_LIFETIME = 1
SSH_AGENT_CONSTRAIN_CONFIRM = 2
SSH_AGENT_CONSTRAIN_EXTENSION = 255

SSH_AGENT_RSA_SHA2_256 = 2
SSH_AGENT_RSA_SHA2_512 = 4

_U32 = struct.Struct(">I")


class AgentProtocolError(Exception):
    """The peer broke the agent protocol; the message is ours, never the peer's bytes."""


@attrs.frozen
class Limits:
    """
    :ivar maxMessageLength: the largest message accepted (OpenSSH's agent allows 256 KiB).
    :ivar maxKeys: identities in one answer, and keys an agent holds.
    :ivar maxPending: requests an agent holds while it waits for a confirmation.
    :ivar maxDestinations: hops in one key's destination constraint (``ssh-add -h``).
    :ivar maxSessionBindings: ``session-bind@openssh.com`` bindings of one agent connection
        (hops of agent forwarding; OpenSSH's agent keeps 16).
    """

    maxMessageLength: int = 256 * 1024
    maxKeys: int = 1024
    maxPending: int = 64
    maxDestinations: int = 1024
    maxSessionBindings: int = 16


@attrs.define(slots=True)
class AgentMessage:
    """One framed message: its type and body."""

    kind: int
    body: bytes


class AgentCodec:
    """Frames agent messages in both directions."""

    __slots__ = ("_buffer", "limits")

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buffer = bytearray()

    def receiveData(self, data: bytes) -> list[AgentMessage]:
        """
        Feed bytes from the connection.

        :raises AgentProtocolError: a lying length.
        """
        buf = self._buffer
        buf += data
        messages = []
        offset = 0
        while len(buf) - offset >= 4:
            (length,) = _U32.unpack_from(buf, offset)
            if length == 0 or length > self.limits.maxMessageLength:
                del buf[:]
                raise AgentProtocolError("bad agent message length")
            if len(buf) - offset - 4 < length:
                break
            messages.append(
                AgentMessage(buf[offset + 4], bytes(buf[offset + 5 : offset + 4 + length]))
            )
            offset += 4 + length
        del buf[:offset]
        return messages

    @staticmethod
    def send(kind: int, body: bytes = b"") -> bytes:
        """One framed message."""
        return _U32.pack(len(body) + 1) + bytes([kind]) + body

    # ------------------------------------------------------------------ bodies

    def parseIdentities(self, body: bytes) -> list[tuple[bytes, bytes]]:
        """An ``IDENTITIES_ANSWER``: ``(key blob, comment)`` pairs."""
        r = Reader(body, maxString=self.limits.maxMessageLength)
        try:
            count = r.uint32()
            # Each identity takes at least two length fields.
            if count > self.limits.maxKeys or count * 8 > r.remaining():
                raise AgentProtocolError("absurd identity count")
            identities = [(r.string(), r.string()) for _ in range(count)]
            r.done()
        except DecodeError:
            raise AgentProtocolError("malformed identity list") from None
        return identities

    @staticmethod
    def packIdentities(identities: list[tuple[bytes, bytes]]) -> bytes:
        """The body of an ``IDENTITIES_ANSWER``."""
        return uint32(len(identities)) + b"".join(string(b) + string(c) for b, c in identities)

    def parseSignRequest(self, body: bytes) -> tuple[bytes, bytes, int]:
        """A ``SIGN_REQUEST``: key blob, data, flags."""
        r = Reader(body, maxString=self.limits.maxMessageLength)
        try:
            blob, data = r.string(), r.string()
            flags = r.uint32() if r.remaining() else 0
            r.done()
        except DecodeError:
            raise AgentProtocolError("malformed sign request") from None
        return blob, data, flags

    @staticmethod
    def packSignRequest(blob: bytes, data: bytes, flags: int) -> bytes:
        """The body of a ``SIGN_REQUEST``."""
        return string(blob) + string(data) + uint32(flags)

    @staticmethod
    def parseConstraints(
        r: Reader, maxDestinations: int = 1024
    ) -> tuple[bool, int | None, tuple[DestinationConstraint, ...]]:
        """
        The constraints ending an ``ADD_ID_CONSTRAINED``: ``(confirm, lifetime seconds,
        destination constraints)`` (``ssh-add -c``, ``-t`` and ``-h``).

        :raises ValueError: a constraint we cannot keep (another extension), one given twice,
            or a malformed list; the key must then be refused.
        """
        confirm = False
        lifetime: int | None = None
        destinations: tuple[DestinationConstraint, ...] = ()
        try:
            while r.remaining():
                kind = r.byte()
                if kind == SSH_AGENT_CONSTRAIN_LIFETIME and lifetime is None:
                    lifetime = r.uint32()
                elif kind == SSH_AGENT_CONSTRAIN_CONFIRM and not confirm:
                    confirm = True
                elif kind == SSH_AGENT_CONSTRAIN_EXTENSION and not destinations:
                    if r.string() != RESTRICT_DESTINATION:
                        raise ValueError("unsupported key constraint extension")
                    destinations = parseDestinations(r.string(), maxDestinations)
                else:
                    raise ValueError("unsupported or repeated key constraint")
        except DecodeError:
            raise ValueError("malformed key constraints") from None
        return confirm, lifetime, destinations

    @staticmethod
    def packConstraints(
        confirm: bool,
        lifetime: int | None,
        destinations: tuple[DestinationConstraint, ...] = (),
    ) -> bytes:
        """The constraints of an ``ADD_ID_CONSTRAINED``."""
        out = b""
        if lifetime is not None:
            out += bytes([SSH_AGENT_CONSTRAIN_LIFETIME]) + uint32(lifetime)
        if confirm:
            out += bytes([SSH_AGENT_CONSTRAIN_CONFIRM])
        if destinations:
            out += (
                bytes([SSH_AGENT_CONSTRAIN_EXTENSION])
                + string(RESTRICT_DESTINATION)
                + string(packDestinations(destinations))
            )
        return out

    def parseString(self, body: bytes) -> bytes:
        """A body that is one ``string`` (``SIGN_RESPONSE``, ``REMOVE_IDENTITY``)."""
        r = Reader(body, maxString=self.limits.maxMessageLength)
        try:
            value = r.string()
            r.done()
        except DecodeError:
            raise AgentProtocolError("malformed agent message") from None
        return value
