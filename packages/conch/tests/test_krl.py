"""OpenSSH key revocation lists: the codec, KeyRevocationList and RevokedKeysFile."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch.ssh._ssh._krl import (
    CertificateRevocations,
    KRLError,
    KRLLimits,
    RevocationList,
    decodeKRL,
    encodeKRL,
    mergedRanges,
)
from glisten.conch.ssh.keys import CERT_USER, Key
from glisten.conch.ssh.krl import KeyRevocationList, isKRL
from glisten.cred.error import UnauthorizedLogin

from ._pairs import hostKey

CA = hostKey()
OTHER_CA = hostKey("ecdsa", 256)
USER = Key.generate("ed25519")
USER2 = Key.generate("ed25519")


def _s(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _cert(serial: int, keyId: bytes = b"alice", ca: Key = CA, key: Key = USER) -> Key:
    return ca.signCertificate(key, CERT_USER, keyId, [b"alice"], serial=serial)


HEADER = (
    b"SSHKRL\n\x00"  # magic
    b"\x00\x00\x00\x01"  # format version 1
    b"\x00\x00\x00\x00\x00\x00\x00\x05"  # KRL version 5
    b"\x00\x00\x00\x00\x65\x53\xf1\x00"  # generated 1700000000
    b"\x00\x00\x00\x00\x00\x00\x00\x00"  # flags
    b"\x00\x00\x00\x00"  # reserved
    b"\x00\x00\x00\x04test"  # comment
)


def _certSection(ca: bytes, *subsections: tuple[int, bytes]) -> bytes:
    body = _s(ca) + _s(b"") + b"".join(bytes([t]) + _s(d) for t, d in subsections)
    return b"\x01" + _s(body)


SAMPLE = (
    HEADER
    + _certSection(
        CA.public().blob(),
        (0x20, _u64(1) + _u64(7)),
        (0x21, _u64(10) + _u64(20)),
        # Bits 0, 2, 5, 7 of 0xa5 (with the mpint's leading zero): 100, 102, 105, 107.
        (0x22, _u64(100) + _s(b"\x00\xa5")),
        (0x23, _s(b"bob") + _s(b"carol")),
    )
    + _certSection(b"", (0x23, _s(b"mallory")))
    + b"\x02"
    + _s(_s(USER2.public().blob()))
    + b"\x05"
    + _s(_s(hashlib.sha256(OTHER_CA.public().blob()).digest()))
)


def test_decodeSample() -> None:
    krl = decodeKRL(SAMPLE)
    assert (krl.version, krl.generatedDate, krl.comment) == (5, 1700000000, b"test")
    ca, wildcard = krl.certificates
    assert ca.caKey == CA.public().blob()
    assert ca.serials == {1, 7, 100, 102, 105, 107}
    assert ca.ranges == ((10, 20),)
    assert ca.keyIds == {b"bob", b"carol"}
    assert wildcard == CertificateRevocations(b"", keyIds=frozenset({b"mallory"}))
    assert krl.keys == {USER2.public().blob()}
    assert krl.sha256 == {hashlib.sha256(OTHER_CA.public().blob()).digest()}


def test_encodeIsByteExact() -> None:
    krl = RevocationList(
        5,
        1700000000,
        b"test",
        (
            CertificateRevocations(
                CA.public().blob(), frozenset({7, 1}), ((10, 20),), frozenset({b"carol", b"bob"})
            ),
        ),
        frozenset({USER2.public().blob()}),
    )
    expected = (
        HEADER
        + _certSection(
            CA.public().blob(),
            (0x20, _u64(1) + _u64(7)),
            (0x21, _u64(10) + _u64(20)),
            (0x23, _s(b"bob") + _s(b"carol")),
        )
        + b"\x02"
        + _s(_s(USER2.public().blob()))
    )
    assert encodeKRL(krl) == expected
    assert decodeKRL(expected) == krl


@pytest.mark.parametrize(
    "serial,keyId,revoked",
    [
        (1, b"x", True),
        (2, b"x", False),
        (7, b"x", True),
        (9, b"x", False),
        (10, b"x", True),
        (15, b"x", True),
        (20, b"x", True),
        (21, b"x", False),
        (100, b"x", True),
        (101, b"x", False),
        (107, b"x", True),
        (108, b"x", False),
        (0, b"x", False),  # serial 0 is never revoked by serial
        (0, b"bob", True),
        (3, b"carol", True),
        (3, b"mallory", True),  # the wildcard CA's key ID
    ],
)
def test_certificateRevocation(serial: int, keyId: bytes, revoked: bool) -> None:
    krl = KeyRevocationList.fromBytes(SAMPLE)
    assert krl.isRevoked(_cert(serial, keyId)) is revoked
    # Another CA's certificates are revoked only by the wildcard section's key IDs.
    other = _cert(serial, keyId, ca=Key.generate("ed25519"))
    assert krl.isRevoked(other) is (keyId == b"mallory")


def test_keyRevocation() -> None:
    krl = KeyRevocationList.fromBytes(SAMPLE)
    assert krl.isRevoked(USER2) and krl.isRevoked(USER2.public())
    assert not krl.isRevoked(USER)
    assert not krl.isRevoked(CA)
    # A certificate of a revoked key, and any certificate of a CA revoked by its hash.
    assert krl.isRevoked(_cert(3, key=USER2))
    assert krl.isRevoked(OTHER_CA)
    assert krl.isRevoked(_cert(3, ca=OTHER_CA))


def test_sha1Section() -> None:
    data = HEADER + b"\x03" + _s(_s(hashlib.sha1(USER.public().blob()).digest()))
    krl = KeyRevocationList.fromBytes(data)
    assert krl.isRevoked(USER) and krl.isRevoked(_cert(5))
    assert not krl.isRevoked(USER2)


def test_signatureAndExtensionsSkipped() -> None:
    ext = _s(b"bloom@example.com") + b"\x00" + _s(b"whatever")
    data = SAMPLE + b"\xff" + _s(ext)
    assert decodeKRL(data).keys == decodeKRL(SAMPLE).keys
    signed = data + b"\x04" + _s(CA.public().blob()) + _s(b"sig")
    assert decodeKRL(signed) == decodeKRL(SAMPLE)
    with pytest.raises(KRLError, match="after its signature"):
        decodeKRL(signed + b"\x02" + _s(b""))
    critical = _s(b"bloom@example.com") + b"\x01" + _s(b"")
    with pytest.raises(KRLError, match="critical"):
        decodeKRL(SAMPLE + b"\xff" + _s(critical))
    with pytest.raises(KRLError, match="critical"):
        decodeKRL(HEADER + _certSection(b"", (0x39, critical)))
    assert decodeKRL(HEADER + _certSection(b"", (0x39, ext))).certificates[0].keyIds == set()


@pytest.mark.parametrize(
    "data,message",
    [
        (b"SSHKRL\n", "not a KRL"),
        (b"SSHKRL\n\x00\x00\x00\x00\x02", "version"),
        (HEADER[:-3], "malformed"),
        (HEADER + b"\x06" + _s(b""), "unknown KRL section"),
        (HEADER + _certSection(b"", (0x24, b"")), "subsection"),
        (HEADER + _certSection(b"", (0x20, _u64(0))), "serial 0"),
        (HEADER + _certSection(b"", (0x20, _u64(1) + b"\x00")), "malformed"),
        (HEADER + _certSection(b"", (0x21, _u64(0) + _u64(3))), "serial 0"),
        (HEADER + _certSection(b"", (0x21, _u64(5) + _u64(3))), "reversed"),
        (HEADER + _certSection(b"", (0x21, _u64(5) + _u64(6) + b"x")), "trailing"),
        (HEADER + _certSection(b"", (0x22, _u64(0) + _s(b"\x01"))), "serial 0"),
        (HEADER + _certSection(b"", (0x22, _u64(1) + _s(b"\x80"))), "negative"),
        (HEADER + _certSection(b"", (0x22, _u64(2**64 - 1) + _s(b"\x02"))), "wraps"),
        (HEADER + _certSection(b"", (0x22, _u64(1) + _s(b"\x01" * 2049))), "too long"),
        (HEADER + _certSection(b"", (0x23, _s(b"a\x00b"))), "NUL"),
        (HEADER + b"\x05" + _s(_s(b"short")), "wrong length"),
        (HEADER + b"\x03" + _s(_s(b"x" * 32)), "wrong length"),
        (HEADER + _certSection(b"not a key", (0x23, _s(b"a"))), "CA key"),
    ],
)
def test_badKRLs(data: bytes, message: str) -> None:
    with pytest.raises(KRLError, match=message):
        KeyRevocationList.fromBytes(data)


def test_limits() -> None:
    with pytest.raises(KRLError, match="too large"):
        decodeKRL(SAMPLE, KRLLimits(maxSize=len(SAMPLE) - 1))
    with pytest.raises(KRLError, match="too many revocations"):
        decodeKRL(SAMPLE, KRLLimits(maxEntries=5))
    with pytest.raises(KRLError, match="too many CAs"):
        decodeKRL(SAMPLE, KRLLimits(maxCAs=1))
    with pytest.raises(KRLError, match="key ID too long"):
        decodeKRL(SAMPLE, KRLLimits(maxKeyId=4))
    big = HEADER + _certSection(b"", (0x22, _u64(1) + _s(b"\x01" + b"\x00" * 8)))
    with pytest.raises(KRLError, match="bitmap too long"):
        decodeKRL(big, KRLLimits(maxBitmapBytes=8))


def test_rangesMerge() -> None:
    data = HEADER + _certSection(
        b"",
        (0x21, _u64(5) + _u64(9)),
        (0x21, _u64(1) + _u64(3)),
        (0x21, _u64(4) + _u64(6)),
        (0x21, _u64(20) + _u64(30)),
        (0x21, _u64(22) + _u64(25)),
    )
    (section,) = decodeKRL(data).certificates
    assert section.ranges == ((1, 9), (20, 30))
    assert [s for s in range(35) if section.revokes(s, b"")] == [*range(1, 10), *range(20, 31)]


def test_repeatedCASectionsMerge() -> None:
    ca = CA.public().blob()
    data = HEADER + _certSection(ca, (0x20, _u64(3))) + _certSection(ca, (0x23, _s(b"k")))
    (section,) = decodeKRL(data).certificates
    assert section.serials == {3} and section.keyIds == {b"k"}


def test_keyRevocationListRoundTrip() -> None:
    krl = KeyRevocationList(
        keys=[USER2, _cert(4, key=USER)],
        sha256Keys=[OTHER_CA],
        serials={CA: [3, (10, 12)]},
        keyIds={CA: [b"bob"], None: [b"eve"]},
        version=9,
        comment=b"c",
        generatedDate=1,
    )
    again = KeyRevocationList.fromBytes(krl.toBytes())
    assert (again.version, again.comment) == (9, b"c")
    assert isKRL(krl.toBytes())
    for key, revoked in [
        (USER2, True),
        (USER, True),  # revoked through the certificate given
        (OTHER_CA, True),
        (_cert(3, key=USER2), True),
        (_cert(11, b"x", key=Key.generate("ed25519")), True),
        (_cert(13, b"x", key=Key.generate("ed25519")), False),
        (_cert(13, b"bob", key=Key.generate("ed25519")), True),
        (_cert(13, b"eve", key=Key.generate("ed25519"), ca=Key.generate("ed25519")), True),
    ]:
        assert again.isRevoked(key) is revoked
    with pytest.raises(ValueError):
        KeyRevocationList(serials={CA: [0]})
    with pytest.raises(ValueError):
        KeyRevocationList(serials={CA: [(5, 4)]})
    with pytest.raises(ValueError):
        KeyRevocationList(keyIds={_cert(1): [b"x"]})


def _creds(key: Key) -> Any:
    data = b"signed"
    return checkers.SSHPrivateKey(
        b"alice", key.sshType(), key.public().blob(), data, key.sign(data)
    )


def _result(d: Any) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    return results[0]


def test_revokedKeysFileWithKRL(tmp_path: Path) -> None:
    path = tmp_path / "revoked"
    path.write_bytes(KeyRevocationList(keys=[USER2]).toBytes())
    checker = checkers.SSHPublicKeyChecker(
        checkers.InMemorySSHKeyDB({b"alice": [USER.public(), USER2.public()]}),
        revokedKeys=checkers.RevokedKeysFile(path),
    )
    assert _result(checker.requestAvatarId(_creds(USER))) == b"alice"
    assert _result(checker.requestAvatarId(_creds(USER2))).check(UnauthorizedLogin)
    # The list form still works in the same file.
    path.write_bytes(USER.public().toString("openssh") + b"\n")
    assert _result(checker.requestAvatarId(_creds(USER))).check(UnauthorizedLogin)
    assert _result(checker.requestAvatarId(_creds(USER2))) == b"alice"
    # A KRL that does not decode, or a missing file, refuses every key, as sshd does.
    path.write_bytes(HEADER + b"\x06" + _s(b""))
    assert _result(checker.requestAvatarId(_creds(USER))).check(UnauthorizedLogin)
    path.unlink()
    assert _result(checker.requestAvatarId(_creds(USER))).check(UnauthorizedLogin)


def test_revokedKeysFileSizeLimit(tmp_path: Path) -> None:
    path = tmp_path / "revoked"
    path.write_bytes(b"#" * 100 + b"\n")
    revoked = checkers.RevokedKeysFile(path, KRLLimits(maxSize=50))
    with pytest.raises(KRLError):
        revoked.isRevoked(USER)
    path.write_bytes(SAMPLE)
    with pytest.raises(KRLError):
        revoked.isRevoked(USER)
    assert checkers.RevokedKeysFile(path).isRevoked(USER2)


CERT7 = _cert(7)


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(data: bytes, at: int, value: int, cut: int) -> bytes:
        at %= len(data)
        changed = data[:at] + bytes([value]) + data[at + 1 :]
        return changed[: len(changed) - cut]

    return st.builds(
        mutate,
        st.just(SAMPLE),
        st.integers(0, 10_000),
        st.integers(0, 255),
        st.integers(0, 40) | st.just(0),
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=200).map(lambda b: HEADER + b), _mutations()))
def test_randomInputOnlyRaisesKRLError(data: bytes) -> None:
    try:
        krl = KeyRevocationList.fromBytes(data, KRLLimits(maxEntries=10_000))
    except KRLError:
        return
    krl.isRevoked(CERT7)
    krl.isRevoked(USER)


def test_revokedKeysFileReadAgainWhenChanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    decode = KeyRevocationList.fromBytes.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, data: bytes, *limits: KRLLimits) -> Any:
        reads.append(len(data))
        return decode(cls, data, *limits)

    monkeypatch.setattr(KeyRevocationList, "fromBytes", classmethod(counting))
    monkeypatch.setattr(checkers, "_SETTLED_NS", -(10**12))  # a file just written is settled
    path = tmp_path / "revoked"
    path.write_bytes(KeyRevocationList(keys=[USER2]).toBytes())
    revoked = checkers.RevokedKeysFile(path)
    assert revoked.isRevoked(USER2) and not revoked.isRevoked(USER)
    assert len(reads) == 1  # unchanged: not read again
    replacement = tmp_path / "new"
    replacement.write_bytes(KeyRevocationList(keys=[USER]).toBytes())
    replacement.replace(path)
    assert revoked.isRevoked(USER) and not revoked.isRevoked(USER2)
    path.write_bytes(b"# nothing\n")
    assert not revoked.isRevoked(USER)


@pytest.mark.parametrize("age,stale", [(0, False), (10, True)])
def test_revokedKeysFileRecentlyChangedIsReadAgain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age: int, stale: bool
) -> None:
    """
    A change that keeps the file's size and lands in the same timestamp tick as the version
    read before (its stamp unchanged) is seen when that version was recent; a stamp that has
    settled is trusted.
    """
    import os
    import time
    from types import SimpleNamespace

    path = tmp_path / "revoked"
    first = KeyRevocationList(keys=[USER2]).toBytes()
    second = KeyRevocationList(keys=[USER]).toBytes()
    assert len(first) == len(second)
    when = time.time_ns() - age * 10**9
    stamp = SimpleNamespace(st_ino=1, st_size=len(first), st_mtime_ns=when, st_ctime_ns=when)
    realFstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: stamp)
    try:
        path.write_bytes(first)
        revoked = checkers.RevokedKeysFile(path)
        assert revoked.isRevoked(USER2)
        path.write_bytes(second)
        assert revoked.isRevoked(USER) is not stale
    finally:
        monkeypatch.setattr(os, "fstat", realFstat)


def test_revokedKeysFileListsNoKeysOfAKRL(tmp_path: Path) -> None:
    """
    ``getKeys`` (inherited from the plain key list) refuses a KRL rather than listing none of
    its keys, which would tell a caller that nothing is revoked; the list form still lists.
    """
    path = tmp_path / "revoked"
    path.write_bytes(KeyRevocationList(keys=[USER2]).toBytes())
    with pytest.raises(KRLError):
        checkers.RevokedKeysFile(path).getKeys()
    path.write_bytes(USER2.public().toString("openssh") + b"\n")
    assert checkers.RevokedKeysFile(path).getKeys() == [USER2.public()]


def test_overlappingRangesGiven() -> None:
    krl = KeyRevocationList(serials={CA: [(1, 100), (5, 6), (200, 300), (150, 210)]})
    for serial, revoked in [(50, True), (101, False), (149, False), (150, True), (300, True)]:
        assert krl.isRevoked(_cert(serial)) is revoked, serial
    again = KeyRevocationList.fromBytes(krl.toBytes())
    assert again.isRevoked(_cert(50)) and not again.isRevoked(_cert(120))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 60), st.integers(0, 20)), max_size=8),
    st.sets(st.integers(1, 80), max_size=8),
)
def test_serialLookupMatchesBruteForce(spans: list[tuple[int, int]], singles: set[int]) -> None:
    ranges = [(low, low + width) for low, width in spans]
    section = CertificateRevocations(b"", frozenset(singles), mergedRanges(ranges))
    for serial in range(0, 90):
        expected = serial != 0 and (
            serial in singles or any(low <= serial <= high for low, high in ranges)
        )
        assert section.revokes(serial, b"") is expected
