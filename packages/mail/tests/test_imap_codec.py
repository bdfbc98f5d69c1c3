"""The sans-I/O IMAP4 codec: command assembly with literals, the scanner's limits, SEARCH
and FETCH grammars, the server state machine, message sections; byte at a time and fuzzed."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.mail._imap import (
    Append,
    Atom,
    ConnectionClosing,
    CramLogin,
    Fetch,
    FetchAttribute,
    Idle,
    IdleDone,
    IMAPParseError,
    Limits,
    ListMailboxes,
    LocalProtocolError,
    Login,
    Range,
    Scanner,
    Search,
    Section,
    Select,
    ServerConnection,
    ServerState,
    Store,
    _message,
    astring,
    formatDateTime,
    parseDateTime,
    parseFetchAttributes,
    parseSearch,
    parseSequenceSet,
    quote,
)

from .helpers import feed


def authenticated(**kw: object) -> ServerConnection:
    codec = ServerConnection(plaintextLogin=True, **kw)  # type: ignore[arg-type]
    codec.receiveData(b"a LOGIN bob pw\r\n")
    codec.acceptLogin(b"a")
    codec.dataToSend()
    return codec


def selected() -> ServerConnection:
    codec = authenticated()
    codec.receiveData(b"s SELECT INBOX\r\n")
    codec.selected(b"s", False)
    codec.dataToSend()
    return codec


# -- the scanner ---------------------------------------------------------------------------


def test_tokens() -> None:
    sc = Scanner(b'(FLAGS "a \\"q\\" \\\\" {3}\r\nx y (nested (deep)) NIL) rest\r\n')
    assert sc.token() == [b"FLAGS", b'a "q" \\', b"x y", [b"nested", [b"deep"]], b"NIL"]
    assert sc.rest() == [b"rest"]
    assert isinstance(sc.tokens, int)


@pytest.mark.parametrize(
    "data",
    [
        b"(a\r\n",
        b"(a  b)\r\n",
        b"( a)\r\n",
        b'"unterminated\r\n',
        b'"bad \\escape"\r\n',
        b"{5}\r\nab",
        b"(a)(b)\r\n",
        b"BODY[HEADER\r\n",
    ],
)
def test_scanner_errors(data: bytes) -> None:
    with pytest.raises(IMAPParseError):
        sc = Scanner(data)
        sc.token()
        sc.end()


def test_nesting_and_token_limits() -> None:
    with pytest.raises(IMAPParseError, match="nested"):
        Scanner(b"(" * 10_000 + b")" * 10_000 + b"\r\n").token()
    with pytest.raises(IMAPParseError, match="tokens"):
        Scanner(b"(" + b"a " * 100 + b"a)\r\n", Limits(maxTokens=50)).token()


def test_sequence_sets() -> None:
    assert parseSequenceSet(b"1,3:5,7:*,*") == (
        Range(1, 1),
        Range(3, 5),
        Range(7, None),
        Range(None, None),
    )
    for bad in (b"", b"0", b"1:", b"a", b"1,,2", b"99999999999", b"01"):
        with pytest.raises(IMAPParseError):
            parseSequenceSet(bad)
    with pytest.raises(IMAPParseError, match="too long"):
        parseSequenceSet(b",".join([b"1"] * 2000))


def test_dates() -> None:
    when = parseDateTime(b"17-Jul-1996 02:44:25 -0700")
    assert when.utcoffset() == datetime.timedelta(hours=-7)
    assert formatDateTime(when) == b"17-Jul-1996 02:44:25 -0700"
    for bad in (b"17-Foo-1996 02:44:25 -0700", b"17-Jul-1996 2:44:25 -0700", b"x"):
        with pytest.raises(IMAPParseError):
            parseDateTime(bad)


def test_fetch_attributes() -> None:
    token = Scanner(
        b"(UID BODY.PEEK[1.2.HEADER.FIELDS.NOT (To Cc)]<10.20> RFC822.SIZE)\r\n"
    ).token()
    assert parseFetchAttributes(token) == [
        FetchAttribute("UID"),
        FetchAttribute(
            "BODY[]", Section((1, 2), "HEADER.FIELDS.NOT", (b"TO", b"CC")), True, (10, 20)
        ),
        FetchAttribute("RFC822.SIZE"),
    ]
    assert [a.name for a in parseFetchAttributes(Atom(b"FAST"))] == [
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
    ]
    for bad in (b"BODY[FOO]", b"BODY[]<1>", b"NOPE", b"BODY[MIME]", b"BODY[HEADER.FIELDS]"):
        with pytest.raises(IMAPParseError):
            parseFetchAttributes(Atom(bad))


def test_search_keys() -> None:
    tokens = Scanner(
        b" CHARSET UTF-8 NOT (OR SEEN KEYWORD $Junk) HEADER X-A b SINCE 1-Feb-2020\r\n"
    ).rest()
    assert parseSearch(tokens, Limits()) == (
        "AND",
        (
            ("NOT", ("OR", ("FLAG", "\\SEEN", True), ("FLAG", "$JUNK", True))),
            ("HEADER", "X-A", "b"),
            ("DATE", "INTERNAL", "SINCE", datetime.date(2020, 2, 1)),
        ),
    )
    with pytest.raises(IMAPParseError, match="BADCHARSET"):
        parseSearch(Scanner(b" CHARSET KOI8-R ALL\r\n").rest(), Limits())
    with pytest.raises(IMAPParseError, match="deeply"):
        parseSearch([Atom(b"NOT")] * 1000 + [Atom(b"ALL")], Limits())


def test_writers() -> None:
    assert quote(b"plain") == b'"plain"'
    assert quote(b'a"b') == b'"a\\"b"'
    assert quote(b"two\r\nlines") == b"{10}\r\ntwo\r\nlines"
    assert (
        astring(b"INBOX") == b"INBOX"
        and astring(b"a b") == b'"a b"'
        and astring(b"NIL") == b'"NIL"'
    )


# -- the server state machine --------------------------------------------------------------


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_session_whole_and_byte_at_a_time(byteAtATime: bool) -> None:
    codec = ServerConnection()
    assert codec.greeting().startswith(b"* OK [CAPABILITY IMAP4rev1 ")
    assert b"LOGINDISABLED" in codec.greeting()
    codec = ServerConnection(plaintextLogin=True)
    events = feed(
        codec, b'a1 CAPABILITY\r\na2 LOGIN {3}\r\nbob "p w"\r\na3 SELECT INBOX\r\n', byteAtATime
    )
    assert events == [Login(b"a2", b"bob", b"p w")]
    assert codec.dataToSend() == (
        b"* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN\r\n"
        b"a1 OK CAPABILITY completed\r\n+ Ready for literal data\r\n"
    )
    codec.acceptLogin(b"a2")
    assert codec.receiveData(b"") == [Select(b"a3", b"INBOX", False)]
    codec.selected(b"a3", False)
    assert codec.state is ServerState.SELECTED
    wire = (
        b"a4 UID FETCH 1:* (FLAGS)\r\n"
        b'a5 APPEND INBOX (\\Seen) "01-Jan-2020 00:00:00 +0000" {5+}\r\nhello\r\n'
        b"a6 IDLE\r\nDONE\r\n"
        b"a7 STORE 2 -FLAGS.SILENT \\Deleted\r\n"
        b"a8 LOGOUT\r\n"
    )
    events = feed(codec, wire, byteAtATime)
    assert events == [Fetch(b"a4", (Range(1, None),), (FetchAttribute("FLAGS"),), True)]
    codec.complete(b"a4")
    [append] = codec.receiveData(b"")
    assert (
        isinstance(append, Append) and append.message == b"hello" and append.flags == (b"\\Seen",)
    )
    codec.complete(b"a5")
    assert codec.receiveData(b"") == [Idle(b"a6"), IdleDone(b"a6")]
    codec.complete(b"a6", b"OK", b"IDLE terminated")
    assert codec.receiveData(b"") == [
        Store(b"a7", (Range(2, 2),), "-", True, (b"\\Deleted",), False)
    ]
    codec.complete(b"a7")
    assert codec.receiveData(b"") == [ConnectionClosing("LOGOUT")]
    out = codec.dataToSend()
    assert b"+ idling\r\n" in out and out.endswith(
        b"* BYE Logging out\r\na8 OK LOGOUT completed\r\n"
    )
    # No continuation for a LITERAL+ (non-synchronising) literal.
    assert b"+ Ready" not in out


def test_state_errors_and_unknown_commands() -> None:
    codec = ServerConnection(plaintextLogin=True)
    codec.receiveData(b"a SELECT INBOX\r\nb FOO\r\nc LOGIN a\r\n* NOOP\r\nd LOGOUT extra\r\n")
    assert codec.dataToSend() == (
        b"a BAD Command not valid in this state\r\nb BAD Unknown command\r\n"
        b"c BAD Syntax error: expected a space\r\n* BAD Missing or invalid tag\r\n"
        b"d BAD Syntax error: unexpected data after the command\r\n"
    )


def test_login_disabled_without_tls() -> None:
    codec = ServerConnection(tlsAvailable=True)
    codec.receiveData(b"a LOGIN bob pw\r\nb AUTHENTICATE PLAIN\r\nc STARTTLS\r\nd LOGIN x y\r\n")
    out = codec.dataToSend()
    assert out.startswith(b"a NO [PRIVACYREQUIRED]") and b"b NO Unsupported" in out
    assert out.endswith(b"c OK Begin TLS negotiation now\r\n")
    codec.tlsStarted()  # "d LOGIN" came in clear text: dropped
    assert codec.receiveData(b"") == [] and codec.secure
    assert codec.receiveData(b"e AUTHENTICATE PLAIN AGJvYgBwdw==\r\n") == [
        Login(b"e", b"bob", b"pw")
    ]


def test_authenticate_plain_continuation() -> None:
    codec = ServerConnection(secure=True)
    assert codec.receiveData(b"a AUTHENTICATE PLAIN\r\n") == []
    assert codec.dataToSend() == b"+ \r\n"
    assert codec.receiveData(b"AGJvYgBwdw==\r\n") == [Login(b"a", b"bob", b"pw")]
    codec.rejectLogin(b"a")
    assert codec.dataToSend() == b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"


def test_authenticate_cram_md5() -> None:
    import base64
    import hashlib
    import hmac

    assert b"AUTH=CRAM-MD5" not in ServerConnection().greeting()
    codec = ServerConnection(cramMD5=True)
    assert b"AUTH=CRAM-MD5" in codec.greeting() and b"LOGINDISABLED" in codec.greeting()
    assert codec.receiveData(b"a AUTHENTICATE CRAM-MD5\r\n") == []
    challenge = base64.b64decode(codec.dataToSend()[2:-2])
    digest = hmac.new(b"pw", challenge, hashlib.md5).hexdigest().encode()
    [event] = codec.receiveData(base64.b64encode(b"bob " + digest) + b"\r\n")
    assert event == CramLogin(b"a", b"bob", challenge, digest)
    codec.acceptLogin(b"a")
    codec = ServerConnection(cramMD5=True)
    codec.receiveData(b"b AUTHENTICATE CRAM-MD5\r\n")
    codec.dataToSend()
    assert codec.receiveData(b"bm9wZQ==\r\n") == []
    assert codec.dataToSend() == b"b BAD Malformed CRAM-MD5 response\r\n"


def test_utf8_accept() -> None:
    codec = authenticated()
    assert codec.receiveData(b"a ENABLE UTF8=ACCEPT X-UNKNOWN\r\n") == []
    assert codec.dataToSend() == b"* ENABLED UTF8=ACCEPT\r\na OK ENABLE completed\r\n"
    [event] = codec.receiveData('b APPEND "Entwürfe" UTF8 (~{7+}\r\nS: ü\r\n)\r\n'.encode())
    assert isinstance(event, Append) and event.message == "S: ü\r\n".encode()
    assert event.mailbox == "Entwürfe".encode()
    plain = authenticated()
    plain.receiveData(b"c APPEND x UTF8 (~{1+}\r\nx)\r\n")
    assert plain.dataToSend().startswith(b"c BAD")


def test_literal_limits() -> None:
    codec = ServerConnection(Limits(maxLiteral=10), plaintextLogin=True)
    codec.receiveData(b"a LOGIN {11}\r\n")
    assert codec.dataToSend() == b"a NO [TOOBIG] Literal too large\r\n"
    codec.receiveData(b"b LOGIN {99999999999999999}\r\n")
    assert codec.dataToSend() == b"b NO [TOOBIG] Literal too large\r\n"
    events = codec.receiveData(b"c LOGIN {11+}\r\n")
    assert events == [ConnectionClosing("literal too large")]


def test_lying_literal_waits_then_parses() -> None:
    codec = ServerConnection(plaintextLogin=True)
    # The literal says 10: the codec takes exactly 10 bytes, whatever they hold.
    assert codec.receiveData(b"a LOGIN {10}\r\nbob") == []
    assert codec.receiveData(b" pw\r\nxy") == []
    assert codec.receiveData(b"z pw\r\n") == []
    assert codec.dataToSend().endswith(b"a BAD Syntax error: expected a space\r\n")
    assert codec.receiveData(b"b LOGIN {3}\r\nbob {2}\r\npw\r\n") == [Login(b"b", b"bob", b"pw")]


def test_floods_before_login_end_with_bye() -> None:
    codec = ServerConnection(Limits(maxUnauthenticated=5, maxErrors=100))
    events = codec.receiveData(b"x CAPABILITY\r\n" * 10)
    assert events == [ConnectionClosing("unauthenticated flood")]
    assert codec.dataToSend().endswith(b"* BYE Too many commands without logging in\r\n")


def test_too_many_errors() -> None:
    codec = ServerConnection(Limits(maxErrors=3))
    assert codec.receiveData(b"a X\r\nb X\r\nc X\r\nd X\r\n") == [
        ConnectionClosing("too many errors")
    ]


def test_long_line() -> None:
    codec = ServerConnection(Limits(maxLine=100))
    codec.receiveData(b"t1 NOOP " + b"x" * 1000)
    assert codec.receiveData(b"yyy\r\nt2 CAPABILITY\r\n") == []
    out = codec.dataToSend()
    assert out.startswith(b"t1 BAD Line too long\r\n* CAPABILITY")


def test_answers_must_match() -> None:
    codec = selected()
    with pytest.raises(LocalProtocolError):
        codec.complete(b"zz")
    codec.receiveData(b'l LIST "" *\r\n')
    with pytest.raises(LocalProtocolError):
        codec.complete(b"other")
    codec.complete(b"l")


def test_list_and_idle_errors() -> None:
    codec = authenticated()
    assert codec.receiveData(b'l LIST "" "%"\r\n') == [ListMailboxes(b"l", b"", b"%", False)]
    codec.complete(b"l")
    assert codec.receiveData(b"i IDLE\r\nNOPE\r\n") == [Idle(b"i"), ConnectionClosing("bad IDLE")]


def test_search_event() -> None:
    codec = selected()
    [event] = codec.receiveData(b"s UID SEARCH 1:5 UNSEEN\r\n")
    assert isinstance(event, Search) and event.uid
    codec.complete(b"s")
    codec.receiveData(b"c SEARCH CHARSET X ALL\r\n")
    assert codec.dataToSend().endswith(b"c NO [BADCHARSET] Only UTF-8 and US-ASCII\r\n")


# -- message sections ----------------------------------------------------------------------

RAW = (
    b"From: A <a@x.org>\r\nTo: b@y.org\r\nSubject: hi\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"pre\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\none\r\n"
    b"--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--XX--\r\n"
)


def test_sections() -> None:
    assert _message.section(RAW, Section()) == RAW
    assert _message.section(RAW, Section((1,))) == b"one"
    assert (
        _message.section(RAW, Section((1,), "MIME"))
        == b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    assert _message.section(RAW, Section((2,), "HEADER")) == b"Subject: inner\r\n\r\n"
    assert _message.section(RAW, Section((2, 1))) == b"inner body"
    assert _message.section(RAW, Section((), "HEADER.FIELDS", (b"SUBJECT", b"TO"))) == (
        b"To: b@y.org\r\nSubject: hi\r\n\r\n"
    )
    assert _message.section(RAW, Section((3,))) is None
    assert _message.section(b"Subject: x\r\n\r\nbody", Section((1,))) == b"body"


def test_envelope_and_structure() -> None:
    assert _message.envelope(RAW) == (
        b'(NIL "hi" (("A" NIL "a" "x.org")) (("A" NIL "a" "x.org")) (("A" NIL "a" "x.org")) '
        b'((NIL NIL "b" "y.org")) NIL NIL NIL NIL)'
    )
    assert _message.bodyStructure(RAW) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 3 1)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 28 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1) 3) "MIXED")'
    )


# -- fuzzing ------------------------------------------------------------------------------

_PIECES = [
    b"a LOGIN bob pw\r\n",
    b"b SELECT INBOX\r\n",
    b"c FETCH 1:* (FLAGS BODY[])\r\n",
    b"d UID STORE 1 +FLAGS (\\Seen)\r\n",
    b"e SEARCH OR 1 NOT SEEN\r\n",
    b"f APPEND x {3}\r\n",
    b"g IDLE\r\n",
    b"DONE\r\n",
    b'h LIST "" *\r\n',
    b"{2+}\r\n",
    b"(((",
    b")",
    b'"',
    b"\\",
    b"i AUTHENTICATE PLAIN\r\n",
    b"j STARTTLS\r\n",
    b"k UID MOVE 1:2 X\r\n",
    b"* \r\n",
]


def _answer(codec: ServerConnection, event: object) -> None:
    if isinstance(event, Login):
        codec.acceptLogin(event.tag)
    elif isinstance(event, Select):
        codec.selected(event.tag, event.readOnly)
    elif isinstance(event, ConnectionClosing) or isinstance(event, Idle):
        return
    elif hasattr(event, "tag"):
        if type(event).__name__ == "StartTLS":
            codec.tlsStarted()
        else:
            codec.complete(event.tag)  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=60)), max_size=40),
    st.integers(1, 30),
)
def test_server_fuzz_only_protocol_answers(chunks: list[bytes], step: int) -> None:
    codec = ServerConnection(
        Limits(maxLine=200, maxLiteral=100, maxCommand=1000, maxPipelined=2000),
        tlsAvailable=True,
        plaintextLogin=True,
    )
    data = b"".join(chunks)
    for i in range(0, len(data), step):
        for event in codec.receiveData(data[i : i + step]):
            _answer(codec, event)
        codec.dataToSend()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_scanner_fuzz_only_parse_errors(data: bytes) -> None:
    sc = Scanner(data + b"\r\n", Limits(maxDepth=8, maxTokens=100))
    try:
        sc.rest()
        parseSearch(Scanner(b" " + data + b"\r\n").rest(), Limits())
    except IMAPParseError:
        pass
    try:
        parseFetchAttributes(Scanner(data + b"\r\n").token())
    except IMAPParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 4), max_size=3))
def test_sections_fuzz(body: bytes, path: list[int]) -> None:
    raw = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body
    _message.section(raw, Section(tuple(p + 1 for p in path)))
    _message.bodyStructure(raw)
    _message.envelope(body)
