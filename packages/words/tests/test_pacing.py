"""One read of pipelined IRC lines or XMPP stanzas is worked through a bounded amount per turn
of the reactor: reading pauses and the rest waits for the next turn, so one client cannot stall
the others (issue 29). The fake clock runs every following turn in one ``advance(0)``."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.python.failure import Failure
from glisten.words._pacing import InputPacer
from glisten.words.protocols import irc
from glisten.words.xish import xmlstream

from .test_service import Server

COMMANDS = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


def test_ircPipelineIsAnsweredATurnAtATime() -> None:
    server = Server(floodBurst=None)
    client = server.connect("alice")
    client.lines()
    per = client.proto.maxMessagesPerTurn
    client.send(*(f"PING t{i}" for i in range(COMMANDS)))
    assert len(client.lines()) == per
    assert client.transport.producerState == "paused"
    assert len(turnsPending(server.clock)) == 1
    server.clock.advance(0)
    tokens = [re.sub(r".* PONG irc\.test :?t", "", line) for line in client.lines()]
    assert [int(token) for token in tokens] == list(range(per, COMMANDS))
    assert client.transport.producerState == "producing"
    assert not turnsPending(server.clock)


def test_ircLostConnectionLeavesNoTurn() -> None:
    server = Server(floodBurst=None)
    client = server.connect("alice")
    client.send(*(f"PING t{i}" for i in range(COMMANDS)))
    client.proto.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(server.clock)


def test_ircFloodGuardStillClosesAtOnce() -> None:
    """With flood protection on, the flood is refused in the first turn, and what is left
    of it is dropped rather than parsed in later turns."""
    server = Server()
    client = server.connect("alice")
    client.lines()
    client.send(*(f"PRIVMSG alice :{i}" for i in range(COMMANDS)))
    assert client.closed
    assert "Excess Flood" in client.lines()[-1]
    server.clock.advance(0)
    assert client.lines() == []
    assert not turnsPending(server.clock)


def xmlStream() -> tuple[xmlstream.XmlStream, StringTransport, Clock, list[str]]:
    stream = xmlstream.XmlStream()
    clock = Clock()
    stream.reactor = clock
    seen: list[str] = []
    stream.addObserver("/a", lambda element: seen.append(element["n"]))
    transport = StringTransport()
    stream.makeConnection(transport)
    return stream, transport, clock, seen


STANZAS = b"<root>" + b"".join(b"<a n='%d'/>" % i for i in range(COMMANDS))


def test_xmlStanzasAreDispatchedATurnAtATime() -> None:
    stream, transport, clock, seen = xmlStream()
    stream.dataReceived(STANZAS)
    # At most the budget, give or take the elements of one slice, before the reactor turns.
    assert stream.maxElementsPerTurn <= len(seen)
    assert len(seen) < stream.maxElementsPerTurn + xmlstream._PARSE_SLICE // len(b"<a n='1'/>")
    assert transport.producerState == "paused"
    clock.advance(0)
    assert seen == [str(i) for i in range(COMMANDS)]
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_xmlLostConnectionLeavesNoTurn() -> None:
    stream, transport, clock, seen = xmlStream()
    stream.dataReceived(STANZAS)
    done = len(seen)
    stream.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    clock.advance(0)
    assert len(seen) == done


def test_xmlRestartDropsInputFromBeforeIt() -> None:
    """Bytes read before a stream restart (STARTTLS) and not yet parsed are not read as
    part of the new stream."""
    stream, transport, clock, seen = xmlStream()
    stream.addObserver("/restart", lambda element: stream._initializeStream())
    stream.dataReceived(b"<root><restart/>" + b" " * 100_000 + b"<root><a n='x'/>")
    clock.advance(0)
    assert seen == []
    stream.dataReceived(b"<root><a n='y'/>")
    assert seen == ["y"]


def test_pacerSlicesBytesAndEvents() -> None:
    """The pacer alone: a turn parses at most ``maxBytes`` and handles at most
    ``maxEvents``; events parsed beyond the budget wait for the next turn."""
    clock = Clock()
    transport = StringTransport()
    fed: list[int] = []
    handled: list[int] = []

    def receive(data: bytes) -> list[int]:
        fed.append(len(data))
        return list(data)

    pacer: InputPacer[int] = InputPacer(
        receive, handled.append, transport, lambda: clock, maxEvents=10, maxBytes=64, sliceSize=16
    )
    pacer.dataReceived(bytes(range(100)))
    assert handled == list(range(10))
    assert fed == [16]
    clock.advance(0)
    assert handled == list(range(100))
    assert not pacer.pending
    assert transport.producerState == "producing"


# -- the IRC client: a server's flood is paced the same way ---------------------------------


class Listener(irc.IRCClient):
    """Records the messages it was sent; answers PINGs as any client does."""

    nickname = "me"
    performLogin = 0

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    def privmsg(self, user: str, channel: str, message: str) -> None:
        self.said.append(message)


def ircClient() -> tuple[Listener, StringTransport, Clock]:
    client = Listener()
    clock = Clock()
    client.reactor = clock
    transport = StringTransport()
    client.makeConnection(transport)
    return client, transport, clock


def test_ircClientAnswersAPingFloodATurnAtATime() -> None:
    client, transport, clock = ircClient()
    per = client.maxMessagesPerTurn
    client.dataReceived(b"".join(b"PING :t%d\r\n" % i for i in range(COMMANDS)))
    assert transport.value().count(b"PONG") == per
    assert transport.producerState == "paused"
    assert len(turnsPending(clock)) == 1
    clock.advance(0)
    tokens = transport.value().decode().split("\r\n")[:-1]
    assert tokens == [f"PONG t{i}" for i in range(COMMANDS)]
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_ircClientPrivmsgFloodInOrder() -> None:
    client, transport, clock = ircClient()
    flood = b"".join(b":x!y@z PRIVMSG me :m%d\r\n" % i for i in range(COMMANDS))
    client.dataReceived(flood)
    assert len(client.said) == client.maxMessagesPerTurn
    # More arriving meanwhile waits behind what was read before.
    client.dataReceived(b":x!y@z PRIVMSG me :last\r\n")
    assert len(client.said) == client.maxMessagesPerTurn
    clock.advance(0)
    assert client.said == [f"m{i}" for i in range(COMMANDS)] + ["last"]


def test_ircClientLostConnectionLeavesNoTurn() -> None:
    client, transport, clock = ircClient()
    client.dataReceived(b":x!y@z PRIVMSG me :hi\r\n" * COMMANDS)
    assert turnsPending(clock)
    client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    clock.advance(0)
    assert len(client.said) == client.maxMessagesPerTurn


_IRC_LINES = [
    b":x!y@z PRIVMSG me :hello\r\n",
    b":x!y@z PRIVMSG #c :\x01ACTION waves\x01\r\n",
    b"PING :abc\r\n",
    b":srv 001 me :Welcome\r\n",
    b":x!y@z NOTICE me :n\r\n",
    b"@time=2024-01-01T00:00:00.000Z :x!y@z PRIVMSG me :tagged\r\n",
    b":x!y@z PRIVMSG me :" + b"w" * 600 + b"\r\n",
    b"\x00bad\r\n",
    b"\n",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_IRC_LINES), max_size=40),
    st.integers(1, 8),
    st.integers(1, 200),
    st.integers(1, 64),
)
def test_ircClientPaceChangesNothingElse(
    lines: list[bytes], maxEvents: int, maxBytes: int, chunk: int
) -> None:
    """Whatever the budget and however the bytes arrive, the client acts on the same
    messages in the same order and writes the same answers as without a bound."""

    def run(maxEvents: int, maxBytes: int, chunk: int) -> tuple[list[str], bytes]:
        client, transport, clock = ircClient()
        client.heartbeatInterval = None
        client.maxMessagesPerTurn = maxEvents
        client.maxBytesPerTurn = maxBytes
        data = b"".join(lines)
        for i in range(0, len(data), chunk):
            client.dataReceived(data[i : i + chunk])
            if i // chunk % 3 == 2:
                # Some reads arrive while earlier input still waits for its turn.
                clock.advance(0)
        clock.advance(0)
        assert not turnsPending(clock)
        return client.said, transport.value()

    assert run(maxEvents, maxBytes, chunk) == run(1 << 20, 1 << 30, 1 << 30)


def test_xmlByteBudgetBelowTheSliceIsKept() -> None:
    """A byte budget smaller than the parser's slice still bounds what one turn parses."""
    stream, transport, clock, seen = xmlStream()
    stream.maxBytesPerTurn = 100
    stream.maxElementsPerTurn = 10_000
    stream.dataReceived(STANZAS)
    assert 0 < len(seen) <= 100 // len(b"<a n='1'/>")
    while turnsPending(clock):
        clock.advance(0)
    assert seen == [str(i) for i in range(COMMANDS)]
