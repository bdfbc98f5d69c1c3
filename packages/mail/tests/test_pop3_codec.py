"""The sans-I/O POP3 codec: server and client state machines, limits, byte-at-a-time
input and fuzzing."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.mail._pop3 import (
    APOPRequested,
    ClientConnection,
    ConnectionClosing,
    Continuation,
    CramMD5Requested,
    Delete,
    Greeting,
    Limits,
    ListMessages,
    ListUIDs,
    LocalProtocolError,
    LoginRequested,
    POP3ProtocolError,
    Quit,
    Reset,
    Response,
    Retrieve,
    ServerConnection,
    ServerState,
    StartTLS,
    Stat,
    stuff,
    topOf,
)

from .helpers import feed


def loggedIn(**kw: object) -> ServerConnection:
    codec = ServerConnection(plaintextLogin=True, **kw)  # type: ignore[arg-type]
    assert codec.receiveData(b"USER bob\r\nPASS secret\r\n") == [
        LoginRequested(b"bob", b"secret", "USER")
    ]
    codec.acceptLogin()
    codec.dataToSend()
    return codec


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_session_whole_and_byte_at_a_time(byteAtATime: bool) -> None:
    codec = ServerConnection(plaintextLogin=True)
    events = feed(codec, b"CAPA\r\nUSER bob\r\nPASS two words\r\n", byteAtATime)
    assert events == [LoginRequested(b"bob", b"two words", "USER")]
    out = codec.dataToSend()
    assert out.startswith(b"+OK Capability list follows\r\nTOP\r\nUIDL\r\n")
    assert (
        b"\r\nUSER\r\n" in out
        and b"PIPELINING" in out
        and out.endswith(b"+OK Password required\r\n")
    )
    codec.acceptLogin()
    assert codec.state is ServerState.TRANSACTION and codec.username == b"bob"
    pipelined = b"STAT\r\nLIST\r\nLIST 2\r\nUIDL 1\r\nRETR 1\r\nTOP 2 3\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n"
    events = feed(codec, pipelined, byteAtATime)
    # Parsing stops at the first command waiting for the application.
    assert events == [Stat()]
    assert codec.ok(b"2 10") == []
    assert codec.receiveData(b"") == [ListMessages(None)]
    codec.sendLines(b"+OK", [b"1 5", b"2 5"])
    assert codec.receiveData(b"") == [ListMessages(1)]
    codec.ok(b"2 5")
    assert codec.receiveData(b"") == [ListUIDs(0)]
    codec.ok(b"1 abc")
    assert codec.receiveData(b"") == [Retrieve(0, None)]
    codec.sendMessage(b"Subject: x\n\n.dot\nend")
    assert codec.receiveData(b"") == [Retrieve(1, 3)]
    codec.sendMessage(b"S: y\r\n\r\n1\r\n2\r\n3\r\n4\r\n")
    assert codec.receiveData(b"") == [Delete(0)]
    codec.ok(b"deleted")
    assert codec.receiveData(b"") == [Reset()]
    codec.ok()
    assert codec.receiveData(b"") == [Quit()]
    assert codec.ok(b"Bye") == [ConnectionClosing("QUIT")]
    assert codec.state is ServerState.CLOSED
    assert codec.dataToSend() == (
        b"+OK Logged in\r\n+OK 2 10\r\n+OK\r\n1 5\r\n2 5\r\n.\r\n+OK 2 5\r\n+OK 1 abc\r\n"
        b"+OK\r\nSubject: x\r\n\r\n..dot\r\nend\r\n.\r\n"
        b"+OK\r\nS: y\r\n\r\n1\r\n2\r\n3\r\n.\r\n"
        b"+OK deleted\r\n+OK\r\n+OK\r\n+OK Bye\r\n"
    )


def test_plaintext_refused_without_tls() -> None:
    codec = ServerConnection(tlsAvailable=True)
    assert codec.receiveData(b"CAPA\r\nUSER bob\r\nAUTH PLAIN AGJvYgBz\r\n") == []
    out = codec.dataToSend()
    assert b"\r\nUSER\r\n" not in out and b"SASL" not in out and b"STLS\r\n" in out
    assert b"-ERR [AUTH] Plaintext authentication disallowed" in out
    assert out.endswith(b"-ERR Unsupported mechanism\r\n")


def test_stls_discards_pipelined_plaintext() -> None:
    codec = ServerConnection(tlsAvailable=True)
    assert codec.receiveData(b"STLS\r\nUSER injected\r\n") == [StartTLS()]
    assert codec.dataToSend() == b"+OK Begin TLS negotiation\r\n"
    codec.tlsStarted()
    assert codec.secure and not codec.offersStartTLS
    assert codec.receiveData(b"") == [] and codec.dataToSend() == b""
    assert codec.receiveData(b"USER bob\r\n") == []
    assert codec.dataToSend() == b"+OK Password required\r\n"
    codec.receiveData(b"CAPA\r\n")
    assert b"STLS" not in codec.dataToSend()


def test_auth_plain_and_cram() -> None:
    codec = ServerConnection(secure=True, saslMechanisms=("PLAIN", "CRAM-MD5"))
    assert codec.receiveData(b"AUTH\r\n") == []
    assert codec.dataToSend() == b"+OK\r\nPLAIN\r\nCRAM-MD5\r\n.\r\n"
    initial = base64.b64encode(b"\0bob\0pw")
    assert codec.receiveData(b"AUTH PLAIN " + initial + b"\r\n") == [
        LoginRequested(b"bob", b"pw", "PLAIN")
    ]
    codec.rejectLogin()
    assert codec.receiveData(b"AUTH PLAIN\r\n") == []
    assert codec.dataToSend().endswith(b"+ \r\n")
    assert codec.receiveData(b"*\r\n") == []
    assert codec.dataToSend().endswith(b"-ERR Authentication cancelled\r\n")
    codec.receiveData(b"AUTH CRAM-MD5\r\n")
    challenge = base64.b64decode(codec.dataToSend()[2:-2])
    digest = hmac.new(b"pw", challenge, hashlib.md5).hexdigest().encode()
    events = codec.receiveData(base64.b64encode(b"bob " + digest) + b"\r\n")
    assert events == [CramMD5Requested(b"bob", challenge, digest)]
    codec.acceptLogin()
    assert codec.username == b"bob"


def test_plain_refuses_other_identity() -> None:
    codec = ServerConnection(secure=True)
    codec.receiveData(b"AUTH PLAIN " + base64.b64encode(b"admin\0bob\0pw") + b"\r\n")
    assert codec.dataToSend() == b"-ERR [AUTH] Malformed response\r\n"


def test_apop() -> None:
    codec = ServerConnection(apopChallenge=b"<1.2@host>")
    assert codec.greeting() == b"+OK POP3 server ready <1.2@host>\r\n"
    events = codec.receiveData(b"APOP bob C4C9334BAC560ECC979E58001B3E22FB\r\n")
    assert events == [APOPRequested(b"bob", b"c4c9334bac560ecc979e58001b3e22fb", b"<1.2@host>")]
    assert ServerConnection().receiveData(b"APOP bob x\r\n") == []


def test_state_and_syntax_errors() -> None:
    codec = ServerConnection(plaintextLogin=True)
    codec.receiveData(b"STAT\r\nPASS x\r\nFOO\r\n")
    assert codec.dataToSend() == (
        b"-ERR Log in first\r\n-ERR USER first\r\n-ERR Unknown command or bad arguments\r\n"
    )
    codec = loggedIn()
    bad = (
        b"RETR\r\nRETR 0\r\nRETR x\r\nRETR 99999999999\r\nTOP 1\r\nLIST 1 2\r\nUSER x\r\nSTAT 1\r\n"
    )
    assert codec.receiveData(bad) == []
    assert codec.dataToSend().count(b"-ERR") == 8
    assert codec.receiveData(b"noop\r\ncapa\r\n") == []
    out = codec.dataToSend()
    assert out.startswith(b"+OK\r\n+OK Capability") and b"USER" not in out


def test_too_many_errors_closes() -> None:
    codec = ServerConnection(Limits(maxErrors=3))
    events = codec.receiveData(b"X\r\nY\r\nZ\r\nW\r\n")
    assert events == [ConnectionClosing("too many errors")]
    assert codec.dataToSend().endswith(b"-ERR too many errors\r\n")
    assert codec.receiveData(b"CAPA\r\n") == []


def test_failed_logins_close() -> None:
    codec = ServerConnection(Limits(maxLoginFailures=2), plaintextLogin=True)
    codec.receiveData(b"USER a\r\nPASS b\r\n")
    assert codec.rejectLogin() == []
    codec.receiveData(b"USER a\r\nPASS c\r\n")
    assert codec.rejectLogin() == [ConnectionClosing("too many failed logins")]


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_long_line_refused_and_skipped(byteAtATime: bool) -> None:
    codec = ServerConnection(Limits(maxCommandLine=64))
    events = feed(codec, b"CAPA " + b"x" * 500 + b"\r\nQUIT\r\n", byteAtATime)
    assert events == [ConnectionClosing("QUIT")]
    assert codec.dataToSend() == b"-ERR line too long\r\n+OK Bye\r\n"


def test_pipelined_flood_while_waiting_closes() -> None:
    codec = ServerConnection(Limits(maxPipelined=100, maxAuthLine=100), plaintextLogin=True)
    codec.receiveData(b"USER a\r\nPASS b\r\n")
    events = codec.receiveData(b"NOOP\r\n" * 100)
    assert events == [ConnectionClosing("input flood")]


def test_answers_must_match() -> None:
    codec = loggedIn()
    with pytest.raises(LocalProtocolError):
        codec.ok()
    codec.receiveData(b"RETR 1\r\n")
    with pytest.raises(LocalProtocolError):
        codec.sendLines(b"+OK", [])
    codec.error(b"No such message")
    assert codec.dataToSend() == b"-ERR No such message\r\n"


def test_text_helpers() -> None:
    assert stuff(b"") == b".\r\n"
    assert stuff(b".a\n.b\nc") == b"..a\r\n..b\r\nc\r\n.\r\n"
    message = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n"
    assert topOf(message, 0) == b"A: 1\r\nB: 2\r\n\r\n"
    assert topOf(message, 1) == b"A: 1\r\nB: 2\r\n\r\nl1\r\n"
    assert topOf(message, 10) == message
    assert topOf(b"no body", 3) == b"no body"


# -- client --------------------------------------------------------------------------


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_client_responses(byteAtATime: bool) -> None:
    codec = ClientConnection()
    wire = b"+OK hello <9.9@h>\r\n+OK\r\nTOP\r\n..x\r\n.\r\n+OK 2 20\r\n-ERR no\r\n+OK\r\n1 u1\r\n.\r\n"
    assert codec.send(b"CAPA") == b"CAPA\r\n"
    codec.send(b"STAT")
    codec.send(b"RETR", b"9")
    assert codec.send(b"uidl") == b"UIDL\r\n"
    events: list[object] = []
    if byteAtATime:
        for i in range(len(wire)):
            events.extend(codec.receiveData(wire[i : i + 1]))
    else:
        events = list(codec.receiveData(wire))
    assert events == [
        Greeting(b"hello <9.9@h>", b"<9.9@h>"),
        Response(True, b"", [b"TOP", b".x"]),
        Response(True, b"2 20"),
        Response(False, b"no"),
        Response(True, b"", [b"1 u1"]),
    ]
    assert codec.pending == 0


def test_client_drops_clear_text_after_stls() -> None:
    """Whatever follows an accepted ``STLS`` in the same clear-text read is dropped: a man
    in the middle could pose it as the answer to the next command."""
    codec = ClientConnection()
    codec.receiveData(b"+OK hi\r\n")
    codec.send(b"STLS")
    assert codec.receiveData(b"+OK begin\r\n+OK injected\r\n+OK inj") == [Response(True, b"begin")]
    codec.send(b"NOOP")
    assert codec.receiveData(b"+OK over TLS\r\n") == [Response(True, b"over TLS")]


def test_client_keeps_reading_after_refused_stls() -> None:
    """After ``-ERR`` the session goes on in clear text: nothing is dropped."""
    codec = ClientConnection()
    codec.receiveData(b"+OK hi\r\n")
    codec.send(b"STLS")
    assert codec.receiveData(b"-ERR no\r\n+OK") == [Response(False, b"no")]
    codec.send(b"NOOP")
    assert codec.receiveData(b" fine\r\n") == [Response(True, b"fine")]


def test_client_auth_continuation() -> None:
    codec = ClientConnection()
    codec.receiveData(b"+OK hi\r\n")
    codec.send(b"AUTH", b"CRAM-MD5")
    assert codec.receiveData(b"+ PDE+\r\n") == [Continuation(b"PDE+")]
    assert codec.sendAuthResponse(b"abc") == b"abc\r\n"
    assert codec.receiveData(b"+OK in\r\n") == [Response(True, b"in")]
    with pytest.raises(LocalProtocolError):
        codec.sendAuthResponse(b"x")
    with pytest.raises(LocalProtocolError):
        codec.send(b"USER", b"a\r\nDELE 1")


def test_client_limits_and_garbage() -> None:
    codec = ClientConnection(Limits(maxStatusLine=32))
    with pytest.raises(POP3ProtocolError):
        codec.receiveData(b"+OK " + b"x" * 100)
    codec = ClientConnection()
    with pytest.raises(POP3ProtocolError):
        codec.receiveData(b"HELLO\r\n")
    codec = ClientConnection(Limits(maxResponse=20))
    codec.receiveData(b"+OK\r\n")
    codec.send(b"RETR", b"1")
    with pytest.raises(POP3ProtocolError):
        codec.receiveData(b"+OK\r\n" + b"line line line\r\n" * 3)
    codec = ClientConnection()
    with pytest.raises(POP3ProtocolError):
        codec.receiveData(b"-ERR go away\r\n")


# -- fuzzing ---------------------------------------------------------------------------

_COMMANDS = [
    b"USER bob\r\n",
    b"PASS pw\r\n",
    b"APOP bob 0123\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH CRAM-MD5\r\n",
    b"STLS\r\n",
    b"CAPA\r\n",
    b"STAT\r\n",
    b"LIST\r\n",
    b"LIST 1\r\n",
    b"RETR 1\r\n",
    b"TOP 1 2\r\n",
    b"DELE 1\r\n",
    b"UIDL\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
    b"*\r\n",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_COMMANDS), st.binary(max_size=80)), max_size=30))
def test_server_fuzz_only_protocol_answers(chunks: list[bytes]) -> None:
    codec = ServerConnection(
        Limits(maxCommandLine=64, maxPipelined=256, maxAuthLine=64),
        tlsAvailable=True,
        apopChallenge=b"<1@h>",
        saslMechanisms=("PLAIN", "CRAM-MD5"),
        plaintextLogin=True,
    )
    for chunk in chunks:
        for event in codec.receiveData(chunk):
            # The application answers everything as simply as it can.
            if isinstance(event, (LoginRequested, APOPRequested, CramMD5Requested)):
                codec.acceptLogin()
            elif isinstance(event, StartTLS):
                codec.tlsStarted()
            elif isinstance(event, (ListMessages, ListUIDs)) and event.index is None:
                codec.sendLines(b"+OK", [b"1 1"])
            elif isinstance(event, Retrieve):
                codec.sendMessage(b"x\r\n")
            elif not isinstance(event, ConnectionClosing):
                codec.ok()
        for line in codec.dataToSend().split(b"\r\n"):
            assert len(line) <= 512


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_client_fuzz_only_protocol_errors(data: bytes, step: int) -> None:
    codec = ClientConnection(Limits(maxStatusLine=128, maxDataLine=128, maxResponse=1024))
    codec.send(b"LIST")
    codec.send(b"STAT")
    try:
        for i in range(0, len(data), step):
            codec.receiveData(data[i : i + step])
    except POP3ProtocolError:
        pass
