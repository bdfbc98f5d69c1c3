"""
SSH keys: load, save, sign, verify, fingerprint.

:class:`Key` wraps a ``cryptography`` key. It reads OpenSSH private keys (including ones
encrypted with a passphrase through bcrypt-pbkdf), PEM private keys (PKCS#1, PKCS#8, SEC1),
public keys in OpenSSH, RFC 4716 and PEM form, and raw SSH public key blobs. Supported types:
Ed25519, ECDSA on NIST P-256/P-384/P-521 and RSA, and the security-key (FIDO/U2F) public keys
``sk-ssh-ed25519@openssh.com`` and ``sk-ecdsa-sha2-nistp256@openssh.com`` (OpenSSH's
``PROTOCOL.u2f``), whose signatures carry the authenticator's flags. DSA is refused: it is
obsolete and OpenSSH dropped it.

Unlike Twisted, RSA signatures default to ``rsa-sha2-256``; plain ``ssh-rsa`` (SHA-1) is only
made when asked for by name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from glisten.conch.ssh._ssh import _certificates as _cert
from glisten.conch.ssh._ssh import _securitykeys as _sk
from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._limits import DEFAULT_PUBLIC_KEY_ALGORITHMS
from glisten.conch.ssh._ssh._wire import Reader, mpint, string

__all__ = [
    "CA_SIGNATURE_ALGORITHMS",
    "CERT_HOST",
    "CERT_USER",
    "DEFAULT_USER_EXTENSIONS",
    "FOREVER",
    "SK_USER_PRESENT",
    "SK_USER_VERIFIED",
    "BadFingerPrintFormat",
    "BadKeyError",
    "BadSignatureAlgorithmError",
    "BadCertificateError",
    "Certificate",
    "CertificateLimits",
    "EncryptedKeyError",
    "FingerprintFormats",
    "Key",
    "SecurityKeySigner",
    "sourceAddressAllows",
]

CERT_USER = _cert.CERT_USER
CERT_HOST = _cert.CERT_HOST
#: ``validBefore`` of a certificate that never expires.
FOREVER = _cert.FOREVER
CertificateLimits = _cert.CertificateLimits
#: What signs for a security key (:meth:`Key.withSecurityKeySigner`): given the key's
#: application and the SHA-256 of the data, the authenticator's ``(flags, counter, signature)``.
SecurityKeySigner = Callable[[bytes, bytes], tuple[int, int, bytes]]
#: Security-key signature flag: the user touched the authenticator.
SK_USER_PRESENT = _sk.USER_PRESENT
#: Security-key signature flag: the authenticator verified the user (PIN, fingerprint).
SK_USER_VERIFIED = _sk.USER_VERIFIED

_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_CURVES: dict[str, tuple[bytes, bytes, hashes.HashAlgorithm]] = {
    "secp256r1": (b"ecdsa-sha2-nistp256", b"nistp256", hashes.SHA256()),
    "secp384r1": (b"ecdsa-sha2-nistp384", b"nistp384", hashes.SHA384()),
    "secp521r1": (b"ecdsa-sha2-nistp521", b"nistp521", hashes.SHA512()),
}
_CURVE_BY_SSH = {v[0]: k for k, v in _CURVES.items()}
_RSA_HASHES: dict[bytes, hashes.HashAlgorithm] = {
    b"rsa-sha2-256": hashes.SHA256(),
    b"rsa-sha2-512": hashes.SHA512(),
    b"ssh-rsa": hashes.SHA1(),
}
_MIN_RSA_BITS = 1024
_MAX_RSA_BITS = 16384


class BadKeyError(Exception):
    """The data is not a key glisten can use (unknown type, malformed, wrong passphrase)."""


class EncryptedKeyError(BadKeyError):
    """The key is encrypted and no passphrase was given."""


class BadFingerPrintFormat(Exception):
    """An unknown fingerprint format was asked for."""


class BadSignatureAlgorithmError(Exception):
    """A signature algorithm this key cannot make was asked for."""


class BadCertificateError(Exception):
    """
    A certificate does not grant what is asked: wrong type, expired, not yet valid, the
    principal is not listed, or the CA's signature is bad. The message is ours (never the
    certificate's bytes), so it is safe to log.
    """


class FingerprintFormats:
    """The fingerprint formats :meth:`Key.fingerprint` knows."""

    MD5_HEX = "md5-hex"
    SHA256_BASE64 = "sha256-base64"


def _asBytes(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


#: Signature algorithms a CA may sign certificates with (OpenSSH's default
#: ``CASignatureAlgorithms``: no SHA-1 ``ssh-rsa``; security keys included).
CA_SIGNATURE_ALGORITHMS = DEFAULT_PUBLIC_KEY_ALGORITHMS


def _ecdsaDER(signature: bytes) -> bytes:
    """
    An SSH ECDSA signature (``mpint(r) || mpint(s)``) in the DER form ``cryptography`` checks.

    :raises SSHProtocolError: malformed.
    :raises ValueError: ``r`` or ``s`` not positive.
    """
    r = Reader(signature, maxString=256)
    rr, ss = r.mpint(), r.mpint()
    r.done()
    if rr <= 0 or ss <= 0:
        raise ValueError("bad ECDSA signature")
    return encode_dss_signature(rr, ss)


def _optionValue(data: bytes) -> bytes:
    """The value inside a certificate option's data field (empty for a flag)."""
    if not data:
        return b""
    r = Reader(data, maxString=len(data))
    try:
        value = r.string()
        r.done()
    except SSHProtocolError:
        raise BadCertificateError("malformed certificate option") from None
    return value


@attrs.frozen(eq=False)
class Certificate:
    """
    An OpenSSH certificate (``*-cert-v01@openssh.com``): a key, signed by a CA with the
    names and the time window it is good for.

    :ivar key: the certified public key (a plain :class:`Key`).
    :ivar nonce: random bytes the CA chose.
    :ivar serial: the CA's serial number.
    :ivar type: :data:`CERT_USER` or :data:`CERT_HOST`.
    :ivar keyId: the CA's free-form identifier (logged by servers).
    :ivar principals: user names (user certificates) or host names (host certificates) the
        certificate is valid for; empty means any.
    :ivar validAfter: seconds since the epoch; valid from then...
    :ivar validBefore: ...until just before this (:data:`FOREVER` never expires).
    :ivar criticalOptions: name to raw data field (see :meth:`criticalOption`); a verifier
        must refuse a certificate with one it does not know.
    :ivar extensions: name to raw data field (``permit-pty``...), ignored when unknown.
    :ivar signatureKey: the CA's public key.
    :ivar signature: the CA's signature blob.
    :ivar blob: the whole certificate blob (the SSH "public key" a certificate key sends).
    :ivar signed: the part of ``blob`` the signature covers.
    """

    key: Key
    nonce: bytes
    serial: int
    type: int
    keyId: bytes
    principals: tuple[bytes, ...]
    validAfter: int
    validBefore: int
    criticalOptions: Mapping[bytes, bytes]
    extensions: Mapping[bytes, bytes]
    reserved: bytes
    signatureKey: Key
    signature: bytes
    blob: bytes
    signed: bytes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.blob == other.blob

    def __hash__(self) -> int:
        return hash(self.blob)

    def criticalOption(self, name: bytes) -> bytes | None:
        """
        A critical option's value (``b"force-command"`` gives the command; a flag gives
        ``b""``), or ``None`` when the certificate does not carry it.

        :raises BadCertificateError: the option's data is malformed.
        """
        data = self.criticalOptions.get(name)
        return None if data is None else _optionValue(data)

    def verifySignature(self) -> bool:
        """
        Whether the CA's signature over the certificate is good (SHA-1 RSA is refused). A
        security-key CA's signature need not show a touch: OpenSSH checks none there.
        """
        try:
            algorithm = Reader(self.signature, maxString=4096).string()
        except SSHProtocolError:
            return False
        if algorithm not in CA_SIGNATURE_ALGORITHMS:
            return False
        return self.signatureKey.verify(self.signature, self.signed, requireUserPresence=False)

    def isValidAt(self, when: float) -> bool:
        """Whether ``when`` (seconds since the epoch) is inside the validity window."""
        return self.validAfter <= when < self.validBefore

    def checkAuthority(
        self,
        certType: int,
        principal: bytes | None = None,
        when: float | None = None,
        requirePrincipal: bool = False,
    ) -> None:
        """
        Check the certificate as OpenSSH does before trusting its CA: the type, the CA's
        signature, the validity window, and the principal.

        :param certType: :data:`CERT_USER` or :data:`CERT_HOST`, what the caller needs.
        :param principal: a name that must be among :attr:`principals` (when the list is not
            empty); ``None`` skips the check (the caller matched principals itself).
        :param when: the time to check against; now when ``None``.
        :param requirePrincipal: refuse a certificate with no principals (which would
            otherwise be valid for any name).
        :raises BadCertificateError: with the reason.
        """
        if self.type != certType:
            raise BadCertificateError("wrong certificate type")
        if not self.verifySignature():
            raise BadCertificateError("bad certificate signature")
        now = time.time() if when is None else when
        if now < self.validAfter:
            raise BadCertificateError("certificate not yet valid")
        if now >= self.validBefore:
            raise BadCertificateError("certificate expired")
        if not self.principals:
            if requirePrincipal:
                raise BadCertificateError("certificate lacks principals")
        elif principal is not None and principal not in self.principals:
            raise BadCertificateError("name not listed as a principal")


def _optionPairs(options: Mapping[bytes | str, bytes | str] | None) -> list[tuple[bytes, bytes]]:
    """Certificate options from ``name: value`` (values wrapped in a string; flags empty)."""
    pairs: list[tuple[bytes, bytes]] = []
    for name, value in (options or {}).items():
        raw = _asBytes(value) or b""
        pairs.append((_asBytes(name) or b"", string(raw) if raw else b""))
    return pairs


_ISSUING = _cert.CertificateLimits(1 << 24, 1 << 16, 1 << 16, 1 << 16, 1 << 16, 1 << 16)

#: The extensions ``ssh-keygen -s`` puts in a user certificate unless told otherwise.
DEFAULT_USER_EXTENSIONS: dict[bytes | str, bytes | str] = {
    b"permit-X11-forwarding": b"",
    b"permit-agent-forwarding": b"",
    b"permit-port-forwarding": b"",
    b"permit-pty": b"",
    b"permit-user-rc": b"",
}


def sourceAddressAllows(value: bytes, address: str | None) -> bool:
    """
    Whether a ``source-address`` critical option (a comma-separated list of addresses and
    ``address/bits`` networks) admits ``address``; an unknown address or a malformed list is
    refused.
    """
    if address is None:
        return False
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
        entries = value.decode("ascii").split(",")
        networks = [ipaddress.ip_network(e.strip(), strict=False) for e in entries]
    except (UnicodeDecodeError, ValueError):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


class Key:
    """
    A public or private SSH key.

    A key read from an OpenSSH certificate (or given one by :meth:`withCertificate`) carries
    it in :attr:`certificate`: its :meth:`blob`, :meth:`sshType` and signature algorithms are
    then the certificate's, while :meth:`fingerprint`, :meth:`type` and :meth:`data` describe
    the key itself.

    :param keyObject: a ``cryptography`` Ed25519, EC or RSA key, public or private.
    :raises BadKeyError: for any other kind of key (DSA included) or an unusable size.
    :ivar certificate: the key's :class:`Certificate`, or ``None``.
    """

    certificate: Certificate | None = None
    # A security key's application string, and what signs for it (see withSecurityKeySigner).
    _skApplication: bytes | None = None
    _skSigner: Any = None

    def __init__(self, keyObject: Any) -> None:
        # The kind is found once here: the isinstance checks against cryptography's abstract
        # classes cost a microsecond each, and a handshake asks a key's type several times.
        if isinstance(keyObject, ed25519.Ed25519PublicKey):
            self._type, self._isPublic = "Ed25519", True
        elif isinstance(keyObject, ed25519.Ed25519PrivateKey):
            self._type, self._isPublic = "Ed25519", False
        elif isinstance(keyObject, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            if keyObject.curve.name not in _CURVES:
                raise BadKeyError("unsupported elliptic curve")
            self._type = "EC"
            self._isPublic = isinstance(keyObject, ec.EllipticCurvePublicKey)
        elif isinstance(keyObject, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            if not _MIN_RSA_BITS <= keyObject.key_size <= _MAX_RSA_BITS:
                raise BadKeyError("RSA key size out of range")
            self._type = "RSA"
            self._isPublic = isinstance(keyObject, rsa.RSAPublicKey)
        else:
            raise BadKeyError("unsupported key type")
        self._keyObject = keyObject
        self._publicObject: Any = keyObject if self._isPublic else None
        self._plainBlobBytes: bytes | None = None

    # ---------------------------------------------------------------- construction

    @classmethod
    def generate(cls, keyType: str = "ed25519", bits: int | None = None) -> Key:
        """
        Make a new private key.

        :param keyType: ``"ed25519"``, ``"ecdsa"`` or ``"rsa"``.
        :param bits: the curve size for ECDSA (256, 384, 521; default 256) or the modulus size
            for RSA (default 3072, at least 2048).
        """
        keyType = keyType.lower()
        if keyType == "ed25519":
            return cls(ed25519.Ed25519PrivateKey.generate())
        if keyType in ("ecdsa", "ec"):
            curves: dict[int, Any] = {256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}
            curve = curves.get(bits or 256)
            if curve is None:
                raise BadKeyError("ECDSA keys are 256, 384 or 521 bits")
            return cls(ec.generate_private_key(curve()))
        if keyType == "rsa":
            size = bits or 3072
            if not 2048 <= size <= _MAX_RSA_BITS:
                raise BadKeyError("RSA keys are made with 2048 to 16384 bits")
            return cls(rsa.generate_private_key(65537, size))
        raise BadKeyError("unsupported key type")

    @classmethod
    def fromFile(
        cls, filename: str | os.PathLike[str], type: str | None = None, passphrase: Any = None
    ) -> Key:
        """Read a key from a file; see :meth:`fromString`."""
        with open(filename, "rb") as f:
            return cls.fromString(f.read(), type, passphrase)

    @classmethod
    def fromString(cls, data: bytes | str, type: str | None = None, passphrase: Any = None) -> Key:
        """
        Read a key in any supported format.

        :param type: a format hint (``"public_openssh"``, ``"private_openssh"``, ``"blob"``,
            ``"public_lsh"`` is not supported); detected when ``None``.
        :param passphrase: for encrypted private keys.
        :raises EncryptedKeyError: the key needs a passphrase.
        :raises BadKeyError: anything else that is not a usable key.
        """
        raw = data.encode("ascii") if isinstance(data, str) else bytes(data)
        password = _asBytes(passphrase)
        if type == "blob":
            return cls._fromBlob(raw)
        if type == "private_blob":
            return cls._fromPrivateBlob(raw)
        stripped = raw.strip()
        try:
            if stripped.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
                return cls._loadPrivate(serialization.load_ssh_private_key, stripped, password)
            if stripped.startswith(b"-----BEGIN") and b"PRIVATE KEY-----" in stripped[:64]:
                return cls._loadPrivate(serialization.load_pem_private_key, stripped, password)
            if stripped.startswith(b"-----BEGIN PUBLIC KEY-----") or stripped.startswith(
                b"-----BEGIN RSA PUBLIC KEY-----"
            ):
                return cls(serialization.load_pem_public_key(stripped))
            if stripped.startswith(b"---- BEGIN SSH2 PUBLIC KEY ----"):
                return cls._fromRFC4716(stripped)
            if stripped.startswith((b"ssh-", b"ecdsa-", b"sk-")):
                parts = stripped.split(None, 2)
                if len(parts) < 2:
                    raise BadKeyError("not an OpenSSH public key")
                key = cls._fromBlob(base64.b64decode(parts[1], validate=True))
                if key.sshType() != parts[0]:
                    raise BadKeyError("key type does not match its blob")
                return key
        except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as e:
            if isinstance(e, TypeError) and password is None and b"ENCRYPTED" in stripped:
                raise EncryptedKeyError("the key is encrypted; a passphrase is needed") from None
            if isinstance(e, TypeError) and "encrypted" in str(e).lower():
                raise EncryptedKeyError("the key is encrypted; a passphrase is needed") from None
            raise BadKeyError("cannot read the key: %s" % (type or "unknown format")) from None
        raise BadKeyError("unknown key format")

    @classmethod
    def _loadPrivate(cls, loader: Any, data: bytes, password: bytes | None) -> Key:
        try:
            return cls(loader(data, password=password))
        except TypeError as e:
            if password is None:
                raise EncryptedKeyError("the key is encrypted; a passphrase is needed") from None
            raise BadKeyError(str(e)) from None
        except ValueError:
            if password is not None:
                raise BadKeyError("cannot decrypt the key (wrong passphrase?)") from None
            raise

    @classmethod
    def _fromRFC4716(cls, data: bytes) -> Key:
        lines = data.splitlines()
        body: list[bytes] = []
        continued = False
        for line in lines[1:]:
            line = line.strip()
            if line.startswith(b"---- END SSH2 PUBLIC KEY ----"):
                return cls._fromBlob(base64.b64decode(b"".join(body), validate=True))
            if continued:
                continued = line.endswith(b"\\")
                continue
            if b":" in line:
                continued = line.endswith(b"\\")
                continue
            body.append(line)
        raise BadKeyError("unterminated RFC 4716 key")

    @classmethod
    def _fromBlob(cls, blob: bytes) -> Key:
        """Read an SSH public key blob (RFC 4253 section 6.6), or a certificate blob."""
        try:
            r = Reader(blob, maxString=4096)
            kind = r.string()
            if kind in _cert.CERT_KEY_TYPES:
                return cls._fromCertificateBlob(blob)
            key: Any
            if kind in _sk.SK_KEY_TYPES:
                return cls._fromSecurityKeyBlob(kind, r)
            if kind == b"ssh-ed25519":
                raw = r.string()
                r.done()
                key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            elif kind in _CURVE_BY_SSH:
                curveName = _CURVE_BY_SSH[kind]
                if r.string() != _CURVES[curveName][1]:
                    raise BadKeyError("ECDSA key curve mismatch")
                point = r.string()
                r.done()
                curve = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}.get(
                    curveName, ec.SECP521R1
                )()
                key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
            elif kind == b"ssh-rsa":
                e = r.mpint()
                n = r.mpint()
                r.done()
                if e < 3 or n < 3:
                    raise BadKeyError("bad RSA key")
                key = rsa.RSAPublicNumbers(e, n).public_key()
            else:
                raise BadKeyError("unsupported public key type")
        except (SSHProtocolError, ValueError) as e:
            if isinstance(e, BadKeyError):
                raise
            raise BadKeyError("malformed public key blob") from None
        return cls(key)

    @classmethod
    def _fromSecurityKeyBlob(cls, kind: bytes, r: Reader) -> Key:
        """The rest of a security-key blob: the key's fields, then its application."""
        keyObject: Any
        if kind == _sk.SK_ED25519:
            keyObject = ed25519.Ed25519PublicKey.from_public_bytes(r.string())
        else:
            if r.string() != b"nistp256":
                raise BadKeyError("ECDSA key curve mismatch")
            keyObject = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), r.string())
        application = r.string()
        r.done()
        if len(application) > _sk.MAX_APPLICATION:
            raise BadKeyError("security key application too long")
        key = cls(keyObject)
        key._skApplication = application
        return key

    def _like(self) -> Key:
        """A copy of this key without its certificate (a security key keeps its application
        and signer)."""
        key = Key(self._keyObject)
        if self._skApplication is not None:
            key._skApplication = self._skApplication
            key._skSigner = self._skSigner
            key._isPublic = self._skSigner is None
        return key

    @classmethod
    def _fromCertificateBlob(
        cls, blob: bytes, limits: _cert.CertificateLimits | None = None
    ) -> Key:
        """
        Read an OpenSSH certificate blob into a public key carrying its :class:`Certificate`.
        The CA's signature is not checked here (see :meth:`Certificate.checkAuthority`).

        :raises BadKeyError: malformed, past ``limits``, or signed by a certificate.
        """
        try:
            fields = _cert.decodeCertificate(blob, limits or _cert.CertificateLimits())
        except SSHProtocolError:
            raise BadKeyError("malformed certificate") from None
        key = cls._fromBlob(fields.publicKey)
        if key.certificate is not None:
            raise BadKeyError("malformed certificate")
        signatureKey = cls._fromBlob(fields.signatureKey)
        if signatureKey.certificate is not None:
            raise BadKeyError("a certificate cannot be a certificate authority")
        key.certificate = Certificate(
            key=key._like(),
            nonce=fields.nonce,
            serial=fields.serial,
            type=fields.type,
            keyId=fields.keyId,
            principals=fields.principals,
            validAfter=fields.validAfter,
            validBefore=fields.validBefore,
            criticalOptions=dict(fields.criticalOptions),
            extensions=dict(fields.extensions),
            reserved=fields.reserved,
            signatureKey=signatureKey,
            signature=fields.signature,
            blob=bytes(blob),
            signed=fields.signed,
        )
        return key

    def withCertificate(self, certificate: Key | Certificate) -> Key:
        """
        This key (public or private) with a certificate attached: what ``ssh -i key`` uses
        when ``key-cert.pub`` lies beside it.

        :param certificate: a certificate key (as :meth:`fromString` reads ``*-cert.pub``) or
            a :class:`Certificate`.
        :raises BadKeyError: the certificate is for another key.
        """
        cert = certificate.certificate if isinstance(certificate, Key) else certificate
        if cert is None:
            raise BadKeyError("not a certificate")
        if cert.key._plainBlob() != self._plainBlob():
            raise BadKeyError("the certificate is for another key")
        key = self._like()
        key.certificate = cert
        return key

    def withoutCertificate(self) -> Key:
        """This key without its certificate."""
        return self if self.certificate is None else self._like()

    def withSecurityKeySigner(self, signer: SecurityKeySigner) -> Key:
        """
        This security-key public key, able to sign through ``signer``: what a client logs in
        with when the private half lives in an authenticator (glisten does not talk to
        hardware itself; a FIDO library's assertion call fits ``signer``).

        :param signer: called with the key's application and the SHA-256 of the data to sign;
            returns the authenticator's ``(flags, counter, signature)``, the signature being
            64 Ed25519 bytes or a DER ECDSA signature, over ``SHA-256(application) || flags
            || counter || SHA-256(data)`` (OpenSSH's ``PROTOCOL.u2f``). It is called
            synchronously.
        :return: a key that is not :meth:`isPublic` and whose :meth:`sign` makes
            security-key signatures (its certificate, if any, kept).
        :raises BadKeyError: this is not a security key.
        """
        if self._skApplication is None:
            raise BadKeyError("not a security key")
        key = self._like()
        key.certificate = self.certificate
        key._skSigner = signer
        key._isPublic = False
        return key

    def emulateSecurityKey(
        self, application: bytes = b"ssh:", flags: int = _sk.USER_PRESENT, counter: int = 1
    ) -> Key:
        """
        For tests: a software stand-in for an authenticator holding this private Ed25519 or
        P-256 key. The result is the matching ``sk-*`` key with a signer
        (:meth:`withSecurityKeySigner`) that answers with ``flags`` and a counter counting up
        from ``counter``. It gives none of a hardware key's protection.

        :raises BadKeyError: a public key, or another kind of key.
        """
        if self.isPublic() or self._skApplication is not None:
            raise BadKeyError("a plain private key is needed")
        if not (self._type == "Ed25519" or self._plainType() == b"ecdsa-sha2-nistp256"):
            raise BadKeyError("security keys are Ed25519 or ECDSA P-256")
        private: Any = self._keyObject
        counters = [counter]

        def sign(app: bytes, dataHash: bytes) -> tuple[int, int, bytes]:
            current = counters[0]
            counters[0] += 1
            message = _sk.signedMessage(app, flags, current, dataHash)
            if self._type == "Ed25519":
                return flags, current, private.sign(message)
            return flags, current, private.sign(message, ec.ECDSA(hashes.SHA256()))

        public = Key(private.public_key())
        public._skApplication = bytes(application)
        return public.withSecurityKeySigner(sign)

    def signCertificate(
        self,
        publicKey: Key,
        certType: int,
        keyId: bytes | str,
        principals: Iterable[bytes | str] = (),
        validAfter: int = 0,
        validBefore: int = _cert.FOREVER,
        criticalOptions: Mapping[bytes | str, bytes | str] | None = None,
        extensions: Mapping[bytes | str, bytes | str] | None = None,
        serial: int = 0,
        nonce: bytes | None = None,
        signatureType: bytes | None = None,
    ) -> Key:
        """
        Issue a certificate for ``publicKey`` with this (CA) private key, as ``ssh-keygen -s``
        does.

        :param certType: :data:`CERT_USER` or :data:`CERT_HOST`.
        :param principals: user or host names; none means any.
        :param criticalOptions: ``{b"force-command": b"uptime", b"source-address":
            b"10.0.0.0/8", b"verify-required": b""}`` (values as plain text, flags empty).
        :param extensions: ``{b"permit-pty": b""}``...; for a user certificate ``None`` means
            :data:`DEFAULT_USER_EXTENSIONS` (as ``ssh-keygen``), for a host one no extension.
        :param nonce: 32 random bytes when ``None``.
        :param signatureType: the CA's signature algorithm (``rsa-sha2-512`` for RSA CAs by
            default, as ``ssh-keygen``).
        :return: the public key with its new certificate.
        """
        if self.isPublic() or self.certificate is not None:
            raise BadKeyError("a certificate is signed with a plain private key")
        if certType not in (CERT_USER, CERT_HOST):
            raise BadKeyError("unknown certificate type")
        plain = publicKey.public().withoutCertificate()
        if extensions is None and certType == CERT_USER:
            extensions = dict(DEFAULT_USER_EXTENSIONS.items())
        if signatureType is None and self.type() == "RSA":
            signatureType = b"rsa-sha2-512"
        body = _cert.encodeCertificateBody(
            _cert.CERT_TYPE_FOR_KEY[plain.sshType()],
            os.urandom(32) if nonce is None else nonce,
            plain.blob(),
            serial,
            certType,
            _asBytes(keyId) or b"",
            tuple(_asBytes(p) or b"" for p in principals),
            validAfter,
            validBefore,
            _optionPairs(criticalOptions),
            _optionPairs(extensions),
            self.public().blob(),
        )
        # What the caller asked for is issued even past the limits readers apply.
        return Key._fromCertificateBlob(body + string(self.sign(body, signatureType)), _ISSUING)

    @classmethod
    def _fromPrivateBlob(cls, blob: bytes) -> Key:
        """Read a private key in the form the SSH agent protocol uses (see :meth:`privateBlob`)."""
        r = Reader(blob, maxString=4096)
        key = cls.readPrivateBlob(r)
        try:
            r.done()
        except SSHProtocolError:
            raise BadKeyError("trailing bytes after the private key") from None
        return key

    @classmethod
    def readPrivateBlob(cls, r: Reader) -> Key:
        """
        Read one private key in agent form from ``r``, leaving what follows it (the agent's
        ``ADD_IDENTITY`` puts a comment there).

        :raises BadKeyError: malformed, inconsistent or unsupported.
        """
        try:
            kind = r.string()
            key: Any
            if kind == b"ssh-ed25519":
                public, secret = r.string(), r.string()
                if len(public) != 32 or len(secret) != 64 or secret[32:] != public:
                    raise BadKeyError("bad Ed25519 private key")
                key = ed25519.Ed25519PrivateKey.from_private_bytes(secret[:32])
            elif kind in _CURVE_BY_SSH:
                curveName = _CURVE_BY_SSH[kind]
                if r.string() != _CURVES[curveName][1]:
                    raise BadKeyError("ECDSA key curve mismatch")
                point, d = r.string(), r.mpint()
                curve = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}.get(
                    curveName, ec.SECP521R1
                )()
                key = ec.derive_private_key(d, curve)
                if (
                    key.public_key().public_bytes(
                        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
                    )
                    != point
                ):
                    raise BadKeyError("ECDSA private and public parts differ")
            elif kind == b"ssh-rsa":
                n, e, d, iqmp, p, q = (r.mpint() for _ in range(6))
                if p * q != n or not _MIN_RSA_BITS <= n.bit_length() <= _MAX_RSA_BITS:
                    raise BadKeyError("bad RSA private key")
                key = rsa.RSAPrivateNumbers(
                    p,
                    q,
                    d,
                    rsa.rsa_crt_dmp1(d, p),
                    rsa.rsa_crt_dmq1(d, q),
                    iqmp,
                    rsa.RSAPublicNumbers(e, n),
                ).private_key()
            else:
                raise BadKeyError("unsupported private key type")
        except (SSHProtocolError, ValueError) as e:
            if isinstance(e, BadKeyError):
                raise
            raise BadKeyError("malformed private key") from None
        return cls(key)

    def privateBlob(self) -> bytes:
        """
        The private key in the form the SSH agent protocol uses (draft-miller-ssh-agent
        section 4.2.3): the type, then its public and private numbers.

        :raises BadKeyError: this is a public key.
        """
        if self.isPublic() or self._skApplication is not None:
            raise BadKeyError("a public key has no private blob")
        k: Any = self._keyObject
        t = self.type()
        if t == "Ed25519":
            public = k.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            secret = k.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            return string(b"ssh-ed25519") + string(public) + string(secret + public)
        if t == "EC":
            return self._plainBlob() + mpint(k.private_numbers().private_value)
        n = k.private_numbers()
        pub = n.public_numbers
        return string(b"ssh-rsa") + b"".join(
            mpint(v) for v in (pub.n, pub.e, n.d, n.iqmp, n.p, n.q)
        )

    # ---------------------------------------------------------------- inspection

    def isPublic(self) -> bool:
        """Whether this is only a public key."""
        return self._isPublic

    def public(self) -> Key:
        """The public half of this key."""
        if self.isPublic():
            return self
        if self._skApplication is not None:
            key = Key(self._keyObject)
            key._skApplication = self._skApplication
        else:
            key = Key(self._keyObject.public_key())
        key.certificate = self.certificate
        return key

    def _public(self) -> Any:
        pub = self._publicObject
        if pub is None:
            pub = self._publicObject = self._keyObject.public_key()
        return pub

    def type(self) -> str:
        """``"Ed25519"``, ``"EC"`` or ``"RSA"``."""
        return self._type

    def sshType(self) -> bytes:
        """
        The key's SSH type name (``b"ssh-ed25519"``, ``b"ecdsa-sha2-nistp256"``, ...; the
        certificate type, such as ``b"ssh-ed25519-cert-v01@openssh.com"``, for a certificate).
        """
        plain = self._plainType()
        if self.certificate is not None:
            return _cert.CERT_TYPE_FOR_KEY[plain]
        return plain

    def _plainType(self) -> bytes:
        t = self.type()
        if self._skApplication is not None:
            return _sk.SK_ED25519 if t == "Ed25519" else _sk.SK_ECDSA_P256
        if t == "Ed25519":
            return b"ssh-ed25519"
        if t == "EC":
            return _CURVES[self._keyObject.curve.name][0]
        return b"ssh-rsa"

    def securityKeyApplication(self) -> bytes | None:
        """A security key's application string (``b"ssh:"`` by default); ``None`` for other keys."""
        return self._skApplication

    def size(self) -> int:
        """The key size in bits."""
        if self.type() == "Ed25519":
            return 256
        return int(self._keyObject.key_size)

    def supportedSignatureAlgorithms(self) -> list[bytes]:
        """
        The signature algorithms this key can make, best first (``ssh-rsa`` last); for a
        certificate their certificate forms (``rsa-sha2-512-cert-v01@openssh.com``...).
        """
        plain = self._plainSignatureAlgorithms()
        if self.certificate is not None:
            return [_cert.CERT_ALGORITHM_FOR[a] for a in plain]
        return plain

    def _plainSignatureAlgorithms(self) -> list[bytes]:
        if self.type() == "RSA":
            return [b"rsa-sha2-512", b"rsa-sha2-256", b"ssh-rsa"]
        return [self._plainType()]

    def blob(self) -> bytes:
        """The SSH public key blob (the certificate blob for a certificate)."""
        if self.certificate is not None:
            return self.certificate.blob
        return self._plainBlob()

    def _plainBlob(self) -> bytes:
        # Made once: a server sends its host key's blob and hashes it in every handshake.
        blob = self._plainBlobBytes
        if blob is None:
            blob = self._plainBlobBytes = self._makePlainBlob()
        return blob

    def _makePlainBlob(self) -> bytes:
        pub = self._public()
        t = self._type
        application = self._skApplication
        suffix = b"" if application is None else string(application)
        if t == "Ed25519":
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return string(self._plainType()) + string(raw) + suffix
        if t == "EC":
            _, curveName, _ = _CURVES[pub.curve.name]
            point = pub.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            return string(self._plainType()) + string(curveName) + string(point) + suffix
        numbers = pub.public_numbers()
        return string(b"ssh-rsa") + mpint(numbers.e) + mpint(numbers.n)

    def fingerprint(self, format: str = FingerprintFormats.MD5_HEX) -> str:
        """
        The key's fingerprint.

        :param format: :attr:`FingerprintFormats.MD5_HEX` (``aa:bb:...``, Twisted's default) or
            :attr:`FingerprintFormats.SHA256_BASE64` (what OpenSSH shows, without ``SHA256:``).
            A certificate's fingerprint is its key's, as with ``ssh-keygen -l``.
        """
        blob = self._plainBlob()
        if format == FingerprintFormats.SHA256_BASE64:
            digest = hashlib.sha256(blob).digest()
            return base64.b64encode(digest).decode("ascii").rstrip("=")
        if format == FingerprintFormats.MD5_HEX:
            return hashlib.md5(blob).digest().hex(":")
        raise BadFingerPrintFormat(f"unsupported fingerprint format: {format}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return self.isPublic() == other.isPublic() and self.blob() == other.blob()

    def __hash__(self) -> int:
        return hash(self.blob())

    def __repr__(self) -> str:
        kind = "Public" if self.isPublic() else "Private"
        if self._skApplication is not None:
            kind += " Security"
        cert = " with certificate" if self.certificate is not None else ""
        fingerprint = self.fingerprint("sha256-base64")
        return f"<{self.type()} {kind} Key ({self.size()} bits){cert} SHA256:{fingerprint}>"

    # ---------------------------------------------------------------- output

    def toString(
        self,
        type: str = "openssh",
        extra: Any = None,
        comment: bytes | str | None = None,
        passphrase: Any = None,
    ) -> bytes:
        """
        Serialise the key.

        :param type: ``"openssh"`` (private: the OpenSSH format; public: one
            ``authorized_keys`` line), ``"pem"`` (PKCS#8 private or SubjectPublicKeyInfo public)
            or ``"rfc4716"`` (public only).
        :param extra: Twisted's old name for ``passphrase``.
        :param comment: appended to an OpenSSH public key line.
        :param passphrase: encrypt a private key (bcrypt-pbkdf + aes256-ctr for ``openssh``).
        """
        password = _asBytes(passphrase if passphrase is not None else extra)
        fmt = type.lower()
        if self.isPublic():
            if fmt == "openssh":
                line = self.sshType() + b" " + base64.b64encode(self.blob())
                if comment:
                    line += b" " + _asBytes(comment)  # type: ignore[operator]
                return line
            if fmt == "rfc4716":
                b64 = base64.b64encode(self.blob())
                lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
                head = [b"---- BEGIN SSH2 PUBLIC KEY ----"]
                if comment:
                    head.append(b'Comment: "' + _asBytes(comment) + b'"')  # type: ignore[operator]
                return b"\n".join([*head, *lines, b"---- END SSH2 PUBLIC KEY ----"])
            if fmt == "pem":
                if self._skApplication is not None:
                    raise BadKeyError("a security key has no PEM form")
                return bytes(
                    self._keyObject.public_bytes(
                        serialization.Encoding.PEM,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                )
            raise BadKeyError(f"unknown public key format {type}")
        if self._skApplication is not None:
            raise BadKeyError("a security key's private half stays in its authenticator")
        encryption: Any = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        if fmt == "openssh":
            return bytes(
                self._keyObject.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
                )
            )
        if fmt == "pem":
            return bytes(
                self._keyObject.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
                )
            )
        raise BadKeyError(f"unknown private key format {type}")

    # ---------------------------------------------------------------- signatures

    def sign(self, data: bytes, signatureType: bytes | None = None) -> bytes:
        """
        Sign ``data``.

        :param signatureType: the algorithm; for RSA ``b"rsa-sha2-256"`` by default. A
            certificate algorithm (``rsa-sha2-256-cert-v01@openssh.com``) makes the signature
            of its plain algorithm, which is what the SSH protocol sends with certificates.
        :return: an SSH signature blob (``string(algorithm) string(signature)``).
        :raises BadSignatureAlgorithmError: the key cannot make ``signatureType``.
        """
        if self.isPublic():
            raise BadKeyError("a public key cannot sign")
        t = self.type()
        if signatureType is None:
            signatureType = b"rsa-sha2-256" if t == "RSA" else self._plainType()
        elif self.certificate is not None:
            signatureType = _cert.CERT_SIGNATURE_ALGORITHMS.get(signatureType, b"")
        if signatureType not in self._plainSignatureAlgorithms():
            raise BadSignatureAlgorithmError("this key cannot make that signature")
        if self._skSigner is not None:
            return self._signWithSecurityKey(data)
        k: Any = self._keyObject
        if t == "Ed25519":
            sig = k.sign(data)
        elif t == "EC":
            r, s = decode_dss_signature(k.sign(data, ec.ECDSA(_CURVES[k.curve.name][2])))
            sig = mpint(r) + mpint(s)
        else:
            sig = k.sign(data, padding.PKCS1v15(), _RSA_HASHES[signatureType])
        return string(signatureType) + string(sig)

    def _signWithSecurityKey(self, data: bytes) -> bytes:
        assert self._skApplication is not None
        flags, counter, raw = self._skSigner(self._skApplication, hashlib.sha256(data).digest())
        if self._type == "EC":
            r, s = decode_dss_signature(raw)
            raw = mpint(r) + mpint(s)
        return _sk.SecurityKeySignature(self._plainType(), raw, flags, counter).encode()

    def verify(
        self,
        signature: bytes,
        data: bytes,
        *,
        requireUserPresence: bool = True,
        requireUserVerification: bool = False,
    ) -> bool:
        """
        Check an SSH signature blob over ``data`` made by this key (for a certificate, by
        its key; the blob names the plain algorithm).

        :param requireUserPresence: security keys only: refuse a signature made without a
            touch (``authorized_keys``' ``no-touch-required`` turns this off).
        :param requireUserVerification: security keys only: refuse a signature whose
            authenticator did not verify the user (``verify-required``).
        :return: whether it is valid; malformed signatures are simply invalid.
        """
        if self._skApplication is not None:
            return self._verifySecurityKey(
                signature, data, requireUserPresence, requireUserVerification
            )
        try:
            r = Reader(signature, maxString=4096)
            alg = r.string()
            sig = r.string()
            r.done()
        except SSHProtocolError:
            return False
        if alg not in self._plainSignatureAlgorithms():
            return False
        pub: Any = self._public()
        t = self.type()
        try:
            if t == "Ed25519":
                pub.verify(sig, data)
            elif t == "EC":
                pub.verify(_ecdsaDER(sig), data, ec.ECDSA(_CURVES[pub.curve.name][2]))
            else:
                pub.verify(sig, data, padding.PKCS1v15(), _RSA_HASHES[alg])
        except (InvalidSignature, SSHProtocolError, ValueError):
            return False
        return True

    def _verifySecurityKey(
        self, signature: bytes, data: bytes, presence: bool, verification: bool
    ) -> bool:
        try:
            sig = _sk.decodeSignature(signature)
        except SSHProtocolError:
            return False
        if sig.algorithm != self._plainType():
            return False
        if presence and not sig.flags & _sk.USER_PRESENT:
            return False
        if verification and not sig.flags & _sk.USER_VERIFIED:
            return False
        assert self._skApplication is not None
        message = _sk.signedMessage(
            self._skApplication, sig.flags, sig.counter, hashlib.sha256(data).digest()
        )
        pub: Any = self._public()
        try:
            if self._type == "Ed25519":
                pub.verify(sig.signature, message)
            else:
                pub.verify(_ecdsaDER(sig.signature), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, SSHProtocolError, ValueError):
            return False
        return True

    # Twisted compatibility
    def data(self) -> dict[str, Any]:
        """The key's numbers, as Twisted's ``Key.data()`` gives them."""
        pub: Any = self._public()
        t = self.type()
        if t == "Ed25519":
            return {
                "a": pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            }
        if t == "EC":
            n = pub.public_numbers()
            return {"x": n.x, "y": n.y, "curve": self.sshType()}
        n = pub.public_numbers()
        return {"e": n.e, "n": n.n}
