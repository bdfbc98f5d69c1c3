"""The sans-IO transport machine: negotiation, every algorithm, strict kex, rekeying."""

from __future__ import annotations

import pytest

from glisten.conch.ssh._ssh import _events as ev
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_KEY_EXCHANGE_FAILED,
    DISCONNECT_PROTOCOL_ERROR,
    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._limits import (
    DEFAULT_CIPHERS,
    DEFAULT_KEX,
    DEFAULT_MACS,
    Algorithms,
    Limits,
)
from glisten.conch.ssh._ssh._machine import Phase, SSHTransportMachine

from ._pairs import hostKey, machines, pump


def _types(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_handshakeDefaults() -> None:
    client, server = machines()
    clientEvents, serverEvents = pump(client, server)
    assert _types(clientEvents) == [
        "VersionReceived",
        "HostKeyReceived",
        "KeysReady",
        "ExtInfoReceived",
    ]
    assert _types(serverEvents) == ["VersionReceived", "KeysReady"]
    assert client.strictKex and server.strictKex
    assert client.sessionID == server.sessionID is not None
    assert clientEvents[3].extensions == {b"server-sig-algs": b"ssh-ed25519"}
    assert client.kexAlg == DEFAULT_KEX[0]  # mlkem768x25519 where available, else curve25519
    assert client.outgoingCipher == b"chacha20-poly1305@openssh.com"


def test_handshakeByteAtATime() -> None:
    client, server = machines()
    clientEvents, serverEvents = pump(client, server, byteAtATime=True)
    assert "KeysReady" in _types(clientEvents)
    assert "KeysReady" in _types(serverEvents)


@pytest.mark.parametrize("kex", [k for k in DEFAULT_KEX if b"group18" not in k])
def test_everyKex(kex: bytes) -> None:
    client, server = machines(clientAlgorithms=Algorithms(kex=(kex,)))
    pump(client, server)
    assert client.kexAlg == server.kexAlg == kex
    assert client.phase is server.phase is Phase.OPEN


@pytest.mark.parametrize("cipher", DEFAULT_CIPHERS)
@pytest.mark.parametrize("mac", DEFAULT_MACS)
def test_everyCipherAndMAC(cipher: bytes, mac: bytes) -> None:
    client, server = machines(clientAlgorithms=Algorithms(ciphers=(cipher,), macs=(mac,)))
    pump(client, server)
    server.setService(b"test")
    # Payload sizes around block and padding boundaries.
    for size in (0, 1, 3, 4, 15, 16, 17, 100, 1000, 40000):
        client.sendPacket(90, b"x" * size)
        _, serverEvents = pump(client, server)
        assert serverEvents == [ev.PacketReceived(90, b"x" * size)]
    assert server.incomingCipher == cipher


@pytest.mark.parametrize(
    "alg,kind,bits",
    [
        (b"ssh-ed25519", "ed25519", None),
        (b"ecdsa-sha2-nistp256", "ecdsa", 256),
        (b"ecdsa-sha2-nistp384", "ecdsa", 384),
        (b"ecdsa-sha2-nistp521", "ecdsa", 521),
        (b"rsa-sha2-256", "rsa", 2048),
        (b"rsa-sha2-512", "rsa", 2048),
    ],
)
def test_everyHostKey(alg: bytes, kind: str, bits: int | None) -> None:
    client, server = machines(
        clientAlgorithms=Algorithms(hostKeys=(alg,)), hostKeys={alg: hostKey(kind, bits)}
    )
    clientEvents, _ = pump(client, server)
    assert clientEvents[1].key.public() == hostKey(kind, bits).public()
    assert client.hostKeyAlg == alg


def test_sshRsaSHA1IsOptIn() -> None:
    """A client that only speaks ssh-rsa finds nothing in common with a default server."""
    client, server = machines(
        clientAlgorithms=Algorithms(hostKeys=(b"ssh-rsa",)),
        hostKeys={b"rsa-sha2-256": hostKey("rsa", 2048)},
    )
    with pytest.raises(SSHProtocolError) as e:
        pump(client, server)
    assert e.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


def test_rekey() -> None:
    client, server = machines()
    pump(client, server)
    server.setService(b"test")
    sessionID = client.sessionID
    client.startRekey()
    client.sendPacket(91, b"held back")
    clientEvents, serverEvents = pump(client, server)
    assert ev.KeysReady(False) in clientEvents
    assert serverEvents == [ev.KeysReady(False), ev.PacketReceived(91, b"held back")]
    assert client.sessionID == sessionID


def test_rekeyByBytes() -> None:
    limits = Limits(rekeyBytes=10000)
    server = SSHTransportMachine(False, {b"ssh-ed25519": hostKey()}, limits=limits)
    client = SSHTransportMachine(True, limits=limits)
    client.start()
    server.start()
    pump(client, server)
    server.setService(b"test")
    for _ in range(20):
        client.sendPacket(92, b"y" * 1000)
    clientEvents, serverEvents = pump(client, server)
    assert ev.KeysReady(False) in clientEvents
    assert sum(isinstance(e, ev.PacketReceived) for e in serverEvents) == 20


def test_serviceRequest() -> None:
    client, server = machines()
    pump(client, server)
    client.requestService(b"ssh-userauth")
    _, serverEvents = pump(client, server)
    assert serverEvents == [ev.ServiceRequested(b"ssh-userauth")]
    server.acceptService(b"ssh-userauth")
    clientEvents, _ = pump(client, server)
    assert clientEvents == [ev.ServiceAccepted(b"ssh-userauth")]


def test_disconnect() -> None:
    client, server = machines()
    pump(client, server)
    client.sendDisconnect(11, "bye")
    _, serverEvents = pump(client, server)
    assert serverEvents == [ev.DisconnectReceived(11, b"bye")]
    assert server.phase is Phase.CLOSED


def _serverAfterVersion() -> SSHTransportMachine:
    server = SSHTransportMachine(False, {b"ssh-ed25519": hostKey()})
    server.start()
    server.dataToSend()
    return server


def test_versionLineTooLong() -> None:
    server = _serverAfterVersion()
    with pytest.raises(SSHProtocolError) as e:
        server.receiveData(b"SSH-2.0-" + b"x" * 300)
    assert e.value.reasonCode == DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED


def test_tooManyLinesBeforeVersion() -> None:
    """CVE-2022-21716: a server may send lines first, but not without end."""
    client = SSHTransportMachine(True, limits=Limits(maxVersionLines=5))
    client.start()
    for _ in range(5):
        assert client.receiveData(b"hello\r\n") == []
    with pytest.raises(SSHProtocolError):
        client.receiveData(b"hello\r\n")


def test_serverRefusesLinesBeforeVersion() -> None:
    server = _serverAfterVersion()
    with pytest.raises(SSHProtocolError):
        server.receiveData(b"GET / HTTP/1.1\r\n")


def test_sshVersion1Refused() -> None:
    server = _serverAfterVersion()
    with pytest.raises(SSHProtocolError) as e:
        server.receiveData(b"SSH-1.5-old\r\n")
    assert e.value.reasonCode == DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED


def test_strictKexRefusesIgnoreBeforeKexInit() -> None:
    """The Terrapin attack injects an IGNORE before KEXINIT; strict kex refuses it."""
    client, server = machines()
    data = client.dataToSend()
    versionEnd = data.index(b"\n") + 1
    from glisten.conch.ssh._ssh._packets import PacketWriter

    writer = PacketWriter()
    injected = writer.encode(b"\x02" + b"\x00\x00\x00\x00")
    # Re-encode the client's KEXINIT with sequence 1 so only the IGNORE is extra.
    server.receiveData(data[:versionEnd])
    server.receiveData(injected)
    with pytest.raises(SSHProtocolError) as e:
        server.receiveData(data[versionEnd:])
    assert e.value.reasonCode == DISCONNECT_PROTOCOL_ERROR


def test_strictKexRefusesServiceMessagesDuringKex() -> None:
    client, server = machines()
    data = client.dataToSend()
    server.receiveData(data)
    from glisten.conch.ssh._ssh._packets import PacketWriter

    writer = PacketWriter()
    writer.sequence = 2
    with pytest.raises(SSHProtocolError):
        server.receiveData(writer.encode(b"\x02\x00\x00\x00\x00"))


@pytest.mark.parametrize("cipher", DEFAULT_CIPHERS)
def test_macFailure(cipher: bytes) -> None:
    client, server = machines(clientAlgorithms=Algorithms(ciphers=(cipher,)))
    pump(client, server)
    server.setService(b"test")
    client.sendPacket(90, b"hello")
    data = bytearray(client.dataToSend())
    data[-1] ^= 1
    with pytest.raises(SSHProtocolError) as e:
        server.receiveData(bytes(data))
    assert e.value.reasonCode == 5


def test_messageBeforeService() -> None:
    client, server = machines()
    pump(client, server)
    client.sendPacket(90, b"")
    with pytest.raises(SSHProtocolError):
        pump(client, server)


def test_unknownTransportMessageGetsUnimplemented() -> None:
    client, server = machines()
    pump(client, server)
    client._sendRaw(b"\x0f")
    clientEvents, _ = pump(client, server)
    assert len(clientEvents) == 1
    assert isinstance(clientEvents[0], ev.UnimplementedReceived)


def test_oversizedPacket() -> None:
    server = _serverAfterVersion()
    server.receiveData(b"SSH-2.0-x\r\n")
    with pytest.raises(SSHProtocolError):
        server.receiveData(b"\x7f\xff\xff\xf0" + b"\x00" * 20)


def test_badPadding() -> None:
    server = _serverAfterVersion()
    server.receiveData(b"SSH-2.0-x\r\n")
    with pytest.raises(SSHProtocolError):
        # packet_length 12, padding length 11: no room for a message byte.
        server.receiveData(b"\x00\x00\x00\x0c\x0b" + b"\x00" * 11)


# ----------------------------------------------------------------------------- fuzzing

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.booleans())
def test_randomBytesAfterVersion(data: bytes, asClient: bool) -> None:
    """Whatever follows the version line, the machine only raises its own error."""
    machine = (
        SSHTransportMachine(True)
        if asClient
        else SSHTransportMachine(False, {b"ssh-ed25519": hostKey()})
    )
    machine.start()
    try:
        machine.receiveData(b"SSH-2.0-fuzz\r\n")
        machine.receiveData(data)
    except SSHProtocolError:
        pass


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=300))
def test_randomVersionLines(data: bytes) -> None:
    machine = SSHTransportMachine(True)
    try:
        machine.receiveData(data)
    except SSHProtocolError:
        pass


_RECORDED: dict[str, bytes] = {}


def _clientHandshake() -> bytes:
    """What a client sends for a whole handshake, recorded once against a real server."""
    if "client" not in _RECORDED:
        client, server = machines(clientAlgorithms=Algorithms(ciphers=(b"aes128-ctr",)))
        sent = b""
        for _ in range(10):
            a, b = client.dataToSend(), server.dataToSend()
            if not a and not b:
                break
            sent += a
            server.receiveData(a)
            for e in client.receiveData(b):
                if isinstance(e, ev.HostKeyReceived):
                    client.acceptHostKey()
        _RECORDED["client"] = sent
    return _RECORDED["client"]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_mutatedHandshake(data: st.DataObject) -> None:
    """A real client's handshake with bytes flipped, cut or repeated: only protocol errors."""
    raw = bytearray(_clientHandshake())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if action == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[i : i + data.draw(st.integers(1, 16))]
        else:
            raw[i:i] = raw[i : i + data.draw(st.integers(1, 16))]
        if not raw:
            break
    server = SSHTransportMachine(False, {b"ssh-ed25519": hostKey()})
    server.start()
    try:
        server.receiveData(bytes(raw))
    except SSHProtocolError:
        pass


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(DEFAULT_CIPHERS),
    st.lists(st.binary(max_size=200), min_size=1, max_size=4),
    st.data(),
)
def test_mutatedEncryptedPackets(cipher: bytes, payloads: list[bytes], data: st.DataObject) -> None:
    """Packets of a live session with bytes flipped, cut or repeated: never anything but the
    protocol's error, and an untouched stream decodes exactly."""
    client, server = machines(clientAlgorithms=Algorithms(ciphers=(cipher,)))
    pump(client, server)
    server.setService(b"test")
    for payload in payloads:
        client.sendPacket(99, payload)
    raw = bytearray(client.dataToSend())
    mutate = data.draw(st.booleans())
    if mutate:
        i = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if action == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[i : i + data.draw(st.integers(1, 32))]
        else:
            raw[i:i] = raw[i : i + data.draw(st.integers(1, 32))]
    try:
        events = server.receiveData(bytes(raw))
    except SSHProtocolError:
        assert mutate
        return
    if not mutate:
        assert events == [ev.PacketReceived(99, p) for p in payloads]
