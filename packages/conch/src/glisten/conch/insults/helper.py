"""
An in-memory VT102 screen: :class:`TerminalBuffer` implements
:class:`~glisten.conch.insults.insults.ITerminalTransport` on a grid of cells, so tests can
check what a terminal program would show (``bytes(buffer)``, :meth:`TerminalBuffer.getCharacter`).
Connect it through :class:`~glisten.conch.insults.insults.ClientProtocol` to read a program's
output.
"""

from __future__ import annotations

import codecs
from typing import Any

from zope.interface import implementer

from glisten.conch.insults import insults
from glisten.internet import defer, protocol

__all__ = [
    "BACKGROUND",
    "BLACK",
    "BLUE",
    "CYAN",
    "FOREGROUND",
    "GREEN",
    "MAGENTA",
    "N_COLORS",
    "RED",
    "WHITE",
    "YELLOW",
    "CharacterAttribute",
    "ExpectableBuffer",
    "TerminalBuffer",
]

FOREGROUND = 30
BACKGROUND = 40
BLACK, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, WHITE, N_COLORS = range(9)


class CharacterAttribute:
    """How one cell is drawn: character set, bold, underline, blink, reverse, colours."""

    def __init__(
        self,
        charset: bytes = insults.G0,
        bold: bool = False,
        underline: bool = False,
        blink: bool = False,
        reverseVideo: bool = False,
        foreground: int = WHITE,
        background: int = BLACK,
        _subtracting: bool = False,
    ) -> None:
        self.charset = charset
        self.bold = bold
        self.underline = underline
        self.blink = blink
        self.reverseVideo = reverseVideo
        self.foreground = foreground
        self.background = background
        self._subtracting = _subtracting

    def _key(self) -> tuple[Any, ...]:
        return (
            self.charset,
            self.bold,
            self.underline,
            self.blink,
            self.reverseVideo,
            self.foreground,
            self.background,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharacterAttribute) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            "CharacterAttribute(%r, bold=%r, underline=%r, blink=%r, reverse=%r, fg=%r, bg=%r)"
            % self._key()
        )

    def copy(self) -> CharacterAttribute:
        c = CharacterAttribute()
        c.__dict__.update(self.__dict__)
        return c

    def wantOne(self, **kw: Any) -> CharacterAttribute:
        """A copy with exactly one attribute changed."""
        ((name, value),) = kw.items()
        if getattr(self, name) == value:
            return self
        c = self.copy()
        setattr(c, name, value)
        return c

    def toVT102(self) -> str:
        """The SGR sequence selecting these attributes (empty for the defaults), as Twisted's."""
        params: list[int] = []
        if self.bold:
            params.append(insults.BOLD)
        if self.underline:
            params.append(insults.UNDERLINE)
        if self.blink:
            params.append(insults.BLINK)
        if self.reverseVideo:
            params.append(insults.REVERSE_VIDEO)
        if self.foreground != WHITE:
            params.append(FOREGROUND + self.foreground)
        if self.background != BLACK:
            params.append(BACKGROUND + self.background)
        if not params:
            return ""
        return "\x1b[" + ";".join(map(str, params)) + "m"


@implementer(insults.ITerminalTransport)
class TerminalBuffer(protocol.Protocol):
    """
    A ``width`` x ``height`` screen. Cells hold one character's bytes (a whole UTF-8 character)
    and its :class:`CharacterAttribute`; never-written cells hold :attr:`void`.
    """

    width = 80
    height = 24
    fill = b" "
    void = object()

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.reset()

    # -- inspection ----------------------------------------------------------------------

    def getCharacter(self, x: int, y: int) -> tuple[Any, CharacterAttribute]:
        """The cell at column ``x``, line ``y``: ``(character bytes or void, attributes)``."""
        return self.lines[y][x]

    def __bytes__(self) -> bytes:
        """The screen as text: a line per row, trailing never-written cells dropped."""
        out = []
        for line in self.lines:
            cells = [self.fill if ch is self.void else ch for ch, _ in line]
            length = max(
                (i + 1 for i, (ch, _) in enumerate(line) if ch is not self.void), default=0
            )
            out.append(b"".join(cells[:length]))
        return b"\n".join(out)

    def __str__(self) -> str:
        return bytes(self).decode("utf-8", "replace")

    # -- state ---------------------------------------------------------------------------

    def _emptyLine(self, width: int) -> list[tuple[Any, CharacterAttribute]]:
        # Cells are replaced, never changed in place, so one attribute object serves the line.
        return [(self.void, self._currentCharacterAttributes())] * max(width, 0)

    def _currentCharacterAttributes(self) -> CharacterAttribute:
        return CharacterAttribute(self.activeCharset, **self.graphicRendition)

    def reset(self) -> None:
        self.lines = [self._emptyLineBlank() for _ in range(self.height)]
        self.x = self.y = 0
        self.modes: dict[int, bool] = {}
        self.privateModes = {
            insults.privateModes.AUTO_WRAP: True,
            insults.privateModes.CURSOR_MODE: True,
        }
        self.numericKeypad = True
        self.activeCharset = insults.G0
        self.graphicRendition: dict[str, Any] = {
            "bold": False,
            "underline": False,
            "blink": False,
            "reverseVideo": False,
            "foreground": WHITE,
            "background": BLACK,
        }
        self.charsets = {
            insults.G0: insults.CS_US,
            insults.G1: insults.CS_US,
            insults.G2: insults.CS_ALTERNATE,
            insults.G3: insults.CS_ALTERNATE_SPECIAL,
        }
        self.eraseDisplay()
        self._savedCursor: tuple[Any, ...] | None = None
        self.tabStops = set(range(8, self.width, 8))
        self.scrollRegion: tuple[int, int] = (0, self.height - 1)
        self.unhandled: list[bytes] = []

    def _emptyLineBlank(self) -> list[tuple[Any, CharacterAttribute]]:
        return [(self.void, CharacterAttribute())] * self.width

    def connectionMade(self) -> None:
        self.reset()

    def terminalSize(self, width: int, height: int) -> None:
        """Resize (what a window-change or NAWS does to a real terminal)."""
        for line in self.lines:
            del line[width:]
            line.extend(self._emptyLine(width - len(line)))
        del self.lines[height:]
        self.lines.extend(self._emptyLine(width) for _ in range(height - len(self.lines)))
        self.width, self.height = width, height
        self.scrollRegion = (0, height - 1)
        self.x = min(self.x, width - 1)
        self.y = min(self.y, height - 1)

    # -- text ----------------------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        for char in self._decoder.decode(data):
            code = ord(char)
            if char == "\r":
                self.x = 0
            elif char in "\n\x0b\x0c":
                self._lineFeed()
                if self.modes.get(insults.modes.LNM):
                    self.x = 0
            elif char == "\t":
                stops = [t for t in self.tabStops if self.x < t < self.width]
                self.x = min(stops) if stops else self.width - 1
            elif char == "\x07" or code < 0x20 or code == 0x7F:
                continue
            else:
                self.insertAtCursor(char.encode("utf-8"))

    def insertAtCursor(self, b: bytes) -> None:
        """Put one character at the cursor (pushing the line right in insert mode)."""
        if self.x >= self.width:
            if self.privateModes.get(insults.privateModes.AUTO_WRAP):
                self.x = 0
                self._lineFeed()
            else:
                self.x = self.width - 1
        line = self.lines[self.y]
        cell = (b, self._currentCharacterAttributes())
        if self.modes.get(insults.modes.IRM):
            line.insert(self.x, cell)
            del line[self.width :]
        else:
            line[self.x] = cell
        self.x += 1

    def _lineFeed(self) -> None:
        top, bottom = self.scrollRegion
        if self.y == bottom:
            del self.lines[top]
            self.lines.insert(bottom, self._emptyLine(self.width))
        elif self.y < self.height - 1:
            self.y += 1

    # -- ITerminalTransport --------------------------------------------------------------

    def cursorUp(self, n: int = 1) -> None:
        self.y = max(0, self.y - n)

    def cursorDown(self, n: int = 1) -> None:
        self.y = min(self.height - 1, self.y + n)

    def cursorBackward(self, n: int = 1) -> None:
        self.x = max(0, min(self.x, self.width - 1) - n)

    def cursorForward(self, n: int = 1) -> None:
        self.x = min(self.width - 1, self.x + n)

    def cursorPosition(self, column: int, line: int) -> None:
        self.x = max(0, min(column, self.width - 1))
        self.y = max(0, min(line, self.height - 1))

    def cursorHome(self) -> None:
        self.x = self.y = 0

    def index(self) -> None:
        self._lineFeed()

    def reverseIndex(self) -> None:
        top, bottom = self.scrollRegion
        if self.y == top:
            del self.lines[bottom]
            self.lines.insert(top, self._emptyLine(self.width))
        elif self.y > 0:
            self.y -= 1

    def nextLine(self) -> None:
        self.x = 0
        self._lineFeed()

    def saveCursor(self) -> None:
        self._savedCursor = (self.x, self.y, self.activeCharset, dict(self.graphicRendition))

    def restoreCursor(self) -> None:
        if self._savedCursor is None:
            self.x = self.y = 0
            return
        self.x, self.y, self.activeCharset, rendition = self._savedCursor
        self.graphicRendition = dict(rendition)

    def setModes(self, modes: list[int]) -> None:
        for m in modes:
            self.modes[m] = True

    def resetModes(self, modes: list[int]) -> None:
        for m in modes:
            self.modes.pop(m, None)

    def setPrivateModes(self, modes: list[int]) -> None:
        for m in modes:
            self.privateModes[m] = True

    def resetPrivateModes(self, modes: list[int]) -> None:
        for m in modes:
            self.privateModes.pop(m, None)

    def applicationKeypadMode(self) -> None:
        self.numericKeypad = False

    def numericKeypadMode(self) -> None:
        self.numericKeypad = True

    def selectCharacterSet(self, charSet: bytes, which: bytes) -> None:
        self.charsets[which] = charSet

    def shiftIn(self) -> None:
        self.activeCharset = insults.G0

    def shiftOut(self) -> None:
        self.activeCharset = insults.G1

    def singleShift2(self) -> None:
        """Single shifts affect one character; this model ignores them."""

    def singleShift3(self) -> None:
        """Single shifts affect one character; this model ignores them."""

    def selectGraphicRendition(self, *attributes: int | str) -> None:
        gr = self.graphicRendition
        for raw in attributes:
            try:
                a = int(raw)
            except ValueError:
                self.unhandled.append(b"\x1b[" + str(raw).encode("ascii", "replace") + b"m")
                continue
            if a == insults.NORMAL:
                gr.update(
                    bold=False,
                    underline=False,
                    blink=False,
                    reverseVideo=False,
                    foreground=WHITE,
                    background=BLACK,
                )
            elif a == insults.BOLD:
                gr["bold"] = True
            elif a == insults.UNDERLINE:
                gr["underline"] = True
            elif a == insults.BLINK:
                gr["blink"] = True
            elif a == insults.REVERSE_VIDEO:
                gr["reverseVideo"] = True
            elif a == 22:
                gr["bold"] = False
            elif a == 24:
                gr["underline"] = False
            elif a == 25:
                gr["blink"] = False
            elif a == 27:
                gr["reverseVideo"] = False
            elif FOREGROUND <= a < FOREGROUND + N_COLORS:
                gr["foreground"] = a - FOREGROUND
            elif a == 39:
                gr["foreground"] = WHITE
            elif BACKGROUND <= a < BACKGROUND + N_COLORS:
                gr["background"] = a - BACKGROUND
            elif a == 49:
                gr["background"] = BLACK
            else:
                self.unhandled.append(b"\x1b[%dm" % a)

    def horizontalTabulationSet(self) -> None:
        self.tabStops.add(self.x)

    def tabulationClear(self) -> None:
        self.tabStops.discard(self.x)

    def tabulationClearAll(self) -> None:
        self.tabStops.clear()

    def doubleHeightLine(self, top: bool = True) -> None:
        """Line sizes are not modelled."""

    def singleWidthLine(self) -> None:
        """Line sizes are not modelled."""

    def doubleWidthLine(self) -> None:
        """Line sizes are not modelled."""

    def eraseToLineEnd(self) -> None:
        line = self.lines[self.y]
        line[self.x :] = self._emptyLine(self.width - self.x)

    def eraseToLineBeginning(self) -> None:
        end = min(self.x, self.width - 1) + 1
        self.lines[self.y][:end] = self._emptyLine(end)

    def eraseLine(self) -> None:
        self.lines[self.y] = self._emptyLine(self.width)

    def eraseToDisplayEnd(self) -> None:
        self.eraseToLineEnd()
        for i in range(self.y + 1, self.height):
            self.lines[i] = self._emptyLine(self.width)

    def eraseToDisplayBeginning(self) -> None:
        self.eraseToLineBeginning()
        for i in range(self.y):
            self.lines[i] = self._emptyLine(self.width)

    def eraseDisplay(self) -> None:
        self.lines = [self._emptyLine(self.width) for _ in range(self.height)]

    def deleteCharacter(self, n: int = 1) -> None:
        line = self.lines[self.y]
        del line[self.x : self.x + n]
        line.extend(self._emptyLine(self.width - len(line)))

    def insertCharacter(self, n: int = 1) -> None:
        line = self.lines[self.y]
        line[self.x : self.x] = self._emptyLine(min(n, self.width))
        del line[self.width :]

    def insertLine(self, n: int = 1) -> None:
        top, bottom = self.scrollRegion
        if not top <= self.y <= bottom:
            return
        for _ in range(min(n, bottom - self.y + 1)):
            del self.lines[bottom]
            self.lines.insert(self.y, self._emptyLine(self.width))

    def deleteLine(self, n: int = 1) -> None:
        top, bottom = self.scrollRegion
        if not top <= self.y <= bottom:
            return
        for _ in range(min(n, bottom - self.y + 1)):
            del self.lines[self.y]
            self.lines.insert(bottom, self._emptyLine(self.width))

    def setScrollRegion(self, first: int | None = None, last: int | None = None) -> None:
        top = (first or 1) - 1
        bottom = (last or self.height) - 1
        if 0 <= top < bottom < self.height:
            self.scrollRegion = (top, bottom)
        else:
            self.scrollRegion = (0, self.height - 1)
        self.x = self.y = 0

    def reportCursorPosition(self) -> tuple[int, int]:
        return (self.x, self.y)

    def unhandledControlSequence(self, seq: bytes) -> None:
        self.unhandled.append(seq)

    def loseConnection(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def getHost(self) -> Any:
        return self.transport.getHost() if self.transport is not None else None

    def getPeer(self) -> Any:
        return self.transport.getPeer() if self.transport is not None else None

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))


class ExpectableBuffer(TerminalBuffer):
    """A :class:`TerminalBuffer` that can wait for text to appear: :meth:`expect` returns a
    Deferred firing when the screen first contains the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._expecting: list[tuple[bytes, defer.Deferred[bytes]]] = []

    def write(self, data: bytes | str) -> None:
        super().write(data)
        self._check()

    def _check(self) -> None:
        if not self._expecting:
            return
        screen = bytes(self)
        still = []
        for text, d in self._expecting:
            if text in screen:
                d.callback(screen)
            else:
                still.append((text, d))
        self._expecting = still

    def expect(self, text: bytes) -> defer.Deferred[bytes]:
        """A Deferred firing with the screen once ``text`` is on it."""
        d: defer.Deferred[bytes] = defer.Deferred()
        self._expecting.append((text, d))
        self._check()
        return d
