"""
``mlkem768x25519-sha256`` (draft-ietf-sshm-mlkem-hybrid-kex): ML-KEM-768 through
``cryptography`` with X25519.

The independent checks are ``K`` recomputed here from ``cryptography``'s primitives as the
draft defines it, and the handshakes against asyncssh in both directions
(``tests/conch/test_mlkem_interop.py``).
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from glisten.conch.ssh._ssh import _mlkem
from glisten.conch.ssh._ssh._errors import DISCONNECT_KEY_EXCHANGE_FAILED, SSHProtocolError
from glisten.conch.ssh._ssh._kex import KEX_METHODS, MLKEM768X25519
from glisten.conch.ssh._ssh._limits import DEFAULT_KEX, Algorithms
from glisten.conch.ssh._ssh._machine import Phase
from glisten.conch.ssh._ssh._wire import Reader, string

from ._pairs import machines, pump

NAME = b"mlkem768x25519-sha256"


def test_unknownMethodsAreNotOffered() -> None:
    """
    A name this build cannot run (as ``mlkem768x25519-sha256`` where ``cryptography`` lacks
    ML-KEM) is left out of the KEXINIT, so a peer that prefers it gets the next method
    instead of a failed exchange. Runs with or without ML-KEM.
    """
    algorithms = Algorithms(kex=(b"unknown-kex@example.com", b"curve25519-sha256"))
    client, server = machines(serverAlgorithms=algorithms, clientAlgorithms=algorithms)
    pump(client, server)
    assert client.kexAlg == server.kexAlg == b"curve25519-sha256"
    assert client.phase is server.phase is Phase.OPEN


def test_offeredExactlyWhenAvailable() -> None:
    assert (NAME in DEFAULT_KEX) is _mlkem.AVAILABLE
    assert (NAME in KEX_METHODS) is _mlkem.AVAILABLE


def _mlkemModule() -> bool:
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem  # noqa: F401
    except ImportError:
        return False
    return True


def test_availableWithCryptographysMLKEM() -> None:
    """Where ``cryptography`` has the module (47 and later, with OpenSSL 3.5 as its wheels
    bundle), the method is available: the probe does not wrongly turn it off."""
    if not _mlkemModule():
        assert not _mlkem.AVAILABLE
        return
    assert _mlkem.AVAILABLE


needsMLKEM = pytest.mark.skipif(
    not _mlkem.AVAILABLE,
    reason="this cryptography (older than 47, or without OpenSSL 3.5) has no ML-KEM",
)


@needsMLKEM
def test_firstByDefault() -> None:
    assert DEFAULT_KEX[0] == NAME
    client, server = machines()
    pump(client, server)
    assert client.kexAlg == server.kexAlg == NAME


@needsMLKEM
def test_kemRoundTrip() -> None:
    publicKey, privateKey = _mlkem.generateKeyPair()
    assert len(publicKey) == _mlkem.PUBLIC_KEY_SIZE == 1184
    ciphertext, key = _mlkem.encapsulate(publicKey)
    assert len(ciphertext) == _mlkem.CIPHERTEXT_SIZE == 1088
    assert len(key) == _mlkem.SHARED_KEY_SIZE
    assert _mlkem.decapsulate(ciphertext, privateKey) == key
    # Implicit rejection: another ciphertext gives another key, not an error.
    tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    assert _mlkem.decapsulate(tampered, privateKey) != key


@needsMLKEM
@pytest.mark.parametrize("size", [0, 1183, 1185, 1216])
def test_publicKeyOfTheWrongSize(size: int) -> None:
    with pytest.raises(_mlkem.MLKEMError):
        _mlkem.encapsulate(b"\x00" * size)


@needsMLKEM
def test_publicKeyOutOfRange() -> None:
    """FIPS 203's modulus check: 12-bit coefficients of 0xfff (above q = 3329) are refused."""
    with pytest.raises(_mlkem.MLKEMError):
        _mlkem.encapsulate(b"\xff" * 1184)


@needsMLKEM
@pytest.mark.parametrize("size", [0, 1087, 1089])
def test_ciphertextOfTheWrongSize(size: int) -> None:
    _, privateKey = _mlkem.generateKeyPair()
    with pytest.raises(_mlkem.MLKEMError):
        _mlkem.decapsulate(b"\x00" * size, privateKey)


def _raw(key: x25519.X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@needsMLKEM
def test_sharedSecretAsTheDraftDefinesIt() -> None:
    """
    A client made here from ``cryptography``'s primitives: C_INIT = ML-KEM public key ||
    X25519 value; the server's S_REPLY = ciphertext || X25519 value; K = SHA-256(ML-KEM key ||
    X25519 secret) encoded as a string; both fields hashed as strings.
    """
    from cryptography.hazmat.primitives.asymmetric import mlkem

    kemKey = mlkem.MLKEM768PrivateKey.generate()
    ours = x25519.X25519PrivateKey.generate()
    clientInit = kemKey.public_key().public_bytes_raw() + _raw(ours)
    assert len(clientInit) == 1216
    server = MLKEM768X25519()
    wire, secret = server.readPeer(Reader(string(clientInit)))
    assert wire == string(clientInit)
    reply = Reader(server.localField).string()
    assert len(reply) == 1120
    kemShared = kemKey.decapsulate(reply[:1088])
    x25519Shared = ours.exchange(x25519.X25519PublicKey.from_public_bytes(reply[1088:]))
    assert secret == string(hashlib.sha256(kemShared + x25519Shared).digest())
    assert server.hashFunc is hashlib.sha256


@needsMLKEM
def test_serverRefusesAnInvalidKEMKey() -> None:
    client = MLKEM768X25519()
    x25519Value = Reader(client.localField).string()[1184:]
    with pytest.raises(SSHProtocolError) as e:
        MLKEM768X25519().readPeer(Reader(string(b"\xff" * 1184 + x25519Value)))
    assert e.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


@needsMLKEM
def test_fallsBackToCurve25519() -> None:
    """A default glisten client meets a server without ML-KEM (such as OpenSSH 9.2)."""
    old = Algorithms(kex=tuple(n for n in DEFAULT_KEX if n != NAME))
    client, server = machines(serverAlgorithms=old)
    pump(client, server)
    assert server.kexAlg == b"curve25519-sha256"
