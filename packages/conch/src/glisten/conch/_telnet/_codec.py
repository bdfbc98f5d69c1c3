"""
The Telnet codec: the NVT byte stream (RFC 854), commands, subnegotiation and option
negotiation by the Q method of RFC 1143, which keeps two well-behaved ends from looping on
WILL/DO answers however their requests cross.

This implementation does not queue a request made while the same side of an option is still
being negotiated (RFC 1143 allows that): such a request raises
:class:`~._errors.NegotiationStateError` with reason ``"negotiating"``, as Twisted's
``AlreadyNegotiating``.
"""

from __future__ import annotations

import enum

from glisten.conch._telnet._constants import BINARY, DO, DONT, IAC, SB, SE, WILL, WONT
from glisten.conch._telnet._errors import NegotiationStateError, TelnetProtocolError
from glisten.conch._telnet._events import (
    Command,
    Data,
    Event,
    OptionDisabled,
    OptionEnabled,
    OptionOffered,
    OptionRefused,
    Subnegotiation,
)
from glisten.conch._telnet._limits import Limits

__all__ = ["OptionState", "TelnetCodec"]


class OptionState(enum.IntEnum):
    """One side of an option, as RFC 1143 names its states."""

    NO = 0
    YES = 1
    WANTNO = 2
    WANTYES = 3


class _Parse(enum.IntEnum):
    DATA = 0
    IAC = 1
    VERB = 2
    CR = 3
    SB_OPTION = 4
    SB_DATA = 5
    SB_IAC = 6


_CR = 13
_LF = 10
_NUL = 0
_COMPACT_AT = 1 << 16


class TelnetCodec:
    """
    One end of a Telnet connection, without I/O.

    Feed received bytes to :meth:`receiveData`, then call :meth:`nextEvent` until it returns
    ``None``; after each event send :meth:`dataToSend` (negotiation replies). An
    :class:`~._events.OptionOffered` event must be answered with :meth:`answerOffer` before the
    next :meth:`nextEvent`; an unanswered offer is refused.

    :ivar limits: the bounds applied to the peer.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits if limits is not None else Limits()
        self._buf = bytearray()
        self._pos = 0
        self._state = _Parse.DATA
        self._verb = 0
        self._sbOption = 0
        self._sb = bytearray()
        self._us = bytearray(256)
        self._him = bytearray(256)
        self._out = bytearray()
        self._offer: tuple[int, bool] | None = None
        self._error: str | None = None

    # -- state -------------------------------------------------------------------------

    def optionState(self, option: int, local: bool) -> OptionState:
        """The state of our side (``local``) or the peer's side of ``option``."""
        return OptionState((self._us if local else self._him)[option])

    def isEnabled(self, option: int, local: bool) -> bool:
        """Whether ``option`` is on for our side (``local``) or the peer's."""
        return (self._us if local else self._him)[option] == OptionState.YES

    # -- sending -----------------------------------------------------------------------

    def dataToSend(self) -> bytes:
        """Negotiation replies produced while reading; empties the queue."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def sendData(self, data: bytes) -> bytes:
        """
        Encode application data: IAC doubled, and unless we send in BINARY mode, line ends
        made NVT ones (``\\n`` and ``\\r\\n`` become CR LF, a lone CR becomes CR NUL).
        """
        if not self._us[BINARY] == OptionState.YES and (b"\r" in data or b"\n" in data):
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")
        if b"\xff" in data:
            data = data.replace(b"\xff", b"\xff\xff")
        return data

    def sendCommand(self, command: int) -> bytes:
        """``IAC command`` (such as ``GA`` or ``AYT``)."""
        if not 0 <= command <= 255 or command in (IAC, SB, WILL, WONT, DO, DONT):
            raise ValueError("not a two-byte Telnet command")
        return bytes((IAC, command))

    def sendSubnegotiation(self, option: int, payload: bytes) -> bytes:
        """``IAC SB option payload IAC SE``, with IAC in the payload doubled."""
        return bytes((IAC, SB, option)) + payload.replace(b"\xff", b"\xff\xff") + bytes((IAC, SE))

    def requestEnable(self, option: int, local: bool) -> bytes:
        """
        Ask to turn ``option`` on: ``WILL`` for our side (``local``), ``DO`` for the peer's.

        :raises NegotiationStateError: already on, or still negotiating.
        """
        return self._request(option, local, True)

    def requestDisable(self, option: int, local: bool) -> bytes:
        """
        Ask to turn ``option`` off: ``WONT`` for our side (``local``), ``DONT`` for the peer's.

        :raises NegotiationStateError: already off, or still negotiating.
        """
        return self._request(option, local, False)

    def _request(self, option: int, local: bool, enable: bool) -> bytes:
        table = self._us if local else self._him
        state = table[option]
        done = OptionState.YES if enable else OptionState.NO
        if state == done:
            raise NegotiationStateError(option, "enabled" if enable else "disabled")
        if state in (OptionState.WANTYES, OptionState.WANTNO):
            raise NegotiationStateError(option, "negotiating")
        table[option] = OptionState.WANTYES if enable else OptionState.WANTNO
        if local:
            return bytes((IAC, WILL if enable else WONT, option))
        return bytes((IAC, DO if enable else DONT, option))

    def answerOffer(self, accept: bool) -> None:
        """
        Answer the last :class:`~._events.OptionOffered`; the reply goes to :meth:`dataToSend`.

        :raises RuntimeError: no offer is waiting for an answer.
        """
        if self._offer is None:
            raise RuntimeError("no option offer is waiting for an answer")
        option, local = self._offer
        self._offer = None
        if accept:
            (self._us if local else self._him)[option] = OptionState.YES
            self._out += bytes((IAC, WILL if local else DO, option))
        else:
            self._out += bytes((IAC, WONT if local else DONT, option))

    # -- receiving ---------------------------------------------------------------------

    def receiveData(self, data: bytes) -> None:
        """Add received bytes; events come from :meth:`nextEvent`."""
        if self._error is None:
            self._buf += data

    def nextEvent(self) -> Event | None:
        """
        The next event, or ``None`` when more bytes are needed.

        :raises TelnetProtocolError: the peer broke the protocol; every later call raises too.
        """
        if self._offer is not None:
            self.answerOffer(False)
        if self._error is not None:
            raise TelnetProtocolError(self._error)
        try:
            event = self._parse()
        except TelnetProtocolError as e:
            self._error = str(e)
            self._buf.clear()
            self._pos = 0
            raise
        if event is None:
            self._buf.clear()
            self._pos = 0
        elif self._pos > _COMPACT_AT:
            del self._buf[: self._pos]
            self._pos = 0
        return event

    def _parse(self) -> Event | None:
        buf = self._buf
        n = len(buf)
        i = self._pos
        out = bytearray()
        while i < n:
            state = self._state
            if state == _Parse.DATA:
                translate = self._him[BINARY] != OptionState.YES
                j = buf.find(IAC, i)
                if translate:
                    k = buf.find(_CR, i, j if j >= 0 else n)
                    if k >= 0:
                        j = k
                if j < 0:
                    out += buf[i:]
                    i = n
                    break
                out += buf[i:j]
                i = j
                if buf[i] == _CR:
                    if i + 1 == n:
                        self._state = _Parse.CR
                        i += 1
                        break
                    nxt = buf[i + 1]
                    if nxt == _LF:
                        out.append(_LF)
                        i += 2
                    elif nxt == _NUL:
                        out.append(_CR)
                        i += 2
                    else:
                        out.append(_CR)
                        i += 1
                    continue
                # IAC
                if i + 1 < n and buf[i + 1] == IAC:
                    out.append(IAC)
                    i += 2
                    continue
                if out:
                    break
                self._state = _Parse.IAC
                i += 1
            elif state == _Parse.CR:
                b = buf[i]
                self._state = _Parse.DATA
                if b == _LF:
                    out.append(_LF)
                    i += 1
                elif b == _NUL:
                    out.append(_CR)
                    i += 1
                else:
                    out.append(_CR)
            elif state == _Parse.IAC:
                b = buf[i]
                i += 1
                if b == IAC:
                    out.append(IAC)
                    self._state = _Parse.DATA
                elif b in (WILL, WONT, DO, DONT):
                    self._verb = b
                    self._state = _Parse.VERB
                elif b == SB:
                    self._state = _Parse.SB_OPTION
                else:
                    self._state = _Parse.DATA
                    if b != SE:
                        self._pos = i
                        return Command(b)
            elif state == _Parse.VERB:
                option = buf[i]
                i += 1
                self._state = _Parse.DATA
                event = self._negotiate(self._verb, option)
                if event is not None:
                    self._pos = i
                    return event
            elif state == _Parse.SB_OPTION:
                option = buf[i]
                i += 1
                if option == IAC:
                    raise TelnetProtocolError("subnegotiation without an option")
                self._sbOption = option
                self._sb.clear()
                self._state = _Parse.SB_DATA
            elif state == _Parse.SB_DATA:
                j = buf.find(IAC, i)
                end = n if j < 0 else j
                if len(self._sb) + end - i > self.limits.maxSubnegotiationLength:
                    raise TelnetProtocolError("subnegotiation too long")
                self._sb += buf[i:end]
                if j < 0:
                    i = n
                else:
                    i = j + 1
                    self._state = _Parse.SB_IAC
            else:  # SB_IAC
                b = buf[i]
                i += 1
                if b == IAC:
                    if len(self._sb) >= self.limits.maxSubnegotiationLength:
                        raise TelnetProtocolError("subnegotiation too long")
                    self._sb.append(IAC)
                    self._state = _Parse.SB_DATA
                elif b == SE:
                    self._state = _Parse.DATA
                    payload = bytes(self._sb)
                    self._sb.clear()
                    self._pos = i
                    return Subnegotiation(self._sbOption, payload)
                else:
                    raise TelnetProtocolError("unescaped IAC inside a subnegotiation")
        self._pos = i
        if out:
            return Data(bytes(out))
        return None

    def _negotiate(self, verb: int, option: int) -> Event | None:
        local = verb in (DO, DONT)
        table = self._us if local else self._him
        state = table[option]
        negative = bytes((IAC, WONT if local else DONT, option))
        if verb in (WILL, DO):
            if state == OptionState.NO:
                self._offer = (option, local)
                return OptionOffered(option, local)
            if state == OptionState.YES:
                return None
            if state == OptionState.WANTNO:
                # Our refusal was answered by a yes: RFC 1143 keeps the option off.
                table[option] = OptionState.NO
                return OptionDisabled(option, local, True)
            table[option] = OptionState.YES
            return OptionEnabled(option, local, True)
        if state == OptionState.NO:
            return None
        table[option] = OptionState.NO
        if state == OptionState.YES:
            self._out += negative
            return OptionDisabled(option, local, False)
        if state == OptionState.WANTNO:
            return OptionDisabled(option, local, True)
        return OptionRefused(option, local)
