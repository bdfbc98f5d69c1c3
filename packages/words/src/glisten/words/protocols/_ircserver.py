"""The server side of an IRC connection, :class:`IRC`, as ``twisted.words.protocols.irc.IRC``.

It frames and parses lines with the codec and dispatches them to ``irc_<COMMAND>`` methods;
the helpers (``privmsg``, ``names``, ``whois``, ...) write the replies a server sends.
:class:`glisten.words.service.IRCUser` builds a chat server on it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.words._pacing import InputPacer
from glisten.words.protocols._irc import (
    BadLine,
    BadLineKind,
    Limits,
    LineDecoder,
    Message,
    serializeMessage,
)
from glisten.words.protocols._irc._ctcp import ctcpStringify

__all__ = ["IRC"]

_log = Logger()

RPL_WHOISUSER = "311"
RPL_WHOISSERVER = "312"
RPL_WHOISOPERATOR = "313"
RPL_WHOISIDLE = "317"
RPL_ENDOFWHOIS = "318"
RPL_WHOISCHANNELS = "319"
RPL_TOPIC = "332"
RPL_NOTOPIC = "331"
RPL_TOPICWHOTIME = "333"
RPL_NAMREPLY = "353"
RPL_ENDOFNAMES = "366"
RPL_WHOREPLY = "352"
RPL_ENDOFWHO = "315"
RPL_CHANNELMODEIS = "324"
ERR_INPUTTOOLONG = "417"


class IRC(Protocol):
    """One IRC connection on the server side.

    :ivar hostname: the server name used as the prefix of replies.
    :ivar limits: what a client may send per line.
    :ivar maxMessagesPerTurn: messages answered in one go before the connection yields to
        the others: reading pauses and the rest waits for the reactor's next turn, so one
        client's megabyte of pipelined lines cannot stall every other client (issue 29).
    :ivar maxBytesPerTurn: bytes parsed in one go, for the same reason.
    """

    hostname: str | None = None
    encoding: str | None = None
    limits = Limits()
    maxMessagesPerTurn = 64
    maxBytesPerTurn = 16384

    #: The tags of the message being dispatched.
    tags: dict[str, str] = {}
    _closing = False

    def connectionMade(self) -> None:
        self.channels: list[str] = []
        self._decoder = LineDecoder(self.limits)
        self._pacer: InputPacer[Message | BadLine] | None = None
        self._closing = False
        if self.hostname is None:
            self.hostname = socket.getfqdn()

    def sendLine(self, line: str | bytes) -> None:
        """Send one line (without line ending).

        :raises ValueError: the line contains CR, LF or NUL.
        """
        data = line.encode("utf-8") if isinstance(line, str) else line
        if b"\r" in data or b"\n" in data or b"\x00" in data:
            raise ValueError("CR, LF or NUL in an IRC line")
        self._write(data + b"\r\n")

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def sendMessage(self, command: str, *parameter_list: str, **prefix: str) -> None:
        """Send ``command`` and its parameters joined by spaces, as given (as in Twisted, a
        trailing parameter with spaces carries its own leading ``:``).

        :raises ValueError: the command is empty or malformed, or a parameter has CR/LF/NUL.
        """
        if not command:
            raise ValueError("IRC message requires a command.")
        if " " in command or command[0] == ":":
            raise ValueError("invalid IRC command")
        line = " ".join([command, *parameter_list])
        if "prefix" in prefix:
            line = f":{prefix['prefix']} {line}"
        self.sendLine(line)

    def sendCommand(
        self,
        command: str,
        parameters: Sequence[str],
        prefix: str | None = None,
        tags: dict[str, str | None] | None = None,
        trailing: bool = False,
    ) -> None:
        """Send a command, quoting its last parameter as needed (always with ``trailing``);
        too long a last parameter is cut at a character boundary, as servers do.

        :raises ValueError: a parameter would break the line's framing.
        """
        self._write(
            serializeMessage(
                command, list(parameters), prefix, tags, truncate=True, trailing=trailing
            )
        )

    def dataReceived(self, data: bytes) -> None:
        pacer = getattr(self, "_pacer", None)
        if pacer is None:
            decoder = getattr(self, "_decoder", None)
            if decoder is None:
                decoder = self._decoder = LineDecoder(self.limits)
            pacer = self._pacer = InputPacer(
                decoder.receiveData,
                self._lineEvent,
                self.transport,
                self._reactor,
                maxEvents=self.maxMessagesPerTurn,
                maxBytes=self.maxBytesPerTurn,
            )
        pacer.dataReceived(data)

    def _lineEvent(self, event: Message | BadLine) -> None:
        if self.transport is None or self._closing:
            if self._pacer is not None:
                self._pacer.discard()
        elif isinstance(event, BadLine):
            self.badLineReceived(event)
        else:
            self.messageReceived(event)

    def _reactor(self) -> Any:
        """:return: the reactor that runs the next turn of pipelined input."""
        return getReactor(None)

    def connectionLost(self, reason: Failure | None = None) -> None:
        """Drop the pipelined input that still waits for a turn."""
        pacer = getattr(self, "_pacer", None)
        if pacer is not None:
            pacer.stop()

    def badLineReceived(self, bad: BadLine) -> None:
        """A line was refused: too long (``417``), or a NUL or malformed line (closed)."""
        if bad.kind in (BadLineKind.TOO_LONG, BadLineKind.TAGS_TOO_LONG):
            self.sendCommand(ERR_INPUTTOOLONG, ["*", "Input line was too long"], self.hostname)
            return
        self.sendCommand("ERROR", ["Closing Link: " + bad.message])
        self._closing = True
        if self.transport is not None:
            self.transport.loseConnection()

    def messageReceived(self, message: Message) -> None:
        """Dispatch one parsed message to ``irc_<COMMAND>``."""
        self.tags = message.tags
        try:
            self.handleCommand(message.command, message.prefix or "", message.params)
        finally:
            self.tags = {}

    def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
        """Call ``irc_<command>`` or :meth:`irc_unknown`. As in Twisted, an exception from
        the handler is logged and the connection reads the next line: one client's odd
        command must not let a server bug end its session."""
        method = getattr(self, "irc_" + command, None)
        try:
            if method is not None:
                method(prefix, params)
            else:
                self.irc_unknown(prefix, command, params)
        except Exception:
            _log.failure("IRC: error while handling {command}", command=command)

    def irc_unknown(self, prefix: str, command: str, params: list[str]) -> None:
        """A command without an ``irc_`` method (ignored here)."""

    # --------------------------------------------------------------- reply helpers

    def privmsg(self, sender: str, recip: str, message: str) -> None:
        """Deliver a PRIVMSG from ``sender`` (a prefix) to ``recip``."""
        self.sendCommand("PRIVMSG", [recip, message], sender)

    def notice(self, sender: str, recip: str, message: str) -> None:
        """Deliver a NOTICE."""
        self.sendCommand("NOTICE", [recip, message], sender)

    def action(self, sender: str, recip: str, message: str) -> None:
        """Deliver a CTCP ACTION."""
        self.sendCommand("PRIVMSG", [recip, ctcpStringify([("ACTION", message)])], sender)

    def topic(self, user: str, channel: str, topic: str | None, author: str | None = None) -> None:
        """Report a channel topic to ``user`` (or, with ``author``, a topic change)."""
        if author is not None:
            self.sendCommand("TOPIC", [channel, topic or ""], author)
        elif topic:
            self.sendCommand(RPL_TOPIC, [user, channel, topic], self.hostname, trailing=True)
        else:
            self.sendCommand(
                RPL_NOTOPIC, [user, channel, "No topic is set."], self.hostname, trailing=True
            )

    def topicAuthor(self, user: str, channel: str, author: str, date: float) -> None:
        """Report who set the topic and when (RPL_TOPICWHOTIME)."""
        self.sendCommand(RPL_TOPICWHOTIME, [user, channel, author, str(int(date))], self.hostname)

    def names(self, user: str, channel: str, names: Iterable[str]) -> None:
        """Send RPL_NAMREPLY lines that fit the line limit, then RPL_ENDOFNAMES."""
        fixed = len(f":{self.hostname} {RPL_NAMREPLY} {user} = {channel} :".encode())
        room = self.limits.maxBodyLength - 2 - fixed
        line: list[str] = []
        size = 0
        for name in names:
            extra = len(name.encode("utf-8")) + (1 if line else 0)
            if line and size + extra > room:
                self.sendCommand(
                    RPL_NAMREPLY, [user, "=", channel, " ".join(line)], self.hostname, trailing=True
                )
                line, size, extra = [], 0, extra - 1
            line.append(name)
            size += extra
        if line:
            self.sendCommand(
                RPL_NAMREPLY, [user, "=", channel, " ".join(line)], self.hostname, trailing=True
            )
        self.sendCommand(
            RPL_ENDOFNAMES, [user, channel, "End of /NAMES list"], self.hostname, trailing=True
        )

    def who(self, user: str, channel: str, memberInfo: Iterable[Sequence[Any]]) -> None:
        """Send RPL_WHOREPLY for each ``(username, hostname, serverName, nickname, flag,
        hops, realName)`` then RPL_ENDOFWHO."""
        for info in memberInfo:
            username, hostname, serverName, nickname, flag, hops, realName = info
            self.sendCommand(
                RPL_WHOREPLY,
                [
                    user,
                    channel,
                    username,
                    hostname,
                    serverName,
                    nickname,
                    flag,
                    f"{hops} {realName}",
                ],
                self.hostname,
            )
        self.sendCommand(
            RPL_ENDOFWHO, [user, channel, "End of /WHO list."], self.hostname, trailing=True
        )

    def whois(
        self,
        user: str,
        nick: str,
        username: str,
        hostname: str,
        realName: str,
        server: str,
        serverInfo: str,
        oper: bool,
        idle: int,
        signOn: float,
        channels: Iterable[str],
    ) -> None:
        """Send the WHOIS replies about ``nick`` to ``user``."""
        h = self.hostname
        self.sendCommand(
            RPL_WHOISUSER, [user, nick, username, hostname, "*", realName], h, trailing=True
        )
        self.sendCommand(RPL_WHOISSERVER, [user, nick, server, serverInfo], h, trailing=True)
        if oper:
            self.sendCommand(
                RPL_WHOISOPERATOR, [user, nick, "is an IRC operator"], h, trailing=True
            )
        self.sendCommand(
            RPL_WHOISIDLE,
            [user, nick, str(int(idle)), str(int(signOn)), "seconds idle, signon time"],
            h,
        )
        chans = " ".join(channels)
        if chans:
            self.sendCommand(RPL_WHOISCHANNELS, [user, nick, chans], h, trailing=True)
        self.sendCommand(RPL_ENDOFWHOIS, [user, nick, "End of WHOIS list."], h, trailing=True)

    def join(self, who: str, where: str) -> None:
        """Tell the client that ``who`` joined ``where``."""
        self.sendCommand("JOIN", [where], who)

    def part(self, who: str, where: str, reason: str | None = None) -> None:
        """Tell the client that ``who`` left ``where``."""
        self.sendCommand("PART", [where, reason] if reason else [where], who)

    def channelMode(self, user: str, channel: str, mode: str, *args: str) -> None:
        """Send RPL_CHANNELMODEIS."""
        self.sendCommand(RPL_CHANNELMODEIS, [user, channel, mode, *args], self.hostname)

    def _now(self) -> float:
        return time.time()
