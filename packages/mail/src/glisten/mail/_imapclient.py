"""The IMAP4 client (Twisted's ``imap4.IMAP4Client``): a thin adapter from a transport to
the sans-I/O :class:`glisten.mail._imap._client.ClientConnection`.

Commands are sent one at a time; the untagged data that arrives while a command runs is its
answer, and unsolicited updates (``EXISTS``, ``EXPUNGE``, flag changes) also go to
:meth:`IMAP4Client.newMessages` and :meth:`IMAP4Client.flagsChanged`. Results use ``str``
for names, flags and numbers, and ``bytes`` for message text.

Deliberate differences from Twisted: :meth:`IMAP4Client.login` upgrades with STARTTLS when
offered and verifies the certificate, and refuses to send a password in clear text unless
:attr:`IMAP4Client.allowInsecureLogin` is set; only LOGIN is used (no SASL authenticators).
"""

from __future__ import annotations

import base64
import binascii
import builtins
from collections import deque
from typing import Any

from glisten.internet import defer, error, interfaces
from glisten.internet.protocol import Protocol
from glisten.mail._driver import CodecDriver
from glisten.mail._imap import (
    DEFAULT_LIMITS,
    Atom,
    IMAPParseError,
    Limits,
    MailboxNameError,
    Scanner,
    decodeMailboxName,
    encodeMailboxName,
)
from glisten.mail._imap._client import (
    ClientConnection,
    Continuation,
    Greeting,
    Literal,
    Tagged,
    Untagged,
)
from glisten.mail._imap._parser import formatDateTime
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure


class IMAP4Exception(Exception):
    """Something went wrong in an IMAP4 session."""


class IllegalServerResponse(IMAP4Exception):
    """The server sent something IMAP does not allow."""


class IMAP4ClientError(IMAP4Exception):
    """A command failed (``NO`` or ``BAD``): the server's text is the message."""


class NoSupportedAuthentication(IMAP4Exception):
    """No login method allowed here (no TLS, and ``allowInsecureLogin`` is off)."""


def _mailbox(name: str) -> bytes:
    """A mailbox name as sent: modified UTF-7 (RFC 3501 5.1.3)."""
    return encodeMailboxName(name)


def _fromWire(box: Any) -> str:
    """A mailbox name from a response: modified UTF-7, or the UTF-8 a server that ignores
    RFC 3501 5.1.3 may send."""
    raw = bytes(box)
    try:
        return decodeMailboxName(raw)
    except MailboxNameError:
        return raw.decode("utf-8", "replace")


def _str(value: Any) -> Any:
    if isinstance(value, list):
        return [_str(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _set(messages: Any) -> Atom:
    text = str(messages).encode("ascii")
    if not text or any(c not in b"0123456789:,*" for c in text):
        raise ValueError("not a message set")
    return Atom(text)


class _Command:
    def __init__(self, name: bytes, args: tuple[Any, ...], parse: Any) -> None:
        self.name = name
        self.args = args
        self.parse = parse
        self.untagged: list[Untagged] = []
        self.deferred: defer.Deferred[Any] = defer.Deferred()
        #: Called with each continuation request's text (a SASL exchange).
        self.onContinue: Any = None


class IMAP4Client(CodecDriver, Protocol, TimeoutMixin):
    """An IMAP4rev1 client connection.

    :ivar allowInsecureLogin: Send the password over a connection without TLS.
    :ivar hostname: The name the server's certificate must carry for STARTTLS (default:
        the peer's address).
    :ivar timeout: Seconds to wait for an answer (``0``: forever).
    :ivar maxCommandsPerTurn: Response lines read per turn of the reactor (64); the rest of a
        read waits, reading paused, for the next turn, so a server's flood of untagged
        responses cannot stall the process's other connections.
    """

    allowInsecureLogin = False
    hostname: str | None = None
    timeout: float = 0
    limits: Limits = DEFAULT_LIMITS
    startedTLS = False

    def __init__(self, contextFactory: Any = None) -> None:
        self.context = contextFactory
        self._codec = ClientConnection(self.limits)
        self._queue: deque[_Command] = deque()
        self._current: _Command | None = None
        self._capCache: dict[str, Any] | None = None
        self._dead: Failure | None = None
        #: SASL mechanism name (upper case) -> client authenticator, in registration order.
        self.authenticators: dict[bytes, Any] = {}
        self._idleStarted: defer.Deferred[None] | None = None
        self._idleFinished: defer.Deferred[Any] | None = None

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        if self.timeout:
            self.setTimeout(self.timeout)

    _codecErrors = (IMAPParseError,)

    def _codecFailed(self, error: Exception) -> None:
        self._fail(Failure(IllegalServerResponse(str(error))))
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self._disconnected = True
        self._stopTurns()
        self._fail(reason or Failure(error.ConnectionDone()))

    def timeoutConnection(self) -> None:
        self._fail(Failure(error.TimeoutError("no answer from the IMAP4 server")))
        self.transport.loseConnection()

    def _fail(self, failure: Failure) -> None:
        if self._dead is None:
            self._dead = failure
        pending = ([self._current] if self._current else []) + list(self._queue)
        self._current = None
        self._queue.clear()
        for command in pending:
            command.deferred.errback(failure)

    def _handle(self, event: Any) -> None:
        if isinstance(event, Greeting):
            caps = None
            if event.code is not None and event.code.upper().startswith(b"CAPABILITY "):
                caps = self._parseCaps(event.code.split()[1:])
                self._capCache = caps
            self.serverGreeting(caps)
            self._send()
        elif isinstance(event, Untagged):
            self._untagged(event)
        elif isinstance(event, Tagged):
            command = self._current
            if command is None:
                return
            self._current = None
            if event.status == b"OK":
                try:
                    result = command.parse(command.untagged, event)
                except (ValueError, IndexError, TypeError):
                    command.deferred.errback(Failure(IllegalServerResponse("bad response")))
                else:
                    command.deferred.callback(result)
            else:
                command.deferred.errback(
                    Failure(IMAP4ClientError(event.text.decode("utf-8", "replace")))
                )
            self._send()
        elif isinstance(event, Continuation):
            if self._current is not None and self._current.onContinue is not None:
                self._current.onContinue(event.text)
                self._flush()
                return
            started, self._idleStarted = self._idleStarted, None
            if started is not None and self._current is not None and self._current.name == b"IDLE":
                started.callback(None)

    def _untagged(self, event: Untagged) -> None:
        if self._current is not None:
            self._current.untagged.append(event)
        if event.name == b"EXISTS" and event.number is not None:
            self.newMessages(event.number, None)
        elif event.name == b"RECENT" and event.number is not None:
            self.newMessages(None, event.number)
        elif event.name == b"EXPUNGE" and event.number is not None and self._current is None:
            self.newMessages(None, None)
        elif event.name == b"FETCH" and self._current is None and event.number is not None:
            items = _fetchItems(event.tokens)
            if "FLAGS" in items:
                self.flagsChanged({event.number: items["FLAGS"]})
        elif event.name == b"CAPABILITY":
            self._capCache = self._parseCaps(event.tokens)

    def _command(self, name: bytes, *args: Any, parse: Any = None) -> defer.Deferred[Any]:
        command = _Command(name, args, parse or (lambda untagged, tagged: tagged.text))
        if self._dead is not None:
            return defer.fail(self._dead)
        self._queue.append(command)
        self._send()
        return command.deferred

    def _send(self) -> None:
        if self._current is not None or not self._queue or not self._codec.greeted:
            return
        command = self._queue.popleft()
        self._current = command
        self._codec.sendCommand(command.name, *command.args)
        self._flush()

    # -- hooks ---------------------------------------------------------------------------

    def serverGreeting(self, caps: dict[str, Any] | None) -> None:
        """Called with the capabilities of the greeting (``None`` if it had none)."""

    def newMessages(self, exists: int | None, recent: int | None) -> None:
        """The selected mailbox's message count changed."""

    def flagsChanged(self, newFlags: dict[int, list[str]]) -> None:
        """Flags of messages changed (another session, or implicit ``\\Seen``)."""

    def modeChanged(self, writeable: bool) -> None:
        """The mailbox became read-only or writeable."""

    # -- commands ------------------------------------------------------------------------

    @staticmethod
    def _parseCaps(tokens: list[Any]) -> dict[str, Any]:
        caps: dict[str, Any] = {}
        for token in tokens:
            if isinstance(token, list):
                continue
            name, eq, value = bytes(token).decode("ascii", "replace").upper().partition("=")
            if eq:
                caps[name] = (caps.get(name) or []) + [value]
            else:
                caps.setdefault(name, None)
        return caps

    def getCapabilities(self, useCache: int = 1) -> defer.Deferred[dict[str, Any]]:
        """``CAPABILITY``: fires with ``{name: None or [values]}`` (``AUTH`` -> mechanisms)."""
        if useCache and self._capCache is not None:
            return defer.succeed(self._capCache)

        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[str, Any]:
            for u in untagged:
                if u.name == b"CAPABILITY":
                    self._capCache = self._parseCaps(u.tokens)
            return self._capCache or {}

        return self._command(b"CAPABILITY", parse=parse)

    def noop(self) -> defer.Deferred[Any]:
        return self._command(b"NOOP")

    def logout(self) -> defer.Deferred[Any]:
        return self._command(b"LOGOUT")

    def _secure(self) -> bool:
        return self.startedTLS or bool(interfaces.ISSLTransport.providedBy(self.transport))

    def startTLS(self, contextFactory: Any = None) -> defer.Deferred[Any]:
        """``STARTTLS`` and TLS on the transport, verifying the server by default; fires
        with the capabilities asked again."""
        if contextFactory is None:
            contextFactory = self.context
        if contextFactory is None:
            from glisten.internet.ssl import optionsForClientTLS

            host = self.hostname or getattr(self.transport.getPeer(), "host", None)
            contextFactory = optionsForClientTLS(str(host or "localhost"))

        def started(_: Any) -> Any:
            self.transport.startTLS(contextFactory)
            self.startedTLS = True
            self._capCache = None
            return self.getCapabilities(useCache=0)

        return self._command(b"STARTTLS").addCallback(started)

    def login(self, username: bytes, password: bytes) -> defer.Deferred[Any]:
        """``LOGIN``, after STARTTLS when the server offers it; without TLS only with
        :attr:`allowInsecureLogin`."""

        def chosen(caps: dict[str, Any]) -> Any:
            if (
                not self._secure()
                and "STARTTLS" in caps
                and interfaces.ITLSTransport.providedBy(self.transport)
            ):
                return self.startTLS().addCallback(lambda _: self._login(username, password))
            if self._secure() or self.allowInsecureLogin:
                return self._login(username, password)
            raise NoSupportedAuthentication("no TLS, and allowInsecureLogin is off")

        return self.getCapabilities().addCallback(chosen)

    def registerAuthenticator(self, auth: Any) -> None:
        """Offer a SASL mechanism to :meth:`authenticate` (an object with ``getName()`` and
        ``challengeResponse(secret, challenge)``, as :class:`PLAINAuthenticator`)."""
        self.authenticators[auth.getName().upper()] = auth

    def authenticate(self, secret: bytes) -> defer.Deferred[Any]:
        """``AUTHENTICATE`` with the first registered mechanism the server offers (after
        STARTTLS when offered); PLAIN and LOGIN, which reveal ``secret``, only over TLS or
        with :attr:`allowInsecureLogin`.

        :raise NoSupportedAuthentication: (in the Deferred) when no mechanism fits.
        """

        def chosen(caps: dict[str, Any]) -> Any:
            if (
                not self._secure()
                and "STARTTLS" in caps
                and interfaces.ITLSTransport.providedBy(self.transport)
            ):
                return self.startTLS().addCallback(chosen)
            offered = [m.encode("ascii").upper() for m in caps.get("AUTH") or []]
            for name, auth in self.authenticators.items():
                revealing = name in (b"PLAIN", b"LOGIN")
                if name in offered and (not revealing or self._secure() or self.allowInsecureLogin):
                    return self._authenticate(name, auth, secret)
            raise NoSupportedAuthentication("no registered mechanism the server offers")

        return self.getCapabilities().addCallback(chosen)

    def _authenticate(self, name: bytes, auth: Any, secret: bytes) -> defer.Deferred[Any]:
        self._capCache = None
        command = _Command(b"AUTHENTICATE", (Atom(name),), lambda untagged, tagged: tagged.text)

        def respond(text: bytes) -> None:
            try:
                challenge = base64.b64decode(text.strip(), validate=True)
                answer = base64.b64encode(auth.challengeResponse(secret, challenge))
            except (ValueError, binascii.Error):
                # A challenge that is not base64: cancel the exchange (RFC 3501 6.2.2).
                answer = b"*"
            self._codec.sendLine(answer)

        command.onContinue = respond
        if self._dead is not None:
            return defer.fail(self._dead)
        self._queue.append(command)
        self._send()
        return command.deferred

    def _login(self, username: bytes, password: bytes) -> defer.Deferred[Any]:
        self._capCache = None
        return self._command(b"LOGIN", username, password)

    def _select(self, name: bytes, mailbox: str) -> defer.Deferred[dict[str, Any]]:
        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[str, Any]:
            result: dict[str, Any] = {}
            for u in untagged:
                if u.name in (b"EXISTS", b"RECENT"):
                    result[u.name.decode()] = u.number
                elif u.name == b"FLAGS" and u.tokens:
                    result["FLAGS"] = tuple(_str(u.tokens[0]))
                elif u.code is not None:
                    key, _, value = u.code.partition(b" ")
                    key = key.upper()
                    if key in (b"UIDVALIDITY", b"UIDNEXT", b"UNSEEN"):
                        result[key.decode()] = int(value)
                    elif key == b"PERMANENTFLAGS":
                        result["PERMANENTFLAGS"] = tuple(_str(value.strip(b"()").split()))
            code = (tagged.code or b"").upper()
            result["READ-WRITE"] = code == b"READ-WRITE"
            return result

        return self._command(name, _mailbox(mailbox), parse=parse)

    def select(self, mailbox: str) -> defer.Deferred[dict[str, Any]]:
        """``SELECT``: fires with ``EXISTS``, ``RECENT``, ``FLAGS``, ``UIDVALIDITY``,
        ``UIDNEXT``, ``PERMANENTFLAGS`` and ``READ-WRITE``."""
        return self._select(b"SELECT", mailbox)

    def examine(self, mailbox: str) -> defer.Deferred[dict[str, Any]]:
        return self._select(b"EXAMINE", mailbox)

    def create(self, name: str) -> defer.Deferred[Any]:
        return self._command(b"CREATE", _mailbox(name))

    def delete(self, name: str) -> defer.Deferred[Any]:
        return self._command(b"DELETE", _mailbox(name))

    def rename(self, oldname: str, newname: str) -> defer.Deferred[Any]:
        return self._command(b"RENAME", _mailbox(oldname), _mailbox(newname))

    def subscribe(self, name: str) -> defer.Deferred[Any]:
        return self._command(b"SUBSCRIBE", _mailbox(name))

    def unsubscribe(self, name: str) -> defer.Deferred[Any]:
        return self._command(b"UNSUBSCRIBE", _mailbox(name))

    def _list(self, name: bytes, reference: str, wildcard: str) -> defer.Deferred[Any]:
        def parse(untagged: list[Untagged], tagged: Tagged) -> list[tuple[Any, ...]]:
            out = []
            for u in untagged:
                if u.name == name and len(u.tokens) == 3:
                    flags, delimiter, box = u.tokens
                    out.append((tuple(_str(flags)), _str(delimiter), _fromWire(box)))
            return out

        return self._command(
            name, _mailbox(reference), Atom(encodeMailboxName(wildcard)), parse=parse
        )

    def list(self, reference: str, wildcard: str) -> defer.Deferred[Any]:
        """``LIST``: fires with ``(flags, delimiter, name)`` tuples."""
        return self._list(b"LIST", reference, wildcard)

    def lsub(self, reference: str, wildcard: str) -> defer.Deferred[Any]:
        return self._list(b"LSUB", reference, wildcard)

    def status(self, mailbox: str, *names: str) -> defer.Deferred[dict[str, int]]:
        """``STATUS``: fires with ``{item: value}``."""

        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[str, int]:
            for u in untagged:
                if u.name == b"STATUS" and len(u.tokens) == 2:
                    items = u.tokens[1]
                    return {
                        bytes(items[i]).decode().upper(): int(items[i + 1])
                        for i in range(0, len(items) - 1, 2)
                    }
            return {}

        items = Atom(b"(" + " ".join(names).encode("ascii") + b")")
        return self._command(b"STATUS", _mailbox(mailbox), items, parse=parse)

    def append(
        self, mailbox: str, message: Any, flags: Any = (), date: Any = None
    ) -> defer.Deferred[Any]:
        """``APPEND`` a message (a binary file or bytes)."""
        data = message if isinstance(message, bytes) else message.read()
        args: list[Any] = [_mailbox(mailbox)]
        args.append(Atom(b"(" + b" ".join(_flag(f) for f in flags) + b")"))
        if date is not None:
            args.append(
                formatDateTime(date) if not isinstance(date, (bytes, str)) else _bytes(date)
            )
        args.append(Literal(data))
        return self._command(b"APPEND", *args)

    def check(self) -> defer.Deferred[Any]:
        return self._command(b"CHECK")

    def close(self) -> defer.Deferred[Any]:
        return self._command(b"CLOSE")

    def expunge(self) -> defer.Deferred[builtins.list[int]]:
        """``EXPUNGE``: fires with the message numbers the server reported removed."""

        def parse(untagged: list[Untagged], tagged: Tagged) -> list[int]:
            return [u.number for u in untagged if u.name == b"EXPUNGE" and u.number is not None]

        return self._command(b"EXPUNGE", parse=parse)

    def search(self, *queries: str, uid: int = 0) -> defer.Deferred[builtins.list[int]]:
        """``SEARCH`` with query text (as Twisted's ``Query`` makes): fires with numbers."""
        text = " ".join(queries).encode("utf-8")
        if b"\r" in text or b"\n" in text:
            raise ValueError("bad query")

        def parse(untagged: list[Untagged], tagged: Tagged) -> list[int]:
            out: list[int] = []
            for u in untagged:
                if u.name == b"SEARCH":
                    out.extend(int(bytes(t)) for t in u.tokens if not isinstance(t, builtins.list))
            return out

        return self._command(*_uid(b"SEARCH", uid), Atom(text), parse=parse)

    def _fetch(self, messages: Any, uid: Any, items: bytes) -> defer.Deferred[dict[int, Any]]:
        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[int, Any]:
            out: dict[int, Any] = {}
            for u in untagged:
                if u.name == b"FETCH" and u.number is not None and u.tokens:
                    out.setdefault(u.number, {}).update(_fetchItems(u.tokens))
            return out

        return self._command(*_uid(b"FETCH", uid), _set(messages), Atom(items), parse=parse)

    def fetchUID(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(UID)")

    def fetchFlags(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(FLAGS)")

    def fetchInternalDate(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(INTERNALDATE)")

    def fetchEnvelope(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(ENVELOPE)")

    def fetchBodyStructure(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(BODYSTRUCTURE)")

    def fetchSize(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(RFC822.SIZE)")

    def fetchMessage(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(RFC822)")

    def fetchHeaders(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(RFC822.HEADER)")

    def fetchBody(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"(RFC822.TEXT)")

    def fetchAll(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"ALL")

    def fetchFast(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"FAST")

    def fetchFull(self, messages: Any, uid: int = 0) -> defer.Deferred[dict[int, Any]]:
        return self._fetch(messages, uid, b"FULL")

    def fetchSpecific(
        self,
        messages: Any,
        uid: int = 0,
        headerType: str | None = None,
        headerNumber: Any = None,
        headerArgs: Any = None,
        peek: Any = None,
        offset: int | None = None,
        length: int | None = None,
    ) -> defer.Deferred[dict[int, Any]]:
        """``BODY[section]<offset.length>``: fires, as Twisted's does, with ``{number:
        [[item, value, ...]]}`` where a section reads ``"BODY", ["HEADER.FIELDS",
        ["SUBJECT"]], ["<0>",] text`` and all text is ``str`` (octets decoded as
        Latin-1, so none are lost)."""
        section = ""
        if headerNumber is not None:
            numbers = headerNumber if isinstance(headerNumber, (list, tuple)) else [headerNumber]
            section = ".".join(str(n) for n in numbers)
        if headerType:
            section += ("." if section else "") + headerType.upper()
        if headerArgs:
            section += " (" + " ".join(headerArgs) + ")"
        item = ("BODY.PEEK[" if peek else "BODY[") + section + "]"
        if offset is not None:
            item += "<%d.%d>" % (offset, length if length is not None else 2**31 - 1)

        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[int, Any]:
            out: dict[int, Any] = {}
            for u in untagged:
                if u.name == b"FETCH" and u.number is not None and u.tokens:
                    flat = out.setdefault(u.number, [[]])[0]
                    flat.extend(_unstructured(u.tokens[0]))
            return out

        return self._command(
            *_uid(b"FETCH", uid), _set(messages), Atom(item.encode("ascii")), parse=parse
        )

    def _store(self, messages: Any, item: bytes, flags: Any, silent: Any, uid: Any) -> Any:
        if silent:
            item += b".SILENT"

        def parse(untagged: list[Untagged], tagged: Tagged) -> dict[int, Any]:
            out: dict[int, Any] = {}
            for u in untagged:
                if u.name == b"FETCH" and u.number is not None:
                    out.setdefault(u.number, {}).update(_fetchItems(u.tokens))
            return out

        flagList = Atom(b"(" + b" ".join(_flag(f) for f in flags) + b")")
        return self._command(
            *_uid(b"STORE", uid), _set(messages), Atom(item), flagList, parse=parse
        )

    def setFlags(self, messages: Any, flags: Any, silent: int = 1, uid: int = 0) -> Any:
        return self._store(messages, b"FLAGS", flags, silent, uid)

    def addFlags(self, messages: Any, flags: Any, silent: int = 1, uid: int = 0) -> Any:
        return self._store(messages, b"+FLAGS", flags, silent, uid)

    def removeFlags(self, messages: Any, flags: Any, silent: int = 1, uid: int = 0) -> Any:
        return self._store(messages, b"-FLAGS", flags, silent, uid)

    def copy(self, messages: Any, mailbox: str, uid: int = 0) -> defer.Deferred[Any]:
        return self._command(*_uid(b"COPY", uid), _set(messages), _mailbox(mailbox))

    def idle(self) -> defer.Deferred[None]:
        """``IDLE`` (RFC 2177): fires once the server accepted it; updates then arrive
        through :meth:`newMessages` and :meth:`flagsChanged` until :meth:`idleDone`."""
        started: defer.Deferred[None] = defer.Deferred()
        self._idleStarted = started
        finished = self._command(b"IDLE")
        self._idleFinished = finished

        def refused(failure: Failure) -> Failure:
            if not started.called:
                started.errback(failure)
                return None  # type: ignore[return-value]
            return failure

        finished.addErrback(refused)
        return started

    def idleDone(self) -> defer.Deferred[Any]:
        """End ``IDLE``; fires with the server's completion."""
        finished = self._idleFinished
        if finished is None:
            return defer.fail(IMAP4Exception("not idling"))
        self._idleFinished = None
        self._codec.sendLine(b"DONE")
        self._flush()
        return finished


def _uid(name: bytes, uid: Any) -> tuple[bytes, ...]:
    return (b"UID", Atom(name)) if uid else (name,)


def _flag(flag: Any) -> bytes:
    value = _bytes(flag)
    if not value or any(c in b' ()\r\n"{' for c in value):
        raise ValueError("bad flag")
    return value


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _native(value: Any) -> Any:
    if isinstance(value, list):
        return [_native(v) for v in value]
    return None if value is None else bytes(value).decode("latin-1")


def _unstructured(items: Any) -> list[Any]:
    """FETCH data the way Twisted's unstructured results have it: ``BODY[section]<n>``
    becomes ``"BODY", [section tokens], "<n>"``."""
    if not isinstance(items, list):
        raise ValueError("FETCH data is a list")
    out: list[Any] = []
    for i in range(0, len(items) - 1, 2):
        name, value = bytes(items[i]), items[i + 1]
        head, bracket, rest = name.partition(b"[")
        if bracket and b"]" in rest:
            section, _, origin = rest.rpartition(b"]")
            scanner = Scanner(b"(" + section + b")\r\n")
            out += [head.decode("latin-1"), _native(scanner.token())]
            if origin:
                out.append(origin.decode("latin-1"))
        else:
            out.append(name.decode("latin-1"))
        out.append(_native(value))
    return out


def _fetchItems(tokens: list[Any]) -> dict[str, Any]:
    items = tokens[0] if tokens and isinstance(tokens[0], list) else []
    out: dict[str, Any] = {}
    for i in range(0, len(items) - 1, 2):
        name = bytes(items[i]).decode("ascii", "replace").upper()
        value = items[i + 1]
        if name == "FLAGS":
            out[name] = _str(value)
        elif name in ("UID", "RFC822.SIZE", "INTERNALDATE"):
            out[name] = _str(value)
        else:
            out[name] = value
    return out
