"""
Certificates, keys, PEM handling, options validation and the DER reader.
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet._sslder import parseCertificate, signatureAlgorithm
from glisten.internet.ssl import (
    FILETYPE_ASN1,
    FILETYPE_PEM,
    Certificate,
    CertificateOptions,
    KeyPair,
    PrivateCertificate,
    TLSVersion,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)


@pytest.fixture(scope="session")
def sampleDER(issueCertificate: Any) -> bytes:
    """A valid self-signed certificate in DER, for the DER reader to chew on."""
    _, cert, _ = issueCertificate("sample", [])
    der: bytes = cert.public_bytes(Encoding.DER)
    return der


def test_loadPEMFields(pki: Any) -> None:
    cert = Certificate.loadPEM(pki.server.certPEM)
    reference = x509.load_pem_x509_certificate(pki.server.certPEM)
    assert cert.getSubject().commonName == b"localhost"
    assert cert.getSubject().CN == b"localhost"
    assert cert.getSubject().organizationName == b"glisten tests"
    assert cert.getIssuer().commonName == b"glisten test CA"
    assert cert.serialNumber() == reference.serial_number
    assert cert.notAfter() == reference.not_valid_after_utc
    assert cert.notBefore() == reference.not_valid_before_utc
    assert cert.getSubject().surname is None


def test_digestAndDump(pki: Any) -> None:
    cert = Certificate.loadPEM(pki.server.certPEM.decode())
    der = cert.dump(FILETYPE_ASN1)
    assert (
        cert.digest("sha256") == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()).encode()
    )
    assert Certificate.load(cert.dump(FILETYPE_PEM), FILETYPE_PEM) == cert
    assert Certificate.load(der) == cert
    assert hash(Certificate.load(der)) == hash(cert)
    assert ssl.PEM_cert_to_DER_cert(cert.dumpPEM().decode()) == der


def test_privateCertificateRoundTrip(pki: Any) -> None:
    pc = PrivateCertificate.loadPEM(pki.server.bothPEM)
    again = PrivateCertificate.loadPEM(pc.dumpPEM())
    assert again == pc
    assert again.privateKey.dump() == pc.privateKey.dump()
    rebuilt = PrivateCertificate.fromCertificateAndKeyPair(
        Certificate.loadPEM(pki.server.certPEM), KeyPair.load(pki.server.keyPEM)
    )
    assert rebuilt == pc


def test_mismatchedKeyRejected(pki: Any) -> None:
    with pytest.raises(ValueError, match="does not match"):
        PrivateCertificate.loadPEM(pki.server.certPEM + pki.client.keyPEM)


def test_missingPieces(pki: Any) -> None:
    with pytest.raises(ValueError, match="no PEM CERTIFICATE"):
        Certificate.loadPEM(pki.server.keyPEM)
    with pytest.raises(ValueError, match="private key"):
        PrivateCertificate.loadPEM(pki.server.certPEM)
    with pytest.raises(ValueError):
        Certificate.loadPEM(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError):
        Certificate(b"\x30\x03\x02\x01\x01")


def test_optionsValidation(pki: Any) -> None:
    pc = PrivateCertificate.loadPEM(pki.server.bothPEM)
    with pytest.raises(ValueError):
        CertificateOptions(privateKey=pc.privateKey)
    with pytest.raises(ValueError):
        CertificateOptions(verify=True)
    with pytest.raises(ValueError):
        CertificateOptions(acceptableProtocols=[b""])
    with pytest.raises(ValueError):
        CertificateOptions(
            raiseMinimumTo=TLSVersion.TLSv1_3, insecurelyLowerMinimumTo=TLSVersion.TLSv1_2
        )
    with pytest.raises(TypeError):
        trustRootFromCertificates([pki.ca.certPEM])
    with pytest.raises(TypeError):
        optionsForClientTLS("localhost", trustRoot="not a trust root")
    with pytest.raises(ValueError):
        optionsForClientTLS("bad..name")


def test_defaultsAreStrict(pki: Any) -> None:
    pc = PrivateCertificate.loadPEM(pki.server.bothPEM)
    ctx = pc.options().getContext()
    assert ctx.minimum_version == TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_NONE
    client = optionsForClientTLS("localhost").getContext()
    assert client.check_hostname
    assert client.verify_mode == ssl.CERT_REQUIRED
    assert client.minimum_version == TLSVersion.TLSv1_2


def test_platformTrustLoadsSomething() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    platformTrust()._addCACertsToContext(ctx)
    # Either the store has CA certificates or OpenSSL's default paths are set up lazily.
    assert ctx.cert_store_stats()["x509_ca"] >= 0


def test_raiseMinimum(pki: Any) -> None:
    pc = PrivateCertificate.loadPEM(pki.server.bothPEM)
    opts = CertificateOptions(
        privateKey=pc.privateKey, certificate=pc, raiseMinimumTo=TLSVersion.TLSv1_3
    )
    assert opts.getContext().minimum_version == TLSVersion.TLSv1_3


def test_derParserMatchesCryptography(pki: Any) -> None:
    for issued in (pki.ca, pki.server, pki.client, pki.expired, pki.intermediate):
        ref = x509.load_pem_x509_certificate(issued.certPEM)
        fields = parseCertificate(ref.public_bytes(Encoding.DER))
        assert fields.serialNumber == ref.serial_number
        assert (
            dict(fields.subject)["commonName"]
            == ref.subject.rfc4514_string().split("CN=")[1].split(",")[0]
        )
        assert fields.notAfter == ref.not_valid_after_utc
        assert fields.notBefore.tzinfo is datetime.UTC


def test_signatureAlgorithmMatchesCryptography(pki: Any) -> None:
    for issued in (pki.ca, pki.server, pki.client):
        ref = x509.load_pem_x509_certificate(issued.certPEM)
        der = ref.public_bytes(Encoding.DER)
        assert signatureAlgorithm(der) == ref.signature_algorithm_oid.dotted_string
        for i in range(0, len(der), 7):
            with pytest.raises(ValueError):
                signatureAlgorithm(der[:i])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_signatureAlgorithmRandomInput(data: bytes) -> None:
    try:
        signatureAlgorithm(data)
    except ValueError:
        pass


def test_derParserEveryTruncation(pki: Any) -> None:
    der = Certificate.loadPEM(pki.server.certPEM).original
    for i in range(len(der)):
        with pytest.raises(ValueError):
            parseCertificate(der[:i])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_derParserRandomInput(data: bytes) -> None:
    try:
        parseCertificate(data)
    except ValueError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_derParserMutatedCertificate(sampleDER: bytes, data: Any) -> None:
    der = bytearray(sampleDER)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(der) - 1))
        der[pos] = data.draw(st.integers(0, 255))
    try:
        parseCertificate(bytes(der))
    except ValueError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_pemLoaderRandomInput(data: bytes) -> None:
    wrapped = b"-----BEGIN CERTIFICATE-----\n" + data + b"\n-----END CERTIFICATE-----\n"
    for blob in (data, wrapped):
        try:
            Certificate.loadPEM(blob)
        except ValueError:
            pass


def test_distinguishedNameAttributes(pki: Any) -> None:
    dn = Certificate.loadPEM(pki.server.certPEM).getSubject()
    assert dn.countryName is None
    assert dn.O == b"glisten tests"  # bytes, as in Twisted
    assert ("commonName", b"localhost") in dn.items()
    assert "commonName: localhost" in dn.inspect()
    with pytest.raises(AttributeError):
        dn.notAnAttribute  # noqa: B018
    assert dn == Certificate.loadPEM(pki.server.certPEM).getSubject()
    assert dn != Certificate.loadPEM(pki.ca.certPEM).getSubject()
