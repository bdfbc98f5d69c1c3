"""DN keyword construction; KeyPair.generate, certificateRequest, signCertificateRequest,
newCertificate, selfSignedCert (the glisten-core[tls] extra)."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from glisten.internet import ssl
from glisten.internet._sslgen import TYPE_EC
from glisten.internet.defer import Deferred, succeed


def test_dn_keywords() -> None:
    dn = ssl.DN(CN="example.com", O="Org")
    assert dn.commonName == b"example.com" and dn.CN == b"example.com"
    assert dn.organizationName == b"Org" and dn.OU is None
    assert ssl.DistinguishedName(commonName="x") == ssl.DN(CN="x")
    with pytest.raises(TypeError):
        ssl.DN(bogusName="x")


@pytest.fixture(scope="module")
def caKey() -> ssl.KeyPair:
    return ssl.KeyPair.generate(size=2048)


def test_generate_sign_and_use(caKey: ssl.KeyPair) -> None:
    caDN = ssl.DN(CN="Test CA", O="glisten")
    caCert = caKey.selfSignedCert(1, CN="Test CA", O="glisten")
    assert caCert.getSubject() == caCert.getIssuer() and caCert.getSubject().CN == b"Test CA"

    serverKey = ssl.KeyPair.generate(TYPE_EC)
    request = serverKey.certificateRequest(ssl.DN(CN="localhost"))
    seen: list[Any] = []

    def verify(dn: Any) -> bool:
        seen.append(dn)
        return True

    der = caKey.signCertificateRequest(caDN, request, verify, 77, secondsToExpiry=3600)
    assert seen[0].commonName == b"localhost"
    serverCert = serverKey.newCertificate(der)
    assert serverCert.serialNumber() == 77
    assert serverCert.getIssuer().commonName == b"Test CA"
    # The pair is usable for TLS: the key matches and verification against the CA works.
    options = serverCert.options()
    assert options.getContext() is not None
    client = ssl.optionsForClientTLS("localhost", trustRoot=ssl.trustRootFromCertificates([caCert]))
    assert client is not None

    # PEM requests and certificates too.
    pemRequest = serverKey.certificateRequest(ssl.DN(CN="localhost"), format=ssl.FILETYPE_PEM)
    assert pemRequest.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    pemCert = caKey.signCertificateRequest(
        caDN,
        pemRequest,
        verify,
        78,
        requestFormat=ssl.FILETYPE_PEM,
        certificateFormat=ssl.FILETYPE_PEM,
    )
    assert pemCert.startswith(b"-----BEGIN CERTIFICATE-----")


def test_verify_callback_refuses(caKey: ssl.KeyPair) -> None:
    request = caKey.certificateRequest(ssl.DN(CN="evil"))
    with pytest.raises(ssl.VerifyError):
        caKey.signCertificateRequest(ssl.DN(CN="CA"), request, lambda dn: False, 1)
    d = caKey.signCertificateRequest(ssl.DN(CN="CA"), request, lambda dn: succeed(True), 2)
    assert isinstance(d, Deferred)
    out: list[Any] = []
    d.addCallback(out.append)
    assert out and isinstance(out[0], bytes)
    refused = caKey.signCertificateRequest(ssl.DN(CN="CA"), request, lambda dn: succeed(False), 3)
    errors: list[Any] = []
    refused.addErrback(errors.append)
    assert errors[0].check(ssl.VerifyError)


def test_tampered_request_rejected(caKey: ssl.KeyPair) -> None:
    request = bytearray(caKey.certificateRequest(ssl.DN(CN="x")))
    request[-5] ^= 0xFF
    with pytest.raises(ValueError):
        caKey.signCertificateRequest(ssl.DN(CN="CA"), bytes(request), lambda dn: True, 1)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def fake(name: str, *a: Any, **kw: Any) -> Any:
        if name.startswith("cryptography"):
            raise ImportError("No module named 'cryptography'")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install 'glisten-core\[tls\]'"):
        ssl.KeyPair.generate()


def test_generated_certificates_handshake(caKey: ssl.KeyPair, connect: Any) -> None:
    from glisten.internet.protocol import Factory, Protocol
    from glisten.protocols.tls import TLSMemoryBIOFactory

    caCert = caKey.selfSignedCert(5, CN="Handshake CA")
    serverKey = ssl.KeyPair.generate()
    der = caKey.signCertificateRequest(
        ssl.DN(CN="Handshake CA"),
        serverKey.certificateRequest(ssl.DN(CN="localhost")),
        lambda dn: True,
        6,
    )
    serverCert = serverKey.newCertificate(der)

    class Rec(Protocol):
        data = b""
        lost: Any = None

        def dataReceived(self, data: bytes) -> None:
            self.data += data

        def connectionLost(self, reason: Any = None) -> None:
            self.lost = reason

    client, server = Rec(), Rec()

    def wrap(options: Any, isClient: bool, app: Protocol) -> Any:
        return TLSMemoryBIOFactory(
            options, isClient, Factory.forProtocol(lambda: app)
        ).buildProtocol(None)

    # The client checks the host name and the chain up to the generated CA.
    clientOptions = ssl.optionsForClientTLS(
        "localhost", trustRoot=ssl.trustRootFromCertificates([caCert])
    )
    pair = connect(wrap(clientOptions, True, client), wrap(serverCert.options(), False, server))
    pair.pump()
    client.transport.write(b"over generated TLS")
    pair.pump()
    assert server.data == b"over generated TLS" and client.lost is None
