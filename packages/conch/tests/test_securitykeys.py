"""
Security-key keys (OpenSSH's ``PROTOCOL.u2f``): ``sk-ssh-ed25519@openssh.com`` and
``sk-ecdsa-sha2-nistp256@openssh.com`` public keys, their certificates, signatures with the
authenticator's flags, and the ``authorized_keys`` options ``no-touch-required`` and
``verify-required``.

The independent checks are OpenSSH's: ``ssh-keygen`` reads the keys written here and certifies
them, and ``sshd`` accepts a glisten client signing with an emulated authenticator
(``tests/conch/test_securitykeys_interop.py``).
"""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh._ssh import _securitykeys as sk
from glisten.conch.ssh._ssh._userauth import publicKeySignedData
from glisten.conch.ssh._ssh._wire import string, uint32
from glisten.conch.ssh.keys import (
    CERT_USER,
    SK_USER_PRESENT,
    SK_USER_VERIFIED,
    BadKeyError,
    BadSignatureAlgorithmError,
    Key,
)
from glisten.cred.error import UnauthorizedLogin
from glisten.python.failure import Failure

from .test_checkers import _result

ED = Key.generate("ed25519")
P256 = Key.generate("ecdsa", 256)
KINDS = {"ed25519": ED, "ecdsa": P256}


@pytest.fixture(params=["ed25519", "ecdsa"])
def private(request: pytest.FixtureRequest) -> Key:
    return KINDS[request.param]


def test_blobs(private: Key) -> None:
    key = private.emulateSecurityKey(application=b"ssh:work")
    public = key.public()
    assert public.isPublic() and not key.isPublic()
    assert public.securityKeyApplication() == b"ssh:work"
    kind = public.sshType()
    assert kind == (
        b"sk-ssh-ed25519@openssh.com" if private.type() == "Ed25519" else sk.SK_ECDSA_P256
    )
    # The plain key's blob with the type renamed and the application after it.
    plain = private.public().blob()
    inner = plain[4 + len(private.sshType()) :]
    assert public.blob() == string(kind) + inner + string(b"ssh:work")
    assert Key.fromString(public.blob(), "blob") == public
    line = public.toString("openssh", comment=b"yubikey")
    assert line.startswith(kind + b" ") and line.endswith(b" yubikey")
    again = Key.fromString(line)
    assert again == public and again.securityKeyApplication() == b"ssh:work"
    assert Key.fromString(public.toString("rfc4716")) == public
    assert public.supportedSignatureAlgorithms() == [kind]
    digest = hashlib.sha256(public.blob()).digest()
    assert public.fingerprint("sha256-base64") == base64.b64encode(digest).decode().rstrip("=")
    assert public != private.public()
    assert public.data()


def test_noPrivateOrPEMForms(private: Key) -> None:
    key = private.emulateSecurityKey()
    with pytest.raises(BadKeyError):
        key.toString("openssh")
    with pytest.raises(BadKeyError):
        key.public().toString("pem")
    with pytest.raises(BadKeyError):
        key.privateBlob()


@pytest.mark.parametrize(
    "blob",
    [
        string(sk.SK_ED25519) + string(b"\x01" * 32),  # no application
        string(sk.SK_ED25519) + string(b"\x01" * 31) + string(b"ssh:"),
        string(sk.SK_ED25519) + string(b"\x01" * 32) + string(b"ssh:") + b"x",
        string(sk.SK_ED25519) + string(b"\x01" * 32) + string(b"a" * 1025),
        string(sk.SK_ECDSA_P256) + string(b"nistp384") + string(b"\x04" + b"\x01" * 64),
        string(sk.SK_ECDSA_P256) + string(b"nistp256") + string(b"\x04" + b"\x01" * 64),
    ],
)
def test_malformedBlobs(blob: bytes) -> None:
    with pytest.raises(BadKeyError):
        Key.fromString(blob, "blob")


def test_aP384KeyIsNoSecurityKey() -> None:
    point = (
        Key.generate("ecdsa", 384)
        .public()
        ._public()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    blob = string(sk.SK_ECDSA_P256) + string(b"nistp256") + string(point) + string(b"ssh:")
    with pytest.raises(BadKeyError):
        Key.fromString(blob, "blob")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 150), st.integers(0, 255))
def test_mutatedBlobsOnlyBadKeyError(tail: bytes, position: int, byte: int) -> None:
    """A valid blob with a byte changed or cut short, or random bytes after a type name:
    a key or :class:`BadKeyError`, never another exception."""
    blob = bytearray(ED.emulateSecurityKey().public().blob())
    for candidate in (
        bytes(blob[:position]),
        bytes(blob[:position]) + bytes((byte,)) + bytes(blob[position + 1 :]),
        string(sk.SK_ECDSA_P256) + tail,
        string(sk.SK_ED25519) + tail,
    ):
        try:
            Key.fromString(candidate, "blob")
        except BadKeyError:
            pass


def _parts(signature: bytes) -> sk.SecurityKeySignature:
    return sk.decodeSignature(signature)


def test_signatureFormat(private: Key) -> None:
    key = private.emulateSecurityKey(flags=SK_USER_PRESENT | SK_USER_VERIFIED, counter=41)
    signature = key.sign(b"data")
    parts = _parts(signature)
    assert parts.algorithm == key.sshType()
    assert parts.flags == 5 and parts.counter == 41
    assert _parts(key.sign(b"data")).counter == 42
    assert parts.encode() == signature
    # What the authenticator signed, checked with the plain key.
    message = (
        hashlib.sha256(b"ssh:").digest() + b"\x05" + uint32(41) + hashlib.sha256(b"data").digest()
    )
    if private.type() == "Ed25519":
        assert private.public().verify(string(b"ssh-ed25519") + string(parts.signature), message)
    else:
        blob = string(b"ecdsa-sha2-nistp256") + string(parts.signature)
        assert private.public().verify(blob, message)


@pytest.mark.parametrize(
    "flags,presence,verification,ok",
    [
        (SK_USER_PRESENT, True, False, True),
        (0, True, False, False),
        (0, False, False, True),
        (SK_USER_PRESENT, True, True, False),
        (SK_USER_PRESENT | SK_USER_VERIFIED, True, True, True),
        (SK_USER_VERIFIED, False, True, True),
        (SK_USER_VERIFIED, True, True, False),
    ],
)
def test_flags(private: Key, flags: int, presence: bool, verification: bool, ok: bool) -> None:
    key = private.emulateSecurityKey(flags=flags)
    signature = key.sign(b"data")
    verified = key.public().verify(
        signature, b"data", requireUserPresence=presence, requireUserVerification=verification
    )
    assert verified is ok


def test_badSignatures(private: Key) -> None:
    key = private.emulateSecurityKey()
    public = key.public()
    signature = key.sign(b"data")
    assert public.verify(signature, b"data")
    assert not public.verify(signature, b"other")
    # The application is part of what is signed.
    other = Key.fromString(public.blob()[: -len(string(b"ssh:"))] + string(b"ssh:other"), "blob")
    assert not other.verify(signature, b"data")
    # Flags or counter changed after signing.
    parts = _parts(signature)
    for changed in (
        sk.SecurityKeySignature(parts.algorithm, parts.signature, parts.flags | 4, parts.counter),
        sk.SecurityKeySignature(parts.algorithm, parts.signature, parts.flags, parts.counter + 1),
    ):
        assert not public.verify(changed.encode(), b"data", requireUserPresence=False)
    # A plain signature by the same key is not a security-key signature, and the other way.
    assert not public.verify(private.sign(b"data"), b"data")
    assert not private.public().verify(signature, b"data")
    assert not public.verify(signature + b"\x00", b"data")
    assert not public.verify(b"", b"data")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=120))
def test_randomSignaturesAreInvalid(data: bytes) -> None:
    for key in (ED, P256):
        public = key.emulateSecurityKey().public()
        assert not public.verify(string(public.sshType()) + data, b"data")
        assert not public.verify(data, b"data")
        try:
            sk.decodeSignature(data)
        except sk.SecurityKeyError:
            pass


def test_signatureAlgorithmChecked() -> None:
    key = ED.emulateSecurityKey()
    with pytest.raises(BadSignatureAlgorithmError):
        key.sign(b"data", b"ssh-ed25519")


@pytest.mark.parametrize("kind,bits", [("rsa", 2048), ("ecdsa", 384)])
def test_emulationNeedsEd25519OrP256(kind: str, bits: int) -> None:
    with pytest.raises(BadKeyError):
        Key.generate(kind, bits).emulateSecurityKey()
    with pytest.raises(BadKeyError):
        ED.public().emulateSecurityKey()
    with pytest.raises(BadKeyError):
        ED.public().withSecurityKeySigner(lambda app, h: (1, 1, b""))


def test_aHardwareStyleSigner() -> None:
    """A signer as a FIDO library gives it: DER ECDSA over the authenticator's message."""
    private = Key.generate("ecdsa", 256)
    seen: list[tuple[bytes, bytes]] = []

    def signer(application: bytes, dataHash: bytes) -> tuple[int, int, bytes]:
        seen.append((application, dataHash))
        message = sk.signedMessage(application, 1, 7, dataHash)
        cryptoKey: Any = private._keyObject
        return 1, 7, cryptoKey.sign(message, ec.ECDSA(hashes.SHA256()))

    public = private.emulateSecurityKey(application=b"ssh:hw").public()
    key = public.withSecurityKeySigner(signer)
    assert public.verify(key.sign(b"payload"), b"payload")
    assert seen == [(b"ssh:hw", hashlib.sha256(b"payload").digest())]


def test_certificates(private: Key) -> None:
    ca = Key.generate("ed25519")
    key = private.emulateSecurityKey(application=b"ssh:cert")
    cert = ca.signCertificate(key.public(), CERT_USER, "sk", [b"alice"])
    assert cert.sshType() == key.sshType().replace(b"@", b"-cert-v01@")
    read = Key.fromString(cert.toString("openssh"))
    assert read.certificate is not None
    assert read.certificate.key == key.public()
    assert read.certificate.key.securityKeyApplication() == b"ssh:cert"
    read.certificate.checkAuthority(CERT_USER, b"alice")
    withCert = key.withCertificate(read)
    assert not withCert.isPublic()
    assert withCert.public().certificate == read.certificate
    algorithm = withCert.supportedSignatureAlgorithms()[0]
    assert algorithm == cert.sshType()
    assert read.verify(withCert.sign(b"d", algorithm), b"d")
    assert withCert.withoutCertificate().securityKeyApplication() == b"ssh:cert"
    assert withCert.withoutCertificate().sign(b"x")


def test_ckeygenShowsThem(tmp_path: Path, private: Key, capsys: pytest.CaptureFixture[str]) -> None:
    """``glisten-ckeygen -l`` and ``-e`` on a security key's public key, as ``ssh-keygen``."""
    from glisten.conch.scripts.ckeygen import run

    public = private.emulateSecurityKey().public()
    path = tmp_path / "id_sk.pub"
    path.write_bytes(public.toString("openssh") + b"\n")
    assert run(["-l", "-f", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "SHA256:" + public.fingerprint("sha256-base64") in shown
    assert shown.rstrip().endswith("-SK)")
    assert run(["-e", "-f", str(path)]) == 0
    assert Key.fromString(capsys.readouterr().out) == public


# ------------------------------------------------------------------ authorized_keys and checker


def _creds(key: Key, signed: bool = True) -> checkers.SSHPrivateKey:
    blob = key.public().blob()
    algorithm = key.supportedSignatureAlgorithms()[0]
    data = publicKeySignedData(b"sid", b"alice", b"ssh-connection", algorithm, blob)
    return checkers.SSHPrivateKey(
        b"alice", algorithm, blob, data if signed else None, key.sign(data) if signed else None
    )


def _checker(tmp_path: Path, lines: bytes, trusted: Any = None) -> checkers.SSHPublicKeyChecker:
    path = tmp_path / "ak"
    path.write_bytes(lines)
    return checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(path), trusted)


def test_optionsRead() -> None:
    line = ED.emulateSecurityKey().public().toString("openssh")
    (entry,) = checkers.readAuthorizedKeys(io.BytesIO(b"no-touch-required,verify-required " + line))
    assert entry.key.securityKeyApplication() == b"ssh:"
    assert set(entry.options) == {b"no-touch-required", b"verify-required"}


@pytest.mark.parametrize(
    "options,flags,ok",
    [
        (b"", SK_USER_PRESENT, True),
        (b"", 0, False),
        (b"", SK_USER_VERIFIED, False),
        (b"no-touch-required ", 0, True),
        (b"verify-required ", SK_USER_PRESENT, False),
        (b"verify-required ", SK_USER_PRESENT | SK_USER_VERIFIED, True),
        (b"verify-required,no-touch-required ", SK_USER_VERIFIED, True),
        (b"restrict,no-touch-required ", 0, True),
    ],
)
def test_checkerEnforcesFlags(
    tmp_path: Path, private: Key, options: bytes, flags: int, ok: bool
) -> None:
    key = private.emulateSecurityKey(flags=flags)
    checker = _checker(tmp_path, options + key.public().toString("openssh") + b"\n")
    assert _result(checker.requestAvatarId(_creds(key, signed=False))).check(ValidPublicKey)
    result = _result(checker.requestAvatarId(_creds(key)))
    if ok:
        assert result == b"alice"
    else:
        assert isinstance(result, Failure) and result.check(UnauthorizedLogin)


def test_verifyRequiredRefusesPlainKeys(tmp_path: Path) -> None:
    """No plain key can show that its holder was verified (OpenSSH ignores the option)."""
    checker = _checker(tmp_path, b"verify-required " + ED.public().toString("openssh") + b"\n")
    blob = ED.public().blob()
    data = publicKeySignedData(b"sid", b"alice", b"ssh-connection", b"ssh-ed25519", blob)
    creds = checkers.SSHPrivateKey(b"alice", b"ssh-ed25519", blob, data, ED.sign(data))
    assert _result(checker.requestAvatarId(creds)).check(UnauthorizedLogin)


CA = Key.generate("ed25519")


@pytest.mark.parametrize(
    "line,certOptions,extensions,flags,ok",
    [
        (b"cert-authority ", {}, {}, SK_USER_PRESENT, True),
        (b"cert-authority ", {}, {}, 0, False),
        # Both the line and the certificate must waive the touch.
        (b"cert-authority,no-touch-required ", {}, {"no-touch-required": ""}, 0, True),
        (b"cert-authority ", {}, {"no-touch-required": ""}, 0, False),
        (b"cert-authority,no-touch-required ", {}, {}, 0, False),
        (b"cert-authority ", {"verify-required": ""}, {}, SK_USER_PRESENT, False),
        (b"cert-authority ", {"verify-required": ""}, {}, SK_USER_PRESENT | SK_USER_VERIFIED, True),
        (b"cert-authority,verify-required ", {}, {}, SK_USER_PRESENT, False),
        (None, {}, {}, SK_USER_PRESENT, True),
        # A trusted CA with no principals line: the certificate's extension alone waives it.
        (None, {}, {"no-touch-required": ""}, 0, True),
        (None, {}, {}, 0, False),
        (None, {"verify-required": ""}, {}, SK_USER_PRESENT | SK_USER_VERIFIED, True),
    ],
)
def test_certificateLogins(
    tmp_path: Path,
    line: bytes | None,
    certOptions: dict[str, str],
    extensions: dict[str, str],
    flags: int,
    ok: bool,
) -> None:
    key = ED.emulateSecurityKey(flags=flags)
    extensions = {"permit-pty": "", **extensions}
    cert = CA.signCertificate(
        key.public(), CERT_USER, "sk", [b"alice"], 0, 2**63, certOptions, extensions
    )
    signer = key.withCertificate(cert)
    caLine = b"" if line is None else line + CA.public().toString("openssh") + b"\n"
    checker = _checker(tmp_path, caLine, None if line is not None else [CA.public()])
    result = _result(checker.requestAvatarId(_creds(signer)))
    if ok:
        assert result == b"alice"
    else:
        assert isinstance(result, Failure) and result.check(UnauthorizedLogin)


@pytest.mark.parametrize("flags", [SK_USER_PRESENT, 0])
def test_securityKeyCAs(tmp_path: Path, private: Key, flags: int) -> None:
    """
    A security key may be a CA (OpenSSH's default ``CASignatureAlgorithms`` lists the sk
    kinds) and its signature over a certificate need not show a touch (sshd checks none).
    """
    ca = private.emulateSecurityKey(flags=flags)
    cert = ca.signCertificate(ED.public(), CERT_USER, "by-sk", [b"alice"])
    read = Key.fromString(cert.toString("openssh"))
    assert read.certificate is not None
    assert read.certificate.signatureKey == ca.public()
    assert read.certificate.verifySignature()
    read.certificate.checkAuthority(CERT_USER, b"alice")
    checker = _checker(tmp_path, b"", [ca.public()])
    assert _result(checker.requestAvatarId(_creds(ED.withCertificate(read)))) == b"alice"
    # A signature from another CA still fails.
    forged = private.emulateSecurityKey(flags=flags, application=b"ssh:other")
    assert not forged.public().verify(
        read.certificate.signature, read.certificate.signed, requireUserPresence=False
    )


def test_verifyRequiredCertificateForAPlainKey(tmp_path: Path) -> None:
    cert = CA.signCertificate(
        ED.public(), CERT_USER, "x", [b"alice"], 0, 2**63, {"verify-required": ""}
    )
    signer = ED.withCertificate(cert)
    checker = _checker(tmp_path, b"", [CA.public()])
    assert _result(checker.requestAvatarId(_creds(signer))).check(UnauthorizedLogin)
