"""The sans-I/O SMTP client, replies parsing and dot-stuffing, against scripted servers and
against the server codec itself."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.mail._smtp import (
    ClientConnection,
    ClientState,
    DotStuffer,
    Limits,
    MessageComplete,
    MessageData,
    ReplyReader,
    ServerConnection,
    SMTPProtocolError,
    stuff,
)
from glisten.mail._smtp._events import (
    Closed,
    MessageSent,
    Ready,
    SendData,
    SessionFailed,
    TLSRequested,
    TransactionFailed,
)
from glisten.mail._smtp._sasl import cramVerify

from .test_smtp_server_codec import Driver

EHLO_PIPELINING = (
    b"250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-DSN\r\n"
    b"250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n"
)


def types(events: list[Any]) -> list[type]:
    return [type(e) for e in events]


def test_replyReader() -> None:
    r = ReplyReader(Limits())
    assert r.feed(b"250-a\r\n250 b\r") == []
    [reply] = r.feed(b"\n")
    assert reply.code == 250 and reply.lines == (b"a", b"b")
    assert [x.code for x in r.feed(b"220\r\n354 go\r\n")] == [220, 354]
    for bad in (b"2x0 a\r\n", b"250xa\r\n", b"600 no\r\n", b"250-a\r\n251 b\r\n"):
        with pytest.raises(SMTPProtocolError):
            ReplyReader(Limits()).feed(bad)
    with pytest.raises(SMTPProtocolError):
        ReplyReader(Limits(maxReplyLine=10)).feed(b"250 " + b"x" * 20)
    with pytest.raises(SMTPProtocolError):
        ReplyReader(Limits(maxReplyLines=3)).feed(b"250-a\r\n" * 4)


@pytest.mark.parametrize(
    "text,wire",
    [
        (b"", b".\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b".a\n.\n", b"..a\r\n..\r\n.\r\n"),
        (b"x\r.y\rz", b"x\r\n..y\r\nz\r\n.\r\n"),
    ],
)
def test_stuff(text: bytes, wire: bytes) -> None:
    assert stuff(text) == wire
    s = DotStuffer()
    assert b"".join(s.feed(text[i : i + 1]) for i in range(len(text))) + s.end() == wire


def test_pipelinedTransaction() -> None:
    c = ClientConnection(b"me.example")
    assert c.receiveData(b"220 mx ESMTP\r\n") == []
    assert c.dataToSend() == b"EHLO me.example\r\n"
    events = c.receiveData(EHLO_PIPELINING)
    assert types(events) == [Ready] and c.pipelining
    assert (
        c.sendMessage(
            b"a@b.c", [b"x@y.z", b"no@y.z"], size=10, ret="HDRS", envid=b"id+1", notify=["FAILURE"]
        )
        == []
    )
    assert c.dataToSend() == (
        b"MAIL FROM:<a@b.c> SIZE=10 RET=HDRS ENVID=id+2B1\r\n"
        b"RCPT TO:<x@y.z> NOTIFY=FAILURE\r\nRCPT TO:<no@y.z> NOTIFY=FAILURE\r\nDATA\r\n"
    )
    events = c.receiveData(b"250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n")
    assert isinstance(events[-1], SendData)
    wire = c.sendData(b".hi\n") + c.endData()
    assert wire == b"..hi\r\n.\r\n"
    events = c.receiveData(b"250 queued\r\n")
    sent = events[0]
    assert isinstance(sent, MessageSent) and sent.accepted == (b"x@y.z",)
    assert sent.rejected[0][0] == b"no@y.z" and isinstance(events[1], Ready)
    assert c.quit() == b"QUIT\r\n"
    assert types(c.receiveData(b"221 bye\r\n")) == [Closed]


def test_unpipelinedStopsAtRefusedSender() -> None:
    c = ClientConnection(b"me")
    c.receiveData(b"220 mx\r\n250 mx\r\n")
    c.dataToSend()
    c.sendMessage(b"a@b.c", [b"x@y.z"])
    assert c.dataToSend() == b"MAIL FROM:<a@b.c>\r\n"
    events = c.receiveData(b"550 go away\r\n")
    assert isinstance(events[0], TransactionFailed) and events[0].stage == "mail"
    assert c.dataToSend() == b"RSET\r\n"
    assert types(c.receiveData(b"250 ok\r\n")) == [Ready]


def test_unpipelinedAllRecipientsRefused() -> None:
    c = ClientConnection(b"me")
    c.receiveData(b"220 mx\r\n250 mx\r\n")
    c.sendMessage(b"a@b.c", [b"x@y.z"])
    c.dataToSend()
    c.receiveData(b"250 ok\r\n")
    assert c.dataToSend() == b"RCPT TO:<x@y.z>\r\n"
    events = c.receiveData(b"550 unknown\r\n")
    assert [e for e in events if isinstance(e, TransactionFailed)][0].stage == "rcpt"
    assert c.dataToSend() == b"RSET\r\n"


def test_heloFallbackAndUTF8Refused() -> None:
    c = ClientConnection(b"me")
    c.receiveData(b"220 mx\r\n")
    c.dataToSend()
    c.receiveData(b"500 what\r\n")
    assert c.dataToSend() == b"HELO me\r\n"
    assert types(c.receiveData(b"250 mx\r\n")) == [Ready]
    events = c.sendMessage("é@b.c".encode(), [b"x@y.z"])
    assert isinstance(events[0], TransactionFailed) and events[0].reply.code == 553


def test_startTLSAndAuth() -> None:
    c = ClientConnection(
        b"me", tlsAvailable=True, username=b"alice", password=b"pw", requireTLS=True
    )
    c.receiveData(b"220 mx\r\n")
    c.dataToSend()
    c.receiveData(b"250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
    assert c.dataToSend() == b"STARTTLS\r\n"
    assert types(c.receiveData(b"220 go\r\n")) == [TLSRequested]
    c.tlsStarted()
    assert c.dataToSend() == b"EHLO me\r\n"
    c.receiveData(b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n")
    assert c.dataToSend() == b"AUTH PLAIN " + base64.b64encode(b"\0alice\0pw") + b"\r\n"
    assert types(c.receiveData(b"235 ok\r\n")) == [Ready] and c.authenticated


@pytest.mark.parametrize("partial", [b"", b"250-hal"])
def test_clearTextAfterStartTLSIsDropped(partial: bytes) -> None:
    """Replies (or part of one) sent in clear text behind ``220`` never count as the answer
    to the ``EHLO`` said over TLS: a man in the middle could have put them there."""
    c = ClientConnection(b"me", tlsAvailable=True)
    c.receiveData(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n")
    c.dataToSend()
    events = c.receiveData(b"220 go\r\n250-evil\r\n250 AUTH PLAIN\r\n" + partial)
    assert types(events) == [TLSRequested]
    c.tlsStarted()
    assert c.dataToSend() == b"EHLO me\r\n"
    assert c.receiveData(b"") == []
    events = c.receiveData(b"250-mx\r\n250 SIZE 100\r\n")
    assert types(events) == [Ready] and c.extensions == {"SIZE": b"100"}


def test_requireTLSFails() -> None:
    c = ClientConnection(b"me", tlsAvailable=True, requireTLS=True)
    events = c.receiveData(b"220 mx\r\n250 mx\r\n")
    assert isinstance(events[-1], SessionFailed) and events[-1].stage == "tls"
    assert c.state is ClientState.CLOSED


def test_noPlaintextPasswords() -> None:
    c = ClientConnection(b"me", username=b"alice", password=b"pw", requireAuth=True)
    events = c.receiveData(b"220 mx\r\n250-mx\r\n250 AUTH PLAIN LOGIN\r\n")
    assert isinstance(events[-1], SessionFailed) and b"AUTH" not in c.dataToSend()


def test_authLoginAndCram() -> None:
    c = ClientConnection(b"me", username=b"alice", password=b"pw", secure=True)
    c.receiveData(b"220 mx\r\n250-mx\r\n250 AUTH LOGIN\r\n")
    assert c.dataToSend().endswith(b"AUTH LOGIN\r\n")
    c.receiveData(b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n")
    assert c.dataToSend() == base64.b64encode(b"alice") + b"\r\n" + base64.b64encode(b"pw") + (
        b"\r\n"
    )
    events = c.receiveData(b"535 bad\r\n")
    assert isinstance(events[-1], SessionFailed) and events[-1].stage == "auth"

    c = ClientConnection(b"me", username=b"alice", password=b"pw")
    c.receiveData(b"220 mx\r\n250-mx\r\n250 AUTH CRAM-MD5 PLAIN\r\n")
    assert c.dataToSend().endswith(b"AUTH CRAM-MD5\r\n")
    c.receiveData(b"334 " + base64.b64encode(b"<1.2@mx>") + b"\r\n")
    user, digest = base64.b64decode(c.dataToSend()).split(b" ")
    assert user == b"alice" and cramVerify(b"pw", b"<1.2@mx>", digest)


def test_421Anywhere() -> None:
    c = ClientConnection(b"me")
    events = c.receiveData(b"421 busy\r\n")
    assert isinstance(events[0], SessionFailed) and c.state is ClientState.CLOSED


def test_garbageReply() -> None:
    c = ClientConnection(b"me")
    events = c.receiveData(b"hello\r\n")
    assert isinstance(events[0], SessionFailed) and events[0].stage == "protocol"


def pump(client: ClientConnection, server: Any, events: list[Any]) -> None:
    """Move bytes both ways between a client codec and a server driver until quiet."""
    while True:
        out = client.dataToSend()
        if not out:
            return
        events.extend(client.receiveData(server.feed(out)))


@pytest.mark.parametrize("pipelining", [True, False])
def test_againstServerCodec(pipelining: bool) -> None:
    d = Driver(ServerConnection(b"mx", authMechanisms=("CRAM-MD5",)))
    if not pipelining:
        d.conn.esmtp = False
    c = ClientConnection(b"me", username=b"alice" if pipelining else None, password=b"pw")
    events = c.receiveData(d.conn.greeting())
    pump(c, d, events)
    assert isinstance(events[-1], Ready)
    message = b"Subject: x\n\n.line\nend"
    events += c.sendMessage(b"a@b.c", [b"x@y.z"], size=len(message))
    pump(c, d, events)
    assert isinstance(events[-1], SendData)
    events += c.receiveData(d.feed(c.sendData(message) + c.endData()))
    assert isinstance(events[-2], MessageSent)
    assert d.messages == [b"Subject: x\r\n\r\n.line\r\nend\r\n"]
    events += c.receiveData(d.feed(c.quit()))
    assert isinstance(events[-1], Closed)
    assert any(isinstance(e, MessageData) for e in d.events)
    assert any(isinstance(e, MessageComplete) for e in d.events)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzzReplies(data: bytes) -> None:
    c = ClientConnection(b"me", tlsAvailable=True, username=b"u", password=b"p")
    for i in range(len(data)):
        c.receiveData(data[i : i + 1])
        c.dataToSend()
        if c.state is ClientState.IDLE:
            c.sendMessage(b"a@b.c", [b"d@e.f"])
        elif c.state is ClientState.TLS_PENDING:
            c.tlsStarted()
        elif c.state is ClientState.SEND_DATA:
            c.sendData(b"x")
            c.endData()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=20))
def test_stuffRoundTrip(chunks: list[bytes]) -> None:
    s = DotStuffer()
    wire = b"".join(s.feed(c) for c in chunks) + s.end()
    d = Driver(ServerConnection(b"mx"))
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n" + wire)
    text = b"".join(chunks).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    expected = text.replace(b"\n", b"\r\n")
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert d.messages == [expected]
