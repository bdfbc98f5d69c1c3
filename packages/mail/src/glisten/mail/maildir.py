"""Maildir folders (the maildir spec: ``tmp`` -> ``new`` -> ``cur``): delivery into them,
reading them as POP3 mailboxes (:class:`MaildirMailbox`) and IMAP4 accounts
(:class:`MaildirAccount`, :class:`MaildirFolder`), and the domain that keeps one
maildir per user (``glisten mail --maildirdbmdomain``), which is also the realm that logs
POP3 and IMAP4 users in to their maildir.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from typing import Any

from zope.interface import implementer

from glisten.cred import checkers, credentials, error
from glisten.cred import portal as cred_portal
from glisten.internet import defer
from glisten.mail import pop3, smtp
from glisten.mail._delivered import NotifyOnDelivery, submitNotice, successRequested
from glisten.mail._fsync import DurableFile, fsyncDirectory
from glisten.mail._maildirfolder import MaildirAccount, MaildirFolder
from glisten.mail.mail import IAliasableDomain, IDomain

_counter = itertools.count()


def _hostname() -> str:
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072")


def _generateMaildirName() -> str:
    """A unique file name per the maildir spec: ``seconds.M<usec>P<pid>Q<n>R<rand>.host``."""
    now = time.time()
    seconds = int(now)
    micro = int((now - seconds) * 1_000_000)
    rand = os.urandom(8).hex()
    return f"{seconds}.M{micro}P{os.getpid()}Q{next(_counter)}R{rand}.{_hostname()}"


def initializeMaildir(dir: str) -> None:
    """Create ``dir`` with ``cur``, ``new``, ``tmp`` (and ``.Trash``) if missing."""
    if not os.path.isdir(dir):
        os.makedirs(dir, 0o700, exist_ok=True)
    for sub in ("new", "cur", "tmp", ".Trash"):
        os.makedirs(os.path.join(dir, sub), 0o700, exist_ok=True)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(dir, ".Trash", sub), 0o700, exist_ok=True)


@implementer(smtp.IMessage)
class MaildirMessage:
    """One message being written into a maildir.

    Lines go to ``tmp/NAME``; at the end the file is fsynced, renamed into ``new/NAME`` and
    ``new`` fsynced, so the 250 only goes out once the message survives a crash.

    :param address: The recipient (for logs).
    :param fp: Unused (Twisted's signature); the file is opened here.
    :param name: Path of the temporary file.
    :param finalName: Path in ``new``.
    :param reactor: With a reactor, the fsyncs and the rename run in its thread pool.
    """

    def __init__(
        self, address: Any, fp: Any, name: str, finalName: str, reactor: Any = None
    ) -> None:
        self.address = address
        self.name = name
        self.finalName = finalName
        self._file = DurableFile(name, b"\n", reactor)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._file.size

    def lineReceived(self, line: bytes) -> None:
        self._file.writeLine(line)

    def eomReceived(self) -> defer.Deferred[bytes]:
        return self._file.commit(self._deliver)

    def _deliver(self) -> bytes:
        os.rename(self.name, self.finalName)
        fsyncDirectory(os.path.dirname(self.finalName))
        return self.finalName.encode()

    def connectionLost(self) -> None:
        self._file.discard()


def _uniqueName(filename: str) -> str:
    """The part of a maildir file name that never changes (flags follow ``:2,``)."""
    return filename.split(":", 1)[0]


def _findMessage(folder: str, unique: str) -> str | None:
    """:return: the current path of message ``unique`` in ``folder`` (another reader may
    have moved it from ``new`` to ``cur`` or changed its flags), or ``None`` if it is gone."""
    for sub in ("cur", "new"):
        try:
            names = os.listdir(os.path.join(folder, sub))
        except FileNotFoundError:
            continue
        for name in names:
            if name == unique or name.startswith(unique + ":"):
                return os.path.join(folder, sub, name)
    return None


@implementer(pop3.IMailbox)
class MaildirMailbox(pop3.Mailbox):
    """A maildir read through POP3: the messages in ``new`` and ``cur`` when the session
    starts, oldest first, numbered for the whole session (RFC 1939).

    Deleted messages are removed at :meth:`sync`; a message another reader (IMAP, another
    POP3 session) moved or removed meanwhile is looked up again, or skipped. Sizes are the
    sizes on disk (line ends as stored), as Twisted reports them. Unique ids are the
    maildir's unique names, so they survive flag changes and moves to ``cur``.

    :param path: The maildir (with ``new``, ``cur`` and ``tmp``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        entries: list[tuple[int, str, str, int]] = []
        for sub in ("new", "cur"):
            folder = os.path.join(path, sub)
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in names:
                if name.startswith("."):
                    continue
                full = os.path.join(folder, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                entries.append((st.st_mtime_ns, name, full, st.st_size))
        entries.sort()
        self.list = [full for _, _, full, _ in entries]
        self._sizes = [size for _, _, _, size in entries]
        self._unique = [_uniqueName(name) for _, name, _, _ in entries]
        self.deleted: set[int] = set()

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self.list):
            raise ValueError("no such message")
        return index

    def listMessages(self, index: int | None = None) -> Any:
        if index is None:
            return [0 if i in self.deleted else s for i, s in enumerate(self._sizes)]
        index = self._index(index)
        return 0 if index in self.deleted else self._sizes[index]

    def getMessage(self, index: int) -> Any:
        index = self._index(index)
        try:
            return open(self.list[index], "rb")
        except FileNotFoundError:
            found = _findMessage(self.path, self._unique[index])
            if found is None:
                raise ValueError("message removed by another session") from None
            self.list[index] = found
            return open(found, "rb")

    def getUidl(self, index: int) -> bytes:
        return self._unique[self._index(index)].encode("utf-8", "surrogateescape")

    def deleteMessage(self, index: int) -> None:
        self.deleted.add(self._index(index))

    def undeleteMessages(self) -> None:
        self.deleted.clear()

    def sync(self) -> None:
        """Remove the messages marked deleted (ones already gone are fine)."""
        removed = False
        for index in sorted(self.deleted):
            path: str | None = self.list[index]
            for _ in range(2):
                if path is None:
                    break
                try:
                    os.unlink(path)
                    removed = True
                    break
                except FileNotFoundError:
                    path = _findMessage(self.path, self._unique[index])
        self.deleted.clear()
        if removed:
            for sub in ("new", "cur"):
                fsyncDirectory(os.path.join(self.path, sub))


@implementer(pop3.IMailbox)
class StringListMailbox(pop3.Mailbox):
    """A read-only mailbox of messages in memory (Twisted's, for tests and examples)."""

    def __init__(self, msgs: list[bytes]) -> None:
        self.msgs = list(msgs)
        self.deleted: set[int] = set()

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self.msgs):
            raise ValueError("no such message")
        return index

    def listMessages(self, index: int | None = None) -> Any:
        if index is None:
            return [0 if i in self.deleted else len(m) for i, m in enumerate(self.msgs)]
        index = self._index(index)
        return 0 if index in self.deleted else len(self.msgs[index])

    def getMessage(self, index: int) -> Any:
        import io

        return io.BytesIO(self.msgs[self._index(index)])

    def getUidl(self, index: int) -> bytes:
        import hashlib

        return hashlib.sha1(self.msgs[self._index(index)]).hexdigest().encode("ascii")

    def deleteMessage(self, index: int) -> None:
        self.deleted.add(self._index(index))

    def undeleteMessages(self) -> None:
        self.deleted.clear()

    def sync(self) -> None:
        self.deleted.clear()


@implementer(IAliasableDomain, cred_portal.IRealm)
class AbstractMaildirDomain:
    """A domain whose users each have a maildir; subclasses say where
    (:meth:`userDirectory`).

    :ivar alias: Aliases of this domain's users (``{local part: alias}``), or ``None``.
    """

    def __init__(self, service: Any, root: str) -> None:
        self.root = root
        self.service = service
        self.alias: dict[str, Any] | None = None
        #: With a reactor, messages are committed in its thread pool (see MaildirMessage).
        self.reactor: Any = None

    def userDirectory(self, user: str) -> str | None:
        """:return: the maildir of ``user``, or ``None`` if there is no such user."""
        raise NotImplementedError

    def setAliasGroup(self, alias: dict[str, Any]) -> None:
        self.alias = alias

    def exists(self, user: smtp.User, memo: Any = None) -> Any:
        """:return: a callable making the :class:`MaildirMessage` for ``user``; when
            ``user`` asked for ``NOTIFY=SUCCESS``, the message queues an RFC 3464 ``Action:
            delivered`` notice for the sender once it is stored.

        :raises smtp.SMTPBadRcpt: if there is no such user (nor alias).
        """
        local = _localName(user)
        if self.userDirectory(local) is not None:
            request = successRequested(user)
            if request is None:
                return lambda: self.startMessage(local)
            service = self.service
            reporter = getattr(user.protocol, "host", None) or smtp.DNSNAME
            return lambda: NotifyOnDelivery(
                self.startMessage(local),
                request,
                lambda to, text: submitNotice(service, to, text),
                reporter,
            )
        if self.alias and local in self.alias:
            target = self.alias[local]
            return lambda: target.createMessageReceiver()
        raise smtp.SMTPBadRcpt(user)

    def startMessage(self, user: str) -> MaildirMessage:
        """:return: a new message for ``user``'s maildir."""
        folder = self.userDirectory(user)
        if folder is None:
            raise smtp.SMTPBadRcpt(user)
        name = _generateMaildirName()
        return MaildirMessage(
            user,
            None,
            os.path.join(folder, "tmp", name),
            os.path.join(folder, "new", name),
            self.reactor,
        )

    def willRelay(self, user: Any, protocol: Any) -> bool:
        return False

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """The realm of this domain's portal: a logged-in user gets their maildir.

        :raises NotImplementedError: when no asked-for interface is one a maildir provides
            (the realm contract).
        """
        name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else str(avatarId)
        folder = self.userDirectory(name.lower())
        if folder is None:
            raise error.UnauthorizedLogin("no such user")
        if pop3.IMailbox in interfaces:
            return pop3.IMailbox, MaildirMailbox(folder), lambda: None
        from glisten.mail import imap4

        if imap4.IAccount in interfaces:
            return imap4.IAccount, MaildirAccount(folder), lambda: None
        raise NotImplementedError("maildir avatars are pop3.IMailbox or imap4.IAccount")

    def addUser(self, user: str, password: str) -> None:
        raise NotImplementedError

    def getCredentialsCheckers(self) -> list[Any]:
        raise NotImplementedError


def _localName(user: smtp.User) -> str:
    from glisten.mail._smtp import Mailbox

    return Mailbox(user.dest.local, b"").unquotedLocal.decode("utf-8", "replace").lower()


_DUMMY: list[bytes] = []


def _dummyHash() -> bytes:
    """A hash to check unknown users against, so they cost as much as known ones."""
    if not _DUMMY:
        _DUMMY.append(checkers.scryptHash(os.urandom(16)))
    return _DUMMY[0]


@implementer(checkers.ICredentialsChecker)
class _HashedPasswordChecker:
    """Checks passwords against the scrypt hashes of a :class:`MaildirDirdbmDomain`."""

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(self, domain: MaildirDirdbmDomain) -> None:
        self.domain = domain

    def requestAvatarId(self, creds: Any) -> defer.Deferred[Any]:
        name = creds.username.decode("utf-8", "replace").lower()
        local, _, domain = name.partition("@")
        stored = self.domain._passwordHash(local)
        ok = checkers.scryptVerify(creds.password, stored or _dummyHash())
        if ok and stored is not None:
            return defer.succeed(local.encode("utf-8"))
        return defer.fail(error.UnauthorizedLogin("Invalid credentials"))


class MaildirDirdbmDomain(AbstractMaildirDomain):
    """A domain of users with maildirs under ``root`` and scrypt-hashed passwords in
    ``root/passwords`` (one file per user, as Twisted's dirdbm: never clear text).

    :param postmaster: Send mail for unknown users to ``postmaster``'s maildir.
    """

    def __init__(self, service: Any, root: str, postmaster: bool = False) -> None:
        super().__init__(service, root)
        os.makedirs(root, 0o700, exist_ok=True)
        self.dbm = os.path.join(root, "passwords")
        os.makedirs(self.dbm, 0o700, exist_ok=True)
        self.postmaster = postmaster

    def _valid(self, user: str) -> bool:
        return bool(user) and "/" not in user and user not in (".", "..") and "\0" not in user

    def _passwordHash(self, user: str) -> bytes | None:
        if not self._valid(user):
            return None
        try:
            with open(os.path.join(self.dbm, user), "rb") as f:
                return f.read().strip()
        except OSError:
            return None

    def userDirectory(self, name: str) -> str | None:
        """The user's maildir.

        :return: the maildir (made on first use), or ``postmaster``'s if configured, or
            ``None``.
        """
        if self._valid(name) and os.path.exists(os.path.join(self.dbm, name)):
            folder = os.path.join(self.root, name)
            initializeMaildir(folder)
            return folder
        if self.postmaster:
            folder = os.path.join(self.root, "postmaster")
            initializeMaildir(folder)
            return folder
        return None

    def addUser(self, user: str, password: str) -> None:
        """Add ``user`` (stored with an scrypt hash of ``password``)."""
        user = user.lower()
        if not self._valid(user):
            raise ValueError("invalid user name")
        from glisten.mail._fsync import writeDurably

        writeDurably(os.path.join(self.dbm, user), checkers.scryptHash(password))
        initializeMaildir(os.path.join(self.root, user))

    def getCredentialsCheckers(self) -> list[Any]:
        return [_HashedPasswordChecker(self)]


__all__ = [
    "AbstractMaildirDomain",
    "IDomain",
    "MaildirAccount",
    "MaildirDirdbmDomain",
    "MaildirFolder",
    "MaildirMailbox",
    "MaildirMessage",
    "StringListMailbox",
    "_generateMaildirName",
    "initializeMaildir",
]
