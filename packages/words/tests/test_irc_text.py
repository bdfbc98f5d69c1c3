"""CTCP quoting, mIRC formatting, ISUPPORT parsing, mode parsing."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from glisten.words.protocols import irc
from glisten.words.protocols.irc import attributes as A


def test_ctcpQuoteRoundTrip() -> None:
    s = "a\x01b\\c"
    assert irc.ctcpQuote(s) == "a\\ab\\\\c"
    assert irc.ctcpDequote(irc.ctcpQuote(s)) == s
    assert irc.lowDequote(irc.lowQuote("x\r\n\x00\x10y")) == "x\r\n\x00\x10y"
    assert "\r" not in irc.lowQuote("\r\n")


def test_ctcpExtract() -> None:
    m = irc.ctcpExtract("hi \x01ACTION waves\x01 there\x01VERSION\x01")
    assert m == {"extended": [("ACTION", "waves"), ("VERSION", None)], "normal": ["hi ", " there"]}
    assert irc.ctcpExtract("\x01ACTION unterminated") == {
        "extended": [("ACTION", "unterminated")],
        "normal": [],
    }


def test_ctcpStringify() -> None:
    assert irc.ctcpStringify([("ACTION", "waves"), ("PING", ["1", "2"])]) == (
        "\x01ACTION waves\x01\x01PING 1 2\x01"
    )
    assert irc.ctcpStringify([("VERSION", None)]) == "\x01VERSION\x01"


@given(st.text(max_size=50))
def test_ctcpQuoteHypothesis(s: str) -> None:
    assert irc.ctcpDequote(irc.ctcpQuote(s)) == s
    assert irc.lowDequote(irc.lowQuote(s)) == s


def test_assembleFormattedText() -> None:
    text = irc.assembleFormattedText(A.normal[A.bold["Time: "], A.fg.lightRed["Now!"]])
    assert irc.stripFormatting(text) == "Time: Now!"
    assert text.startswith("\x02Time: ")
    assert "\x0304Now!" in text
    assert irc.assembleFormattedText(A.normal["plain"]) == "plain"


def test_parseFormattedText() -> None:
    parsed = irc.parseFormattedText("\x02bold\x02 \x0301,02colour\x03 \x1funder\x0f end")
    assert (
        parsed
        == A.normal[
            A.bold["bold"],
            " ",
            A.fg.black[A.bg.blue["colour"]],
            " ",
            A.underline["under"],
            " end",
        ]
    )


def test_negationAndNesting() -> None:
    text = irc.assembleFormattedText(A.bold["a", -A.bold["b"], "c"])
    assert irc.parseFormattedText(text) == A.normal[A.bold["a"], "b", A.bold["c"]]


def test_stripFormatting() -> None:
    assert irc.stripFormatting("\x02a\x03\x1d4,5b\x0312c\x04ff00ffd\x0fe\x031,2") == "a4,5bcde"


def test_unknownAttribute() -> None:
    with pytest.raises(AttributeError):
        A.fg.notAColour  # noqa: B018
    with pytest.raises(AttributeError):
        A.sparkly  # noqa: B018


@given(st.text(alphabet="ab 0,12\x02\x03\x0f\x16\x1d\x1e\x1f\x11\x04f", max_size=40))
@example("\x030\x1f,0")  # text ",0" right after a foreground colour: not a background
def test_formattingRoundTrip(text: str) -> None:
    parsed = irc.parseFormattedText(text)
    assembled = irc.assembleFormattedText(parsed)
    assert irc.stripFormatting(assembled) == irc.stripFormatting(text)
    assert irc.parseFormattedText(assembled) == parsed


def test_isupport() -> None:
    s = irc.ServerSupportedFeatures()
    assert s.getFeature("NICKLEN") == 9
    assert s.getFeature("PREFIX") == {"o": ("@", 0), "v": ("+", 1)}
    s.parse(
        [
            "NICKLEN=30",
            "PREFIX=(qaohv)~&@%+",
            "CHANMODES=beI,k,l,imnpst",
            "CHANTYPES=#&",
            "TARGMAX=PRIVMSG:4,NOTICE:,JOIN:",
            "NETWORK=Example\\x20Net",
            "EXCEPTS",
            "SAFELIST",
            "CHANLIMIT=#:25",
            "FOO=a,b",
            "NICKLEN=bogus",
        ]
    )
    assert s.getFeature("NICKLEN") == 9  # "bogus" falls back to the default
    assert s.getFeature("PREFIX")["h"] == ("%", 3)
    assert s.getFeature("CHANMODES") == {
        "addressModes": "beI",
        "param": "k",
        "setParam": "l",
        "noParam": "imnpst",
    }
    assert s.getFeature("TARGMAX") == {"PRIVMSG": 4, "NOTICE": None, "JOIN": None}
    assert s.getFeature("NETWORK") == "Example Net"
    assert s.getFeature("EXCEPTS") == "e"
    assert s.getFeature("SAFELIST") is True
    assert s.getFeature("CHANLIMIT") == [("#", 25)]
    assert s.getFeature("FOO") == ("a", "b")
    s.parse(["-FOO"])
    assert not s.hasFeature("FOO")
    s.parse(["PREFIX=(ov)@"])  # malformed: lengths differ, the old value stays
    assert s.getFeature("PREFIX")["q"] == ("~", 0)


def test_parseModes() -> None:
    added, removed = irc.parseModes("+ov-k", ["a", "b", "key"], ("ovk", "ovk"))
    assert added == [("o", "a"), ("v", "b")]
    assert removed == [("k", "key")]
    assert irc.parseModes("+l-l", ["10"], ("l", "")) == ([("l", "10")], [("l", None)])
    for modes, params in [("", []), ("o", []), ("+o", []), ("+n", ["x"]), ("+", [])]:
        with pytest.raises(irc.IRCBadModes):
            irc.parseModes(modes, params, ("o", "o"))


def test_parsemsgAndSplit() -> None:
    assert irc.parsemsg(":a!b@c PRIVMSG #x :hi there") == ("a!b@c", "PRIVMSG", ["#x", "hi there"])
    with pytest.raises(irc.IRCBadMessage):
        irc.parsemsg("")
    with pytest.raises(irc.IRCBadMessage):
        irc.parsemsg(":onlyprefix")
    assert irc.split("abc def\nghi", 4) == ["abc", "def", "ghi"]
    assert irc.RPL_WELCOME == "001"
    assert irc.numeric_to_symbolic["433"] == "ERR_NICKNAMEINUSE"
