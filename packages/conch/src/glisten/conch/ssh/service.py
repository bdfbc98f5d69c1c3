"""The base class of SSH services (``ssh-userauth``, ``ssh-connection``)."""

from __future__ import annotations

from typing import Any

from glisten.logger import Logger

__all__ = ["SSHService"]


class SSHService:
    """
    A service running over an SSH transport.

    Messages are dispatched to ``ssh_<NAME>`` methods through :attr:`protocolMessages`.

    :cvar name: the service name.
    :cvar protocolMessages: message number to ``MSG_<NAME>``.
    """

    name: bytes = b""
    protocolMessages: dict[int, str] = {}
    transport: Any = None
    _log = Logger()

    def serviceStarted(self) -> None:
        """Called when the service becomes the transport's service."""

    def serviceStopped(self) -> None:
        """Called when the service stops (another took over, or the connection ended)."""

    def logPrefix(self) -> str:
        return (
            f"SSHService {self.name!r} on {self.transport.logPrefix() if self.transport else '-'}"
        )

    def packetReceived(self, messageNum: int, packet: bytes) -> None:
        """Dispatch a message to its ``ssh_`` method, or answer UNIMPLEMENTED."""
        name = self.protocolMessages.get(messageNum)
        method = getattr(self, "ssh_" + name[4:], None) if name else None
        if method is None:
            self.transport.sendUnimplemented()
            return
        method(packet)
