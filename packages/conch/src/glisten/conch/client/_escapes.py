"""
The escape character of an interactive ``glisten conch`` session, as ``ssh(1)``'s ESCAPE
CHARACTERS: sans-IO, over the bytes typed on the local terminal.

The escape character (``~`` by default) is recognised only as the first byte of the session
or right after a carriage return or newline. The byte after it picks the command:

- ``.`` disconnects, ``B`` sends a BREAK, ``R`` starts a key exchange, ``#`` lists the
  forwarded connections, ``^Z``
  (Control-Z) suspends the client, ``?`` shows the help; none of these bytes reach the server.
- the escape character again sends one escape character;
- anything else is no command: the escape character and that byte are both sent.

``C`` opens a command line: what is typed up to Return is edited here (Backspace, Control-U;
Control-C or Escape gives up) and handed on as :class:`Command`, not sent.

A command leaves the "after a newline" state as it was, so ``~?`` can be followed by ``~.``.
The filter holds the escape character waiting for its command, or one command line of at
most :data:`MAX_COMMAND_LINE` bytes (more are not taken).
"""

from __future__ import annotations

import attrs

__all__ = [
    "DEFAULT_ESCAPE_CHAR",
    "Command",
    "CommandLineOpened",
    "Disconnect",
    "Echo",
    "EscapeFilter",
    "Event",
    "Help",
    "Input",
    "ListConnections",
    "Rekey",
    "SendBreak",
    "Suspend",
    "commandLinePrompt",
    "formatEscapeChar",
    "helpText",
    "parseEscapeChar",
]

#: ``~``, as in ``ssh``.
DEFAULT_ESCAPE_CHAR = 0x7E
#: The longest ``~C`` command line.
MAX_COMMAND_LINE = 1024


@attrs.frozen(slots=True)
class Input:
    """Bytes typed that go to the session unchanged."""

    data: bytes


@attrs.frozen(slots=True)
class CommandLineOpened:
    """``~C``: show the command line's prompt; :class:`Echo` and :class:`Command` follow."""


@attrs.frozen(slots=True)
class Echo:
    """What to show on the terminal for a command line being edited."""

    data: bytes


@attrs.frozen(slots=True)
class Command:
    """A command line entered (``None``: given up with Control-C or Escape)."""

    line: str | None


@attrs.frozen(slots=True)
class Disconnect:
    """``~.``: close the connection."""


@attrs.frozen(slots=True)
class SendBreak:
    """``~B``: send a BREAK (RFC 4335) to the session."""


@attrs.frozen(slots=True)
class Rekey:
    """``~R``: renew the connection's keys now."""


@attrs.frozen(slots=True)
class ListConnections:
    """``~#``: show the open channels (forwarded connections)."""


@attrs.frozen(slots=True)
class Suspend:
    """``~^Z``: stop the client as a shell job (the terminal restored until it goes on)."""


@attrs.frozen(slots=True)
class Help:
    """``~?``: show the supported escape sequences."""


Event = (
    Input
    | Disconnect
    | SendBreak
    | Rekey
    | ListConnections
    | Suspend
    | Help
    | CommandLineOpened
    | Echo
    | Command
)

_COMMANDS: dict[int, Event] = {
    ord("."): Disconnect(),
    ord("B"): SendBreak(),
    ord("R"): Rekey(),
    ord("#"): ListConnections(),
    0x1A: Suspend(),
    ord("?"): Help(),
    ord("C"): CommandLineOpened(),
}
_NEWLINES = frozenset(b"\r\n")


class EscapeFilter:
    """
    Splits typed bytes into what goes to the session and escape commands.

    :param escapeChar: the escape byte, or ``None`` for none (``-e none``): then every byte
        passes through.
    """

    __slots__ = ("_afterNewline", "_escapeChar", "_line", "_pending")

    def __init__(self, escapeChar: int | None = DEFAULT_ESCAPE_CHAR) -> None:
        if escapeChar is not None and not 0 <= escapeChar <= 255:
            raise ValueError("the escape character must be one byte")
        self._escapeChar = escapeChar
        # The session starts as after a newline, as ssh's does.
        self._afterNewline = True
        self._pending = False
        #: The ``~C`` command line being typed (``None``: not in one).
        self._line: bytearray | None = None

    @property
    def escapeChar(self) -> int | None:
        """The escape byte (``None``: escapes are off)."""
        return self._escapeChar

    def receiveData(self, data: bytes) -> list[Event]:
        """
        Bytes typed on the terminal, in order.

        :return: :class:`Input` runs (never empty) and commands, in the order typed.
        """
        escape = self._escapeChar
        if escape is None or not data:
            return [Input(bytes(data))] if data else []
        if not self._pending and self._line is None and escape not in data:
            # The common case: no escape character typed, nothing to look at but the end.
            self._afterNewline = data[-1] in _NEWLINES
            return [Input(bytes(data))]
        events: list[Event] = []
        run = bytearray()
        for byte in data:
            if self._line is not None:
                if run:
                    events.append(Input(bytes(run)))
                    run.clear()
                self._edit(byte, events)
                continue
            if self._pending:
                self._pending = False
                command = _COMMANDS.get(byte)
                if command is not None:
                    if run:
                        events.append(Input(bytes(run)))
                        run.clear()
                    events.append(command)
                    if isinstance(command, CommandLineOpened):
                        self._line = bytearray()
                    continue
                if byte != escape:
                    run.append(escape)
            elif self._afterNewline and byte == escape:
                self._pending = True
                continue
            run.append(byte)
            self._afterNewline = byte in _NEWLINES
        if run:
            events.append(Input(bytes(run)))
        return events

    def _edit(self, byte: int, events: list[Event]) -> None:
        """One byte typed on the command line."""
        line = self._line
        assert line is not None
        if byte in _NEWLINES or byte in (0x03, 0x1B):
            self._line = None
            events.append(Echo(b"\r\n"))
            text = line.decode("utf-8", "replace") if byte in _NEWLINES else None
            events.append(Command(text))
        elif byte in (0x7F, 0x08):
            if line:
                # A whole UTF-8 character goes.
                while len(line) > 1 and line[-1] & 0xC0 == 0x80:
                    del line[-1]
                del line[-1]
                events.append(Echo(b"\b \b"))
        elif byte == 0x15:
            if line:
                events.append(Echo(b"\r\x1b[K" + _PROMPT))
                line.clear()
        elif byte >= 0x20 and len(line) < MAX_COMMAND_LINE:
            line.append(byte)
            events.append(Echo(bytes([byte])))


#: The command line's prompt, as ``ssh``'s.
_PROMPT = b"ssh> "


def commandLinePrompt() -> bytes:
    """What :class:`CommandLineOpened` shows (a fresh line, then the prompt)."""
    return b"\r\n" + _PROMPT


def parseEscapeChar(value: str) -> int | None:
    """
    An ``-e`` argument or ``EscapeChar`` value: ``none``, one character, or ``^X`` for a
    control character.

    :return: the escape byte, ``None`` for ``none``.
    :raises ValueError: none of these.
    """
    if value.lower() == "none":
        return None
    if value.isascii():
        if len(value) == 1:
            return ord(value)
        if len(value) == 2 and value[0] == "^":
            return ord(value[1]) & 0x1F
    raise ValueError("the escape character must be 'none', one character or '^X'")


def formatEscapeChar(escapeChar: int) -> str:
    """The escape byte as the help shows it (``^X`` for control characters)."""
    if escapeChar < 0x20 or escapeChar == 0x7F:
        return "^" + chr(escapeChar ^ 0x40)
    return chr(escapeChar)


def helpText(escapeChar: int) -> bytes:
    """``~?``'s text, lines ended for a terminal in raw mode."""
    e = formatEscapeChar(escapeChar)
    lines = [
        "Supported escape sequences:",
        f" {e}.   - terminate connection",
        f" {e}B   - send a BREAK to the remote system",
        f" {e}C   - open a command line",
        f" {e}R   - request rekey",
        f" {e}#   - list forwarded connections",
        f" {e}^Z  - suspend glisten conch",
        f" {e}?   - this message",
        f" {e}{e}   - send the escape character by typing it twice",
        "(Note that escapes are only recognized immediately after newline.)",
    ]
    return "".join(line + "\r\n" for line in lines).encode("utf-8", "replace")
