"""The SMTP client protocols (Twisted's ``SMTPClient``, ``ESMTPClient``, the sender factories
and ``sendmail``): thin adapters from a transport to
:class:`glisten.mail._smtp.ClientConnection`."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from zope.interface import implementer

from glisten.internet import defer, error, interfaces
from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Protocol
from glisten.mail._driver import CodecDriver
from glisten.mail._smtp import ClientConnection
from glisten.mail._smtp._events import (
    Closed,
    MessageSent,
    Ready,
    RecipientResult,
    SendData,
    SessionFailed,
    TLSRequested,
    TransactionFailed,
)
from glisten.mail._smtp._sasl import cramResponse
from glisten.mail._smtpcommon import (
    DNSNAME,
    SUCCESS,
    Address,
    AUTHDeclinedError,
    AUTHRequiredError,
    IClientAuthentication,
    SMTPClientError,
    SMTPConnectError,
    SMTPDeliveryError,
    SMTPProtocolError,
    SMTPTimeoutError,
    TLSRequiredError,
    quoteaddr,
)
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure

_CHUNK = 64 * 1024


def _addr(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value.strip(b"<> ")
    if isinstance(value, str):
        return value.strip("<> ").encode("utf-8")
    return quoteaddr(value)[1:-1]


class _Log:
    """The last lines of a session, for error messages (Twisted's ``LineLog``)."""

    def __init__(self, size: int = 10) -> None:
        self.size = size
        self.lines: list[bytes] = []

    def append(self, line: bytes) -> None:
        self.lines.append(line)
        del self.lines[: -self.size]

    def str(self) -> bytes:
        return b"\n".join(self.lines)

    __bytes__ = str

    def clear(self) -> None:
        self.lines = []


class SMTPClient(CodecDriver, Protocol, TimeoutMixin):
    """Sends mail over one connection: subclasses provide the transactions.

    Override :meth:`getMailFrom` (``None`` ends the session), :meth:`getMailTo`,
    :meth:`getMailData` and :meth:`sentMail`, as with Twisted.

    :param identity: The name to give in ``HELO``/``EHLO``.
    :ivar timeout: Seconds to wait for the server before giving up.
    :ivar maxCommandsPerTurn: Server replies acted on per turn of the reactor (64); the rest
        of a read wait, reading paused, for the next turn, so a server's flood of replies
        cannot stall the process's other connections.
    """

    timeout: float | None = 300
    _esmtp = False

    def __init__(self, identity: bytes | str | None = None, logsize: int = 10) -> None:
        if isinstance(identity, str):
            identity = identity.encode("idna")
        self.identity = identity or DNSNAME
        self.log = _Log(logsize)
        self._codec: ClientConnection | None = None
        self._results: list[tuple[bytes, int, bytes]] = []
        self._closing = False

    # -- what subclasses provide ----------------------------------------------------------

    def getMailFrom(self) -> Any:
        """:return: the sender of the next message, or ``None`` to end the session."""
        raise NotImplementedError

    def getMailTo(self) -> Iterable[Any]:
        """:return: the recipients of the current message."""
        raise NotImplementedError

    def getMailData(self) -> Any:
        """:return: a file-like object with the current message (``read()`` gives bytes)."""
        raise NotImplementedError

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        """The current message was sent (or failed at the data stage)."""

    def getDSNParameters(self) -> dict[str, Any]:
        """The DSN parameters of the current message.

        :return: RFC 3461 parameters (``ret``, ``envid``, ``notify``), sent when the server
            supports DSN; none by default.
        """
        return {}

    def sendError(self, exc: Exception) -> None:
        """The session failed with ``exc``: close the connection."""
        if self.transport is not None:
            self._flush()
            self.transport.loseConnection()

    def _codecOptions(self) -> dict[str, Any]:
        return {"esmtp": False}

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        secure = bool(interfaces.ISSLTransport.providedBy(self.transport))
        self._codec = ClientConnection(self.identity, secure=secure, **self._codecOptions())
        self.setTimeout(self.timeout)

    def dataReceived(self, data: bytes) -> None:
        for line in data.splitlines()[-self.log.size :]:
            self.log.append(b"<<< " + line)
        super().dataReceived(data)

    def timeoutConnection(self) -> None:
        self.sendError(
            SMTPTimeoutError(-1, b"Timeout waiting for SMTP server response", self.log.str())
        )

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self._disconnected = True
        self._stopTurns()
        codec = self._codec
        if codec is not None and codec.state.value not in ("closed", "quit"):
            self._codec = None
            self.sendError(SMTPConnectError(-1, b"Connection lost", self.log.str(), isFatal=True))

    def _flush(self) -> None:
        if self._codec is not None:
            out = self._codec.dataToSend()
            if out:
                self._write(out)

    def _write(self, data: bytes) -> None:
        for line in data.split(b"\r\n")[:3]:
            if line and not line.startswith(b"AUTH"):
                self.log.append(b">>> " + line[:200])
        self.transport.write(data)

    # -- events --------------------------------------------------------------------------

    def _handle(self, event: Any) -> None:
        codec = self._codec
        assert codec is not None
        if isinstance(event, Ready):
            self._nextMessage()
            self._acted()
        elif isinstance(event, RecipientResult):
            self._results.append((event.recipient, event.reply.code, event.reply.text))
        elif isinstance(event, SendData):
            self._sendData()
            self._acted()
        elif isinstance(event, MessageSent):
            self.sentMail(
                event.reply.code, event.reply.text, len(event.accepted), self._results, self.log
            )
            self._results = []
        elif isinstance(event, TransactionFailed):
            self._transactionFailed(event)
        elif isinstance(event, TLSRequested):
            self._flush()
            self.transport.startTLS(self.context)
            codec.tlsStarted()
            self._acted()
        elif isinstance(event, SessionFailed):
            self.sendError(self._sessionError(event))
        elif isinstance(event, Closed):
            self.transport.loseConnection()

    def _acted(self) -> None:
        """The application answered what the codec waited for: it may read on (in this
        turn's loop when called while events are handled)."""
        if self._codec is not None and not self._disconnected:
            self._process(b"")

    context: Any = None

    def _sessionError(self, event: SessionFailed) -> Exception:
        code = event.reply.code if event.reply is not None else -1
        text = event.reply.text if event.reply is not None else event.reason.encode()
        log = self.log.str()
        if event.stage == "tls":
            return TLSRequiredError(code, text or b"TLS not available", log)
        if event.stage == "auth":
            if event.reply is None:
                return AUTHRequiredError(code, text, log)
            return AUTHDeclinedError(code, text, log)
        if event.stage == "greeting":
            return SMTPConnectError(code, text, log, isFatal=True)
        return SMTPProtocolError(code, text, log, isFatal=True)

    def _transactionFailed(self, event: TransactionFailed) -> None:
        results = self._results
        self._results = []
        if event.stage == "message":
            self.sentMail(event.reply.code, event.reply.text, 0, results, self.log)
            return
        text = event.reply.text
        if event.stage == "rcpt":
            text = b"No recipients accepted"
        # A refused sender decides alone: the recipients' replies (503s when pipelined) say
        # nothing about them.
        addresses = results if event.stage == "rcpt" else None
        self.smtpTransferFailed(
            SMTPDeliveryError(event.reply.code, text, self.log.str(), addresses)
        )

    def smtpTransferFailed(self, exc: SMTPClientError) -> None:
        """A transaction failed before the data (sender or every recipient refused);
        Twisted's clients fail the session: so does this one."""
        self.sendError(exc)

    def _nextMessage(self) -> None:
        codec = self._codec
        assert codec is not None
        sender = self.getMailFrom()
        if sender is None:
            self._write(codec.quit())
            return
        recipients = [_addr(r) for r in self.getMailTo()]
        if not recipients:
            self.sendError(SMTPDeliveryError(-1, b"No recipients", self.log.str()))
            return
        self._file = self.getMailData()
        size = None
        data = None
        if isinstance(self._file, io.BytesIO):
            data = self._file.getvalue()[self._file.tell() :]
            size = len(data)
        dsn = self.getDSNParameters()
        envid = dsn.get("envid")
        events = codec.sendMessage(
            _addr(sender),
            recipients,
            size=size,
            eightBit=bool(data) and not data.isascii() if data is not None else False,
            ret=dsn.get("ret"),
            envid=envid.encode("utf-8") if isinstance(envid, str) else envid,
            notify=tuple(dsn.get("notify") or ()),
        )
        for event in events:
            self._handle(event)

    def _sendData(self) -> None:
        codec = self._codec
        assert codec is not None
        # Commands still owed go first (replies read ahead in one turn may have queued some).
        self._flush()
        if isinstance(self._file, io.BytesIO):
            # In memory already: one write for the text and its end (one system call).
            data = self._file.read()
            self.transport.write(codec.sendData(data) + codec.endData())
            return
        read = self._file.read
        pending = b""
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if pending:
                self.transport.write(pending)
            pending = codec.sendData(chunk)
        self.transport.write(pending + codec.endData())


class ESMTPClient(SMTPClient):
    """An SMTP client that uses ESMTP: STARTTLS, AUTH, PIPELINING, SIZE, 8BITMIME.

    :param secret: The password for AUTH (with :attr:`username`).
    :param contextFactory: TLS client options for STARTTLS (use
        :func:`glisten.internet.ssl.optionsForClientTLS`, which verifies the server).
    :ivar requireAuthentication: Fail rather than send without AUTH.
    :ivar requireTransportSecurity: Fail rather than send without TLS.
    :ivar heloFallback: Accepted for compatibility; the client always falls back to ``HELO``
        when ``EHLO`` is refused and nothing requires ESMTP.
    """

    _esmtp = True
    requireAuthentication = False
    requireTransportSecurity = False
    heloFallback = True
    username: bytes | None = None

    def __init__(
        self, secret: bytes | str | None, contextFactory: Any = None, *args: Any, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self.secret = secret
        self.context = contextFactory
        self.authenticators: list[Any] = []

    def registerAuthenticator(self, auth: Any) -> None:
        """Add a SASL mechanism (Twisted's API); the mechanism's name is what counts here,
        the codec runs PLAIN, LOGIN and CRAM-MD5 itself."""
        self.authenticators.append(auth)

    def _codecOptions(self) -> dict[str, Any]:
        username = self.username
        for auth in self.authenticators:
            username = username or getattr(auth, "user", None)
        if isinstance(username, str):
            username = username.encode("utf-8")
        return {
            "esmtp": True,
            "tlsAvailable": self.context is not None,
            "requireTLS": self.requireTransportSecurity,
            "username": username if self.secret is not None else None,
            "password": self.secret,
            "requireAuth": self.requireAuthentication,
        }


@implementer(IClientAuthentication)
class CramMD5ClientAuthenticator:
    """CRAM-MD5 on the client side (Twisted's name)."""

    def __init__(self, user: bytes) -> None:
        self.user = user

    def getName(self) -> bytes:
        return b"CRAM-MD5"

    def challengeResponse(self, secret: bytes, chal: bytes) -> bytes:
        return cramResponse(self.user, secret, chal)


@implementer(IClientAuthentication)
class LOGINAuthenticator:
    """LOGIN on the client side (Twisted's name)."""

    def __init__(self, user: bytes) -> None:
        self.user = user
        self.challengeResponse = self.challengeUsername

    def getName(self) -> bytes:
        return b"LOGIN"

    def challengeUsername(self, secret: bytes, chal: bytes) -> bytes:
        self.challengeResponse = self.challengeSecret
        return self.user

    def challengeSecret(self, secret: bytes, chal: bytes) -> bytes:
        return secret


@implementer(IClientAuthentication)
class PLAINAuthenticator:
    """PLAIN on the client side (Twisted's name)."""

    def __init__(self, user: bytes) -> None:
        self.user = user

    def getName(self) -> bytes:
        return b"PLAIN"

    def challengeResponse(self, secret: bytes, chal: bytes = b"") -> bytes:
        return b"\0" + self.user + b"\0" + secret


class SenderMixin:
    """What the sender factories' protocols share: one message, result to the factory."""

    done = False
    factory: Any
    transport: Any

    def getMailFrom(self) -> Any:
        if not self.done:
            self.done = True
            return self.factory.fromEmail
        return None

    def getMailTo(self) -> Any:
        return self.factory.toEmail

    def getMailData(self) -> Any:
        return self.factory.file

    def getDSNParameters(self) -> dict[str, Any]:
        return dict(getattr(self.factory, "dsn", None) or {})

    def sendError(self, exc: Exception) -> None:
        SMTPClient.sendError(self, exc)  # type: ignore[arg-type]
        self.factory._fail(exc)

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        self.factory.sendFinished = True
        if code not in SUCCESS:
            self.factory._fail(SMTPDeliveryError(code, resp, log.str() if log else None, addresses))
        else:
            self.factory._succeed((numOk, list(addresses)))


class SMTPSender(SenderMixin, SMTPClient):
    """Sends the one message of an :class:`SMTPSenderFactory`."""


class ESMTPSender(SenderMixin, ESMTPClient):
    """Sends the one message of an :class:`ESMTPSenderFactory`."""

    def __init__(
        self,
        username: bytes | str,
        secret: bytes | str | None,
        contextFactory: Any = None,
        *args: Any,
        **kw: Any,
    ) -> None:
        super().__init__(secret, contextFactory, *args, **kw)
        if isinstance(username, str):
            username = username.encode("utf-8")
        self.username = username
        if username is not None:
            self.registerAuthenticator(CramMD5ClientAuthenticator(username))
            self.registerAuthenticator(LOGINAuthenticator(username))
            self.registerAuthenticator(PLAINAuthenticator(username))


class SMTPSenderFactory(ClientFactory):
    """Sends one message; ``deferred`` fires with ``(numOk, [(address, code, resp)])``.

    :param fromEmail: The sender.
    :param toEmail: A recipient or a list of them.
    :param file: A file-like object with the message.
    :param deferred: Fired with the result or an :class:`SMTPClientError`.
    :param retries: Connection attempts after the first one fails.
    :param timeout: Seconds to wait for the server.
    """

    domain = DNSNAME
    protocol: Any = SMTPSender
    #: RFC 3461 parameters for the message (``ret``, ``envid``, ``notify``), if any.
    dsn: dict[str, Any] | None = None

    def __init__(
        self,
        fromEmail: Any,
        toEmail: Any,
        file: Any,
        deferred: defer.Deferred[Any],
        retries: int = 5,
        timeout: float | None = None,
    ) -> None:
        self.fromEmail = Address(fromEmail)
        if isinstance(toEmail, (str, bytes, Address)):
            toEmail = [toEmail]
        self.toEmail = [Address(t) for t in toEmail]
        self.file = file
        self.result = deferred
        self.sendFinished = False
        self.currentProtocol: Any = None
        self.retries = -retries
        self.timeout = timeout

    def _succeed(self, value: Any) -> None:
        if not self.result.called:
            self.result.callback(value)

    def _fail(self, exc: Exception) -> None:
        if not self.result.called:
            self.result.errback(Failure(exc))

    def clientConnectionFailed(self, connector: Any, err: Failure) -> None:
        self._processConnectionError(connector, err)

    def clientConnectionLost(self, connector: Any, err: Failure) -> None:
        self._processConnectionError(connector, err)

    def _processConnectionError(self, connector: Any, err: Failure) -> None:
        self.currentProtocol = None
        if self.result.called or self.sendFinished:
            return
        if self.retries < 0:
            self.retries += 1
            if hasattr(self.file, "seek"):
                self.file.seek(0)
            connector.connect()
            return
        value = err.value
        if isinstance(value, error.ConnectionDone):
            value = SMTPConnectError(-1, b"Unable to connect to server.")
        self._fail(value if isinstance(value, Exception) else SMTPConnectError(-1, str(value)))

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol(self.domain, 10)
        p.factory = self
        if self.timeout is not None:
            p.timeout = self.timeout
        self.currentProtocol = p
        self.result.addBoth(self._removeProtocol)
        return p

    def _removeProtocol(self, result: Any) -> Any:
        if self.currentProtocol is not None:
            self.currentProtocol.transport.loseConnection()
            self.currentProtocol = None
        return result


class ESMTPSenderFactory(SMTPSenderFactory):
    """:class:`SMTPSenderFactory` with AUTH and STARTTLS, both required by default.

    :param contextFactory: TLS client options; by default, with ``hostname`` given, TLS that
        verifies the server's certificate for that name (Twisted's default verified nothing).
    :param hostname: The server's name, for certificate verification.
    """

    protocol = ESMTPSender

    def __init__(
        self,
        username: Any,
        password: Any,
        fromEmail: Any,
        toEmail: Any,
        file: Any,
        deferred: defer.Deferred[Any],
        retries: int = 5,
        timeout: float | None = None,
        contextFactory: Any = None,
        heloFallback: bool = False,
        requireAuthentication: bool = True,
        requireTransportSecurity: bool = True,
        hostname: str | None = None,
    ) -> None:
        super().__init__(fromEmail, toEmail, file, deferred, retries, timeout)
        self.username = username
        self.password = password
        if contextFactory is None and hostname is not None:
            from glisten.internet.ssl import optionsForClientTLS

            contextFactory = optionsForClientTLS(hostname)
        self._contextFactory = contextFactory
        self._heloFallback = heloFallback
        self._requireAuthentication = requireAuthentication
        self._requireTransportSecurity = requireTransportSecurity

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol(self.username, self.password, self._contextFactory, self.domain, 10)
        p.heloFallback = self._heloFallback
        p.requireAuthentication = self._requireAuthentication
        p.requireTransportSecurity = self._requireTransportSecurity
        p.factory = self
        if self.timeout is not None:
            p.timeout = self.timeout
        self.currentProtocol = p
        self.result.addBoth(self._removeProtocol)
        return p


def sendmail(
    smtphost: bytes | str,
    from_addr: Any,
    to_addrs: Any,
    msg: Any,
    senderDomainName: bytes | str | None = None,
    port: int = 25,
    reactor: Any = None,
    username: bytes | str | None = None,
    password: bytes | str | None = None,
    requireAuthentication: bool = False,
    requireTransportSecurity: bool = False,
) -> defer.Deferred[Any]:
    """Send one message through ``smtphost``; fires with ``(numOk, [(addr, code, resp)])``.

    STARTTLS is used whenever the server offers it, verifying its certificate for
    ``smtphost``; passwords are only sent under TLS or with CRAM-MD5.

    :param msg: The message: ``bytes``, ``str`` or a file-like object.
    """
    reactor = getReactor(reactor)
    if hasattr(msg, "as_bytes"):
        # An email.message.Message, as Twisted's documentation passes.
        msg = msg.as_bytes()
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    if isinstance(msg, bytes):
        msg = io.BytesIO(msg)
    if isinstance(smtphost, bytes):
        smtphost = smtphost.decode("idna")
    d: defer.Deferred[Any] = defer.Deferred(lambda _: connector.disconnect())
    factory = ESMTPSenderFactory(
        username,
        password,
        from_addr,
        to_addrs,
        msg,
        d,
        requireAuthentication=requireAuthentication,
        requireTransportSecurity=requireTransportSecurity,
        hostname=smtphost,
    )
    if senderDomainName is not None:
        factory.domain = (
            senderDomainName.encode("idna")
            if isinstance(senderDomainName, str)
            else senderDomainName
        )
    connector = reactor.connectTCP(smtphost, port, factory)
    return d
