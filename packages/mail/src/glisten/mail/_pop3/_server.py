"""The server side of a POP3 session (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC
5034), sans I/O.

:class:`ServerConnection` takes the client's bytes and returns events; the replies it owes go
to an outbox (:meth:`ServerConnection.dataToSend`), in command order. Commands the codec can
answer alone (``CAPA``, ``NOOP``, ``USER``, syntax and state errors, limits) are answered
alone; the rest become events, and while the application works on one nothing more is parsed,
so pipelined commands (RFC 2449 ``PIPELINING``) are answered in order.
"""

from __future__ import annotations

import enum

from glisten.mail._pop3._errors import LocalProtocolError
from glisten.mail._pop3._events import (
    APOPRequested,
    ConnectionClosing,
    CramMD5Requested,
    Delete,
    ListMessages,
    ListUIDs,
    LoginRequested,
    Quit,
    Reset,
    Retrieve,
    ServerEvent,
    StartTLS,
    Stat,
)
from glisten.mail._pop3._limits import DEFAULT_LIMITS, Limits
from glisten.mail._pop3._text import stuffedPieces, toCRLF, topOf
from glisten.mail._smtp import _sasl

#: SASL mechanisms the codec can run.
MECHANISMS = frozenset({"PLAIN", "CRAM-MD5"})
#: The largest message number accepted (larger ones are syntax errors, not huge ints).
_MAX_NUMBER = 2**31


class ServerState(enum.Enum):
    """Where a POP3 session is (RFC 1939 3)."""

    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    CLOSED = "CLOSED"


def _number(arg: bytes) -> int | None:
    if not arg.isdigit() or len(arg) > 10:
        return None
    value = int(arg)
    return value if 0 < value <= _MAX_NUMBER else None


class ServerConnection:
    """One POP3 session, server side.

    :param limits: What the session accepts.
    :param tlsAvailable: ``STLS`` can be offered (the adapter has a certificate).
    :param secure: The session is already under TLS (implicit TLS, or after ``STLS``).
    :param apopChallenge: The ``<...>`` timestamp to put in the greeting, offering APOP;
        ``None`` offers no APOP.
    :param saslMechanisms: SASL mechanisms for ``AUTH``, from ``PLAIN`` and ``CRAM-MD5``.
    :param plaintextLogin: Allow ``USER``/``PASS`` and ``AUTH PLAIN`` before TLS. Off by
        default (RFC 2595 4): they would send passwords in the clear.
    :param implementation: Text of the ``IMPLEMENTATION`` capability, or ``None``.
    :param loginDelay: Seconds announced as ``LOGIN-DELAY`` (RFC 2449 6.8), or ``None``.
    :param expire: Text of the ``EXPIRE`` capability (RFC 2449 6.7), or ``None``.
    :ivar state: The :class:`ServerState`.
    :ivar username: The name of a successful login, else ``None``.
    :ivar budget: Command lines :meth:`receiveData` may still parse before it stops and keeps
        the rest buffered (``None``: no bound). An adapter sets it once per turn of its event
        loop, so one client's megabyte of pipelined commands cannot stall the others.
    """

    budget: int | None = None

    def __init__(
        self,
        limits: Limits = DEFAULT_LIMITS,
        *,
        tlsAvailable: bool = False,
        secure: bool = False,
        apopChallenge: bytes | None = None,
        saslMechanisms: tuple[str, ...] = ("PLAIN",),
        plaintextLogin: bool = False,
        implementation: bytes | None = None,
        loginDelay: int | None = None,
        expire: bytes | None = None,
    ) -> None:
        unknown = set(saslMechanisms) - MECHANISMS
        if unknown:
            raise ValueError(f"unknown SASL mechanisms: {sorted(unknown)}")
        self.limits = limits
        self.tlsAvailable = tlsAvailable
        self.secure = secure
        self.apopChallenge = apopChallenge
        self.saslMechanisms = saslMechanisms
        self.plaintextLogin = plaintextLogin
        self.implementation = implementation
        self.loginDelay = loginDelay
        self.expire = expire
        self.state = ServerState.AUTHORIZATION
        self.username: bytes | None = None
        self._out: list[bytes] = []
        self._buf = bytearray()
        self._scan = 0
        self._discardLine = False
        self._errors = 0
        self._failures = 0
        self._user: bytes | None = None
        self._pendingUser: bytes | None = None
        #: The event the application owes an answer to, or ``None``.
        self._waiting: object | None = None
        self._saslMech = ""
        self._challenge = b""
        self._tlsPending = False
        self._closing: ConnectionClosing | None = None

    # -- what the adapter reads ---------------------------------------------------------

    def greeting(self, text: bytes = b"POP3 server ready") -> bytes:
        """:return: the ``+OK`` greeting, with the APOP challenge when configured."""
        if self.apopChallenge is not None:
            text = text + b" " + self.apopChallenge
        return b"+OK " + text + b"\r\n"

    def dataToSend(self) -> bytes:
        """:return: every reply owed so far (and forget them)."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    @property
    def offersPlaintext(self) -> bool:
        """Whether passwords in the clear (``USER``, ``AUTH PLAIN``) are accepted now."""
        return self.secure or self.plaintextLogin

    @property
    def offersStartTLS(self) -> bool:
        return self.tlsAvailable and not self.secure and self.state is ServerState.AUTHORIZATION

    def capabilities(self) -> list[bytes]:
        """:return: the lines of the ``CAPA`` answer for the current state."""
        caps = [b"TOP", b"UIDL", b"RESP-CODES", b"AUTH-RESP-CODE", b"PIPELINING"]
        if self.state is ServerState.AUTHORIZATION:
            if self.offersPlaintext:
                caps.append(b"USER")
            mechs = self._mechanisms()
            if mechs:
                caps.append(b"SASL " + b" ".join(m.encode("ascii") for m in mechs))
            if self.offersStartTLS:
                caps.append(b"STLS")
        if self.loginDelay is not None:
            caps.append(b"LOGIN-DELAY %d" % self.loginDelay)
        if self.expire is not None:
            caps.append(b"EXPIRE " + self.expire)
        if self.implementation is not None:
            caps.append(b"IMPLEMENTATION " + self.implementation)
        return caps

    def _mechanisms(self) -> list[str]:
        return [m for m in self.saslMechanisms if m != "PLAIN" or self.offersPlaintext]

    # -- input ---------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[ServerEvent]:
        """Feed bytes from the client; ``b""`` resumes parsing after an answer.

        :return: the events, in order. Parsing stops after an event that needs an answer
            and resumes on the next call once it has one.
        """
        if self.state is ServerState.CLOSED:
            return []
        self._buf += data
        events: list[ServerEvent] = []
        while self._waiting is None and self.state is not ServerState.CLOSED and self.budget != 0:
            line = self._nextLine()
            if line is not None:
                if self.budget is not None:
                    self.budget -= 1
                event = self._line(line)
                if event is not None:
                    events.append(event)
            events.extend(self._closed())
            if line is None:
                break
        if (
            self.state is not ServerState.CLOSED
            and self.budget != 0
            and len(self._buf) > self.limits.maxPipelined + self.limits.maxAuthLine
        ):
            self._close(b"-ERR too much input at once", "input flood")
        events.extend(self._closed())
        return events

    def _closed(self) -> list[ServerEvent]:
        closing, self._closing = self._closing, None
        return [closing] if closing is not None else []

    def _nextLine(self) -> bytes | None:
        limit = self.limits.maxAuthLine if self._saslMech else self.limits.maxCommandLine
        while True:
            end = self._buf.find(b"\n", self._scan)
            if end < 0:
                if len(self._buf) > limit:
                    # Too long: drop what we have and the rest of the line when it comes.
                    if not self._discardLine:
                        self._discardLine = True
                        self._tooLong()
                    del self._buf[:]
                self._scan = len(self._buf)
                return None
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._scan = 0
            if self._discardLine:
                self._discardLine = False
                continue
            if len(line) + 1 > limit:
                self._tooLong()
                continue
            return line[:-1] if line.endswith(b"\r") else line

    def _tooLong(self) -> None:
        if self._saslMech:
            self._saslMech = ""
        self._error(b"line too long")

    def _reply(self, line: bytes) -> None:
        self._out.append(line + b"\r\n")

    def _error(self, text: bytes) -> None:
        self._reply(b"-ERR " + text)
        self._errors += 1
        if self._errors >= self.limits.maxErrors and self.state is not ServerState.CLOSED:
            self._close(b"-ERR too many errors", "too many errors")

    def _close(self, line: bytes | None, reason: str) -> None:
        if self.state is ServerState.CLOSED:
            return
        if line is not None:
            self._reply(line)
        self.state = ServerState.CLOSED
        self._waiting = None
        self._closing = ConnectionClosing(reason)

    def _line(self, line: bytes) -> ServerEvent | None:
        if self._saslMech:
            return self._saslLine(line)
        return self._command(line)

    def _command(self, line: bytes) -> ServerEvent | None:
        parts = line.split(b" ")
        verb = parts[0].upper()
        args = parts[1:]
        if self.state is ServerState.AUTHORIZATION:
            return self._authorization(verb, args)
        return self._transaction(verb, args)

    # -- AUTHORIZATION -------------------------------------------------------------------

    def _authorization(self, verb: bytes, args: list[bytes]) -> ServerEvent | None:
        user = self._pendingUser
        self._pendingUser = None
        if verb == b"CAPA" and not args:
            self._multiline(b"+OK Capability list follows", self.capabilities())
        elif verb == b"QUIT" and not args:
            self._close(b"+OK Bye", "QUIT")
        elif verb == b"USER" and len(args) == 1 and args[0]:
            if not self.offersPlaintext:
                self._error(b"[AUTH] Plaintext authentication disallowed without TLS")
            else:
                self._pendingUser = args[0]
                self._reply(b"+OK Password required")
        elif verb == b"PASS" and args:
            if user is None:
                self._error(b"USER first")
            else:
                # The password is the rest of the line: it may contain spaces.
                return self._wait(LoginRequested(user, b" ".join(args), "USER"))
        elif verb == b"APOP" and len(args) == 2:
            if self.apopChallenge is None:
                self._error(b"APOP not available")
            else:
                return self._wait(APOPRequested(args[0], args[1].lower(), self.apopChallenge))
        elif verb == b"AUTH":
            return self._auth(args)
        elif verb == b"STLS" and not args:
            if not self.offersStartTLS:
                self._error(b"STLS not available")
            else:
                self._reply(b"+OK Begin TLS negotiation")
                self._tlsPending = True
                return self._wait(StartTLS())
        elif verb in (b"STAT", b"LIST", b"RETR", b"DELE", b"NOOP", b"RSET", b"TOP", b"UIDL"):
            self._error(b"Log in first")
        else:
            self._error(b"Unknown command or bad arguments")
        return None

    def _auth(self, args: list[bytes]) -> ServerEvent | None:
        mechs = self._mechanisms()
        if not args:
            self._multiline(b"+OK", [m.encode("ascii") for m in mechs])
            return None
        if len(args) > 2:
            self._error(b"Bad arguments")
            return None
        mech = args[0].upper().decode("ascii", "replace")
        if mech not in mechs:
            self._error(b"Unsupported mechanism")
            return None
        if mech == "PLAIN":
            if len(args) == 2:
                return self._plain(args[1])
            self._saslMech = mech
            self._reply(b"+ ")
            return None
        if len(args) == 2:
            self._error(b"CRAM-MD5 takes no initial response")
            return None
        self._saslMech = mech
        self._challenge = _sasl.cramChallenge(b"localhost")
        self._reply(b"+ " + _sasl.b64encode(self._challenge))
        return None

    def _saslLine(self, line: bytes) -> ServerEvent | None:
        mech = self._saslMech
        self._saslMech = ""
        if line == b"*":
            self._error(b"Authentication cancelled")
            return None
        if mech == "PLAIN":
            return self._plain(line)
        decoded = _sasl.b64decode(line)
        name, sep, digest = (decoded or b"").rpartition(b" ")
        if not sep or not name or len(digest) != 32:
            self._error(b"[AUTH] Malformed response")
            return None
        return self._wait(CramMD5Requested(name, self._challenge, digest))

    def _plain(self, data: bytes) -> ServerEvent | None:
        if data == b"=":
            data = b""
        decoded = _sasl.b64decode(data)
        parsed = _sasl.parsePlain(decoded) if decoded is not None else None
        if parsed is None:
            self._error(b"[AUTH] Malformed response")
            return None
        return self._wait(LoginRequested(parsed[0], parsed[1], "PLAIN"))

    def _wait(self, event: ServerEvent) -> ServerEvent:
        self._waiting = event
        if isinstance(event, (LoginRequested, APOPRequested, CramMD5Requested)):
            self._user = event.username
        return event

    # -- TRANSACTION ---------------------------------------------------------------------

    def _transaction(self, verb: bytes, args: list[bytes]) -> ServerEvent | None:
        if verb in (b"STAT", b"RSET", b"NOOP", b"QUIT", b"CAPA"):
            if args:
                self._error(b"No arguments allowed")
                return None
            if verb == b"NOOP":
                self._reply(b"+OK")
                return None
            if verb == b"CAPA":
                self._multiline(b"+OK Capability list follows", self.capabilities())
                return None
            if verb == b"STAT":
                return self._wait(Stat())
            return self._wait(Reset() if verb == b"RSET" else Quit())
        if verb in (b"LIST", b"UIDL"):
            if len(args) > 1:
                self._error(b"Too many arguments")
                return None
            index = None
            if args:
                number = _number(args[0])
                if number is None:
                    self._error(b"Bad message number")
                    return None
                index = number - 1
            return self._wait(ListMessages(index) if verb == b"LIST" else ListUIDs(index))
        if verb in (b"RETR", b"DELE"):
            number = _number(args[0]) if len(args) == 1 else None
            if number is None:
                self._error(b"Bad message number")
                return None
            return self._wait(Retrieve(number - 1, None) if verb == b"RETR" else Delete(number - 1))
        if verb == b"TOP":
            number = _number(args[0]) if len(args) == 2 else None
            lines = args[1] if len(args) == 2 else b""
            if number is None or not lines.isdigit() or len(lines) > 10:
                self._error(b"Bad arguments")
                return None
            return self._wait(Retrieve(number - 1, int(lines)))
        if verb in (b"USER", b"PASS", b"APOP", b"AUTH", b"STLS"):
            self._error(b"Already logged in")
        else:
            self._error(b"Unknown command or bad arguments")
        return None

    # -- the application's answers -------------------------------------------------------

    def _answer(self, *kinds: type) -> object:
        event = self._waiting
        if event is None or not isinstance(event, kinds):
            raise LocalProtocolError("no such command is waiting for an answer")
        self._waiting = None
        return event

    def acceptLogin(self, text: bytes = b"Logged in") -> None:
        """The login asked for is good: enter the TRANSACTION state."""
        self._answer(LoginRequested, APOPRequested, CramMD5Requested)
        self.username = self._user
        self.state = ServerState.TRANSACTION
        self._reply(b"+OK " + text)

    def rejectLogin(self, text: bytes = b"[AUTH] Authentication failed") -> list[ServerEvent]:
        """The login asked for is refused.

        :return: a :class:`ConnectionClosing` when that was one failure too many.
        """
        self._answer(LoginRequested, APOPRequested, CramMD5Requested)
        self._reply(b"-ERR " + text)
        self._failures += 1
        if self._failures >= self.limits.maxLoginFailures:
            self._close(b"-ERR Too many failed logins", "too many failed logins")
        return self._closed()

    def refuseLogin(self, text: bytes = b"[IN-USE] Mailbox busy") -> None:
        """The credentials were good but the mailbox cannot be opened (RFC 2449 ``IN-USE``
        or ``SYS/TEMP``); this does not count as a failed login."""
        self._answer(LoginRequested, APOPRequested, CramMD5Requested)
        self._reply(b"-ERR " + text)

    def ok(self, text: bytes = b"") -> list[ServerEvent]:
        """A one-line ``+OK`` answer (``STAT``, ``LIST n``, ``UIDL n``, ``DELE``, ``RSET``,
        ``QUIT``).

        :return: a :class:`ConnectionClosing` after ``QUIT``.
        """
        event = self._answer(Stat, ListMessages, ListUIDs, Delete, Reset, Quit)
        self._reply(b"+OK " + text if text else b"+OK")
        if isinstance(event, Quit):
            self._close(None, "QUIT")
        return self._closed()

    def error(self, text: bytes) -> list[ServerEvent]:
        """A ``-ERR`` answer to the command waiting (no such message, a store failure).

        :return: a :class:`ConnectionClosing` after ``QUIT``.
        """
        event = self._answer(Stat, ListMessages, ListUIDs, Delete, Reset, Quit, Retrieve)
        self._reply(b"-ERR " + text)
        if isinstance(event, Quit):
            self._close(None, "QUIT")
        return self._closed()

    def sendLines(self, first: bytes, lines: list[bytes]) -> None:
        """The multi-line answer to ``LIST`` or ``UIDL`` without an argument."""
        self._answer(ListMessages, ListUIDs)
        self._multiline(first, lines)

    def sendMessage(self, message: bytes, first: bytes = b"") -> None:
        """The answer to ``RETR`` or ``TOP``: ``message`` (any line ends) byte-stuffed, cut
        to the header and the asked number of lines for ``TOP``."""
        event = self._answer(Retrieve)
        assert isinstance(event, Retrieve)
        data = toCRLF(message)
        if event.lines is not None:
            data = topOf(data, event.lines)
        self._out.append(b"+OK " + first + b"\r\n" if first else b"+OK\r\n")
        self._out.extend(stuffedPieces(data))

    def tlsStarted(self) -> None:
        """TLS is up after ``STLS``: the session starts over (RFC 2595 4), unauthenticated."""
        self._answer(StartTLS)
        self._tlsPending = False
        self.secure = True
        # Anything the client pipelined after STLS arrived in clear text: drop it.
        del self._buf[:]
        self._scan = 0

    def _multiline(self, first: bytes, lines: list[bytes]) -> None:
        out = [first]
        for line in lines:
            out.append(b"." + line if line.startswith(b".") else line)
        out.append(b".")
        self._out.append(b"\r\n".join(out) + b"\r\n")
