"""Aliases (Twisted's ``twisted.mail.alias``): addresses that forward to other addresses,
append to files, or feed a program, loaded from an ``/etc/aliases``-style file."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from typing import Any

from zope.interface import Interface, implementer

from glisten.internet import defer, protocol
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.mail import smtp
from glisten.python.failure import Failure

_log = Logger(namespace="glisten.mail.alias")


class IAlias(Interface):
    """An alias: something a message for a local name goes to."""

    def createMessageReceiver() -> Any:
        """:return: an ``IMessage`` for one message."""


def handle(result: dict[str, Any], line: str, filename: str, lineNo: int) -> None:
    """Parse one ``name: target, target`` line into ``result``."""
    name, sep, targets = line.partition(":")
    name = name.strip().lower()
    if not sep or not name:
        _log.warn("Invalid format on line {n} of alias file {f}", n=lineNo, f=filename)
        return
    entries = [t.strip() for t in _splitTargets(targets) if t.strip()]
    result.setdefault(name, []).extend(entries)


def _splitTargets(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def loadAliasFile(domains: Any, filename: str | None = None, fp: Any = None) -> dict[str, Any]:
    """Load an aliases file: ``name: target, ...`` lines, continued by lines that start with
    whitespace, ``#`` comments. Targets: ``|command`` (a program), ``/path`` (a file),
    ``:include:/path`` (addresses listed in a file), else an address.

    :param domains: The mail service's domains (where address targets are looked up).
    :return: local name -> :class:`AliasGroup` (or a single alias).
    """
    result: dict[str, list[str]] = {}
    close = False
    if fp is None:
        assert filename is not None
        fp = open(filename, encoding="utf-8")
        close = True
    else:
        filename = getattr(fp, "name", "<unknown>")
    try:
        prev = ""
        lineNo = 0
        start = 0
        for raw in fp:
            lineNo += 1
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", "replace")
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if line[:1] in (" ", "\t"):
                prev += " " + line.strip()
                continue
            if prev.strip():
                handle(result, prev, filename or "", start)
            prev, start = line, lineNo
        if prev.strip():
            handle(result, prev, filename or "", start)
    finally:
        if close:
            fp.close()
    return {name: AliasGroup(targets, domains, name) for name, targets in result.items()}


class AliasBase:
    """What every alias has: the domains to resolve addresses in and its own name."""

    def __init__(self, domains: Any, original: Any) -> None:
        self.domains = domains
        self.original = smtp.Address(original) if original else None

    def domain(self) -> Any:
        return self.domains[self.original.domain] if self.original else None

    def resolve(self, aliasmap: dict[str, Any], memo: Any = None) -> Any:
        if memo is None:
            memo = {}
        if str(self) in memo:
            return None
        memo[str(self)] = None
        return self.createMessageReceiver()

    def createMessageReceiver(self) -> Any:
        raise NotImplementedError


@implementer(IAlias)
class AddressAlias(AliasBase):
    """Forwards to another address (local or, through the relay queue, remote)."""

    def __init__(self, alias: Any, *args: Any) -> None:
        super().__init__(*args)
        self.alias = smtp.Address(alias)

    def __str__(self) -> str:
        return f"<Address {self.alias}>"

    def createMessageReceiver(self) -> Any:
        user = smtp.User(self.alias, None, None, self.original or "")
        return self.domains[self.alias.domain].exists(user)()

    def resolve(self, aliasmap: dict[str, Any], memo: Any = None) -> Any:
        if memo is None:
            memo = {}
        if str(self) in memo:
            return None
        memo[str(self)] = None
        local = self.alias.local.decode("utf-8", "replace").lower()
        if local in aliasmap:
            return aliasmap[local].resolve(aliasmap, memo)
        return self.createMessageReceiver()


@implementer(smtp.IMessage)
class FileWrapper:
    """Appends a message to a file (mbox style, after a ``From`` separator line) at its end."""

    def __init__(self, filename: str) -> None:
        self.finalname = filename
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> defer.Deferred[str]:
        body = []
        for line in self.lines:
            # mboxrd: quote From lines so the mailbox stays parseable.
            if line.lstrip(b">").startswith(b"From "):
                line = b">" + line
            body.append(line)
        data = b"From MAILER-DAEMON " + smtp.rfc822date() + b"\n" + b"\n".join(body) + b"\n\n"
        try:
            fd = os.open(self.finalname, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            return defer.fail()
        return defer.succeed(self.finalname)

    def connectionLost(self) -> None:
        self.lines = []

    def __str__(self) -> str:
        return f"<FileWrapper {self.finalname}>"


@implementer(IAlias)
class FileAlias(AliasBase):
    """Appends messages to a file."""

    def __init__(self, filename: str, *args: Any) -> None:
        super().__init__(*args)
        self.filename = filename

    def __str__(self) -> str:
        return f"<File {self.filename}>"

    def createMessageReceiver(self) -> FileWrapper:
        return FileWrapper(self.filename)


class ProcessAliasTimeout(Exception):
    """The alias program ran longer than its time limit."""


class _ProcessProtocol(protocol.ProcessProtocol):
    def __init__(self, done: defer.Deferred[int]) -> None:
        self.done = done

    def processEnded(self, reason: Failure) -> None:
        code = getattr(reason.value, "exitCode", 0) or 0
        if not self.done.called:
            self.done.callback(int(code))


@implementer(smtp.IMessage)
class MessageWrapper:
    """Feeds a message to a program on its standard input; the program's exit status
    decides (0 = delivered)."""

    completionTimeout = 60

    def __init__(
        self,
        command: list[str],
        reactor: Any = None,
        uid: int | None = None,
        gid: int | None = None,
    ) -> None:
        self.command = command
        self._reactor = reactor
        self.uid = uid
        self.gid = gid
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> defer.Deferred[Any]:
        reactor = getReactor(self._reactor)
        done: defer.Deferred[int] = defer.Deferred()
        proto = _ProcessProtocol(done)
        try:
            transport = reactor.spawnProcess(
                proto,
                self.command[0],
                self.command,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"},
                path="/",
                uid=self.uid,
                gid=self.gid,
            )
        except Exception:
            return defer.fail()
        transport.write(b"\n".join(self.lines) + b"\n")
        transport.closeStdin()
        timer = reactor.callLater(self.completionTimeout, self._kill, transport, done)

        def ended(code: int) -> Any:
            if timer.active():
                timer.cancel()
            if code != 0:
                raise ProcessAliasFailed(code)
            return code

        return done.addCallback(ended)

    def _kill(self, transport: Any, done: defer.Deferred[int]) -> None:
        try:
            transport.signalProcess("KILL")
        except Exception:
            pass
        if not done.called:
            done.errback(ProcessAliasTimeout(f"no exit after {self.completionTimeout}s"))

    def connectionLost(self) -> None:
        self.lines = []


class ProcessAliasFailed(smtp.SMTPServerError):
    """The alias program exited with a failure status."""

    def __init__(self, code: int) -> None:
        super().__init__(451, b"4.3.0 alias program failed")
        self.exitCode = code


@implementer(IAlias)
class ProcessAlias(AliasBase):
    """Feeds messages to a program, sandboxed: no shell (the command is split into
    arguments), an empty environment but ``PATH``, ``/`` as working folder, a time limit, and
    when running as root, the ``nobody`` user.

    :param path: The command line (``|`` already removed).
    """

    def __init__(self, path: str, *args: Any, reactor: Any = None) -> None:
        super().__init__(*args)
        self.path = path
        self.program = shlex.split(path)
        if not self.program:
            raise ValueError("empty alias program")
        self.reactor = reactor

    def __str__(self) -> str:
        return f"<Process {self.path}>"

    def createMessageReceiver(self) -> MessageWrapper:
        uid = gid = None
        if os.getuid() == 0:
            uid = gid = 65534
        return MessageWrapper(self.program, self.reactor, uid, gid)


@implementer(smtp.IMessage)
class MultiWrapper:
    """One message for several receivers."""

    def __init__(self, objs: Iterable[Any]) -> None:
        self.objs = list(objs)

    def lineReceived(self, line: bytes) -> None:
        for o in self.objs:
            o.lineReceived(line)

    def eomReceived(self) -> defer.Deferred[Any]:
        return defer.gatherResults(
            [defer.maybeDeferred(o.eomReceived) for o in self.objs], consumeErrors=True
        )

    def connectionLost(self) -> None:
        for o in self.objs:
            o.connectionLost()


@implementer(IAlias)
class AliasGroup(AliasBase):
    """Several targets for one name, parsed from alias-file entries."""

    processAliasFactory = ProcessAlias

    def __init__(self, items: list[str], *args: Any) -> None:
        super().__init__(*args)
        self.aliases: list[Any] = []
        while items:
            addr = items.pop().strip()
            if addr.startswith(":include:"):
                try:
                    with open(addr[9:].strip(), encoding="utf-8") as f:
                        items.extend(x.strip() for x in f.read().replace("\n", ",").split(","))
                except OSError:
                    _log.warn("Cannot read alias include file {f}", f=addr[9:])
            elif addr.startswith("|"):
                self.aliases.append(self.processAliasFactory(addr[1:], *args))
            elif addr.startswith("/"):
                if os.path.isdir(addr):
                    _log.warn("Directory target not supported: {a}", a=addr)
                else:
                    self.aliases.append(FileAlias(addr, *args))
            elif addr:
                if addr.startswith('"') and addr.endswith('"'):
                    addr = addr[1:-1]
                self.aliases.append(AddressAlias(addr, *args))

    def __len__(self) -> int:
        return len(self.aliases)

    def __str__(self) -> str:
        return "<AliasGroup [%s]>" % ", ".join(map(str, self.aliases))

    def createMessageReceiver(self) -> MultiWrapper:
        return MultiWrapper(a.createMessageReceiver() for a in self.aliases)

    def resolve(self, aliasmap: dict[str, Any], memo: Any = None) -> Any:
        if memo is None:
            memo = {}
        receivers = [a.resolve(aliasmap, memo) for a in self.aliases]
        return MultiWrapper(r for r in receivers if r is not None)


__all__ = [
    "AddressAlias",
    "AliasBase",
    "AliasGroup",
    "FileAlias",
    "FileWrapper",
    "IAlias",
    "MessageWrapper",
    "MultiWrapper",
    "ProcessAlias",
    "ProcessAliasFailed",
    "ProcessAliasTimeout",
    "handle",
    "loadAliasFile",
]
