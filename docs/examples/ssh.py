"""An SSH server with its own shell (a tiny calculator, no operating-system shell behind it)
and a client that runs commands on it through ``SSHCommandClientEndpoint``.

The server side is three pieces: a *realm* that gives each user an avatar, the avatar's
*session* (``ISession``: what ``shell`` and ``exec`` requests start), and an ``SSHFactory``
with a host key and a ``Portal`` that checks the users' public keys. The client checks the
server's host key against a ``KnownHostsFile`` and logs in with a key.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.conch.avatar import ConchUser
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import SSHCommandClientEndpoint
from glisten.conch.interfaces import IConchUser, ISession
from glisten.conch.ssh import session
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import Key
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, error, protocol, task
from glisten.protocols.basic import LineReceiver
from glisten.python import components
from glisten.python.failure import Failure


class Calculator(LineReceiver):
    """The shell: ``add 2 3``, ``mul 4 5``, ``quit``. Lines end with LF, as a terminal sends."""

    delimiter = b"\n"
    prompt = b"calc> "
    mistakes = 0

    def connectionMade(self) -> None:
        self.transport.write(self.prompt)

    def lineReceived(self, line: bytes) -> None:
        words = line.decode("utf-8", "replace").split()
        if words == ["quit"]:
            self.transport.loseConnection()
            return
        try:
            operation, *numbers = words
            values = [int(n) for n in numbers]
            result = {"add": sum, "mul": _product}[operation](values)
        except (ValueError, KeyError):
            self.mistakes += 1
            self.transport.write(b"usage: add|mul NUMBER... or quit\n" + self.prompt)
            return
        self.transport.write(b"%d\n" % result + self.prompt)


def _product(values: list[int]) -> int:
    result = 1
    for v in values:
        result *= v
    return result


@implementer(ISession)
class CalculatorSession:
    """What one session channel runs: the calculator as the shell, or one line of it as a
    command (``ssh host add 2 3``), whose exit status says whether the line was understood."""

    def __init__(self, avatar: User) -> None:
        self.avatar = avatar

    def openShell(self, proto: Any) -> None:
        shell = Calculator()
        shell.makeConnection(session.wrapProcessProtocol(proto))
        proto.makeConnection(session.wrapProtocol(shell))

    def execCommand(self, proto: Any, command: bytes) -> None:
        shell = Calculator()
        shell.prompt = b""
        shell.makeConnection(session.wrapProcessProtocol(proto))
        proto.makeConnection(session.wrapProtocol(shell))
        # Answer on the next turn of the reactor: the server accepts the request first.
        self.avatar.reactor.callLater(0, self._answer, shell, proto, command)

    def _answer(self, shell: Calculator, proto: Any, command: bytes) -> None:
        shell.lineReceived(command)
        if shell.mistakes:
            proto.processEnded(Failure(error.ProcessTerminated(exitCode=2)))
        else:
            proto.processEnded(Failure(error.ProcessDone(None)))

    def getPty(self, term: bytes, windowSize: Any, modes: Any) -> None:
        pass  # the calculator draws nothing, so the terminal's size does not matter

    def windowChanged(self, newWindowSize: Any) -> None:
        pass

    def eofReceived(self) -> None:
        pass

    def closed(self) -> None:
        pass


class User(ConchUser):
    def __init__(self, reactor: Any) -> None:
        super().__init__()
        self.reactor = reactor
        self.channelLookup[b"session"] = session.SSHSession


@implementer(IRealm)
class Realm:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return IConchUser, User(self.reactor), lambda: None


# The session of every User is a CalculatorSession, found through the adapter registry.
components.registerAdapter(CalculatorSession, User, ISession)


class Output(protocol.Protocol):
    """Collects a command's output; ``done`` fires with it, or fails with its exit status."""

    def __init__(self) -> None:
        self.data = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if reason.check(error.ProcessTerminated):
            self.done.errback(reason)
        else:
            self.done.callback(self.data)


async def main(reactor: Any) -> None:
    hostKey, userKey = Key.generate("ed25519"), Key.generate("ed25519")
    portal = Portal(Realm(reactor))
    portal.registerChecker(SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [userKey.public()]})))
    server = SSHFactory()
    server.privateKeys = {b"ssh-ed25519": hostKey}
    server.portal = portal
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    portNumber = port.getHost().port

    # The client trusts exactly this host key for this address (no file on disk: None).
    knownHosts = KnownHostsFile(None)
    knownHosts.addHostKey(b"[127.0.0.1]:%d" % portNumber, hostKey.public())
    for command in ("add 2 3", "mul 6 7", "divide 1 0"):
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            command,
            "alice",
            "127.0.0.1",
            portNumber,
            keys=[userKey],
            knownHosts=knownHosts,
        )
        output = await endpoint.connect(protocol.Factory.forProtocol(Output))
        try:
            print(f"{command} = {(await output.done).decode().strip()}")
        except error.ProcessTerminated as e:
            print(f"{command}: exit status {e.exitCode}")
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
