"""What a channel's send queue and the transport's write coalescing do to the packets sent."""

from __future__ import annotations

from typing import Any

from glisten.conch.ssh.connection import MSG_CHANNEL_DATA
from glisten.internet.task import Clock

from ._loop import AcceptingClient, ClientSession, Loop, makeFactory


def _open(window: int, maxPacket: int = 4000) -> tuple[Loop, ClientSession, Any]:
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    loop.pump()
    client = ClientSession(localWindow=window, localMaxPacket=maxPacket)
    loop.client.conn.openChannel(client)
    loop.pump()
    return loop, client, loop.server.service.channels[0]


def _spyPackets(transport: Any) -> list[tuple[int, int]]:
    """Record (message number, payload length) of every packet ``transport`` sends."""
    sent: list[tuple[int, int]] = []
    original = transport.sendPacket

    def sendPacket(messageType: int, payload: bytes) -> None:
        sent.append((messageType, len(payload)))
        original(messageType, payload)

    transport.sendPacket = sendPacket
    return sent


def test_smallWritesShareAPacket() -> None:
    """Small writes that waited for the window leave together, in one data packet."""
    loop, client, server = _open(window=1000)
    server.write(b"a" * 1000)  # takes the whole window
    for i in range(20):
        server.write(bytes([65 + i]) * 50)
    assert len(server.buf) == 1000
    sent = _spyPackets(loop.server)
    loop.pump()
    assert client.received == b"a" * 1000 + b"".join(bytes([65 + i]) * 50 for i in range(20))
    data = [size for kind, size in sent if kind == MSG_CHANNEL_DATA]
    assert data == [8 + 1000]
    assert server.buf == b""


def test_bigWriteAcrossManyWindows() -> None:
    """A write far larger than the window arrives whole and in order, window after window."""
    loop, client, server = _open(window=10000)
    payload = bytes(range(256)) * 1000
    server.write(b"head")
    server.write(payload)
    server.write(b"tail")
    loop.pump(1000)
    assert client.received == b"head" + payload + b"tail"
    assert server.buf == b""


def test_bufAttribute() -> None:
    """``buf`` (Twisted's attribute) shows what waits; assigning it replaces the backlog."""
    loop, client, server = _open(window=100)
    server.write(b"x" * 150)
    server.write(b"y" * 10)
    assert server.buf == b"x" * 50 + b"y" * 10
    server.buf = b"z" * 5
    assert server.buf == b"z" * 5
    loop.pump()
    assert client.received == b"x" * 100 + b"z" * 5


def test_packetsWhileReceivingLeaveInOneWrite() -> None:
    """
    What a received packet makes the server send (here: five data packets written by the
    channel when data arrives) reaches the network transport in one write.
    """
    loop, client, server = _open(window=2**20)
    writes: list[int] = []
    original = loop.serverTransport.write

    def write(data: bytes) -> None:
        writes.append(len(data))
        original(data)

    loop.serverTransport.write = write  # type: ignore[method-assign]
    server.dataReceived = lambda data: [server.write(b"r" * 3000) for _ in range(5)]
    client.write(b"go")
    loop.pump()
    assert client.received == b"r" * 15000
    assert len(writes) == 1

    # Past coalesceBytes the packets go out at once: the network transport's flow control
    # (its producer pause) still sees them. The writes fill whole packets (4000 bytes); the
    # tail short of one leaves when the turn ends.
    writes.clear()
    loop.server.coalesceBytes = 1
    client.write(b"go")
    loop.pump()
    assert len(writes) == 4
    assert writes[0] == writes[1] == writes[2] > writes[3]


def test_shortTailWaitsForTheTurnsEnd() -> None:
    """
    Replies written while a packet is received fill whole data packets: the bytes short of
    a packet wait for the next write or the end of the receive turn (when the transport
    writes anyway), as an SFTP reply's last bytes share a packet with the next reply.
    """
    loop, client, server = _open(window=2**20)
    sent = _spyPackets(loop.server)

    def replies(data: bytes) -> None:
        for _ in data:
            server.writeSequence((b"h" * 13, b"d" * 3000))

    server.dataReceived = replies
    client.write(b"go!")
    loop.pump()
    assert client.received == (b"h" * 13 + b"d" * 3000) * 3
    data = [size - 8 for kind, size in sent if kind == MSG_CHANNEL_DATA]
    assert data == [4000, 4000, 3 * 3013 - 8000]
    assert server.buf == b""

    # Outside a receive turn nothing waits: each write leaves at once.
    sent.clear()
    server.writeSequence((b"h" * 13, b"d" * 3000))
    assert [size - 8 for kind, size in sent if kind == MSG_CHANNEL_DATA] == [3013]


def test_heldTailWaitsWhileTheNetworkIsFull() -> None:
    """A tail held in a turn that ends with the network transport full waits for it to
    drain, then leaves."""
    loop, client, server = _open(window=2**20)

    def reply(data: bytes) -> None:
        server.write(b"tail")
        loop.server.pauseProducing()

    server.dataReceived = reply
    client.write(b"go")
    loop.pump()
    assert client.received == b""
    assert server.buf == b"tail"
    loop.server.resumeProducing()
    loop.pump()
    assert client.received == b"tail"
    assert server.buf == b""


def test_heldTailThenCloseAndEOF() -> None:
    """A channel closed (after EOF) in the turn that held its tail sends the tail first."""
    loop, client, server = _open(window=2**20)

    def reply(data: bytes) -> None:
        server.write(b"last words")
        server.conn.sendEOF(server)
        server.loseConnection()

    server.dataReceived = reply
    client.write(b"go")
    loop.pump()
    assert client.received == b"last words"
    assert client.eof
    assert server.localClosed


def test_writesOutsideReceivingAreImmediate() -> None:
    """A write made outside ``dataReceived`` (a timer, a producer) is sent at once."""
    loop, client, server = _open(window=2**20)
    loop.serverTransport.clear()
    server.write(b"now")
    assert loop.serverTransport.value()


def test_headerAndBlockFillWholePackets() -> None:
    """
    ``writeSequence`` queues its pieces as they are: a small header and the large block after
    it (an SFTP ``DATA`` reply) leave in full packets, the header sharing the first.
    """
    loop, client, server = _open(window=2**20, maxPacket=4000)
    sent = _spyPackets(loop.server)
    block = bytes(range(256)) * 40
    server.writeSequence([b"header", block, b"", bytearray(b"tail")])
    loop.pump()
    assert client.received == b"header" + block + b"tail"
    data = [size - 8 for kind, size in sent if kind == MSG_CHANNEL_DATA]
    assert data == [4000, 4000, len(b"header") + len(block) + len(b"tail") - 8000]
    assert server.buf == b""


def test_headerAndBlockWaitingForTheWindow() -> None:
    """Pieces queued behind a full window come out whole, in order, as the window opens."""
    loop, client, server = _open(window=3000, maxPacket=1000)
    server.write(b"a" * 3000)
    block = bytes(range(256)) * 30
    server.writeSequence([b"h" * 13, block])
    server.writeSequence([b"h" * 13, block])
    assert len(server.buf) == 2 * (13 + len(block))
    loop.pump(1000)
    assert client.received == b"a" * 3000 + (b"h" * 13 + block) * 2
    assert server.buf == b""
