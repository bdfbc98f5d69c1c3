"""Formatting IMAP4 data: strings (quoted or literal), lists, flags, ``nstring``."""

from __future__ import annotations

from collections.abc import Iterable

_QUOTABLE_STOP = frozenset(b'\r\n"\\\x00') | frozenset(range(0x80, 0x100))


def literal(data: bytes) -> bytes:
    """``{N}`` CRLF and the data: for anything a quoted string cannot hold."""
    return b"{%d}\r\n" % len(data) + data


def quote(data: bytes, utf8: bool = False) -> bytes:
    """A string, quoted when it can be (short, no CR/LF, 8-bit only with ``utf8``: RFC 6855
    allows UTF-8 in quoted strings once enabled), else a literal."""
    if len(data) < 1024 and not any(c in _QUOTABLE_STOP for c in data):
        return b'"' + data + b'"'
    if len(data) < 1024 and not any(c in (13, 10, 0) or (c >= 0x80 and not utf8) for c in data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def nstring(data: bytes | None) -> bytes:
    return b"NIL" if data is None else quote(data)


def astring(data: bytes, utf8: bool = False) -> bytes:
    """A mailbox name or similar: an atom when it is one, else a string."""
    if (
        data
        and data.upper() != b"NIL"
        and all(0x20 < c < 0x7F and c not in b'(){ %*"\\]' for c in data)
    ):
        return data
    return quote(data, utf8)


def parenthesised(items: Iterable[bytes]) -> bytes:
    return b"(" + b" ".join(items) + b")"
