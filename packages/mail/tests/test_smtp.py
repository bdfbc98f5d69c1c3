"""glisten.mail.smtp: the protocol adapters over in-memory transports and real sockets."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from zope.interface import implementer

from glisten.cred import checkers, portal
from glisten.internet import defer
from glisten.internet.testing import StringTransport
from glisten.mail import smtp

from .helpers import RecordingDelivery, makeCertificate, makeReactor, runUntil


class TLSStringTransport(StringTransport):
    def __init__(self) -> None:
        super().__init__()
        self.tlsStartedAt: int | None = None

    def startTLS(self, ctx: Any, normal: bool = True) -> None:
        self.tlsStartedAt = len(self.value())


def connect(proto: Any, transport: Any = None) -> Any:
    transport = transport or StringTransport()
    proto.makeConnection(transport)
    return transport


def codes(data: bytes) -> list[int]:
    return [int(line[:3]) for line in data.split(b"\r\n") if line[3:4] == b" "]


def esmtp(**kw: Any) -> smtp.ESMTP:
    p = smtp.ESMTP(**kw)
    p.host = b"mx.example.com"
    return p


def test_serverSession() -> None:
    delivery = RecordingDelivery()
    p = esmtp()
    p.delivery = delivery
    t = connect(p)
    assert t.value().startswith(b"220 mx.example.com ")
    p.dataReceived(
        b"EHLO client\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<x@example.com>\r\n"
        b"RCPT TO:<nobody@example.com>\r\nRCPT TO:<x@elsewhere.org>\r\nDATA\r\n"
    )
    p.dataReceived(b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
    assert codes(t.value()) == [220, 250, 250, 250, 550, 550, 354, 250, 221]
    assert delivery.messages == [b"Received: from client by test\nSubject: hi\n\n.dot"]
    assert t.disconnecting


def test_badSenderAndNoDelivery() -> None:
    p = esmtp()
    p.delivery = RecordingDelivery()
    t = connect(p)
    p.dataReceived(b"EHLO c\r\nMAIL FROM:<bad@b.org>\r\n")
    assert codes(t.value())[-1] == 550
    p = esmtp()
    t = connect(p)
    p.dataReceived(b"HELO c\r\nMAIL FROM:<a@b.org>\r\n")
    assert codes(t.value())[-1] == 503


@implementer(smtp.IMessageDelivery)
class SlowDelivery(RecordingDelivery):
    """Answers recipients later, to show pipelined replies stay in order."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[defer.Deferred[Any], Any]] = []

    def validateTo(self, user: smtp.User) -> Any:
        d: defer.Deferred[Any] = defer.Deferred()
        self.pending.append((d, user))
        return d


def test_asynchronousAnswersInOrder() -> None:
    delivery = SlowDelivery()
    p = esmtp()
    p.delivery = delivery
    t = connect(p)
    p.dataReceived(
        b"EHLO c\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<x@example.com>\r\n"
        b"RCPT TO:<y@example.com>\r\nNOOP\r\n"
    )
    assert codes(t.value()) == [220, 250, 250]
    d, user = delivery.pending.pop(0)
    d.errback(smtp.SMTPBadRcpt(user))
    assert codes(t.value())[-1] == 550
    d, user = delivery.pending.pop(0)
    d.callback(lambda: None)
    assert codes(t.value())[-2:] == [250, 250]


@implementer(smtp.IMessage)
class FailingMessage:
    def lineReceived(self, line: bytes) -> None:
        pass

    def eomReceived(self) -> Any:
        return defer.fail(OSError("disk full"))

    def connectionLost(self) -> None:
        pass


def test_eomFailureIsTemporary() -> None:
    delivery = RecordingDelivery()
    delivery.validateTo = lambda user: FailingMessage  # type: ignore[method-assign]
    p = esmtp()
    p.delivery = delivery
    t = connect(p)
    p.dataReceived(
        b"EHLO c\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<x@example.com>\r\nDATA\r\nx\r\n.\r\n"
    )
    assert codes(t.value())[-1] == 451


def test_bdatThroughAdapter() -> None:
    delivery = RecordingDelivery()
    p = esmtp()
    p.delivery = delivery
    t = connect(p)
    p.dataReceived(
        b"EHLO c\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<x@example.com>\r\n"
        b"BDAT 7\r\nline1\r\nBDAT 6 LAST\r\nline2\n"
    )
    assert codes(t.value())[-2:] == [250, 250]
    assert delivery.messages == [b"Received: from c by test\nline1\nline2\n"]


class Realm:
    def __init__(self, delivery: Any = None) -> None:
        self.delivery = delivery or RecordingDelivery()

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return smtp.IMessageDelivery, self.delivery, lambda: None


def authPortal(delivery: Any = None) -> portal.Portal:
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice="secret")
    return portal.Portal(Realm(delivery), [checker])


def test_startTLSAndAuth() -> None:
    p = esmtp(
        chal={b"PLAIN": smtp.PLAINCredentials, b"CRAM-MD5": smtp.CramMD5Credentials},
        contextFactory=object(),
    )
    p.portal = authPortal()
    t = TLSStringTransport()
    connect(p, t)
    p.dataReceived(b"EHLO c\r\n")
    assert b"STARTTLS" in t.value() and b"AUTH" not in t.value()
    p.dataReceived(b"STARTTLS\r\nMAIL FROM:<injected@x.org>\r\n")
    assert t.tlsStartedAt == len(t.value())
    assert t.value().endswith(b"220 2.0.0 Ready to start TLS\r\n")
    p.dataReceived(b"EHLO c\r\n")
    assert b"250-AUTH PLAIN CRAM-MD5\r\n" in t.value() or b"AUTH PLAIN CRAM-MD5" in t.value()
    p.dataReceived(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong") + b"\r\n")
    assert codes(t.value())[-1] == 535
    p.dataReceived(b"AUTH PLAIN " + base64.b64encode(b"\0alice\0secret") + b"\r\n")
    assert codes(t.value())[-1] == 235
    p.dataReceived(b"MAIL FROM:<a@b.org>\r\n")
    assert codes(t.value())[-1] == 250


def test_cramMD5Credentials() -> None:
    import hashlib
    import hmac

    digest = hmac.new(b"secret", b"<1@x>", hashlib.md5).hexdigest().encode()
    creds = smtp.CramMD5Credentials(b"alice", b"<1@x>", digest)
    assert creds.checkPassword(b"secret") and not creds.checkPassword(b"other")


def test_timeout() -> None:
    from glisten.internet.task import Clock

    clock = Clock()
    p = esmtp()
    p.clock = clock
    t = connect(p)
    clock.advance(601)
    assert t.value().endswith(b"421 4.4.2 Timeout, closing connection\r\n") and t.disconnecting


def test_address() -> None:
    a = smtp.Address(b"<user@Example.COM>")
    assert (a.local, a.domain) == (b"user", b"Example.COM") and str(a) == "user@Example.COM"
    assert smtp.Address("user", defaultDomain="example.org") == smtp.Address("user@example.org")
    with pytest.raises(smtp.AddressError):
        smtp.Address(b"a@@b")
    assert smtp.quoteaddr("Joe <joe@example.com>") == b"<joe@example.com>"
    assert smtp.xtext_encode("a+b=c") == (b"a+2Bb+3Dc", 5)
    assert smtp.xtext_decode(b"a+2Bb")[0] == "a+b"
    assert smtp.messageid() != smtp.messageid()
    assert b"," in smtp.rfc822date()
    assert str(smtp.SMTPBadRcpt("x@y.z")) == "550 <x@y.z>... Cannot receive for specified address"


# -- the client over a StringTransport ----------------------------------------------------


def test_senderFactory() -> None:
    d: defer.Deferred[Any] = defer.Deferred()
    f = smtp.SMTPSenderFactory(
        "a@b.org", ["x@example.com", "y@example.com"], io.BytesIO(b"Subject: hi\n\n.dot\n"), d
    )
    p = f.buildProtocol(None)
    t = connect(p)
    p.dataReceived(b"220 mx ESMTP\r\n")
    assert t.value().startswith(b"HELO ")
    t.clear()
    p.dataReceived(b"250 mx\r\n")
    assert t.value() == b"MAIL FROM:<a@b.org>\r\n"
    t.clear()
    p.dataReceived(b"250 ok\r\n250 ok\r\n550 no\r\n")
    assert t.value() == b"RCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n"
    t.clear()
    p.dataReceived(b"354 go\r\n")
    assert t.value() == b"Subject: hi\r\n\r\n..dot\r\n.\r\n"
    t.clear()
    p.dataReceived(b"250 queued\r\n")
    numOk, results = d.result
    assert numOk == 1 and results[1] == (b"y@example.com", 550, b"no")
    assert t.value() == b"QUIT\r\n"


def test_senderFactoryRefused() -> None:
    d: defer.Deferred[Any] = defer.Deferred()
    f = smtp.SMTPSenderFactory("a@b.org", "x@example.com", io.BytesIO(b"x"), d)
    p = f.buildProtocol(None)
    connect(p)
    p.dataReceived(b"220 mx\r\n250 mx\r\n250 ok\r\n550 no such user\r\n")
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures and isinstance(failures[0].value, smtp.SMTPDeliveryError)


def test_esmtpSenderRequiresTLS() -> None:
    d: defer.Deferred[Any] = defer.Deferred()
    f = smtp.ESMTPSenderFactory("alice", "pw", "a@b.org", "x@example.com", io.BytesIO(b"x"), d)
    p = f.buildProtocol(None)
    connect(p)
    p.dataReceived(b"220 mx\r\n250-mx\r\n250 AUTH PLAIN\r\n")
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert isinstance(failures[0].value, smtp.TLSRequiredError)


# -- real sockets ---------------------------------------------------------------------------


def _serve(reactor: Any, delivery: Any, tls: Any = None, portal_: Any = None) -> Any:
    class Factory(smtp.SMTPFactory):
        protocol = smtp.ESMTP

        def buildProtocol(self, addr: Any) -> Any:
            p = smtp.ESMTP({b"PLAIN": smtp.PLAINCredentials, b"LOGIN": smtp.LOGINCredentials}, tls)
            p.delivery = delivery
            p.portal = portal_
            p.host = b"localhost"
            p.factory = self
            return p

    return reactor.listenTCP(0, Factory(), interface="127.0.0.1")


def test_sendmailOverLoopback() -> None:
    reactor = makeReactor()
    delivery = RecordingDelivery()
    port = _serve(reactor, delivery)
    try:
        d = smtp.sendmail(
            "127.0.0.1",
            "a@b.org",
            ["x@example.com"],
            b"Subject: t\n\nbody\n",
            port=port.getHost().port,
            reactor=reactor,
        )
        numOk, _ = runUntil(reactor, d)
    finally:
        port.stopListening()
    assert numOk == 1
    assert delivery.messages == [b"Received: from localhost by test\nSubject: t\n\nbody"] or (
        delivery.messages[0].endswith(b"Subject: t\n\nbody")
    )


def test_esmtpSenderWithTLSAndAuth(tmp_path: Path) -> None:
    from glisten.internet import ssl

    cert, key = makeCertificate(tmp_path)
    serverTLS = ssl.DefaultOpenSSLContextFactory(str(key), str(cert))
    trust = ssl.Certificate.loadPEM(cert.read_bytes())
    reactor = makeReactor()
    delivery = RecordingDelivery()
    port = _serve(reactor, delivery, serverTLS, authPortal(delivery))
    try:
        d: defer.Deferred[Any] = defer.Deferred()
        f = smtp.ESMTPSenderFactory(
            "alice",
            "secret",
            "a@b.org",
            "x@example.com",
            io.BytesIO(b"Subject: tls\n\nhi\n"),
            d,
            contextFactory=ssl.optionsForClientTLS("localhost", trustRoot=trust),
            retries=0,
        )
        reactor.connectTCP("127.0.0.1", port.getHost().port, f)
        numOk, _ = runUntil(reactor, d)
    finally:
        port.stopListening()
    assert numOk == 1 and delivery.messages[0].endswith(b"Subject: tls\n\nhi")


def test_esmtpSenderRefusesUntrustedCertificate(tmp_path: Path) -> None:
    from glisten.internet import ssl

    cert, key = makeCertificate(tmp_path)
    reactor = makeReactor()
    port = _serve(
        reactor,
        RecordingDelivery(),
        ssl.DefaultOpenSSLContextFactory(str(key), str(cert)),
        authPortal(),
    )
    try:
        d: defer.Deferred[Any] = defer.Deferred()
        f = smtp.ESMTPSenderFactory(
            "alice",
            "secret",
            "a@b.org",
            "x@example.com",
            io.BytesIO(b"x"),
            d,
            hostname="localhost",
            retries=0,
        )
        reactor.connectTCP("127.0.0.1", port.getHost().port, f)
        with pytest.raises(Exception):  # noqa: B017 - a TLS or connection error
            runUntil(reactor, d)
    finally:
        port.stopListening()
