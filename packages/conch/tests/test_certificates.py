"""OpenSSH certificates: the codec, Key's certificate support, and signing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh._certificates import (
    CertificateError,
    CertificateLimits,
    decodeCertificate,
)
from glisten.conch.ssh.keys import (
    CERT_HOST,
    CERT_USER,
    BadCertificateError,
    BadKeyError,
    BadSignatureAlgorithmError,
    Key,
    sourceAddressAllows,
)

from ._pairs import hostKey

CA = hostKey()
USER = hostKey("ecdsa", 256)
NOW = 1_800_000_000


def _issue(**kw: object) -> Key:
    args: dict[str, object] = {
        "certType": CERT_USER,
        "keyId": b"alice@example",
        "principals": [b"alice", b"deploy"],
        "validAfter": NOW - 60,
        "validBefore": NOW + 3600,
        "serial": 7,
    }
    args.update(kw)
    return CA.signCertificate(USER, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kind,bits,alg",
    [
        ("ed25519", None, b"ssh-ed25519-cert-v01@openssh.com"),
        ("ecdsa", 256, b"ecdsa-sha2-nistp256-cert-v01@openssh.com"),
        ("ecdsa", 384, b"ecdsa-sha2-nistp384-cert-v01@openssh.com"),
        ("ecdsa", 521, b"ecdsa-sha2-nistp521-cert-v01@openssh.com"),
        ("rsa", 2048, b"rsa-sha2-512-cert-v01@openssh.com"),
    ],
)
def test_everyKeyTypeRoundTrips(kind: str, bits: int | None, alg: bytes) -> None:
    private = hostKey(kind, bits)
    cert = CA.signCertificate(private, CERT_HOST, "h", [b"example.com"])
    assert cert.isPublic() and cert.certificate is not None
    assert cert.supportedSignatureAlgorithms()[0] == alg
    line = cert.toString("openssh", comment=b"c")
    again = Key.fromString(line)
    assert again == cert and again.blob() == cert.blob()
    assert again.certificate is not None
    assert again.certificate.key == private.public()
    assert again.certificate.principals == (b"example.com",)
    assert again.certificate.extensions == {}
    assert again.fingerprint("sha256-base64") == private.fingerprint("sha256-base64")
    again.certificate.checkAuthority(CERT_HOST, b"example.com")
    # The private key with the certificate signs under the certificate algorithms.
    withCert = private.withCertificate(again)
    for name in withCert.supportedSignatureAlgorithms():
        sig = withCert.sign(b"data", name)
        assert withCert.public().verify(sig, b"data")
        assert private.public().verify(sig, b"data")


def test_rsaCertificateAuthoritySignatures() -> None:
    rsaCA = hostKey("rsa", 2048)
    for sigType in (b"rsa-sha2-256", b"rsa-sha2-512"):
        cert = rsaCA.signCertificate(USER, CERT_USER, "x", signatureType=sigType)
        assert cert.certificate is not None and cert.certificate.verifySignature()
    sha1 = rsaCA.signCertificate(USER, CERT_USER, "x", signatureType=b"ssh-rsa")
    assert sha1.certificate is not None and not sha1.certificate.verifySignature()


def test_fieldsAndDefaults() -> None:
    cert = _issue(
        criticalOptions={"force-command": "uptime", b"source-address": b"10.0.0.0/8"},
        nonce=b"n" * 32,
    )
    c = cert.certificate
    assert c is not None
    assert (c.serial, c.type, c.keyId, c.nonce) == (7, CERT_USER, b"alice@example", b"n" * 32)
    assert c.criticalOption(b"force-command") == b"uptime"
    assert c.criticalOption(b"source-address") == b"10.0.0.0/8"
    assert c.criticalOption(b"verify-required") is None
    assert sorted(c.extensions) == [
        b"permit-X11-forwarding",
        b"permit-agent-forwarding",
        b"permit-port-forwarding",
        b"permit-pty",
        b"permit-user-rc",
    ]
    assert c.signatureKey == CA.public()
    assert cert.sshType() == b"ecdsa-sha2-nistp256-cert-v01@openssh.com"
    # Deterministic CA signatures (Ed25519): the same fields give the same bytes.
    assert (
        _issue(
            criticalOptions={"source-address": "10.0.0.0/8", "force-command": "uptime"},
            nonce=b"n" * 32,
        ).blob()
        == cert.blob()
    )


def test_checkAuthority() -> None:
    c = _issue().certificate
    assert c is not None
    c.checkAuthority(CERT_USER, b"alice", NOW)
    c.checkAuthority(CERT_USER, None, NOW)
    for args, reason in [
        ((CERT_HOST, b"alice", NOW), "wrong certificate type"),
        ((CERT_USER, b"mallory", NOW), "principal"),
        ((CERT_USER, b"alice", NOW - 61), "not yet valid"),
        ((CERT_USER, b"alice", NOW + 3600), "expired"),
    ]:
        with pytest.raises(BadCertificateError, match=reason):
            c.checkAuthority(*args)  # type: ignore[arg-type]
    anyone = _issue(principals=[]).certificate
    assert anyone is not None
    anyone.checkAuthority(CERT_USER, b"whoever", NOW)
    with pytest.raises(BadCertificateError, match="lacks principals"):
        anyone.checkAuthority(CERT_USER, b"whoever", NOW, requirePrincipal=True)


def test_forgedSignatureIsRefused() -> None:
    cert = _issue()
    blob = bytearray(cert.blob())
    blob[-5] ^= 1
    forged = Key.fromString(bytes(blob), "blob")
    assert forged.certificate is not None
    assert not forged.certificate.verifySignature()
    with pytest.raises(BadCertificateError, match="signature"):
        forged.certificate.checkAuthority(CERT_USER, b"alice", NOW)


def test_withCertificate() -> None:
    cert = _issue()
    private = USER.withCertificate(cert)
    assert not private.isPublic() and private.public() == cert
    assert private.withoutCertificate() == USER
    with pytest.raises(BadKeyError):
        CA.withCertificate(cert)
    with pytest.raises(BadKeyError):
        USER.withCertificate(USER)
    with pytest.raises(BadKeyError):
        cert.signCertificate(USER, CERT_USER, "x")
    with pytest.raises(BadSignatureAlgorithmError):
        private.sign(b"x", b"ssh-ed25519-cert-v01@openssh.com")


def test_certificateAsCertificateAuthorityIsRefused() -> None:
    cert = _issue()
    # Splice a certificate in as the signature key.
    fields = decodeCertificate(cert.blob())
    body = fields.signed[: -(4 + len(fields.signatureKey))]
    from glisten.conch.ssh._ssh._wire import string

    bad = body + string(cert.blob()) + string(fields.signature)
    with pytest.raises(BadKeyError, match="certificate authority"):
        Key.fromString(bad, "blob")


def test_limits() -> None:
    many = _issue(principals=[b"p%d" % i for i in range(300)]).blob()
    with pytest.raises(CertificateError, match="principals"):
        decodeCertificate(many)
    with pytest.raises(BadKeyError):
        Key.fromString(many, "blob")
    assert decodeCertificate(many, CertificateLimits(maxPrincipals=300)).principals[-1] == b"p299"
    with pytest.raises(CertificateError, match="too long"):
        decodeCertificate(_issue().blob(), CertificateLimits(maxBlob=100))
    with pytest.raises(CertificateError, match="key ID"):
        decodeCertificate(_issue(keyId=b"k" * 2000).blob())
    options = {b"o%03d" % i: b"" for i in range(70)}
    with pytest.raises(CertificateError, match="options"):
        decodeCertificate(_issue(extensions=options).blob())


def test_unsortedOrRepeatedOptionsAreRefused() -> None:
    from glisten.conch.ssh._ssh._wire import string

    fields = decodeCertificate(_issue(extensions={b"a": b"", b"b": b""}).blob())
    good = string(b"a") + string(b"") + string(b"b") + string(b"")
    for bad in (
        string(b"b") + string(b"") + string(b"a") + string(b""),
        string(b"a") + string(b"") + string(b"a") + string(b""),
    ):
        blob = fields.signed.replace(string(good), string(bad)) + string(fields.signature)
        with pytest.raises(CertificateError, match="order"):
            decodeCertificate(blob)


def test_everyTruncationIsTheFormatsError() -> None:
    blob = _issue().blob()
    for end in range(len(blob)):
        with pytest.raises(CertificateError):
            decodeCertificate(blob[:end])
    with pytest.raises(CertificateError):
        decodeCertificate(blob + b"\x00")


_BLOB = _issue().blob()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutatedCertificatesOnlyRaiseBadKeyError(data: st.DataObject) -> None:
    blob = bytearray(_BLOB)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    candidate = bytes(blob[:cut]) if data.draw(st.booleans()) else bytes(blob)
    try:
        key = Key.fromString(candidate, "blob")
    except BadKeyError:
        return
    if key.certificate is not None:
        try:
            key.certificate.checkAuthority(CERT_USER, b"alice", NOW)
        except BadCertificateError:
            pass
        for name in key.certificate.criticalOptions:
            try:
                key.certificate.criticalOption(name)
            except BadCertificateError:
                pass


@given(st.binary(max_size=600))
@settings(deadline=None)
def test_randomBlobsOnlyRaiseBadKeyError(raw: bytes) -> None:
    try:
        Key.fromString(b"\x00\x00\x00\x20ssh-ed25519-cert-v01@openssh.com" + raw, "blob")
    except BadKeyError:
        pass


def test_publicLineAndTypeMismatch() -> None:
    cert = _issue()
    line = cert.toString("openssh")
    assert line.startswith(b"ecdsa-sha2-nistp256-cert-v01@openssh.com ")
    wrong = b"ssh-ed25519-cert-v01@openssh.com " + line.split()[1]
    with pytest.raises(BadKeyError):
        Key.fromString(wrong)
    assert base64.b64decode(line.split()[1]) == cert.blob()


@pytest.mark.parametrize(
    "value,address,allowed",
    [
        (b"127.0.0.1/32", "127.0.0.1", True),
        (b"10.0.0.0/8,192.168.1.1", "192.168.1.1", True),
        (b"10.0.0.0/8", "11.0.0.1", False),
        (b"::1/128", "::1", True),
        (b"10.0.0.0/8", "::ffff:10.1.2.3", True),
        (b"10.0.0.0/8", None, False),
        (b"not-an-address", "10.0.0.1", False),
    ],
)
def test_sourceAddress(value: bytes, address: str | None, allowed: bool) -> None:
    assert sourceAddressAllows(value, address) is allowed
