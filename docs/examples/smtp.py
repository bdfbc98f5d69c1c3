"""An SMTP server that delivers mail for its users into maildirs, and ``sendmail`` sending it
a message, in one program.

A ``MailService`` holds the domains it accepts mail for; a ``MaildirDirdbmDomain`` keeps one
maildir per user (and their hashed passwords, for POP3/IMAP4 logins). ``ESMTPFactory`` serves
the service. Mail for unknown users is refused with 550, and mail for other domains is only
relayed for authenticated or loopback clients when a relay is configured: never an open relay.
"""

from __future__ import annotations

import email
import os
import tempfile
from email.message import EmailMessage
from typing import Any

from glisten.internet import defer, task
from glisten.mail import mail, maildir, protocols, smtp


async def main(reactor: Any) -> None:
    root = tempfile.mkdtemp()
    service = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(service, os.path.join(root, "example.org"))
    domain.addUser("alice", "a long passphrase")
    service.addDomain("example.org", domain)
    factory = protocols.ESMTPFactory(service)
    factory.domain = b"mx.example.org"
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")

    message = EmailMessage()
    message["From"] = "bob@example.com"
    message["To"] = "alice@example.org"
    message["Subject"] = "lunch?"
    message.set_content("Noon at the usual place.\n")

    async def send(recipient: str) -> int:
        numOk, _ = await smtp.sendmail(
            "127.0.0.1",
            "bob@example.com",
            [recipient],
            message,
            port=port.getHost().port,
            reactor=reactor,
        )
        return int(numOk)

    print(f"accepted for {await send('alice@example.org')} recipient(s)")
    try:
        await send("nobody@example.org")
    except smtp.SMTPDeliveryError as e:
        print(f"refused: {e.code}")

    # The message is a file in alice's maildir; MaildirMailbox is what POP3 serves from.
    mailbox = maildir.MaildirMailbox(domain.userDirectory("alice"))
    for index in range(len(mailbox.listMessages())):
        with mailbox.getMessage(index) as f:
            received = f.read()
        parsed = email.message_from_bytes(received)
        print(f"in alice's maildir: {parsed['Subject']!r} from {parsed['From']}")
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
