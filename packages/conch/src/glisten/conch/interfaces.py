"""Interfaces of glisten-conch, under Twisted's names."""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

__all__ = ["IConchUser", "IKnownHostEntry", "ISession", "ISessionSetEnv"]


class IConchUser(Interface):
    """An authenticated SSH user (the avatar): what channels and requests it allows."""

    conn = Attribute("The SSHConnection, once the connection service runs.")

    def lookupChannel(channelType: bytes, windowSize: int, maxPacket: int, data: bytes) -> Any:
        """
        Make the channel the peer asked for.

        :raises glisten.conch.error.ConchError: refused (with an RFC 4254 reason code).
        """

    def lookupSubsystem(subsystem: bytes, data: bytes) -> Any:
        """The protocol for a subsystem, or ``None``."""

    def gotGlobalRequest(requestType: bytes, data: bytes) -> Any:
        """A global request: true (or ``(True, data)``) to accept it."""


class ISession(Interface):
    """What a session channel runs: a shell, a command, a terminal."""

    def getPty(term: bytes, windowSize: tuple[int, int, int, int], modes: Any) -> None:
        """A terminal was asked for (``windowSize`` is rows, columns, x pixels, y pixels)."""

    def openShell(proto: Any) -> None:
        """Start a shell connected to ``proto`` (a process protocol)."""

    def execCommand(proto: Any, command: bytes) -> None:
        """Run ``command`` connected to ``proto``."""

    def windowChanged(newWindowSize: tuple[int, int, int, int]) -> None:
        """The terminal was resized."""

    def eofReceived() -> None:
        """The client has no more input."""

    def closed() -> None:
        """The session channel closed."""


class ISessionSetEnv(Interface):
    """A session that takes ``env`` requests."""

    def setEnv(name: bytes, value: bytes) -> None:
        """
        Set an environment variable for the command or shell to come.

        :raises Exception: the variable is not allowed (the request is refused).
        """


class IKnownHostEntry(Interface):
    """One line of a known-hosts file."""

    def matchesKey(key: Any) -> bool:
        """Whether this entry is for ``key``."""

    def matchesHost(hostname: bytes) -> bool:
        """Whether this entry is for ``hostname``."""

    def toString() -> bytes:
        """The line, for saving."""
