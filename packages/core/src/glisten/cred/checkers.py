"""Credentials checkers: verify credentials and return an avatar ID.

- :class:`InMemoryUsernamePasswordDatabaseDontUse`: users and clear-text passwords in a dict
  (tests and examples only, as its name says).
- :class:`FilePasswordDB`: a ``user:password`` file, clear text or hashed by a function.
- :class:`ScryptFilePasswordDB`: a file of scrypt hashes (:func:`hashlib.scrypt`), made with
  :func:`scryptHash`, so no clear-text password file is needed.
- :class:`AllowAnonymousAccess`: lets anonymous clients in.

Every comparison of secrets uses :func:`hmac.compare_digest`, and unknown users cost as much
work as known ones, so timing tells an attacker neither a password prefix nor whether a user
exists.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from typing import Any

from zope.interface import Attribute, Interface, implementer

from glisten.cred import credentials, error
from glisten.internet.defer import Deferred, fail, maybeDeferred, succeed
from glisten.python.failure import Failure

__all__ = [
    "ANONYMOUS",
    "AllowAnonymousAccess",
    "FilePasswordDB",
    "ICredentialsChecker",
    "InMemoryUsernamePasswordDatabaseDontUse",
    "ScryptFilePasswordDB",
    "scryptHash",
    "scryptVerify",
]

#: The avatar ID of anonymous logins.
ANONYMOUS: tuple[()] = ()


class ICredentialsChecker(Interface):
    """Checks one or more kinds of credentials."""

    credentialInterfaces = Attribute(
        "The credentials interfaces (ICredentials subclasses) this checker understands."
    )

    def requestAvatarId(credentials: Any) -> Any:
        """Check ``credentials``.

        :return: a Deferred firing with the avatar ID (bytes, or :data:`ANONYMOUS`), or failing
            with :class:`~glisten.cred.error.UnauthorizedLogin`.
        """


def _asBytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _unauthorized(message: str = "Invalid credentials") -> Deferred[Any]:
    return fail(Failure(error.UnauthorizedLogin(message)))


@implementer(ICredentialsChecker)
class AllowAnonymousAccess:
    """Accepts every anonymous login, with the avatar ID :data:`ANONYMOUS`."""

    credentialInterfaces = (credentials.IAnonymous,)

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        return succeed(ANONYMOUS)


@implementer(ICredentialsChecker)
class InMemoryUsernamePasswordDatabaseDontUse:
    """Users and clear-text passwords in memory; for tests and examples only.

    :param users: ``username=password`` pairs.
    """

    credentialInterfaces = (
        credentials.IUsernamePassword,
        credentials.IUsernameHashedPassword,
    )

    def __init__(self, **users: bytes | str) -> None:
        self.users: dict[bytes, bytes] = {
            _asBytes(name): _asBytes(password) for name, password in users.items()
        }

    def addUser(self, username: bytes | str, password: bytes | str) -> None:
        """Add (or replace) a user."""
        self.users[_asBytes(username)] = _asBytes(password)

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        username = _asBytes(credentials.username)
        known = username in self.users
        # Compare against something even for unknown users, so both paths cost the same.
        stored = self.users.get(username, b"\x00" * 16)
        d: Deferred[Any] = maybeDeferred(credentials.checkPassword, stored)

        def matched(ok: bool) -> Any:
            if ok and known:
                return username
            raise error.UnauthorizedLogin("Invalid credentials")

        return d.addCallback(matched)


@implementer(ICredentialsChecker)
class FilePasswordDB:
    """Users and passwords from a text file of ``username<delim>password`` lines.

    Lines starting with ``#`` and lines with too few fields are ignored.

    :param filename: the file to read (re-read on every login unless ``cache``).
    :param delim: the field separator.
    :param usernameField: index of the username field.
    :param passwordField: index of the password field.
    :param caseSensitive: whether usernames are case sensitive.
    :param hash: ``hash(username, password, storedPassword) -> bytes`` hashing a received
        password the way the file stores it; with it, only :class:`IUsernamePassword`
        credentials can be checked (the clear password is needed to hash it).
    :param cache: read the file once and keep it in memory.
    """

    _credCache: dict[bytes, bytes] | None = None
    _cacheTimestamp = 0.0

    def __init__(
        self,
        filename: str | os.PathLike[str],
        delim: bytes = b":",
        usernameField: int = 0,
        passwordField: int = 1,
        caseSensitive: bool = True,
        hash: Callable[[bytes, bytes, bytes], bytes] | None = None,
        cache: bool = False,
    ) -> None:
        self.filename = os.fspath(filename)
        self.delim = delim
        self.ufield = usernameField
        self.pfield = passwordField
        self.caseSensitive = caseSensitive
        self.hash = hash
        self.cache = cache
        if hash is None:
            self.credentialInterfaces: tuple[Any, ...] = (
                credentials.IUsernamePassword,
                credentials.IUsernameHashedPassword,
            )
        else:
            self.credentialInterfaces = (credentials.IUsernamePassword,)

    def _loadCredentials(self) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(username, password)`` for each usable line of the file.

        :raises error.UnauthorizedLogin: the file cannot be read.
        """
        try:
            with open(self.filename, "rb") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise error.UnauthorizedLogin(f"Unable to load credentials db: {e}") from None
        for line in lines:
            line = line.rstrip(b"\r")
            if not line or line.startswith(b"#"):
                continue
            parts = line.split(self.delim)
            if self.ufield >= len(parts) or self.pfield >= len(parts):
                continue
            username = parts[self.ufield]
            if not self.caseSensitive:
                username = username.lower()
            yield username, parts[self.pfield]

    def getUser(self, username: bytes) -> tuple[bytes, bytes]:
        """Return ``(username, storedPassword)``.

        :raises KeyError: unknown user.
        """
        if not self.caseSensitive:
            username = username.lower()
        if self.cache:
            if self._credCache is None or os.path.getmtime(self.filename) > self._cacheTimestamp:
                self._cacheTimestamp = os.path.getmtime(self.filename)
                self._credCache = dict(self._loadCredentials())
            return username, self._credCache[username]
        for u, p in self._loadCredentials():
            if u == username:
                return u, p
        raise KeyError(username)

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        try:
            username, stored = self.getUser(_asBytes(credentials.username))
        except KeyError:
            return _unauthorized()
        except error.UnauthorizedLogin as e:
            return fail(Failure(e))
        if self.hash is not None:
            received = self.hash(username, _asBytes(credentials.password), stored)
            if hmac.compare_digest(_asBytes(received), stored):
                return succeed(username)
            return _unauthorized()
        d: Deferred[Any] = maybeDeferred(credentials.checkPassword, stored)

        def matched(ok: bool) -> Any:
            if ok:
                return username
            raise error.UnauthorizedLogin("Invalid credentials")

        return d.addCallback(matched)


# ------------------------------------------------------------------------------------- scrypt

_SCRYPT_PREFIX = b"$scrypt$"
#: Default cost: n=2**14, r=8, p=1 (the parameters RFC 7914 suggests for interactive logins).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_N = 2**20


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)


def scryptHash(
    password: bytes | str,
    n: int = SCRYPT_N,
    r: int = SCRYPT_R,
    p: int = SCRYPT_P,
    salt: bytes | None = None,
) -> bytes:
    """Hash ``password`` with scrypt into a self-describing string for a password file.

    The result looks like ``$scrypt$n=16384,r=8,p=1$<salt>$<hash>`` (base64 without padding).

    :param salt: 16 random bytes by default; pass one only for reproducible tests.
    """
    if salt is None:
        salt = os.urandom(16)
    digest = hashlib.scrypt(
        _asBytes(password), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + 2**20, dklen=32
    )
    params = b"n=%d,r=%d,p=%d" % (n, r, p)
    return _SCRYPT_PREFIX + params + b"$" + _b64(salt) + b"$" + _b64(digest)


def _parseScrypt(stored: bytes) -> tuple[int, int, int, bytes, bytes]:
    """Split a :func:`scryptHash` string.

    :raises ValueError: it is malformed or its cost parameters are out of range.
    """
    if not stored.startswith(_SCRYPT_PREFIX):
        raise ValueError("not a scrypt hash")
    params, salt, digest = stored[len(_SCRYPT_PREFIX) :].split(b"$")
    values: dict[bytes, int] = {}
    for item in params.split(b","):
        key, _, value = item.partition(b"=")
        if not value.isdigit() or len(value) > 8:
            raise ValueError("bad scrypt parameter")
        values[key] = int(value)
    n, r, p = values[b"n"], values[b"r"], values[b"p"]
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("scrypt parameters out of range")
    rawSalt, rawDigest = _unb64(salt), _unb64(digest)
    if not 16 <= len(rawDigest) <= 64:
        raise ValueError("scrypt digest of a bad length")
    return n, r, p, rawSalt, rawDigest


def scryptVerify(password: bytes | str, stored: bytes) -> bool:
    """Return whether ``password`` matches the :func:`scryptHash` string ``stored``.

    A malformed ``stored`` value never matches.
    """
    try:
        n, r, p, salt, digest = _parseScrypt(stored)
    except (ValueError, KeyError, binascii.Error):
        return False
    computed = hashlib.scrypt(
        _asBytes(password), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + 2**20, dklen=len(digest)
    )
    return hmac.compare_digest(computed, digest)


@functools.cache
def _dummyHash() -> bytes:
    # Made on first use: scrypt costs tens of milliseconds, which every program importing
    # this module (an SSH client, say) would otherwise pay at start.
    return scryptHash(b"", n=SCRYPT_N, salt=b"\x00" * 16)


@implementer(ICredentialsChecker)
class ScryptFilePasswordDB(FilePasswordDB):
    """A password file whose password fields are :func:`scryptHash` strings.

    Make entries with ``scryptHash(password)``; the file then holds no clear-text password.
    Unknown users are checked against a dummy hash so that they take as long as known ones.
    scrypt is deliberately slow (tens of milliseconds per check at the default cost), and the
    check runs in the calling thread.

    :param filename: the password file, ``username:$scrypt$...`` per line.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        delim: bytes = b":",
        caseSensitive: bool = True,
        cache: bool = False,
    ) -> None:
        FilePasswordDB.__init__(
            self, filename, delim=delim, caseSensitive=caseSensitive, cache=cache
        )
        self.credentialInterfaces = (credentials.IUsernamePassword,)

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        password = _asBytes(credentials.password)
        try:
            username, stored = self.getUser(_asBytes(credentials.username))
        except KeyError:
            scryptVerify(password, _dummyHash())
            return _unauthorized()
        except error.UnauthorizedLogin as e:
            return fail(Failure(e))
        if scryptVerify(password, stored):
            return succeed(username)
        return _unauthorized()
