"""
Session channels (RFC 4254 section 6): shells, commands, terminals, environment, signals and
exit status, connected to an :class:`~glisten.conch.interfaces.ISession` of the avatar.

The session of an avatar is ``ISession(avatar)``: the avatar provides the interface itself or an
adapter is registered with zope.interface's adapter hooks.
"""

from __future__ import annotations

import signal
import struct
from typing import Any

from glisten.conch._turns import pauseInput
from glisten.conch.interfaces import ISession, ISessionSetEnv
from glisten.conch.ssh import channel, common
from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._wire import Reader, boolean, string, uint32
from glisten.conch.ssh.connection import EXTENDED_DATA_STDERR
from glisten.internet import protocol
from glisten.internet.error import ConnectionDone
from glisten.python.failure import Failure

__all__ = [
    "ISession",
    "ISessionSetEnv",
    "SSHSession",
    "SSHSessionProcessProtocol",
    "packRequest_pty_req",
    "packRequest_window_change",
    "parseRequest_pty_req",
    "parseRequest_window_change",
    "wrapProcessProtocol",
    "wrapProtocol",
]

#: Signal numbers to the names RFC 4254 uses (without ``SIG``).
SUPPORTED_SIGNALS = [
    "ABRT",
    "ALRM",
    "FPE",
    "HUP",
    "ILL",
    "INT",
    "KILL",
    "PIPE",
    "QUIT",
    "SEGV",
    "TERM",
    "USR1",
    "USR2",
]
_SIGNAL_NAMES = {int(getattr(signal, "SIG" + n)): n for n in SUPPORTED_SIGNALS}


def parseRequest_pty_req(
    data: bytes,
) -> tuple[bytes, tuple[int, int, int, int], list[tuple[int, int]]]:
    """
    Read a ``pty-req``.

    :return: the terminal type, ``(rows, columns, xpixels, ypixels)`` and the terminal modes.
    :raises SSHProtocolError: malformed.
    """
    r = Reader(data, maxString=4096)
    term = r.string()
    cols, rows, xpixel, ypixel = r.uint32(), r.uint32(), r.uint32(), r.uint32()
    modesRaw = r.string()
    modes = []
    m = Reader(modesRaw)
    while m.remaining():
        opcode = m.byte()
        if opcode == 0 or opcode >= 160:
            break
        modes.append((opcode, m.uint32()))
    return term, (rows, cols, xpixel, ypixel), modes


def packRequest_pty_req(term: bytes, geometry: tuple[int, int, int, int], modes: bytes) -> bytes:
    """Make a ``pty-req``; ``geometry`` is ``(rows, columns, xpixels, ypixels)``."""
    rows, cols, xpixel, ypixel = geometry
    return string(term) + struct.pack(">4L", cols, rows, xpixel, ypixel) + string(modes)


def parseRequest_window_change(data: bytes) -> tuple[int, int, int, int]:
    """Read a ``window-change``: ``(rows, columns, xpixels, ypixels)``."""
    r = Reader(data)
    cols, rows, xpixel, ypixel = r.uint32(), r.uint32(), r.uint32(), r.uint32()
    return rows, cols, xpixel, ypixel


def packRequest_window_change(geometry: tuple[int, int, int, int]) -> bytes:
    """Make a ``window-change``."""
    rows, cols, xpixel, ypixel = geometry
    return struct.pack(">4L", cols, rows, xpixel, ypixel)


class SSHSession(channel.SSHChannel):
    """
    A session channel. On the server it hands requests to ``ISession(avatar)``; on the client it
    is the channel to send ``exec``/``shell`` requests on.
    """

    name = b"session"

    #: The window a session gives its peer: OpenSSH's 2 MiB, so bulk transfers (SFTP uploads)
    #: are not held to one small window per round trip.
    defaultWindow = 2 * 1024 * 1024

    def __init__(self, *args: Any, **kw: Any) -> None:
        if not args:
            kw.setdefault("localWindow", self.defaultWindow)
        super().__init__(*args, **kw)
        self.client: Any = None
        self.session: Any = None
        self._earlyData: list[bytes] = []

    def _getSession(self) -> Any:
        if self.session is None:
            self.session = ISession(self.avatar, None)
        return self.session

    def requestReceived(self, requestType: bytes, data: bytes) -> Any:
        if requestType == b"auth-agent-req@openssh.com":
            return self.request_auth_agent_req(data)
        return super().requestReceived(requestType, data)

    def request_auth_agent_req(self, data: bytes) -> int:
        """``ssh -A``: granted when the session has ``forwardAgent(channel)`` and it agrees."""
        forward = getattr(self._getSession(), "forwardAgent", None)
        if forward is None:
            return 0
        try:
            return 1 if forward(self) else 0
        except Exception:
            self._log.failure("agent forwarding failed", Failure())
            return 0

    def request_subsystem(self, data: bytes) -> int:
        subsystem, _ = common.getNS(data)
        lookup = getattr(self.avatar, "lookupSubsystem", None)
        proto = lookup(subsystem, data) if lookup is not None else None
        if proto is None:
            return 0
        pp = SSHSessionProcessProtocol(self)
        proto.makeConnection(pp)
        self.client = _ProtocolToProcess(proto, pp)
        return 1

    def request_shell(self, data: bytes) -> int:
        session = self._getSession()
        if session is None or self.client is not None:
            return 0
        pp = SSHSessionProcessProtocol(self)
        self.client = pp
        try:
            session.openShell(pp)
        except Exception:
            self.client = None
            self._log.failure("error opening a shell", Failure())
            return 0
        self._feedInput()
        return 1

    def request_exec(self, data: bytes) -> int:
        session = self._getSession()
        if session is None or self.client is not None:
            return 0
        command, _ = common.getNS(data)
        pp = SSHSessionProcessProtocol(self)
        self.client = pp
        try:
            session.execCommand(pp, command)
        except Exception:
            self.client = None
            self._log.failure("error running a command", Failure())
            return 0
        self._feedInput()
        return 1

    def _feedInput(self) -> None:
        """Let the process's stdin pause us, so a slow reader slows the client down."""
        register = getattr(getattr(self.client, "transport", None), "registerProducer", None)
        if register is not None:
            try:
                register(self, True)
            except Exception:
                pass

    def request_pty_req(self, data: bytes) -> int:
        session = self._getSession()
        if session is None:
            return 0
        try:
            term, windowSize, modes = parseRequest_pty_req(data)
        except SSHProtocolError:
            return 0
        try:
            session.getPty(term, windowSize, modes)
        except Exception as e:
            self._log.info("terminal refused: {reason}", reason=str(e))
            return 0
        return 1

    def request_window_change(self, data: bytes) -> int:
        session = self._getSession()
        if session is None:
            return 0
        try:
            session.windowChanged(parseRequest_window_change(data))
        except Exception:
            return 0
        return 1

    def request_env(self, data: bytes) -> int:
        session = self._getSession()
        setEnv = ISessionSetEnv(session, None) if session is not None else None
        if setEnv is None:
            return 0
        try:
            r = Reader(data, maxString=65536)
            name, value = r.string(), r.string()
            setEnv.setEnv(name, value)
        except Exception:
            return 0
        return 1

    def request_signal(self, data: bytes) -> int:
        if self.client is None or getattr(self.client, "transport", None) is None:
            return 0
        try:
            name = Reader(data).string().decode("ascii")
        except (SSHProtocolError, UnicodeDecodeError):
            return 0
        if name not in SUPPORTED_SIGNALS:
            return 0
        try:
            self.client.transport.signalProcess(name)
        except Exception:
            return 0
        return 1

    def dataReceived(self, data: bytes) -> None:
        if self.client is None:
            return
        self.client.transport.write(data)

    def extReceived(self, dataType: int, data: bytes) -> None:
        if dataType == EXTENDED_DATA_STDERR and self.client is not None:
            write = getattr(self.client, "errReceived", None)
            if write is not None and not isinstance(self.client, SSHSessionProcessProtocol):
                write(data)

    def eofReceived(self) -> None:
        # A subsystem gets the EOF even when an ``env`` request made a session object first.
        if self.session is not None and not isinstance(self.client, _ProtocolToProcess):
            self.session.eofReceived()
        elif self.client is not None and self.client.transport is not None:
            self.client.transport.closeStdin()

    def closed(self) -> None:
        if self.session is not None:
            self.session.closed()
        if (self.session is None or isinstance(self.client, _ProtocolToProcess)) and (
            self.client is not None and self.client.transport is not None
        ):
            self.client.transport.loseConnection()

    def stopWriting(self) -> None:
        transport = getattr(self.client, "transport", None)
        pause = getattr(transport, "pauseProducing", None)
        if pause is not None:
            pause()

    def startWriting(self) -> None:
        transport = getattr(self.client, "transport", None)
        resume = getattr(transport, "resumeProducing", None)
        if resume is not None:
            resume()

    def loseConnection(self) -> None:
        if self.client is not None and self.client.transport is not None:
            try:
                self.client.transport.loseConnection()
            except Exception:
                pass
        super().loseConnection()


class SSHSessionProcessProtocol(protocol.ProcessProtocol):
    """
    Connects a process (or a wrapped protocol) to a session channel: output becomes channel
    data, stderr extended data, and the end becomes ``exit-status`` or ``exit-signal``.
    """

    def __init__(self, session: SSHSession) -> None:
        self.session = session

    def connectionMade(self) -> None:
        pass

    def outReceived(self, data: bytes) -> None:
        self.session.write(data)

    def errReceived(self, data: bytes) -> None:
        self.session.writeExtended(EXTENDED_DATA_STDERR, data)

    def write(self, data: bytes) -> None:
        """Let a wrapped protocol write to the channel."""
        self.session.write(data)

    def writeSequence(self, data: Any) -> None:
        """Let a wrapped protocol write pieces to the channel without joining them."""
        self.session.writeSequence(data)

    def loseConnection(self) -> None:
        """Let a wrapped protocol end the channel."""
        self.session.loseConnection()

    def getPeer(self) -> Any:
        return self.session.getPeer()

    def getHost(self) -> Any:
        return self.session.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let a wrapped protocol (a subsystem) be paused while the channel's window is full."""
        self.session.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.session.unregisterProducer()

    def pauseProducing(self) -> None:
        """Let a wrapped protocol stop the client's input (the window stays closed)."""
        self.session.pauseProducing()

    def resumeProducing(self) -> None:
        self.session.resumeProducing()

    def processEnded(self, reason: Failure | None = None) -> None:
        session = self.session
        conn = session.conn
        if conn is None or session.localClosed:
            return

        def finish() -> None:
            if session.localClosed:
                return
            value = reason.value if reason is not None else None
            sig = getattr(value, "signal", None)
            code = getattr(value, "exitCode", None)
            if sig is not None:
                name = _SIGNAL_NAMES.get(sig, "KILL").encode("ascii")
                conn.sendRequest(
                    session,
                    b"exit-signal",
                    string(name) + boolean(False) + string(b"") + string(b""),
                )
            elif code is not None:
                conn.sendRequest(session, b"exit-status", uint32(code & 0xFFFFFFFF))
            conn.sendEOF(session)
            session.loseConnection()

        session.whenFlushed(finish)


class _ProtocolToProcess:
    """A subsystem's protocol seen as the session's client."""

    def __init__(self, proto: Any, pp: SSHSessionProcessProtocol) -> None:
        self.proto = proto
        self.transport = _ProtocolInput(proto, pp)
        self.pp = pp


class _ProtocolInput:
    def __init__(self, proto: Any, pp: SSHSessionProcessProtocol) -> None:
        self.proto = proto
        self.pp = pp

    def write(self, data: bytes) -> None:
        self.proto.dataReceived(data)

    def closeStdin(self) -> None:
        """The client is done (as OpenSSH's sftp at exit): end like a process that exits 0."""
        self.pp.processEnded(Failure(_Done()))

    def loseConnection(self) -> None:
        lost = self.proto.connectionLost
        self.proto.connectionLost = lambda reason=None: None
        lost(Failure(Exception("session closed")))


class _ProtocolWrapper(protocol.ProcessProtocol):
    """
    A Protocol standing where a session expects a process: what the client sends is written
    to it (it becomes ``dataReceived``), and closing it ends the protocol.
    """

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    def write(self, data: bytes) -> None:
        self.proto.dataReceived(data)

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def closeStdin(self) -> None:
        """The client sent EOF; a plain Protocol has no half-close, so nothing happens."""

    def loseConnection(self) -> None:
        proto, self.proto = self.proto, _Closed()
        proto.connectionLost(Failure(ConnectionDone("session closed")))

    def signalProcess(self, signalID: Any) -> None:
        self.loseConnection()


class _Closed:
    def dataReceived(self, data: bytes) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass


def wrapProtocol(proto: Any) -> Any:
    """
    Wrap a :class:`~glisten.internet.protocol.Protocol` so a session can use it as its process:
    ``sessionProcessProtocol.makeConnection(wrapProtocol(proto))``.
    """
    return _ProtocolWrapper(proto)


class _ProcessProtocolTransport:
    """A session's process protocol seen as the transport of a plain protocol.

    :ivar disconnecting: Whether the protocol ended the session (``LineReceiver`` stops
        delivering lines once it is true, as on a TCP transport).
    """

    disconnecting = False

    def __init__(self, pp: Any) -> None:
        self.pp = pp

    def write(self, data: bytes) -> None:
        self.pp.outReceived(data)

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        self.disconnecting = True
        self.pp.processEnded(Failure(_Done()))

    def getPeer(self) -> Any:
        return self.pp.getPeer()

    def getHost(self) -> Any:
        return self.pp.getHost()

    def pauseProducing(self) -> None:
        """The protocol is busy: the session stops reopening its window, so the client waits."""
        pauseInput(self.pp, True)

    def resumeProducing(self) -> None:
        pauseInput(self.pp, False)


class _Done(Exception):
    exitCode = 0
    signal = None


def wrapProcessProtocol(inst: Any) -> Any:
    """
    Make a session's process protocol usable as a protocol's transport, so an ``ISession``
    can connect a plain Protocol: ``proto.makeConnection(wrapProcessProtocol(pp))``.
    """
    return _ProcessProtocolTransport(inst)
