"""A manhole over glisten's own SSH, in memory: terminal, window changes, commands refused."""

from __future__ import annotations

from typing import Any

from glisten.conch import checkers, manhole, manhole_ssh
from glisten.conch.insults import helper, insults
from glisten.conch.ssh import common, session
from glisten.cred.portal import Portal
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport

from ._loop import USER_KEY, AcceptingClient, ClientSession, Loop
from ._pairs import hostKey


class Sizes(manhole.Manhole):
    sizes: list[tuple[int, int]] = []

    def terminalSize(self, width: int, height: int) -> None:
        Sizes.sizes.append((width, height))
        super().terminalSize(width, height)


def _factory(namespace: dict[str, Any]) -> manhole_ssh.ConchFactory:
    realm = manhole_ssh.TerminalRealm()
    realm.chainedProtocolFactory = lambda: insults.ServerProtocol(Sizes, namespace)
    portal = Portal(realm)
    portal.registerChecker(
        checkers.SSHPublicKeyChecker(checkers.InMemorySSHKeyDB({b"alice": [USER_KEY.public()]}))
    )
    factory = manhole_ssh.ConchFactory(portal)
    factory.privateKeys = {b"ssh-ed25519": hostKey()}
    factory.reactor = Clock()
    return factory


class Terminal(ClientSession):
    """The client's channel shown on a screen model."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.screen = helper.TerminalBuffer()
        self.vt = insults.ClientProtocol(lambda: self.screen)
        self.vt.reactor = self.clock = Clock()
        self.vt.makeConnection(StringTransport())

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        self.vt.dataReceived(data)
        self.clock.advance(0)


def _shell(loop: Loop) -> Terminal:
    channel = Terminal()
    loop.client.conn.openChannel(channel)
    loop.pump()
    pty = session.packRequest_pty_req(b"xterm", (30, 100, 0, 0), b"")
    loop.client.conn.sendRequest(channel, b"pty-req", pty, wantReply=True)
    loop.client.conn.sendRequest(channel, b"shell", b"", wantReply=True)
    loop.pump()
    return channel


def test_manholeOverSSH() -> None:
    Sizes.sizes = []
    namespace = {"answer": 42}
    loop = Loop(AcceptingClient(), _factory(namespace))
    loop.pump()
    channel = _shell(loop)
    assert Sizes.sizes == [(100, 30)]
    loop.client.conn.sendData(channel, b"answer + 1\r")
    loop.pump()
    assert "43" in str(channel.screen)
    loop.client.conn.sendRequest(
        channel, b"window-change", session.packRequest_window_change((40, 120, 0, 0))
    )
    loop.pump()
    assert Sizes.sizes[-1] == (120, 40)
    loop.client.conn.sendData(channel, b"\x04")
    loop.pump()
    assert channel.isClosed


def test_commandsAreRefused() -> None:
    loop = Loop(AcceptingClient(), _factory({}))
    loop.pump()
    channel = ClientSession()
    loop.client.conn.openChannel(channel)
    loop.pump()
    failures: list[Any] = []
    d = loop.client.conn.sendRequest(channel, b"exec", common.NS(b"ls"), wantReply=True)
    d.addErrback(failures.append)
    loop.pump()
    assert len(failures) == 1


def test_eofEndsTheSession() -> None:
    loop = Loop(AcceptingClient(), _factory({}))
    loop.pump()
    channel = _shell(loop)
    loop.client.conn.sendEOF(channel)
    loop.pump()
    assert channel.isClosed
