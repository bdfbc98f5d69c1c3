"""
The legacy scp protocol in a session: ``scp -t`` (receive) and ``scp -f`` (send) served in
the server's own process over an :class:`~glisten.conch.interfaces.ISFTPServer`, so a user
confined by :class:`glisten.conch.unix.SFTPServerForUnixConchUser` stays inside the same root
whether they copy with ``sftp``, ``scp`` or ``scp -O``.

No shell runs: the command is split like a shell would (quotes and backslashes), ``-t``/``-f``
with ``-r``, ``-p``, ``-d`` (and ``-v``, ignored) are understood, and the last path component
given to ``-f`` may hold ``*``, ``?`` and ``[...]`` wildcards (matched by ``fnmatch``).
:class:`SCPOnlySession` is the :class:`~glisten.conch.interfaces.ISession` of
``glisten ssh --sftp-root``: it runs these commands and refuses everything else.
"""

from __future__ import annotations

import fnmatch
import getopt
import os
import shlex
import stat
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import attrs
from zope.interface import implementer

from glisten.conch.interfaces import ISession, ISFTPServer
from glisten.conch.ssh._scp._codec import SCPConnection
from glisten.conch.ssh._scp._errors import SCPProtocolError
from glisten.conch.ssh._scp._events import (
    Ack,
    DirectoryHeader,
    EndDirectory,
    Event,
    Fatal,
    FileData,
    FileEnd,
    FileHeader,
    Finished,
    Times,
    Warning,
)
from glisten.conch.ssh._scp._limits import Limits
from glisten.conch.ssh.filetransfer import FXF_CREAT, FXF_READ, FXF_TRUNC, FXF_WRITE, SFTPError
from glisten.internet.defer import Deferred
from glisten.internet.error import ProcessDone, ProcessTerminated
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = ["Limits", "SCPCommand", "SCPOnlySession", "SCPProcess", "parseSCPCommand"]

_log = Logger()

#: What :class:`SCPProcess` reads from a file at a time.
CHUNK_SIZE = 32768
#: Received file bytes held while the file system is slow, before the client must wait.
_MAX_QUEUED = 1024 * 1024
_GLOB = frozenset(b"*?[")


@attrs.frozen
class SCPCommand:
    """
    A parsed ``scp -t``/``scp -f`` command line.

    :ivar mode: ``"sink"`` for ``-t`` (the client uploads), ``"source"`` for ``-f``.
    :ivar recursive: ``-r``: folders may be copied.
    :ivar preserve: ``-p``: modes and times are copied.
    :ivar targetIsDirectory: ``-d``: the upload target must be a folder.
    :ivar paths: the target (sink) or the files to send (source).
    """

    mode: Literal["sink", "source"]
    recursive: bool
    preserve: bool
    targetIsDirectory: bool
    paths: tuple[bytes, ...]


def parseSCPCommand(command: bytes) -> SCPCommand | None:
    """
    The scp command ``command`` asks for, or ``None`` when it is not one (or not valid).

    :param command: an ``exec`` request's command, as ``scp -O`` sends it.
    """
    try:
        words = shlex.split(command.decode("utf-8", "surrogateescape"))
    except ValueError:
        return None
    if not words or words[0].rsplit("/", 1)[-1] != "scp":
        return None
    try:
        options, paths = getopt.getopt(words[1:], "dfprtv")
    except getopt.GetoptError:
        return None
    flags = {name for name, _ in options}
    if len(flags & {"-t", "-f"}) != 1 or not paths:
        return None
    return SCPCommand(
        mode="sink" if "-t" in flags else "source",
        recursive="-r" in flags,
        preserve="-p" in flags,
        targetIsDirectory="-d" in flags,
        paths=tuple(p.encode("utf-8", "surrogateescape") for p in paths),
    )


class _Exit(Exception):
    """Stop the transfer with this exit status."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _display(path: bytes) -> str:
    """A path for a message, with control characters shown as ``?``."""
    text = path.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


def _reason(exc: BaseException) -> str:
    """Why a file system call failed, in our words (never the path the client sent)."""
    if isinstance(exc, SFTPError):
        return exc.message or "failure"
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno)
    return "failure"


def _join(folder: bytes, name: bytes) -> bytes:
    return folder.rstrip(b"/") + b"/" + name if folder.rstrip(b"/") else b"/" + name


async def _call(f: Callable[..., Any], *args: Any) -> Any:
    """Call a file system method that may answer now or with a Deferred."""
    result = f(*args)
    if isinstance(result, Deferred):
        result = await result
    return result


class SCPProcess:
    """
    One ``scp -t`` or ``scp -f`` run: stands where a session expects a process (it is the
    process protocol's transport) and ends with the exit status ``scp`` would have (0, or 1
    after any error).

    :param server: the file system, already confined as the user must be.
    :param command: what to do.
    :param processProtocol: the session's process protocol (output, errors and the end go there).
    :param limits: what the client may send.
    """

    def __init__(
        self,
        server: Any,
        command: SCPCommand,
        processProtocol: Any,
        limits: Limits | None = None,
    ) -> None:
        self.server = server
        self.command = command
        self.processProtocol = processProtocol
        self._codec = SCPConnection(command.mode, limits)
        self._limits = self._codec.limits
        self._events: deque[Event] = deque()
        self._queued = 0
        self._waiting: Deferred[None] | None = None
        self._inputClosed = False
        self._ended = False
        self._errors = 0
        self._outputPaused = False
        self._resumed: Deferred[None] | None = None
        self._inputProducer: Any = None
        self._inputPaused = False

    def start(self) -> Deferred[int]:
        """Connect to the process protocol and run; fires with the exit status."""
        self.processProtocol.makeConnection(self)
        return Deferred.fromCoroutine(self._main())

    # ------------------------------------------------------------------ the process transport

    def write(self, data: bytes) -> None:
        """What the client sent on the channel."""
        if self._ended or self._inputClosed:
            return
        try:
            events = self._codec.receiveData(data)
        except SCPProtocolError as e:
            self._protocolError(e)
            return
        self._push(events)

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def closeStdin(self) -> None:
        """The client sent EOF."""
        if self._ended or self._inputClosed:
            return
        self._inputClosed = True
        try:
            events = self._codec.receiveEOF()
        except SCPProtocolError as e:
            self._protocolError(e)
            return
        self._push(events)

    def loseConnection(self) -> None:
        """The session is gone: stop where we are (open files are closed)."""
        self._inputClosed = True
        self._ended = True
        self._wake()
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            resumed.callback(None)

    def signalProcess(self, signalID: Any) -> None:
        self.loseConnection()

    def pauseProducing(self) -> None:
        """The channel has too much to send: stop reading files until it drains."""
        self._outputPaused = True

    def resumeProducing(self) -> None:
        self._outputPaused = False
        resumed, self._resumed = self._resumed, None
        if resumed is not None:
            resumed.callback(None)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """The session, paused while received file bytes wait for a slow file system."""
        self._inputProducer = producer

    def unregisterProducer(self) -> None:
        self._inputProducer = None

    # ------------------------------------------------------------------ events in

    def _protocolError(self, e: SCPProtocolError) -> None:
        self._send(self._codec.sendError(f"scp: protocol error: {e}", fatal=True))
        self._events.append(Fatal(str(e)))
        self._inputClosed = True
        self._wake()

    def _push(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, FileData):
                self._queued += len(event.data)
        self._events.extend(events)
        if self._queued > _MAX_QUEUED and not self._inputPaused and self._inputProducer:
            self._inputPaused = True
            self._inputProducer.pauseProducing()
        self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.callback(None)

    async def _next(self) -> Event:
        """The next event; :class:`Finished` once the client closed cleanly."""
        while not self._events:
            if self._ended:
                raise _Exit(1)
            if self._inputClosed:
                # Closed without Finished: an error already went out.
                raise _Exit(1)
            self._waiting = Deferred[None]()
            await self._waiting
        event = self._events.popleft()
        if isinstance(event, FileData):
            self._queued -= len(event.data)
            if self._inputPaused and self._queued <= _MAX_QUEUED // 2:
                self._inputPaused = False
                if self._inputProducer is not None:
                    self._inputProducer.resumeProducing()
        elif isinstance(event, Fatal):
            raise _Exit(1)
        return event

    # ------------------------------------------------------------------ output

    def _send(self, data: bytes) -> None:
        if not self._ended:
            self.processProtocol.outReceived(data)

    def _reply(self, data: bytes) -> None:
        """Send a reply, then hand on what the client sent while it waited for it."""
        self._send(data)
        if not self._ended:
            try:
                events = self._codec.receiveData(b"")
            except SCPProtocolError as e:
                self._protocolError(e)
                return
            self._push(events)

    def _fail(self, message: str) -> None:
        """Refuse what waits for a reply (a file or folder we cannot make)."""
        self._errors += 1
        self._reply(self._codec.sendError("scp: " + message))

    def _warn(self, message: str) -> None:
        """Tell the receiving client what we cannot send."""
        self._errors += 1
        self._send(self._codec.sendError("scp: " + message))

    # ------------------------------------------------------------------ running

    async def _main(self) -> int:
        code = 1
        try:
            if self.command.mode == "sink":
                await self._sink()
            else:
                await self._source()
            code = 1 if self._errors else 0
        except _Exit as e:
            code = e.code
        except Exception:
            _log.failure("scp failed", Failure())
            if not self._ended:
                self._send(self._codec.sendError("scp: internal error", fatal=True))
        self._finish(code)
        return code

    def _finish(self, code: int) -> None:
        if self._ended:
            return
        self._ended = True
        reason = ProcessDone(None) if code == 0 else ProcessTerminated(exitCode=code)
        self.processProtocol.processEnded(Failure(reason))

    async def _kind(self, path: bytes) -> int | None:
        """The file type bits of ``path`` (links followed), or None if it does not exist."""
        try:
            attrs = await _call(self.server.getAttrs, path, True)
        except Exception:
            return None
        return stat.S_IFMT(attrs.get("permissions", 0))

    # ------------------------------------------------------------------ sink (scp -t)

    async def _sink(self) -> None:
        if len(self.command.paths) != 1:
            self._send(self._codec.sendError("scp: ambiguous target", fatal=True))
            raise _Exit(1)
        target = self.command.paths[0]
        isDirectory = await self._kind(target) == stat.S_IFDIR
        if self.command.targetIsDirectory and not isDirectory:
            self._send(
                self._codec.sendError(f"scp: {_display(target)}: not a directory", fatal=True)
            )
            raise _Exit(1)
        self._reply(self._codec.sendOK())
        await self._sinkFolder(target, isDirectory)

    async def _sinkFolder(self, target: bytes, isDirectory: bool) -> None:
        times: Times | None = None
        while True:
            event = await self._next()
            if isinstance(event, Finished | EndDirectory):
                if isinstance(event, EndDirectory):
                    self._reply(self._codec.sendOK())
                return
            if isinstance(event, Warning):
                self._errors += 1
            elif isinstance(event, Times):
                times = event
                self._reply(self._codec.sendOK())
            elif isinstance(event, DirectoryHeader):
                path = _join(target, event.name) if isDirectory else target
                await self._sinkDirectory(path, event, times)
                times = None
            elif isinstance(event, FileHeader):
                path = _join(target, event.name) if isDirectory else target
                await self._sinkFile(path, event, times)
                times = None

    async def _sinkDirectory(
        self, path: bytes, header: DirectoryHeader, times: Times | None
    ) -> None:
        if not self.command.recursive:
            self._send(self._codec.sendError("scp: received a folder without -r", fatal=True))
            raise _Exit(1)
        kind = await self._kind(path)
        setMode = self.command.preserve or kind is None
        try:
            if kind is None:
                await _call(self.server.makeDirectory, path, {"permissions": header.mode | 0o700})
            elif kind != stat.S_IFDIR:
                self._fail(f"{_display(path)}: not a directory")
                return
        except Exception as e:
            self._fail(f"{_display(path)}: {_reason(e)}")
            return
        self._reply(self._codec.sendOK())
        await self._sinkFolder(path, True)
        attrs: dict[str, Any] = {}
        if setMode:
            attrs["permissions"] = header.mode
        if times is not None and self.command.preserve:
            attrs.update(atime=times.atime, mtime=times.mtime)
        if attrs:
            try:
                await _call(self.server.setAttrs, path, attrs)
            except Exception as e:
                self._warn(f"{_display(path)}: {_reason(e)}")

    async def _sinkFile(self, path: bytes, header: FileHeader, times: Times | None) -> None:
        try:
            f = await _call(
                self.server.openFile,
                path,
                FXF_WRITE | FXF_CREAT | FXF_TRUNC,
                {"permissions": header.mode | 0o200},
            )
        except Exception as e:
            self._fail(f"{_display(path)}: {_reason(e)}")
            return
        writeError: str | None = None
        offset = 0
        try:
            self._reply(self._codec.sendOK())
            while True:
                event = await self._next()
                if isinstance(event, FileEnd):
                    if event.error is not None:
                        self._errors += 1
                    break
                if not isinstance(event, FileData):
                    raise _Exit(1)
                if writeError is None:
                    try:
                        await _call(f.writeChunk, offset, event.data)
                    except Exception as e:
                        writeError = _reason(e)
                offset += len(event.data)
            attrs: dict[str, Any] = {}
            if self.command.preserve:
                attrs["permissions"] = header.mode
                if times is not None:
                    attrs.update(atime=times.atime, mtime=times.mtime)
            if attrs and writeError is None:
                try:
                    await _call(f.setAttrs, attrs)
                except Exception as e:
                    writeError = _reason(e)
        finally:
            try:
                await _call(f.close)
            except Exception as e:
                writeError = writeError or _reason(e)
        if writeError is not None:
            self._fail(f"{_display(path)}: {writeError}")
        else:
            self._reply(self._codec.sendOK())

    # ------------------------------------------------------------------ source (scp -f)

    async def _answer(self) -> bool:
        """The client's status for what we sent: True for OK."""
        event = await self._next()
        if isinstance(event, Ack):
            return True
        if isinstance(event, Warning):
            self._errors += 1
            return False
        # The client closed while we waited.
        raise _Exit(1)

    async def _source(self) -> None:
        await self._answer()
        for path in self.command.paths:
            for match in await self._expand(path):
                await self._sourcePath(match, 0)

    async def _expand(self, path: bytes) -> list[bytes]:
        """``path``, or the names its last component's wildcards match (sorted)."""
        folder, _, pattern = path.rstrip(b"/").rpartition(b"/")
        if not _GLOB & set(pattern) or await self._kind(path) is not None:
            return [path]
        if not folder and path.startswith(b"/"):
            folder = b"/"
        try:
            directory = await _call(self.server.openDirectory, folder or b".")
        except Exception:
            return [path]
        names: list[bytes] = []
        try:
            for entry in directory:
                if isinstance(entry, Deferred):
                    entry = await entry
                name = entry[0]
                if name not in (b".", b"..") and fnmatch.fnmatchcase(name, pattern):
                    names.append(name)
        finally:
            directory.close()
        if not names:
            return [path]
        return [folder + b"/" + name if folder else name for name in sorted(names)]

    def _name(self, path: bytes) -> bytes | None:
        name = path.rstrip(b"/").rpartition(b"/")[2]
        return None if name in (b"", b".", b"..") else name

    async def _sourcePath(self, path: bytes, depth: int) -> None:
        try:
            attrs = await _call(self.server.getAttrs, path, True)
        except Exception as e:
            self._warn(f"{_display(path)}: {_reason(e)}")
            return
        mode = attrs.get("permissions", 0)
        name = self._name(path)
        if name is None:
            try:
                name = self._name(await _call(self.server.realPath, path))
            except Exception:
                name = None
        if name is None:
            self._warn(f"{_display(path)}: has no name to copy as")
            return
        if stat.S_ISDIR(mode):
            if not self.command.recursive:
                self._warn(f"{_display(path)}: not a regular file")
            elif depth >= self._limits.maxDepth:
                self._warn(f"{_display(path)}: folders nested too deep")
            else:
                await self._sourceDirectory(path, name, attrs, depth)
            return
        if not stat.S_ISREG(mode):
            self._warn(f"{_display(path)}: not a regular file")
            return
        await self._sourceFile(path, name)

    async def _sendTimes(self, attrs: dict[str, Any]) -> bool:
        if not self.command.preserve:
            return True
        self._send(self._codec.sendTimes(attrs.get("mtime", 0), attrs.get("atime", 0)))
        return await self._answer()

    async def _sourceDirectory(
        self, path: bytes, name: bytes, attrs: dict[str, Any], depth: int
    ) -> None:
        try:
            directory = await _call(self.server.openDirectory, path)
        except Exception as e:
            self._warn(f"{_display(path)}: {_reason(e)}")
            return
        try:
            names: list[bytes] = []
            for entry in directory:
                if isinstance(entry, Deferred):
                    entry = await entry
                if entry[0] not in (b".", b".."):
                    names.append(entry[0])
        finally:
            directory.close()
        if not await self._sendTimes(attrs):
            return
        self._send(self._codec.sendDirectoryHeader(attrs.get("permissions", 0o755), name))
        if not await self._answer():
            return
        for child in sorted(names):
            await self._sourcePath(_join(path, child), depth + 1)
        self._send(self._codec.sendEndDirectory())
        await self._answer()

    async def _sourceFile(self, path: bytes, name: bytes) -> None:
        try:
            f = await _call(self.server.openFile, path, FXF_READ, {})
        except Exception as e:
            self._warn(f"{_display(path)}: {_reason(e)}")
            return
        readError: str | None = None
        try:
            attrs = await _call(f.getAttrs)
            if not await self._sendTimes(attrs):
                return
            size = attrs.get("size", 0)
            self._send(self._codec.sendFileHeader(attrs.get("permissions", 0o644), size, name))
            if not await self._answer():
                return
            offset = 0
            while offset < size:
                length = min(CHUNK_SIZE, size - offset)
                data = b""
                if readError is None:
                    try:
                        data = await _call(f.readChunk, offset, length)
                    except EOFError:
                        readError = "file shrank while it was sent"
                    except Exception as e:
                        readError = _reason(e)
                    if readError is None and not data:
                        readError = "file shrank while it was sent"
                if readError is not None:
                    data = bytes(length)
                data = data[:length]
                self._send(self._codec.sendFileData(data))
                offset += len(data)
                if self._ended:
                    raise _Exit(1)
                if self._outputPaused:
                    self._resumed = Deferred[None]()
                    await self._resumed
        finally:
            try:
                await _call(f.close)
            except Exception:
                pass
        if readError is not None:
            self._errors += 1
            readError = f"scp: {_display(path)}: {readError}"
        self._send(self._codec.sendFileEnd(readError))
        await self._answer()


@implementer(ISession)
class SCPOnlySession:
    """
    A session that runs only ``scp -t``/``scp -f`` commands, on the avatar's
    :class:`~glisten.conch.interfaces.ISFTPServer` (so inside the same root as SFTP); shells,
    terminals and other commands are refused.
    """

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar
        self.process: SCPProcess | None = None

    def getPty(self, term: bytes, windowSize: tuple[int, int, int, int], modes: Any) -> None:
        raise ValueError("no terminals here")

    def openShell(self, proto: Any) -> None:
        raise ValueError("no shells here")

    def execCommand(self, proto: Any, command: bytes) -> None:
        parsed = parseSCPCommand(command)
        if parsed is None:
            raise ValueError("only scp -t and scp -f run here")
        self.process = SCPProcess(ISFTPServer(self.avatar), parsed, proto)
        self.process.start()

    def windowChanged(self, newWindowSize: tuple[int, int, int, int]) -> None:
        pass

    def eofReceived(self) -> None:
        if self.process is not None:
            self.process.closeStdin()

    def closed(self) -> None:
        if self.process is not None:
            self.process.loseConnection()
