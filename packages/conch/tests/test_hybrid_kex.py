"""
What the two hybrid post-quantum key exchanges share (``_kex._HybridX25519``):
``sntrup761x25519-sha512`` and ``mlkem768x25519-sha256``, each a KEM with X25519. The
KEM-specific checks are in ``test_sntrup761.py`` and ``test_mlkem.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh import _mlkem
from glisten.conch.ssh._ssh._errors import DISCONNECT_KEY_EXCHANGE_FAILED, SSHProtocolError
from glisten.conch.ssh._ssh._kex import MLKEM768X25519, Sntrup761X25519
from glisten.conch.ssh._ssh._limits import Algorithms
from glisten.conch.ssh._ssh._machine import Phase
from glisten.conch.ssh._ssh._wire import Reader, string

from ._pairs import machines, pump

needsMLKEM = pytest.mark.skipif(
    not _mlkem.AVAILABLE,
    reason="this cryptography (before 47, or on an older OpenSSL) has no ML-KEM",
)
METHODS = [
    pytest.param(Sntrup761X25519, id="sntrup761"),
    pytest.param(MLKEM768X25519, id="mlkem768", marks=needsMLKEM),
]
NAMES = [
    b"sntrup761x25519-sha512@openssh.com",
    b"sntrup761x25519-sha512",
    pytest.param(b"mlkem768x25519-sha256", marks=needsMLKEM),
]

_clients: dict[type[Any], Any] = {}


def _client(method: type[Any]) -> Any:
    """A client side whose key pair exists (made once: sntrup761's costs 70 ms)."""
    if method not in _clients:
        _clients[method] = method()
        _clients[method].localField  # noqa: B018
    return _clients[method]


def _sizes(method: type[Any]) -> tuple[int, int]:
    """The right sizes of the client's and the server's values."""
    return method.kem.PUBLIC_KEY_SIZE + 32, method.kem.CIPHERTEXT_SIZE + 32


@pytest.mark.parametrize("method", METHODS)
def test_bothSidesAgree(method: type[Any]) -> None:
    client, server = method(), method()
    clientField = client.localField
    assert len(clientField) == 4 + _sizes(method)[0]
    wire, serverSecret = server.readPeer(Reader(clientField))
    assert wire == clientField
    assert len(server.localField) == 4 + _sizes(method)[1]
    _, clientSecret = client.readPeer(Reader(server.localField))
    assert clientSecret == serverSecret
    # K is a string holding the method's hash, not an mpint.
    assert Reader(clientSecret).string()
    assert len(clientSecret) == 4 + method.hashFunc().digest_size


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("change", [-1, 1, "empty", "x25519", "server"])
def test_serverRefusesClientValueOfTheWrongSize(method: type[Any], change: Any) -> None:
    right, server = _sizes(method)
    size = (
        {"empty": 0, "x25519": 32, "server": server}[change]
        if isinstance(change, str)
        else right + change
    )
    with pytest.raises(SSHProtocolError) as e:
        method().readPeer(Reader(string(b"\x01" * size)))
    assert e.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED
    assert "\\x01" not in str(e.value)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("change", [-1, 1, "empty", "kem", "client"])
def test_clientRefusesServerValueOfTheWrongSize(method: type[Any], change: Any) -> None:
    client, right = _sizes(method)
    size = (
        {"empty": 0, "kem": right - 32, "client": client}[change]
        if isinstance(change, str)
        else right + change
    )
    with pytest.raises(SSHProtocolError) as e:
        _client(method).readPeer(Reader(string(b"\x01" * size)))
    assert e.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


@pytest.mark.parametrize("method", METHODS)
def test_zeroX25519ValueRefused(method: type[Any]) -> None:
    """An all-zero X25519 share (a low-order point) fails, as in OpenSSH, on either side."""
    publicKey = Reader(_client(method).localField).string()[:-32]
    with pytest.raises(SSHProtocolError) as e:
        method().readPeer(Reader(string(publicKey + b"\x00" * 32)))
    assert e.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED
    ciphertext = b"\x02" * method.kem.CIPHERTEXT_SIZE
    with pytest.raises(SSHProtocolError):
        _client(method).readPeer(Reader(string(ciphertext + b"\x00" * 32)))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_serverRandomInputOnlyProtocolErrors(method: type[Any], data: st.DataObject) -> None:
    size = _sizes(method)[0]
    value = data.draw(st.one_of(st.binary(max_size=1300), st.binary(min_size=size, max_size=size)))
    try:
        method().readPeer(Reader(string(value)))
    except SSHProtocolError as e:
        assert e.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_clientReplyParserOnlyProtocolErrors(method: type[Any], data: st.DataObject) -> None:
    """Any server reply, random or of the right size, is a key exchange failure or a key
    (a forged ciphertext decapsulates to an unrelated key: implicit rejection)."""
    size = _sizes(method)[1]
    value = data.draw(st.one_of(st.binary(max_size=1300), st.binary(min_size=size, max_size=size)))
    try:
        _, secret = _client(method).readPeer(Reader(string(value)))
    except SSHProtocolError as e:
        assert e.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED
    else:
        assert len(value) == size and len(secret) == 4 + method.hashFunc().digest_size


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=64))
def test_truncatedFieldIsAProtocolError(method: type[Any], data: bytes) -> None:
    """A field whose length prefix runs past the packet is refused by the reader."""
    try:
        method().readPeer(Reader(data))
    except SSHProtocolError:
        pass


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("byteAtATime", [False, True])
@pytest.mark.parametrize("clientFirst", [True, False])
def test_handshake(name: bytes, byteAtATime: bool, clientFirst: bool) -> None:
    """Whichever side prefers it, both agree on it when both offer it."""
    only = Algorithms(kex=(name,))
    both = Algorithms(kex=(b"curve25519-sha256", name))
    clientAlgs, serverAlgs = (only, both) if clientFirst else (both, only)
    client, server = machines(serverAlgorithms=serverAlgs, clientAlgorithms=clientAlgs)
    clientEvents, serverEvents = pump(client, server, byteAtATime=byteAtATime)
    assert client.kexAlg == server.kexAlg == name
    assert client.phase is server.phase is Phase.OPEN
    assert client.sessionID == server.sessionID is not None
    assert "KeysReady" in [type(e).__name__ for e in serverEvents]
    assert "KeysReady" in [type(e).__name__ for e in clientEvents]


@pytest.mark.parametrize("name", NAMES[1:])
def test_rekeyWithIt(name: bytes) -> None:
    algorithms = Algorithms(kex=(name,))
    client, server = machines(serverAlgorithms=algorithms, clientAlgorithms=algorithms)
    pump(client, server)
    server.setService(b"test")
    sessionID = client.sessionID
    client.startRekey()
    client.sendPacket(91, b"after")
    _, serverEvents = pump(client, server)
    assert serverEvents[-1] == type(serverEvents[-1])(91, b"after")
    assert client.sessionID == sessionID
