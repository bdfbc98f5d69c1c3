"""Paths, mailboxes and ESMTP parameters of RFC 5321 4.1.2, with RFC 6531's UTF-8 additions.

Parsers return ``None`` (or raise :class:`ValueError` with a fixed message) for anything the
grammar does not allow; they never return a half-parsed value.
"""

from __future__ import annotations

import ipaddress

import attrs

_ALPHA_DIGIT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
#: RFC 5322 atext: what a dot-string atom may hold.
_ATEXT = _ALPHA_DIGIT | frozenset(b"!#$%&'*+-/=?^_`{|}~")
#: qtextSMTP (RFC 5321): printable ASCII but ``"`` and ``\``.
_QTEXT = frozenset(range(32, 127)) - frozenset(b'"\\')
_LDH = _ALPHA_DIGIT | frozenset(b"-")
_UTF8 = frozenset(range(128, 256))

MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_PATH = 256


@attrs.frozen
class Mailbox:
    """A mailbox ``local@domain``, as it travels on the wire.

    :ivar local: The local part, exactly as sent (a quoted string keeps its quotes).
    :ivar domain: The domain or address literal (``[192.0.2.1]``); empty only for the special
        recipient ``<Postmaster>``.
    """

    local: bytes
    domain: bytes

    def __bytes__(self) -> bytes:
        return self.local + b"@" + self.domain if self.domain else self.local

    @property
    def isUTF8(self) -> bool:
        """Whether the mailbox needs SMTPUTF8 (RFC 6531)."""
        return not (self.local + self.domain).isascii()

    @property
    def isAddressLiteral(self) -> bool:
        return self.domain.startswith(b"[")

    @property
    def unquotedLocal(self) -> bytes:
        """The local part with quoting removed (``"a b"`` -> ``a b``)."""
        local = self.local
        if not local.startswith(b'"'):
            return local
        out = bytearray()
        i = 1
        end = len(local) - 1
        while i < end:
            c = local[i]
            if c == 0x5C:
                i += 1
                c = local[i]
            out.append(c)
            i += 1
        return bytes(out)


def _dotString(text: bytes, utf8: bool) -> bool:
    if not text:
        return False
    allowed = _ATEXT | _UTF8 if utf8 else _ATEXT
    for atom in text.split(b"."):
        if not atom or not all(c in allowed for c in atom):
            return False
    return True


def _quotedString(text: bytes, utf8: bool) -> bool:
    if len(text) < 2 or text[0] != 0x22 or text[-1] != 0x22:
        return False
    allowed = _QTEXT | _UTF8 if utf8 else _QTEXT
    i = 1
    end = len(text) - 1
    while i < end:
        c = text[i]
        if c == 0x5C:
            i += 1
            if i >= end or not 32 <= text[i] <= 126:
                return False
        elif c not in allowed:
            return False
        i += 1
    return True


def isDomain(text: bytes, utf8: bool = False) -> bool:
    """Whether ``text`` is an RFC 5321 Domain (with U-labels when ``utf8``)."""
    if not text or len(text) > MAX_DOMAIN:
        return False
    for label in text.split(b"."):
        if not label or len(label) > 63:
            return False
        if utf8 and not label.isascii():
            if label[0] == 0x2D or label[-1] == 0x2D:
                return False
            try:
                label.decode("utf-8")
            except UnicodeDecodeError:
                return False
            if not all(c in _LDH or c >= 128 for c in label):
                return False
            continue
        if label[0] not in _ALPHA_DIGIT or label[-1] not in _ALPHA_DIGIT:
            return False
        if not all(c in _LDH for c in label):
            return False
    return True


def isAddressLiteral(text: bytes) -> bool:
    """Whether ``text`` is ``[IPv4]`` or ``[IPv6:addr]`` (general literals are refused)."""
    if len(text) < 3 or text[0] != 0x5B or text[-1] != 0x5D:
        return False
    inner = text[1:-1]
    try:
        if inner[:5].upper() == b"IPV6:":
            ipaddress.IPv6Address(inner[5:].decode("ascii"))
        else:
            ipaddress.IPv4Address(inner.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def parseMailbox(text: bytes, utf8: bool = False) -> Mailbox | None:
    """Parse ``local@domain``; ``None`` if it is not an RFC 5321 Mailbox."""
    at = text.rfind(b"@")
    if at <= 0:
        return None
    local, domain = text[:at], text[at + 1 :]
    if utf8:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if len(local) > MAX_LOCAL and local.isascii():
        return None
    if not (_dotString(local, utf8) or _quotedString(local, utf8)):
        return None
    if not (isDomain(domain, utf8) or isAddressLiteral(domain)):
        return None
    return Mailbox(local, domain)


def parsePath(text: bytes, utf8: bool = False, nullAllowed: bool = False) -> Mailbox | None:
    """Parse ``<[@route,@route:]mailbox>``; ``<>`` gives ``Mailbox(b"", b"")`` if allowed.

    A source route is accepted and dropped, as RFC 5321 4.1.1.3 and appendix C require: the
    mailbox alone decides where the message goes (so ``<@trusted:user@elsewhere>`` is a
    message for ``elsewhere``, and relay checks see that).
    """
    if len(text) < 2 or text[0] != 0x3C or text[-1] != 0x3E or len(text) > MAX_PATH + 2:
        return None
    inner = text[1:-1]
    if not inner:
        return Mailbox(b"", b"") if nullAllowed else None
    if inner[0] == 0x40:
        colon = inner.find(b":")
        if colon < 0:
            return None
        for hop in inner[:colon].split(b","):
            if (
                len(hop) < 2
                or hop[0] != 0x40
                or not (isDomain(hop[1:], utf8) or isAddressLiteral(hop[1:]))
            ):
                return None
        inner = inner[colon + 1 :]
    if not nullAllowed and inner.lower() == b"postmaster":
        return Mailbox(b"Postmaster", b"")
    return parseMailbox(inner, utf8)


def splitPathAndParams(rest: bytes) -> tuple[bytes, bytes] | None:
    """Split ``<path> params`` after ``FROM:``/``TO:`` (one optional space after the colon, as
    many clients send). A ``>`` inside a quoted local part does not end the path."""
    if rest.startswith(b" "):
        rest = rest[1:]
    if not rest.startswith(b"<"):
        return None
    i = 1
    quoted = False
    n = len(rest)
    while i < n:
        c = rest[i]
        if quoted:
            if c == 0x5C:
                i += 1
            elif c == 0x22:
                quoted = False
        elif c == 0x22:
            quoted = True
        elif c == 0x3E:
            path, params = rest[: i + 1], rest[i + 1 :]
            if params and not params.startswith(b" "):
                return None
            return path, params.strip(b" ")
        i += 1
    return None


def parseParams(text: bytes) -> dict[str, bytes | None] | None:
    """Parse ``KEY[=VALUE] ...`` (RFC 5321 esmtp-param); keys upper-cased. ``None`` on a
    syntax error or a repeated key."""
    params: dict[str, bytes | None] = {}
    if not text:
        return params
    for item in text.split(b" "):
        if not item:
            continue
        key, eq, value = item.partition(b"=")
        if not key or key[0] not in _ALPHA_DIGIT or not all(c in _LDH for c in key):
            return None
        if eq and (not value or any(c < 33 or c == 0x3D or c == 127 for c in value)):
            return None
        name = key.decode("ascii").upper()
        if name in params:
            return None
        params[name] = value if eq else None
    return params


def decodeXtext(text: bytes) -> bytes | None:
    """Decode RFC 3461 xtext (``+HH`` escapes); ``None`` if malformed."""
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == 0x2B:
            hexDigits = text[i + 1 : i + 3]
            if len(hexDigits) != 2 or not all(h in b"0123456789ABCDEF" for h in hexDigits):
                return None
            out.append(int(hexDigits, 16))
            i += 3
            continue
        if c < 33 or c > 126 or c == 0x3D:
            return None
        out.append(c)
        i += 1
    return bytes(out)


def encodeXtext(data: bytes) -> bytes:
    """Encode ``data`` as RFC 3461 xtext."""
    return b"".join(
        bytes((c,)) if 33 <= c <= 126 and c not in (0x2B, 0x3D) else b"+%02X" % c for c in data
    )
