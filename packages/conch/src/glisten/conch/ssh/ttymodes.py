"""
Terminal modes of a ``pty-req`` (RFC 4254 section 8, RFC 8160's ``IUTF8``), under Twisted's
name: :data:`TTYMODES` maps each opcode to its POSIX name, :func:`encodeModes` turns a
local terminal's ``termios`` attributes into the encoded modes, as ``ssh`` sends them, and
:func:`applyModes` lays received modes over a PTY's attributes, as ``sshd`` does.
"""

from __future__ import annotations

import struct
import sys
import termios
from typing import Any

__all__ = [
    "TTYMODES",
    "TTY_OP_END",
    "TTY_OP_ISPEED",
    "TTY_OP_OSPEED",
    "applyModes",
    "encodeModes",
]

#: Ends the encoded modes.
TTY_OP_END = 0
#: The input and output baud rates.
TTY_OP_ISPEED = 128
TTY_OP_OSPEED = 129

#: Opcode to POSIX name: control characters (1-18), input flags (30-42), local flags
#: (50-62), output flags (70-75) and control flags (90-93).
TTYMODES: dict[int, str] = {
    1: "VINTR",
    2: "VQUIT",
    3: "VERASE",
    4: "VKILL",
    5: "VEOF",
    6: "VEOL",
    7: "VEOL2",
    8: "VSTART",
    9: "VSTOP",
    10: "VSUSP",
    11: "VDSUSP",
    12: "VREPRINT",
    13: "VWERASE",
    14: "VLNEXT",
    15: "VFLUSH",
    16: "VSWTCH",
    17: "VSTATUS",
    18: "VDISCARD",
    30: "IGNPAR",
    31: "PARMRK",
    32: "INPCK",
    33: "ISTRIP",
    34: "INLCR",
    35: "IGNCR",
    36: "ICRNL",
    37: "IUCLC",
    38: "IXON",
    39: "IXANY",
    40: "IXOFF",
    41: "IMAXBEL",
    42: "IUTF8",
    50: "ISIG",
    51: "ICANON",
    52: "XCASE",
    53: "ECHO",
    54: "ECHOE",
    55: "ECHOK",
    56: "ECHONL",
    57: "NOFLSH",
    58: "TOSTOP",
    59: "IEXTEN",
    60: "ECHOCTL",
    61: "ECHOKE",
    62: "PENDIN",
    70: "OPOST",
    71: "OLCUC",
    72: "ONLCR",
    73: "OCRNL",
    74: "ONOCR",
    75: "ONLRET",
    90: "CS7",
    91: "CS8",
    92: "PARENB",
    93: "PARODD",
    TTY_OP_ISPEED: "TTY_OP_ISPEED",
    TTY_OP_OSPEED: "TTY_OP_OSPEED",
}

#: A disabled control character, as the protocol spells it.
_DISABLED = 255
#: Linux's IUTF8, which Python's termios does not export everywhere.
_IUTF8 = getattr(termios, "IUTF8", 0x4000 if sys.platform.startswith("linux") else None)
#: termios speed constants to baud rates.
_BAUDS = {
    getattr(termios, name): int(name[1:])
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


def _flagWord(opcode: int) -> int:
    """Index of the termios flag word holding the opcode's flag."""
    if opcode < 50:
        return 0  # iflag
    if opcode < 70:
        return 3  # lflag
    if opcode < 90:
        return 1  # oflag
    return 2  # cflag


def encodeModes(attributes: list[Any]) -> bytes:
    """
    The ``pty-req`` modes of a terminal, from ``termios.tcgetattr``'s list
    ``[iflag, oflag, cflag, lflag, ispeed, ospeed, cc]``. Modes this system has no name for
    are left out (the server keeps its default for them).

    :return: opcode/``uint32`` pairs, the baud rates, ``TTY_OP_END``.
    """
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attributes
    words = [iflag, oflag, cflag, lflag]
    out = bytearray()
    for opcode, name in TTYMODES.items():
        if opcode < 30:
            index = getattr(termios, name, None)
            if index is None or index >= len(cc):
                continue
            char = cc[index]
            value = char[0] if isinstance(char, bytes) and char else char
            if not isinstance(value, int):
                continue
            out += struct.pack(">BL", opcode, value or _DISABLED)
        elif opcode < TTY_OP_ISPEED:
            if name in ("CS7", "CS8"):
                size = getattr(termios, name)
                out += struct.pack(">BL", opcode, int(cflag & termios.CSIZE == size))
                continue
            flag = _IUTF8 if name == "IUTF8" else getattr(termios, name, None)
            if flag is None:
                continue
            out += struct.pack(">BL", opcode, int(bool(words[_flagWord(opcode)] & flag)))
    for opcode, speed in ((TTY_OP_ISPEED, ispeed), (TTY_OP_OSPEED, ospeed)):
        if speed in _BAUDS:
            out += struct.pack(">BL", opcode, _BAUDS[speed])
    out.append(TTY_OP_END)
    return bytes(out)


#: Baud rates to termios speed constants.
_SPEEDS = {baud: constant for constant, baud in _BAUDS.items()}


def applyModes(attributes: list[Any], modes: list[tuple[int, int]]) -> list[Any]:
    """
    A client's ``pty-req`` modes (as ``parseRequest_pty_req`` reads them) laid over a
    terminal's ``termios`` attributes; unknown opcodes, speeds and out-of-range characters are
    skipped (the terminal keeps its own setting).

    :return: a new attribute list for ``termios.tcsetattr``.
    """
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attributes
    words = [iflag, oflag, cflag, lflag]
    cc = list(cc)
    for opcode, value in modes:
        name = TTYMODES.get(opcode)
        if name is None:
            continue
        if opcode < 30:
            index = getattr(termios, name, None)
            if index is None or index >= len(cc) or value > 255 or not isinstance(cc[index], bytes):
                continue
            cc[index] = bytes([0 if value == _DISABLED else value])
        elif opcode == TTY_OP_ISPEED:
            ispeed = _SPEEDS.get(value, ispeed)
        elif opcode == TTY_OP_OSPEED:
            ospeed = _SPEEDS.get(value, ospeed)
        elif name in ("CS7", "CS8"):
            if value:
                words[2] = (words[2] & ~termios.CSIZE) | getattr(termios, name)
        else:
            flag = _IUTF8 if name == "IUTF8" else getattr(termios, name, None)
            if flag is None:
                continue
            word = _flagWord(opcode)
            words[word] = words[word] | flag if value else words[word] & ~flag
    return [*words, ispeed, ospeed, cc]
