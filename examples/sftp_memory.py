"""An SFTP server whose files live in a Python dict, and a client using it, in one program.

Run: ``hatch run python examples/sftp_memory.py``. The server listens on a free loopback port
with a host key made at start; the client logs in with a key the server knows, writes a file,
lists the folder, reads the file back and prints what it saw, then everything stops.

``MemoryFileSystem`` is the part to reuse: any object with the methods of
``glisten.conch.interfaces.ISFTPServer`` can be served, whatever holds the bytes.
"""

from __future__ import annotations

import stat
import time
from typing import Any

from zope.interface import implementer

from glisten.conch.avatar import ConchUser
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.interfaces import IConchUser, ISFTPFile, ISFTPServer
from glisten.conch.ssh import filetransfer as ft
from glisten.conch.ssh.connection import SSHConnection
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import Key
from glisten.conch.ssh.session import SSHSession
from glisten.conch.ssh.transport import SSHClientTransport
from glisten.conch.ssh.userauth import SSHUserAuthClient
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, protocol
from glisten.internet.task import react


def _attrs(size: int, directory: bool = False) -> dict[str, Any]:
    mode = (stat.S_IFDIR | 0o755) if directory else (stat.S_IFREG | 0o644)
    now = int(time.time())
    return {"size": size, "permissions": mode, "uid": 0, "gid": 0, "atime": now, "mtime": now}


def _name(path: bytes) -> bytes:
    """One flat folder: ``/a``, ``a`` and ``./a`` are the same file; no subfolders."""
    name = path.rsplit(b"/", 1)[-1]
    if not name or name in (b".", b".."):
        raise ft.SFTPError(ft.FX_NO_SUCH_FILE, "no such file")
    return name


@implementer(ISFTPFile)
class MemoryFile:
    def __init__(self, files: dict[bytes, bytearray], name: bytes) -> None:
        self.files, self.name = files, name

    def readChunk(self, offset: int, length: int) -> bytes:
        data = bytes(self.files[self.name][offset : offset + length])
        if not data:
            raise EOFError
        return data

    def writeChunk(self, offset: int, data: bytes) -> None:
        content = self.files[self.name]
        if len(content) < offset:
            content.extend(b"\0" * (offset - len(content)))
        content[offset : offset + len(data)] = data

    def getAttrs(self) -> dict[str, Any]:
        return _attrs(len(self.files[self.name]))

    def setAttrs(self, attrs: dict[str, Any]) -> None:
        if "size" in attrs:
            del self.files[self.name][attrs["size"] :]

    def close(self) -> None:
        pass


@implementer(ISFTPServer)
class MemoryFileSystem:
    """A flat folder in a dict: file name to contents."""

    def __init__(self, files: dict[bytes, bytearray]) -> None:
        self.files = files

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {}

    def openFile(self, filename: bytes, flags: int, attrs: dict[str, Any]) -> MemoryFile:
        name = _name(filename)
        if name not in self.files:
            if not flags & ft.FXF_CREAT:
                raise ft.SFTPError(ft.FX_NO_SUCH_FILE, "no such file")
            self.files[name] = bytearray()
        elif flags & ft.FXF_TRUNC:
            self.files[name].clear()
        return MemoryFile(self.files, name)

    def removeFile(self, filename: bytes) -> None:
        if self.files.pop(_name(filename), None) is None:
            raise ft.SFTPError(ft.FX_NO_SUCH_FILE, "no such file")

    def renameFile(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = _name(oldpath), _name(newpath)
        if old not in self.files or new in self.files:
            raise ft.SFTPError(ft.FX_FAILURE, "cannot rename")
        self.files[new] = self.files.pop(old)

    def openDirectory(self, path: bytes) -> Any:
        entries = [(n, n, _attrs(len(c))) for n, c in sorted(self.files.items())]

        class Listing(list[Any]):
            def close(self) -> None:
                pass

        return Listing(entries)

    def getAttrs(self, path: bytes, followLinks: bool) -> dict[str, Any]:
        if path.strip(b"/.") == b"":
            return _attrs(0, directory=True)
        content = self.files.get(_name(path))
        if content is None:
            raise ft.SFTPError(ft.FX_NO_SUCH_FILE, "no such file")
        return _attrs(len(content))

    def realPath(self, path: bytes) -> bytes:
        return b"/" + path.rsplit(b"/", 1)[-1].lstrip(b".")

    # No folders, attributes or links in this file system.
    def makeDirectory(self, path: bytes, attrs: dict[str, Any]) -> None:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")

    def removeDirectory(self, path: bytes) -> None:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")

    def setAttrs(self, path: bytes, attrs: dict[str, Any]) -> None:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")

    def readLink(self, path: bytes) -> bytes:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> None:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> bytes:
        raise ft.SFTPError(ft.FX_OP_UNSUPPORTED, "not in a flat dict")


FILES: dict[bytes, bytearray] = {b"motd.txt": bytearray(b"files in a dict\n")}


class SFTPUser(ConchUser):
    def __init__(self) -> None:
        super().__init__()
        self.channelLookup[b"session"] = SSHSession
        self.subsystemLookup[b"sftp"] = self.sftp

    def sftp(self, data: bytes, avatar: Any) -> ft.FileTransferServer:
        server = ft.FileTransferServer(data)
        server.client = MemoryFileSystem(FILES)
        return server


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return IConchUser, SFTPUser(), lambda: None


async def main(reactor: Any) -> None:
    hostKey, userKey = Key.generate("ed25519"), Key.generate("ed25519")
    portal = Portal(Realm())
    portal.registerChecker(SSHPublicKeyChecker(InMemorySSHKeyDB({b"demo": [userKey.public()]})))
    server = SSHFactory()
    server.privateKeys = {b"ssh-ed25519": hostKey}
    server.portal = portal
    server.reactor = reactor
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    ready: defer.Deferred[ft.FileTransferClient] = defer.Deferred()

    class Connection(SSHConnection):
        def serviceStarted(self) -> None:
            super().serviceStarted()
            ft.openSFTP(self).chainDeferred(ready)

    class Auth(SSHUserAuthClient):
        def getPublicKey(self) -> Key | None:
            return None if self.lastPublicKey else userKey.public()

        def getPrivateKey(self) -> defer.Deferred[Key]:
            return defer.succeed(userKey)

    class Client(SSHClientTransport):
        def verifyHostKey(self, blob: bytes, fingerprint: bytes) -> Any:
            # The demo trusts the key it just made; real clients use a KnownHostsFile.
            return defer.succeed(blob == hostKey.public().blob())

        def connectionSecure(self) -> None:
            self.requestService(Auth(b"demo", Connection()))

    factory = protocol.ClientFactory.forProtocol(Client)
    factory.reactor = reactor  # type: ignore[attr-defined]
    reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
    client = await ready
    f = await client.openFile(b"/hello.txt", ft.FXF_WRITE | ft.FXF_CREAT, {})
    await f.writeChunk(0, b"hello from sftp\n")
    await f.close()
    directory = await client.openDirectory(b"/")
    print("listing:", ", ".join(name.decode() for name, _, _ in await directory.read()))
    f = await client.openFile(b"hello.txt", ft.FXF_READ)
    print("read back:", (await f.readChunk(0, 100)).decode().strip())
    try:
        await client.makeDirectory(b"/sub")
    except ft.SFTPError as e:
        print("mkdir refused:", e.code == ft.FX_OP_UNSUPPORTED)
    print("dict holds:", sorted(FILES))
    client.transport.conn.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    react(main)
