"""Twisted's ``smtpclient_tls`` example, renamed: ``ESMTPSenderFactory`` sending with
STARTTLS and AUTH. Twisted's version used an unverified ``ClientContextFactory``; here the
client verifies the server's certificate (a throwaway one made with ``openssl``, for a
small local server that stands in for the real one).

Run: ``hatch run python examples/mail_client_tls.py``.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from zope.interface import implementer

from glisten.cred import checkers, portal
from glisten.internet import defer, ssl
from glisten.internet.task import react
from glisten.mail import smtp


def sendmail(
    reactor: Any,
    authenticationUsername: str,
    authenticationSecret: str,
    fromAddress: str,
    toAddress: str,
    messageFile: Any,
    smtpHost: str,
    smtpPort: int,
    contextFactory: Any,
) -> defer.Deferred[Any]:
    resultDeferred: defer.Deferred[Any] = defer.Deferred()
    senderFactory = smtp.ESMTPSenderFactory(
        authenticationUsername,
        authenticationSecret,
        fromAddress,
        toAddress,
        messageFile,
        resultDeferred,
        contextFactory=contextFactory,
    )
    reactor.connectTCP(smtpHost, smtpPort, senderFactory)
    return resultDeferred


@implementer(smtp.IMessageDelivery)
class Printer:
    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> None:
        return None

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        return origin

    def validateTo(self, user: Any) -> Any:
        return lambda: Message()


@implementer(smtp.IMessage)
class Message:
    def lineReceived(self, line: bytes) -> None:
        print("server:", line.decode())

    def eomReceived(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def connectionLost(self) -> None:
        pass


class Realm:
    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return smtp.IMessageDelivery, Printer(), lambda: None


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def main(reactor: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cert, key = certificate(Path(folder))

        class Factory(smtp.SMTPFactory):
            def buildProtocol(self, addr: Any) -> Any:
                p = smtp.ESMTP(
                    {b"PLAIN": smtp.PLAINCredentials},
                    ssl.DefaultOpenSSLContextFactory(str(key), str(cert)),
                )
                p.portal = portal.Portal(
                    Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(alice="secret")]
                )
                return p

        port = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        trust = ssl.Certificate.loadPEM(cert.read_bytes())
        try:
            result = await sendmail(
                reactor,
                "alice",
                "secret",
                "alice@example.com",
                "bob@example.com",
                io.BytesIO(b"Subject: over TLS\r\n\r\nsecret stuff\r\n"),
                "127.0.0.1",
                port.getHost().port,
                ssl.optionsForClientTLS("localhost", trustRoot=trust),
            )
            print("sent to", result[0], "recipient(s)")
        finally:
            await port.stopListening()


if __name__ == "__main__":
    react(lambda reactor: defer.ensureDeferred(main(reactor)))
