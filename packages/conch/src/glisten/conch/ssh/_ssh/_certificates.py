"""
The OpenSSH certificate format (OpenSSH's ``PROTOCOL.certkeys``) as a sans-IO codec.

:func:`decodeCertificate` splits a ``*-cert-v01@openssh.com`` blob into its fields under
:class:`CertificateLimits`; :func:`encodeCertificateBody` builds the part a CA signs. Keys and
signatures stay bytes here: :mod:`glisten.conch.ssh.keys` turns them into keys and checks them.
"""

from __future__ import annotations

import attrs

from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint32, uint64

#: The certificate ``type`` field: a user certificate.
CERT_USER = 1
#: The certificate ``type`` field: a host certificate.
CERT_HOST = 2
#: ``valid before`` of a certificate that never expires.
FOREVER = (1 << 64) - 1

#: Certificate key types and the plain key type each one certifies.
CERT_KEY_TYPES: dict[bytes, bytes] = {
    b"ssh-ed25519-cert-v01@openssh.com": b"ssh-ed25519",
    b"ecdsa-sha2-nistp256-cert-v01@openssh.com": b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384-cert-v01@openssh.com": b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521-cert-v01@openssh.com": b"ecdsa-sha2-nistp521",
    b"ssh-rsa-cert-v01@openssh.com": b"ssh-rsa",
    b"sk-ssh-ed25519-cert-v01@openssh.com": b"sk-ssh-ed25519@openssh.com",
    b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": b"sk-ecdsa-sha2-nistp256@openssh.com",
}
#: The plain key type to its certificate key type.
CERT_TYPE_FOR_KEY: dict[bytes, bytes] = {v: k for k, v in CERT_KEY_TYPES.items()}

#: Certificate signature algorithm names (host key and ``publickey`` algorithms) and the plain
#: signature algorithm whose name the signature blob itself carries.
CERT_SIGNATURE_ALGORITHMS: dict[bytes, bytes] = {
    b"ssh-ed25519-cert-v01@openssh.com": b"ssh-ed25519",
    b"ecdsa-sha2-nistp256-cert-v01@openssh.com": b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384-cert-v01@openssh.com": b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521-cert-v01@openssh.com": b"ecdsa-sha2-nistp521",
    b"rsa-sha2-512-cert-v01@openssh.com": b"rsa-sha2-512",
    b"rsa-sha2-256-cert-v01@openssh.com": b"rsa-sha2-256",
    b"ssh-rsa-cert-v01@openssh.com": b"ssh-rsa",
    b"sk-ssh-ed25519-cert-v01@openssh.com": b"sk-ssh-ed25519@openssh.com",
    b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": b"sk-ecdsa-sha2-nistp256@openssh.com",
}
#: The plain signature algorithm to its certificate form.
CERT_ALGORITHM_FOR: dict[bytes, bytes] = {v: k for k, v in CERT_SIGNATURE_ALGORITHMS.items()}


def plainAlgorithm(algorithm: bytes) -> bytes:
    """The plain signature algorithm of a certificate algorithm (others are returned as is)."""
    return CERT_SIGNATURE_ALGORITHMS.get(algorithm, algorithm)


class CertificateError(DecodeError):
    """A certificate blob is malformed or exceeds the limits (the message never quotes it)."""


@attrs.frozen
class CertificateLimits:
    """
    Bounds on a certificate blob.

    :ivar maxBlob: the longest certificate blob.
    :ivar maxPrincipals: the most principals (OpenSSH allows 256).
    :ivar maxPrincipalLength: the longest principal name.
    :ivar maxKeyId: the longest key ID.
    :ivar maxOptions: the most critical options, and separately the most extensions.
    :ivar maxOptionData: the longest option or extension value.
    """

    maxBlob: int = 16384
    maxPrincipals: int = 256
    maxPrincipalLength: int = 255
    maxKeyId: int = 1024
    maxOptions: int = 64
    maxOptionData: int = 4096


@attrs.frozen(slots=True)
class CertificateFields:
    """
    The fields of a certificate, undecoded where they hold keys or signatures.

    :ivar certType: the certificate key type (``b"ssh-ed25519-cert-v01@openssh.com"``...).
    :ivar publicKey: the certified key as a plain public key blob.
    :ivar criticalOptions: ``(name, data)`` pairs in blob order; ``data`` is the raw field
        (a ``string`` holding the value, or empty for a flag).
    :ivar extensions: likewise.
    :ivar signatureKey: the CA's public key blob.
    :ivar signature: the CA's signature blob.
    :ivar signed: the bytes the signature covers (the blob up to the signature).
    """

    certType: bytes
    nonce: bytes
    publicKey: bytes
    serial: int
    type: int
    keyId: bytes
    principals: tuple[bytes, ...]
    validAfter: int
    validBefore: int
    criticalOptions: tuple[tuple[bytes, bytes], ...]
    extensions: tuple[tuple[bytes, bytes], ...]
    reserved: bytes
    signatureKey: bytes
    signature: bytes
    signed: bytes


def _skipKeyFields(r: Reader, plainType: bytes) -> None:
    """Walk over the certified key's fields (their form depends on the key type)."""
    if plainType == b"ssh-ed25519":
        r.string()
    elif plainType == b"ssh-rsa":
        r.mpint()
        r.mpint()
    elif plainType == b"sk-ssh-ed25519@openssh.com":
        r.string()  # the key
        r.string()  # the application
    elif plainType == b"sk-ecdsa-sha2-nistp256@openssh.com":
        r.string()  # the curve
        r.string()  # the point
        r.string()  # the application
    else:
        r.string()
        r.string()


def _options(raw: bytes, limits: CertificateLimits) -> tuple[tuple[bytes, bytes], ...]:
    """Read an option list: names strictly increasing (so sorted, each at most once)."""
    r = Reader(raw, maxString=limits.maxOptionData)
    options: list[tuple[bytes, bytes]] = []
    while r.remaining():
        if len(options) >= limits.maxOptions:
            raise CertificateError("too many certificate options")
        name = r.string()
        data = r.string()
        if not name or (options and name <= options[-1][0]):
            raise CertificateError("certificate options out of order or repeated")
        options.append((name, data))
    return tuple(options)


def decodeCertificate(
    blob: bytes, limits: CertificateLimits = CertificateLimits()
) -> CertificateFields:
    """
    Split a certificate blob into its fields.

    :raises CertificateError: unknown type, malformed, trailing bytes, or past ``limits``.
    """
    if len(blob) > limits.maxBlob:
        raise CertificateError("certificate too long")
    try:
        r = Reader(blob, maxString=limits.maxBlob)
        certType = r.string()
        plainType = CERT_KEY_TYPES.get(certType)
        if plainType is None:
            raise CertificateError("unsupported certificate type")
        nonce = r.string()
        keyStart = r.offset
        _skipKeyFields(r, plainType)
        publicKey = string(plainType) + blob[keyStart : r.offset]
        serial = r.uint64()
        kind = r.uint32()
        if kind not in (CERT_USER, CERT_HOST):
            raise CertificateError("unknown certificate type")
        keyId = r.string()
        if len(keyId) > limits.maxKeyId:
            raise CertificateError("certificate key ID too long")
        principalsRaw = Reader(r.string(), maxString=limits.maxPrincipalLength)
        principals: list[bytes] = []
        while principalsRaw.remaining():
            if len(principals) >= limits.maxPrincipals:
                raise CertificateError("too many certificate principals")
            principals.append(principalsRaw.string())
        validAfter = r.uint64()
        validBefore = r.uint64()
        critical = _options(r.string(), limits)
        extensions = _options(r.string(), limits)
        reserved = r.string()
        signatureKey = r.string()
        signedEnd = r.offset
        signature = r.string()
        r.done()
    except CertificateError:
        raise
    except DecodeError:
        raise CertificateError("malformed certificate") from None
    return CertificateFields(
        certType,
        nonce,
        publicKey,
        serial,
        kind,
        keyId,
        tuple(principals),
        validAfter,
        validBefore,
        critical,
        extensions,
        reserved,
        signatureKey,
        signature,
        blob[:signedEnd],
    )


def encodeOptions(options: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> bytes:
    """An option list from ``(name, data)`` pairs, sorted by name (the format requires it)."""
    return b"".join(string(name) + string(data) for name, data in sorted(options))


def encodeCertificateBody(
    certType: bytes,
    nonce: bytes,
    publicKey: bytes,
    serial: int,
    kind: int,
    keyId: bytes,
    principals: tuple[bytes, ...] | list[bytes],
    validAfter: int,
    validBefore: int,
    criticalOptions: tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]],
    extensions: tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]],
    signatureKey: bytes,
    reserved: bytes = b"",
) -> bytes:
    """
    The part of a certificate its signature covers.

    :param publicKey: the certified key's plain blob; its fields are copied after the nonce.
    :param signatureKey: the CA's public key blob.
    :raises CertificateError: ``publicKey`` is not a key of ``certType``'s kind.
    """
    r = Reader(publicKey)
    try:
        if r.string() != CERT_KEY_TYPES.get(certType):
            raise CertificateError("the key does not match the certificate type")
    except DecodeError:
        raise CertificateError("malformed public key") from None
    return (
        string(certType)
        + string(nonce)
        + r.rest()
        + uint64(serial)
        + uint32(kind)
        + string(keyId)
        + string(b"".join(string(p) for p in principals))
        + uint64(validAfter)
        + uint64(validBefore)
        + string(encodeOptions(criticalOptions))
        + string(encodeOptions(extensions))
        + string(reserved)
        + string(signatureKey)
    )


__all__ = [
    "CERT_ALGORITHM_FOR",
    "CERT_HOST",
    "CERT_KEY_TYPES",
    "CERT_SIGNATURE_ALGORITHMS",
    "CERT_TYPE_FOR_KEY",
    "CERT_USER",
    "FOREVER",
    "CertificateError",
    "CertificateFields",
    "CertificateLimits",
    "decodeCertificate",
    "encodeCertificateBody",
    "encodeOptions",
    "plainAlgorithm",
]
