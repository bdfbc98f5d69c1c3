"""
``glisten cftp``: SFTP from the command line, with Twisted ``cftp``'s options.

``glisten cftp [-b FILE] [-l USER] [-p PORT] [-i KEY]... [-a] [--known-hosts FILE]
[-B BUFFERSIZE] [-R REQUESTS] [USER@]HOST`` runs commands, one a line, over the server's
``sftp`` subsystem: typed at a ``cftp>`` prompt (failures are reported and the session goes
on; on a terminal the line is edited, with a history, by :mod:`._prompt`), or with ``-b``
from ``FILE`` (``-`` for standard input). The commands: ``cd``, ``pwd``, ``lcd``, ``lpwd``,
``ls [-l] [PATH]``, ``get [-a] [-r] [-p] REMOTE [LOCAL]``, ``put [-a] [-r] [-p] LOCAL [REMOTE]``
(``-p`` keeps modes and times, ``-a`` resumes from the size of the copy already there),
``reget``/``reput`` (``get -a``/``put -a``), ``mkdir``, ``rmdir``, ``rm``, ``rename OLD NEW``,
``chmod MODE PATH``, ``chown UID PATH``, ``chgrp GID PATH`` (numeric ids), ``ln [-s] OLD NEW``,
``df [-h | -i] [PATH]``, ``exit``. ``*``, ``?`` and ``[...]`` in the paths of ``ls``, ``get``,
``put``, ``rm``, ``chmod``, ``chown`` and ``chgrp`` name every match (names from the server
that are not one path component are never used); a backslash makes the next character plain
(``get a\\*b`` fetches the file named ``a*b``; :mod:`._words`). Blank lines and ``#``
comments are skipped. As with
``sftp -b``, the first command that fails ends the run with exit status 1, unless the line
starts with ``-``. Transfers keep ``-R`` requests of ``-B`` bytes in flight. Host keys, keys
and agents are handled as by ``glisten conch``.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import os
import posixpath
import stat
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import IO, Any

from zope.interface import implementer

from glisten.application.service import IService, IServiceMaker, Service
from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import _CommandChannel
from glisten.conch.insults import insults
from glisten.conch.ls import lsLine
from glisten.conch.scripts._prompt import CommandPrompt, TerminalModes
from glisten.conch.scripts._words import (
    escape,
    fnmatchPattern,
    hasWildcards,
    splitWords,
    unescape,
)
from glisten.conch.scripts.conch import (
    CONNECTION_FAILED,
    _addConnectionArguments,
    _endpoint,
    _prepareConnection,
    _reportFailure,
    _standardIO,
)
from glisten.conch.ssh import common
from glisten.conch.ssh.filetransfer import (
    FX_NO_SUCH_FILE,
    FXF_CREAT,
    FXF_READ,
    FXF_TRUNC,
    FXF_WRITE,
    ClientFile,
    FileTransferClient,
    SFTPError,
)
from glisten.conch.ssh.keys import Key
from glisten.internet.defer import (
    Deferred,
    DeferredList,
    DeferredQueue,
    FirstError,
    ensureDeferred,
)
from glisten.internet.interfaces import IHalfCloseableProtocol
from glisten.internet.main import getReactor
from glisten.internet.protocol import Factory, connectionDone
from glisten.protocols.basic import LineOnlyReceiver
from glisten.python.failure import Failure

__all__ = ["CftpService", "cftpPlugin"]


class CommandError(Exception):
    """A batch command that cannot be run as written (a message for the user)."""


class Interrupted(CommandError):
    """Control-C at the terminal stopped a transfer (what was copied stays)."""

    def __init__(self) -> None:
        super().__init__("interrupted")


class _Client(FileTransferClient):
    """The SFTP client; its end (the channel closed) ends the run."""

    onLost: Any = None

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        if self.onLost is not None:
            self.onLost()


class _SFTPSession(_CommandChannel):
    """A session channel for the ``sftp`` subsystem, with a window for many reads in flight."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.localWindowSize = self.localWindowLeft = 4 * 1024 * 1024

    def channelOpen(self, specificData: bytes) -> None:
        self._creator.failure = None
        self._startCommand(b"subsystem", common.NS(b"sftp"))


@implementer(IHalfCloseableProtocol)
class _Lines(LineOnlyReceiver):
    """Typed commands into a queue (``None`` at the end of input); the output goes out."""

    delimiter = b"\n"

    def __init__(self, queue: DeferredQueue[str | None], onEnd: Callable[[], None]) -> None:
        self._queue = queue
        self._onEnd = onEnd

    def lineReceived(self, line: bytes) -> None:
        self._queue.put(line.decode("utf-8", "replace"))

    def lineLengthExceeded(self, line: bytes) -> None:
        self._queue.put("")

    def readConnectionLost(self) -> None:
        self._queue.put(None)

    def writeConnectionLost(self) -> None:
        """Nobody reads the output; the commands go on."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._queue.put(None)
        self._onEnd()


class _TextOut:
    """Text written to a transport (standard output in interactive mode)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, text: str) -> int:
        self._transport.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        """Written as soon as the descriptor takes it."""


class _Progress:
    """
    One line on a terminal, redrawn at most ten times a second: the file, the share done, the
    bytes and the rate.
    """

    def __init__(
        self,
        stream: IO[str],
        name: str,
        total: int | None,
        clock: Callable[[], float],
        resumedAt: int = 0,
    ) -> None:
        self._stream = stream
        self._name = name
        self._total = total
        self._clock = clock
        self._start = self._last = clock()
        self._resumedAt = self.done = resumedAt

    def update(self, n: int) -> None:
        self.done += n
        now = self._clock()
        if now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = (self.done - self._resumedAt) / max(now - self._start, 1e-3)
        share = f"{self.done / self._total:4.0%}" if self._total else "    "
        self._stream.write(
            f"\r{self._name[-30:]:<30} {share} {self.done / 1e6:9.1f} MB {rate / 1e6:7.1f} MB/s"
        )
        self._stream.flush()

    def finish(self) -> None:
        self._draw(self._clock())
        self._stream.write("\n")
        self._stream.flush()


def readBatch(lines: list[str]) -> list[tuple[bool, list[str], str]]:
    """
    The commands of a batch file.

    :return: ``(failure allowed, words, the line as written)`` for each command.
    :raises CommandError: a line that cannot be split into words.
    """
    commands = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tolerant = line.startswith("-")
        try:
            words = splitWords(line[1:] if tolerant else line)
        except ValueError as e:
            raise CommandError(f"line {number}: {e}") from None
        if words:
            commands.append((tolerant, words, line))
    return commands


class CftpService(Service):
    """
    One ``glisten cftp -b`` run.

    :ivar exitStatus: 0 when every command worked, 1 when one failed, 255 when the connection
        failed.
    """

    exitStatus = 0

    def __init__(
        self,
        options: argparse.Namespace,
        commands: list[tuple[bool, list[str], str]] | None,
        keys: list[Key],
        knownHosts: KnownHostsFile,
        reactor: Any = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.options = options
        self.commands = commands
        self.keys = keys
        self.knownHosts = knownHosts
        self._reactor = getReactor(reactor)
        self._stdout = stdout if stdout is not None else sys.stdout
        self._stderr = stderr if stderr is not None else sys.stderr
        self.client: FileTransferClient | None = None
        self.cwd = b"."
        self._local: Any = None
        self._restoreBlocking: Any = None
        self._prompt: CommandPrompt | None = None
        self._interrupted = False
        self._modes: TerminalModes | None = None
        # What must end before the reactor stops: the SFTP channel, standard output.
        self._open: set[str] = set()

    def startService(self) -> None:
        super().startService()
        endpoint = _endpoint(
            self._reactor, self.options, "", self.keys, self.knownHosts, self._stderr
        )
        endpoint._channelClass = _SFTPSession
        d = endpoint.connect(Factory.forProtocol(self._makeClient))
        d.addCallbacks(self._connected, self._failed)

    def _makeClient(self) -> _Client:
        client = _Client()
        client.onLost = lambda: self._ended("client")
        self._open.add("client")
        return client

    def _ended(self, what: str) -> None:
        self._open.discard(what)
        if not self._open:
            self._stop()

    def _failed(self, failure: Failure) -> None:
        _reportFailure(failure, self.options.host, "glisten cftp", self._stderr)
        self.exitStatus = CONNECTION_FAILED
        self._stop()

    def _stop(self) -> None:
        if self._reactor.running:
            self._reactor.stop()

    def _connected(self, client: FileTransferClient) -> None:
        self.client = client
        if self.commands is None:
            lines: DeferredQueue[str | None] = DeferredQueue()
            protocol: Any = _Lines(lines, self._localEnded)
            if os.isatty(0) and os.isatty(1):
                # A person at a terminal: a prompt with line editing and history.
                self._modes = TerminalModes(0, 1)
                self._prompt = CommandPrompt(
                    lines.put,
                    self._localEnded,
                    self.interrupt,
                    lambda before: ensureDeferred(self.complete(before)),
                )
                protocol = insults.ServerProtocol(lambda: self._prompt)
                protocol.reactor = self._reactor
            self._local, self._restoreBlocking = _standardIO(protocol, 0, 1, self._reactor)
            self._open.add("local")
            self._stdout = _TextOut(self._local)
            d = ensureDeferred(self._runInteractive(client, lines))
        else:
            d = ensureDeferred(self._runAll(client, self.commands))
        d.addErrback(self._broken)
        d.addBoth(lambda _: self._close())

    def _broken(self, failure: Failure) -> None:
        self._stderr.write(f"glisten cftp: {failure.getErrorMessage()}\n")
        self.exitStatus = 1

    def _localEnded(self) -> None:
        self._restoreModes()
        if self._restoreBlocking is not None:
            self._restoreBlocking()
        self._ended("local")

    def _close(self) -> None:
        if self._local is not None:
            # Out with what is written, then the standard descriptors close.
            self._local.loseConnection()
        client = self.client
        if client is not None and client.transport is not None:
            # The channel's end (``_Client.connectionLost``) stops the reactor.
            client.transport.loseConnection()
        else:
            self._stop()

    def _restoreModes(self) -> None:
        if self._modes is not None:
            self._modes.restore()

    def stopService(self) -> Any:
        self._restoreModes()
        self._stdout.flush()
        return super().stopService()

    async def _runAll(
        self, client: FileTransferClient, commands: list[tuple[bool, list[str], str]]
    ) -> None:
        await client.whenReady()
        self.cwd = await client.realPath(b".")
        for tolerant, words, line in commands:
            self._stdout.write(f"cftp> {line}\n")
            self._stdout.flush()
            if words[0] in ("exit", "quit", "bye"):
                return
            if not await self._runOne(words) and not tolerant:
                self.exitStatus = 1
                return

    async def _runInteractive(
        self, client: FileTransferClient, lines: DeferredQueue[str | None]
    ) -> None:
        await client.whenReady()
        self.cwd = await client.realPath(b".")
        while True:
            line = await self._readLine(lines)
            if line is None:
                return
            try:
                commands = readBatch([line])
            except CommandError as e:
                self._stderr.write(f"{e}\n")
                continue
            for _, words, _ in commands:
                if words[0] in ("exit", "quit", "bye"):
                    return
                await self._runOne(words)

    async def _readLine(self, lines: DeferredQueue[str | None]) -> str | None:
        """The next command line, edited at the prompt on a terminal; ``None`` at the end."""
        if self._prompt is None:
            self._stdout.write("cftp> ")
            line = await lines.get()
            if line is None:
                self._stdout.write("\n")
            return line
        self._prompt.showPrompt()
        return await lines.get()

    async def complete(self, before: str) -> tuple[str, list[str]]:
        """
        Tab at the prompt: complete the last word of ``before`` (the line up to the cursor),
        a command name or a path (local for ``put``'s first, ``get``'s second and ``lcd``'s
        word, else remote).

        :return: the text to insert (escaped for the command line; a blank after a whole
            name), and the names to show when they share no longer beginning.
        """
        try:
            words = splitWords(before)
            # Whether the cursor starts a new word (after a blank that is not escaped).
            if len(splitWords(before + "x")) > len(words):
                words.append("")
        except ValueError:
            return "", []  # inside quotes, or after a lone backslash: no completion
        word = unescape(words[-1])
        if len(words) == 1:
            names = [n[4:] for n in dir(self) if n.startswith("cmd_")] + ["exit"]
            found = sorted((n, False) for n in names if n.startswith(word))
            folder, prefix = "", word
        else:
            folder, prefix = word[: word.rfind("/") + 1], word[word.rfind("/") + 1 :]
            arguments = [w for w in words[1:-1] if not w.startswith("-")]
            command = words[0]
            local = command == "lcd" or (
                len(arguments) == (0 if command in ("put", "reput") else 1)
                and command in ("put", "reput", "get", "reget")
            )
            try:
                entries = await (self._localEntries if local else self._remoteEntries)(folder)
            except (OSError, SFTPError):
                return "", []
            found = sorted(
                (name, isDir)
                for name, isDir in entries
                if name.startswith(prefix) and (prefix.startswith(".") or name[:1] != ".")
            )
        if not found:
            return "", []
        common = os.path.commonprefix([name for name, _ in found])
        end = ("/" if found[0][1] else " ") if len(found) == 1 else ""
        if len(common) > len(prefix) or end:
            return _lineEscape(common[len(prefix) :]) + end, []
        return "", [name + ("/" if isDir else "") for name, isDir in found]

    async def _localEntries(self, folder: str) -> list[tuple[str, bool]]:
        """A local folder's names, and whether each is a folder."""
        with os.scandir(folder or ".") as entries:
            return [(e.name, e.is_dir()) for e in entries]

    async def _remoteEntries(self, folder: str) -> list[tuple[str, bool]]:
        """A remote folder's names, and whether each is a folder."""
        listed = await self._list(posixpath.join(self.cwd, os.fsencode(folder)))
        return [
            (os.fsdecode(name), stat.S_ISDIR(attrs.get("permissions", 0)))
            for name, _, attrs in listed
        ]

    def interrupt(self) -> None:
        """
        Control-C while a command runs: its transfers stop (those in flight are answered
        first); a second one, for a command that does not stop, ends the program.
        """
        if self._interrupted:
            self._stop()
        self._interrupted = True

    def _wasInterrupted(self) -> bool:
        return self._interrupted

    async def _runOne(self, words: list[str]) -> bool:
        """Run a command; a failure is one line on standard error. :return: it worked."""
        self._interrupted = False
        try:
            await self.runCommand(words)
        except (SFTPError, CommandError, OSError, EOFError) as e:
            self._stderr.write(f"{words[0]}: {_describe(e)}\n")
            self._stderr.flush()
            return False
        return True

    # ---------------------------------------------------------------- commands

    def _remote(self, path: str) -> bytes:
        """The remote path a word names, its escapes undone (for commands without wildcards)."""
        return posixpath.normpath(posixpath.join(self.cwd, os.fsencode(unescape(path))))

    def _remotePattern(self, pattern: str) -> bytes:
        """A word as a pattern for a remote path (the working folder's name taken as is)."""
        return posixpath.normpath(posixpath.join(escape(self.cwd), os.fsencode(pattern)))

    async def runCommand(self, words: list[str]) -> None:
        """Run one command (``words[0]`` is its name)."""
        name, args = words[0], words[1:]
        handler = getattr(self, "cmd_" + name, None)
        if handler is None:
            raise CommandError(f"unknown command {name!r}")
        await handler(args)

    def _arguments(self, args: list[str], least: int, most: int, usage: str) -> list[str]:
        if not least <= len(args) <= most:
            raise CommandError(f"usage: {usage}")
        return args

    async def cmd_cd(self, args: list[str]) -> None:
        (path,) = self._arguments(args, 1, 1, "cd DIRECTORY")
        assert self.client is not None
        target = await self.client.realPath(self._remote(path))
        attrs = await self.client.getAttrs(target, followLinks=True)
        if not stat.S_ISDIR(attrs.get("permissions", 0)):
            raise CommandError(f"{path}: not a directory")
        self.cwd = target

    async def cmd_pwd(self, args: list[str]) -> None:
        self._arguments(args, 0, 0, "pwd")
        self._stdout.write(f"Remote working directory: {os.fsdecode(self.cwd)}\n")

    async def cmd_lcd(self, args: list[str]) -> None:
        (path,) = self._arguments(args, 1, 1, "lcd DIRECTORY")
        os.chdir(unescape(path))

    async def cmd_lpwd(self, args: list[str]) -> None:
        self._arguments(args, 0, 0, "lpwd")
        self._stdout.write(f"Local working directory: {os.getcwd()}\n")

    async def _list(self, path: bytes) -> list[tuple[bytes, bytes, dict[str, Any]]]:
        """
        A remote folder's entries, without ``.``, ``..`` and names that are not one path
        component (a server could send ``../x``: such names are never used locally).
        """
        assert self.client is not None
        directory = await self.client.openDirectory(path)
        entries: list[tuple[bytes, bytes, dict[str, Any]]] = []
        try:
            while True:
                try:
                    entries.extend(await directory.read())
                except EOFError:
                    break
        finally:
            await directory.close()
        return sorted(e for e in entries if _safeName(e[0]))

    async def _glob(self, pattern: str) -> list[bytes]:
        """
        The remote paths ``pattern`` names: itself when it has no wildcards, else every match
        of its ``*``, ``?`` and ``[...]`` components (hidden names only for patterns starting
        with a dot).

        :raises CommandError: nothing matches.
        """
        path = self._remotePattern(pattern)
        if not hasWildcards(path):
            return [_unescapeBytes(path)]
        found = [b"/" if path.startswith(b"/") else b""]
        for part in path.split(b"/"):
            if not part:
                continue
            if not hasWildcards(part):
                found = [posixpath.join(p, _unescapeBytes(part)) for p in found]
                continue
            wanted = fnmatchPattern(part)
            matches = []
            for prefix in found:
                try:
                    entries = await self._list(prefix or b".")
                except SFTPError:
                    continue
                for name, _, _ in entries:
                    if fnmatch.fnmatchcase(name, wanted) and (
                        not name.startswith(b".") or wanted.startswith(b".")
                    ):
                        matches.append(posixpath.join(prefix, name))
            found = matches
        if not found:
            raise CommandError(f"{pattern}: no match")
        return sorted(found)

    async def _isRemoteDirectory(self, path: bytes) -> bool:
        assert self.client is not None
        try:
            attrs = await self.client.getAttrs(path, followLinks=True)
        except SFTPError:
            return False
        return stat.S_ISDIR(attrs.get("permissions", 0))

    async def cmd_ls(self, args: list[str]) -> None:
        long = bool(args) and args[0] == "-l"
        (path,) = self._arguments(args[1:] if long else args, 0, 1, "ls [-l] [PATH]") or ["."]
        remote = self._remotePattern(path)
        folder, name = posixpath.split(remote)
        if hasWildcards(name):
            # List the folders (themselves perhaps patterns) and keep the matching names.
            wanted = fnmatchPattern(name)
            shown = []
            for parent in await self._glob(os.fsdecode(folder or b".")):
                for entry in await self._list(parent):
                    if fnmatch.fnmatchcase(entry[0], wanted) and (
                        not entry[0].startswith(b".") or wanted.startswith(b".")
                    ):
                        shown.append(entry)
            if not shown:
                raise CommandError(f"{path}: no match")
        elif await self._isRemoteDirectory(_unescapeBytes(remote)):
            listed = await self._list(_unescapeBytes(remote))
            shown = [e for e in listed if not e[0].startswith(b".")]
        else:
            # A file is shown by itself, as it was named.
            assert self.client is not None
            attrs = await self.client.getAttrs(_unescapeBytes(remote), followLinks=False)
            named = os.fsencode(unescape(path))
            shown = [(named, lsLine(named, _statResult(attrs)), attrs)]
        for filename, longname, _ in shown:
            text = longname if long else filename
            self._stdout.write(text.decode("utf-8", "replace") + "\n")

    async def cmd_mkdir(self, args: list[str]) -> None:
        (path,) = self._arguments(args, 1, 1, "mkdir DIRECTORY")
        assert self.client is not None
        await self.client.makeDirectory(self._remote(path))

    async def cmd_rmdir(self, args: list[str]) -> None:
        (path,) = self._arguments(args, 1, 1, "rmdir DIRECTORY")
        assert self.client is not None
        await self.client.removeDirectory(self._remote(path))

    async def cmd_rm(self, args: list[str]) -> None:
        (path,) = self._arguments(args, 1, 1, "rm FILE")
        assert self.client is not None
        for match in await self._glob(path):
            await self.client.removeFile(match)
            if match != self._remote(path):
                self._stdout.write(f"Removing {os.fsdecode(match)}\n")

    async def cmd_chmod(self, args: list[str]) -> None:
        mode, path = self._arguments(args, 2, 2, "chmod MODE PATH")
        try:
            permissions = int(mode, 8)
        except ValueError:
            raise CommandError(f"{mode}: not an octal mode") from None
        if not 0 <= permissions <= 0o7777:
            raise CommandError(f"{mode}: not an octal mode")
        assert self.client is not None
        for match in await self._glob(path):
            self._stdout.write(f"Changing mode on {os.fsdecode(match)}\n")
            await self.client.setAttrs(match, {"permissions": permissions})

    async def _changeOwnership(self, args: list[str], which: str, usage: str) -> None:
        """
        Set the owner (``uid``) or group (``gid``) of every match to a numeric id, as
        OpenSSH's ``sftp`` does: SFTP v3 sets both, so the other is read first.
        """
        number, path = self._arguments(args, 2, 2, usage)
        if not (number.isascii() and number.isdigit()) or int(number) > 0xFFFFFFFF:
            raise CommandError(f"{number}: not a numeric id")
        assert self.client is not None
        for match in await self._glob(path):
            attrs = await self.client.getAttrs(match, followLinks=True)
            if "uid" not in attrs or "gid" not in attrs:
                raise CommandError(f"{os.fsdecode(match)}: the server gave no owner and group")
            owner = {"uid": attrs["uid"], "gid": attrs["gid"], which: int(number)}
            kind = "owner" if which == "uid" else "group"
            self._stdout.write(f"Changing {kind} on {os.fsdecode(match)}\n")
            await self.client.setAttrs(match, owner)

    async def cmd_chown(self, args: list[str]) -> None:
        await self._changeOwnership(args, "uid", "chown UID PATH")

    async def cmd_chgrp(self, args: list[str]) -> None:
        await self._changeOwnership(args, "gid", "chgrp GID PATH")

    async def cmd_ln(self, args: list[str]) -> None:
        symbolic = bool(args) and args[0] == "-s"
        old, new = self._arguments(args[1:] if symbolic else args, 2, 2, "ln [-s] OLD NEW")
        assert self.client is not None
        if symbolic:
            # The target is kept as written: a relative link stays relative.
            await self.client.makeLink(self._remote(new), os.fsencode(unescape(old)))
        else:
            await self.client.makeHardLink(self._remote(old), self._remote(new))

    async def cmd_df(self, args: list[str]) -> None:
        flags = {a for a in args if a.startswith("-")}
        paths = [a for a in args if not a.startswith("-")]
        if not flags <= {"-h", "-i"} or len(flags) > 1 or len(paths) > 1:
            raise CommandError("usage: df [-h | -i] [PATH]")
        assert self.client is not None
        v = await self.client.statVFS(self._remote(paths[0]) if paths else self.cwd)
        if "-i" in flags:
            total, free, avail = v["f_files"], v["f_ffree"], v["f_favail"]
            header = ("Inodes", "Used", "Avail", "(root)")
        else:
            unit = v["f_frsize"] or v["f_bsize"]
            total, free, avail = (v[k] * unit for k in ("f_blocks", "f_bfree", "f_bavail"))
            header = ("Size", "Used", "Avail", "(root)")
        used = total - free
        capacity = f"{100 * used // total}%" if total else "0%"
        self._stdout.write("%12s %12s %12s %12s %s\n" % (*header, "%Capacity"))
        if "-h" in flags:
            numbers = [_human(n) for n in (total, used, avail, free)]
        elif "-i" in flags:
            numbers = [str(n) for n in (total, used, avail, free)]
        else:
            numbers = [str(n // 1024) for n in (total, used, avail, free)]
        self._stdout.write("%12s %12s %12s %12s %9s\n" % (*numbers, capacity))

    async def cmd_rename(self, args: list[str]) -> None:
        old, new = self._arguments(args, 2, 2, "rename OLD NEW")
        assert self.client is not None
        await self.client.renameFile(self._remote(old), self._remote(new))

    def _progress(self, name: str, total: int | None, resumedAt: int = 0) -> Any:
        """A progress bar on standard error when it is a terminal; nothing otherwise."""
        if not self._stderr.isatty():
            return _NoProgress()
        return _Progress(self._stderr, name, total, self._reactor.seconds, resumedAt)

    @staticmethod
    def _flags(args: list[str], allowed: str, usage: str) -> tuple[set[str], list[str]]:
        """Split leading ``-rp``-style flags (up to ``--``) from the other arguments."""
        flags: set[str] = set()
        while args and args[0].startswith("-") and len(args[0]) > 1:
            word, args = args[0], args[1:]
            if word == "--":
                break
            if any(letter not in allowed for letter in word[1:]):
                raise CommandError(f"usage: {usage}")
            flags.update(word[1:])
        return flags, args

    async def cmd_get(self, args: list[str]) -> None:
        usage = "get [-a] [-r] [-p] REMOTE [LOCAL]"
        flags, args = self._flags(args, "arp", usage)
        paths = self._arguments(args, 1, 2, usage)
        preserve, resume = "p" in flags, "a" in flags
        matches = await self._glob(paths[0])
        local = unescape(paths[1]) if len(paths) > 1 else None
        intoFolder = len(matches) > 1 or local is None or os.path.isdir(local)
        if len(matches) > 1 and local is not None and not os.path.isdir(local):
            raise CommandError(f"{local}: not a directory (several files match)")
        for remote in matches:
            name = os.fsdecode(posixpath.basename(remote.rstrip(b"/")))
            target = os.path.join(local or ".", name) if intoFolder else str(local)
            if await self._isRemoteDirectory(remote):
                if "r" not in flags:
                    raise CommandError(f"{os.fsdecode(remote)}: a directory (use get -r)")
                await self._getDirectory(remote, target, 0, preserve, resume)
            else:
                await self._getFile(remote, target, preserve, resume)

    async def _copy(
        self, copy: Any, f: ClientFile, other: Any, name: str, total: int | None, start: int
    ) -> None:
        """
        Run :func:`_download` or :func:`_upload` (``copy``) between the remote file ``f`` and
        the local ``other`` with the options' sizes, a progress bar, and Control-C.
        """
        progress = self._progress(name, total, start)
        try:
            await copy(
                f,
                other,
                self.options.buffersize,
                self.options.requests,
                progress.update,
                start,
                self._wasInterrupted,
            )
        finally:
            progress.finish()

    def _transferClient(self) -> FileTransferClient:
        """
        The client, for a transfer about to start.

        :raises Interrupted: Control-C stopped the command: no further transfer starts.
        """
        assert self.client is not None
        if self._interrupted:
            raise Interrupted()
        return self.client

    async def cmd_reget(self, args: list[str]) -> None:
        """``get -a``: resume downloads from the size of the local files."""
        await self.cmd_get(["-a", *args])

    async def _getFile(
        self, remote: bytes, local: str, preserve: bool = False, resume: bool = False
    ) -> None:
        """
        Download a file; resuming, from the size of the local file (which must not be larger
        than the remote one).
        """
        f = await self._transferClient().openFile(remote, FXF_READ)
        try:
            attrs = await f.getAttrs()
            size = attrs.get("size")
            fd = os.open(local, os.O_WRONLY | os.O_CREAT | (0 if resume else os.O_TRUNC), 0o644)
            try:
                start = os.fstat(fd).st_size if resume else 0
                if size is not None and start > size:
                    raise CommandError(f"{local}: larger than the remote file, not resumed")
                await self._copy(_download, f, fd, os.fsdecode(remote), size, start)
                if preserve:
                    _preserveLocally(fd, attrs)
            finally:
                os.close(fd)
        finally:
            await f.close()
        resumed = f" (resumed at {start})" if start else ""
        self._stdout.write(f"Fetched {os.fsdecode(remote)} to {local}{resumed}\n")

    async def _getDirectory(
        self, remote: bytes, local: str, depth: int, preserve: bool = False, resume: bool = False
    ) -> None:
        """Copy a remote folder; links and other special files are skipped, as by sftp."""
        if depth >= _MAX_DEPTH:
            raise CommandError(f"{os.fsdecode(remote)}: folders nested too deep")
        os.makedirs(local, exist_ok=True)
        for name, _, attrs in await self._list(remote):
            mode = attrs.get("permissions", 0)
            child = posixpath.join(remote, name)
            target = os.path.join(local, os.fsdecode(name))
            if stat.S_ISDIR(mode):
                await self._getDirectory(child, target, depth + 1, preserve, resume)
            elif stat.S_ISREG(mode):
                await self._getFile(child, target, preserve, resume)
            else:
                self._stderr.write(f"Skipping non-regular file {os.fsdecode(child)}\n")
        if preserve:
            assert self.client is not None
            folderAttrs = await self.client.getAttrs(remote, followLinks=True)
            fd = os.open(local, os.O_RDONLY | os.O_DIRECTORY)
            try:
                _preserveLocally(fd, folderAttrs)
            finally:
                os.close(fd)

    async def cmd_put(self, args: list[str]) -> None:
        usage = "put [-a] [-r] [-p] LOCAL [REMOTE]"
        flags, args = self._flags(args, "arp", usage)
        paths = self._arguments(args, 1, 2, usage)
        preserve, resume = "p" in flags, "a" in flags
        matches = _localGlob(paths[0])
        if not matches:
            raise CommandError(f"{paths[0]}: no match")
        remote = self._remote(paths[1]) if len(paths) > 1 else self.cwd
        intoFolder = len(matches) > 1 or len(paths) == 1 or await self._isRemoteDirectory(remote)
        if len(matches) > 1 and not await self._isRemoteDirectory(remote):
            raise CommandError(f"{paths[1]}: not a directory (several files match)")
        for local in matches:
            name = os.path.basename(os.path.normpath(local))
            target = posixpath.join(remote, os.fsencode(name)) if intoFolder else remote
            if os.path.isdir(local):
                if "r" not in flags:
                    raise CommandError(f"{local}: a directory (use put -r)")
                await self._putDirectory(local, target, 0, preserve, resume)
            else:
                await self._putFile(local, target, preserve, resume)

    async def cmd_reput(self, args: list[str]) -> None:
        """``put -a``: resume uploads from the size of the remote files."""
        await self.cmd_put(["-a", *args])

    async def _remoteSize(self, remote: bytes) -> int:
        """The size of a remote file; 0 when there is none yet."""
        assert self.client is not None
        try:
            attrs = await self.client.getAttrs(remote, followLinks=True)
        except SFTPError as e:
            if e.code == FX_NO_SUCH_FILE:
                return 0
            raise
        return int(attrs.get("size", 0))

    async def _putFile(
        self, local: str, remote: bytes, preserve: bool = False, resume: bool = False
    ) -> None:
        """
        Upload a file; resuming, from the size of the remote file (which must not be larger
        than the local one).
        """
        client = self._transferClient()
        with open(local, "rb") as source:
            st = os.fstat(source.fileno())
            start = await self._remoteSize(remote) if resume else 0
            if start > st.st_size:
                raise CommandError(f"{os.fsdecode(remote)}: larger than {local}, not resumed")
            source.seek(start)
            f = await client.openFile(
                remote,
                FXF_WRITE | FXF_CREAT | (0 if resume else FXF_TRUNC),
                {"permissions": st.st_mode & 0o777},
            )
            try:
                await self._copy(_upload, f, source, local, st.st_size, start)
                if preserve:
                    await f.setAttrs(_preservedAttrs(st))
            finally:
                await f.close()
        resumed = f" (resumed at {start})" if start else ""
        self._stdout.write(f"Uploaded {local} to {os.fsdecode(remote)}{resumed}\n")

    async def _putDirectory(
        self, local: str, remote: bytes, depth: int, preserve: bool = False, resume: bool = False
    ) -> None:
        """Copy a local folder; links and other special files are skipped, as by sftp."""
        if depth >= _MAX_DEPTH:
            raise CommandError(f"{local}: folders nested too deep")
        assert self.client is not None
        if not await self._isRemoteDirectory(remote):
            await self.client.makeDirectory(remote, {"permissions": os.stat(local).st_mode & 0o777})
        for name in sorted(os.listdir(local)):
            path = os.path.join(local, name)
            mode = os.lstat(path).st_mode
            target = posixpath.join(remote, os.fsencode(name))
            if stat.S_ISDIR(mode):
                await self._putDirectory(path, target, depth + 1, preserve, resume)
            elif stat.S_ISREG(mode):
                await self._putFile(path, target, preserve, resume)
            else:
                self._stderr.write(f"Skipping non-regular file {path}\n")
        if preserve:
            await self.client.setAttrs(remote, _preservedAttrs(os.stat(local)))


def _statResult(attrs: dict[str, Any]) -> SimpleNamespace:
    """SFTP attributes as the ``os.stat_result``-like object ``lsLine`` takes."""
    return SimpleNamespace(
        st_mode=attrs.get("permissions", 0),
        st_nlink=1,
        st_uid=attrs.get("uid", 0),
        st_gid=attrs.get("gid", 0),
        st_size=attrs.get("size", 0),
        st_mtime=attrs.get("mtime", 0),
    )


def _preservedAttrs(st: os.stat_result) -> dict[str, Any]:
    """What ``put -p`` keeps: the mode and the times."""
    return {
        "permissions": st.st_mode & 0o7777,
        "atime": int(st.st_atime),
        "mtime": int(st.st_mtime),
    }


def _preserveLocally(fd: int, attrs: dict[str, Any]) -> None:
    """What ``get -p`` keeps: the remote mode and times, when the server gave them."""
    if "permissions" in attrs:
        os.chmod(fd, attrs["permissions"] & 0o7777)
    if "atime" in attrs and "mtime" in attrs:
        os.utime(fd, (attrs["atime"], attrs["mtime"]))


#: How deep ``get -r``/``put -r`` go.
_MAX_DEPTH = 64


def _lineEscape(text: str) -> str:
    """``text`` as one word of a command line: blanks, quotes, backslashes and wildcard
    characters escaped."""
    return "".join("\\" + c if c in " \t'\"\\*?[]" else c for c in text)


def _unescapeBytes(pattern: bytes) -> bytes:
    return os.fsencode(unescape(os.fsdecode(pattern)))


def _localGlob(pattern: str) -> list[str]:
    """The local paths a pattern names (itself, escapes undone, when it has no wildcards)."""
    if not hasWildcards(os.fsencode(pattern)):
        return [unescape(pattern)]
    return sorted(glob.glob(os.fsdecode(fnmatchPattern(os.fsencode(pattern)))))


def _safeName(name: bytes) -> bool:
    """Whether a name from the server is one path component we may use locally."""
    return bool(name) and name not in (b".", b"..") and b"/" not in name and b"\x00" not in name


def _human(n: int) -> str:
    """A size in 1024-based units with one letter, as ``df -h``."""
    value = float(n)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 10 else f"{value:.1f}{unit}"
        value /= 1024
    return str(n)


def _describe(error: BaseException) -> str:
    if isinstance(error, SFTPError):
        return error.message or str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return str(error) or type(error).__name__


class _NoProgress:
    def update(self, n: int) -> None:
        """Not on a terminal: nothing to show."""

    def finish(self) -> None:
        """Not on a terminal: nothing to show."""


async def _download(
    f: ClientFile,
    fd: int,
    size: int,
    inFlight: int,
    onData: Callable[[int], None] = lambda n: None,
    start: int = 0,
    interrupted: Callable[[], bool] = lambda: False,
) -> None:
    """
    Read the file with up to ``inFlight`` requests of ``size`` bytes outstanding; a short read
    asks again for the rest of its piece, and the first end of file stops new requests.

    :param onData: called with the size of each piece written.
    :param start: the offset to read from (what is before it is already there).
    :param interrupted: once true, no more requests are made; when those in flight are
        answered, :class:`Interrupted` is raised (unless the file was whole by then).
    :raises Interrupted: see above.
    """
    nextOffset = start
    end: int | None = None
    done: Deferred[None] = Deferred()
    pending: list[Deferred[Any]] = []
    failures: list[Failure] = []

    def issue(offset: int, length: int) -> None:
        d: Deferred[Any] = f.readChunk(offset, length)
        pending.append(d)
        d.addCallbacks(got, failed, callbackArgs=(offset, length), errbackArgs=(offset,))
        d.addBoth(finished, d)

    def finished(_: Any, d: Deferred[Any]) -> None:
        pending.remove(d)
        refill()

    def got(data: bytes, offset: int, length: int) -> None:
        os.pwrite(fd, data, offset)
        onData(len(data))
        if data and len(data) < length and (end is None or offset + len(data) < end):
            issue(offset + len(data), length - len(data))

    def failed(failure: Failure, offset: int) -> None:
        nonlocal end
        if failure.check(EOFError):
            end = offset if end is None else min(end, offset)
        else:
            failures.append(failure)

    def refill() -> None:
        nonlocal nextOffset
        stopped = interrupted()
        while not failures and end is None and not stopped and len(pending) < inFlight:
            issue(nextOffset, size)
            nextOffset += size
        if not pending and not done.called:
            if failures:
                done.errback(failures[0])
            elif end is None:
                done.errback(Interrupted())
            else:
                done.callback(None)

    refill()
    await done


def _acknowledged(result: None, onData: Callable[[int], None], n: int) -> None:
    onData(n)


async def _upload(
    f: ClientFile,
    source: IO[bytes],
    size: int,
    inFlight: int,
    onData: Callable[[int], None] = lambda n: None,
    start: int = 0,
    interrupted: Callable[[], bool] = lambda: False,
) -> None:
    """
    Write ``source`` with up to ``inFlight`` writes of ``size`` bytes outstanding.

    :param onData: called with the size of each piece the server acknowledged.
    :param start: the remote offset of what ``source`` reads first.
    :param interrupted: once true, no more writes are made; when those in flight are
        acknowledged, :class:`Interrupted` is raised.
    :raises Interrupted: see above.
    """
    offset = start
    window: list[Deferred[Any]] = []
    stopped = False
    while not (stopped := interrupted()) and (chunk := source.read(size)):
        # (Interrupted with nothing left to read counts as interrupted: it is harmless.)
        d: Deferred[Any] = f.writeChunk(offset, chunk)
        d.addCallback(_acknowledged, onData, len(chunk))
        window.append(d)
        offset += len(chunk)
        if len(window) >= inFlight:
            await window.pop(0)
    if window:

        def firstFailure(failure: Failure) -> Failure:
            first: FirstError = failure.value  # type: ignore[assignment]
            return first.subFailure

        await DeferredList(window, fireOnOneErrback=True, consumeErrors=True).addErrback(
            firstFailure
        )
    if stopped:
        raise Interrupted()


@implementer(IServiceMaker)
class CftpServiceMaker:
    """``glisten cftp``: SFTP file transfers, typed or from a batch file."""

    tapname = "cftp"
    description = "Transfer files over SFTP, interactively or in batch mode (Twisted's cftp)."
    options = None
    #: Its output is the command's result: the log goes to standard error.
    resultOnStdout = True

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        _addConnectionArguments(parser)
        parser.add_argument(
            "-b",
            "--batchfile",
            metavar="FILE",
            help="run the commands of FILE ('-' for standard input) and stop at a failure",
        )
        parser.add_argument(
            "-B",
            "--buffersize",
            type=int,
            default=32768,
            help="bytes per read or write request (default 32768)",
        )
        parser.add_argument(
            "-R",
            "--requests",
            type=int,
            default=64,
            help="requests in flight during a transfer (default 64)",
        )
        parser.add_argument("host", help="[USER@]HOST")

    def makeService(self, options: argparse.Namespace) -> IService:
        if not 1 <= options.buffersize <= 256 * 1024:
            raise ValueError("--buffersize must be between 1 and 262144")
        if not 1 <= options.requests <= 1024:
            raise ValueError("--requests must be between 1 and 1024")
        commands = None
        if options.batchfile == "-":
            commands = readBatch(sys.stdin.read().splitlines())
        elif options.batchfile is not None:
            with open(options.batchfile, encoding="utf-8") as f:
                commands = readBatch(f.read().splitlines())
        keys, knownHosts = _prepareConnection(options)
        if commands is not None:
            # As sftp -b: no questions (passwords, unknown host keys) in batch mode.
            options.batch_mode = True
        return CftpService(options, commands, keys, knownHosts)


#: The object published in the ``glisten.plugins`` entry-point group as ``cftp``.
cftpPlugin = CftpServiceMaker()
