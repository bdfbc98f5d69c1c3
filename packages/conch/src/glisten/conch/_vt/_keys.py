"""Symbolic key constants, in Twisted's form: the name in brackets, as bytes."""

from __future__ import annotations

KEY_NAMES = (
    "UP_ARROW",
    "DOWN_ARROW",
    "RIGHT_ARROW",
    "LEFT_ARROW",
    "HOME",
    "INSERT",
    "DELETE",
    "END",
    "PGUP",
    "PGDN",
    "NUMPAD_MIDDLE",
    "F1",
    "F2",
    "F3",
    "F4",
    "F5",
    "F6",
    "F7",
    "F8",
    "F9",
    "F10",
    "F11",
    "F12",
)
MODIFIER_NAMES = ("ALT", "SHIFT", "CONTROL")


def keyConstant(name: str) -> bytes:
    """The constant of key (or modifier) ``name``."""
    return b"[" + name.encode("ascii") + b"]"


FUNCTION_KEYS = [keyConstant(n) for n in KEY_NAMES + MODIFIER_NAMES]

ALT = keyConstant("ALT")
SHIFT = keyConstant("SHIFT")
CONTROL = keyConstant("CONTROL")
