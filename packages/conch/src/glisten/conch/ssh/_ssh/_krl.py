"""
OpenSSH key revocation lists (KRL, OpenSSH's ``PROTOCOL.krl``) as a sans-IO codec.

:func:`decodeKRL` reads a KRL file's bytes under :class:`KRLLimits` into a
:class:`RevocationList`; :func:`encodeKRL` writes one. Keys stay blobs here (plain public key
blobs, CA key blobs): :mod:`glisten.conch.ssh.krl` matches :class:`~glisten.conch.ssh.keys.Key`
objects against them.

Signature sections are walked over and not verified, as ``sshd`` does (it gives them no key to
trust; OpenSSH 9.4 and later refuse KRLs that carry one). Extension sections and certificate
extension subsections (later OpenSSH versions) are ignored unless marked critical, which fails
the file.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

import attrs

from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint32, uint64

#: The first eight bytes of every KRL: ``"SSHKRL\n\0"``.
KRL_MAGIC = b"SSHKRL\n\x00"
KRL_FORMAT_VERSION = 1

SECTION_CERTIFICATES = 1
SECTION_EXPLICIT_KEY = 2
SECTION_FINGERPRINT_SHA1 = 3
SECTION_SIGNATURE = 4
SECTION_FINGERPRINT_SHA256 = 5
SECTION_EXTENSION = 255

CERT_SERIAL_LIST = 0x20
CERT_SERIAL_RANGE = 0x21
CERT_SERIAL_BITMAP = 0x22
CERT_KEY_ID = 0x23
CERT_EXTENSION = 0x39

_U64_MAX = (1 << 64) - 1


class KRLError(DecodeError):
    """A KRL is malformed or exceeds the limits (the message never quotes the file)."""


@attrs.frozen
class KRLLimits:
    """
    Bounds on a KRL, so a hostile or corrupt file cannot make the reader use unbounded memory
    or time.

    :ivar maxSize: the largest file, in bytes.
    :ivar maxEntries: the most revocations in total (serials, serial ranges, key IDs, keys
        and hashes; each set bit of a bitmap counts as one).
    :ivar maxBitmapBytes: the longest serial bitmap (OpenSSH reads at most 2048 bytes: 16384
        serials).
    :ivar maxKeyId: the longest revoked key ID.
    :ivar maxKeyBlob: the longest key blob (revoked keys and CA keys).
    :ivar maxCAs: the most certificate sections.
    """

    maxSize: int = 1 << 24
    maxEntries: int = 1 << 20
    maxBitmapBytes: int = 2048
    maxKeyId: int = 1024
    maxKeyBlob: int = 16384
    maxCAs: int = 4096


@attrs.frozen(slots=True)
class CertificateRevocations:
    """
    Certificates one CA (or every CA) issued that are revoked.

    :ivar caKey: the CA's public key blob; empty for a section that applies to every CA.
    :ivar serials: single revoked serial numbers.
    :ivar ranges: inclusive ``(low, high)`` serial ranges, sorted and not overlapping.
    :ivar keyIds: revoked certificate key IDs.
    """

    caKey: bytes
    serials: frozenset[int] = frozenset()
    ranges: tuple[tuple[int, int], ...] = ()
    keyIds: frozenset[bytes] = frozenset()

    def revokes(self, serial: int, keyId: bytes) -> bool:
        """
        Whether a certificate with this serial and key ID is revoked by this section.

        :param serial: serial ``0`` (what a CA writes when none is given) is never revoked by
            serial, as in OpenSSH.
        """
        if keyId in self.keyIds:
            return True
        if serial == 0:
            return False
        if serial in self.serials:
            return True
        ranges = self.ranges
        at = bisect.bisect_right(ranges, (serial, _U64_MAX)) - 1
        return at >= 0 and ranges[at][0] <= serial <= ranges[at][1]


@attrs.frozen(slots=True)
class RevocationList:
    """
    A decoded KRL.

    :ivar version: the KRL's version number (grows with each change).
    :ivar generatedDate: when it was written, in seconds since the epoch.
    :ivar comment: free text.
    :ivar certificates: revoked certificates, one entry per CA (and one for every CA).
    :ivar keys: revoked plain public key blobs.
    :ivar sha1: SHA-1 hashes of revoked plain public key blobs.
    :ivar sha256: SHA-256 hashes of revoked plain public key blobs.
    """

    version: int = 0
    generatedDate: int = 0
    comment: bytes = b""
    certificates: tuple[CertificateRevocations, ...] = ()
    keys: frozenset[bytes] = frozenset()
    sha1: frozenset[bytes] = frozenset()
    sha256: frozenset[bytes] = frozenset()

    def keyRevoked(self, plainBlob: bytes) -> bool:
        """Whether the plain public key with this blob is revoked (listed or hashed)."""
        if plainBlob in self.keys:
            return True
        if self.sha256 and hashlib.sha256(plainBlob).digest() in self.sha256:
            return True
        return bool(self.sha1) and hashlib.sha1(plainBlob).digest() in self.sha1

    def certificateRevoked(self, caKey: bytes, serial: int, keyId: bytes) -> bool:
        """
        Whether a certificate is revoked by serial or key ID (its key and its CA key are
        checked with :meth:`keyRevoked`).

        :param caKey: the blob of the CA key that signed it.
        """
        return any(
            (section.caKey == caKey or not section.caKey) and section.revokes(serial, keyId)
            for section in self.certificates
        )


class _Builder:
    """The revocations of one CA as they are read (sections for one CA may repeat)."""

    __slots__ = ("keyIds", "ranges", "serials")

    def __init__(self) -> None:
        self.serials: set[int] = set()
        self.ranges: list[tuple[int, int]] = []
        self.keyIds: set[bytes] = set()

    def freeze(self, caKey: bytes) -> CertificateRevocations:
        return CertificateRevocations(
            caKey, frozenset(self.serials), mergedRanges(self.ranges), frozenset(self.keyIds)
        )


def mergedRanges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Inclusive serial ranges sorted, with overlapping and adjacent ones joined (what
    :attr:`CertificateRevocations.ranges` must hold)."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


class _Counter:
    """Counts entries against ``KRLLimits.maxEntries``."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int) -> None:
        self.count = 0
        self.limit = limit

    def add(self, n: int = 1) -> None:
        self.count += n
        if self.count > self.limit:
            raise KRLError("too many revocations in KRL")


def _serial(value: int) -> int:
    if value == 0:
        raise KRLError("KRL revokes serial 0")
    return value


def _bitmapSerials(offset: int, raw: bytes, limits: KRLLimits) -> list[int]:
    """The serials a bitmap subsection revokes (an ``mpint``: non-negative, bounded)."""
    if raw and raw[0] & 0x80:
        raise KRLError("negative KRL serial bitmap")
    raw = raw.lstrip(b"\x00")
    if len(raw) > limits.maxBitmapBytes:
        raise KRLError("KRL serial bitmap too long")
    bits = int.from_bytes(raw, "big")
    if bits and offset + bits.bit_length() - 1 > _U64_MAX:
        raise KRLError("KRL serial bitmap wraps")
    serials = []
    while bits:
        low = bits & -bits
        serials.append(_serial(offset + low.bit_length() - 1))
        bits ^= low
    return serials


def _readCertificates(
    data: bytes, limits: KRLLimits, counter: _Counter, builders: dict[bytes, _Builder]
) -> None:
    r = Reader(data, maxString=limits.maxSize)
    caKey = r.string()
    if len(caKey) > limits.maxKeyBlob:
        raise KRLError("KRL CA key too long")
    r.string()  # reserved
    builder = builders.get(caKey)
    if builder is None:
        if len(builders) >= limits.maxCAs:
            raise KRLError("too many CAs in KRL")
        builder = builders[caKey] = _Builder()
    while r.remaining():
        kind = r.byte()
        sub = Reader(r.string(), maxString=limits.maxSize)
        if kind == CERT_SERIAL_LIST:
            while sub.remaining():
                counter.add()
                builder.serials.add(_serial(sub.uint64()))
        elif kind == CERT_SERIAL_RANGE:
            low = sub.uint64()
            high = sub.uint64()
            if low > high:
                raise KRLError("KRL serial range reversed")
            counter.add()
            builder.ranges.append((_serial(low), high))
        elif kind == CERT_SERIAL_BITMAP:
            offset = sub.uint64()
            serials = _bitmapSerials(offset, sub.string(), limits)
            counter.add(len(serials))
            builder.serials.update(serials)
        elif kind == CERT_KEY_ID:
            while sub.remaining():
                keyId = sub.string()
                if len(keyId) > limits.maxKeyId:
                    raise KRLError("KRL key ID too long")
                if b"\x00" in keyId:
                    raise KRLError("KRL key ID holds a NUL byte")
                counter.add()
                builder.keyIds.add(keyId)
        elif kind == CERT_EXTENSION:
            _readExtension(sub)
        else:
            raise KRLError("unknown KRL certificate subsection")
        if sub.remaining():
            raise KRLError("trailing bytes in KRL certificate subsection")


def _readExtension(r: Reader) -> None:
    """An extension: ignored unless critical (none is known)."""
    r.string()  # name
    critical = r.boolean()
    r.string()  # contents
    if critical:
        raise KRLError("unsupported critical KRL extension")


def _readBlobs(data: bytes, size: int | None, limits: KRLLimits, counter: _Counter) -> set[bytes]:
    r = Reader(data, maxString=limits.maxKeyBlob)
    blobs = set()
    while r.remaining():
        blob = r.string()
        if size is not None and len(blob) != size:
            raise KRLError("KRL key hash of the wrong length")
        counter.add()
        blobs.add(blob)
    return blobs


def isKRL(data: bytes) -> bool:
    """Whether ``data`` starts as a KRL does (anything else is a plain list of keys)."""
    return data.startswith(KRL_MAGIC)


def decodeKRL(data: bytes, limits: KRLLimits = KRLLimits()) -> RevocationList:
    """
    Read a KRL.

    :raises KRLError: not a KRL, an unknown version or section, malformed, trailing bytes,
        or past ``limits``.
    """
    if len(data) > limits.maxSize:
        raise KRLError("KRL too large")
    if not isKRL(data):
        raise KRLError("not a KRL")
    counter = _Counter(limits.maxEntries)
    builders: dict[bytes, _Builder] = {}
    keys: set[bytes] = set()
    sha1: set[bytes] = set()
    sha256: set[bytes] = set()
    try:
        r = Reader(data, len(KRL_MAGIC), maxString=limits.maxSize)
        if r.uint32() != KRL_FORMAT_VERSION:
            raise KRLError("unsupported KRL format version")
        version = r.uint64()
        generated = r.uint64()
        r.uint64()  # flags: none defined
        r.string()  # reserved
        comment = r.string()
        if b"\x00" in comment:
            raise KRLError("KRL comment holds a NUL byte")
        signed = False
        while r.remaining():
            kind = r.byte()
            section = r.string()
            if kind == SECTION_SIGNATURE:
                # The signing key, then the signature: neither is checked (see the module).
                r.string()
                signed = True
                continue
            if signed:
                raise KRLError("KRL section after its signature")
            if kind == SECTION_CERTIFICATES:
                _readCertificates(section, limits, counter, builders)
            elif kind == SECTION_EXPLICIT_KEY:
                keys |= _readBlobs(section, None, limits, counter)
            elif kind == SECTION_FINGERPRINT_SHA1:
                sha1 |= _readBlobs(section, 20, limits, counter)
            elif kind == SECTION_FINGERPRINT_SHA256:
                sha256 |= _readBlobs(section, 32, limits, counter)
            elif kind == SECTION_EXTENSION:
                sub = Reader(section, maxString=limits.maxSize)
                _readExtension(sub)
                sub.done()
            else:
                raise KRLError("unknown KRL section")
    except KRLError:
        raise
    except DecodeError:
        raise KRLError("malformed KRL") from None
    return RevocationList(
        version,
        generated,
        comment,
        tuple(builder.freeze(ca) for ca, builder in builders.items()),
        frozenset(keys),
        frozenset(sha1),
        frozenset(sha256),
    )


def unionKRL(
    first: RevocationList, second: RevocationList, version: int, generatedDate: int, comment: bytes
) -> RevocationList:
    """Everything either list revokes, in one list (sections of the same CA merged)."""
    builders: dict[bytes, _Builder] = {}
    for section in first.certificates + second.certificates:
        builder = builders.setdefault(section.caKey, _Builder())
        builder.serials |= section.serials
        builder.ranges.extend(section.ranges)
        builder.keyIds |= section.keyIds
    return RevocationList(
        version,
        generatedDate,
        comment,
        tuple(builder.freeze(ca) for ca, builder in builders.items()),
        first.keys | second.keys,
        first.sha1 | second.sha1,
        first.sha256 | second.sha256,
    )


def _section(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + string(body)


def encodeKRL(krl: RevocationList) -> bytes:
    """
    Write a KRL: one certificate section per CA (a range subsection per range, one list of
    single serials, one list of key IDs), then the keys and hashes, each sorted.
    """
    out = [
        KRL_MAGIC,
        uint32(KRL_FORMAT_VERSION),
        uint64(krl.version),
        uint64(krl.generatedDate),
        uint64(0),
        string(b""),
        string(krl.comment),
    ]
    for section in krl.certificates:
        body = [string(section.caKey), string(b"")]
        if section.serials:
            serials = b"".join(uint64(s) for s in sorted(section.serials))
            body.append(_section(CERT_SERIAL_LIST, serials))
        for low, high in section.ranges:
            body.append(_section(CERT_SERIAL_RANGE, uint64(low) + uint64(high)))
        if section.keyIds:
            ids = b"".join(string(k) for k in sorted(section.keyIds))
            body.append(_section(CERT_KEY_ID, ids))
        out.append(_section(SECTION_CERTIFICATES, b"".join(body)))
    for kind, blobs in (
        (SECTION_EXPLICIT_KEY, krl.keys),
        (SECTION_FINGERPRINT_SHA1, krl.sha1),
        (SECTION_FINGERPRINT_SHA256, krl.sha256),
    ):
        if blobs:
            out.append(_section(kind, b"".join(string(b) for b in sorted(blobs))))
    return b"".join(out)
