"""keys.Key: formats, fingerprints, signatures, bad input."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh.keys import (
    BadFingerPrintFormat,
    BadKeyError,
    BadSignatureAlgorithmError,
    EncryptedKeyError,
    FingerprintFormats,
    Key,
)

from ._pairs import hostKey

KINDS = [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048)]


@pytest.fixture(params=KINDS, ids=[f"{k}{b or ''}" for k, b in KINDS])
def key(request: pytest.FixtureRequest) -> Key:
    kind, bits = request.param
    return hostKey(kind, bits)


def test_openSSHPrivateRoundTrip(key: Key) -> None:
    assert Key.fromString(key.toString("openssh")) == key


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("ecdsa", 384)])
def test_passphrase(kind: str, bits: int | None) -> None:
    """bcrypt-pbkdf is slow on purpose: two key types are enough here (interop tests load
    passphrase-protected keys of every type that ssh-keygen writes)."""
    key = hostKey(kind, bits)
    data = key.toString("openssh", passphrase=b"correct horse")
    assert b"OPENSSH PRIVATE KEY" in data
    with pytest.raises(EncryptedKeyError):
        Key.fromString(data)
    with pytest.raises(BadKeyError):
        Key.fromString(data, passphrase=b"wrong")
    assert Key.fromString(data, passphrase="correct horse") == key


def test_pemFormats(key: Key) -> None:
    raw = key._keyObject
    formats = [serialization.PrivateFormat.PKCS8]
    if key.type() == "RSA":
        formats.append(serialization.PrivateFormat.TraditionalOpenSSL)  # PKCS#1
    if key.type() == "EC":
        formats.append(serialization.PrivateFormat.TraditionalOpenSSL)  # SEC1
    for fmt in formats:
        pem = raw.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        assert Key.fromString(pem) == key
    encrypted = raw.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(EncryptedKeyError):
        Key.fromString(encrypted)
    assert Key.fromString(encrypted, passphrase=b"pw") == key


def test_publicFormats(key: Key) -> None:
    public = key.public()
    assert public.isPublic() and not key.isPublic()
    for fmt in ("openssh", "rfc4716", "pem"):
        assert Key.fromString(public.toString(fmt, comment=b"a comment")) == public
    assert Key.fromString(public.blob(), "blob") == public
    line = public.toString("openssh", comment=b"me@host")
    assert line.startswith(public.sshType() + b" ")
    assert line.endswith(b" me@host")


def test_fingerprints(key: Key) -> None:
    import hashlib

    blob = key.blob()
    assert key.fingerprint() == ":".join("%02x" % b for b in hashlib.md5(blob).digest())
    assert key.fingerprint(FingerprintFormats.SHA256_BASE64) == base64.b64encode(
        hashlib.sha256(blob).digest()
    ).decode().rstrip("=")
    with pytest.raises(BadFingerPrintFormat):
        key.fingerprint("sha1")


def test_privateAndPublicHalvesAgree(key: Key) -> None:
    """A private key answers as its public half does (type, blob: remembered once made),
    and the public half made again from the blob is equal."""
    public = key.public()
    assert not key.isPublic() and public.isPublic()
    assert key.type() == public.type()
    assert key.blob() == public.blob() == key.blob()
    assert key.sshType() == public.sshType()
    assert Key._fromBlob(key.blob()) == public
    assert key.public().blob() == public.blob()


def test_signVerify(key: Key) -> None:
    data = b"some data"
    for alg in key.supportedSignatureAlgorithms():
        signature = key.sign(data, alg)
        assert key.public().verify(signature, data)
        assert not key.public().verify(signature, data + b"!")
    other = Key.generate("ed25519")
    assert not other.verify(key.sign(data), data)


def test_rsaDefaultsToSHA256() -> None:
    key = hostKey("rsa", 2048)
    assert key.sign(b"x").startswith(b"\x00\x00\x00\x0crsa-sha2-256")


def test_signatureAlgorithmMustFit() -> None:
    with pytest.raises(BadSignatureAlgorithmError):
        hostKey().sign(b"x", b"rsa-sha2-256")
    with pytest.raises(BadKeyError):
        hostKey().public().sign(b"x")


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_dsaRefused() -> None:
    private = dsa.generate_private_key(1024)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(BadKeyError):
        Key.fromString(pem)


def test_generateChecks() -> None:
    with pytest.raises(BadKeyError):
        Key.generate("rsa", 1024)
    with pytest.raises(BadKeyError):
        Key.generate("ecdsa", 123)
    with pytest.raises(BadKeyError):
        Key.generate("dsa")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"ssh-ed25519",
        b"ssh-ed25519 !!!!",
        b"ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x07ssh-rsa"),
        b"ssh-ed25519 "
        + base64.b64encode(b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x01\x03\x00\x00\x00\x01\x05"),
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
        b"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA",
    ],
)
def test_badKeys(data: bytes) -> None:
    with pytest.raises(BadKeyError):
        Key.fromString(data)


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=600))
def test_randomBlobsOnlyRaiseBadKeyError(data: bytes) -> None:
    try:
        Key.fromString(data, "blob")
    except BadKeyError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_randomSignaturesAreInvalid(data: bytes) -> None:
    assert hostKey().verify(data, b"data") is False
