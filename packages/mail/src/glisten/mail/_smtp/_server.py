"""The server side of an SMTP session (RFC 5321 with ESMTP extensions), sans I/O.

:class:`ServerConnection` takes the client's bytes and returns events; the replies it owes go
into an outbox (:meth:`ServerConnection.dataToSend`), so replies to pipelined commands (RFC
2920) leave in command order and in as few writes as possible. Commands the codec can answer
alone (``NOOP``, ``RSET``, ``EHLO``, syntax and sequence errors, limits) are answered alone;
``MAIL``, ``RCPT``, the end of a message and ``AUTH`` wait for the application, and while they
wait nothing more is parsed.
"""

from __future__ import annotations

from glisten.mail._smtp import _sasl
from glisten.mail._smtp._address import (
    Mailbox,
    decodeXtext,
    parseParams,
    parsePath,
    splitPathAndParams,
)
from glisten.mail._smtp._errors import LocalProtocolError
from glisten.mail._smtp._events import (
    AuthRequested,
    ConnectionFailed,
    DataStarted,
    Hello,
    MailFrom,
    MailParams,
    MessageAborted,
    MessageComplete,
    MessageData,
    Quit,
    RcptParams,
    RcptTo,
    Reset,
    ServerEvent,
    StartTLS,
)
from glisten.mail._smtp._limits import DEFAULT_LIMITS, Limits
from glisten.mail._smtp._reply import formatReply
from glisten.mail._smtp._state import BLOCKED, ServerState

S = ServerState
#: Bytes of message text (DATA or BDAT) that cost one unit of a ``budget``.
DATA_UNIT = 4096
#: Formatted replies by (code, text, enhanced code): most replies are the same few lines.
_REPLIES: dict[tuple[int, bytes, bytes | None], bytes] = {}
_NOTIFY = frozenset({"SUCCESS", "FAILURE", "DELAY"})


def _printable(value: bytes, utf8: bool = False) -> bool:
    """:return: whether ``value`` has no control characters (and, unless ``utf8``, only
    US-ASCII): decoded DSN parameters end up in notices' header fields, where a CR or LF
    would let a client write fields of its own."""
    return all(32 <= c < 127 or (utf8 and c >= 128) for c in value)


_USERNAME_PROMPT = b"VXNlcm5hbWU6"
_PASSWORD_PROMPT = b"UGFzc3dvcmQ6"


class ServerConnection:
    """One SMTP session, server side.

    :param hostname: This server's name, used in the greeting and the ``EHLO`` reply.
    :param limits: What the session accepts.
    :param esmtp: Answer ``EHLO`` (else only ``HELO`` is known, as RFC 821 servers).
    :param tlsAvailable: ``STARTTLS`` can be offered (the adapter has a certificate).
    :param secure: The session is already under TLS (implicit TLS, or after STARTTLS).
    :param authMechanisms: SASL mechanisms to offer, from ``PLAIN``, ``LOGIN``, ``CRAM-MD5``.
    :param authWithoutTLS: Offer ``AUTH`` over plain text too; off by default, since
        PLAIN and LOGIN would send passwords in the clear.
    :param requireAuth: ``MAIL`` needs a successful ``AUTH`` first (a submission server).
    :param requireTLS: ``MAIL`` needs ``STARTTLS`` first.
    :ivar state: The :class:`ServerState`.
    :ivar extended: The client said ``EHLO``.
    :ivar authenticated: The username of a successful ``AUTH``, else ``None``.
    :ivar budget: Command lines :meth:`receiveData` may still parse before it stops and keeps
        the rest buffered (``None``: no bound). An adapter sets it once per turn of its event
        loop, so one client's megabyte of pipelined commands cannot stall the others.
    """

    budget: int | None = None

    def __init__(
        self,
        hostname: bytes,
        limits: Limits = DEFAULT_LIMITS,
        *,
        esmtp: bool = True,
        tlsAvailable: bool = False,
        secure: bool = False,
        authMechanisms: tuple[str, ...] = (),
        authWithoutTLS: bool = False,
        requireAuth: bool = False,
        requireTLS: bool = False,
    ) -> None:
        unknown = set(authMechanisms) - _sasl.MECHANISMS
        if unknown:
            raise ValueError(f"unknown SASL mechanisms: {sorted(unknown)}")
        self.hostname = hostname
        self.limits = limits
        self.esmtp = esmtp
        self.tlsAvailable = tlsAvailable
        self.secure = secure
        self.authMechanisms = authMechanisms
        self.authWithoutTLS = authWithoutTLS
        self.requireAuth = requireAuth
        self.requireTLS = requireTLS
        self.state = S.INITIAL
        self.extended = False
        self.heloName: bytes | None = None
        self.authenticated: bytes | None = None
        self._out: list[bytes] = []
        self._buf = bytearray()
        self._scan = 0
        self._errors = 0
        self._discardLine = False
        # transaction
        self._inTransaction = False
        self._rcpts = 0
        self._smtputf8 = False
        self._size = 0
        self._bad: str | None = None
        self._midLine = False
        self._usedBdat = False
        self._bdatLeft = 0
        self._bdatLast = False
        self._bdatRefused = False
        self._bdatPrev = S.INITIAL
        # SASL
        self._mech = ""
        self._saslStep = 0
        self._saslUser = b""
        self._challenge = b""

    # -- output --------------------------------------------------------------------------

    def greeting(self, text: bytes = b"ESMTP") -> bytes:
        """:return: the 220 greeting to send when the connection opens."""
        return formatReply(220, self.hostname + b" " + text)

    def dataToSend(self) -> bytes:
        """:return: every reply owed so far, in order (then forgets them)."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _reply(self, code: int, text: bytes, enhanced: bytes | None = None) -> None:
        key = (code, text, enhanced if self.extended else None)
        line = _REPLIES.get(key)
        if line is None:
            line = formatReply(*key)
            if len(_REPLIES) < 512:
                _REPLIES[key] = line
        self._out.append(line)

    def _error(self, code: int, text: bytes, enhanced: bytes, events: list[ServerEvent]) -> None:
        self._errors += 1
        if self._errors > self.limits.maxErrors:
            self._reply(421, self.hostname + b" Too many errors, closing", b"4.7.0")
            self._fail("too many errors", events)
        else:
            self._reply(code, text, enhanced)

    def _fail(self, reason: str, events: list[ServerEvent]) -> None:
        self.state = S.CLOSED
        self._buf.clear()
        events.append(ConnectionFailed(reason))

    # -- the application's answers ---------------------------------------------------------

    def _expect(self, state: ServerState) -> None:
        if self.state is not state:
            raise LocalProtocolError(f"nothing to answer in state {self.state.value}")

    def acceptMail(self, text: bytes = b"Sender OK") -> None:
        """Accept the ``MAIL FROM`` that :class:`MailFrom` reported."""
        self._expect(S.MAIL_PENDING)
        self._inTransaction = True
        self.state = S.MAIL
        self._reply(250, text, b"2.1.0")

    def rejectMail(
        self, code: int = 550, text: bytes = b"Sender refused", enhanced: bytes = b"5.1.0"
    ) -> None:
        """Refuse the ``MAIL FROM``; the session stays greeted, without a transaction."""
        self._expect(S.MAIL_PENDING)
        self.state = S.READY
        self._reply(code, text, enhanced)

    def acceptRecipient(self, text: bytes = b"Recipient OK") -> None:
        """Accept the ``RCPT TO`` that :class:`RcptTo` reported."""
        self._expect(S.RCPT_PENDING)
        self._rcpts += 1
        self.state = S.MAIL
        self._reply(250, text, b"2.1.5")

    def rejectRecipient(
        self, code: int = 550, text: bytes = b"Recipient refused", enhanced: bytes = b"5.1.1"
    ) -> None:
        """Refuse the ``RCPT TO``; the transaction goes on with the other recipients."""
        self._expect(S.RCPT_PENDING)
        self.state = S.MAIL
        self._reply(code, text, enhanced)

    def acceptMessage(self, text: bytes = b"Message accepted") -> None:
        """The message is safe (stored durably): answer 250 and end the transaction."""
        self._expect(S.MESSAGE_PENDING)
        self._endTransaction()
        self._reply(250, text, b"2.0.0")

    def rejectMessage(
        self, code: int = 554, text: bytes = b"Message refused", enhanced: bytes = b"5.0.0"
    ) -> None:
        """Refuse the message (``4xx``: try later); the transaction ends either way."""
        self._expect(S.MESSAGE_PENDING)
        self._endTransaction()
        self._reply(code, text, enhanced)

    def authSucceeded(self) -> None:
        """The credentials of :class:`AuthRequested` are good."""
        self._expect(S.AUTH_PENDING)
        self.authenticated = self._saslUser
        self.state = S.READY
        self._reply(235, b"Authentication successful", b"2.7.0")

    def authFailed(self, temporary: bool = False) -> None:
        """The credentials are bad (or, with ``temporary``, could not be checked now)."""
        self._expect(S.AUTH_PENDING)
        self.state = S.READY
        self._errors += 1
        if temporary:
            self._reply(454, b"Temporary authentication failure", b"4.7.0")
        else:
            self._reply(535, b"Authentication credentials invalid", b"5.7.8")

    def tlsStarted(self) -> None:
        """The transport now speaks TLS: the session starts over (RFC 3207 4.2)."""
        self._expect(S.TLS_PENDING)
        self.secure = True
        self.state = S.INITIAL
        self.extended = False
        self.heloName = None
        self.authenticated = None
        self._buf.clear()
        self._scan = 0

    # -- input ----------------------------------------------------------------------------

    @property
    def offersAuth(self) -> bool:
        return bool(self.authMechanisms) and (self.secure or self.authWithoutTLS)

    @property
    def offersStartTLS(self) -> bool:
        return self.tlsAvailable and not self.secure

    def receiveData(self, data: bytes) -> list[ServerEvent]:
        """Add the client's bytes and parse as far as the state allows.

        :param data: New bytes; ``b""`` resumes parsing after the application answered.
        :return: The events, in order.
        """
        events: list[ServerEvent] = []
        if self.state is S.CLOSED:
            return events
        buf = self._buf
        if data:
            buf += data
        pos = 0
        while self.state not in BLOCKED and pos < len(buf) and self.budget != 0:
            state = self.state
            if state is S.DATA or state is S.BDAT:
                # Message text costs one unit of the budget per DATA_UNIT bytes (or two
                # longest lines, so that a slice always holds a whole line).
                stop = len(buf)
                if self.budget is not None:
                    self.budget -= 1
                    stop = min(stop, pos + max(DATA_UNIT, 2 * self.limits.maxDataLine))
                if state is S.DATA:
                    pos = self._readData(buf, pos, events, stop)
                else:
                    pos = self._readChunk(buf, pos, events, stop)
                if self.state is state and stop == len(buf):
                    break
            else:
                limit = self.limits.maxAuthLine if state is S.AUTH else self.limits.maxCommandLine
                end = buf.find(b"\n", max(pos, self._scan))
                if end < 0:
                    if len(buf) - pos >= limit:
                        if not self._discardLine:
                            self._error(500, b"Line too long", b"5.5.2", events)
                        self._discardLine = True
                        pos = len(buf)
                    self._scan = len(buf)
                    break
                line = bytes(buf[pos:end])
                pos = end + 1
                self._scan = pos
                if self._discardLine:
                    self._discardLine = False
                    continue
                if len(line) >= limit:
                    self._error(500, b"Line too long", b"5.5.2", events)
                    continue
                if line.endswith(b"\r"):
                    line = line[:-1]
                if self.budget is not None:
                    self.budget -= 1
                if state is S.AUTH:
                    self._saslLine(line, events)
                else:
                    self._command(line, events)
                if self.state is S.TLS_PENDING:
                    # RFC 3207 / CVE-2011-0411: plaintext after STARTTLS must not be
                    # interpreted after the switch; throw it away.
                    pos = len(buf)
        if self.state is S.CLOSED:
            buf.clear()
            self._scan = 0
            return events
        if pos:
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
        if self.state in BLOCKED and len(buf) > self.limits.maxPipelined:
            self._reply(421, b"Too much pipelined input", b"4.7.0")
            self._fail("too much pipelined input", events)
        return events

    # -- commands -------------------------------------------------------------------------

    def _command(self, line: bytes, events: list[ServerEvent]) -> None:
        verb, _, arg = line.partition(b" ")
        handler = _COMMANDS.get(verb.upper())
        if handler is None:
            self._error(500, b"Command unrecognized", b"5.5.2", events)
            return
        handler(self, arg, events)

    def _resetTransaction(self, events: list[ServerEvent]) -> None:
        if self._inTransaction:
            events.append(Reset())
        self._endTransaction()

    def _endTransaction(self) -> None:
        self._inTransaction = False
        self._rcpts = 0
        self._smtputf8 = False
        self._size = 0
        self._bad = None
        self._midLine = False
        self._usedBdat = False
        self._bdatLeft = 0
        self._bdatLast = False
        self._bdatRefused = False
        self.state = S.READY if self.heloName is not None else S.INITIAL

    def _helo(self, arg: bytes, events: list[ServerEvent], extended: bool = False) -> None:
        name = arg.strip(b" ")
        if not name or len(name) > 255 or not all(33 <= c < 127 for c in name):
            self._error(
                501,
                b"Syntax: EHLO hostname" if extended else b"Syntax: HELO hostname",
                b"5.5.4",
                events,
            )
            return
        self._resetTransaction(events)
        self.extended = extended
        self.heloName = name
        self.state = S.READY
        if not extended:
            self._reply(250, self.hostname)
        else:
            lines = [
                self.hostname,
                b"PIPELINING",
                b"SIZE %d" % self.limits.maxMessageSize,
                b"8BITMIME",
                b"ENHANCEDSTATUSCODES",
                b"SMTPUTF8",
                b"CHUNKING",
                b"DSN",
            ]
            if self.offersStartTLS:
                lines.append(b"STARTTLS")
            if self.offersAuth and self.authenticated is None:
                lines.append(b"AUTH " + " ".join(self.authMechanisms).encode("ascii"))
            self._out.append(formatReply(250, lines))
        events.append(Hello(name, extended))

    def _ehlo(self, arg: bytes, events: list[ServerEvent]) -> None:
        if not self.esmtp:
            self._error(500, b"Command unrecognized", b"5.5.2", events)
            return
        self._helo(arg, events, extended=True)

    def _needGreeting(self, events: list[ServerEvent]) -> bool:
        if self.state is S.INITIAL:
            self._error(503, b"Send HELO/EHLO first", b"5.5.1", events)
            return True
        return False

    def _pathAndParams(
        self, arg: bytes, keyword: bytes, syntax: bytes, events: list[ServerEvent]
    ) -> tuple[bytes, dict[str, bytes | None]] | None:
        """Split ``FROM:<path> params`` or ``TO:<path> params`` (MAIL and RCPT share it).

        :return: the path text and the parameters, or ``None`` once an error reply is queued.
        """
        split = None
        if arg[: len(keyword)].upper() == keyword:
            split = splitPathAndParams(arg[len(keyword) :])
        if split is None:
            self._error(501, syntax, b"5.5.4", events)
            return None
        pathText, paramText = split
        if paramText and not self.extended:
            self._error(555, b"Parameters need EHLO", b"5.5.4", events)
            return None
        params = parseParams(paramText)
        if params is None:
            self._error(501, b"Bad parameter syntax", b"5.5.4", events)
            return None
        return pathText, params

    def _mail(self, arg: bytes, events: list[ServerEvent]) -> None:
        if self._needGreeting(events):
            return
        if self.state is not S.READY:
            self._error(503, b"Nested MAIL command", b"5.5.1", events)
            return
        if self.requireTLS and not self.secure:
            self._error(530, b"Must issue a STARTTLS command first", b"5.7.0", events)
            return
        if self.requireAuth and self.authenticated is None:
            self._error(530, b"Authentication required", b"5.7.0", events)
            return
        parsed = self._pathAndParams(arg, b"FROM:", b"Syntax: MAIL FROM:<address>", events)
        if parsed is None:
            return
        pathText, params = parsed
        mailParams = self._mailParams(params, events)
        if mailParams is None:
            return
        sender = parsePath(pathText, mailParams.smtputf8, nullAllowed=True)
        if sender is None:
            if not mailParams.smtputf8 and not pathText.isascii():
                self._error(553, b"UTF-8 address needs SMTPUTF8", b"5.6.7", events)
            else:
                self._error(501, b"Bad sender address syntax", b"5.1.7", events)
            return
        self._smtputf8 = mailParams.smtputf8
        self.state = S.MAIL_PENDING
        events.append(MailFrom(sender, mailParams))

    def _mailParams(
        self, params: dict[str, bytes | None], events: list[ServerEvent]
    ) -> MailParams | None:
        size = body = ret = None
        envid = auth = None
        smtputf8 = False
        for key, value in params.items():
            if key == "SIZE":
                if value is None or not value.isdigit() or len(value) > 20:
                    self._error(501, b"Bad SIZE value", b"5.5.4", events)
                    return None
                size = int(value)
                if size > self.limits.maxMessageSize:
                    self._error(552, b"Message size exceeds fixed limit", b"5.3.4", events)
                    return None
            elif key == "BODY":
                upper = (value or b"").upper()
                if upper not in (b"7BIT", b"8BITMIME"):
                    self._error(555, b"Unsupported BODY value", b"5.5.4", events)
                    return None
                body = upper.decode("ascii")
            elif key == "SMTPUTF8" and value is None:
                smtputf8 = True
            elif key == "RET":
                upper = (value or b"").upper()
                if upper not in (b"FULL", b"HDRS"):
                    self._error(501, b"Bad RET value", b"5.5.4", events)
                    return None
                ret = upper.decode("ascii")
            elif key == "ENVID":
                envid = decodeXtext(value or b"")
                # RFC 3461 4.4: printable US-ASCII once decoded (it is copied into DSNs).
                if not envid or len(envid) > 100 or not _printable(envid):
                    self._error(501, b"Bad ENVID value", b"5.5.4", events)
                    return None
            elif key == "AUTH":
                auth = decodeXtext(value or b"")
                if auth is None:
                    self._error(501, b"Bad AUTH value", b"5.5.4", events)
                    return None
            else:
                self._error(555, b"Unsupported parameter", b"5.5.4", events)
                return None
        return MailParams(size, body, smtputf8, ret, envid, auth)

    def _rcpt(self, arg: bytes, events: list[ServerEvent]) -> None:
        if self._needGreeting(events):
            return
        if self.state is not S.MAIL or self._usedBdat:
            self._error(503, b"Need MAIL before RCPT", b"5.5.1", events)
            return
        parsed = self._pathAndParams(arg, b"TO:", b"Syntax: RCPT TO:<address>", events)
        if parsed is None:
            return
        pathText, params = parsed
        notify: frozenset[str] = frozenset()
        orcpt = None
        for key, value in params.items():
            if key == "NOTIFY" and value:
                notify = frozenset(v.decode("ascii", "replace").upper() for v in value.split(b","))
                if not (notify == {"NEVER"} or notify <= _NOTIFY):
                    self._error(501, b"Bad NOTIFY value", b"5.5.4", events)
                    return
            elif key == "ORCPT" and value:
                kind, semi, raw = value.partition(b";")
                decoded = decodeXtext(raw)
                if (
                    not semi
                    or not kind
                    or not kind.isascii()
                    or not decoded
                    or not _printable(kind + decoded, utf8=True)
                ):
                    self._error(501, b"Bad ORCPT value", b"5.5.4", events)
                    return
                orcpt = (kind.decode("ascii").lower(), decoded)
            else:
                self._error(555, b"Unsupported parameter", b"5.5.4", events)
                return
        if self._rcpts >= self.limits.maxRecipients:
            self._reply(452, b"Too many recipients", b"4.5.3")
            return
        recipient = parsePath(pathText, self._smtputf8)
        if recipient is None:
            if not self._smtputf8 and not pathText.isascii():
                self._error(553, b"UTF-8 address needs SMTPUTF8", b"5.6.7", events)
            else:
                self._error(501, b"Bad recipient address syntax", b"5.1.3", events)
            return
        self.state = S.RCPT_PENDING
        events.append(RcptTo(recipient, RcptParams(notify, orcpt)))

    def _data(self, arg: bytes, events: list[ServerEvent]) -> None:
        if self._needGreeting(events):
            return
        if arg:
            self._error(501, b"Syntax: DATA", b"5.5.4", events)
        elif self.state is not S.MAIL or self._usedBdat:
            self._error(503, b"Need MAIL and RCPT before DATA", b"5.5.1", events)
        elif not self._rcpts:
            self._error(554, b"No valid recipients", b"5.5.1", events)
        else:
            self.state = S.DATA
            self._reply(354, b"End data with <CR><LF>.<CR><LF>")
            events.append(DataStarted())

    def _bdat(self, arg: bytes, events: list[ServerEvent]) -> None:
        parts = arg.split(b" ")
        if (
            not self.extended
            or not 1 <= len(parts) <= 2
            or not parts[0].isdigit()
            or len(parts[0]) > 18
            or (len(parts) == 2 and parts[1].upper() != b"LAST")
        ):
            # Without a valid size the chunk cannot be skipped: the stream is lost.
            self._reply(501, b"Syntax: BDAT size [LAST]", b"5.5.4")
            self._fail("bad BDAT command", events)
            return
        self._bdatLeft = int(parts[0])
        self._bdatLast = len(parts) == 2
        self._bdatPrev = self.state
        self._bdatRefused = not (self._rcpts and self.state in (S.MAIL, S.BDAT_WAIT))
        if not self._bdatRefused and not self._usedBdat:
            self._usedBdat = True
            events.append(DataStarted())
        self.state = S.BDAT
        if not self._bdatLeft:
            self._chunkDone(events)

    def _rset(self, arg: bytes, events: list[ServerEvent]) -> None:
        if arg:
            self._error(501, b"Syntax: RSET", b"5.5.4", events)
            return
        self._resetTransaction(events)
        self._reply(250, b"OK", b"2.0.0")

    def _noop(self, arg: bytes, events: list[ServerEvent]) -> None:
        self._reply(250, b"OK", b"2.0.0")

    def _quit(self, arg: bytes, events: list[ServerEvent]) -> None:
        self._reply(221, self.hostname + b" closing connection", b"2.0.0")
        self._resetTransaction(events)
        self.state = S.CLOSED
        events.append(Quit())

    def _vrfy(self, arg: bytes, events: list[ServerEvent]) -> None:
        if not arg:
            self._error(501, b"Syntax: VRFY address", b"5.5.4", events)
        else:
            self._reply(252, b"Cannot VRFY user, but will accept message", b"2.5.0")

    def _expn(self, arg: bytes, events: list[ServerEvent]) -> None:
        self._reply(502, b"EXPN not available", b"5.5.1")

    def _help(self, arg: bytes, events: list[ServerEvent]) -> None:
        self._reply(214, b"See RFC 5321", b"2.0.0")

    def _starttls(self, arg: bytes, events: list[ServerEvent]) -> None:
        if self._needGreeting(events):
            return
        if not self.offersStartTLS:
            self._error(
                502 if not self.secure else 503, b"STARTTLS not available", b"5.5.1", events
            )
        elif arg:
            self._error(501, b"Syntax: STARTTLS", b"5.5.4", events)
        else:
            self._resetTransaction(events)
            self._reply(220, b"Ready to start TLS", b"2.0.0")
            self.state = S.TLS_PENDING
            events.append(StartTLS())

    # -- AUTH -----------------------------------------------------------------------------

    def _auth(self, arg: bytes, events: list[ServerEvent]) -> None:
        if self._needGreeting(events):
            return
        if not self.extended or self.state is not S.READY:
            self._error(503, b"AUTH not allowed now", b"5.5.1", events)
            return
        if self.authenticated is not None:
            self._error(503, b"Already authenticated", b"5.5.1", events)
            return
        if not self.authMechanisms:
            self._error(502, b"AUTH not available", b"5.5.1", events)
            return
        if not self.offersAuth:
            self._error(538, b"Encryption required for AUTH", b"5.7.11", events)
            return
        mech, _, initial = arg.partition(b" ")
        mechanism = mech.upper().decode("ascii", "replace")
        if mechanism not in self.authMechanisms:
            self._error(504, b"Unrecognized authentication type", b"5.5.4", events)
            return
        self._mech = mechanism
        self._saslStep = 0
        self.state = S.AUTH
        if mechanism == "CRAM-MD5":
            if initial:
                self._saslAbort(events, b"No initial response for CRAM-MD5")
                return
            self._challenge = _sasl.cramChallenge(self.hostname)
            self._reply334(_sasl.b64encode(self._challenge))
        elif initial:
            self._saslLine(initial, events)
        elif mechanism == "PLAIN":
            self._reply334(b"")
        else:
            self._reply334(_USERNAME_PROMPT)

    def _reply334(self, text: bytes) -> None:
        self._out.append(b"334 " + text + b"\r\n")

    def _saslAbort(self, events: list[ServerEvent], text: bytes) -> None:
        self.state = S.READY
        self._error(501, text, b"5.5.2", events)

    def _saslLine(self, line: bytes, events: list[ServerEvent]) -> None:
        if line == b"*":
            self._saslAbort(events, b"Authentication cancelled")
            return
        decoded = b"" if line == b"=" else _sasl.b64decode(line)
        if decoded is None:
            self._saslAbort(events, b"Cannot decode response")
            return
        mech = self._mech
        if mech == "PLAIN":
            pair = _sasl.parsePlain(decoded)
            if pair is None:
                self._saslAbort(events, b"Bad PLAIN response")
                return
            self._saslUser = pair[0]
            self.state = S.AUTH_PENDING
            events.append(AuthRequested("PLAIN", pair[0], password=pair[1]))
        elif mech == "LOGIN":
            if self._saslStep == 0:
                self._saslUser = decoded
                self._saslStep = 1
                self._reply334(_PASSWORD_PROMPT)
            else:
                self.state = S.AUTH_PENDING
                events.append(AuthRequested("LOGIN", self._saslUser, password=decoded))
        else:
            user, sp, digest = decoded.rpartition(b" ")
            if not sp or not user or len(digest) != 32:
                self._saslAbort(events, b"Bad CRAM-MD5 response")
                return
            self._saslUser = user
            self.state = S.AUTH_PENDING
            events.append(
                AuthRequested("CRAM-MD5", user, challenge=self._challenge, response=digest)
            )

    # -- message text ---------------------------------------------------------------------

    def _addData(self, size: int) -> bool:
        self._size += size
        if self._size > self.limits.maxMessageSize and self._bad is None:
            self._bad = "size"
        return self._bad is None

    def _readData(self, buf: bytearray, pos: int, events: list[ServerEvent], n: int) -> int:
        """Read DATA text: lines end with CRLF only; a leading dot is removed (RFC 5321
        4.5.2); ``.`` alone ends the message. Bare CR and LF are refused (no SMTP smuggling).

        Works on every complete line of ``buf[pos:n]`` at once (C-level ``find``, ``count``
        and ``replace``), and never looks at a byte twice but for the last few of a partial
        line: what is left after a call is one partial line, starting at a line start.
        """
        maxLine = self.limits.maxDataLine - 2
        if not self._midLine and buf.startswith(b".\r\n", pos):
            self._scan = pos + 3
            self._endOfMessage(events)
            return pos + 3
        scan = max(pos, self._scan)
        terminator = buf.find(b"\r\n.\r\n", scan, n)
        if terminator >= 0:
            regionEnd = terminator + 2
        else:
            last = buf.rfind(b"\r\n", scan, n)
            regionEnd = last + 2 if last >= 0 else pos
        if regionEnd > pos:
            self._dataRegion(bytes(buf[pos:regionEnd]), maxLine, events)
        if terminator >= 0:
            self._scan = terminator + 5
            self._endOfMessage(events)
            return terminator + 5
        pos = regionEnd
        if n - pos > maxLine + 1:
            # An overlong line: drop it as it comes, but keep its last byte, which may be
            # the CR of the CRLF that ends it.
            if self._bad is None:
                self._bad = "line"
            self._midLine = True
            pos = n - 1
        self._scan = max(pos, n - 4)
        return pos

    def _dataRegion(self, region: bytes, maxLine: int, events: list[ServerEvent]) -> None:
        """Check and unstuff complete lines (``region`` ends with CRLF)."""
        midLine, self._midLine = self._midLine, False
        if self._bad is not None or midLine:
            return
        lines = region.count(b"\r\n")
        if region.count(b"\r") != lines or region.count(b"\n") != lines:
            self._bad = "bare"
            return
        # A stuffed line may be one octet longer than the limit: its dot goes.
        if len(region) > maxLine + 3 and max(map(len, region.split(b"\r\n"))) > maxLine + 1:
            self._bad = "line"
            return
        if region[0] == 0x2E:
            region = region[1:]
        data = region.replace(b"\r\n.", b"\r\n")
        if self._addData(len(data)):
            events.append(MessageData(data))

    def _readChunk(self, buf: bytearray, pos: int, events: list[ServerEvent], n: int) -> int:
        take = min(self._bdatLeft, n - pos)
        if take and not self._bdatRefused and self._addData(take):
            events.append(MessageData(bytes(buf[pos : pos + take])))
        self._bdatLeft -= take
        pos += take
        if not self._bdatLeft:
            self._chunkDone(events)
        return pos

    def _chunkDone(self, events: list[ServerEvent]) -> None:
        if self._bdatRefused:
            self.state = self._bdatPrev
            if self.state is S.INITIAL:
                self._error(503, b"Send HELO/EHLO first", b"5.5.1", events)
            elif self.state is S.MAIL and not self._rcpts:
                self._error(554, b"No valid recipients", b"5.5.1", events)
            else:
                self._error(503, b"Need MAIL and RCPT before BDAT", b"5.5.1", events)
            return
        if self._bdatLast:
            self._endOfMessage(events)
        elif self._bad is not None:
            self._abort(events)
        else:
            self.state = S.BDAT_WAIT
            self._reply(250, b"%d octets received" % self._size, b"2.0.0")

    def _endOfMessage(self, events: list[ServerEvent]) -> None:
        if self._bad is not None:
            self._abort(events)
            return
        self.state = S.MESSAGE_PENDING
        events.append(MessageComplete())

    def _abort(self, events: list[ServerEvent]) -> None:
        bad = self._bad
        self._endTransaction()
        if bad == "size":
            self._reply(552, b"Message size exceeds fixed limit", b"5.3.4")
        elif bad == "line":
            self._reply(500, b"Line too long", b"5.5.2")
        else:
            self._reply(554, b"Bare CR or LF in message", b"5.6.0")
        events.append(MessageAborted(bad or ""))


_COMMANDS = {
    b"HELO": ServerConnection._helo,
    b"EHLO": ServerConnection._ehlo,
    b"MAIL": ServerConnection._mail,
    b"RCPT": ServerConnection._rcpt,
    b"DATA": ServerConnection._data,
    b"BDAT": ServerConnection._bdat,
    b"RSET": ServerConnection._rset,
    b"NOOP": ServerConnection._noop,
    b"QUIT": ServerConnection._quit,
    b"VRFY": ServerConnection._vrfy,
    b"EXPN": ServerConnection._expn,
    b"HELP": ServerConnection._help,
    b"STARTTLS": ServerConnection._starttls,
    b"AUTH": ServerConnection._auth,
}

__all__ = ["Mailbox", "ServerConnection"]
