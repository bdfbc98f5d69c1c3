"""IMAP4rev1 servers (Twisted's ``twisted.mail.imap4``): :class:`IMAP4Server`, a thin
adapter from a transport to the sans-I/O :class:`glisten.mail._imap.ServerConnection`, and
the account, mailbox and message interfaces it serves.

Beyond Twisted: IDLE (RFC 2177), LITERAL+ (RFC 7888), UIDPLUS (RFC 4315), MOVE (RFC 6851),
UNSELECT, ID, ENABLE, MULTIAPPEND (RFC 3502), AUTHENTICATE PLAIN and CRAM-MD5. Deliberate differences: ``LOGIN`` and ``AUTHENTICATE PLAIN`` are
refused before TLS unless :attr:`IMAP4Server.authOverPlaintext` is set (RFC 3501
``LOGINDISABLED``), a failed login is answered after a delay, and LIST patterns are matched
in polynomial time (Twisted's wildcard regex was a ReDoS, GHSA-8pqf-f4m5-798g).
"""

from __future__ import annotations

import codecs
import io
from typing import Any

from zope.interface import implementer

from glisten.cred import credentials
from glisten.cred import error as cred_error
from glisten.internet import defer, interfaces
from glisten.internet.protocol import Protocol
from glisten.logger import Logger
from glisten.mail import _imapmodel
from glisten.mail._driver import CodecDriver
from glisten.mail._imap import (
    DEFAULT_LIMITS,
    Append,
    ConnectionClosing,
    Copy,
    CramLogin,
    Expunge,
    Fetch,
    FetchAttribute,
    Idle,
    IdleDone,
    Limits,
    ListMailboxes,
    Login,
    MailboxCommand,
    MailboxNameError,
    Rename,
    Search,
    Select,
    ServerConnection,
    Simple,
    StartTLS,
    Status,
    Store,
    _message,
    astring,
    decodeMailboxName,
    encodeMailboxName,
    formatDateTime,
    literal,
    nstring,
    parenthesised,
)
from glisten.mail._imapclient import (
    IllegalServerResponse,
    IMAP4Client,
    IMAP4ClientError,
    IMAP4Exception,
    NoSupportedAuthentication,
)
from glisten.mail._imapmodel import (
    IAccount,
    IllegalMailboxEncoding,
    IMailbox,
    IMailboxInfo,
    IMailboxListener,
    IMessage,
    IMessagePart,
    IRawMessage,
    MailboxCollision,
    MailboxException,
    MemoryAccount,
    MemoryMailbox,
    MessageSet,
    NoSuchMailbox,
    ReadOnlyMailbox,
    rawMessage,
    wildcardMatch,
)
from glisten.mail._smtpclient import (
    CramMD5ClientAuthenticator,
    LOGINAuthenticator,
    PLAINAuthenticator,
)

# Twisted's SMTP examples import the server-side SASL credentials from imap4.
from glisten.mail._smtpserver import LOGINCredentials, PLAINCredentials
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure

_log = Logger(namespace="glisten.mail.imap4")
_SEEN = b"\\Seen"


def _name(mailbox: bytes, utf8: bool = False) -> str:
    """A mailbox name from the wire: 7-bit modified UTF-7 (RFC 3501 5.1.3), or UTF-8 once
    the client enabled UTF8=ACCEPT (RFC 6855)."""
    try:
        name = mailbox.decode("utf-8") if utf8 else decodeMailboxName(mailbox)
    except (UnicodeDecodeError, MailboxNameError):
        raise IllegalMailboxEncoding(
            "mailbox names are modified UTF-7 (or UTF-8 with UTF8=ACCEPT)"
        ) from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise IllegalMailboxEncoding("control characters in a mailbox name")
    return "INBOX" if name.upper() == "INBOX" else name


def _wireName(name: str, utf8: bool = False) -> bytes:
    """A mailbox name for a response: modified UTF-7, or UTF-8 after UTF8=ACCEPT."""
    return astring(name.encode("utf-8") if utf8 else encodeMailboxName(name), utf8)


def encoder(s: str, errors: str | None = None) -> tuple[bytes, int]:
    """Twisted's ``imap4-utf-7`` encoder: :return: ``s`` in modified UTF-7 and the number
    of characters consumed."""
    try:
        return encodeMailboxName(s), len(s)
    except MailboxNameError as e:
        raise UnicodeEncodeError("imap4-utf-7", s, 0, len(s), str(e)) from None


def decoder(s: Any, errors: str | None = None) -> tuple[str, int]:
    """Twisted's ``imap4-utf-7`` decoder: :return: the name modified UTF-7 ``s`` spells and
    the number of octets consumed."""
    data = bytes(s)
    try:
        return decodeMailboxName(data), len(data)
    except MailboxNameError as e:
        raise UnicodeDecodeError("imap4-utf-7", data, 0, len(data), str(e)) from None


def imap4_utf_7(name: str) -> codecs.CodecInfo | None:
    """The codec search function registered for ``imap4-utf-7``."""
    if name.replace("-", "_") != "imap4_utf_7":
        return None
    return codecs.CodecInfo(encoder, decoder, name="imap4-utf-7")


codecs.register(imap4_utf_7)


@implementer(IMailboxListener)
class IMAP4Server(CodecDriver, Protocol, TimeoutMixin):
    """An IMAP4rev1 server connection.

    :ivar portal: A :class:`glisten.cred.portal.Portal` whose avatars are
        :class:`IAccount`.
    :ivar ctx: TLS server options; with them ``STARTTLS`` is offered.
    :ivar authOverPlaintext: Accept passwords before TLS.
    :ivar failedLoginDelay: Seconds before a failed login is answered.
    :ivar idlePollInterval: While idling, how often a mailbox that can ``refresh()``
        (maildir) is looked at for messages delivered by others.
    :ivar timeOut: Idle seconds before the connection is closed (RFC 3501: at least 30
        minutes).
    :ivar account: The logged-in user's :class:`IAccount`.
    :ivar mbox: The selected :class:`IMailbox`.
    :ivar maxCommandsPerTurn: Pipelined commands answered per turn of the reactor (64); the
        rest of a read wait, reading paused, so one client cannot stall the others.
    """

    timeOut: float | None = 30 * 60
    portal: Any = None
    ctx: Any = None
    authOverPlaintext = False
    failedLoginDelay = 1.0
    idlePollInterval = 0.5
    limits: Limits = DEFAULT_LIMITS

    def __init__(self, chal: Any = None, contextFactory: Any = None, scheduler: Any = None) -> None:
        if contextFactory is not None:
            self.ctx = contextFactory
        self.account: Any = None
        self.mbox: Any = None
        self._logout: Any = None
        self._codec: ServerConnection | None = None
        self._busy = False
        self._again = False
        self._disconnected = False
        self._idleCall: Any = None
        self._exists = 0

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        self._codec = ServerConnection(
            self.limits,
            tlsAvailable=self.ctx is not None,
            secure=bool(interfaces.ISSLTransport.providedBy(self.transport)),
            plaintextLogin=self.authOverPlaintext,
            cramMD5=self.offersCramMD5(),
        )
        self.transport.write(self._codec.greeting())
        self.setTimeout(self.timeOut)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._disconnected = True
        self._stopTurns()
        self.setTimeout(None)
        self._stopIdle()
        self._unselect()
        logout, self._logout = self._logout, None
        if logout is not None:
            try:
                logout()
            except Exception:
                _log.failure("IMAP4 logout failed")

    def timeoutConnection(self) -> None:
        self.transport.write(b"* BYE Autologout; idle for too long\r\n")
        self.transport.loseConnection()

    def _resume(self, _: Any = None) -> None:
        if not self._disconnected:
            self._process(b"")

    def _handle(self, event: Any) -> None:
        codec = self._codec
        assert codec is not None
        if isinstance(event, ConnectionClosing):
            self._flush()
            self.transport.loseConnection()
            return
        if isinstance(event, StartTLS):
            self._flush()
            self.transport.startTLS(self.ctx)
            codec.tlsStarted()
            return
        if isinstance(event, (Login, CramLogin)):
            self._login(event)
            return
        if isinstance(event, IdleDone):
            self._stopIdle()
            codec.complete(event.tag, b"OK", b"IDLE terminated")
            return
        if isinstance(event, Idle):
            self._startIdle()
            return
        d = defer.maybeDeferred(self._command, event)
        d.addErrback(self._failed, event)
        d.addCallback(self._resume)

    def _failed(self, failure: Failure, event: Any) -> None:
        codec = self._codec
        assert codec is not None
        if failure.check(MailboxException):
            text = str(failure.value).encode("utf-8", "replace")[:200] or b"failed"
            if isinstance(event, Select):
                codec.selectFailed(event.tag, text)
                self._unselect()
            else:
                code = (
                    b"TRYCREATE"
                    if failure.check(NoSuchMailbox) and isinstance(event, (Append, Copy))
                    else None
                )
                codec.complete(event.tag, b"NO", text, code)
            return
        _log.failure("IMAP4 command failed", failure)
        if isinstance(event, Select):
            codec.selectFailed(event.tag, b"Server error")
            self._unselect()
        else:
            codec.complete(event.tag, b"NO", b"Server error", b"SERVERBUG")

    # -- login ---------------------------------------------------------------------------

    def authenticateLogin(self, user: bytes, password: bytes) -> defer.Deferred[Any]:
        """:return: a Deferred firing with ``(IAccount, account, logout)``."""
        if self.portal is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        creds = credentials.UsernamePassword(user, password)
        return defer.maybeDeferred(self.portal.login, creds, None, IAccount)

    def offersCramMD5(self) -> bool:
        """Whether to offer CRAM-MD5: only when the portal can check it (clear-text
        passwords; never with scrypt-hashed maildir domains)."""
        listing = getattr(self.portal, "listCredentialsInterfaces", None)
        return listing is not None and credentials.IUsernameHashedPassword in listing()

    def authenticateCramMD5(self, creds: Any) -> defer.Deferred[Any]:
        """:return: a Deferred firing with ``(IAccount, account, logout)``."""
        if self.portal is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        return defer.maybeDeferred(self.portal.login, creds, None, IAccount)

    def _login(self, event: Login | CramLogin) -> None:
        if isinstance(event, CramLogin):
            from glisten.mail._smtpcommon import CramMD5Credentials

            d = self.authenticateCramMD5(
                CramMD5Credentials(event.username, event.challenge, event.response)
            )
        else:
            d = self.authenticateLogin(event.username, event.password)

        def ok(result: Any) -> None:
            _, account, logout = result
            if self._disconnected:
                if logout is not None:
                    logout()
                return
            self.account = account
            self._logout = logout
            assert self._codec is not None
            self._codec.acceptLogin(event.tag)
            self._resume()

        def failed(failure: Failure) -> None:
            if not failure.check(cred_error.LoginFailed):
                _log.failure("IMAP4 login failed unexpectedly", failure)

            def answer() -> None:
                if not self._disconnected:
                    assert self._codec is not None
                    self._codec.rejectLogin(event.tag)
                    self._resume()

            if self.failedLoginDelay > 0:
                self.callLater(self.failedLoginDelay, answer)
            else:
                answer()

        d.addCallbacks(ok, failed)

    # -- listener (IMailboxListener) -----------------------------------------------------

    def newMessages(self, exists: int | None, recent: int | None) -> None:
        if self._codec is None or self._disconnected:
            return
        if exists is not None and exists != self._exists:
            self._exists = exists
            self._codec.untagged(b"%d EXISTS" % exists)
        if recent is not None:
            self._codec.untagged(b"%d RECENT" % recent)
        if not self._busy:
            self._flush()

    def flagsChanged(self, newFlags: dict[int, list[bytes]]) -> None:
        if self._codec is None or self._disconnected:
            return
        for number, flags in sorted(newFlags.items()):
            self._codec.untagged(b"%d FETCH (FLAGS %s)" % (number, parenthesised(flags)))
        if not self._busy:
            self._flush()

    def modeChanged(self, writeable: bool) -> None:
        pass

    def _refresh(self) -> None:
        refresh = getattr(self.mbox, "refresh", None)
        if refresh is not None:
            refresh()

    def _startIdle(self) -> None:
        self._refresh()
        if self.mbox is not None and hasattr(self.mbox, "refresh"):
            self._idleCall = self.callLater(self.idlePollInterval, self._idlePoll)

    def _idlePoll(self) -> None:
        self._idleCall = None
        if self._disconnected:
            return
        try:
            self._refresh()
        except Exception:
            _log.failure("IMAP4 mailbox refresh failed")
        self._idleCall = self.callLater(self.idlePollInterval, self._idlePoll)

    def _stopIdle(self) -> None:
        call, self._idleCall = self._idleCall, None
        if call is not None and call.active():
            call.cancel()

    def _unselect(self) -> None:
        if self.mbox is not None:
            self.mbox.removeListener(self)
            close = getattr(self.mbox, "close", None)
            self.mbox = None
            if close is not None:
                close()

    # -- commands ------------------------------------------------------------------------

    def _mailboxName(self, mailbox: bytes) -> str:
        assert self._codec is not None
        return _name(mailbox, "UTF8=ACCEPT" in self._codec.enabled)

    def _command(self, event: Any) -> Any:
        handler = getattr(self, "_do_" + type(event).__name__)
        return handler(event)

    def _do_Simple(self, event: Simple) -> Any:
        codec = self._codec
        assert codec is not None
        if event.name in ("NOOP", "CHECK"):
            if self.mbox is not None:
                self._refresh()
            codec.complete(event.tag, b"OK", event.name.encode() + b" completed")
        elif event.name == "NAMESPACE":
            codec.untagged(b'NAMESPACE (("" ".")) NIL NIL')
            codec.complete(event.tag, b"OK", b"NAMESPACE completed")
        else:
            if event.name == "CLOSE" and self.mbox is not None and self.mbox.isWriteable():
                # CLOSE expunges silently (RFC 3501 6.4.2).
                return defer.maybeDeferred(self.mbox.expunge).addCallback(
                    lambda _: self._closeDone(event.tag)
                )
            self._closeDone(event.tag)
        return None

    def _closeDone(self, tag: bytes) -> None:
        self._unselect()
        assert self._codec is not None
        self._codec.unselected(tag)

    def _do_Select(self, event: Select) -> Any:
        self._unselect()
        name = self._mailboxName(event.mailbox)
        d = defer.maybeDeferred(self.account.select, name, not event.readOnly)

        def opened(mbox: Any) -> None:
            codec = self._codec
            assert codec is not None
            if mbox is None:
                raise NoSuchMailbox("No such mailbox")
            self.mbox = mbox
            refresh = getattr(mbox, "refresh", None)
            if refresh is not None:
                refresh()
            self._exists = mbox.getMessageCount()
            # Listening first: a maildir folder then claims its new messages as \Recent
            # for this session before the counts below are taken.
            mbox.addListener(self)
            readOnly = event.readOnly or not mbox.isWriteable()
            flags = list(mbox.getFlags())
            self._exists = mbox.getMessageCount()
            codec.untagged(b"FLAGS " + parenthesised(flags))
            codec.untagged(b"%d EXISTS" % self._exists)
            codec.untagged(b"%d RECENT" % mbox.getRecentCount())
            codec.untagged(b"OK [UIDVALIDITY %d] UIDs valid" % mbox.getUIDValidity())
            codec.untagged(b"OK [UIDNEXT %d] Predicted next UID" % mbox.getUIDNext())
            # A mailbox that keeps keywords says which (and ``\\*``) itself.
            permanentFlags = getattr(mbox, "getPermanentFlags", mbox.getFlags)
            permanent = [] if readOnly else list(permanentFlags())
            codec.untagged(b"OK [PERMANENTFLAGS " + parenthesised(permanent) + b"] Limited")
            codec.selected(event.tag, readOnly)

        return d.addCallback(opened)

    def _do_MailboxCommand(self, event: MailboxCommand) -> Any:
        name = self._mailboxName(event.mailbox)
        account = self.account
        if event.name == "CREATE":
            d = defer.maybeDeferred(account.create, name.rstrip("."))

            def created(ok: Any) -> None:
                if not ok:
                    raise MailboxException("Cannot create that mailbox")

            d.addCallback(created)
        elif event.name == "DELETE":
            d = defer.maybeDeferred(account.delete, name)
        elif event.name == "SUBSCRIBE":
            d = defer.maybeDeferred(account.subscribe, name)
        else:
            d = defer.maybeDeferred(account.unsubscribe, name)
        return d.addCallback(lambda _: self._ok(event.tag, event.name))

    def _ok(self, tag: bytes, what: str) -> None:
        assert self._codec is not None
        self._codec.complete(tag, b"OK", what.encode() + b" completed")

    def _do_Rename(self, event: Rename) -> Any:
        d = defer.maybeDeferred(
            self.account.rename, self._mailboxName(event.old), self._mailboxName(event.new)
        )
        return d.addCallback(lambda _: self._ok(event.tag, "RENAME"))

    def _do_ListMailboxes(self, event: ListMailboxes) -> Any:
        codec = self._codec
        assert codec is not None
        command = b"LSUB" if event.subscribed else b"LIST"
        utf8 = "UTF8=ACCEPT" in codec.enabled
        try:
            reference, pattern = (
                raw.decode("utf-8") if utf8 else decodeMailboxName(raw)
                for raw in (event.reference, event.pattern)
            )
        except (UnicodeDecodeError, MailboxNameError):
            raise IllegalMailboxEncoding("mailbox patterns are modified UTF-7") from None
        if not pattern:
            # RFC 3501 6.3.8: the delimiter and the root.
            codec.untagged(command + b' (\\Noselect) "." ""')
            codec.complete(event.tag, b"OK", command + b" completed")
            return None
        d = defer.maybeDeferred(self.account.listMailboxes, reference, pattern)

        def listed(boxes: Any) -> Any:
            boxes = list(boxes)
            names = {name for name, _ in boxes}
            checks = []
            for name, _ in boxes:
                if event.subscribed:
                    checks.append(defer.maybeDeferred(self.account.isSubscribed, name))
                else:
                    checks.append(defer.succeed(True))

            def send(subscribed: list[Any]) -> None:
                for (name, mbox), show in zip(boxes, subscribed, strict=True):
                    if not show:
                        continue
                    attributes = [
                        b"\\HasChildren"
                        if any(n.startswith(name + ".") for n in names)
                        else b"\\HasNoChildren"
                    ]
                    delimiter = mbox.getHierarchicalDelimiter() if mbox is not None else b"."
                    codec.untagged(
                        command
                        + b" "
                        + parenthesised(attributes)
                        + b' "'
                        + delimiter
                        + b'" '
                        + _wireName(name, "UTF8=ACCEPT" in codec.enabled)
                    )
                codec.complete(event.tag, b"OK", command + b" completed")

            return defer.gatherResults(checks, consumeErrors=True).addCallback(send)

        return d.addCallback(listed)

    def _do_Status(self, event: Status) -> Any:
        name = self._mailboxName(event.mailbox)
        d = defer.maybeDeferred(self.account.select, name, False)

        def got(mbox: Any) -> Any:
            if mbox is None:
                raise NoSuchMailbox("No such mailbox")
            refresh = getattr(mbox, "refresh", None)
            if refresh is not None:
                refresh()
            return defer.maybeDeferred(mbox.requestStatus, list(event.items))

        def send(values: dict[str, int]) -> None:
            codec = self._codec
            assert codec is not None
            items = b" ".join(b"%s %d" % (k.encode(), v) for k, v in values.items())
            wire = _wireName(name, "UTF8=ACCEPT" in codec.enabled)
            codec.untagged(b"STATUS " + wire + b" (" + items + b")")
            codec.complete(event.tag, b"OK", b"STATUS completed")

        return d.addCallback(got).addCallback(send)

    def _do_Append(self, event: Append) -> Any:
        name = self._mailboxName(event.mailbox)
        d = defer.maybeDeferred(self.account.select, name, True)

        async def add(mbox: Any) -> tuple[Any, list[Any]]:
            if mbox is None:
                raise NoSuchMailbox("No such mailbox")
            uids: list[Any] = []
            try:
                for m in event.messages:
                    uids.append(
                        await defer.maybeDeferred(
                            mbox.addMessage, io.BytesIO(m.message), list(m.flags), m.date
                        )
                    )
            except Exception:
                # MULTIAPPEND (RFC 3502) is all or nothing: take back what was added.
                await self._removeAppended(mbox, uids)
                raise
            return mbox, uids

        def done(result: Any) -> None:
            mbox, uids = result
            assert self._codec is not None
            code = None
            if uids and all(isinstance(uid, int) and uid > 0 for uid in uids):
                code = b"APPENDUID %d %s" % (
                    mbox.getUIDValidity(),
                    b",".join(b"%d" % uid for uid in uids),
                )
            if mbox is self.mbox:
                self.newMessages(mbox.getMessageCount(), None)
            self._codec.complete(event.tag, b"OK", b"APPEND completed", code)

        return d.addCallback(lambda mbox: defer.ensureDeferred(add(mbox))).addCallback(done)

    async def _removeAppended(self, mbox: Any, uids: list[Any]) -> None:
        """Expunge the messages of a failed MULTIAPPEND that were added (by UID)."""
        added = {uid for uid in uids if isinstance(uid, int) and uid > 0}
        if not added:
            return
        marks = MessageSet()
        for uid in sorted(added):
            marks.add(uid)
        try:
            await defer.maybeDeferred(mbox.store, marks, [b"\\Deleted"], 1, True)
            removed = await defer.maybeDeferred(mbox.expunge, added)
            if mbox is self.mbox:
                self._expunged(removed)
        except Exception:
            _log.failure("IMAP4 could not take back a failed APPEND")

    def _messages(self, ranges: Any, uid: bool) -> MessageSet:
        return MessageSet.fromRanges(ranges)

    def _do_Fetch(self, event: Fetch) -> Any:
        mbox = self.mbox
        d = defer.maybeDeferred(mbox.fetch, self._messages(event.messages, event.uid), event.uid)
        return d.addCallback(self._sendFetch, event)

    def _sendFetch(self, pairs: Any, event: Fetch) -> Any:
        codec = self._codec
        assert codec is not None
        pairs = list(pairs)
        attributes = list(event.attributes)
        if event.uid and not any(a.name == "UID" for a in attributes):
            attributes.insert(0, FetchAttribute("UID"))
        setsSeen = (
            not codec.readOnly
            and self.mbox.isWriteable()
            and any(
                (a.name == "BODY[]" and not a.peek) or a.name in ("RFC822", "RFC822.TEXT")
                for a in attributes
            )
        )
        unseen = MessageSet()
        if setsSeen:
            for number, message in pairs:
                if _SEEN not in message.getFlags():
                    unseen.add(number)
        if setsSeen and unseen.ranges:
            # Set \Seen first, so the FETCH answer shows it (RFC 3501 6.4.5).
            if not any(a.name == "FLAGS" for a in attributes):
                attributes.append(FetchAttribute("FLAGS"))
            d = defer.maybeDeferred(self.mbox.store, unseen, [_SEEN], 1, False)
            return d.addCallback(lambda _: self._fetched(pairs, attributes, event.tag))
        self._fetched(pairs, attributes, event.tag)
        return None

    def _fetched(self, pairs: Any, attributes: list[FetchAttribute], tag: bytes) -> None:
        codec = self._codec
        assert codec is not None
        for number, message in pairs:
            codec.untagged(b"%d FETCH (" % number + self._fetchItems(message, attributes) + b")")
        codec.complete(tag, b"OK", b"FETCH completed")

    def _fetchItems(self, message: Any, attributes: list[FetchAttribute]) -> bytes:
        raw: bytes | None = None
        out = []
        for a in attributes:
            name = a.name
            if name == "FLAGS":
                value = parenthesised(list(message.getFlags()))
            elif name == "UID":
                value = b"%d" % message.getUID()
            elif name == "INTERNALDATE":
                value = b'"' + _internalDate(message) + b'"'
            elif name == "RFC822.SIZE":
                value = b"%d" % message.getSize()
            else:
                if raw is None:
                    raw = rawMessage(message)
                if name == "ENVELOPE":
                    value = _message.envelope(raw)
                elif name in ("BODYSTRUCTURE", "BODY"):
                    value = _message.bodyStructure(raw)
                elif name == "RFC822":
                    value = literal(raw)
                elif name == "RFC822.HEADER":
                    value = literal(_message.split(raw)[0])
                elif name == "RFC822.TEXT":
                    value = literal(_message.split(raw)[1])
                else:
                    out.append(_fetchSection(a, raw))
                    continue
            out.append(name.encode() + b" " + value)
        return b" ".join(out)

    def _do_Store(self, event: Store) -> Any:
        codec = self._codec
        assert codec is not None
        if codec.readOnly or not self.mbox.isWriteable():
            raise ReadOnlyMailbox("Mailbox is read-only")
        mode = {"+": 1, "-": -1, "": 0}[event.mode]
        messages = self._messages(event.messages, event.uid)
        d = defer.maybeDeferred(self.mbox.store, messages, list(event.flags), mode, event.uid)

        def stored(result: dict[int, list[bytes]]) -> None:
            if not event.silent or event.uid:
                for number, flags in sorted(result.items()):
                    items = [b"FLAGS " + parenthesised(flags)]
                    if event.uid:
                        items.append(b"UID %d" % self.mbox.getUID(number))
                    codec.untagged(b"%d FETCH (" % number + b" ".join(items) + b")")
            codec.complete(event.tag, b"OK", b"STORE completed")

        return d.addCallback(stored)

    def _do_Search(self, event: Search) -> Any:
        def answer(pairs: Any) -> None:
            found = _imapmodel.search(pairs, event.query, event.uid)
            codec = self._codec
            assert codec is not None
            codec.untagged(b"SEARCH" + b"".join(b" %d" % n for n in found))
            codec.complete(event.tag, b"OK", b"SEARCH completed")

        everything = MessageSet(1, None)
        return defer.maybeDeferred(self.mbox.fetch, everything, False).addCallback(answer)

    def _do_Copy(self, event: Copy) -> Any:
        codec = self._codec
        assert codec is not None
        if event.move and (codec.readOnly or not self.mbox.isWriteable()):
            raise ReadOnlyMailbox("Mailbox is read-only")
        source = self.mbox
        name = self._mailboxName(event.mailbox)
        d = defer.maybeDeferred(self.account.select, name, True)

        def got(target: Any) -> Any:
            if target is None:
                raise NoSuchMailbox("No such mailbox")
            messages = self._messages(event.messages, event.uid)
            fetched = defer.maybeDeferred(source.fetch, messages, event.uid)
            return fetched.addCallback(lambda pairs: copy(target, list(pairs)))

        def copy(target: Any, pairs: list[Any]) -> Any:
            copies = []
            for _, message in pairs:
                raw = rawMessage(message)
                flags = [f for f in message.getFlags() if f.lower() != b"\\recent"]
                copies.append(defer.maybeDeferred(target.addMessage, io.BytesIO(raw), flags, None))
            done = defer.gatherResults(copies, consumeErrors=True)
            return done.addCallback(lambda uids: (target, pairs, uids))

        def copied(result: Any) -> Any:
            target, pairs, uids = result
            code = None
            if pairs and all(isinstance(u, int) and u > 0 for u in uids):
                code = b"COPYUID %d %s %s" % (
                    target.getUIDValidity(),
                    b",".join(b"%d" % m.getUID() for _, m in pairs),
                    b",".join(b"%d" % u for u in uids),
                )
            if not event.move:
                codec.complete(event.tag, b"OK", b"COPY completed", code)
                return None
            if code is not None:
                codec.untagged(b"OK [" + code + b"] Moved")
            moved = {m.getUID() for _, m in pairs}
            if not moved:
                codec.complete(event.tag, b"OK", b"MOVE completed")
                return None
            marks = MessageSet()
            for uid in sorted(moved):
                marks.add(uid)
            d2 = defer.maybeDeferred(source.store, marks, [b"\\Deleted"], 1, True)
            d2.addCallback(lambda _: source.expunge(moved))
            d2.addCallback(self._expunged)
            d2.addCallback(lambda _: codec.complete(event.tag, b"OK", b"MOVE completed"))
            return d2

        return d.addCallback(got).addCallback(copied)

    def _do_Expunge(self, event: Expunge) -> Any:
        codec = self._codec
        assert codec is not None
        if codec.readOnly or not self.mbox.isWriteable():
            raise ReadOnlyMailbox("Mailbox is read-only")
        if event.uids is None:
            d = defer.maybeDeferred(self.mbox.expunge)
        else:
            wanted = MessageSet.fromRanges(event.uids)
            mbox = self.mbox
            d = defer.maybeDeferred(mbox.fetch, wanted, True)
            d.addCallback(lambda pairs: mbox.expunge({m.getUID() for _, m in pairs}))
        d.addCallback(self._expunged)
        return d.addCallback(lambda _: codec.complete(event.tag, b"OK", b"EXPUNGE completed"))

    def _expunged(self, numbers: Any) -> None:
        assert self._codec is not None
        # Highest first, so each number is still right when the client applies it.
        for number in sorted(numbers or [], reverse=True):
            self._codec.untagged(b"%d EXPUNGE" % number)
            self._exists -= 1


def _internalDate(message: Any) -> bytes:
    import email.utils

    value = message.getInternalDate()
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return formatDateTime(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return b"01-Jan-1970 00:00:00 +0000"


def _fetchSection(a: FetchAttribute, raw: bytes) -> bytes:
    assert a.section is not None
    section = a.section
    data = _message.section(raw, section)
    spec = b".".join(b"%d" % p for p in section.part)
    if section.text:
        spec += (b"." if spec else b"") + section.text.encode()
    if section.fields:
        spec += b" " + parenthesised(list(section.fields))
    name = b"BODY[" + spec + b"]"
    if a.partial is not None:
        start, length = a.partial
        name += b"<%d>" % start
        if data is not None:
            data = data[start : start + length]
    return name + b" " + (nstring(None) if data is None else literal(data))


__all__ = [
    "CramMD5ClientAuthenticator",
    "IAccount",
    "IMAP4Client",
    "IMAP4ClientError",
    "IMAP4Exception",
    "IllegalServerResponse",
    "LOGINAuthenticator",
    "LOGINCredentials",
    "NoSupportedAuthentication",
    "PLAINAuthenticator",
    "PLAINCredentials",
    "IMAP4Server",
    "IMailbox",
    "IMailboxInfo",
    "IMailboxListener",
    "IMessage",
    "IMessagePart",
    "IRawMessage",
    "IllegalMailboxEncoding",
    "MailboxCollision",
    "MailboxException",
    "MemoryAccount",
    "MemoryMailbox",
    "MessageSet",
    "NoSuchMailbox",
    "ReadOnlyMailbox",
    "decoder",
    "encoder",
    "imap4_utf_7",
    "wildcardMatch",
]
