"""An IRC server with accounts and fixed channels, and two ``IRCClient`` users talking on it,
in one program.

``InMemoryWordsRealm`` holds the users and channels (groups); ``IRCFactory`` speaks IRC for
each connection and logs it in through a ``Portal``, whose checker holds the accounts as
scrypt hashes: the file ``glisten words --passwd`` reads. Only the channels made here exist.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from glisten.cred.checkers import ScryptFilePasswordDB, scryptHash
from glisten.cred.portal import Portal
from glisten.internet import defer, endpoints, task
from glisten.words import service
from glisten.words.protocols import irc


def makeFactory(passwordFile: str) -> service.IRCFactory:
    """The server: accounts from ``passwordFile``, channels ``#lobby`` and ``#ops``."""
    realm = service.InMemoryWordsRealm("irc.example.org")
    realm.createGroupOnRequest = False  # joining a channel that is not made here fails
    for name in ("lobby", "ops"):  # groups are named without IRC's "#"
        realm.createGroup(name)
    realm.groups["lobby"].meta["topic"] = "Welcome to the lobby"
    accounts = ScryptFilePasswordDB(passwordFile, caseSensitive=False)
    factory = service.IRCFactory(realm, Portal(realm, [accounts]))
    factory.nickChangeAllowed = False  # a nick is an account: keep it
    factory.motd = ["Be nice."]
    return factory


class Chatter(irc.IRCClient):
    """A user who joins ``channel`` and reports what happens to ``events``."""

    def __init__(self, nickname: str, password: str, channel: str) -> None:
        super().__init__()
        self.nickname = nickname
        self.password = password  # sent as PASS before NICK/USER
        self.channel = channel
        self.joinedChannel: defer.Deferred[None] = defer.Deferred()
        self.heard: defer.Deferred[str] = defer.Deferred()
        self.closed: defer.Deferred[None] = defer.Deferred()

    def signedOn(self) -> None:
        self.join(self.channel)

    def topicUpdated(self, user: str, channel: str, newTopic: str) -> None:
        print(f"{self.nickname} sees the topic of {channel}: {newTopic}")

    def joined(self, channel: str) -> None:
        self.joinedChannel.callback(None)

    def irc_ERR_NOSUCHCHANNEL(self, prefix: str, params: list[str]) -> None:
        print(f"{self.nickname} cannot join {params[1]}: no such channel")
        self.joinedChannel.callback(None)

    def privmsg(self, user: str, channel: str, message: str) -> None:
        if not self.heard.called:
            self.heard.callback(f"<{user.split('!', 1)[0]}> {message}")

    def connectionLost(self, reason: Any = None) -> None:
        super().connectionLost(reason)
        self.closed.callback(None)


async def main(reactor: Any) -> None:
    folder = tempfile.mkdtemp()
    passwordFile = os.path.join(folder, "irc.passwd")
    with open(passwordFile, "wb") as f:  # what `glisten words --passwd` reads, too
        for name, password in [(b"alice", b"alice's secret"), (b"bob", b"bob's secret")]:
            f.write(name + b":" + scryptHash(password) + b"\n")

    serverEndpoint = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    port = await serverEndpoint.listen(makeFactory(passwordFile))
    there = endpoints.clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}")

    alice = Chatter("alice", "alice's secret", "#lobby")
    await endpoints.connectProtocol(there, alice)
    await alice.joinedChannel
    bob = Chatter("bob", "bob's secret", "#lobby")
    await endpoints.connectProtocol(there, bob)
    await bob.joinedChannel
    bob.say("#lobby", "hello, alice")
    print(f"alice heard {await alice.heard}")
    alice.msg("bob", "hi bob, just between us")
    print(f"bob heard {await bob.heard}")

    bob.channel = "#random"
    bob.joinedChannel = defer.Deferred()
    bob.join("#random")
    await bob.joinedChannel

    mallory = Chatter("alice", "a guess", "#lobby")
    await endpoints.connectProtocol(there, mallory)
    await mallory.closed  # the server answered 464 and closed the connection
    print("a wrong password: refused")

    for user in (alice, bob):
        user.quit("bye")
        await user.closed
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
