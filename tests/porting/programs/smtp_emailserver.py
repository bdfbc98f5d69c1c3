"""Twisted's "emailserver" example and its smtpclient_tls client in one program: an ESMTP
server in an ``Application`` that prints messages for ``console@...`` and refuses other
recipients, with AUTH (LOGIN and PLAIN against an in-memory checker, through a portal and a
realm) after STARTTLS; and an ``ESMTPSenderFactory`` that requires both TLS and AUTH.

Twisted's example compares ``user.dest.local`` with the string ``"console"``, which never
matches on Python 3 (the local part is bytes); this one compares bytes."""

import socket
from io import BytesIO

from zope.interface import implementer

from glisten.application import internet, service
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, reactor, ssl
from glisten.mail import smtp
from glisten.mail.imap4 import LOGINCredentials, PLAINCredentials
from glisten.python.modules import getModule

CERTIFICATE = getModule(__name__).filePath.sibling("server.pem").path


@implementer(smtp.IMessageDelivery)
class ConsoleMessageDelivery:
    def receivedHeader(self, helo, origin, recipients):
        return b"Received: ConsoleMessageDelivery"

    def validateFrom(self, helo, origin):
        # All senders are accepted.
        return origin

    def validateTo(self, user):
        # Only messages for the "console" user are accepted.
        if user.dest.local == b"console":
            return lambda: ConsoleMessage()
        raise smtp.SMTPBadRcpt(user)


@implementer(smtp.IMessage)
class ConsoleMessage:
    def __init__(self):
        self.lines = []

    def lineReceived(self, line):
        self.lines.append(line)

    def eomReceived(self):
        print("New message received:")
        print("\n".join(line.decode() for line in self.lines))
        self.lines = None
        return defer.succeed(None)

    def connectionLost(self):
        # Something went wrong: forget the lines.
        self.lines = None


class ConsoleSMTPFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def __init__(self, *a, **kw):
        smtp.SMTPFactory.__init__(self, *a, **kw)
        self.delivery = ConsoleMessageDelivery()

    def buildProtocol(self, addr):
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = self.delivery
        p.challengers = {b"LOGIN": LOGINCredentials, b"PLAIN": PLAINCredentials}
        p.ctx = ssl.DefaultOpenSSLContextFactory(CERTIFICATE, CERTIFICATE)
        return p


@implementer(IRealm)
class SimpleRealm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        if smtp.IMessageDelivery in interfaces:
            name = avatarId.decode() if isinstance(avatarId, bytes) else avatarId
            print("server: logged in as", name)
            return smtp.IMessageDelivery, ConsoleMessageDelivery(), lambda: None
        raise NotImplementedError()


def main(port):
    portal = Portal(SimpleRealm())
    checker = InMemoryUsernamePasswordDatabaseDontUse()
    checker.addUser(b"guest", b"password")
    portal.registerChecker(checker)

    a = service.Application("Console SMTP Server")
    factory = ConsoleSMTPFactory(portal)
    factory.noisy = False
    internet.TCPServer(port, factory, interface="127.0.0.1").setServiceParent(a)
    return a


def sendmail(port, username, password, fromEmail, toEmail, text):
    """smtpclient_tls's ``sendmail``: STARTTLS and AUTH required."""
    result = defer.Deferred()
    senderFactory = smtp.ESMTPSenderFactory(
        username,
        password,
        fromEmail,
        toEmail,
        BytesIO(text),
        result,
        contextFactory=ssl.ClientContextFactory(),
        requireTransportSecurity=True,
        requireAuthentication=True,
    )
    senderFactory.noisy = False
    reactor.connectTCP("127.0.0.1", port, senderFactory)
    return result


def freePort():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@defer.inlineCallbacks
def run():
    port = freePort()
    application = main(port)
    service.IService(application).startService()
    # Twisted's client turns each LF into CRLF (and a CRLF into CR CRLF): LF it is.
    text = b"Subject: over TLS\n\nHello, console!\n"
    try:
        numOk, addresses = yield sendmail(
            port, b"guest", b"password", "me@example.com", "console@example.com", text
        )
        print("sent to %d recipient(s):" % numOk, [code for _a, code, _t in addresses])
        try:
            yield sendmail(port, b"guest", b"password", "me@example.com", "x@example.com", text)
        except smtp.SMTPDeliveryError as e:
            print("refused:", e.code)
        try:
            yield sendmail(port, b"guest", b"wrong", "me@example.com", "console@example.com", text)
        except smtp.SMTPClientError as e:
            print("bad password:", e.__class__.__name__)
    finally:
        yield service.IService(application).stopService()
        reactor.stop()


if __name__ == "__main__":
    reactor.callWhenRunning(run)
    reactor.run()
