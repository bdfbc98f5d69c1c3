"""
Programs shaped like Twisted Conch's documentation examples (sshsimpleserver, sshsimpleclient),
with ``twisted`` renamed to ``glisten``, against OpenSSH.
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.ssh import channel, common, connection, keys, transport, userauth
from glisten.internet import defer
from glisten.internet.protocol import ClientFactory

from .conftest import freePort, requireBinary, sshKeygen, waitForPort

pytestmark = pytest.mark.interop

SIMPLE_SERVER = r"""
import sys
from zope.interface import implementer
from glisten.conch import avatar
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.ssh import connection, factory, keys, session, userauth
from glisten.conch.ssh.transport import SSHServerTransport
from glisten.cred import portal
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.internet import protocol, reactor
from glisten.python.components import registerAdapter

PORT, HOST_KEY, USER_KEY = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class ExampleAvatar(avatar.ConchUser):
    def __init__(self, username):
        avatar.ConchUser.__init__(self)
        self.username = username
        self.channelLookup.update({b"session": session.SSHSession})


@implementer(portal.IRealm)
class ExampleRealm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        return interfaces[0], ExampleAvatar(avatarId), lambda: None


class EchoProtocol(protocol.Protocol):
    def dataReceived(self, data):
        if data == b"\r":
            data = b"\r\n"
        elif data == b"\x03":
            self.transport.loseConnection()
            return
        self.transport.write(data)


@implementer(session.ISession, session.ISessionSetEnv)
class ExampleSession:
    def __init__(self, avatar):
        pass

    def getPty(self, term, windowSize, attrs):
        pass

    def setEnv(self, name, value):
        pass

    def execCommand(self, proto, cmd):
        raise Exception("not executing commands")

    def openShell(self, transport):
        protocol = EchoProtocol()
        protocol.makeConnection(transport)
        transport.makeConnection(session.wrapProtocol(protocol))

    def eofReceived(self):
        pass

    def closed(self):
        pass


registerAdapter(ExampleSession, ExampleAvatar, session.ISession, session.ISessionSetEnv)


class ExampleFactory(factory.SSHFactory):
    protocol = SSHServerTransport
    publicKeys = {b"ssh-rsa": keys.Key.fromFile(HOST_KEY + ".pub")}
    privateKeys = {b"ssh-rsa": keys.Key.fromFile(HOST_KEY)}
    services = {
        b"ssh-userauth": userauth.SSHUserAuthServer,
        b"ssh-connection": connection.SSHConnection,
    }


portal = portal.Portal(ExampleRealm())
passwdDB = InMemoryUsernamePasswordDatabaseDontUse()
passwdDB.addUser(b"user", b"password")
sshDB = SSHPublicKeyChecker(InMemorySSHKeyDB({b"user": [keys.Key.fromFile(USER_KEY + ".pub")]}))
portal.registerChecker(passwdDB)
portal.registerChecker(sshDB)
ExampleFactory.portal = portal

reactor.listenTCP(PORT, ExampleFactory(), interface="127.0.0.1")
reactor.run()
"""


@pytest.fixture(scope="module")
def simpleServer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    requireBinary("ssh")
    tmp = tmp_path_factory.mktemp("simple")
    hostKey = sshKeygen(tmp / "host_rsa", "rsa", 2048)
    userKey = sshKeygen(tmp / "user", "ed25519")
    script = tmp / "sshsimpleserver.py"
    script.write_text(SIMPLE_SERVER)
    port = freePort()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), str(hostKey), str(userKey)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        waitForPort(port, proc)
        yield {"port": port, "userKey": userKey}
    finally:
        proc.terminate()
        proc.wait(10)


def test_simpleServerShell(simpleServer: dict[str, Any]) -> None:
    """The echo shell of sshsimpleserver, through OpenSSH's client on a terminal, one key at a
    time (the example looks at single keystrokes)."""
    proc = subprocess.Popen(
        [
            requireBinary("ssh"),
            "-tt",
            "-p",
            str(simpleServer["port"]),
            "-i",
            str(simpleServer["userKey"]),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "user@127.0.0.1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen = b""

    def waitFor(expected: bytes) -> None:
        """Read the terminal's output until ``expected`` is in it: each key is typed only
        once the echo of the previous one came back."""
        nonlocal seen
        deadline = time.monotonic() + 30
        while expected not in seen:
            left = deadline - time.monotonic()
            assert left > 0, seen
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, seen
                seen += chunk

    try:
        for key, echo in ((b"h", b"h"), (b"i", b"hi"), (b"\r", b"hi\r\n")):
            proc.stdin.write(key)
            proc.stdin.flush()
            waitFor(echo)
        proc.stdin.write(b"\x03")
        proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"hi\r\n" in seen


def test_simpleServerRefusesExec(simpleServer: dict[str, Any]) -> None:
    result = subprocess.run(
        [
            requireBinary("ssh"),
            "-p",
            str(simpleServer["port"]),
            "-i",
            str(simpleServer["userKey"]),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "user@127.0.0.1",
            "true",
        ],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode != 0


# ----------------------------------------------------------------------------- sshsimpleclient


def _simpleClient(
    reactor: Any, keyPath: Path, results: dict[str, Any], done: defer.Deferred[Any]
) -> Any:
    def finished() -> None:
        # Twisted's example stops at the end of cat; here all three answers are awaited.
        if {"true", "false", "cat"} <= set(results) and not done.called:
            done.callback(None)

    class SimpleTransport(transport.SSHClientTransport):
        def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
            results["fingerprint"] = fingerprint
            return defer.succeed(1)

        def connectionSecure(self) -> None:
            self.requestService(SimpleUserAuth(b"root", SimpleConnection()))

    class SimpleUserAuth(userauth.SSHUserAuthClient):
        def getPassword(self, prompt: bytes | None = None) -> Any:
            return None

        def getPublicKey(self) -> Any:
            if self.lastPublicKey:
                return None
            return keys.Key.fromFile(str(keyPath) + ".pub").blob()

        def getPrivateKey(self) -> Any:
            return defer.succeed(keys.Key.fromFile(keyPath))

    class SimpleConnection(connection.SSHConnection):
        def serviceStarted(self) -> None:
            self.openChannel(TrueChannel(2**16, 2**15, self))
            self.openChannel(FalseChannel(2**16, 2**15, self))
            self.openChannel(CatChannel(2**16, 2**15, self))

    class TrueChannel(channel.SSHChannel):
        name = b"session"

        def channelOpen(self, ignoredData: bytes) -> None:
            self.conn.sendRequest(self, b"exec", common.NS(b"true"))

        def request_exit_status(self, data: bytes) -> int:
            results["true"] = struct.unpack(">L", data)[0]
            self.loseConnection()
            finished()
            return 1

    class FalseChannel(channel.SSHChannel):
        name = b"session"

        def channelOpen(self, ignoredData: bytes) -> None:
            self.conn.sendRequest(self, b"exec", common.NS(b"false"))

        def request_exit_status(self, data: bytes) -> int:
            results["false"] = struct.unpack(">L", data)[0]
            self.loseConnection()
            finished()
            return 1

    class CatChannel(channel.SSHChannel):
        name = b"session"

        def channelOpen(self, ignoredData: bytes) -> None:
            self.data = b""
            d = self.conn.sendRequest(self, b"exec", common.NS(b"cat"), wantReply=1)
            d.addCallback(self._cbRequest)

        def _cbRequest(self, ignored: Any) -> None:
            self.write(b"hello conch\n")
            self.conn.sendEOF(self)

        def dataReceived(self, data: bytes) -> None:
            self.data += data

        def closed(self) -> None:
            results["cat"] = self.data
            self.loseConnection()
            finished()

    factory = ClientFactory.forProtocol(SimpleTransport)
    factory.reactor = reactor  # type: ignore[attr-defined]
    return factory


def test_simpleClientAgainstSshd(opensshServer: dict[str, Any]) -> None:
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    results: dict[str, Any] = {}
    done: defer.Deferred[Any] = defer.Deferred()
    factory = _simpleClient(reactor, opensshServer["userKeys"]["ed25519"], results, done)
    reactor.connectTCP("127.0.0.1", opensshServer["port"], factory)
    done.addBoth(lambda _: reactor.stop())
    timeout = reactor.callLater(30, reactor.stop)
    reactor.run()
    if timeout.active():
        timeout.cancel()
    assert results["cat"] == b"hello conch\n"
    assert results["true"] == 0
    assert results["false"] == 1
    assert len(results["fingerprint"].split(b":")) == 16
