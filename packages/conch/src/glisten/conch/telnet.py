"""
Telnet (RFC 854/855) under Twisted's names: :class:`Telnet`, :class:`TelnetTransport`,
:class:`TelnetProtocol`, :class:`StatefulTelnetProtocol`, :class:`AuthenticatingTelnetProtocol`
and :class:`TelnetBootstrapProtocol`, thin adapters over the sans-IO codec in
:mod:`glisten.conch._telnet`.

Differences from Twisted, on purpose: option negotiation follows the RFC 1143 Q method (no
negotiation loops with a misbehaving peer); subnegotiations are limited in length and a
malformed one closes the connection instead of raising from ``dataReceived``; line ends are
translated once, in :meth:`TelnetTransport.write` (``\\n`` and ``\\r\\n`` both become CR LF);
:meth:`TelnetTransport.writeSequence` escapes IAC too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from zope.interface import Attribute, implementer

from glisten.conch._telnet import (
    Command,
    Data,
    Limits,
    NegotiationStateError,
    OptionDisabled,
    OptionEnabled,
    OptionOffered,
    OptionState,
    Subnegotiation,
    TelnetCodec,
    TelnetProtocolError,
    _events,
    parseNAWS,
    parseNewEnviron,
    parseTerminalType,
)
from glisten.conch._telnet import _constants as C
from glisten.conch._turns import Turns, pauseInput
from glisten.cred import credentials
from glisten.internet import defer, interfaces, protocol
from glisten.internet.error import ConnectionDone, ConnectionLost
from glisten.logger import Logger
from glisten.protocols import basic
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure

__all__ = [
    "AlreadyDisabled",
    "AlreadyEnabled",
    "AlreadyNegotiating",
    "AuthenticatingTelnetProtocol",
    "ITelnetProtocol",
    "ITelnetTransport",
    "Limits",
    "NegotiationError",
    "OptionRefused",
    "ProtocolTransportMixin",
    "StatefulTelnetProtocol",
    "Telnet",
    "TelnetBootstrapProtocol",
    "TelnetError",
    "TelnetProtocol",
    "TelnetTransport",
]

# Option and command codes as single bytes, Twisted's form.
NULL = b"\x00"
BEL = b"\x07"
BS = b"\x08"
HT = b"\x09"
LF = b"\x0a"
VT = b"\x0b"
FF = b"\x0c"
CR = b"\x0d"
SE = bytes([C.SE])
NOP = bytes([C.NOP])
DM = bytes([C.DM])
BRK = bytes([C.BRK])
IP = bytes([C.IP])
AO = bytes([C.AO])
AYT = bytes([C.AYT])
EC = bytes([C.EC])
EL = bytes([C.EL])
GA = bytes([C.GA])
SB = bytes([C.SB])
WILL = bytes([C.WILL])
WONT = bytes([C.WONT])
DO = bytes([C.DO])
DONT = bytes([C.DONT])
IAC = bytes([C.IAC])
EOR = bytes([C.EOR])
ABORT = bytes([C.ABORT])
SUSP = bytes([C.SUSP])
xEOF = bytes([C.xEOF])

BINARY = bytes([C.BINARY])
ECHO = bytes([C.ECHO])
SGA = bytes([C.SGA])
STATUS = bytes([C.STATUS])
TIMING_MARK = bytes([C.TIMING_MARK])
TTYPE = bytes([C.TTYPE])
NAWS = bytes([C.NAWS])
LINEMODE = bytes([C.LINEMODE])
NEW_ENVIRON = bytes([C.NEW_ENVIRON])

# LINEMODE subnegotiation (RFC 1184).
MODE = b"\x01"
EDIT = 1
TRAPSIG = 2
MODE_ACK = 4
SOFT_TAB = 8
LIT_ECHO = 16
FORWARDMASK = b"\x02"
LINEMODE_SLC = b"\x03"


class TelnetError(Exception):
    """Base class of Telnet negotiation errors."""


class NegotiationError(TelnetError):
    """An option negotiation did not go as asked."""

    def __str__(self) -> str:
        return f"{self.__class__.__name__}: option {self.args[0]!r}"


class OptionRefused(NegotiationError):
    """The peer refused to turn the option on."""


class AlreadyEnabled(NegotiationError):
    """The option is already on."""


class AlreadyDisabled(NegotiationError):
    """The option is already off."""


class AlreadyNegotiating(NegotiationError):
    """A negotiation of this side of the option is still running."""


_STATE_ERRORS: dict[str, type[NegotiationError]] = {
    "enabled": AlreadyEnabled,
    "disabled": AlreadyDisabled,
    "negotiating": AlreadyNegotiating,
}


class ITelnetProtocol(interfaces.IProtocol):
    """A protocol running on a :class:`TelnetTransport`."""

    def unhandledCommand(command: bytes, argument: bytes | None) -> None:
        """A command that has no handler in ``commandMap`` arrived."""

    def unhandledSubnegotiation(command: bytes, data: list[bytes]) -> None:
        """A subnegotiation with no handler in ``negotiationMap`` arrived."""

    def enableLocal(option: bytes) -> bool:
        """The peer asks us to perform ``option``: return true to agree (and turn it on)."""

    def enableRemote(option: bytes) -> bool:
        """The peer offers to perform ``option``: return true to agree."""

    def disableLocal(option: bytes) -> None:
        """Our side of ``option`` is now off."""

    def disableRemote(option: bytes) -> None:
        """The peer's side of ``option`` is now off."""


class ITelnetTransport(interfaces.ITransport):
    """What a Telnet protocol can ask its transport for."""

    negotiationMap = Attribute("Option byte to a callable taking the subnegotiation payload.")

    def do(option: bytes) -> defer.Deferred[bool]:
        """Ask the peer to perform ``option``."""

    def dont(option: bytes) -> defer.Deferred[bool]:
        """Ask the peer to stop performing ``option``."""

    def will(option: bytes) -> defer.Deferred[bool]:
        """Offer to perform ``option``."""

    def wont(option: bytes) -> defer.Deferred[bool]:
        """Stop performing ``option``."""

    def requestNegotiation(about: bytes, data: bytes) -> None:
        """Send a subnegotiation for ``about``."""


@implementer(ITelnetProtocol)
class TelnetProtocol(protocol.Protocol):
    """The base of protocols on a :class:`TelnetTransport`: refuses every option."""

    def unhandledCommand(self, command: bytes, argument: bytes | None) -> None:
        pass

    def unhandledSubnegotiation(self, command: bytes, data: list[bytes]) -> None:
        pass

    def enableLocal(self, option: bytes) -> bool:
        return False

    def enableRemote(self, option: bytes) -> bool:
        return False

    def disableLocal(self, option: bytes) -> None:
        pass

    def disableRemote(self, option: bytes) -> None:
        pass


class _Perspective:
    """One side of an option, in Twisted's ``getOptionState`` form."""

    __slots__ = ("negotiating", "onResult", "state")

    def __init__(self, state: OptionState, onResult: defer.Deferred[bool] | None) -> None:
        self.state = "yes" if state in (OptionState.YES, OptionState.WANTNO) else "no"
        self.negotiating = state in (OptionState.WANTYES, OptionState.WANTNO)
        self.onResult = onResult

    def __repr__(self) -> str:
        return f"<_Perspective {self.state} negotiating={self.negotiating}>"


class _OptionState:
    __slots__ = ("him", "us")

    def __init__(self, us: _Perspective, him: _Perspective) -> None:
        self.us = us
        self.him = him


class Telnet(protocol.Protocol):
    """
    The Telnet protocol: hands application data to :meth:`applicationDataReceived`, commands
    to ``commandMap`` (command byte to a callable) and subnegotiations to ``negotiationMap``
    (option byte to a callable taking the payload as a list of single bytes, Twisted's form),
    and negotiates options through :meth:`enableLocal`/:meth:`enableRemote`.

    :ivar limits: bounds applied to the peer (see :class:`glisten.conch._telnet.Limits`).
    :ivar maxEventsPerTurn: commands, negotiations and runs of data handled per turn of the
        reactor: the rest of a read (a flood of ``IAC NOP`` or option offers) waits, reading
        paused, for the next turn, so one peer cannot stall the other connections.
    :ivar reactor: the reactor that runs the later turns (``None``: the global one).
    """

    _log = Logger()
    limits: Limits | None = None
    maxEventsPerTurn = 64
    reactor: Any = None
    _heldAbove = False
    _readingPaused = False

    def __init__(self) -> None:
        self._codec = TelnetCodec(self.limits)
        self._turns = Turns(self._readEvents, self._updateReading)
        self._pending: dict[tuple[int, bool], defer.Deferred[bool]] = {}
        self.commandMap: dict[bytes, Callable[[bytes | None], Any]] = {}
        self.negotiationMap: dict[bytes, Callable[[list[bytes]], Any]] = {}

    # -- sending -----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if data and self.transport is not None:
            self.transport.write(data)

    def _flush(self) -> None:
        self._write(self._codec.dataToSend())

    def _request(self, option: bytes, local: bool, enable: bool) -> defer.Deferred[bool]:
        code = option[0]
        try:
            if enable:
                data = self._codec.requestEnable(code, local)
            else:
                data = self._codec.requestDisable(code, local)
        except NegotiationStateError as e:
            return defer.fail(_STATE_ERRORS[e.reason](option))
        d: defer.Deferred[bool] = defer.Deferred()
        self._pending[code, local] = d
        self._write(data)
        return d

    def will(self, option: bytes) -> defer.Deferred[bool]:
        """Offer to perform ``option``; fires ``True`` when the peer agrees."""
        return self._request(option, True, True)

    def wont(self, option: bytes) -> defer.Deferred[bool]:
        """Stop performing ``option``; fires ``True`` when the peer acknowledges it."""
        return self._request(option, True, False)

    def do(self, option: bytes) -> defer.Deferred[bool]:
        """Ask the peer to perform ``option``; fires ``True`` when it agrees."""
        return self._request(option, False, True)

    def dont(self, option: bytes) -> defer.Deferred[bool]:
        """Ask the peer to stop performing ``option``."""
        return self._request(option, False, False)

    def requestNegotiation(self, about: bytes, data: bytes) -> None:
        """Send ``IAC SB about data IAC SE`` (IAC in ``data`` is escaped)."""
        self._write(self._codec.sendSubnegotiation(about[0], data))

    def sendCommand(self, command: bytes) -> None:
        """Send a two-byte command such as :data:`GA` or :data:`NOP`."""
        self._write(self._codec.sendCommand(command[0]))

    def getOptionState(self, opt: bytes) -> _OptionState:
        """A snapshot of both sides of ``opt``: ``.us``/``.him`` with ``state`` and ``negotiating``."""
        code = opt[0]
        return _OptionState(
            _Perspective(self._codec.optionState(code, True), self._pending.get((code, True))),
            _Perspective(self._codec.optionState(code, False), self._pending.get((code, False))),
        )

    # -- receiving ---------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        self._codec.receiveData(data)
        if not self._turns.waiting:
            self._readEvents()

    def _readEvents(self) -> None:
        """Handle the codec's events, up to :attr:`maxEventsPerTurn`; past that, pause reading
        and leave the rest to the reactor's next turn. While the protocol above has paused
        its input, events wait in the codec."""
        codec = self._codec
        budget = self.maxEventsPerTurn
        while self.transport is not None and not self._heldAbove:
            if budget == 0:
                self._turns.later(self.reactor)
                return
            try:
                event = codec.nextEvent()
            except TelnetProtocolError as e:
                self._log.info("closing a Telnet connection: {reason}", reason=str(e))
                self._flush()
                self.transport.loseConnection()
                return
            if event is None:
                return
            budget -= 1
            self._handle(event)
            self._flush()

    def _holdInput(self, held: bool) -> None:
        """The protocol above pauses (``True``) or resumes its input: reading stops while
        it is paused; on resuming, what the codec holds is handled on the next turn."""
        self._heldAbove = held
        if held or self.transport is None or self._turns.waiting:
            self._updateReading()
        else:
            self._turns.later(self.reactor)

    def _updateReading(self, turnPaused: bool = False) -> None:
        """Pause reading while a later turn waits or the protocol above is paused.

        :param turnPaused: what :class:`Turns` reports (it is also in ``self._turns``).
        """
        paused = self._turns.paused or self._heldAbove
        if paused != self._readingPaused:
            self._readingPaused = paused
            pauseInput(self.transport, paused)

    def _handle(self, event: object) -> None:
        if isinstance(event, Data):
            self.applicationDataReceived(event.data)
        elif isinstance(event, Command):
            self.commandReceived(bytes([event.command]), None)
        elif isinstance(event, Subnegotiation):
            self.negotiate([bytes([event.option]), *[bytes([b]) for b in event.data]])
        elif isinstance(event, OptionOffered):
            option = bytes([event.option])
            try:
                accept = self.enableLocal(option) if event.local else self.enableRemote(option)
            except Exception:
                self._log.failure("enabling a Telnet option failed", Failure())
                accept = False
            self._codec.answerOffer(bool(accept))
        elif isinstance(event, OptionEnabled):
            option = bytes([event.option])
            self._fire(event.option, event.local, True)
            if event.local:
                self.enableLocal(option)
            else:
                self.enableRemote(option)
        elif isinstance(event, OptionDisabled):
            option = bytes([event.option])
            if event.requested:
                self._fire(event.option, event.local, True)
            if event.local:
                self.disableLocal(option)
            else:
                self.disableRemote(option)
        elif isinstance(event, _events.OptionRefused):
            self._fire(event.option, event.local, OptionRefused(bytes([event.option])))

    def _fire(self, option: int, local: bool, result: bool | Exception) -> None:
        d = self._pending.pop((option, local), None)
        if d is None:
            return
        if isinstance(result, Exception):
            d.errback(Failure(result))
        else:
            d.callback(result)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._turns.cancel()
        pending, self._pending = self._pending, {}
        for d in pending.values():
            d.errback(reason if reason is not None else Failure(TelnetError("connection lost")))

    def applicationDataReceived(self, data: bytes) -> None:
        """Application data arrived (IAC escapes removed, CR LF made LF)."""

    def commandReceived(self, command: bytes, argument: bytes | None) -> None:
        handler = self.commandMap.get(command)
        if handler is None:
            self.unhandledCommand(command, argument)
        else:
            handler(argument)

    def unhandledCommand(self, command: bytes, argument: bytes | None) -> None:
        """A command without a ``commandMap`` handler arrived."""

    def negotiate(self, data: list[bytes]) -> None:
        command, payload = data[0], data[1:]
        handler = self.negotiationMap.get(command)
        if handler is None:
            self.unhandledSubnegotiation(command, payload)
        else:
            handler(payload)

    def unhandledSubnegotiation(self, command: bytes, data: list[bytes]) -> None:
        """A subnegotiation without a ``negotiationMap`` handler arrived."""

    def enableLocal(self, option: bytes) -> bool:
        """Refuse to perform any option; override to agree to some."""
        return False

    def enableRemote(self, option: bytes) -> bool:
        """Refuse every option the peer offers; override to agree to some."""
        return False

    def disableLocal(self, option: bytes) -> None:
        """Our side of ``option`` turned off (only reachable after ``enableLocal`` agreed)."""

    def disableRemote(self, option: bytes) -> None:
        """The peer's side of ``option`` turned off."""


class ProtocolTransportMixin:
    """
    Lets a Telnet-level object stand as the transport of the protocol above it. Writes pass
    through unchanged: line ends are translated once, by :class:`TelnetTransport`.
    """

    transport: Any

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def writeSequence(self, seq: Iterable[bytes]) -> None:
        self.write(b"".join(seq))

    def loseConnection(self) -> None:
        self.transport.loseConnection()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def pauseProducing(self) -> None:
        """Let the protocol above pause its input (the Telnet connection's reading)."""
        pauseInput(self.transport, True)

    def resumeProducing(self) -> None:
        pauseInput(self.transport, False)

    def stopProducing(self) -> None:
        self.loseConnection()


class _ForwardToProtocol:
    """Hands option decisions and unhandled commands to ``self.protocol`` when there is one."""

    protocol: Any = None

    def enableLocal(self, option: bytes) -> bool:
        return bool(self.protocol is not None and self.protocol.enableLocal(option))

    def enableRemote(self, option: bytes) -> bool:
        return bool(self.protocol is not None and self.protocol.enableRemote(option))

    def disableLocal(self, option: bytes) -> None:
        if self.protocol is not None:
            self.protocol.disableLocal(option)

    def disableRemote(self, option: bytes) -> None:
        if self.protocol is not None:
            self.protocol.disableRemote(option)

    def unhandledSubnegotiation(self, command: bytes, data: list[bytes]) -> None:
        if self.protocol is not None:
            self.protocol.unhandledSubnegotiation(command, data)

    def unhandledCommand(self, command: bytes, argument: bytes | None) -> None:
        if self.protocol is not None:
            self.protocol.unhandledCommand(command, argument)


@implementer(ITelnetTransport)
class TelnetTransport(_ForwardToProtocol, Telnet, ProtocolTransportMixin):
    """
    Telnet as the transport of an :class:`ITelnetProtocol`: application data goes to the
    protocol's ``dataReceived``, option decisions to its ``enableLocal``/``enableRemote``.

    :param protocolFactory: called with ``*a, **kw`` on connection to make the protocol.
    """

    disconnecting = False
    protocolFactory: Callable[..., Any] | None = None
    protocol: Any = None

    def __init__(self, protocolFactory: Callable[..., Any] | None = None, *a: Any, **kw: Any):
        Telnet.__init__(self)
        if protocolFactory is not None:
            self.protocolFactory = protocolFactory
        self.protocolArgs = a
        self.protocolKwArgs = kw

    def connectionMade(self) -> None:
        if self.protocolFactory is None:
            return
        self.protocol = self.protocolFactory(*self.protocolArgs, **self.protocolKwArgs)
        factory = getattr(self, "factory", None)
        if factory is not None:
            self.protocol.factory = factory
        self.protocol.makeConnection(self)

    def connectionLost(self, reason: Failure | None = None) -> None:
        Telnet.connectionLost(self, reason)
        proto, self.protocol = self.protocol, None
        if proto is not None:
            proto.connectionLost(reason)

    def write(self, data: bytes) -> None:
        """Send application data: IAC escaped, line ends made NVT CR LF."""
        self._write(self._codec.sendData(data))

    def writeSequence(self, seq: Iterable[bytes]) -> None:
        self.write(b"".join(seq))

    def loseConnection(self) -> None:
        self.disconnecting = True
        if self.transport is not None:
            self.transport.loseConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.transport.unregisterProducer()

    def pauseProducing(self) -> None:
        """The protocol above is busy: stop reading and hold what is already read."""
        self._holdInput(True)

    def resumeProducing(self) -> None:
        """The protocol above takes input again: what was held comes on the next turn."""
        self._holdInput(False)

    def stopProducing(self) -> None:
        """The protocol above wants no more input: end the connection."""
        self.loseConnection()

    def applicationDataReceived(self, data: bytes) -> None:
        if self.protocol is not None:
            self.protocol.dataReceived(data)


def _ignoreNegotiationFailure(failure: Failure) -> None:
    # A refused option, or a peer gone before it answered: neither is worth a traceback.
    failure.trap(NegotiationError, TelnetError, ConnectionDone, ConnectionLost)


class TelnetBootstrapProtocol(TelnetProtocol, ProtocolTransportMixin):
    """
    Sets up a character-at-a-time terminal session over Telnet (server echo, SGA, LINEMODE
    without local editing, window size, terminal type and environment reports), then runs the protocol
    made by ``protocolFactory(*args, **kw)`` -- usually
    :class:`glisten.conch.insults.insults.ServerProtocol` -- on top.

    :ivar terminalType: what the client reported through TTYPE, or ``None``.
    :ivar environment: variables the client reported through NEW-ENVIRON (``USER``...); the
        client chooses what to send, so treat them as claims, not facts.
    """

    protocol: Any = None
    terminalType: str | None = None
    #: The most NEW-ENVIRON variables kept.
    maxEnvironment = 64

    def __init__(self, protocolFactory: Callable[..., Any], *args: Any, **kw: Any) -> None:
        self.environment: dict[bytes, bytes] = {}
        self.protocolFactory = protocolFactory
        self.protocolArgs = args
        self.protocolKwArgs = kw

    def connectionMade(self) -> None:
        transport = self.transport
        transport.negotiationMap[NAWS] = self.telnet_NAWS
        transport.negotiationMap[LINEMODE] = self.telnet_LINEMODE
        transport.negotiationMap[TTYPE] = self.telnet_TTYPE
        transport.negotiationMap[NEW_ENVIRON] = self.telnet_NEW_ENVIRON
        for opt in (LINEMODE, NAWS, SGA, TTYPE, NEW_ENVIRON):
            self._ask(transport.do, opt, "him")
        for opt in (ECHO, SGA):
            self._ask(transport.will, opt, "us")
        self.protocol = self.protocolFactory(*self.protocolArgs, **self.protocolKwArgs)
        factory = getattr(self, "factory", None)
        if factory is not None:
            self.protocol.factory = factory
        self.protocol.makeConnection(self)

    def _ask(
        self, request: Callable[[bytes], defer.Deferred[bool]], option: bytes, side: str
    ) -> None:
        """
        Request ``option``; when the option is still being negotiated (a login protocol
        before us just turned ECHO off, say), ask again once that negotiation ends.
        """

        def retry(failure: Failure) -> None:
            if failure.check(AlreadyNegotiating):
                pending = getattr(self.transport.getOptionState(option), side).onResult
                if pending is not None:

                    def again(result: object) -> object:
                        request(option).addErrback(_ignoreNegotiationFailure)
                        return result

                    pending.addBoth(again)
                    return
            _ignoreNegotiationFailure(failure)

        request(option).addErrback(retry)

    def connectionLost(self, reason: Failure | None = None) -> None:
        proto, self.protocol = self.protocol, None
        if proto is not None:
            proto.connectionLost(reason)

    def dataReceived(self, data: bytes) -> None:
        if self.protocol is not None:
            self.protocol.dataReceived(data)

    def enableLocal(self, option: bytes) -> bool:
        return option in (ECHO, SGA)

    def enableRemote(self, option: bytes) -> bool:
        if option == LINEMODE:
            self.transport.requestNegotiation(LINEMODE, MODE + bytes([TRAPSIG]))
            return True
        if option in (TTYPE, NEW_ENVIRON):
            self.transport.requestNegotiation(option, bytes([C.SEND]))
            return True
        return option in (NAWS, SGA)

    def telnet_NAWS(self, data: list[bytes]) -> None:
        """The client's window size: passed to the terminal protocol's ``terminalSize``."""
        try:
            width, height = parseNAWS(b"".join(data))
        except TelnetProtocolError:
            self.transport.loseConnection()
            return
        terminalProtocol = getattr(self.protocol, "terminalProtocol", None)
        if terminalProtocol is not None:
            terminalProtocol.terminalSize(width, height)

    def telnet_TTYPE(self, data: list[bytes]) -> None:
        try:
            self.terminalType = parseTerminalType(b"".join(data))
        except TelnetProtocolError:
            return

    def telnet_NEW_ENVIRON(self, data: list[bytes]) -> None:
        """The client's environment (``IS``/``INFO``): kept in :attr:`environment`."""
        try:
            verb, items = parseNewEnviron(b"".join(data))
        except TelnetProtocolError:
            return
        if verb == C.SEND:
            return
        for _, name, value in items[: self.maxEnvironment - len(self.environment)]:
            if value is None:
                self.environment.pop(name, None)
            else:
                self.environment[name] = value

    def telnet_LINEMODE(self, data: list[bytes]) -> None:
        """LINEMODE replies (MODE acknowledgements, SLC tables) need no action: we edit."""


class StatefulTelnetProtocol(basic.LineReceiver, TelnetProtocol):
    """Lines go to ``telnet_<state>(line)``, whose return value (if any) is the next state."""

    delimiter = b"\n"
    state = "Discard"
    _log = Logger()

    def connectionLost(self, reason: Failure | None = None) -> None:
        basic.LineReceiver.connectionLost(self, reason)  # type: ignore[arg-type]

    def lineReceived(self, line: bytes) -> None:
        oldState = self.state
        newState = getattr(self, "telnet_" + oldState)(line.rstrip(b"\r"))
        if newState is not None:
            if self.state == oldState:
                self.state = newState
            else:
                self._log.warn("state changed and new state returned")

    def telnet_Discard(self, line: bytes) -> None:
        pass


class AuthenticatingTelnetProtocol(_ForwardToProtocol, StatefulTelnetProtocol, TimeoutMixin):
    """
    Asks for a username and a password (the client's echo turned off for the password),
    logs in through ``portal`` for an :class:`ITelnetProtocol` avatar and hands the
    connection to it. After ``maxAttempts`` failures, or when nobody has logged in after
    ``loginTimeout`` seconds (Twisted has no such limit), the connection is closed.

    :ivar clock: the reactor the login timeout runs on (the global one when ``None``).
    """

    state = "User"
    protocol: Any = None
    maxAttempts = 3
    loginTimeout: float | None = 120.0

    def __init__(self, portal: Any) -> None:
        self.portal = portal
        self.attempts = 0
        self.username = b""
        self.logout: Callable[[], None] | None = None

    def connectionMade(self) -> None:
        self.transport.write(b"Username: ")
        if self.loginTimeout is not None:
            self.setTimeout(self.loginTimeout)

    def timeoutConnection(self) -> None:
        self.transport.write(b"\nLogin timed out\n")
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        StatefulTelnetProtocol.connectionLost(self, reason)
        proto, self.protocol = self.protocol, None
        logout, self.logout = self.logout, None
        if proto is not None:
            try:
                proto.connectionLost(reason)
            finally:
                if logout is not None:
                    logout()

    def telnet_User(self, line: bytes) -> str:
        self.username = line
        self.transport.will(ECHO).addErrback(_ignoreNegotiationFailure)
        self.transport.write(b"Password: ")
        return "Password"

    def telnet_Password(self, line: bytes) -> None:
        username, password = self.username, line
        self.username = b""
        self.transport.write(b"\n")
        self.transport.wont(ECHO).addErrback(_ignoreNegotiationFailure)
        self.state = "Discard"
        d = self.portal.login(
            credentials.UsernamePassword(username, password), None, ITelnetProtocol
        )
        d.addCallbacks(self._cbLogin, self._ebLogin)
        return None

    def _cbLogin(self, ial: tuple[Any, Any, Callable[[], None]]) -> None:
        interface, proto, logout = ial
        self.setTimeout(None)
        self.protocol = proto
        self.logout = logout
        self.state = "Command"
        proto.makeConnection(self.transport)
        rest = self.clearLineBuffer()
        if rest:
            proto.dataReceived(rest)

    # Once logged in, everything goes to the avatar; this protocol stays in between so that
    # the avatar's logout runs when the connection ends.

    def dataReceived(self, data: bytes) -> None:
        if self.protocol is not None:
            self.protocol.dataReceived(data)
        else:
            super().dataReceived(data)

    def enableLocal(self, option: bytes) -> bool:
        if self.protocol is not None:
            return _ForwardToProtocol.enableLocal(self, option)
        return option == ECHO and self.state == "Password"

    def _ebLogin(self, failure: Failure) -> None:
        self.attempts += 1
        self._log.info(
            "Telnet login failed from {peer} ({attempts} of {maxAttempts})",
            peer=self.transport.getPeer(),
            attempts=self.attempts,
            maxAttempts=self.maxAttempts,
        )
        self.transport.write(b"Authentication failed\n")
        if self.attempts >= self.maxAttempts:
            self.transport.loseConnection()
            return
        self.transport.write(b"Username: ")
        self.state = "User"

    def telnet_Command(self, line: bytes) -> None:
        """Not reached: once logged in, data goes to the avatar unsplit."""
