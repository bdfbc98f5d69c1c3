"""SSHChannel's send buffer: bounded by a high-water mark, for the peer's window and the network."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.internet.interfaces import IPushProducer
from glisten.internet.task import Clock

from ._loop import AcceptingClient, ClientSession, Loop, makeFactory


@implementer(IPushProducer)
class Producer:
    def __init__(self) -> None:
        self.paused = False
        self.pauses = 0
        self.resumes = 0

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        self.resumes += 1

    def stopProducing(self) -> None:
        pass


def _channels(window: int = 10000) -> tuple[Loop, ClientSession, Any, Producer]:
    """A logged-in loop, a client channel with ``window``, its server end with a producer."""
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    loop.pump()
    client = ClientSession(localWindow=window, localMaxPacket=4000)
    loop.client.conn.openChannel(client)
    loop.pump()
    server = loop.server.service.channels[0]
    producer = Producer()
    server.registerProducer(producer, True)
    return loop, client, server, producer


def test_fullWindowBuffersUpToTheMark() -> None:
    loop, client, server, producer = _channels()
    server.write(b"a" * 50000)  # 40000 wait beyond the window: under the mark
    assert producer.pauses == 0 and server.areWriting
    server.write(b"b" * 30000)  # 70000 wait: past the mark
    assert producer.pauses == 1 and not server.areWriting
    assert len(server.buf) == 70000
    loop.pump()
    assert client.received == b"a" * 50000 + b"b" * 30000
    assert producer.resumes == 1 and server.areWriting
    assert server.buf == b""


def test_resumesAtTheLowMark() -> None:
    """A paused writer resumes once the backlog falls to the low-water mark, not before."""
    window = 8000
    loop, client, server, producer = _channels(window=window)
    server.write(b"x" * (server.bufferHighWater + window + 1))
    assert producer.paused
    resumedAt: list[int] = []
    server.startWriting = lambda: resumedAt.append(len(server.buf))  # type: ignore[method-assign]
    loop.pump()
    assert not producer.paused
    assert resumedAt and resumedAt[0] <= server.bufferLowWater
    assert resumedAt[0] > server.bufferLowWater - window


def test_fullNetworkHoldsChannelData() -> None:
    """The network transport's producer signal stops channel data; the writer pauses at the mark."""
    loop, client, server, producer = _channels(window=2**21)
    assert loop.serverTransport.producer is loop.server
    loop.serverTransport.clear()
    loop.server.pauseProducing()  # what a full TCP write buffer does
    server.write(b"y" * 40000)
    assert loop.serverTransport.value() == b""  # nothing went to the network
    assert not producer.paused
    server.write(b"z" * 40000)
    assert producer.paused
    flushed: list[bool] = []
    server.whenFlushed(lambda: flushed.append(True))
    loop.server.resumeProducing()
    assert not producer.paused
    loop.pump()
    assert client.received == b"y" * 40000 + b"z" * 40000
    assert flushed == [True]


def test_closeWaitsForHeldData() -> None:
    loop, client, server, producer = _channels(window=2**21)
    loop.server.pauseProducing()
    server.write(b"q" * 1000)
    server.loseConnection()
    loop.pump()
    assert not client.isClosed
    loop.server.resumeProducing()
    loop.pump()
    assert client.received == b"q" * 1000
    assert client.isClosed


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["write", "pump", "netPause", "netResume"]), st.integers(1, 9000)
        ),
        max_size=40,
    )
)
def test_writerThatHonoursPausesStaysBounded(steps: list[tuple[str, int]]) -> None:
    """A writer that writes only while not paused never leaves more than mark + one write."""
    loop, client, server, producer = _channels(window=6000)
    sent = bytearray()
    counter = 0
    for action, size in steps:
        if action == "write" and not producer.paused:
            chunk = bytes((counter + i) % 251 for i in range(size))
            counter += size
            sent += chunk
            server.write(chunk)
        elif action == "pump":
            loop.pump(rounds=1)
        elif action == "netPause":
            loop.server.pauseProducing()
        elif action == "netResume" and loop.server.writePaused:
            loop.server.resumeProducing()
        assert len(server.buf) <= server.bufferHighWater + 9000
    if loop.server.writePaused:
        loop.server.resumeProducing()
    loop.pump(rounds=1000)
    assert client.received == bytes(sent)
    assert not producer.paused


FLOOD_TOTAL = 512 * 1024 * 1024


class FloodChannel(ClientSession):
    """A server channel whose writer sends 64 KiB chunks while it is not paused."""

    name = b"flood"

    def channelOpen(self, specificData: bytes) -> None:
        self.written = 0
        self.producer = Producer()
        self.producer.pauseProducing = self._paused  # type: ignore[method-assign]
        self.registerProducer(self.producer, True)
        self._produce()

    def _paused(self) -> None:
        Producer.pauseProducing(self.producer)
        if not FLOODS[0].called:
            FLOODS[0].callback(self)

    def _produce(self) -> None:
        chunk = b"f" * 65536
        while not self.producer.paused and self.written < FLOOD_TOTAL:
            self.write(chunk)
            self.written += len(chunk)


FLOODS: list[Any] = []


def test_peerWithHugeWindowThatStopsReading() -> None:
    """
    Over real sockets: a client gives an enormous window, then stops reading its socket. The
    server's network buffer fills, the transport pauses, and the channel pauses its writer
    after a bounded amount instead of buffering everything it is handed.
    """
    from glisten.internet import defer, protocol
    from glisten.internet.epollreactor import EPollReactor

    from ._loop import ClientConnection

    reactor = EPollReactor()
    serverFactory = makeFactory(Clock())
    serverFactory.reactor = reactor
    realm: Any = serverFactory.realm  # type: ignore[attr-defined]
    requestAvatar = realm.requestAvatar

    def withFlood(avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        iface, avatar, logout = requestAvatar(avatarId, mind, *interfaces)
        avatar.channelLookup[b"flood"] = FloodChannel
        return iface, avatar, logout

    realm.requestAvatar = withFlood
    FLOODS[:] = [defer.Deferred()]
    loggedIn: defer.Deferred[Any] = defer.Deferred()

    class Connection(ClientConnection):
        def serviceStarted(self) -> None:
            super().serviceStarted()
            loggedIn.callback(self)

    class Client(AcceptingClient):
        def __init__(self) -> None:
            super().__init__()
            self.conn = Connection()

    class ClientFactory(protocol.ClientFactory):
        reactor = None

        def buildProtocol(self, addr: Any) -> Any:
            p = Client()
            p.factory = self
            return p

    clientFactory = ClientFactory()
    clientFactory.reactor = reactor
    port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, clientFactory)

    sockets: list[Any] = [port]

    def openFlood(conn: Any) -> defer.Deferred[Any]:
        channel = ClientSession(localWindow=2**31, localMaxPacket=32768)
        channel.name = b"flood"
        conn.openChannel(channel)
        sockets.append(conn.transport.transport)
        conn.transport.transport.pauseProducing()  # the client stops reading its socket
        return FLOODS[0]

    def cleanUp(outcome: Any) -> None:
        result.append(outcome)
        for s in sockets[1:]:
            s.abortConnection()
        port.stopListening()
        reactor.callLater(0, reactor.stop)

    result: list[Any] = []
    loggedIn.addCallback(openFlood)
    loggedIn.addBoth(cleanUp)
    timeout = reactor.callLater(60, reactor.stop)
    reactor.run()
    if timeout.active():
        timeout.cancel()
    assert result, "timed out: the writer was never paused"
    flood = result[0]
    assert isinstance(flood, FloodChannel), flood
    # Paused after socket buffers plus the high-water marks, far from everything.
    assert flood.written < 64 * 1024 * 1024
    assert len(flood.buf) <= flood.bufferHighWater + 65536
