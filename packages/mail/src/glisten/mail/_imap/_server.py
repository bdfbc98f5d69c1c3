"""The server side of an IMAP4rev1 session (RFC 3501), sans I/O, with LITERAL+ (RFC 7888),
IDLE (RFC 2177), ID (RFC 2971), ENABLE (RFC 5161), UNSELECT (RFC 3691), UIDPLUS (RFC 4315)
and MOVE (RFC 6851).

:class:`ServerConnection` assembles commands from lines and literals (asking for
synchronising literals with ``+``), parses them into events and answers what needs no
application: ``CAPABILITY``, ``LOGOUT``, ``ID``, ``ENABLE``, ``STARTTLS``, syntax and state
errors, limits. One command is handled at a time; pipelined ones wait in the buffer.
"""

from __future__ import annotations

import enum

from glisten.mail._imap._errors import IMAPParseError, LocalProtocolError
from glisten.mail._imap._events import (
    Append,
    AppendedMessage,
    ConnectionClosing,
    Copy,
    CramLogin,
    Expunge,
    Fetch,
    Idle,
    IdleDone,
    ListMailboxes,
    Login,
    MailboxCommand,
    Rename,
    Search,
    Select,
    ServerEvent,
    Simple,
    StartTLS,
    Status,
    Store,
)
from glisten.mail._imap._limits import DEFAULT_LIMITS, Limits
from glisten.mail._imap._parser import (
    Atom,
    Scanner,
    literalAt,
    parseDateTime,
    parseFetchAttributes,
    parseSequenceSet,
)
from glisten.mail._imap._search import parseSearch
from glisten.mail._imap._writers import quote
from glisten.mail._smtp import _sasl


class ServerState(enum.Enum):
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    AUTHENTICATED = "AUTHENTICATED"
    SELECTED = "SELECTED"
    LOGOUT = "LOGOUT"


S = ServerState
_ANY = (S.NOT_AUTHENTICATED, S.AUTHENTICATED, S.SELECTED)
_AUTH = (S.AUTHENTICATED, S.SELECTED)
_SEL = (S.SELECTED,)
#: Command -> the states it is valid in.
_STATES = {
    "CAPABILITY": _ANY,
    "NOOP": _ANY,
    "LOGOUT": _ANY,
    "ID": _ANY,
    "STARTTLS": (S.NOT_AUTHENTICATED,),
    "LOGIN": (S.NOT_AUTHENTICATED,),
    "AUTHENTICATE": (S.NOT_AUTHENTICATED,),
    "ENABLE": _AUTH,
    "SELECT": _AUTH,
    "EXAMINE": _AUTH,
    "CREATE": _AUTH,
    "DELETE": _AUTH,
    "RENAME": _AUTH,
    "SUBSCRIBE": _AUTH,
    "UNSUBSCRIBE": _AUTH,
    "LIST": _AUTH,
    "LSUB": _AUTH,
    "STATUS": _AUTH,
    "APPEND": _AUTH,
    "NAMESPACE": _AUTH,
    "IDLE": _AUTH,
    "CHECK": _SEL,
    "CLOSE": _SEL,
    "UNSELECT": _SEL,
    "EXPUNGE": _SEL,
    "SEARCH": _SEL,
    "FETCH": _SEL,
    "STORE": _SEL,
    "COPY": _SEL,
    "MOVE": _SEL,
    "UID": _SEL,
}
_STATUS_ITEMS = frozenset({"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"})
_TAG_STOP = frozenset(b'(){ %*"\\+') | frozenset(range(0x21)) | frozenset(range(0x7F, 0x100))


class ServerConnection:
    """One IMAP4 session, server side.

    :param limits: What the session accepts.
    :param tlsAvailable: ``STARTTLS`` can be offered.
    :param secure: The session is under TLS already.
    :param plaintextLogin: Allow ``LOGIN`` and ``AUTHENTICATE PLAIN`` before TLS (off:
        ``LOGINDISABLED``, RFC 3501 6.2.3).
    :param serverId: The ``ID`` fields this server gives (RFC 2971).
    :param cramMD5: Offer ``AUTHENTICATE CRAM-MD5`` (RFC 2195), with or without TLS: the
        password never crosses the wire, but checking it needs the clear-text password.
    :ivar state: The :class:`ServerState`.
    :ivar readOnly: The selected mailbox was opened with ``EXAMINE``.
    :ivar enabled: Extensions the client turned on with ``ENABLE``.
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
        plaintextLogin: bool = False,
        serverId: tuple[tuple[bytes, bytes], ...] = ((b"name", b"glisten"),),
        cramMD5: bool = False,
    ) -> None:
        self.limits = limits
        self.cramMD5 = cramMD5
        self._challenge = b""
        self._saslMech = b""
        self.tlsAvailable = tlsAvailable
        self.secure = secure
        self.plaintextLogin = plaintextLogin
        self.serverId = serverId
        self.state = S.NOT_AUTHENTICATED
        self.readOnly = False
        self.enabled: set[str] = set()
        self._out: list[bytes] = []
        self._buf = bytearray()
        self._scan = 0
        self._command = bytearray()
        self._literalLeft = 0
        self._literals = 0
        self._skipLine = False
        self._skipTag: bytes | None = None
        self._waiting: bytes | None = None
        self._idling: bytes | None = None
        self._sasl: bytes | None = None
        self._errors = 0
        self._unauthenticated = 0
        self._closing: ConnectionClosing | None = None

    # -- output --------------------------------------------------------------------------

    def greeting(self) -> bytes:
        return b"* OK [CAPABILITY " + b" ".join(self.capabilities()) + b"] glisten ready\r\n"

    def dataToSend(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    @property
    def loginAllowed(self) -> bool:
        return self.secure or self.plaintextLogin

    def capabilities(self) -> list[bytes]:
        caps = [b"IMAP4rev1", b"LITERAL+", b"SASL-IR", b"ID", b"ENABLE", b"IDLE"]
        if self.state is S.NOT_AUTHENTICATED:
            if self.tlsAvailable and not self.secure:
                caps.append(b"STARTTLS")
            if self.cramMD5:
                caps.append(b"AUTH=CRAM-MD5")
            caps.append(b"AUTH=PLAIN" if self.loginAllowed else b"LOGINDISABLED")
        else:
            caps += [b"NAMESPACE", b"UIDPLUS", b"MOVE", b"UNSELECT", b"CHILDREN", b"UTF8=ACCEPT"]
            caps.append(b"MULTIAPPEND")
        return caps

    def untagged(self, data: bytes) -> None:
        """Queue ``* data`` (``data`` may hold literals already formatted)."""
        self._out.append(b"* " + data + b"\r\n")

    def _tagged(self, tag: bytes, status: bytes, text: bytes, code: bytes | None) -> None:
        line = tag + b" " + status + b" "
        if code:
            line += b"[" + code + b"] "
        self._out.append(line + text + b"\r\n")

    # -- input ---------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[ServerEvent]:
        """Feed the client's bytes; ``b""`` resumes after an answer.

        :return: the events, in order; parsing stops after a command event until its
            completion.
        """
        if self.state is S.LOGOUT:
            return []
        self._buf += data
        events: list[ServerEvent] = []
        while (self._waiting is None or self._idling is not None) and self.budget != 0:
            if self.state is S.LOGOUT:
                break
            if self._literalLeft:
                take = min(self._literalLeft, len(self._buf))
                self._command += self._buf[:take]
                del self._buf[:take]
                self._literalLeft -= take
                if self._literalLeft:
                    break
                self._scan = 0
            line = self._line()
            if line is None:
                break
            if self.budget is not None:
                self.budget -= 1
            event = self._lineReceived(line)
            if event is not None:
                events.append(event)
            if self._closing is not None:
                break
        if (
            self.state is not S.LOGOUT
            and self._waiting is not None
            and self._idling is None
            and len(self._buf) > self.limits.maxPipelined
        ):
            self._bye(b"Too much input at once", "input flood")
        if self._closing is not None:
            events.append(self._closing)
            self._closing = None
        return events

    def _line(self) -> bytes | None:
        while True:
            end = self._buf.find(b"\n", self._scan)
            if end < 0:
                if len(self._buf) > self.limits.maxLine:
                    # A line too long: drop it all, answer when its end comes.
                    if not self._skipLine:
                        self._skipTag = self._tagOf(bytes(self._command) + bytes(self._buf[:80]))
                    self._skipLine = True
                    del self._buf[:]
                self._scan = len(self._buf)
                return None
            line = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            self._scan = 0
            if not self._skipLine and len(line) <= self.limits.maxLine:
                return line
            tag = self._skipTag if self._skipLine else self._tagOf(bytes(self._command) + line)
            self._skipLine = False
            self._reset()
            self._bad(tag, b"Line too long")
            if self._closing is not None:
                return None

    def _reset(self) -> None:
        self._command = bytearray()
        self._literals = 0

    def _tagOf(self, data: bytes) -> bytes | None:
        end = 0
        while end < len(data) and end < 64 and data[end] not in _TAG_STOP:
            end += 1
        if end == 0 or end >= len(data) or data[end] != 0x20:
            return None
        return data[:end]

    def _bad(self, tag: bytes | None, text: bytes) -> None:
        if tag is None:
            self.untagged(b"BAD " + text)
        else:
            self._tagged(tag, b"BAD", text, None)
        self._errors += 1
        if self._errors >= self.limits.maxErrors:
            self._bye(b"Too many errors", "too many errors")

    def _bye(self, text: bytes, reason: str) -> None:
        if self.state is S.LOGOUT:
            return
        self.untagged(b"BYE " + text)
        self.state = S.LOGOUT
        self._closing = ConnectionClosing(reason)

    def _lineReceived(self, line: bytes) -> ServerEvent | None:
        if self._idling is not None:
            tag = self._idling
            self._idling = None
            if line.rstrip(b"\r\n").upper() == b"DONE":
                return IdleDone(tag)
            self._bye(b"Expected DONE", "bad IDLE")
            return None
        if self._sasl is not None:
            return self._saslLine(line)
        self._command += line
        if len(self._command) > self.limits.maxCommand:
            commandTag = self._tagOf(bytes(self._command))
            self._reset()
            self._bad(commandTag, b"Command too long")
            return None
        text = line.rstrip(b"\r\n")
        try:
            literal = literalAt(text)
        except IMAPParseError:
            literal = (self.limits.maxLiteral + 1, True)
        if literal is not None:
            size, sync = literal
            self._literals += 1
            tooBig = (
                size > self.limits.maxLiteral
                or len(self._command) + size > self.limits.maxCommand
                or self._literals > self.limits.maxLiterals
            )
            if tooBig:
                literalTag = self._tagOf(bytes(self._command))
                self._reset()
                if not sync:
                    # The client sends it anyway: no way to skip it safely.
                    self._bye(b"Literal too large", "literal too large")
                elif literalTag is not None:
                    self._tagged(literalTag, b"NO", b"Literal too large", b"TOOBIG")
                else:
                    self._bad(None, b"Literal too large")
                return None
            if sync:
                self._out.append(b"+ Ready for literal data\r\n")
            self._literalLeft = size
            return None
        command = bytes(self._command)
        self._reset()
        return self._parse(command)

    # -- commands ------------------------------------------------------------------------

    def _parse(self, data: bytes) -> ServerEvent | None:
        tag = self._tagOf(data)
        if tag is None:
            self._bad(None, b"Missing or invalid tag")
            return None
        if self.state is S.NOT_AUTHENTICATED:
            self._unauthenticated += 1
            if self._unauthenticated > self.limits.maxUnauthenticated:
                self._bye(b"Too many commands without logging in", "unauthenticated flood")
                return None
        scanner = Scanner(data, self.limits, "UTF8=ACCEPT" in self.enabled)
        scanner.pos = len(tag) + 1
        try:
            name = scanner.atom().upper().decode("ascii")
            states = _STATES.get(name)
            if states is None:
                self._bad(tag, b"Unknown command")
                return None
            if self.state not in states:
                self._bad(tag, b"Command not valid in this state")
                return None
            return self._dispatch(tag, name, scanner)
        except IMAPParseError as e:
            if str(e) == "BADCHARSET":
                self._tagged(tag, b"NO", b"Only UTF-8 and US-ASCII", b"BADCHARSET")
                return None
            self._bad(tag, b"Syntax error: " + str(e).encode("ascii"))
            return None

    def _wait(self, event: ServerEvent) -> ServerEvent:
        self._waiting = event.tag  # type: ignore[union-attr]
        return event

    def _dispatch(self, tag: bytes, name: str, sc: Scanner) -> ServerEvent | None:
        if name in ("CAPABILITY", "LOGOUT", "NOOP", "CHECK", "CLOSE", "UNSELECT", "NAMESPACE"):
            sc.end()
            if name == "CAPABILITY":
                self.untagged(b"CAPABILITY " + b" ".join(self.capabilities()))
                self._tagged(tag, b"OK", b"CAPABILITY completed", None)
                return None
            if name == "LOGOUT":
                self.untagged(b"BYE Logging out")
                self._tagged(tag, b"OK", b"LOGOUT completed", None)
                self.state = S.LOGOUT
                self._closing = ConnectionClosing("LOGOUT")
                return None
            return self._wait(Simple(tag, name))
        if name == "ID":
            sc.space()
            sc.token()
            sc.end()
            fields = b" ".join(quote(k) + b" " + quote(v) for k, v in self.serverId)
            self.untagged(b"ID (" + fields + b")" if fields else b"ID NIL")
            self._tagged(tag, b"OK", b"ID completed", None)
            return None
        if name == "ENABLE":
            words = sc.rest()
            if not words or not all(isinstance(w, Atom) for w in words):
                raise IMAPParseError("ENABLE needs capabilities")
            # RFC 5161: answer with the extensions known here and now enabled.
            wanted = {bytes(w).upper() for w in words}
            if b"UTF8=ACCEPT" in wanted:
                self.enabled.add("UTF8=ACCEPT")
            self.untagged(b"ENABLED UTF8=ACCEPT" if b"UTF8=ACCEPT" in wanted else b"ENABLED")
            self._tagged(tag, b"OK", b"ENABLE completed", None)
            return None
        if name == "STARTTLS":
            sc.end()
            if not self.tlsAvailable or self.secure:
                self._bad(tag, b"STARTTLS not available")
                return None
            self._tagged(tag, b"OK", b"Begin TLS negotiation now", None)
            return self._wait(StartTLS(tag))
        if name == "LOGIN":
            sc.space()
            user = sc.astring()
            sc.space()
            password = sc.astring()
            sc.end()
            if not self.loginAllowed:
                self._tagged(tag, b"NO", b"LOGIN needs TLS first", b"PRIVACYREQUIRED")
                return None
            return self._wait(Login(tag, user, password))
        if name == "AUTHENTICATE":
            sc.space()
            mech = sc.atom().upper()
            initial = None
            if not sc.atEnd():
                sc.space()
                initial = bytes(sc.atom())
            sc.end()
            if mech == b"CRAM-MD5" and self.cramMD5 and initial is None:
                self._sasl = tag
                self._saslMech = mech
                self._challenge = _sasl.cramChallenge(b"glisten")
                self._out.append(b"+ " + _sasl.b64encode(self._challenge) + b"\r\n")
                return None
            if mech != b"PLAIN" or not self.loginAllowed:
                self._tagged(tag, b"NO", b"Unsupported mechanism", None)
                return None
            if initial is None:
                self._sasl = tag
                self._saslMech = mech
                self._out.append(b"+ \r\n")
                return None
            return self._plain(tag, initial)
        if name in ("SELECT", "EXAMINE"):
            sc.space()
            mailbox = sc.astring()
            sc.end()
            return self._wait(Select(tag, mailbox, name == "EXAMINE"))
        if name in ("CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE"):
            sc.space()
            mailbox = sc.astring()
            sc.end()
            return self._wait(MailboxCommand(tag, name, mailbox))
        if name == "RENAME":
            sc.space()
            old = sc.astring()
            sc.space()
            new = sc.astring()
            sc.end()
            return self._wait(Rename(tag, old, new))
        if name in ("LIST", "LSUB"):
            sc.space()
            reference = sc.astring()
            sc.space()
            pattern = sc.astring()
            sc.end()
            return self._wait(ListMailboxes(tag, reference, pattern, name == "LSUB"))
        if name == "STATUS":
            sc.space()
            mailbox = sc.astring()
            sc.space()
            items = sc.token()
            sc.end()
            if not isinstance(items, list) or not items:
                raise IMAPParseError("bad STATUS items")
            names = tuple(
                bytes(i).upper().decode("ascii", "replace") for i in items if isinstance(i, Atom)
            )
            if len(names) != len(items) or not set(names) <= _STATUS_ITEMS:
                raise IMAPParseError("bad STATUS items")
            return self._wait(Status(tag, mailbox, names))
        if name == "APPEND":
            return self._append(tag, sc)
        if name == "IDLE":
            sc.end()
            self._out.append(b"+ idling\r\n")
            self._idling = tag
            return self._wait(Idle(tag))
        uid = False
        if name == "UID":
            sc.space()
            name = sc.atom().upper().decode("ascii", "replace")
            if name not in ("FETCH", "STORE", "SEARCH", "COPY", "MOVE", "EXPUNGE"):
                raise IMAPParseError("unknown UID command")
            uid = True
        if name == "EXPUNGE":
            uids = None
            if uid:
                sc.space()
                uids = parseSequenceSet(sc.atom(), self.limits)
            sc.end()
            return self._wait(Expunge(tag, uids))
        if name == "SEARCH":
            tokens = sc.rest()
            return self._wait(Search(tag, parseSearch(tokens, self.limits), uid))
        sc.space()
        messages = parseSequenceSet(sc.atom(), self.limits)
        sc.space()
        if name == "FETCH":
            attributes = parseFetchAttributes(sc.token(), self.limits)
            # RFC 3501 allows nothing after the items but a closing CRLF.
            sc.end()
            return self._wait(Fetch(tag, messages, tuple(attributes), uid))
        if name == "STORE":
            item = sc.atom().upper()
            sc.space()
            flags = sc.token()
            sc.end()
            mode = item[:1].decode() if item[:1] in (b"+", b"-") else ""
            base = item.lstrip(b"+-")
            if base not in (b"FLAGS", b"FLAGS.SILENT"):
                raise IMAPParseError("bad STORE item")
            flagList = flags if isinstance(flags, list) else [flags]
            if not all(isinstance(f, Atom) for f in flagList):
                raise IMAPParseError("bad flags")
            return self._wait(
                Store(
                    tag,
                    messages,
                    mode,
                    base.endswith(b".SILENT"),
                    tuple(bytes(f) for f in flagList),
                    uid,
                )
            )
        mailbox = sc.astring()
        sc.end()
        return self._wait(Copy(tag, messages, mailbox, uid, name == "MOVE"))

    def _append(self, tag: bytes, sc: Scanner) -> ServerEvent:
        sc.space()
        mailbox = sc.astring()
        messages = [self._appendedMessage(sc)]
        # MULTIAPPEND (RFC 3502): more messages follow, each after a space.
        while not sc.atEnd():
            messages.append(self._appendedMessage(sc))
        sc.end()
        first, *more = messages
        return self._wait(Append(tag, mailbox, first.flags, first.date, first.message, tuple(more)))

    def _appendedMessage(self, sc: Scanner) -> AppendedMessage:
        """`` [flags] [date] literal`` of an ``APPEND``."""
        sc.space()
        flags: tuple[bytes, ...] = ()
        date = None
        if sc.peek() == 0x28:
            token = sc.token()
            assert isinstance(token, list)
            if not all(isinstance(f, Atom) for f in token):
                raise IMAPParseError("bad flags")
            flags = tuple(bytes(f) for f in token)
            sc.space()
        if sc.peek() == 0x22:
            date = parseDateTime(sc.quoted())
            sc.space()
        if sc.peek() == 0x7B:
            message = sc.literal()
        elif "UTF8=ACCEPT" in self.enabled and sc.data.startswith(b"UTF8 (~{", sc.pos):
            # RFC 6855 4: a message with UTF-8 headers comes as "UTF8 (~{N}...)".
            sc.pos += len(b"UTF8 (~")
            message = sc.literal()
            if sc.peek() != 0x29:
                raise IMAPParseError("expected a parenthesis")
            sc.pos += 1
        else:
            raise IMAPParseError("APPEND needs a literal")
        return AppendedMessage(flags, date, message)

    def _saslLine(self, line: bytes) -> ServerEvent | None:
        tag = self._sasl
        assert tag is not None
        self._sasl = None
        text = line.rstrip(b"\r\n")
        if text == b"*":
            self._bad(tag, b"Authentication cancelled")
            return None
        if self._saslMech == b"CRAM-MD5":
            decoded = _sasl.b64decode(text) or b""
            name, space, digest = decoded.rpartition(b" ")
            if not space or not name or len(digest) != 32:
                self._bad(tag, b"Malformed CRAM-MD5 response")
                return None
            return self._wait(CramLogin(tag, name, self._challenge, digest))
        return self._plain(tag, text)

    def _plain(self, tag: bytes, data: bytes) -> ServerEvent | None:
        decoded = _sasl.b64decode(data) if data != b"=" else b""
        parsed = _sasl.parsePlain(decoded) if decoded is not None else None
        if parsed is None:
            self._bad(tag, b"Malformed PLAIN response")
            return None
        return self._wait(Login(tag, parsed[0], parsed[1]))

    # -- the application's answers -------------------------------------------------------

    def _done(self, tag: bytes) -> None:
        if self._waiting != tag:
            raise LocalProtocolError("no such command is waiting for an answer")
        self._waiting = None
        self._idling = None

    def complete(
        self,
        tag: bytes,
        status: bytes = b"OK",
        text: bytes = b"completed",
        code: bytes | None = None,
    ) -> None:
        """Finish the command ``tag`` with ``OK``, ``NO`` or ``BAD``."""
        self._done(tag)
        self._tagged(tag, status, text, code)

    def acceptLogin(self, tag: bytes) -> None:
        self._done(tag)
        self.state = S.AUTHENTICATED
        self._tagged(tag, b"OK", b"Logged in", b"CAPABILITY " + b" ".join(self.capabilities()))

    def rejectLogin(self, tag: bytes, text: bytes = b"Authentication failed") -> None:
        self.complete(tag, b"NO", text, b"AUTHENTICATIONFAILED")

    def selected(self, tag: bytes, readOnly: bool) -> None:
        """The mailbox of ``SELECT``/``EXAMINE`` is open (its untagged data already sent)."""
        self._done(tag)
        self.state = S.SELECTED
        self.readOnly = readOnly
        self._tagged(tag, b"OK", b"Selected", b"READ-ONLY" if readOnly else b"READ-WRITE")

    def selectFailed(self, tag: bytes, text: bytes = b"No such mailbox") -> None:
        """``SELECT`` failed: no mailbox is selected any more (RFC 3501 6.3.1)."""
        self._done(tag)
        self.state = S.AUTHENTICATED
        self._tagged(tag, b"NO", text, b"NONEXISTENT")

    def unselected(self, tag: bytes) -> None:
        """``CLOSE`` or ``UNSELECT`` done."""
        self._done(tag)
        self.state = S.AUTHENTICATED
        self._tagged(tag, b"OK", b"Closed", None)

    def tlsStarted(self) -> None:
        """TLS is up after ``STARTTLS``; anything pipelined in clear text is dropped."""
        if self._waiting is None:
            raise LocalProtocolError("no STARTTLS is waiting")
        self._waiting = None
        self.secure = True
        del self._buf[:]
        self._scan = 0
        self._reset()
