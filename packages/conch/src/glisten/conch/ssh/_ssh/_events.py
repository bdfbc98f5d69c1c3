"""Events the SSH transport state machine hands to its adapter."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.define(slots=True)
class VersionReceived:
    """The peer's identification line (without CR LF) arrived."""

    version: bytes


@attrs.define(slots=True)
class HostKeyReceived:
    """
    Client only: the server proved it holds ``key``; call ``acceptHostKey()`` to go on, or
    disconnect with ``DISCONNECT_HOST_KEY_NOT_VERIFIABLE``.
    """

    key: Any


@attrs.define(slots=True)
class KeysReady:
    """A key exchange finished; ``first`` for the one that made the session."""

    first: bool


@attrs.define(slots=True)
class ServiceRequested:
    """Server: the client asked for a service; accept it or disconnect."""

    name: bytes


@attrs.define(slots=True)
class ServiceAccepted:
    """Client: the server accepted the service asked for."""

    name: bytes


@attrs.define(slots=True)
class ExtInfoReceived:
    """RFC 8308 extensions the peer announced."""

    extensions: dict[bytes, bytes]


@attrs.define(slots=True)
class PacketReceived:
    """A message for the running service (message number 50 and above)."""

    messageType: int
    payload: bytes


@attrs.define(slots=True)
class DisconnectReceived:
    """The peer said goodbye; ``description`` is the peer's text, for logging only."""

    reasonCode: int
    description: bytes


@attrs.define(slots=True)
class UnimplementedReceived:
    """The peer did not understand the packet with this sequence number."""

    sequence: int
