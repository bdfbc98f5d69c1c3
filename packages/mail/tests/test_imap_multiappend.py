"""MULTIAPPEND (RFC 3502): several messages in one APPEND, added all or none."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from glisten.mail import imap4, maildir
from glisten.mail._imap import Append, AppendedMessage, Limits, ServerConnection

from .test_imap4 import connect, say

COMMAND = (
    b"x APPEND Sent (\\Seen) {3}\r\none"
    b' (\\Flagged $Work) "01-Feb-2024 10:00:00 +0000" {3}\r\ntwo {5}\r\nthree\r\n'
)


def _loggedIn() -> ServerConnection:
    codec = ServerConnection(plaintextLogin=True)
    codec.receiveData(b"a LOGIN bob pw\r\n")
    codec.acceptLogin(b"a")
    codec.dataToSend()
    return codec


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_codec_parses_several_messages(byteAtATime: bool) -> None:
    codec = _loggedIn()
    if byteAtATime:
        events = [e for i in range(len(COMMAND)) for e in codec.receiveData(COMMAND[i : i + 1])]
    else:
        events = codec.receiveData(COMMAND)
    [event] = events
    assert isinstance(event, Append) and event.mailbox == b"Sent"
    assert event.messages == (
        AppendedMessage((b"\\Seen",), None, b"one"),
        AppendedMessage(
            (b"\\Flagged", b"$Work"),
            datetime.datetime(2024, 2, 1, 10, 0, tzinfo=datetime.UTC),
            b"two",
        ),
        AppendedMessage((), None, b"three"),
    )
    # Three synchronising literals: three continuation requests.
    assert codec.dataToSend().count(b"+ Ready") == 3
    assert b"MULTIAPPEND" in b" ".join(codec.capabilities())


@pytest.mark.parametrize(
    "command",
    [
        b"x APPEND Sent {1}\r\na {1}\r\nb junk\r\n",
        b"x APPEND Sent {1}\r\na (\\Seen)\r\n",
        b"x APPEND Sent {1}\r\na  {1}\r\nb\r\n",
        b'x APPEND Sent {1}\r\na "bad date" {1}\r\nb\r\n',
    ],
)
def test_codec_refuses_broken_multiappend(command: bytes) -> None:
    codec = _loggedIn()
    assert codec.receiveData(command) == []
    assert b"x BAD" in codec.dataToSend()


def test_server_appends_all(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    account = maildir.MaildirAccount(str(root))
    account.create("Sent")
    server, transport = connect(account)
    say(server, transport, b"a LOGIN bob pw\r\n")
    out = say(server, transport, COMMAND)
    assert out.endswith(
        b"x OK [APPENDUID %d 1,2,3] APPEND completed\r\n" % account.select("Sent").getUIDValidity()
    )
    out = say(
        server, transport, b"b SELECT Sent\r\nc FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n"
    )
    assert b"* 3 EXISTS" in out
    assert b"FLAGS (\\Seen \\Recent)" in out and b"FLAGS (\\Flagged $Work \\Recent)" in out
    assert b'" 1-Feb-2024 10:00:00 +0000"' in out and b"BODY[] {5}\r\nthree" in out


class FailingMailbox(imap4.MemoryMailbox):
    """Refuses its third message."""

    def addMessage(self, message: Any, flags: Any = (), date: Any = None) -> int:
        if len(self.messages) == 2:
            raise imap4.MailboxException("Mailbox full")
        return super().addMessage(message, flags, date)


def test_server_appends_none_when_one_fails() -> None:
    account = imap4.MemoryAccount()
    box = FailingMailbox()
    account.addMailbox("Sent", box)
    server, transport = connect(account)
    say(server, transport, b"a LOGIN bob pw\r\n")
    out = say(server, transport, COMMAND)
    assert out.endswith(b"x NO Mailbox full\r\n") and box.messages == []
    # Selected: the client hears the messages come and go.
    say(server, transport, b"b SELECT Sent\r\n")
    out = say(server, transport, COMMAND)
    assert b"* 2 EXISTS" in out and b"* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n" in out
    assert out.endswith(b"x NO Mailbox full\r\n") and box.messages == []
    out = say(server, transport, b"c APPEND Sent {2+}\r\nok\r\n")
    assert b"c OK [APPENDUID " in out and len(box.messages) == 1


def test_message_count_is_limited() -> None:
    codec = ServerConnection(Limits(maxLiterals=3), plaintextLogin=True)
    codec.receiveData(b"a LOGIN bob pw\r\n")
    codec.acceptLogin(b"a")
    codec.dataToSend()
    many = b"x APPEND Sent" + b" {1+}\r\na" * 4 + b"\r\n"
    # Non-synchronising literals over the limit cannot be skipped safely: the session ends.
    assert [type(e).__name__ for e in codec.receiveData(many)] == ["ConnectionClosing"]
    assert codec.dataToSend().startswith(b"* BYE")
    codec = _loggedIn()
    assert codec.receiveData(b"y APPEND Sent" + b" {1+}\r\na" * 3 + b"\r\n") != []
