"""An IRC bot that logs a channel, written as Twisted's ircLogBot is (import names aside),
run against a ``glisten.words`` chat server in the same program.

Run: ``hatch run python examples/irc_logbot.py``. A server listens on a free loopback port; the
bot joins ``#glisten`` and writes what it sees to a log file; a visitor says hello and asks the
bot something; the bot answers; the program prints the log and stops.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from glisten.cred.portal import Portal
from glisten.internet import defer, protocol, task
from glisten.words import service
from glisten.words.protocols import irc


class MessageLogger:
    """Writes one line per event to an open file."""

    def __init__(self, file: Any) -> None:
        self.file = file

    def log(self, message: str) -> None:
        self.file.write(message + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class LogBot(irc.IRCClient):
    """Logs a channel; answers when addressed by name."""

    nickname = "logbot"

    def connectionMade(self) -> None:
        irc.IRCClient.connectionMade(self)
        self.logger = MessageLogger(open(self.factory.filename, "a"))
        self.logger.log("[connected]")

    def connectionLost(self, reason: Any = None) -> None:
        irc.IRCClient.connectionLost(self, reason)
        self.logger.log("[disconnected]")
        self.logger.close()

    def signedOn(self) -> None:
        self.join(self.factory.channel)

    def joined(self, channel: str) -> None:
        self.logger.log(f"[I have joined {channel}]")
        self.factory.ready.callback(None)

    def privmsg(self, user: str, channel: str, msg: str) -> None:
        user = user.split("!", 1)[0]
        self.logger.log(f"<{user}> {msg}")
        if channel == self.nickname:
            self.msg(user, "It isn't nice to whisper! Play nice with the group.")
            return
        if msg.startswith(self.nickname + ":"):
            reply = f"{user}: I am a log bot"
            self.msg(channel, reply)
            self.logger.log(f"<{self.nickname}> {reply}")

    def action(self, user: str, channel: str, msg: str) -> None:
        self.logger.log(f"* {user.split('!', 1)[0]} {msg}")

    def irc_NICK(self, prefix: str, params: list[str]) -> None:
        self.logger.log(f"{prefix.split('!')[0]} is now known as {params[0]}")

    def alterCollidedNick(self, nickname: str) -> str:
        return nickname + "^"


class LogBotFactory(protocol.ClientFactory):
    def __init__(self, channel: str, filename: str) -> None:
        self.channel = channel
        self.filename = filename
        self.ready: defer.Deferred[None] = defer.Deferred()

    def buildProtocol(self, addr: Any) -> LogBot:
        p = LogBot()
        p.factory = self
        return p


class Visitor(irc.IRCClient):
    nickname = "visitor"

    def __init__(self, done: defer.Deferred[str]) -> None:
        super().__init__()
        self.done = done

    def signedOn(self) -> None:
        self.join("#glisten")

    def joined(self, channel: str) -> None:
        self.say(channel, "hello, bot")
        self.describe(channel, "waves")
        self.say(channel, "logbot: what are you?")

    def privmsg(self, user: str, channel: str, message: str) -> None:
        if not self.done.called:
            self.done.callback(message)


async def main(reactor: Any) -> None:
    realm = service.InMemoryWordsRealm("example.irc")
    realm.createGroupOnRequest = True
    factory = service.IRCFactory(realm, Portal(realm, [service.OpenRegistrationChecker()]))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    portNumber = port.getHost().port

    folder = tempfile.mkdtemp()
    logFile = os.path.join(folder, "glisten.log")
    bots = LogBotFactory("#glisten", logFile)
    reactor.connectTCP("127.0.0.1", portNumber, bots)
    await bots.ready

    answered: defer.Deferred[str] = defer.Deferred()
    visitor = Visitor(answered)
    visitors = protocol.ClientFactory()
    visitors.protocol = lambda: visitor  # type: ignore[assignment]
    reactor.connectTCP("127.0.0.1", portNumber, visitors)
    print("visitor got:", await answered)
    visitor.quit("bye")
    with open(logFile) as f:
        print(f.read(), end="")
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
