"""What the IMAP4 server serves (Twisted's names in ``twisted.mail.imap4``): accounts,
mailboxes and messages as interfaces, :class:`MessageSet`, an in-memory account, mailbox
name patterns and SEARCH evaluation."""

from __future__ import annotations

import datetime
import email.utils
import itertools
import time
from collections.abc import Iterator
from typing import Any

from zope.interface import Interface, implementer

from glisten.mail._imap import Range, Section, _message


class MailboxException(Exception):
    """A mailbox operation failed; the text goes to the client in a tagged ``NO``."""


class MailboxCollision(MailboxException):
    """A mailbox of that name exists already."""


class NoSuchMailbox(MailboxException):
    """There is no mailbox of that name."""


class ReadOnlyMailbox(MailboxException):
    """The mailbox cannot be changed."""


class IllegalMailboxEncoding(MailboxException):
    """A mailbox name that is not 7-bit modified UTF-7, or that names a path outside the
    account."""


class IMailboxListener(Interface):
    """Told about changes to a mailbox (the server pushes them to its client)."""

    def newMessages(exists: int | None, recent: int | None) -> None:
        """The message count (``exists``) or recent count changed."""

    def flagsChanged(newFlags: dict[int, list[bytes]]) -> None:
        """Message number -> its flags, for messages whose flags changed."""

    def modeChanged(writeable: bool) -> None:
        """The mailbox became read-only or writeable."""


class IMessagePart(Interface):
    def getHeaders(negate: bool, *names: bytes) -> dict[bytes, bytes]:
        """:return: the named headers (or all but them with ``negate``)."""

    def getBodyFile() -> Any:
        """:return: a binary file with the body."""

    def getSize() -> int:
        """:return: the size in octets (CRLF line ends)."""

    def isMultipart() -> bool:
        """Whether the part has sub-parts."""

    def getSubPart(part: int) -> Any:
        """:return: sub-part ``part`` (from 0)."""


class IMessage(IMessagePart):
    def getUID() -> int:
        """:return: the message's unique id."""

    def getFlags() -> list[bytes]:
        """:return: the message's flags."""

    def getInternalDate() -> bytes:
        """:return: the date the message arrived, as an RFC 5322 date."""


class IRawMessage(Interface):
    """A glisten addition: a message that can give its bytes exactly as stored, so
    ``BODY[]`` is served byte for byte (signatures stay valid). Messages without it are
    rebuilt from their headers and body."""

    def getRawMessage() -> bytes:
        """:return: the whole message with CRLF line ends."""


class IMailboxInfo(Interface):
    def getFlags() -> list[bytes]:
        """:return: the flags this mailbox knows."""

    def getHierarchicalDelimiter() -> bytes:
        """:return: the separator of mailbox name levels."""


class IMailbox(IMailboxInfo):
    def getUIDValidity() -> int:
        """:return: the UIDVALIDITY (changes when UIDs are reused)."""

    def getUIDNext() -> int:
        """:return: the UID the next message will get."""

    def getUID(message: int) -> int:
        """:return: the UID of message number ``message``."""

    def getMessageCount() -> int:
        """:return: the number of messages."""

    def getRecentCount() -> int:
        """:return: the number of messages with ``\\Recent``."""

    def getUnseenCount() -> int:
        """:return: the number of messages without ``\\Seen``."""

    def isWriteable() -> bool:
        """Whether flags and messages may change."""

    def destroy() -> None:
        """Called when the mailbox is deleted."""

    def requestStatus(names: list[str]) -> dict[str, int]:
        """:return: ``STATUS`` item -> value."""

    def addListener(listener: Any) -> None:
        """Tell ``listener`` (an :class:`IMailboxListener`) about changes."""

    def removeListener(listener: Any) -> None:
        """Stop telling ``listener``."""

    def addMessage(message: Any, flags: Any = (), date: Any = None) -> Any:
        """Add a message (a binary file); :return: (a Deferred of) its UID."""

    def expunge() -> Any:
        """Remove the messages flagged ``\\Deleted``; :return: their message numbers."""

    def fetch(messages: Any, uid: bool) -> Any:
        """:return: ``(message number, IMessage)`` pairs for ``messages``."""

    def store(messages: Any, flags: Any, mode: int, uid: bool) -> Any:
        """Change flags (``mode`` 1 add, -1 remove, 0 replace); :return: number -> flags."""


class IAccount(Interface):
    def addMailbox(name: str, mbox: Any = None) -> Any:
        """Add a mailbox (a new empty one when ``mbox`` is ``None``)."""

    def create(pathspec: str) -> Any:
        """Create a mailbox and its missing parents; :return: success."""

    def select(name: str, rw: bool = True) -> Any:
        """:return: the mailbox ``name``, or ``None``."""

    def delete(name: str) -> Any:
        """Delete a mailbox."""

    def rename(oldname: str, newname: str) -> Any:
        """Rename a mailbox (and its children)."""

    def isSubscribed(name: str) -> Any:
        """Whether the user subscribed to ``name``."""

    def subscribe(name: str) -> Any:
        """Subscribe to ``name``."""

    def unsubscribe(name: str) -> Any:
        """Unsubscribe from ``name``."""

    def listMailboxes(ref: str, wildcard: str) -> Any:
        """:return: ``(name, mailbox)`` pairs matching ``ref + wildcard``."""


#: ``end`` not given (one number), as opposed to ``None`` (``*``).
_SINGLE: Any = object()


class MessageSet:
    """Message numbers or UIDs as ranges (Twisted's ``imap4.MessageSet``); ``None`` as an
    end stands for ``*``, resolved through :attr:`last`. Never expanded up front, so
    ``1:4294967295`` is as cheap as ``1``.
    """

    def __init__(self, start: int | None = None, end: Any = _SINGLE) -> None:
        self.ranges: list[tuple[int | None, int | None]] = []
        self._last: int | None = None
        if start is not None:
            self.add(start, end)

    @classmethod
    def fromRanges(cls, ranges: tuple[Range, ...]) -> MessageSet:
        result = cls()
        for r in ranges:
            result.ranges.append((r.low, r.high))
        return result

    def add(self, start: int | None, end: Any = _SINGLE) -> None:
        """Add ``start:end``; ``end`` left out adds ``start`` alone, ``None`` means ``*``."""
        self.ranges.append((start, start if end is _SINGLE else end))

    @property
    def last(self) -> int | None:
        """The number ``*`` stands for."""
        return self._last

    @last.setter
    def last(self, value: int) -> None:
        self._last = value

    def resolved(self) -> list[tuple[int, int]]:
        """The ranges with ``*`` replaced and each range ordered."""
        last = self._last if self._last is not None else 0
        out = []
        for low, high in self.ranges:
            a = last if low is None else low
            b = last if high is None else high
            out.append((min(a, b), max(a, b)))
        return out

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and any(a <= value <= b for a, b in self.resolved())

    def __iter__(self) -> Iterator[int]:
        seen: set[int] = set()
        for a, b in sorted(self.resolved()):
            for n in range(a, b + 1):
                if n not in seen:
                    seen.add(n)
                    yield n

    def within(self, low: int, high: int) -> list[int]:
        """The numbers of the set between ``low`` and ``high``, in order (cheap for huge
        ranges)."""
        out: set[int] = set()
        for a, b in self.resolved():
            out.update(range(max(a, low), min(b, high) + 1))
        return sorted(out)

    def __str__(self) -> str:
        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges)

    def __repr__(self) -> str:
        return f"MessageSet({self.ranges!r})"


# -- an in-memory account ------------------------------------------------------------------


@implementer(IMessage, IRawMessage)
class MemoryMessage:
    """A message in a :class:`MemoryMailbox`."""

    def __init__(self, raw: bytes, flags: list[bytes], date: float, uid: int) -> None:
        self.raw = raw
        self.flags = list(flags)
        self.date = date
        self.uid = uid

    def getRawMessage(self) -> bytes:
        return self.raw

    def getUID(self) -> int:
        return self.uid

    def getFlags(self) -> list[bytes]:
        return list(self.flags)

    def getInternalDate(self) -> bytes:
        return email.utils.formatdate(self.date).encode("ascii")

    def getHeaders(self, negate: bool, *names: bytes) -> dict[bytes, bytes]:
        return messageHeaders(self.raw, negate, names)

    def getBodyFile(self) -> Any:
        import io

        return io.BytesIO(_message.split(self.raw)[1])

    def getSize(self) -> int:
        return len(self.raw)

    def isMultipart(self) -> bool:
        return _message.headers(self.raw).get_content_maintype() == "multipart"

    def getSubPart(self, part: int) -> Any:
        data = _message.section(self.raw, Section((part + 1,)))
        if data is None:
            raise IndexError(part)
        return MemoryMessage(data, [], self.date, 0)


def messageHeaders(raw: bytes, negate: bool, names: tuple[bytes, ...]) -> dict[bytes, bytes]:
    wanted = {n.lower() for n in names}
    out: dict[bytes, bytes] = {}
    for key, value in _message.headers(raw).items():
        name = key.lower().encode("ascii", "replace")
        if not names or (name in wanted) != negate:
            out[name] = str(value).encode("utf-8", "surrogateescape")
    return out


class ListMailbox:
    """What mailboxes keeping their messages in a list (``messages``, in UID order) share:
    counts, UIDs, status, listeners."""

    delimiter = b"."
    messages: list[Any]
    uidValidity: int
    uidNext: int
    writeable: bool
    listeners: list[Any]

    def getFlags(self) -> list[bytes]:
        return [b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen", b"\\Draft"]

    def getHierarchicalDelimiter(self) -> bytes:
        return self.delimiter

    def getUIDValidity(self) -> int:
        return self.uidValidity

    def getUIDNext(self) -> int:
        return self.uidNext

    def getUID(self, message: int) -> int:
        return int(self.messages[message - 1].getUID())

    def getMessageCount(self) -> int:
        return len(self.messages)

    def getRecentCount(self) -> int:
        return 0

    def getUnseenCount(self) -> int:
        return sum(1 for m in self.messages if b"\\Seen" not in m.getFlags())

    def isWriteable(self) -> bool:
        return self.writeable

    def destroy(self) -> None:
        self.messages = []

    def requestStatus(self, names: list[str]) -> dict[str, int]:
        return statusOf(self, names)

    def addListener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def removeListener(self, listener: Any) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def _announce(self, recent: int | None = None) -> None:
        """Tell listeners the message count (and the recent count, if known) changed."""
        for listener in list(self.listeners):
            listener.newMessages(len(self.messages), recent)

    def fetch(self, messages: MessageSet, uid: bool) -> list[tuple[int, Any]]:
        return selectMessages(self.messages, messages, uid)


@implementer(IMailbox)
class MemoryMailbox(ListMailbox):
    """A mailbox in memory, with any flags and keywords."""

    def __init__(self) -> None:
        self.messages: list[MemoryMessage] = []
        self.uidValidity = int(time.time())
        self.uidNext = 1
        self.listeners: list[Any] = []
        self.writeable = True

    def addMessage(self, message: Any, flags: Any = (), date: Any = None) -> int:
        raw = message.read()
        when = date.timestamp() if isinstance(date, datetime.datetime) else time.time()
        uid = self.uidNext
        self.uidNext += 1
        self.messages.append(MemoryMessage(raw, list(flags), when, uid))
        self._announce()
        return uid

    def expunge(self, uids: Any = None) -> list[int]:
        removed = []
        keep = []
        for number, m in enumerate(self.messages, 1):
            if b"\\Deleted" in m.flags and (uids is None or m.uid in uids):
                removed.append(number)
            else:
                keep.append(m)
        self.messages = keep
        return removed

    def fetch(self, messages: MessageSet, uid: bool) -> list[tuple[int, Any]]:
        return selectMessages(self.messages, messages, uid)

    def store(
        self, messages: MessageSet, flags: Any, mode: int, uid: bool
    ) -> dict[int, list[bytes]]:
        result = {}
        for number, m in selectMessages(self.messages, messages, uid):
            m.flags = changeFlags(m.flags, flags, mode)
            result[number] = list(m.flags)
        return result


def selectMessages(messages: list[Any], wanted: MessageSet, uid: bool) -> list[tuple[int, Any]]:
    """The ``(number, message)`` pairs of ``messages`` (in UID order) that ``wanted``
    names, without expanding its ranges."""
    if not messages:
        return []
    if not uid:
        wanted.last = len(messages)
        return [(n, messages[n - 1]) for n in wanted.within(1, len(messages))]
    wanted.last = messages[-1].getUID()
    ranges = wanted.resolved()
    return [
        (n, m) for n, m in enumerate(messages, 1) if any(a <= m.getUID() <= b for a, b in ranges)
    ]


def changeFlags(current: list[bytes], flags: Any, mode: int) -> list[bytes]:
    """``current`` with ``flags`` added (1), removed (-1) or put instead (0); flag names
    compare case-insensitively."""
    given = [bytes(f) for f in flags]
    if mode == 0:
        return _unique(given)
    if mode > 0:
        return _unique(list(current) + given)
    drop = {f.lower() for f in given}
    return [f for f in current if f.lower() not in drop]


def _unique(flags: list[bytes]) -> list[bytes]:
    seen: set[bytes] = set()
    out = []
    for f in flags:
        if f.lower() not in seen:
            seen.add(f.lower())
            out.append(f)
    return out


def statusOf(mbox: Any, names: list[str]) -> dict[str, int]:
    values = {
        "MESSAGES": mbox.getMessageCount,
        "RECENT": mbox.getRecentCount,
        "UIDNEXT": mbox.getUIDNext,
        "UIDVALIDITY": mbox.getUIDValidity,
        "UNSEEN": mbox.getUnseenCount,
    }
    return {name: values[name]() for name in names if name in values}


@implementer(IAccount)
class MemoryAccount:
    """An account whose mailboxes live in memory (Twisted's ``MemoryAccount``); ``INBOX``
    exists from the start.

    :param name: The account's user name.
    """

    mailboxFactory = MemoryMailbox

    def __init__(self, name: Any = None) -> None:
        self.name = name
        self.mailboxes: dict[str, Any] = {}
        self.subscriptions: list[str] = []
        self.addMailbox("INBOX")

    def _key(self, name: str) -> str:
        return "INBOX" if name.upper() == "INBOX" else name

    def _emptyMailbox(self, name: str, id: int) -> Any:
        return self.mailboxFactory()

    def addMailbox(self, name: str, mbox: Any = None) -> Any:
        name = self._key(name)
        if name in self.mailboxes:
            raise MailboxCollision(name)
        if mbox is None:
            mbox = self._emptyMailbox(name, next(_ids))
        self.mailboxes[name] = mbox
        return mbox

    def create(self, pathspec: str) -> bool:
        parts = [p for p in pathspec.split(".") if p]
        if not parts:
            return False
        for i in range(1, len(parts) + 1):
            name = self._key(".".join(parts[:i]))
            if name not in self.mailboxes:
                self.addMailbox(name)
            elif i == len(parts):
                raise MailboxCollision(name)
        return True

    def select(self, name: str, rw: bool = True) -> Any:
        return self.mailboxes.get(self._key(name))

    def delete(self, name: str) -> None:
        name = self._key(name)
        if name == "INBOX":
            raise MailboxException("INBOX cannot be deleted")
        mbox = self.mailboxes.pop(name, None)
        if mbox is None:
            raise NoSuchMailbox(name)
        mbox.destroy()

    def rename(self, oldname: str, newname: str) -> None:
        oldname, newname = self._key(oldname), self._key(newname)
        if oldname not in self.mailboxes:
            raise NoSuchMailbox(oldname)
        if newname in self.mailboxes:
            raise MailboxCollision(newname)
        for name in list(self.mailboxes):
            if name == oldname or name.startswith(oldname + "."):
                self.mailboxes[newname + name[len(oldname) :]] = self.mailboxes.pop(name)
        if oldname == "INBOX":
            self.addMailbox("INBOX")

    def isSubscribed(self, name: str) -> bool:
        return self._key(name) in self.subscriptions

    def subscribe(self, name: str) -> None:
        if self._key(name) not in self.subscriptions:
            self.subscriptions.append(self._key(name))

    def unsubscribe(self, name: str) -> None:
        if self._key(name) not in self.subscriptions:
            raise MailboxException("not subscribed")
        self.subscriptions.remove(self._key(name))

    def listMailboxes(self, ref: str, wildcard: str) -> list[tuple[str, Any]]:
        pattern = ref + wildcard
        return [(n, m) for n, m in sorted(self.mailboxes.items()) if wildcardMatch(pattern, n, ".")]


_ids = itertools.count(1)


def wildcardMatch(pattern: str, name: str, delimiter: str) -> bool:
    """LIST patterns (RFC 3501 6.3.8): ``*`` matches anything, ``%`` anything but the
    delimiter. A set-of-positions simulation: time ``len(pattern) * len(name)`` at worst,
    never exponential (the ReDoS of GHSA-8pqf-f4m5-798g cannot happen)."""
    if pattern.upper().startswith("INBOX") and name == "INBOX":
        pattern = "INBOX" + pattern[5:]
    states = {0}
    states = _closure(states, pattern)
    for ch in name:
        nxt: set[int] = set()
        for i in states:
            if i >= len(pattern):
                continue
            p = pattern[i]
            if p == "*" or (p == "%" and ch != delimiter):
                nxt.add(i)
            elif p == ch:
                nxt.add(i + 1)
        if not nxt:
            return False
        states = _closure(nxt, pattern)
    return len(pattern) in states


def _closure(states: set[int], pattern: str) -> set[int]:
    out = set(states)
    for i in sorted(states):
        j = i
        while j < len(pattern) and pattern[j] in "*%":
            j += 1
            out.add(j)
    return out


# -- SEARCH -------------------------------------------------------------------------------


class _Candidate:
    """One message being searched; parses only what the query needs."""

    def __init__(self, number: int, message: Any) -> None:
        self.number = number
        self.message = message
        self._raw: bytes | None = None
        self._headers: Any = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = rawMessage(self.message)
        return self._raw

    @property
    def headers(self) -> Any:
        if self._headers is None:
            self._headers = _message.headers(self.raw)
        return self._headers


def rawMessage(message: Any) -> bytes:
    """The bytes of ``message``: exact for :class:`IRawMessage`, else rebuilt."""
    if IRawMessage.providedBy(message):
        return bytes(message.getRawMessage())
    headers = message.getHeaders(False)
    head = b"".join(k + b": " + v + b"\r\n" for k, v in headers.items())
    body = message.getBodyFile().read()
    return head + b"\r\n" + body


def _date(message: Any) -> datetime.date | None:
    value = message.getInternalDate()
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def matches(query: Any, c: _Candidate, uid: int, last: tuple[int, int]) -> bool:
    """Whether a message matches a SEARCH query tree (see ``glisten.mail._imap._search``).

    :param last: The largest message number and UID (what ``*`` stands for).
    """
    kind = query[0]
    if kind == "ALL":
        return True
    if kind == "AND":
        return all(matches(q, c, uid, last) for q in query[1])
    if kind == "OR":
        return matches(query[1], c, uid, last) or matches(query[2], c, uid, last)
    if kind == "NOT":
        return not matches(query[1], c, uid, last)
    if kind == "FLAG":
        flags = {f.upper() for f in c.message.getFlags()}
        return (query[1].encode() in flags) == query[2]
    if kind == "SET":
        s = MessageSet.fromRanges(query[1])
        s.last = last[1] if query[2] else last[0]
        return (uid if query[2] else c.number) in s
    if kind == "LARGER":
        return int(c.message.getSize()) > query[1]
    if kind == "SMALLER":
        return int(c.message.getSize()) < query[1]
    if kind == "HEADER":
        needle = query[2].lower().encode("utf-8")
        values = _message.headerValues(c.raw, query[1].encode("ascii", "replace"))
        # An empty string matches every message that has the field (RFC 3501 6.4.4).
        return any(needle in v.lower() for v in values)
    if kind in ("BODY", "TEXT"):
        needle = query[1].lower().encode("utf-8")
        haystack = c.raw if kind == "TEXT" else _message.split(c.raw)[1]
        return needle in haystack.lower()
    if kind == "DATE":
        if query[1] == "INTERNAL":
            day = _date(c.message)
        else:
            try:
                day = email.utils.parsedate_to_datetime(str(c.headers.get("date"))).date()
            except (TypeError, ValueError):
                day = None
        if day is None:
            return False
        op, when = query[2], query[3]
        return day < when if op == "BEFORE" else day == when if op == "ON" else day >= when
    return False


def search(pairs: Any, query: Any, uid: bool) -> list[int]:
    """:return: the numbers (or UIDs) of the messages among ``(number, message)`` pairs
    (a whole mailbox's, from ``fetch(1:*)``) that match ``query``."""
    pairs = list(pairs)
    if not pairs:
        return []
    last = (pairs[-1][0], pairs[-1][1].getUID())
    out = []
    for number, message in pairs:
        messageUID = message.getUID()
        if matches(query, _Candidate(number, message), messageUID, last):
            out.append(messageUID if uid else number)
    return out
