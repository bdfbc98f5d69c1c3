"""
OpenSSH key revocation lists (KRL): the binary ``RevokedKeys`` form that ``ssh-keygen -k``
writes (OpenSSH's ``PROTOCOL.krl``).

A KRL revokes plain keys (listed whole or by their SHA-1 or SHA-256 hash) and certificates (by
serial number, serial range or key ID, for one CA or for every CA). :meth:`KeyRevocationList.isRevoked`
answers as ``sshd`` and ``ssh-keygen -Q`` do: a key is revoked when it is listed; a
certificate when its certified key or its CA key is listed, or its CA revoked its serial or key
ID. Serial ``0`` is never revoked by serial. Signature sections are not verified (``sshd`` does
not either).

:class:`~glisten.conch.checkers.RevokedKeysFile` reads a ``RevokedKeys`` file in either form
for :class:`~glisten.conch.checkers.SSHPublicKeyChecker`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping

import attrs

from glisten.conch.ssh._ssh._krl import (
    KRL_MAGIC,
    CertificateRevocations,
    KRLError,
    KRLLimits,
    RevocationList,
    decodeKRL,
    encodeKRL,
    isKRL,
    mergedRanges,
    unionKRL,
)
from glisten.conch.ssh.keys import BadKeyError, Key

__all__ = ["KRL_MAGIC", "KRLError", "KRLLimits", "KeyRevocationList", "isKRL"]


_DEFAULT_LIMITS = KRLLimits()


def _plainKey(key: Key) -> Key:
    cert = key.certificate
    return key.public() if cert is None else cert.key


class KeyRevocationList:
    """
    A key revocation list.

    Read one with :meth:`fromBytes` or :meth:`fromFile`; make one with the constructor and
    write it with :meth:`toBytes` (which ``ssh-keygen -Q`` reads).

    :param keys: plain keys revoked whole (certificates given are revoked by their key).
    :param sha256Keys: plain keys revoked by the SHA-256 hash of their blob.
    :param sha1Keys: plain keys revoked by the SHA-1 hash of their blob.
    :param sha256Hashes: SHA-256 hashes of plain key blobs revoked (the raw 32 bytes of an
        ``SHA256:`` fingerprint).
    :param serials: ``{caKey: serials}``: certificate serials revoked for that CA, each an
        ``int`` or an inclusive ``(low, high)`` range (serials start at 1).
    :param keyIds: ``{caKey: keyIds}``: certificate key IDs revoked for that CA; the CA
        ``None`` revokes them for every CA.
    :param version: the KRL's version number.
    :param comment: free text.
    :param generatedDate: seconds since the epoch (now by default).
    :raises ValueError: a serial of ``0``, a reversed range, a CA key that is a certificate, or
        a hash of the wrong length.
    """

    def __init__(
        self,
        keys: Iterable[Key] = (),
        sha256Keys: Iterable[Key] = (),
        serials: Mapping[Key, Iterable[int | tuple[int, int]]] | None = None,
        keyIds: Mapping[Key | None, Iterable[bytes]] | None = None,
        version: int = 0,
        comment: bytes = b"",
        generatedDate: int | None = None,
        sha1Keys: Iterable[Key] = (),
        sha256Hashes: Iterable[bytes] = (),
    ) -> None:
        hashes = list(sha256Hashes)
        if any(len(h) != 32 for h in hashes):
            raise ValueError("a SHA-256 hash is 32 bytes")
        cas: dict[bytes, tuple[set[int], list[tuple[int, int]], set[bytes]]] = {}

        def forCA(ca: Key | None) -> tuple[set[int], list[tuple[int, int]], set[bytes]]:
            if ca is not None and ca.certificate is not None:
                raise ValueError("a CA key must be a plain key")
            blob = b"" if ca is None else ca.public().blob()
            return cas.setdefault(blob, (set(), [], set()))

        for ca, numbers in (serials or {}).items():
            single, ranges, _ = forCA(ca)
            for number in numbers:
                low, high = number if isinstance(number, tuple) else (number, number)
                if low < 1 or high < low or high >= 1 << 64:
                    raise ValueError("serials are 1 to 2**64-1, ranges low to high")
                if low == high:
                    single.add(low)
                else:
                    ranges.append((low, high))
        for maybeCA, ids in (keyIds or {}).items():
            forCA(maybeCA)[2].update(ids)
        self._list = _normalized(
            RevocationList(
                version,
                int(time.time()) if generatedDate is None else generatedDate,
                comment,
                tuple(
                    CertificateRevocations(ca, frozenset(s), mergedRanges(r), frozenset(i))
                    for ca, (s, r, i) in cas.items()
                ),
                frozenset(_plainKey(k).blob() for k in keys),
                frozenset(hashlib.sha1(_plainKey(k).blob()).digest() for k in sha1Keys),
                frozenset(hashlib.sha256(_plainKey(k).blob()).digest() for k in sha256Keys)
                | frozenset(hashes),
            )
        )

    @classmethod
    def _fromList(cls, revocations: RevocationList) -> KeyRevocationList:
        self = cls.__new__(cls)
        self._list = _normalized(revocations)
        return self

    @classmethod
    def fromBytes(cls, data: bytes, limits: KRLLimits = _DEFAULT_LIMITS) -> KeyRevocationList:
        """
        Read a KRL.

        :raises KRLError: malformed, not a KRL, past ``limits``, or a CA key that does not load.
        """
        return cls._fromList(decodeKRL(data, limits))

    @classmethod
    def fromFile(
        cls, path: str | os.PathLike[str], limits: KRLLimits = _DEFAULT_LIMITS
    ) -> KeyRevocationList:
        """
        Read a KRL file.

        :raises OSError: it cannot be read.
        :raises KRLError: as :meth:`fromBytes`, or larger than ``limits.maxSize``.
        """
        with open(path, "rb") as f:
            data = f.read(limits.maxSize + 1)
        return cls.fromBytes(data, limits)

    @property
    def version(self) -> int:
        """The KRL's version number."""
        return self._list.version

    @property
    def comment(self) -> bytes:
        """The KRL's comment."""
        return self._list.comment

    def isRevoked(self, key: Key) -> bool:
        """
        Whether ``key`` (a plain key or a certificate) is revoked.

        :param key: a public or private key; a certificate is checked by its key, its CA key,
            its serial and its key ID.
        """
        revocations = self._list
        cert = key.certificate
        if revocations.keyRevoked(_plainKey(key).blob()):
            return True
        if cert is None:
            return False
        ca = cert.signatureKey.public().blob()
        return revocations.keyRevoked(ca) or revocations.certificateRevoked(
            ca, cert.serial, cert.keyId
        )

    def union(
        self, other: KeyRevocationList, version: int | None = None, comment: bytes | None = None
    ) -> KeyRevocationList:
        """
        A list revoking what this one and ``other`` revoke (``ssh-keygen -k -u``).

        :param version: the new list's version number (this one's plus one by default).
        :param comment: its comment (this one's by default).
        """
        mine = self._list
        return KeyRevocationList._fromList(
            unionKRL(
                mine,
                other._list,
                mine.version + 1 if version is None else version,
                int(time.time()),
                mine.comment if comment is None else comment,
            )
        )

    def toBytes(self) -> bytes:
        """The KRL in OpenSSH's binary form."""
        return encodeKRL(self._list)


def _normalized(revocations: RevocationList) -> RevocationList:
    """
    The list with each CA key blob loaded and written again, so a CA matches the
    :class:`Key` a certificate names whatever encoding the KRL's writer chose.

    :raises KRLError: a CA key does not load or is a certificate.
    """
    sections = []
    for section in revocations.certificates:
        if section.caKey:
            try:
                ca = Key.fromString(section.caKey, "blob")
            except BadKeyError:
                raise KRLError("KRL CA key does not load") from None
            if ca.certificate is not None:
                raise KRLError("KRL CA key is a certificate")
            section = attrs.evolve(section, caKey=ca.blob())
        sections.append(section)
    return attrs.evolve(revocations, certificates=tuple(sections))
