"""
VT102 terminals under Twisted's names: :class:`ServerProtocol` (a program's side: reads keys,
writes control functions) and :class:`ClientProtocol` (a terminal's side: reads control
functions and applies them to an :class:`ITerminalTransport` such as
:class:`glisten.conch.insults.helper.TerminalBuffer`), thin adapters over the sans-IO codecs
in :mod:`glisten.conch._vt`.

Beyond Twisted: keys with xterm modifiers (``CSI 1;5C`` is Control-Right), UTF-8 characters
as single keystrokes, bracketed paste (``setPrivateModes([privateModes.BRACKETED_PASTE])``;
pastes go to the terminal protocol's ``pasteReceived(data)`` when it has one), limits on
control sequences, and SI/SO written as the real 0x0F/0x0E bytes.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import Interface, implementer

from glisten.conch._turns import Turns, pauseInput
from glisten.conch._vt import (
    FUNCTION_KEYS,
    Call,
    CursorPosition,
    KeyboardParser,
    Keystroke,
    Paste,
    ScreenParser,
    TerminalProtocolError,
    Text,
    Unhandled,
    keyConstant,
)
from glisten.internet import defer, protocol
from glisten.internet import interfaces as iinternet
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "BLINK",
    "BOLD",
    "CS_ALTERNATE",
    "CS_ALTERNATE_SPECIAL",
    "CS_DRAWING",
    "CS_UK",
    "CS_US",
    "FUNCTION_KEYS",
    "G0",
    "G1",
    "G2",
    "G3",
    "NORMAL",
    "REVERSE_VIDEO",
    "UNDERLINE",
    "ClientProtocol",
    "ITerminalProtocol",
    "ITerminalTransport",
    "ServerProtocol",
    "TerminalProtocol",
    "Vector",
    "modes",
    "privateModes",
]


class ITerminalProtocol(Interface):
    """A program driving a terminal: gets keys, drives the terminal through its transport."""

    def makeConnection(transport: Any) -> None:
        """Connected to an :class:`ITerminalTransport`."""

    def keystrokeReceived(keyID: bytes, modifier: bytes | None) -> None:
        """
        A key: a character's bytes, or a constant such as ``ServerProtocol.UP_ARROW``;
        ``modifier`` is ``None`` or ``ServerProtocol.ALT``/``SHIFT``/``CONTROL``.
        """

    def terminalSize(width: int, height: int) -> None:
        """The terminal's size; assume 80x24 until told."""

    def unhandledControlSequence(seq: bytes) -> None:
        """A control sequence the parser does not interpret."""

    def connectionLost(reason: Any) -> None:
        """The terminal went away."""


@implementer(ITerminalProtocol)
class TerminalProtocol:
    """A terminal program doing nothing; subclass it. ``self.terminal`` is the transport."""

    terminal: Any = None
    factory: Any = None

    def makeConnection(self, terminal: Any) -> None:
        self.terminal = terminal
        self.connectionMade()

    def connectionMade(self) -> None:
        """Called once ``self.terminal`` is set."""

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        pass

    def terminalSize(self, width: int, height: int) -> None:
        pass

    def unhandledControlSequence(self, seq: bytes) -> None:
        pass

    def connectionLost(self, reason: Any) -> None:
        pass


class ITerminalTransport(iinternet.ITransport):
    """The control functions of a VT102 terminal (positions are zero-based)."""

    def cursorUp(n: int = 1) -> None:
        """Move the cursor up ``n`` lines."""

    def cursorDown(n: int = 1) -> None:
        """Move the cursor down ``n`` lines."""

    def cursorForward(n: int = 1) -> None:
        """Move the cursor right ``n`` columns."""

    def cursorBackward(n: int = 1) -> None:
        """Move the cursor left ``n`` columns."""

    def cursorPosition(column: int, line: int) -> None:
        """Move the cursor to ``column``, ``line``."""

    def cursorHome() -> None:
        """Move the cursor to the top left corner."""

    def index() -> None:
        """Move down a line, scrolling at the bottom."""

    def reverseIndex() -> None:
        """Move up a line, scrolling at the top."""

    def nextLine() -> None:
        """Move to the start of the next line, scrolling at the bottom."""

    def saveCursor() -> None:
        """Save the cursor position and attributes."""

    def restoreCursor() -> None:
        """Restore what :meth:`saveCursor` saved (or go home)."""

    def setModes(modes: list[int]) -> None:
        """Set ECMA-48 modes (:class:`modes`)."""

    def resetModes(modes: list[int]) -> None:
        """Reset ECMA-48 modes."""

    def setPrivateModes(modes: list[int]) -> None:
        """Set DEC private modes (:class:`privateModes`)."""

    def resetPrivateModes(modes: list[int]) -> None:
        """Reset DEC private modes."""

    def applicationKeypadMode() -> None:
        """Make the keypad send control functions."""

    def numericKeypadMode() -> None:
        """Make the keypad send digits."""

    def selectCharacterSet(charSet: bytes, which: bytes) -> None:
        """Bind a character set (``CS_*``) to ``G0`` or ``G1``."""

    def shiftIn() -> None:
        """Use G0."""

    def shiftOut() -> None:
        """Use G1."""

    def singleShift2() -> None:
        """Use G2 for one character."""

    def singleShift3() -> None:
        """Use G3 for one character."""

    def selectGraphicRendition(*attributes: int | str) -> None:
        """Set character attributes (``BOLD``, colours as ``30 + colour``...; ``NORMAL`` resets)."""

    def horizontalTabulationSet() -> None:
        """Set a tab stop at the cursor."""

    def tabulationClear() -> None:
        """Clear the tab stop at the cursor."""

    def tabulationClearAll() -> None:
        """Clear all tab stops."""

    def doubleHeightLine(top: bool = True) -> None:
        """Make the line (top or bottom half of) a double-height line."""

    def singleWidthLine() -> None:
        """Make the line single width."""

    def doubleWidthLine() -> None:
        """Make the line double width."""

    def eraseToLineEnd() -> None:
        """Erase from the cursor to the end of the line."""

    def eraseToLineBeginning() -> None:
        """Erase from the start of the line to the cursor."""

    def eraseLine() -> None:
        """Erase the line."""

    def eraseToDisplayEnd() -> None:
        """Erase from the cursor to the end of the screen."""

    def eraseToDisplayBeginning() -> None:
        """Erase from the start of the screen to the cursor."""

    def eraseDisplay() -> None:
        """Erase the screen."""

    def deleteCharacter(n: int = 1) -> None:
        """Delete ``n`` characters at the cursor, pulling the rest of the line left."""

    def insertLine(n: int = 1) -> None:
        """Insert ``n`` blank lines at the cursor line."""

    def deleteLine(n: int = 1) -> None:
        """Delete ``n`` lines from the cursor line."""

    def reportCursorPosition() -> Any:
        """The cursor position ``(column, line)`` (a Deferred on a remote terminal)."""

    def reset() -> None:
        """Reset the terminal."""

    def unhandledControlSequence(seq: bytes) -> None:
        """A control sequence the terminal does not interpret."""


class modes:
    """ECMA-48 modes."""

    KEYBOARD_ACTION = KAM = 2
    #: Set: typed characters push the rest of the line right.
    INSERTION_REPLACEMENT = IRM = 4
    #: Set: LF also returns to the first column.
    LINEFEED_NEWLINE = LNM = 20


class privateModes:
    """DEC private modes (``CSI ? n h``)."""

    ERROR = 0
    CURSOR_KEY = 1
    ANSI_VT52 = 2
    COLUMN = 3
    SCROLL = 4
    SCREEN = 5
    ORIGIN = 6
    AUTO_WRAP = 7
    AUTO_REPEAT = 8
    PRINTER_FORM_FEED = 18
    PRINTER_EXTENT = 19
    #: Reset hides the cursor.
    CURSOR_MODE = 25
    #: xterm's alternate screen buffer.
    ALTERNATE_SCREEN = 1049
    #: xterm's bracketed paste: pastes arrive between ``CSI 200~`` and ``CSI 201~``.
    BRACKETED_PASTE = 2004


CS_US = b"CS_US"
CS_UK = b"CS_UK"
CS_DRAWING = b"CS_DRAWING"
CS_ALTERNATE = b"CS_ALTERNATE"
CS_ALTERNATE_SPECIAL = b"CS_ALTERNATE_SPECIAL"
G0 = b"G0"
G1 = b"G1"
G2 = b"G2"
G3 = b"G3"

NORMAL = 0
BOLD = 1
UNDERLINE = 4
BLINK = 5
REVERSE_VIDEO = 7

_CHARSET_CODES = {
    CS_UK: b"A",
    CS_US: b"B",
    CS_DRAWING: b"0",
    CS_ALTERNATE: b"1",
    CS_ALTERNATE_SPECIAL: b"2",
}
_UTF8_CHAR = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}|.", re.S
)


class Vector:
    """A mutable ``(x, y)``."""

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class _Unread:
    """
    What one end of a terminal has read but not yet handed on: bytes not parsed yet and
    events not delivered yet. Bytes are parsed a slice at a time, as events are wanted, so
    a turn that wants ``count`` events parses at most ``count`` slices (one, unless the slices
    hold a long paste or long sequences), however much was read.

    :param parser: the stream parser for this direction.
    """

    __slots__ = ("_at", "_bytes", "_events", "_parser")

    #: Bytes parsed at a time.
    chunk = 4096

    def __init__(self, parser: KeyboardParser | ScreenParser) -> None:
        self._parser = parser
        self._bytes = b""
        self._at = 0
        self._events: deque[Any] = deque()

    def __bool__(self) -> bool:
        return bool(self._events) or self._at < len(self._bytes)

    def add(self, data: bytes) -> None:
        # Bytes arrive here while earlier ones wait only when the input was paused too late
        # to stop them, so joining them copies little.
        self._bytes = self._bytes[self._at :] + data
        self._at = 0

    def take(self, count: int) -> list[Any]:
        """Up to ``count`` events, in order.

        :raises TerminalProtocolError: the bytes broke the parser's limits.
        """
        events, data, at = self._events, self._bytes, self._at
        for _ in range(count):
            if len(events) >= count or at >= len(data):
                break
            piece = data[at : at + self.chunk]
            at += len(piece)
            self._at = at
            events.extend(self._parser.receiveData(piece))
        if len(events) <= count:
            batch = list(events)
            events.clear()
            return batch
        popleft = events.popleft
        return [popleft() for _ in range(count)]

    def clear(self) -> None:
        self._bytes = b""
        self._at = 0
        self._events.clear()


class _PacedTerminal(protocol.Protocol):
    """
    Reading paced over turns, for both ends of a terminal: each turn takes at most
    ``_budget()`` events from what was read and gives them to ``_deliver``, which says whether
    the other side is still there; the rest waits, the input paused, for the next turn.
    """

    _log = Logger()
    reactor: Any = None
    _deliver: Callable[[list[Any]], bool]
    _budget: Callable[[], int]
    #: What the log calls this end when its input breaks the parser.
    _end = "terminal"

    def _startReading(self, parser: KeyboardParser | ScreenParser) -> None:
        self._unread = _Unread(parser)
        self._turns = Turns(self._handleEvents, self._pauseInput)

    def dataReceived(self, data: bytes) -> None:
        self._unread.add(data)
        if not self._turns.waiting:
            self._handleEvents()

    def _handleEvents(self) -> None:
        unread = self._unread
        try:
            events = unread.take(self._budget())
        except TerminalProtocolError as e:
            self._log.info("closing a {end}: {reason}", end=self._end, reason=str(e))
            unread.clear()
            self.transport.loseConnection()
            return
        connected = self._deliver(events)
        if unread:
            if connected:
                self._turns.later(self.reactor)
            else:
                unread.clear()

    def _pauseInput(self, paused: bool) -> None:
        pauseInput(self.transport, paused)

    def _stopReading(self) -> None:
        self._turns.cancel()
        self._unread.clear()


def _newlines(data: bytes) -> bytes:
    if b"\n" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


@implementer(ITerminalTransport)
class ServerProtocol(_PacedTerminal):
    """
    The program's end of a terminal: parses keys for ``terminalProtocol`` (made by
    ``protocolFactory(*a, **kw)`` on connection) and implements :class:`ITerminalTransport`
    by writing VT102 control functions. ``\\n`` written is sent as CR LF.

    :ivar maxKeystrokesPerTurn: keystrokes (a paste, a cursor report or an unhandled
        sequence counts as one) handed to ``terminalProtocol`` per turn of the reactor: the
        rest of a read waits, the transport's input paused, for the next turn, so one
        client's flood cannot stall the other connections.
    :ivar reactor: the reactor that runs the later turns (``None``: the global one).
    """

    _log = Logger()
    protocolFactory: Callable[..., Any] | None = None
    terminalProtocol: Any = None
    factory: Any = None
    maxKeystrokesPerTurn = 64
    reactor: Any = None
    TAB = b"\t"
    BACKSPACE = b"\x7f"
    lastWrite = b""

    UP_ARROW = keyConstant("UP_ARROW")
    DOWN_ARROW = keyConstant("DOWN_ARROW")
    RIGHT_ARROW = keyConstant("RIGHT_ARROW")
    LEFT_ARROW = keyConstant("LEFT_ARROW")
    HOME = keyConstant("HOME")
    INSERT = keyConstant("INSERT")
    DELETE = keyConstant("DELETE")
    END = keyConstant("END")
    PGUP = keyConstant("PGUP")
    PGDN = keyConstant("PGDN")
    NUMPAD_MIDDLE = keyConstant("NUMPAD_MIDDLE")
    F1 = keyConstant("F1")
    F2 = keyConstant("F2")
    F3 = keyConstant("F3")
    F4 = keyConstant("F4")
    F5 = keyConstant("F5")
    F6 = keyConstant("F6")
    F7 = keyConstant("F7")
    F8 = keyConstant("F8")
    F9 = keyConstant("F9")
    F10 = keyConstant("F10")
    F11 = keyConstant("F11")
    F12 = keyConstant("F12")
    ALT = keyConstant("ALT")
    SHIFT = keyConstant("SHIFT")
    CONTROL = keyConstant("CONTROL")

    def __init__(self, protocolFactory: Callable[..., Any] | None = None, *a: Any, **kw: Any):
        if protocolFactory is not None:
            self.protocolFactory = protocolFactory
        self.protocolArgs = a
        self.protocolKwArgs = kw
        self._startReading(KeyboardParser())
        self._cursorReports: list[defer.Deferred[tuple[int, int]]] = []
        self.termSize = Vector(80, 24)
        self.cursorPos = Vector(0, 0)
        self._savedCursorPos: Vector | None = None

    def connectionMade(self) -> None:
        if self.protocolFactory is not None:
            self.terminalProtocol = self.protocolFactory(*self.protocolArgs, **self.protocolKwArgs)
            if self.factory is not None:
                self.terminalProtocol.factory = self.factory
            self.terminalProtocol.makeConnection(self)

    def _budget(self) -> int:
        return self.maxKeystrokesPerTurn

    def _deliver(self, events: list[Any]) -> bool:
        """Hand keys to the terminal protocol; ``False`` once it is gone."""
        for event in events:
            handler = self.terminalProtocol
            if handler is None:
                return False
            if type(event) is Keystroke:
                handler.keystrokeReceived(event.keyID, event.modifier)
            elif isinstance(event, Paste):
                paste = getattr(handler, "pasteReceived", None)
                if paste is not None:
                    paste(event.data)
                else:
                    for char in _UTF8_CHAR.findall(event.data):
                        handler.keystrokeReceived(char, None)
            elif isinstance(event, CursorPosition):
                if self._cursorReports:
                    self._cursorReports.pop(0).callback((event.column, event.line))
                else:
                    self.unhandledControlSequence(
                        b"\x1b[%d;%dR" % (event.line + 1, event.column + 1)
                    )
            elif isinstance(event, Unhandled):
                self.unhandledControlSequence(event.sequence)
        return self.terminalProtocol is not None

    def unhandledControlSequence(self, seq: bytes) -> None:
        if self.terminalProtocol is not None:
            self.terminalProtocol.unhandledControlSequence(seq)

    # -- ITransport ----------------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        if not data:
            return
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.lastWrite = data
        self.transport.write(_newlines(data))

    def writeSequence(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        self.reset()
        self.transport.loseConnection()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._stopReading()
        reports, self._cursorReports = self._cursorReports, []
        for d in reports:
            d.errback(reason if reason is not None else Failure(ConnectionError("terminal gone")))
        proto, self.terminalProtocol = self.terminalProtocol, None
        if proto is not None:
            proto.connectionLost(reason)

    # -- ITerminalTransport --------------------------------------------------------------

    def _raw(self, data: bytes) -> None:
        self.lastWrite = data
        self.transport.write(data)

    def _csi(self, body: bytes) -> None:
        self._raw(b"\x1b[" + body)

    def cursorUp(self, n: int = 1) -> None:
        self.cursorPos.y = max(self.cursorPos.y - n, 0)
        self._csi(b"%dA" % n)

    def cursorDown(self, n: int = 1) -> None:
        self.cursorPos.y = min(self.cursorPos.y + n, self.termSize.y - 1)
        self._csi(b"%dB" % n)

    def cursorForward(self, n: int = 1) -> None:
        self.cursorPos.x = min(self.cursorPos.x + n, self.termSize.x - 1)
        self._csi(b"%dC" % n)

    def cursorBackward(self, n: int = 1) -> None:
        self.cursorPos.x = max(self.cursorPos.x - n, 0)
        self._csi(b"%dD" % n)

    def cursorPosition(self, column: int, line: int) -> None:
        self.cursorPos.x, self.cursorPos.y = column, line
        self._csi(b"%d;%dH" % (line + 1, column + 1))

    def cursorHome(self) -> None:
        self.cursorPos.x = self.cursorPos.y = 0
        self._csi(b"H")

    def index(self) -> None:
        self.cursorPos.y = min(self.cursorPos.y + 1, self.termSize.y - 1)
        self._raw(b"\x1bD")

    def reverseIndex(self) -> None:
        self.cursorPos.y = max(self.cursorPos.y - 1, 0)
        self._raw(b"\x1bM")

    def nextLine(self) -> None:
        self.cursorPos.x = 0
        self.cursorPos.y = min(self.cursorPos.y + 1, self.termSize.y - 1)
        self._raw(b"\r\n")

    def saveCursor(self) -> None:
        self._savedCursorPos = Vector(self.cursorPos.x, self.cursorPos.y)
        self._raw(b"\x1b7")

    def restoreCursor(self) -> None:
        saved, self._savedCursorPos = self._savedCursorPos, None
        self.cursorPos = saved if saved is not None else Vector(0, 0)
        self._raw(b"\x1b8")

    @staticmethod
    def _modeList(modes: Iterable[int]) -> bytes:
        return b";".join(b"%d" % m for m in modes)

    def setModes(self, modes: Iterable[int]) -> None:
        self._csi(self._modeList(modes) + b"h")

    def resetModes(self, modes: Iterable[int]) -> None:
        self._csi(self._modeList(modes) + b"l")

    def setPrivateModes(self, modes: Iterable[int]) -> None:
        self._csi(b"?" + self._modeList(modes) + b"h")

    def resetPrivateModes(self, modes: Iterable[int]) -> None:
        self._csi(b"?" + self._modeList(modes) + b"l")

    def applicationKeypadMode(self) -> None:
        self._raw(b"\x1b=")

    def numericKeypadMode(self) -> None:
        self._raw(b"\x1b>")

    def selectCharacterSet(self, charSet: bytes, which: bytes) -> None:
        """:raises ValueError: ``which`` is not G0/G1 or ``charSet`` is unknown."""
        if which not in (G0, G1):
            raise ValueError("which must be G0 or G1")
        code = _CHARSET_CODES.get(charSet)
        if code is None:
            raise ValueError("unknown character set")
        self._raw(b"\x1b" + (b"(" if which == G0 else b")") + code)

    def shiftIn(self) -> None:
        self._raw(b"\x0f")

    def shiftOut(self) -> None:
        self._raw(b"\x0e")

    def singleShift2(self) -> None:
        self._raw(b"\x1bN")

    def singleShift3(self) -> None:
        self._raw(b"\x1bO")

    def selectGraphicRendition(self, *attributes: int | str | bytes) -> None:
        parts = [a if isinstance(a, bytes) else str(a).encode("ascii") for a in attributes]
        self._csi(b";".join(parts) + b"m")

    def horizontalTabulationSet(self) -> None:
        self._raw(b"\x1bH")

    def tabulationClear(self) -> None:
        self._csi(b"q")

    def tabulationClearAll(self) -> None:
        self._csi(b"3q")

    def doubleHeightLine(self, top: bool = True) -> None:
        self._raw(b"\x1b#3" if top else b"\x1b#4")

    def singleWidthLine(self) -> None:
        self._raw(b"\x1b#5")

    def doubleWidthLine(self) -> None:
        self._raw(b"\x1b#6")

    def eraseToLineEnd(self) -> None:
        self._csi(b"K")

    def eraseToLineBeginning(self) -> None:
        self._csi(b"1K")

    def eraseLine(self) -> None:
        self._csi(b"2K")

    def eraseToDisplayEnd(self) -> None:
        self._csi(b"J")

    def eraseToDisplayBeginning(self) -> None:
        self._csi(b"1J")

    def eraseDisplay(self) -> None:
        self._csi(b"2J")

    def deleteCharacter(self, n: int = 1) -> None:
        self._csi(b"%dP" % n)

    def insertCharacter(self, n: int = 1) -> None:
        self._csi(b"%d@" % n)

    def insertLine(self, n: int = 1) -> None:
        self._csi(b"%dL" % n)

    def deleteLine(self, n: int = 1) -> None:
        self._csi(b"%dM" % n)

    def setScrollRegion(self, first: int | None = None, last: int | None = None) -> None:
        top = b"" if first is None else b"%d" % first
        bottom = b"" if last is None else b"%d" % last
        self._csi(top + b";" + bottom + b"r")

    def resetScrollRegion(self) -> None:
        self.setScrollRegion()

    def reportCursorPosition(self) -> defer.Deferred[tuple[int, int]]:
        """Ask the terminal where the cursor is; fires with ``(column, line)``."""
        d: defer.Deferred[tuple[int, int]] = defer.Deferred()
        self._cursorReports.append(d)
        self._csi(b"6n")
        return d

    def reset(self) -> None:
        self.cursorPos = Vector(0, 0)
        self._savedCursorPos = None
        self._raw(b"\x1bc")


class ClientProtocol(_PacedTerminal):
    """
    The terminal's end: parses what a program writes and calls the matching
    :class:`ITerminalTransport` methods of ``terminal`` (made by ``terminalFactory(*a, **kw)``
    on connection). Writing to this protocol sends keys to the program.

    :ivar maxEventsPerTurn: runs of text and control functions applied to ``terminal`` per
        turn of the reactor; the rest of a read waits, the input paused, for the next turn.
    :ivar reactor: the reactor that runs the later turns (``None``: the global one).
    """

    _end = "terminal client"
    terminalFactory: Callable[..., Any] | None = None
    terminal: Any = None
    factory: Any = None
    maxEventsPerTurn = 64
    reactor: Any = None

    def __init__(self, terminalFactory: Callable[..., Any] | None = None, *a: Any, **kw: Any):
        if terminalFactory is not None:
            self.terminalFactory = terminalFactory
        self.terminalArgs = a
        self.terminalKwArgs = kw
        self._startReading(ScreenParser())

    def connectionMade(self) -> None:
        if self.terminalFactory is not None:
            self.terminal = self.terminalFactory(*self.terminalArgs, **self.terminalKwArgs)
            self.terminal.factory = self.factory
            self.terminal.makeConnection(self)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._stopReading()
        terminal, self.terminal = self.terminal, None
        if terminal is not None:
            terminal.connectionLost(reason)

    def write(self, data: bytes) -> None:
        """Send keys to the program."""
        self.transport.write(data)

    def _budget(self) -> int:
        return self.maxEventsPerTurn

    def _deliver(self, events: list[Any]) -> bool:
        """Apply text and control functions to the terminal; ``False`` once it is gone."""
        for event in events:
            terminal = self.terminal
            if terminal is None:
                return False
            if isinstance(event, Text):
                terminal.write(event.data)
            elif isinstance(event, Call):
                if event.name == "reportCursorPosition":
                    self._report(terminal.reportCursorPosition())
                else:
                    getattr(terminal, event.name)(*event.args)
            elif isinstance(event, Unhandled):
                terminal.unhandledControlSequence(event.sequence)
        return self.terminal is not None

    def _report(self, position: Any) -> None:
        def send(pos: tuple[int, int]) -> None:
            if self.transport is not None:
                self.transport.write(b"\x1b[%d;%dR" % (pos[1] + 1, pos[0] + 1))

        if isinstance(position, defer.Deferred):
            position.addCallback(send)
        else:
            send(position)
