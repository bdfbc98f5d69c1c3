"""Helpers: glisten's SSH server and client protocols connected in memory."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.conch import checkers
from glisten.conch.avatar import ConchUser
from glisten.conch.interfaces import IConchUser, ISession, ISessionSetEnv
from glisten.conch.ssh import connection, factory, session, transport, userauth
from glisten.conch.ssh.keys import Key
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer
from glisten.internet.error import ProcessDone, ProcessTerminated
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.python.components import registerAdapter
from glisten.python.failure import Failure

from ._pairs import hostKey

USER_KEY = Key.generate("ed25519")


class EchoSession:
    """An ISession without processes: ``exec`` commands are handled in Python."""

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar
        self.env: dict[bytes, bytes] = {}
        self.pty: Any = None
        self.windowSizes: list[Any] = []
        self.proto: Any = None
        self.eof = False
        self.wasClosed = False

    def getPty(self, term: bytes, windowSize: Any, modes: Any) -> None:
        self.pty = (term, windowSize)

    def windowChanged(self, newWindowSize: Any) -> None:
        self.windowSizes.append(newWindowSize)

    def openShell(self, proto: Any) -> None:
        self.proto = proto
        proto.makeConnection(_FakeProcess(proto))

    def execCommand(self, proto: Any, command: bytes) -> None:
        self.proto = proto
        process = _FakeProcess(proto)
        proto.makeConnection(process)
        if command.startswith(b"echo "):
            proto.outReceived(command[5:] + b"\n")
            proto.processEnded(Failure(ProcessDone(0)))
        elif command.startswith(b"exit "):
            proto.processEnded(Failure(ProcessTerminated(int(command[5:]))))
        elif command.startswith(b"big "):
            proto.outReceived(b"x" * int(command[4:]))
            proto.processEnded(Failure(ProcessDone(0)))
        elif command == b"cat":
            process.echo = True
        elif command == b"env":
            proto.outReceived(repr(sorted(self.env.items())).encode())
            proto.processEnded(Failure(ProcessDone(0)))
        else:
            raise ValueError("unknown command")

    def setEnv(self, name: bytes, value: bytes) -> None:
        if name != b"LANG":
            raise ValueError("not allowed")
        self.env[name] = value

    def eofReceived(self) -> None:
        self.eof = True
        if self.proto is not None and self.proto.transport.echo:
            self.proto.processEnded(Failure(ProcessDone(0)))

    def closed(self) -> None:
        self.wasClosed = True


implementer(ISession, ISessionSetEnv)(EchoSession)


class _FakeProcess:
    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.echo = False
        self.paused = 0
        self.resumed = 0
        self.signals: list[Any] = []

    def write(self, data: bytes) -> None:
        if self.echo:
            self.proto.outReceived(data)

    def closeStdin(self) -> None:
        pass

    def loseConnection(self) -> None:
        pass

    def pauseProducing(self) -> None:
        self.paused += 1

    def resumeProducing(self) -> None:
        self.resumed += 1

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


class TestAvatar(ConchUser):
    def __init__(self, username: bytes) -> None:
        super().__init__()
        self.username = username
        self.channelLookup[b"session"] = session.SSHSession
        self.sessions: list[EchoSession] = []

    def global_test_global(self, data: bytes) -> Any:
        return True, b"answer:" + data


def _sessionFor(avatar: TestAvatar) -> EchoSession:
    s = EchoSession(avatar)
    avatar.sessions.append(s)
    return s


registerAdapter(_sessionFor, TestAvatar, ISession)


@implementer(IRealm)
class TestRealm:
    def __init__(self) -> None:
        self.avatars: list[TestAvatar] = []
        self.loggedOut = 0

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        avatar = TestAvatar(avatarId)
        self.avatars.append(avatar)

        def logout() -> None:
            self.loggedOut += 1

        return IConchUser, avatar, logout


def makeFactory(clock: Clock, passwords: bool = True) -> factory.SSHFactory:
    realm = TestRealm()
    portal = Portal(realm)
    portal.registerChecker(
        checkers.SSHPublicKeyChecker(checkers.InMemorySSHKeyDB({b"alice": [USER_KEY.public()]}))
    )
    if passwords:
        portal.registerChecker(InMemoryUsernamePasswordDatabaseDontUse(alice=b"sekrit"))
    f = factory.SSHFactory()
    f.privateKeys = {b"ssh-ed25519": hostKey()}
    f.portal = portal
    f.reactor = clock
    f.realm = realm  # type: ignore[attr-defined]
    return f


class Loop:
    """A server transport and a client transport talking through StringTransports."""

    def __init__(
        self, client: transport.SSHClientTransport, serverFactory: factory.SSHFactory
    ) -> None:
        self.clock: Clock = serverFactory.reactor
        self.server = serverFactory.buildProtocol(None)
        self.client = client
        self.client.factory = _ClientFactory(self.clock)
        self.serverTransport = StringTransport()
        self.clientTransport = StringTransport()
        self.server.makeConnection(self.serverTransport)
        self.client.makeConnection(self.clientTransport)

    def pump(self, rounds: int = 100) -> None:
        """Carry bytes both ways until both sides are quiet, running the reactor turns that
        a transport leaves the rest of a long read to (``maxPacketsPerTurn``)."""
        for _ in range(rounds):
            toClient = self.serverTransport.value()
            toServer = self.clientTransport.value()
            if not toClient and not toServer:
                if not self._turnsDue():
                    return
                self.clock.advance(0)
                continue
            self.serverTransport.clear()
            self.clientTransport.clear()
            if toServer and not self.serverTransport.disconnecting:
                self.server.dataReceived(toServer)
            if toClient and not self.clientTransport.disconnecting:
                self.client.dataReceived(toClient)

    def _turnsDue(self) -> bool:
        now = self.clock.seconds()
        return any(call.getTime() <= now for call in self.clock.getDelayedCalls())


class _ClientFactory:
    def __init__(self, clock: Clock) -> None:
        self.reactor = clock


class AcceptingClient(transport.SSHClientTransport):
    """A client that trusts any host key and logs in as alice with a key or password."""

    def __init__(
        self, useKey: bool = True, password: bytes | None = None, user: bytes = b"alice"
    ) -> None:
        self.useKey = useKey
        self.password = password
        self.user = user
        self.secure = False
        self.conn = ClientConnection()
        self.auth: Any = None

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
        self.hostKey = hostKey
        return defer.succeed(True)

    def connectionSecure(self) -> None:
        self.secure = True
        self.auth = ClientAuth(
            self.user, self.conn, USER_KEY if self.useKey else None, self.password
        )
        self.requestService(self.auth)


class ClientAuth(userauth.SSHUserAuthClient):
    def __init__(self, user: bytes, instance: Any, key: Key | None, password: bytes | None) -> None:
        super().__init__(user, instance)
        self.key = key
        self.password = password
        self.banners: list[bytes] = []

    def getPublicKey(self) -> Key | None:
        key, self.key = self.key, None
        self.lastKey = key
        return key.public() if key is not None else None

    def getPrivateKey(self) -> defer.Deferred[Key]:
        return defer.succeed(self.lastKey)

    def getPassword(self, prompt: bytes | None = None) -> defer.Deferred[bytes] | None:
        if self.password is None:
            return None
        return defer.succeed(self.password)

    def displayBanner(self, text: bytes) -> None:
        self.banners.append(text)


class ClientConnection(connection.SSHConnection):
    started = False

    def serviceStarted(self) -> None:
        super().serviceStarted()
        self.started = True


class ClientSession(session.SSHSession):
    """A client-side session channel collecting what comes back."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.received = b""
        self.stderr = b""
        self.exitStatus: int | None = None
        self.opened = False
        self.eof = False
        self.isClosed = False

    def channelOpen(self, specificData: bytes) -> None:
        self.opened = True

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def extReceived(self, dataType: int, data: bytes) -> None:
        self.stderr += data

    def eofReceived(self) -> None:
        self.eof = True

    def request_exit_status(self, data: bytes) -> int:
        self.exitStatus = int.from_bytes(data, "big")
        return 1

    def closed(self) -> None:
        self.isClosed = True
