"""The state table, and that the codec's direct transitions on its hot path agree with it."""

from __future__ import annotations

import pytest

from glisten.web._h11 import LocalProtocolError, ServerConnection, State
from glisten.web._h11._state import TRANSITIONS, ConnectionState, EventType, Role


def test_hotPathTransitionsAreInTheTable() -> None:
    assert TRANSITIONS[(Role.CLIENT, State.IDLE, EventType.REQUEST)] is State.SEND_BODY
    assert TRANSITIONS[(Role.CLIENT, State.IDLE, EventType.WHOLE_REQUEST)] is State.DONE
    assert TRANSITIONS[(Role.CLIENT, State.SEND_BODY, EventType.END)] is State.DONE
    assert TRANSITIONS[(Role.SERVER, State.SEND_RESPONSE, EventType.RESPONSE)] is State.SEND_BODY
    assert TRANSITIONS[(Role.SERVER, State.SEND_BODY, EventType.END)] is State.DONE


def test_cycle() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (conn.state.client, conn.state.server) == (State.DONE, State.SEND_RESPONSE)
    conn.sendResponse(200, {b"content-length": [b"0"]})
    assert conn.state.server is State.SEND_BODY
    conn.sendEnd()
    assert (conn.state.client, conn.state.server) == (State.IDLE, State.IDLE)


def test_illegalEvents() -> None:
    state = ConnectionState()
    with pytest.raises(LocalProtocolError):
        state.process(Role.SERVER, EventType.RESPONSE)
    with pytest.raises(LocalProtocolError):
        state.process(Role.CLIENT, EventType.END)
    state.process(Role.CLIENT, EventType.REQUEST)
    assert state.server is State.SEND_RESPONSE
    state.disableKeepAlive()
    state.process(Role.CLIENT, EventType.END)
    assert state.client is State.MUST_CLOSE
    # Not reusable: no next cycle.
    assert (state.client, state.server) == (State.MUST_CLOSE, State.SEND_RESPONSE)


def test_sendEndWithoutResponse() -> None:
    conn = ServerConnection()
    conn.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    with pytest.raises(LocalProtocolError):
        conn.sendEnd()
    with pytest.raises(LocalProtocolError):
        conn.sendData(b"x")


def test_wholeRequestIsRequestAndEnd() -> None:
    folded = ConnectionState()
    folded.process(Role.CLIENT, EventType.WHOLE_REQUEST)
    stepwise = ConnectionState()
    stepwise.process(Role.CLIENT, EventType.REQUEST)
    stepwise.process(Role.CLIENT, EventType.END)
    assert (folded.client, folded.server) == (stepwise.client, stepwise.server)
    assert (folded.client, folded.server) == (State.DONE, State.SEND_RESPONSE)


def test_bothDoneStartsTheNextCycle() -> None:
    state = ConnectionState()
    state.process(Role.CLIENT, EventType.WHOLE_REQUEST)
    state.process(Role.SERVER, EventType.RESPONSE)
    state.process(Role.SERVER, EventType.END)
    assert (state.client, state.server) == (State.IDLE, State.IDLE)
    # The server may finish first (a request body still arriving); the client's END then
    # completes the pair.
    state.process(Role.CLIENT, EventType.REQUEST)
    state.process(Role.SERVER, EventType.RESPONSE)
    state.process(Role.SERVER, EventType.END)
    assert (state.client, state.server) == (State.SEND_BODY, State.DONE)
    state.process(Role.CLIENT, EventType.END)
    assert (state.client, state.server) == (State.IDLE, State.IDLE)
