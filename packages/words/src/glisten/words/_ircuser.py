"""The IRC front end of the chat service: one :class:`IRCUser` per client connection.

It registers the client (``CAP``, ``PASS``, ``NICK``, ``USER``, SASL PLAIN or EXTERNAL with a
verified TLS client certificate, through the portal), then turns IRC commands into operations on the realm's :class:`~glisten.words.service.User`
and :class:`~glisten.words.service.Group` objects, and is the ``mind`` through which the
service tells the client what happens. Channel bans (``+b``) and IRC operators (``OPER``,
checked by the factory's ``operatorChecker``; ``KILL``) are kept here too.

Protection: a per-connection command budget (``Excess Flood``), a cap on channels per user,
idle and registration timeouts with PING, and a bound on what is queued for a client that does
not read (it is dropped, never allowed to grow the server's memory).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from zope.interface import implementer

from glisten.cred.credentials import UsernamePassword
from glisten.internet.interfaces import IPushProducer
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.words import ewords, iwords
from glisten.words._certauth import ClientCertificate
from glisten.words._version import __version__
from glisten.words.protocols._irc import (
    BadLine,
    BadLineKind,
    IRCBadMessage,
    IRCBadModes,
    IRCLocalError,
    serializeMessage,
)
from glisten.words.protocols._irc._flood import FloodGuard
from glisten.words.protocols._irc._masks import normalizeMask
from glisten.words.protocols._irc._modes import parseModes
from glisten.words.protocols._ircserver import IRC

if TYPE_CHECKING:
    from glisten.words.service import Group, User

__all__ = ["IRCUser"]

_log = Logger()

_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}\Z")
_USERNAME = re.compile(r"[^A-Za-z0-9._-]")
_BAD_CHANNEL = re.compile(r"[\s,\x07:]")

NICKLEN = 30
CHANNELLEN = 50
TOPICLEN = 390

#: Capabilities the server offers (sasl only when the portal checks passwords).
_CAPS = ("account-tag", "echo-message", "message-tags", "multi-prefix", "server-time")
_REGISTRATION_COMMANDS = {"CAP", "PASS", "NICK", "USER", "AUTHENTICATE", "PING", "PONG", "QUIT"}
_FREE_COMMANDS = {"PING", "PONG"}
#: Numerics whose last parameter is a token, not text (no ``:`` forced).
_BARE_NUMERICS = {"004", "221", "324", "329", "333"}
#: Commands whose last parameter is text.
_TEXT_COMMANDS = {"PRIVMSG", "NOTICE", "KICK", "PART", "QUIT", "TOPIC", "ERROR"}


def _serverTime() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


@implementer(iwords.IChatClient, IPushProducer)
class IRCUser(IRC):
    """One client connection of the chat service.

    :ivar avatar: the logged-in :class:`~glisten.words.service.User`, once registered.
    :ivar capabilities: IRCv3 capabilities the client enabled.
    """

    factory: Any
    avatar: User | None = None
    nickname: str | None = None
    username: str | None = None
    realname = ""
    password: str | None = None

    _capNegotiating = False
    _loggingIn = False
    _logout: Any = None
    _saslMech: str | None = None
    _operFailures = 0
    _saslAccount: Any = None
    _paused = False
    _queuedWhilePaused = 0
    _lastActivity = 0.0
    _pinged = False
    _idleCall: Any = None
    _flood: FloodGuard | None = None
    _peerHost = "localhost"
    invisible = False

    # ------------------------------------------------------------------ connection

    @property
    def name(self) -> str:
        """The client's nickname (``*`` before it has one)."""
        return self.nickname or "*"

    @property
    def realm(self) -> Any:
        return self.factory.realm

    def connectionMade(self) -> None:
        super().connectionMade()
        self.capabilities: set[str] = set()
        self._saslBuffer: list[str] = []
        self.hostname = self.factory.realm.name
        clock = self.factory.clock()
        now = clock.seconds()
        self._lastActivity = now
        if self.factory.floodBurst is not None:
            self._flood = FloodGuard(self.factory.floodBurst, self.factory.floodRate, now)
        peer = self.transport.getPeer()
        self._peerHost = getattr(peer, "host", None) or "localhost"
        self.transport.registerProducer(self, True)
        self._idleCall = clock.callLater(self.factory.registrationTimeout, self._checkIdle)

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        self._closing = True
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None
        avatar = self.avatar
        if avatar is not None and avatar.mind is self:
            self._broadcastQuit(avatar, getattr(self, "_quitReason", "Connection closed"))
            if self._logout is not None:
                self._logout()
            avatar.mind = None
        self.avatar = None

    def _reactor(self) -> Any:
        return self.factory.clock()

    def _close(self, reason: str, abort: bool = False) -> None:
        """Say ERROR and close (once)."""
        if self._closing:
            return
        self._quitReason = reason
        self.sendCommand("ERROR", [f"Closing Link: {self._peerHost} ({reason})"])
        self._closing = True
        if abort:
            self.transport.abortConnection()
        else:
            self.transport.loseConnection()

    # IPushProducer: the transport pauses us when the client stops reading.
    def pauseProducing(self) -> None:
        self._paused = True
        self._queuedWhilePaused = 0

    def resumeProducing(self) -> None:
        self._paused = False
        self._queuedWhilePaused = 0

    def stopProducing(self) -> None:
        self._paused = True

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if self._paused:
            self._queuedWhilePaused += len(data)
            if self._queuedWhilePaused > self.factory.maxSendQueue:
                if not self._closing:
                    _log.info("IRC: dropping {nick}: send queue exceeded", nick=self.nickname)
                    self._quitReason = "SendQ exceeded"
                    self._closing = True
                    transport.abortConnection()
                return
        transport.write(data)

    def _checkIdle(self) -> None:
        self._idleCall = None
        if self._closing:
            return
        factory = self.factory
        clock = factory.clock()
        if self.avatar is None:
            self._close("Registration timed out")
            return
        elapsed = clock.seconds() - self._lastActivity
        if self._pinged and elapsed >= factory.pingInterval + factory.pingTimeout:
            self._close("Ping timeout: %d seconds" % elapsed)
            return
        if elapsed >= factory.pingInterval:
            if not self._pinged:
                self._pinged = True
                self.sendCommand("PING", [self.hostname or "server"])
            delay = factory.pingInterval + factory.pingTimeout - elapsed
        else:
            delay = factory.pingInterval - elapsed
        self._idleCall = clock.callLater(max(delay, 0.5), self._checkIdle)

    def dataReceived(self, data: bytes) -> None:
        self._lastActivity = self.factory.clock().seconds()
        self._pinged = False
        super().dataReceived(data)

    def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
        if self._flood is not None and command not in _FREE_COMMANDS:
            if not self._flood.allow(self.factory.clock().seconds()):
                self._close("Excess Flood")
                return
        if self.avatar is None and command not in _REGISTRATION_COMMANDS:
            self._numeric("451", "You have not registered")
            return
        method = getattr(self, "irc_" + command, None)
        if method is None:
            self.irc_unknown(prefix, command, params)
            return
        try:
            method(prefix, params)
        except IndexError:
            self._numeric("461", command, "Not enough parameters")
        except IRCLocalError:
            # A reply would have carried something IRC cannot (a client's odd target echoed
            # in a middle parameter): answer generically instead.
            self._numeric("400", command, "Could not process the command")

    def irc_unknown(self, prefix: str, command: str, params: list[str]) -> None:
        self._numeric("421", command, "Unknown command")

    # ------------------------------------------------------------------ helpers

    def _target(self) -> str:
        return self.nickname or "*"

    def _numeric(self, code: str, *params: str) -> None:
        trailing = len(params) > 0 and code not in _BARE_NUMERICS
        self.sendCommand(code, [self._target(), *params], self.hostname, trailing=trailing)

    def badLineReceived(self, bad: BadLine) -> None:
        """Too long: ``417`` and go on; NUL or malformed: ERROR and close."""
        if bad.kind in (BadLineKind.TOO_LONG, BadLineKind.TAGS_TOO_LONG):
            self._numeric("417", "Input line was too long")
            return
        self._close(bad.message)

    def _hostmask(self) -> str:
        user = self.username or "unknown"
        return f"{self.nickname}!{user}@{self._peerHost}"

    def _outTags(self, sender: User | None, message: dict[str, Any] | None) -> dict[str, Any]:
        tags: dict[str, Any] = {}
        caps = self.capabilities
        if not caps:
            return tags
        if "server-time" in caps:
            tags["time"] = (message or {}).get("time") or _serverTime()
        if "account-tag" in caps and sender is not None and sender.account:
            tags["account"] = sender.account
        if "message-tags" in caps and message and message.get("tags"):
            tags.update(message["tags"])
        return tags

    def _send(
        self,
        command: str,
        params: list[str],
        prefix: str | None,
        sender: User | None = None,
        message: dict[str, Any] | None = None,
    ) -> None:
        tags = self._outTags(sender, message) if self.capabilities else None
        trailing = command in _TEXT_COMMANDS and len(params) > 1 or command == "QUIT"
        self._write(
            serializeMessage(command, params, prefix, tags, truncate=True, trailing=trailing)
        )

    # ------------------------------------------------------------------ registration

    def irc_CAP(self, prefix: str, params: list[str]) -> None:
        sub = params[0].upper() if params else ""
        offered = list(_CAPS)
        mechanisms = self._saslMechanisms()
        if mechanisms:
            offered.append("sasl")
        if sub == "LS":
            if self.avatar is None:
                self._capNegotiating = True
            values = [
                (f"sasl={','.join(mechanisms)}" if c == "sasl" and params[1:2] == ["302"] else c)
                for c in offered
            ]
            self.sendCommand("CAP", [self._target(), "LS", " ".join(values)], self.hostname)
        elif sub == "LIST":
            self.sendCommand(
                "CAP", [self._target(), "LIST", " ".join(sorted(self.capabilities))], self.hostname
            )
        elif sub == "REQ":
            if self.avatar is None:
                self._capNegotiating = True
            asked = params[1].split() if len(params) > 1 else []
            names = [a.lstrip("-") for a in asked]
            if not asked or any(n not in offered for n in names):
                self.sendCommand("CAP", [self._target(), "NAK", " ".join(asked)], self.hostname)
                return
            for a in asked:
                if a.startswith("-"):
                    self.capabilities.discard(a[1:])
                else:
                    self.capabilities.add(a)
            self.sendCommand("CAP", [self._target(), "ACK", " ".join(asked)], self.hostname)
        elif sub == "END":
            if self._capNegotiating:
                self._capNegotiating = False
                self._tryRegister()
        else:
            self._numeric("410", sub or "*", "Invalid CAP command")

    def _peerCertificate(self) -> Any:
        getPeerCertificate = getattr(self.transport, "getPeerCertificate", None)
        return getPeerCertificate() if getPeerCertificate is not None else None

    def _saslMechanisms(self) -> list[str]:
        """PLAIN when the portal checks passwords; EXTERNAL when it checks client certificates
        and this connection presented one (verified by the TLS layer)."""
        portal = self.factory.portal
        if portal is None:
            return []
        from glisten.cred.credentials import IUsernamePassword

        interfaces = portal.listCredentialsInterfaces()
        mechanisms = ["PLAIN"] if IUsernamePassword in interfaces else []
        if iwords.IClientCertificate in interfaces and self._peerCertificate() is not None:
            mechanisms.append("EXTERNAL")
        return mechanisms

    def irc_AUTHENTICATE(self, prefix: str, params: list[str]) -> None:
        if "sasl" not in self.capabilities:
            self.irc_unknown(prefix, "AUTHENTICATE", params)
            return
        if self.avatar is not None or self._saslAccount is not None:
            self._numeric("907", "You have already authenticated using SASL")
            return
        arg = params[0]
        if arg == "*":
            self._saslMech, self._saslBuffer = None, []
            self._numeric("906", "SASL authentication aborted")
            return
        if self._saslMech is None:
            mechanisms = self._saslMechanisms()
            if arg.upper() not in mechanisms:
                self._numeric("908", ",".join(mechanisms), "are available SASL mechanisms")
                self._numeric("904", "SASL authentication failed")
                return
            self._saslMech = arg.upper()
            self.sendCommand("AUTHENTICATE", ["+"])
            return
        if arg != "+":
            self._saslBuffer.append(arg)
        if len(self._saslBuffer) > 4:
            self._saslMech, self._saslBuffer = None, []
            self._numeric("905", "SASL message too long")
            return
        if len(arg) == 400:
            return  # more to come
        encoded, self._saslBuffer = "".join(self._saslBuffer), []
        mechanism, self._saslMech = self._saslMech, None
        if mechanism == "EXTERNAL":
            self._saslExternal(encoded)
            return
        try:
            _authzid, authcid, passwd = base64.b64decode(encoded, validate=True).split(b"\x00")
            name = authcid.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            self._numeric("904", "SASL authentication failed")
            return
        d = self.factory.portal.login(UsernamePassword(name, passwd), self, iwords.IUser)
        d.addCallbacks(self._saslLoggedIn, self._saslFailed)

    def _saslExternal(self, encoded: str) -> None:
        """EXTERNAL (RFC 4422 appendix A): the client certificate is the credential; the
        message is only an optional authorization identity."""
        try:
            authzid = base64.b64decode(encoded, validate=True).decode("utf-8") or None
        except (binascii.Error, ValueError, UnicodeDecodeError):
            self._numeric("904", "SASL authentication failed")
            return
        certificate = self._peerCertificate()
        if certificate is None:
            self._numeric("904", "SASL authentication failed")
            return
        d = self.factory.portal.login(ClientCertificate(certificate, authzid), self, iwords.IUser)
        d.addCallbacks(self._saslLoggedIn, self._saslFailed)

    def _saslLoggedIn(self, result: tuple[Any, User, Any]) -> None:
        _iface, avatar, logout = result
        if self._closing:
            logout()
            return
        self._saslAccount = (avatar, logout)
        avatar.account = avatar.name
        mask = f"{self._target()}!{self.username or '*'}@{self._peerHost}"
        self._numeric("900", mask, avatar.name, f"You are now logged in as {avatar.name}")
        self._numeric("903", "SASL authentication successful")

    def _saslFailed(self, failure: Failure) -> None:
        if failure.check(ewords.AlreadyLoggedIn):
            self._numeric("902", "You must use a nick assigned to you")
        self._numeric("904", "SASL authentication failed")

    def irc_PASS(self, prefix: str, params: list[str]) -> None:
        if self.avatar is not None:
            self._numeric("462", "You may not reregister")
            return
        self.password = params[-1]

    def irc_NICK(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self._numeric("431", "No nickname given")
            return
        nick = params[0]
        if not _NICK.match(nick):
            self._numeric("432", nick[:NICKLEN], "Erroneous nickname")
            return
        existing = self.realm.users.get(nick.lower())
        if existing is not None and existing.mind is not None and existing.mind is not self:
            self._numeric("433", nick, "Nickname is already in use")
            return
        if self.avatar is None:
            self.nickname = nick
            self._tryRegister()
            return
        self._changeNick(nick, existing)

    def irc_USER(self, prefix: str, params: list[str]) -> None:
        if self.avatar is not None:
            self._numeric("462", "You may not reregister")
            return
        if len(params) < 4 or not params[0]:
            self._numeric("461", "USER", "Not enough parameters")
            return
        self.username = "~" + (_USERNAME.sub("", params[0])[:9] or "user")
        self.realname = params[3][:100]
        self._tryRegister()

    def _tryRegister(self) -> None:
        if (
            self.avatar is not None
            or self._loggingIn
            or self._capNegotiating
            or not self.nickname
            or not self.username
        ):
            return
        if self._saslAccount is not None:
            avatar, logout = self._saslAccount
            self._saslAccount = None
            self._registered(avatar, logout)
            return
        self._loggingIn = True
        password = (self.password or "").encode("utf-8")
        d = self.factory.portal.login(UsernamePassword(self.nickname, password), self, iwords.IUser)
        d.addCallbacks(self._loggedIn, self._loginFailed)

    def _loggedIn(self, result: tuple[Any, User, Any]) -> None:
        self._loggingIn = False
        _iface, avatar, logout = result
        if self._closing:
            logout()
            return
        if self.password is not None:
            avatar.account = avatar.name
        self._registered(avatar, logout)

    def _loginFailed(self, failure: Failure) -> None:
        self._loggingIn = False
        if failure.check(ewords.AlreadyLoggedIn):
            self._numeric("433", self.nickname or "*", "Nickname is already in use")
            self.nickname = None
            return
        self._numeric("464", "Password incorrect")
        self._close("Bad password")

    def _registered(self, avatar: User, logout: Any) -> None:
        self.avatar = avatar
        self._logout = logout
        if self.nickname != avatar.name:
            self.nickname = avatar.name
        avatar.hostmask = self._hostmask()
        avatar.invisible = self.invisible
        self.password = None
        server = self.hostname or "server"
        self._numeric(
            "001", f"Welcome to the {self.factory.network} IRC network {self._hostmask()}"
        )
        self._numeric("002", f"Your host is {server}, running version glisten-words-{__version__}")
        self._numeric("003", f"This server was created {self.factory.created}")
        self.sendCommand(
            "004",
            [self._target(), server, f"glisten-words-{__version__}", "io", "bklmnotv", "bklov"],
            self.hostname,
        )
        tokens = [
            "CASEMAPPING=ascii",
            "CHANTYPES=#",
            "PREFIX=(ov)@+",
            "CHANMODES=b,k,l,mnt",
            f"NICKLEN={NICKLEN}",
            f"CHANNELLEN={CHANNELLEN}",
            f"TOPICLEN={TOPICLEN}",
            f"CHANLIMIT=#:{self.factory.maxChannels}",
            "MODES=6",
            f"MAXLIST=b:{self.factory.maxBans}",
            f"NETWORK={self.factory.network}",
        ]
        self._numeric("005", *tokens, "are supported by this server")
        self.irc_MOTD("", [])

    # ------------------------------------------------------------------ IChatClient

    def userJoined(self, group: Group, user: User) -> None:
        self._send("JOIN", ["#" + group.name], user.hostmask, user)

    def userLeft(self, group: Group, user: User, reason: str | None = None) -> None:
        params = ["#" + group.name] + ([reason] if reason else [])
        self._send("PART", params, user.hostmask, user)

    def receive(self, sender: User, recipient: Any, message: dict[str, Any]) -> None:
        from glisten.words.service import Group

        command = message.get("command") or ("NOTICE" if message.get("notice") else "PRIVMSG")
        if isinstance(recipient, Group):
            target = "#" + recipient.name
        else:
            target = recipient.name if hasattr(recipient, "name") else str(recipient)
        if command == "TAGMSG":
            if "message-tags" not in self.capabilities:
                return
            self._send("TAGMSG", [target], sender.hostmask, sender, message)
            return
        text = message.get("text", "")
        # The same bytes go to every recipient with the same capabilities: build them once.
        cache = message.setdefault("_lines", {})
        key = (
            target,
            frozenset(self.capabilities & {"server-time", "account-tag", "message-tags"}),
        )
        line = cache.get(key)
        if line is None:
            tags = self._outTags(sender, message) if self.capabilities else None
            line = cache[key] = serializeMessage(
                command, [target, text], sender.hostmask, tags, truncate=True, trailing=True
            )
        self._write(line)

    def groupMetaUpdate(self, group: Group, meta: dict[str, Any]) -> None:
        author = meta.get("topic_author") or self.hostname or "server"
        self._send("TOPIC", ["#" + group.name, meta.get("topic", "")], author)

    def userKicked(self, group: Group, kicker: User, kickee: User, reason: str) -> None:
        self._send("KICK", ["#" + group.name, kickee.name, reason], kicker.hostmask, kicker)

    def modeChanged(self, group: Group, by: User, modes: str, args: list[str]) -> None:
        self._send("MODE", ["#" + group.name, modes, *args], by.hostmask, by)

    def userQuit(self, user: User, reason: str) -> None:
        self._send("QUIT", [reason], user.hostmask, user)

    def userRenamed(self, user: User, oldMask: str, newNick: str) -> None:
        self._send("NICK", [newNick], oldMask, user)

    def _peers(self, avatar: User) -> Iterable[Any]:
        seen: set[int] = set()
        for group in avatar.groups:
            for member in group.users.values():
                mind = member.mind
                if member is not avatar and mind is not None and id(mind) not in seen:
                    seen.add(id(mind))
                    yield mind

    def _broadcastQuit(self, avatar: User, reason: str) -> None:
        for mind in list(self._peers(avatar)):
            if hasattr(mind, "userQuit"):
                mind.userQuit(avatar, reason)

    # ------------------------------------------------------------------ commands

    def irc_PING(self, prefix: str, params: list[str]) -> None:
        server = self.hostname or "server"
        self.sendCommand("PONG", [server, params[0] if params else server], server)

    def irc_PONG(self, prefix: str, params: list[str]) -> None:
        pass  # any input counts as activity

    def irc_QUIT(self, prefix: str, params: list[str]) -> None:
        reason = "Quit: " + params[0] if params and params[0] else "Quit"
        self._close(reason[:TOPICLEN])

    def irc_MOTD(self, prefix: str, params: list[str]) -> None:
        motd = self.factory.motd
        if not motd:
            self._numeric("422", "MOTD File is missing")
            return
        self._numeric("375", f"- {self.hostname} Message of the day - ")
        for line in motd:
            self._numeric("372", "- " + line)
        self._numeric("376", "End of /MOTD command.")

    def _changeNick(self, nick: str, existing: User | None) -> None:
        avatar = self.avatar
        assert avatar is not None
        if nick == avatar.name:
            return
        if not self.factory.nickChangeAllowed:
            self._numeric("447", "Cannot change nickname: nicks are accounts here")
            return
        if existing is not None and existing is not avatar:
            if existing.mind is not None:
                self._numeric("433", nick, "Nickname is already in use")
                return
            # A user who has left: the name is free again.
            self.realm.users.pop(nick.lower(), None)
        newMask = f"{nick}!{avatar.hostmask.split('!', 1)[-1]}"
        for group in avatar.groups:
            if avatar not in group.ops and avatar not in group.voiced and group.isBanned(newMask):
                self._numeric("435", nick, "#" + group.name, "Cannot change nickname while banned")
                return
        oldMask = avatar.hostmask
        self.realm.renameUser(avatar, nick)
        self.nickname = nick
        avatar.hostmask = self._hostmask()
        self._send("NICK", [nick], oldMask, avatar)
        for mind in list(self._peers(avatar)):
            if hasattr(mind, "userRenamed"):
                mind.userRenamed(avatar, oldMask, nick)

    def _lookupGroup(self, name: str) -> Group | None:
        if not name.startswith("#"):
            return None
        return self.realm.groups.get(name[1:].lower())

    def irc_JOIN(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        if params[0] == "0":
            for group in list(avatar.groups):
                group.remove(avatar, "Left all channels")
            return
        keys = params[1].split(",") if len(params) > 1 else []
        for index, name in enumerate(params[0].split(",")[:20]):
            key = keys[index] if index < len(keys) else None
            self._join(avatar, name, key)
            if self._closing:
                return

    def _join(self, avatar: User, name: str, key: str | None) -> None:
        if (
            not name.startswith("#")
            or len(name) < 2
            or len(name) > CHANNELLEN
            or _BAD_CHANNEL.search(name)
        ):
            self._numeric("403", name[:CHANNELLEN], "No such channel")
            return
        group = self._lookupGroup(name)
        created = False
        if group is None:
            if not self.realm.createGroupOnRequest:
                self._numeric("403", name, "No such channel")
                return
            if len(avatar.groups) >= self.factory.maxChannels:
                self._numeric("405", name, "You have joined too many channels")
                return
            results: list[Group] = []
            self.realm.getGroup(name[1:]).addCallbacks(results.append, lambda f: None)
            if not results:
                self._numeric("403", name, "No such channel")
                return
            group = results[0]
            created = not group.users
        if avatar in group.users.values():
            return
        if len(avatar.groups) >= self.factory.maxChannels:
            self._numeric("405", name, "You have joined too many channels")
            return
        if group.key is not None and key != group.key:
            self._numeric("475", name, "Cannot join channel (+k)")
            return
        if group.limit is not None and len(group.users) >= group.limit:
            self._numeric("471", name, "Cannot join channel (+l)")
            return
        if group.isBanned(avatar.hostmask):
            self._numeric("474", name, "Cannot join channel (+b)")
            return
        if created or not group.users:
            group.ops.add(avatar)
        avatar.join(group)
        self._sendTopic(group, True)
        self._sendNames(group)

    def irc_PART(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        reason = params[1] if len(params) > 1 else None
        for name in params[0].split(","):
            group = self._lookupGroup(name)
            if group is None:
                self._numeric("403", name[:CHANNELLEN], "No such channel")
            elif avatar not in group.users.values():
                self._numeric("442", name, "You're not on that channel")
            else:
                group.remove(avatar, reason)

    def irc_PRIVMSG(self, prefix: str, params: list[str], notice: bool = False) -> None:
        avatar = self.avatar
        assert avatar is not None
        command = "NOTICE" if notice else "PRIVMSG"
        if not params or not params[0]:
            if not notice:
                self._numeric("411", f"No recipient given ({command})")
            return
        if len(params) < 2 or not params[1]:
            if not notice:
                self._numeric("412", "No text to send")
            return
        clientTags = {k: v for k, v in self.tags.items() if k.startswith("+")}
        for target in params[0].split(",")[:4]:
            message: dict[str, Any] = {"text": params[1], "notice": notice}
            if clientTags:
                message["tags"] = clientTags
            self._deliver(avatar, target, message, notice)

    def irc_NOTICE(self, prefix: str, params: list[str]) -> None:
        self.irc_PRIVMSG(prefix, params, notice=True)

    def irc_TAGMSG(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        clientTags = {k: v for k, v in self.tags.items() if k.startswith("+")}
        if "message-tags" not in self.capabilities or not clientTags:
            return
        self._deliver(avatar, params[0], {"command": "TAGMSG", "tags": clientTags}, True)

    def _deliver(self, avatar: User, target: str, message: dict[str, Any], quiet: bool) -> None:
        message["time"] = _serverTime()
        if target.startswith("#"):
            group = self._lookupGroup(target)
            if group is None:
                if not quiet:
                    self._numeric("401", target[:CHANNELLEN], "No such nick/channel")
                return
            member = avatar in group.users.values()
            privileged = avatar in group.ops or avatar in group.voiced
            if (
                ("n" in group.modes and not member)
                or ("m" in group.modes and not privileged)
                or (not privileged and group.isBanned(avatar.hostmask))
            ):
                if not quiet:
                    self._numeric("404", target, "Cannot send to channel")
                return
            avatar.send(group, message)
            recipient: Any = group
        else:
            user = self.realm.users.get(target.lower())
            if user is None or user.mind is None:
                if not quiet:
                    self._numeric("401", target[:NICKLEN], "No such nick/channel")
                return
            avatar.send(user, message)
            if user.away and not quiet:
                self._numeric("301", user.name, user.away)
            recipient = user
        if "echo-message" in self.capabilities:
            self.receive(avatar, recipient, message)

    def _sendTopic(self, group: Group, onJoin: bool = False) -> None:
        channel = "#" + group.name
        topic = group.meta.get("topic")
        if topic:
            self._numeric("332", channel, topic)
            author = group.meta.get("topic_author") or self.hostname or "server"
            self._numeric("333", channel, author, str(int(group.meta.get("topic_date") or 0)))
        elif not onJoin:
            self._numeric("331", channel, "No topic is set")

    def _sendNames(self, group: Group) -> None:
        multi = "multi-prefix" in self.capabilities
        names = [group.prefixFor(u, multi) + u.name for u in group.users.values()]
        self.names(self._target(), "#" + group.name, names)

    def irc_TOPIC(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        group = self._lookupGroup(params[0])
        if group is None:
            self._numeric("403", params[0][:CHANNELLEN], "No such channel")
            return
        if len(params) == 1:
            self._sendTopic(group)
            return
        if avatar not in group.users.values():
            self._numeric("442", params[0], "You're not on that channel")
            return
        if "t" in group.modes and avatar not in group.ops:
            self._numeric("482", params[0], "You're not channel operator")
            return
        group.setMetadata(
            {
                "topic": params[1][:TOPICLEN],
                "topic_author": avatar.hostmask,
                "topic_date": time.time(),
            }
        )

    def irc_NAMES(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self._numeric("366", "*", "End of /NAMES list")
            return
        for name in params[0].split(",")[:10]:
            group = self._lookupGroup(name)
            if group is None:
                self._numeric("366", name[:CHANNELLEN], "End of /NAMES list")
            else:
                self._sendNames(group)

    def _whoLine(self, channel: str, user: User, group: Group | None) -> list[str]:
        mind = user.mind
        username = getattr(mind, "username", None) or user.name
        host = getattr(mind, "_peerHost", "localhost")
        flags = ("G" if user.away else "H") + (group.prefixFor(user) if group else "")
        realname = getattr(mind, "realname", "") or user.name
        server = self.hostname or "server"
        return [channel, username, host, server, user.name, flags, f"0 {realname}"]

    def irc_WHO(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        mask = params[0] if params else "*"
        group = self._lookupGroup(mask)
        if group is not None:
            member = avatar in group.users.values()
            for user in group.users.values():
                if member or not user.invisible:
                    self._numeric("352", *self._whoLine(mask, user, group))
        else:
            user = self.realm.users.get(mask.lower())
            if user is not None and user.mind is not None:
                self._numeric("352", *self._whoLine("*", user, None))
        self._numeric("315", mask[:CHANNELLEN], "End of /WHO list")

    def irc_WHOIS(self, prefix: str, params: list[str]) -> None:
        nick = params[-1]
        user = self.realm.users.get(nick.lower())
        if user is None or user.mind is None:
            self._numeric("401", nick[:NICKLEN], "No such nick/channel")
            self._numeric("318", nick[:NICKLEN], "End of /WHOIS list")
            return
        mind = user.mind
        self.whois(
            self._target(),
            user.name,
            getattr(mind, "username", None) or user.name,
            getattr(mind, "_peerHost", "localhost"),
            getattr(mind, "realname", "") or user.name,
            self.hostname or "server",
            f"glisten-words {self.factory.network}",
            user.operator,
            int(time.time() - user.lastMessage),
            user.signOn,
            [g.prefixFor(user) + "#" + g.name for g in user.groups],
        )

    def irc_LIST(self, prefix: str, params: list[str]) -> None:
        wanted = {n.lower() for n in params[0].split(",")} if params and params[0] else None
        self._numeric("321", "Channel", "Users  Name")
        for group in list(self.realm.groups.values()):
            channel = "#" + group.name
            if wanted is not None and channel.lower() not in wanted:
                continue
            self._numeric("322", channel, str(len(group.users)), group.meta.get("topic", ""))
        self._numeric("323", "End of /LIST")

    def irc_AWAY(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        if params and params[0]:
            avatar.away = params[0][:TOPICLEN]
            self._numeric("306", "You have been marked as being away")
        else:
            avatar.away = None
            self._numeric("305", "You are no longer marked as being away")

    def irc_ISON(self, prefix: str, params: list[str]) -> None:
        online = []
        for nick in " ".join(params).split()[:50]:
            user = self.realm.users.get(nick.lower())
            if user is not None and user.mind is not None:
                online.append(user.name)
        self._numeric("303", " ".join(online))

    def irc_USERHOST(self, prefix: str, params: list[str]) -> None:
        replies = []
        for nick in params[:5]:
            user = self.realm.users.get(nick.lower())
            if user is not None and user.mind is not None:
                mask = user.hostmask.split("!", 1)[1]
                replies.append(f"{user.name}={'-' if user.away else '+'}{mask}")
        self._numeric("302", " ".join(replies))

    def irc_KICK(self, prefix: str, params: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        group = self._lookupGroup(params[0])
        if group is None:
            self._numeric("403", params[0][:CHANNELLEN], "No such channel")
            return
        if avatar not in group.users.values() and not avatar.operator:
            self._numeric("442", params[0], "You're not on that channel")
            return
        if avatar not in group.ops and not avatar.operator:
            self._numeric("482", params[0], "You're not channel operator")
            return
        reason = params[2][:TOPICLEN] if len(params) > 2 else avatar.name
        for nick in params[1].split(",")[:4]:
            target = group.users.get(nick.lower())
            if target is None:
                self._numeric("441", nick[:NICKLEN], params[0], "They aren't on that channel")
                continue
            for member in list(group.users.values()):
                mind = member.mind
                if mind is not None and hasattr(mind, "userKicked"):
                    mind.userKicked(group, avatar, target, reason)
            group._drop(target)

    def irc_MODE(self, prefix: str, params: list[str]) -> None:
        target = params[0]
        if target.startswith("#"):
            self._channelMode(target, params[1:])
        else:
            self._userMode(target, params[1:])

    def _userMode(self, nick: str, args: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        if nick.lower() != avatar.name.lower():
            self._numeric("502", "Cannot change mode for other users")
            return
        if not args:
            modes = ("i" if self.invisible else "") + ("o" if avatar.operator else "")
            self._numeric("221", "+" + modes)
            return
        try:
            added, removed = parseModes(args[0], [])
        except IRCBadModes:
            self._numeric("501", "Unknown MODE flag")
            return
        change = ""
        for mode, _ in added:
            if mode == "o":
                continue  # only OPER makes an operator
            if mode != "i":
                self._numeric("501", "Unknown MODE flag")
            elif not self.invisible:
                self.invisible = avatar.invisible = True
                change += "+i"
        for mode, _ in removed:
            if mode == "o":
                if avatar.operator:
                    avatar.operator = False
                    change += "-o"
            elif mode != "i":
                self._numeric("501", "Unknown MODE flag")
            elif self.invisible:
                self.invisible = avatar.invisible = False
                change += "-i"
        if change:
            self._send("MODE", [avatar.name, change.replace("-i-o", "-io")], avatar.hostmask)

    # ------------------------------------------------------------------ IRC operators

    def irc_OPER(self, prefix: str, params: list[str]) -> None:
        """``OPER name password``: checked by the factory's ``operatorChecker``."""
        avatar = self.avatar
        assert avatar is not None
        if len(params) < 2:
            self._numeric("461", "OPER", "Not enough parameters")
            return
        checker = self.factory.operatorChecker
        if checker is None:
            self._numeric("491", "No O-lines for your host")
            return
        creds = UsernamePassword(params[0].encode("utf-8"), params[1].encode("utf-8"))
        checker.requestAvatarId(creds).addCallbacks(
            lambda _: self._becameOperator(avatar), lambda _: self._operFailed()
        )

    def _becameOperator(self, avatar: User) -> None:
        if self._closing or avatar.mind is not self:
            return
        self._numeric("381", "You are now an IRC operator")
        if not avatar.operator:
            avatar.operator = True
            self._send("MODE", [avatar.name, "+o"], avatar.hostmask)

    def _operFailed(self) -> None:
        if self._closing:
            return
        self._numeric("464", "Password incorrect")
        self._operFailures += 1
        if self._operFailures >= 3:
            self._close("Too many OPER failures")

    def irc_KILL(self, prefix: str, params: list[str]) -> None:
        """``KILL nick reason``: an operator disconnects a user."""
        avatar = self.avatar
        assert avatar is not None
        if not avatar.operator:
            self._numeric("481", "Permission Denied- You're not an IRC operator")
            return
        if len(params) < 2 or not params[1]:
            self._numeric("461", "KILL", "Not enough parameters")
            return
        target = self.realm.users.get(params[0].lower())
        mind = target.mind if target is not None else None
        if mind is None or not hasattr(mind, "_close"):
            self._numeric("401", params[0][:NICKLEN], "No such nick/channel")
            return
        mind._close(f"Killed ({avatar.name} ({params[1][:TOPICLEN]}))")

    def _channelMode(self, channel: str, args: list[str]) -> None:
        avatar = self.avatar
        assert avatar is not None
        group = self._lookupGroup(channel)
        if group is None:
            self._numeric("403", channel[:CHANNELLEN], "No such channel")
            return
        if not args:
            modes = "+" + "".join(sorted(group.modes))
            extra: list[str] = []
            member = avatar in group.users.values()
            if group.key is not None:
                modes += "k"
                extra.append(group.key if member else "*")
            if group.limit is not None:
                modes += "l"
                extra.append(str(group.limit))
            self._numeric("324", channel, modes, *extra)
            self._numeric("329", channel, str(int(group.created)))
            return
        if args[0].lstrip("+") == "b" and len(args) == 1:
            for mask, setBy, setAt in group.bans:
                self._numeric("367", channel, mask, setBy, str(setAt))
            self._numeric("368", channel, "End of channel ban list")
            return
        if avatar not in group.ops and not avatar.operator:
            self._numeric("482", channel, "You're not channel operator")
            return
        modeString = args[0] if args[0][:1] in "+-" else "+" + args[0]
        try:
            added, removed = parseModes(modeString, args[1:], ("ovklb", "ovkb"))
        except IRCBadModes:
            self._numeric("461", "MODE", "Not enough parameters")
            return
        applied: list[tuple[str, str, str | None]] = []
        for sign, changes in (("+", added), ("-", removed)):
            for mode, arg in changes[:6]:
                if mode == "b":
                    try:
                        arg = normalizeMask(arg or "")
                    except IRCBadMessage:
                        continue
                if self._applyMode(group, channel, sign == "+", mode, arg):
                    applied.append((sign, mode, arg))
        if not applied:
            return
        modes, margs, last = "", [], ""
        for sign, mode, arg in applied:
            if sign != last:
                modes += sign
                last = sign
            modes += mode
            if arg is not None:
                margs.append(arg)
        for user in list(group.users.values()):
            mind = user.mind
            if mind is not None and hasattr(mind, "modeChanged"):
                mind.modeChanged(group, avatar, modes, margs)

    def _applyMode(self, group: Group, channel: str, on: bool, mode: str, arg: str | None) -> bool:
        if mode in "mtn":
            if on == (mode in group.modes):
                return False
            (group.modes.add if on else group.modes.discard)(mode)
            return True
        if mode in "ov":
            assert arg is not None
            target = group.users.get(arg.lower())
            if target is None:
                self._numeric("441", arg[:NICKLEN], channel, "They aren't on that channel")
                return False
            bucket = group.ops if mode == "o" else group.voiced
            if on == (target in bucket):
                return False
            (bucket.add if on else bucket.discard)(target)
            return True
        if mode == "k":
            if on:
                if not arg or " " in arg or len(arg) > 23:
                    return False
                group.key = arg
            else:
                if group.key is None:
                    return False
                group.key = None
            return True
        if mode == "l":
            if on:
                if arg is None or not arg.isdigit() or not 0 < int(arg) < 100000:
                    return False
                group.limit = int(arg)
            else:
                if group.limit is None:
                    return False
                group.limit = None
            return True
        if mode == "b":
            assert arg is not None
            present = [b for b in group.bans if b[0] == arg]
            if not on:
                for ban in present:
                    group.bans.remove(ban)
                return bool(present)
            if present:
                return False
            if len(group.bans) >= self.factory.maxBans:
                self._numeric("478", channel, arg, "Channel ban list is full")
                return False
            assert self.avatar is not None
            group.bans.append((arg, self.avatar.hostmask, int(time.time())))
            return True
        self._numeric("472", mode, "is unknown mode char to me")
        return False
