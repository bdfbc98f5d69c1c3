"""``\\Recent`` (RFC 3501 2.3.2) over maildir folders: a message is recent in exactly one
session, the first read-write one to select its folder; EXAMINE and STATUS claim nothing;
the claim survives restarts."""

from __future__ import annotations

from pathlib import Path

from glisten.internet.task import Clock
from glisten.mail import imap4, maildir

from .test_imap4 import connect, deliverTo, say


def _maildir(tmp_path: Path, count: int = 2) -> Path:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    for i in range(count):
        deliverTo(root, f"{i}.a.host", b"Subject: %d\n\nbody\n" % i)
    return root


def _session(root: Path, clock: Clock | None = None) -> tuple[imap4.IMAP4Server, object]:
    server, transport = connect(maildir.MaildirAccount(str(root)), clock)
    say(server, transport, b"a LOGIN bob pw\r\n")
    return server, transport


def test_recent_in_the_first_session_only(tmp_path: Path) -> None:
    root = _maildir(tmp_path)
    first, t1 = _session(root)
    second, t2 = _session(root)
    # STATUS does not claim: it counts what no session has seen.
    assert b"* STATUS INBOX (RECENT 2 MESSAGES 2)" in say(
        second, t2, b"s STATUS INBOX (RECENT MESSAGES)\r\n"
    )
    out = say(first, t1, b"b SELECT INBOX\r\n")
    assert b"* 2 EXISTS\r\n" in out and b"* 2 RECENT\r\n" in out
    out = say(first, t1, b"c FETCH 1:* (FLAGS)\r\nd SEARCH RECENT\r\ne SEARCH NEW\r\n")
    assert b"* 1 FETCH (FLAGS (\\Recent))" in out and b"* 2 FETCH (FLAGS (\\Recent))" in out
    assert out.count(b"* SEARCH 1 2\r\n") == 2
    out = say(second, t2, b"b SELECT INBOX\r\nc SEARCH RECENT\r\nd SEARCH OLD\r\n")
    assert b"* 0 RECENT\r\n" in out and b"* SEARCH\r\n" in out and b"* SEARCH 1 2\r\n" in out
    assert b"* STATUS INBOX (RECENT 0)" in say(second, t2, b"s STATUS INBOX (RECENT)\r\n")
    # A client cannot set or clear \Recent; the answer still shows it.
    out = say(first, t1, b"f STORE 1 +FLAGS (\\Seen)\r\ng STORE 2 FLAGS (\\Recent)\r\n")
    assert b"* 1 FETCH (FLAGS (\\Seen \\Recent))" in out
    assert b"* 2 FETCH (FLAGS (\\Recent))" in out
    assert b"* SEARCH 2\r\n" in say(first, t1, b"h SEARCH NEW\r\n")
    # A restart: the messages were seen, so nothing is recent any more.
    third, t3 = _session(root)
    assert b"* 0 RECENT\r\n" in say(third, t3, b"b SELECT INBOX\r\n")


def test_examine_claims_nothing(tmp_path: Path) -> None:
    root = _maildir(tmp_path)
    first, t1 = _session(root)
    out = say(first, t1, b"b EXAMINE INBOX\r\nc FETCH 1 (FLAGS)\r\n")
    assert b"* 2 RECENT\r\n" in out and b"(FLAGS (\\Recent))" in out
    second, t2 = _session(root)
    assert b"* 2 RECENT\r\n" in say(second, t2, b"b SELECT INBOX\r\n")


def test_new_mail_is_recent_where_it_is_first_seen(tmp_path: Path) -> None:
    root = _maildir(tmp_path, 0)
    clock = Clock()
    idler, t1 = _session(root, clock)
    say(idler, t1, b"b SELECT INBOX\r\nc IDLE\r\n")
    other, t2 = _session(root)
    say(other, t2, b"b SELECT INBOX\r\n")
    # APPEND from another session (not selecting INBOX) and a delivery: both are recent
    # in the idling session, which sees them first.
    third, t3 = _session(root)
    assert b"x OK [APPENDUID " in say(third, t3, b"x APPEND INBOX {3+}\r\nabc\r\n")
    deliverTo(root, "9.b.host", b"Subject: new\n\nx\n")
    t1.clear()
    clock.advance(idler.idlePollInterval)
    assert t1.value() == b"* 2 EXISTS\r\n* 2 RECENT\r\n"
    say(idler, t1, b"DONE\r\n")
    out = say(other, t2, b"n NOOP\r\nf FETCH 1:* (FLAGS)\r\n")
    assert b"* 2 EXISTS\r\n" in out and b"\\Recent" not in out


def test_lists_written_before_recent_was_kept(tmp_path: Path) -> None:
    root = _maildir(tmp_path)
    folder = maildir.MaildirFolder(str(root))
    validity = folder.getUIDValidity()
    lines = (root / "glisten-uidlist").read_text().splitlines()
    assert lines[0] == f"1 {validity} 3 1"
    (root / "glisten-uidlist").write_text("\n".join([f"1 {validity} 3", *lines[1:]]) + "\n")
    first, t1 = _session(root)
    out = say(first, t1, b"b SELECT INBOX\r\n")
    assert b"* 0 RECENT\r\n" in out and b"[UIDVALIDITY %d]" % validity in out
