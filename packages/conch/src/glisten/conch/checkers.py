"""
Credentials checkers for SSH: public keys against a key database.

- :class:`SSHPublicKeyChecker` checks :class:`~glisten.cred.credentials.ISSHPrivateKey`
  credentials against an :class:`IAuthorizedKeysDB`.
- :class:`InMemorySSHKeyDB`: keys in a dict.
- :class:`AuthorizedKeysFileDB`: one ``authorized_keys`` file for every user (what
  ``glisten ssh`` uses).
- :class:`UNIXAuthorizedKeysFiles`: ``~/.ssh/authorized_keys`` of each UNIX user.

``authorized_keys`` options: ``restrict``, ``no-pty``, ``pty``, ``command="..."``,
``no-port-forwarding``, ``no-agent-forwarding`` and the X11 and rc ones (glisten does neither)
are understood; the avatar ID
of a key login is then an :class:`AuthorizedKeyID` carrying them, for the avatar to enforce
(``glisten ssh`` does). Lines with any other option (``from=``, ``environment=``,
``cert-authority``, ``principals=``, ``expiry-time=``, ``permitopen=``...) are skipped: granting
such a key without its restriction would be worse than refusing it.
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
    "AuthorizedKey",
    "AuthorizedKeyID",
    "AuthorizedKeysFileDB",
    "IAuthorizedKeysDB",
    "InMemorySSHKeyDB",
    "SSHPrivateKey",
    "SSHPublicKeyChecker",
    "UNIXAuthorizedKeysFiles",
    "readAuthorizedKeyFile",
    "readAuthorizedKeys",
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


#: Options glisten honours.
_FLAG_OPTIONS = {
    b"restrict",
    b"no-pty",
    b"pty",
    b"no-port-forwarding",
    b"no-agent-forwarding",
    b"no-x11-forwarding",
    b"no-user-rc",
}
_MAX_LINE = 16384


class AuthorizedKey:
    """
    One usable ``authorized_keys`` line.

    :ivar key: the public key.
    :ivar options: flag options (lower case), and ``b"command"`` mapped to its value.
    """

    def __init__(self, key: Key, options: dict[bytes, bytes | None]) -> None:
        self.key = key
        self.options = options

    @property
    def noPty(self) -> bool:
        """Whether a terminal is refused (``no-pty``, or ``restrict`` without ``pty``)."""
        o = self.options
        return b"no-pty" in o or (b"restrict" in o and b"pty" not in o)

    @property
    def noPortForwarding(self) -> bool:
        """Whether port forwarding is refused (``no-port-forwarding`` or ``restrict``)."""
        return b"no-port-forwarding" in self.options or b"restrict" in self.options

    @property
    def noAgentForwarding(self) -> bool:
        """Whether agent forwarding is refused (``no-agent-forwarding`` or ``restrict``)."""
        return b"no-agent-forwarding" in self.options or b"restrict" in self.options

    @property
    def command(self) -> bytes | None:
        """The forced command, if any."""
        return self.options.get(b"command")


class AuthorizedKeyID(bytes):
    """
    The avatar ID of a key login: the user name, plus the line of the key that matched.

    :ivar authorizedKey: that :class:`AuthorizedKey`.
    """

    authorizedKey: AuthorizedKey | None = None


def _parseOptions(text: bytes) -> tuple[dict[bytes, bytes | None], bytes] | None:
    """Split the options from the key of a line; ``None`` when the line cannot be used."""
    options: dict[bytes, bytes | None] = {}
    i = 0
    n = len(text)
    while i < n:
        start = i
        while i < n and text[i] not in b', \t="':
            i += 1
        name = text[start:i].lower()
        value: bytes | None = None
        if text[i : i + 1] == b"=":
            if text[i + 1 : i + 2] != b'"':
                return None
            i += 2
            chunks = []
            while i < n and text[i] != 0x22:
                if text[i] == 0x5C and i + 1 < n:
                    chunks.append(text[i + 1 : i + 2])
                    i += 2
                else:
                    chunks.append(text[i : i + 1])
                    i += 1
            if i >= n:
                return None
            i += 1
            value = b"".join(chunks)
        if name == b"command" and value is not None:
            options[name] = value
        elif name in _FLAG_OPTIONS and value is None:
            options[name] = None
        else:
            return None
        if text[i : i + 1] == b",":
            i += 1
            continue
        if text[i : i + 1] in (b" ", b"\t"):
            return options, text[i:].strip()
        return None
    return None


def readAuthorizedKeys(
    fileobj: Iterable[bytes], parseKey: Callable[[bytes], Key] = Key.fromString
) -> Iterator[AuthorizedKey]:
    """
    The usable lines of an ``authorized_keys`` file with their options; comments, blank lines,
    unreadable lines and lines with options glisten does not enforce are skipped.
    """
    for line in fileobj:
        line = line.strip()
        if not line or line.startswith(b"#") or len(line) > _MAX_LINE:
            continue
        options: dict[bytes, bytes | None] = {}
        if not line.startswith(_KEY_PREFIXES):
            parsed = _parseOptions(line)
            if parsed is None:
                continue
            options, line = parsed
            if not line.startswith(_KEY_PREFIXES):
                continue
        try:
            yield AuthorizedKey(parseKey(line), options)
        except BadKeyError:
            continue


def readAuthorizedKeyFile(
    fileobj: Iterable[bytes], parseKey: Callable[[bytes], Key] = Key.fromString
) -> Iterator[Key]:
    """The keys of an ``authorized_keys`` file (see :func:`readAuthorizedKeys`)."""
    for entry in readAuthorizedKeys(fileobj, parseKey):
        yield entry.key


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
        return [entry.key for entry in self.getAuthorizedKeyEntries(username)]

    def getAuthorizedKeyEntries(self, username: bytes) -> list[AuthorizedKey]:
        """The usable lines for ``username``, with their options."""
        if self.users is not None and username not in self.users:
            return []
        try:
            with open(self.path, "rb") as f:
                return list(readAuthorizedKeys(f))
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
        return [entry.key for entry in self.getAuthorizedKeyEntries(username)]

    def getAuthorizedKeyEntries(self, username: bytes) -> list[AuthorizedKey]:
        """The usable lines of the user's files, with their options."""
        try:
            home = self._userdb.getpwnam(username.decode("utf-8")).pw_dir
        except (KeyError, UnicodeDecodeError):
            return []
        entries: list[AuthorizedKey] = []
        for name in ("authorized_keys", "authorized_keys2"):
            try:
                with open(os.path.join(home, ".ssh", name), "rb") as f:
                    entries.extend(readAuthorizedKeys(f, self._parseKey))
            except OSError:
                continue
        return entries


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
        username = credentials.username
        entries = getattr(self._keydb, "getAuthorizedKeyEntries", None)
        if entries is not None:
            matching = [e for e in entries(username) if e.key.public() == key]
            allowed = bool(matching)
        else:
            matching = []
            allowed = any(key == k.public() for k in self._keydb.getAuthorizedKeys(username))
        if not allowed:
            return fail(Failure(UnauthorizedLogin("key not authorized")))
        if credentials.signature is None:
            return fail(Failure(ValidPublicKey()))
        if not key.verify(credentials.signature, credentials.sigData):
            return fail(Failure(UnauthorizedLogin("bad signature")))
        if matching:
            avatarID = AuthorizedKeyID(username)
            avatarID.authorizedKey = matching[0]
            return succeed(avatarID)
        return succeed(username)
