"""Twisted's smtpclient_simple and sendmail_message examples as one program: ``sendmail``
with a ``MIMEText`` message, first as bytes, then as the message object itself. A small
ESMTP server in the same process stands in for the mail host and prints what it gets."""

from email.mime.text import MIMEText

from zope.interface import implementer

from glisten.internet import defer, reactor
from glisten.mail import smtp
from glisten.mail.smtp import sendmail


@implementer(smtp.IMessage)
class PrintedMessage:
    def __init__(self, recipient):
        self.recipient = recipient
        self.lines = []

    def lineReceived(self, line):
        self.lines.append(line)

    def eomReceived(self):
        print("server: message for", self.recipient)
        for line in self.lines:
            print("server: |", line.decode())
        return defer.succeed(None)

    def connectionLost(self):
        self.lines = []


@implementer(smtp.IMessageDelivery)
class PrintingDelivery:
    def receivedHeader(self, helo, origin, recipients):
        return b"Received: from a porting test"

    def validateFrom(self, helo, origin):
        return origin

    def validateTo(self, user):
        if user.dest.domain != b"example.com":
            raise smtp.SMTPBadRcpt(user)
        recipient = (user.dest.local + b"@" + user.dest.domain).decode()
        return lambda: PrintedMessage(recipient)


class PrintingSMTPFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def buildProtocol(self, addr):
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = PrintingDelivery()
        return p


def send(message, subject, sender, recipients, host, port):
    """Send a text message to one or more addresses (smtpclient_simple's ``send``)."""
    msg = MIMEText(message)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    # Twisted's example passes msg.as_string(), which Twisted's sendmail cannot take on
    # Python 3 (glisten's can); bytes work with both.
    return sendmail(host, sender, recipients, msg.as_bytes(), port=port)


def report(result):
    numOk, addresses = result
    print("sent to %d recipient(s):" % numOk, [code for _address, code, _text in addresses])


def failed(error):
    print("failed:", error.__class__.__name__, error.code)


@defer.inlineCallbacks
def main():
    factory = PrintingSMTPFactory()
    factory.noisy = False
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    number = port.getHost().port
    try:
        result = yield send(
            "This is the message body",
            "This is the message subject",
            "sender@example.com",
            ["recipient@example.com"],
            "127.0.0.1",
            number,
        )
        report(result)

        # sendmail_message: the message object itself, to two recipients.
        me = "alice@example.com"
        to = ["bob@example.com", "charlie@example.com"]
        message = MIMEText("This is my super awesome email, sent by a ported program!")
        message["Subject"] = "Porting is easy!"
        message["From"] = me
        message["To"] = ", ".join(to)
        result = yield sendmail("127.0.0.1", me, to, message, port=number)
        report(result)

        # Every recipient refused: the Deferred fails.
        yield sendmail("127.0.0.1", me, ["eve@example.net"], b"Subject: no\n\nno", port=number)
    except smtp.SMTPClientError as e:
        failed(e)
    finally:
        yield port.stopListening()
        reactor.stop()


if __name__ == "__main__":
    reactor.callWhenRunning(main)
    reactor.run()
