"""Payloads of the usual subnegotiated options: NAWS (RFC 1073), TTYPE (RFC 1091) and
NEW-ENVIRON (RFC 1572). Payloads here are what :class:`~._events.Subnegotiation` carries
(option byte excluded, IAC escapes already removed)."""

from __future__ import annotations

import struct

from glisten.conch._telnet._constants import ESC, INFO, IS, SEND, USERVAR, VALUE, VAR
from glisten.conch._telnet._errors import TelnetProtocolError


def parseNAWS(data: bytes) -> tuple[int, int]:
    """
    :return: ``(width, height)`` in characters.
    :raises TelnetProtocolError: not four bytes.
    """
    if len(data) != 4:
        raise TelnetProtocolError("NAWS payload is not four bytes")
    width, height = struct.unpack("!HH", data)
    return width, height


def packNAWS(width: int, height: int) -> bytes:
    """The NAWS payload a client sends for a ``width`` x ``height`` window."""
    return struct.pack("!HH", width, height)


def parseTerminalType(data: bytes) -> str:
    """
    :return: the terminal type of a ``TTYPE IS`` payload, as sent (RFC 1091 asks for
        upper case; clients differ, so callers should compare case-insensitively).
    :raises TelnetProtocolError: not an ``IS`` reply, or not printable ASCII.
    """
    if not data or data[0] != IS:
        raise TelnetProtocolError("TTYPE payload is not an IS reply")
    name = data[1:]
    if not name or len(name) > 40 or not all(0x21 <= b < 0x7F for b in name):
        raise TelnetProtocolError("TTYPE name is not 1 to 40 printable characters")
    return name.decode("ascii")


def packTerminalTypeIs(name: str) -> bytes:
    """The ``TTYPE IS name`` payload a client sends."""
    return bytes([IS]) + name.encode("ascii")


def parseNewEnviron(data: bytes) -> tuple[int, list[tuple[int, bytes, bytes | None]]]:
    """
    Read a NEW-ENVIRON payload.

    :return: the verb (``IS``, ``SEND`` or ``INFO``) and ``(type, name, value)`` items where
        type is ``VAR`` or ``USERVAR`` and value is ``None`` when no ``VALUE`` was given.
    :raises TelnetProtocolError: an unknown verb, an ``ESC`` at the end, a value without a name.
    """
    if not data or data[0] not in (IS, SEND, INFO):
        raise TelnetProtocolError("NEW-ENVIRON payload has no valid verb")
    items: list[tuple[int, bytes, bytes | None]] = []
    kind: int | None = None
    name = bytearray()
    value: bytearray | None = None
    i = 1
    n = len(data)

    def finish() -> None:
        if kind is not None:
            items.append((kind, bytes(name), None if value is None else bytes(value)))

    while i < n:
        b = data[i]
        if b in (VAR, USERVAR):
            finish()
            kind, name, value = b, bytearray(), None
        elif b == VALUE:
            if kind is None or value is not None:
                raise TelnetProtocolError("NEW-ENVIRON value without a name")
            value = bytearray()
        else:
            if b == ESC:
                i += 1
                if i == n:
                    raise TelnetProtocolError("NEW-ENVIRON payload ends in ESC")
                b = data[i]
            if kind is None:
                raise TelnetProtocolError("NEW-ENVIRON text before a VAR or USERVAR")
            (name if value is None else value).append(b)
        i += 1
    finish()
    return data[0], items


def _escapeEnviron(text: bytes) -> bytes:
    out = bytearray()
    for b in text:
        if b in (VAR, VALUE, ESC, USERVAR):
            out.append(ESC)
        out.append(b)
    return bytes(out)


def packNewEnvironIs(variables: dict[bytes, bytes], user: bool = False) -> bytes:
    """A ``NEW-ENVIRON IS`` payload for ``variables`` (as ``USERVAR`` when ``user``)."""
    kind = USERVAR if user else VAR
    out = bytearray([IS])
    for name, value in variables.items():
        out.append(kind)
        out += _escapeEnviron(name)
        out.append(VALUE)
        out += _escapeEnviron(value)
    return bytes(out)
