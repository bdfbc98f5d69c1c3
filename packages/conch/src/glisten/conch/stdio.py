"""
A terminal program on the local terminal, as Twisted's ``conch.stdio``:
``python -m glisten.conch.stdio`` opens a :class:`ConsoleManhole` (a coloured Python prompt
running inside the reactor, so ``await`` works) in the terminal it is started from;
``python -m glisten.conch.stdio package.module.TerminalProtocolClass`` runs another program.

The terminal is put in raw mode for the session and restored afterwards; window resizes
(``SIGWINCH``) reach the program's ``terminalSize``.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import sys
import termios
import tty
from collections.abc import Callable, Sequence
from typing import Any

from glisten.conch.insults import insults
from glisten.conch.manhole import ColoredManhole
from glisten.internet import stdio
from glisten.internet.main import getReactor
from glisten.python import reflect

__all__ = ["ConsoleManhole", "main", "runWithProtocol"]


class ConsoleManhole(ColoredManhole):
    """A :class:`~glisten.conch.manhole.ColoredManhole` whose end stops the reactor."""

    reactor: Any = None

    def handle_QUIT(self) -> None:
        self.terminal.loseConnection()

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        reactor = getReactor(self.reactor)
        if reactor.running:
            reactor.stop()


def _windowSize(fd: int) -> tuple[int, int]:
    """``(columns, rows)`` of the terminal on ``fd`` (80x24 when it will not say)."""
    try:
        rows, columns = struct.unpack("4H", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    except OSError:
        return 80, 24
    return (columns or 80), (rows or 24)


def runWithProtocol(
    klass: Callable[[], Any], reactor: Any = None, stdin: int = 0, stdout: int = 1
) -> None:
    """
    Run the terminal program ``klass()`` on this process's terminal until the reactor stops.

    :param klass: makes the :class:`~glisten.conch.insults.insults.ITerminalProtocol`.
    """
    reactor = getReactor(reactor)
    saved = termios.tcgetattr(stdin)
    tty.setraw(stdin)
    server = insults.ServerProtocol(klass)

    def resized() -> None:
        program = server.terminalProtocol
        if program is not None:
            program.terminalSize(*_windowSize(stdout))

    previous = signal.signal(signal.SIGWINCH, lambda signum, frame: reactor.callFromThread(resized))
    try:
        stdio.StandardIO(server, stdin, stdout, reactor=reactor)
        resized()
        reactor.run()
    finally:
        signal.signal(signal.SIGWINCH, previous)
        termios.tcsetattr(stdin, termios.TCSANOW, saved)
        try:
            os.write(stdout, b"\r\x1bc\r")
        except OSError:
            pass


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: an optional dotted name of the terminal program class to run."""
    args = list(sys.argv[1:] if argv is None else argv)
    klass = reflect.namedAny(args[0]) if args else ConsoleManhole
    runWithProtocol(klass)


if __name__ == "__main__":
    main()
