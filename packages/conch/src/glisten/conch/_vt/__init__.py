"""
Sans-IO VT102/ANSI terminal codecs: :class:`KeyboardParser` reads what a terminal sends
(keys, function keys, bracketed paste, cursor reports) and :class:`ScreenParser` reads what a
program sends to a terminal (text and control functions). No reactor, no transport.
"""

from glisten.conch._vt._errors import TerminalProtocolError
from glisten.conch._vt._events import Call, CursorPosition, Keystroke, Paste, Text, Unhandled
from glisten.conch._vt._keyboard import KeyboardParser
from glisten.conch._vt._keys import FUNCTION_KEYS, KEY_NAMES, MODIFIER_NAMES, keyConstant
from glisten.conch._vt._limits import Limits
from glisten.conch._vt._screen import ScreenParser

__all__ = [
    "FUNCTION_KEYS",
    "KEY_NAMES",
    "MODIFIER_NAMES",
    "Call",
    "CursorPosition",
    "KeyboardParser",
    "Keystroke",
    "Limits",
    "Paste",
    "ScreenParser",
    "TerminalProtocolError",
    "Text",
    "Unhandled",
    "keyConstant",
]
