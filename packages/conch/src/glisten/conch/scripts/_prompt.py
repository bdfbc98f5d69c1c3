"""
The ``cftp>`` prompt on a terminal: line editing and history from
:class:`glisten.conch.recvline.HistoricRecvLine`, and the terminal modes around it.

The terminal is in character-at-a-time mode without echo or signals: while a line is being
edited, Control-C cancels it and Control-D on an empty line ends the session; while a command
runs, Control-C interrupts it (the prompt's ``onInterrupt``) and what else is typed waits,
unechoed, for the next prompt. Output post-processing (``\\n`` as CR LF) stays on, so
commands write plain lines.
"""

from __future__ import annotations

import os
import termios
from collections.abc import Callable
from typing import Any

from glisten.conch import recvline
from glisten.conch.insults import insults
from glisten.internet.defer import maybeDeferred

__all__: list[str] = []

CONTROL_C = b"\x03"
CONTROL_D = b"\x04"
CONTROL_K = b"\x0b"
CONTROL_U = b"\x15"
CONTROL_W = b"\x17"


class CommandPrompt(recvline.HistoricRecvLine):
    """
    Edits one command line at a time, when :meth:`showPrompt` asks for it.

    Until then (and after each line, while its command runs) keys are kept and replayed at
    the next prompt, as typed ahead.

    :ivar onLine: called with each line entered, or ``None`` when the user ends the session.
    :ivar onEnd: called once the terminal is gone.
    :ivar onInterrupt: called for Control-C while a command runs (not at the prompt).
    :ivar onComplete: Tab: called with the line up to the cursor; its (perhaps deferred)
        result is ``(text to insert at the cursor, names to show)``; ``None``: Tab does
        nothing.
    """

    ps = (b"cftp> ", b"cftp> ")

    def __init__(
        self,
        onLine: Callable[[str | None], None],
        onEnd: Callable[[], None],
        onInterrupt: Callable[[], None] = lambda: None,
        onComplete: Callable[[str], Any] | None = None,
    ) -> None:
        self.onLine = onLine
        self.onEnd = onEnd
        self.onInterrupt = onInterrupt
        self.onComplete = onComplete
        self._editing = False
        self._completing = False
        self._typedAhead: list[tuple[bytes, bytes | None]] = []

    def connectionMade(self) -> None:
        super().connectionMade()
        self.keyHandlers[CONTROL_C] = self.handle_INT
        self.keyHandlers[CONTROL_D] = self.handle_EOF
        self.keyHandlers[CONTROL_U] = self.handle_KILL
        self.keyHandlers[CONTROL_K] = self.handle_KILL_END
        self.keyHandlers[CONTROL_W] = self.handle_KILL_WORD

    def initializeScreen(self) -> None:
        """Leave the screen as it is: the prompt appears when a line is wanted."""

    def showPrompt(self) -> None:
        """Show the prompt and edit a line; keys typed ahead come first."""
        self._editing = True
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.historyPosition = len(self.historyLines)
        self.terminal.write(self.ps[0])
        self.setInsertMode()
        self._replayTypedAhead()

    def _replayTypedAhead(self) -> None:
        typedAhead, self._typedAhead = self._typedAhead, []
        for index, (keyID, modifier) in enumerate(typedAhead):
            if not self._editing or self._completing:
                # A line was entered (the rest waits for the prompt after its command), or
                # a completion is on its way (the rest waits for it).
                self._typedAhead = typedAhead[index:] + self._typedAhead
                break
            super().keystrokeReceived(keyID, modifier)

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if self._completing:
            if len(self._typedAhead) < 4096:
                self._typedAhead.append((keyID, modifier))
        elif self._editing:
            super().keystrokeReceived(keyID, modifier)
        elif keyID == CONTROL_C:
            self.onInterrupt()
        elif len(self._typedAhead) < 4096:
            self._typedAhead.append((keyID, modifier))

    def _finishLine(self, line: str | None) -> None:
        self._editing = False
        # Insert mode off, so command output (and the shell after us) overwrite as usual.
        self.terminal.resetModes([insults.modes.IRM])
        self.onLine(line)

    def lineReceived(self, line: bytes) -> None:
        self._finishLine(line.decode("utf-8", "replace"))

    def handle_INT(self) -> None:
        """Control-C: drop the line and start a new one."""
        self.terminal.write(b"^C")
        self.terminal.nextLine()
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.historyPosition = len(self.historyLines)
        self.terminal.write(self.ps[0])

    def handle_EOF(self) -> None:
        """Control-D: the end on an empty line, else delete the character at the cursor."""
        if self.lineBuffer:
            self.handle_DELETE()
            return
        self.terminal.nextLine()
        self._finishLine(None)

    def handle_KILL(self) -> None:
        """Control-U: delete from the start of the line to the cursor."""
        while self.lineBufferIndex:
            self.handle_BACKSPACE()

    def handle_TAB(self) -> None:
        """Tab: complete the word before the cursor (keys typed meanwhile wait)."""
        if self.onComplete is None:
            return
        before = b"".join(self.lineBuffer[: self.lineBufferIndex]).decode("utf-8", "replace")
        self._completing = True
        d = maybeDeferred(self.onComplete, before)
        d.addErrback(lambda failure: ("", []))
        d.addCallback(self._completed)

    def _completed(self, result: tuple[str, list[str]]) -> None:
        self._completing = False
        if not self._editing or self.terminal is None:
            return
        insert, names = result
        if insert:
            for ch in insults._UTF8_CHAR.findall(insert.encode("utf-8")):
                self.characterReceived(ch, False)
        elif len(names) > 1:
            # Ambiguous: show the names, then the prompt and the line again.
            self.terminal.nextLine()
            self.terminal.write("  ".join(names).encode("utf-8", "replace"))
            self.terminal.nextLine()
            self.drawInputLine()
            back = len(self.lineBuffer) - self.lineBufferIndex
            if back:
                self.terminal.cursorBackward(back)
        self._replayTypedAhead()

    def handle_KILL_END(self) -> None:
        """Control-K: delete from the cursor to the end of the line."""
        while self.lineBufferIndex < len(self.lineBuffer):
            self.handle_DELETE()

    def handle_KILL_WORD(self) -> None:
        """Control-W: delete the word before the cursor (and the blanks after it)."""
        while self.lineBufferIndex and self.lineBuffer[self.lineBufferIndex - 1] == b" ":
            self.handle_BACKSPACE()
        while self.lineBufferIndex and self.lineBuffer[self.lineBufferIndex - 1] != b" ":
            self.handle_BACKSPACE()

    def connectionLost(self, reason: Any = None) -> None:
        if self._editing:
            self._editing = False
            self.onLine(None)
        self.onEnd()


class TerminalModes:
    """
    Puts the terminal on ``fd`` into character-at-a-time mode without echo or signals for
    the session, and back to how it was found.
    """

    def __init__(self, fd: int, output: int) -> None:
        """
        :param output: the descriptor the prompt is written to (for the last mode reset).
        :raises termios.error: ``fd`` is not a terminal.
        """
        self._fd = fd
        self._output = output
        self._saved: list[Any] | None = termios.tcgetattr(fd)
        raw = termios.tcgetattr(fd)
        raw[0] &= ~(termios.IXON | termios.ICRNL | termios.INLCR | termios.IGNCR)
        raw[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        raw[6] = list(raw[6])
        raw[6][termios.VMIN] = 1
        raw[6][termios.VTIME] = 0
        self._raw = raw
        # TCSADRAIN: keys typed ahead are kept.
        termios.tcsetattr(fd, termios.TCSADRAIN, raw)

    def restore(self) -> None:
        """Back to the modes found (insert mode off); later calls do nothing."""
        saved, self._saved = self._saved, None
        if saved is not None:
            try:
                os.write(self._output, b"\x1b[4l")
                termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)
            except (OSError, termios.error):
                pass
