"""Keywords kept in maildir folders: small info letters named in ``dovecot-keywords`` (the
layout Dovecot uses), so they survive sessions and restarts and both servers agree."""

from __future__ import annotations

import io
import os
from pathlib import Path

from glisten.mail import imap4, maildir

from .test_imap4 import connect, deliverTo, say


def test_keywords_persist(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    deliverTo(root, "1.a.host", b"Subject: a\n\nA\n")
    deliverTo(root, "2.b.host", b"Subject: b\n\nB\n")
    server, transport = connect(maildir.MaildirAccount(str(root)))
    out = say(server, transport, b"a LOGIN bob pw\r\nb SELECT INBOX\r\n")
    assert b"[PERMANENTFLAGS (\\Draft \\Flagged \\Answered \\Seen \\Deleted \\*)]" in out
    out = say(
        server,
        transport,
        b"c STORE 1 +FLAGS ($Forwarded Junk \\Seen)\r\nd STORE 2 +FLAGS (junk)\r\n",
    )
    assert b"* 1 FETCH (FLAGS (\\Seen $Forwarded Junk \\Recent))" in out
    assert (root / "dovecot-keywords").read_bytes() == b"0 $Forwarded\n1 Junk\n"
    assert sorted(os.listdir(root / "cur")) == ["1.a.host:2,Sab", "2.b.host:2,b"]
    # Another session (and a restart) sees them; FLAGS lists them.
    other, t2 = connect(maildir.MaildirAccount(str(root)))
    out = say(other, t2, b"a LOGIN bob pw\r\nb SELECT INBOX\r\nc FETCH 1:2 (FLAGS)\r\n")
    assert b"* FLAGS (\\Draft \\Flagged \\Answered \\Seen \\Deleted $Forwarded Junk)" in out
    assert b"* 1 FETCH (FLAGS (\\Seen $Forwarded Junk))" in out
    assert b"* 2 FETCH (FLAGS (Junk))" in out
    out = say(other, t2, b"d SEARCH KEYWORD junk\r\ne SEARCH UNKEYWORD $Forwarded\r\n")
    assert b"* SEARCH 1 2\r\n" in out and b"* SEARCH 2\r\n" in out
    # Removing in one session removes it for all.
    say(other, t2, b"f STORE 1 -FLAGS (JUNK)\r\n")
    assert sorted(os.listdir(root / "cur")) == ["1.a.host:2,Sa", "2.b.host:2,b"]
    out = say(server, transport, b"e NOOP\r\nf FETCH 1 (FLAGS)\r\n")
    assert b"* 1 FETCH (FLAGS (\\Seen $Forwarded \\Recent))" in out


def test_append_and_copy_keep_keywords(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    account = maildir.MaildirAccount(str(root))
    account.create("Archive")
    server, transport = connect(account)
    out = say(
        server,
        transport,
        b"a LOGIN bob pw\r\nb APPEND INBOX (NonJunk \\Flagged) {3+}\r\nabc\r\n"
        b"c SELECT INBOX\r\nd COPY 1 Archive\r\n",
    )
    assert b"b OK" in out and b"d OK" in out
    folder = account.select("Archive")
    [(_, message)] = folder.fetch(imap4.MessageSet(1), False)
    assert set(message.getFlags()) >= {b"\\Flagged", b"NonJunk"}
    assert (root / ".Archive" / "dovecot-keywords").read_bytes() == b"0 NonJunk\n"


def test_only_26_letters(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    folder = maildir.MaildirFolder(str(root))
    folder.addMessage(io.BytesIO(b"Subject: x\r\n\r\n"), [], None)
    many = [b"k%02d" % i for i in range(30)]
    result = folder.store(imap4.MessageSet(1), many, 1, False)
    # All 30 hold in this session; 26 are stored, the rest live as long as the session.
    assert set(many) <= set(result[1])
    assert len(folder.keywords) == 26 and b"\\*" not in folder.getPermanentFlags()
    again = maildir.MaildirFolder(str(root))
    [(_, message)] = again.fetch(imap4.MessageSet(1), False)
    assert {f for f in message.getFlags() if f.startswith(b"k")} == set(many[:26])


def test_damaged_keyword_file(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    (root / "dovecot-keywords").write_bytes(b"0 Good\nx Bad\n99 Big\n2 (paren\n3 \n1 Fine\n")
    deliverTo(root, "1.a.host", b"Subject: a\n\nA\n")
    os.rename(root / "new" / "1.a.host", root / "cur" / "1.a.host:2,abcd")
    folder = maildir.MaildirFolder(str(root))
    assert folder.keywords == {"a": b"Good", "b": b"Fine"}
    [(_, message)] = folder.fetch(imap4.MessageSet(1), False)
    assert message.getFlags()[:2] == [b"Good", b"Fine"]


def test_keywords_the_file_cannot_hold_stay_in_the_session(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    folder = maildir.MaildirFolder(str(root))
    folder.addMessage(io.BytesIO(b"Subject: x\r\n\r\n"), [], None)
    result = folder.store(imap4.MessageSet(1), ["Grüße".encode(), b"Ok"], 1, False)
    assert "Grüße".encode() in result[1] and b"Ok" in result[1]
    assert folder.keywords == {"a": b"Ok"}
    assert (root / "dovecot-keywords").read_bytes() == b"0 Ok\n"
