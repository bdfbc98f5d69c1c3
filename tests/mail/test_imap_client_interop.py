"""glisten's IMAP4Client against Dovecot and against glisten's own IMAP4 server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .conftest import Dovecot, freePort, runClient, startMail, stop, waitForPort

pytestmark = pytest.mark.interop


def connectAndRun(port: int, session: Any) -> Any:
    from glisten.mail.imap4 import IMAP4Client

    client = IMAP4Client()
    client.allowInsecureLogin = True  # Dovecot and the test server run without TLS here
    return runClient(port, client, session)


async def fullSession(client: Any, reactor: Any, user: bytes, password: bytes) -> None:
    from glisten.internet import defer
    from glisten.mail.imap4 import IMAP4ClientError

    caps = await client.getCapabilities()
    assert "IMAP4REV1" in caps and "IDLE" in caps
    await client.login(user, password)
    await client.create("Archive")
    boxes = await client.list("", "*")
    assert {name for _, _, name in boxes} >= {"INBOX", "Archive"}
    message = b"From: Ann <ann@example.org>\r\nSubject: hi there\r\n\r\nline one\r\n.line two\r\n"
    await client.append("INBOX", io.BytesIO(message), ["\\Flagged"])
    await client.append("INBOX", io.BytesIO(b"Subject: second\r\n\r\nx\r\n"))
    info = await client.select("INBOX")
    assert info["EXISTS"] == 2 and info["READ-WRITE"] and "UIDVALIDITY" in info
    flags = await client.fetchFlags("1:*")
    assert "\\Flagged" in flags[1]["FLAGS"] and "\\Flagged" not in flags[2]["FLAGS"]
    uids = await client.fetchUID("1:*")
    assert set(uids) == {1, 2}
    whole = await client.fetchMessage("1")
    assert whole[1]["RFC822"] == message
    headers = await client.fetchSpecific(
        "1", headerType="HEADER.FIELDS", headerArgs=["SUBJECT"], peek=True
    )
    # Twisted's shape: a flat list per message, text as str.
    assert headers[1] == [["BODY", ["HEADER.FIELDS", ["SUBJECT"]], "Subject: hi there\r\n\r\n"]]
    partial = await client.fetchSpecific("1", headerType="TEXT", peek=True, offset=0, length=4)
    assert partial[1] == [["BODY", ["TEXT"], "<0>", "line"]]
    envelope = await client.fetchEnvelope("1")
    assert envelope[1]["ENVELOPE"][1] == b"hi there"
    size = await client.fetchSize("1")
    assert int(size[1]["RFC822.SIZE"]) == len(message)
    assert await client.search("SUBJECT", "second") == [2]
    assert await client.search("ALL", uid=1) == [int(uids[1]["UID"]), int(uids[2]["UID"])]
    stored = await client.addFlags("2", ["\\Seen"], silent=0)
    assert "\\Seen" in stored[2]["FLAGS"]
    await client.copy("2", "Archive")
    status = await client.status("Archive", "MESSAGES", "UIDNEXT")
    assert status["MESSAGES"] == 1
    await client.addFlags("1", ["\\Deleted"])
    assert await client.expunge() == [1]
    # IDLE: another session appends; this one hears EXISTS.
    heard: defer.Deferred[int] = defer.Deferred()

    def newMessages(exists: Any, recent: Any) -> None:
        if exists is not None and not heard.called:
            heard.callback(exists)

    client.newMessages = newMessages
    await client.idle()
    return_ = heard
    return await _appendElsewhere(reactor, client, return_, user, password, IMAP4ClientError)


async def _appendElsewhere(
    reactor: Any, client: Any, heard: Any, user: bytes, password: bytes, error: Any
) -> None:
    from glisten.internet.endpoints import TCP4ClientEndpoint, connectProtocol
    from glisten.mail.imap4 import IMAP4Client

    other = IMAP4Client()
    other.allowInsecureLogin = True
    await connectProtocol(
        TCP4ClientEndpoint(reactor, "127.0.0.1", client.transport.getPeer().port), other
    )
    await other.login(user, password)
    await other.append("INBOX", io.BytesIO(b"Subject: during idle\r\n\r\nz\r\n"))
    assert await heard == 2
    await client.idleDone()
    await other.logout()
    try:
        await client.select("Nope")
    except error:
        pass
    else:
        raise AssertionError("selecting a missing mailbox succeeded")
    await client.logout()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    d = Dovecot({"bob": "secret"})
    yield d
    d.stop()


def test_imap4client_against_dovecot(dovecot: Dovecot) -> None:
    connectAndRun(dovecot.imapPort, lambda c, r: fullSession(c, r, b"bob", b"secret"))


@contextmanager
def glistenIMAP(folder: Any) -> Iterator[int]:
    """``glisten mail --imap`` for ``carol@example.com`` (password ``pw``): :return: its
    port."""
    port = freePort()
    process = startMail(
        folder,
        "--maildirdbmdomain",
        f"example.com={folder / 'example.com'}",
        "--user",
        "carol=pw",
        "--no-smtp",
        "--imap",
        f"tcp:{port}:interface=127.0.0.1",
        "--insecure-auth",
    )
    try:
        waitForPort(port, process)
        yield port
    finally:
        stop(process)


def test_imap4client_against_glisten(tmp_path: Any) -> None:
    with glistenIMAP(tmp_path) as port:
        connectAndRun(port, lambda c, r: fullSession(c, r, b"carol@example.com", b"pw"))


async def nonAsciiFolders(client: Any, reactor: Any, user: bytes, password: bytes) -> None:
    await client.login(user, password)
    await client.create("Éléments envoyés")
    await client.create("Entwürfe.日本語")
    await client.create("R&D")
    names = {name for _, _, name in await client.list("", "*")}
    assert names >= {"INBOX", "Éléments envoyés", "Entwürfe", "Entwürfe.日本語", "R&D"}
    assert {name for _, _, name in await client.list("", "Entw%")} == {"Entwürfe"}
    await client.append("Entwürfe.日本語", io.BytesIO(b"Subject: x\r\n\r\ny\r\n"))
    assert (await client.status("Entwürfe.日本語", "MESSAGES"))["MESSAGES"] == 1
    assert (await client.select("Entwürfe.日本語"))["EXISTS"] == 1
    await client.copy("1", "Éléments envoyés")
    await client.rename("R&D", "Réseau")
    await client.subscribe("Réseau")
    assert {name for _, _, name in await client.lsub("", "*")} == {"Réseau"}
    assert (await client.examine("Éléments envoyés"))["EXISTS"] == 1
    await client.logout()


def test_non_ascii_folders_against_dovecot(dovecot: Dovecot) -> None:
    from glisten.mail.maildir import MaildirAccount

    connectAndRun(dovecot.imapPort, lambda c, r: nonAsciiFolders(c, r, b"bob", b"secret"))
    # Dovecot's Maildir++ folders carry the modified UTF-7 names glisten's maildir uses,
    # so glisten serves the same maildir under the same names.
    home = dovecot.folder / "mail" / "bob"
    assert (home / ".&AMk-l&AOk-ments envoy&AOk-s" / "cur").is_dir()
    assert (home / ".Entw&APw-rfe.&ZeVnLIqe-" / "cur").is_dir()
    names = {name for name, _ in MaildirAccount(str(home)).listMailboxes("", "*")}
    assert names >= {"INBOX", "Éléments envoyés", "Entwürfe.日本語", "Réseau"}


def test_non_ascii_folders_against_glisten(tmp_path: Any) -> None:
    with glistenIMAP(tmp_path) as port:
        connectAndRun(port, lambda c, r: nonAsciiFolders(c, r, b"carol@example.com", b"pw"))
    assert (tmp_path / "example.com" / "carol" / ".&AMk-l&AOk-ments envoy&AOk-s" / "cur").is_dir()


async def setKeywords(client: Any, reactor: Any) -> None:
    await client.login(b"bob", b"secret")
    await client.append("INBOX", io.BytesIO(b"Subject: k\r\n\r\nz\r\n"))
    await client.select("INBOX")
    stored = await client.addFlags("1", ["$Forwarded", "Junk", "\\Seen"], silent=0)
    assert {"$Forwarded", "Junk", "\\Seen"} <= set(stored[1]["FLAGS"])
    await client.logout()


def test_keywords_set_by_dovecot_read_by_glisten(dovecot: Dovecot) -> None:
    from glisten.mail.imap4 import MessageSet
    from glisten.mail.maildir import MaildirFolder

    connectAndRun(dovecot.imapPort, setKeywords)
    # Dovecot names its keyword letters in dovecot-keywords; glisten reads the same file.
    folder = MaildirFolder(str(dovecot.folder / "mail" / "bob"), writeable=False)
    [(_, message)] = folder.fetch(MessageSet(1), False)
    assert {b"$Forwarded", b"Junk", b"\\Seen"} <= set(message.getFlags())


def test_keywords_and_folders_made_by_glisten_read_by_dovecot(dovecot: Dovecot) -> None:
    import imaplib
    import os

    from glisten.mail.maildir import MaildirAccount, MaildirFolder

    home = dovecot.folder / "mail" / "bob"
    folder = MaildirFolder(str(home))
    folder.addMessage(io.BytesIO(b"Subject: k\r\n\r\nz\r\n"), [b"\\Flagged", b"Junk", b"$Label1"])
    MaildirAccount(str(home)).create("Entwürfe")
    # Dovecot reads the maildir as nobody.
    for parent, dirs, files in os.walk(home):
        for name in dirs + files:
            os.chmod(os.path.join(parent, name), 0o777)
    client = imaplib.IMAP4("127.0.0.1", dovecot.imapPort, timeout=30)
    try:
        client.login("bob", "secret")
        client.select("INBOX")
        typ, data = client.fetch("1", "(FLAGS)")
        assert typ == "OK"
        flags = data[0].split(b"FLAGS (")[1].split(b")")[0].split()
        assert {b"\\Flagged", b"Junk", b"$Label1"} <= set(flags)
        # A folder glisten made is Dovecot's folder of the same name.
        typ, listing = client.list('""', "*")
        assert any(line.endswith(b'"." Entw&APw-rfe') for line in listing), listing
    finally:
        client.logout()
