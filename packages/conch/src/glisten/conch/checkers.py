"""
Credentials checkers for SSH: public keys against a key database.

- :class:`SSHPublicKeyChecker` checks :class:`~glisten.cred.credentials.ISSHPrivateKey`
  credentials against an :class:`IAuthorizedKeysDB`.
- :class:`InMemorySSHKeyDB`: keys in a dict.
- :class:`AuthorizedKeysFileDB`: one ``authorized_keys`` file for every user (what
  ``glisten ssh`` uses).
- :class:`UNIXAuthorizedKeysFiles`: ``~/.ssh/authorized_keys`` of each UNIX user.

``authorized_keys`` options: ``restrict``, ``no-pty``, ``pty``, ``command="..."``,
``environment="NAME=value"``, ``no-port-forwarding``, ``no-agent-forwarding`` and the X11 and
rc ones (glisten does neither) are understood; the avatar ID of a key login is then an
:class:`AuthorizedKeyID` carrying them, for the avatar to enforce (``glisten ssh`` does, and
sets ``environment=`` variables only when its ``env`` allow-list admits the name).
``from="pattern-list"`` is checked here, against the client's address that the credentials
carry (OpenSSH's rules: ``*`` and ``?`` wildcards, ``address/bits`` networks, ``!`` negation
that wins over any match); a key with ``from=`` never matches credentials without an address.
Lines with any other option (``cert-authority``, ``principals=``, ``expiry-time=``,
``permitopen=``...) are skipped: granting such a key without its restriction would be worse
than refusing it.
"""

from __future__ import annotations

import ipaddress
import os
import re
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
    "matchAddressPatterns",
    "readAuthorizedKeyFile",
    "readAuthorizedKeys",
]

_KEY_PREFIXES = (b"ssh-", b"ecdsa-sha2-")


@implementer(_credentials.ISSHPrivateKey)
class SSHPrivateKey:
    """
    Proof of a private key: what a ``publickey`` request carries.

    :ivar signature: ``None`` for the query step (would this key do?).
    :ivar address: the client's IP address, for ``authorized_keys`` ``from=`` options.
    """

    def __init__(
        self,
        username: bytes,
        algName: bytes,
        blob: bytes,
        sigData: bytes | None,
        signature: bytes | None,
        address: str | None = None,
    ) -> None:
        self.address = address
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
_MAX_ENVIRONMENT = 64
_ENV_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*\Z")


class AuthorizedKey:
    """
    One usable ``authorized_keys`` line.

    :ivar key: the public key.
    :ivar options: flag options (lower case), and ``b"command"`` and ``b"from"`` mapped to
        their values.
    :ivar environment: the ``environment=`` options, as ``(name, value)`` in file order.
    """

    def __init__(
        self,
        key: Key,
        options: dict[bytes, bytes | None],
        environment: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.key = key
        self.options = options
        self.environment = list(environment or [])

    def allowsAddress(self, address: str | None) -> bool:
        """
        Whether a client at ``address`` may use this key: always without ``from=``; with it,
        only a known address that the pattern list admits.
        """
        patterns = self.options.get(b"from")
        if patterns is None:
            return True
        return address is not None and matchAddressPatterns(patterns, address)

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


def _wildcard(pattern: str) -> re.Pattern[str]:
    """OpenSSH's wildcards: ``*`` any run, ``?`` one character, case-insensitive."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)


def matchAddressPatterns(patterns: bytes, address: str) -> bool:
    """
    Whether ``address`` passes a ``from=`` pattern list, by OpenSSH's rules.

    The list is comma-separated; each entry is a wildcard pattern (``192.168.*``), an
    ``address/bits`` network (``10.0.0.0/8``, host bits must be zero), or either negated with
    ``!``. A matching negated entry refuses whatever else matches; otherwise one matching entry
    admits. A malformed network refuses the whole list, as OpenSSH does.

    :param patterns: the option's value.
    :param address: the client's IP address (an IPv4-mapped IPv6 address counts as IPv4).
    """
    try:
        text = patterns.decode("ascii")
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except (UnicodeDecodeError, ValueError):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    matched = False
    for entry in text.split(","):
        negated = entry.startswith("!")
        pattern = entry[1:] if negated else entry
        if not pattern:
            return False
        if "/" in pattern:
            try:
                network = ipaddress.ip_network(pattern, strict=True)
            except ValueError:
                return False
            hit = ip.version == network.version and ip in network
        else:
            hit = _wildcard(pattern).match(str(ip)) is not None
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def _parseOptions(
    text: bytes,
) -> tuple[dict[bytes, bytes | None], bytes, list[tuple[bytes, bytes]]] | None:
    """Split the options from the key of a line; ``None`` when the line cannot be used."""
    options: dict[bytes, bytes | None] = {}
    environment: list[tuple[bytes, bytes]] = []
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
        if name in (b"command", b"from") and value is not None:
            options[name] = value
        elif name == b"environment" and value is not None:
            envName, equals, envValue = value.partition(b"=")
            if not equals or not _ENV_NAME.match(envName):
                return None
            if len(environment) >= _MAX_ENVIRONMENT:
                return None
            environment.append((envName, envValue))
        elif name in _FLAG_OPTIONS and value is None:
            options[name] = None
        else:
            return None
        if text[i : i + 1] == b",":
            i += 1
            continue
        if text[i : i + 1] in (b" ", b"\t"):
            return options, text[i:].strip(), environment
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
        environment: list[tuple[bytes, bytes]] = []
        if not line.startswith(_KEY_PREFIXES):
            parsed = _parseOptions(line)
            if parsed is None:
                continue
            options, line, environment = parsed
            if not line.startswith(_KEY_PREFIXES):
                continue
        try:
            yield AuthorizedKey(parseKey(line), options, environment)
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
            address = getattr(credentials, "address", None)
            matching = [
                e for e in entries(username) if e.key.public() == key and e.allowsAddress(address)
            ]
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
