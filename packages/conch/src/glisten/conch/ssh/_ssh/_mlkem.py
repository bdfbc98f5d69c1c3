"""
ML-KEM-768 (FIPS 203), the post-quantum half of ``mlkem768x25519-sha256``, through
``cryptography``'s ``hazmat.primitives.asymmetric.mlkem``.

That module is new in ``cryptography`` 47 (glisten-conch accepts 42 and later) and works only
when the OpenSSL ``cryptography`` runs on has ML-KEM (3.5 or later, as its wheels bundle;
older system OpenSSL builds raise ``UnsupportedAlgorithm``). :data:`AVAILABLE` tells, tried
once at import by making a key; without it the key exchange method is neither offered nor
accepted. The functions mirror :mod:`._sntrup761`'s so the hybrid exchange treats both KEMs
alike.
"""

from __future__ import annotations

from typing import Any

PUBLIC_KEY_SIZE = 1184
CIPHERTEXT_SIZE = 1088
SHARED_KEY_SIZE = 32


class MLKEMError(ValueError):
    """A public key or ciphertext ML-KEM refuses (wrong size, or coefficients out of range)."""


def _probe() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem
    except ImportError:
        return None
    try:
        privateKey = mlkem.MLKEM768PrivateKey.generate()
        secret, ciphertext = privateKey.public_key().encapsulate()
        if privateKey.decapsulate(ciphertext) != secret:
            return None
    except Exception:  # UnsupportedAlgorithm, or a backend that misbehaves: not offered
        return None
    return mlkem


_mlkem = _probe()

#: Whether ML-KEM-768 works with this ``cryptography`` and its OpenSSL.
AVAILABLE = _mlkem is not None


def generateKeyPair() -> tuple[bytes, Any]:
    """
    A fresh key pair.

    :return: the encoded public key (:data:`PUBLIC_KEY_SIZE` bytes) and the private key object.
    """
    privateKey = _mlkem.MLKEM768PrivateKey.generate()
    return privateKey.public_key().public_bytes_raw(), privateKey


def encapsulate(publicKey: bytes) -> tuple[bytes, bytes]:
    """
    Make a shared key and the ciphertext that carries it to ``publicKey``'s holder.

    :return: the ciphertext (:data:`CIPHERTEXT_SIZE` bytes) and the shared key (32 bytes).
    :raises MLKEMError: the public key has the wrong size or fails FIPS 203's modulus check.
    """
    if len(publicKey) != PUBLIC_KEY_SIZE:
        raise MLKEMError("ML-KEM-768 public key of the wrong size")
    try:
        key = _mlkem.MLKEM768PublicKey.from_public_bytes(publicKey)
    except ValueError:
        raise MLKEMError("invalid ML-KEM-768 public key") from None
    shared, ciphertext = key.encapsulate()
    return bytes(ciphertext), bytes(shared)


def decapsulate(ciphertext: bytes, privateKey: Any) -> bytes:
    """
    The shared key a ciphertext carries. A ciphertext of the right size that was not made
    for this key gives an unrelated key (implicit rejection), so the exchange fails later,
    at the signature check.

    :raises MLKEMError: the ciphertext has the wrong size.
    """
    if len(ciphertext) != CIPHERTEXT_SIZE:
        raise MLKEMError("ML-KEM-768 ciphertext of the wrong size")
    try:
        return bytes(privateKey.decapsulate(ciphertext))
    except ValueError:
        raise MLKEMError("invalid ML-KEM-768 ciphertext") from None
