"""Events of the terminal codecs (slotted attrs classes)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Keystroke:
    """
    One key: ``keyID`` is the character's bytes (a whole UTF-8 character) or a function key
    constant such as ``b"[UP_ARROW]"``; ``modifier`` is ``None`` or ``b"[ALT]"``,
    ``b"[SHIFT]"``, ``b"[CONTROL]"``.
    """

    keyID: bytes
    modifier: bytes | None = None


@attrs.define(slots=True)
class Paste:
    """Text the user pasted while bracketed paste mode (private mode 2004) was on."""

    data: bytes


@attrs.define(slots=True)
class CursorPosition:
    """A cursor position report (``CSI line ; column R``), zero-based."""

    column: int
    line: int


@attrs.define(slots=True)
class Unhandled:
    """A well-formed control sequence this codec does not interpret."""

    sequence: bytes


@attrs.define(slots=True)
class Text:
    """Characters to show (output side); controls such as CR and LF are left in."""

    data: bytes


@attrs.define(slots=True)
class Call:
    """A control function (output side): the :class:`ITerminalTransport` method and arguments."""

    name: str
    args: tuple[Any, ...] = ()
