"""The last step of Twisted's SMTP client tutorial (smtpclient-11): an ``ESMTPClient``
subclass that sends one message (``getMailFrom``/``getMailTo``/``getMailData``/``sentMail``),
built by a ``ClientFactory`` and started by a ``TCPClient`` service. A server in the same
process prints what arrives."""

from io import BytesIO

from zope.interface import implementer

from glisten.application import internet, service
from glisten.internet import defer, protocol, reactor
from glisten.mail import smtp

mailData = b"""\
Date: Fri, 6 Feb 2004 10:14:39 -0800
From: Tutorial Guy <tutorial_sender@example.com>
To: Tutorial Gal <tutorial_recipient@example.net>
Subject: Tutorate!

Hello, how are you, goodbye.
"""


class SMTPTutorialClient(smtp.ESMTPClient):
    mailFrom = "tutorial_sender@example.com"
    mailTo = "tutorial_recipient@example.net"

    def getMailFrom(self):
        result = self.mailFrom
        self.mailFrom = None
        return result

    def getMailTo(self):
        return [self.mailTo]

    def getMailData(self):
        return BytesIO(mailData)

    def sentMail(self, code, resp, numOk, addresses, log):
        print("Sent", numOk, "messages")
        self.factory.done.callback(None)


class SMTPClientFactory(protocol.ClientFactory):
    protocol = SMTPTutorialClient
    noisy = False

    def __init__(self):
        self.done = defer.Deferred()

    def buildProtocol(self, addr):
        p = self.protocol(secret=None, identity="example.com")
        p.factory = self
        return p


@implementer(smtp.IMessage)
class Printed:
    def __init__(self):
        self.lines = []

    def lineReceived(self, line):
        self.lines.append(line.decode())

    def eomReceived(self):
        print("server got:", self.lines)
        return defer.succeed(None)

    def connectionLost(self):
        pass


@implementer(smtp.IMessageDelivery)
class Delivery:
    def receivedHeader(self, helo, origin, recipients):
        return None

    def validateFrom(self, helo, origin):
        print("server: HELO", helo[0].decode(), "from", origin.local.decode())
        return origin

    def validateTo(self, user):
        return Printed


class ServerFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP
    noisy = False

    def buildProtocol(self, addr):
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = Delivery()
        return p


@defer.inlineCallbacks
def main():
    port = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
    application = service.Application("SMTP Client Tutorial")
    factory = SMTPClientFactory()
    client = internet.TCPClient("127.0.0.1", port.getHost().port, factory)
    client.setServiceParent(application)
    service.IService(application).startService()
    try:
        yield factory.done
    finally:
        yield service.IService(application).stopService()
        yield port.stopListening()
        reactor.stop()


if __name__ == "__main__":
    reactor.callWhenRunning(main)
    reactor.run()
