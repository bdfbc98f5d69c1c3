"""
Credentials checkers for SSH: public keys against a key database.

- :class:`SSHPublicKeyChecker` checks :class:`~glisten.cred.credentials.ISSHPrivateKey`
  credentials against an :class:`IAuthorizedKeysDB`.
- :class:`InMemorySSHKeyDB`: keys in a dict.
- :class:`AuthorizedKeysFileDB`: one ``authorized_keys`` file for every user (what
  ``glisten ssh`` uses).
- :class:`UNIXAuthorizedKeysFiles`: ``~/.ssh/authorized_keys`` of each UNIX user.

``authorized_keys`` options: ``restrict`` (and ``pty``, ``port-forwarding``,
``agent-forwarding`` after it), ``no-pty``, ``command="..."``,
``environment="NAME=value"``, ``no-port-forwarding``, ``no-agent-forwarding`` and the X11 and
rc ones (glisten does neither) are understood; the avatar ID of a key login is then an
:class:`AuthorizedKeyID` carrying them, for the avatar to enforce (``glisten ssh`` does, and
sets ``environment=`` variables only when its ``env`` allow-list admits the name).
``from="pattern-list"`` is checked here, against the client's address that the credentials
carry (OpenSSH's rules: ``*`` and ``?`` wildcards, ``address/bits`` networks, ``!`` negation
that wins over any match); a key with ``from=`` never matches credentials without an address.
``expiry-time="YYYYMMDD[HHMM[SS]][Z]"`` ends a line's validity (local time unless ``Z``);
``permitopen="host:port"`` limits ``direct-tcpip`` destinations and ``permitlisten="[host:]port"``
the addresses ``tcpip-forward`` may listen on (for the avatar to enforce).

OpenSSH user certificates: a ``cert-authority`` line trusts its key as a CA for that user
(the certificate must list the user name, or with ``principals="a,b"`` one of those names; a
certificate without principals is valid for any name, as in OpenSSH), and the
``trustedUserCAKeys`` of :class:`SSHPublicKeyChecker` (OpenSSH's ``TrustedUserCAKeys``) trust
CAs for every user whose name the certificate lists. Either way the certificate must be a user
certificate in its validity window with a good CA signature; its critical options
``force-command``, ``source-address`` and ``verify-required`` are enforced and any other
critical option refuses the login; its missing ``permit-pty``, ``permit-port-forwarding`` and
``permit-agent-forwarding`` extensions take those away. A certificate never matches a plain
key line, and a ``cert-authority`` line never admits its key as a plain key.

Security keys (``sk-ssh-ed25519@openssh.com``, ``sk-ecdsa-sha2-nistp256@openssh.com``) must
sign with the user's touch unless their line has ``no-touch-required`` (for a certificate, the
certificate must carry that extension too; from a trusted CA without a principals line the
certificate's extension alone waives it, as in OpenSSH), and with the user verified by the authenticator when
the line or the certificate has ``verify-required`` (which refuses every other kind of key).

Lines with any other option (``tunnel=``...) are skipped: granting such a key without its
restriction would be worse than refusing it.

Password changes (RFC 4252 section 8): :class:`InMemoryPasswordDatabase` and
:class:`ScryptPasswordFile` (scrypt hashes, optional shadow-like ageing) raise
:class:`~glisten.conch.error.PasswordChangeRequired` for a right password that has expired
and change it for :class:`IUsernamePasswordChange` credentials (a client's change request).

UNIX passwords: :class:`UNIXPasswordDatabase` checks ``password`` (and ``keyboard-interactive``)
logins against the hashes of ``/etc/shadow`` (or ``/etc/passwd``), verified by
:func:`verifyCryptedPassword` through the system's libcrypt: no :mod:`crypt`, :mod:`spwd` or PAM.
"""

from __future__ import annotations

import calendar
import hmac
import ipaddress
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from zope.interface import Interface, implementer

from glisten.conch import _crypt
from glisten.conch._crypt import CryptUnavailable
from glisten.conch._passwordchange import (
    InMemoryPasswordDatabase,
    IUsernamePasswordChange,
    ScryptPasswordFile,
    UsernamePasswordChange,
)
from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh._ssh._wildcards import wildcard
from glisten.conch.ssh.keys import (
    CERT_USER,
    BadCertificateError,
    BadKeyError,
    Key,
    sourceAddressAllows,
)
from glisten.conch.ssh.krl import KeyRevocationList, KRLError, KRLLimits, isKRL
from glisten.cred import credentials as _credentials
from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.defer import Deferred, fail, succeed
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "AuthorizedKey",
    "AuthorizedKeyID",
    "AuthorizedKeysFileDB",
    "AuthorizedOptions",
    "AuthorizedPrincipal",
    "AuthorizedPrincipalsFile",
    "CryptUnavailable",
    "IAuthorizedKeysDB",
    "IUsernamePasswordChange",
    "InMemoryPasswordDatabase",
    "InMemorySSHKeyDB",
    "SSHPrivateKey",
    "PublicKeysFile",
    "RevokedKeysFile",
    "SSHPublicKeyChecker",
    "ScryptPasswordFile",
    "TrustedUserCAKeysFile",
    "UNIXAuthorizedKeysFiles",
    "UNIXPasswordDatabase",
    "UsernamePasswordChange",
    "matchAddressPatterns",
    "parseExpiryTime",
    "readAuthorizedKeyFile",
    "readAuthorizedKeys",
    "readAuthorizedPrincipals",
    "verifyCryptedPassword",
]

_KEY_PREFIXES = (b"ssh-", b"ecdsa-sha2-", b"sk-")


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
    b"no-touch-required",
    b"verify-required",
    b"restrict",
    b"no-pty",
    b"pty",
    b"no-port-forwarding",
    b"no-agent-forwarding",
    b"no-x11-forwarding",
    b"no-user-rc",
    b"cert-authority",
    # After ``restrict``, these give back what it took (X11 and rc files glisten never does).
    b"port-forwarding",
    b"agent-forwarding",
    b"x11-forwarding",
    b"user-rc",
}
_VALUE_OPTIONS = (b"command", b"from", b"principals", b"expiry-time")
_MAX_PERMITOPEN = 64
_MAX_LINE = 16384
_MAX_ENVIRONMENT = 64
_ENV_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*\Z")


class AuthorizedOptions:
    """
    The options of one usable ``authorized_keys`` or ``AuthorizedPrincipalsFile`` line.

    :ivar options: flag options (lower case), and ``b"command"``, ``b"from"``,
        ``b"principals"`` and ``b"expiry-time"`` mapped to their values.
    :ivar environment: the ``environment=`` options, as ``(name, value)`` in file order.
    :ivar permitOpen: the ``permitopen=`` destinations as ``(host, port)`` (port ``0`` for
        ``*``); ``None`` when the line has none (no limit beyond the server's).
    :ivar permitListen: the ``permitlisten=`` addresses ``ssh -R`` may listen on, as
        ``(host pattern, port)`` (port ``0`` for ``*``, host ``*`` when the option gives
        none); ``None`` when the line has none.
    """

    def __init__(
        self,
        options: dict[bytes, bytes | None],
        environment: list[tuple[bytes, bytes]] | None = None,
        permitOpen: list[tuple[str, int]] | None = None,
        permitListen: list[tuple[str, int]] | None = None,
    ) -> None:
        self.options = options
        self.environment = list(environment or [])
        self.permitOpen = None if permitOpen is None else list(permitOpen)
        self.permitListen = None if permitListen is None else list(permitListen)

    @property
    def certAuthority(self) -> bool:
        """Whether the line trusts its key as a CA of user certificates (``cert-authority``)."""
        return b"cert-authority" in self.options

    @property
    def principals(self) -> list[bytes] | None:
        """The ``principals=`` names, or ``None`` without the option."""
        value = self.options.get(b"principals")
        return None if value is None else value.split(b",")

    def isExpired(self, when: float | None = None) -> bool:
        """Whether the line's ``expiry-time=`` has passed (never without the option)."""
        value = self.options.get(b"expiry-time")
        if value is None:
            return False
        expiry = parseExpiryTime(value)
        now = time.time() if when is None else when
        return expiry is None or now >= expiry

    def allowConnect(self, host: str, port: int) -> bool:
        """Whether ``permitopen=`` (if any) admits a ``direct-tcpip`` to ``host:port``."""
        if self.permitOpen is None:
            return True
        return any(h in ("*", host) and p in (0, port) for h, p in self.permitOpen)

    def allowListen(self, host: str, port: int) -> bool:
        """
        Whether ``permitlisten=`` (if any) admits a ``tcpip-forward`` on ``host:port``: the
        host as the client sent it (``ssh -R`` without an address sends ``localhost``)
        against the option's wildcard pattern, the port exactly unless the option has ``*``.
        """
        if self.permitListen is None:
            return True
        return any(
            wildcard(h, ignoreCase=True).match(host) is not None and p in (0, port)
            for h, p in self.permitListen
        )

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
        """Whether port forwarding is refused (``no-port-forwarding``, or ``restrict`` without
        ``port-forwarding``)."""
        o = self.options
        return b"no-port-forwarding" in o or (b"restrict" in o and b"port-forwarding" not in o)

    @property
    def noAgentForwarding(self) -> bool:
        """Whether agent forwarding is refused (``no-agent-forwarding``, or ``restrict``
        without ``agent-forwarding``)."""
        o = self.options
        return b"no-agent-forwarding" in o or (b"restrict" in o and b"agent-forwarding" not in o)

    @property
    def command(self) -> bytes | None:
        """The forced command, if any."""
        return self.options.get(b"command")

    def verifySignature(self, key: Key, signature: bytes, data: bytes) -> bool:
        """
        Check a login signature under this line's security-key options: a touch is required
        unless ``no-touch-required``, user verification when ``verify-required`` (which no
        other kind of key can show, so it refuses them; OpenSSH ignores it for them).
        """
        verify = b"verify-required" in self.options
        if verify and key.securityKeyApplication() is None:
            return False
        return key.verify(
            signature,
            data,
            requireUserPresence=b"no-touch-required" not in self.options,
            requireUserVerification=verify,
        )


class AuthorizedKey(AuthorizedOptions):
    """
    One usable ``authorized_keys`` line.

    :ivar key: the public key.
    :ivar certificate: for the entry of a certificate login, the client's certificate.
    """

    def __init__(
        self,
        key: Key,
        options: dict[bytes, bytes | None],
        environment: list[tuple[bytes, bytes]] | None = None,
        permitOpen: list[tuple[str, int]] | None = None,
        permitListen: list[tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(options, environment, permitOpen, permitListen)
        self.key = key
        self.certificate: Any = None


class AuthorizedPrincipal(AuthorizedOptions):
    """
    One usable ``AuthorizedPrincipalsFile`` line: a certificate principal and its options.

    :ivar principal: the name a certificate must list.
    """

    def __init__(
        self,
        principal: bytes,
        options: dict[bytes, bytes | None],
        environment: list[tuple[bytes, bytes]] | None = None,
        permitOpen: list[tuple[str, int]] | None = None,
        permitListen: list[tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(options, environment, permitOpen, permitListen)
        self.principal = principal


class AuthorizedKeyID(bytes):
    """
    The avatar ID of a key login: the user name, plus the line of the key that matched.

    :ivar authorizedKey: that :class:`AuthorizedKey`.
    """

    authorizedKey: AuthorizedKey | None = None


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
            hit = wildcard(pattern, ignoreCase=True).match(str(ip)) is not None
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def parseExpiryTime(value: bytes) -> float | None:
    """
    An ``expiry-time=`` value (``YYYYMMDD``, ``YYYYMMDDHHMM`` or ``YYYYMMDDHHMMSS``, local
    time, or UTC with a ``Z`` suffix) as seconds since the epoch; ``None`` when malformed.
    """
    utc = value.endswith((b"Z", b"z"))
    digits = value[:-1] if utc else value
    if len(digits) not in (8, 12, 14) or not digits.isdigit():
        return None
    text = digits.decode("ascii") + "000000"[: 14 - len(digits)]
    try:
        parsed = time.strptime(text, "%Y%m%d%H%M%S")
        return float(calendar.timegm(parsed) if utc else time.mktime(parsed))
    except (ValueError, OverflowError):
        return None


def _parsePermitListen(value: bytes) -> tuple[str, int] | None:
    """A ``permitlisten=`` value: ``[host:]port`` (``[v6]:port``), ``*`` for the port; a
    missing host matches any, as OpenSSH reads a bare port; else ``None``."""
    if b":" not in value:
        value = b"*:" + value
    return _parsePermitOpen(value)


def _parsePermitOpen(value: bytes) -> tuple[str, int] | None:
    """A ``permitopen=`` value: ``host:port``, ``[v6]:port``; ``*`` for either; else ``None``."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host:
        return None
    if port == "*":
        return host, 0
    if not port.isdigit() or not 0 < int(port) <= 65535:
        return None
    return host, int(port)


_ParsedOptions = tuple[
    dict[bytes, bytes | None],
    bytes,
    list[tuple[bytes, bytes]],
    list[tuple[str, int]] | None,
    list[tuple[str, int]] | None,
]


def _parseOptions(text: bytes) -> _ParsedOptions | None:
    """Split the options from the key of a line; ``None`` when the line cannot be used."""
    options: dict[bytes, bytes | None] = {}
    environment: list[tuple[bytes, bytes]] = []
    permitOpen: list[tuple[str, int]] | None = None
    permitListen: list[tuple[str, int]] | None = None
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
        if name in _VALUE_OPTIONS and value is not None:
            if name == b"expiry-time" and parseExpiryTime(value) is None:
                return None
            options[name] = value
        elif name == b"permitopen" and value is not None:
            destination = _parsePermitOpen(value)
            if destination is None:
                return None
            permitOpen = permitOpen or []
            if len(permitOpen) >= _MAX_PERMITOPEN:
                return None
            permitOpen.append(destination)
        elif name == b"permitlisten" and value is not None:
            address = _parsePermitListen(value)
            if address is None:
                return None
            permitListen = permitListen or []
            if len(permitListen) >= _MAX_PERMITOPEN:
                return None
            permitListen.append(address)
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
            return options, text[i:].strip(), environment, permitOpen, permitListen
        return None
    return None


def _openUserFile(path: str) -> BinaryIO:
    """
    Open a file a user controls (``authorized_keys``, an authorized principals file) so that
    the user cannot stall the server: a FIFO or a device is refused, as its ``open`` or its
    reads could block the reactor.

    :raises OSError: the file cannot be opened, or is no regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _boundedLines(f: BinaryIO) -> Iterator[bytes]:
    """The lines of ``f``, a line too long to be usable skipped without being held in memory
    (``for line in f`` would read all of it)."""
    limit = _MAX_LINE + 3  # the longest usable line, with its blanks and line end
    while line := f.readline(limit):
        if len(line) == limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = f.readline(limit)
            continue
        yield line


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
        permitOpen: list[tuple[str, int]] | None = None
        permitListen: list[tuple[str, int]] | None = None
        if not line.startswith(_KEY_PREFIXES):
            parsed = _parseOptions(line)
            if parsed is None:
                continue
            options, line, environment, permitOpen, permitListen = parsed
            if not line.startswith(_KEY_PREFIXES):
                continue
        try:
            key = parseKey(line)
        except BadKeyError:
            continue
        if key.certificate is not None:
            # A certificate is no key to trust by itself.
            continue
        yield AuthorizedKey(key, options, environment, permitOpen, permitListen)


def readAuthorizedKeyFile(
    fileobj: Iterable[bytes], parseKey: Callable[[bytes], Key] = Key.fromString
) -> Iterator[Key]:
    """
    The keys of an ``authorized_keys`` file (see :func:`readAuthorizedKeys`), without
    ``cert-authority`` lines (a CA key is not a login key) and expired lines.
    """
    for entry in readAuthorizedKeys(fileobj, parseKey):
        if not entry.certAuthority and not entry.isExpired():
            yield entry.key


def readAuthorizedPrincipals(fileobj: Iterable[bytes]) -> Iterator[AuthorizedPrincipal]:
    """
    The usable lines of an ``AuthorizedPrincipalsFile``: a principal name, after
    ``authorized_keys`` options if any (the name is the line's last word). Comments, blank
    lines and lines with options glisten does not enforce or cannot read are skipped.
    """
    for line in fileobj:
        line = line.strip()
        if not line or line.startswith(b"#") or len(line) > _MAX_LINE:
            continue
        if not any(c in line for c in b" \t"):
            yield AuthorizedPrincipal(line, {})
            continue
        parsed = _parseOptions(line)
        if parsed is None:
            continue
        options, principal, environment, permitOpen, permitListen = parsed
        if not principal or any(c in principal for c in b" \t"):
            continue
        yield AuthorizedPrincipal(principal, options, environment, permitOpen, permitListen)


class AuthorizedPrincipalsFile:
    """
    OpenSSH's ``AuthorizedPrincipalsFile``: for a certificate signed by a trusted CA
    (``TrustedUserCAKeys``), the principal names accepted for each user, instead of the
    user's own name. Read on every login; a user without a readable file has none.

    :param path: the file's path, with the tokens ``%u`` (the user name), ``%h`` (the user's
        home folder), ``%U`` (the user's numeric ID) and ``%%``; a relative path is taken
        from the user's home folder. The user is looked up only when the path needs it.
    :param userdb: something with ``getpwnam`` (the :mod:`pwd` module by default).
    :raises ValueError: ``path`` has another ``%`` token.
    """

    def __init__(self, path: str, userdb: Any = None) -> None:
        if re.search(r"%[^%huU]|%\Z", path.replace("%%", "")):
            raise ValueError("unknown %-token in the authorized principals file path")
        self.path = path
        self._userdb = userdb

    def _userdbOrPwd(self) -> Any:
        if self._userdb is None:
            import pwd

            self._userdb = pwd
        return self._userdb

    def pathFor(self, username: bytes) -> str | None:
        """The file for ``username``, or ``None`` (a malformed or unknown user name; ``.``
        and ``..`` are refused, as they would name folders in the path)."""
        if not _VALID_USER.match(username) or username in (b".", b".."):
            return None
        try:
            name = username.decode("utf-8")
        except UnicodeDecodeError:
            return None
        needsUser = not os.path.isabs(self.path) or re.search(r"%[hU]", self.path.replace("%%", ""))
        entry = None
        if needsUser:
            try:
                entry = self._userdbOrPwd().getpwnam(name)
            except KeyError:
                return None
        tokens = {"%": "%", "u": name}
        if entry is not None:
            tokens["h"] = entry.pw_dir
            tokens["U"] = str(entry.pw_uid)
        path = re.sub(r"%(.)", lambda m: tokens[m.group(1)], self.path)
        if entry is not None and not os.path.isabs(path):
            path = os.path.join(entry.pw_dir, path)
        return path

    def getPrincipalEntries(self, username: bytes) -> list[AuthorizedPrincipal]:
        """The usable lines of ``username``'s file (none when it cannot be read)."""
        path = self.pathFor(username)
        if path is None:
            return []
        try:
            with _openUserFile(path) as f:
                return list(readAuthorizedPrincipals(_boundedLines(f)))
        except OSError:
            return []


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
        return [
            entry.key
            for entry in self.getAuthorizedKeyEntries(username)
            if not entry.certAuthority and not entry.isExpired()
        ]

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
        return [
            entry.key
            for entry in self.getAuthorizedKeyEntries(username)
            if not entry.certAuthority and not entry.isExpired()
        ]

    def getAuthorizedKeyEntries(self, username: bytes) -> list[AuthorizedKey]:
        """The usable lines of the user's files, with their options."""
        try:
            home = self._userdb.getpwnam(username.decode("utf-8")).pw_dir
        except (KeyError, UnicodeDecodeError):
            return []
        entries: list[AuthorizedKey] = []
        for name in ("authorized_keys", "authorized_keys2"):
            try:
                with _openUserFile(os.path.join(home, ".ssh", name)) as f:
                    entries.extend(readAuthorizedKeys(_boundedLines(f), self._parseKey))
            except OSError:
                continue
        return entries


class PublicKeysFile:
    """
    A file of public keys (and certificates), one a line, read on every use: OpenSSH's
    ``TrustedUserCAKeys`` and ``RevokedKeys`` (its plain list form) files.

    :param path: ``#`` comments and blank lines are ignored, unreadable lines skipped.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def getKeys(self) -> list[Key]:
        """
        The keys of the file.

        :raises OSError: the file cannot be read.
        """
        with open(self.path, "rb") as f:
            return _keysOfLines(f.readlines())


def _keysOfLines(lines: Iterable[bytes]) -> list[Key]:
    """The public keys of a key list's lines (comments, blank and bad lines skipped)."""
    keys = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith(b"#") or len(line) > _MAX_LINE:
            continue
        try:
            keys.append(Key.fromString(line).public())
        except BadKeyError:
            continue
    return keys


_KRL_LIMITS = KRLLimits()
#: How long after its last change a revoked keys file is trusted not to change again unseen.
_SETTLED_NS = 2_000_000_000


class RevokedKeysFile(PublicKeysFile):
    """
    OpenSSH's ``RevokedKeys`` file: a key revocation list (KRL, as ``ssh-keygen -k`` writes;
    told by its first bytes) or a list of public keys, one a line.

    The file is looked at on every use and read again whenever it changed (its inode, size,
    modification or change time), so a new list applies at the next login without reading a
    large KRL for every login.

    :param limits: bounds on a KRL (its size, its number of revocations...).
    """

    def __init__(self, path: str | os.PathLike[str], limits: KRLLimits = _KRL_LIMITS) -> None:
        super().__init__(path)
        self.limits = limits
        self._read: tuple[tuple[int, ...], KeyRevocationList | list[Key]] | None = None

    def _revocations(self) -> KeyRevocationList | list[Key]:
        with open(self.path, "rb") as f:
            info = os.fstat(f.fileno())
            stamp = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            if self._read is not None and self._read[0] == stamp:
                return self._read[1]
            # A file changed this recently may change again within the same timestamp tick
            # (coarse on most file systems: milliseconds, or seconds) and keep its size, so its
            # stamp would not tell: it is read again until it has been left alone a while.
            settled = time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > _SETTLED_NS
            data = f.read(self.limits.maxSize + 1)
        revocations: KeyRevocationList | list[Key]
        if isKRL(data):
            revocations = KeyRevocationList.fromBytes(data, self.limits)
        elif len(data) > self.limits.maxSize:
            raise KRLError("revoked keys file too large")
        else:
            revocations = _keysOfLines(data.splitlines())
        self._read = (stamp, revocations) if settled else None
        return revocations

    def getKeys(self) -> list[Key]:
        """
        The keys of a file in list form.

        :raises OSError: the file cannot be read.
        :raises KRLError: the file is a KRL, which revokes more than keys and is no list of
            them (an empty list would let every key in): ask :meth:`isRevoked`.
        """
        revocations = self._revocations()
        if isinstance(revocations, KeyRevocationList):
            raise KRLError("a key revocation list is not a list of keys")
        return list(revocations)

    def isRevoked(self, key: Key) -> bool:
        """
        Whether ``key`` is revoked: for a KRL see
        :meth:`~glisten.conch.ssh.krl.KeyRevocationList.isRevoked`; a list revokes the keys
        it holds, their certificates and the certificates of the CAs it holds.

        :raises OSError: the file cannot be read.
        :raises KRLError: the file is a KRL that does not decode.
        """
        revocations = self._revocations()
        if isinstance(revocations, KeyRevocationList):
            return revocations.isRevoked(key)
        return _isRevoked(key, revocations)


class TrustedUserCAKeysFile(PublicKeysFile):
    """
    OpenSSH's ``TrustedUserCAKeys`` file: public keys of CAs whose user certificates are
    accepted for any user the certificate names.
    """

    def getCAKeys(self) -> list[Key]:
        """The CA keys (none when the file cannot be read; certificates are no CA keys)."""
        try:
            return [key for key in self.getKeys() if key.certificate is None]
        except OSError:
            return []


def _isRevoked(key: Key, revoked: list[Key]) -> bool:
    """Whether ``key``, its certified key or its CA is listed in ``revoked``."""
    if key in revoked:
        return True
    cert = key.certificate
    return cert is not None and (cert.key in revoked or cert.signatureKey in revoked)


def _certificateEntry(
    key: Key, address: str | None, line: AuthorizedOptions | None
) -> AuthorizedKey:
    """
    The entry a certificate login gets: the line's options (a ``cert-authority`` line, an
    authorized principals line, or none for a trusted CA) narrowed by the certificate.

    :raises BadCertificateError: the certificate's options refuse the login.
    """
    cert = key.certificate
    assert cert is not None
    options: dict[bytes, bytes | None] = dict(line.options) if line is not None else {}
    for name in cert.criticalOptions:
        value = cert.criticalOption(name)
        assert value is not None
        if name == b"force-command":
            if options.get(b"command") not in (None, value):
                raise BadCertificateError("certificate and key force different commands")
            options[b"command"] = value
        elif name == b"source-address":
            if not sourceAddressAllows(value, address):
                raise BadCertificateError("source address not allowed by the certificate")
        elif name == b"verify-required":
            if key.securityKeyApplication() is None:
                raise BadCertificateError("verify-required on a key that is no security key")
            options[b"verify-required"] = None
        else:
            raise BadCertificateError("unsupported critical certificate option")
    if b"no-touch-required" not in cert.extensions:
        # Both the line and the certificate must waive the touch, as in OpenSSH.
        options.pop(b"no-touch-required", None)
    elif line is None:
        # A trusted CA without a principals line: the certificate's options alone apply
        # (OpenSSH's auth2-pubkey.c), so its extension waives the touch.
        options[b"no-touch-required"] = None
    for extension, flag in (
        (b"permit-pty", b"no-pty"),
        (b"permit-port-forwarding", b"no-port-forwarding"),
        (b"permit-agent-forwarding", b"no-agent-forwarding"),
        (b"permit-X11-forwarding", b"no-x11-forwarding"),
        (b"permit-user-rc", b"no-user-rc"),
    ):
        if extension not in cert.extensions:
            options[flag] = None
    entry = AuthorizedKey(
        key,
        options,
        line.environment if line is not None else [],
        line.permitOpen if line is not None else None,
        line.permitListen if line is not None else None,
    )
    entry.certificate = cert
    return entry


@implementer(ICredentialsChecker)
class SSHPublicKeyChecker:
    """
    Checks SSH public key credentials against a key database, and OpenSSH user certificates
    against its ``cert-authority`` lines and trusted CA keys.

    A query (no signature) for an allowed key fails with
    :class:`~glisten.conch.error.ValidPublicKey`, which makes the server answer PK_OK.

    :param keydb: an :class:`IAuthorizedKeysDB`.
    :param trustedUserCAKeys: CA keys trusted for every user (``TrustedUserCAKeys``): a list
        of :class:`~glisten.conch.ssh.keys.Key` or a :class:`TrustedUserCAKeysFile`.
    :param clock: gives the time that certificate validity and ``expiry-time`` are checked
        against (:func:`time.time` by default).
    :param revokedKeys: keys refused whatever else allows them (OpenSSH's ``RevokedKeys``):
        a :class:`RevokedKeysFile` (a KRL or a key list), or a list of
        :class:`~glisten.conch.ssh.keys.Key` or a :class:`PublicKeysFile` (which revoke the
        certificates of those keys and those their CA signed too); when the file cannot be
        read or its KRL does not decode, every key is refused (as OpenSSH does).
    :param authorizedPrincipals: OpenSSH's ``AuthorizedPrincipalsFile``: a certificate of a
        trusted CA must then list a principal of the user's file (whose line's options apply)
        rather than the user name; ``cert-authority`` lines are not affected.
    """

    credentialInterfaces = (_credentials.ISSHPrivateKey,)
    _log = Logger()

    def __init__(
        self,
        keydb: Any,
        trustedUserCAKeys: Any = None,
        clock: Callable[[], float] = time.time,
        revokedKeys: Any = None,
        authorizedPrincipals: AuthorizedPrincipalsFile | None = None,
    ) -> None:
        self._authorizedPrincipals = authorizedPrincipals
        self._keydb = keydb
        self._trustedUserCAKeys = trustedUserCAKeys
        self._clock = clock
        self._revokedKeys = revokedKeys

    def _revoked(self, key: Key) -> bool:
        revoked = self._revokedKeys
        if revoked is None:
            return False
        isRevoked = getattr(revoked, "isRevoked", None)
        if isRevoked is not None:
            try:
                return bool(isRevoked(key))
            except (OSError, KRLError) as e:
                self._log.warn(
                    "revoked keys file unusable ({reason}): refusing every key",
                    reason=e.strerror if isinstance(e, OSError) else str(e),
                )
                return True
        getKeys = getattr(revoked, "getKeys", None)
        try:
            listed = list(getKeys() if getKeys is not None else revoked)
        except OSError:
            self._log.warn("revoked keys file unreadable: refusing every key")
            return True
        return _isRevoked(key, listed)

    def _caKeys(self) -> list[Key]:
        trusted = self._trustedUserCAKeys
        if trusted is None:
            return []
        getCAKeys = getattr(trusted, "getCAKeys", None)
        return list(getCAKeys() if getCAKeys is not None else trusted)

    def _principalsCandidate(
        self, cert: Any, username: bytes, address: str | None, now: float
    ) -> list[tuple[AuthorizedOptions | None, bytes | None, bool]]:
        """
        The user's first authorized principals line that names one of the certificate's
        principals (its options then apply, as in ``sshd``), if its ``from=`` and
        ``expiry-time=`` allow the login.
        """
        assert self._authorizedPrincipals is not None
        for line in self._authorizedPrincipals.getPrincipalEntries(username):
            if line.principal not in cert.principals:
                continue
            if not line.allowsAddress(address) or line.isExpired(now):
                self._log.info("certificate refused: its authorized principal line forbids it")
                return []
            return [(line, None, True)]
        self._log.info("certificate refused: no authorized principal in it")
        return []

    def _certificateLogin(self, key: Key, credentials: Any) -> AuthorizedKeyID | None:
        """The avatar ID a certificate earns, or ``None`` (why is logged for the
        administrator, never told to the client)."""
        cert = key.certificate
        assert cert is not None
        username = credentials.username
        address = getattr(credentials, "address", None)
        now = self._clock()
        candidates: list[tuple[AuthorizedOptions | None, bytes | None, bool]] = []
        entries = getattr(self._keydb, "getAuthorizedKeyEntries", None)
        for line in entries(username) if entries is not None else []:
            if not line.certAuthority or line.key.public() != cert.signatureKey:
                continue
            if not line.allowsAddress(address) or line.isExpired(now):
                continue
            names = line.principals
            if names is not None:
                if not any(n in cert.principals for n in names):
                    continue
                candidates.append((line, None, False))
            else:
                candidates.append((line, username, False))
        if any(ca == cert.signatureKey for ca in self._caKeys()):
            if self._authorizedPrincipals is None:
                candidates.append((None, username, True))
            else:
                candidates.extend(self._principalsCandidate(cert, username, address, now))
        if not candidates:
            self._log.info("certificate refused: no trusted CA for it")
        for line, principal, required in candidates:
            try:
                cert.checkAuthority(CERT_USER, principal, now, requirePrincipal=required)
                entry = _certificateEntry(key, address, line)
            except BadCertificateError as e:
                self._log.info("certificate refused: {reason}", reason=str(e))
                continue
            avatarID = AuthorizedKeyID(username)
            avatarID.authorizedKey = entry
            return avatarID
        return None

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        try:
            key = Key.fromString(credentials.blob, "blob")
        except BadKeyError:
            return fail(Failure(UnauthorizedLogin("bad key")))
        if self._revoked(key):
            self._log.info("revoked key refused: SHA256:{fp}", fp=key.fingerprint("sha256-base64"))
            return fail(Failure(UnauthorizedLogin("key revoked")))
        if key.certificate is not None:
            certID = self._certificateLogin(key, credentials)
            if certID is None:
                return fail(Failure(UnauthorizedLogin("certificate not accepted")))
            if credentials.signature is None:
                return fail(Failure(ValidPublicKey()))
            assert certID.authorizedKey is not None
            if not certID.authorizedKey.verifySignature(
                key, credentials.signature, credentials.sigData
            ):
                return fail(Failure(UnauthorizedLogin("bad signature")))
            cert = key.certificate
            # What OpenSSH logs too: which certificate, from which CA (the key ID is the
            # CA's text, shown escaped).
            self._log.info(
                "certificate login for {user}: key ID {keyId} serial {serial} CA SHA256:{ca}",
                user=credentials.username.decode("utf-8", "backslashreplace"),
                keyId=repr(cert.keyId),
                serial=cert.serial,
                ca=cert.signatureKey.fingerprint("sha256-base64"),
            )
            return succeed(certID)
        username = credentials.username
        entries = getattr(self._keydb, "getAuthorizedKeyEntries", None)
        if entries is not None:
            address = getattr(credentials, "address", None)
            now = self._clock()
            matching = [
                e
                for e in entries(username)
                if e.key.public() == key
                and not e.certAuthority
                and not e.isExpired(now)
                and e.allowsAddress(address)
            ]
            allowed = bool(matching)
        else:
            matching = []
            allowed = any(key == k.public() for k in self._keydb.getAuthorizedKeys(username))
        if not allowed:
            return fail(Failure(UnauthorizedLogin("key not authorized")))
        if credentials.signature is None:
            return fail(Failure(ValidPublicKey()))
        if matching:
            good = matching[0].verifySignature(key, credentials.signature, credentials.sigData)
        else:
            good = key.verify(credentials.signature, credentials.sigData)
        if not good:
            return fail(Failure(UnauthorizedLogin("bad signature")))
        if matching:
            avatarID = AuthorizedKeyID(username)
            avatarID.authorizedKey = matching[0]
            return succeed(avatarID)
        return succeed(username)


# ---------------------------------------------------------------------- UNIX passwords


def _asBytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _usableHash(crypted: bytes) -> bool:
    """Whether a password field can match any password: empty fields (no password), ``!``
    (locked, also ``!!`` and ``!$6$...`` from ``passwd -l``) and ``*`` (no login) cannot."""
    return bool(crypted) and not crypted.startswith((b"!", b"*"))


def verifyCryptedPassword(crypted: str | bytes, pw: str | bytes) -> bool:
    """
    Whether ``pw`` is the password of the hash ``crypted`` (a ``/etc/shadow`` field:
    yescrypt ``$y$``, sha512crypt ``$6$``, sha256crypt ``$5$``, bcrypt ``$2b$``, md5crypt
    ``$1$``, or any other method the system's libcrypt knows).

    The hash is made by libcrypt through :mod:`ctypes` and compared in constant time. Empty,
    locked (``!``) and disabled (``*``) fields never match, nor does a password with a NUL
    byte (C would check only what comes before it).

    :param crypted: the stored hash (``str`` is encoded as UTF-8).
    :param pw: the password offered.
    :raises CryptUnavailable: the system has no libcrypt.
    """
    stored = _asBytes(crypted)
    if not _usableHash(stored):
        return False
    result = _crypt.libcrypt().crypt(_asBytes(pw), stored)
    return result is not None and hmac.compare_digest(result, stored)


_MAX_DB_LINE = 4096


def _readDatabaseLine(path: str, name: bytes) -> list[bytes] | None:
    """
    The fields of ``name``'s line of a ``passwd``-format file (``name:field:...``), or
    ``None`` when it has none; over-long lines are skipped (and NIS ``+``/``-`` lines never
    match, as user names starting so are refused before).

    :raises OSError: the file cannot be read.
    """
    prefix = name + b":"
    with open(path, "rb") as f:
        for line in f:
            if len(line) > _MAX_DB_LINE or not line.startswith(prefix):
                continue
            return line.rstrip(b"\r\n").split(b":")
    return None


def _passwordAgedOut(fields: list[bytes], now: float) -> bool:
    """
    Whether a shadow line's password must be changed before it logs in: its last change
    (field 3) is ``0`` (change at the next login), or that day plus the maximum age (field 5)
    has come (which includes the inactivity period after it, field 7).
    """
    if len(fields) < 3 or not fields[2].isdigit():
        return False
    lastChange = int(fields[2])
    if lastChange == 0:
        return True
    if len(fields) < 5 or not fields[4].isdigit():
        return False
    return now // 86400 >= lastChange + int(fields[4])


def _accountExpired(fields: list[bytes], now: float) -> bool:
    """Whether a shadow line's account expiry date (days since 1970, field 8) has come."""
    if len(fields) < 8 or not fields[7].isdigit():
        return False
    expire = int(fields[7])
    return expire > 0 and now // 86400 >= expire


#: User names looked up: no separators, blanks or NIS ``+``/``-`` markers.
_VALID_USER = re.compile(rb"[^-+:\x00-\x20\x7f/][^:\x00-\x20\x7f/]{0,255}\Z")


@implementer(ICredentialsChecker)
class UNIXPasswordDatabase:
    """
    Checks user names and passwords against the UNIX password database, the way ``sshd``
    does without PAM: the user's ``shadow`` entry when the shadow file is readable and lists
    the user, else the ``passwd`` entry. The hash is checked by :func:`verifyCryptedPassword`
    (the system's libcrypt; neither :mod:`crypt` nor :mod:`spwd`, both gone from Python
    3.13, nor PAM). Locked (``!``), disabled (``*``) and empty entries and accounts past
    their shadow expiry date are refused. So are passwords that shadow ageing says must be
    changed (last change ``0``, or past the maximum age), with a log line saying so: this
    database does not change them (no :class:`IUsernamePasswordChange`), because writing
    ``/etc/shadow`` is ``passwd``'s work (root, and shadow-utils' locking), so the server
    cannot offer the change that RFC 4252 section 8 describes.

    Unknown, refused and locked users cost one hash with a dummy setting, so the time a
    failure takes does not tell whether the user exists. The hash is computed in the calling
    thread (yescrypt takes tens of milliseconds).

    :param getByNameFunctions: as in Twisted, functions tried in order, each given the user
        name (``str``) and returning a ``passwd``- or ``spwd``-like sequence whose item ``1``
        is the hash, or raising :class:`KeyError`; the default reads ``shadowFile`` and
        ``passwdFile``.
    :param shadowFile: the shadow file (read on every login).
    :param passwdFile: the passwd file, for users the shadow file does not list.
    :param users: the only user names (``bytes``) admitted; ``None`` admits any user the
        files know. A server that runs every session as its own user should admit only that
        user, or any local user's password would give that user's rights.
    :param clock: the time, for shadow expiry dates.
    :raises CryptUnavailable: the system has no libcrypt (checked at once, so a server
        configured for UNIX passwords fails when it starts, not at the first login).
    """

    credentialInterfaces = (_credentials.IUsernamePassword,)
    _log = Logger()

    def __init__(
        self,
        getByNameFunctions: Iterable[Callable[[str], Any]] | None = None,
        *,
        shadowFile: str | os.PathLike[str] = "/etc/shadow",
        passwdFile: str | os.PathLike[str] = "/etc/passwd",
        users: Iterable[bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._crypt = _crypt.libcrypt()
        self.shadowFile = os.fspath(shadowFile)
        self.passwdFile = os.fspath(passwdFile)
        self.users = None if users is None else set(users)
        self._clock = clock
        self._getByNameFunctions = (
            [self._localEntry] if getByNameFunctions is None else list(getByNameFunctions)
        )
        self._dummySetting = self._crypt.gensalt() or b"$6$rounds=5000$glistendummysalt"

    def _localEntry(self, username: str) -> tuple[str, bytes]:
        """``(name, hash)`` from the shadow file if it lists the user, else the passwd file.

        :raises KeyError: neither does.
        """
        name = username.encode("utf-8")
        try:
            fields = _readDatabaseLine(self.shadowFile, name)
        except OSError:
            fields = None
        if fields is not None and len(fields) >= 2:
            if _accountExpired(fields, self._clock()):
                self._log.info("UNIX password login refused: account {user} expired", user=username)
                return username, b"!"
            if _passwordAgedOut(fields, self._clock()):
                self._log.info(
                    "UNIX password login refused: the password of {user} has expired or must be"
                    " changed (shadow ageing); change it with passwd",
                    user=username,
                )
                return username, b"!"
            return username, fields[1]
        try:
            fields = _readDatabaseLine(self.passwdFile, name)
        except OSError:
            fields = None
        if fields is None or len(fields) < 2:
            raise KeyError(username)
        return username, fields[1]

    def _entries(self, username: bytes) -> Iterator[Any]:
        """The entries the lookup functions have for an admitted, well-formed user name."""
        if not _VALID_USER.match(username):
            return
        if self.users is not None and username not in self.users:
            return
        try:
            name = username.decode("utf-8")
        except UnicodeDecodeError:
            return
        for getByName in self._getByNameFunctions:
            try:
                entry = getByName(name)
            except KeyError:
                continue
            if entry is not None:
                yield entry

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        username = _asBytes(credentials.username)
        password = _asBytes(credentials.password)
        hashed = False
        for entry in self._entries(username):
            crypted = _asBytes(entry[1])
            if not _usableHash(crypted):
                continue
            hashed = True
            if verifyCryptedPassword(crypted, password):
                return succeed(username)
        if not hashed:
            # As long as a real check, whatever the reason for refusing.
            self._crypt.crypt(password, self._dummySetting)
        return fail(Failure(UnauthorizedLogin("unable to verify password")))
