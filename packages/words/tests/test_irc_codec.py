"""The sans-I/O IRC codec: framing, parsing, tags, limits, serialisation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.words.protocols._irc import (
    BadLine,
    BadLineKind,
    IRCLocalError,
    Limits,
    LineDecoder,
    Message,
    escapeTagValue,
    parseLine,
    serializeMessage,
    splitUTF8,
    unescapeTagValue,
)

SAMPLE = (
    b"@time=2021-01-01T00:00:00.000Z;+example.com/x=a\\sb\\:c\\\\d;flag "
    b":nick!user@host PRIVMSG #chan :hello  world\r\n"
    b"PING :irc.example\n"
    b"\r\n"
    b":srv 005 me CHANTYPES=# PREFIX=(ov)@+ :are supported\r"
    b":n  NOTICE  a  b  \r\n"
)

EXPECTED = [
    Message(
        "PRIVMSG",
        ["#chan", "hello  world"],
        "nick!user@host",
        {"time": "2021-01-01T00:00:00.000Z", "+example.com/x": "a b;c\\d", "flag": ""},
    ),
    Message("PING", ["irc.example"]),
    Message("005", ["me", "CHANTYPES=#", "PREFIX=(ov)@+", "are supported"], "srv"),
    Message("NOTICE", ["a", "b"], "n"),
]


def feedBytewise(data: bytes, decoder: LineDecoder | None = None) -> list[object]:
    decoder = decoder or LineDecoder()
    events: list[object] = []
    for i in range(len(data)):
        events += decoder.receiveData(data[i : i + 1])
    return events


def test_wholeAndBytewise() -> None:
    assert LineDecoder().receiveData(SAMPLE) == EXPECTED
    assert feedBytewise(SAMPLE) == EXPECTED


def test_commandUppercasedNumericKept() -> None:
    assert parseLine(b"privmsg a :b") == Message("PRIVMSG", ["a", "b"])
    assert parseLine(b":s 001 me :Welcome") == Message("001", ["me", "Welcome"], "s")


def test_emptyTrailingAndColonInside() -> None:
    assert parseLine(b"TOPIC #c :") == Message("TOPIC", ["#c", ""])
    assert parseLine(b"PRIVMSG #c ::-) a:b") == Message("PRIVMSG", ["#c", ":-) a:b"])


def test_fifteenthParameterTakesTheRest() -> None:
    line = b"CMD " + b" ".join(b"p%d" % i for i in range(14)) + b" last has spaces"
    msg = parseLine(line)
    assert isinstance(msg, Message)
    assert len(msg.params) == 15
    assert msg.params[-1] == "last has spaces"


@pytest.mark.parametrize(
    "line",
    [b":prefixonly", b": PRIVMSG a b", b"@a=b", b"@bad key=1 PING x", b"12 x", b"P1NG x", b""],
)
def test_malformed(line: bytes) -> None:
    event = parseLine(line)
    assert isinstance(event, BadLine)
    assert event.kind is BadLineKind.MALFORMED


def test_nulRefusedAndSkipped() -> None:
    events = LineDecoder().receiveData(b"PRIVMSG a :x\x00y\r\nPING z\r\n")
    assert events == [BadLine(BadLineKind.NUL, "NUL byte in line"), Message("PING", ["z"])]


def test_latin1Fallback() -> None:
    assert parseLine(b"PRIVMSG a :caf\xe9") == Message("PRIVMSG", ["a", "caf\xe9"])
    assert parseLine("PRIVMSG a :café".encode()) == Message("PRIVMSG", ["a", "café"])


def test_bodyLimit() -> None:
    ok = b"PRIVMSG #c :" + b"x" * (510 - 12)
    assert isinstance(parseLine(ok), Message)
    assert parseLine(ok + b"x") == BadLine(BadLineKind.TOO_LONG, "line too long")


def test_tagLimitIsSeparateFromBody() -> None:
    tags = b"@k=" + b"v" * (8191 - 4) + b" "
    assert len(tags) == 8191
    body = b"PRIVMSG #c :" + b"x" * (510 - 12)
    assert isinstance(parseLine(tags + body), Message)
    longTags = b"@k=" + b"v" * 8188 + b" "
    assert parseLine(longTags + b"PING x").kind is BadLineKind.TAGS_TOO_LONG  # type: ignore[union-attr]


@pytest.mark.parametrize("bytewise", [False, True])
def test_overlongLineDiscardedWithoutBuffering(bytewise: bool) -> None:
    decoder = LineDecoder()
    data = b"PRIVMSG #c :" + b"x" * 5000 + b"\r\nPING ok\r\n"
    events = feedBytewise(data, decoder) if bytewise else decoder.receiveData(data)
    assert events == [BadLine(BadLineKind.TOO_LONG, "line too long"), Message("PING", ["ok"])]


def test_endlessLineKeepsMemoryFlat() -> None:
    decoder = LineDecoder()
    events = []
    for _ in range(1000):
        events += decoder.receiveData(b"y" * 1000)
        assert len(decoder._buf) <= 1000
    assert [e.kind for e in events] == [BadLineKind.TOO_LONG]  # type: ignore[attr-defined]


def test_endlessTagsRefused() -> None:
    decoder = LineDecoder()
    events = decoder.receiveData(b"@" + b"a" * 10000)
    assert [e.kind for e in events] == [BadLineKind.TAGS_TOO_LONG]  # type: ignore[attr-defined]
    assert decoder.receiveData(b"\r\nPING a\r\n") == [Message("PING", ["a"])]


def test_customLimits() -> None:
    decoder = LineDecoder(Limits(maxBodyLength=20))
    assert decoder.receiveData(b"PRIVMSG #c :0123456789\r\nPING a\r\n")[0] == BadLine(
        BadLineKind.TOO_LONG, "line too long"
    )


def test_errorsNeverEchoInput() -> None:
    secret = b"SECRETSECRET"
    for line in [secret + b"\x00", b":" + secret, b"@" + secret + b"=\\", secret * 100]:
        event = parseLine(line)
        if isinstance(event, BadLine):
            assert "SECRET" not in event.message


def test_tagEscaping() -> None:
    assert unescapeTagValue("a\\:b\\sc\\\\d\\re\\nf") == "a;b c\\d\re\nf"
    assert unescapeTagValue("\\x\\") == "x"
    assert escapeTagValue("a;b c\\d\r\n") == "a\\:b\\sc\\\\d\\r\\n"


def test_repeatedTagLastWins() -> None:
    msg = parseLine(b"@a=1;a=2;;b PING x")
    assert isinstance(msg, Message)
    assert msg.tags == {"a": "2", "b": ""}


def test_serialize() -> None:
    assert serializeMessage("PRIVMSG", ["#c", "hello world"]) == b"PRIVMSG #c :hello world\r\n"
    assert serializeMessage("NICK", ["bob"]) == b"NICK bob\r\n"
    assert serializeMessage("TOPIC", ["#c", ""]) == b"TOPIC #c :\r\n"
    assert serializeMessage("PRIVMSG", ["#c", ":)"]) == b"PRIVMSG #c ::)\r\n"
    assert (
        serializeMessage("PRIVMSG", ["#c", "x"], prefix="n!u@h", tags={"+a": "b c", "k": None})
        == b"@+a=b\\sc;k :n!u@h PRIVMSG #c x\r\n"
    )


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("PRIVMSG", ["#c", "a\r\nQUIT"]),
        ("PRIVMSG", ["#c", "a\x00"]),
        ("PRIVMSG", ["a b", "x"]),
        ("PRIVMSG", [":a", "x"]),
        ("PRIVMSG", ["", "x"]),
        ("PRIV MSG", []),
        ("", []),
        ("PRIVMSG", ["#c", "x" * 600]),
    ],
)
def test_serializeRefusesInjection(command: str, params: list[str]) -> None:
    with pytest.raises(IRCLocalError):
        serializeMessage(command, params)


def test_serializeTruncatesAtCharacterBoundary() -> None:
    line = serializeMessage("PRIVMSG", ["#c", "é" * 600], prefix="n!u@h", truncate=True)
    assert len(line) <= 512
    line.decode("utf-8")
    msg = parseLine(line[:-2])
    assert isinstance(msg, Message)
    assert set(msg.params[1]) == {"é"}


def test_splitUTF8() -> None:
    text = "aé€😀 " * 200
    pieces = splitUTF8(text, 50)
    assert " ".join(pieces) == text
    assert all(len(p.encode()) <= 50 for p in pieces)
    assert splitUTF8("word " * 20, 24)[0] == "word word word word word"
    hard = "é€😀x" * 100
    pieces = splitUTF8(hard, 50)
    assert "".join(pieces) == hard
    assert all(len(p.encode()) <= 50 for p in pieces)


@given(st.text(max_size=300), st.integers(min_value=4, max_value=80))
def test_splitUTF8Hypothesis(text: str, size: int) -> None:
    pieces = splitUTF8(text, size)
    assert all(len(p.encode("utf-8")) <= size for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


# ---------------------------------------------------------------------------- Hypothesis

_params = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00 ", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(":"))
_trailing = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
    max_size=60,
)
_tagKey = st.from_regex(r"\A\+?[A-Za-z0-9][A-Za-z0-9-]{0,10}\Z")
_tagValue = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20
)


@given(
    st.sampled_from(["PRIVMSG", "NOTICE", "JOIN", "001", "433"]),
    st.lists(_params, max_size=5),
    _trailing,
    st.dictionaries(_tagKey, _tagValue, max_size=4),
    st.one_of(st.none(), st.from_regex(r"\A[a-z]{1,9}![a-z]{1,9}@[a-z.]{1,20}\Z")),
)
def test_roundTrip(
    command: str, middles: list[str], last: str, tags: dict[str, str], prefix: str | None
) -> None:
    params = [*middles, last]
    line = serializeMessage(command, params, prefix, dict(tags))
    expectedTags = {k: v for k, v in tags.items()}
    assert LineDecoder().receiveData(line) == [Message(command, params, prefix, expectedTags)]
    assert feedBytewise(line) == [Message(command, params, prefix, expectedTags)]


@settings(max_examples=300)
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=50))
def test_randomBytesOnlyGiveEvents(data: bytes, chunk: int) -> None:
    decoder = LineDecoder(Limits(maxBodyLength=100, maxTagsLength=200))
    events = []
    for i in range(0, len(data), chunk):
        events += decoder.receiveData(data[i : i + chunk])
    assert all(isinstance(e, Message | BadLine) for e in events)
    assert len(decoder._buf) <= 300


_valid = serializeMessage("PRIVMSG", ["#c", "hello world"], "n!u@h", {"a": "b;c"})


@given(st.lists(st.tuples(st.integers(0, len(_valid) - 1), st.binary(max_size=3)), max_size=8))
def test_mutatedLinesOnlyGiveEvents(mutations: list[tuple[int, bytes]]) -> None:
    data = bytearray(_valid)
    for pos, value in mutations:
        data[pos : pos + 1] = value
    events = LineDecoder().receiveData(bytes(data))
    assert all(isinstance(e, Message | BadLine) for e in events)


def test_serializeRefusesNulInTags() -> None:
    with pytest.raises(IRCLocalError):
        serializeMessage("TAGMSG", ["#c"], tags={"+a": "x\x00"})
    with pytest.raises(IRCLocalError):
        serializeMessage("TAGMSG", ["#c"], tags={"bad key": "x"})


_tricky = st.one_of(
    st.text(alphabet="ab1 :@!=;#\\\x01é", max_size=40),
    # Lines of words, up to past the 15-parameter rule.
    st.lists(
        st.sampled_from(["", ":a", "a", "PRIVMSG", "001", "1x", ":x y", "@a=b", "é", "a:b"]),
        max_size=20,
    ).map(" ".join),
)


@settings(max_examples=400)
@given(st.lists(_tricky, min_size=1, max_size=6))
def test_fastPathAgreesWithTheGeneralParser(lines: list[str]) -> None:
    """A chunk of ASCII lines takes the decoder's short way; each line on its own takes
    :func:`parseLine`'s general one (and a non-ASCII chunk the byte-wise one): same events."""
    encoded = [line.encode("utf-8") for line in lines]
    data = b"".join(line + b"\r\n" for line in encoded)
    expected = [parseLine(line) for line in encoded if line]
    assert LineDecoder().receiveData(data) == expected
    byteWise = LineDecoder()
    assert [e for i in range(len(data)) for e in byteWise.receiveData(data[i : i + 1])] == expected
