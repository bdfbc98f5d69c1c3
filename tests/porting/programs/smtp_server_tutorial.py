"""The last step of Twisted's SMTP server tutorial (smtpserver-8): an ESMTP factory whose
protocols get an ``IMessageDeliveryFactory``, so every transaction has its own
``IMessageDelivery``; each accepted recipient's copy is written to a file
``tutorial-smtp.N`` in the current folder. A client then sends two messages (one with two
recipients) and the program prints the files."""

import os

from zope.interface import implementer

from glisten.internet import defer, protocol, reactor
from glisten.mail import smtp

written = []


@implementer(smtp.IMessage)
class FileMessage:
    def __init__(self, fileObj):
        self.fileObj = fileObj

    def lineReceived(self, line):
        self.fileObj.write(line + b"\n")

    def eomReceived(self):
        self.fileObj.close()
        return defer.succeed(None)

    def connectionLost(self):
        self.fileObj.close()
        os.remove(self.fileObj.name)


@implementer(smtp.IMessageDelivery)
class TutorialDelivery:
    def __init__(self, number):
        self.number = number
        print("delivery %d for a new transaction" % number)

    def validateTo(self, user):
        fileName = "tutorial-smtp.%d" % len(written)
        written.append(fileName)
        return lambda: FileMessage(open(fileName, "wb"))

    def validateFrom(self, helo, origin):
        return origin

    def receivedHeader(self, helo, origin, recipients):
        return b"Received: Tutorially."


@implementer(smtp.IMessageDeliveryFactory)
class TutorialDeliveryFactory:
    def __init__(self):
        self.made = 0

    def getMessageDelivery(self):
        self.made += 1
        return TutorialDelivery(self.made)


class TutorialESMTPFactory(protocol.ServerFactory):
    protocol = smtp.ESMTP

    def buildProtocol(self, addr):
        p = self.protocol()
        p.deliveryFactory = TutorialDeliveryFactory()
        p.factory = self
        return p


@defer.inlineCallbacks
def main():
    factory = TutorialESMTPFactory()
    factory.noisy = False
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    number = port.getHost().port
    try:
        for recipients, body in (
            (["one@example.com"], b"Subject: first\n\nThe first message.\n"),
            (["two@example.com", "three@example.com"], b"Subject: second\n\nTwo copies.\n"),
        ):
            numOk, _ = yield smtp.sendmail(
                "127.0.0.1", "tutor@example.com", recipients, body, port=number
            )
            print("accepted for %d recipient(s)" % numOk)
        for fileName in written:
            with open(fileName, "rb") as f:
                print(fileName, f.read().decode().splitlines())
    finally:
        yield port.stopListening()
        reactor.stop()


if __name__ == "__main__":
    reactor.callWhenRunning(main)
    reactor.run()
