"""The Telnet protocol adapters over memory transports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.conch import telnet
from glisten.conch._telnet import _constants as C
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport

IAC = bytes([C.IAC])


class Recorder(telnet.TelnetProtocol):
    def __init__(self, allow: tuple[bytes, ...] = ()) -> None:
        self.allow = allow
        self.data: list[bytes] = []
        self.events: list[tuple[str, bytes]] = []
        self.lost = False

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def enableLocal(self, option: bytes) -> bool:
        self.events.append(("enableLocal", option))
        return option in self.allow

    def enableRemote(self, option: bytes) -> bool:
        self.events.append(("enableRemote", option))
        return option in self.allow

    def disableLocal(self, option: bytes) -> None:
        self.events.append(("disableLocal", option))

    def disableRemote(self, option: bytes) -> None:
        self.events.append(("disableRemote", option))

    def unhandledCommand(self, command: bytes, argument: bytes | None) -> None:
        self.events.append(("command", command))

    def unhandledSubnegotiation(self, command: bytes, data: list[bytes]) -> None:
        self.events.append(("sub", command + b"".join(data)))

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True


def _connect(proto: Any) -> tuple[telnet.TelnetTransport, StringTransport]:
    tt = telnet.TelnetTransport(lambda: proto)
    tr = StringTransport()
    tt.makeConnection(tr)
    return tt, tr


def test_dataAndEscapes() -> None:
    proto = Recorder()
    tt, tr = _connect(proto)
    for byte in b"ab\xff\xffc\r\nd":
        tt.dataReceived(bytes([byte]))
    assert b"".join(proto.data) == b"ab\xffc\nd"
    proto.transport.write(b"x\xffy\n")
    assert tr.value() == b"x\xff\xffy\r\n"
    proto.transport.writeSequence([b"\xff", b"z"])
    assert tr.value().endswith(b"\xff\xffz")


def test_offersGoToTheProtocol() -> None:
    proto = Recorder(allow=(telnet.ECHO,))
    tt, tr = _connect(proto)
    tt.dataReceived(IAC + telnet.DO + telnet.ECHO + IAC + telnet.WILL + telnet.NAWS)
    assert tr.value() == IAC + telnet.WILL + telnet.ECHO + IAC + telnet.DONT + telnet.NAWS
    assert proto.events == [("enableLocal", telnet.ECHO), ("enableRemote", telnet.NAWS)]
    assert tt.getOptionState(telnet.ECHO).us.state == "yes"
    tr.clear()
    tt.dataReceived(IAC + telnet.DONT + telnet.ECHO)
    assert tr.value() == IAC + telnet.WONT + telnet.ECHO
    assert proto.events[-1] == ("disableLocal", telnet.ECHO)


def test_requestsReturnDeferreds() -> None:
    proto = Recorder(allow=(telnet.SGA,))
    tt, tr = _connect(proto)
    results: list[Any] = []
    tt.do(telnet.SGA).addBoth(results.append)
    state = tt.getOptionState(telnet.SGA)
    assert state.him.negotiating and state.him.onResult is not None
    failures: list[Any] = []
    tt.do(telnet.SGA).addErrback(failures.append)
    assert failures[0].check(telnet.AlreadyNegotiating)
    tt.dataReceived(IAC + telnet.WILL + telnet.SGA)
    assert results == [True]
    assert proto.events == [("enableRemote", telnet.SGA)]
    tt.do(telnet.SGA).addErrback(failures.append)
    assert failures[1].check(telnet.AlreadyEnabled)
    tt.will(telnet.NAWS).addErrback(failures.append)
    tt.dataReceived(IAC + telnet.DONT + telnet.NAWS)
    assert failures[2].check(telnet.OptionRefused)
    tt.wont(telnet.ECHO).addErrback(failures.append)
    assert failures[3].check(telnet.AlreadyDisabled)
    assert tr.value() == IAC + telnet.DO + telnet.SGA + IAC + telnet.WILL + telnet.NAWS


def test_pendingRequestsFailOnConnectionLost() -> None:
    proto = Recorder()
    tt, _ = _connect(proto)
    failures: list[Any] = []
    tt.will(telnet.ECHO).addErrback(failures.append)
    tt.connectionLost(None)
    assert len(failures) == 1 and proto.lost


def test_commandsAndSubnegotiations() -> None:
    proto = Recorder()
    tt, tr = _connect(proto)
    seen: list[Any] = []
    tt.commandMap[telnet.AYT] = seen.append
    tt.negotiationMap[telnet.NAWS] = seen.append
    tt.dataReceived(IAC + telnet.AYT + IAC + telnet.GA)
    tt.dataReceived(IAC + telnet.SB + telnet.NAWS + b"\x00\x50\x00\x18" + IAC + telnet.SE)
    tt.dataReceived(IAC + telnet.SB + telnet.TTYPE + b"\x00X" + IAC + telnet.SE)
    assert seen == [None, [b"\x00", b"\x50", b"\x00", b"\x18"]]
    assert proto.events == [("command", telnet.GA), ("sub", telnet.TTYPE + b"\x00X")]
    tt.requestNegotiation(telnet.TTYPE, b"\x01")
    tt.sendCommand(telnet.GA)
    assert (
        tr.value() == IAC + telnet.SB + telnet.TTYPE + b"\x01" + IAC + telnet.SE + IAC + telnet.GA
    )


def test_protocolErrorClosesTheConnection() -> None:
    proto = Recorder()
    tt, tr = _connect(proto)
    tt.dataReceived(IAC + telnet.SB + telnet.TTYPE + b"x" * 10000)
    assert tr.disconnecting
    tt.dataReceived(b"more")
    assert proto.data == []


class LineCounter(telnet.StatefulTelnetProtocol):
    state = "First"

    def __init__(self) -> None:
        self.lines: list[tuple[str, bytes]] = []

    def telnet_First(self, line: bytes) -> str:
        self.lines.append(("First", line))
        return "Second"

    def telnet_Second(self, line: bytes) -> None:
        self.lines.append(("Second", line))


def test_statefulProtocol() -> None:
    proto = LineCounter()
    tt, _ = _connect(proto)
    tt.dataReceived(b"one\r\ntwo\r\nthree\n")
    assert proto.lines == [("First", b"one"), ("Second", b"two"), ("Second", b"three")]


@implementer(IRealm)
class Realm:
    def __init__(self) -> None:
        self.avatars: list[Recorder] = []
        self.loggedOut = 0

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        assert telnet.ITelnetProtocol in interfaces
        avatar = Recorder()
        self.avatars.append(avatar)

        def logout() -> None:
            self.loggedOut += 1

        return telnet.ITelnetProtocol, avatar, logout


CLOCK = Clock()


def _authenticating(clock: Clock = CLOCK) -> tuple[Realm, telnet.TelnetTransport, StringTransport]:
    realm = Realm()
    portal = Portal(realm, [InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")])
    auth = telnet.AuthenticatingTelnetProtocol(portal)
    auth.clock = clock
    tt, tr = _connect(auth)
    return realm, tt, tr


def test_loginTimeout() -> None:
    clock = Clock()
    realm, tt, tr = _authenticating(clock)
    tt.dataReceived(b"alice\r\n")
    clock.advance(119)
    assert not tr.disconnecting
    clock.advance(1)
    assert tr.disconnecting and b"Login timed out" in tr.value()


def test_noTimeoutOnceLoggedIn() -> None:
    clock = Clock()
    realm, tt, tr = _authenticating(clock)
    tt.dataReceived(b"alice\r\nsecret\r\n")
    assert realm.avatars
    clock.advance(1000)
    assert not tr.disconnecting
    assert clock.getDelayedCalls() == []


def test_authenticationSucceeds() -> None:
    realm, tt, tr = _authenticating()
    assert tr.value() == b"Username: "
    tr.clear()
    tt.dataReceived(b"alice\r\n")
    assert tr.value() == IAC + telnet.WILL + telnet.ECHO + b"Password: "
    tt.dataReceived(IAC + telnet.DO + telnet.ECHO)
    tt.dataReceived(b"secret\r\n")
    assert len(realm.avatars) == 1
    tt.dataReceived(b"hello")
    assert realm.avatars[0].data == [b"hello"]
    assert IAC + telnet.WONT + telnet.ECHO in tr.value()
    tt.connectionLost(None)
    assert realm.loggedOut == 1 and realm.avatars[0].lost


@pytest.mark.parametrize("chunked", [False, True])
def test_authenticationFailsThenDisconnects(chunked: bool) -> None:
    realm, tt, tr = _authenticating()
    data = b"alice\r\nwrong\r\n" * 3
    for chunk in [data[i : i + 1] for i in range(len(data))] if chunked else [data]:
        tt.dataReceived(chunk)
    assert tr.value().count(b"Authentication failed") == 3
    assert tr.disconnecting and realm.avatars == []


class Terminalish(telnet.TelnetProtocol):
    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.terminalProtocol = self
        self.data = b""

    def terminalSize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))

    def dataReceived(self, data: bytes) -> None:
        self.data += data


def test_bootstrapNegotiatesATerminal() -> None:
    inner = Terminalish()
    boot = telnet.TelnetBootstrapProtocol(lambda: inner)
    tt, tr = _connect(boot)
    sent = tr.value()
    for opt in (telnet.LINEMODE, telnet.NAWS, telnet.SGA, telnet.TTYPE):
        assert IAC + telnet.DO + opt in sent
    assert IAC + telnet.WILL + telnet.ECHO in sent
    tr.clear()
    tt.dataReceived(
        IAC
        + telnet.WILL
        + telnet.NAWS
        + IAC
        + telnet.DO
        + telnet.ECHO
        + IAC
        + telnet.WILL
        + telnet.TTYPE
    )
    assert tr.value() == IAC + telnet.SB + telnet.TTYPE + b"\x01" + IAC + telnet.SE
    tt.dataReceived(IAC + telnet.SB + telnet.NAWS + b"\x00\x84\x00\x2b" + IAC + telnet.SE)
    tt.dataReceived(IAC + telnet.SB + telnet.TTYPE + b"\x00XTERM" + IAC + telnet.SE)
    assert inner.sizes == [(132, 43)]
    assert boot.terminalType == "XTERM"
    tt.dataReceived(b"ls\r\n")
    assert inner.data == b"ls\n"
    tt.dataReceived(IAC + telnet.SB + telnet.NAWS + b"\x00" + IAC + telnet.SE)
    assert tr.disconnecting


@implementer(IRealm)
class TerminalRealm:
    def __init__(self) -> None:
        self.inner = Terminalish()

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return (
            telnet.ITelnetProtocol,
            telnet.TelnetBootstrapProtocol(lambda: self.inner),
            lambda: None,
        )


def test_echoComesBackAfterLogin() -> None:
    """The login turns ECHO off; the terminal behind it asks for it again once that is done."""
    realm = TerminalRealm()
    portal = Portal(realm, [InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")])
    auth = telnet.AuthenticatingTelnetProtocol(portal)
    auth.clock = Clock()
    tt, tr = _connect(auth)
    tt.dataReceived(b"alice\r\n")
    tt.dataReceived(IAC + telnet.DO + telnet.ECHO)
    tr.clear()
    tt.dataReceived(b"secret\r\n")
    assert IAC + telnet.WONT + telnet.ECHO in tr.value()
    assert IAC + telnet.WILL + telnet.ECHO not in tr.value()
    tr.clear()
    tt.dataReceived(IAC + telnet.DONT + telnet.ECHO)
    assert tr.value() == IAC + telnet.WILL + telnet.ECHO
    tt.dataReceived(IAC + telnet.DO + telnet.ECHO)
    assert tt.getOptionState(telnet.ECHO).us.state == "yes"
    tt.dataReceived(b"x")
    assert realm.inner.data == b"x"


def test_bootstrapKeepsTheEnvironment() -> None:
    from glisten.conch._telnet import packNewEnvironIs

    inner = Terminalish()
    boot = telnet.TelnetBootstrapProtocol(lambda: inner)
    tt, tr = _connect(boot)
    assert IAC + telnet.DO + telnet.NEW_ENVIRON in tr.value()
    tr.clear()
    tt.dataReceived(IAC + telnet.WILL + telnet.NEW_ENVIRON)
    assert tr.value() == IAC + telnet.SB + telnet.NEW_ENVIRON + b"\x01" + IAC + telnet.SE
    payload = packNewEnvironIs({b"USER": b"alice", b"LANG": b"C"})
    tt.dataReceived(IAC + telnet.SB + telnet.NEW_ENVIRON + payload + IAC + telnet.SE)
    assert boot.environment == {b"USER": b"alice", b"LANG": b"C"}
    # INFO updates; a variable without a value is removed; malformed payloads are ignored.
    tt.dataReceived(IAC + telnet.SB + telnet.NEW_ENVIRON + b"\x02\x00LANG" + IAC + telnet.SE)
    tt.dataReceived(IAC + telnet.SB + telnet.NEW_ENVIRON + b"\x09" + IAC + telnet.SE)
    assert boot.environment == {b"USER": b"alice"}
    boot.maxEnvironment = 2
    many = packNewEnvironIs({b"A%d" % i: b"x" for i in range(10)})
    tt.dataReceived(IAC + telnet.SB + telnet.NEW_ENVIRON + many + IAC + telnet.SE)
    assert len(boot.environment) == 2


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_terminalStackTakesAnyInput(data: bytes, byteAtATime: bool) -> None:
    """Random bytes through Telnet, the VT102 parser and line editing: never an exception."""
    from glisten.conch import recvline
    from glisten.conch.insults import insults

    tt, tr = _connect(
        telnet.TelnetBootstrapProtocol(insults.ServerProtocol, recvline.HistoricRecvLine)
    )
    chunks = [data[i : i + 1] for i in range(len(data))] if byteAtATime else [data]
    for chunk in chunks:
        tt.dataReceived(chunk)
