"""Twisted's "emailserver" tutorial, renamed: an ESMTP server that prints each message for
``console@...`` and refuses other recipients, plus a client sending it one message.

Run: ``hatch run python examples/mail_server.py``.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.internet import defer
from glisten.internet.task import react
from glisten.mail import smtp


@implementer(smtp.IMessageDelivery)
class ConsoleMessageDelivery:
    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: ConsoleMessageDelivery"

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        # All addresses are accepted
        return origin

    def validateTo(self, user: smtp.User) -> Any:
        # Only messages directed to the "console" user are accepted.
        if user.dest.local == b"console":
            return lambda: ConsoleMessage()
        raise smtp.SMTPBadRcpt(user)


@implementer(smtp.IMessage)
class ConsoleMessage:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> defer.Deferred[None]:
        print("New message received:")
        print(b"\n".join(self.lines).decode())
        self.lines = []
        return defer.succeed(None)

    def connectionLost(self) -> None:
        # There was an error, throw away the stored lines
        self.lines = []


class ConsoleSMTPFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def __init__(self, *a: Any, **kw: Any) -> None:
        smtp.SMTPFactory.__init__(self, *a, **kw)
        self.delivery = ConsoleMessageDelivery()

    def buildProtocol(self, addr: Any) -> Any:
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = self.delivery
        p.challengers = {"LOGIN": smtp.LOGINCredentials, "PLAIN": smtp.PLAINCredentials}
        return p


async def main(reactor: Any) -> None:
    port = reactor.listenTCP(0, ConsoleSMTPFactory(), interface="127.0.0.1")
    try:
        result = await smtp.sendmail(
            "127.0.0.1",
            "me@example.org",
            ["console@example.com"],
            b"Subject: hello\r\n\r\nHello, console!\r\n",
            port=port.getHost().port,
            reactor=reactor,
        )
        print("accepted by", result[0], "recipient(s)")
    finally:
        await port.stopListening()


if __name__ == "__main__":
    react(lambda reactor: defer.ensureDeferred(main(reactor)))
