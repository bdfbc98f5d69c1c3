"""Making keys, certificate requests and certificates: the optional ``glisten-core[tls]`` part.

Core verifies and serves TLS with the standard library alone; creating key material needs the
``cryptography`` package, which the ``tls`` extra installs. Without it these functions raise
an ImportError that names the extra.
"""

from __future__ import annotations

import datetime
from typing import Any

from glisten.internet._sslder import NAME_OIDS

__all__ = [
    "TYPE_DSA",
    "TYPE_EC",
    "TYPE_RSA",
    "buildName",
    "generateKey",
    "makeRequest",
    "signRequest",
]

#: Key kinds for ``KeyPair.generate`` (the first two have pyOpenSSL's values, as Twisted used).
TYPE_RSA = 6
TYPE_DSA = 116
TYPE_EC = 408

_EXTRA_MESSAGE = (
    "creating keys and certificates needs the 'cryptography' package: "
    "pip install 'glisten-core[tls]'"
)


def _crypto() -> Any:
    try:
        import cryptography.hazmat.primitives.serialization  # noqa: F401
        from cryptography import x509
    except ImportError as e:
        raise ImportError(_EXTRA_MESSAGE) from e
    return x509


def generateKey(kind: int, size: int) -> bytes:
    """A new private key as unencrypted PKCS#8 PEM.

    :param kind: :data:`TYPE_RSA`, :data:`TYPE_DSA` or :data:`TYPE_EC` (P-256; ``size``
        ignored).
    :raises ValueError: for an unknown kind.
    """
    _crypto()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    key: Any
    if kind == TYPE_RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    elif kind == TYPE_DSA:
        key = dsa.generate_private_key(key_size=size)
    elif kind == TYPE_EC:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unknown key type {kind!r}")
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _loadKey(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def buildName(pairs: tuple[tuple[str, Any], ...]) -> Any:
    """A ``cryptography`` X.509 name from ``(longName, value)`` pairs."""
    x509 = _crypto()
    from cryptography.x509.oid import ObjectIdentifier

    byName = {name: oid for oid, name in NAME_OIDS.items()}
    attributes = []
    for name, value in pairs:
        oid = byName.get(name)
        if oid is None:
            raise ValueError(f"unknown distinguished name attribute {name!r}")
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        attributes.append(x509.NameAttribute(ObjectIdentifier(oid), text))
    return x509.Name(attributes)


def _namePairs(name: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (NAME_OIDS.get(a.oid.dotted_string, a.oid.dotted_string), str(a.value)) for a in name
    )


def _hash(digestAlgorithm: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    algorithm = getattr(hashes, digestAlgorithm.upper(), None)
    if algorithm is None:
        raise ValueError(f"unknown digest algorithm {digestAlgorithm!r}")
    return algorithm()


def _signingHash(key: Any, digestAlgorithm: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return _hash(digestAlgorithm)


def makeRequest(keyPEM: bytes, pairs: tuple[tuple[str, Any], ...], digestAlgorithm: str) -> bytes:
    """A certificate signing request (DER) for the key, with the subject ``pairs``."""
    x509 = _crypto()
    from cryptography.hazmat.primitives import serialization

    key = _loadKey(keyPEM)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(buildName(pairs))
        .sign(key, _signingHash(key, digestAlgorithm))
    )
    return bytes(csr.public_bytes(serialization.Encoding.DER))


def loadRequest(data: bytes, pem: bool) -> Any:
    """Parse a certificate signing request (checking its signature).

    :raises ValueError: it is malformed or its signature does not verify.
    """
    x509 = _crypto()
    csr = x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
    if not csr.is_signature_valid:
        raise ValueError("the certificate request's signature does not verify")
    return csr


def requestSubject(csr: Any) -> tuple[tuple[str, str], ...]:
    """The subject of a parsed request as ``(longName, value)`` pairs."""
    return _namePairs(csr.subject)


def signRequest(
    issuerKeyPEM: bytes,
    issuerPairs: tuple[tuple[str, Any], ...],
    csr: Any,
    serialNumber: int,
    secondsToExpiry: int,
    digestAlgorithm: str,
) -> bytes:
    """Issue a certificate (DER) for a parsed request, signed by the issuer's key.

    The certificate is valid from now for ``secondsToExpiry`` seconds. A request whose subject
    equals the issuer (a self-signed certificate) is marked as a CA, as Twisted's were.
    """
    x509 = _crypto()
    from cryptography.hazmat.primitives import serialization

    key = _loadKey(issuerKeyPEM)
    now = datetime.datetime.now(datetime.UTC)
    issuer = buildName(issuerPairs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer)
        .public_key(csr.public_key())
        .serial_number(serialNumber)
        .not_valid_before(now - datetime.timedelta(seconds=1))
        .not_valid_after(now + datetime.timedelta(seconds=secondsToExpiry))
    )
    if csr.subject == issuer:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    cert = builder.sign(key, _signingHash(key, digestAlgorithm))
    return bytes(cert.public_bytes(serialization.Encoding.DER))
