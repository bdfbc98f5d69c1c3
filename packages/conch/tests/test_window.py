"""The insults widget toolkit, drawn on a TerminalBuffer."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.insults import helper, insults, window

S = insults.ServerProtocol


class Harness:
    """A TopWindow drawing on an in-memory screen, repainting when asked."""

    def __init__(self, width: int = 80, height: int = 24) -> None:
        self.screen = helper.TerminalBuffer()
        self.screen.terminalSize(width, height)
        self.scheduled: list[Any] = []
        self.top = window.TopWindow(self.paint, self.scheduled.append)
        self.width, self.height = width, height

    def paint(self) -> None:
        self.top.draw(self.width, self.height, self.screen)

    def run(self) -> None:
        while self.scheduled:
            self.scheduled.pop(0)()

    def keys(self, *keys: bytes) -> None:
        for key in keys:
            self.top.keystrokeReceived(key, None)
        self.run()

    def lines(self) -> list[str]:
        return str(self.screen).split("\n")


def test_textInputButtonAndFocus() -> None:
    h = Harness()
    submitted: list[bytes] = []
    pressed: list[bool] = []
    text = window.TextInput(10, submitted.append)
    output = window.TextOutput((12, 1))
    button = window.Button(b"Clear", lambda: pressed.append(True))
    box = window.HBox()
    box.addChild(text)
    box.addChild(output)
    box.addChild(window.Border(button))
    h.top.addChild(box)
    h.run()
    assert text.focused and not button.focused
    h.keys(b"h", b"e", b"y", S.LEFT_ARROW, b"!", b"\x7f", b"\r")
    assert submitted == [b"hey"]
    assert h.lines()[0].startswith("hey")
    output.setText(b"result")
    h.keys(b"\t")  # the output refuses focus: the button gets it
    assert button.focused and not text.focused
    h.keys(b"\r")
    assert pressed == [True]
    screen = h.lines()
    assert "result" in screen[0] and "Clear" in screen[1]
    # The border: DEC line drawing corners around the button.
    assert h.screen.getCharacter(23, 0)[0] == b"l"
    h.keys(b"\t")  # wraps around to the input
    assert text.focused


def test_passwordInputHidesText() -> None:
    h = Harness()
    pw = window.PasswordInput(8, lambda t: None)
    h.top.addChild(pw)
    h.keys(b"s", b"e", b"c")
    assert pw.buffer == b"sec"
    assert "sec" not in str(h.screen) and "***" in str(h.screen)


def test_selection() -> None:
    h = Harness()
    chosen: list[bytes] = []
    items = [b"%d" % n for n in range(100)]
    selection = window.Selection(items, chosen.append, 5)
    column = window.VBox()
    column.addChild(window.Border(selection))
    h.top.addChild(column)
    h.run()
    assert [line[:3] for line in h.lines()[1:6]] == ["x0 ", "x1 ", "x2 ", "x3 ", "x4 "]
    h.keys(S.DOWN_ARROW, S.DOWN_ARROW, b"\r")
    assert chosen == [b"2"]
    h.keys(S.PGDN, b"\r")
    assert chosen[-1] == b"4"
    h.keys(S.PGDN, b"\r")
    assert chosen[-1] == b"9"
    h.keys(S.PGUP, b"\r")
    assert chosen[-1] == b"5"
    assert selection.sizeHint() == (2, 5)
    row = next(y for y in range(h.height) if h.screen.getCharacter(1, y)[0] == b"5")
    assert h.screen.getCharacter(1, row)[1].reverseVideo


def test_boxesShareSpace() -> None:
    h = Harness(40, 10)
    left, right = window.TextOutput((10, 1)), window.TextOutput()
    left.setText(b"L" * 20)
    right.setText(b"R" * 40)
    vbox = window.VBox()
    hbox = window.HBox()
    hbox.addChild(left)
    hbox.addChild(right)
    vbox.addChild(hbox)
    h.top.addChild(vbox)
    h.run()
    assert h.lines()[0] == "L" * 10 + "R" * 30
    assert hbox.sizeHint() == (None, None)
    assert window.HBox().sizeHint() == (0, 0)


def test_textOutputAreaWrapsOrTruncates() -> None:
    for mode, expected in (
        (window.TextOutputArea.WRAP, ["one two", "three", "x"]),
        (window.TextOutputArea.TRUNCATE, ["one two t", "x"]),
    ):
        h = Harness(9, 5)
        area = window.TextOutputArea(longLines=mode)
        area.setText(b"one two three\nx\n")
        h.top.addChild(area)
        h.run()
        assert [line.rstrip() for line in h.lines()[: len(expected)]] == expected


def test_canvasAndCursor() -> None:
    h = Harness(10, 3)
    canvas = window.Canvas()
    h.top.addChild(canvas)
    h.run()
    canvas[2, 1] = b"#"
    canvas[3, 1] = ord("@")
    canvas.repaint()
    h.run()
    assert h.lines()[1].startswith("  #@")
    assert canvas[2, 1] == ord("#")
    canvas.clear()
    h.run()
    assert "#" not in str(h.screen)
    h.screen.cursorPosition(5, 2)
    window.cursor(h.screen, b"c")
    ch, attrs = h.screen.getCharacter(5, 2)
    assert ch == b"c" and attrs.reverseVideo
    assert (h.screen.x, h.screen.y) == (6, 2)


def test_viewportAndScrolledArea() -> None:
    h = Harness(20, 6)
    area = window.TextOutputArea(longLines=window.TextOutputArea.TRUNCATE)
    area.setText(b"abcdefghijklmnopqrstuvwxyz\nline two\nline three\n")
    scrolled = window.ScrolledArea(area)
    h.top.addChild(scrolled)
    h.run()
    assert h.lines()[1].startswith("xabcdefgh")
    h.keys(S.RIGHT_ARROW, S.RIGHT_ARROW, S.DOWN_ARROW)
    assert h.lines()[1].startswith("xne two")
    assert "▓" in str(h.screen)
    vp = window.Viewport(window.TextOutput())
    vp.xOffset = 3
    assert vp.xOffset == 3 and vp.dirty


def test_absoluteBoxAndPacker() -> None:
    h = Harness(20, 6)
    box = window.AbsoluteBox()
    label = window.TextOutput((5, 1))
    label.setText(b"hello")
    box.addChild(label, 3, 2)
    h.top.addChild(box)
    h.run()
    assert h.lines()[2].rstrip() == "   hello"
    box.moveChild(label, 0, 0)
    h.top.filthy()
    h.screen.eraseDisplay()
    h.paint()
    assert h.lines()[0].startswith("hello")
    h2 = Harness(20, 4)
    packer = window.Packer()
    for text in (b"a", b"b", b"c"):
        out = window.TextOutput()
        out.setText(text)
        packer.addChild(out)
    h2.top.addChild(packer)
    h2.run()
    assert h2.lines()[0].startswith("a") and "b" in h2.lines()[0] and h2.lines()[2].startswith("c")


def test_lines() -> None:
    screen = helper.TerminalBuffer()
    window.rectangle(screen, (1, 2), (5, 3))
    window.horizontalLine(screen, 5, 0, 4)
    window.verticalLine(screen, 9, 0, 3)
    lines = str(screen).split("\n")
    assert lines[1] == "  lqqqk  x"
    assert lines[2] == "  x   x  x"
    assert lines[3] == "  mqqqj"
    assert lines[5] == "qqqq"


_KEYS = st.sampled_from(
    [
        b"a",
        b"\r",
        b"\t",
        b"\x7f",
        S.UP_ARROW,
        S.DOWN_ARROW,
        S.LEFT_ARROW,
        S.RIGHT_ARROW,
        S.PGUP,
        S.PGDN,
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 100), st.integers(1, 40), st.lists(_KEYS, max_size=30))
def test_anySizeAndKeys(width: int, height: int, keys: list[bytes]) -> None:
    """Every widget draws at any size, however small, and takes any key, without raising."""
    h = Harness(width, height)
    row = window.HBox()
    row.addChild(window.TextInput(5, lambda t: None))
    row.addChild(window.Border(window.Selection([b"%d" % n for n in range(30)], lambda t: None, 4)))
    area = window.TextOutputArea(longLines=window.TextOutputArea.WRAP)
    area.setText(b"some words to wrap around\n" * 5)
    row.addChild(window.ScrolledArea(area))
    column = window.VBox()
    column.addChild(row)
    column.addChild(window.Border(window.Canvas()))
    column.addChild(window.Button(b"Press", lambda: None))
    packer = window.Packer()
    packer.addChild(window.PasswordInput(3, lambda t: None))
    packer.addChild(window.Viewport(window.TextOutput()))
    column.addChild(packer)
    h.top.addChild(column)
    h.run()
    h.keys(*keys)
    h.top.filthy()
    h.paint()
    assert len(h.screen.lines) == height
    assert all(len(line) == width for line in h.screen.lines)
