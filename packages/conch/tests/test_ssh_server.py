"""The SSH protocols end to end in memory: authentication, channels, sessions, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from glisten.conch.ssh import common, session
from glisten.conch.ssh._ssh._packets import PacketWriter
from glisten.conch.ssh.transport import (
    DISCONNECT_PROTOCOL_ERROR,
    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED,
)
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport

from ._loop import AcceptingClient, ClientSession, Loop, makeFactory


def loggedIn(**kw: Any) -> Loop:
    loop = Loop(AcceptingClient(**kw), makeFactory(Clock()))
    loop.pump()
    return loop


def test_publicKeyLogin() -> None:
    loop = loggedIn()
    assert loop.client.secure
    assert loop.client.conn.started
    assert loop.server.avatar.username == b"alice"
    # The key query came first (PK_OK), then the signed request.
    assert loop.server.factory.realm.avatars[0].username == b"alice"


def test_passwordLogin() -> None:
    loop = loggedIn(useKey=False, password=b"sekrit")
    assert loop.client.conn.started


def test_wrongPasswordIsDelayedAndCounted() -> None:
    loop = Loop(AcceptingClient(useKey=False, password=b"wrong"), makeFactory(Clock()))
    loop.pump()
    assert not loop.client.conn.started
    # The failure waits for the delay: nothing more happened yet.
    sent = loop.serverTransport.value()
    assert sent == b""
    loop.clock.advance(1.0)
    loop.pump()
    assert not loop.client.conn.started


def test_attemptLimit() -> None:
    f = makeFactory(Clock())
    loop = Loop(AcceptingClient(useKey=False, password=b"wrong"), f)
    loop.server.service = None
    from glisten.conch.ssh import userauth

    class Limited(userauth.SSHUserAuthServer):
        attemptsBeforeDisconnect = 2
        passwordDelay = 0

    f.services = dict(f.services)
    f.services[b"ssh-userauth"] = Limited
    loop.pump()
    auth = loop.client.auth
    for _ in range(3):
        auth.askForAuth(b"password", b"\x00" + common.NS(b"nope"))
        loop.pump()
    assert loop.serverTransport.disconnecting


def test_unknownUserIsRefused() -> None:
    loop = loggedIn(user=b"mallory")
    assert not loop.client.conn.started
    assert loop.clientTransport.disconnecting


def test_connectionServiceNeedsLogin() -> None:
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    loop.client.connectionSecure = lambda: loop.client.requestService(loop.client.conn)  # type: ignore[method-assign]
    loop.pump()
    assert loop.serverTransport.disconnecting
    assert not loop.client.conn.started


def _openSession(loop: Loop) -> ClientSession:
    channel = ClientSession()
    loop.client.conn.openChannel(channel)
    loop.pump()
    assert channel.opened
    return channel


def _exec(loop: Loop, command: bytes) -> ClientSession:
    channel = _openSession(loop)
    loop.client.conn.sendRequest(channel, b"exec", common.NS(command), wantReply=True)
    loop.pump()
    return channel


def test_exec() -> None:
    loop = loggedIn()
    channel = _exec(loop, b"echo hello")
    assert channel.received == b"hello\n"
    assert channel.exitStatus == 0
    assert channel.eof
    assert channel.isClosed
    assert loop.server.service.channels == {}


def test_execExitStatus() -> None:
    loop = loggedIn()
    channel = _exec(loop, b"exit 42")
    assert channel.exitStatus == 42
    assert channel.isClosed


def test_execFailure() -> None:
    loop = loggedIn()
    channel = _openSession(loop)
    d = loop.client.conn.sendRequest(channel, b"exec", common.NS(b"nonsense"), wantReply=True)
    results: list[Any] = []
    d.addErrback(results.append)
    loop.pump()
    assert len(results) == 1


def test_bigOutputFollowsTheWindow() -> None:
    """More output than the window: the server waits for WINDOW_ADJUST and pauses the process."""
    loop = loggedIn()
    channel = ClientSession(localWindow=10000, localMaxPacket=4000)
    loop.client.conn.openChannel(channel)
    loop.pump()
    loop.client.conn.sendRequest(channel, b"exec", common.NS(b"big 100000"))
    loop.pump()
    assert channel.received == b"x" * 100000
    assert channel.exitStatus == 0
    serverSession = loop.server.avatar.sessions[0]
    assert serverSession.proto.transport.paused >= 1


def test_catEcho() -> None:
    loop = loggedIn()
    channel = _exec(loop, b"cat")
    channel.write(b"ping")
    loop.pump()
    assert channel.received == b"ping"
    loop.client.conn.sendEOF(channel)
    loop.pump()
    assert channel.exitStatus == 0
    assert channel.isClosed


def test_ptyAndWindowChange() -> None:
    loop = loggedIn()
    channel = _openSession(loop)
    loop.client.conn.sendRequest(
        channel, b"pty-req", session.packRequest_pty_req(b"xterm", (24, 80, 0, 0), b"\x00")
    )
    loop.client.conn.sendRequest(channel, b"shell", b"")
    loop.client.conn.sendRequest(
        channel, b"window-change", session.packRequest_window_change((30, 100, 0, 0))
    )
    loop.pump()
    s = loop.server.avatar.sessions[0]
    assert s.pty == (b"xterm", (24, 80, 0, 0))
    assert s.windowSizes == [(30, 100, 0, 0)]


def test_envAllowList() -> None:
    loop = loggedIn()
    channel = _openSession(loop)
    answers: list[Any] = []
    for name in (b"LANG", b"LD_PRELOAD"):
        d = loop.client.conn.sendRequest(
            channel, b"env", common.NS(name) + common.NS(b"value"), wantReply=True
        )
        d.addCallbacks(lambda _: answers.append(True), lambda _: answers.append(False))
    loop.pump()
    assert answers == [True, False]


def test_unknownChannelTypeRefused() -> None:
    loop = loggedIn()
    channel = ClientSession()
    channel.name = b"x11"
    failures: list[Any] = []
    channel.openFailed = failures.append  # type: ignore[method-assign]
    loop.client.conn.openChannel(channel)
    loop.pump()
    assert len(failures) == 1
    assert failures[0].data == 3


def test_globalRequest() -> None:
    loop = loggedIn()
    d = loop.client.conn.sendGlobalRequest(b"test-global", b"q", wantReply=True)
    results: list[Any] = []
    d.addBoth(results.append)
    d2 = loop.client.conn.sendGlobalRequest(b"tcpip-forward", b"q", wantReply=True)
    d2.addErrback(results.append)
    loop.pump()
    assert results[0] == b"answer:q"
    assert len(results) == 2


def _disconnectCode(data: bytes) -> int:
    """The reason code of an unencrypted DISCONNECT packet at the end of ``data``."""
    index = data.rfind(b"\x01\x00\x00\x00")
    return int.from_bytes(data[index + 1 : index + 5], "big")


def test_unknownChannelIdDisconnects() -> None:
    loop = loggedIn()
    loop.client.sendPacket(94, b"\x00\x00\x00\x63" + common.NS(b"data"))
    loop.pump()
    assert loop.serverTransport.disconnecting


def test_windowOverrunDisconnects() -> None:
    loop = loggedIn()
    channel = _openSession(loop)
    serverChannel = loop.server.service.channels[0]
    loop.client.sendPacket(
        94, (0).to_bytes(4, "big") + common.NS(b"x" * (serverChannel.localWindowSize + 1))
    )
    loop.pump()
    assert loop.serverTransport.disconnecting
    assert channel.opened


def test_garbageAfterVersion() -> None:
    f = makeFactory(Clock())
    server = f.buildProtocol(None)
    t = StringTransport()
    server.makeConnection(t)
    t.clear()
    server.dataReceived(b"SSH-2.0-test\r\n" + b"\xff" * 64)
    assert t.disconnecting
    assert _disconnectCode(t.value()) == DISCONNECT_PROTOCOL_ERROR


def test_notSSH() -> None:
    f = makeFactory(Clock())
    server = f.buildProtocol(None)
    t = StringTransport()
    server.makeConnection(t)
    t.clear()
    server.dataReceived(b"GET / HTTP/1.1\r\n")
    assert t.disconnecting
    assert _disconnectCode(t.value()) == DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED


def test_messageBeforeNewKeysDisconnects() -> None:
    """A service message in the clear before NEWKEYS (strict or not) ends the connection."""
    f = makeFactory(Clock())
    server = f.buildProtocol(None)
    t = StringTransport()
    server.makeConnection(t)
    t.clear()
    writer = PacketWriter()
    server.dataReceived(b"SSH-2.0-test\r\n" + writer.encode(b"\x05" + common.NS(b"ssh-userauth")))
    assert t.disconnecting
    assert _disconnectCode(t.value()) == DISCONNECT_PROTOCOL_ERROR


def test_rekeyTimer() -> None:
    loop = loggedIn()
    before = loop.server._machine._kexCount
    loop.clock.advance(loop.server.limits.rekeyInterval)
    loop.pump()
    assert loop.server._machine._kexCount == before + 1
    # Still usable afterwards.
    channel = _exec(loop, b"echo again")
    assert channel.received == b"again\n"


def test_sendKexInit() -> None:
    """Either side may start a key exchange at will; the connection goes on under new keys."""
    loop = loggedIn()
    before = loop.server._machine._kexCount
    loop.client.sendKexInit()
    loop.client.sendKexInit()  # one already running: nothing more
    loop.pump()
    assert loop.server._machine._kexCount == before + 1
    loop.server.sendKexInit()
    loop.pump()
    assert loop.server._machine._kexCount == before + 2
    channel = _exec(loop, b"echo again")
    assert channel.received == b"again\n"


def test_noMoreMethods() -> None:
    """A client with nothing left to try gives up with a DISCONNECT of its own."""
    loop = Loop(AcceptingClient(useKey=False, password=None), makeFactory(Clock()))
    loop.pump()
    assert loop.clientTransport.disconnecting
    assert not loop.client.conn.started


@pytest.mark.parametrize("size", [1, 7, 64])
def test_byteAtATime(size: int) -> None:
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    for _ in range(200):
        toClient = loop.serverTransport.value()
        toServer = loop.clientTransport.value()
        if not toClient and not toServer:
            break
        loop.serverTransport.clear()
        loop.clientTransport.clear()
        for i in range(0, len(toServer), size):
            loop.server.dataReceived(toServer[i : i + size])
        for i in range(0, len(toClient), size):
            loop.client.dataReceived(toClient[i : i + size])
    assert loop.client.conn.started


def test_loginTimeout() -> None:
    loop = Loop(AcceptingClient(useKey=False, password=None), makeFactory(Clock()))
    loop.client.connectionSecure = lambda: None  # type: ignore[method-assign]
    loop.pump()
    assert not loop.serverTransport.disconnecting
    loop.clock.advance(loop.server.loginTimeout)
    assert loop.serverTransport.disconnecting


def test_loginTimeoutCancelledOnceIn() -> None:
    loop = loggedIn()
    loop.clock.advance(loop.server.loginTimeout)
    assert not loop.serverTransport.disconnecting


def test_slowConsumerHoldsTheWindow() -> None:
    """While the command's stdin is full, the window is not reopened: the client must wait."""
    loop = loggedIn()
    channel = ClientSession()
    loop.client.conn.openChannel(channel)
    loop.pump()
    loop.client.conn.sendRequest(channel, b"exec", common.NS(b"cat"))
    loop.pump()
    serverChannel = loop.server.service.channels[0]
    serverChannel.pauseProducing()
    channel.write(b"y" * (serverChannel.localWindowSize + 5000))
    loop.pump()
    assert len(channel.received) == serverChannel.localWindowSize
    assert channel.buf  # the rest waits on the client side
    serverChannel.resumeProducing()
    loop.pump()
    assert len(channel.received) == serverChannel.localWindowSize + 5000


def test_secondServiceRequestRefused() -> None:
    """Asking for ssh-userauth again would reset the attempt count: it ends the connection."""
    loop = Loop(AcceptingClient(useKey=False, password=None), makeFactory(Clock()))
    loop.client.connectionSecure = lambda: None  # type: ignore[method-assign]
    loop.pump()
    from glisten.conch.ssh import userauth

    class Idle(userauth.SSHUserAuthClient):
        def serviceStarted(self) -> None:
            pass

    loop.client.requestService(Idle(b"alice", loop.client.conn))
    loop.pump()
    assert not loop.serverTransport.disconnecting
    loop.client._machine.requestService(b"ssh-userauth")
    loop.client._flush()
    loop.pump()
    assert loop.serverTransport.disconnecting
