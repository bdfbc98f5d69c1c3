"""The IMAP4 server adapter over in-memory and maildir accounts: commands end to end on a
string transport, UID persistence, flags in maildir names, IDLE with a fake clock,
concurrent POP3 and delivery."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer
from zope.interface.verify import verifyObject

from glisten.cred import checkers, portal
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.mail import imap4, mail, maildir, protocols

MESSAGE = b"From: A <a@x.org>\r\nSubject: hello\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody text\r\n"


@implementer(portal.IRealm)
class Realm:
    def __init__(self, account: Any) -> None:
        self.account = account

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        assert imap4.IAccount in interfaces
        return imap4.IAccount, self.account, lambda: None


def connect(account: Any, clock: Clock | None = None) -> tuple[imap4.IMAP4Server, StringTransport]:
    server = imap4.IMAP4Server()
    server.portal = portal.Portal(
        Realm(account), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
    )
    server.authOverPlaintext = True
    server.clock = clock or Clock()
    transport = StringTransport()
    server.makeConnection(transport)
    transport.clear()
    return server, transport


def say(server: imap4.IMAP4Server, transport: StringTransport, data: bytes) -> bytes:
    transport.clear()
    server.dataReceived(data)
    return transport.value()


def test_interfaces(tmp_path: Path) -> None:
    account = imap4.MemoryAccount()
    assert verifyObject(imap4.IAccount, account)
    assert verifyObject(imap4.IMailbox, account.select("INBOX"))
    maildir.initializeMaildir(str(tmp_path / "m"))
    assert verifyObject(imap4.IAccount, maildir.MaildirAccount(str(tmp_path / "m")))
    assert verifyObject(imap4.IMailbox, maildir.MaildirFolder(str(tmp_path / "m")))


def test_message_set() -> None:
    s = imap4.MessageSet(2, None)
    s.add(9)
    s.last = 4
    assert list(s) == [2, 3, 4, 9] and 3 in s and 5 not in s
    huge = imap4.MessageSet(1, 4294967295)
    assert huge.within(1, 3) == [1, 2, 3]


def test_wildcards_are_linear() -> None:
    assert imap4.wildcardMatch("Work.%", "Work.A", ".")
    assert not imap4.wildcardMatch("Work.%", "Work.A.B", ".")
    assert imap4.wildcardMatch("*", "Work.A.B", ".")
    assert imap4.wildcardMatch("inbox", "INBOX", ".")
    # The pattern of GHSA-8pqf-f4m5-798g: instant here.
    assert not imap4.wildcardMatch("*" * 50 + "x", "a" * 5000, ".")


def test_cram_md5_login_with_clear_text_checker() -> None:
    import base64
    import hashlib
    import hmac

    server, transport = connect(imap4.MemoryAccount())
    out = say(server, transport, b"a CAPABILITY\r\nb AUTHENTICATE CRAM-MD5\r\n")
    assert b"AUTH=CRAM-MD5" in out
    challenge = base64.b64decode(out.splitlines()[-1][2:])
    digest = hmac.new(b"pw", challenge, hashlib.md5).hexdigest().encode()
    out = say(server, transport, base64.b64encode(b"bob " + digest) + b"\r\nc SELECT INBOX\r\n")
    assert out.startswith(b"b OK [CAPABILITY") and b"c OK [READ-WRITE]" in out


def test_failed_login_is_delayed() -> None:
    clock = Clock()
    server, transport = connect(imap4.MemoryAccount(), clock)
    assert say(server, transport, b"a LOGIN bob wrong\r\nb CAPABILITY\r\n") == b""
    clock.advance(server.failedLoginDelay)
    out = transport.value()
    assert out.startswith(b"a NO [AUTHENTICATIONFAILED]") and b"b OK CAPABILITY" in out


def test_memory_session() -> None:
    account = imap4.MemoryAccount()
    account.select("INBOX").addMessage(io.BytesIO(MESSAGE), [], None)
    server, transport = connect(account)
    out = say(server, transport, b"a LOGIN bob pw\r\nb EXAMINE INBOX\r\nc STORE 1 +FLAGS (x)\r\n")
    assert b"b OK [READ-ONLY]" in out and b"c NO Mailbox is read-only" in out
    out = say(server, transport, b"d SELECT INBOX\r\ne FETCH 1 (RFC822.HEADER RFC822.TEXT)\r\n")
    assert b"RFC822.TEXT {11}\r\nbody text\r\n" in out and b"\\Seen" in out
    out = say(server, transport, b"f STORE 1 FLAGS.SILENT ($Label1)\r\ng FETCH 1 FLAGS\r\n")
    assert b"* 1 FETCH (FLAGS ($Label1))\r\ng OK" in out
    out = say(server, transport, b"h SEARCH KEYWORD $label1 SENTON 1-Jan-2024\r\n")
    assert b"* SEARCH 1\r\n" in out
    out = say(server, transport, b"i SELECT Nope\r\nj FETCH 1 FLAGS\r\n")
    assert b"i NO [NONEXISTENT]" in out and b"j BAD Command not valid" in out
    out = say(server, transport, b"k APPEND Nope {1+}\r\nx\r\n")
    assert b"k NO [TRYCREATE]" in out


class DeferredMailbox(imap4.MemoryMailbox):
    """A mailbox whose fetch and store answer through Deferreds (as a Twisted mailbox
    backed by a database might)."""

    def fetch(self, messages: Any, uid: bool) -> Any:
        from glisten.internet.defer import succeed

        return succeed(super().fetch(messages, uid))

    def store(self, messages: Any, flags: Any, mode: int, uid: bool) -> Any:
        from glisten.internet.defer import succeed

        return succeed(super().store(messages, flags, mode, uid))


def test_mailbox_answering_with_deferreds() -> None:
    account = imap4.MemoryAccount()
    account.mailboxFactory = DeferredMailbox
    account.addMailbox("Deferred")
    account.addMailbox("Other")
    account.select("Deferred").addMessage(io.BytesIO(MESSAGE), [], None)
    server, transport = connect(account)
    out = say(
        server,
        transport,
        b"a LOGIN bob pw\r\nb SELECT Deferred\r\nc FETCH 1 (FLAGS BODY[TEXT])\r\n"
        b"d SEARCH SEEN\r\ne UID COPY 1 Other\r\nf STORE 1 +FLAGS (\\Deleted)\r\n"
        b"g UID EXPUNGE 1\r\n",
    )
    assert b"* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {11}\r\nbody text\r\n)" in out
    assert b"* SEARCH 1\r\nd OK" in out and b"e OK [COPYUID" in out
    assert b"* 1 EXPUNGE\r\ng OK" in out and b"SERVERBUG" not in out


def test_idle_pushes_new_messages() -> None:
    clock = Clock()
    account = imap4.MemoryAccount()
    server, transport = connect(account, clock)
    say(server, transport, b"a LOGIN bob pw\r\nb SELECT INBOX\r\n")
    assert say(server, transport, b"c IDLE\r\n") == b"+ idling\r\n"
    transport.clear()
    account.select("INBOX").addMessage(io.BytesIO(MESSAGE), [], None)
    assert transport.value() == b"* 1 EXISTS\r\n"
    assert say(server, transport, b"DONE\r\n") == b"c OK IDLE terminated\r\n"


def deliverTo(folder: Path, name: str, data: bytes) -> Path:
    path = folder / "new" / name
    path.write_bytes(data)
    return path


def test_maildir_account(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    deliverTo(root, "100.a.host", MESSAGE.replace(b"\r\n", b"\n"))
    account = maildir.MaildirAccount(str(root))
    server, transport = connect(account)
    out = say(server, transport, b"a LOGIN bob pw\r\nb SELECT INBOX\r\n")
    assert b"* 1 EXISTS" in out and b"[UIDNEXT 2]" in out
    validity = out.split(b"[UIDVALIDITY ")[1].split(b"]")[0]
    out = say(
        server, transport, b"c STORE 1 +FLAGS (\\Flagged \\Seen)\r\nd FETCH 1 (UID RFC822.SIZE)\r\n"
    )
    assert b"FLAGS (\\Flagged \\Seen \\Recent)" in out and b"RFC822.SIZE %d" % len(MESSAGE) in out
    assert os.listdir(root / "cur") == ["100.a.host:2,FS"]
    # Traversal is impossible: names are checked.
    out = say(server, transport, b'e CREATE "../escape"\r\nf CREATE Sent\r\n')
    assert b"e NO" in out and b"f OK" in out and (root / ".Sent" / "cur").is_dir()
    out = say(server, transport, b"g UID MOVE 1 Sent\r\nh STATUS Sent (MESSAGES UIDNEXT)\r\n")
    assert b"[COPYUID " in out and b"* 1 EXPUNGE" in out and b"(MESSAGES 1 UIDNEXT 2)" in out
    moved = os.listdir(root / ".Sent" / "cur")
    assert len(moved) == 1 and moved[0].endswith(":2,FS") and os.listdir(root / "cur") == []
    # A restart: same UIDVALIDITY, same UIDs, new messages get new UIDs.
    deliverTo(root, "200.b.host", b"Subject: two\n\nx\n")
    server2, transport2 = connect(maildir.MaildirAccount(str(root)))
    out = say(server2, transport2, b"a LOGIN bob pw\r\nb SELECT INBOX\r\nc UID SEARCH ALL\r\n")
    assert b"[UIDVALIDITY " + validity + b"]" in out and b"* SEARCH 2\r\n" in out


def test_utf8_mailbox_names(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    server, transport = connect(maildir.MaildirAccount(str(root)))
    out = say(server, transport, 'a LOGIN bob pw\r\nb CREATE "Entwürfe"\r\n'.encode())
    assert b"b NO" in out  # 8-bit names need UTF8=ACCEPT
    out = say(
        server,
        transport,
        'c ENABLE UTF8=ACCEPT\r\nd CREATE "Entwürfe"\r\ne LIST "" *\r\n'.encode(),
    )
    assert b"d OK" in out and '"Entwürfe"'.encode() in out
    # Stored as Maildir++ does: the modified UTF-7 spelling.
    assert (root / ".Entw&APw-rfe" / "cur").is_dir()


def test_maildir_idle_sees_delivery_from_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    clock = Clock()
    server, transport = connect(maildir.MaildirAccount(str(root)), clock)
    say(server, transport, b"a LOGIN bob pw\r\nb SELECT INBOX\r\nc IDLE\r\n")
    transport.clear()
    deliverTo(root, "300.c.host", b"Subject: new\n\nx\n")
    clock.advance(server.idlePollInterval)
    # The message is recent in this session (the one that saw it first).
    assert transport.value() == b"* 1 EXISTS\r\n* 1 RECENT\r\n"
    say(server, transport, b"DONE\r\n")
    server.connectionLost(None)
    assert not clock.getDelayedCalls()


def test_pop3_and_imap_share_a_maildir(tmp_path: Path) -> None:
    """IMAP renames a message (flags) while a POP3 session holds it: POP3 still finds it;
    POP3 deletes one while IMAP has it selected: IMAP skips it and never reuses its UID."""
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    deliverTo(root, "1.a.host", b"Subject: a\n\nA\n")
    deliverTo(root, "2.b.host", b"Subject: b\n\nB\n")
    pop = maildir.MaildirMailbox(str(root))
    folder = maildir.MaildirFolder(str(root))
    folder.store(imap4.MessageSet(1), [b"\\Seen"], 1, False)
    with pop.getMessage(0) as f:
        assert f.read() == b"Subject: a\n\nA\n"
    pop.deleteMessage(1)
    pop.sync()
    assert [n for n, _ in folder.fetch(imap4.MessageSet(1, None), False)] == [1]
    deliverTo(root, "3.c.host", b"Subject: c\n\nC\n")
    folder.refresh()
    assert [m.getUID() for _, m in folder.fetch(imap4.MessageSet(1, None), True)] == [1, 3]
    assert maildir.MaildirFolder(str(root)).getUIDNext() == 4


def test_mail_service_imap(tmp_path: Path) -> None:
    service = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(service, str(tmp_path / "ex"))
    domain.addUser("alice", "pw")
    service.addDomain("example.com", domain)
    factory = protocols.IMAP4Factory(service)
    factory.authOverPlaintext = True
    server = factory.buildProtocol(None)
    server.failedLoginDelay = 0
    transport = StringTransport()
    server.makeConnection(transport)
    out = say(server, transport, b'a LOGIN alice@example.com pw\r\nb LIST "" *\r\nc LOGIN x y\r\n')
    assert b"a OK" in out and b'* LIST (\\HasNoChildren) "." INBOX' in out and b"Trash" in out
    assert b"c BAD Command not valid in this state" in out
    server2 = factory.buildProtocol(None)
    server2.failedLoginDelay = 0
    transport2 = StringTransport()
    server2.makeConnection(transport2)
    out = say(server2, transport2, b"a LOGIN alice@example.org pw\r\n")
    assert b"a NO [AUTHENTICATIONFAILED]" in out


@pytest.mark.parametrize("name", ["INBOX", "Sent"])
def test_maildir_append_keeps_bytes(tmp_path: Path, name: str) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    account = maildir.MaildirAccount(str(root))
    if name != "INBOX":
        account.create(name)
    folder = account.select(name)
    uid = folder.addMessage(io.BytesIO(MESSAGE), [b"\\Seen"], None)
    assert uid == 1
    [(number, message)] = folder.fetch(imap4.MessageSet(1), True)
    # No session has seen the message yet: it is \\Recent.
    assert message.getRawMessage() == MESSAGE
    assert message.getFlags() == [b"\\Seen", b"\\Recent"]


_COMMANDS = [
    b"a LOGIN bob pw\r\n",
    b"b SELECT INBOX\r\n",
    b"c EXAMINE INBOX\r\n",
    b"d FETCH 1:* (FLAGS UID ENVELOPE BODYSTRUCTURE BODY[1] BODY.PEEK[HEADER]<0.10>)\r\n",
    b"e UID STORE 1:* +FLAGS (\\Deleted)\r\n",
    b"f EXPUNGE\r\n",
    b"g APPEND INBOX {5+}\r\nhello\r\n",
    b"g2 APPEND Caf&AOk- (kw) {1+}\r\na {2+}\r\nbc\r\n",
    b'h LIST "" *\r\n',
    b"i CREATE A.B\r\n",
    b"j RENAME A C\r\n",
    b"k DELETE C.B\r\n",
    b"l UID MOVE 1:* C\r\n",
    b"m SEARCH OR ALL TEXT x\r\n",
    b"n STATUS INBOX (MESSAGES UNSEEN)\r\n",
    b"o IDLE\r\n",
    b"DONE\r\n",
    b"p CLOSE\r\n",
    b"q UNSELECT\r\n",
    b"r COPY 2 INBOX\r\n",
    b"s NOOP\r\n",
    b't LSUB "" %\r\n',
    b"u SUBSCRIBE INBOX\r\n",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_COMMANDS), st.binary(max_size=30)), max_size=25),
    st.booleans(),
)
def test_server_fuzz_never_raises(chunks: list[bytes], onMaildir: bool) -> None:
    """Random sequences of commands (and bytes) against the whole server and an in-memory
    or maildir account: only IMAP answers come out, never an exception."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        account: Any = imap4.MemoryAccount()
        if onMaildir:
            maildir.initializeMaildir(folder)
            account = maildir.MaildirAccount(folder)
        account.select("INBOX").addMessage(io.BytesIO(MESSAGE), [], None)
        _fuzzServer(account, chunks)


def _fuzzServer(account: Any, chunks: list[bytes]) -> None:
    from glisten.internet.testing import EventLoggingObserver
    from glisten.logger import globalLogPublisher

    server, transport = connect(account)
    server.failedLoginDelay = 0
    observer = EventLoggingObserver()
    globalLogPublisher.addObserver(observer)
    try:
        for chunk in chunks:
            server.dataReceived(chunk)
            if transport.disconnecting:
                break
        server.connectionLost(None)
    finally:
        globalLogPublisher.removeObserver(observer)
    # No failure was logged (a traceback would be one), and no command hit a server bug.
    assert not [e for e in observer if e.get("log_failure") is not None]
    assert b"SERVERBUG" not in transport.value()
