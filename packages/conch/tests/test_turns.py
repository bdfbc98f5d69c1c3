"""One read of many small SSH packets is handled ``maxPacketsPerTurn`` at a time: reading
pauses and the rest wait for the reactor's next turn, so one peer cannot stall the others
(issue 29). The fake clock runs every following turn in one ``advance(0)``."""

from __future__ import annotations

from typing import Any

from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.python.failure import Failure

from .test_ssh_server import loggedIn

REQUESTS = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


def test_pipelinedPacketsAreHandledATurnAtATime() -> None:
    loop = loggedIn()
    results: list[bytes] = []
    for i in range(REQUESTS):
        d = loop.client.conn.sendGlobalRequest(b"test-global", b"%d" % i, wantReply=True)
        d.addCallback(results.append)
    toServer = loop.clientTransport.value()
    loop.clientTransport.clear()
    per = loop.server.maxPacketsPerTurn
    loop.server.dataReceived(toServer)
    loop.client.dataReceived(loop.serverTransport.value())
    loop.serverTransport.clear()
    assert len(results) == per
    assert loop.serverTransport.producerState == "paused"
    assert len(turnsPending(loop.clock)) == 2  # the server's, and the client's (budget spent)
    while turnsPending(loop.clock) or loop.serverTransport.value():
        loop.clock.advance(0)
        loop.pump()
    assert results == [b"answer:%d" % i for i in range(REQUESTS)]
    assert loop.serverTransport.producerState == "producing"
    assert loop.clientTransport.producerState == "producing"


def test_lostConnectionLeavesNoTurn() -> None:
    loop = loggedIn()
    for i in range(REQUESTS):
        loop.client.conn.sendGlobalRequest(b"test-global", b"%d" % i, wantReply=True)
    loop.server.dataReceived(loop.clientTransport.value())
    assert turnsPending(loop.clock)
    loop.server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(loop.clock)
