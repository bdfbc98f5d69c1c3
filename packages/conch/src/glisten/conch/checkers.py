"""
Credentials checkers for SSH: public keys against a key database.

- :class:`SSHPublicKeyChecker` checks :class:`~glisten.cred.credentials.ISSHPrivateKey`
  credentials against an :class:`IAuthorizedKeysDB`.
- :class:`InMemorySSHKeyDB`: keys in a dict.
- :class:`AuthorizedKeysFileDB`: one ``authorized_keys`` file for every user (what
  ``glisten ssh`` uses).
- :class:`UNIXAuthorizedKeysFiles`: ``~/.ssh/authorized_keys`` of each UNIX user.

``authorized_keys`` lines with options (``command=``, ``from=``, ``restrict``...) are skipped:
glisten does not enforce those options yet, and granting such a key unrestricted access would
be worse than refusing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zope.interface import Interface, implementer

from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh.keys import BadKeyError, Key
from glisten.cred import credentials as _credentials
from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.defer import Deferred, fail, succeed
from glisten.python.failure import Failure

__all__ = [
    "AuthorizedKeysFileDB",
    "IAuthorizedKeysDB",
    "InMemorySSHKeyDB",
    "SSHPrivateKey",
    "SSHPublicKeyChecker",
    "UNIXAuthorizedKeysFiles",
    "readAuthorizedKeyFile",
]

_KEY_PREFIXES = (b"ssh-", b"ecdsa-sha2-")


@implementer(_credentials.ISSHPrivateKey)
class SSHPrivateKey:
    """
    Proof of a private key: what a ``publickey`` request carries.

    :ivar signature: ``None`` for the query step (would this key do?).
    """

    def __init__(
        self,
        username: bytes,
        algName: bytes,
        blob: bytes,
        sigData: bytes | None,
        signature: bytes | None,
    ) -> None:
        self.username = username
        self.algName = algName
        self.blob = blob
        self.sigData = sigData
        self.signature = signature


class IAuthorizedKeysDB(Interface):
    """Where the public keys allowed for each user come from."""

    def getAuthorizedKeys(avatarId: bytes) -> Iterable[Key]:
        """The keys that may log in as ``avatarId`` (empty for unknown users)."""


def readAuthorizedKeyFile(
    fileobj: Iterable[bytes], parseKey: Callable[[bytes], Key] = Key.fromString
) -> Iterator[Key]:
    """
    The keys of an ``authorized_keys`` file; comments, blank lines, unreadable lines and lines
    with options are skipped.
    """
    for line in fileobj:
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        if not line.startswith(_KEY_PREFIXES):
            continue
        try:
            yield parseKey(line)
        except BadKeyError:
            continue


@implementer(IAuthorizedKeysDB)
class InMemorySSHKeyDB:
    """
    Keys in memory.

    :param mapping: user name to a list of :class:`~glisten.conch.ssh.keys.Key`.
    """

    def __init__(self, mapping: Mapping[bytes, Iterable[Key]]) -> None:
        self._mapping = mapping

    def getAuthorizedKeys(self, username: bytes) -> Iterable[Key]:
        return list(self._mapping.get(username, []))


@implementer(IAuthorizedKeysDB)
class AuthorizedKeysFileDB:
    """
    One ``authorized_keys`` file, read on every login, for the given users.

    :param path: the file.
    :param users: the user names allowed; ``None`` lets any name in.
    """

    def __init__(self, path: str | os.PathLike[str], users: Iterable[bytes] | None = None) -> None:
        self.path = os.fspath(path)
        self.users = None if users is None else set(users)

    def getAuthorizedKeys(self, username: bytes) -> Iterable[Key]:
        if self.users is not None and username not in self.users:
            return []
        try:
            with open(self.path, "rb") as f:
                return list(readAuthorizedKeyFile(f))
        except OSError:
            return []


@implementer(IAuthorizedKeysDB)
class UNIXAuthorizedKeysFiles:
    """
    ``~/.ssh/authorized_keys`` and ``~/.ssh/authorized_keys2`` of UNIX users.

    :param userdb: something with ``getpwnam`` (the :mod:`pwd` module by default).
    """

    def __init__(
        self, userdb: Any = None, parseKey: Callable[[bytes], Key] = Key.fromString
    ) -> None:
        if userdb is None:
            import pwd

            userdb = pwd
        self._userdb = userdb
        self._parseKey = parseKey

    def getAuthorizedKeys(self, username: bytes) -> Iterable[Key]:
        try:
            home = self._userdb.getpwnam(username.decode("utf-8")).pw_dir
        except (KeyError, UnicodeDecodeError):
            return []
        keys: list[Key] = []
        for name in ("authorized_keys", "authorized_keys2"):
            try:
                with open(os.path.join(home, ".ssh", name), "rb") as f:
                    keys.extend(readAuthorizedKeyFile(f, self._parseKey))
            except OSError:
                continue
        return keys


@implementer(ICredentialsChecker)
class SSHPublicKeyChecker:
    """
    Checks SSH public key credentials against a key database.

    A query (no signature) for an allowed key fails with
    :class:`~glisten.conch.error.ValidPublicKey`, which makes the server answer PK_OK.
    """

    credentialInterfaces = (_credentials.ISSHPrivateKey,)

    def __init__(self, keydb: Any) -> None:
        self._keydb = keydb

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        try:
            key = Key.fromString(credentials.blob, "blob")
        except BadKeyError:
            return fail(Failure(UnauthorizedLogin("bad key")))
        allowed = any(
            key == k.public() for k in self._keydb.getAuthorizedKeys(credentials.username)
        )
        if not allowed:
            return fail(Failure(UnauthorizedLogin("key not authorized")))
        if credentials.signature is None:
            return fail(Failure(ValidPublicKey()))
        if not key.verify(credentials.signature, credentials.sigData):
            return fail(Failure(UnauthorizedLogin("bad signature")))
        return succeed(credentials.username)
