"""Interfaces of glisten-conch, under Twisted's names."""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

__all__ = [
    "IConchUser",
    "IKnownHostEntry",
    "ISFTPFile",
    "ISFTPServer",
    "ISession",
    "ISessionSetEnv",
]


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


class ISFTPServer(Interface):
    """
    The file system an SFTP session serves (adapt the avatar to it).

    Every method may return a Deferred. Errors: raise
    :class:`~glisten.conch.ssh.filetransfer.SFTPError` with a status code, an ``OSError``
    (mapped from its errno), or ``NotImplementedError`` to answer ``FX_OP_UNSUPPORTED``.
    Paths are ``bytes`` as the client sent them. Optional methods a server may add to serve
    OpenSSH's extensions: ``posixRename(oldpath, newpath)``, ``statVFS(path)`` (the eleven
    ``os.statvfs`` fields in ``statvfs@openssh.com`` order), ``makeHardLink(oldpath, newpath)``;
    and on files ``fsync()``.
    """

    avatar = Attribute("The avatar this file system serves.")

    def gotVersion(otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        """The client's version and extensions; return extensions to announce."""

    def openFile(filename: bytes, flags: int, attrs: dict[str, Any]) -> Any:
        """Open a file (``FXF_*`` flags); return an :class:`ISFTPFile`."""

    def removeFile(filename: bytes) -> Any:
        """Remove a file."""

    def renameFile(oldpath: bytes, newpath: bytes) -> Any:
        """Rename; refuse when ``newpath`` exists (SFTP v3 semantics)."""

    def makeDirectory(path: bytes, attrs: dict[str, Any]) -> Any:
        """Make a directory."""

    def removeDirectory(path: bytes) -> Any:
        """Remove an empty directory."""

    def openDirectory(path: bytes) -> Any:
        """
        An iterator of ``(filename, longname, attrs)`` with a ``close()`` method.
        """

    def getAttrs(path: bytes, followLinks: bool) -> Any:
        """The attributes of ``path`` (of the link itself unless ``followLinks``)."""

    def setAttrs(path: bytes, attrs: dict[str, Any]) -> Any:
        """Change size, owner, permissions or times."""

    def readLink(path: bytes) -> Any:
        """The target of a symbolic link."""

    def makeLink(linkPath: bytes, targetPath: bytes) -> Any:
        """Make a symbolic link at ``linkPath`` pointing to ``targetPath``."""

    def realPath(path: bytes) -> Any:
        """The canonical absolute form of ``path``."""

    def extendedRequest(extendedName: bytes, extendedData: bytes) -> Any:
        """An extension glisten does not handle itself: return the reply's bytes."""


class ISFTPFile(Interface):
    """An open file of an SFTP session; every method may return a Deferred."""

    def close() -> Any:
        """Close the file."""

    def readChunk(offset: int, length: int) -> Any:
        """
        Up to ``length`` bytes at ``offset``.

        :raises EOFError: ``offset`` is at or past the end.
        """

    def writeChunk(offset: int, data: bytes) -> Any:
        """Write ``data`` at ``offset``."""

    def getAttrs() -> Any:
        """The file's attributes."""

    def setAttrs(attrs: dict[str, Any]) -> Any:
        """Change the file's attributes."""
