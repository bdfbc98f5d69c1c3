"""Line editing and history, seen on a screen model."""

from __future__ import annotations

import pytest

from glisten.conch import recvline
from glisten.conch.insults import helper, insults

from ._terminal import Screen

S = insults.ServerProtocol
UP, DOWN, LEFT, RIGHT = b"\x1b[A", b"\x1b[B", b"\x1b[D", b"\x1b[C"
HOME, END, INSERT, DELETE = b"\x1b[1~", b"\x1b[4~", b"\x1b[2~", b"\x1b[3~"


class Lines(recvline.HistoricRecvLine):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.received: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.received.append(line)
        self.terminal.write(b"got " + line)
        self.terminal.nextLine()
        self.terminal.write(self.ps[self.pn])


@pytest.mark.parametrize("oneByOne", [False, True])
def test_editing(oneByOne: bool) -> None:
    screen = Screen(Lines)
    screen.type(b"helo" + LEFT + b"l" + END + b" world" + HOME + b">" + b"\r", oneByOne)
    assert screen.program.received == [b">hello world"]
    assert screen.lines()[:2] == [">>> >hello world", "got >hello world"]


def test_backspaceDeleteAndTypeover() -> None:
    screen = Screen(Lines)
    screen.type(b"abcd\x7f" + LEFT + LEFT + DELETE + INSERT + b"XY" + INSERT + b"Z")
    assert screen.program.lineBuffer == [b"a", b"X", b"Y", b"Z"]
    assert screen.lines()[0] == ">>> aXYZ"
    assert screen.program.currentLineBuffer() == (b"aXYZ", b"")
    screen.type(LEFT + LEFT)
    assert screen.program.currentLineBuffer() == (b"aX", b"YZ")
    screen.type(b"\x08\r")
    assert screen.program.received == [b"aYZ"]


def test_unicodeKeepsTheCursorRight() -> None:
    screen = Screen(Lines)
    screen.type("héé".encode() + LEFT + b"x\r")
    assert screen.program.received == ["héxé".encode()]
    assert screen.lines()[0] == ">>> héxé"


def test_history() -> None:
    screen = Screen(Lines)
    screen.type(b"one\rtwo\rthr")
    screen.type(UP)
    assert screen.lines()[4] == ">>> two"
    screen.type(UP + UP)
    assert screen.lines()[4] == ">>> one"
    screen.type(DOWN + DOWN)
    assert screen.lines()[4] == ">>> thr"
    screen.type(DOWN)
    assert screen.lines()[4].rstrip() == ">>>"
    screen.type(UP + b"!\r")
    assert screen.program.received == [b"one", b"two", b"thr!"]
    assert screen.program.currentHistoryBuffer() == ((b"one", b"two", b"thr", b"thr!"), ())


def test_historyIsBounded() -> None:
    screen = Screen(Lines)
    screen.program.historyLength = 3
    screen.type(b"a\rb\rc\rd\r")
    assert screen.program.historyLines == [b"b", b"c", b"d"]


def test_tabAndResize() -> None:
    screen = Screen(Lines)
    screen.type(b"ab\tc")
    assert screen.program.lineBuffer == [b"a", b"b", b" ", b" ", b"c"]
    screen.program.terminalSize(100, 30)
    screen.pump()
    assert screen.lines()[0] == ">>> ab  c"
    assert screen.program.width == 100


class Recorded(recvline.LocalTerminalBufferMixin, Lines):
    pass


def test_localTerminalBuffer() -> None:
    screen = Screen(Recorded)
    screen.type(b"hello" + LEFT + b"X\r")
    assert screen.program.received == [b"hellXo"]
    assert str(screen.program).split("\n")[:2] == [">>> hellXo", "got hellXo"]
    assert str(screen.program).split("\n")[:2] == screen.lines()[:2]


def test_transportSequence() -> None:
    one, two = helper.TerminalBuffer(), helper.TerminalBuffer()
    both = recvline.TransportSequence(one, two)
    both.write(b"abc")
    both.cursorPosition(1, 2)
    both.write(b"x")
    assert bytes(one) == bytes(two) and bytes(one).split(b"\n")[2] == b" x"
    assert both.reportCursorPosition() == (2, 2)
    assert both.UP_ARROW == insults.ServerProtocol.UP_ARROW
    with pytest.raises(ValueError):
        recvline.TransportSequence()
