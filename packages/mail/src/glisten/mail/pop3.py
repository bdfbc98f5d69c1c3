"""POP3 servers (Twisted's ``twisted.mail.pop3``): :class:`POP3`, a thin adapter from a
transport to the sans-I/O :class:`glisten.mail._pop3.ServerConnection`, the mailbox interface
it serves (:class:`IMailbox`) and the credentials of APOP.

RFC 1939 with CAPA (RFC 2449: ``TOP``, ``UIDL``, ``USER``, ``SASL``, ``RESP-CODES``,
``AUTH-RESP-CODE``, ``PIPELINING``, ``LOGIN-DELAY``, ``EXPIRE``, ``IMPLEMENTATION``), STLS
(RFC 2595) and AUTH PLAIN/CRAM-MD5 (RFC 5034).

Deliberate differences from Twisted: passwords in the clear (``USER``/``PASS``,
``AUTH PLAIN``) are refused before TLS unless :attr:`POP3.authOverPlaintext` is set; APOP is
offered only when a checker can verify it (it needs clear-text passwords); a failed login is
answered after :attr:`POP3.failedLoginDelay` seconds and the connection is closed after a few.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any

from zope.interface import Interface, implementer

from glisten.cred import credentials
from glisten.cred import error as cred_error
from glisten.internet import defer, interfaces
from glisten.internet.protocol import Protocol
from glisten.logger import Logger
from glisten.mail._driver import CodecDriver
from glisten.mail._pop3 import (
    DEFAULT_LIMITS,
    APOPRequested,
    ConnectionClosing,
    CramMD5Requested,
    Delete,
    Limits,
    ListMessages,
    ListUIDs,
    LocalProtocolError,
    LoginRequested,
    Quit,
    Reset,
    Retrieve,
    ServerConnection,
    StartTLS,
    Stat,
)
from glisten.mail._smtpcommon import CramMD5Credentials
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure

_log = Logger(namespace="glisten.mail.pop3")


class POP3Error(Exception):
    """A POP3 server-side error whose text may go to the client (a mailbox's refusal)."""


class IMailbox(Interface):
    """One user's maildrop as POP3 sees it. Indexes count from 0; every method may return
    a Deferred."""

    def listMessages(index: int | None = None) -> Any:
        """:return: the size of message ``index``, or the sizes of all messages (``0`` for
            messages deleted in this session).

        :raises ValueError: or ``IndexError`` for an index out of range.
        """

    def getMessage(index: int) -> Any:
        """:return: a binary file-like object with message ``index``."""

    def getUidl(index: int) -> Any:
        """
        :return: the unique id of message ``index`` (bytes or str; stable across
            sessions, RFC 1939 7).
        """

    def deleteMessage(index: int) -> Any:
        """Mark message ``index`` deleted; it goes at :meth:`sync`."""

    def undeleteMessages() -> Any:
        """Unmark every message marked deleted in this session."""

    def sync() -> Any:
        """Remove the messages marked deleted (the end of a session, ``QUIT``)."""


class IServerFactory(Interface):
    """What a factory may tell its :class:`POP3` connections to advertise in ``CAPA``."""

    def cap_IMPLEMENTATION() -> Any:
        """:return: the server's name and version."""

    def cap_EXPIRE() -> Any:
        """:return: the days messages are kept, ``NEVER``, or ``None``."""

    def cap_LOGIN_DELAY() -> Any:
        """:return: the seconds between logins the server asks for."""


@implementer(IMailbox)
class Mailbox:
    """An empty mailbox to subclass (Twisted's ``pop3.Mailbox``)."""

    def listMessages(self, index: int | None = None) -> Any:
        if index is None:
            return []
        raise ValueError("no such message")

    def getMessage(self, index: int) -> Any:
        raise ValueError("no such message")

    def getUidl(self, index: int) -> Any:
        raise ValueError("no such message")

    def deleteMessage(self, index: int) -> None:
        raise ValueError("no such message")

    def undeleteMessages(self) -> None:
        pass

    def sync(self) -> None:
        pass


@implementer(credentials.IUsernameHashedPassword)
class APOPCredentials:
    """An APOP login (RFC 1939 7): MD5 of the greeting's timestamp and the password.

    ``checkPassword`` needs the clear-text password, so checkers that store hashes (as
    maildir domains do) cannot verify these; :class:`POP3` does not offer APOP then.
    """

    def __init__(self, magic: bytes, username: bytes, digest: bytes) -> None:
        self.magic = magic
        self.username = username
        self.digest = digest

    def checkPassword(self, password: bytes | str) -> bool:
        if isinstance(password, str):
            password = password.encode("utf-8")
        expected = hashlib.md5(self.magic + password).hexdigest().encode("ascii")
        return hmac.compare_digest(expected, self.digest.lower())


def _portalTakes(portal: Any, interface: Any) -> bool:
    listing = getattr(portal, "listCredentialsInterfaces", None)
    return listing is not None and interface in listing()


class POP3(CodecDriver, Protocol, TimeoutMixin):
    """A POP3 server connection.

    Logins go to :attr:`portal` (avatars provide :class:`IMailbox`) through
    :meth:`authenticateUserPASS` and :meth:`authenticateUserAPOP`, which subclasses may
    override (as Twisted's ``VirtualPOP3`` does).

    :ivar portal: A :class:`glisten.cred.portal.Portal` for ``IMailbox`` avatars.
    :ivar ctx: TLS server options; with them ``STLS`` is offered.
    :ivar authOverPlaintext: Accept passwords before TLS (tests, or a trusted network).
    :ivar failedLoginDelay: Seconds before a failed login is answered (slows guessing).
    :ivar limits: The :class:`glisten.mail._pop3.Limits` of each session.
    :ivar maxCommandsPerTurn: Pipelined commands answered per turn of the reactor (64); the
        rest of a read wait, reading paused, so one client cannot stall the others.
    :ivar timeOut: Seconds of silence before the connection is dropped (RFC 1939: 600 at
        least is recommended for an authenticated session; Twisted uses 300).
    :ivar mbox: The logged-in user's mailbox.
    :ivar magic: The APOP timestamp of this session, or ``None`` when APOP is not offered.
    """

    timeOut: float | None = 300
    portal: Any = None
    factory: Any = None
    ctx: Any = None
    authOverPlaintext = False
    failedLoginDelay = 1.0
    limits: Limits = DEFAULT_LIMITS
    saslMechanisms: tuple[str, ...] = ("PLAIN", "CRAM-MD5")

    def __init__(self, contextFactory: Any = None) -> None:
        if contextFactory is not None:
            self.ctx = contextFactory
        self.mbox: Any = None
        self.magic: bytes | None = None
        self._codec: ServerConnection | None = None
        self._logout: Any = None
        self._deleted: set[int] = set()
        self._busy = False
        self._again = False
        self._disconnected = False

    # -- what subclasses customise -------------------------------------------------------

    def generateMagic(self) -> bytes:
        """:return: a fresh APOP timestamp ``<random.time@host>``."""
        return b"<%s.%d@glisten>" % (os.urandom(8).hex().encode("ascii"), int(time.time()))

    def offersAPOP(self) -> bool:
        """Whether to offer APOP: only when the portal can check APOP credentials."""
        if self.portal is None:
            return type(self).authenticateUserAPOP is not POP3.authenticateUserAPOP
        return _portalTakes(self.portal, credentials.IUsernameHashedPassword)

    def offersCramMD5(self) -> bool:
        """Whether to offer ``AUTH CRAM-MD5`` (again, only with clear-text checkers)."""
        return self.portal is not None and _portalTakes(
            self.portal, credentials.IUsernameHashedPassword
        )

    def authenticateUserPASS(self, user: bytes, password: bytes) -> defer.Deferred[Any]:
        """:return: a Deferred firing with ``(IMailbox, mailbox, logout)``."""
        if self.portal is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        creds = credentials.UsernamePassword(user, password)
        return defer.maybeDeferred(self.portal.login, creds, None, IMailbox)

    def authenticateUserAPOP(self, user: bytes, digest: bytes) -> defer.Deferred[Any]:
        """:return: a Deferred firing with ``(IMailbox, mailbox, logout)``."""
        if self.portal is None or self.magic is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        creds = APOPCredentials(self.magic, user, digest)
        return defer.maybeDeferred(self.portal.login, creds, None, IMailbox)

    def authenticateUserCRAM(self, creds: CramMD5Credentials) -> defer.Deferred[Any]:
        """:return: a Deferred firing with ``(IMailbox, mailbox, logout)``."""
        if self.portal is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        return defer.maybeDeferred(self.portal.login, creds, None, IMailbox)

    def _capability(self, name: str) -> bytes | None:
        method = getattr(self.factory, "cap_" + name, None)
        if method is None:
            return None
        value = method()
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode("ascii", "replace")

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        secure = bool(interfaces.ISSLTransport.providedBy(self.transport))
        if self.offersAPOP():
            self.magic = self.generateMagic()
        delay = self._capability("LOGIN_DELAY")
        mechanisms = tuple(
            m for m in self.saslMechanisms if m != "CRAM-MD5" or self.offersCramMD5()
        )
        self._codec = ServerConnection(
            self.limits,
            tlsAvailable=self.ctx is not None,
            secure=secure,
            apopChallenge=self.magic,
            saslMechanisms=mechanisms,
            plaintextLogin=self.authOverPlaintext,
            implementation=self._capability("IMPLEMENTATION"),
            loginDelay=int(delay) if delay is not None else None,
            expire=self._capability("EXPIRE"),
        )
        self.transport.write(self._codec.greeting())
        self.setTimeout(self.timeOut)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._disconnected = True
        self._stopTurns()
        self.setTimeout(None)
        logout, self._logout = self._logout, None
        if logout is not None:
            try:
                logout()
            except Exception:
                _log.failure("POP3 logout failed")
        self.mbox = None

    def timeoutConnection(self) -> None:
        self.transport.write(b"-ERR Timeout, closing connection\r\n")
        self.transport.loseConnection()

    # -- the codec's events --------------------------------------------------------------

    def _answered(self, closing: list[Any] | None = None) -> None:
        if self._disconnected:
            return
        if closing:
            self._flush()
            self.transport.loseConnection()
            return
        self._process(b"")

    def _handle(self, event: Any) -> None:
        codec = self._codec
        assert codec is not None
        if isinstance(event, ConnectionClosing):
            self._flush()
            self.transport.loseConnection()
        elif isinstance(event, StartTLS):
            self._flush()
            self.transport.startTLS(self.ctx)
            codec.tlsStarted()
        elif isinstance(event, (LoginRequested, APOPRequested, CramMD5Requested)):
            self._login(event)
        else:
            # Mailboxes mostly answer at once: only go through Deferreds when one does not.
            try:
                result = self._transaction(event)
            except Exception:
                self._answered(self._failed(Failure(), event))
                return
            if isinstance(result, defer.Deferred):
                result.addErrback(self._failed, event)
                result.addCallback(self._answered)
            else:
                self._answered(result)

    # -- AUTHORIZATION -------------------------------------------------------------------

    def _login(self, event: Any) -> None:
        if isinstance(event, LoginRequested):
            d = self.authenticateUserPASS(event.username, event.password)
        elif isinstance(event, APOPRequested):
            d = self.authenticateUserAPOP(event.username, event.digest)
        else:
            creds = CramMD5Credentials(event.username, event.challenge, event.response)
            d = self.authenticateUserCRAM(creds)
        d.addCallbacks(self._loggedIn, self._loginFailed)

    def _loggedIn(self, result: Any) -> None:
        if self._disconnected:
            if len(result) > 2 and result[2] is not None:
                result[2]()
            return
        interface, avatar, logout = result
        assert self._codec is not None
        self.mbox = avatar
        self._logout = logout
        self._deleted = set()
        self._codec.acceptLogin()
        self._answered()

    def _loginFailed(self, failure: Failure) -> None:
        if self._disconnected:
            return
        assert self._codec is not None
        codec = self._codec
        if not failure.check(cred_error.LoginFailed, POP3Error):
            _log.failure("POP3 login failed unexpectedly", failure)
            codec.refuseLogin(b"[SYS/TEMP] Login failed, try again later")
            self._answered()
            return

        def answer() -> None:
            if not self._disconnected:
                self._answered(codec.rejectLogin())

        if self.failedLoginDelay > 0:
            self.callLater(self.failedLoginDelay, answer)
        else:
            answer()

    # -- TRANSACTION ---------------------------------------------------------------------

    def _check(self, index: int) -> None:
        if index in self._deleted:
            raise ValueError("message deleted")

    def _transaction(self, event: Any) -> Any:
        mbox = self.mbox
        if isinstance(event, Stat):
            return defer.maybeDeferred(mbox.listMessages).addCallback(self._stat)
        if isinstance(event, ListMessages):
            if event.index is None:
                return defer.maybeDeferred(mbox.listMessages).addCallback(self._list)
            self._check(event.index)
            d = defer.maybeDeferred(mbox.listMessages, event.index)
            return d.addCallback(self._listOne, event.index)
        if isinstance(event, ListUIDs):
            if event.index is None:
                return defer.maybeDeferred(mbox.listMessages).addCallback(self._uids)
            self._check(event.index)
            d = defer.maybeDeferred(mbox.getUidl, event.index)
            return d.addCallback(self._uidOne, event.index)
        if isinstance(event, Retrieve):
            self._check(event.index)
            fp = mbox.getMessage(event.index)
            if isinstance(fp, defer.Deferred):
                return fp.addCallback(self._send)
            return self._send(fp)
        if isinstance(event, Delete):
            self._check(event.index)
            d = defer.maybeDeferred(mbox.deleteMessage, event.index)
            return d.addCallback(self._deletedOne, event.index)
        if isinstance(event, Reset):
            d = defer.maybeDeferred(mbox.undeleteMessages)
            return d.addCallback(self._reset)
        assert isinstance(event, Quit)
        return defer.maybeDeferred(mbox.sync).addCallback(self._quit)

    def _live(self, sizes: list[int]) -> list[tuple[int, int]]:
        return [(i, s) for i, s in enumerate(sizes) if i not in self._deleted and s]

    def _stat(self, sizes: list[int]) -> list[Any]:
        live = self._live(sizes)
        assert self._codec is not None
        return self._codec.ok(b"%d %d" % (len(live), sum(s for _, s in live)))

    def _list(self, sizes: list[int]) -> None:
        live = self._live(sizes)
        assert self._codec is not None
        lines = [b"%d %d" % (i + 1, s) for i, s in live]
        self._codec.sendLines(b"+OK %d messages" % len(lines), lines)

    def _listOne(self, size: int, index: int) -> list[Any]:
        assert self._codec is not None
        if not size:
            raise ValueError("message deleted")
        return self._codec.ok(b"%d %d" % (index + 1, size))

    def _uids(self, sizes: list[int]) -> defer.Deferred[None]:
        live = self._live(sizes)
        uids = defer.gatherResults(
            [defer.maybeDeferred(self.mbox.getUidl, i) for i, _ in live], consumeErrors=True
        )

        def send(values: list[Any]) -> None:
            assert self._codec is not None
            lines = [b"%d %s" % (i + 1, _uid(u)) for (i, _), u in zip(live, values, strict=True)]
            self._codec.sendLines(b"+OK", lines)

        return uids.addCallback(send)

    def _uidOne(self, uid: Any, index: int) -> list[Any]:
        assert self._codec is not None
        return self._codec.ok(b"%d %s" % (index + 1, _uid(uid)))

    def _send(self, fp: Any) -> None:
        try:
            data = fp.read()
        finally:
            close = getattr(fp, "close", None)
            if close is not None:
                close()
        assert self._codec is not None
        self._codec.sendMessage(data)

    def _deletedOne(self, result: Any, index: int) -> list[Any]:
        self._deleted.add(index)
        assert self._codec is not None
        return self._codec.ok(b"message %d deleted" % (index + 1))

    def _reset(self, result: Any) -> list[Any]:
        self._deleted.clear()
        assert self._codec is not None
        return self._codec.ok(b"")

    def _quit(self, result: Any) -> list[Any]:
        assert self._codec is not None
        return self._codec.ok(b"Bye")

    def _failed(self, failure: Failure, event: Any) -> list[Any]:
        assert self._codec is not None
        if failure.check(ValueError, IndexError, KeyError):
            text = b"Bad message number argument"  # Twisted's words
        elif failure.check(POP3Error):
            text = b"[SYS/TEMP] " + str(failure.value).encode("utf-8", "replace")
        else:
            _log.failure("POP3 mailbox failed", failure)
            if isinstance(event, Quit):
                text = b"[SYS/TEMP] Some deleted messages were not removed"
            else:
                text = b"[SYS/TEMP] Mailbox error"
        try:
            return self._codec.error(text)
        except LocalProtocolError:
            # The failure came after the answer had begun: nothing sane to add; hang up.
            _log.failure("POP3 failed after answering", failure)
            self._flush()
            self.transport.loseConnection()
            self._disconnected = True
            return []


def _uid(value: Any) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    uid = bytes(value)
    # RFC 1939 7: 1-70 characters in 0x21-0x7E.
    if not 0 < len(uid) <= 70 or any(c < 0x21 or c > 0x7E for c in uid):
        uid = hashlib.sha1(uid).hexdigest().encode("ascii")
    return uid


from glisten.mail.pop3client import (  # noqa: E402  (Twisted re-exports the client here)
    InsecureAuthenticationDisallowed,
    LineTooLong,
    POP3Client,
    ServerErrorResponse,
)

#: Twisted's name for the POP3 client in this module.
AdvancedPOP3Client = POP3Client

__all__ = [
    "APOPCredentials",
    "AdvancedPOP3Client",
    "IMailbox",
    "IServerFactory",
    "InsecureAuthenticationDisallowed",
    "LineTooLong",
    "Mailbox",
    "POP3",
    "POP3Client",
    "POP3Error",
    "ServerErrorResponse",
]
