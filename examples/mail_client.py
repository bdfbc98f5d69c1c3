"""Twisted's ``smtpclient`` tutorial and ``sendmail_message`` how-to, renamed: an
``ESMTPClient`` subclass that sends one message, then ``sendmail()`` with an
``email.mime`` message. A small local server stands in for the real one.

Run: ``hatch run python examples/mail_client.py``.
"""

from __future__ import annotations

import io
from email.mime.text import MIMEText
from typing import Any

from zope.interface import implementer

from glisten.internet import defer, protocol
from glisten.internet.task import react
from glisten.mail import smtp

mailData = """\
Date: Fri, 6 Feb 2004 10:14:39 -0800
From: Tutorial Guy <tutorial_sender@example.com>
To: Tutorial Gal <tutorial_recipient@example.net>
Subject: Tutorate!

Hello, how are you, goodbye.
"""


class SMTPTutorialClient(smtp.ESMTPClient):
    mailFrom: str | None = "tutorial_sender@example.com"
    mailTo = "tutorial_recipient@example.net"
    mailData = mailData

    def getMailFrom(self) -> Any:
        result = self.mailFrom
        self.mailFrom = None
        return result

    def getMailTo(self) -> Any:
        return [self.mailTo]

    def getMailData(self) -> Any:
        return io.StringIO(self.mailData)

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        print("Sent", numOk, "messages")
        self.factory.done.callback(None)


class SMTPClientFactory(protocol.ClientFactory):
    protocol = SMTPTutorialClient

    def __init__(self) -> None:
        self.done: defer.Deferred[None] = defer.Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol(secret=None, identity="example.com")
        p.factory = self
        return p


@implementer(smtp.IMessageDelivery)
class Sink:
    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> None:
        return None

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        return origin

    def validateTo(self, user: Any) -> Any:
        return lambda: Message(str(user.dest))


@implementer(smtp.IMessage)
class Message:
    def __init__(self, to: str) -> None:
        self.to = to
        self.subject = ""

    def lineReceived(self, line: bytes) -> None:
        if line.startswith(b"Subject: "):
            self.subject = line[9:].decode()

    def eomReceived(self) -> defer.Deferred[None]:
        print(f"server got {self.subject!r} for {self.to}")
        return defer.succeed(None)

    def connectionLost(self) -> None:
        pass


class SinkFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def buildProtocol(self, addr: Any) -> Any:
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = Sink()
        return p


async def main(reactor: Any) -> None:
    port = reactor.listenTCP(0, SinkFactory(), interface="127.0.0.1")
    number = port.getHost().port
    try:
        factory = SMTPClientFactory()
        reactor.connectTCP("127.0.0.1", number, factory)
        await factory.done

        me = "alice@example.com"
        to = ["bob@example.com", "charlie@example.com"]
        message = MIMEText("This is my super awesome email, sent with glisten!")
        message["Subject"] = "glisten is great!"
        message["From"] = me
        message["To"] = ", ".join(to)
        result = await smtp.sendmail("127.0.0.1", me, to, message, port=number, reactor=reactor)
        print("sendmail:", result[0], "recipients accepted")
    finally:
        await port.stopListening()


if __name__ == "__main__":
    react(lambda reactor: defer.ensureDeferred(main(reactor)))
