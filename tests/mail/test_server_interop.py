"""``glisten mail`` against real SMTP clients: swaks and Python's smtplib."""

from __future__ import annotations

import email
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    freePort,
    makeCertificate,
    requireBinary,
    startMail,
    stop,
    waitForPort,
    waitUntil,
)

pytestmark = pytest.mark.interop


class Server:
    def __init__(self, folder: Path, smtp: int, submission: int, cert: Path) -> None:
        self.folder = folder
        self.smtp = smtp
        self.submission = submission
        self.cert = cert

    def messages(self, user: str = "alice") -> dict[str, bytes]:
        """The delivered messages by maildir file name (names are unique, not ordered)."""
        new = self.folder / "example.com" / user / "new"
        return {p.name: p.read_bytes() for p in new.iterdir()} if new.exists() else {}

    def arrivedSince(self, before: dict[str, bytes], user: str = "alice") -> list[bytes]:
        """The messages delivered since ``before = server.messages()`` was taken."""
        return [m for name, m in self.messages(user).items() if name not in before]

    def queued(self) -> list[str]:
        return sorted(p.name for p in (self.folder / "queue").iterdir() if p.name.endswith("-H"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("glisten-mail")
    cert = makeCertificate(folder)
    smtpPort, submissionPort = freePort(), freePort()
    process = startMail(
        folder,
        "--maildirdbmdomain",
        f"example.com={folder / 'example.com'}",
        "--user",
        "alice=s3cret",
        "--user",
        "bob=hunter2",
        "--smtp",
        f"tcp:{smtpPort}:interface=127.0.0.1",
        "--submission",
        f"tcp:{submissionPort}:interface=127.0.0.1",
        "--esmtp",
        "--certificate",
        str(cert),
        "--hostname",
        "mx.example.com",
        "--relay",
        str(folder / "queue"),
        "--relay-network",
        "192.0.2.0/24",
        "--relay-interval",
        "3600",
        "--max-message-size",
        "1000000",
    )
    try:
        waitForPort(smtpPort, process)
        waitForPort(submissionPort, process)
        yield Server(folder, smtpPort, submissionPort, cert)
    finally:
        stop(process)


def swaks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [requireBinary("swaks"), "--server", "127.0.0.1", "--timeout", "20", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_swaksPlain(server: Server) -> None:
    before = server.messages()
    r = swaks(
        "--port",
        str(server.smtp),
        "--to",
        "alice@example.com",
        "--from",
        "x@y.org",
        "--header",
        "Subject: swaks plain",
        "--body",
        ".leading dot\nline 2",
    )
    assert r.returncode == 0, r.stdout
    assert "<-  250 2.0.0" in r.stdout
    [msg] = server.arrivedSince(before)
    assert msg.startswith(b"Received: from ")
    assert b"Subject: swaks plain" in msg and b"\n.leading dot\n" in msg


def test_swaksPipeliningTLSAuthOnSubmission(server: Server) -> None:
    before = len(server.messages("bob"))
    r = swaks(
        "--port",
        str(server.submission),
        "--pipeline",
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "s3cret",
        "--to",
        "bob@example.com",
        "--from",
        "alice@example.com",
        "--header",
        "Subject: submitted",
    )
    assert r.returncode == 0, r.stdout
    assert "STARTTLS" in r.stdout and "235 2.7.0" in r.stdout
    assert len(server.messages("bob")) == before + 1


def test_swaksAuthLogin(server: Server) -> None:
    r = swaks(
        "--port",
        str(server.submission),
        "--tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "alice@example.com",
        "--auth-password",
        "s3cret",
        "--to",
        "bob@example.com",
        "--from",
        "alice@example.com",
    )
    assert r.returncode == 0, r.stdout


def test_swaksWrongPassword(server: Server) -> None:
    r = swaks(
        "--port",
        str(server.submission),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "wrong",
        "--to",
        "bob@example.com",
        "--from",
        "alice@example.com",
    )
    assert r.returncode != 0 and "535 5.7.8" in r.stdout


def test_swaksNoAuthWithoutTLS(server: Server) -> None:
    r = swaks(
        "--port",
        str(server.submission),
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "s3cret",
        "--to",
        "bob@example.com",
        "--from",
        "a@b.org",
    )
    assert r.returncode != 0
    assert "AUTH" not in r.stdout.split("EHLO")[1].split("\n~>")[0].replace("AUTH PLAIN", "")


def test_swaksSubmissionNeedsAuth(server: Server) -> None:
    r = swaks(
        "--port",
        str(server.submission),
        "--tls",
        "--to",
        "bob@example.com",
        "--from",
        "alice@example.com",
    )
    assert r.returncode != 0 and "530 5.7.0" in r.stdout


def test_swaks8BitMime(server: Server) -> None:
    before = server.messages()
    body = "Grüße aus Köln"
    r = swaks(
        "--port",
        str(server.smtp),
        "--to",
        "alice@example.com",
        "--from",
        "x@y.org",
        "--header",
        "Content-Type: text/plain; charset=utf-8",
        "--header",
        "Content-Transfer-Encoding: 8bit",
        "--body",
        body,
    )
    assert r.returncode == 0, r.stdout
    assert "8BITMIME" in r.stdout
    assert body.encode() in server.arrivedSince(before)[0]


def test_swaksRelayDenied(server: Server) -> None:
    before = server.queued()
    for rcpt in (
        "victim@elsewhere.org",
        "victim%elsewhere.org@example.com",
        '"victim@elsewhere.org"@example.com',
        "victim@[192.0.2.1]",
    ):
        r = swaks(
            "--port", str(server.smtp), "--to", rcpt, "--from", "x@y.org", "--quit-after", "RCPT"
        )
        assert r.returncode != 0, (rcpt, r.stdout)
    assert set(server.queued()) <= set(before)


def test_swaksTooBig(server: Server, tmp_path: Path) -> None:
    body = tmp_path / "big.txt"
    body.write_text(("y" * 900 + "\n") * 1200)
    r = swaks(
        "--port",
        str(server.smtp),
        "--to",
        "alice@example.com",
        "--from",
        "x@y.org",
        "--body",
        str(body),
    )
    assert r.returncode != 0 and "552 5.3.4" in r.stdout


# -- smtplib -----------------------------------------------------------------------------


def _tlsContext(server: Server) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.cert))
    return ctx


def test_smtplibStartTLSLoginAndRelay(server: Server) -> None:
    with smtplib.SMTP(
        "127.0.0.1", server.submission, local_hostname="client.test", timeout=20
    ) as c:
        c.ehlo()
        assert c.has_extn("starttls") and not c.has_extn("auth")
        c.starttls(context=_tlsContext(server))
        c.ehlo()
        assert "PLAIN" in c.esmtp_features["auth"]
        c.login("bob", "hunter2")
        refused = c.sendmail("bob@example.com", ["far@away.example"], b"Subject: relay\r\n\r\nx")
        assert refused == {}
    # Queued for relaying. The relay tries at once, and where this machine's resolver answers
    # at once that away.example does not exist, the entry is already gone, bounced to bob.
    log = server.folder / "glisten.log"
    waitUntil(
        lambda: len(server.queued()) == 1 or "Bounced" in log.read_text(),
        "the relayed message in the queue, or its bounce in the log",
    )


def test_smtplibUTF8(server: Server) -> None:
    before = server.messages()
    msg = email.message.EmailMessage()
    msg["From"] = "jürgen@example.org"
    msg["To"] = "alice@example.com"
    msg["Subject"] = "Grüße"
    msg.set_content("héllo")
    with smtplib.SMTP("127.0.0.1", server.smtp, timeout=20) as c:
        assert c.ehlo()[0] == 250 and c.has_extn("smtputf8")
        # smtplib adds SMTPUTF8 and BODY=8BITMIME itself for international addresses.
        c.send_message(msg)
    assert "Grüße".encode() in server.arrivedSince(before)[0]


def test_utf8NeedsParameter(server: Server) -> None:
    out = _raw(server.smtp, "EHLO c\r\nMAIL FROM:<jürgen@example.org>\r\n".encode(), 10)
    assert out.endswith(b"553 5.6.7 UTF-8 address needs SMTPUTF8\r\n")


def test_smtplibDSNAndPipelinedErrors(server: Server) -> None:
    with smtplib.SMTP("127.0.0.1", server.smtp, timeout=20) as c:
        c.ehlo()
        assert c.has_extn("dsn") and c.has_extn("enhancedstatuscodes")
        assert c.mail("a@b.org", ["RET=HDRS", "ENVID=x+2By"])[0] == 250
        assert (
            c.rcpt("alice@example.com", ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;alice@example.com"])[
                0
            ]
            == 250
        )
        assert c.rcpt("alice@example.com", ["NOTIFY=NEVER,SUCCESS"])[0] == 501
        assert c.rcpt("nobody@example.com")[0] == 550
        assert c.data(b"Subject: dsn\r\n\r\nx")[0] == 250
        assert c.docmd("BDAT", "x")[0] == 501


def test_smtplibDeliveredNotice(server: Server) -> None:
    """NOTIFY=SUCCESS for a maildir recipient: the sender (here local, so the notice comes
    back through the relay queue into its maildir) hears once per recipient that asked."""
    before = server.messages("bob")
    with smtplib.SMTP("127.0.0.1", server.smtp, timeout=20) as c:
        c.ehlo()
        assert c.mail("bob@example.com", ["ENVID=notice+2B1"])[0] == 250
        assert c.rcpt("alice@example.com", ["NOTIFY=SUCCESS,FAILURE"])[0] == 250
        assert c.rcpt("bob@example.com", ["NOTIFY=FAILURE"])[0] == 250
        assert c.data(b"Subject: tell me\r\n\r\nprivate text")[0] == 250
    notices = waitUntil(
        lambda: [m for m in server.arrivedSince(before, "bob") if b"multipart/report" in m],
        "the delivered notice in bob's maildir",
    )
    assert len(notices) == 1
    [notice] = notices
    parsed = email.message_from_bytes(notice)
    assert parsed["Subject"] == "Successful Mail Delivery Report"
    assert parsed.get_content_type() == "multipart/report"
    [status] = [p for p in parsed.walk() if p.get_content_type() == "message/delivery-status"]
    fields = status.as_string()
    assert "Action: delivered" in fields and "Original-Envelope-Id: notice+1" in fields
    assert "Final-Recipient: rfc822; alice@example.com" in fields
    assert "bob@example.com" not in fields.split("Arrival-Date")[1]
    assert b"Subject: tell me" in notice and b"private text" not in notice


def _raw(port: int, data: bytes, replies: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(data)
        got = b""
        while got.count(b"\r\n") < replies or not got.endswith(b"\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_bdatOverRawSocket(server: Server) -> None:
    before = server.messages()
    body = b"Subject: bdat\r\n\r\nchunked\r\n"
    out = _raw(
        server.smtp,
        b"EHLO c\r\nMAIL FROM:<a@b.org> BODY=8BITMIME\r\nRCPT TO:<alice@example.com>\r\n"
        b"BDAT 9\r\n" + body[:9] + b"BDAT %d LAST\r\n" % (len(body) - 9) + body[9:] + b"QUIT\r\n",
        replies=14,
    )
    assert b"250-CHUNKING" in out and out.count(b"\r\n250 ") >= 4, out
    assert server.arrivedSince(before)[0].endswith(b"Subject: bdat\n\nchunked\n")


def test_starttlsInjectionIsDiscarded(server: Server) -> None:
    """CVE-2011-0411: commands sent in plaintext with STARTTLS are not run after it."""
    with socket.create_connection(("127.0.0.1", server.smtp), timeout=20) as raw:
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"EHLO c\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n")
        assert f.readline().startswith(b"220 ")
        tls = _tlsContext(server).wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"MAIL FROM:<a@b.org>\r\n")
        reply = tls.recv(1024)
        # The session starts over after TLS: no EHLO yet, and no injected MAIL.
        assert reply.startswith(b"503"), reply
        tls.close()
