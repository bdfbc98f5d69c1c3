"""POP3 against real peers: Python's poplib against ``glisten mail --pop3``, and glisten's
POP3Client against Dovecot."""

from __future__ import annotations

import hashlib
import poplib
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Dovecot, freePort, makeCertificate, runClient, startMail, stop, waitForPort

pytestmark = pytest.mark.interop


class Server:
    def __init__(self, smtp: int, pop3: int, pop3s: int, cert: Path) -> None:
        self.smtp = smtp
        self.pop3 = pop3
        self.pop3s = pop3s
        self.cert = cert
        self.context = ssl.create_default_context(cafile=str(cert))

    def send(self, to: str, subject: str, body: str) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp) as client:
            client.sendmail(
                "sender@example.org", [to], f"Subject: {subject}\r\n\r\n{body}\r\n".encode()
            )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("glisten-pop3")
    cert = makeCertificate(folder)
    smtpPort, pop3Port, pop3sPort = freePort(), freePort(), freePort()
    process = startMail(
        folder,
        "--maildirdbmdomain",
        f"example.com={folder / 'example.com'}",
        "--user",
        "alice=s3cret",
        "--user",
        "carol=pw",
        "--smtp",
        f"tcp:{smtpPort}:interface=127.0.0.1",
        "--pop3",
        f"tcp:{pop3Port}:interface=127.0.0.1",
        "--pop3",
        f"ssl:{pop3sPort}:interface=127.0.0.1:privateKey={cert}:certKey={cert}",
        "--certificate",
        str(cert),
    )
    try:
        for port in (smtpPort, pop3Port, pop3sPort):
            waitForPort(port, process)
        yield Server(smtpPort, pop3Port, pop3sPort, cert)
    finally:
        stop(process)


def test_poplib_stls_session(server: Server) -> None:
    server.send("alice@example.com", "first", ".leading dot")
    server.send("alice@example.com", "second", "two")
    client = poplib.POP3("127.0.0.1", server.pop3, timeout=30)
    try:
        caps = client.capa()
        assert "STLS" in caps and "USER" not in caps and "PIPELINING" in caps
        # Passwords in the clear are refused before TLS.
        with pytest.raises(poplib.error_proto):
            client.user("alice")
        client.stls(server.context)
        caps = client.capa()
        assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN"]
        client.user("alice@example.com")
        client.pass_("s3cret")
        count, size = client.stat()
        assert count == 2 and size > 0
        _, listing, _ = client.list()
        assert len(listing) == 2
        _, uids, _ = client.uidl()
        uid1 = uids[0].split()[1]
        _, lines, _ = client.retr(1)
        assert b"Subject: first" in lines and b".leading dot" in lines
        _, top, _ = client.top(2, 0)
        assert top[-1] == b"" and b"Subject: second" in top and b"two" not in top
        assert client.noop().startswith(b"+OK")
        client.dele(1)
        with pytest.raises(poplib.error_proto):
            client.retr(1)
        client.rset()
        client.dele(1)
        assert client.quit().startswith(b"+OK")
    finally:
        client.close()
    # The deletion survived QUIT; the remaining message keeps its id.
    again = poplib.POP3_SSL("127.0.0.1", server.pop3s, context=server.context, timeout=30)
    try:
        again.user("alice")
        again.pass_("s3cret")
        assert again.stat()[0] == 1
        _, uids, _ = again.uidl()
        assert uid1 not in [u.split()[1] for u in uids]
        again.quit()
    finally:
        again.close()


def test_poplib_bad_password_and_sasl_plain(server: Server) -> None:
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s, context=server.context, timeout=30)
    try:
        client.user("carol")
        with pytest.raises(poplib.error_proto, match="AUTH"):
            client.pass_("wrong")
        import base64

        token = base64.b64encode(b"\0carol\0pw").decode()
        assert client._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK")
        assert client.stat() == (0, 0)
        client.quit()
    finally:
        client.close()


def connectAndRun(port: int, session: Any, client: Any = None) -> Any:
    from glisten.mail.pop3client import POP3Client

    return runClient(port, client or POP3Client(), lambda c, reactor: session(c))


def test_glisten_client_stls_against_glisten_server(server: Server) -> None:
    from glisten.internet import ssl as gssl

    server.send("carol@example.com", "for glisten", "hello")
    trust = gssl.Certificate.loadPEM(server.cert.read_bytes())

    async def session(client: Any) -> None:
        # No APOP (hashed passwords) and no plain text: STLS, verifying the certificate.
        caps = await client.startTLS(gssl.optionsForClientTLS("localhost", trustRoot=trust))
        assert b"USER" in caps and b"STLS" not in caps
        assert await client.login(b"carol@example.com", b"pw") == b"Logged in"
        count, _ = await client.stat()
        lines = await client.retrieve(count - 1)
        assert b"Subject: for glisten" in lines
        await client.quit()

    connectAndRun(server.pop3, session)


def test_glisten_client_refuses_an_unverified_certificate(server: Server) -> None:
    from glisten.mail.pop3client import POP3Client

    client = POP3Client()
    client.hostname = "localhost"

    async def session(client: Any) -> None:
        # login() upgrades with STLS and the default options: the self-signed certificate
        # is not trusted, so the password never leaves.
        await client.login(b"carol@example.com", b"pw")

    with pytest.raises(Exception) as info:
        connectAndRun(server.pop3, session, client)
    assert "Logged in" not in str(info.value)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    d = Dovecot({"bob": "secret"})
    yield d
    d.stop()


def test_glisten_client_against_dovecot(dovecot: Dovecot) -> None:
    from glisten.mail.pop3client import ServerErrorResponse

    dovecot.deliver("bob", "1000.A.host", b"Subject: one\n\n.dot\nbody\n")
    dovecot.deliver("bob", "1001.B.host", b"Subject: two\n\nsecond\n")

    async def session(client: Any) -> None:
        caps: dict[bytes, Any] = await client.capabilities()  # after the greeting
        assert client.serverChallenge is not None  # Dovecot offers APOP: login uses it
        assert b"UIDL" in caps and b"PIPELINING" in caps
        assert (await client.login(b"bob", b"secret")).startswith(b"Logged in")
        count, size = await client.stat()
        assert count == 2
        # Pipelined (Dovecot offers PIPELINING): all sent before the first answer.
        sizes, uids, lines, top = (
            client.listSize(),
            client.listUID(),
            client.retrieve(0),
            client.retrieve(1, lines=0),
        )
        sizes, uids, lines, top = await sizes, await uids, await lines, await top
        assert len(sizes) == 2 and sum(sizes) == size
        assert len(set(uids)) == 2
        assert lines[:1] == [b"Subject: one"] and b".dot" in lines
        assert b"second" not in top
        await client.delete(0)
        try:
            await client.retrieve(0)
        except ServerErrorResponse:
            pass
        else:
            raise AssertionError("a deleted message was retrieved")
        await client.quit()

    connectAndRun(dovecot.pop3Port, session)
    remaining = list((dovecot.folder / "mail" / "bob" / "cur").iterdir())
    remaining += list((dovecot.folder / "mail" / "bob" / "new").iterdir())
    assert [p.name.split(":")[0] for p in remaining] == ["1001.B.host"]


def test_glisten_client_bad_apop_against_dovecot(dovecot: Dovecot) -> None:
    from glisten.mail.pop3client import ServerErrorResponse

    async def session(client: Any) -> None:
        await client.noop()
        challenge = client.serverChallenge
        assert challenge is not None
        wrong = hashlib.md5(challenge + b"nope").hexdigest().encode()
        await client.apop(b"bob", wrong)

    with pytest.raises(ServerErrorResponse):
        connectAndRun(dovecot.pop3Port, session)
