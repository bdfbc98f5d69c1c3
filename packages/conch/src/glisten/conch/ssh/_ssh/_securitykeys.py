"""
Security-key (FIDO/U2F) keys and signatures as OpenSSH's ``PROTOCOL.u2f`` defines them, as a
sans-IO codec.

A security-key public key is an Ed25519 or P-256 key plus the ``application`` string the
authenticator bound it to (``ssh:`` by default). The authenticator does not sign the SSH data
itself: it signs ``SHA-256(application) || flags || counter || SHA-256(data)``
(:func:`signedMessage`), and the SSH signature carries the flags and counter after the
signature proper (:class:`SecurityKeySignature`). The flags say whether the user touched the
key (:data:`USER_PRESENT`) and proved who they are to it (:data:`USER_VERIFIED`, a PIN or a
fingerprint). WebAuthn-style signatures (``webauthn-sk-ecdsa-sha2-nistp256@openssh.com``) are
not handled. Keys and signatures stay bytes here; :mod:`glisten.conch.ssh.keys` checks them.
"""

from __future__ import annotations

import hashlib

import attrs

from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint32

SK_ED25519 = b"sk-ssh-ed25519@openssh.com"
SK_ECDSA_P256 = b"sk-ecdsa-sha2-nistp256@openssh.com"
#: The security-key public key types (each is also its signature algorithm's name).
SK_KEY_TYPES = (SK_ED25519, SK_ECDSA_P256)

#: Authenticator flag: the user was present (touched the key).
USER_PRESENT = 0x01
#: Authenticator flag: the user was verified (PIN, biometrics).
USER_VERIFIED = 0x04

#: The longest ``application`` accepted in a key (OpenSSH's are short URL-like names).
MAX_APPLICATION = 1024


class SecurityKeyError(DecodeError):
    """A security-key signature blob is malformed (the message never quotes it)."""


@attrs.frozen(slots=True)
class SecurityKeySignature:
    """
    A security-key SSH signature.

    :ivar algorithm: :data:`SK_ED25519` or :data:`SK_ECDSA_P256`.
    :ivar signature: the signature proper: 64 Ed25519 bytes, or ``mpint(r) || mpint(s)``.
    :ivar flags: the authenticator's flags (:data:`USER_PRESENT`, :data:`USER_VERIFIED`).
    :ivar counter: the authenticator's signature counter.
    """

    algorithm: bytes
    signature: bytes
    flags: int
    counter: int

    def encode(self) -> bytes:
        """The SSH signature blob."""
        return (
            string(self.algorithm)
            + string(self.signature)
            + bytes((self.flags,))
            + uint32(self.counter)
        )


def decodeSignature(blob: bytes) -> SecurityKeySignature:
    """
    Read a security-key signature blob.

    :raises SecurityKeyError: not a security-key algorithm, malformed, or trailing bytes.
    """
    try:
        r = Reader(blob, maxString=4096)
        algorithm = r.string()
        if algorithm not in SK_KEY_TYPES:
            raise SecurityKeyError("not a security-key signature")
        signature = r.string()
        flags = r.byte()
        counter = r.uint32()
        r.done()
    except SecurityKeyError:
        raise
    except DecodeError:
        raise SecurityKeyError("malformed security-key signature") from None
    return SecurityKeySignature(algorithm, signature, flags, counter)


def signedMessage(application: bytes, flags: int, counter: int, dataHash: bytes) -> bytes:
    """
    What an authenticator signs (``PROTOCOL.u2f``, without extensions).

    :param dataHash: the SHA-256 of the SSH data being signed.
    """
    return hashlib.sha256(application).digest() + bytes((flags,)) + uint32(counter) + dataHash
