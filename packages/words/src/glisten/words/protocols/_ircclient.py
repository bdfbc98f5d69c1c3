"""The IRC client protocol, :class:`IRCClient`, as ``twisted.words.protocols.irc.IRCClient``.

A thin adapter: the codec in :mod:`._irc` frames and parses lines and runs capability
negotiation; this class dispatches messages to Twisted's callbacks (``privmsg``, ``joined``,
``irc_<COMMAND>``, ``irc_RPL_<NAME>``, ``ctcpQuery_<TAG>``) and offers Twisted's methods.

Beyond Twisted, it negotiates IRCv3 capabilities (``server-time``, ``message-tags``,
``account-tag``, ``batch``, ``cap-notify`` by default; ``echo-message`` and
``labeled-response`` on request) and SASL PLAIN or EXTERNAL. While a callback runs,
:attr:`IRCClient.tags` holds the tags of the message being handled, so Twisted's callback
signatures stay unchanged.

Batches and labelled replies (IRCv3 ``batch``, ``labeled-response``): every message is still
dispatched to its usual callback, with :attr:`IRCClient.currentBatch` naming the batch it
belongs to; in addition :meth:`IRCClient.batchReceived` gets each complete batch with its
messages, and :meth:`IRCClient.labeledResponse` gets the whole reply to a command sent with
:meth:`IRCClient.sendLabeled`.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any, ClassVar, NamedTuple

from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionLost, TimeoutError
from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.words._pacing import InputPacer
from glisten.words.protocols._irc import (
    BadLine,
    CapabilitiesAcknowledged,
    CapabilitiesAdded,
    CapabilitiesAvailable,
    CapabilitiesRejected,
    CapabilitiesRemoved,
    CapState,
    ClientCapabilities,
    IRCBadMessage,
    IRCBadModes,
    IRCLocalError,
    Limits,
    LineDecoder,
    Message,
    NegotiationDone,
    SASLFailed,
    SASLSucceeded,
    saslPlainPayload,
    serializeMessage,
    splitUTF8,
)
from glisten.words.protocols._irc._batch import (
    Batch,
    BatchClosed,
    BatchEvent,
    BatchOpened,
    BatchTracker,
    LabeledReply,
)
from glisten.words.protocols._irc._ctcp import X_DELIM, ctcpExtract, ctcpStringify
from glisten.words.protocols._irc._dcc import (
    dccDescribeAddress,
    formatDccSend,
    parseDccChat,
    parseDccPassiveChat,
    parseDccPassiveReply,
    parseDccPassiveResume,
    parseDccPassiveSend,
    parseDccResume,
    parseDccSend,
    quoteFileName,
    safeFileName,
)
from glisten.words.protocols._irc._isupport import ServerSupportedFeatures
from glisten.words.protocols._irc._modes import parseModes
from glisten.words.protocols._irc._numerics import numeric_to_symbolic
from glisten.words.protocols._ircdcc import (
    DccChatFactory,
    DccFileReceive,
    DccFileReceiveFactory,
    DccSendFactory,
    fileSize,
)

__all__ = ["CHANNEL_PREFIXES", "Batch", "IRCClient", "IRCPasswordMismatch"]

#: Characters that start a channel name (RFC 2812).
CHANNEL_PREFIXES = "&#!+"

_log = Logger()

#: Bytes parsed in one go: a typical read, split into lines in one pass, while what a
#: server can make the client hold parsed ahead of its turn stays small.
_SLICE = 4096


class IRCPasswordMismatch(Exception):
    """The server refused the connection password (ERR_PASSWDMISMATCH)."""


class _PassiveOffer(NamedTuple):
    """A file or chat we offered passively (port 0 and a token), waiting for the answer."""

    nick: str
    fileName: str  # "" for a chat
    factory: DccSendFactory | DccChatFactory
    timer: Any


class _PassiveResume(NamedTuple):
    """A passive offer we asked to resume, waiting for the sender's ``DCC ACCEPT``."""

    nick: str
    fileName: str
    size: int
    position: int
    factory: DccFileReceiveFactory
    timer: Any


def _nick(prefix: str | None) -> str:
    return (prefix or "").split("!", 1)[0]


def _parseServerTime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class IRCClient(Protocol):
    """An IRC client connection; subclass it and override the callbacks.

    :ivar nickname: the nickname to register with; updated on renames.
    :ivar password: the server password (``PASS``), if any.
    :ivar realname: the real name sent in ``USER``.
    :ivar username: the user name sent in ``USER`` (defaults to the nickname).
    :ivar lineRate: minimum seconds between two lines sent, ``None`` for no flood control.
    :ivar supported: what the server announced in RPL_ISUPPORT.
    :ivar wantedCapabilities: IRCv3 capabilities to request when the server offers them.
    :ivar saslMechanism: ``"PLAIN"`` or ``"EXTERNAL"`` to authenticate with SASL.
    :ivar saslUsername: the SASL account (defaults to the nickname).
    :ivar saslPassword: the SASL PLAIN password.
    :ivar tags: the tags of the message being dispatched (empty outside a callback).
    :ivar currentBatch: the :class:`Batch` the message being dispatched belongs to, if any.
    :ivar reactor: the clock for ``lineRate``, the heartbeat and the turns of paced input;
        the global reactor if ``None``.
    :ivar maxMessagesPerTurn: messages handled in one go before the connection yields to
        the others: reading pauses and the rest waits for the reactor's next turn, so a
        server's megabyte of ``PING``/``PRIVMSG`` lines cannot stall the process (issue 29).
    :ivar maxBytesPerTurn: bytes parsed in one go, for the same reason.
    """

    nickname = "irc"
    password: str | None = None
    realname: str | None = None
    username: str | None = None
    userinfo: str | None = None
    fingerReply: Any = None
    versionName: str | None = None
    versionNum: str | None = None
    versionEnv: str | None = None
    sourceURL = "https://pypi.org/project/glisten-words/"
    lineRate: float | None = None
    heartbeatInterval: float | None = 120
    performLogin = 1
    erroneousNickFallback = "defaultnick"
    hostname: str | None = None
    motd: list[str] | None = None
    wantedCapabilities: ClassVar[Sequence[str]] = (
        "server-time",
        "message-tags",
        "account-tag",
        "batch",
        "cap-notify",
    )
    saslMechanism: str | None = None
    saslUsername: str | None = None
    saslPassword: str | None = None
    #: CTCP replies allowed per ``ctcpReplyWindow`` seconds (the rest are dropped, so a CTCP
    #: flood cannot make the client flood the server).
    ctcpReplyBudget = 5
    ctcpReplyWindow = 10.0
    limits = Limits()
    reactor: Any = None
    maxMessagesPerTurn = 64
    maxBytesPerTurn = 16384
    dcc_destdir = "."
    #: The address DCC offers name (default: this end of the IRC connection); set it when
    #: peers must reach this host at another address.
    dccAddress: str | None = None
    #: Seconds a DCC offer waits for the peer to connect.
    dccTimeout = 120.0

    _registered = False
    _attemptedNick = ""

    #: Per-connection state; :meth:`connectionMade` builds it afresh, so a subclass whose
    #: ``__init__`` does not call this one (fine with Twisted) still works.
    tags: dict[str, str] = {}
    currentMessage: Message | None = None
    currentBatch: Batch | None = None
    capabilities: ClientCapabilities | None = None
    _queueCall: Any = None
    _heartbeat: Any = None
    _pacer: InputPacer[Message | BadLine] | None = None
    _ownPrefix: str | None = None

    def __init__(self) -> None:
        self._resetState()

    def _resetState(self) -> None:
        self._dccOffers: dict[int, tuple[str, DccSendFactory]] = {}
        self._dccPassiveResumes: dict[str, _PassiveResume] = {}
        self._dccPassiveOffers: dict[str, _PassiveOffer] = {}
        # Factories listening for a DCC peer, closed when the IRC connection ends.
        self._dccListening: set[DccSendFactory | DccChatFactory | DccFileReceiveFactory] = set()
        self.supported = ServerSupportedFeatures()
        self.tags = {}
        self.currentMessage = None
        self.capabilities = None
        self._queue: deque[bytes] = deque()
        self._queueCall = None
        self._heartbeat = None
        self._decoder = LineDecoder(self.limits)
        self._handlers: dict[str, str] = {}
        self._pacer = None
        self._pings: dict[tuple[str, str], float] = {}
        self._ctcpReplies: deque[float] = deque()
        self._batches = BatchTracker()
        self.currentBatch = None
        self._labels = itertools.count(1)
        self._ownPrefix = None
        self._registered = False

    # ------------------------------------------------------------------ transport plumbing

    def _clock(self) -> Any:
        return getReactor(self.reactor)

    def connectionMade(self) -> None:
        self._resetState()
        if self.performLogin:
            self.register(self.nickname)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.stopHeartbeat()
        pending, self._dccPassiveResumes = self._dccPassiveResumes, {}
        for resume in pending.values():
            resume.timer.cancel()
            resume.factory.abandon(ConnectionLost("the IRC connection closed first"))
        offers, self._dccPassiveOffers = self._dccPassiveOffers, {}
        for offer in offers.values():
            offer.timer.cancel()
            offer.factory.abandon(ConnectionLost("the IRC connection closed first"))
        listening, self._dccListening = self._dccListening, set()
        for factory in listening:
            # Unlike Twisted, whose listeners wait out dccTimeout: an offer made on a
            # connection that is gone cannot be followed up (no RESUME, no reply).
            factory.abandon(ConnectionLost("the IRC connection closed first"))
        if self._queueCall is not None and self._queueCall.active():
            self._queueCall.cancel()
        self._queueCall = None
        self._queue.clear()
        if self._pacer is not None:
            self._pacer.stop()

    def dataReceived(self, data: bytes) -> None:
        if getattr(self.transport, "disconnecting", False):
            return  # closing (by a handler, or quit): what comes now is not read
        pacer = self._pacer
        if pacer is None:
            handle = self._lineEvent
            if type(self).messageReceived is not IRCClient.messageReceived:
                handle = self._overriddenLineEvent
            pacer = self._pacer = InputPacer(
                self._decoder.receiveData,
                handle,
                self.transport,
                self._clock,
                maxEvents=self.maxMessagesPerTurn,
                maxBytes=self.maxBytesPerTurn,
                # Never more than the byte budget in one slice.
                sliceSize=max(1, min(_SLICE, self.maxBytesPerTurn)),
            )
        pacer.dataReceived(data)

    def _lineEvent(self, event: Message | BadLine) -> None:
        """Dispatch one codec event: the whole way from a parsed line to its handler.

        A line without tags whose command was seen before (:attr:`_handlers`) costs one
        look-up and :meth:`handleCommand`, which finds its ``irc_*`` method each time as
        Twisted does; everything else (bad lines, tags, batches, capability negotiation, a
        command seen for the first time) goes through :meth:`_dispatch`.
        """
        if type(event) is Message and not event.tags:
            symbolic = self._handlers.get(event.command)
            if symbolic is not None:
                self.currentMessage = event
                try:
                    self.handleCommand(symbolic, event.prefix or "", event.params)
                except IndexError:
                    _log.warn("IRC: {command} with too few parameters ignored", command=symbolic)
                self.currentMessage = None
                transport = self.transport
                if transport is None or getattr(transport, "disconnecting", False):
                    self._readNoFurther()
                return
        self._dispatch(event)

    def _overriddenLineEvent(self, event: Message | BadLine) -> None:
        """:meth:`_lineEvent` for a subclass with its own :meth:`messageReceived`: every
        parsed line goes there."""
        if isinstance(event, BadLine):
            self._dispatch(event)
        else:
            self.messageReceived(event)

    def _readNoFurther(self) -> None:
        # A handler dropped the transport (as Twisted's clients may) or closed the
        # connection: read no further, as Twisted's LineReceiver stops at ``disconnecting``.
        if self._pacer is not None:
            self._pacer.discard()

    def _dispatch(self, event: Message | BadLine) -> None:
        """:meth:`_lineEvent` for a bad line, a line with tags, a ``BATCH``, ``CAP`` or any
        line during capability negotiation, or a command without a remembered handler."""
        if isinstance(event, BadLine):
            _log.warn("IRC: skipped a line from the server: {why}", why=event.message)
            return
        assert isinstance(event, Message)
        command = event.command
        caps = self.capabilities
        if caps is not None and (caps.state is not CapState.DONE or command == "CAP"):
            self._negotiate(caps, event)
        tags = event.tags
        batchEvents: Sequence[BatchEvent] = ()
        if tags:
            self.tags = tags
            self.currentBatch = self._batches.batchOf(event)
            batchEvents = self._batches.receive(event)
        elif command == "BATCH":
            batchEvents = self._batches.receive(event)
        symbolic = self._symbolicName(command)
        self.currentMessage = event
        try:
            self.handleCommand(symbolic, event.prefix or "", event.params)
        except IndexError:
            _log.warn("IRC: {command} with too few parameters ignored", command=symbolic)
        finally:
            if tags:
                self.tags = {}
                self.currentBatch = None
            self.currentMessage = None
        for batchEvent in batchEvents:
            self._batchEvent(batchEvent)
        transport = self.transport
        if transport is None or getattr(transport, "disconnecting", False):
            self._readNoFurther()

    def _negotiate(self, caps: ClientCapabilities, message: Message) -> None:
        out, events = caps.receive(message)
        for command, params in out:
            self._sendNow(serializeMessage(command, params))
        for event in events:
            self._capabilityEvent(event)

    def _symbolicName(self, command: str) -> str:
        """``command`` (as the server sent it) as :meth:`handleCommand` takes it: by name
        (``RPL_WELCOME``) for a known numeric.

        Remembered in :attr:`_handlers` for the connection once capability negotiation is
        over, except for ``CAP`` and ``BATCH``, which always need :meth:`_dispatch`; at most
        256 commands, so a server sending made-up ones cannot grow it. Only the name is
        remembered, never the method: one set on the instance or the class later is used.
        """
        symbolic = self._handlers.get(command)
        if symbolic is not None:
            return symbolic
        symbolic = command
        if command[0] <= "9":
            symbolic = numeric_to_symbolic.get(command, command)
        caps = self.capabilities
        if (
            (caps is None or caps.state is CapState.DONE)
            and command not in ("CAP", "BATCH")
            and len(self._handlers) < 256
        ):
            self._handlers[command] = symbolic
        return symbolic

    def messageReceived(self, message: Message) -> None:
        """Dispatch one parsed message as if the server had sent it (capability negotiation
        first, then ``irc_*``). Every received line comes here when a subclass overrides
        it (and dispatches by calling this one)."""
        self._lineEvent(message)

    def _batchEvent(self, event: BatchEvent) -> None:
        if type(event) is BatchOpened:
            batch = event.batch
            self.batchStarted(batch.reference, batch.batchType, batch.parameters)
        elif type(event) is BatchClosed:
            batch = event.batch
            self.batchEnded(batch.reference, batch.batchType, batch.parameters)
            self.batchReceived(batch)
        elif type(event) is LabeledReply:
            self.labeledResponse(event.label, event.messages)

    def lineReceived(self, line: bytes | str) -> None:
        """Handle one line (without line ending), as Twisted's line-based client does."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.dataReceived(line + b"\r\n")

    def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
        """Call ``irc_<command>`` or :meth:`irc_unknown` (``command`` being symbolic for
        numerics, as in Twisted): every received line comes here, so an override sees
        every command. An exception from the handler is logged, as Twisted does, and the
        next line is read."""
        method = getattr(self, "irc_" + command, None)
        try:
            if method is not None:
                method(prefix, params)
            else:
                self.irc_unknown(prefix, command, params)
        except IndexError:
            _log.warn("IRC: {command} with too few parameters ignored", command=command)
        except Exception:
            # As Twisted's: a bug in one handler is logged, the connection carries on.
            _log.failure("IRC: error while handling {command}", command=command)

    # ------------------------------------------------------------------ sending

    def sendLine(self, line: str | bytes) -> None:
        """Send one raw line (without line ending), through flood control.

        :raises ValueError: the line contains CR, LF or NUL.
        """
        data = line.encode("utf-8") if isinstance(line, str) else line
        if b"\r" in data or b"\n" in data or b"\x00" in data:
            raise ValueError("CR, LF or NUL in an IRC line")
        self._enqueue(data + b"\r\n")

    def sendCommand(
        self,
        command: str,
        parameters: Sequence[str],
        prefix: str | None = None,
        tags: dict[str, str | None] | None = None,
        trailing: bool = False,
    ) -> None:
        """Send a command with parameters (and IRCv3 ``tags``), quoting the last one as
        needed (always, with ``trailing``).

        :raises ValueError: a parameter would break the line's framing.
        """
        self._enqueue(serializeMessage(command, list(parameters), prefix, tags, trailing=trailing))

    def sendLabeled(self, command: str, parameters: Sequence[str]) -> str:
        """Send a command with a ``label`` tag (IRCv3 labeled-response).

        The reply is dispatched as usual, and then passed whole to :meth:`labeledResponse`
        with the label returned here (when the server has enabled ``labeled-response``).

        :return: the label.
        """
        label = "g%d" % next(self._labels)
        self._batches.labelSent(label)
        self.sendCommand(command, parameters, tags={"label": label})
        return label

    def _enqueue(self, data: bytes) -> None:
        if self.lineRate is None:
            self._sendNow(data)
            return
        if self._queueCall is None:
            self._sendNow(data)
            self._queueCall = self._clock().callLater(self.lineRate, self._sendQueued)
        else:
            self._queue.append(data)

    def _sendQueued(self) -> None:
        self._queueCall = None
        if self._queue:
            self._sendNow(self._queue.popleft())
            self._queueCall = self._clock().callLater(self.lineRate, self._sendQueued)

    def _sendNow(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _reallySendLine(self, line: str) -> None:
        """Send a line at once, bypassing flood control."""
        self._sendNow(line.encode("utf-8") + b"\r\n")

    # ------------------------------------------------------------------ registration

    def register(self, nickname: str, hostname: str = "foo", servername: str = "bar") -> None:
        """Start registration: ``CAP LS 302`` (for IRCv3), ``PASS``, ``NICK``, ``USER``."""
        wanted = list(self.wantedCapabilities)
        if wanted or self.saslMechanism:
            payload = b""
            if self.saslMechanism == "PLAIN":
                payload = saslPlainPayload(self.saslUsername or nickname, self.saslPassword or "")
            self.capabilities = ClientCapabilities(wanted, self.saslMechanism, payload)
            for command, params in self.capabilities.start():
                self._sendNow(serializeMessage(command, params))
        if self.password is not None:
            self.sendCommand("PASS", [self.password])
        self.setNick(nickname)
        if self.username is None:
            self.username = nickname
        self.sendCommand("USER", [self.username, hostname, servername, self.realname or nickname])

    def setNick(self, nickname: str) -> None:
        """Ask for a new nickname."""
        self._attemptedNick = nickname
        self.sendCommand("NICK", [nickname])

    def alterCollidedNick(self, nickname: str) -> str:
        """The nickname to try when ``nickname`` is taken during registration."""
        return nickname + "_"

    def quit(self, message: str = "") -> None:
        """Leave the server."""
        self.sendCommand("QUIT", [message])

    # ------------------------------------------------------------------ channel commands

    @staticmethod
    def _channel(channel: str) -> str:
        if channel and channel[0] not in CHANNEL_PREFIXES:
            return "#" + channel
        return channel

    def join(self, channel: str, key: str | None = None) -> None:
        """Join a channel (``#`` is added when the name has no channel prefix)."""
        channel = self._channel(channel)
        self.sendCommand("JOIN", [channel, key] if key else [channel])

    def leave(self, channel: str, reason: str | None = None) -> None:
        """Leave a channel."""
        channel = self._channel(channel)
        self.sendCommand("PART", [channel, reason] if reason else [channel])

    part = leave

    def kick(self, channel: str, user: str, reason: str | None = None) -> None:
        """Kick ``user`` from ``channel``."""
        channel = self._channel(channel)
        self.sendCommand("KICK", [channel, user, reason] if reason else [channel, user])

    def invite(self, user: str, channel: str) -> None:
        """Invite ``user`` to ``channel``."""
        self.sendCommand("INVITE", [user, self._channel(channel)])

    def topic(self, channel: str, topic: str | None = None) -> None:
        """Ask for a channel's topic, or set it."""
        channel = self._channel(channel)
        self.sendCommand("TOPIC", [channel] if topic is None else [channel, topic])

    def mode(
        self,
        chan: str,
        set: bool,
        modes: str,
        limit: int | None = None,
        user: str | None = None,
        mask: str | None = None,
    ) -> None:
        """Change modes: ``mode("#c", True, "o", user="nick")``, ``mode("#c", True, "l", 10)``."""
        params = [chan, ("+" if set else "-") + modes]
        if limit is not None:
            params.append(str(limit))
        elif user is not None:
            params.append(user)
        elif mask is not None:
            params.append(mask)
        self.sendCommand("MODE", params)

    def away(self, message: str = "") -> None:
        """Mark yourself away."""
        self.sendCommand("AWAY", [message])

    def back(self) -> None:
        """Clear the away status."""
        self.sendCommand("AWAY", [])

    def whois(self, nickname: str, server: str | None = None) -> None:
        """Ask about a user (through ``server`` for remote details)."""
        self.sendCommand("WHOIS", [server, nickname] if server else [nickname])

    def ping(self, user: str, text: str | None = None) -> None:
        """CTCP PING ``user``; :meth:`pong` is called with the round trip time."""
        key = text if text is not None else "%d" % (time.time() * 1000)
        self._pings[(user, key)] = time.time()
        if len(self._pings) > 100:
            self._pings.pop(next(iter(self._pings)))
        self.ctcpMakeQuery(user, [("PING", key)])

    # ------------------------------------------------------------------ messages

    def _safeMaximumLineLength(self, command: str) -> int:
        """The longest line that still fits once the server puts our prefix in front."""
        if self._ownPrefix is not None:
            prefix = ":" + self._ownPrefix + " "
        else:
            nicklen = self.supported.getFeature("NICKLEN", 9) or 9
            userlen = self.supported.getFeature("USERLEN", 10) or 10
            nicklen = max(nicklen, len(self.nickname.encode("utf-8")))
            prefix = ":" + "n" * nicklen + "!" + "u" * (userlen + 1) + "@" + "h" * 63 + " "
        return (
            self.limits.maxBodyLength - len(prefix.encode("utf-8")) - len(command.encode("utf-8"))
        )

    def msg(self, user: str, message: str, length: int | None = None) -> None:
        """Send a PRIVMSG, split into several lines when it is too long for one.

        Lines break at newlines and then at the last space that fits, never inside a UTF-8
        character; ``length`` is the longest line to send, in bytes with its line ending.

        :raises ValueError: ``length`` leaves no room for text.
        """
        self._sendSplit("PRIVMSG", user, message, length)

    def say(self, channel: str, message: str, length: int | None = None) -> None:
        """Send a message to a channel (``#`` is added when missing)."""
        self.msg(self._channel(channel), message, length)

    def notice(self, user: str, message: str) -> None:
        """Send a NOTICE (split like :meth:`msg`)."""
        self._sendSplit("NOTICE", user, message, None)

    def _sendSplit(self, command: str, target: str, message: str, length: int | None) -> None:
        fixed = f"{command} {target} :"
        if length is None:
            length = self._safeMaximumLineLength(fixed)
        room = length - len(fixed.encode("utf-8")) - 2
        if room < 4:
            raise ValueError("maximum length must be longer than %d" % (length - room + 3))
        for line in message.split("\n"):
            for piece in splitUTF8(line.rstrip("\r"), room):
                self.sendCommand(command, [target, piece], trailing=True)

    def describe(self, channel: str, action: str) -> None:
        """Send a CTCP ACTION (``/me``)."""
        self.ctcpMakeQuery(channel, [("ACTION", action)])

    def me(self, channel: str, action: str) -> None:
        """Deprecated alias of :meth:`describe` with a ``#`` added."""
        self.describe(self._channel(channel), action)

    def ctcpMakeQuery(self, user: str, messages: Iterable[tuple[str, Any]]) -> None:
        """Send CTCP queries in a PRIVMSG."""
        self.sendCommand("PRIVMSG", [user, ctcpStringify(messages)], trailing=True)

    def ctcpMakeReply(self, user: str, messages: Iterable[tuple[str, Any]]) -> None:
        """Send CTCP replies in a NOTICE, within :attr:`ctcpReplyBudget`."""
        now = self._clock().seconds()
        replies = self._ctcpReplies
        while replies and replies[0] <= now - self.ctcpReplyWindow:
            replies.popleft()
        if len(replies) >= self.ctcpReplyBudget:
            return
        replies.append(now)
        self.sendCommand("NOTICE", [user, ctcpStringify(messages)], trailing=True)

    # ------------------------------------------------------------------ IRCv3 helpers

    def serverTime(self) -> datetime | None:
        """When the server says the current message happened (``server-time``), if it did."""
        value = self.tags.get("time")
        return _parseServerTime(value) if value else None

    def capabilityEnabled(self, name: str) -> bool:
        """Whether the server acknowledged capability ``name``."""
        return self.capabilities is not None and name in self.capabilities.enabled

    def _capabilityEvent(self, event: Any) -> None:
        if isinstance(event, CapabilitiesAvailable):
            self.capabilitiesAvailable(event.capabilities)
        elif isinstance(event, CapabilitiesAcknowledged):
            self.capabilitiesAcknowledged(event.capabilities)
        elif isinstance(event, CapabilitiesRejected):
            self.capabilitiesRejected(event.capabilities)
        elif isinstance(event, CapabilitiesAdded):
            self.capabilitiesAdded(event.capabilities)
        elif isinstance(event, CapabilitiesRemoved):
            self.capabilitiesRemoved(event.capabilities)
        elif isinstance(event, SASLSucceeded):
            self.saslSucceeded(event.account)
        elif isinstance(event, SASLFailed):
            self.saslFailed(event.numeric)
        elif isinstance(event, NegotiationDone):
            pass

    def capabilitiesAvailable(self, capabilities: dict[str, str | None]) -> None:
        """The server listed its capabilities."""

    def capabilitiesAcknowledged(self, capabilities: list[str]) -> None:
        """The server enabled these capabilities."""

    def capabilitiesRejected(self, capabilities: list[str]) -> None:
        """The server refused to enable these capabilities."""

    def capabilitiesAdded(self, capabilities: dict[str, str | None]) -> None:
        """The server offers new capabilities (``CAP NEW``)."""

    def capabilitiesRemoved(self, capabilities: list[str]) -> None:
        """The server withdrew capabilities (``CAP DEL``)."""

    def saslSucceeded(self, account: str | None) -> None:
        """SASL authentication succeeded."""

    def saslFailed(self, numeric: str) -> None:
        """SASL authentication failed; registration goes on unauthenticated."""
        _log.warn("IRC: SASL authentication failed ({numeric})", numeric=numeric or "no mech")

    def batchStarted(self, reference: str, batchType: str, params: list[str]) -> None:
        """A ``BATCH`` opened; its messages carry ``batch=reference`` in :attr:`tags`."""

    def batchEnded(self, reference: str, batchType: str, params: list[str]) -> None:
        """A ``BATCH`` closed."""

    def batchReceived(self, batch: Batch) -> None:
        """A complete batch, after its messages went to their usual callbacks.

        ``batch.messages`` holds them (those of nested batches too, whose own
        :meth:`batchReceived` came first), unless ``batch.truncated`` says the client stopped
        keeping them (at most 16 batches are open and 2,000 messages held at once, so a server
        cannot make the client buffer without end). Override it to handle a
        ``chathistory`` or ``netsplit`` batch as a whole.
        """

    def labeledResponse(self, label: str, messages: list[Message]) -> None:
        """The complete reply to the command :meth:`sendLabeled` sent with ``label``.

        :param messages: the reply's messages in order (already dispatched to their
            callbacks): one message, the contents of the labelled batch, or none when the
            server only acknowledged the command (``ACK``).
        """

    # ------------------------------------------------------------------ heartbeat

    def startHeartbeat(self) -> None:
        """PING the server every :attr:`heartbeatInterval` seconds."""
        self.stopHeartbeat()
        if self.heartbeatInterval is None:
            return
        self._heartbeat = self._clock().callLater(self.heartbeatInterval, self._sendHeartbeat)

    def _sendHeartbeat(self) -> None:
        self._heartbeat = None
        self.sendCommand("PING", [self.hostname or "server"])
        self.startHeartbeat()

    def stopHeartbeat(self) -> None:
        """Stop the PINGs."""
        if self._heartbeat is not None and self._heartbeat.active():
            self._heartbeat.cancel()
        self._heartbeat = None

    # ------------------------------------------------------------------ callbacks

    def created(self, when: str) -> None:
        """RPL_CREATED: when the server was created."""

    def yourHost(self, info: str) -> None:
        """RPL_YOURHOST."""

    def myInfo(self, servername: str, version: str, umodes: str, cmodes: str) -> None:
        """RPL_MYINFO: server name, version, user and channel modes."""

    def luserClient(self, info: str) -> None:
        """RPL_LUSERCLIENT."""

    def bounce(self, info: str) -> None:
        """RPL_BOUNCE."""

    def isupport(self, options: list[str]) -> None:
        """RPL_ISUPPORT tokens (already applied to :attr:`supported`)."""

    def luserChannels(self, channels: int) -> None:
        """RPL_LUSERCHANNELS."""

    def luserOp(self, ops: int) -> None:
        """RPL_LUSEROP."""

    def luserMe(self, info: str) -> None:
        """RPL_LUSERME."""

    def signedOn(self) -> None:
        """Registration completed."""

    def receivedMOTD(self, motd: list[str]) -> None:
        """The message of the day, line by line."""

    def privmsg(self, user: str, channel: str, message: str) -> None:
        """A message to a channel or (``channel`` being our nick) to us."""

    def noticed(self, user: str, channel: str, message: str) -> None:
        """A NOTICE; never answer one automatically (RFC 1459)."""

    def action(self, user: str, channel: str, data: str) -> None:
        """A CTCP ACTION (``/me``)."""

    def joined(self, channel: str) -> None:
        """We joined ``channel``."""

    def left(self, channel: str) -> None:
        """We left ``channel``."""

    def kickedFrom(self, channel: str, kicker: str, message: str) -> None:
        """We were kicked."""

    def nickChanged(self, nick: str) -> None:
        """Our nick changed."""
        self.nickname = nick

    def userJoined(self, user: str, channel: str) -> None:
        """Someone joined a channel we are on."""

    def userLeft(self, user: str, channel: str) -> None:
        """Someone left a channel we are on."""

    def userQuit(self, user: str, quitMessage: str) -> None:
        """Someone quit."""

    def userKicked(self, kickee: str, channel: str, kicker: str, message: str) -> None:
        """Someone was kicked."""

    def userRenamed(self, oldname: str, newname: str) -> None:
        """Someone changed nick."""

    def topicUpdated(self, user: str, channel: str, newTopic: str) -> None:
        """A topic was set or reported."""

    def modeChanged(
        self, user: str, channel: str, set: bool, modes: str, args: tuple[Any, ...]
    ) -> None:
        """Modes changed; called once for added and once for removed modes."""

    def pong(self, user: str, secs: float) -> None:
        """A CTCP PING reply came back after ``secs`` seconds."""

    # ------------------------------------------------------------------ irc_* handlers

    def irc_unknown(self, prefix: str, command: str, params: list[str]) -> None:
        """A command without an ``irc_`` method."""

    def irc_ERR_NICKNAMEINUSE(self, prefix: str, params: list[str]) -> None:
        # Only during registration: afterwards the old nick simply stays.
        if not self._registered:
            self._attemptedNick = self.alterCollidedNick(self._attemptedNick)
            self.setNick(self._attemptedNick)

    def irc_ERR_ERRONEUSNICKNAME(self, prefix: str, params: list[str]) -> None:
        if not self._registered:
            self.setNick(self.erroneousNickFallback)

    def irc_ERR_PASSWDMISMATCH(self, prefix: str, params: list[str]) -> None:
        _log.error("IRC: the server refused the password")
        if self.transport is not None:
            self.transport.loseConnection()

    def irc_RPL_WELCOME(self, prefix: str, params: list[str]) -> None:
        self.hostname = prefix
        self._registered = True
        # The server's word is final (it may have given another nick, e.g. a SASL account's).
        self.nickname = params[0] if params and params[0] != "*" else self._attemptedNick
        self.signedOn()
        self.startHeartbeat()

    def irc_JOIN(self, prefix: str, params: list[str]) -> None:
        nick = prefix.split("!", 1)[0]
        channel = params[0]
        if nick == self.nickname:
            self._ownPrefix = prefix
            self.joined(channel)
        else:
            self.userJoined(nick, channel)

    def irc_PART(self, prefix: str, params: list[str]) -> None:
        nick = prefix.split("!", 1)[0]
        if nick == self.nickname:
            self.left(params[0])
        else:
            self.userLeft(nick, params[0])

    def irc_QUIT(self, prefix: str, params: list[str]) -> None:
        self.userQuit(prefix.split("!", 1)[0], params[0] if params else "")

    def irc_MODE(self, prefix: str, params: list[str]) -> None:
        channel, modes, args = params[0], params[1], params[2:]
        if modes[0] not in "+-":
            modes = "+" + modes
        if channel == self.nickname:
            paramModes = ("", "")
        else:
            cm = self.supported.getFeature("CHANMODES") or {}
            prefixes = "".join((self.supported.getFeature("PREFIX") or {}).keys())
            paramModes = (
                cm.get("addressModes", "")
                + cm.get("param", "")
                + cm.get("setParam", "")
                + prefixes,
                cm.get("addressModes", "") + cm.get("param", "") + prefixes,
            )
        try:
            added, removed = parseModes(modes, args, paramModes)
        except IRCBadModes:
            _log.warn("IRC: ignored a MODE line that does not parse")
            return
        if added:
            m, a = zip(*added, strict=True)
            self.modeChanged(prefix, channel, True, "".join(m), a)
        if removed:
            m, a = zip(*removed, strict=True)
            self.modeChanged(prefix, channel, False, "".join(m), a)

    def irc_PING(self, prefix: str, params: list[str]) -> None:
        self._sendNow(serializeMessage("PONG", [params[-1]] if params else ["server"]))

    def irc_PRIVMSG(self, prefix: str, params: list[str]) -> None:
        user, channel, message = prefix, params[0], params[-1]
        if not message:
            return
        if X_DELIM in message:
            m = ctcpExtract(message)
            if m["extended"]:
                self.ctcpQuery(user, channel, m["extended"])  # type: ignore[arg-type]
            if not m["normal"]:
                return
            message = " ".join(m["normal"])  # type: ignore[arg-type]
        self.privmsg(user, channel, message)

    def irc_NOTICE(self, prefix: str, params: list[str]) -> None:
        user, channel, message = prefix, params[0], params[-1]
        if X_DELIM in message:
            m = ctcpExtract(message)
            if m["extended"]:
                self.ctcpReply(user, channel, m["extended"])  # type: ignore[arg-type]
            if not m["normal"]:
                return
            message = " ".join(m["normal"])  # type: ignore[arg-type]
        self.noticed(user, channel, message)

    def irc_NICK(self, prefix: str, params: list[str]) -> None:
        nick = prefix.split("!", 1)[0]
        if nick == self.nickname:
            if self._ownPrefix is not None:
                self._ownPrefix = params[0] + self._ownPrefix[len(nick) :]
            self.nickChanged(params[0])
        else:
            self.userRenamed(nick, params[0])

    def irc_KICK(self, prefix: str, params: list[str]) -> None:
        kicker = prefix.split("!", 1)[0]
        channel, kicked = params[0], params[1]
        message = params[2] if len(params) > 2 else ""
        if kicked.lower() == self.nickname.lower():
            self.kickedFrom(channel, kicker, message)
        else:
            self.userKicked(kicked, channel, kicker, message)

    def irc_TOPIC(self, prefix: str, params: list[str]) -> None:
        self.topicUpdated(prefix.split("!", 1)[0], params[0], params[-1] if len(params) > 1 else "")

    def irc_RPL_TOPIC(self, prefix: str, params: list[str]) -> None:
        self.topicUpdated(prefix.split("!", 1)[0], params[1], params[2])

    def irc_RPL_NOTOPIC(self, prefix: str, params: list[str]) -> None:
        self.topicUpdated(prefix.split("!", 1)[0], params[1], "")

    def irc_RPL_MOTDSTART(self, prefix: str, params: list[str]) -> None:
        text = params[-1]
        if text.startswith("- "):
            text = text[2:]
        self.motd = [text]

    def irc_RPL_MOTD(self, prefix: str, params: list[str]) -> None:
        text = params[-1]
        if text.startswith("- "):
            text = text[2:]
        if self.motd is None:
            self.motd = []
        if len(self.motd) < 1000:
            self.motd.append(text)

    def irc_RPL_ENDOFMOTD(self, prefix: str, params: list[str]) -> None:
        motd, self.motd = self.motd or [], None
        self.receivedMOTD(motd)

    def irc_ERR_NOMOTD(self, prefix: str, params: list[str]) -> None:
        self.motd = None
        self.receivedMOTD([])

    def irc_RPL_CREATED(self, prefix: str, params: list[str]) -> None:
        self.created(params[1])

    def irc_RPL_YOURHOST(self, prefix: str, params: list[str]) -> None:
        self.yourHost(params[1])

    def irc_RPL_MYINFO(self, prefix: str, params: list[str]) -> None:
        info = params[1].split(None, 3) if len(params) == 2 else params[1:5]
        info += [""] * (4 - len(info))
        self.myInfo(*info[:4])

    def irc_RPL_BOUNCE(self, prefix: str, params: list[str]) -> None:
        self.bounce(params[1])

    def irc_RPL_ISUPPORT(self, prefix: str, params: list[str]) -> None:
        args = params[1:-1]
        self.supported.parse(args)
        self.isupport(args)

    def irc_RPL_LUSERCLIENT(self, prefix: str, params: list[str]) -> None:
        self.luserClient(params[1])

    def irc_RPL_LUSEROP(self, prefix: str, params: list[str]) -> None:
        try:
            self.luserOp(int(params[1]))
        except ValueError:
            pass

    def irc_RPL_LUSERCHANNELS(self, prefix: str, params: list[str]) -> None:
        try:
            self.luserChannels(int(params[1]))
        except ValueError:
            pass

    def irc_RPL_LUSERME(self, prefix: str, params: list[str]) -> None:
        self.luserMe(params[1])

    def irc_RPL_HOSTHIDDEN(self, prefix: str, params: list[str]) -> None:
        if self._ownPrefix is not None:
            self._ownPrefix = self._ownPrefix.rsplit("@", 1)[0] + "@" + params[1]

    def irc_BATCH(self, prefix: str, params: list[str]) -> None:
        """``BATCH`` lines; :meth:`messageReceived` tracks them and calls
        :meth:`batchStarted`, :meth:`batchEnded` and :meth:`batchReceived`."""

    # ------------------------------------------------------------------ CTCP

    def ctcpQuery(self, user: str, channel: str, messages: list[tuple[str, str | None]]) -> None:
        """Dispatch CTCP queries to ``ctcpQuery_<TAG>`` (at most three per message)."""
        for tag, data in messages[:3]:
            method = getattr(self, "ctcpQuery_" + tag, None)
            if method is None:
                self.ctcpUnknownQuery(user, channel, tag, data)
            else:
                method(user, channel, data)

    def ctcpUnknownQuery(self, user: str, channel: str, tag: str, data: str | None) -> None:
        """An unknown CTCP query; answered with ERRMSG."""
        self.ctcpMakeReply(_nick(user), [("ERRMSG", f"{tag} :Unknown query")])

    def ctcpQuery_ACTION(self, user: str, channel: str, data: str | None) -> None:
        self.action(user, channel, data or "")

    def ctcpQuery_PING(self, user: str, channel: str, data: str | None) -> None:
        self.ctcpMakeReply(_nick(user), [("PING", data)])

    def ctcpQuery_VERSION(self, user: str, channel: str, data: str | None) -> None:
        if self.versionName:
            reply = f"{self.versionName}:{self.versionNum or ''}:{self.versionEnv or ''}"
            self.ctcpMakeReply(_nick(user), [("VERSION", reply)])

    def ctcpQuery_TIME(self, user: str, channel: str, data: str | None) -> None:
        self.ctcpMakeReply(_nick(user), [("TIME", ":" + time.asctime())])

    def ctcpQuery_CLIENTINFO(self, user: str, channel: str, data: str | None) -> None:
        names = sorted(
            name[len("ctcpQuery_") :] for name in dir(type(self)) if name.startswith("ctcpQuery_")
        )
        if not data:
            self.ctcpMakeReply(_nick(user), [("CLIENTINFO", " ".join(names))])

    def ctcpQuery_SOURCE(self, user: str, channel: str, data: str | None) -> None:
        if self.sourceURL:
            self.ctcpMakeReply(_nick(user), [("SOURCE", self.sourceURL)])

    def ctcpQuery_USERINFO(self, user: str, channel: str, data: str | None) -> None:
        if self.userinfo is not None:
            self.ctcpMakeReply(_nick(user), [("USERINFO", self.userinfo)])

    def ctcpQuery_FINGER(self, user: str, channel: str, data: str | None) -> None:
        if self.fingerReply is not None:
            reply = self.fingerReply() if callable(self.fingerReply) else str(self.fingerReply)
            self.ctcpMakeReply(_nick(user), [("FINGER", reply)])

    def ctcpQuery_DCC(self, user: str, channel: str, data: str | None) -> None:
        """Dispatch a DCC request to ``dcc_<TYPE>``; unknown types get an ERRMSG."""
        if not data:
            return
        dcctype, _, rest = data.partition(" ")
        method = getattr(self, "dcc_" + dcctype.upper(), None)
        if method is None:
            self.ctcpMakeReply(_nick(user), [("ERRMSG", f"DCC {dcctype} :Unknown DCC type")])
            return
        try:
            method(user, channel, rest)
        except IRCBadMessage:
            _log.info("IRC: ignored a malformed DCC {dcctype} offer", dcctype=dcctype.upper())

    def dcc_SEND(self, user: str, channel: str, data: str) -> None:
        """Parse a DCC SEND offer and pass it to :meth:`dccDoSend`, or a passive one (port 0
        and a token) to :meth:`dccDoPassiveSend`."""
        passive = parseDccPassiveSend(data)
        if passive is not None:
            fileName, fileSize, token = passive
            self.dccDoPassiveSend(user, fileName, fileSize, token, data)
            return
        if self._dccPassiveOffers and self._dccPassiveAnswered(user, data):
            return
        filename, address, port, size = parseDccSend(data)
        self.dccDoSend(user, address, port, filename, size, data)

    def dccDoSend(
        self, user: str, address: str, port: int, fileName: str, size: int, data: str
    ) -> None:
        """A DCC SEND offer; ignored unless overridden (connect a :class:`DccFileReceive`
        with ``reactor.connectTCP(address, port, factory)`` to accept it)."""

    def dccDoPassiveSend(self, user: str, fileName: str, size: int, token: str, data: str) -> None:
        """A passive (reverse) DCC SEND offer: a sender that cannot listen asks us to.
        Ignored unless overridden (take it with :meth:`dccAcceptPassiveSend`)."""

    def dccAcceptPassiveSend(
        self, user: str, fileName: str, size: int, token: str, receiver: DccFileReceive
    ) -> Deferred[DccFileReceive]:
        """Take a passive DCC SEND offer into ``receiver`` (beyond Twisted).

        Listens on a free port of this end of the IRC connection (or :attr:`dccAddress`) for
        one connection, for at most :attr:`dccTimeout` seconds, and tells the sender where
        (``DCC SEND`` with the offer's token). With ``receiver.resumeOffset`` set, it first
        asks to resume there (``DCC RESUME name 0 position token``) and listens only once
        the same user accepts that position for that token. ``receiver`` guards the file as
        for active offers (safe name inside its folder, announced size).

        :return: fires with ``receiver`` once the whole file arrived (see
            :class:`DccFileReceiveFactory` for the failures).
        """
        nick = _nick(user)
        interface = self._dccInterface()
        factory = DccFileReceiveFactory(receiver)
        position = receiver.resumeOffset
        if not position:
            self._dccListenPassive(nick, interface, fileName, size, token, factory)
            return factory.deferred
        previous = self._dccPassiveResumes.pop(token, None)
        if previous is not None:
            previous.timer.cancel()
            previous.factory.abandon(IRCLocalError("replaced by another resume request"))
        timer = self._clock().callLater(self.dccTimeout, self._dccPassiveResumeExpired, token)
        self._dccPassiveResumes[token] = _PassiveResume(
            nick.lower(), fileName, size, position, factory, timer
        )
        self.ctcpMakeQuery(
            nick, [("DCC", f"RESUME {quoteFileName(fileName)} 0 {position} {token}")]
        )
        return factory.deferred

    def _dccListenPassive(
        self,
        nick: str,
        interface: str,
        fileName: str,
        size: int,
        token: str,
        factory: DccFileReceiveFactory,
    ) -> None:
        port = self._dccListen(factory, interface)
        address = dccDescribeAddress(interface)
        reply = f"SEND {quoteFileName(fileName)} {address} {port} {size} {token}"
        self.ctcpMakeQuery(nick, [("DCC", reply)])

    def _dccPassiveResumeExpired(self, token: str) -> None:
        pending = self._dccPassiveResumes.pop(token, None)
        if pending is not None:
            pending.factory.abandon(TimeoutError("the sender did not accept the DCC RESUME"))

    def _dccPassiveAccepted(self, user: str, position: int, token: str) -> None:
        """A ``DCC ACCEPT`` for a passive resume: listen, if it answers our request."""
        pending = self._dccPassiveResumes.get(token)
        if pending is None or pending.nick != _nick(user).lower() or pending.position != position:
            return
        del self._dccPassiveResumes[token]
        pending.timer.cancel()
        interface = self._dccInterface()
        self._dccListenPassive(
            _nick(user), interface, pending.fileName, pending.size, token, pending.factory
        )

    def dcc_CHAT(self, user: str, channel: str, data: str) -> None:
        """Parse a DCC CHAT offer and pass it to :meth:`dccDoChat`, or a passive one (port 0
        and a token) to :meth:`dccDoPassiveChat`; the answer to one of our passive offers
        is handled here."""
        try:
            passive = parseDccPassiveChat(data)
        except IRCBadMessage:
            passive = None  # perhaps an ordinary offer with something after its port
        if passive is not None:
            address, port, token = passive
            if not port:
                self.dccDoPassiveChat(user, channel, token, data)
                return
            if self._dccPassiveConnect(user, token, address, port, DccChatFactory):
                return
        address, port = parseDccChat(data)
        self.dccDoChat(user, channel, address, port, data)

    def dccDoPassiveChat(self, user: str, channel: str, token: str, data: str) -> None:
        """A passive (reverse) DCC CHAT offer: the offerer cannot listen and asks us to.
        Ignored unless overridden (take it with :meth:`dccAcceptPassiveChat`)."""

    def dccAcceptPassiveChat(self, user: str, token: str) -> Deferred[Any]:
        """Take a passive DCC CHAT offer (beyond Twisted): listen on a free port of this end
        of the IRC connection (or :attr:`dccAddress`) for at most :attr:`dccTimeout` seconds
        and tell the offerer where, with its token.

        :return: fires with the connected :class:`DccChat`, or fails with ``TimeoutError``.
        """
        factory = DccChatFactory(self, (user, None, None))
        interface = self._dccInterface()
        port = self._dccListen(factory, interface)
        reply = f"CHAT chat {dccDescribeAddress(interface)} {port} {token}"
        self.ctcpMakeQuery(_nick(user), [("DCC", reply)])
        return factory.deferred

    def dccDoChat(self, user: str, channel: str, address: str, port: int, data: str) -> None:
        """A DCC CHAT offer; ignored unless overridden, since it names an address a stranger
        chose (accept it with ``reactor.connectTCP(address, port,
        DccChatFactory(self, (user, channel, data)))``)."""

    def _dccListen(
        self, factory: DccSendFactory | DccChatFactory | DccFileReceiveFactory, interface: str
    ) -> int:
        """Listen for the peer of an offer for at most :attr:`dccTimeout` seconds, and no
        longer than this IRC connection lasts.

        :return: the port number to offer.
        """
        port = factory.listen(getReactor(self.reactor), interface, self.dccTimeout)
        self._dccListening.add(factory)

        def forget(result: object) -> object:
            self._dccListening.discard(factory)
            return result

        factory.deferred.addBoth(forget)
        return port

    def _dccInterface(self) -> str:
        interface = self.dccAddress or getattr(self.transport.getHost(), "host", None)
        if not interface:
            raise IRCLocalError("DCC needs an IP address: set dccAddress")
        dccDescribeAddress(interface)  # an IP address, or IRCBadMessage before listening
        return str(interface)

    def dccSend(self, user: str, file: str | IO[bytes], passive: bool = False) -> Deferred[int]:
        """Offer ``file`` (a path or an open binary file) to ``user`` with DCC SEND.

        Listens on a free port of this end of the IRC connection (or ``dccAddress``) for one
        connection, for at most ``dccTimeout`` seconds; only the file's base name is offered.
        Twisted's ``dccSend`` stops short of sending anything.

        :param passive: for a sender that cannot be reached (beyond Twisted): offer port 0
            and a token instead, and connect to where the receiver answers it listens (a
            ``DCC SEND`` from ``user`` with that token, within ``dccTimeout`` seconds); a
            receiver's ``DCC RESUME`` with the token is accepted first.
        :return: fires with the bytes sent once the receiver acknowledged them all.
        :raises IRCLocalError: a passive offer of a file whose size cannot be told.
        """
        interface = self._dccInterface()
        if isinstance(file, str):
            file = open(file, "rb")  # the protocol closes it when done
        name = str(getattr(file, "name", None) or f"file@{id(file)}")
        size = fileSize(file)
        factory = DccSendFactory(file)
        if passive:
            return self._dccOfferPassively(user, name, interface, size, factory)
        try:
            port = self._dccListen(factory, interface)
        except BaseException:
            file.close()
            raise
        offer = formatDccSend(name, interface, port, -1 if size is None else size)
        self._dccOffers[port] = (_nick(user).lower(), factory)

        def forget(result: Any) -> Any:
            self._dccOffers.pop(port, None)
            return result

        factory.deferred.addBoth(forget)
        self.ctcpMakeQuery(_nick(user), [("DCC", "SEND " + offer)])
        return factory.deferred

    def _dccOfferPassively(
        self, user: str, name: str, interface: str, size: int | None, factory: DccSendFactory
    ) -> Deferred[int]:
        if size is None:
            factory.file.close()
            raise IRCLocalError("a passive DCC SEND needs the size of the file")
        offered = quoteFileName(safeFileName(name))
        token = self._dccPassiveToken(user, offered, factory)
        address = dccDescribeAddress(interface)
        self.ctcpMakeQuery(_nick(user), [("DCC", f"SEND {offered} {address} 0 {size} {token}")])
        return factory.deferred

    def _dccPassiveToken(
        self, user: str, fileName: str, factory: DccSendFactory | DccChatFactory
    ) -> str:
        """Remember a passive offer to ``user`` for :attr:`dccTimeout` seconds.

        :return: its token, unguessable and unique among the pending ones.
        """
        token = str(secrets.randbelow(1 << 31))
        while token in self._dccPassiveOffers:
            token = str(secrets.randbelow(1 << 31))
        timer = self._clock().callLater(self.dccTimeout, self._dccPassiveOfferExpired, token)
        self._dccPassiveOffers[token] = _PassiveOffer(_nick(user).lower(), fileName, factory, timer)
        return token

    def _dccPassiveOfferExpired(self, token: str) -> None:
        offer = self._dccPassiveOffers.pop(token, None)
        if offer is not None:
            offer.factory.abandon(TimeoutError("nobody answered the passive DCC offer"))

    def _dccPassiveAnswered(self, user: str, data: str) -> bool:
        """A ``DCC SEND`` naming a port and one of our passive offers' tokens, from the user
        it was made to: connect there and send the file.

        :return: whether ``data`` was such an answer.
        """
        try:
            reply = parseDccPassiveReply(data)
        except IRCBadMessage:
            return False
        if reply is None:
            return False
        _, address, port, _, token = reply
        return self._dccPassiveConnect(user, token, address, port, DccSendFactory)

    def _dccPassiveConnect(
        self, user: str, token: str, address: str, port: int, kind: type[Any]
    ) -> bool:
        """Connect to ``address``:``port`` for the passive offer of ``kind`` (file or chat)
        we made to ``user`` with ``token``, if there is one.

        :return: whether there was.
        """
        offer = self._dccPassiveOffers.get(token)
        if offer is None or offer.nick != _nick(user).lower() or type(offer.factory) is not kind:
            return False
        del self._dccPassiveOffers[token]
        offer.timer.cancel()
        reactor = getReactor(self.reactor)
        if isinstance(offer.factory, DccChatFactory):
            offer.factory.connect(reactor, address, port, self.dccTimeout)
        else:
            reactor.connectTCP(address, port, offer.factory, timeout=self.dccTimeout)
        return True

    def _dccPassiveResumeAsked(self, user: str, position: int, token: str) -> None:
        """A receiver's ``DCC RESUME name 0 position token`` for one of our passive offers:
        accepted (``DCC ACCEPT`` with the token) when the file is that long."""
        offer = self._dccPassiveOffers.get(token)
        if offer is None or offer.nick != _nick(user).lower():
            return
        if isinstance(offer.factory, DccSendFactory) and offer.factory.resume(position):
            self.ctcpMakeQuery(
                _nick(user), [("DCC", f"ACCEPT {offer.fileName} 0 {position} {token}")]
            )

    def dcc_RESUME(self, user: str, channel: str, data: str) -> None:
        """Parse a DCC RESUME request and pass it to :meth:`dccDoResume`; the passive form
        (port 0 and a token) for one of our passive offers is answered by itself."""
        passive = parseDccPassiveResume(data)
        if passive is not None:
            _, position, token = passive
            self._dccPassiveResumeAsked(user, position, token)
            return
        fileName, port, position = parseDccResume(data)
        self.dccDoResume(user, fileName, port, position)

    def dccDoResume(self, user: str, file: str, port: int, resumePos: int) -> None:
        """A receiver asks to resume one of our :meth:`dccSend` offers at ``resumePos``:
        accepted (``DCC ACCEPT``) when ``port`` is an offer made to ``user`` still waiting
        for its connection and the file is that long; anything else is ignored."""
        nick, factory = self._dccOffers.get(port, ("", None))
        if factory is None or nick != _nick(user).lower():
            return
        if factory.resume(resumePos):
            self.dccAcceptResume(_nick(user), file, port, resumePos)

    def dccResume(self, user: str, fileName: str, port: int, resumePos: int) -> None:
        """Ask the sender of an offer to resume it at ``resumePos`` (``DCC RESUME``)."""
        self.ctcpMakeQuery(
            _nick(user), [("DCC", f"RESUME {quoteFileName(fileName)} {port} {resumePos}")]
        )

    def dccAcceptResume(self, user: str, fileName: str, port: int, resumePos: int) -> None:
        """Agree to resume a transfer at ``resumePos`` (``DCC ACCEPT``)."""
        self.ctcpMakeQuery(
            _nick(user), [("DCC", f"ACCEPT {quoteFileName(fileName)} {port} {resumePos}")]
        )

    def dcc_ACCEPT(self, user: str, channel: str, data: str) -> None:
        """Parse a DCC ACCEPT answer and pass it to :meth:`dccDoAcceptResume`; the passive
        form answers :meth:`dccAcceptPassiveSend`'s request to resume and is handled there."""
        passive = parseDccPassiveResume(data)
        if passive is not None:
            _, position, token = passive
            self._dccPassiveAccepted(user, position, token)
            return
        fileName, port, position = parseDccResume(data)
        self.dccDoAcceptResume(user, fileName, port, position)

    def dccDoAcceptResume(self, user: str, file: str, port: int, resumePos: int) -> None:
        """The sender agreed to resume at ``resumePos``; ignored unless overridden (connect a
        :class:`DccFileReceive` made with ``resumeOffset=resumePos``)."""

    def dccChat(self, user: str, passive: bool = False) -> Deferred[Any]:
        """Offer ``user`` a DCC CHAT (beyond Twisted, which only parses offers).

        :param passive: for an offerer that cannot be reached: offer port 0 and a token,
            and connect to where ``user`` answers it listens (a ``DCC CHAT`` with that token,
            within ``dccTimeout`` seconds).
        :return: fires with the connected :class:`DccChat` once the peer connects, or fails
            with ``TimeoutError`` after ``dccTimeout`` seconds.
        """
        factory = DccChatFactory(self, (user, None, None))
        interface = self._dccInterface()
        if passive:
            token = self._dccPassiveToken(user, "", factory)
            offer = f"CHAT chat {dccDescribeAddress(interface)} 0 {token}"
            self.ctcpMakeQuery(_nick(user), [("DCC", offer)])
            return factory.deferred
        port = self._dccListen(factory, interface)
        self.ctcpMakeQuery(
            _nick(user), [("DCC", f"CHAT chat {dccDescribeAddress(interface)} {port}")]
        )
        return factory.deferred

    def ctcpReply(self, user: str, channel: str, messages: list[tuple[str, str | None]]) -> None:
        """Dispatch CTCP replies to ``ctcpReply_<TAG>``."""
        for tag, data in messages[:3]:
            method = getattr(self, "ctcpReply_" + tag, None)
            if method is None:
                self.ctcpUnknownReply(user, channel, tag, data)
            else:
                method(user, channel, data)

    def ctcpUnknownReply(self, user: str, channel: str, tag: str, data: str | None) -> None:
        """An unexpected CTCP reply (logged only; replies are never answered)."""

    def ctcpReply_PING(self, user: str, channel: str, data: str | None) -> None:
        nick = _nick(user)
        started = self._pings.pop((nick, data or ""), None)
        if started is not None:
            self.pong(user, time.time() - started)
