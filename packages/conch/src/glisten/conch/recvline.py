"""
Line editing on a terminal, under Twisted's names: :class:`RecvLine` (cursor keys, Home/End,
Backspace/Delete, Insert toggling insert and overwrite, Tab) and :class:`HistoricRecvLine`
(adds history on the Up and Down arrows).

A keystroke is a whole character (UTF-8 characters included), so the cursor stays right on
non-ASCII input; Control-A/Control-E also move to the start/end of the line, Control-H also
deletes backwards.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from zope.interface import classImplements

from glisten.conch.insults import helper, insults
from glisten.logger import Logger

__all__ = ["HistoricRecvLine", "LocalTerminalBufferMixin", "RecvLine", "TransportSequence"]

_PRINTABLE = frozenset(c.encode("ascii") for c in string.printable if c not in "\t\n\r\x0b\x0c")


def _printable(keyID: bytes) -> bool:
    if keyID in _PRINTABLE:
        return True
    if len(keyID) < 2 or keyID.startswith(b"["):
        return False
    try:
        return keyID.decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False


class RecvLine(insults.TerminalProtocol):
    """
    Reads lines with editing, shows the prompt ``ps[pn]`` and hands finished lines to
    :meth:`lineReceived`.

    :ivar lineBuffer: the characters of the line being edited (each a ``bytes``).
    :ivar lineBufferIndex: the cursor's index in ``lineBuffer``.
    :ivar mode: ``"insert"`` or ``"typeover"``.
    """

    _log = Logger()
    width = 80
    height = 24
    TABSTOP = 4
    ps: tuple[bytes, bytes] = (b">>> ", b"... ")
    pn = 0

    def connectionMade(self) -> None:
        self.lineBuffer: list[bytes] = []
        self.lineBufferIndex = 0
        self.mode = "insert"
        t = self.terminal
        self.keyHandlers: dict[bytes, Callable[[], Any]] = {
            t.LEFT_ARROW: self.handle_LEFT,
            t.RIGHT_ARROW: self.handle_RIGHT,
            t.TAB: self.handle_TAB,
            b"\r": self.handle_RETURN,
            b"\n": self.handle_RETURN,
            t.BACKSPACE: self.handle_BACKSPACE,
            b"\x08": self.handle_BACKSPACE,
            t.DELETE: self.handle_DELETE,
            t.INSERT: self.handle_INSERT,
            t.HOME: self.handle_HOME,
            b"\x01": self.handle_HOME,
            t.END: self.handle_END,
            b"\x05": self.handle_END,
        }
        self.initializeScreen()

    def initializeScreen(self) -> None:
        """Clear the terminal and show the prompt."""
        self.terminal.reset()
        self.terminal.write(self.ps[self.pn])
        self.setInsertMode()

    def currentLineBuffer(self) -> tuple[bytes, bytes]:
        """The line split at the cursor."""
        s = b"".join(self.lineBuffer)
        cut = len(b"".join(self.lineBuffer[: self.lineBufferIndex]))
        return s[:cut], s[cut:]

    def setInsertMode(self) -> None:
        self.mode = "insert"
        self.terminal.setModes([insults.modes.IRM])

    def setTypeoverMode(self) -> None:
        self.mode = "typeover"
        self.terminal.resetModes([insults.modes.IRM])

    def drawInputLine(self) -> None:
        """Write the prompt and the line (after the screen was cleared)."""
        self.terminal.write(self.ps[self.pn] + b"".join(self.lineBuffer))

    def terminalSize(self, width: int, height: int) -> None:
        self.terminal.eraseDisplay()
        self.terminal.cursorHome()
        self.width = width
        self.height = height
        self.drawInputLine()

    def unhandledControlSequence(self, seq: bytes) -> None:
        pass

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        handler = self.keyHandlers.get(keyID)
        if handler is not None:
            handler()
        elif _printable(keyID):
            self.characterReceived(keyID, False)
        else:
            self._log.debug("unhandled key {key!r}", key=keyID)

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:
        """A printable character: put it into the line at the cursor."""
        self._putCharacter(ch)
        self.terminal.write(ch)

    def _putCharacter(self, ch: bytes) -> None:
        """Insert (or, in typeover mode, overwrite) at the cursor and step past it."""
        if self.mode == "insert":
            self.lineBuffer.insert(self.lineBufferIndex, ch)
        else:
            self.lineBuffer[self.lineBufferIndex : self.lineBufferIndex + 1] = [ch]
        self.lineBufferIndex += 1

    def handle_TAB(self) -> None:
        n = self.TABSTOP - (len(self.lineBuffer) % self.TABSTOP)
        self.terminal.cursorForward(n)
        self.lineBufferIndex += n
        self.lineBuffer.extend([b" "] * n)

    def handle_LEFT(self) -> None:
        if self.lineBufferIndex > 0:
            self.lineBufferIndex -= 1
            self.terminal.cursorBackward()

    def handle_RIGHT(self) -> None:
        if self.lineBufferIndex < len(self.lineBuffer):
            self.lineBufferIndex += 1
            self.terminal.cursorForward()

    def handle_HOME(self) -> None:
        if self.lineBufferIndex:
            self.terminal.cursorBackward(self.lineBufferIndex)
            self.lineBufferIndex = 0

    def handle_END(self) -> None:
        offset = len(self.lineBuffer) - self.lineBufferIndex
        if offset:
            self.terminal.cursorForward(offset)
            self.lineBufferIndex = len(self.lineBuffer)

    def handle_BACKSPACE(self) -> None:
        if self.lineBufferIndex > 0:
            self.lineBufferIndex -= 1
            del self.lineBuffer[self.lineBufferIndex]
            self.terminal.cursorBackward()
            self.terminal.deleteCharacter()

    def handle_DELETE(self) -> None:
        if self.lineBufferIndex < len(self.lineBuffer):
            del self.lineBuffer[self.lineBufferIndex]
            self.terminal.deleteCharacter()

    def handle_INSERT(self) -> None:
        if self.mode == "typeover":
            self.setInsertMode()
        else:
            self.setTypeoverMode()

    def handle_RETURN(self) -> None:
        line = b"".join(self.lineBuffer)
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.terminal.nextLine()
        self.lineReceived(line)

    def lineReceived(self, line: bytes) -> None:
        """A finished line (without its end); override."""


class HistoricRecvLine(RecvLine):
    """
    :class:`RecvLine` with a history of entered lines on Up/Down.

    :ivar historyLines: entered lines, oldest first (at most ``historyLength``).
    :ivar historyPosition: the index being shown; ``len(historyLines)`` is the new line.
    """

    historyLength = 1000

    def connectionMade(self) -> None:
        RecvLine.connectionMade(self)
        self.historyLines: list[bytes] = []
        self.historyPosition = 0
        t = self.terminal
        self.keyHandlers.update({t.UP_ARROW: self.handle_UP, t.DOWN_ARROW: self.handle_DOWN})

    def currentHistoryBuffer(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """History split at the current position."""
        b = tuple(self.historyLines)
        return b[: self.historyPosition], b[self.historyPosition :]

    def _deliverBuffer(self, buf: bytes) -> None:
        chars = insults._UTF8_CHAR.findall(buf)
        for i, ch in enumerate(chars):
            self.characterReceived(ch, i < len(chars) - 1)

    def _replaceLine(self, position: int) -> None:
        self.handle_HOME()
        self.terminal.eraseToLineEnd()
        self.historyPosition = position
        self.lineBuffer = []
        self.lineBufferIndex = 0
        if position < len(self.historyLines):
            self._deliverBuffer(self.historyLines[position])

    def handle_UP(self) -> None:
        if self.lineBuffer and self.historyPosition == len(self.historyLines):
            self._remember(b"".join(self.lineBuffer))
            self.historyPosition = len(self.historyLines) - 1
        if self.historyPosition > 0:
            self._replaceLine(self.historyPosition - 1)

    def handle_DOWN(self) -> None:
        if self.historyPosition < len(self.historyLines):
            self._replaceLine(self.historyPosition + 1)

    def _remember(self, line: bytes) -> None:
        self.historyLines.append(line)
        del self.historyLines[: -self.historyLength]

    def handle_RETURN(self) -> None:
        if self.lineBuffer:
            self._remember(b"".join(self.lineBuffer))
        self.historyPosition = len(self.historyLines)
        RecvLine.handle_RETURN(self)


def _forward(name: str) -> Callable[..., Any]:
    def forward(self: TransportSequence, *args: Any, **kwargs: Any) -> Any:
        results = [getattr(transport, name)(*args, **kwargs) for transport in self.transports]
        return results[0]

    forward.__name__ = name
    forward.__doc__ = f"Call ``{name}`` on every transport; the first one's result counts."
    return forward


class TransportSequence:
    """
    An :class:`~glisten.conch.insults.insults.ITerminalTransport` that does everything on
    several terminals at once (say, the real one and a
    :class:`~glisten.conch.insults.helper.TerminalBuffer` copy).

    The key constants are :class:`~glisten.conch.insults.insults.ServerProtocol`'s, so line
    editing on top of it recognises the keys that protocol reports.
    """

    TAB = insults.ServerProtocol.TAB
    BACKSPACE = insults.ServerProtocol.BACKSPACE

    def __init__(self, *transports: Any) -> None:
        """:raises ValueError: no transport given."""
        if not transports:
            raise ValueError("TransportSequence needs at least one transport")
        self.transports = transports


for _name in insults.FUNCTION_KEYS:
    setattr(TransportSequence, _name[1:-1].decode("ascii"), _name)
for _name in sorted(insults.ITerminalTransport.names(all=True)):
    setattr(TransportSequence, _name, _forward(_name))
# Declared after the loop: the methods are made from the interface itself, which the type
# checker's zope plugin cannot see.
classImplements(TransportSequence, insults.ITerminalTransport)  # type: ignore[misc]


class LocalTerminalBufferMixin:
    """
    Mix into a :class:`RecvLine` subclass (first) to keep what the terminal shows in
    ``self.terminalCopy``, a :class:`~glisten.conch.insults.helper.TerminalBuffer`;
    ``str(protocol)`` is that screen.
    """

    terminalCopy: helper.TerminalBuffer

    def makeConnection(self, transport: Any) -> None:
        self.terminalCopy = helper.TerminalBuffer()
        self.terminalCopy.connectionMade()
        super().makeConnection(TransportSequence(transport, self.terminalCopy))  # type: ignore[misc]

    def __str__(self) -> str:
        return str(self.terminalCopy)
