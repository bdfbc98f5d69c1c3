"""Modified UTF-7 (RFC 3501 5.1.3), the 7-bit form of IMAP mailbox names.

Printable US-ASCII stands for itself except ``&``, which is written ``&-``; any run of other
characters is written as ``&``, its UTF-16BE octets in base64 with ``,`` for ``/`` and no
padding, then ``-``.  The decoder accepts only the one canonical spelling of each name (no
printable ASCII inside a shifted run, no two runs side by side, zero fill bits, paired
surrogates), so a name and its wire form map one to one and two spellings can never name
two different folders.
"""

from __future__ import annotations

import binascii

from glisten.mail._imap._errors import IMAPParseError

__all__ = ["MailboxNameError", "decodeMailboxName", "encodeMailboxName"]

_AMPERSAND = 0x26
_DASH = 0x2D
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")


class MailboxNameError(IMAPParseError, ValueError):
    """Octets that are not a canonical modified UTF-7 mailbox name (the message never
    repeats them)."""


def _direct(c: str) -> bool:
    return 0x20 <= ord(c) <= 0x7E


def _shift(run: str) -> bytes:
    """A run of non-printable-ASCII characters as ``&...-``."""
    try:
        octets = run.encode("utf-16-be")
    except UnicodeEncodeError:
        # A lone surrogate in a str cannot be written in UTF-16.
        raise MailboxNameError("a mailbox name holds an unpaired surrogate") from None
    text = binascii.b2a_base64(octets, newline=False).rstrip(b"=").replace(b"/", b",")
    return b"&" + text + b"-"


def encodeMailboxName(name: str) -> bytes:
    """:return: ``name`` in modified UTF-7.

    :raise MailboxNameError: For a string with an unpaired surrogate.
    """
    out: list[bytes] = []
    start = 0
    i = 0
    n = len(name)
    while i < n:
        if _direct(name[i]):
            i += 1
            continue
        out.append(name[start:i].replace("&", "&-").encode("ascii"))
        j = i
        while j < n and not _direct(name[j]):
            j += 1
        out.append(_shift(name[i:j]))
        start = i = j
    out.append(name[start:].replace("&", "&-").encode("ascii"))
    return b"".join(out)


def _unshift(run: bytes) -> str:
    """The characters of a shifted run's base64 (between ``&`` and ``-``)."""
    if any(c not in _BASE64 for c in run):
        raise MailboxNameError("a character outside modified base64 in a mailbox name")
    if len(run) % 4 == 1:
        raise MailboxNameError("a truncated modified base64 run in a mailbox name")
    padded = run.replace(b",", b"/") + b"=" * (-len(run) % 4)
    octets = binascii.a2b_base64(padded, strict_mode=True)
    if len(octets) % 2:
        raise MailboxNameError("an odd number of UTF-16 octets in a mailbox name")
    try:
        text = octets.decode("utf-16-be")
    except UnicodeDecodeError:
        raise MailboxNameError("an unpaired surrogate in a mailbox name") from None
    if any(_direct(c) for c in text):
        raise MailboxNameError("printable ASCII shifted into base64 in a mailbox name")
    if _shift(text)[1:-1] != run:
        # Non-zero fill bits: a second spelling of the same characters.
        raise MailboxNameError("modified base64 with non-zero fill bits in a mailbox name")
    return text


def decodeMailboxName(data: bytes) -> str:
    """:return: the mailbox name that ``data`` (modified UTF-7) spells.

    :raise MailboxNameError: For octets outside printable US-ASCII or anything but the
        canonical spelling of a name.
    """
    if any(not 0x20 <= c <= 0x7E for c in data):
        raise MailboxNameError("a mailbox name is 7-bit printable ASCII")
    out: list[str] = []
    i = 0
    n = len(data)
    previousShift = False
    while i < n:
        amp = data.find(b"&", i)
        if amp < 0:
            out.append(data[i:].decode("ascii"))
            break
        if amp > i:
            out.append(data[i:amp].decode("ascii"))
            previousShift = False
        end = data.find(b"-", amp + 1)
        if end < 0:
            raise MailboxNameError("an unterminated modified base64 run in a mailbox name")
        if end == amp + 1:
            out.append("&")
            previousShift = False
        else:
            if previousShift:
                raise MailboxNameError("two adjacent base64 runs in a mailbox name")
            out.append(_unshift(data[amp + 1 : end]))
            previousShift = True
        i = end + 1
    return "".join(out)
