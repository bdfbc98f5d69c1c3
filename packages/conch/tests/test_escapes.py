"""The escape character filter of ``glisten conch`` sessions (``~.``, ``~?``...), sans-IO."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.conch.client._escapes import (
    MAX_COMMAND_LINE,
    Command,
    CommandLineOpened,
    Disconnect,
    Echo,
    EscapeFilter,
    Event,
    Help,
    Input,
    ListConnections,
    Rekey,
    SendBreak,
    Suspend,
    formatEscapeChar,
    helpText,
    parseEscapeChar,
)


def _merged(events: list[Event]) -> list[Event]:
    """Adjacent ``Input`` runs joined, so whole and byte-at-a-time feeds compare equal."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Input) and out and isinstance(out[-1], Input):
            out[-1] = Input(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def _feed(data: bytes, escapeChar: int | None = 0x7E, split: bool = False) -> list[Event]:
    f = EscapeFilter(escapeChar)
    if not split:
        return _merged(f.receiveData(data))
    events: list[Event] = []
    for i in range(len(data)):
        events.extend(f.receiveData(data[i : i + 1]))
    return _merged(events)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (b"ls\r", [Input(b"ls\r")]),
        # The start of the session counts as after a newline.
        (b"~.", [Disconnect()]),
        (b"echo\r~.", [Input(b"echo\r"), Disconnect()]),
        (b"echo\n~.", [Input(b"echo\n"), Disconnect()]),
        # Not after a newline: an ordinary character.
        (b"a~.", [Input(b"a~.")]),
        (b"\r~~.", [Input(b"\r~.")]),
        (b"\r~?", [Input(b"\r"), Help()]),
        (b"\r~#", [Input(b"\r"), ListConnections()]),
        (b"\r~B", [Input(b"\r"), SendBreak()]),
        (b"\r~R", [Input(b"\r"), Rekey()]),
        (b"\r~\x1a", [Input(b"\r"), Suspend()]),
        # An unknown command sends both bytes.
        (b"\r~x", [Input(b"\r~x")]),
        (b"\r~\r~.", [Input(b"\r~\r"), Disconnect()]),
        # A command keeps the after-newline state: ~? then ~. works.
        (b"~?~.", [Help(), Disconnect()]),
        (b"~#ab~.", [ListConnections(), Input(b"ab~.")]),
        # After ~~ the line goes on: the next ~ is ordinary.
        (b"~~~.", [Input(b"~~.")]),
        (b"", []),
        (b"~", []),
    ],
)
def test_sequences(typed: bytes, expected: list[Event], split: bool) -> None:
    assert _feed(typed, split=split) == expected


def test_pendingEscapeAcrossReads() -> None:
    f = EscapeFilter()
    assert f.receiveData(b"x\r~") == [Input(b"x\r")]
    assert f.receiveData(b".") == [Disconnect()]
    f = EscapeFilter()
    assert f.receiveData(b"~") == []
    assert f.receiveData(b"y") == [Input(b"~y")]


def test_otherEscapeCharacter() -> None:
    assert _feed(b"\r%.", 0x25) == [Input(b"\r"), Disconnect()]
    assert _feed(b"\r~.", 0x25) == [Input(b"\r~.")]
    assert _feed(b"\x1d?", 0x1D) == [Help()]


def test_noEscapeCharacter() -> None:
    assert _feed(b"~.\r~?", None) == [Input(b"~.\r~?")]
    assert EscapeFilter(None).escapeChar is None


def test_badEscapeCharacter() -> None:
    with pytest.raises(ValueError):
        EscapeFilter(256)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("~", 0x7E), ("none", None), ("NONE", None), ("%", 0x25), ("^]", 0x1D), ("^a", 0x01)],
)
def test_parseEscapeChar(value: str, expected: int | None) -> None:
    assert parseEscapeChar(value) == expected


@pytest.mark.parametrize("value", ["", "ab", "^", "^ab", "é"])
def test_parseEscapeCharRefuses(value: str) -> None:
    if value == "^":
        # A lone caret is a character like any other.
        assert parseEscapeChar(value) == 0x5E
        return
    with pytest.raises(ValueError):
        parseEscapeChar(value)


def test_help() -> None:
    assert formatEscapeChar(0x1D) == "^]"
    assert formatEscapeChar(0x7E) == "~"
    text = helpText(0x7E)
    assert b" ~.   - terminate connection\r\n" in text
    assert b" ~~   - send the escape character" in text
    assert b" ^].   - terminate" in helpText(0x1D)
    assert text.endswith(b"newline.)\r\n")


_typed = st.lists(
    st.sampled_from(
        [
            b"~",
            b"\r",
            b"\n",
            b".",
            b"?",
            b"#",
            b"B",
            b"R",
            b"C",
            b"\x7f",
            b"\x15",
            b"\x1b",
            b"\x1a",
            b"a",
            b"%",
            b"\x1d",
        ]
    )
    | st.binary(max_size=8),
    max_size=40,
).map(b"".join)


@given(_typed, st.sampled_from([0x7E, 0x25, 0x1D, 0x00, 0xFF, None]), st.data())
def test_anyInput(data: bytes, escapeChar: int | None, draw: st.DataObject) -> None:
    """
    Never raises; whole or in any pieces gives the same; ``Input`` is never empty; bytes
    without the escape character (or with escapes off) pass through unchanged.
    """
    whole = _feed(data, escapeChar)
    f = EscapeFilter(escapeChar)
    pieces: list[Event] = []
    rest = data
    while rest:
        n = draw.draw(st.integers(1, len(rest)))
        out = f.receiveData(rest[:n])
        assert all(e.data for e in out if isinstance(e, Input))
        pieces.extend(out)
        rest = rest[n:]
    assert _merged(pieces) == whole
    if any(isinstance(e, CommandLineOpened) for e in whole):
        # Command lines take what is typed up to Return; they stay bounded.
        lines = [e.line for e in whole if isinstance(e, Command) and e.line is not None]
        assert all(len(line.encode("utf-8")) <= MAX_COMMAND_LINE * 3 for line in lines)
    elif escapeChar is None or escapeChar not in data:
        assert whole == ([Input(data)] if data else [])
    else:
        # Every byte but the escape character comes out, as typed or as a command's letter.
        letters = {
            Disconnect(): b".",
            SendBreak(): b"B",
            Rekey(): b"R",
            ListConnections(): b"#",
            Suspend(): b"\x1a",
            Help(): b"?",
        }
        escape = bytes([escapeChar])
        rebuilt = b"".join(e.data if isinstance(e, Input) else escape + letters[e] for e in whole)
        assert rebuilt.replace(escape, b"") == data.replace(escape, b"")


@pytest.mark.parametrize("split", [False, True])
def test_commandLine(split: bool) -> None:
    """``~C``: a line edited locally (Backspace, Control-U), handed on at Return."""
    events = _feed(b"\r~C-L 80xx\x7f\x7f:h:80\r~~", split=split)
    assert events[:2] == [Input(b"\r"), CommandLineOpened()]
    typed = b"".join(e.data for e in events if isinstance(e, Echo))
    assert typed == b"-L 80xx\b \b\b \b:h:80\r\n"
    assert events[-2:] == [Command("-L 80:h:80"), Input(b"~")]
    # Control-U clears, Control-C and Escape give up, control bytes are not taken.
    assert _feed(b"~Cab\x15cd\r")[-1] == Command("cd")
    assert _feed(b"~Cab\x03x")[-2:] == [Command(None), Input(b"x")]
    assert _feed(b"~Cab\x1b")[-1] == Command(None)
    assert _feed(b"~Ca\x01\x02b\n")[-1] == Command("ab")
    # A UTF-8 character is erased whole; the line is bounded.
    assert _feed("~Cé\x7fx\r".encode())[-1] == Command("x")
    long = _feed(b"~C" + b"x" * (MAX_COMMAND_LINE + 50) + b"\r")[-1]
    assert long == Command("x" * MAX_COMMAND_LINE)
