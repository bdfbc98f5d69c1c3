"""Reading mail: the maildirs an SMTP server fills, served over POP3 and IMAP4, and read back
with glisten's own POP3 and IMAP4 clients.

The server side is what ``glisten mail --pop3 ... --imap ...`` runs: one ``MailService`` with a
``MaildirDirdbmDomain`` (a maildir and a scrypt-hashed password per user) behind
``POP3Factory`` and ``IMAP4Factory``. Both refuse passwords before TLS; this program lets them
through on loopback only (``authOverPlaintext`` / ``allowInsecureLogin``) to stay short. With a
certificate, clients call ``startTLS()`` first, which verifies it, and no opt-in is needed.
"""

from __future__ import annotations

import email
import os
import tempfile
from email.message import EmailMessage
from typing import Any

from glisten.internet import defer, endpoints, task
from glisten.mail import imap4, mail, maildir, pop3client, protocols


async def deliver(domain: maildir.MaildirDirdbmDomain, user: str, subject: str) -> None:
    """Write a message into a user's maildir through the ``IMessage`` the SMTP server uses:
    lines in, then ``eomReceived``, which fires once the file is durably in ``new/``."""
    message = EmailMessage()
    message["From"] = "bob@example.com"
    message["To"] = f"{user}@example.org"
    message["Subject"] = subject
    message.set_content("Noon at the usual place.\n")
    incoming = domain.startMessage(user)
    for line in message.as_bytes().splitlines():
        incoming.lineReceived(line)
    await incoming.eomReceived()


async def main(reactor: Any) -> None:
    service = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(service, os.path.join(tempfile.mkdtemp(), "example.org"))
    domain.addUser("alice", "a long passphrase")
    service.addDomain("example.org", domain)
    await deliver(domain, "alice", "lunch?")
    await deliver(domain, "alice", "the report")

    pop3Server = protocols.POP3Factory(service)
    pop3Server.authOverPlaintext = True  # loopback demo only: see the docstring
    imapServer = protocols.IMAP4Factory(service)
    imapServer.authOverPlaintext = True
    pop3Port = reactor.listenTCP(0, pop3Server, interface="127.0.0.1")
    imapPort = reactor.listenTCP(0, imapServer, interface="127.0.0.1")

    def connect(port: Any, client: Any) -> defer.Deferred[Any]:
        where = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return endpoints.connectProtocol(where, client)

    # POP3: list, download, delete the first message, quit (deletions happen at QUIT).
    pop = pop3client.POP3Client()
    pop.allowInsecureLogin = True
    await connect(pop3Port, pop)
    await pop.login(b"alice@example.org", b"a long passphrase")
    sizes = await pop.listSize()
    print(f"pop3: {len(sizes)} messages")
    first = email.message_from_bytes(b"\r\n".join(await pop.retrieve(0)))
    print(f"pop3: first is {first['Subject']!r}")
    await pop.delete(0)
    await pop.quit()

    # IMAP4: the same maildir is the INBOX; one message is left.
    imap = imap4.IMAP4Client()
    imap.allowInsecureLogin = True
    await connect(imapPort, imap)
    await imap.login(b"alice@example.org", b"a long passphrase")
    selected = await imap.select("INBOX")
    print(f"imap: INBOX has {selected['EXISTS']} message(s)")
    fetched = await imap.fetchMessage("1:*")
    for number, parts in sorted(fetched.items()):
        subject = email.message_from_bytes(parts["RFC822"])["Subject"]
        print(f"imap: {number} is {subject!r}")
    await imap.addFlags("1", ["\\Seen"])
    flags = await imap.fetchFlags("1")
    seen = "\\Seen" in flags[1]["FLAGS"]
    print(f"imap: 1 is seen: {seen}")
    await imap.logout()

    await pop3Port.stopListening()
    await imapPort.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
