"""
Key exchange methods: the ephemeral half of each and the shared secret.

Each method object makes its own ephemeral key when created, exposes the wire field it sends
(``string(Q)`` for elliptic curves, ``mpint(e)`` for finite-field Diffie-Hellman) and reads the
peer's field into the shared secret ``K``. Elliptic curves go through ``cryptography``; the
finite-field groups are RFC 3526's safe primes, with exponents of twice the hash size.
Group exchange (RFC 4419) picks one of those groups by the client's size bounds.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from glisten.conch.ssh._ssh import _mlkem, _sntrup761
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_KEY_EXCHANGE_FAILED,
    DISCONNECT_PROTOCOL_ERROR,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._wire import Reader, mpint, string, uint32

_MODP_2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)

_MODP_3072 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)

_MODP_4096 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF",
    16,
)

_MODP_6144 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DCC4024FFFFFFFFFFFFFFFF",
    16,
)

_MODP_8192 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4"
    "38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED"
    "2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652D"
    "E3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B"
    "4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A6"
    "6D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC164F31CC50846851D"
    "F9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92"
    "4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA"
    "9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF",
    16,
)

HashFunc = Any


def _failed(message: str) -> SSHProtocolError:
    return SSHProtocolError(DISCONNECT_KEY_EXCHANGE_FAILED, message)


def _x25519Exchange(private: x25519.X25519PrivateKey, peer: bytes) -> bytes:
    """
    The raw X25519 secret with the peer's 32-byte value.

    :raises SSHProtocolError: a value of the wrong size, or one giving the all-zero secret
        (a low-order point).
    """
    if len(peer) != 32:
        raise _failed("bad curve25519 public value")
    try:
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    except ValueError:
        raise _failed("bad curve25519 public value") from None
    if shared == b"\x00" * 32:
        raise _failed("bad curve25519 public value")
    return shared


class KexMethod:
    """
    One side of one key exchange.

    :ivar name: the method's SSH name.
    :ivar hashFunc: the exchange hash (``hashlib`` constructor).
    :ivar localField: the encoded field this side sends.
    :ivar hashPrefix: what the exchange hash covers between the host key and the client's
        field (the group exchange's bounds and group; empty for the others).
    """

    name: bytes = b""
    hashFunc: HashFunc = hashlib.sha256

    def __init__(self) -> None:
        self.localField = b""
        self.hashPrefix = b""

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        """
        Read the peer's field.

        :return: the field as encoded on the wire (for the exchange hash) and the secret ``K``
            as encoded for the exchange hash and key derivation (an ``mpint``, except for
            the hybrid post-quantum method, whose ``K`` is a ``string``).
        :raises SSHProtocolError: the peer's value is invalid.
        """
        raise NotImplementedError


class Curve25519(KexMethod):
    """``curve25519-sha256`` (RFC 8731)."""

    name = b"curve25519-sha256"
    hashFunc = hashlib.sha256

    def __init__(self) -> None:
        super().__init__()
        self._private = x25519.X25519PrivateKey.generate()
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.localField = string(raw)

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        peer = reader.string()
        shared = _x25519Exchange(self._private, peer)
        return string(peer), mpint(int.from_bytes(shared, "big"))


class _HybridX25519(KexMethod):
    """
    A post-quantum KEM and X25519 together, so the keys stay secret unless both are broken.
    The client sends ``string(KEM public key || X25519 value)``; the server answers
    ``string(ciphertext || X25519 value)`` with a ciphertext for a fresh KEM key. ``K`` is the
    hash (the method's own) of the KEM key and the raw X25519 secret, encoded as a ``string``.
    Each side checks the exact size of the peer's value.

    The client's KEM key pair is made only when its field is first needed, so a server never
    makes one.

    :cvar kem: the KEM: a module with ``PUBLIC_KEY_SIZE``, ``CIPHERTEXT_SIZE``,
        ``generateKeyPair()``, ``encapsulate(publicKey)`` and ``decapsulate(ciphertext, secret)``
        raising a ``ValueError`` for values it refuses.
    :cvar label: the method's short name for error messages.
    """

    kem: Any = None
    label = ""

    def __init__(self) -> None:
        self._x25519 = x25519.X25519PrivateKey.generate()
        self._x25519Public = self._x25519.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._secretKey: Any = None
        self._field = b""
        super().__init__()

    @property
    def localField(self) -> bytes:
        """Client: ``string(KEM public key || X25519)``; server: ``string(ciphertext || X25519)``."""
        if not self._field:
            publicKey, self._secretKey = self.kem.generateKeyPair()
            self._field = string(publicKey + self._x25519Public)
        return self._field

    @localField.setter
    def localField(self, value: bytes) -> None:
        self._field = value

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        blob = reader.string()
        kem = self.kem
        try:
            if self._secretKey is None:
                # Server: the client's public values.
                if len(blob) != kem.PUBLIC_KEY_SIZE + 32:
                    raise _failed(f"bad {self.label} client value")
                ciphertext, kemKey = kem.encapsulate(blob[: kem.PUBLIC_KEY_SIZE])
                shared = _x25519Exchange(self._x25519, blob[kem.PUBLIC_KEY_SIZE :])
                self._field = string(ciphertext + self._x25519Public)
            else:
                if len(blob) != kem.CIPHERTEXT_SIZE + 32:
                    raise _failed(f"bad {self.label} server value")
                kemKey = kem.decapsulate(blob[: kem.CIPHERTEXT_SIZE], self._secretKey)
                shared = _x25519Exchange(self._x25519, blob[kem.CIPHERTEXT_SIZE :])
        except SSHProtocolError:
            raise
        except ValueError:
            raise _failed(f"bad {self.label} value") from None
        return string(blob), string(self.hashFunc(kemKey + shared).digest())


class Sntrup761X25519(_HybridX25519):
    """
    ``sntrup761x25519-sha512@openssh.com`` (also named ``sntrup761x25519-sha512``): the
    Streamlined NTRU Prime 761 KEM (:mod:`._sntrup761`, pure Python: the client's key pair
    costs tens of milliseconds) with X25519; ``K`` is a SHA-512 hash.
    """

    name = b"sntrup761x25519-sha512@openssh.com"
    hashFunc = hashlib.sha512
    kem = _sntrup761
    label = "sntrup761x25519"


class MLKEM768X25519(_HybridX25519):
    """
    ``mlkem768x25519-sha256`` (draft-ietf-sshm-mlkem-hybrid-kex, OpenSSH 9.9; OpenSSH 10's
    first choice): ML-KEM-768 (:mod:`._mlkem`, through ``cryptography``) with X25519; ``K``
    is a SHA-256 hash. Offered only where :data:`._mlkem.AVAILABLE`.
    """

    name = b"mlkem768x25519-sha256"
    hashFunc = hashlib.sha256
    kem = _mlkem
    label = "mlkem768x25519"


class _ECDH(KexMethod):
    curve: Any = ec.SECP256R1

    def __init__(self) -> None:
        super().__init__()
        self._private = ec.generate_private_key(self.curve())
        point = self._private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.localField = string(point)

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        point = reader.string()
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(self.curve(), point)
            shared = self._private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise _failed("bad ECDH public value") from None
        return string(point), mpint(int.from_bytes(shared, "big"))


class ECDHNistP256(_ECDH):
    """``ecdh-sha2-nistp256`` (RFC 5656)."""

    name = b"ecdh-sha2-nistp256"
    hashFunc = hashlib.sha256
    curve = ec.SECP256R1


class ECDHNistP384(_ECDH):
    """``ecdh-sha2-nistp384`` (RFC 5656)."""

    name = b"ecdh-sha2-nistp384"
    hashFunc = hashlib.sha384
    curve = ec.SECP384R1


class ECDHNistP521(_ECDH):
    """``ecdh-sha2-nistp521`` (RFC 5656)."""

    name = b"ecdh-sha2-nistp521"
    hashFunc = hashlib.sha512
    curve = ec.SECP521R1


class _DH(KexMethod):
    prime = _MODP_2048
    generator = 2
    exponentBits = 512

    def __init__(self) -> None:
        super().__init__()
        self._makeExponent()

    def _makeExponent(self) -> None:
        self._x = secrets.randbits(self.exponentBits) | (1 << (self.exponentBits - 1))
        self.localField = mpint(pow(self.generator, self._x, self.prime))

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        peer = reader.mpint()
        if not 1 < peer < self.prime - 1:
            raise _failed("bad Diffie-Hellman public value")
        return mpint(peer), mpint(pow(peer, self._x, self.prime))


class DHGroup14SHA256(_DH):
    """``diffie-hellman-group14-sha256`` (RFC 8268)."""

    name = b"diffie-hellman-group14-sha256"
    hashFunc = hashlib.sha256
    prime = _MODP_2048
    exponentBits = 512


class DHGroup16SHA512(_DH):
    """``diffie-hellman-group16-sha512`` (RFC 8268)."""

    name = b"diffie-hellman-group16-sha512"
    hashFunc = hashlib.sha512
    prime = _MODP_4096
    exponentBits = 1024


class DHGroup18SHA512(_DH):
    """``diffie-hellman-group18-sha512`` (RFC 8268)."""

    name = b"diffie-hellman-group18-sha512"
    hashFunc = hashlib.sha512
    prime = _MODP_8192
    exponentBits = 1024


#: The groups a group exchange server offers, by size in bits (RFC 3526, generator 2).
GEX_GROUPS: dict[int, int] = {
    2048: _MODP_2048,
    3072: _MODP_3072,
    4096: _MODP_4096,
    6144: _MODP_6144,
    8192: _MODP_8192,
}


#: Groups by size in bits, each a list of ``(generator, prime)`` (Twisted's ``getPrimes`` shape).
Groups = dict[int, list[tuple[int, int]]]


def chooseGroup(
    minBits: int, preferredBits: int, maxBits: int, groups: Groups | None = None
) -> tuple[int, int] | None:
    """
    The ``(generator, prime)`` for a client's bounds: of the smallest size at least
    ``preferredBits``, else of the largest below it, among the sizes within
    ``[minBits, maxBits]`` (a random one when a size has several); ``None`` when none fits.

    :param groups: the groups to choose from; RFC 3526's (:data:`GEX_GROUPS`) by default.
    """
    if groups is None:
        groups = {bits: [(2, prime)] for bits, prime in GEX_GROUPS.items()}
    fitting = sorted(bits for bits, found in groups.items() if found and minBits <= bits <= maxBits)
    if not fitting:
        return None
    bigEnough = [bits for bits in fitting if bits >= preferredBits]
    bits = bigEnough[0] if bigEnough else fitting[-1]
    return secrets.choice(groups[bits])


class DHGroupExchangeSHA256(_DH):
    """
    ``diffie-hellman-group-exchange-sha256`` (RFC 4419): the client asks for a group size
    within bounds, the server sends a group, then Diffie-Hellman runs in it.

    The group is only set once :meth:`request` then :meth:`readGroup` (client) or
    :meth:`readRequest` (server) ran; until then :attr:`localField` is empty.
    """

    name = b"diffie-hellman-group-exchange-sha256"
    hashFunc = hashlib.sha256
    exponentBits = 512

    def __init__(self) -> None:
        KexMethod.__init__(self)
        self.prime = 0
        self._bounds = b""

    def request(self, minBits: int, preferredBits: int, maxBits: int) -> bytes:
        """Client: the body of KEX_DH_GEX_REQUEST."""
        self._minBits, self._maxBits = minBits, maxBits
        self._bounds = uint32(minBits) + uint32(preferredBits) + uint32(maxBits)
        return self._bounds

    def readGroup(self, reader: Reader) -> None:
        """
        Client: take the server's KEX_DH_GEX_GROUP.

        :raises SSHProtocolError: a group outside the requested bounds or a bad generator.
        """
        if self.prime or not self._bounds:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected group")
        prime = reader.mpint()
        generator = reader.mpint()
        reader.done()
        if not self._minBits <= prime.bit_length() <= self._maxBits or prime % 2 == 0:
            raise _failed("group size outside the requested bounds")
        if not 1 < generator < prime - 1:
            raise _failed("bad group generator")
        self._setGroup(prime, generator)

    def readRequest(
        self, reader: Reader, minBits: int, maxBits: int, groups: Groups | None = None
    ) -> bytes:
        """
        Server: read KEX_DH_GEX_REQUEST and pick a group within both sides' bounds.

        :param minBits: the smallest group this server offers.
        :param maxBits: the largest group this server offers.
        :param groups: the groups offered (see :func:`chooseGroup`).
        :return: the body of KEX_DH_GEX_GROUP.
        :raises SSHProtocolError: malformed or inconsistent bounds, or no group fits them.
        """
        if self._bounds:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected group request")
        clientMin, preferred, clientMax = reader.uint32(), reader.uint32(), reader.uint32()
        reader.done()
        if not clientMin <= preferred <= clientMax:
            raise _failed("inconsistent group size bounds")
        self._bounds = uint32(clientMin) + uint32(preferred) + uint32(clientMax)
        chosen = chooseGroup(max(clientMin, minBits), preferred, min(clientMax, maxBits), groups)
        if chosen is None:
            raise _failed("no group within the requested bounds")
        generator, prime = chosen
        self._setGroup(prime, generator)
        return mpint(prime) + mpint(generator)

    def _setGroup(self, prime: int, generator: int) -> None:
        self.prime = prime
        self.generator = generator
        self.hashPrefix = self._bounds + mpint(prime) + mpint(generator)
        self._makeExponent()

    def readPeer(self, reader: Reader) -> tuple[bytes, bytes]:
        if not self.prime:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "key exchange message out of order")
        return super().readPeer(reader)


#: Every key exchange method by name; ``curve25519-sha256@libssh.org`` is the older alias of
#: ``curve25519-sha256``, ``sntrup761x25519-sha512`` the newer name (OpenSSH 9.9) of
#: ``sntrup761x25519-sha512@openssh.com``. ``mlkem768x25519-sha256`` only where
#: ``cryptography`` has ML-KEM (:data:`._mlkem.AVAILABLE`).
KEX_METHODS: dict[bytes, type[KexMethod]] = {
    b"sntrup761x25519-sha512@openssh.com": Sntrup761X25519,
    b"sntrup761x25519-sha512": Sntrup761X25519,
    b"curve25519-sha256": Curve25519,
    b"curve25519-sha256@libssh.org": Curve25519,
    b"ecdh-sha2-nistp256": ECDHNistP256,
    b"ecdh-sha2-nistp384": ECDHNistP384,
    b"ecdh-sha2-nistp521": ECDHNistP521,
    b"diffie-hellman-group14-sha256": DHGroup14SHA256,
    b"diffie-hellman-group16-sha512": DHGroup16SHA512,
    b"diffie-hellman-group18-sha512": DHGroup18SHA512,
    b"diffie-hellman-group-exchange-sha256": DHGroupExchangeSHA256,
}
if _mlkem.AVAILABLE:
    KEX_METHODS[MLKEM768X25519.name] = MLKEM768X25519


def deriveKey(
    hashFunc: HashFunc,
    secret: bytes,
    exchangeHash: bytes,
    letter: bytes,
    sessionID: bytes,
    size: int,
) -> bytes:
    """
    Derive ``size`` bytes of key material (RFC 4253 section 7.2).

    :param secret: ``K`` as encoded on the wire (see :meth:`KexMethod.readPeer`).
    :param letter: ``b"A"`` to ``b"F"``.
    """
    k = secret
    out = hashFunc(k + exchangeHash + letter + sessionID).digest()
    while len(out) < size:
        out += hashFunc(k + exchangeHash + out).digest()
    return bytes(out[:size])
