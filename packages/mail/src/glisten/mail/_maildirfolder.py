"""Maildir folders as IMAP4 mailboxes: Maildir++ sub-folders (``.Work.Projects``), flags in
the file names' info (``:2,FRS``), and UIDs that survive restarts.

UIDs live in ``glisten-uidlist`` in each folder (``UIDVALIDITY`` and the next UID, then one
``uid unique-name`` line per message), rewritten atomically under an exclusive ``flock``,
so IMAP sessions in several processes, POP3 and delivery may work on one folder at once:
a message is never given two UIDs, and one UID never names two messages.
"""

from __future__ import annotations

import datetime
import email.utils
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zope.interface import implementer

from glisten.mail._fsync import fsyncDirectory, writeDurably
from glisten.mail._imap import (
    MailboxNameError,
    Section,
    _message,
    decodeMailboxName,
    encodeMailboxName,
)
from glisten.mail._imapmodel import (
    IAccount,
    IllegalMailboxEncoding,
    IMailbox,
    IMessage,
    IRawMessage,
    ListMailbox,
    MailboxCollision,
    MailboxException,
    MessageSet,
    NoSuchMailbox,
    changeFlags,
    messageHeaders,
    selectMessages,
    wildcardMatch,
)
from glisten.mail._pop3 import toCRLF

#: Maildir info letters and the IMAP flags they stand for.
_LETTERS = {
    "D": b"\\Draft",
    "F": b"\\Flagged",
    "R": b"\\Answered",
    "S": b"\\Seen",
    "T": b"\\Deleted",
}
_FLAGS = {flag.lower(): letter for letter, flag in _LETTERS.items()}
_UIDLIST = "glisten-uidlist"
_RECENT = b"\\Recent"


_KEYWORDS = "dovecot-keywords"
_KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def flagsFromName(name: str, keywords: dict[str, bytes] | None = None) -> list[bytes]:
    """The flags in a maildir file name's ``:2,`` info: system flags in capitals, the
    folder's keywords (``letter -> keyword``) in small letters."""
    _, sep, info = name.partition(":2,")
    if not sep:
        return []
    letters = sorted(set(info))
    out = [_LETTERS[c] for c in letters if c in _LETTERS]
    if keywords:
        out += [keywords[c] for c in letters if c in keywords]
    return out


def nameWithFlags(unique: str, flags: list[bytes], letters: dict[bytes, str] | None = None) -> str:
    """The file name of message ``unique`` carrying ``flags``: system flags, and the
    keywords that ``letters`` (lower-case keyword -> letter) gives a letter."""
    known = {**_FLAGS, **(letters or {})}
    chosen = sorted({known[f.lower()] for f in flags if f.lower() in known})
    return unique + ":2," + "".join(chosen)


def _readKeywords(path: str) -> dict[str, bytes]:
    """A folder's keyword letters from ``dovecot-keywords`` (``N keyword`` lines, N from 0
    for ``a``), the file Dovecot keeps, so both servers agree on what a letter means."""
    try:
        with open(os.path.join(path, _KEYWORDS), "rb") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    found: dict[str, bytes] = {}
    for line in lines:
        number, _, keyword = line.partition(b" ")
        if number.isdigit() and int(number) < len(_KEYWORD_LETTERS) and _validKeyword(keyword):
            found[_KEYWORD_LETTERS[int(number)]] = keyword
    return found


def _validKeyword(keyword: bytes) -> bool:
    """An IMAP keyword that ``dovecot-keywords`` can hold (an atom, 7-bit)."""
    return bool(keyword) and all(0x21 <= c < 0x7F and c not in b'(){%*"\\]' for c in keyword)


@contextmanager
def _locked(folder: str) -> Iterator[None]:
    fd = os.open(os.path.join(folder, _UIDLIST + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@implementer(IMessage, IRawMessage)
class MaildirFolderMessage:
    """One message of a :class:`MaildirFolder`."""

    def __init__(self, folder: MaildirFolder, uid: int, unique: str, path: str) -> None:
        self.folder = folder
        self.uid = uid
        self.unique = unique
        self.path = path
        self.flags = flagsFromName(os.path.basename(path), folder.keywords)
        self._size: int | None = None

    def getRawMessage(self) -> bytes:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            found = self.folder._find(self.unique)
            if found is None:
                return b""
            self.path = found
            with open(found, "rb") as f:
                data = f.read()
        raw = toCRLF(data)
        self._size = len(raw)
        return raw

    def getUID(self) -> int:
        return self.uid

    def getFlags(self) -> list[bytes]:
        if self.uid in self.folder.recent:
            return [*self.flags, _RECENT]
        return list(self.flags)

    def getInternalDate(self) -> bytes:
        try:
            when = os.stat(self.path).st_mtime
        except OSError:
            when = time.time()
        return email.utils.formatdate(when).encode("ascii")

    def getSize(self) -> int:
        if self._size is None:
            self.getRawMessage()
        assert self._size is not None
        return self._size

    def getHeaders(self, negate: bool, *names: bytes) -> dict[bytes, bytes]:
        return messageHeaders(self.getRawMessage(), negate, names)

    def getBodyFile(self) -> Any:
        import io

        return io.BytesIO(_message.split(self.getRawMessage())[1])

    def isMultipart(self) -> bool:
        return _message.headers(self.getRawMessage()).get_content_maintype() == "multipart"

    def getSubPart(self, part: int) -> Any:
        from glisten.mail._imapmodel import MemoryMessage

        data = _message.section(self.getRawMessage(), Section((part + 1,)))
        if data is None:
            raise IndexError(part)
        return MemoryMessage(data, [], 0.0, 0)


@implementer(IMailbox)
class MaildirFolder(ListMailbox):
    """A maildir (or Maildir++ sub-folder) opened as an IMAP4 mailbox.

    Message numbers are this session's view: new messages are appended by
    :meth:`refresh`; messages removed by others stay numbered until this session's next
    ``EXPUNGE`` (and are skipped by ``FETCH``).

    ``\\Recent`` (RFC 3501 2.3.2): the UID list records the first UID no session has
    seen yet. The first read-write session that selects the folder (one with a listener)
    claims the messages from there on: they are recent in it and in no other session.
    Read-only sessions (``EXAMINE``, ``STATUS``) see the unclaimed ones as recent and
    claim nothing.

    :param path: The maildir.
    :param writeable: Opened with ``SELECT`` rather than ``EXAMINE``.
    """

    def __init__(self, path: str, writeable: bool = True) -> None:
        self.path = path
        self.writeable = writeable
        self.listeners: list[Any] = []
        self.messages: list[MaildirFolderMessage] = []
        self.uidValidity = 0
        self.uidNext = 1
        #: UIDs recent in this session.
        self.recent: set[int] = set()
        self._claimed: set[int] = set()
        #: Keyword letters (``a``-``z``) and the keywords they stand for.
        self.keywords: dict[str, bytes] = {}
        self.refresh()

    # -- the UID list ------------------------------------------------------------------

    def _scan(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for sub in ("new", "cur"):
            folder = os.path.join(self.path, sub)
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in names:
                if not name.startswith("."):
                    found[name.split(":", 1)[0]] = os.path.join(folder, name)
        return found

    def _find(self, unique: str) -> str | None:
        return self._scan().get(unique)

    def refresh(self) -> None:
        """Look at the folder again: give UIDs to new messages (and tell listeners)."""
        with _locked(self.path):
            self.keywords = _readKeywords(self.path)
            files = self._scan()
            listPath = os.path.join(self.path, _UIDLIST)
            validity, nextUID, firstRecent, uids = self._readList(listPath)
            changed = validity == 0
            if validity == 0:
                validity = int(time.time())
                firstRecent = 1
            known = {u: uid for uid, u in uids}
            fresh = sorted(
                (u for u in files if u not in known),
                key=lambda u: (self._mtime(files[u]), u),
            )
            for unique in fresh:
                known[unique] = nextUID
                nextUID += 1
                changed = True
            if any(u not in files for u in known):
                known = {u: uid for u, uid in known.items() if u in files}
                changed = True
            unclaimed = {uid for uid in known.values() if uid >= firstRecent}
            if self.writeable and self.listeners:
                self._claimed |= unclaimed
                self.recent = self._claimed
                if firstRecent != nextUID:
                    firstRecent = nextUID
                    changed = True
            else:
                self.recent = unclaimed
            if changed:
                lines = [f"1 {validity} {nextUID} {firstRecent}"]
                lines += [f"{uid} {u}" for u, uid in sorted(known.items(), key=lambda kv: kv[1])]
                writeDurably(listPath, ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
        self.uidValidity = validity
        self.uidNext = nextUID
        last = self.messages[-1].uid if self.messages else 0
        byUID = {m.uid: m for m in self.messages}
        for unique, uid in known.items():
            if uid in byUID:
                message = byUID[uid]
                message.path = files[unique]
                message.flags = _merge(
                    message.flags,
                    flagsFromName(os.path.basename(files[unique]), self.keywords),
                    self._storable(),
                )
        added = sorted((uid, u) for u, uid in known.items() if uid > last)
        for uid, unique in added:
            self.messages.append(MaildirFolderMessage(self, uid, unique, files[unique]))
        if added:
            self._announce(self.getRecentCount())

    @staticmethod
    def _mtime(path: str) -> float:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return 0.0

    @staticmethod
    def _readList(path: str) -> tuple[int, int, int, list[tuple[int, str]]]:
        """:return: UIDVALIDITY, the next UID, the first UID no session claimed as recent
        and the ``(uid, unique name)`` pairs."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return 0, 1, 1, []
        try:
            header = lines[0].split()
            _, validity, nextUID = header[:3]
            # Lists written before \\Recent was kept have three fields: nothing is recent.
            firstRecent = int(header[3]) if len(header) > 3 else int(nextUID)
            uids = []
            for line in lines[1:]:
                uid, unique = line.split(" ", 1)
                uids.append((int(uid), unique))
            return int(validity), int(nextUID), firstRecent, uids
        except (IndexError, ValueError):
            # A damaged list: start over with a new UIDVALIDITY, as RFC 3501 2.3.1.1 asks.
            return 0, 1, 1, []

    # -- IMailbox --------------------------------------------------------------------------

    def getFlags(self) -> list[bytes]:
        return [*_LETTERS.values(), *(self.keywords[c] for c in sorted(self.keywords))]

    def getPermanentFlags(self) -> list[bytes]:
        """The flags kept across sessions; ``\\*`` while keyword letters are free."""
        room = [b"\\*"] if len(self.keywords) < len(_KEYWORD_LETTERS) else []
        return self.getFlags() + room

    def _storable(self) -> dict[bytes, str]:
        """Lower-case keyword -> its letter."""
        return {keyword.lower(): letter for letter, keyword in self.keywords.items()}

    def _letters(self, flags: list[bytes]) -> dict[bytes, str]:
        """Give the keywords among ``flags`` letters (while any are free, in
        ``dovecot-keywords`` under the folder lock) and :return: :meth:`_storable`."""
        system = set(_FLAGS) | {_RECENT.lower()}
        wanted = [
            f
            for f in flags
            if f.lower() not in system and not f.startswith(b"\\") and _validKeyword(f)
        ]
        if all(f.lower() in self._storable() for f in wanted):
            return self._storable()
        with _locked(self.path):
            self.keywords = _readKeywords(self.path)
            storable = self._storable()
            free = [c for c in _KEYWORD_LETTERS if c not in self.keywords]
            added = False
            for keyword in wanted:
                if keyword.lower() not in storable and free:
                    letter = free.pop(0)
                    self.keywords[letter] = keyword
                    storable[keyword.lower()] = letter
                    added = True
            if added:
                lines = (
                    b"%d %s\n" % (_KEYWORD_LETTERS.index(c), self.keywords[c])
                    for c in sorted(self.keywords)
                )
                writeDurably(os.path.join(self.path, _KEYWORDS), b"".join(lines))
        return storable

    def getRecentCount(self) -> int:
        return sum(1 for m in self.messages if m.uid in self.recent)

    def addListener(self, listener: Any) -> None:
        """A session selected the folder: from now on it claims new messages as recent."""
        super().addListener(listener)
        self.refresh()

    def addMessage(self, message: Any, flags: Any = (), date: Any = None) -> int:
        """Deliver safely (``tmp`` -> ``cur`` with the flags, fsynced) and :return: the
        new message's UID."""
        from glisten.mail.maildir import _generateMaildirName

        data = message.read().replace(b"\r\n", b"\n")
        unique = _generateMaildirName()
        tmp = os.path.join(self.path, "tmp", unique)
        writeDurably(tmp, data)
        if isinstance(date, datetime.datetime):
            stamp = date.timestamp()
            os.utime(tmp, (stamp, stamp))
        given = [bytes(f) for f in flags]
        final = os.path.join(self.path, "cur", nameWithFlags(unique, given, self._letters(given)))
        os.rename(tmp, final)
        fsyncDirectory(os.path.join(self.path, "cur"))
        self.refresh()
        for m in reversed(self.messages):
            if m.unique == unique:
                return m.uid
        raise MailboxException("the message vanished while it was added")

    def fetch(self, messages: MessageSet, uid: bool) -> list[tuple[int, Any]]:
        # Messages removed by another session are skipped.
        return [
            (n, m)
            for n, m in selectMessages(self.messages, messages, uid)
            if os.path.exists(m.path) or self._relocate(m)
        ]

    def _relocate(self, message: MaildirFolderMessage) -> bool:
        found = self._find(message.unique)
        if found is None:
            return False
        message.path = found
        return True

    def store(
        self, messages: MessageSet, flags: Any, mode: int, uid: bool
    ) -> dict[int, list[bytes]]:
        result = {}
        # \\Recent is the server's to set (RFC 3501 2.3.2), never a client's.
        flags = [bytes(f) for f in flags if bytes(f).lower() != _RECENT.lower()]
        self._letters(flags)
        for number, m in selectMessages(self.messages, messages, uid):
            m.flags = changeFlags(m.flags, flags, mode)
            self._rename(m)
            # As stored: system flags first, keywords spelled as the folder first saw them.
            onDisk = flagsFromName(os.path.basename(m.path), self.keywords)
            m.flags = _merge(m.flags, onDisk, self._storable())
            result[number] = m.getFlags()
        return result

    def _rename(self, m: MaildirFolderMessage) -> None:
        target = os.path.join(self.path, "cur", nameWithFlags(m.unique, m.flags, self._storable()))
        if target == m.path:
            return
        for _ in range(2):
            try:
                os.rename(m.path, target)
                m.path = target
                return
            except FileNotFoundError:
                if not self._relocate(m):
                    return

    def expunge(self, uids: Any = None) -> list[int]:
        """Remove the messages flagged ``\\Deleted`` (only those in ``uids`` if given).

        :return: their message numbers.
        """
        removed = []
        keep = []
        for number, m in enumerate(self.messages, 1):
            if b"\\deleted" in {f.lower() for f in m.flags} and (uids is None or m.uid in uids):
                removed.append(number)
                try:
                    os.unlink(m.path)
                except FileNotFoundError:
                    found = self._find(m.unique)
                    if found is not None:
                        os.unlink(found)
            else:
                keep.append(m)
        self.messages = keep
        if removed:
            fsyncDirectory(os.path.join(self.path, "cur"))
        return removed


def _merge(mine: list[bytes], onDisk: list[bytes], storable: dict[bytes, str]) -> list[bytes]:
    """The flags on disk, plus this session's keywords that have no letter (beyond the
    26 a folder can store)."""
    system = {f.lower() for f in _LETTERS.values()}
    return onDisk + [f for f in mine if f.lower() not in system and f.lower() not in storable]


def _validName(name: str) -> bool:
    return (
        bool(name)
        and all(ord(c) >= 0x20 and ord(c) != 0x7F and not 0xD800 <= ord(c) <= 0xDFFF for c in name)
        and len(encodeMailboxName(name)) <= 250
        and "/" not in name
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )


def _fromDisk(entry: str) -> str | None:
    """The mailbox name a Maildir++ folder name (modified UTF-7, as Courier and Dovecot
    write them) spells, or ``None`` for a name that is not one."""
    try:
        name = decodeMailboxName(entry.encode("ascii"))
    except (UnicodeEncodeError, MailboxNameError):
        return None
    return name if _validName(name) else None


@implementer(IAccount)
class MaildirAccount:
    """One user's maildir as an IMAP4 account: ``INBOX`` is the maildir itself, other
    mailboxes are Maildir++ folders (``Work.Projects`` in ``.Work.Projects``);
    subscriptions are kept in ``subscriptions``.

    :param root: The user's maildir.
    """

    def __init__(self, root: str) -> None:
        self.root = root

    def _path(self, name: str) -> str:
        if name.upper() == "INBOX":
            return self.root
        if not _validName(name):
            raise IllegalMailboxEncoding("Invalid mailbox name")
        return os.path.join(self.root, "." + encodeMailboxName(name).decode("ascii"))

    def _exists(self, name: str) -> bool:
        return os.path.isdir(os.path.join(self._path(name), "cur"))

    def _names(self) -> list[str]:
        names = ["INBOX"]
        for entry in sorted(os.listdir(self.root)):
            name = _fromDisk(entry[1:]) if entry.startswith(".") else None
            if name is not None and os.path.isdir(os.path.join(self.root, entry, "cur")):
                names.append(name)
        return names

    def addMailbox(self, name: str, mbox: Any = None) -> Any:
        if self._exists(name):
            raise MailboxCollision("Mailbox exists")
        path = self._path(name)
        for sub in ("", "new", "cur", "tmp"):
            os.makedirs(os.path.join(path, sub), 0o700, exist_ok=True)
        return None

    def create(self, pathspec: str) -> bool:
        parts = pathspec.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if not self._exists(name):
                self.addMailbox(name)
            elif i == len(parts):
                raise MailboxCollision("Mailbox exists")
        return True

    def select(self, name: str, rw: bool = True) -> Any:
        if not self._exists(name):
            return None
        return MaildirFolder(self._path(name), rw)

    def delete(self, name: str) -> None:
        if name.upper() == "INBOX":
            raise MailboxException("INBOX cannot be deleted")
        if not self._exists(name):
            raise NoSuchMailbox("No such mailbox")
        shutil.rmtree(self._path(name))
        self._setSubscribed(name, False)

    def rename(self, oldname: str, newname: str) -> None:
        if oldname.upper() == "INBOX":
            raise MailboxException("Renaming INBOX is not supported")
        if not self._exists(oldname):
            raise NoSuchMailbox("No such mailbox")
        if self._exists(newname):
            raise MailboxCollision("Mailbox exists")
        for name in self._names():
            if name == oldname or name.startswith(oldname + "."):
                os.rename(self._path(name), self._path(newname + name[len(oldname) :]))

    def _subscriptions(self) -> list[str]:
        try:
            with open(os.path.join(self.root, "subscriptions"), encoding="ascii") as f:
                lines = f.read().splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return []
        names = (_fromDisk(line) for line in lines if line)
        return [name for name in names if name is not None]

    def _setSubscribed(self, name: str, on: bool) -> None:
        current = self._subscriptions()
        wanted = [n for n in current if n != name] + ([name] if on else [])
        if wanted != current:
            writeDurably(
                os.path.join(self.root, "subscriptions"),
                b"".join(encodeMailboxName(n) + b"\n" for n in wanted),
            )

    def isSubscribed(self, name: str) -> bool:
        return name in self._subscriptions()

    def subscribe(self, name: str) -> None:
        self._path(name)
        self._setSubscribed(name, True)

    def unsubscribe(self, name: str) -> None:
        self._setSubscribed(name, False)

    def listMailboxes(self, ref: str, wildcard: str) -> list[tuple[str, Any]]:
        pattern = ref + wildcard
        return [(name, None) for name in self._names() if wildcardMatch(pattern, name, ".")]
