"""
SFTP version 3 (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks): the server protocol
:class:`FileTransferServer` over an :class:`~glisten.conch.interfaces.ISFTPServer`, and the
client protocol :class:`FileTransferClient`, which keeps any number of requests in flight.

Both are thin adapters over the sans-IO codec in ``glisten.conch.ssh._sftp``. Besides the v3
requests the server answers OpenSSH's ``posix-rename``, ``statvfs``, ``fsync``, ``hardlink``
and ``limits`` extensions when the file system provides them (see
:class:`~glisten.conch.interfaces.ISFTPServer`).

``SSH_FXP_SYMLINK``: OpenSSH (and paramiko) send the target first and the link second, the
reverse of the draft. Like asyncssh, both sides here use OpenSSH's order when the peer's SSH
version line names OpenSSH or paramiko, and the draft's order otherwise (asyncssh, Twisted,
glisten itself).
"""

from __future__ import annotations

import errno
import struct
from typing import Any

from zope.interface import implementer

from glisten.conch._turns import Turns, pauseInput
from glisten.conch.interfaces import ISFTPFile, ISFTPServer
from glisten.conch.ssh._sftp import _codec as c
from glisten.conch.ssh._sftp._errors import SFTPProtocolError
from glisten.conch.ssh._sftp._events import (
    Attrs,
    BadRequest,
    Data,
    ExtendedReply,
    Handle,
    Init,
    Name,
    Request,
    Status,
    UnknownRequest,
    Version,
)
from glisten.conch.ssh._sftp._limits import Limits
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint64
from glisten.conch.ssh.channel import SSHChannel
from glisten.internet import interfaces, protocol
from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionDone, ConnectionLost
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "FILEXFER_ATTR_ACMODTIME",
    "FILEXFER_ATTR_EXTENDED",
    "FILEXFER_ATTR_PERMISSIONS",
    "FILEXFER_ATTR_SIZE",
    "FILEXFER_ATTR_UIDGID",
    "FXF_APPEND",
    "FXF_CREAT",
    "FXF_EXCL",
    "FXF_READ",
    "FXF_TRUNC",
    "FXF_WRITE",
    "FX_BAD_MESSAGE",
    "FX_CONNECTION_LOST",
    "FX_EOF",
    "FX_FAILURE",
    "FX_NO_CONNECTION",
    "FX_NO_SUCH_FILE",
    "FX_OK",
    "FX_OP_UNSUPPORTED",
    "FX_PERMISSION_DENIED",
    "ClientDirectory",
    "ClientFile",
    "FileTransferClient",
    "FileTransferServer",
    "ISFTPFile",
    "ISFTPServer",
    "Limits",
    "SFTPError",
    "openSFTP",
]

FXF_READ = 0x00000001
FXF_WRITE = 0x00000002
FXF_APPEND = 0x00000004
FXF_CREAT = 0x00000008
FXF_TRUNC = 0x00000010
FXF_EXCL = 0x00000020

FX_OK = 0
FX_EOF = 1
FX_NO_SUCH_FILE = 2
FX_PERMISSION_DENIED = 3
FX_FAILURE = 4
FX_BAD_MESSAGE = 5
FX_NO_CONNECTION = 6
FX_CONNECTION_LOST = 7
FX_OP_UNSUPPORTED = 8

FILEXFER_ATTR_SIZE = c.FILEXFER_ATTR_SIZE
FILEXFER_ATTR_UIDGID = c.FILEXFER_ATTR_UIDGID
FILEXFER_ATTR_PERMISSIONS = c.FILEXFER_ATTR_PERMISSIONS
FILEXFER_ATTR_ACMODTIME = c.FILEXFER_ATTR_ACMODTIME
FILEXFER_ATTR_EXTENDED = c.FILEXFER_ATTR_EXTENDED

#: Entries per ``READDIR`` reply.
_READDIR_BATCH = 100
_STATVFS_FORMAT = struct.Struct(">11Q")


class SFTPError(Exception):
    """
    An SFTP status other than ``FX_OK``: raised by file systems, and by the client's Deferreds.

    :ivar code: the ``FX_*`` status code.
    :ivar message: a human-readable text.
    :ivar lang: the message's language tag.
    """

    def __init__(self, errorCode: int, errorMessage: str | bytes, lang: str | bytes = "") -> None:
        super().__init__(errorCode, errorMessage, lang)
        self.code = errorCode
        self.message = (
            errorMessage.decode("utf-8", "replace")
            if isinstance(errorMessage, bytes)
            else errorMessage
        )
        self.lang = lang.decode("ascii", "replace") if isinstance(lang, bytes) else lang

    def __str__(self) -> str:
        return f"SFTPError {self.code}: {self.message}"


def _status(exc: BaseException) -> tuple[int, str]:
    """The status code and our own message for an exception a file system raised."""
    if isinstance(exc, SFTPError):
        return exc.code, exc.message
    if isinstance(exc, EOFError):
        return FX_EOF, "end of file"
    if isinstance(exc, NotImplementedError):
        return FX_OP_UNSUPPORTED, "operation not supported"
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ENOENT:
            return FX_NO_SUCH_FILE, "no such file"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return FX_PERMISSION_DENIED, "permission denied"
        # strerror, never str(exc): that would hold the path the client sent.
        return FX_FAILURE, errno.errorcode.get(exc.errno, "failure")
    return FX_FAILURE, "failure"


#: Peers (by SSH version line) that put the SYMLINK target first.
_REVERSED_SYMLINK_PEERS = (b"OpenSSH", b"paramiko")


def _reversedSymlink(transport: Any) -> bool:
    """Whether the SSH peer under ``transport`` (a channel, or a session's process protocol)
    sends SYMLINK's paths in OpenSSH's order."""
    channel = getattr(transport, "session", transport)
    sshTransport = getattr(getattr(channel, "conn", None), "transport", None)
    version = getattr(sshTransport, "otherVersionString", None) or b""
    return any(name in version for name in _REVERSED_SYMLINK_PEERS)


def _then(result: Any, callback: Any) -> Any:
    """``callback(result)``, now or when the Deferred ``result`` fires."""
    if isinstance(result, Deferred):
        return result.addCallback(callback)
    return callback(result)


@implementer(interfaces.IPushProducer)
class FileTransferServer(protocol.Protocol):
    """
    The ``sftp`` subsystem: requests go to ``ISFTPServer(avatar)``, replies go back as they
    complete (so a slow request does not hold up others).

    Handles belong to one session: another session's handle is unknown here. Reads larger
    than :attr:`Limits.maxReadLength` (a client may ask for 4 GiB) get a short read. While
    too many requests wait for the file system, or the client is not reading replies, the
    channel stops opening its window, so the client waits.

    One channel packet may hold thousands of small requests: at most
    :attr:`maxRequestsPerTurn` of them are handled in one go; the rest wait, the channel's
    input paused, for the reactor's next turn, so one client cannot stall the others.

    :param data: the subsystem request's data (unused, as in Twisted).
    :param avatar: the user, adapted to :class:`ISFTPServer`.
    :param limits: bounds on what the client may ask.
    :ivar maxRequestsPerTurn: requests handled per turn of the reactor.
    :ivar reactor: the reactor that runs the later turns (``None``: the avatar's
        ``reactor``, else the global one).
    """

    _log = Logger()
    maxRequestsPerTurn = 64
    reactor: Any = None

    def __init__(self, data: bytes | None = None, avatar: Any = None, limits: Limits | None = None):
        self.avatar = avatar
        self.client: Any = ISFTPServer(avatar) if avatar is not None else None
        self.limits = limits or Limits()
        self._codec = c.SFTPCodec(False, self.limits)
        self.openFiles: dict[bytes, Any] = {}
        self.openDirs: dict[bytes, tuple[Any, Any]] = {}
        self._nextHandle = 0
        self._opening = 0
        self._pending = 0
        self._writesPaused = False
        self._inputPaused = False
        self._lost = False
        self._turns = Turns(self._readMore, self._turnPaused)

    # ------------------------------------------------------------------ protocol

    def connectionMade(self) -> None:
        register = getattr(self.transport, "registerProducer", None)
        if register is not None:
            register(self, True)

    def dataReceived(self, data: bytes) -> None:
        codec = self._codec
        if not self._turns.waiting:
            # A new turn (not one cut short and waiting for the next): a fresh budget.
            codec.budget = self.maxRequestsPerTurn
        try:
            events = codec.receiveData(data)
        except SFTPProtocolError as e:
            self._log.info("SFTP protocol error: {error}", error=str(e))
            self.transport.loseConnection()
            return
        for event in events:
            if self._lost:
                return
            self._dispatch(event)
        if codec.budget == 0 and not self._lost:
            self._turns.later(self.reactor or getattr(self.avatar, "reactor", None))

    def _readMore(self) -> None:
        """The next turn: requests the codec holds, within a fresh budget."""
        self.dataReceived(b"")

    def _turnPaused(self, paused: bool) -> None:
        self._updateInput()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._lost = True
        self._turns.cancel()
        files, self.openFiles = self.openFiles, {}
        dirs, self.openDirs = self.openDirs, {}
        for f in files.values():
            self._quietly(f.close)
        for d, _ in dirs.values():
            self._quietly(d.close)

    @staticmethod
    def _quietly(close: Any) -> None:
        try:
            result = close()
        except Exception:
            return
        if isinstance(result, Deferred):
            result.addErrback(lambda _: None)

    # ------------------------------------------------------------------ flow control

    def pauseProducing(self) -> None:
        """The channel's outgoing window is full: stop taking requests."""
        self._writesPaused = True
        self._updateInput()

    def resumeProducing(self) -> None:
        """The client reads replies again."""
        self._writesPaused = False
        self._updateInput()

    def stopProducing(self) -> None:
        """The channel is going away."""

    def _updateInput(self) -> None:
        paused = (
            self._writesPaused
            or self._turns.paused
            or self._pending >= self.limits.maxPendingRequests
        )
        if paused == self._inputPaused:
            return
        self._inputPaused = paused
        method = getattr(self.transport, "pauseProducing" if paused else "resumeProducing", None)
        if method is not None:
            method()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, event: Any) -> None:
        if isinstance(event, Request):
            rid = event.requestId
            handler = self._handlers[event.kind]
            try:
                result = handler(self, rid, *event.args)
            except Exception as e:
                self._reply(self._error(rid, e))
                return
            if isinstance(result, Deferred):
                self._pending += 1
                self._updateInput()
                result.addErrback(lambda f: self._error(rid, f.value))
                result.addCallback(self._deferredReply)
            else:
                self._reply(result)
        elif isinstance(event, Init):
            self._gotInit(event)
        elif isinstance(event, BadRequest):
            self._reply(self._codec.sendStatus(event.requestId, FX_BAD_MESSAGE, b"bad message"))
        elif isinstance(event, UnknownRequest):
            self._reply(self._codec.sendStatus(event.requestId, FX_OP_UNSUPPORTED, b"unsupported"))

    def _deferredReply(self, packet: bytes | tuple[bytes, bytes]) -> None:
        self._pending -= 1
        self._reply(packet)
        self._updateInput()

    def _reply(self, packet: bytes | tuple[bytes, bytes]) -> None:
        """Write a reply: a packet, or a ``DATA`` reply's header and data (written as they
        are, not joined)."""
        if self._lost:
            return
        if type(packet) is tuple:
            self.transport.writeSequence(packet)
        else:
            self.transport.write(packet)

    def _error(self, requestId: int, exc: BaseException) -> bytes:
        code, message = _status(exc)
        if code == FX_FAILURE and not isinstance(exc, SFTPError | OSError):
            self._log.failure("SFTP request failed", Failure(exc))
        return self._codec.sendStatus(requestId, code, message.encode("utf-8", "replace"))

    def _ok(self, requestId: int) -> Any:
        return lambda _: self._codec.sendStatus(requestId, FX_OK, b"")

    def _gotInit(self, event: Init) -> None:
        extensions: dict[bytes, bytes] = {}
        gotVersion = getattr(self.client, "gotVersion", None)
        if gotVersion is not None:
            extensions.update(gotVersion(event.version, dict(event.extensions)) or {})
        for name, (version, method) in _EXTENSIONS.items():
            if method is None or hasattr(self.client, method):
                extensions.setdefault(name, version)
        self._reply(self._codec.sendVersion(list(extensions.items())))

    # ------------------------------------------------------------------ handles

    def _checkRoom(self) -> None:
        if len(self.openFiles) + len(self.openDirs) + self._opening >= self.limits.maxHandles:
            raise SFTPError(FX_FAILURE, "too many open handles")

    def _newHandle(self) -> bytes:
        self._nextHandle += 1
        return str(self._nextHandle).encode("ascii")

    def _file(self, handle: bytes) -> Any:
        f = self.openFiles.get(handle)
        if f is None:
            raise SFTPError(FX_FAILURE, "invalid handle")
        return f

    def _opened(self, requestId: int, registry: dict[bytes, Any], value: Any) -> bytes:
        self._opening -= 1
        if self._lost:
            self._quietly((value[0] if isinstance(value, tuple) else value).close)
            return b""
        handle = self._newHandle()
        registry[handle] = value
        return self._codec.sendHandle(requestId, handle)

    def _openFailed(self, f: Failure) -> Failure:
        self._opening -= 1
        return f

    # ------------------------------------------------------------------ requests

    def _open(self, rid: int, filename: bytes, flags: int, attrs: dict[str, Any]) -> Any:
        self._checkRoom()
        self._opening += 1
        try:
            result = self.client.openFile(filename, flags, attrs)
        except Exception:
            self._opening -= 1
            raise
        if isinstance(result, Deferred):
            result.addErrback(self._openFailed)
        return _then(result, lambda f: self._opened(rid, self.openFiles, f))

    def _close(self, rid: int, handle: bytes) -> Any:
        f = self.openFiles.pop(handle, None)
        if f is not None:
            return _then(f.close(), self._ok(rid))
        entry = self.openDirs.pop(handle, None)
        if entry is None:
            raise SFTPError(FX_FAILURE, "invalid handle")
        return _then(entry[0].close(), self._ok(rid))

    def _read(self, rid: int, handle: bytes, offset: int, length: int) -> Any:
        f = self._file(handle)
        length = min(length, self.limits.maxReadLength)

        def data(chunk: bytes) -> bytes | tuple[bytes, bytes]:
            if not chunk:
                return self._codec.sendStatus(rid, FX_EOF, b"end of file")
            chunk = chunk[:length]
            return self._codec.dataHeader(rid, len(chunk)), chunk

        return _then(f.readChunk(offset, length), data)

    def _write(self, rid: int, handle: bytes, offset: int, data: bytes) -> Any:
        return _then(self._file(handle).writeChunk(offset, data), self._ok(rid))

    def _attrs(self, rid: int) -> Any:
        return lambda attrs: self._codec.sendAttrs(rid, attrs)

    def _lstat(self, rid: int, path: bytes) -> Any:
        return _then(self.client.getAttrs(path, False), self._attrs(rid))

    def _stat(self, rid: int, path: bytes) -> Any:
        return _then(self.client.getAttrs(path, True), self._attrs(rid))

    def _fstat(self, rid: int, handle: bytes) -> Any:
        return _then(self._file(handle).getAttrs(), self._attrs(rid))

    def _setstat(self, rid: int, path: bytes, attrs: dict[str, Any]) -> Any:
        return _then(self.client.setAttrs(path, attrs), self._ok(rid))

    def _fsetstat(self, rid: int, handle: bytes, attrs: dict[str, Any]) -> Any:
        return _then(self._file(handle).setAttrs(attrs), self._ok(rid))

    def _opendir(self, rid: int, path: bytes) -> Any:
        self._checkRoom()
        self._opening += 1
        try:
            result = self.client.openDirectory(path)
        except Exception:
            self._opening -= 1
            raise
        if isinstance(result, Deferred):
            result.addErrback(self._openFailed)
        return _then(result, lambda d: self._opened(rid, self.openDirs, (d, iter(d))))

    def _readdir(self, rid: int, handle: bytes) -> Any:
        entry = self.openDirs.get(handle)
        if entry is None:
            raise SFTPError(FX_FAILURE, "invalid handle")
        return self._scan(rid, entry[1], [])

    def _scan(self, rid: int, entries: Any, names: list[Any]) -> Any:
        """
        Up to a batch of entries; as in Twisted, the iterator may give Deferreds of entries
        (a listing fetched from elsewhere), and the reply waits for them.
        """
        for item in entries:
            if isinstance(item, Deferred):
                return item.addCallback(lambda found: self._scan(rid, entries, [*names, found]))
            names.append(item)
            if len(names) >= _READDIR_BATCH:
                break
        if not names:
            return self._codec.sendStatus(rid, FX_EOF, b"end of directory")
        return self._codec.sendName(rid, names)

    def _remove(self, rid: int, path: bytes) -> Any:
        return _then(self.client.removeFile(path), self._ok(rid))

    def _mkdir(self, rid: int, path: bytes, attrs: dict[str, Any]) -> Any:
        return _then(self.client.makeDirectory(path, attrs), self._ok(rid))

    def _rmdir(self, rid: int, path: bytes) -> Any:
        return _then(self.client.removeDirectory(path), self._ok(rid))

    def _name(self, rid: int) -> Any:
        return lambda path: self._codec.sendName(rid, [(path, path, {})])

    def _realpath(self, rid: int, path: bytes) -> Any:
        return _then(self.client.realPath(path), self._name(rid))

    def _rename(self, rid: int, old: bytes, new: bytes) -> Any:
        return _then(self.client.renameFile(old, new), self._ok(rid))

    def _readlink(self, rid: int, path: bytes) -> Any:
        return _then(self.client.readLink(path), self._name(rid))

    def _symlink(self, rid: int, first: bytes, second: bytes) -> Any:
        link, target = (second, first) if _reversedSymlink(self.transport) else (first, second)
        return _then(self.client.makeLink(link, target), self._ok(rid))

    def _extended(self, rid: int, name: bytes, data: bytes) -> Any:
        known = _EXTENSIONS.get(name)
        if known is None:
            extended = getattr(self.client, "extendedRequest", None)
            if extended is None:
                raise SFTPError(FX_OP_UNSUPPORTED, "operation not supported")
            return _then(extended(name, data), lambda r: self._codec.sendExtendedReply(rid, r))
        r = Reader(data, maxString=self.limits.maxPathLength)
        try:
            if name == b"limits@openssh.com":
                lim = self.limits
                return self._codec.sendExtendedReply(
                    rid,
                    uint64(lim.maxPacketLength)
                    + uint64(lim.maxReadLength)
                    + uint64(lim.maxPacketLength - 1024)
                    + uint64(lim.maxHandles),
                )
            if name == b"fsync@openssh.com":
                fsync = getattr(self._file(r.string()), "fsync", None)
                if fsync is None:
                    raise SFTPError(FX_OP_UNSUPPORTED, "operation not supported")
                return _then(fsync(), self._ok(rid))
            if name == b"statvfs@openssh.com":
                path = r.string()
                return _then(
                    self.client.statVFS(path),
                    lambda v: self._codec.sendExtendedReply(rid, _STATVFS_FORMAT.pack(*v)),
                )
            old, new = r.string(), r.string()
        except DecodeError:
            return self._codec.sendStatus(rid, FX_BAD_MESSAGE, b"bad message")
        method = getattr(self.client, known[1] or "", None)
        if method is None:
            raise SFTPError(FX_OP_UNSUPPORTED, "operation not supported")
        return _then(method(old, new), self._ok(rid))

    _handlers: dict[int, Any] = {
        c.FXP_OPEN: _open,
        c.FXP_CLOSE: _close,
        c.FXP_READ: _read,
        c.FXP_WRITE: _write,
        c.FXP_LSTAT: _lstat,
        c.FXP_FSTAT: _fstat,
        c.FXP_SETSTAT: _setstat,
        c.FXP_FSETSTAT: _fsetstat,
        c.FXP_OPENDIR: _opendir,
        c.FXP_READDIR: _readdir,
        c.FXP_REMOVE: _remove,
        c.FXP_MKDIR: _mkdir,
        c.FXP_RMDIR: _rmdir,
        c.FXP_REALPATH: _realpath,
        c.FXP_STAT: _stat,
        c.FXP_RENAME: _rename,
        c.FXP_READLINK: _readlink,
        c.FXP_SYMLINK: _symlink,
        c.FXP_EXTENDED: _extended,
    }


#: OpenSSH extensions the server answers itself: name to (version, file system method that
#: must exist for it to be announced; ``None`` when always announced).
_EXTENSIONS: dict[bytes, tuple[bytes, str | None]] = {
    b"posix-rename@openssh.com": (b"1", "posixRename"),
    b"statvfs@openssh.com": (b"2", "statVFS"),
    b"hardlink@openssh.com": (b"1", "makeHardLink"),
    b"fsync@openssh.com": (b"1", None),
    b"limits@openssh.com": (b"1", None),
}


# ---------------------------------------------------------------------- client


def _checkStatus(event: Any) -> Any:
    """Turn a ``STATUS`` reply into ``None`` (``FX_OK``), ``EOFError`` or ``SFTPError``."""
    if isinstance(event, Status):
        if event.code == FX_OK:
            return None
        if event.code == FX_EOF:
            raise EOFError(event.message.decode("utf-8", "replace"))
        raise SFTPError(event.code, event.message, event.language)
    return event


def _expect(kind: type, field: str) -> Any:
    def extract(event: Any) -> Any:
        event = _checkStatus(event)
        if not isinstance(event, kind):
            raise SFTPError(FX_BAD_MESSAGE, "unexpected reply")
        return getattr(event, field)

    return extract


_handle = _expect(Handle, "handle")
_data = _expect(Data, "data")
_names = _expect(Name, "names")
_attributes = _expect(Attrs, "attrs")
_extendedData = _expect(ExtendedReply, "data")


def _onlyStatus(event: Any) -> None:
    if _checkStatus(event) is not None:
        raise SFTPError(FX_BAD_MESSAGE, "unexpected reply")


def _firstName(names: list[tuple[bytes, bytes, Any]]) -> bytes:
    if len(names) != 1:
        raise SFTPError(FX_BAD_MESSAGE, "expected one name")
    return names[0][0]


class FileTransferClient(protocol.Protocol):
    """
    The client side of an SFTP session. Every method sends its request at once and returns a
    Deferred; any number may be in flight (requests made before the server's ``VERSION`` wait
    for it). Failures are :class:`SFTPError`, ``EOFError`` at the end of a file or directory.

    One channel packet may hold thousands of small replies: at most
    :attr:`maxRepliesPerTurn` of them are handled in one go; the rest wait, the channel's
    input paused, for the reactor's next turn, so one server cannot stall the process.

    :param extData: extensions to announce in ``INIT``.
    :ivar version: the server's protocol version, once known.
    :ivar serverExtensions: the extensions the server announced.
    :ivar maxRepliesPerTurn: replies handled per turn of the reactor.
    :ivar reactor: the reactor that runs the later turns (``None``: the global one).
    """

    _log = Logger()
    maxRepliesPerTurn = 64
    reactor: Any = None

    def __init__(self, extData: dict[bytes, bytes] | None = None, limits: Limits | None = None):
        self.extData = dict(extData or {})
        self._codec = c.SFTPCodec(True, limits)
        self._turns = Turns(self._readMore, self._pauseInput)
        self.counter = 0
        self.openRequests: dict[int, Deferred[Any]] = {}
        self._queued: list[bytes] | None = []
        self._whenVersion: list[Deferred[FileTransferClient]] = []
        self.version: int | None = None
        self.serverExtensions: dict[bytes, bytes] = {}
        self._failure: Failure | None = None

    def connectionMade(self) -> None:
        self.transport.write(self._codec.sendInit(list(self.extData.items())))

    def gotServerVersion(self, serverVersion: int, extData: dict[bytes, bytes]) -> None:
        """The server answered ``INIT``; override to look at its extensions."""

    def whenReady(self) -> Deferred[FileTransferClient]:
        """A Deferred that fires with this client once the server's ``VERSION`` arrived."""
        if self.version is not None:
            d: Deferred[FileTransferClient] = Deferred()
            d.callback(self)
            return d
        d = Deferred()
        if self._failure is not None:
            d.errback(self._failure)
        else:
            self._whenVersion.append(d)
        return d

    def dataReceived(self, data: bytes) -> None:
        codec = self._codec
        if not self._turns.waiting:
            # A new turn (not one cut short and waiting for the next): a fresh budget.
            codec.budget = self.maxRepliesPerTurn
        try:
            events = codec.receiveData(data)
            for event in events:
                if isinstance(event, Version):
                    self._gotVersion(event)
                    continue
                d = self.openRequests.pop(event.requestId, None)
                if d is None:
                    raise SFTPProtocolError("reply to a request never made")
                d.callback(event)
        except SFTPProtocolError as e:
            self._log.info("SFTP protocol error: {error}", error=str(e))
            self._failAll(Failure(SFTPError(FX_BAD_MESSAGE, str(e))))
            self.transport.loseConnection()
            return
        if codec.budget == 0 and self._failure is None:
            self._turns.later(self.reactor)

    def _readMore(self) -> None:
        """The next turn: replies the codec holds, within a fresh budget."""
        if self._failure is None:
            self.dataReceived(b"")

    def _pauseInput(self, paused: bool) -> None:
        pauseInput(self.transport, paused)

    def _gotVersion(self, event: Version) -> None:
        self.version = event.version
        self.serverExtensions = dict(event.extensions)
        self.gotServerVersion(event.version, self.serverExtensions)
        queued, self._queued = self._queued or [], None
        if queued:
            self.transport.write(b"".join(queued))
        waiting, self._whenVersion = self._whenVersion, []
        for d in waiting:
            d.callback(self)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._turns.cancel()
        self._failAll(Failure(ConnectionLost("the SFTP session ended")))

    def _failAll(self, failure: Failure) -> None:
        if self._failure is None:
            self._failure = failure
        requests, self.openRequests = self.openRequests, {}
        waiting, self._whenVersion = self._whenVersion, []
        for d in [*requests.values(), *waiting]:
            d.errback(failure)

    def _request(self, kind: int, *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        if self._failure is not None:
            d.errback(self._failure)
            return d
        rid = self.counter
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        packet = self._codec.sendRequest(rid, kind, args)
        self.openRequests[rid] = d
        if self._queued is not None:
            self._queued.append(packet)
        else:
            self.transport.write(packet)
        return d

    # ------------------------------------------------------------------ requests

    def openFile(
        self, filename: bytes, flags: int, attrs: dict[str, Any] | None = None
    ) -> Deferred[ClientFile]:
        """Open a file (``FXF_*`` flags); fires with a :class:`ClientFile`."""
        d = self._request(c.FXP_OPEN, filename, flags, attrs or {}).addCallback(_handle)
        return d.addCallback(lambda h: ClientFile(self, h))

    def removeFile(self, filename: bytes) -> Deferred[None]:
        """Remove a file."""
        return self._request(c.FXP_REMOVE, filename).addCallback(_onlyStatus)

    def renameFile(self, oldpath: bytes, newpath: bytes) -> Deferred[None]:
        """Rename (the server refuses to replace an existing ``newpath``)."""
        return self._request(c.FXP_RENAME, oldpath, newpath).addCallback(_onlyStatus)

    def makeDirectory(self, path: bytes, attrs: dict[str, Any] | None = None) -> Deferred[None]:
        """Make a directory."""
        return self._request(c.FXP_MKDIR, path, attrs or {}).addCallback(_onlyStatus)

    def removeDirectory(self, path: bytes) -> Deferred[None]:
        """Remove an empty directory."""
        return self._request(c.FXP_RMDIR, path).addCallback(_onlyStatus)

    def openDirectory(self, path: bytes) -> Deferred[ClientDirectory]:
        """Open a directory; fires with a :class:`ClientDirectory`."""
        d = self._request(c.FXP_OPENDIR, path).addCallback(_handle)
        return d.addCallback(lambda h: ClientDirectory(self, h))

    def getAttrs(self, path: bytes, followLinks: bool = False) -> Deferred[dict[str, Any]]:
        """The attributes of ``path``: ``STAT`` when ``followLinks``, else ``LSTAT``."""
        kind = c.FXP_STAT if followLinks else c.FXP_LSTAT
        return self._request(kind, path).addCallback(_attributes)

    def setAttrs(self, path: bytes, attrs: dict[str, Any]) -> Deferred[None]:
        """Change attributes of ``path``."""
        return self._request(c.FXP_SETSTAT, path, attrs).addCallback(_onlyStatus)

    def readLink(self, path: bytes) -> Deferred[bytes]:
        """The target of a symbolic link."""
        return self._request(c.FXP_READLINK, path).addCallback(_names).addCallback(_firstName)

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> Deferred[None]:
        """Make a symbolic link at ``linkPath`` to ``targetPath``."""
        if _reversedSymlink(self.transport):
            return self._request(c.FXP_SYMLINK, targetPath, linkPath).addCallback(_onlyStatus)
        return self._request(c.FXP_SYMLINK, linkPath, targetPath).addCallback(_onlyStatus)

    def realPath(self, path: bytes) -> Deferred[bytes]:
        """The server's canonical absolute form of ``path``."""
        return self._request(c.FXP_REALPATH, path).addCallback(_names).addCallback(_firstName)

    def extendedRequest(self, request: bytes, data: bytes) -> Deferred[bytes | None]:
        """Send an extended request; fires with the ``EXTENDED_REPLY`` bytes (or ``None``)."""
        return self._request(c.FXP_EXTENDED, request, data).addCallback(_extendedData)

    # OpenSSH's extensions (glisten additions; the server must announce them).

    def posixRename(self, oldpath: bytes, newpath: bytes) -> Deferred[None]:
        """``posix-rename@openssh.com``: rename, replacing ``newpath`` atomically."""
        return self._request(
            c.FXP_EXTENDED, b"posix-rename@openssh.com", string(oldpath) + string(newpath)
        ).addCallback(_onlyStatus)

    def makeHardLink(self, oldpath: bytes, newpath: bytes) -> Deferred[None]:
        """``hardlink@openssh.com``: a new name ``newpath`` for ``oldpath``."""
        return self._request(
            c.FXP_EXTENDED, b"hardlink@openssh.com", string(oldpath) + string(newpath)
        ).addCallback(_onlyStatus)

    def statVFS(self, path: bytes) -> Deferred[dict[str, int]]:
        """``statvfs@openssh.com``: the file system's ``f_bsize``, ``f_blocks``... by name."""

        def parse(data: bytes) -> dict[str, int]:
            if len(data) != _STATVFS_FORMAT.size:
                raise SFTPError(FX_BAD_MESSAGE, "bad statvfs reply")
            return dict(zip(_STATVFS_FIELDS, _STATVFS_FORMAT.unpack(data), strict=True))

        d = self._request(c.FXP_EXTENDED, b"statvfs@openssh.com", string(path))
        return d.addCallback(_extendedData).addCallback(parse)

    def limits(self) -> Deferred[dict[str, int]]:
        """``limits@openssh.com``: the server's packet, read, write and handle limits."""

        def parse(data: bytes) -> dict[str, int]:
            r = Reader(data)
            try:
                values = [r.uint64() for _ in range(4)]
            except DecodeError:
                raise SFTPError(FX_BAD_MESSAGE, "bad limits reply") from None
            names = ("maxPacketLength", "maxReadLength", "maxWriteLength", "maxOpenHandles")
            return dict(zip(names, values, strict=True))

        d = self._request(c.FXP_EXTENDED, b"limits@openssh.com", b"")
        return d.addCallback(_extendedData).addCallback(parse)


_STATVFS_FIELDS = (
    "f_bsize",
    "f_frsize",
    "f_blocks",
    "f_bfree",
    "f_bavail",
    "f_files",
    "f_ffree",
    "f_favail",
    "f_fsid",
    "f_flag",
    "f_namemax",
)


@implementer(ISFTPFile)
class ClientFile:
    """A file the client opened; its methods return Deferreds."""

    def __init__(self, parent: FileTransferClient, handle: bytes) -> None:
        self.parent = parent
        self.handle = handle

    def close(self) -> Deferred[None]:
        """Close the file on the server."""
        return self.parent._request(c.FXP_CLOSE, self.handle).addCallback(_onlyStatus)

    def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
        """Up to ``length`` bytes at ``offset``; fails with ``EOFError`` at the end."""
        d = self.parent._request(c.FXP_READ, self.handle, offset, length)
        return d.addCallback(_data)

    def writeChunk(self, offset: int, data: bytes) -> Deferred[None]:
        """Write ``data`` at ``offset``."""
        d = self.parent._request(c.FXP_WRITE, self.handle, offset, data)
        return d.addCallback(_onlyStatus)

    def getAttrs(self) -> Deferred[dict[str, Any]]:
        """The file's attributes (``FSTAT``)."""
        return self.parent._request(c.FXP_FSTAT, self.handle).addCallback(_attributes)

    def setAttrs(self, attrs: dict[str, Any]) -> Deferred[None]:
        """Change the file's attributes (``FSETSTAT``)."""
        d = self.parent._request(c.FXP_FSETSTAT, self.handle, attrs)
        return d.addCallback(_onlyStatus)

    def fsync(self) -> Deferred[None]:
        """``fsync@openssh.com``: flush the file to disk on the server."""
        d = self.parent._request(c.FXP_EXTENDED, b"fsync@openssh.com", string(self.handle))
        return d.addCallback(_onlyStatus)


class ClientDirectory:
    """
    A directory the client opened. :meth:`read` fetches the next batch; iterating gives
    Deferreds of single ``(filename, longname, attrs)`` entries, as in Twisted.
    """

    def __init__(self, parent: FileTransferClient, handle: bytes) -> None:
        self.parent = parent
        self.handle = handle
        self._buffer: list[tuple[bytes, bytes, dict[str, Any]]] = []

    def read(self) -> Deferred[list[tuple[bytes, bytes, dict[str, Any]]]]:
        """The next batch of entries; fails with ``EOFError`` when there are no more."""
        return self.parent._request(c.FXP_READDIR, self.handle).addCallback(_names)

    def close(self) -> Deferred[None]:
        """Close the directory on the server."""
        return self.parent._request(c.FXP_CLOSE, self.handle).addCallback(_onlyStatus)

    def __iter__(self) -> ClientDirectory:
        return self

    def __next__(self) -> Deferred[tuple[bytes, bytes, dict[str, Any]]]:
        if self._buffer:
            d: Deferred[Any] = Deferred()
            d.callback(self._buffer.pop(0))
            return d

        def first(names: list[tuple[bytes, bytes, dict[str, Any]]]) -> Any:
            self._buffer.extend(names[1:])
            return names[0]

        return self.read().addCallback(first)


# ---------------------------------------------------------------------- client channel


class _SFTPChannel(SSHChannel):
    """A session channel that asks for the ``sftp`` subsystem and carries a client."""

    name = b"session"

    def __init__(self, client: FileTransferClient, ready: Deferred[FileTransferClient]) -> None:
        # A large window keeps many reads in flight (OpenSSH uses 2 MiB).
        super().__init__(localWindow=4 * 1024 * 1024, localMaxPacket=32768)
        self.client = client
        self.ready = ready

    def openFailed(self, reason: Any) -> None:
        if not self.ready.called:
            self.ready.errback(Failure(SFTPError(FX_NO_CONNECTION, "channel refused")))

    def channelOpen(self, specificData: bytes) -> None:
        d = self.conn.sendRequest(self, b"subsystem", string(b"sftp"), wantReply=True)
        assert d is not None
        d.addCallbacks(self._started, self._refused)

    def _started(self, _: Any) -> None:
        self.client.makeConnection(self)
        self.client.whenReady().chainDeferred(self.ready)

    def _refused(self, reason: Failure) -> None:
        if not self.ready.called:
            self.ready.errback(Failure(SFTPError(FX_NO_CONNECTION, "sftp subsystem refused")))
        self.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self.client.dataReceived(data)

    def closed(self) -> None:
        if self.client.transport is not None:
            self.client.connectionLost(Failure(ConnectionDone("channel closed")))
        elif not self.ready.called:
            self.ready.errback(Failure(ConnectionLost("channel closed")))


def openSFTP(
    connection: Any, client: FileTransferClient | None = None
) -> Deferred[FileTransferClient]:
    """
    Start the ``sftp`` subsystem on an open SSH connection (a glisten addition; Twisted users
    write this channel themselves).

    :param connection: the client's :class:`~glisten.conch.ssh.connection.SSHConnection`.
    :param client: the protocol to run (a new :class:`FileTransferClient` by default).
    :return: fires with the client once the server's ``VERSION`` arrived.
    """
    ready: Deferred[FileTransferClient] = Deferred()
    connection.openChannel(_SFTPChannel(client or FileTransferClient(), ready))
    return ready
