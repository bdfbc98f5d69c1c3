"""
SSH keys: load, save, sign, verify, fingerprint.

:class:`Key` wraps a ``cryptography`` key. It reads OpenSSH private keys (including ones
encrypted with a passphrase through bcrypt-pbkdf), PEM private keys (PKCS#1, PKCS#8, SEC1),
public keys in OpenSSH, RFC 4716 and PEM form, and raw SSH public key blobs. Supported types:
Ed25519, ECDSA on NIST P-256/P-384/P-521 and RSA. DSA is refused: it is obsolete and OpenSSH
dropped it.

Unlike Twisted, RSA signatures default to ``rsa-sha2-256``; plain ``ssh-rsa`` (SHA-1) is only
made when asked for by name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._wire import Reader, mpint, string

__all__ = [
    "BadFingerPrintFormat",
    "BadKeyError",
    "BadSignatureAlgorithmError",
    "EncryptedKeyError",
    "FingerprintFormats",
    "Key",
]

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


class FingerprintFormats:
    """The fingerprint formats :meth:`Key.fingerprint` knows."""

    MD5_HEX = "md5-hex"
    SHA256_BASE64 = "sha256-base64"


def _asBytes(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class Key:
    """
    A public or private SSH key.

    :param keyObject: a ``cryptography`` Ed25519, EC or RSA key, public or private.
    :raises BadKeyError: for any other kind of key (DSA included) or an unusable size.
    """

    def __init__(self, keyObject: Any) -> None:
        if isinstance(keyObject, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            if keyObject.curve.name not in _CURVES:
                raise BadKeyError("unsupported elliptic curve")
        elif isinstance(keyObject, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            if not _MIN_RSA_BITS <= keyObject.key_size <= _MAX_RSA_BITS:
                raise BadKeyError("RSA key size out of range")
        elif not isinstance(keyObject, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            raise BadKeyError("unsupported key type")
        self._keyObject = keyObject

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
            if stripped.startswith(b"ssh-") or stripped.startswith(b"ecdsa-"):
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
        """Read an SSH public key blob (RFC 4253 section 6.6)."""
        try:
            r = Reader(blob, maxString=4096)
            kind = r.string()
            key: Any
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
        if self.isPublic():
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
            return self.blob() + mpint(k.private_numbers().private_value)
        n = k.private_numbers()
        pub = n.public_numbers
        return string(b"ssh-rsa") + b"".join(
            mpint(v) for v in (pub.n, pub.e, n.d, n.iqmp, n.p, n.q)
        )

    # ---------------------------------------------------------------- inspection

    def isPublic(self) -> bool:
        """Whether this is only a public key."""
        return not isinstance(
            self._keyObject,
            ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        )

    def public(self) -> Key:
        """The public half of this key."""
        if self.isPublic():
            return self
        return Key(self._keyObject.public_key())

    def _public(self) -> Any:
        return self._keyObject if self.isPublic() else self._keyObject.public_key()

    def type(self) -> str:
        """``"Ed25519"``, ``"EC"`` or ``"RSA"``."""
        k = self._keyObject
        if isinstance(k, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(k, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            return "EC"
        return "RSA"

    def sshType(self) -> bytes:
        """The key's SSH type name (``b"ssh-ed25519"``, ``b"ecdsa-sha2-nistp256"``, ...)."""
        t = self.type()
        if t == "Ed25519":
            return b"ssh-ed25519"
        if t == "EC":
            return _CURVES[self._keyObject.curve.name][0]
        return b"ssh-rsa"

    def size(self) -> int:
        """The key size in bits."""
        if self.type() == "Ed25519":
            return 256
        return int(self._keyObject.key_size)

    def supportedSignatureAlgorithms(self) -> list[bytes]:
        """The signature algorithms this key can make, best first (``ssh-rsa`` last)."""
        if self.type() == "RSA":
            return [b"rsa-sha2-512", b"rsa-sha2-256", b"ssh-rsa"]
        return [self.sshType()]

    def blob(self) -> bytes:
        """The SSH public key blob."""
        pub = self._public()
        t = self.type()
        if t == "Ed25519":
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return string(b"ssh-ed25519") + string(raw)
        if t == "EC":
            sshType, curveName, _ = _CURVES[pub.curve.name]
            point = pub.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            return string(sshType) + string(curveName) + string(point)
        numbers = pub.public_numbers()
        return string(b"ssh-rsa") + mpint(numbers.e) + mpint(numbers.n)

    def fingerprint(self, format: str = FingerprintFormats.MD5_HEX) -> str:
        """
        The key's fingerprint.

        :param format: :attr:`FingerprintFormats.MD5_HEX` (``aa:bb:...``, Twisted's default) or
            :attr:`FingerprintFormats.SHA256_BASE64` (what OpenSSH shows, without ``SHA256:``).
        """
        if format == FingerprintFormats.SHA256_BASE64:
            digest = hashlib.sha256(self.blob()).digest()
            return base64.b64encode(digest).decode("ascii").rstrip("=")
        if format == FingerprintFormats.MD5_HEX:
            return ":".join("%02x" % b for b in hashlib.md5(self.blob()).digest())
        raise BadFingerPrintFormat(f"unsupported fingerprint format: {format}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return self.isPublic() == other.isPublic() and self.blob() == other.blob()

    def __hash__(self) -> int:
        return hash(self.blob())

    def __repr__(self) -> str:
        kind = "Public" if self.isPublic() else "Private"
        return f"<{self.type()} {kind} Key ({self.size()} bits) SHA256:{self.fingerprint('sha256-base64')}>"

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
                return bytes(
                    self._keyObject.public_bytes(
                        serialization.Encoding.PEM,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                )
            raise BadKeyError(f"unknown public key format {type}")
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

        :param signatureType: the algorithm; for RSA ``b"rsa-sha2-256"`` by default.
        :return: an SSH signature blob (``string(algorithm) string(signature)``).
        :raises BadSignatureAlgorithmError: the key cannot make ``signatureType``.
        """
        if self.isPublic():
            raise BadKeyError("a public key cannot sign")
        t = self.type()
        if signatureType is None:
            signatureType = b"rsa-sha2-256" if t == "RSA" else self.sshType()
        if signatureType not in self.supportedSignatureAlgorithms():
            raise BadSignatureAlgorithmError("this key cannot make that signature")
        k: Any = self._keyObject
        if t == "Ed25519":
            sig = k.sign(data)
        elif t == "EC":
            r, s = decode_dss_signature(k.sign(data, ec.ECDSA(_CURVES[k.curve.name][2])))
            sig = mpint(r) + mpint(s)
        else:
            sig = k.sign(data, padding.PKCS1v15(), _RSA_HASHES[signatureType])
        return string(signatureType) + string(sig)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """
        Check an SSH signature blob over ``data`` made by this key.

        :return: whether it is valid; malformed signatures are simply invalid.
        """
        try:
            r = Reader(signature, maxString=4096)
            alg = r.string()
            sig = r.string()
            r.done()
        except SSHProtocolError:
            return False
        if alg not in self.supportedSignatureAlgorithms():
            return False
        pub: Any = self._public()
        t = self.type()
        try:
            if t == "Ed25519":
                pub.verify(sig, data)
            elif t == "EC":
                sr = Reader(sig, maxString=256)
                rr, ss = sr.mpint(), sr.mpint()
                sr.done()
                if rr <= 0 or ss <= 0:
                    return False
                pub.verify(encode_dss_signature(rr, ss), data, ec.ECDSA(_CURVES[pub.curve.name][2]))
            else:
                pub.verify(sig, data, padding.PKCS1v15(), _RSA_HASHES[alg])
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
