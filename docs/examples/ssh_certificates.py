"""OpenSSH certificates: one CA key vouches for the server's host key and another for the users'
keys, so neither side keeps a list of the other's keys.

The server trusts user certificates signed by ``userCA`` for the names they list
(``trustedUserCAKeys``, OpenSSH's ``TrustedUserCAKeys``) and serves a host certificate signed by
``hostCA``; the client's ``known_hosts`` holds only an ``@cert-authority`` line for ``hostCA``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from zope.interface import implementer

from glisten.conch.avatar import ConchUser
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import AuthenticationFailed, SSHCommandClientEndpoint
from glisten.conch.interfaces import IConchUser, ISession
from glisten.conch.ssh import session
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import CERT_HOST, CERT_USER, Key
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, error, protocol, task
from glisten.python import components
from glisten.python.failure import Failure


class User(ConchUser):
    def __init__(self, avatarId: Any, reactor: Any) -> None:
        super().__init__()
        self.reactor = reactor
        # A certificate login's avatar ID carries the certificate that let the user in.
        self.certificate = avatarId.authorizedKey.certificate
        self.username = bytes(avatarId)
        self.channelLookup[b"session"] = session.SSHSession


@implementer(ISession)
class Greeting:
    """``exec`` says who logged in and with which certificate, then ends."""

    def __init__(self, avatar: User) -> None:
        self.avatar = avatar

    def execCommand(self, proto: Any, command: bytes) -> None:
        proto.makeConnection(session.wrapProtocol(protocol.Protocol()))
        # Answer on the next turn of the reactor: the server accepts the request first.
        self.avatar.reactor.callLater(0, self._answer, proto)

    def _answer(self, proto: Any) -> None:
        cert = self.avatar.certificate
        text = "%s logged in with certificate %r (serial %d)\n" % (
            self.avatar.username.decode(),
            cert.keyId.decode(),
            cert.serial,
        )
        proto.outReceived(text.encode())
        proto.processEnded(Failure(error.ProcessDone(None)))

    def eofReceived(self) -> None:
        pass

    def closed(self) -> None:
        pass


components.registerAdapter(Greeting, User, ISession)


@implementer(IRealm)
class Realm:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return IConchUser, User(avatarId, self.reactor), lambda: None


class Output(protocol.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.done.callback(self.data)


async def main(reactor: Any) -> None:
    hostCA, userCA = Key.generate("ed25519"), Key.generate("ed25519")

    # The server: its host key, the certificate hostCA issued for it, and trust in userCA.
    hostKey = Key.generate("ed25519")
    hostCert = hostCA.signCertificate(hostKey, CERT_HOST, "server", ["127.0.0.1"])
    portal = Portal(Realm(reactor))
    portal.registerChecker(SSHPublicKeyChecker(InMemorySSHKeyDB({}), [userCA.public()]))
    server = SSHFactory()
    server.privateKeys = {
        b"ssh-ed25519": hostKey,
        hostCert.sshType(): hostKey.withCertificate(hostCert),
    }
    server.portal = portal
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    portNumber = port.getHost().port

    # The client: only the host CA in known_hosts, and a key with its user certificate.
    folder = Path(tempfile.mkdtemp())
    knownHosts = folder / "known_hosts"
    knownHosts.write_bytes(b"@cert-authority * " + hostCA.public().toString("openssh") + b"\n")
    key = Key.generate("ed25519")
    now = int(time.time())

    async def run(certificate: Key) -> str:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"who",
            b"alice",
            b"127.0.0.1",
            portNumber,
            keys=[key.withCertificate(certificate)],
            knownHosts=KnownHostsFile.fromPath(knownHosts),
        )
        try:
            proto = await endpoint.connect(protocol.Factory.forProtocol(Output))
        except AuthenticationFailed:
            return "refused\n"
        return (await proto.done).decode()

    valid = userCA.signCertificate(
        key, CERT_USER, "alice@laptop", ["alice"], now - 60, now + 3600, serial=7
    )
    print(await run(valid), end="")
    expired = userCA.signCertificate(key, CERT_USER, "old", ["alice"], now - 7200, now - 3600)
    print("expired certificate:", await run(expired), end="")
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
