"""The ``cftp>`` prompt's line editing, on a screen model (the tool itself runs in tmux in
``tests/conch/test_conch_tool.py``)."""

from __future__ import annotations

import os
import pty
import termios
from typing import Any

import pytest

from glisten.conch.scripts._prompt import CommandPrompt, TerminalModes
from glisten.internet import defer

from ._terminal import Screen

UP, DOWN, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[D"
HOME, END, DELETE = b"\x1b[1~", b"\x1b[4~", b"\x1b[3~"


class _Prompt:
    def __init__(self) -> None:
        self.lines: list[str | None] = []
        self.ended = self.interrupts = 0
        self.screen = Screen(CommandPrompt, self.lines.append, self._end, self._interrupt)

    def _end(self) -> None:
        self.ended += 1

    def _interrupt(self) -> None:
        self.interrupts += 1

    @property
    def program(self) -> CommandPrompt:
        prompt: CommandPrompt = self.screen.program
        return prompt

    def show(self) -> None:
        self.program.showPrompt()
        self.screen.pump()


def test_noPromptUntilAsked() -> None:
    """Nothing is drawn (nor the screen cleared) before a line is wanted."""
    p = _Prompt()
    assert p.screen.text() == ""
    p.show()
    assert p.screen.text() == "cftp>"


@pytest.mark.parametrize("oneByOne", [False, True])
def test_editing(oneByOne: bool) -> None:
    p = _Prompt()
    p.show()
    p.screen.type(b"kdir wrng" + LEFT + LEFT + b"o" + HOME + b"m" + END + b"X\x7f\r", oneByOne)
    assert p.lines == ["mkdir wrong"]
    assert p.screen.lines()[0] == "cftp> mkdir wrong"
    p.show()
    p.screen.type(b"rm abcq" + LEFT + DELETE + b"\r", oneByOne)
    assert p.lines[-1] == "rm abc"


def test_keysWaitWhileACommandRuns() -> None:
    """Keys typed after a line (its command running) are edited at the next prompt."""
    p = _Prompt()
    p.show()
    p.screen.type(b"one\rtw")
    assert p.lines == ["one"]
    # Not drawn while the command runs.
    assert "tw" not in p.screen.text()
    p.screen.type(b"o\rthree\r")
    assert p.lines == ["one"]
    p.show()
    assert p.lines == ["one", "two"]
    p.show()
    assert p.lines == ["one", "two", "three"]
    assert p.screen.lines()[:3] == ["cftp> one", "cftp> two", "cftp> three"]


def test_history() -> None:
    p = _Prompt()
    for line in (b"first", b"second", b"third"):
        p.show()
        p.screen.type(line + b"\r")
    p.show()
    p.screen.type(UP + UP + UP + DOWN + b"!\r")
    assert p.lines[-1] == "second!"
    p.show()
    p.screen.type(UP + b"\r")
    assert p.lines[-1] == "second!"


def test_controlCDropsTheLine() -> None:
    p = _Prompt()
    p.show()
    p.screen.type(b"rm everything\x03ls\r")
    assert p.lines == ["ls"]
    assert p.screen.lines()[:2] == ["cftp> rm everything^C", "cftp> ls"]


def test_controlCWhileACommandRuns() -> None:
    """Control-C after a line was entered interrupts its command; it is not typed ahead."""
    p = _Prompt()
    p.show()
    p.screen.type(b"get big\rls\x03")
    assert p.interrupts == 1
    p.show()
    assert p.lines == ["get big"]  # "ls" waits on the new prompt, not entered
    assert p.screen.lines()[1] == "cftp> ls" and p.interrupts == 1


def test_controlUKillsToTheStart() -> None:
    p = _Prompt()
    p.show()
    p.screen.type(b"wrong right" + LEFT * 5 + b"\x15get \r")
    assert p.lines == ["get right"]


def test_controlKAndControlW() -> None:
    """Control-K deletes to the end, Control-W the word before the cursor."""
    p = _Prompt()
    p.show()
    p.screen.type(b"get a.txt junk here" + LEFT * 10 + b"\x0b" + b"\r")
    assert p.lines == ["get a.txt"]
    p.show()
    p.screen.type(b"put one two  \x17three\r")
    assert p.lines[-1] == "put one three"
    assert p.screen.lines()[1] == "cftp> put one three"
    p.show()
    p.screen.type(b"\x17\x0bls\r")  # nothing to delete: nothing happens
    assert p.lines[-1] == "ls"


def test_controlD() -> None:
    """Control-D deletes at the cursor on a line, and ends the session on an empty one."""
    p = _Prompt()
    p.show()
    p.screen.type(b"lsx" + LEFT + b"\x04\r")
    assert p.lines == ["ls"]
    p.show()
    p.screen.type(b"\x04")
    assert p.lines == ["ls", None]


def test_terminalGone() -> None:
    """A terminal that goes away while a line is wanted ends the session."""
    p = _Prompt()
    p.show()
    p.screen.server.connectionLost(None)
    assert p.lines == [None] and p.ended == 1
    q = _Prompt()
    q.screen.server.connectionLost(None)
    assert q.lines == [] and q.ended == 1


def test_terminalModes() -> None:
    """No echo, no signals, keys one by one, "\\n" out as CR LF; then as found."""
    main, other = pty.openpty()
    try:
        before = termios.tcgetattr(other)
        modes = TerminalModes(other, other)
        now = termios.tcgetattr(other)
        assert not now[3] & (termios.ICANON | termios.ECHO | termios.ISIG)
        assert now[1] & termios.OPOST
        assert now[6][termios.VMIN] == 1
        modes.restore()
        assert termios.tcgetattr(other) == before
        assert os.read(main, 100).endswith(b"\x1b[4l")
        modes.restore()
        assert termios.tcgetattr(other) == before
    finally:
        os.close(main)
        os.close(other)


def test_notATerminal() -> None:
    read, write = os.pipe()
    try:
        with pytest.raises(termios.error):
            TerminalModes(read, write)
    finally:
        os.close(read)
        os.close(write)


def test_tabCompletes() -> None:
    """Tab asks ``onComplete`` with the line up to the cursor and inserts its answer, or
    shows the names and the line again; keys typed while it answers wait for it."""
    asked: list[str] = []
    answers: dict[str, Any] = {}

    def complete(before: str) -> Any:
        asked.append(before)
        return answers.pop(before)

    p = _Prompt()
    p.program.onComplete = complete
    p.show()
    answers["get bi"] = ("g.bin ", [])
    p.screen.type(b"get bi\t\r")
    assert asked == ["get bi"] and p.lines == ["get big.bin "]
    # Ambiguous: the names are shown, then the prompt and the line, cursor in place.
    p.show()
    answers["ls d"] = ("", ["dir/", "data.txt"])
    p.screen.type(b"ls dX" + LEFT + b"\t")
    assert p.screen.lines()[2:4] == ["dir/  data.txt", "cftp> ls dX"]
    p.screen.type(b"a\r")
    assert p.lines[-1] == "ls daX"
    # An answer that comes later: keys typed meanwhile (Control-C too) wait for it.
    later: defer.Deferred[Any] = defer.Deferred()
    p.show()
    answers["cd "] = later
    p.screen.type(b"cd \tx\x03")
    assert p.program.lineBuffer == [b"c", b"d", b" "]
    later.callback(("sub/", []))
    p.screen.pump()
    assert p.lines[-1] == "ls daX" and p.interrupts == 0
    assert p.program.lineBuffer == []  # "cd sub/x" then Control-C dropped it
    assert "cftp> cd sub/x^C" in p.screen.text()
    # A failed completion inserts nothing.
    answers["rm "] = defer.fail(OSError("gone"))
    p.screen.type(b"rm \t\r")
    assert p.lines[-1] == "rm "


def test_tabWithoutCompletion() -> None:
    p = _Prompt()
    p.show()
    p.screen.type(b"ls\t\r")
    assert p.lines == ["ls"]
