"""The factory of SSH server connections."""

from __future__ import annotations

from typing import Any

from glisten.conch.ssh import connection, transport, userauth
from glisten.conch.ssh.keys import Key
from glisten.internet import protocol

__all__ = ["SSHFactory"]


class SSHFactory(protocol.Factory):
    """
    Makes :class:`~glisten.conch.ssh.transport.SSHServerTransport` connections.

    :ivar publicKeys: host public keys by key type (``b"ssh-ed25519"``...).
    :ivar privateKeys: host private keys by key type.
    :ivar portal: the :class:`~glisten.cred.portal.Portal` user authentication logs in through.
    :ivar services: service name to service class.
    :ivar reactor: the reactor for timers (the global one when ``None``).
    """

    protocol = transport.SSHServerTransport
    publicKeys: dict[bytes, Key] = {}
    privateKeys: dict[bytes, Key] = {}
    portal: Any = None
    reactor: Any = None
    services: dict[bytes, Any] = {
        b"ssh-userauth": userauth.SSHUserAuthServer,
        b"ssh-connection": connection.SSHConnection,
    }

    def startFactory(self) -> None:
        if not self.getPrivateKeys():
            raise ValueError("an SSH server needs at least one host private key")

    def buildProtocol(self, addr: Any) -> Any:
        proto = self.protocol()
        proto.factory = self
        return proto

    def getPublicKeys(self) -> dict[bytes, Key]:
        """Host public keys by type (defaults to the public halves of the private keys)."""
        if self.publicKeys:
            return self.publicKeys
        return {k: v.public() for k, v in self.getPrivateKeys().items()}

    def getPrivateKeys(self) -> dict[bytes, Key]:
        """Host private keys by type."""
        return self.privateKeys

    def getPrimes(self) -> dict[int, list[tuple[int, int]]] | None:
        """
        Groups for ``diffie-hellman-group-exchange-sha256``: size in bits to a list of
        ``(generator, prime)``, as Twisted's. ``None`` (the default) offers RFC 3526's
        2048- to 8192-bit groups.
        """
        return None

    def getService(self, transport: Any, service: bytes) -> Any:
        """
        The class for ``service``, or ``None``.

        ``ssh-connection`` is only available once a user has logged in.
        """
        if service == b"ssh-connection" and getattr(transport, "avatar", None) is None:
            return None
        return self.services.get(service)
