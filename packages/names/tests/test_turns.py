"""One read of pipelined DNS-over-TCP queries is answered ``maxMessagesPerTurn`` at a time:
reading pauses and the rest wait for the reactor's next turn, so one client cannot stall the
others (issue 29). The fake clock runs every following turn in one ``advance(0)``."""

from __future__ import annotations

import struct
from typing import Any

from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.names import dns
from glisten.names._wire._framing import LengthPrefixed, frame
from glisten.python.failure import Failure

from .helpers import exampleAuthority, makeReactor, query, runUntil
from .test_server import _frames, _tcp

QUERIES = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


def pipelined() -> bytes:
    return b"".join(frame(query(b"example.com", dns.A, id=i)) for i in range(QUERIES))


def test_pipelinedQueriesAreAnsweredATurnAtATime() -> None:
    clock = Clock()
    p, t, _ = _tcp(clock)
    p.dataReceived(pipelined())
    assert len(_frames(t.value())) == p.maxMessagesPerTurn
    assert t.producerState == "paused"
    assert len(turnsPending(clock)) == 1
    # More bytes while paused go behind the waiting queries.
    p.dataReceived(frame(query(b"example.com", dns.A, id=QUERIES)))
    clock.advance(0)
    answers = _frames(t.value())
    assert [m.id for m in answers] == list(range(QUERIES + 1))
    assert all(m.answer and m.answers for m in answers)
    assert t.producerState == "producing"
    assert not turnsPending(clock)


def test_lostConnectionLeavesNoTurn() -> None:
    clock = Clock()
    p, t, f = _tcp(clock)
    p.dataReceived(pipelined())
    p.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    assert f.connections == []


def test_framerLimit() -> None:
    framer = LengthPrefixed()
    data = b"".join(frame(bytes([i])) for i in range(5))
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        framer = LengthPrefixed()
        got: list[bytes] = []
        for chunk in chunks:
            got += framer.feed(chunk, 2)
            while framer.complete and len(got) < 5:
                got += framer.feed(b"", 2)
        assert got == [bytes([i]) for i in range(5)]
        assert not framer.complete and framer.pending == 0
    framer = LengthPrefixed()
    assert framer.feed(data, 2) == [b"\x00", b"\x01"]
    assert framer.complete
    assert framer.feed(b"", 0) == []
    assert framer.feed(b"") == [b"\x02", b"\x03", b"\x04"]
    assert framer.feed(struct.pack("!H", 3) + b"ab") == []
    assert not framer.complete


def test_pipelinedQueriesOverARealConnection() -> None:
    """Over loopback, every one of 10,000 queries written at once is answered (the reactor
    pauses and resumes the connection between turns), and no answer is lost."""
    from glisten.internet import defer, protocol
    from glisten.names import server

    reactor = makeReactor()
    factory = server.DNSServerFactory(authorities=[exampleAuthority()], reactor=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    done: defer.Deferred[list[int]] = defer.Deferred()

    class Client(protocol.Protocol):
        def connectionMade(self) -> None:
            self.framer = LengthPrefixed()
            self.ids: list[int] = []
            self.transport.write(pipelined())

        def dataReceived(self, data: bytes) -> None:
            self.ids += [dns.Message.fromBytes(raw).id for raw in self.framer.feed(data)]
            if len(self.ids) == QUERIES and not done.called:
                done.callback(self.ids)
                self.transport.loseConnection()

    reactor.connectTCP("127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(Client))
    try:
        ids = runUntil(reactor, done, timeout=60)
    finally:
        port.stopListening()
    assert sorted(ids) == list(range(QUERIES))
