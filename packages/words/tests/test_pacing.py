"""One read of pipelined IRC lines or XMPP stanzas is worked through a bounded amount per turn
of the reactor: reading pauses and the rest waits for the next turn, so one client cannot stall
the others (issue 29). The fake clock runs every following turn in one ``advance(0)``."""

from __future__ import annotations

import re
from typing import Any

from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.python.failure import Failure
from glisten.words._pacing import InputPacer
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
