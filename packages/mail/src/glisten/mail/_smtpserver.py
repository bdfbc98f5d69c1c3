"""The SMTP server protocols (Twisted's ``SMTP``, ``ESMTP``, ``SMTPFactory``): thin adapters
from a transport to :class:`glisten.mail._smtp.ServerConnection`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from glisten.cred.credentials import UsernamePassword
from glisten.internet import defer, interfaces
from glisten.internet.protocol import Protocol, ServerFactory
from glisten.logger import Logger
from glisten.mail._driver import CodecDriver
from glisten.mail._smtp import (
    DEFAULT_LIMITS,
    AuthRequested,
    ConnectionFailed,
    DataStarted,
    Hello,
    Limits,
    MailFrom,
    MessageAborted,
    MessageComplete,
    MessageData,
    Quit,
    RcptTo,
    Reset,
    ServerConnection,
    StartTLS,
)
from glisten.mail._smtpcommon import (
    DNSNAME,
    Address,
    CramMD5Credentials,
    IMessageDelivery,
    SMTPAddressError,
    SMTPBadRcpt,
    SMTPBadSender,
    SMTPServerError,
    User,
)
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure

_log = Logger(namespace="glisten.mail.smtp")
#: Runs an iterator to its end in C (for calling ``lineReceived`` on every line).
_consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend


def _asBytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "replace")


class LOGINCredentials(UsernamePassword):
    """Credentials from ``AUTH LOGIN`` (Twisted's name)."""


class PLAINCredentials(UsernamePassword):
    """Credentials from ``AUTH PLAIN`` (Twisted's name)."""


class SMTP(CodecDriver, Protocol, TimeoutMixin):
    """An SMTP server connection (RFC 5321; ``EHLO`` is refused: see :class:`ESMTP`).

    Give it an :class:`IMessageDelivery` (``delivery``), an
    :class:`IMessageDeliveryFactory` (one delivery per transaction), or a ``portal`` whose
    avatars are deliveries.

    :ivar host: The name in the greeting (bytes).
    :ivar timeout: Seconds of silence before the connection is dropped.
    :ivar limits: The :class:`glisten.mail._smtp.Limits` of every session.
    :ivar maxCommandsPerTurn: Pipelined commands answered per turn of the reactor (64); the
        rest of a read wait, reading paused, so one client cannot stall the others.
    """

    timeout: float | None = 600
    host = DNSNAME
    portal: Any = None
    limits: Limits = DEFAULT_LIMITS
    _esmtp = False

    def __init__(self, delivery: Any = None, deliveryFactory: Any = None) -> None:
        self.delivery = delivery
        self.deliveryFactory = deliveryFactory
        self._codec: ServerConnection | None = None
        self._helo: tuple[bytes, str] | None = None
        self._from: Address | None = None
        self._users: list[tuple[User, Any]] = []
        self._messages: list[Any] = []
        self._partial = b""
        self._busy = False
        self._again = False
        self._disconnected = False
        self._transactionDelivery: Any = None
        self._dataFailed: Failure | None = None
        #: The ESMTP parameters of the current transaction's ``MAIL FROM``.
        self.mailParams: Any = None

    # -- what subclasses customise -------------------------------------------------------

    def greeting(self) -> bytes:
        """:return: the text after the host name in the 220 greeting."""
        return b"NO UCE NO UBE NO RELAY PROBES ESMTP" if self._esmtp else b"NO UCE SMTP"

    def _codecOptions(self) -> dict[str, Any]:
        return {"esmtp": self._esmtp}

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes | None:
        delivery = self._transactionDelivery or self.delivery
        if delivery is None:
            return None
        return delivery.receivedHeader(helo, origin, recipients)

    def validateFrom(self, helo: Any, origin: Address) -> Any:
        """Ask the delivery about the sender; without one, only authenticated
        users (through ``portal``) may send."""
        if self.deliveryFactory is not None:
            self._transactionDelivery = self.deliveryFactory.getMessageDelivery()
        delivery = self._transactionDelivery or self.delivery
        if delivery is not None:
            return defer.maybeDeferred(delivery.validateFrom, helo, origin)
        raise SMTPBadSender(origin, 503, b"Who are you?  Say HELO first, then authenticate")

    def validateTo(self, user: User) -> Any:
        delivery = self._transactionDelivery or self.delivery
        if delivery is None:
            raise SMTPBadRcpt(user)
        return defer.maybeDeferred(delivery.validateTo, user)

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        secure = interfaces.ISSLTransport.providedBy(self.transport)
        self._codec = ServerConnection(
            _asBytes(self.host), self.limits, secure=bool(secure), **self._codecOptions()
        )
        self.transport.write(self._codec.greeting(self.greeting()))
        self.setTimeout(self.timeout)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._disconnected = True
        self._stopTurns()
        self.setTimeout(None)
        self._abandonMessages()

    def timeoutConnection(self) -> None:
        self.transport.write(b"421 4.4.2 Timeout, closing connection\r\n")
        self.transport.loseConnection()

    # -- the codec's events --------------------------------------------------------------

    def _answered(self) -> None:
        if not self._disconnected:
            self._process(b"")

    def _handle(self, event: Any) -> None:
        codec = self._codec
        assert codec is not None
        if isinstance(event, MessageData):
            self._feedMessages(event.data)
        elif isinstance(event, Hello):
            peer = getattr(self.transport.getPeer(), "host", "")
            self._helo = (event.domain, peer)
        elif isinstance(event, MailFrom):
            self._startMail(event)
        elif isinstance(event, RcptTo):
            self._startRcpt(event)
        elif isinstance(event, DataStarted):
            self._startData()
        elif isinstance(event, MessageComplete):
            self._finishMessage()
        elif isinstance(event, (MessageAborted, Reset)):
            self._abandonMessages()
            self._users = []
            self._from = None
        elif isinstance(event, AuthRequested):
            self._authenticate(event)
        elif isinstance(event, StartTLS):
            self._flush()
            self.transport.startTLS(self.ctx)
            codec.tlsStarted()
        elif isinstance(event, (Quit, ConnectionFailed)):
            self._flush()
            self.transport.loseConnection()

    def _reject(self, failure: Failure, reject: Any, tempCode: int = 451) -> None:
        error = failure.value
        if isinstance(error, SMTPServerError):
            code = error.code
            enhanced = b"5.0.0" if code >= 500 else b"4.0.0"
            reject(code, error.resp, enhanced)
        else:
            _log.failure("Error validating a transaction", failure)
            reject(tempCode, b"Requested action aborted: local error", b"4.3.0")

    def _startMail(self, event: MailFrom) -> None:
        codec = self._codec
        assert codec is not None
        origin = Address(event.sender)
        self.mailParams = event.params
        try:
            d = defer.maybeDeferred(self.validateFrom, self._helo, origin)
        except Exception:  # pragma: no cover - maybeDeferred catches
            d = defer.fail()

        def ok(result: Any) -> None:
            self._from = result if isinstance(result, Address) else origin
            self._users = []
            codec.acceptMail()

        def bad(failure: Failure) -> None:
            self._reject(failure, codec.rejectMail)

        d.addCallbacks(ok, bad).addBoth(lambda _: self._answered())

    def _startRcpt(self, event: RcptTo) -> None:
        codec = self._codec
        assert codec is not None
        user = User(event.recipient, self._helo, self, self._from, event.params)
        d = defer.maybeDeferred(self.validateTo, user)

        def ok(factory: Any) -> None:
            self._users.append((user, factory))
            codec.acceptRecipient()

        def bad(failure: Failure) -> None:
            if isinstance(failure.value, SMTPAddressError):
                codec.rejectRecipient(failure.value.code, failure.value.resp, b"5.1.1")
            else:
                self._reject(failure, codec.rejectRecipient)

        d.addCallbacks(ok, bad).addBoth(lambda _: self._answered())

    def _startData(self) -> None:
        self._messages = []
        self._partial = b""
        self._dataFailed = None
        try:
            for _user, factory in self._users:
                self._messages.append(factory())
            header = self.receivedHeader(self._helo, self._from, [u for u, _ in self._users])
        except Exception:
            self._dataFailed = Failure()
            _log.failure("Error creating the message", self._dataFailed)
            return
        if header:
            for line in header.split(b"\r\n") if b"\r\n" in header else header.split(b"\n"):
                self._lineToMessages(line)

    def _lineToMessages(self, line: bytes) -> None:
        for message in self._messages:
            message.lineReceived(line)

    def _feedMessages(self, data: bytes) -> None:
        if self._dataFailed is not None:
            return
        lines = (self._partial + data if self._partial else data).split(b"\r\n")
        self._partial = lines.pop()
        try:
            # Each message gets every line (the loop runs in C); messages are independent.
            for message in self._messages:
                _consume(map(message.lineReceived, lines))
        except Exception:
            self._dataFailed = Failure()
            _log.failure("Error writing the message", self._dataFailed)

    def _finishMessage(self) -> None:
        codec = self._codec
        assert codec is not None
        if self._partial and self._dataFailed is None:
            self._lineToMessages(self._partial)
        self._partial = b""
        messages, self._messages = self._messages, []
        self._users = []
        if self._dataFailed is not None:
            for m in messages:
                m.connectionLost()
            codec.rejectMessage(451, b"Requested action aborted: local error", b"4.3.0")
            self._answered()
            return
        ds = [defer.maybeDeferred(m.eomReceived) for m in messages]

        def done(results: list[tuple[bool, Any]]) -> None:
            failures = [r for ok, r in results if not ok]
            if not failures:
                codec.acceptMessage()
                return
            self._reject(failures[0], codec.rejectMessage)

        if len(ds) == 1:
            # The common case, without a DeferredList.
            d: defer.Deferred[Any] = ds[0].addCallbacks(
                lambda _: done([(True, None)]), lambda f: done([(False, f)])
            )
        else:
            d = defer.DeferredList(ds, consumeErrors=True).addCallback(done)
        d.addBoth(lambda _: self._answered())

    def _abandonMessages(self) -> None:
        messages, self._messages = self._messages, []
        for m in messages:
            try:
                m.connectionLost()
            except Exception:
                _log.failure("Error abandoning a message")

    # -- AUTH ----------------------------------------------------------------------------

    def _authenticate(self, event: AuthRequested) -> None:
        codec = self._codec
        assert codec is not None
        creds: Any
        if event.mechanism == "CRAM-MD5":
            assert event.challenge is not None and event.response is not None
            creds = CramMD5Credentials(event.username, event.challenge, event.response)
        elif event.mechanism == "LOGIN":
            creds = LOGINCredentials(event.username, event.password or b"")
        else:
            creds = PLAINCredentials(event.username, event.password or b"")
        if self.portal is None:
            codec.authFailed()
            return
        d = self.portal.login(creds, None, IMessageDelivery)

        def ok(result: Any) -> None:
            _iface, avatar, logout = result
            self.delivery = avatar
            self._logout = logout
            codec.authSucceeded()

        def bad(failure: Failure) -> None:
            from glisten.cred.error import LoginFailed, UnhandledCredentials

            if not failure.check(LoginFailed, UnhandledCredentials):
                _log.failure("Error checking credentials", failure)
                codec.authFailed(temporary=True)
            else:
                codec.authFailed()

        d.addCallbacks(ok, bad).addBoth(lambda _: self._answered())

    ctx: Any = None


class ESMTP(SMTP):
    """An ESMTP server connection: ``EHLO``, PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
    ENHANCEDSTATUSCODES, CHUNKING, DSN, and STARTTLS and AUTH when configured.

    :param chal: SASL mechanisms to offer, name -> credentials class (Twisted's
        ``challengers``); ``PLAIN``, ``LOGIN`` and ``CRAM-MD5`` are known.
    :param contextFactory: TLS server options; with them STARTTLS is offered.
    :ivar authOverPlaintext: Offer AUTH before STARTTLS too (off: PLAIN and LOGIN would show
        passwords to anyone on the path).
    :ivar requireAuthentication: ``MAIL`` needs AUTH first (a submission server).
    :ivar requireTransportSecurity: ``MAIL`` needs STARTTLS first.
    """

    _esmtp = True
    authOverPlaintext = False
    requireAuthentication = False
    requireTransportSecurity = False

    def __init__(self, chal: Any = None, contextFactory: Any = None) -> None:
        super().__init__()
        if chal is None:
            chal = {}
        self.challengers: dict[bytes, Any] = dict(chal)
        self.ctx = contextFactory

    def _codecOptions(self) -> dict[str, Any]:
        mechanisms = tuple(
            name.decode("ascii").upper() if isinstance(name, bytes) else str(name).upper()
            for name in self.challengers
        )
        return {
            "esmtp": True,
            "tlsAvailable": self.ctx is not None,
            "authMechanisms": mechanisms,
            "authWithoutTLS": self.authOverPlaintext,
            "requireAuth": self.requireAuthentication,
            "requireTLS": self.requireTransportSecurity,
        }

    def extensions(self) -> dict[bytes, list[bytes]]:
        """:return: the extensions the ``EHLO`` reply offers, Twisted-style."""
        codec = self._codec
        ext: dict[bytes, list[bytes]] = {
            b"PIPELINING": [],
            b"SIZE": [b"%d" % self.limits.maxMessageSize],
            b"8BITMIME": [],
            b"ENHANCEDSTATUSCODES": [],
            b"SMTPUTF8": [],
            b"CHUNKING": [],
            b"DSN": [],
        }
        if codec is not None and codec.offersStartTLS:
            ext[b"STARTTLS"] = []
        if codec is not None and codec.offersAuth:
            ext[b"AUTH"] = [m.encode("ascii") for m in codec.authMechanisms]
        return ext


class SMTPFactory(ServerFactory):
    """Builds :class:`SMTP` connections; sets their ``host``, ``portal`` and ``factory``.

    :ivar domain: The host name for greetings (default: this host's FQDN).
    :ivar portal: A :class:`glisten.cred.portal.Portal` for AUTH (avatars are deliveries).
    :ivar timeout: The idle timeout of every connection.
    """

    protocol: Any = SMTP
    domain: bytes | str = DNSNAME
    timeout: float | None = 600
    portal: Any = None
    limits: Limits | None = None

    def __init__(self, portal: Any = None) -> None:
        self.portal = portal

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol()
        p.portal = self.portal
        p.host = _asBytes(self.domain)
        p.timeout = self.timeout
        p.factory = self
        if self.limits is not None:
            p.limits = self.limits
        return p
