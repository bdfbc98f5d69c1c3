"""
Password changes through ``glisten.cred`` (RFC 4252 section 8): the credentials a change
request carries, and password databases that expire and change passwords, stored as scrypt
hashes. Re-exported by :mod:`glisten.conch.checkers`.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from zope.interface import Attribute, Interface, implementer

from glisten.conch.error import PasswordChangeRequired
from glisten.cred import credentials as _credentials
from glisten.cred.checkers import ICredentialsChecker, scryptHash, scryptVerify
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.defer import Deferred, fail, succeed
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "IUsernamePasswordChange",
    "InMemoryPasswordDatabase",
    "ScryptPasswordFile",
    "UsernamePasswordChange",
]

_DAY = 86400
_MAX_LINE = 4096


class IUsernamePasswordChange(Interface):
    """
    A request to change a password: the user name, the current password and the new one
    (an SSH ``password`` request with its change flag set, RFC 4252 section 8).

    A checker for these credentials checks ``password``, and when it is right stores
    ``newPassword`` in its place and returns the avatar ID. It raises
    :class:`~glisten.conch.error.PasswordChangeRequired` when the new password is not
    acceptable (its ``prompt`` says why) and
    :class:`~glisten.cred.error.UnauthorizedLogin` when the current password is wrong.
    """

    username = Attribute("The user name (bytes).")
    password = Attribute("The current password (bytes).")
    newPassword = Attribute("The new password (bytes).")


@implementer(IUsernamePasswordChange)
class UsernamePasswordChange:
    """The credentials of a password change request."""

    def __init__(self, username: bytes, password: bytes, newPassword: bytes) -> None:
        self.username = username
        self.password = password
        self.newPassword = newPassword


def _refusal(old: bytes, new: bytes, minimumLength: int) -> str | None:
    """Why ``new`` may not replace ``old``, or ``None`` when it may."""
    if len(new) < minimumLength:
        return f"The new password is too short (at least {minimumLength} characters)."
    if new == old:
        return "The new password must differ from the old one."
    if b"\x00" in new or b"\n" in new:
        return "The new password holds a character that is not allowed."
    return None


def _asBytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


class _Entry:
    """A stored password: its hash, the day it was last changed (0: change at the next
    login) and its maximum age in days (``None``: no maximum)."""

    __slots__ = ("hashed", "lastChange", "maxDays")

    def __init__(self, hashed: bytes, lastChange: int | None, maxDays: int | None) -> None:
        self.hashed = hashed
        self.lastChange = lastChange
        self.maxDays = maxDays

    def mustChange(self, now: float) -> bool:
        if self.lastChange == 0:
            return True
        if self.lastChange is None or self.maxDays is None:
            return False
        return now // _DAY >= self.lastChange + self.maxDays


@functools.cache
def _dummyHash(n: int) -> bytes:
    """A hash no password is checked against but unknown users' (made once, on first use)."""
    return scryptHash(b"", n=n, salt=b"\x00" * 16)


class _PasswordChecker(ABC):
    """What both databases share: checking a password or a change request against the
    stored entries, with a dummy hash for unknown users so that they cost the same."""

    credentialInterfaces = (_credentials.IUsernamePassword, IUsernamePasswordChange)
    _log = Logger()

    def __init__(self, minimumLength: int, clock: Callable[[], float], n: int) -> None:
        self.minimumLength = minimumLength
        self._clock = clock
        self._n = n

    def _hash(self, password: bytes) -> bytes:
        return scryptHash(password, n=self._n)

    @abstractmethod
    def _lookup(self, username: bytes) -> _Entry | None:
        """The user's entry, or ``None``.

        :raises OSError: the database cannot be read.
        """

    @abstractmethod
    def _store(self, username: bytes, oldHashed: bytes, hashed: bytes, today: int) -> None:
        """Replace the user's hash, changed ``today`` (days since 1970), provided it is still
        ``oldHashed`` (the one the current password was checked against).

        :raises OSError: the database cannot be written, or the user's hash changed since.
        """

    def _verify(self, username: bytes, password: bytes) -> _Entry | None:
        entry = self._lookup(username)
        if entry is None:
            scryptVerify(password, _dummyHash(self._n))
            return None
        return entry if scryptVerify(password, entry.hashed) else None

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        username = _asBytes(credentials.username)
        password = _asBytes(credentials.password)
        try:
            entry = self._verify(username, password)
        except OSError:
            self._log.warn("password database unreadable: refusing every password")
            return fail(Failure(UnauthorizedLogin("password database unreadable")))
        if entry is None:
            return fail(Failure(UnauthorizedLogin("unable to verify password")))
        if not IUsernamePasswordChange.providedBy(credentials):
            if entry.mustChange(self._clock()):
                self._log.info(
                    "password of {user} expired: asking for a new one",
                    user=username.decode("utf-8", "backslashreplace"),
                )
                return fail(Failure(PasswordChangeRequired()))
            return succeed(username)
        new = _asBytes(credentials.newPassword)
        reason = _refusal(password, new, self.minimumLength)
        if reason is not None:
            return fail(Failure(PasswordChangeRequired(reason)))
        try:
            self._store(username, entry.hashed, self._hash(new), int(self._clock() // _DAY))
        except OSError as e:
            self._log.warn("password of {user} not changed: {error}", user=username, error=e)
            return fail(Failure(UnauthorizedLogin("password not changed")))
        self._log.info(
            "password of {user} changed", user=username.decode("utf-8", "backslashreplace")
        )
        return succeed(username)


@implementer(ICredentialsChecker)
class InMemoryPasswordDatabase(_PasswordChecker):
    """
    Users and scrypt hashes of their passwords in memory, which can expire a password and
    change it (:class:`IUsernamePasswordChange`).

    :param minimumLength: the shortest new password accepted.
    :param clock: the time, for maximum password ages.
    :param n: scrypt's cost parameter for new hashes.
    """

    def __init__(
        self, minimumLength: int = 8, clock: Callable[[], float] = time.time, n: int = 1 << 14
    ) -> None:
        super().__init__(minimumLength, clock, n)
        self._users: dict[bytes, _Entry] = {}

    def addUser(
        self,
        username: bytes | str,
        password: bytes | str,
        mustChange: bool = False,
        maxDays: int | None = None,
    ) -> None:
        """
        Add (or replace) a user.

        :param mustChange: the password must be changed at the next login.
        :param maxDays: days after which the password must be changed.
        """
        today = int(self._clock() // _DAY)
        self._users[_asBytes(username)] = _Entry(
            self._hash(_asBytes(password)), 0 if mustChange else today, maxDays
        )

    def expirePassword(self, username: bytes | str) -> None:
        """Make the user change the password at the next login.

        :raises KeyError: unknown user.
        """
        self._users[_asBytes(username)].lastChange = 0

    def storedHash(self, username: bytes | str) -> bytes:
        """The scrypt hash stored for the user (never the password itself).

        :raises KeyError: unknown user.
        """
        return self._users[_asBytes(username)].hashed

    def _lookup(self, username: bytes) -> _Entry | None:
        return self._users.get(username)

    def _store(self, username: bytes, oldHashed: bytes, hashed: bytes, today: int) -> None:
        entry = self._users[username]
        if entry.hashed != oldHashed:
            raise OSError(errno.EAGAIN, "password changed meanwhile")
        entry.hashed = hashed
        entry.lastChange = today


def _parseLine(line: bytes) -> tuple[bytes, _Entry] | None:
    fields = line.rstrip(b"\r\n").split(b":")
    if len(fields) < 2 or not fields[0] or line.startswith(b"#"):
        return None
    name, hashed = fields[0], fields[1]
    lastChange = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None
    maxDays = int(fields[3]) if len(fields) > 3 and fields[3].isdigit() else None
    return name, _Entry(hashed, lastChange, maxDays)


@implementer(ICredentialsChecker)
class ScryptPasswordFile(_PasswordChecker):
    """
    A password file of ``user:scrypt-hash[:last-change[:max-days]]`` lines (the lines
    :class:`glisten.cred.checkers.ScryptFilePasswordDB` reads, with two optional
    ``/etc/shadow``-like ageing fields), read on every login, whose passwords can be changed.

    ``last-change`` is the day (since 1970) the password was last changed, ``0`` meaning it
    must be changed at the next login; with ``max-days`` too, the password must be changed that
    many days after. A change writes the new hash and today's date in place of the old line
    (a new file renamed over the old one, under a lock beside it, ``FILE.lock``, so that
    several server processes do not lose each other's changes), keeping the file's mode.

    :param path: the file.
    :param minimumLength: the shortest new password accepted.
    :param clock: the time, for ageing.
    :param n: scrypt's cost parameter for new hashes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        minimumLength: int = 8,
        clock: Callable[[], float] = time.time,
        n: int = 1 << 14,
    ) -> None:
        super().__init__(minimumLength, clock, n)
        self.path = os.fspath(path)

    def _lookup(self, username: bytes) -> _Entry | None:
        with open(self.path, "rb") as f:
            for line in f:
                if len(line) > _MAX_LINE:
                    continue
                parsed = _parseLine(line)
                if parsed is not None and parsed[0] == username:
                    return parsed[1]
        return None

    def _store(self, username: bytes, oldHashed: bytes, hashed: bytes, today: int) -> None:
        with open(self.path + ".lock", "ab") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            with open(self.path, "rb") as f:
                lines = f.readlines()
                info = os.fstat(f.fileno())
                mode = info.st_mode & 0o7777
            out = []
            found = False
            for line in lines:
                parsed = _parseLine(line) if len(line) <= _MAX_LINE else None
                if parsed is None or parsed[0] != username or found:
                    out.append(line if line.endswith(b"\n") else line + b"\n")
                    continue
                found = True
                entry = parsed[1]
                if entry.hashed != oldHashed:
                    # Another process changed (or an administrator locked) the password
                    # after this one was checked: the check no longer holds.
                    raise OSError(errno.EAGAIN, "password changed meanwhile")
                fields = [username, hashed, b"%d" % today]
                if entry.maxDays is not None:
                    fields.append(b"%d" % entry.maxDays)
                out.append(b":".join(fields) + b"\n")
            if not found:
                raise OSError(errno.ENOENT, "user gone from the password file")
            folder = os.path.dirname(os.path.abspath(self.path))
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=".passwords-")
            try:
                with os.fdopen(fd, "wb") as f:
                    # The new file takes the old one's owner and group too (a server running
                    # as root would otherwise take it from the group that reads it); one that
                    # may not give it them fails, leaving the password unchanged.
                    new = os.fstat(f.fileno())
                    if (new.st_uid, new.st_gid) != (info.st_uid, info.st_gid):
                        os.fchown(f.fileno(), info.st_uid, info.st_gid)
                    os.fchmod(f.fileno(), mode)
                    f.writelines(out)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
            # The rename itself survives a crash only once the folder is on disk too.
            folderFd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(folderFd)
            finally:
                os.close(folderFd)
