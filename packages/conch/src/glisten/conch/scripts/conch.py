"""
``glisten conch``: an SSH client with Twisted ``conch``'s options.

``glisten conch [-l USER] [-p PORT] [-i KEY]... [-A] [-L [BIND:]PORT:HOST:HOSTPORT]...
[-R [BIND:]PORT:HOST:HOSTPORT]... [-t | -T] [--known-hosts FILE] [-o KEYWORD=VALUE]...
[-F FILE] [USER@]HOST [COMMAND...]``

- With a ``COMMAND`` it runs it and exits with its exit status (255 when the connection
  failed, as ``ssh``); standard input, output and error are passed through.
- Without one it opens a shell; on a terminal with a PTY: the local terminal's modes (erase
  and interrupt characters, flags, speeds) are sent for the PTY, the local terminal is in raw
  mode for the session (restored on exit) and window size changes are sent to the server.
- The host key is checked against ``~/.ssh/known_hosts`` (or ``--known-hosts``): a changed key
  is refused; an unknown one is shown and accepted only when the user types ``yes`` on the
  terminal (and then recorded, hashed); without a terminal unknown hosts are refused.
- Keys: ``-i`` files (a passphrase is asked for on the terminal), else ``~/.ssh/id_ed25519``,
  ``id_ecdsa``, ``id_rsa`` when not encrypted; a running agent's keys (``SSH_AUTH_SOCK``) are
  tried first. ``-A`` forwards the agent to the server. When they fail, the password (and
  keyboard-interactive answers) are asked for on the terminal.
- ``~/.ssh/config`` (or ``-F FILE``) and ``-o`` options: the subset that
  :mod:`glisten.conch.client.sshconfig` reads (``HostName``, ``Port``, ``User``,
  ``IdentityFile``, ``UserKnownHostsFile``, ``StrictHostKeyChecking``, ``BatchMode``,
  ``EscapeChar``).
- ``-L`` listens locally (127.0.0.1 unless ``BIND`` is given) and forwards connections through
  the server to ``HOST:HOSTPORT``; ``-R`` asks the server to listen and forwards its
  connections to ``HOST:HOSTPORT`` from here. Either end may be a Unix socket path (a field
  with a ``/``, as ``ssh``): ``direct-streamlocal@openssh.com`` channels and
  ``streamlocal-forward@openssh.com`` requests. Forwardings last as long as the session.
- ``SendEnv`` sends the local environment variables it names and ``SetEnv`` the variables it
  sets, in ``env`` requests before the command or shell (the server may refuse them).
- With a PTY, the escape character (``~``; ``-e CHAR``, ``-e ^X``, ``-e none`` or
  ``EscapeChar``) right after a newline starts a command, as in ``ssh``: ``~.`` disconnects,
  ``~B`` sends a BREAK, ``~R`` renews the keys, ``~C`` opens a command line (``-L``/``-R``
  SPEC, ``-KL``/``-KR`` PORT or SOCKET), ``~#`` lists the forwarded connections,
  ``~^Z`` suspends,
  ``~?`` lists the escapes and ``~~`` sends one ``~``.
"""

from __future__ import annotations

import argparse
import getpass
import io
import os
import shlex
import signal
import stat
import struct
import sys
import termios
import tty
from collections.abc import Callable
from typing import IO, Any

import attrs
from zope.interface import implementer

from glisten.application.service import IService, IServiceMaker, Service
from glisten.conch.client import _escapes
from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.client.sshconfig import SSHConfig
from glisten.conch.endpoints import SSHCommandClientEndpoint, _CommandChannel
from glisten.conch.error import HostKeyChanged, UserRejectedKey
from glisten.conch.ssh.common import NS
from glisten.conch.ssh.forwarding import (
    SSHConnectForwardingChannel,
    SSHListenClientForwardingChannel,
    SSHListenClientStreamLocalChannel,
    SSHListenForwardingFactory,
    packGlobal_streamlocal_forward,
    packGlobal_tcpip_forward,
    unpackOpen_forwarded_streamlocal,
    unpackOpen_forwarded_tcpip,
)
from glisten.conch.ssh.keys import BadKeyError, EncryptedKeyError, Key
from glisten.conch.ssh.session import packRequest_pty_req, packRequest_window_change
from glisten.conch.ssh.ttymodes import TTY_OP_END, encodeModes
from glisten.conch.stdio import _windowSize
from glisten.internet import interfaces, protocol
from glisten.internet.defer import Deferred, gatherResults
from glisten.internet.endpoints import UNIXClientEndpoint
from glisten.internet.error import ConnectionDone, ProcessTerminated
from glisten.internet.main import getReactor
from glisten.internet.stdio import StandardIO
from glisten.python.failure import Failure

__all__ = ["ConchService", "ForwardSpec", "conchPlugin", "parseForward", "parseForwardSpec"]

#: ``ssh``'s exit status when the connection itself failed.
CONNECTION_FAILED = 255

_DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


@attrs.frozen
class ForwardSpec:
    """
    One ``-L``/``-R`` argument, read.

    :ivar listen: where to listen: ``(bind address or None, port)`` or a Unix socket path.
    :ivar connect: where connections go: ``(host, port)`` or a Unix socket path.
    """

    listen: tuple[str | None, int] | str
    connect: tuple[str, int] | str


def _forwardFields(spec: str) -> list[tuple[str, bool]]:
    """``spec`` split at colons (brackets quote a field): ``(field, whether a path)``; a
    field with a ``/`` is a Unix socket path, as in ``ssh``."""
    fields: list[tuple[str, bool]] = []
    rest = spec
    while rest:
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                raise ValueError(f"bad forwarding specification {spec!r}")
            field = rest[1:end]
            rest = rest[end + 1 :]
            if rest and not rest.startswith(":"):
                raise ValueError(f"bad forwarding specification {spec!r}")
            rest = rest[1:]
        else:
            field, _, rest = rest.partition(":")
        fields.append((field, "/" in field))
    return fields


def parseForwardSpec(spec: str) -> ForwardSpec:
    """
    Read an ``-L``/``-R`` argument as ``ssh`` does: ``[BIND:]PORT:HOST:HOSTPORT``,
    ``[BIND:]PORT:SOCKET``, ``SOCKET:HOST:HOSTPORT`` or ``SOCKET:SOCKET`` (a field with a
    ``/`` is a Unix socket path; IPv6 hosts in brackets).

    :raises ValueError: none of these forms.
    """
    fields = _forwardFields(spec)
    paths = [isPath for _, isPath in fields]
    values = [value for value, _ in fields]
    usage = f"bad forwarding specification {spec!r} (use [BIND:]PORT:HOST:PORT or a socket path)"
    if len(fields) == 2 and paths == [True, True]:
        return ForwardSpec(values[0], values[1])
    if len(fields) == 2 and paths == [False, True]:
        return ForwardSpec((None, _port(values[0], spec)), values[1])
    if len(fields) == 3 and paths == [True, False, False]:
        return ForwardSpec(values[0], _target(values[1], values[2], spec))
    if len(fields) == 3 and paths == [False, False, True]:
        return ForwardSpec((values[0] or None, _port(values[1], spec)), values[2])
    if len(fields) in (3, 4) and not any(paths):
        if len(fields) == 3:
            values.insert(0, "")
        bind, port, host, hostport = values
        return ForwardSpec((bind or None, _port(port, spec)), _target(host, hostport, spec))
    raise ValueError(usage)


def _port(text: str, spec: str, allowZero: bool = True) -> int:
    if not text.isdigit() or not (0 if allowZero else 1) <= int(text) <= 65535:
        raise ValueError(f"bad port in forwarding specification {spec!r}")
    return int(text)


def _target(host: str, port: str, spec: str) -> tuple[str, int]:
    if not host:
        raise ValueError(f"bad forwarding specification {spec!r} (no host)")
    return host, _port(port, spec, allowZero=False)


def parseForward(spec: str) -> tuple[str | None, int, str, int]:
    """
    Read a TCP-only ``-L``/``-R`` argument: ``[BIND:]PORT:HOST:HOSTPORT``.

    :return: ``(bind address or None, port, host, host port)``.
    :raises ValueError: not of that form (socket paths too: see :func:`parseForwardSpec`).
    """
    forward = parseForwardSpec(spec)
    if isinstance(forward.listen, str) or isinstance(forward.connect, str):
        raise ValueError(f"bad forwarding specification {spec!r} (use [BIND:]PORT:HOST:PORT)")
    return forward.listen[0], forward.listen[1], forward.connect[0], forward.connect[1]


def _openTerminal() -> IO[str]:
    """The controlling terminal, for reading and writing (it cannot seek: no ``open("r+")``)."""
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    return io.TextIOWrapper(io.FileIO(fd, "r+"), encoding="utf-8", write_through=True)


class _TerminalUI:
    """
    Asks about unknown host keys on the controlling terminal (``/dev/tty``, as ``ssh`` does,
    so piped standard input is left alone); no terminal means no.
    """

    def __init__(
        self,
        stderr: IO[str],
        openTerminal: Callable[[], Any] | None = None,
        strictHostKeyChecking: str = "ask",
        batchMode: bool = False,
    ) -> None:
        self._stderr = stderr
        self._open = openTerminal or _openTerminal
        self._strict = strictHostKeyChecking
        self._batch = batchMode

    def prompt(self, text: str) -> bool:
        shown = text.rsplit("\n", 1)[0] + "\n"
        if self._strict in ("accept-new", "no"):
            self._stderr.write(shown)
            self._stderr.write("Accepted and recorded (StrictHostKeyChecking=accept-new).\n")
            return True
        if self._strict == "yes" or self._batch:
            self._stderr.write(shown)
            self._stderr.write("The host key is not known: not accepted without asking.\n")
            return False
        try:
            terminal = self._open()
        except OSError:
            self._stderr.write(shown)
            self._stderr.write("No terminal to ask on: the host key is not accepted.\n")
            return False
        # The reactor waits for the answer; Control-C must still end the question (as no).
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with terminal:
                terminal.write(text)
                terminal.flush()
                while True:
                    try:
                        answer = terminal.readline()
                    except KeyboardInterrupt:
                        terminal.write("\n")
                        return False
                    if not answer:
                        return False
                    answer = answer.strip().lower()
                    if answer in ("yes", "no"):
                        return answer == "yes"
                    terminal.write("Please type 'yes' or 'no': ")
                    terminal.flush()
        finally:
            signal.signal(signal.SIGINT, previous)

    def warn(self, text: str) -> None:
        self._stderr.write(text + "\n")

    def askPassword(self, prompt: str) -> bytes | None:
        """A password typed on the terminal (not echoed); ``None`` without a terminal."""
        answers = self._ask([(prompt, False)])
        return None if answers is None else answers[0]

    def askAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> list[bytes] | None:
        """
        Answers to a keyboard-interactive round, typed on the terminal. The server's texts are
        shown with their control characters replaced, so they cannot drive the terminal.
        """
        header = tuple(_printable(t) for t in (name, instruction) if t)
        return self._ask([(_printable(p), echo) for p, echo in prompts], header)

    def _ask(
        self, prompts: list[tuple[str, bool]], header: tuple[str, ...] = ()
    ) -> list[bytes] | None:
        if self._batch:
            return None
        try:
            terminal = self._open()
        except OSError:
            return None
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with terminal:
                for line in header:
                    terminal.write(line + "\n")
                answers = []
                for text, echo in prompts:
                    answer = _readLine(terminal, text, echo)
                    if answer is None:
                        return None
                    answers.append(answer.encode("utf-8"))
                return answers
        finally:
            signal.signal(signal.SIGINT, previous)


def _printable(text: bytes) -> str:
    """The peer's text with control characters (escape sequences) shown as ``?``."""
    decoded = text.decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c == "\n" else "?" for c in decoded).rstrip("\n")


def _readLine(terminal: Any, prompt: str, echo: bool) -> str | None:
    """One line from the terminal, not echoed unless ``echo``; ``None`` at EOF or Control-C."""
    terminal.write(prompt)
    terminal.flush()
    saved = None
    if not echo:
        try:
            fd = terminal.fileno()
            saved = termios.tcgetattr(fd)
            quiet = termios.tcgetattr(fd)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        except (AttributeError, OSError, ValueError, termios.error, io.UnsupportedOperation):
            saved = None
    try:
        line = terminal.readline()
    except KeyboardInterrupt:
        line = ""
    finally:
        if saved is not None:
            termios.tcsetattr(terminal.fileno(), termios.TCSAFLUSH, saved)
        if not echo:
            terminal.write("\n")
            terminal.flush()
    if not line:
        return None
    return line.rstrip("\r\n")


class _Session(_CommandChannel):
    """The session channel: PTY, agent forwarding, then the command or a shell."""

    def __init__(self, service: ConchService, *args: Any) -> None:
        super().__init__(*args)
        self._service = service

    def channelOpen(self, specificData: bytes) -> None:
        self._creator.failure = None
        service = self._service
        conn = self.conn
        service._connected(conn)
        if service.options.no_command:
            # -N: the channel stays idle, carrying the forwardings' lifetime, until it closes.
            return
        if service.forwardAgent:
            conn.sendRequest(self, b"auth-agent-req@openssh.com", b"")
        if service.usePty:
            term = os.environ.get("TERM", "vt100").encode("ascii", "replace")
            d = conn.sendRequest(
                self,
                b"pty-req",
                packRequest_pty_req(term, service._geometry(), service._terminalModes()),
                wantReply=True,
            )
            d.addErrback(service._ptyRefused)
        for name, value in service.environment:
            # As ssh: no answer asked for; a server that refuses a variable says nothing.
            conn.sendRequest(self, b"env", NS(os.fsencode(name)) + NS(os.fsencode(value)))
        if self._command:
            super().channelOpen(specificData)
        else:
            self._startCommand(b"shell", b"")

    def extReceived(self, dataType: int, data: bytes) -> None:
        self._service._writeError(data)


@implementer(interfaces.IHalfCloseableProtocol)
class _LocalInput(protocol.Protocol):
    """Standard input and output: input goes to the session, the session's output comes out."""

    def __init__(self, service: ConchService) -> None:
        self._service = service

    def dataReceived(self, data: bytes) -> None:
        self._service._sendInput(data)

    def readConnectionLost(self) -> None:
        self._service._inputEnded()

    def writeConnectionLost(self) -> None:
        """Nothing reads our output any more; the session goes on until it ends."""

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._service._localClosed()


class _RemoteOutput(protocol.Protocol):
    """The session's protocol: its output goes to standard output."""

    def __init__(self, service: ConchService) -> None:
        self._service = service

    def dataReceived(self, data: bytes) -> None:
        self._service._writeOutput(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._service._sessionEnded(reason)


class ConchService(Service):
    """
    One ``glisten conch`` run: connect, run the session, stop the reactor.

    :ivar exitStatus: the remote command's exit status (255 when the connection failed).
    """

    exitStatus = 0

    def __init__(
        self,
        options: argparse.Namespace,
        keys: list[Key],
        knownHosts: KnownHostsFile,
        reactor: Any = None,
        stdin: int = 0,
        stdout: int = 1,
        stderr: IO[str] | None = None,
    ) -> None:
        self.options = options
        self.keys = keys
        self.knownHosts = knownHosts
        self._reactor = getReactor(reactor)
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr if stderr is not None else sys.stderr
        self.forwardAgent = bool(
            options.forward_agent and not options.noagent and os.environ.get("SSH_AUTH_SOCK")
        )
        self.usePty = _wantPty(options, stdin)
        #: ``SendEnv``/``SetEnv``: the variables sent before the command or shell.
        self.environment: list[tuple[str, str]] = list(getattr(options, "environment", []))
        # ssh recognises escapes only in a session with a PTY.
        escapeChar = getattr(options, "escape_byte", _escapes.DEFAULT_ESCAPE_CHAR)
        self._escapes = _escapes.EscapeFilter(escapeChar) if self.usePty else None
        self._savedTerminal: Any = None
        self._previousWinch: Any = None
        self._channel: Any = None
        self._local: StandardIO | None = None
        #: Local listeners by where they listen (``port N`` or the socket path).
        self._listeners: dict[str, Any] = {}
        self._remoteForwards: dict[int, tuple[str, int] | str] = {}
        self._remoteSockets: dict[str, tuple[str, int] | str] = {}
        self._ended = False
        self._restoreBlocking: Callable[[], None] = lambda: None

    # ---------------------------------------------------------------- start and stop

    def startService(self) -> None:
        super().startService()
        endpoint = _endpoint(
            self._reactor,
            self.options,
            " ".join(self.options.command),
            self.keys,
            self.knownHosts,
            self._stderr,
        )
        endpoint._channelClass = lambda *args: _Session(self, *args)
        endpoint._channelOpeners[b"forwarded-tcpip"] = self._openForwarded
        endpoint._channelOpeners[b"forwarded-streamlocal@openssh.com"] = (
            self._openForwardedStreamLocal
        )
        if self.forwardAgent:
            endpoint._channelOpeners[b"auth-agent@openssh.com"] = self._openAgent
        d = endpoint.connect(protocol.Factory.forProtocol(lambda: _RemoteOutput(self)))
        d.addCallbacks(self._sessionStarted, self._failed)

    def stopService(self) -> Any:
        self._restoreTerminal()
        self._restoreBlocking()
        # The reactor waits for the listeners to close (a -L socket file is removed then).
        stopping = [listener.stopListening() for listener in self._listeners.values()]
        self._listeners = {}
        super().stopService()
        return gatherResults([d for d in stopping if isinstance(d, Deferred)])

    def _finish(self, status: int) -> None:
        if self._ended:
            return
        self._ended = True
        self.exitStatus = status
        self._restoreTerminal()
        if self._local is not None:
            # Stop reading and write out what is buffered; the reactor stops after.
            self._local.loseConnection()
        else:
            self._stop()

    def _stop(self) -> None:
        if self._reactor.running:
            self._reactor.stop()

    def _failed(self, failure: Failure) -> None:
        self._restoreTerminal()
        if not self.running:
            # Told to stop (a signal, -N's end): the connection closing is no failure.
            return
        _reportFailure(failure, self.options.host, "glisten conch", self._stderr)
        self._ended = True
        self.exitStatus = CONNECTION_FAILED
        self._stop()

    # ---------------------------------------------------------------- the session

    def _connected(self, conn: Any) -> None:
        """Logged in: start the forwardings."""
        for spec in self.options.local_forward:
            self._startLocalForward(conn, parseForwardSpec(spec))
        for spec in self.options.remote_forward:
            self._startRemoteForward(conn, parseForwardSpec(spec))

    def _startLocalForward(self, conn: Any, forward: ForwardSpec) -> bool:
        """``-L``: listen here; each connection opens a channel to ``forward.connect``."""
        klass = (
            SSHListenClientStreamLocalChannel
            if isinstance(forward.connect, str)
            else SSHListenClientForwardingChannel
        )
        factory = SSHListenForwardingFactory(conn, forward.connect, klass)
        where = _where(forward.listen)
        try:
            if isinstance(forward.listen, str):
                if getattr(self.options, "stream_local_bind_unlink", False):
                    _removeSocket(forward.listen)
                # Only our user may use the connection through it (ssh's
                # StreamLocalBindMask 0177).
                listener = self._reactor.listenUNIX(forward.listen, factory, mode=0o600)
            else:
                bind, port = forward.listen
                listener = self._reactor.listenTCP(port, factory, interface=bind or "127.0.0.1")
        except Exception as e:
            self._stderr.write(f"glisten conch: cannot listen on {where}: {e}\r\n")
            self._stderr.flush()
            return False
        self._listeners[where] = listener
        return True

    def _startRemoteForward(self, conn: Any, forward: ForwardSpec) -> None:
        """``-R``: ask the server to listen; its connections come here to ``forward.connect``."""
        if isinstance(forward.listen, str):
            path = forward.listen
            self._remoteSockets[path] = forward.connect
            d = conn.sendGlobalRequest(
                b"streamlocal-forward@openssh.com",
                packGlobal_streamlocal_forward(path),
                wantReply=True,
            )
            d.addErrback(self._remoteSocketRefused, path)
            return
        bind, port = forward.listen
        self._remoteForwards[port] = forward.connect
        d = conn.sendGlobalRequest(
            b"tcpip-forward",
            packGlobal_tcpip_forward((bind or "localhost", port)),
            wantReply=True,
        )
        d.addCallbacks(
            self._remoteForwardAnswered,
            self._remoteForwardRefused,
            callbackArgs=(port,),
            errbackArgs=(port,),
        )

    def _command(self, line: str) -> None:
        """A ``~C`` command line: ``-L``/``-R`` SPEC adds a forwarding, ``-KL``/``-KR`` cancels
        one (by its listening port or socket), ``?`` lists them."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = ["?"] if line.strip() else []
        if not words:
            return
        flag = next((f for f in ("-KL", "-KR", "-L", "-R") if words[0].startswith(f)), None)
        argument, extra = (words[0][len(flag) :], words[1:]) if flag else ("", words)
        if flag and not argument and len(extra) == 1:
            # "-L SPEC" as well as "-LSPEC".
            argument, extra = extra[0], []
        if flag is None or not argument or extra:
            self._writeError(_COMMAND_HELP)
            return
        conn = self._channel.conn
        try:
            if flag in ("-L", "-R"):
                forward = parseForwardSpec(argument)
                if flag == "-R":
                    self._startRemoteForward(conn, forward)
                elif not self._startLocalForward(conn, forward):
                    return
                self._writeError(b"Forwarding port.\r\n")
            else:
                self._cancelForward(conn, flag, argument)
        except ValueError as e:
            self._writeError(f"{e}\r\n".encode())

    def _cancelForward(self, conn: Any, flag: str, argument: str) -> None:
        """``-KL``/``-KR [BIND:]PORT`` or ``SOCKET``: stop a forwarding."""
        if "/" in argument:
            where: str = argument
        else:
            port = argument.rpartition(":")[2]
            if not port.isdigit():
                raise ValueError(f"bad port {argument!r}")
            where = f"port {int(port)}"
        if flag == "-KL":
            listener = self._listeners.pop(where, None)
            if listener is None:
                raise ValueError(f"no local forwarding on {where}")
            listener.stopListening()
        elif "/" in argument:
            if self._remoteSockets.pop(argument, None) is None:
                raise ValueError(f"no remote forwarding on {argument}")
            conn.sendGlobalRequest(
                b"cancel-streamlocal-forward@openssh.com",
                packGlobal_streamlocal_forward(argument),
            )
        else:
            bind, _, port = argument.rpartition(":")
            if self._remoteForwards.pop(int(port), None) is None:
                raise ValueError(f"no remote forwarding on port {port}")
            conn.sendGlobalRequest(
                b"cancel-tcpip-forward", packGlobal_tcpip_forward((bind or "localhost", int(port)))
            )
        self._writeError(b"Canceled forwarding.\r\n")

    def _remoteForwardAnswered(self, data: bytes, port: int) -> None:
        if port == 0 and len(data) >= 4:
            bound = int.from_bytes(data[:4], "big")
            self._remoteForwards[bound] = self._remoteForwards.pop(0)
            self._stderr.write(f"Allocated port {bound} for remote forward\n")
            self._stderr.flush()

    def _remoteForwardRefused(self, failure: Failure, port: int) -> None:
        self._remoteForwards.pop(port, None)
        self._stderr.write(f"Warning: remote port forwarding failed for listen port {port}\n")
        self._stderr.flush()

    def _remoteSocketRefused(self, failure: Failure, path: str) -> None:
        self._remoteSockets.pop(path, None)
        self._stderr.write(f"Warning: remote port forwarding failed for listen path {path}\n")
        self._stderr.flush()

    def _openForwardedStreamLocal(self, window: int, maxPacket: int, data: bytes) -> Any:
        """A connection to a socket the server listens on for ``-R /path:...``."""
        target = self._remoteSockets.get(unpackOpen_forwarded_streamlocal(data))
        if target is None:
            return None
        return _connecting(target, window, maxPacket, b"forwarded-streamlocal@openssh.com")

    def _openForwarded(self, window: int, maxPacket: int, data: bytes) -> Any:
        (_, port), _ = unpackOpen_forwarded_tcpip(data)
        target = self._remoteForwards.get(port)
        if target is None:
            return None
        return _connecting(target, window, maxPacket, b"forwarded-tcpip")

    def _openAgent(self, window: int, maxPacket: int, data: bytes) -> Any:
        return _connecting(
            os.environ["SSH_AUTH_SOCK"], window, maxPacket, b"auth-agent@openssh.com"
        )

    def _geometry(self) -> tuple[int, int, int, int]:
        """``(rows, columns, 0, 0)`` of the local terminal."""
        columns, rows = _windowSize(self._stdout)
        return rows, columns, 0, 0

    def _terminalModes(self) -> bytes:
        """The local terminal's modes (as before raw mode) for the ``pty-req``; none when
        standard input is no terminal."""
        attributes = self._savedTerminal
        if attributes is None:
            try:
                attributes = termios.tcgetattr(self._stdin)
            except (termios.error, OSError):
                return bytes([TTY_OP_END])
        return encodeModes(attributes)

    def _ptyRefused(self, failure: Failure) -> None:
        """The session goes on without a terminal, as with ``ssh``."""
        self._stderr.write("PTY allocation request failed\r\n")
        self._stderr.flush()

    def _sessionStarted(self, remote: _RemoteOutput) -> None:
        self._channel = remote.transport
        if self._ended:
            return
        if self.usePty:
            self._rawTerminal()
        self._local, self._restoreBlocking = _standardIO(
            _LocalInput(self), self._stdin, self._stdout, self._reactor
        )
        # Flow control both ways: a slow standard output holds the channel's window closed,
        # a full window stops reading standard input.
        self._local.registerProducer(self._channel, True)
        self._channel.registerProducer(self._local, True)

    def _rawTerminal(self) -> None:
        try:
            self._savedTerminal = termios.tcgetattr(self._stdin)
        except termios.error:
            return
        # Keep what was typed ahead (the default would flush it).
        tty.setraw(self._stdin, termios.TCSADRAIN)
        self._previousWinch = signal.signal(
            signal.SIGWINCH, lambda signum, frame: self._reactor.callFromThread(self._resized)
        )

    def _restoreTerminal(self) -> None:
        if self._savedTerminal is not None:
            saved, self._savedTerminal = self._savedTerminal, None
            termios.tcsetattr(self._stdin, termios.TCSADRAIN, saved)
            signal.signal(signal.SIGWINCH, self._previousWinch)

    def _resized(self) -> None:
        channel = self._channel
        if channel is not None and channel.conn is not None and not channel.localClosed:
            channel.conn.sendRequest(
                channel, b"window-change", packRequest_window_change(self._geometry())
            )

    def _sendInput(self, data: bytes) -> None:
        if self._channel is None:
            return
        if self._escapes is None:
            self._channel.write(data)
            return
        for event in self._escapes.receiveData(data):
            if isinstance(event, _escapes.Input):
                self._channel.write(event.data)
            elif isinstance(event, _escapes.Disconnect):
                self._disconnect()
                return
            elif isinstance(event, _escapes.Help):
                escapeChar = self._escapes.escapeChar
                assert escapeChar is not None
                self._writeError(_escapes.helpText(escapeChar))
            elif isinstance(event, _escapes.ListConnections):
                self._writeError(_connectionList(self._channel.conn))
            elif isinstance(event, _escapes.SendBreak):
                self._sendBreak()
            elif isinstance(event, _escapes.Suspend):
                self._suspend()
            elif isinstance(event, _escapes.CommandLineOpened):
                self._writeError(_escapes.commandLinePrompt())
            elif isinstance(event, _escapes.Echo):
                self._writeError(event.data)
            elif isinstance(event, _escapes.Command):
                if event.line is not None:
                    self._command(event.line)
            elif isinstance(event, _escapes.Rekey):
                transport = getattr(self._channel.conn, "transport", None)
                if transport is not None:
                    transport.sendKexInit()

    def _disconnect(self) -> None:
        """``~.``: close the connection; ``ssh`` then exits with 255."""
        channel = self._channel
        self._restoreTerminal()
        self._stderr.write(f"Connection to {self.options.host} closed.\n")
        self._stderr.flush()
        self._finish(CONNECTION_FAILED)
        transport = getattr(getattr(channel, "conn", None), "transport", None)
        if transport is not None:
            transport.loseConnection()

    def _suspend(self) -> None:
        """``~^Z``: stop as a shell job with the terminal restored; raw again when continued."""
        escapeChar = self._escapes.escapeChar if self._escapes is not None else None
        shown = _escapes.formatEscapeChar(escapeChar) if escapeChar is not None else ""
        self._writeError(f"{shown}^Z [suspend glisten conch]\r\n".encode())
        wasRaw = self._savedTerminal is not None
        self._restoreTerminal()
        # Delivered to this thread before raise_signal returns: the process stops here.
        signal.raise_signal(signal.SIGTSTP)
        if wasRaw:
            self._rawTerminal()
        # The terminal may have changed size while we were stopped.
        self._resized()

    def _sendBreak(self) -> None:
        """``~B``: an RFC 4335 BREAK of ``ssh``'s length (one second)."""
        channel = self._channel
        if channel is not None and channel.conn is not None and not channel.localClosed:
            channel.conn.sendRequest(channel, b"break", struct.pack(">L", 1000))

    def _inputEnded(self) -> None:
        channel = self._channel
        if channel is not None and channel.conn is not None and not channel.localClosed:
            channel.conn.sendEOF(channel)

    def _writeOutput(self, data: bytes) -> None:
        if self._local is not None:
            self._local.write(data)
        else:
            os.write(self._stdout, data)

    def _writeError(self, data: bytes) -> None:
        self._stderr.flush()
        buffer = getattr(self._stderr, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            self._stderr.write(data.decode("utf-8", "replace"))
            self._stderr.flush()

    def _sessionEnded(self, reason: Failure) -> None:
        if reason.check(ConnectionDone):
            status = 0
        elif isinstance(reason.value, ProcessTerminated):
            code = reason.value.exitCode
            status = CONNECTION_FAILED if code is None else int(code)
        else:
            status = CONNECTION_FAILED
        self._finish(status)

    def _localClosed(self) -> None:
        self._local = None
        self._restoreBlocking()
        if self._ended:
            self._stop()


_COMMAND_HELP = (
    b"Commands:\r\n"
    b"      -L[bind_address:]port:host:hostport    Request local forward\r\n"
    b"      -R[bind_address:]port:host:hostport    Request remote forward\r\n"
    b"      -KL[bind_address:]port                 Cancel local forward\r\n"
    b"      -KR[bind_address:]port                 Cancel remote forward\r\n"
    b"  (a socket path may stand for bind_address:port or host:hostport)\r\n"
)


def _connecting(
    target: tuple[str, int] | str, window: int, maxPacket: int, name: bytes
) -> SSHConnectForwardingChannel:
    """A channel the server opened, connecting here to ``target``; named as the server
    opened it, for ``~#``."""
    channel = SSHConnectForwardingChannel(target, remoteWindow=window, remoteMaxPacket=maxPacket)
    channel.name = name
    return channel


def _removeSocket(path: str) -> None:
    """``StreamLocalBindUnlink``: a socket left at ``path`` goes (any other file stays)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


def _where(address: tuple[str | None, int] | str) -> str:
    """A listening address for messages: the socket path or ``port N``."""
    return address if isinstance(address, str) else f"port {address[1]}"


def _connectionList(conn: Any) -> bytes:
    """``~#``'s text: the connection's open channels, for a terminal in raw mode."""
    lines = ["The following connections are open:"]
    for localID, channel in sorted(getattr(conn, "channels", {}).items()):
        line = f"  #{localID} {_printable(bytes(getattr(channel, 'name', b'')) or b'?')}"
        transport = getattr(getattr(channel, "client", None), "transport", None)
        peer: Any = transport.getPeer() if transport is not None else None
        if getattr(peer, "port", None) is not None:
            line += f" local end {peer.host} port {peer.port}"
        target = getattr(channel, "hostport", None)
        if isinstance(target, tuple):
            line += f" to {target[0]} port {target[1]}"
        elif isinstance(target, str):
            line += f" to {target}"
        lines.append(line)
    return "".join(line + "\r\n" for line in lines).encode("utf-8", "replace")


def _standardIO(
    proto: Any, stdin: int, stdout: int, reactor: Any
) -> tuple[StandardIO, Callable[[], None]]:
    """
    ``StandardIO`` on copies of ``stdin`` and ``stdout`` (it makes them non-blocking and closes
    them at the end), and a function making the originals blocking again, as the shell we
    return to expects them.
    """
    blocking = {fd: os.get_blocking(fd) for fd in {stdin, stdout}}
    local = StandardIO(proto, os.dup(stdin), os.dup(stdout), reactor)

    def restore() -> None:
        for fd, wasBlocking in blocking.items():
            try:
                os.set_blocking(fd, wasBlocking)
            except OSError:
                pass

    return local, restore


def _endpoint(
    reactor: Any,
    options: argparse.Namespace,
    command: str,
    keys: list[Key],
    knownHosts: KnownHostsFile,
    stderr: IO[str],
) -> SSHCommandClientEndpoint:
    """The endpoint for the options of :func:`_addConnectionArguments` (the agent unless ``-a``)."""
    agentEndpoint = None
    sock = os.environ.get("SSH_AUTH_SOCK")
    if sock and not options.noagent:
        agentEndpoint = UNIXClientEndpoint(reactor, sock)
    return SSHCommandClientEndpoint.newConnection(
        reactor,
        command.encode("utf-8"),
        options.user,
        options.host,
        options.port,
        keys=keys,
        agentEndpoint=agentEndpoint,
        knownHosts=knownHosts,
        ui=_TerminalUI(
            stderr,
            strictHostKeyChecking=getattr(options, "strict_host_key_checking", None) or "ask",
            batchMode=bool(getattr(options, "batch_mode", False)),
        ),
    )


def _reportFailure(failure: Failure, host: str, program: str, stderr: IO[str]) -> None:
    """One message for a connection that failed, as ``ssh`` words the host key ones."""
    error = failure.value
    if isinstance(error, HostKeyChanged):
        stderr.write(
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n"
            f"The {host} host key differs from the one in {error.path}:{error.lineno}; "
            "someone could be intercepting the connection.\n"
            "Host key verification failed.\n"
        )
    elif isinstance(error, UserRejectedKey):
        stderr.write("Host key verification failed.\n")
    else:
        reasons = getattr(error, "reasons", None)
        cause = reasons[0].value if reasons else error
        stderr.write(f"{program}: {cause}\n")
    stderr.flush()


def _addConnectionArguments(parser: argparse.ArgumentParser) -> None:
    """The options ``conch`` and ``cftp`` share: who to log in as, where, with which keys."""
    parser.add_argument("-l", "--user", help="log in as USER")
    parser.add_argument("-p", "--port", type=int, help="the server's port (default 22)")
    parser.add_argument(
        "-i",
        "--identity",
        action="append",
        default=[],
        metavar="KEY",
        help="a private key file (repeatable)",
    )
    parser.add_argument(
        "-a",
        "--noagent",
        action="store_true",
        help="do not use a running agent at all (neither to log in nor forwarded)",
    )
    parser.add_argument(
        "--known-hosts",
        metavar="FILE",
        help="the known hosts file (default: UserKnownHostsFile, else ~/.ssh/known_hosts)",
    )
    parser.add_argument(
        "-o",
        dest="ssh_options",
        action="append",
        default=[],
        metavar="KEYWORD=VALUE",
        help="an ssh_config setting (HostName, Port, User, IdentityFile, UserKnownHostsFile, "
        "StrictHostKeyChecking, BatchMode); wins over the configuration file",
    )
    parser.add_argument(
        "-F",
        dest="config_file",
        metavar="FILE",
        help="the ssh_config file to read (default ~/.ssh/config; 'none' for none)",
    )


def _readConfig(options: argparse.Namespace) -> SSHConfig:
    """The ``-o`` options, then the ``-F`` file (or ``~/.ssh/config``)."""
    path = getattr(options, "config_file", None)
    if path is None:
        config = SSHConfig.fromPath(os.path.expanduser("~/.ssh/config"))
    elif path == "none":
        config = SSHConfig()
    else:
        if not os.path.exists(path):
            raise ValueError(f"cannot read the configuration file {path}")
        config = SSHConfig.fromPath(path)
    for option in reversed(getattr(options, "ssh_options", None) or []):
        config.addOption(option)
    return config


def _prepareConnection(options: argparse.Namespace) -> tuple[list[Key], KnownHostsFile]:
    """
    Split ``USER@HOST``, apply the configuration (command-line options win, then ``-o``,
    then the file), default the user and port, read the keys and the known hosts.
    """
    user, at, host = options.host.rpartition("@")
    if at:
        options.host = host
        options.user = options.user or user
    config = _readConfig(options)
    for warning in config.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    settings = config.lookup(options.host, options.user, options.port)
    options.host = settings.hostName or options.host
    options.port = options.port or settings.port or 22
    options.user = options.user or settings.user or getpass.getuser()
    options.config_identities = list(settings.identityFiles)
    options.strict_host_key_checking = settings.strictHostKeyChecking or "ask"
    options.batch_mode = bool(settings.batchMode)
    options.config_escape_char = settings.escapeChar
    options.environment = settings.environment(os.environ)
    options.stream_local_bind_unlink = bool(settings.streamLocalBindUnlink)
    knownHosts = options.known_hosts
    if knownHosts is None:
        files = settings.userKnownHostsFiles or (os.path.expanduser("~/.ssh/known_hosts"),)
        knownHosts = files[0]
    return _loadKeys(options), KnownHostsFile.fromPath(knownHosts)


def _wantPty(options: argparse.Namespace, stdin: int) -> bool:
    if options.no_tty or options.no_command:
        return False
    if options.tty:
        return True
    return not options.command and os.isatty(stdin)


def _loadKeys(options: argparse.Namespace) -> list[Key]:
    """
    The ``-i`` keys, then the configuration's ``IdentityFile`` keys (missing ones skipped),
    asking for passphrases; without either, the default keys that need none.
    """
    keys: list[Key] = []
    configured = getattr(options, "config_identities", None) or []
    if options.identity or configured:
        for path in options.identity:
            keys.extend(_withCertificate(path, _loadKey(path)))
        for path in configured:
            if os.path.exists(path) and path not in options.identity:
                keys.extend(_withCertificate(path, _loadKey(path)))
        return keys
    home = os.path.expanduser("~/.ssh")
    for name in _DEFAULT_KEYS:
        try:
            keys.extend(
                _withCertificate(os.path.join(home, name), Key.fromFile(os.path.join(home, name)))
            )
        except (OSError, BadKeyError):
            continue
    return keys


def _loadKey(path: str) -> Key:
    """A private key file, asking for its passphrase on the terminal when it has one."""
    try:
        return Key.fromFile(path)
    except EncryptedKeyError:
        passphrase = getpass.getpass(f"Enter passphrase for key '{path}': ")
        try:
            return Key.fromFile(path, passphrase=passphrase.encode("utf-8"))
        except BadKeyError as e:
            raise ValueError(f"cannot read key {path}: {e}") from None
    except (OSError, BadKeyError) as e:
        raise ValueError(f"cannot read key {path}: {e}") from None


def _withCertificate(path: str, key: Key) -> list[Key]:
    """``key``, after itself with ``PATH-cert.pub`` when that certificate lies beside it (as
    ``ssh -i`` tries the certificate first)."""
    try:
        return [key.withCertificate(Key.fromFile(path + "-cert.pub")), key]
    except (OSError, BadKeyError):
        return [key]


@implementer(IServiceMaker)
class ConchServiceMaker:
    """``glisten conch``: an SSH client."""

    tapname = "conch"
    description = "Run a command or a shell over SSH (Twisted's conch)."
    options = None
    #: The remote output is the command's result: the log goes to standard error.
    resultOnStdout = True

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        _addConnectionArguments(parser)
        parser.add_argument(
            "-A", "--forward-agent", action="store_true", help="forward the SSH agent"
        )
        parser.add_argument(
            "-L",
            "--localforward",
            dest="local_forward",
            action="append",
            default=[],
            metavar="[BIND:]PORT:HOST:HOSTPORT",
            help="forward a local port to HOST:HOSTPORT through the server; either end may be "
            "a Unix socket path ([BIND:]PORT:/SOCKET, /SOCKET:HOST:PORT, /SOCKET:/SOCKET)",
        )
        parser.add_argument(
            "-R",
            "--remoteforward",
            dest="remote_forward",
            action="append",
            default=[],
            metavar="[BIND:]PORT:HOST:HOSTPORT",
            help="forward a port of the server to HOST:HOSTPORT from here; either end may be "
            "a Unix socket path, as with -L",
        )
        parser.add_argument(
            "-N",
            "--nocommand",
            dest="no_command",
            action="store_true",
            help="run no command or shell: only forward ports, until interrupted",
        )
        parser.add_argument(
            "-e",
            dest="escape_char",
            metavar="CHAR",
            help="the escape character of a session with a PTY: one character, ^X or none "
            "(default ~, or EscapeChar)",
        )
        parser.add_argument("-t", "--tty", action="store_true", help="ask for a PTY")
        parser.add_argument("-T", "--notty", dest="no_tty", action="store_true", help="no PTY")
        parser.add_argument("host", help="[USER@]HOST")
        parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")

    def makeService(self, options: argparse.Namespace) -> IService:
        for spec in options.local_forward + options.remote_forward:
            parseForwardSpec(spec)
        if options.no_command and options.command:
            raise ValueError("-N runs no command")
        if options.escape_char is not None:
            _escapes.parseEscapeChar(options.escape_char)
        keys, knownHosts = _prepareConnection(options)
        escape = options.escape_char or options.config_escape_char
        options.escape_byte = (
            _escapes.DEFAULT_ESCAPE_CHAR if escape is None else _escapes.parseEscapeChar(escape)
        )
        return ConchService(options, keys, knownHosts)


#: The object published in the ``glisten.plugins`` entry-point group as ``conch``.
conchPlugin = ConchServiceMaker()
