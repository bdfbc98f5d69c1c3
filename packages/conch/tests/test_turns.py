"""One read of many small SSH packets is handled ``maxPacketsPerTurn`` at a time, and one
channel packet of many SFTP requests ``maxRequestsPerTurn`` at a time: input pauses and the
rest wait for the reactor's next turn, so one peer cannot stall the others (issue 29). The
fake clock runs every following turn in one ``advance(0)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import telnet
from glisten.conch._telnet import _constants as C
from glisten.conch._vt import KeyboardParser
from glisten.conch.insults import helper, insults
from glisten.conch.ssh import session
from glisten.conch.unix import SFTPServerForUnixConchUser
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.python.failure import Failure

from ._loop import AcceptingClient, ClientSession, Loop
from ._pairs import machines, pump
from ._sftploop import SFTPLoop
from .test_manhole_ssh import _factory as manholeFactory
from .test_ssh_server import loggedIn
from .test_telnet import Recorder

REQUESTS = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


def feedInPieces(proto: Any, clock: Clock, data: bytes, chunk: int) -> None:
    """Feed ``data`` in ``chunk``-byte reads, some of them arriving before the turns left
    by the previous ones ran, then run every turn."""
    for i in range(0, len(data), chunk):
        proto.dataReceived(data[i : i + chunk])
        if i // chunk % 3 == 2:
            clock.advance(0)
    clock.advance(0)
    assert not turnsPending(clock)


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


def test_sftpRequestsInOnePacketAreHandledATurnAtATime(tmp_path: Path) -> None:
    """One channel packet may hold thousands of small SFTP requests: 64 are answered per
    turn, the channel's input paused meanwhile (its window stays closed)."""
    (tmp_path / "f").write_bytes(b"x")
    lp = SFTPLoop(SFTPServerForUnixConchUser(None, str(tmp_path)))
    answered: list[int] = []
    for i in range(REQUESTS):
        lp.client.realPath(b"/f" if i % 2 else b"/").addCallback(
            lambda path, i=i: answered.append(i) if path == (b"/f" if i % 2 else b"/") else None
        )
    lp.server.dataReceived(lp.clientTransport.value())
    lp.clientTransport.clear()
    lp.client.dataReceived(lp.serverTransport.value())
    lp.serverTransport.clear()
    assert len(answered) == lp.server.maxRequestsPerTurn
    assert lp.serverTransport.producerState == "paused"
    assert len(turnsPending(lp.clock)) == 2  # the server's, and the client's (budget spent)
    lp.pump()
    assert answered == list(range(REQUESTS))
    assert lp.serverTransport.producerState == "producing"
    assert not turnsPending(lp.clock)


def test_sftpLostConnectionLeavesNoTurn(tmp_path: Path) -> None:
    lp = SFTPLoop(SFTPServerForUnixConchUser(None, str(tmp_path)))
    for _ in range(REQUESTS):
        lp.client.realPath(b"/")
    lp.server.dataReceived(lp.clientTransport.value())
    assert turnsPending(lp.clock)
    lp.server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(lp.clock)


def _repliesInOnePacket(lp: SFTPLoop, count: int) -> tuple[list[int], bytes]:
    """``count`` requests answered by the server and every reply read back in one piece, as
    a server would send them in one channel packet."""
    answered: list[int] = []
    for i in range(count):
        d = lp.client.realPath(b"/").addCallback(lambda path, i=i: answered.append(i))
        d.addErrback(lambda failure: None)
    lp.server.maxRequestsPerTurn = count + 1
    lp.server.dataReceived(lp.clientTransport.value())
    lp.clientTransport.clear()
    replies = lp.serverTransport.value()
    lp.serverTransport.clear()
    return answered, replies


def test_sftpRepliesInOnePacketAreHandledATurnAtATime(tmp_path: Path) -> None:
    """The client, too: a server's thousands of replies in one channel packet are handled
    64 per turn, the channel's input paused meanwhile."""
    lp = SFTPLoop(SFTPServerForUnixConchUser(None, str(tmp_path)))
    answered, replies = _repliesInOnePacket(lp, REQUESTS)
    lp.client.dataReceived(replies)
    assert len(answered) == lp.client.maxRepliesPerTurn
    assert lp.clientTransport.producerState == "paused"
    assert len(turnsPending(lp.clock)) == 1
    lp.clock.advance(0)
    assert answered == list(range(REQUESTS))
    assert lp.clientTransport.producerState == "producing"
    assert not turnsPending(lp.clock)


def test_sftpClientLostConnectionLeavesNoTurn(tmp_path: Path) -> None:
    lp = SFTPLoop(SFTPServerForUnixConchUser(None, str(tmp_path)))
    answered, replies = _repliesInOnePacket(lp, REQUESTS)
    lp.client.dataReceived(replies)
    assert turnsPending(lp.clock)
    lp.client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(lp.clock)
    lp.clock.advance(0)
    assert len(answered) == lp.client.maxRepliesPerTurn


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 9), st.integers(1, 400))
def test_machineBudgetChangesNothingButPace(count: int, budget: int, chunk: int) -> None:
    """With a budget, the transport machine reads the same packets in the same order, only
    over more calls, never more than the budget in one; fed whole or in pieces."""
    client, server = machines()
    pump(client, server)
    client.setService(b"ssh-connection")
    server.setService(b"ssh-connection")
    for i in range(count):
        client.sendPacket(80, b"g%d" % i)
    data = client.dataToSend()
    events: list[Any] = []
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces + [b""] * count:
        server.budget = budget
        got = server.receiveData(piece)
        assert len(got) <= budget
        events += got
    assert [(e.messageType, e.payload) for e in events] == [(80, b"g%d" % i) for i in range(count)]


# -- Telnet (either side): a flood of commands in one read ----------------------------------

GA = bytes([C.IAC, C.GA])


def _telnet(maxEvents: int = 64) -> tuple[Recorder, telnet.TelnetTransport, StringTransport, Clock]:
    proto = Recorder()
    tt = telnet.TelnetTransport(lambda: proto)
    clock = Clock()
    tt.reactor = clock
    tt.maxEventsPerTurn = maxEvents
    tr = StringTransport()
    tt.makeConnection(tr)
    return proto, tt, tr, clock


def test_telnetCommandFloodIsHandledATurnAtATime() -> None:
    proto, tt, tr, clock = _telnet()
    tt.dataReceived(b"".join(b"%d," % i + GA for i in range(REQUESTS)))
    assert len(proto.data) + len(proto.events) == tt.maxEventsPerTurn
    assert tr.producerState == "paused"
    # What arrives meanwhile waits behind what came first.
    tt.dataReceived(b"end")
    assert len(proto.data) + len(proto.events) == tt.maxEventsPerTurn
    assert len(turnsPending(clock)) == 1
    clock.advance(0)
    assert b"".join(proto.data) == b"".join(b"%d," % i for i in range(REQUESTS)) + b"end"
    assert proto.events == [("command", telnet.GA)] * REQUESTS
    assert tr.producerState == "producing"
    assert not turnsPending(clock)


def test_telnetLostConnectionLeavesNoTurn() -> None:
    proto, tt, tr, clock = _telnet()
    tt.dataReceived(GA * REQUESTS)
    assert turnsPending(clock)
    tt.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    clock.advance(0)
    assert len(proto.events) == tt.maxEventsPerTurn


_TELNET_UNITS = [
    b"text",
    b"a\r\nb",
    GA,
    bytes([C.IAC, C.IAC]),
    bytes([C.IAC, C.WILL, C.ECHO]),
    bytes([C.IAC, C.DO, C.SGA]),
    bytes([C.IAC, C.SB, C.NAWS, 0, 80, 0, 24, C.IAC, C.SE]),
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_TELNET_UNITS), max_size=40), st.integers(1, 6), st.integers(1, 30))
def test_telnetPaceChangesNothingElse(units: list[bytes], maxEvents: int, chunk: int) -> None:
    """Whatever the bound and however the bytes arrive, the protocol above sees the same
    data and the same events in the same order, and the peer gets the same answers."""

    def run(maxEvents: int, chunk: int) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
        proto, tt, tr, clock = _telnet(maxEvents)
        feedInPieces(tt, clock, b"".join(units), chunk)
        return b"".join(proto.data), proto.events, tr.value()

    assert run(maxEvents, chunk) == run(1 << 20, 1 << 20)


# -- insults: a flood of keystrokes or control functions in one read -------------------------


class Keys(insults.TerminalProtocol):
    """Records every keystroke (its key ID) a ServerProtocol hands on."""

    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        self.keys.append(keyID)


#: 10,000 keystrokes, printable characters and arrow keys, in the order typed.
KEYS = [b"%d" % (i % 10) if i % 3 else b"\x1b[A" for i in range(REQUESTS)]


def _typed() -> list[bytes]:
    return [insults.ServerProtocol.UP_ARROW if k == b"\x1b[A" else k for k in KEYS]


def _terminal(maxKeys: int = 64) -> tuple[Keys, insults.ServerProtocol, StringTransport, Clock]:
    keys = Keys()
    server = insults.ServerProtocol(lambda: keys)
    server.reactor = clock = Clock()
    server.maxKeystrokesPerTurn = maxKeys
    tr = StringTransport()
    server.makeConnection(tr)
    return keys, server, tr, clock


def test_insultsKeystrokeFloodIsHandledATurnAtATime() -> None:
    keys, server, tr, clock = _terminal()
    server.dataReceived(b"".join(KEYS))
    assert len(keys.keys) == server.maxKeystrokesPerTurn
    assert tr.producerState == "paused"
    # Keys arriving meanwhile wait behind the ones typed first.
    server.dataReceived(b"!")
    assert len(keys.keys) == server.maxKeystrokesPerTurn
    assert len(turnsPending(clock)) == 1
    clock.advance(0)
    assert keys.keys == _typed() + [b"!"]
    assert tr.producerState == "producing"
    assert not turnsPending(clock)


def test_insultsLostConnectionLeavesNoTurn() -> None:
    keys, server, tr, clock = _terminal()
    server.dataReceived(b"".join(KEYS))
    assert turnsPending(clock)
    server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    clock.advance(0)
    assert len(keys.keys) == server.maxKeystrokesPerTurn


def test_insultsParsesABoundedSliceATurn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing is paced too: a 256 KiB read of keystrokes is parsed a slice at a time, as
    the keys are handed on, not all in the turn that read it."""
    parsed: list[int] = []
    receiveData = KeyboardParser.receiveData

    def counting(self: KeyboardParser, data: bytes) -> list[Any]:
        parsed.append(len(data))
        return receiveData(self, data)

    monkeypatch.setattr(KeyboardParser, "receiveData", counting)
    keys, server, tr, clock = _terminal()
    server.dataReceived(b"a" * (256 * 1024))
    assert sum(parsed) <= 4096
    assert len(keys.keys) == 64
    clock.advance(0)
    assert len(keys.keys) == 256 * 1024
    assert sum(parsed) == 256 * 1024
    assert tr.producerState == "producing"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"\xc3\xa9", b"\x1b[A", b"\x1b[1;5C", b"\r", b"\x1bOP"])),
    st.integers(1, 6),
    st.integers(1, 30),
)
def test_insultsPaceChangesNothingElse(units: list[bytes], maxKeys: int, chunk: int) -> None:
    """Whatever the bound and however the bytes arrive, the terminal protocol gets the same
    keys in the same order."""

    def run(maxKeys: int, chunk: int) -> list[bytes]:
        keys, server, tr, clock = _terminal(maxKeys)
        feedInPieces(server, clock, b"".join(units), chunk)
        assert tr.producerState == "producing"
        return keys.keys

    assert run(maxKeys, chunk) == run(1 << 20, 1 << 20)


class Moves(helper.TerminalBuffer):
    """A screen that also counts the cursor moves applied to it."""

    moves = 0

    def cursorForward(self, n: int = 1) -> None:
        self.moves += 1
        super().cursorForward(n)


def test_insultsControlFunctionFloodIsHandledATurnAtATime() -> None:
    """The terminal's side, too: a program's 10,000 control functions in one read are
    applied 64 per turn, the input paused meanwhile."""
    screen = Moves()
    client = insults.ClientProtocol(lambda: screen)
    client.reactor = clock = Clock()
    tr = StringTransport()
    client.makeConnection(tr)
    client.dataReceived(b"\x1b[C" * REQUESTS)
    assert screen.moves == client.maxEventsPerTurn
    assert tr.producerState == "paused"
    clock.advance(0)
    assert screen.moves == REQUESTS
    assert tr.producerState == "producing"
    client.dataReceived(b"\x1b[C" * REQUESTS)
    client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)


def test_insultsOverTelnetPausesTheConnection() -> None:
    """Over Telnet the pause reaches the TCP transport, and what Telnet already read waits
    in Telnet until the terminal takes input again."""
    keys = Keys()
    clock = Clock()

    def terminal() -> insults.ServerProtocol:
        server = insults.ServerProtocol(lambda: keys)
        server.reactor = clock
        return server

    tt = telnet.TelnetTransport(telnet.TelnetBootstrapProtocol, terminal)
    tt.reactor = clock
    tr = StringTransport()
    tt.makeConnection(tr)
    tt.dataReceived(b"".join(KEYS))
    assert len(keys.keys) == 64
    assert tr.producerState == "paused"
    tt.dataReceived(b"!" + GA + b"?")
    assert len(keys.keys) == 64
    clock.advance(0)
    assert keys.keys == _typed() + [b"!", b"?"]
    assert tr.producerState == "producing"
    assert not turnsPending(clock)
    tt.dataReceived(b"".join(KEYS))
    tt.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)


def test_insultsOverSSHKeepsTheWindowClosed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over SSH the pause keeps the session channel's window closed (the client waits) until
    the terminal has handled the flood; then the window opens again."""
    # A window the flood mostly spends, so the server owes an adjustment at once.
    monkeypatch.setattr(session.SSHSession, "defaultWindow", len(b"".join(KEYS)) + 1000)
    keys = Keys()
    f = manholeFactory({})

    def terminal() -> insults.ServerProtocol:
        server = insults.ServerProtocol(lambda: keys)
        server.reactor = f.reactor
        return server

    f.portal.realm.chainedProtocolFactory = terminal
    loop = Loop(AcceptingClient(), f)
    loop.pump()
    channel = ClientSession()
    loop.client.conn.openChannel(channel)
    loop.pump()
    loop.client.conn.sendRequest(channel, b"shell", b"", wantReply=True)
    loop.pump()
    window = channel.remoteWindowLeft
    loop.client.conn.sendData(channel, b"".join(KEYS))
    loop.server.dataReceived(loop.clientTransport.value())
    loop.clientTransport.clear()
    assert len(keys.keys) == 64
    loop.client.dataReceived(loop.serverTransport.value())
    loop.serverTransport.clear()
    assert channel.remoteWindowLeft == window - len(b"".join(KEYS))  # no adjustment yet
    loop.pump()
    assert keys.keys == _typed()
    assert channel.remoteWindowLeft == window
    assert not turnsPending(loop.clock)
