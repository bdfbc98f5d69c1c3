"""Diffie-Hellman group exchange (RFC 4419): group choice, bounds, order, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh import _events as ev
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_KEY_EXCHANGE_FAILED,
    DISCONNECT_PROTOCOL_ERROR,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._kex import GEX_GROUPS, DHGroupExchangeSHA256, chooseGroup
from glisten.conch.ssh._ssh._limits import Algorithms, Limits
from glisten.conch.ssh._ssh._machine import (
    MSG_KEX_DH_GEX_INIT,
    MSG_KEX_DH_GEX_REPLY,
    Phase,
    SSHTransportMachine,
)
from glisten.conch.ssh._ssh._packets import PacketWriter
from glisten.conch.ssh._ssh._wire import Reader, mpint, uint32

from ._pairs import hostKey, pump

GEX = b"diffie-hellman-group-exchange-sha256"


def gexMachines(
    clientLimits: Limits | None = None, serverLimits: Limits | None = None
) -> tuple[SSHTransportMachine, SSHTransportMachine]:
    algorithms = Algorithms(kex=(GEX,))
    server = SSHTransportMachine(
        False, {b"ssh-ed25519": hostKey()}, algorithms=algorithms, limits=serverLimits
    )
    client = SSHTransportMachine(True, algorithms=algorithms, limits=clientLimits)
    client.start()
    server.start()
    return client, server


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_handshake(byteAtATime: bool) -> None:
    client, server = gexMachines()
    clientEvents, serverEvents = pump(client, server, byteAtATime=byteAtATime)
    assert client.kexAlg == server.kexAlg == GEX
    assert client.phase is server.phase is Phase.OPEN
    assert client.sessionID == server.sessionID is not None
    assert ev.KeysReady(True) in clientEvents and ev.KeysReady(True) in serverEvents
    # Both ends talk afterwards.
    server.setService(b"test")
    client.sendPacket(90, b"after")
    assert pump(client, server)[1] == [ev.PacketReceived(90, b"after")]


def test_rekeyInANewGroup() -> None:
    client, server = gexMachines(clientLimits=Limits(gexPreferredBits=2048))
    pump(client, server)
    server.setService(b"test")
    sessionID = client.sessionID
    client.startRekey()
    clientEvents, serverEvents = pump(client, server)
    assert ev.KeysReady(False) in clientEvents and ev.KeysReady(False) in serverEvents
    assert client.sessionID == sessionID


def test_chooseGroup() -> None:
    assert chooseGroup(2048, 3072, 8192) == (2, GEX_GROUPS[3072])
    assert chooseGroup(2048, 5000, 8192) == (2, GEX_GROUPS[6144])
    assert chooseGroup(2048, 8192, 4096) == (2, GEX_GROUPS[4096])  # the largest below preferred
    assert chooseGroup(1024, 1024, 1536) is None
    assert chooseGroup(8193, 9000, 16384) is None


def test_chooseGroupFromGivenGroups() -> None:
    groups = {2048: [(5, GEX_GROUPS[2048])], 4096: [], 8192: [(2, GEX_GROUPS[8192])]}
    assert chooseGroup(2048, 3072, 8192, groups) == (2, GEX_GROUPS[8192])  # 4096 has none
    assert chooseGroup(2048, 2048, 4096, groups) == (5, GEX_GROUPS[2048])


def test_factoryPrimesAreUsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Twisted-style ``SSHFactory.getPrimes`` replaces the built-in groups."""
    chosen: list[tuple[int, int]] = []
    setGroup = DHGroupExchangeSHA256._setGroup

    def spy(self: DHGroupExchangeSHA256, prime: int, generator: int) -> None:
        chosen.append((generator, prime))
        setGroup(self, prime, generator)

    monkeypatch.setattr(DHGroupExchangeSHA256, "_setGroup", spy)
    from glisten.conch.ssh import transport
    from glisten.internet.task import Clock

    from ._loop import AcceptingClient, Loop, makeFactory

    f = makeFactory(Clock())
    f.getPrimes = lambda: {4096: [(5, GEX_GROUPS[4096])]}  # type: ignore[method-assign]

    class GexClient(AcceptingClient):
        supportedKeyExchanges = [GEX]

    class GexServer(transport.SSHServerTransport):
        supportedKeyExchanges = [GEX]

    f.protocol = GexServer
    loop = Loop(GexClient(), f)
    loop.pump()
    assert loop.client.conn.started
    assert loop.server._machine.kexAlg == GEX
    # The server picked it, and the client took it.
    assert chosen == [(5, GEX_GROUPS[4096])] * 2


def test_groupsAreSafePrimes() -> None:
    """The groups added for group exchange (3072, 6144) are safe primes p = 2q + 1."""
    for bits, prime in GEX_GROUPS.items():
        assert prime.bit_length() == bits
    for bits in (3072, 6144):
        prime = GEX_GROUPS[bits]
        q = (prime - 1) // 2
        # Fermat checks for p and q: cheap, and they catch a mistyped digit.
        assert pow(2, prime - 1, prime) == 1
        assert pow(3, q - 1, q) == 1


def test_serverRespectsItsOwnBounds() -> None:
    """A client asking only for groups smaller than the server's minimum is refused."""
    client, server = gexMachines(
        clientLimits=Limits(gexMinBits=1024, gexPreferredBits=1024, gexMaxBits=1536)
    )
    with pytest.raises(SSHProtocolError) as info:
        pump(client, server)
    assert info.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


def test_serverCapsTheGroupSize() -> None:
    client, server = gexMachines(
        clientLimits=Limits(gexPreferredBits=8192), serverLimits=Limits(gexMaxBits=4096)
    )
    pump(client, server)
    assert client.phase is Phase.OPEN


def _request(minBits: int, preferred: int, maxBits: int) -> Reader:
    return Reader(uint32(minBits) + uint32(preferred) + uint32(maxBits))


def test_serverRefusesInconsistentBounds() -> None:
    with pytest.raises(SSHProtocolError) as info:
        DHGroupExchangeSHA256().readRequest(_request(4096, 2048, 8192), 2048, 8192)
    assert info.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


def test_serverReadsOneRequest() -> None:
    kex = DHGroupExchangeSHA256()
    kex.readRequest(_request(2048, 2048, 8192), 2048, 8192)
    with pytest.raises(SSHProtocolError):
        kex.readRequest(_request(2048, 2048, 8192), 2048, 8192)


@pytest.mark.parametrize(
    "prime, generator",
    [
        (GEX_GROUPS[2048] >> 1100, 2),  # smaller than the client's minimum
        (GEX_GROUPS[8192] << 8 | 1, 2),  # larger than its maximum
        (GEX_GROUPS[2048] - 1, 2),  # even
        (GEX_GROUPS[2048], 1),  # generator 1
        (GEX_GROUPS[2048], GEX_GROUPS[2048] - 1),  # generator p - 1
    ],
)
def test_clientRefusesBadGroups(prime: int, generator: int) -> None:
    kex = DHGroupExchangeSHA256()
    kex.request(2048, 3072, 8192)
    with pytest.raises(SSHProtocolError) as info:
        kex.readGroup(Reader(mpint(prime) + mpint(generator)))
    assert info.value.reasonCode == DISCONNECT_KEY_EXCHANGE_FAILED


def test_clientRefusesUnaskedGroup() -> None:
    with pytest.raises(SSHProtocolError):
        DHGroupExchangeSHA256().readGroup(Reader(mpint(GEX_GROUPS[2048]) + mpint(2)))


def test_peerValueChecked() -> None:
    kex = DHGroupExchangeSHA256()
    kex.readRequest(_request(2048, 2048, 8192), 2048, 8192)
    for bad in (0, 1, GEX_GROUPS[2048] - 1, GEX_GROUPS[2048]):
        with pytest.raises(SSHProtocolError):
            kex.readPeer(Reader(mpint(bad)))


def _afterKexInit() -> tuple[SSHTransportMachine, SSHTransportMachine]:
    """Both machines with KEXINITs exchanged, the client's group request not yet delivered."""
    client, server = gexMachines()
    server.receiveData(client.dataToSend())
    client.receiveData(server.dataToSend())
    return client, server


def test_initBeforeRequestRefused() -> None:
    client, server = _afterKexInit()
    writer = PacketWriter()
    writer.sequence = 2
    packet = writer.encode(bytes((MSG_KEX_DH_GEX_INIT,)) + mpint(12345))
    with pytest.raises(SSHProtocolError) as info:
        server.receiveData(packet)
    assert info.value.reasonCode == DISCONNECT_PROTOCOL_ERROR


def test_replyBeforeGroupRefused() -> None:
    client, server = _afterKexInit()
    client.dataToSend()
    packet = PacketWriter().encode(bytes((MSG_KEX_DH_GEX_REPLY,)) + b"\x00" * 12)
    with pytest.raises(SSHProtocolError) as info:
        client.receiveData(packet)
    assert info.value.reasonCode == DISCONNECT_PROTOCOL_ERROR


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(["request", "group", "peer"]))
def test_randomFieldsOnlyProtocolErrors(data: bytes, which: str) -> None:
    kex = DHGroupExchangeSHA256()
    try:
        if which == "request":
            kex.readRequest(Reader(data), 2048, 8192)
        elif which == "group":
            kex.request(2048, 3072, 8192)
            kex.readGroup(Reader(data))
        else:
            kex.readRequest(_request(2048, 2048, 8192), 2048, 8192)
            kex.readPeer(Reader(data))
    except SSHProtocolError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.binary(min_size=1, max_size=40))
def test_randomKexMessagesOnlyProtocolErrors(msgType: int, body: bytes) -> None:
    """Any message 30-49 with random content during a group exchange: only protocol errors."""
    client, server = _afterKexInit()
    client.dataToSend()
    for machine in (server, client):
        writer = PacketWriter()
        writer.sequence = 1
        try:
            machine.receiveData(writer.encode(bytes((30 + msgType % 20,)) + body))
        except SSHProtocolError:
            pass
