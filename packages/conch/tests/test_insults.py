"""VT102 codecs, ServerProtocol/ClientProtocol and the TerminalBuffer screen model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch._vt import (
    Call,
    CursorPosition,
    KeyboardParser,
    Keystroke,
    Limits,
    Paste,
    ScreenParser,
    TerminalProtocolError,
    Text,
    Unhandled,
)
from glisten.conch.insults import helper, insults
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport

from ._terminal import Screen

S = insults.ServerProtocol

KEYS = (
    b"ab\x7f\r"
    b"\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1bOH\x1bOF"
    b"\x1b[2~\x1b[3~\x1b[5~\x1b[6~\x1b[1~\x1b[4~"
    b"\x1bOP\x1bOQ\x1bOR\x1bOS\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~"
    b"\x1b[1;5C\x1b[1;3D\x1b[1;2A\x1b[3;5~\x1b[Z\x1bx"
    b"\xc3\xa9\xe2\x82\xac"
    b"\x1b[200~pa\x1b[Aste\x1b[201~"
    b"\x1b[12;40R\x1b[?1;2c"
)
EXPECTED = [
    Keystroke(b"a"),
    Keystroke(b"b"),
    Keystroke(b"\x7f"),
    Keystroke(b"\r"),
    Keystroke(S.UP_ARROW),
    Keystroke(S.DOWN_ARROW),
    Keystroke(S.RIGHT_ARROW),
    Keystroke(S.LEFT_ARROW),
    Keystroke(S.HOME),
    Keystroke(S.END),
    Keystroke(S.HOME),
    Keystroke(S.END),
    Keystroke(S.INSERT),
    Keystroke(S.DELETE),
    Keystroke(S.PGUP),
    Keystroke(S.PGDN),
    Keystroke(S.HOME),
    Keystroke(S.END),
    *[Keystroke(getattr(S, f"F{i}")) for i in range(1, 13)],
    Keystroke(S.RIGHT_ARROW, S.CONTROL),
    Keystroke(S.LEFT_ARROW, S.ALT),
    Keystroke(S.UP_ARROW, S.SHIFT),
    Keystroke(S.DELETE, S.CONTROL),
    Keystroke(b"\t", S.SHIFT),
    Keystroke(b"x", S.ALT),
    Keystroke("é".encode()),
    Keystroke("€".encode()),
    Paste(b"pa\x1b[Aste"),
    CursorPosition(39, 11),
    Unhandled(b"\x1b[?1;2c"),
]


def test_keyboardWholeAndByteAtATime() -> None:
    assert KeyboardParser().receiveData(KEYS) == EXPECTED
    parser = KeyboardParser()
    events: list[Any] = []
    for i in range(len(KEYS)):
        events += parser.receiveData(KEYS[i : i + 1])
    assert events == EXPECTED
    assert not parser.pending()


def test_keyboardInvalidUTF8() -> None:
    assert KeyboardParser().receiveData(b"\xc3a\xff") == [
        Keystroke(b"\xc3"),
        Keystroke(b"a"),
        Keystroke(b"\xff"),
    ]


def test_keyboardLimits() -> None:
    parser = KeyboardParser(Limits(maxSequenceLength=8))
    with pytest.raises(TerminalProtocolError):
        parser.receiveData(b"\x1b[" + b"1" * 9)
    with pytest.raises(TerminalProtocolError):
        parser.receiveData(b"x")
    paste = KeyboardParser(Limits(maxPasteLength=4))
    assert paste.receiveData(b"\x1b[200~abcd\x1b[201~") == [Paste(b"abcd")]
    with pytest.raises(TerminalProtocolError) as e:
        paste.receiveData(b"\x1b[200~abcde" + b"\x1b[201~")
    assert "abc" not in str(e.value)
    with pytest.raises(TerminalProtocolError):
        KeyboardParser(Limits(maxParameters=2)).receiveData(b"\x1b[1;2;3A")


OUTPUT = (
    b"hi\x1b[2J\x1b[H\x1b[3;5H\x1b[2A\x1b[B\x1b[4C\x1b[D\x08"
    b"\x1b[K\x1b[1K\x1b[2K\x1b[J\x1b[1J\x1b[3P\x1b[2L\x1b[M\x1b[2@"
    b"\x1b[1;4;31;42m\x1b[m\x1b[4h\x1b[4l\x1b[?25;2004h\x1b[?25l\x1b[2;20r\x1b[q\x1b[3q\x1b[6n"
    b"\x1bD\x1bM\x1bE\x1b7\x1b8\x1b=\x1b>\x1bN\x1bO\x1bH\x1bc\x1b(0\x1b)B\x1b#3\x1b#4\x1b#5\x1b#6"
    b"\x0e\x0f\x1b[5x\x1bZ\x1b(Z"
)
OUTPUT_EVENTS = [
    Text(b"hi"),
    Call("eraseDisplay"),
    Call("cursorPosition", (0, 0)),
    Call("cursorPosition", (4, 2)),
    Call("cursorUp", (2,)),
    Call("cursorDown", (1,)),
    Call("cursorForward", (4,)),
    Call("cursorBackward", (1,)),
    Call("cursorBackward", (1,)),
    Call("eraseToLineEnd"),
    Call("eraseToLineBeginning"),
    Call("eraseLine"),
    Call("eraseToDisplayEnd"),
    Call("eraseToDisplayBeginning"),
    Call("deleteCharacter", (3,)),
    Call("insertLine", (2,)),
    Call("deleteLine", (1,)),
    Call("insertCharacter", (2,)),
    Call("selectGraphicRendition", (1, 4, 31, 42)),
    Call("selectGraphicRendition", (0,)),
    Call("setModes", ([4],)),
    Call("resetModes", ([4],)),
    Call("setPrivateModes", ([25, 2004],)),
    Call("resetPrivateModes", ([25],)),
    Call("setScrollRegion", (2, 20)),
    Call("tabulationClear"),
    Call("tabulationClearAll"),
    Call("reportCursorPosition"),
    Call("index"),
    Call("reverseIndex"),
    Call("nextLine"),
    Call("saveCursor"),
    Call("restoreCursor"),
    Call("applicationKeypadMode"),
    Call("numericKeypadMode"),
    Call("singleShift2"),
    Call("singleShift3"),
    Call("horizontalTabulationSet"),
    Call("reset"),
    Call("selectCharacterSet", (insults.CS_DRAWING, insults.G0)),
    Call("selectCharacterSet", (insults.CS_US, insults.G1)),
    Call("doubleHeightLine", (True,)),
    Call("doubleHeightLine", (False,)),
    Call("singleWidthLine"),
    Call("doubleWidthLine"),
    Call("shiftOut"),
    Call("shiftIn"),
    Unhandled(b"\x1b[5x"),
    Unhandled(b"\x1bZ"),
    Unhandled(b"\x1b(Z"),
]


def _mergeText(events: list[Any]) -> list[Any]:
    out: list[Any] = []
    for e in events:
        if isinstance(e, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def test_screenWholeAndByteAtATime() -> None:
    assert ScreenParser().receiveData(OUTPUT) == OUTPUT_EVENTS
    parser = ScreenParser()
    events: list[Any] = []
    for i in range(len(OUTPUT)):
        events += parser.receiveData(OUTPUT[i : i + 1])
    assert _mergeText(events) == OUTPUT_EVENTS


def test_screenLimitsClampParameters() -> None:
    assert ScreenParser().receiveData(b"\x1b[99999999C") == [Call("cursorForward", (9999,))]
    with pytest.raises(TerminalProtocolError):
        ScreenParser(Limits(maxSequenceLength=4)).receiveData(b"\x1b[11111")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [b"\x1b", b"[", b"O", b"~", b";", b"200", b"201", b"1", b"?", b"R", b"A", b"\xc3"]
            ),
            st.binary(max_size=4),
        ),
        max_size=60,
    )
)
def test_randomInputOnlyRaisesTheCodecError(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    for make in (KeyboardParser, ScreenParser):
        for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
            parser = make(Limits(maxSequenceLength=16, maxPasteLength=32))
            try:
                for chunk in chunks:
                    parser.receiveData(chunk)
            except TerminalProtocolError:
                pass


class KeyLog(insults.TerminalProtocol):
    def __init__(self) -> None:
        self.keys: list[tuple[bytes, bytes | None]] = []
        self.unhandled: list[bytes] = []
        self.pastes: list[bytes] = []

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        self.keys.append((keyID, modifier))

    def unhandledControlSequence(self, seq: bytes) -> None:
        self.unhandled.append(seq)


class PasteLog(KeyLog):
    def pasteReceived(self, data: bytes) -> None:
        self.pastes.append(data)


def _server(factory: Any) -> tuple[insults.ServerProtocol, StringTransport]:
    server = insults.ServerProtocol(factory)
    tr = StringTransport()
    server.makeConnection(tr)
    return server, tr


def test_serverProtocolDeliversKeys() -> None:
    server, tr = _server(KeyLog)
    server.dataReceived(b"a\x1b[A\x1b[200~x\xc3\xa9\x1b[201~\x1b[3;4R")
    program = server.terminalProtocol
    assert program.keys == [(b"a", None), (S.UP_ARROW, None), (b"x", None), ("é".encode(), None)]
    assert program.unhandled == [b"\x1b[3;4R"]
    server, tr = _server(PasteLog)
    server.dataReceived(b"\x1b[200~x\ny\x1b[201~")
    assert server.terminalProtocol.pastes == [b"x\ny"]
    assert server.terminalProtocol.keys == []


def test_serverProtocolCursorReport() -> None:
    server, tr = _server(KeyLog)
    got: list[Any] = []
    server.reportCursorPosition().addCallback(got.append)
    assert tr.value() == b"\x1b[6n"
    server.dataReceived(b"\x1b[5;10R")
    assert got == [(9, 4)]


def test_serverProtocolLimitClosesTheConnection() -> None:
    server, tr = _server(KeyLog)
    server.dataReceived(b"\x1b[" + b"1" * 100)
    assert tr.disconnecting


def test_serverProtocolWrites() -> None:
    server, tr = _server(KeyLog)
    server.write(b"a\nb\r\n")
    server.cursorPosition(4, 2)
    server.selectGraphicRendition(insults.BOLD, "31")
    server.setPrivateModes([insults.privateModes.BRACKETED_PASTE])
    server.selectCharacterSet(insults.CS_DRAWING, insults.G1)
    server.shiftOut()
    server.setScrollRegion(2, 10)
    assert tr.value() == b"a\r\nb\r\n\x1b[3;5H\x1b[1;31m\x1b[?2004h\x1b)0\x0e\x1b[2;10r"
    with pytest.raises(ValueError):
        server.selectCharacterSet(insults.CS_US, insults.G2)
    tr.clear()
    server.loseConnection()
    assert tr.value() == b"\x1bc" and tr.disconnecting


class Painter(insults.TerminalProtocol):
    def connectionMade(self) -> None:
        t = self.terminal
        t.write(b"hello world")
        t.cursorPosition(0, 2)
        t.selectGraphicRendition(insults.BOLD, helper.FOREGROUND + helper.RED)
        t.write("héllo".encode())
        t.selectGraphicRendition(insults.NORMAL)
        t.cursorPosition(6, 0)
        t.setModes([insults.modes.IRM])
        t.write(b"big ")
        t.resetModes([insults.modes.IRM])
        t.cursorPosition(0, 4)
        t.write(b"abcdef")
        t.cursorBackward(4)
        t.deleteCharacter(2)
        t.cursorPosition(0, 5)
        t.write(b"xyz")
        t.cursorBackward(2)
        t.eraseToLineEnd()


def test_screenThroughClientProtocol() -> None:
    screen = Screen(Painter)
    assert screen.lines()[:6] == ["hello big world", "", "héllo", "", "abef", "x"]
    ch, attr = screen.buffer.getCharacter(0, 2)
    assert ch == b"h" and attr.bold and attr.foreground == helper.RED
    assert not screen.buffer.getCharacter(0, 0)[1].bold
    assert (screen.buffer.x, screen.buffer.y) == (1, 5)


def test_clientAnswersCursorReports() -> None:
    screen = Screen(KeyLog)
    got: list[Any] = []
    screen.server.write(b"abc")
    screen.server.reportCursorPosition().addCallback(got.append)
    screen.pump()
    assert got == [(3, 0)]


def test_terminalBufferScrollsAndResizes() -> None:
    buf = helper.TerminalBuffer()
    buf.makeConnection(StringTransport())
    for i in range(30):
        buf.write(b"line %d\r\n" % i)
    lines = bytes(buf).split(b"\n")
    assert lines[0] == b"line 7" and lines[22] == b"line 29" and lines[23] == b""
    buf.terminalSize(40, 10)
    assert len(bytes(buf).split(b"\n")) == 10 and buf.width == 40
    buf.write(b"x" * 45)
    assert buf.x == 5


def test_characterAttributeToVT102() -> None:
    attr = helper.CharacterAttribute(bold=True, foreground=helper.GREEN)
    assert attr.toVT102() == "\x1b[1;32m"
    assert helper.CharacterAttribute().toVT102() == ""
    assert attr.wantOne(bold=True) is attr
    assert attr.wantOne(bold=False) == helper.CharacterAttribute(foreground=helper.GREEN)


def test_expectableBuffer() -> None:
    buf = helper.ExpectableBuffer()
    buf.makeConnection(StringTransport())
    got: list[bytes] = []
    buf.expect(b"ready").addCallback(got.append)
    buf.write(b"not yet")
    assert got == []
    buf.write(b" ready")
    assert got and b"ready" in got[0]


def test_formattedText() -> None:
    from glisten.conch.insults.text import assembleFormattedText
    from glisten.conch.insults.text import attributes as A

    assert assembleFormattedText("plain") == "plain"
    assert assembleFormattedText(A.normal["a", A.bold["b", A.fg.red["c"]], "d"]) == (
        "a\x1b[0;1mb\x1b[0;1;31mc\x1b[0md"
    )
    assert assembleFormattedText(A.bg.blue[A.underline["x"], A.normal["y"]]) == (
        "\x1b[0;4;44mx\x1b[0my"
    )
    screen = Screen(KeyLog)
    screen.server.write(assembleFormattedText(A.normal[A.reverseVideo["r"], "n"]))
    screen.pump()
    assert screen.buffer.getCharacter(0, 0)[1].reverseVideo
    assert not screen.buffer.getCharacter(1, 0)[1].reverseVideo


_SCREEN_PIECES = st.sampled_from(
    [
        b"\x1b[",
        b"\x1b",
        b";",
        b"?",
        b"9999",
        b"0",
        b"3",
        b"25",
        b"A",
        b"B",
        b"C",
        b"D",
        b"H",
        b"J",
        b"K",
        b"L",
        b"M",
        b"P",
        b"@",
        b"r",
        b"m",
        b"h",
        b"l",
        b"q",
        b"n",
        b"7",
        b"8",
        b"D",
        b"E",
        b"c",
        b"\r",
        b"\n",
        b"\t",
        b"\x08",
        b"x" * 90,
        "é".encode(),
        b"\xff",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SCREEN_PIECES, max_size=80), st.integers(1, 100), st.integers(1, 40))
def test_terminalBufferTakesAnyOutput(pieces: list[bytes], width: int, height: int) -> None:
    """Whatever a program writes, the screen model stays inside its grid and never raises."""
    screen = helper.TerminalBuffer()
    client = insults.ClientProtocol(lambda: screen)
    client.reactor = clock = Clock()
    client.makeConnection(StringTransport())
    screen.terminalSize(width, height)
    client.dataReceived(b"".join(pieces))
    clock.advance(0)
    assert len(screen.lines) == height
    assert all(len(line) == width for line in screen.lines)
    assert 0 <= screen.y < height and 0 <= screen.x <= width
