"""
A small widget toolkit for terminals, under Twisted's names (``insults.window``).

A :class:`TopWindow` holds widgets and repaints them through a painter callable when they
change; :class:`HBox`/:class:`VBox` share space between children (those without a size hint
take what is left), :class:`Border` frames a widget, :class:`ScrolledArea` and
:class:`Viewport` show part of a larger one. Leaf widgets: :class:`Button`,
:class:`TextInput`, :class:`PasswordInput`, :class:`TextOutput`, :class:`TextOutputArea`,
:class:`Selection`, :class:`Canvas`. Tab moves the focus; a widget refuses it by raising
:class:`YieldFocus`. Widgets draw through :class:`~.insults.ITerminalTransport` methods only (no raw escape
sequences), so they draw on any :class:`~.insults.ITerminalTransport` (a
ServerProtocol, or a :class:`~.helper.TerminalBuffer` in tests) through
:class:`BoundedTerminalWrapper`, which offsets and clips their cursor positions.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from glisten.conch.insults import helper, insults

__all__ = [
    "AbsoluteBox",
    "Border",
    "BoundedTerminalWrapper",
    "Button",
    "Canvas",
    "ContainerWidget",
    "HBox",
    "HorizontalScrollbar",
    "Packer",
    "PasswordInput",
    "ScrolledArea",
    "Selection",
    "TextInput",
    "TextOutput",
    "TextOutputArea",
    "TopWindow",
    "VBox",
    "VerticalScrollbar",
    "Viewport",
    "Widget",
    "YieldFocus",
    "cursor",
    "horizontalLine",
    "rectangle",
    "verticalLine",
]

SizeHint = tuple[int | None, int | None] | None


class YieldFocus(Exception):
    """Raised by a widget that does not take (or gives up) the input focus."""


class BoundedTerminalWrapper:
    """
    A terminal seen through a ``width`` x ``height`` window at ``(xoff, yoff)``: cursor
    positions are relative to the window and clipped to it.
    """

    def __init__(self, terminal: Any, width: int, height: int, xoff: int, yoff: int) -> None:
        self.terminal = terminal
        self.width = width
        self.height = height
        self.xoff = xoff
        self.yoff = yoff

    def cursorPosition(self, x: int, y: int) -> None:
        self.terminal.cursorPosition(
            self.xoff + min(self.width, x), self.yoff + min(self.height, y)
        )

    def cursorHome(self) -> None:
        self.terminal.cursorPosition(self.xoff, self.yoff)

    def write(self, data: bytes | str) -> None:
        self.terminal.write(data)

    def cursorForward(self, n: int = 1) -> None:
        self.terminal.cursorForward(n)

    def selectCharacterSet(self, charSet: bytes, which: bytes) -> None:
        self.terminal.selectCharacterSet(charSet, which)

    def selectGraphicRendition(self, *attributes: Any) -> None:
        self.terminal.selectGraphicRendition(*attributes)

    def saveCursor(self) -> None:
        self.terminal.saveCursor()

    def restoreCursor(self) -> None:
        self.terminal.restoreCursor()


class Widget:
    """
    The base of widgets: size bookkeeping, repaint requests and keystroke dispatch
    (``func_<KEY>(modifier)`` methods for function keys, :meth:`characterReceived` for the rest).
    """

    focused = False
    parent: Any = None
    dirty = False
    width: int | None = None
    height: int | None = None

    def repaint(self) -> None:
        """Ask to be drawn again (the request travels up to the TopWindow)."""
        self.dirty = True
        if self.parent is not None and not self.parent.dirty:
            self.parent.repaint()

    def filthy(self) -> None:
        """Mark this widget (and, for containers, its children) for a full redraw."""
        self.dirty = True

    def redraw(self, width: int, height: int, terminal: Any) -> None:
        self.filthy()
        self.draw(width, height, terminal)

    def draw(self, width: int, height: int, terminal: Any) -> None:
        """Render when dirty or resized."""
        if width != self.width or height != self.height or self.dirty:
            self.width = width
            self.height = height
            self.dirty = False
            self.render(width, height, terminal)

    def render(self, width: int, height: int, terminal: Any) -> None:
        """Draw yourself; override."""

    def sizeHint(self) -> SizeHint:
        """``(width, height)`` wanted, ``None`` in either place for "as much as there is"."""
        return None

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if keyID == b"\t":
            self.tabReceived(modifier)
        elif keyID in (b"\x7f", b"\x08"):
            self.backspaceReceived()
        elif keyID in insults.FUNCTION_KEYS:
            self.functionKeyReceived(keyID, modifier)
        else:
            self.characterReceived(keyID, modifier)

    def tabReceived(self, modifier: bytes | None) -> None:
        raise YieldFocus()

    def focusReceived(self) -> None:
        """The focus arrives; raise :class:`YieldFocus` to refuse it."""
        self.focused = True
        self.repaint()

    def focusLost(self) -> None:
        self.focused = False
        self.repaint()

    def backspaceReceived(self) -> None:
        pass

    def functionKeyReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        handler = getattr(self, "func_" + keyID[1:-1].decode("ascii"), None)
        if handler is not None:
            handler(modifier)

    def characterReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        pass


class ContainerWidget(Widget):
    """A widget of widgets; keys go to the focused child, Tab moves to the next one."""

    focusedChild: Any = None

    def __init__(self) -> None:
        self.children: list[Any] = []

    def addChild(self, child: Any) -> None:
        if child.parent is not None:
            raise ValueError("the widget already has a parent")
        child.parent = self
        self.children.append(child)
        if self.focusedChild is None and self.focused:
            try:
                child.focusReceived()
            except YieldFocus:
                pass
            else:
                self.focusedChild = child
        self.repaint()

    def remChild(self, child: Any) -> None:
        if child.parent is not self:
            raise ValueError("not a child of this widget")
        child.parent = None
        self.children.remove(child)
        if self.focusedChild is child:
            self.focusedChild = None
        self.repaint()

    def filthy(self) -> None:
        for child in self.children:
            child.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, terminal: Any) -> None:
        for child in self.children:
            child.draw(width, height, terminal)

    def changeFocus(self) -> None:
        """
        Move the focus to the next child that takes it.

        :raises YieldFocus: no child after the current one wants it.
        """
        self.repaint()
        start = 0
        if self.focusedChild is not None:
            previous, self.focusedChild = self.focusedChild, None
            previous.focusLost()
            if previous not in self.children:
                raise YieldFocus()
            start = self.children.index(previous) + 1
        for child in self.children[start:]:
            try:
                child.focusReceived()
            except YieldFocus:
                continue
            self.focusedChild = child
            return
        raise YieldFocus()

    def focusReceived(self) -> None:
        self.changeFocus()
        self.focused = True

    def focusLost(self) -> None:
        if self.focusedChild is not None:
            self.focusedChild.focusLost()
            self.focusedChild = None
        Widget.focusLost(self)

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if self.focusedChild is None:
            Widget.keystrokeReceived(self, keyID, modifier)
            return
        try:
            self.focusedChild.keystrokeReceived(keyID, modifier)
        except YieldFocus:
            self.changeFocus()
            self.repaint()


class TopWindow(ContainerWidget):
    """
    The root of a widget tree: focus wraps around at the end, and repaints are batched.

    :param painter: called with no arguments to draw the tree.
    :param scheduler: called with a no-argument callable to run soon (``reactor.callLater(0,
        f)``); several changes before it runs cause one paint.
    """

    focused = True

    def __init__(
        self, painter: Callable[[], Any], scheduler: Callable[[Callable[[], None]], Any]
    ) -> None:
        super().__init__()
        self.painter = painter
        self.scheduler = scheduler
        self._paintScheduled = False

    def repaint(self) -> None:
        if not self._paintScheduled:
            self._paintScheduled = True
            self.scheduler(self._paint)
        ContainerWidget.repaint(self)

    def _paint(self) -> None:
        self._paintScheduled = False
        self.painter()

    def changeFocus(self) -> None:
        try:
            ContainerWidget.changeFocus(self)
        except YieldFocus:
            # Wrap around to the first child; nobody may want the focus at all.
            try:
                ContainerWidget.changeFocus(self)
            except YieldFocus:
                pass

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        try:
            ContainerWidget.keystrokeReceived(self, keyID, modifier)
        except YieldFocus:
            self.changeFocus()


class AbsoluteBox(ContainerWidget):
    """Children at fixed offsets: ``addChild(child, x, y)``, :meth:`moveChild`."""

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[int, tuple[int, int]] = {}

    def addChild(self, child: Any, x: int = 0, y: int = 0) -> None:
        self.positions[id(child)] = (x, y)
        super().addChild(child)

    def moveChild(self, child: Any, x: int, y: int) -> None:
        """:raises ValueError: ``child`` is not in this box."""
        if child not in self.children:
            raise ValueError("No such child", child)
        self.positions[id(child)] = (x, y)
        self.repaint()

    def render(self, width: int, height: int, terminal: Any) -> None:
        for child in self.children:
            x, y = self.positions.get(id(child), (0, 0))
            child.draw(
                width - x, height - y, BoundedTerminalWrapper(terminal, width - x, height - y, x, y)
            )


def _share(length: int, wants: list[int | None]) -> list[int]:
    """Split ``length``: fixed wants first, the rest evenly between the ``None`` ones."""
    fixed = sum(w for w in wants if w is not None)
    greedy = sum(1 for w in wants if w is None)
    each = max(length - fixed, 0) // greedy if greedy else 0
    return [each if w is None else w for w in wants]


class _Box(ContainerWidget):
    TOP, CENTER, BOTTOM = range(3)
    variableDimension = 0

    def __init__(self, gravity: int = CENTER) -> None:
        super().__init__()
        self.gravity = gravity

    def sizeHint(self) -> SizeHint:
        along: int | None = 0
        across: int | None = 0
        for child in self.children:
            hint = child.sizeHint() or (None, None)
            a, c = hint[self.variableDimension], hint[1 - self.variableDimension]
            along = None if a is None or along is None else along + a
            across = None if c is None or across is None else max(across, c)
        if self.variableDimension == 0:
            return along, across
        return across, along

    def render(self, width: int, height: int, terminal: Any) -> None:
        if not self.children:
            return
        wants = [
            (child.sizeHint() or (None, None))[self.variableDimension] for child in self.children
        ]
        offset = 0
        for size, child in zip(
            _share((width, height)[self.variableDimension], wants), self.children, strict=True
        ):
            if self.variableDimension == 0:
                child.draw(size, height, BoundedTerminalWrapper(terminal, size, height, offset, 0))
            else:
                child.draw(width, size, BoundedTerminalWrapper(terminal, width, size, 0, offset))
            offset += size


class HBox(_Box):
    """Children side by side."""

    variableDimension = 0


class VBox(_Box):
    """Children one above the other."""

    variableDimension = 1


class Packer(ContainerWidget):
    """Children in a roughly square grid of equal cells."""

    def render(self, width: int, height: int, terminal: Any) -> None:
        if not self.children:
            return
        columns = math.ceil(math.sqrt(len(self.children)))
        rows = math.ceil(len(self.children) / columns)
        cellWidth, cellHeight = width // columns, height // rows
        for n, child in enumerate(self.children):
            x, y = (n % columns) * cellWidth, (n // columns) * cellHeight
            child.draw(
                cellWidth, cellHeight, BoundedTerminalWrapper(terminal, cellWidth, cellHeight, x, y)
            )


class Canvas(Widget):
    """A grid of characters to draw on: ``canvas[x, y] = b"c"``; it takes the size it is given."""

    def __init__(self) -> None:
        self._width = self._height = 0
        self.contents = bytearray()
        self.resize(1, 1)

    def resize(self, width: int, height: int) -> None:
        contents = bytearray(b" " * (width * height))
        for y in range(min(height, self._height)):
            for x in range(min(width, self._width)):
                contents[width * y + x] = self.contents[self._width * y + x]
        self.contents = contents
        self._width, self._height = width, height
        if getattr(self, "x", 0) >= width:
            self.x = width - 1
        if getattr(self, "y", 0) >= height:
            self.y = height - 1

    def __getitem__(self, index: tuple[int, int]) -> int:
        x, y = index
        return self.contents[self._width * y + x]

    def __setitem__(self, index: tuple[int, int], value: int | bytes) -> None:
        x, y = index
        if isinstance(value, bytes):
            if len(value) != 1:
                return  # a multi-byte character does not fit a one-byte cell
            value = value[0]
        self.contents[self._width * y + x] = value

    def clear(self) -> None:
        self.contents = bytearray(b" " * len(self.contents))
        self.repaint()

    def render(self, width: int, height: int, terminal: Any) -> None:
        if not width or not height:
            return
        if (width, height) != (self._width, self._height):
            self.resize(width, height)
        for row in range(height):
            terminal.cursorPosition(0, row)
            terminal.write(bytes(self.contents[self._width * row : self._width * (row + 1)]))


# DEC special graphics characters (selected with CS_DRAWING).
_HORIZONTAL, _VERTICAL = b"q", b"x"
_TOP_LEFT, _TOP_RIGHT, _BOTTOM_LEFT, _BOTTOM_RIGHT = b"l", b"k", b"m", b"j"


def horizontalLine(terminal: Any, y: int, left: int, right: int) -> None:
    """A line on row ``y`` from column ``left`` up to ``right``."""
    terminal.selectCharacterSet(insults.CS_DRAWING, insults.G0)
    terminal.cursorPosition(left, y)
    terminal.write(_HORIZONTAL * (right - left))
    terminal.selectCharacterSet(insults.CS_US, insults.G0)


def verticalLine(terminal: Any, x: int, top: int, bottom: int) -> None:
    """A line in column ``x`` from row ``top`` up to ``bottom``."""
    terminal.selectCharacterSet(insults.CS_DRAWING, insults.G0)
    for row in range(top, bottom):
        terminal.cursorPosition(x, row)
        terminal.write(_VERTICAL)
    terminal.selectCharacterSet(insults.CS_US, insults.G0)


def rectangle(terminal: Any, position: tuple[int, int], dimension: tuple[int, int]) -> None:
    """
    A box outline.

    :param position: ``(top, left)`` of the box.
    :param dimension: ``(width, height)`` of the box.
    """
    top, left = position
    width, height = dimension
    terminal.selectCharacterSet(insults.CS_DRAWING, insults.G0)
    terminal.cursorPosition(left, top)
    terminal.write(_TOP_LEFT + _HORIZONTAL * (width - 2) + _TOP_RIGHT)
    for row in range(top + 1, top + height - 1):
        terminal.cursorPosition(left, row)
        terminal.write(_VERTICAL)
        terminal.cursorPosition(left + width - 1, row)
        terminal.write(_VERTICAL)
    terminal.cursorPosition(left, top + height - 1)
    terminal.write(_BOTTOM_LEFT + _HORIZONTAL * (width - 2) + _BOTTOM_RIGHT)
    terminal.selectCharacterSet(insults.CS_US, insults.G0)


class Border(Widget):
    """A frame around ``containee`` (red while it has the focus)."""

    def __init__(self, containee: Any) -> None:
        self.containee = containee
        containee.parent = self

    def focusReceived(self) -> None:
        self.containee.focusReceived()

    def focusLost(self) -> None:
        self.containee.focusLost()

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        self.containee.keystrokeReceived(keyID, modifier)

    def sizeHint(self) -> SizeHint:
        width, height = self.containee.sizeHint() or (None, None)
        return (None if width is None else width + 2, None if height is None else height + 2)

    def filthy(self) -> None:
        self.containee.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, terminal: Any) -> None:
        if self.containee.focused:
            terminal.selectGraphicRendition(str(helper.FOREGROUND + helper.RED))
        rectangle(terminal, (0, 0), (width, height))
        terminal.selectGraphicRendition(str(insults.NORMAL))
        self.containee.draw(
            width - 2, height - 2, BoundedTerminalWrapper(terminal, width - 2, height - 2, 1, 1)
        )


class Button(Widget):
    """A label that calls ``onPress()`` on Return (bold while focused)."""

    def __init__(self, label: bytes, onPress: Callable[[], Any]) -> None:
        self.label = label
        self.onPress = onPress

    def sizeHint(self) -> SizeHint:
        return len(self.label), 1

    def characterReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if keyID == b"\r":
            self.onPress()

    def render(self, width: int, height: int, terminal: Any) -> None:
        terminal.cursorPosition(0, 0)
        if self.focused:
            terminal.selectGraphicRendition(str(insults.BOLD))
            terminal.write(self.label)
            terminal.selectGraphicRendition(str(insults.NORMAL))
        else:
            terminal.write(self.label)


def cursor(terminal: Any, ch: bytes | str) -> None:
    """Show ``ch`` in reverse video as a cursor, and step past it."""
    terminal.saveCursor()
    terminal.selectGraphicRendition(str(insults.REVERSE_VIDEO))
    terminal.write(ch)
    terminal.restoreCursor()
    terminal.cursorForward()


class TextInput(Widget):
    """A one-line editor of at most ``maxwidth`` characters; Return calls ``onSubmit(text)``."""

    def __init__(self, maxwidth: int, onSubmit: Callable[[bytes], Any]) -> None:
        self.maxwidth = maxwidth
        self.onSubmit = onSubmit
        self.buffer = b""
        self.cursor = 0

    def setText(self, text: bytes) -> None:
        self.buffer = text[: self.maxwidth]
        self.cursor = len(self.buffer)
        self.repaint()

    def func_LEFT_ARROW(self, modifier: bytes | None) -> None:
        if self.cursor > 0:
            self.cursor -= 1
            self.repaint()

    def func_RIGHT_ARROW(self, modifier: bytes | None) -> None:
        if self.cursor < len(self.buffer):
            self.cursor += 1
            self.repaint()

    def backspaceReceived(self) -> None:
        if self.cursor > 0:
            self.buffer = self.buffer[: self.cursor - 1] + self.buffer[self.cursor :]
            self.cursor -= 1
            self.repaint()

    def characterReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if keyID == b"\r":
            self.onSubmit(self.buffer)
        elif len(keyID) == 1 and 0x20 <= keyID[0] < 0x7F and len(self.buffer) < self.maxwidth:
            self.buffer = self.buffer[: self.cursor] + keyID + self.buffer[self.cursor :]
            self.cursor += 1
            self.repaint()

    def sizeHint(self) -> SizeHint:
        return self.maxwidth + 1, 1

    def _renderText(self) -> bytes:
        return self.buffer

    def render(self, width: int, height: int, terminal: Any) -> None:
        text = self._renderText()
        terminal.cursorPosition(0, 0)
        if self.focused:
            terminal.write(text[: self.cursor])
            cursor(terminal, text[self.cursor : self.cursor + 1] or b" ")
            terminal.write(text[self.cursor + 1 :] + b" " * (self.maxwidth - len(text) + 1))
        else:
            terminal.write(text + b"_" * (self.maxwidth - len(text)))


class PasswordInput(TextInput):
    """A :class:`TextInput` showing ``*`` for each character."""

    def _renderText(self) -> bytes:
        return b"*" * len(self.buffer)


class TextOutput(Widget):
    """One line of text; it never takes the focus."""

    text = b""

    def __init__(self, size: SizeHint = None) -> None:
        self.size = size

    def sizeHint(self) -> SizeHint:
        return self.size

    def setText(self, text: bytes) -> None:
        self.text = text
        self.repaint()

    def focusReceived(self) -> None:
        raise YieldFocus()

    def render(self, width: int, height: int, terminal: Any) -> None:
        terminal.cursorPosition(0, 0)
        text = self.text[:width]
        terminal.write(text + b" " * (width - len(text)))


class TextOutputArea(TextOutput):
    """Several lines of text; long lines are wrapped (``WRAP``) or cut (``TRUNCATE``)."""

    WRAP, TRUNCATE = range(2)

    def __init__(self, size: SizeHint = None, longLines: int = WRAP) -> None:
        super().__init__(size)
        self.longLines = longLines

    def render(self, width: int, height: int, terminal: Any) -> None:
        lines: list[bytes] = []
        for line in self.text.splitlines():
            if self.longLines == self.WRAP and width > 0:
                wrapped = textwrap.wrap(line.decode("utf-8", "replace"), width) or [""]
                lines.extend(w.encode("utf-8") for w in wrapped)
            else:
                lines.append(line[:width])
            if len(lines) >= height:
                break
        for row, line in enumerate(lines[:height]):
            terminal.cursorPosition(0, row)
            terminal.write(line)


class Viewport(Widget):
    """Shows the part of ``containee`` (drawn on a 160x24 buffer) at ``xOffset``, ``yOffset``."""

    _width = 160
    _height = 24

    def __init__(self, containee: Any) -> None:
        self.containee = containee
        containee.parent = self
        self._xOffset = self._yOffset = 0
        self._buf = helper.TerminalBuffer()
        self._buf.terminalSize(self._width, self._height)

    @property
    def xOffset(self) -> int:
        return self._xOffset

    @xOffset.setter
    def xOffset(self, value: int) -> None:
        if value != self._xOffset:
            self._xOffset = value
            self.repaint()

    @property
    def yOffset(self) -> int:
        return self._yOffset

    @yOffset.setter
    def yOffset(self, value: int) -> None:
        if value != self._yOffset:
            self._yOffset = value
            self.repaint()

    def filthy(self) -> None:
        self.containee.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, terminal: Any) -> None:
        self.containee.draw(self._width, self._height, self._buf)
        for row, line in enumerate(self._buf.lines[self._yOffset : self._yOffset + height]):
            terminal.cursorPosition(0, row)
            cells = line[self._xOffset : self._xOffset + width]
            text = b"".join(b" " if ch is self._buf.void else ch for ch, _ in cells)
            terminal.write(text + b" " * (width - len(cells)))


class _Scrollbar(Widget):
    def __init__(self, onScroll: Callable[[int], float]) -> None:
        self.onScroll = onScroll
        self.percent = 0.0

    def smaller(self) -> None:
        self.percent = min(1.0, max(0.0, self.onScroll(-1)))
        self.repaint()

    def bigger(self) -> None:
        self.percent = min(1.0, max(0.0, self.onScroll(+1)))
        self.repaint()


class HorizontalScrollbar(_Scrollbar):
    """A one-row scrollbar; Left/Right call ``onScroll(-1/+1)``, which returns the new fraction."""

    _left, _right, _bar, _slider = "◀", "▶", "░", "▓"

    def sizeHint(self) -> SizeHint:
        return None, 1

    def func_LEFT_ARROW(self, modifier: bytes | None) -> None:
        self.smaller()

    def func_RIGHT_ARROW(self, modifier: bytes | None) -> None:
        self.bigger()

    def render(self, width: int, height: int, terminal: Any) -> None:
        track = max(width - 3, 0)
        before = int(track * self.percent)
        terminal.cursorPosition(0, 0)
        bar = (
            self._left
            + self._bar * before
            + self._slider
            + self._bar * (track - before)
            + self._right
        )
        terminal.write(bar.encode("utf-8"))


class VerticalScrollbar(_Scrollbar):
    """A one-column scrollbar; Up/Down call ``onScroll(-1/+1)``."""

    _up, _down, _bar, _slider = "▲", "▼", "░", "▓"

    def sizeHint(self) -> SizeHint:
        return 1, None

    def func_UP_ARROW(self, modifier: bytes | None) -> None:
        self.smaller()

    def func_DOWN_ARROW(self, modifier: bytes | None) -> None:
        self.bigger()

    def render(self, width: int, height: int, terminal: Any) -> None:
        knob = int(self.percent * max(height - 2, 0)) + 1
        for row in range(height):
            terminal.cursorPosition(0, row)
            if row == 0:
                glyph = self._up
            elif row == height - 1:
                glyph = self._down
            else:
                glyph = self._slider if row == knob else self._bar
            terminal.write(glyph.encode("utf-8"))


class ScrolledArea(Widget):
    """``containee`` in a :class:`Viewport` with scrollbars; the arrow keys scroll it."""

    def __init__(self, containee: Any) -> None:
        self._viewport = Viewport(containee)
        self._horiz = HorizontalScrollbar(self._horizScroll)
        self._vert = VerticalScrollbar(self._vertScroll)
        for widget in (self._viewport, self._horiz, self._vert):
            widget.parent = self

    def _horizScroll(self, n: int) -> float:
        self._viewport.xOffset = max(0, self._viewport.xOffset + n)
        return self._viewport.xOffset / 25.0

    def _vertScroll(self, n: int) -> float:
        self._viewport.yOffset = max(0, self._viewport.yOffset + n)
        return self._viewport.yOffset / 25.0

    def func_UP_ARROW(self, modifier: bytes | None) -> None:
        self._vert.smaller()

    def func_DOWN_ARROW(self, modifier: bytes | None) -> None:
        self._vert.bigger()

    def func_LEFT_ARROW(self, modifier: bytes | None) -> None:
        self._horiz.smaller()

    def func_RIGHT_ARROW(self, modifier: bytes | None) -> None:
        self._horiz.bigger()

    def filthy(self) -> None:
        for widget in (self._viewport, self._horiz, self._vert):
            widget.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, terminal: Any) -> None:
        self._viewport.draw(
            width - 2, height - 2, BoundedTerminalWrapper(terminal, width - 2, height - 2, 1, 1)
        )
        if self.focused:
            terminal.selectGraphicRendition(str(helper.FOREGROUND + helper.RED))
        horizontalLine(terminal, 0, 1, width - 1)
        verticalLine(terminal, 0, 1, height - 1)
        self._vert.draw(
            1, height - 1, BoundedTerminalWrapper(terminal, 1, height - 1, width - 1, 0)
        )
        self._horiz.draw(width, 1, BoundedTerminalWrapper(terminal, width, 1, 0, height - 1))
        terminal.selectGraphicRendition(str(insults.NORMAL))


class Selection(Widget):
    """
    A scrolling list of ``sequence`` items; Up/Down/PgUp/PgDn move, Return calls
    ``onSelect(item)``. ``minVisible`` rows are asked for when given.
    """

    focusedIndex = 0
    renderOffset = 0

    def __init__(
        self,
        sequence: Sequence[bytes],
        onSelect: Callable[[bytes], Any],
        minVisible: int | None = None,
    ):
        self.sequence = sequence
        self.onSelect = onSelect
        self.minVisible = minVisible
        self._width = max((len(item) for item in sequence), default=0)

    def sizeHint(self) -> SizeHint:
        if self.minVisible is None:
            return None
        return self._width, self.minVisible

    def _rows(self) -> int:
        return self.height or self.minVisible or 1

    def func_UP_ARROW(self, modifier: bytes | None) -> None:
        if self.focusedIndex > 0:
            self.focusedIndex -= 1
            self.renderOffset = max(self.renderOffset - 1, 0)
            self.repaint()

    def func_DOWN_ARROW(self, modifier: bytes | None) -> None:
        if self.focusedIndex < len(self.sequence) - 1:
            self.focusedIndex += 1
            self.renderOffset = min(self.renderOffset + 1, self._rows() - 1)
            self.repaint()

    def func_PGUP(self, modifier: bytes | None) -> None:
        if self.renderOffset:
            self.focusedIndex -= self.renderOffset
            self.renderOffset = 0
        else:
            self.focusedIndex = max(0, self.focusedIndex - self._rows())
        self.repaint()

    def func_PGDN(self, modifier: bytes | None) -> None:
        rows = self._rows()
        if self.renderOffset != rows - 1:
            step = min(rows - 1 - self.renderOffset, len(self.sequence) - 1 - self.focusedIndex)
            self.focusedIndex += step
            self.renderOffset += step
        else:
            self.focusedIndex = min(len(self.sequence) - 1, self.focusedIndex + rows)
        self.repaint()

    def characterReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if keyID == b"\r" and self.sequence:
            self.onSelect(self.sequence[self.focusedIndex])

    def render(self, width: int, height: int, terminal: Any) -> None:
        start = max(0, min(self.focusedIndex - self.renderOffset, len(self.sequence) - height))
        for row, item in enumerate(self.sequence[start : start + height]):
            terminal.cursorPosition(0, row)
            chosen = start + row == self.focusedIndex
            if chosen:
                terminal.saveCursor()
                modes = (
                    (insults.REVERSE_VIDEO, insults.BOLD)
                    if self.focused
                    else (insults.REVERSE_VIDEO,)
                )
                terminal.selectGraphicRendition(*map(str, modes))
            text = item[:width]
            terminal.write(text + b" " * (width - len(text)))
            if chosen:
                terminal.restoreCursor()
