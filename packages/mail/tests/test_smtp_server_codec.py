"""The sans-I/O SMTP server: commands, replies, limits, extensions, fed whole and bytewise."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.mail._smtp import (
    AuthRequested,
    ConnectionFailed,
    DataStarted,
    Hello,
    Limits,
    LocalProtocolError,
    Mailbox,
    MailFrom,
    MessageAborted,
    MessageComplete,
    MessageData,
    Quit,
    RcptTo,
    Reset,
    ServerConnection,
    ServerState,
    StartTLS,
)


class Driver:
    """Feeds a server codec and answers every question yes (or as told)."""

    def __init__(self, conn: ServerConnection, rejectRcpt: bytes = b"", password: bytes = b"pw"):
        self.conn = conn
        self.events: list[Any] = []
        self.out = b""
        self.messages: list[bytes] = []
        self._current: list[bytes] = []
        self.rejectRcpt = rejectRcpt
        self.password = password

    def feed(self, data: bytes, bytewise: bool = False) -> bytes:
        chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
        for chunk in chunks:
            pending = self.conn.receiveData(chunk)
            while pending:
                again = False
                for e in pending:
                    self.events.append(e)
                    again |= self._answer(e)
                pending = self.conn.receiveData(b"") if again else []
        out = self.conn.dataToSend()
        self.out += out
        return out

    def _answer(self, e: Any) -> bool:
        c = self.conn
        if isinstance(e, MailFrom):
            c.acceptMail()
        elif isinstance(e, RcptTo):
            if self.rejectRcpt and bytes(e.recipient).startswith(self.rejectRcpt):
                c.rejectRecipient()
            else:
                c.acceptRecipient()
        elif isinstance(e, MessageData):
            self._current.append(e.data)
            return False
        elif isinstance(e, MessageComplete):
            self.messages.append(b"".join(self._current))
            self._current = []
            c.acceptMessage()
        elif isinstance(e, (MessageAborted, Reset)):
            self._current = []
            return False
        elif isinstance(e, AuthRequested):
            if e.mechanism == "CRAM-MD5":
                assert e.challenge is not None and e.response is not None
                good = hmac.compare_digest(
                    hmac.new(self.password, e.challenge, hashlib.md5).hexdigest().encode(),
                    e.response,
                )
            else:
                good = e.password == self.password
            c.authSucceeded() if good else c.authFailed()
        else:
            return False
        return True

    def codes(self) -> list[int]:
        return [int(line[:3]) for line in self.out.split(b"\r\n") if line[3:4] == b" "]


def server(**kw: Any) -> Driver:
    return Driver(ServerConnection(b"mx.example", **kw))


SESSION = (
    b"EHLO client.example\r\n"
    b"MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\n"
    b"RCPT TO:<b@example.com>\r\n"
    b"RCPT TO:<c@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40example.com\r\n"
    b"DATA\r\n"
    b"Subject: hi\r\n\r\n..leading dot\r\n.\r\n"
    b"QUIT\r\n"
)


@pytest.mark.parametrize("bytewise", [False, True])
def test_session(bytewise: bool) -> None:
    d = server()
    assert d.conn.greeting().startswith(b"220 mx.example ")
    d.feed(SESSION, bytewise)
    assert d.codes() == [250, 250, 250, 250, 354, 250, 221]
    assert d.messages == [b"Subject: hi\r\n\r\n.leading dot\r\n"]
    assert b"250-PIPELINING\r\n" in d.out and b"250-SIZE" in d.out and b"250-CHUNKING" in d.out
    assert b"STARTTLS" not in d.out and b"AUTH" not in d.out
    mail = [e for e in d.events if isinstance(e, MailFrom)][0]
    assert mail.sender == Mailbox(b"a", b"example.org")
    assert mail.params.size == 100 and mail.params.body == "8BITMIME"
    rcpts = [e for e in d.events if isinstance(e, RcptTo)]
    assert rcpts[1].params.notify == {"SUCCESS", "FAILURE"}
    assert rcpts[1].params.orcpt == ("rfc822", b"c@example.com")
    assert isinstance(d.events[-1], Quit)
    assert d.conn.state is ServerState.CLOSED
    assert b"250 2.0.0 Message accepted" in d.out


def test_pipelinedRepliesInOneWrite() -> None:
    d = server()
    d.feed(b"EHLO c\r\n")
    out = d.feed(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<no@y.z>\r\nDATA\r\n")
    assert out.count(b"\r\n") == 4


def test_rejectedRecipientsThenDataRefused() -> None:
    d = server()
    d.rejectRcpt = b"no"
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<no@y.z>\r\nDATA\r\n")
    assert d.codes() == [250, 250, 550, 554]


def test_helo() -> None:
    d = server()
    d.feed(b"HELO c\r\nMAIL FROM:<a@b.c> SIZE=10\r\nMAIL FROM:<a@b.c>\r\n")
    assert d.codes() == [250, 555, 250]
    assert d.out.endswith(b"250 Sender OK\r\n")  # no enhanced codes without EHLO


@pytest.mark.parametrize(
    "line,code",
    [
        (b"MAIL FROM:<a@b.c>", 503),
        (b"FOO", 500),
        (b"DATA", 503),
        (b"EHLO", 501),
    ],
)
def test_sequenceAndSyntax(line: bytes, code: int) -> None:
    d = server()
    d.feed(line + b"\r\n")
    assert d.codes() == [code]


@pytest.mark.parametrize(
    "cmd,code",
    [
        (b"MAIL FROM:a@b.c", 501),
        (b"MAIL FROM:<a@@b.c>", 501),
        (b"MAIL FROM:<a..b@c.d>", 501),
        (b"MAIL FROM:<a@b.c> SIZE=99999999999", 552),
        (b"MAIL FROM:<a@b.c> BODY=BINARYMIME", 555),
        (b"MAIL FROM:<a@b.c> FOO=1", 555),
        (b"MAIL FROM:<a@b.c> SIZE=1 SIZE=1", 501),
        (b"MAIL FROM:<a@b.c> RET=ALL", 501),
        (b"MAIL FROM:<\xc3\xa9@b.c>", 553),
        (b"MAIL FROM:<\xc3\xa9@b.c> SMTPUTF8", 250),
        (b"MAIL FROM:<> RET=HDRS ENVID=abc+2B", 250),
        # Decoded ENVID is copied into DSN header fields: no CR, LF or other control.
        (b"MAIL FROM:<> ENVID=a+0D+0ABcc:+20x@evil.example", 501),
        (b"MAIL FROM:<> ENVID=a+00b", 501),
        (b"MAIL FROM:<> ENVID=a+C3+A9", 501),
        (b'MAIL FROM:<"a b>c"@b.c>', 250),
        (b"MAIL FROM: <a@[192.0.2.1]>", 250),
        (b"MAIL FROM:<a@[IPv6:::1]>", 250),
        (b"MAIL FROM:<a@[300.1.1.1]>", 501),
        (b"MAIL FROM:<@r1.example,@r2.example:a@b.c>", 250),
    ],
)
def test_mailSyntax(cmd: bytes, code: int) -> None:
    d = server()
    d.feed(b"EHLO c\r\n" + cmd + b"\r\n")
    assert d.codes()[-1] == code


@pytest.mark.parametrize(
    "orcpt,code",
    [
        (b"rfc822;a+40b.example", 250),
        (b"utf-8;+C3+A9+40b.example", 250),
        (b"rfc822;a+0D+0AX-Injected:+20yes", 501),
        (b"rfc822;a+09b", 501),
    ],
)
def test_orcptWithoutControlCharacters(orcpt: bytes, code: int) -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<c@example.com> ORCPT=" + orcpt + b"\r\n")
    assert d.codes()[-1] == code


def test_envelopeDetails() -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<> RET=HDRS ENVID=abc+2B\r\nRCPT TO:<Postmaster>\r\n")
    mail = [e for e in d.events if isinstance(e, MailFrom)][0]
    assert mail.sender == Mailbox(b"", b"") and mail.params.envid == b"abc+"
    assert mail.params.ret == "HDRS"
    rcpt = [e for e in d.events if isinstance(e, RcptTo)][0]
    assert rcpt.recipient == Mailbox(b"Postmaster", b"")


def test_sourceRouteDropped() -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<@relay.example:victim@evil.example>\r\n")
    rcpt = [e for e in d.events if isinstance(e, RcptTo)][0]
    assert rcpt.recipient == Mailbox(b"victim", b"evil.example")


def test_recipientLimit() -> None:
    d = Driver(ServerConnection(b"mx", Limits(maxRecipients=2)))
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n" + b"RCPT TO:<x@y.z>\r\n" * 3)
    assert d.codes() == [250, 250, 250, 250, 452]


@pytest.mark.parametrize("bytewise", [False, True])
def test_messageTooBig(bytewise: bool) -> None:
    d = Driver(ServerConnection(b"mx", Limits(maxMessageSize=50)))
    body = b"x" * 40 + b"\r\n" + b"y" * 40 + b"\r\n.\r\n"
    d.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n" + body + b"NOOP\r\n", bytewise
    )
    assert d.codes() == [250, 250, 250, 354, 552, 250]
    assert any(isinstance(e, MessageAborted) for e in d.events)
    assert d.messages == []


@pytest.mark.parametrize("bytewise", [False, True])
def test_dataLineTooLong(bytewise: bool) -> None:
    d = server()
    body = b"ok\r\n" + b"z" * 5000 + b"\r\n.\r\n"
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n" + body, bytewise)
    assert d.codes()[-1] == 500 and d.conn.state is ServerState.READY


@pytest.mark.parametrize("bad", [b"a\nb\r\n", b"a\rb\r\n", b"x\n.\n"])
def test_bareLineEndingsRefused(bad: bytes) -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n" + bad + b"\r\n.\r\n")
    assert d.codes()[-1] == 554 and d.messages == []


def test_commandLineTooLong() -> None:
    d = server()
    d.feed(b"NOOP " + b"a" * 5000 + b"\r\nNOOP\r\n")
    assert d.codes() == [500, 250]


def test_tooManyErrors() -> None:
    d = Driver(ServerConnection(b"mx", Limits(maxErrors=3)))
    d.feed(b"X\r\n" * 10)
    assert d.codes() == [500, 500, 500, 421]
    assert isinstance(d.events[-1], ConnectionFailed)


@pytest.mark.parametrize("bytewise", [False, True])
def test_bdat(bytewise: bool) -> None:
    d = server()
    d.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n"
        b"BDAT 5\r\nhello"
        b"BDAT 0\r\n"
        b"BDAT 10 LAST\r\n\r\n.world\r\nNOOP\r\n",
        bytewise,
    )
    assert d.codes() == [250, 250, 250, 250, 250, 250, 250]
    assert d.messages == [b"hello\r\n.world\r\n"]
    assert sum(isinstance(e, DataStarted) for e in d.events) == 1


def test_bdatWithoutRecipientsSkipsChunk() -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n")
    assert d.codes() == [250, 250, 554, 250]


def test_bdatThenDataRefused() -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 1\r\nxDATA\r\n")
    assert d.codes()[-1] == 503


def test_badBdatClosesSession() -> None:
    d = server()
    d.feed(b"EHLO c\r\nBDAT x\r\n")
    assert d.codes()[-1] == 501 and isinstance(d.events[-1], ConnectionFailed)


def test_rset() -> None:
    d = server()
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRSET\r\nMAIL FROM:<a@b.c>\r\n")
    assert d.codes() == [250, 250, 250, 250]
    assert any(isinstance(e, Reset) for e in d.events)


def test_miscCommands() -> None:
    d = server()
    d.feed(b"EHLO c\r\nVRFY x\r\nEXPN x\r\nHELP\r\nNOOP x\r\n")
    assert d.codes() == [250, 252, 502, 214, 250]


def test_applicationMustAnswerInOrder() -> None:
    conn = ServerConnection(b"mx")
    with pytest.raises(LocalProtocolError):
        conn.acceptMail()
    events = conn.receiveData(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nNOOP\r\n")
    assert [type(e) for e in events] == [Hello, MailFrom]
    assert conn.dataToSend().count(b"\r\n") == 8  # only the EHLO reply yet
    with pytest.raises(LocalProtocolError):
        conn.acceptRecipient()
    conn.rejectMail()
    assert conn.receiveData(b"") == []
    assert conn.dataToSend() == b"550 5.1.0 Sender refused\r\n250 2.0.0 OK\r\n"


def test_pipeliningOverflow() -> None:
    conn = ServerConnection(b"mx", Limits(maxPipelined=100))
    conn.receiveData(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n")
    events = conn.receiveData(b"NOOP\r\n" * 50)
    assert isinstance(events[-1], ConnectionFailed)


# -- STARTTLS ----------------------------------------------------------------------------


def test_starttlsDiscardsPipelinedPlaintext() -> None:
    d = server(tlsAvailable=True, authMechanisms=("PLAIN",))
    d.feed(b"EHLO c\r\n")
    assert b"STARTTLS" in d.out and b"AUTH" not in d.out
    d.out = b""
    d.feed(b"STARTTLS\r\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<v@x.y>\r\n")
    assert d.codes() == [220]
    assert isinstance(d.events[-1], StartTLS)
    assert d.conn.receiveData(b"NOOP\r\n") == []  # nothing parsed before the switch
    d.conn.tlsStarted()
    d.out = b""
    # The injected MAIL never happened: the session starts over, HELO first.
    d.feed(b"MAIL FROM:<a@b.c>\r\nEHLO c\r\n")
    assert d.codes() == [503, 250]
    assert b"STARTTLS" not in d.out and b"AUTH PLAIN" in d.out
    assert not any(isinstance(e, MailFrom) for e in d.events)


def test_starttlsNotOffered() -> None:
    d = server()
    d.feed(b"EHLO c\r\nSTARTTLS\r\n")
    assert d.codes() == [250, 502]


def test_requireTLS() -> None:
    d = server(tlsAvailable=True, requireTLS=True)
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n")
    assert d.codes() == [250, 530]


# -- AUTH --------------------------------------------------------------------------------


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


@pytest.mark.parametrize("bytewise", [False, True])
def test_authPlain(bytewise: bool) -> None:
    d = server(secure=True, authMechanisms=("PLAIN", "LOGIN"), requireAuth=True)
    d.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", bytewise)
    assert b"250 AUTH PLAIN LOGIN" in d.out and d.codes()[-1] == 530
    d.feed(b"AUTH PLAIN " + b64(b"\0alice\0pw") + b"\r\nMAIL FROM:<a@b.c>\r\n", bytewise)
    assert d.codes()[-2:] == [235, 250]
    assert d.conn.authenticated == b"alice"
    d.feed(b"AUTH PLAIN\r\n")
    assert d.codes()[-1] == 503


def test_authPlainChallengeAndFailure() -> None:
    d = server(secure=True, authMechanisms=("PLAIN",))
    d.feed(b"EHLO c\r\nAUTH PLAIN\r\n")
    assert d.out.endswith(b"334 \r\n")
    d.feed(b64(b"\0alice\0wrong") + b"\r\n")
    assert d.codes()[-1] == 535 and d.conn.authenticated is None
    d.feed(b"AUTH PLAIN " + b64(b"bob\0alice\0pw") + b"\r\n")
    assert d.codes()[-1] == 501  # no acting as someone else
    d.feed(b"AUTH PLAIN !!!\r\n")
    assert d.codes()[-1] == 501
    d.feed(b"AUTH PLAIN\r\n*\r\n")
    assert d.codes()[-1] == 501


def test_authLogin() -> None:
    d = server(secure=True, authMechanisms=("LOGIN",))
    d.feed(b"EHLO c\r\nAUTH LOGIN\r\n")
    assert d.out.endswith(b"334 VXNlcm5hbWU6\r\n")
    d.feed(b64(b"alice") + b"\r\n")
    assert d.out.endswith(b"334 UGFzc3dvcmQ6\r\n")
    d.feed(b64(b"pw") + b"\r\n")
    assert d.codes()[-1] == 235


def test_authCramMD5() -> None:
    d = server(secure=True, authMechanisms=("CRAM-MD5",))
    d.feed(b"EHLO c\r\nAUTH CRAM-MD5\r\n")
    challenge = base64.b64decode(d.out.rsplit(b"334 ", 1)[1].strip())
    assert challenge.startswith(b"<") and challenge.endswith(b"@mx.example>")
    digest = hmac.new(b"pw", challenge, hashlib.md5).hexdigest().encode()
    d.feed(b64(b"alice " + digest) + b"\r\n")
    assert d.codes()[-1] == 235


def test_authNotOverPlaintext() -> None:
    d = server(authMechanisms=("PLAIN",))
    d.feed(b"EHLO c\r\nAUTH PLAIN " + b64(b"\0alice\0pw") + b"\r\n")
    assert b"AUTH" not in d.out.split(b"\r\n")[1] and d.codes()[-1] == 538
    d = server(authMechanisms=("PLAIN",), authWithoutTLS=True)
    d.feed(b"EHLO c\r\nAUTH PLAIN " + b64(b"\0alice\0pw") + b"\r\nAUTH FOO\r\n")
    assert d.codes()[-2:] == [235, 503]


def test_unknownMechanism() -> None:
    d = server(secure=True, authMechanisms=("PLAIN",))
    d.feed(b"EHLO c\r\nAUTH GSSAPI\r\n")
    assert d.codes()[-1] == 504
    with pytest.raises(ValueError):
        ServerConnection(b"mx", authMechanisms=("NTLM",))


# -- fuzzing -----------------------------------------------------------------------------


_PIECES = st.sampled_from(
    [
        b"EHLO c\r\n",
        b"HELO c\r\n",
        b"MAIL FROM:<a@b.c>\r\n",
        b"RCPT TO:<x@y.z>\r\n",
        b"DATA\r\n",
        b"BDAT 3\r\n",
        b"BDAT 2 LAST\r\n",
        b".\r\n",
        b"RSET\r\n",
        b"STARTTLS\r\n",
        b"AUTH PLAIN\r\n",
        b"AUTH LOGIN\r\n",
        b"AUTH CRAM-MD5\r\n",
        b"=\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b".",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.binary(max_size=40)), max_size=30), st.booleans())
def test_fuzzNeverRaises(pieces: list[bytes], bytewise: bool) -> None:
    d = Driver(
        ServerConnection(
            b"mx",
            Limits(maxCommandLine=64, maxDataLine=64, maxMessageSize=200),
            tlsAvailable=True,
            authMechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
            authWithoutTLS=True,
        )
    )
    data = b"".join(pieces)
    d.feed(data, bytewise)
    for line in d.out.split(b"\r\n")[:-1]:
        assert line[:3].isdigit()
    if isinstance(d.events[-1:] and d.events[-1], StartTLS):
        d.conn.tlsStarted()
        d.feed(data)
