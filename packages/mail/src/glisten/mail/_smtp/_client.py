"""The client side of an SMTP session, sans I/O.

:class:`ClientConnection` drives the session from the greeting on: ``EHLO`` (``HELO`` for old
servers), ``STARTTLS`` when offered and possible, ``AUTH`` when credentials were given, then
one transaction per :meth:`ClientConnection.sendMessage`, pipelined when the server allows it
(RFC 2920). Replies come in through :meth:`ClientConnection.receiveData` and turn into events;
commands go out through :meth:`ClientConnection.dataToSend`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from glisten.mail._smtp import _sasl
from glisten.mail._smtp._address import encodeXtext
from glisten.mail._smtp._data import DotStuffer
from glisten.mail._smtp._errors import LocalProtocolError, SMTPProtocolError
from glisten.mail._smtp._events import (
    ClientEvent,
    Closed,
    MessageSent,
    Ready,
    RecipientResult,
    Reply,
    SendData,
    SessionFailed,
    TLSRequested,
    TransactionFailed,
)
from glisten.mail._smtp._limits import DEFAULT_LIMITS, Limits
from glisten.mail._smtp._reply import ReplyReader
from glisten.mail._smtp._state import ClientState

C = ClientState
#: States in which replies wait: the application must act first.
_WAITING = frozenset({C.IDLE, C.TLS_PENDING, C.SEND_DATA, C.CLOSED})


def _line(*parts: bytes) -> bytes:
    line = b" ".join(p for p in parts if p)
    if b"\r" in line or b"\n" in line:
        raise LocalProtocolError("line breaks are not allowed in an SMTP command")
    return line + b"\r\n"


class ClientConnection:
    """One SMTP session, client side.

    :param identity: The name to give in ``EHLO``/``HELO``.
    :param esmtp: Start with ``EHLO`` (falling back to ``HELO`` if refused).
    :param tlsAvailable: The adapter can switch to TLS: use ``STARTTLS`` when offered.
    :param requireTLS: Fail the session rather than continue without TLS.
    :param secure: The session already runs over TLS.
    :param username: Authenticate as this user (with ``password``) when ``AUTH`` is offered.
    :param requireAuth: Fail the session rather than send without authenticating.
    :param authWithoutTLS: Allow PLAIN and LOGIN (which show the password) without TLS.
    :ivar extensions: The server's ``EHLO`` keywords and their parameters.
    :ivar budget: Replies :meth:`receiveData` may still act on before it stops and keeps the
        rest for a later call (``None``: no bound); the adapter sets it for each turn of
        the reactor, so a server's flood of replies is worked through a bounded part at a time.
    """

    budget: int | None = None

    def __init__(
        self,
        identity: bytes,
        limits: Limits = DEFAULT_LIMITS,
        *,
        esmtp: bool = True,
        tlsAvailable: bool = False,
        requireTLS: bool = False,
        secure: bool = False,
        username: bytes | None = None,
        password: bytes | None = None,
        requireAuth: bool = False,
        authWithoutTLS: bool = False,
    ) -> None:
        self.identity = identity
        self.limits = limits
        self.esmtp = esmtp
        self.tlsAvailable = tlsAvailable
        self.requireTLS = requireTLS
        self.secure = secure
        self.username = username
        self.password = password
        self.requireAuth = requireAuth
        self.authWithoutTLS = authWithoutTLS
        self.state = C.GREETING
        self.extensions: dict[str, bytes] = {}
        self.authenticated = False
        self._reader = ReplyReader(limits)
        #: Replies not handled yet: the session waits for the application (for a message,
        #: the TLS switch, or the message text) before it looks at the next one.
        self._replies: deque[Reply] = deque()
        self._out: list[bytes] = []
        self._mech = ""
        self._authStep = 0
        # transaction
        self._expect: deque[tuple[str, bytes]] = deque()
        self._unsent: deque[tuple[str, bytes, bytes]] = deque()
        self._mailReply: Reply | None = None
        self._accepted: list[bytes] = []
        self._rejected: list[tuple[bytes, Reply]] = []
        self._stuffer = DotStuffer()

    def dataToSend(self) -> bytes:
        """:return: the commands and data owed so far, in order (then forgets them)."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    @property
    def pipelining(self) -> bool:
        return "PIPELINING" in self.extensions

    # -- the application's calls ----------------------------------------------------------

    def tlsStarted(self) -> None:
        """The transport now speaks TLS: say ``EHLO`` again (RFC 3207 4.2).

        Replies the server sent in clear text after its ``220`` are dropped: a man in the
        middle could have put them there to pose as the answer to the new ``EHLO`` (the
        client side of CVE-2011-0411)."""
        if self.state is not C.TLS_PENDING:
            raise LocalProtocolError("no STARTTLS is pending")
        self._replies.clear()
        self._reader = ReplyReader(self.limits)
        self.secure = True
        self.extensions = {}
        self.state = C.EHLO
        self._out.append(_line(b"EHLO", self.identity))

    def sendMessage(
        self,
        sender: bytes,
        recipients: Sequence[bytes],
        *,
        size: int | None = None,
        eightBit: bool = False,
        ret: str | None = None,
        envid: bytes | None = None,
        notify: Sequence[str] = (),
    ) -> list[ClientEvent]:
        """Start a transaction (the session must be ``IDLE``).

        :param sender: The reverse path without brackets (``b""`` for the null sender).
        :param recipients: The forward paths without brackets.
        :param size: The message size, sent as ``SIZE=`` when the server knows SIZE.
        :param eightBit: The message has 8-bit octets: ``BODY=8BITMIME``.
        :param ret: DSN ``RET`` (``"FULL"``/``"HDRS"``), sent when the server knows DSN.
        :param envid: DSN ``ENVID``.
        :param notify: DSN ``NOTIFY`` conditions for every recipient.
        :return: events decided without asking the server (a transaction the server cannot
            take, such as a UTF-8 address to a server without SMTPUTF8).
        """
        if self.state is not C.IDLE:
            raise LocalProtocolError("the session is not ready for a transaction")
        if not recipients:
            raise LocalProtocolError("a transaction needs at least one recipient")
        ext = self.extensions
        params: list[bytes] = []
        utf8 = not sender.isascii() or not all(r.isascii() for r in recipients)
        if utf8:
            if "SMTPUTF8" not in ext:
                reply = Reply(553, (b"5.6.7 server does not support SMTPUTF8",))
                self.state = C.IDLE
                return [TransactionFailed("mail", reply), Ready(self.extensions)]
            params.append(b"SMTPUTF8")
        if eightBit and "8BITMIME" in ext:
            params.append(b"BODY=8BITMIME")
        if size is not None and "SIZE" in ext:
            limit = ext["SIZE"]
            if limit.isdigit() and int(limit) and size > int(limit):
                reply = Reply(552, (b"5.3.4 message larger than the server's SIZE",))
                return [TransactionFailed("mail", reply), Ready(self.extensions)]
            params.append(b"SIZE=%d" % size)
        dsn = "DSN" in ext
        if dsn and ret:
            params.append(b"RET=" + ret.encode("ascii"))
        if dsn and envid:
            params.append(b"ENVID=" + encodeXtext(envid))
        rcptParams = b"NOTIFY=" + ",".join(notify).encode("ascii") if dsn and notify else b""
        self._mailReply = None
        self._accepted = []
        self._rejected = []
        self._stuffer = DotStuffer()
        commands: list[tuple[str, bytes, bytes]] = [
            ("MAIL", b"", _line(b"MAIL FROM:<" + sender + b">", *params))
        ]
        for r in recipients:
            commands.append(("RCPT", r, _line(b"RCPT TO:<" + r + b">", rcptParams)))
        commands.append(("DATA", b"", b"DATA\r\n"))
        self.state = C.ENVELOPE
        self._unsent = deque(commands)
        self._sendNext(all=self.pipelining)
        return []

    def _sendNext(self, all: bool = False) -> None:
        while self._unsent:
            kind, arg, line = self._unsent.popleft()
            self._out.append(line)
            self._expect.append((kind, arg))
            if not all:
                break

    def sendData(self, data: bytes) -> bytes:
        """:return: a piece of the message, stuffed; call after :class:`SendData`."""
        if self.state is not C.SEND_DATA:
            raise LocalProtocolError("the server did not ask for the message")
        return self._stuffer.feed(data)

    def endData(self) -> bytes:
        """:return: the end of the message; the server's answer comes as an event."""
        if self.state is not C.SEND_DATA:
            raise LocalProtocolError("the server did not ask for the message")
        self.state = C.DATA_SENT
        return self._stuffer.end()

    def quit(self) -> bytes:
        """:return: ``QUIT``; :class:`Closed` follows when the server answers."""
        if self.state in (C.QUIT, C.CLOSED):
            return b""
        self.state = C.QUIT
        return b"QUIT\r\n"

    # -- replies --------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[ClientEvent]:
        """Add the server's bytes; return the events its complete replies cause.

        Handling stops at an event the application must act on (:class:`Ready`,
        :class:`TLSRequested`, :class:`SendData`) or when :attr:`budget` is spent; call again
        with ``b""`` after acting (or with a new budget).
        """
        events: list[ClientEvent] = []
        if self.state is C.CLOSED:
            return events
        if data:
            try:
                self._replies.extend(self._reader.feed(data))
            except SMTPProtocolError as e:
                self._failSession("protocol", e.message, None, events)
                return events
        replies = self._replies
        while replies and self.state not in _WAITING and self.budget != 0:
            if self.budget is not None:
                self.budget -= 1
            self._handle(replies.popleft(), events)
        return events

    def _failSession(
        self, stage: str, reason: str, reply: Reply | None, events: list[ClientEvent]
    ) -> None:
        if self.state not in (C.CLOSED, C.QUIT, C.GREETING) and not (
            reply is not None and reply.code == 421
        ):
            self._out.append(b"QUIT\r\n")
        self.state = C.CLOSED
        events.append(SessionFailed(stage, reason, reply))

    def _handle(self, reply: Reply, events: list[ClientEvent]) -> None:
        state = self.state
        if reply.code == 421 and state is not C.QUIT:
            self._failSession("protocol", "server is closing the connection", reply, events)
            return
        if state is C.GREETING:
            if reply.code != 220:
                self._failSession("greeting", "server refused the session", reply, events)
                return
            self.state = C.EHLO if self.esmtp else C.HELO
            verb = b"EHLO" if self.esmtp else b"HELO"
            self._out.append(_line(verb, self.identity))
        elif state is C.EHLO:
            if reply.code == 250:
                self._parseExtensions(reply)
                self._afterHello(events)
            elif reply.code >= 500 and not self.secure:
                self.state = C.HELO
                self._out.append(_line(b"HELO", self.identity))
            else:
                self._failSession("helo", "server refused EHLO", reply, events)
        elif state is C.HELO:
            if reply.code == 250:
                self.extensions = {}
                self._afterHello(events)
            else:
                self._failSession("helo", "server refused HELO", reply, events)
        elif state is C.STARTTLS:
            if reply.code == 220:
                self.state = C.TLS_PENDING
                events.append(TLSRequested())
            elif self.requireTLS:
                self._failSession("tls", "server refused STARTTLS", reply, events)
            else:
                self.tlsAvailable = False
                self._afterHello(events)
        elif state is C.AUTH:
            self._authReply(reply, events)
        elif state is C.ENVELOPE:
            self._envelopeReply(reply, events)
        elif state is C.DATA_SENT:
            self._expect.clear()
            self.state = C.IDLE
            if self._mailReply is not None:
                events.append(TransactionFailed("mail", self._mailReply))
            elif not self._accepted:
                events.append(TransactionFailed("rcpt", reply, tuple(self._rejected)))
            elif reply.code == 250:
                events.append(MessageSent(reply, tuple(self._accepted), tuple(self._rejected)))
            else:
                events.append(TransactionFailed("message", reply, tuple(self._rejected)))
            events.append(Ready(self.extensions))
        elif state is C.RSET:
            self.state = C.IDLE
            events.append(Ready(self.extensions))
        elif state is C.QUIT:
            self.state = C.CLOSED
            events.append(Closed(reply))
        else:
            self._failSession("protocol", "unexpected reply", reply, events)

    def _parseExtensions(self, reply: Reply) -> None:
        ext: dict[str, bytes] = {}
        for line in reply.lines[1:]:
            key, _, value = line.strip().partition(b" ")
            if key and key.isascii():
                ext[key.decode("ascii").upper()] = value
        self.extensions = ext

    def _afterHello(self, events: list[ClientEvent]) -> None:
        ext = self.extensions
        if not self.secure and self.tlsAvailable and "STARTTLS" in ext:
            self.state = C.STARTTLS
            self._out.append(b"STARTTLS\r\n")
            return
        if self.requireTLS and not self.secure:
            self._failSession("tls", "server does not offer STARTTLS", None, events)
            return
        if self.username is not None and not self.authenticated:
            offered = set(ext.get("AUTH", b"").upper().decode("ascii", "replace").split())
            for mech in _sasl.CLIENT_PREFERENCE:
                if mech not in offered:
                    continue
                if mech != "CRAM-MD5" and not (self.secure or self.authWithoutTLS):
                    continue
                self._startAuth(mech)
                return
            if self.requireAuth:
                self._failSession("auth", "no usable AUTH mechanism offered", None, events)
                return
        elif self.requireAuth and not self.authenticated:
            self._failSession("auth", "authentication required but no credentials", None, events)
            return
        self.state = C.IDLE
        events.append(Ready(self.extensions))

    def _startAuth(self, mech: str) -> None:
        self.state = C.AUTH
        self._mech = mech
        self._authStep = 0
        user = self.username or b""
        password = self.password or b""
        if mech == "PLAIN":
            self._out.append(
                b"AUTH PLAIN " + _sasl.b64encode(b"\x00" + user + b"\x00" + password) + b"\r\n"
            )
        else:
            self._out.append(b"AUTH " + mech.encode("ascii") + b"\r\n")

    def _authReply(self, reply: Reply, events: list[ClientEvent]) -> None:
        if reply.code == 235:
            self.authenticated = True
            self.state = C.IDLE
            events.append(Ready(self.extensions))
            return
        if reply.code != 334 or self._mech == "PLAIN":
            self._failSession("auth", "authentication failed", reply, events)
            return
        user = self.username or b""
        password = self.password or b""
        if self._mech == "LOGIN":
            answer = user if self._authStep == 0 else password
            self._authStep += 1
            if self._authStep > 2:
                self._failSession("auth", "unexpected AUTH LOGIN challenge", reply, events)
                return
        else:
            challenge = _sasl.b64decode(reply.lines[0].strip())
            if challenge is None or self._authStep:
                self._out.append(b"*\r\n")
                self._authStep = 9
                return
            self._authStep = 1
            answer = _sasl.cramResponse(user, password, challenge)
        self._out.append(_sasl.b64encode(answer) + b"\r\n")

    def _envelopeReply(self, reply: Reply, events: list[ClientEvent]) -> None:
        if not self._expect:
            self._failSession("protocol", "unexpected reply", reply, events)
            return
        kind, arg = self._expect.popleft()
        if kind == "MAIL":
            if reply.code != 250:
                self._mailReply = reply
                if not self.pipelining:
                    self._unsent.clear()
                    self._abandon(TransactionFailed("mail", reply), events)
                    return
        elif kind == "RCPT":
            if reply.code in (250, 251):
                self._accepted.append(arg)
            else:
                self._rejected.append((arg, reply))
            events.append(RecipientResult(arg, reply))
            if not self.pipelining and not self._accepted and len(self._unsent) == 1:
                # Every recipient refused: no DATA.
                self._unsent.clear()
                self._abandon(TransactionFailed("rcpt", reply, tuple(self._rejected)), events)
                return
        else:
            if reply.code == 354:
                if self._mailReply is not None or not self._accepted:
                    # A server that takes DATA without a transaction: send nothing.
                    self.state = C.DATA_SENT
                    self._out.append(b".\r\n")
                    return
                self.state = C.SEND_DATA
                events.append(SendData())
                return
            if self._mailReply is not None:
                failure = TransactionFailed("mail", self._mailReply)
            elif not self._accepted:
                last = self._rejected[-1][1] if self._rejected else reply
                failure = TransactionFailed("rcpt", last, tuple(self._rejected))
            else:
                failure = TransactionFailed("data", reply, tuple(self._rejected))
            self._abandon(failure, events)
            return
        self._sendNext()

    def _abandon(self, failure: TransactionFailed, events: list[ClientEvent]) -> None:
        """End a failed transaction with ``RSET`` once every pipelined reply is in."""
        events.append(failure)
        self._expect.clear()
        self.state = C.RSET
        self._out.append(b"RSET\r\n")
