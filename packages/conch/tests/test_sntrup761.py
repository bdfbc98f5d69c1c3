"""
Streamlined NTRU Prime 761 and the ``sntrup761x25519-sha512@openssh.com`` key exchange.

The independent known answers are the handshakes against OpenSSH 9.2 in both directions
(``tests/conch/test_openssh_client.py`` and ``test_openssh_server.py``); these tests check the
arithmetic against schoolbook definitions, the encodings, implicit rejection and sizes.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh import _sntrup761 as sntrup
from glisten.conch.ssh._ssh._kex import KEX_METHODS, Sntrup761X25519
from glisten.conch.ssh._ssh._limits import DEFAULT_KEX, Algorithms

from ._pairs import machines, pump

P, Q = sntrup.P, sntrup.Q
smallPolys = st.lists(st.sampled_from([-1, 0, 1]), min_size=P, max_size=P)
qPolys = st.lists(st.integers(0, Q - 1), min_size=P, max_size=P)


def _schoolbook(a: list[int], b: list[int], modulus: int) -> list[int]:
    """``a * b`` modulo ``x^p - x - 1`` and ``modulus``, the slow way."""
    product = [0] * (2 * P - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                product[i + j] += x * y
    for i in range(2 * P - 2, P - 1, -1):
        product[i - P] += product[i]
        product[i - P + 1] += product[i]
    return [c % modulus for c in product[:P]]


def _seeded(seed: int) -> sntrup.RandomBytes:
    generator = random.Random(seed)
    return generator.randbytes


_one = [1] + [0] * (P - 1)


def test_sizes() -> None:
    assert sntrup.PUBLIC_KEY_SIZE == 1158
    assert sntrup.CIPHERTEXT_SIZE == 1039
    assert sntrup.SECRET_KEY_SIZE == 1763
    publicKey, secretKey = sntrup.generateKeyPair()
    assert len(publicKey) == sntrup.PUBLIC_KEY_SIZE
    assert len(secretKey) == sntrup.SECRET_KEY_SIZE
    ciphertext, key = sntrup.encapsulate(publicKey)
    assert len(ciphertext) == sntrup.CIPHERTEXT_SIZE
    assert len(key) == sntrup.SHARED_KEY_SIZE


def test_roundTrips() -> None:
    for seed in range(3):
        publicKey, secretKey = sntrup.generateKeyPair(_seeded(seed))
        for _ in range(3):
            ciphertext, key = sntrup.encapsulate(publicKey)
            assert sntrup.decapsulate(ciphertext, secretKey) == key


def test_deterministicWithTheSameRandomness() -> None:
    """
    With a given random source the results are fixed (a regression check of our own output;
    OpenSSH is the independent check).
    """
    publicKey, secretKey = sntrup.generateKeyPair(_seeded(1))
    assert (publicKey, secretKey) == sntrup.generateKeyPair(_seeded(1))
    ciphertext, key = sntrup.encapsulate(publicKey, _seeded(2))
    assert (ciphertext, key) == sntrup.encapsulate(publicKey, _seeded(2))
    assert sntrup.decapsulate(ciphertext, secretKey) == key
    # The secret key holds the public key and the hash of it, as the reference lays it out.
    assert secretKey[382 : 382 + 1158] == publicKey
    assert secretKey[-32:] == hashlib.sha512(b"\x04" + publicKey).digest()[:32]


@pytest.mark.parametrize("position", [0, 500, 1006, 1007, 1038])
def test_implicitRejection(position: int) -> None:
    """
    A changed ciphertext (in the rounded polynomial or the confirmation hash) gives the
    key derived from the secret ``rho`` instead of an error, as the reference does.
    """
    publicKey, secretKey = sntrup.generateKeyPair(_seeded(3))
    ciphertext, key = sntrup.encapsulate(publicKey, _seeded(4))
    tampered = bytearray(ciphertext)
    tampered[position] ^= 0x01
    rejected = sntrup.decapsulate(bytes(tampered), secretKey)
    assert rejected != key
    rho = secretKey[382 + 1158 : -32]
    assert rejected == sntrup._session(0, rho, bytes(tampered))


@pytest.mark.parametrize("size", [0, 1157, 1159, 1190])
def test_publicKeyOfTheWrongSize(size: int) -> None:
    with pytest.raises(sntrup.SntrupError):
        sntrup.encapsulate(b"\x00" * size)


@pytest.mark.parametrize("size", [0, 1038, 1040, 1071])
def test_ciphertextOfTheWrongSize(size: int) -> None:
    _, secretKey = sntrup.generateKeyPair(_seeded(5))
    with pytest.raises(sntrup.SntrupError):
        sntrup.decapsulate(b"\x00" * size, secretKey)
    with pytest.raises(sntrup.SntrupError):
        sntrup.decapsulate(b"\x00" * sntrup.CIPHERTEXT_SIZE, secretKey[:-1])


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=1039, max_size=1039))
def test_anyCiphertextDecapsulates(ciphertext: bytes) -> None:
    """Random ciphertexts of the right size decode and are rejected implicitly."""
    _, secretKey = _fixedKeys()
    assert len(sntrup.decapsulate(ciphertext, secretKey)) == 32


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=1158, max_size=1158))
def test_anyPublicKeyEncapsulates(publicKey: bytes) -> None:
    ciphertext, key = sntrup.encapsulate(publicKey)
    assert len(ciphertext) == 1039 and len(key) == 32


_keys: list[tuple[bytes, bytes]] = []


def _fixedKeys() -> tuple[bytes, bytes]:
    if not _keys:
        _keys.append(sntrup.generateKeyPair(_seeded(6)))
    return _keys[0]


@settings(max_examples=20, deadline=None)
@given(qPolys, smallPolys)
def test_multiplyModQ(a: list[int], b: list[int]) -> None:
    assert sntrup._multiplyModQ(a, b) == _schoolbook(a, b, Q)


@settings(max_examples=20, deadline=None)
@given(smallPolys, smallPolys)
def test_multiplyMod3(a: list[int], b: list[int]) -> None:
    expected = [c - 3 if c == 2 else c for c in _schoolbook(a, b, 3)]
    assert sntrup._multiplyMod3(a, b) == expected


def test_extremeCoefficientsDoNotOverflow() -> None:
    """The largest products fit their fields: all -(q-1)/2 times all -1, all 1s modulo 3."""
    a = [(Q + 1) // 2] * P  # -2295 centered
    assert sntrup._multiplyModQ(a, [-1] * P) == _schoolbook(a, [Q - 1] * P, Q)
    expected = [c - 3 if c == 2 else c for c in _schoolbook([1] * P, [1] * P, 3)]
    assert sntrup._multiplyMod3([1] * P, [1] * P) == expected
    expected = [c - 3 if c == 2 else c for c in _schoolbook([2] * P, [2] * P, 3)]
    assert sntrup._multiplyMod3([-1] * P, [-1] * P) == expected


@pytest.mark.parametrize("seed", range(4))
def test_inverses(seed: int) -> None:
    randomBytes = _seeded(seed + 100)
    f = sntrup._randomShort(randomBytes)
    threeF = [3 * c % Q for c in f]
    assert _schoolbook(threeF, sntrup._invertModQ(threeF), Q) == _one
    g = sntrup._randomSmall(randomBytes)
    inverse = sntrup._invertMod3(g)
    if inverse is not None:
        assert sntrup._multiplyMod3(g, inverse) == _one


def test_invertMod3Edges() -> None:
    assert sntrup._invertMod3([0] * P) is None
    assert sntrup._invertMod3(_one) == _one
    minusOne = [-1] + [0] * (P - 1)
    assert sntrup._invertMod3(minusOne) == minusOne
    # x * x^-1 = 1, and x^-1 = x^(p-1) - 1 since x^p = x + 1.
    x = [0, 1] + [0] * (P - 2)
    assert sntrup._invertMod3(x) == [-1] + [0] * (P - 2) + [1]


def test_shortHasWeightW() -> None:
    for seed in range(5):
        f = sntrup._randomShort(_seeded(seed))
        assert len(f) == P and sum(1 for c in f if c) == sntrup.W
        assert set(f) <= {-1, 0, 1}


@settings(max_examples=30, deadline=None)
@given(qPolys)
def test_rqEncodingRoundTrip(poly: list[int]) -> None:
    encoded = sntrup._encodeRq(poly)
    assert len(encoded) == sntrup.PUBLIC_KEY_SIZE
    assert sntrup._decodeRq(encoded) == poly


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-765, 765), min_size=P, max_size=P))
def test_roundedEncodingRoundTrip(thirds: list[int]) -> None:
    poly = [3 * c % Q for c in thirds]
    encoded = sntrup._encodeRounded(poly)
    assert len(encoded) == sntrup.ROUNDED_SIZE
    assert sntrup._decodeRounded(encoded) == poly


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1158, max_size=1158))
def test_rqDecodingStaysInRange(data: bytes) -> None:
    assert all(0 <= c < Q for c in sntrup._decodeRq(data))


@settings(max_examples=30, deadline=None)
@given(smallPolys)
def test_smallEncodingRoundTrip(poly: list[int]) -> None:
    encoded = sntrup._encodeSmall(poly)
    assert len(encoded) == sntrup.SMALL_SIZE
    assert sntrup._decodeSmall(encoded) == poly


# ---------------------------------------------------------------------- the key exchange


def test_bothNames() -> None:
    assert KEX_METHODS[b"sntrup761x25519-sha512@openssh.com"] is Sntrup761X25519
    assert KEX_METHODS[b"sntrup761x25519-sha512"] is Sntrup761X25519


def test_serverOffersItAfterCurve25519() -> None:
    """
    A default server meets an OpenSSH-like client that prefers it; a default glisten client
    picks ML-KEM where it is available, else curve25519 (sntrup761's key generation is the
    costly half).
    """
    openssh = Algorithms(kex=(b"sntrup761x25519-sha512@openssh.com", b"curve25519-sha256"))
    client, server = machines(clientAlgorithms=openssh)
    pump(client, server)
    assert server.kexAlg == b"sntrup761x25519-sha512@openssh.com"
    client, server = machines()
    pump(client, server)
    assert server.kexAlg == DEFAULT_KEX[0]
    assert DEFAULT_KEX[0] in (b"mlkem768x25519-sha256", b"curve25519-sha256")
