"""A login that asks several questions: a password and a one-time code, then a PIN.

The server's checker drives the ``keyboard-interactive`` conversation through
``glisten.conch.pam`` credentials (each ``pamConversion`` call is one round of prompts); the
client answers each round in ``getGenericAnswers``, as a terminal program would by asking
its user.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.conch import pam
from glisten.conch.avatar import ConchUser
from glisten.conch.interfaces import IConchUser
from glisten.conch.ssh import connection, transport, userauth
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import Key
from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, protocol, task


@implementer(ICredentialsChecker)
class PasswordCodeAndPIN:
    """Two rounds of questions; only alice, with all three answers right, gets in."""

    credentialInterfaces = (pam.IPluggableAuthenticationModules,)

    async def check(self, creds: Any) -> bytes:
        first = await creds.pamConversion(
            [
                ("Two factors today.", pam.PAM_TEXT_INFO),
                ("Password: ", pam.PAM_PROMPT_ECHO_OFF),
                ("Code: ", pam.PAM_PROMPT_ECHO_ON),
            ]
        )
        # One answer per item, in order; b"" for the message, which takes none.
        _, (password, _), (code, _) = first
        second = await creds.pamConversion([("PIN: ", pam.PAM_PROMPT_ECHO_OFF)])
        (pin, _) = second[0]
        if (creds.username, password, code, pin) != (b"alice", b"sekrit", b"123456", b"4321"):
            raise UnauthorizedLogin("wrong answers")
        return bytes(creds.username)

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        return defer.Deferred.fromCoroutine(self.check(creds))


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return IConchUser, ConchUser(), lambda: None


class Answering(userauth.SSHUserAuthClient):
    """Answers each prompt from a dict (a real client would ask its user)."""

    def __init__(self, user: bytes, instance: Any, answers: dict[bytes, bytes]) -> None:
        super().__init__(user, instance)
        self.answers = answers

    def getGenericAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> defer.Deferred[list[bytes]]:
        if instruction:
            print(instruction.decode())
        for prompt, echo in prompts:
            print(prompt.decode() + ("(shown)" if echo else "(hidden)"))
        return defer.succeed([self.answers[prompt] for prompt, _ in prompts])


class Connection(connection.SSHConnection):
    def serviceStarted(self) -> None:
        print("logged in")
        self.transport.loseConnection()


def client(hostKey: Key, answers: dict[bytes, bytes], done: defer.Deferred[None]) -> Any:
    class Client(transport.SSHClientTransport):
        def verifyHostKey(self, blob: bytes, fingerprint: bytes) -> defer.Deferred[bool]:
            if blob != hostKey.public().blob():
                return defer.fail(UnauthorizedLogin("unknown host key"))
            return defer.succeed(True)

        def connectionSecure(self) -> None:
            self.requestService(Answering(b"alice", Connection(), answers))

        def connectionLost(self, reason: Any = None) -> None:
            super().connectionLost(reason)
            done.callback(None)

    return protocol.ClientFactory.forProtocol(Client)


async def main(reactor: Any) -> None:
    hostKey = Key.generate("ed25519")
    portal = Portal(Realm())
    portal.registerChecker(PasswordCodeAndPIN())
    server = SSHFactory()
    server.privateKeys = {b"ssh-ed25519": hostKey}
    server.portal = portal
    port = reactor.listenTCP(0, server, interface="127.0.0.1")

    answers = {b"Password: ": b"sekrit", b"Code: ": b"123456", b"PIN: ": b"4321"}
    done: defer.Deferred[None] = defer.Deferred()
    reactor.connectTCP("127.0.0.1", port.getHost().port, client(hostKey, answers, done))
    await done
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
