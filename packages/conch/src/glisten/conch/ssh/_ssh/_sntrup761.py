"""
Streamlined NTRU Prime ``sntrup761``, the post-quantum key encapsulation (KEM) half of
``sntrup761x25519-sha512@openssh.com``, in pure Python.

Written from the NTRU Prime round 3 specification (parameters ``p = 761``, ``q = 4591``,
``w = 286``): polynomials live in ``R/q = Z/q[x]/(x^p - x - 1)`` and ``R/3``; a public key is
``h = g / (3f)``, a ciphertext is ``Round(h * r)`` plus a confirmation hash, and decapsulation
recomputes the ciphertext so that a forged one yields an unrelated (implicitly rejected) key.
Byte encodings and hashes are those of the reference implementation (and of OpenSSH), so keys
and ciphertexts interoperate.

Polynomial products use Kronecker substitution: the coefficients are packed into 16- or 32-bit
fields of one Python integer, the integers are multiplied (CPython's Karatsuba), and the
fields are unpacked through :mod:`array`. Inversion (key generation only) is an extended
Euclidean algorithm over coefficient lists.

Measured in CPU time on the (shared) development machine: key generation about 70 ms
(inverting ``3f`` modulo ``q`` is most of it; the inverse modulo 3 is bit-sliced and takes a
few milliseconds), encapsulation about 1.5 ms, decapsulation about 3.5 ms. An in-memory SSH
handshake takes about 75 ms with it against 0.6 ms with curve25519. The server side of the
exchange only encapsulates, so offering the method costs a server about 2 ms a connection
(measured with OpenSSH 9.2's ``ssh`` as the client: 8-9 ms of server CPU a login against 7
with curve25519, while ``ssh`` spent 70-150 ms on its own C key generation); a client pays
for a key generation per connection.

Python integers are not constant time, so unlike the reference this code does not hide
secret-dependent timing; the exchange's ephemeral keys are used once, which limits what a
timing observer can learn.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
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

_BIG_ENDIAN = sys.byteorder == "big"


class SntrupError(ValueError):
    """A key or ciphertext of the wrong size (the contents of any right-sized one decode)."""


# ---------------------------------------------------------------------- arithmetic


def _typecode(size: int) -> str:
    return next(code for code in "HILQ" if array(code).itemsize == size)


class _Slots:
    """
    Kronecker substitution with signed coefficients in ``bits``-bit fields: a polynomial
    ``sum c_i x^i`` is the integer ``sum c_i 2^(bits*i)``, so one integer product multiplies
    two polynomials as long as every product coefficient stays within the field's signed
    range. Unpacking adds half the field to each coefficient so that the fields are the
    integer's plain base-``2^bits`` digits, which :mod:`array` splits at C speed.
    """

    __slots__ = ("bits", "half", "lowMask", "offset", "typecode")

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.typecode = _typecode(bits // 8)
        self.half = 1 << (bits - 1)
        self.lowMask = (1 << (bits * P)) - 1
        self.offset = self.half * (self.lowMask // ((1 << bits) - 1))

    def pack(self, coefficients: Sequence[int]) -> int:
        """Coefficients with ``|c| < 2**(bits-1)``, low degree first."""
        fields = array(self.typecode, [c + self.half for c in coefficients])
        if _BIG_ENDIAN:  # pragma: no cover - the CI machines are little-endian
            fields.byteswap()
        return int.from_bytes(fields.tobytes(), "little") - self.offset

    def multiply(self, a: int, b: int) -> array[int]:
        """
        The product of two packed polynomials modulo ``x^p - x - 1``, as fields that still
        hold the coefficients plus half the field.
        """
        shift = self.bits * P
        product = a * b
        low = product & self.lowMask
        if low >> (shift - 1):
            low -= 1 << shift
        high = (product - low) >> shift
        # x^p = x + 1: the high half is added at degrees 0 and 1 up.
        folded = low + high + (high << self.bits) + self.offset
        fields = array(self.typecode)
        fields.frombytes(folded.to_bytes(shift // 8, "little"))
        if _BIG_ENDIAN:  # pragma: no cover
            fields.byteswap()
        return fields


# A product of a polynomial modulo q (centered, |c| <= 2295) and a small one (|c| <= 1) has
# coefficients below 761 * 2295, three times that after the reduction: 32-bit fields. Two
# small polynomials (modulo 3) need 16 bits.
_WIDE = _Slots(32)
_NARROW = _Slots(16)


def _multiplyModQ(a: Sequence[int], small: Sequence[int]) -> list[int]:
    """``a * small`` modulo ``x^p - x - 1`` and ``q`` (``a`` in ``[0, q)``, ``small`` in
    -1, 0, 1), in ``[0, q)``."""
    half = _WIDE.half
    fields = _WIDE.multiply(_WIDE.pack([_centered(c) for c in a]), _WIDE.pack(small))
    return [(c - half) % Q for c in fields]


def _multiplyMod3(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """``a * b`` modulo ``x^p - x - 1`` and 3, for coefficients -1, 0, 1; same range out."""
    half = _NARROW.half
    fields = _NARROW.multiply(_NARROW.pack(a), _NARROW.pack(b))
    return [(c - half + 1) % 3 - 1 for c in fields]


def _trim(poly: list[int]) -> list[int]:
    while poly and poly[-1] == 0:
        poly.pop()
    return poly


def _invertModQ(a: Sequence[int]) -> list[int]:
    """
    The inverse of ``a`` (not zero) modulo ``x^p - x - 1`` and ``q`` by the extended
    Euclidean algorithm; it exists because that polynomial is irreducible modulo ``q``.

    Each division's quotient is worked out on the leading coefficients first; the usual
    one, of degree 1, is then applied to the remainder and to the Bezout coefficient in one
    pass each.
    """
    m = Q
    r0 = [m - 1, m - 1] + [0] * (P - 2) + [1]
    r1 = _trim([c % m for c in a])
    t0: list[int] = []
    t1 = [1]
    while len(r1) > 1:
        inverse = pow(r1[-1], -1, m)
        if len(r0) - len(r1) == 1:
            c1 = r0[-1] * inverse % m
            c0 = (r0[-2] - c1 * r1[-2]) * inverse % m
            # r0 - (c1 x + c0) r1, whose top two coefficients vanish.
            shifted = [0, *r1]
            r0 = _trim(
                [
                    (x - c1 * y1 - c0 * y0) % m
                    for x, y1, y0 in zip(r0[:-2], shifted, r1, strict=False)
                ]
            )
            tx = [0, *t1]
            width = max(len(t0), len(tx))
            t0 = t0 + [0] * (width - len(t0))
            t1Padded = t1 + [0] * (width - len(t1))
            tx += [0] * (width - len(tx))
            newT = [(x - c1 * y1 - c0 * y0) % m for x, y1, y0 in zip(t0, tx, t1Padded, strict=True)]
        else:
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
    scale = pow(r1[0], -1, m)
    result = [c * scale % m for c in t1]
    return result + [0] * (P - len(result))


# Polynomials modulo 3, bit-sliced: a pair of integers whose bit i says the coefficient of
# x^i is 1 (first) or -1 (second). Sums are a handful of bitwise operations on ~761 bits.
_F3 = tuple[int, int]


def _add3(a: _F3, b: _F3) -> _F3:
    ap, am = a
    bp, bm = b
    aZero = ~(ap | am)
    bZero = ~(bp | bm)
    return (ap & bZero) | (bp & aZero) | (am & bm), (am & bZero) | (bm & aZero) | (ap & bp)


def _invertMod3(a: Sequence[int]) -> list[int] | None:
    """
    The inverse of ``a`` (coefficients -1, 0, 1) modulo ``x^p - x - 1`` and 3 by the
    extended Euclidean algorithm on bit-sliced polynomials, or ``None`` when there is none.
    Every non-zero coefficient is its own inverse modulo 3.
    """
    r0: _F3 = (1 << P, 0b11)  # x^p - x - 1
    r1: _F3 = (
        sum(1 << i for i, c in enumerate(a) if c == 1),
        sum(1 << i for i, c in enumerate(a) if c == -1),
    )
    t0: _F3 = (0, 0)
    t1: _F3 = (1, 0)
    while True:
        degree1 = (r1[0] | r1[1]).bit_length() - 1
        if degree1 <= 0:
            break
        negative1 = not (r1[0] >> degree1) & 1
        while True:
            degree0 = (r0[0] | r0[1]).bit_length() - 1
            if degree0 < degree1:
                break
            k = degree0 - degree1
            # Subtract c x^k r1 with c = lead(r0) / lead(r1): add it negated.
            negate = bool((r0[0] >> degree0) & 1) != negative1
            plus, minus = (r1[1], r1[0]) if negate else r1
            r0 = _add3(r0, (plus << k, minus << k))
            plus, minus = (t1[1], t1[0]) if negate else t1
            t0 = _add3(t0, (plus << k, minus << k))
        r0, r1 = r1, r0
        t0, t1 = t1, t0
    if degree1 < 0:
        return None
    plus, minus = t1 if r1[0] else (t1[1], t1[0])
    return [((plus >> i) & 1) - ((minus >> i) & 1) for i in range(P)]


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


def _random32(randomBytes: RandomBytes, count: int) -> tuple[int, ...]:
    """``count`` random 32-bit numbers (little-endian words of ``randomBytes``)."""
    return struct.unpack(f"<{count}I", randomBytes(4 * count))


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


def _hide(r: list[int], publicKey: bytes, cache: bytes) -> tuple[bytes, bytes]:
    """The ciphertext for ``r`` and ``r``'s encoding."""
    h = _decodeRq(publicKey)
    hr = _multiplyModQ(h, r)
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
        gInverse = _invertMod3(g)
        if gInverse is not None:
            break
    f = _randomShort(randomBytes)
    h = _multiplyModQ(_invertModQ([3 * c for c in f]), g)
    publicKey = _encodeRq(h)
    secretKey = (
        _encodeSmall(f)
        + _encodeSmall(gInverse)
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
    cf = _multiplyModQ(c, f)
    e = [_mod3(_centered(3 * x % Q)) for x in cf]
    r = _multiplyMod3(e, gInverse)
    if sum(1 for x in r if x) != W:
        r = [1] * W + [0] * (P - W)
    expected, encodedR = _hide(r, publicKey, cache)
    if hmac.compare_digest(expected, ciphertext):
        return _session(1, encodedR, ciphertext)
    return _session(0, rho, ciphertext)
