"""
Streamlined NTRU Prime ``sntrup761``, the post-quantum key encapsulation (KEM) half of
``sntrup761x25519-sha512@openssh.com``, in pure Python.

Written from the NTRU Prime round 3 specification (parameters ``p = 761``, ``q = 4591``,
``w = 286``): polynomials live in ``R/q = Z/q[x]/(x^p - x - 1)`` and ``R/3``; a public key is
``h = g / (3f)``, a ciphertext is ``Round(h * r)`` plus a confirmation hash, and decapsulation
recomputes the ciphertext so that a forged one yields an unrelated (implicitly rejected) key.
Byte encodings and hashes are those of the reference implementation (and of OpenSSH), so keys
and ciphertexts interoperate.

Polynomial products use Kronecker substitution: the coefficients are packed into 64-bit
fields of one Python integer, the integers are multiplied (CPython's Karatsuba), and the
fields are unpacked through :mod:`array`. Inversion (key generation only) is an extended
Euclidean algorithm over coefficient lists.

Measured on one core of the CI machine (shared, so indicative): key generation (both
inversions) about 60-90 ms, encapsulation about 1 ms, decapsulation about 2 ms. The server
side of the SSH exchange only encapsulates, so offering the method costs a server little;
the client pays for a key generation per connection.

Python integers are not constant time, so unlike the reference this code does not hide
secret-dependent timing; the exchange's ephemeral keys are used once, which limits what a
timing observer can learn.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from array import array
from collections.abc import Callable, Sequence

P = 761
Q = 4591
W = 286
_Q12 = (Q - 1) // 2
_ROUNDED_RANGE = (Q + 2) // 3

#: Sizes of the encoded objects, in bytes.
SMALL_SIZE = (P + 3) // 4
PUBLIC_KEY_SIZE = 1158
ROUNDED_SIZE = 1007
CIPHERTEXT_SIZE = ROUNDED_SIZE + 32
SECRET_KEY_SIZE = 2 * SMALL_SIZE + PUBLIC_KEY_SIZE + SMALL_SIZE + 32
SHARED_KEY_SIZE = 32

RandomBytes = Callable[[int], bytes]

_SLOT = 64
_LOW_MASK = (1 << (_SLOT * P)) - 1
_BIG_ENDIAN = sys.byteorder == "big"


class SntrupError(ValueError):
    """A key or ciphertext of the wrong size (the contents of any right-sized one decode)."""


# ---------------------------------------------------------------------- arithmetic


def _pack(coefficients: Sequence[int]) -> int:
    """Coefficients (each ``0 <= c < 2**64``) as one integer, 64 bits per coefficient."""
    packed = array("Q", coefficients)
    if _BIG_ENDIAN:  # pragma: no cover - the CI machines are little-endian
        packed.byteswap()
    return int.from_bytes(packed.tobytes(), "little")


def _unpack(value: int, count: int) -> array[int]:
    fields = array("Q")
    fields.frombytes(value.to_bytes(count * 8, "little"))
    if _BIG_ENDIAN:  # pragma: no cover
        fields.byteswap()
    return fields


def _multiply(a: int, b: int, modulus: int) -> list[int]:
    """
    The product of two packed polynomials (coefficients in ``[0, modulus)``) modulo
    ``x^p - x - 1`` and ``modulus``.

    With ``modulus <= q`` a product coefficient is below ``p * q**2 < 2**34``, and the
    reduction (``x^p = x + 1``) adds at most two more, so the 64-bit fields never carry.
    """
    product = a * b
    high = product >> (_SLOT * P)
    folded = (product & _LOW_MASK) + high + (high << _SLOT)
    return [c % modulus for c in _unpack(folded, P)]


def _trim(poly: list[int]) -> list[int]:
    while poly and poly[-1] == 0:
        poly.pop()
    return poly


def _invert(a: Sequence[int], modulus: int) -> list[int] | None:
    """
    The inverse of ``a`` modulo ``x^p - x - 1`` and the prime ``modulus`` by the extended
    Euclidean algorithm, or ``None`` when there is none (possible modulo 3 only: the
    polynomial is irreducible modulo ``q``).
    """
    m = modulus
    r0 = [m - 1, m - 1] + [0] * (P - 2) + [1]
    r1 = _trim([c % m for c in a])
    t0: list[int] = []
    t1 = [1]
    while len(r1) > 1:
        inverse = pow(r1[-1], -1, m)
        size = len(r1)
        quotient = [0] * (len(r0) - size + 1)
        while len(r0) >= size:
            k = len(r0) - size
            c = r0[-1] * inverse % m
            quotient[k] = c
            r0[k:] = [(x - c * y) % m for x, y in zip(r0[k:], r1, strict=True)]
            _trim(r0)
        newT = t0 + [0] * max(0, len(quotient) + len(t1) - 1 - len(t0))
        for k, c in enumerate(quotient):
            if c:
                end = k + len(t1)
                newT[k:end] = [(x - c * y) % m for x, y in zip(newT[k:end], t1, strict=True)]
        r0, r1 = r1, r0
        t0, t1 = t1, _trim(newT)
    if not r1:
        return None
    scale = pow(r1[0], -1, m)
    result = [c * scale % m for c in t1]
    return result + [0] * (P - len(result))


def _centered(value: int) -> int:
    """A residue modulo ``q`` as its representative in ``[-(q-1)/2, (q-1)/2]``."""
    return value - Q if value > _Q12 else value


def _mod3(value: int) -> int:
    """An integer's residue modulo 3 as -1, 0 or 1."""
    return (value + 1) % 3 - 1


# ---------------------------------------------------------------------- encodings


def _encode(values: list[int], ranges: list[int]) -> bytes:
    """
    The reference's mixed-radix encoding of ``values[i] < ranges[i]``: pairs are merged into
    one number, whose low bytes are written while its range is at least ``2**14``, then the
    halved list is encoded the same way.
    """
    out = bytearray()
    while len(values) > 1:
        merged: list[int] = []
        mergedRanges: list[int] = []
        for i in range(0, len(values) - 1, 2):
            r = values[i] + values[i + 1] * ranges[i]
            m = ranges[i] * ranges[i + 1]
            while m >= 16384:
                out.append(r & 0xFF)
                r >>= 8
                m = (m + 255) >> 8
            merged.append(r)
            mergedRanges.append(m)
        if len(values) % 2:
            merged.append(values[-1])
            mergedRanges.append(ranges[-1])
        values, ranges = merged, mergedRanges
    r, m = values[0], ranges[0]
    while m > 1:
        out.append(r & 0xFF)
        r >>= 8
        m = (m + 255) >> 8
    return bytes(out)


def _decode(data: bytes, ranges: list[int]) -> list[int]:
    """Invert :func:`_encode`; any input of the right size decodes to values in range."""
    levels: list[tuple[list[int], list[int], list[int]]] = []
    offset = 0
    while len(ranges) > 1:
        bottomValues: list[int] = []
        bottomScales: list[int] = []
        nextRanges: list[int] = []
        for i in range(0, len(ranges) - 1, 2):
            m = ranges[i] * ranges[i + 1]
            if m > 256 * 16383:
                bottomValues.append(data[offset] + 256 * data[offset + 1])
                bottomScales.append(65536)
                offset += 2
                nextRanges.append((((m + 255) >> 8) + 255) >> 8)
            elif m >= 16384:
                bottomValues.append(data[offset])
                bottomScales.append(256)
                offset += 1
                nextRanges.append((m + 255) >> 8)
            else:
                bottomValues.append(0)
                bottomScales.append(1)
                nextRanges.append(m)
        if len(ranges) % 2:
            nextRanges.append(ranges[-1])
        levels.append((ranges, bottomValues, bottomScales))
        ranges = nextRanges
    m = ranges[0]
    if m == 1:
        values = [0]
    elif m <= 256:
        values = [data[offset] % m]
    else:
        values = [(data[offset] + (data[offset + 1] << 8)) % m]
    for levelRanges, bottomValues, bottomScales in reversed(levels):
        expanded: list[int] = []
        for j in range(len(bottomValues)):
            r = bottomValues[j] + bottomScales[j] * values[j]
            high, low = divmod(r, levelRanges[2 * j])
            expanded.append(low)
            expanded.append(high % levelRanges[2 * j + 1])
        if len(levelRanges) % 2:
            expanded.append(values[-1])
        values = expanded
    return values


def _encodeSmall(poly: Sequence[int]) -> bytes:
    """Coefficients -1, 0, 1 as two bits each (value + 1), four to a byte."""
    out = bytearray()
    for i in range(0, P - 1, 4):
        out.append(
            (poly[i] + 1)
            | ((poly[i + 1] + 1) << 2)
            | ((poly[i + 2] + 1) << 4)
            | ((poly[i + 3] + 1) << 6)
        )
    out.append(poly[P - 1] + 1)
    return bytes(out)


def _decodeSmall(data: bytes) -> list[int]:
    poly: list[int] = []
    for byte in data[: P // 4]:
        poly += [(byte & 3) - 1, ((byte >> 2) & 3) - 1, ((byte >> 4) & 3) - 1, (byte >> 6) - 1]
    poly.append((data[P // 4] & 3) - 1)
    return poly


_Q_RANGES = [Q] * P
_ROUNDED_RANGES = [_ROUNDED_RANGE] * P


def _encodeRq(poly: Sequence[int]) -> bytes:
    """A polynomial modulo ``q`` (coefficients in ``[0, q)``)."""
    return _encode([(c + _Q12) % Q for c in poly], _Q_RANGES)


def _decodeRq(data: bytes) -> list[int]:
    return [(c - _Q12) % Q for c in _decode(data, _Q_RANGES)]


def _encodeRounded(poly: Sequence[int]) -> bytes:
    """A polynomial whose centered coefficients are multiples of 3."""
    return _encode([(_centered(c) + _Q12) // 3 for c in poly], _ROUNDED_RANGES)


def _decodeRounded(data: bytes) -> list[int]:
    return [(3 * c - _Q12) % Q for c in _decode(data, _ROUNDED_RANGES)]


# ---------------------------------------------------------------------- randomness


def _random32(randomBytes: RandomBytes, count: int) -> list[int]:
    data = randomBytes(4 * count)
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, 4 * count, 4)]


def _randomSmall(randomBytes: RandomBytes) -> list[int]:
    """Uniform coefficients -1, 0, 1 (as the reference draws them)."""
    return [(((x & 0x3FFFFFFF) * 3) >> 30) - 1 for x in _random32(randomBytes, P)]


def _randomShort(randomBytes: RandomBytes) -> list[int]:
    """
    A random polynomial with exactly ``w`` coefficients of -1 or 1: ``w`` tagged non-zero
    values and ``p - w`` tagged zeros, sorted by random 30-bit keys (the reference's way).
    """
    words = _random32(randomBytes, P)
    tagged = [x & 0xFFFFFFFE for x in words[:W]] + [(x & 0xFFFFFFFD) | 1 for x in words[W:]]
    tagged.sort()
    return [(x & 3) - 1 for x in tagged]


# ---------------------------------------------------------------------- hashing


def _hash(prefix: int, data: bytes) -> bytes:
    return hashlib.sha512(bytes((prefix,)) + data).digest()[:32]


def _confirm(encodedR: bytes, cache: bytes) -> bytes:
    return _hash(2, _hash(3, encodedR) + cache)


def _session(prefix: int, encodedR: bytes, ciphertext: bytes) -> bytes:
    return _hash(prefix, _hash(3, encodedR) + ciphertext)


# ---------------------------------------------------------------------- the KEM


def _asModQ(small: Sequence[int]) -> int:
    return _pack([c % Q for c in small])


def _hide(r: list[int], publicKey: bytes, cache: bytes) -> tuple[bytes, bytes]:
    """The ciphertext for ``r`` and ``r``'s encoding."""
    h = _decodeRq(publicKey)
    hr = _multiply(_pack(h), _asModQ(r), Q)
    rounded = [(c - _mod3(_centered(c))) % Q for c in hr]
    encodedR = _encodeSmall(r)
    return _encodeRounded(rounded) + _confirm(encodedR, cache), encodedR


def generateKeyPair(randomBytes: RandomBytes = os.urandom) -> tuple[bytes, bytes]:
    """
    Make a key pair.

    :param randomBytes: the source of randomness (``os.urandom``; tests pass a
        deterministic one).
    :return: the public key (:data:`PUBLIC_KEY_SIZE` bytes) and the secret key
        (:data:`SECRET_KEY_SIZE` bytes, laid out as the reference's).
    """
    while True:
        g = _randomSmall(randomBytes)
        gInverse = _invert(g, 3)
        if gInverse is not None:
            break
    f = _randomShort(randomBytes)
    threeFInverse = _invert([3 * c for c in f], Q)
    assert threeFInverse is not None  # x^p - x - 1 is irreducible modulo q
    h = _multiply(_pack(threeFInverse), _asModQ(g), Q)
    publicKey = _encodeRq(h)
    gInverseSmall = [c - 3 if c == 2 else c for c in gInverse]
    secretKey = (
        _encodeSmall(f)
        + _encodeSmall(gInverseSmall)
        + publicKey
        + randomBytes(SMALL_SIZE)
        + _hash(4, publicKey)
    )
    return publicKey, secretKey


def encapsulate(publicKey: bytes, randomBytes: RandomBytes = os.urandom) -> tuple[bytes, bytes]:
    """
    Make a shared key and the ciphertext that carries it to ``publicKey``'s holder.

    :return: the ciphertext (:data:`CIPHERTEXT_SIZE` bytes) and the shared key (32 bytes).
    :raises SntrupError: the public key has the wrong size.
    """
    if len(publicKey) != PUBLIC_KEY_SIZE:
        raise SntrupError("sntrup761 public key of the wrong size")
    r = _randomShort(randomBytes)
    ciphertext, encodedR = _hide(r, publicKey, _hash(4, publicKey))
    return ciphertext, _session(1, encodedR, ciphertext)


def decapsulate(ciphertext: bytes, secretKey: bytes) -> bytes:
    """
    The shared key a ciphertext carries. A ciphertext that was not made by
    :func:`encapsulate` for this key gives a pseudo-random key derived from the secret
    (implicit rejection), so the exchange fails later, at the signature check.

    :raises SntrupError: the ciphertext or the secret key has the wrong size.
    """
    if len(ciphertext) != CIPHERTEXT_SIZE:
        raise SntrupError("sntrup761 ciphertext of the wrong size")
    if len(secretKey) != SECRET_KEY_SIZE:
        raise SntrupError("sntrup761 secret key of the wrong size")
    f = _decodeSmall(secretKey[:SMALL_SIZE])
    gInverse = _decodeSmall(secretKey[SMALL_SIZE : 2 * SMALL_SIZE])
    publicKey = secretKey[2 * SMALL_SIZE : 2 * SMALL_SIZE + PUBLIC_KEY_SIZE]
    rho = secretKey[2 * SMALL_SIZE + PUBLIC_KEY_SIZE : -32]
    cache = secretKey[-32:]

    c = _decodeRounded(ciphertext[:ROUNDED_SIZE])
    cf = _multiply(_pack(c), _asModQ(f), Q)
    e = [_mod3(_centered(3 * x % Q)) % 3 for x in cf]
    ev = _multiply(_pack(e), _pack([x % 3 for x in gInverse]), 3)
    r = [x - 3 if x == 2 else x for x in ev]
    if sum(1 for x in r if x) != W:
        r = [1] * W + [0] * (P - W)
    expected, encodedR = _hide(r, publicKey, cache)
    if hmac.compare_digest(expected, ciphertext):
        return _session(1, encodedR, ciphertext)
    return _session(0, rho, ciphertext)
