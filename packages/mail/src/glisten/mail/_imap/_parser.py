"""The IMAP4 command grammar (RFC 3501 9, literals of RFC 7888): tokens, sequence sets,
dates and FETCH attributes.

A hand-written scanner over one complete command (literals inline): no regular
expressions, no recursion (nesting is a bounded explicit stack), every loop advances, so
the time is linear in the command's size whatever the input.
"""

from __future__ import annotations

import datetime

import attrs

from glisten.mail._imap._errors import IMAPParseError
from glisten.mail._imap._limits import DEFAULT_LIMITS, Limits


class Atom(bytes):
    """An atom (``FLAGS``, ``\\Seen``, ``1:*``, ``BODY[HEADER]<0.10>``), as opposed to a
    string (quoted or literal), which is plain ``bytes``."""

    __slots__ = ()


#: What a token may be: an atom, a string, or a list of tokens.
Token = Atom | bytes | list

_ATOM_STOP_UTF8 = frozenset(b'(){ "') | frozenset(range(0x20)) | {0x7F}
_ATOM_STOP = _ATOM_STOP_UTF8 | frozenset(range(0x80, 0x100))
_MONTHS = (
    b"JAN",
    b"FEB",
    b"MAR",
    b"APR",
    b"MAY",
    b"JUN",
    b"JUL",
    b"AUG",
    b"SEP",
    b"OCT",
    b"NOV",
    b"DEC",
)


def literalAt(line: bytes) -> tuple[int, bool] | None:
    """If ``line`` (without its CRLF) ends with a literal's announcement ``{N}`` or
    ``{N+}``, :return: ``(N, synchronising)``, else ``None``.

    :raises IMAPParseError: for a size too long to be a number we accept.
    """
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    if start < 0:
        return None
    inner = line[start + 1 : -1]
    sync = True
    if inner.endswith((b"+", b"-")):
        inner = inner[:-1]
        sync = False
    if not inner or not inner.isdigit():
        return None
    if len(inner) > 12:
        raise IMAPParseError("literal too large")
    return int(inner), sync


class Scanner:
    """Reads tokens from one complete command.

    :param data: The command: its lines with CRLFs, literals inline.
    :param limits: Nesting, token and literal limits.
    :param utf8: Atoms may hold UTF-8 (the client enabled UTF8=ACCEPT, RFC 6855).
    """

    def __init__(self, data: bytes, limits: Limits = DEFAULT_LIMITS, utf8: bool = False) -> None:
        self.data = data
        self.pos = 0
        self.limits = limits
        self.tokens = 0
        self._stop = _ATOM_STOP_UTF8 if utf8 else _ATOM_STOP

    def atEnd(self) -> bool:
        return self.data.startswith(b"\r\n", self.pos) or self.pos >= len(self.data)

    def space(self) -> None:
        if self.pos >= len(self.data) or self.data[self.pos] != 0x20:
            raise IMAPParseError("expected a space")
        self.pos += 1

    def end(self) -> None:
        if not self.atEnd() or self.data[self.pos + 2 :]:
            raise IMAPParseError("unexpected data after the command")

    def atom(self) -> Atom:
        """An atom: a run of characters up to a space, parenthesis, quote or CRLF; a ``[``
        opens a section that runs to its ``]`` (it may hold spaces and lists)."""
        data = self.data
        start = i = self.pos
        n = len(data)
        while i < n:
            c = data[i]
            if c == 0x5B:  # [
                depth = 0
                while i < n:
                    c = data[i]
                    if c == 0x5B:
                        depth += 1
                    elif c == 0x5D:
                        depth -= 1
                        if depth == 0:
                            break
                    elif c in (0x0D, 0x0A) or c >= 0x80 or c == 0x7B:
                        raise IMAPParseError("bad section")
                    i += 1
                if i >= n:
                    raise IMAPParseError("unbalanced brackets")
                i += 1
                continue
            if c in self._stop:
                break
            i += 1
        if i == start:
            raise IMAPParseError("expected an atom")
        self.pos = i
        self._count()
        return Atom(data[start:i])

    def _count(self) -> None:
        self.tokens += 1
        if self.tokens > self.limits.maxTokens:
            raise IMAPParseError("too many tokens")

    def quoted(self) -> bytes:
        data = self.data
        i = self.pos + 1
        out = bytearray()
        n = len(data)
        while True:
            j = i
            while j < n and data[j] not in (0x22, 0x5C, 0x0D, 0x0A):
                j += 1
            out += data[i:j]
            if j >= n or data[j] in (0x0D, 0x0A):
                raise IMAPParseError("unterminated quoted string")
            if data[j] == 0x22:
                self.pos = j + 1
                self._count()
                return bytes(out)
            # A backslash quotes only a quote or a backslash.
            if j + 1 >= n or data[j + 1] not in (0x22, 0x5C):
                raise IMAPParseError("bad escape in a quoted string")
            out.append(data[j + 1])
            i = j + 2

    def literal(self) -> bytes:
        data = self.data
        close = data.find(b"}\r\n", self.pos)
        if close < 0:
            raise IMAPParseError("bad literal")
        found = literalAt(data[self.pos : close + 1])
        if found is None:
            raise IMAPParseError("bad literal")
        size = found[0]
        start = close + 3
        if start + size > len(data):
            raise IMAPParseError("literal shorter than announced")
        self.pos = start + size
        self._count()
        return data[start : start + size]

    def string(self) -> bytes:
        """A quoted string or a literal."""
        c = self.peek()
        if c == 0x22:
            return self.quoted()
        if c == 0x7B:
            return self.literal()
        raise IMAPParseError("expected a string")

    def astring(self) -> bytes:
        """An atom or a string (user names, mailbox names)."""
        c = self.peek()
        if c in (0x22, 0x7B):
            return self.string()
        return bytes(self.atom())

    def nstring(self) -> bytes | None:
        c = self.peek()
        if c in (0x22, 0x7B):
            return self.string()
        word = self.atom()
        if word.upper() != b"NIL":
            raise IMAPParseError("expected NIL or a string")
        return None

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise IMAPParseError("unexpected end of command")
        return self.data[self.pos]

    def token(self) -> Token:
        """One token; a parenthesised list is read with an explicit stack, so deep nesting
        costs no recursion and stops at ``maxDepth``."""
        if self.peek() != 0x28:
            return self._scalar()
        self.pos += 1
        stack: list[list[Token]] = []
        current: list[Token] = []
        needSpace = False
        while True:
            c = self.peek()
            if c == 0x29:  # )
                self.pos += 1
                self._count()
                if not stack:
                    return current
                parent = stack.pop()
                parent.append(current)
                current = parent
                needSpace = True
                continue
            if needSpace:
                if c != 0x20:
                    raise IMAPParseError("expected a space or a parenthesis")
                self.pos += 1
                needSpace = False
                c = self.peek()
                if c in (0x20, 0x29):
                    raise IMAPParseError("unexpected space")
            if c == 0x28:
                if len(stack) + 2 > self.limits.maxDepth:
                    raise IMAPParseError("lists nested too deeply")
                self.pos += 1
                stack.append(current)
                current = []
                continue
            current.append(self._scalar())
            needSpace = True

    def _scalar(self) -> Token:
        c = self.peek()
        if c in (0x22, 0x7B):
            return self.string()
        if c in (0x0D, 0x0A, 0x29, 0x20):
            raise IMAPParseError("expected a token")
        return self.atom()

    def rest(self) -> list[Token]:
        """Every token up to the end of the command."""
        out: list[Token] = []
        while not self.atEnd():
            self.space()
            out.append(self.token())
        return out


# -- values ------------------------------------------------------------------------------


@attrs.frozen
class Range:
    """``low:high`` of a sequence set; ``None`` stands for ``*`` (the largest number in
    use)."""

    low: int | None
    high: int | None


def _setNumber(text: bytes) -> int | None:
    if text == b"*":
        return None
    if not text.isdigit() or len(text) > 10 or text.startswith(b"0"):
        raise IMAPParseError("bad sequence number")
    value = int(text)
    if value > 0xFFFFFFFF:
        raise IMAPParseError("bad sequence number")
    return value


def parseSequenceSet(text: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Range, ...]:
    """``1,3:5,7:*`` -> ranges; never expanded, so ``1:4294967295`` costs nothing.

    :raises IMAPParseError: for bad syntax or more than ``maxSetRanges`` ranges.
    """
    if not text:
        raise IMAPParseError("empty sequence set")
    parts = text.split(b",", limits.maxSetRanges)
    if len(parts) > limits.maxSetRanges:
        raise IMAPParseError("sequence set too long")
    out = []
    for part in parts:
        low, colon, high = part.partition(b":")
        a = _setNumber(low)
        out.append(Range(a, _setNumber(high) if colon else a))
    return tuple(out)


def parseDate(text: bytes) -> datetime.date:
    """``1-Feb-1994`` (RFC 3501 ``date``, for SEARCH)."""
    parts = text.split(b"-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        raise IMAPParseError("bad date")
    try:
        month = _MONTHS.index(parts[1].upper()) + 1
        return datetime.date(int(parts[2]), month, int(parts[0]))
    except ValueError:
        raise IMAPParseError("bad date") from None


def parseDateTime(text: bytes) -> datetime.datetime:
    """``17-Jul-1996 02:44:25 -0700`` (``date-time``, for APPEND)."""
    day, _, rest = text.strip().partition(b" ")
    clock, _, zone = rest.partition(b" ")
    date = parseDate(day)
    hms = clock.split(b":")
    if len(hms) != 3 or not all(p.isdigit() and len(p) == 2 for p in hms):
        raise IMAPParseError("bad time")
    if len(zone) != 5 or zone[:1] not in (b"+", b"-") or not zone[1:].isdigit():
        raise IMAPParseError("bad time zone")
    minutes = int(zone[1:3]) * 60 + int(zone[3:])
    offset = datetime.timedelta(minutes=-minutes if zone[:1] == b"-" else minutes)
    try:
        hour, minute, second = (int(p) for p in hms)
        return datetime.datetime(
            date.year, date.month, date.day, hour, minute, second, tzinfo=datetime.timezone(offset)
        )
    except ValueError:
        raise IMAPParseError("bad time") from None


def formatDateTime(when: datetime.datetime) -> bytes:
    """The ``date-time`` form of ``when`` (``INTERNALDATE``)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    offset = when.utcoffset() or datetime.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = b"+" if minutes >= 0 else b"-"
    minutes = abs(minutes)
    return b"%2d-%s-%04d %02d:%02d:%02d %s%02d%02d" % (
        when.day,
        _MONTHS[when.month - 1].capitalize(),
        when.year,
        when.hour,
        when.minute,
        when.second,
        sign,
        minutes // 60,
        minutes % 60,
    )


@attrs.frozen
class Section:
    """A ``BODY[...]`` section: a part path (``1.2``), then ``HEADER``, ``TEXT``, ``MIME``,
    ``HEADER.FIELDS`` or ``HEADER.FIELDS.NOT`` with their header names (or ``""``)."""

    part: tuple[int, ...] = ()
    text: str = ""
    fields: tuple[bytes, ...] = ()


@attrs.frozen
class FetchAttribute:
    """One FETCH data item.

    :ivar name: ``FLAGS``, ``UID``, ``INTERNALDATE``, ``RFC822.SIZE``, ``ENVELOPE``,
        ``BODYSTRUCTURE``, ``BODY`` (the structure without extensions), ``RFC822``,
        ``RFC822.HEADER``, ``RFC822.TEXT``, or ``BODY[]`` for a section.
    :ivar section: The section of ``BODY[...]``.
    :ivar peek: ``BODY.PEEK`` (do not set ``\\Seen``).
    :ivar partial: ``<start.length>`` as a pair, or ``None``.
    """

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None


_SIMPLE = frozenset(
    {
        "FLAGS",
        "UID",
        "INTERNALDATE",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODYSTRUCTURE",
        "BODY",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
    }
)
_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}


def _section(text: bytes, limits: Limits) -> Section:
    """The inside of ``[...]``."""
    spec, space, rest = text.partition(b" ")
    fields: tuple[bytes, ...] = ()
    if space:
        scanner = Scanner(rest + b"\r\n", limits)
        names = scanner.token()
        scanner.end()
        if not isinstance(names, list) or not names:
            raise IMAPParseError("bad header list")
        fields = tuple(bytes(n).upper() for n in names if isinstance(n, bytes))
        if len(fields) != len(names):
            raise IMAPParseError("bad header list")
    part: list[int] = []
    words = spec.split(b".") if spec else []
    i = 0
    while i < len(words) and words[i].isdigit():
        if len(words[i]) > 5 or words[i].startswith(b"0"):
            raise IMAPParseError("bad part number")
        part.append(int(words[i]))
        i += 1
    name = b".".join(words[i:]).upper().decode("ascii", "replace")
    if name not in ("", "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        raise IMAPParseError("bad section")
    if name == "MIME" and not part:
        raise IMAPParseError("bad section")
    if (name.startswith("HEADER.FIELDS")) != bool(space):
        raise IMAPParseError("bad section")
    return Section(tuple(part), name, fields)


def parseFetchAttribute(atom: bytes, limits: Limits = DEFAULT_LIMITS) -> list[FetchAttribute]:
    """One FETCH item (or macro) -> its attributes."""
    upper = atom.upper()
    text = upper.decode("ascii", "replace")
    if text in _MACROS:
        return [FetchAttribute(n) for n in _MACROS[text]]
    if text in _SIMPLE:
        return [FetchAttribute(text)]
    peek = upper.startswith(b"BODY.PEEK[")
    if not (peek or upper.startswith(b"BODY[")):
        raise IMAPParseError("unknown FETCH attribute")
    open_ = atom.index(b"[")
    close = atom.rfind(b"]")
    if close < open_:
        raise IMAPParseError("bad section")
    section = _section(atom[open_ + 1 : close], limits)
    tail = atom[close + 1 :]
    partial = None
    if tail:
        if not (tail.startswith(b"<") and tail.endswith(b">")):
            raise IMAPParseError("bad partial")
        start, dot, length = tail[1:-1].partition(b".")
        if not dot or not start.isdigit() or not length.isdigit() or len(start + length) > 20:
            raise IMAPParseError("bad partial")
        partial = (int(start), int(length))
        if partial[1] == 0:
            raise IMAPParseError("bad partial")
    return [FetchAttribute("BODY[]", section, peek, partial)]


def parseFetchAttributes(token: Token, limits: Limits = DEFAULT_LIMITS) -> list[FetchAttribute]:
    """The FETCH items: a macro, one item, or a list of items."""
    items = token if isinstance(token, list) else [token]
    out: list[FetchAttribute] = []
    for item in items:
        if not isinstance(item, Atom):
            raise IMAPParseError("bad FETCH attribute")
        if isinstance(token, list) and item.upper() in (b"ALL", b"FAST", b"FULL"):
            raise IMAPParseError("macros may not be in a list")
        out.extend(parseFetchAttribute(item, limits))
    if not out:
        raise IMAPParseError("no FETCH attributes")
    return out
