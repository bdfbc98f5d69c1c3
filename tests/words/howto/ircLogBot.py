"""The IRC log bot of Twisted's words examples (``ircLogBot.py``), ported by renaming the
imports: it joins a channel, writes what it sees to a log file, answers when addressed and
scolds whisperers.

Usage: ``python ircLogBot.py HOST PORT CHANNEL LOGFILE`` (Twisted's takes the channel and file
and connects to a fixed network; the host and port are arguments here so tests can use a
local server).
"""

import sys
import time

from glisten.internet import protocol, reactor
from glisten.python import log
from glisten.words.protocols import irc


class MessageLogger:
    """Writes time-stamped lines to an open file."""

    def __init__(self, file):
        self.file = file

    def log(self, message):
        stamp = time.strftime("[%H:%M:%S]", time.localtime(time.time()))
        self.file.write(f"{stamp} {message}\n")
        self.file.flush()

    def close(self):
        self.file.close()


class LogBot(irc.IRCClient):
    """Logs a channel's traffic."""

    nickname = "logbot"

    def connectionMade(self):
        irc.IRCClient.connectionMade(self)
        self.logger = MessageLogger(open(self.factory.filename, "a"))
        self.logger.log("[connected at %s]" % time.asctime(time.localtime(time.time())))

    def connectionLost(self, reason):
        irc.IRCClient.connectionLost(self, reason)
        self.logger.log("[disconnected at %s]" % time.asctime(time.localtime(time.time())))
        self.logger.close()

    def signedOn(self):
        self.join(self.factory.channel)

    def joined(self, channel):
        self.logger.log(f"[I have joined {channel}]")

    def privmsg(self, user, channel, msg):
        user = user.split("!", 1)[0]
        self.logger.log(f"<{user}> {msg}")
        if channel == self.nickname:
            self.msg(user, "It isn't nice to whisper!  Play nice with the group.")
            return
        if msg.startswith(self.nickname + ":"):
            reply = f"{user}: I am a log bot"
            self.msg(channel, reply)
            self.logger.log(f"<{self.nickname}> {reply}")

    def action(self, user, channel, msg):
        user = user.split("!", 1)[0]
        self.logger.log(f"* {user} {msg}")

    def irc_NICK(self, prefix, params):
        old = prefix.split("!")[0]
        new = params[0]
        self.logger.log(f"{old} is now known as {new}")

    def alterCollidedNick(self, nickname):
        return nickname + "^"


class LogBotFactory(protocol.ClientFactory):
    """Builds log bots for one channel and file; reconnects when the connection drops."""

    def __init__(self, channel, filename):
        self.channel = channel
        self.filename = filename

    def buildProtocol(self, addr):
        p = LogBot()
        p.factory = self
        return p

    def clientConnectionLost(self, connector, reason):
        connector.connect()

    def clientConnectionFailed(self, connector, reason):
        print("connection failed:", reason)
        reactor.stop()


if __name__ == "__main__":
    log.startLogging(sys.stdout)
    host, port, channel, filename = sys.argv[1:5]
    reactor.connectTCP(host, int(port), LogBotFactory(channel, filename))
    reactor.run()
