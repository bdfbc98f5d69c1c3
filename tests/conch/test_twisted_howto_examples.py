"""
The programs of Twisted Conch's client and server howtos, in their shape, with ``twisted``
renamed to ``glisten``: ``echoclient_ssh`` (a client on ``SSHCommandClientEndpoint`` with
Twisted's command-line options, sending noise to ``cat``), ``echoclient_shared_ssh`` (a
second command on the same connection, ``existingConnection``), and an SSH server written
the howto's way (realm, avatar, ``ISession`` adapter, factory with a portal) that OpenSSH's
``ssh`` logs in to. Each runs as its own process, against OpenSSH.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import pythonServer, requireBinary, sshKeygen
from .test_kbdint_interop import sshWithAskpass
from .test_openssh_client import ssh

pytestmark = pytest.mark.interop

ECHOCLIENT_SSH = r'''
"""Send a few words to /bin/cat on an SSH server and show what comes back."""

if __name__ == "__main__":
    import sys

    import echoclient_ssh
    from glisten.internet.task import react

    react(echoclient_ssh.main, sys.argv[1:])

import getpass
import os

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import SSHCommandClientEndpoint
from glisten.conch.ssh.keys import EncryptedKeyError, Key
from glisten.internet.defer import Deferred
from glisten.internet.endpoints import UNIXClientEndpoint
from glisten.internet.protocol import Factory, Protocol
from glisten.python.filepath import FilePath
from glisten.python.usage import Options


class EchoOptions(Options):
    optParameters = [
        ("host", "h", "localhost", "the SSH server's host name"),
        ("port", "p", 22, "the SSH server's port", int),
        ("username", "u", getpass.getuser(), "the user to log in as"),
        ("identity", "i", None, "a private key file to log in with"),
        ("password", None, None, "a password to log in with"),
        ("knownhosts", "k", "~/.ssh/known_hosts", "the known host keys"),
    ]
    optFlags = [["no-agent", None, "do not use an SSH agent"]]


class NoiseProtocol(Protocol):
    """Writes one word at a time and waits for the echo of each before the next."""

    def connectionMade(self):
        self.finished = Deferred()
        self.strings = ["bif", "pow", "zot"]
        self.sendNoise()

    def sendNoise(self):
        if self.strings:
            self.transport.write(self.strings.pop(0).encode("ascii") + b"\n")
        else:
            self.transport.loseConnection()

    def dataReceived(self, data):
        print("Server says:", data)
        self.sendNoise()

    def connectionLost(self, reason):
        self.finished.callback(None)


def readKey(path):
    try:
        return Key.fromFile(path)
    except EncryptedKeyError:
        passphrase = getpass.getpass(f"{path!r} keyphrase: ")
        return Key.fromFile(path, passphrase=passphrase)


class ConnectionParameters:
    def __init__(self, reactor, host, port, username, password, keys, knownHosts, agent):
        self.reactor = reactor
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.keys = keys
        self.knownHosts = knownHosts
        self.agent = agent

    @classmethod
    def fromCommandLine(cls, reactor, argv):
        config = EchoOptions()
        config.parseOptions(argv)
        keys = []
        if config["identity"]:
            keyPath = os.path.expanduser(config["identity"])
            if os.path.exists(keyPath):
                keys.append(readKey(keyPath))
        knownHostsPath = FilePath(os.path.expanduser(config["knownhosts"]))
        knownHosts = KnownHostsFile.fromPath(knownHostsPath.path)
        if config["no-agent"] or "SSH_AUTH_SOCK" not in os.environ:
            agentEndpoint = None
        else:
            agentEndpoint = UNIXClientEndpoint(reactor, os.environ["SSH_AUTH_SOCK"])
        return cls(
            reactor,
            config["host"],
            config["port"],
            config["username"],
            config["password"],
            keys,
            knownHosts,
            agentEndpoint,
        )

    def endpointForCommand(self, command):
        return SSHCommandClientEndpoint.newConnection(
            self.reactor,
            command,
            self.username,
            self.host,
            port=self.port,
            keys=self.keys,
            password=self.password,
            agentEndpoint=self.agent,
            knownHosts=self.knownHosts,
        )


def main(reactor, *argv):
    parameters = ConnectionParameters.fromCommandLine(reactor, argv)
    endpoint = parameters.endpointForCommand(b"/bin/cat")
    factory = Factory()
    factory.protocol = NoiseProtocol
    d = endpoint.connect(factory)
    d.addCallback(lambda proto: proto.finished)
    return d
'''

ECHOCLIENT_SHARED_SSH = r'''
"""Run several commands over one SSH connection, which an idle cat keeps open."""

if __name__ == "__main__":
    import sys

    import echoclient_shared_ssh
    from glisten.internet.task import react

    react(echoclient_shared_ssh.main, sys.argv[1:])

from echoclient_ssh import ConnectionParameters

from glisten.conch.endpoints import SSHCommandClientEndpoint
from glisten.internet.defer import Deferred, gatherResults
from glisten.internet.protocol import Factory, Protocol


class PrinterProtocol(Protocol):
    def dataReceived(self, data):
        print("Got some data:", data)

    def connectionLost(self, reason):
        self.factory.done.callback(None)


async def main(reactor, *argv):
    parameters = ConnectionParameters.fromCommandLine(reactor, argv)
    endpoint = parameters.endpointForCommand(b"/bin/cat")
    # The first command's channel holds the connection; the others share it.
    anchor = await endpoint.connect(Factory.forProtocol(Protocol))
    connection = anchor.transport.conn
    done = []
    for i in range(5):
        factory = Factory.forProtocol(PrinterProtocol)
        factory.done = Deferred()
        done.append(factory.done)
        command = SSHCommandClientEndpoint.existingConnection(connection, b"/bin/echo %d" % i)
        await command.connect(factory)
    await gatherResults(done)
'''

SSH_SERVER_HOWTO = r'''
"""
An SSH server in the howto's pieces: users log in with a password or a key; their
avatar's session runs a few commands in Python (no operating-system shell behind it).
"""

import sys

from zope.interface import implementer

from glisten.conch import avatar
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.ssh import connection, factory, keys, session, userauth
from glisten.cred import portal
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.internet import reactor
from glisten.internet.error import ProcessDone, ProcessTerminated
from glisten.python import components
from glisten.python.failure import Failure

PORT, HOST_KEY, USER_KEY = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class HowtoAvatar(avatar.ConchUser):
    """What a logged-in user is: it may open session channels."""

    def __init__(self, username):
        avatar.ConchUser.__init__(self)
        self.username = username
        self.channelLookup.update({b"session": session.SSHSession})


@implementer(portal.IRealm)
class HowtoRealm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        return interfaces[0], HowtoAvatar(avatarId), lambda: None


@implementer(session.ISession)
class HowtoSession:
    """``whoami``, ``echo WORDS`` and ``add N N...``; no shells, no terminals."""

    def __init__(self, avatar):
        self.avatar = avatar

    def getPty(self, term, windowSize, modes):
        raise ValueError("no terminals here")

    def openShell(self, protocol):
        raise ValueError("no shells here")

    def execCommand(self, protocol, command):
        words = command.split()
        if words == [b"whoami"]:
            protocol.outReceived(self.avatar.username + b"\n")
            protocol.processEnded(Failure(ProcessDone(0)))
        elif words[:1] == [b"echo"]:
            protocol.outReceived(b" ".join(words[1:]) + b"\n")
            protocol.processEnded(Failure(ProcessDone(0)))
        elif words[:1] == [b"add"]:
            total = sum(int(w) for w in words[1:])
            protocol.outReceived(b"%d\n" % total)
            protocol.processEnded(Failure(ProcessDone(0)))
        else:
            protocol.errReceived(b"unknown command\n")
            protocol.processEnded(Failure(ProcessTerminated(3)))

    def windowChanged(self, newWindowSize):
        pass

    def eofReceived(self):
        pass

    def closed(self):
        pass


components.registerAdapter(HowtoSession, HowtoAvatar, session.ISession)


class HowtoFactory(factory.SSHFactory):
    publicKeys = {b"ssh-ed25519": keys.Key.fromFile(HOST_KEY + ".pub")}
    privateKeys = {b"ssh-ed25519": keys.Key.fromFile(HOST_KEY)}
    services = {
        b"ssh-userauth": userauth.SSHUserAuthServer,
        b"ssh-connection": connection.SSHConnection,
    }


howtoPortal = portal.Portal(HowtoRealm())
passwords = InMemoryUsernamePasswordDatabaseDontUse()
passwords.addUser(b"alice", b"rabbit hole")
howtoPortal.registerChecker(passwords)
howtoPortal.registerChecker(
    SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [keys.Key.fromFile(USER_KEY + ".pub")]}))
)
HowtoFactory.portal = howtoPortal

reactor.listenTCP(PORT, HowtoFactory(), interface="127.0.0.1")
reactor.run()
'''


def _clientFolder(tmp: Path, opensshServer: dict[str, Any]) -> Path:
    folder = tmp / "client"
    folder.mkdir()
    (folder / "echoclient_ssh.py").write_text(ECHOCLIENT_SSH)
    (folder / "echoclient_shared_ssh.py").write_text(ECHOCLIENT_SHARED_SSH)
    hostKey = Path(str(opensshServer["hostKeys"][0]) + ".pub").read_text().split()
    (folder / "known_hosts").write_text(
        f"[127.0.0.1]:{opensshServer['port']} {hostKey[0]} {hostKey[1]}\n"
    )
    return folder


def _runClient(
    folder: Path, program: str, opensshServer: dict[str, Any], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            sys.executable,
            program,
            "--host",
            "127.0.0.1",
            "--port",
            str(opensshServer["port"]),
            "--username",
            "root",
            "--identity",
            str(opensshServer["userKeys"]["ed25519"]),
            "--knownhosts",
            str(folder / "known_hosts"),
            "--no-agent",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_echoclientSsh(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    folder = _clientFolder(tmp_path, opensshServer)
    out = _runClient(folder, "echoclient_ssh.py", opensshServer).stdout
    # cat may give a word back in pieces; together they are the three words, in order.
    echoed = "".join(
        ast.literal_eval(line.split(":", 1)[1].strip()).decode()
        for line in out.splitlines()
        if line.startswith("Server says:")
    )
    assert echoed == "bif\npow\nzot\n"


def test_echoclientSharedSsh(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    folder = _clientFolder(tmp_path, opensshServer)
    out = _runClient(folder, "echoclient_shared_ssh.py", opensshServer).stdout
    assert sorted(out.splitlines()) == [f"Got some data: b'{i}\\n'" for i in range(5)]


def test_echoclientRefusesUnknownHost(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    folder = _clientFolder(tmp_path, opensshServer)
    (folder / "known_hosts").write_text("")
    result = _runClient(folder, "echoclient_ssh.py", opensshServer, check=False)
    assert result.returncode != 0
    assert "Server says" not in result.stdout


@pytest.fixture(scope="module")
def howtoServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    requireBinary("ssh")
    tmp = tmp_path_factory.mktemp("howto-server")
    hostKey = sshKeygen(tmp / "host_ed25519", "ed25519")
    userKey = sshKeygen(tmp / "user", "ed25519")
    with pythonServer(
        tmp, "sshserver_howto.py", SSH_SERVER_HOWTO, str(hostKey), str(userKey)
    ) as port:
        yield {
            "port": port,
            "key": userKey,
            "strangerKey": sshKeygen(tmp / "stranger", "ed25519"),
            "tmp": tmp,
            "user": "alice",
        }


def test_howtoServerRunsCommands(howtoServer: dict[str, Any]) -> None:
    assert ssh(howtoServer, "alice@127.0.0.1", "whoami").stdout == b"alice\n"
    assert ssh(howtoServer, "alice@127.0.0.1", "add 2 3 37").stdout == b"42\n"
    failed = ssh(howtoServer, "alice@127.0.0.1", "rm -rf /")
    assert failed.returncode == 3 and failed.stderr == b"unknown command\n"


def test_howtoServerPassword(howtoServer: dict[str, Any]) -> None:
    """The password, given through SSH_ASKPASS as a person would type it."""
    result, asked = sshWithAskpass(howtoServer, "rabbit hole", "password")
    assert result.stdout == b"kbd-ok\n", result.stderr
    result, asked = sshWithAskpass(howtoServer, "rabbit hole", "keyboard-interactive")
    assert result.stdout == b"kbd-ok\n", result.stderr
    assert asked[-1].endswith("Password: ")


def test_howtoServerRefusesShellsAndStrangers(howtoServer: dict[str, Any]) -> None:
    shell = ssh(howtoServer, "-T", "alice@127.0.0.1")
    assert shell.returncode != 0 and shell.stdout == b""
    stranger = ssh(howtoServer, "alice@127.0.0.1", "whoami", key=howtoServer["strangerKey"])
    assert stranger.returncode == 255
    # The session's refusal is logged (as Twisted logs it), and the server carries on.
    assert b"error opening a shell" in (Path(howtoServer["tmp"]) / "server.log").read_bytes()
    assert ssh(howtoServer, "alice@127.0.0.1", "whoami").stdout == b"alice\n"
