"""IMAP4 against real peers: Python's imaplib against ``glisten mail --imap``, including a
Thunderbird-like session and IDLE woken by a message delivered over SMTP."""

from __future__ import annotations

import imaplib
import os
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import freePort, makeCertificate, requireBinary, startMail, stop, waitForPort

pytestmark = pytest.mark.interop


class Server:
    def __init__(self, folder: Path, smtp: int, imap: int, imaps: int, cert: Path) -> None:
        self.folder = folder
        self.smtp = smtp
        self.imap = imap
        self.imaps = imaps
        self.cert = cert
        self.context = ssl.create_default_context(cafile=str(cert))

    def send(self, to: str, subject: str, body: str = "hello") -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp) as client:
            client.sendmail(
                "sender@example.org",
                [to],
                f"From: Sender <sender@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode(),
            )

    def login(self, user: str = "alice", password: str = "s3cret") -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap, timeout=30)
        client.starttls(self.context)
        client.login(user, password)
        return client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("glisten-imap")
    cert = makeCertificate(folder)
    smtpPort, imapPort, imapsPort = freePort(), freePort(), freePort()
    process = startMail(
        folder,
        "--maildirdbmdomain",
        f"example.com={folder / 'example.com'}",
        "--user",
        "alice=s3cret",
        "--user",
        "dave=pw",
        "--user",
        "erin=pw",
        "--user",
        "frank=pw",
        "--user",
        "gina=pw",
        "--smtp",
        f"tcp:{smtpPort}:interface=127.0.0.1",
        "--imap",
        f"tcp:{imapPort}:interface=127.0.0.1",
        "--imap",
        f"ssl:{imapsPort}:interface=127.0.0.1:privateKey={cert}:certKey={cert}",
        "--certificate",
        str(cert),
    )
    try:
        for port in (smtpPort, imapPort, imapsPort):
            waitForPort(port, process)
        yield Server(folder, smtpPort, imapPort, imapsPort, cert)
    finally:
        stop(process)


def test_login_needs_tls(server: Server) -> None:
    client = imaplib.IMAP4("127.0.0.1", server.imap, timeout=30)
    try:
        assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            client.login("alice", "s3cret")
    finally:
        client.shutdown()


def test_imaplib_mailbox_commands(server: Server) -> None:
    server.send("alice@example.com", "first", ".dotted\r\nline two")
    server.send("alice@example.com", "second")
    client = server.login()
    try:
        assert client.create("Work")[0] == "OK"
        assert client.create("Work.Projects")[0] == "OK"
        typ, listing = client.list()
        names = [line.decode() for line in listing]
        assert any(n.endswith(" INBOX") for n in names)
        assert any('(\\HasChildren) "." Work' in n for n in names)
        assert any(n.endswith("Work.Projects") for n in names)
        top = client.list('""', "%")[1]
        assert top and not any(b"Projects" in x for x in top)
        assert client.subscribe("Work")[0] == "OK"
        assert [x.endswith(b"Work") for x in client.lsub()[1]] == [True]
        typ, count = client.select("INBOX")
        assert typ == "OK" and int(count[0]) == 2
        typ, data = client.fetch("1:*", "(FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
        assert typ == "OK"
        assert b'"first"' in data[0] and b"UID 1" in data[0] and b'"TEXT" "PLAIN"' in data[0]
        typ, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: first\r\n\r\n"
        typ, data = client.fetch("1", "(BODY[TEXT])")
        assert data[0][1] == b".dotted\r\nline two\r\n" and b"\\Seen" in data[1]
        typ, data = client.fetch("1", "(BODY[]<0.5>)")
        assert data[0][1] == b"Recei"  # the Received: header comes first
        assert client.search(None, "SEEN")[1] == [b"1"]
        assert client.search(None, "UNSEEN", "SUBJECT", "second")[1] == [b"2"]
        assert client.uid("SEARCH", "OR", "SUBJECT", "first", "FROM", "nobody")[1] == [b"1"]
        typ, data = client.store("2", "+FLAGS", "(\\Flagged)")
        assert b"\\Flagged" in data[0]
        typ, data = client.uid("COPY", "2", "Work")
        assert typ == "OK" and client.response("COPYUID")[1][0].endswith(b" 2 1")
        typ, data = client.status("Work", "(MESSAGES UIDNEXT UNSEEN)")
        assert data[0] == b"Work (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"
        # APPEND with a literal, flags and a date; UIDPLUS answers APPENDUID.
        typ, data = client.append(
            "Work",
            "(\\Seen)",
            imaplib.Time2Internaldate(1700000000),
            b"Subject: appended\r\n\r\nx\r\n",
        )
        assert typ == "OK" and b"APPENDUID" in data[0]
        typ, data = client._simple_command("MOVE", "1", "Work")  # type: ignore[attr-defined]
        assert typ == "OK"
        typ, count = client.select("Work", readonly=True)
        assert int(count[0]) == 3
        assert client.store("1", "+FLAGS", "(\\Deleted)")[0] == "NO"
        client.select("INBOX")
        client.store("1", "+FLAGS", "(\\Deleted)")
        typ, data = client.expunge()
        assert data == [b"1"]
        assert client.rename("Work", "Archive")[0] == "OK"
        assert client.delete("Archive.Projects")[0] == "OK"
        assert client.status("Archive", "(MESSAGES)")[1] == [b"Archive (MESSAGES 3)"]
        client.close()
    finally:
        client.logout()


def test_uids_persist_across_sessions(server: Server) -> None:
    server.send("dave@example.com", "one")
    server.send("dave@example.com", "two")
    first = server.login("dave", "pw")
    first.select("INBOX")
    uids = first.uid("SEARCH", "ALL")[1][0].split()
    validity = first.response("UIDVALIDITY")[1][0]
    first.logout()
    second = server.login("dave", "pw")
    second.select("INBOX")
    assert second.uid("SEARCH", "ALL")[1][0].split() == uids
    assert second.response("UIDVALIDITY")[1][0] == validity
    second.logout()


def test_thunderbird_like_session_with_idle(server: Server) -> None:
    client = imaplib.IMAP4_SSL("127.0.0.1", server.imaps, ssl_context=server.context, timeout=30)
    try:
        client.login("erin@example.com", "pw")
        assert "IDLE" in client.capabilities or "IDLE" in client.capability()[1][0].decode()
        typ, data = client.xatom("ID", '("name" "Thunderbird" "version" "115")')
        assert typ == "OK"
        for i in range(20):
            client.create(f"Folder{i:02d}")
        typ, listing = client.list()
        assert len(listing) >= 21
        for i in range(20):
            typ, data = client.status(
                f"Folder{i:02d}", "(MESSAGES UNSEEN RECENT UIDNEXT UIDVALIDITY)"
            )
            assert typ == "OK" and b"MESSAGES 0" in data[0]
        client.select("INBOX")
        typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK"
        # IDLE; a message arrives through SMTP; the server pushes EXISTS.
        tag = client._new_tag()  # type: ignore[attr-defined]
        client.send(tag + b" IDLE\r\n")
        assert client.readline().startswith(b"+")
        server.send("erin@example.com", "during idle")
        line = client.readline()
        assert line == b"* 1 EXISTS\r\n"
        # This session saw the message first: it is \\Recent here (as with Dovecot).
        assert client.readline() == b"* 1 RECENT\r\n"
        client.send(b"DONE\r\n")
        assert client.readline().startswith(tag + b" OK")
        typ, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: during idle\r\n\r\n"
    finally:
        client.logout()


def test_bad_input_gets_protocol_answers(server: Server) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.imap), timeout=30) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"* OK")
        s.sendall(b"a1 LOGIN {4294967296}\r\n")
        assert f.readline() == b"a1 NO [TOOBIG] Literal too large\r\n"
        s.sendall(b"a2 FETCH (" + b"(" * 10000 + b"\r\n")
        assert f.readline().startswith(b"a2 BAD")
        s.sendall(b"a3 NOOP " + b"x" * (1024 * 1024) + b"\r\n")
        assert f.readline() == b"a3 BAD Line too long\r\n"
        s.sendall(b'a4 LIST "" ' + b"*%" * 500 + b"x\r\n")
        assert f.readline().startswith(b"a4 BAD")
        # A flood before login: answered, then cut off with BYE.
        s.sendall(b"".join(b"f%d NOOP\r\n" % i for i in range(40)))
        lines = f.read().splitlines()
        assert lines[-1] == b"* BYE Too many commands without logging in"
        assert sum(1 for line in lines if line.endswith(b" OK NOOP completed")) == 28


def test_s_nail_reads_and_moves_mail(server: Server, tmp_path: Path) -> None:
    """A batch mail client: s-nail lists the INBOX over IMAP (STARTTLS, verified) and
    moves a message to a new folder."""
    snail = requireBinary("s-nail")
    server.send("frank@example.com", "batch one")
    server.send("frank@example.com", "batch two")
    url = f"imap://frank@localhost:{server.imap}"
    env = dict(os.environ, HOME=str(tmp_path), MAILRC="/dev/null")
    script = f"headers\nmove 1 +Archive\nfolder {url}/Archive\nheaders\nquit\n"
    result = subprocess.run(
        [
            snail,
            "-#",
            "-n",
            "-S",
            "v15-compat",
            "-S",
            f"folder={url}",
            "-S",
            f"password-frank@localhost:{server.imap}=pw",
            "-S",
            "imap-auth=login",
            "-S",
            "imap-use-starttls",
            "-S",
            f"tls-ca-file={server.cert}",
            "-S",
            "tls-verify=strict",
            "-f",
            f"{url}/INBOX",
        ],
        input=script.encode(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    out = result.stdout.decode()
    assert result.returncode == 0, (out, result.stderr)
    assert out.count("batch one") == 2 and "batch two" in out
    client = server.login("frank", "pw")
    try:
        assert client.select("INBOX")[1] == [b"1"]
        assert client.select("Archive")[1] == [b"1"]
        typ, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: batch one\r\n\r\n"
    finally:
        client.logout()


def test_imaplib_utf8_accept(server: Server) -> None:
    client = server.login("dave", "pw")
    try:
        typ, data = client.enable("UTF8=ACCEPT")
        assert typ == "OK" and client.utf8_enabled
        assert client.create("Entwürfe")[0] == "OK"
        typ, listing = client.list()
        assert any("Entwürfe".encode() in line for line in listing)
        typ, data = client.append("Entwürfe", None, None, "Subject: Grüße\r\n\r\nü\r\n".encode())
        assert typ == "OK"
        assert client.select("Entwürfe")[1] == [b"1"]
    finally:
        client.logout()


def test_imaplib_modified_utf7_folders(server: Server) -> None:
    # imaplib sends names as given: a 7-bit client spells them in modified UTF-7.
    client = server.login("gina", "pw")
    try:
        assert client.create("Entw&APw-rfe.&ZeVnLIqe-")[0] == "OK"
        assert client.create('"R&-D"')[0] == "OK"
        assert client.create("&AGE-")[0] == "NO"  # not the canonical spelling of "a"
        typ, listing = client.list('""', "*")
        assert typ == "OK"
        assert b'(\\HasChildren) "." Entw&APw-rfe' in listing
        assert b'(\\HasNoChildren) "." Entw&APw-rfe.&ZeVnLIqe-' in listing
        assert b'(\\HasNoChildren) "." R&-D' in listing
        assert client.list('""', "Entw&APw-*")[1][0].endswith(b"Entw&APw-rfe")
        message = b"Subject: hi\r\n\r\nbody\r\n"
        assert client.append("Entw&APw-rfe.&ZeVnLIqe-", None, None, message)[0] == "OK"
        assert client.select("Entw&APw-rfe.&ZeVnLIqe-") == ("OK", [b"1"])
        assert client.subscribe('"R&-D"')[0] == "OK"
        assert client.lsub('""', "*")[1] == [b'(\\HasNoChildren) "." R&-D']
        assert client.status("Entw&APw-rfe", "(MESSAGES)")[1] == [b"Entw&APw-rfe (MESSAGES 0)"]
    finally:
        client.logout()
    # Stored as Maildir++ folders named in modified UTF-7, as Dovecot and Courier do.
    home = server.folder / "example.com" / "gina"
    assert (home / ".Entw&APw-rfe.&ZeVnLIqe-" / "cur").is_dir() and (home / ".R&-D").is_dir()
    # A UTF-8 client sees the same folders under their UTF-8 names.
    client = server.login("gina", "pw")
    try:
        client.enable("UTF8=ACCEPT")
        typ, listing = client.list()
        assert any(line.endswith('"Entwürfe.日本語"'.encode()) for line in listing)
        assert client.select("Entwürfe.日本語") == ("OK", [b"1"])
    finally:
        client.logout()


def test_multiappend(server: Server) -> None:
    # imaplib has no MULTIAPPEND; the command goes out as a client would send it (LITERAL+).
    client = server.login("gina", "pw")
    try:
        assert b"MULTIAPPEND" in client.capability()[1][0].split()
        assert client.create("Batch")[0] == "OK"
        tag = client._new_tag()  # type: ignore[attr-defined]
        client.send(
            tag + b" APPEND Batch (\\Seen) {12+}\r\nSubject: 1\r\n {12+}\r\nSubject: 2\r\n\r\n"
        )
        line = client.readline()
        assert line.startswith(tag + b" OK [APPENDUID ") and b" 1,2] " in line
        assert client.select("Batch") == ("OK", [b"2"])
        typ, data = client.search(None, "SEEN")
        assert data == [b"1"]
    finally:
        client.logout()
