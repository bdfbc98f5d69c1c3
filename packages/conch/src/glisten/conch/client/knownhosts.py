"""
OpenSSH ``known_hosts`` files: plain and hashed entries, ``@revoked`` and ``@cert-authority``
markers, and host key verification without a console.

:meth:`KnownHostsFile.verifyHostKey` accepts a known key, fails with
:class:`~glisten.conch.error.HostKeyChanged` for a different key on record or a revoked key,
and for an unknown host asks ``ui.prompt(text)`` (a Deferred of a bool) when a UI is given;
without one, unknown hosts are refused.

A host certificate is accepted when an ``@cert-authority`` line whose host patterns match the
host holds the certificate's CA key, and the certificate is a host certificate, names the host
among its principals (or names none), is in its validity window, carries no critical option
and has a good CA signature. ``@revoked`` lines revoke the certified key and CA keys alike.
Otherwise, as OpenSSH does, the certified key is checked as a plain host key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Iterator
from typing import Any

from zope.interface import implementer

from glisten.conch.error import HostKeyChanged, InvalidEntry, UserRejectedKey
from glisten.conch.interfaces import IKnownHostEntry
from glisten.conch.ssh._ssh._wildcards import wildcard
from glisten.conch.ssh.keys import (
    CERT_HOST,
    BadCertificateError,
    BadKeyError,
    FingerprintFormats,
    Key,
)
from glisten.internet.defer import Deferred, fail, maybeDeferred, succeed
from glisten.python.failure import Failure

__all__ = ["HashedEntry", "KnownHostsFile", "PlainEntry", "UnparsedEntry"]

_MAX_LINE = 16384


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _hmacHost(salt: bytes, hostname: bytes) -> bytes:
    return hmac.digest(salt, hostname, "sha1")


def _hostPattern(hostname: bytes, port: int | None) -> bytes:
    if port is None or port == 22:
        return hostname
    return b"[" + hostname + b"]:" + str(port).encode("ascii")


class _BaseEntry:
    def __init__(
        self, keyType: bytes, publicKey: Key, comment: bytes | None, marker: bytes | None
    ) -> None:
        self.keyType = keyType
        self.publicKey = publicKey
        self.comment = comment
        self.marker = marker

    def matchesKey(self, keyObject: Key) -> bool:
        return self.publicKey == keyObject.public()

    def _keyString(self) -> bytes:
        parts = [self.keyType, _b64(self.publicKey.blob())]
        if self.comment:
            parts.append(self.comment)
        prefix = [self.marker] if self.marker else []
        return b" ".join(prefix + parts)


@implementer(IKnownHostEntry)
class PlainEntry(_BaseEntry):
    """A line naming its hosts in clear (patterns with ``*``/``?`` and ``!`` negation)."""

    def __init__(
        self,
        hostnames: list[bytes],
        keyType: bytes,
        publicKey: Key,
        comment: bytes | None,
        marker: bytes | None = None,
    ) -> None:
        super().__init__(keyType, publicKey, comment, marker)
        self._hostnames = hostnames

    def matchesHost(self, hostname: bytes) -> bool:
        matched = False
        for pattern in self._hostnames:
            negated = pattern.startswith(b"!")
            if negated:
                pattern = pattern[1:]
            # Only ``*`` and ``?`` are wildcards (``[host]:port`` is no character class).
            glob = wildcard(pattern.lower().decode("latin-1"))
            if glob.match(hostname.lower().decode("latin-1")):
                if negated:
                    return False
                matched = True
        return matched

    def toString(self) -> bytes:
        return b",".join(self._hostnames) + b" " + self._keyString()


@implementer(IKnownHostEntry)
class HashedEntry(_BaseEntry):
    """A ``|1|salt|hash`` line: the host name is only checked, never stored."""

    MAGIC = b"|1|"

    def __init__(
        self,
        hostSalt: bytes,
        hostHash: bytes,
        keyType: bytes,
        publicKey: Key,
        comment: bytes | None,
        marker: bytes | None = None,
    ) -> None:
        super().__init__(keyType, publicKey, comment, marker)
        self._hostSalt = hostSalt
        self._hostHash = hostHash

    def matchesHost(self, hostname: bytes) -> bool:
        return hmac.compare_digest(_hmacHost(self._hostSalt, hostname), self._hostHash)

    def toString(self) -> bytes:
        host = self.MAGIC + _b64(self._hostSalt) + b"|" + _b64(self._hostHash)
        return host + b" " + self._keyString()


@implementer(IKnownHostEntry)
class UnparsedEntry:
    """A line glisten could not read; kept as it was when saving."""

    def __init__(self, string: bytes) -> None:
        self._string = string
        self.marker = None

    def matchesHost(self, hostname: bytes) -> bool:
        return False

    def matchesKey(self, key: Any) -> bool:
        return False

    def toString(self) -> bytes:
        return self._string.rstrip(b"\n")


def _parseLine(line: bytes) -> Any:
    stripped = line.strip()
    if not stripped or stripped.startswith(b"#") or len(stripped) > _MAX_LINE:
        return UnparsedEntry(line)
    parts = stripped.split(None)
    marker = None
    if parts[0].startswith(b"@"):
        marker = parts.pop(0)
        if marker not in (b"@revoked", b"@cert-authority"):
            raise InvalidEntry("unknown marker")
    if len(parts) < 3:
        raise InvalidEntry("too few fields")
    hosts, keyType, keyData = parts[0], parts[1], parts[2]
    comment = b" ".join(parts[3:]) or None
    try:
        key = Key.fromString(base64.b64decode(keyData, validate=True), "blob")
    except (binascii.Error, BadKeyError):
        raise InvalidEntry("bad key") from None
    if hosts.startswith(HashedEntry.MAGIC):
        fields = hosts[len(HashedEntry.MAGIC) :].split(b"|")
        if len(fields) != 2:
            raise InvalidEntry("bad hashed host")
        try:
            salt, digest = base64.b64decode(fields[0]), base64.b64decode(fields[1])
        except binascii.Error:
            raise InvalidEntry("bad hashed host") from None
        return HashedEntry(salt, digest, keyType, key, comment, marker)
    return PlainEntry(hosts.split(b","), keyType, key, comment, marker)


class KnownHostsFile:
    """
    The entries of one ``known_hosts`` file.

    :param savePath: where :meth:`save` writes.
    """

    def __init__(self, savePath: str | os.PathLike[str] | None) -> None:
        self._savePath = os.fspath(savePath) if savePath is not None else None
        self._added: list[Any] = []
        self._entries: list[Any] = []

    @property
    def savePath(self) -> str | None:
        return self._savePath

    @classmethod
    def fromPath(cls, path: str | os.PathLike[str]) -> KnownHostsFile:
        """Read ``path`` (a missing file is empty)."""
        self = cls(path)
        try:
            with open(path, "rb") as f:
                lines = f.readlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                self._entries.append(_parseLine(line))
            except InvalidEntry:
                self._entries.append(UnparsedEntry(line))
        return self

    def iterentries(self) -> Iterator[Any]:
        """Every entry, read and added."""
        yield from self._entries
        yield from self._added

    def _checkRevoked(self, key: Key) -> None:
        for lineno, entry in enumerate(self.iterentries(), 1):
            if entry.marker == b"@revoked" and entry.matchesKey(key):
                raise HostKeyChanged(entry, self._savePath, lineno)

    def certificateAuthorities(self, hostname: bytes) -> list[Key]:
        """
        The CA keys of the ``@cert-authority`` lines matching ``hostname`` (``host`` or
        ``[host]:port``), whose host certificates are trusted for it.
        """
        return [
            entry.publicKey
            for entry in self.iterentries()
            if entry.marker == b"@cert-authority" and entry.matchesHost(hostname)
        ]

    def hasHostCertificate(self, hostname: bytes, certificate: Key, principal: bytes) -> bool:
        """
        Whether a host certificate is trusted for ``hostname`` through an ``@cert-authority``
        line (see the module's description).

        :param principal: the host name the certificate must list (without a port).
        :raises HostKeyChanged: the certified key or the CA key is revoked.
        """
        cert = certificate.certificate
        if cert is None:
            return False
        self._checkRevoked(cert.key)
        self._checkRevoked(cert.signatureKey)
        if cert.signatureKey not in self.certificateAuthorities(hostname):
            return False
        if cert.criticalOptions:
            return False
        try:
            cert.checkAuthority(CERT_HOST, principal.lower())
        except BadCertificateError:
            return False
        return True

    def hasHostKey(self, hostname: bytes, key: Key) -> bool:
        """
        Whether ``key`` is on record for ``hostname``.

        :raises HostKeyChanged: another key of the same type is on record, or the key is revoked.
        """
        if key.certificate is not None:
            # Plain lines hold plain keys: a certificate's key is looked up as itself.
            self._checkRevoked(key.certificate.signatureKey)
            key = key.withoutCertificate()
        self._checkRevoked(key)
        found = False
        for lineno, entry in enumerate(self.iterentries(), 1):
            if entry.marker is not None or isinstance(entry, UnparsedEntry):
                continue
            if not entry.matchesHost(hostname):
                continue
            if entry.matchesKey(key):
                found = True
            elif entry.publicKey.sshType() == key.sshType():
                raise HostKeyChanged(entry, self._savePath, lineno)
        return found

    def addHostKey(self, hostname: bytes, key: Key, hashed: bool = True) -> Any:
        """Record ``key`` for ``hostname`` (hashed by default, as OpenSSH's HashKnownHosts)."""
        if hashed:
            salt = os.urandom(20)
            entry: Any = HashedEntry(
                salt, _hmacHost(salt, hostname), key.sshType(), key.public(), None
            )
        else:
            entry = PlainEntry([hostname], key.sshType(), key.public(), None)
        self._added.append(entry)
        return entry

    def save(self) -> None:
        """Write the file (with the entries added since it was read)."""
        if self._savePath is None:
            raise ValueError("no path to save to")
        directory = os.path.dirname(self._savePath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(self._savePath, "wb") as f:
            for entry in self.iterentries():
                f.write(entry.toString() + b"\n")
        self._entries.extend(self._added)
        self._added = []

    def verifyHostKey(
        self, ui: Any, hostname: bytes, ip: bytes, key: Key, port: int | None = None
    ) -> Deferred[bool]:
        """
        Check ``key`` for ``hostname`` (and ``ip``).

        :param ui: ``None`` to refuse unknown hosts, or an object whose ``prompt(text)`` returns
            a Deferred of a bool (and optional ``warn(text)``).
        :return: a Deferred firing ``True``, or failing with
            :class:`~glisten.conch.error.HostKeyChanged` / :class:`UserRejectedKey`.
        """
        host = _hostPattern(hostname, port)
        address = _hostPattern(ip, port)
        try:
            if key.certificate is not None:
                if self.hasHostCertificate(host, key, hostname):
                    return succeed(True)
                # No CA vouches for it: check the certified key as a plain host key.
                self._checkRevoked(key.certificate.signatureKey)
                key = key.withoutCertificate()
            if self.hasHostKey(host, key):
                if ip and ip != hostname and not self.hasHostKey(address, key):
                    self.addHostKey(address, key)
                    self._trySave()
                return succeed(True)
        except HostKeyChanged as e:
            return fail(Failure(e))
        if ui is None:
            return fail(Failure(UserRejectedKey("unknown host key and no UI to ask")))
        text = (
            "The authenticity of host '%s (%s)' can't be established.\n"
            "%s key fingerprint is SHA256:%s.\n"
            "Are you sure you want to continue connecting (yes/no)? "
            % (
                hostname.decode("latin-1"),
                ip.decode("latin-1"),
                key.type(),
                key.fingerprint(FingerprintFormats.SHA256_BASE64),
            )
        )
        d: Deferred[Any] = maybeDeferred(ui.prompt, text)

        def answered(yes: bool) -> bool:
            if not yes:
                raise UserRejectedKey("host key rejected")
            self.addHostKey(host, key)
            if ip and ip != hostname:
                self.addHostKey(address, key)
            self._trySave()
            return True

        return d.addCallback(answered)

    def _trySave(self) -> None:
        if self._savePath is not None:
            try:
                self.save()
            except OSError:
                pass
