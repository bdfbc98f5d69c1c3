"""Framing protocols: lines, netstrings and length-prefixed strings, plus :class:`FileSender`.

These parsers sit under most text protocols, so they are written for speed: each keeps the
received bytes and an offset into them, looks for frame boundaries with ``bytes.find`` and
slices each frame out once, instead of re-splitting (and so re-copying) the rest of the buffer
for every frame. Length-prefixed receivers wait, without copying, until a whole frame is there.

Every receiver has a size limit (``MAX_LENGTH``) and never buffers much more than that.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

from zope.interface import implementer

from glisten.internet import interfaces
from glisten.internet.defer import Deferred
from glisten.internet.protocol import Protocol

__all__ = [
    "DATA",
    "LENGTH",
    "COMMA",
    "FileSender",
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "IntNStringReceiver",
    "LineOnlyReceiver",
    "LineReceiver",
    "NetstringParseError",
    "NetstringReceiver",
    "StatefulStringProtocol",
    "StringTooLongError",
]


class NetstringParseError(ValueError):
    """The peer sent something that is not a netstring."""


class IncompleteNetstring(Exception):
    """Not enough data yet to finish a netstring (kept for Twisted compatibility)."""


class StringTooLongError(AssertionError):
    """A string is too long to be sent with this receiver's length prefix."""


# Netstring parser states, as Twisted names them.
LENGTH, DATA, COMMA = 0, 1, 2


class _PauseableMixin:
    """Pausing a receiver stops delivery of parsed frames and pauses its transport too."""

    paused = False
    transport: Any

    def pauseProducing(self) -> None:
        """Stop delivering frames (they stay buffered) and pause the transport."""
        self.paused = True
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Resume the transport and deliver the frames that were held back."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")

    def stopProducing(self) -> None:
        """Stop delivering frames for good and stop the transport."""
        self.paused = True
        self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class LineOnlyReceiver(Protocol):
    """A protocol that receives lines only (no raw mode); simpler and a little faster.

    :cvar delimiter: the line separator.
    :cvar MAX_LENGTH: the longest line accepted; a longer one goes to
        :meth:`lineLengthExceeded`, which by default drops the connection.
    """

    _buffer = b""
    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384

    def dataReceived(self, data: bytes) -> None:
        """Split the received bytes into lines and call :meth:`lineReceived` for each."""
        buf = self._buffer + data if self._buffer else data
        delimiter = self.delimiter
        lines = buf.split(delimiter)
        self._buffer = lines.pop()
        maxLength = self.MAX_LENGTH
        transport = self.transport
        for line in lines:
            if transport is not None and transport.disconnecting:
                return
            if len(line) > maxLength:
                self._buffer = b""
                self.lineLengthExceeded(line)
                return
            self.lineReceived(line)
        if len(self._buffer) > maxLength:
            line, self._buffer = self._buffer, b""
            self.lineLengthExceeded(line)

    def lineReceived(self, line: bytes) -> None:
        """Called with each line, without its delimiter. Override this."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write ``line`` followed by the delimiter."""
        self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> None:
        """Called with a line longer than ``MAX_LENGTH``; drops the connection by default."""
        self.transport.loseConnection()


class _NoTransport:
    disconnecting = False


_FAST, _BUSY, _SLOW = 0, 1, 2
_LINE_PROPERTIES = (("delimiter", "_delimiter"), ("line_mode", "_lineMode"), ("paused", "_paused"))


def _reinstallProperties(cls: type, owner: type, names: tuple[tuple[str, str], ...]) -> None:
    """Keep ``owner``'s properties in front for ``cls``.

    A subclass (or a mixin before ``owner`` in the MRO) may set ``delimiter = b"\\n"`` as a
    plain class attribute, as Twisted code does; that value becomes the default behind the
    property, and the property is put back on ``cls`` so that changes still go through it.
    """
    for public, private in names:
        for klass in cls.__mro__:
            if public in klass.__dict__:
                value = klass.__dict__[public]
                break
        else:
            continue
        if not isinstance(value, property):
            setattr(cls, private, value)
            setattr(cls, public, owner.__dict__[public])


def _joinRemaining(lines: Iterator[bytes], delimiter: bytes) -> bytes:
    """Consume ``lines`` and return them re-joined, each followed by ``delimiter``."""
    remaining = list(lines)
    if not remaining:
        return b""
    return delimiter.join(remaining) + delimiter


class LineReceiver(Protocol, _PauseableMixin):
    """A protocol that receives lines and can switch to raw mode for binary payloads.

    In line mode every delimiter-terminated line goes to :meth:`lineReceived`. Calling
    :meth:`setRawMode` (also from inside ``lineReceived``) hands everything after the current
    line, and all later data, to :meth:`rawDataReceived` until :meth:`setLineMode` is called.
    :meth:`setLineMode` with ``extra`` bytes parses those as lines first.

    :cvar delimiter: the line separator (may be changed at any time, even in ``lineReceived``).
    :cvar MAX_LENGTH: the longest line accepted. A longer line, or that much data without a
        delimiter, is passed (with whatever was buffered after it) to
        :meth:`lineLengthExceeded`, which drops the connection by default; the buffer never
        holds more than about ``MAX_LENGTH`` plus one received chunk.
    :ivar line_mode: 1 in line mode, 0 in raw mode.
    """

    # ``delimiter``, ``line_mode`` and ``paused`` are properties over these, so that changing
    # any of them (even inside lineReceived) flags ``_interrupted``: the delivery loop then only
    # has to test one attribute per line. Subclasses may still set them as class attributes
    # (see __init_subclass__).
    _delimiter: bytes = b"\r\n"
    _lineMode: int = 1
    _paused: bool = False
    _interrupted = False
    # _FAST: line mode and not paused, dataReceived may take its shortcuts; _BUSY: delivering
    # (a dataReceived call now is re-entrant); _SLOW: raw mode or paused, or no data yet.
    _state = _SLOW
    _buffer = b""
    # While lines of one split are being delivered: the iterator over the lines not yet
    # delivered and the delimiter they were split on (so clearLineBuffer can rebuild the rest).
    _lines: Iterator[bytes] | None = None
    _linesDelimiter = b""
    MAX_LENGTH: int = 16384

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _reinstallProperties(cls, LineReceiver, _LINE_PROPERTIES)

    @property
    def delimiter(self) -> bytes:
        """The line separator."""
        return self._delimiter

    @delimiter.setter
    def delimiter(self, value: bytes) -> None:
        self._delimiter = value
        self._interrupted = True

    @property
    def line_mode(self) -> int:
        """1 in line mode, 0 in raw mode."""
        return self._lineMode

    @line_mode.setter
    def line_mode(self, value: int) -> None:
        self._lineMode = value
        self._interrupted = True
        if self._state != _BUSY:
            self._state = self._restingState()

    @property
    def paused(self) -> bool:
        """Whether delivery is paused (see :meth:`pauseProducing`)."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = value
        self._interrupted = True
        if self._state != _BUSY:
            self._state = self._restingState()

    def clearLineBuffer(self) -> bytes:
        """Forget any buffered data (for example the rest of this packet) and return it."""
        rest = self._takeUndelivered() + self._buffer
        self._buffer = b""
        return rest

    def _takeUndelivered(self) -> bytes:
        """Return (and consume) the lines of the current split not yet delivered."""
        lines = self._lines
        if lines is None:
            return b""
        return _joinRemaining(lines, self._linesDelimiter)

    def _restingState(self) -> int:
        return _FAST if self._lineMode and not self._paused else _SLOW

    def dataReceived(self, data: bytes) -> Any:
        """Parse ``data`` into lines (or raw data) and deliver them.

        :return: whatever a ``lineReceived`` or ``rawDataReceived`` call returned that was
            true (Twisted's way for a callback to stop parsing), else ``None``.
        """
        if self._state:
            if self._state == _BUSY:
                # Re-entrant call (from lineReceived, say): the running loop picks it up.
                self._buffer += data
                return None
            buf = self._buffer + data
            self._buffer = b""
            self._state = _BUSY
            # What the fast path reads goes into the instance, where it is found faster than
            # on the class.
            self._interrupted = False
            self._delimiter = self._delimiter
            return self._parseSafely(buf)
        buf = self._buffer + data
        if len(buf) > self.MAX_LENGTH:
            # A line could be too long: the checking loop of _parse.
            self._buffer = b""
            self._state = _BUSY
            return self._parseSafely(buf)
        delimiter = self._delimiter
        lines = buf.split(delimiter)
        if len(lines) == 1:
            # The common case with small reads: no complete line yet.
            self._buffer = buf
            return None
        # No line can be too long here. (_interrupted is False at rest in this state; a
        # setter run outside a callback may have left it True, which only costs the slower
        # route.) Splitting costs no more than a find when there is no delimiter, and gives
        # every line at once when there are several.
        self._state = _BUSY
        transport = self.transport
        if transport is None:
            transport = _NoTransport
        if len(lines) == 2:
            # One line (the usual case with small reads): no iterator needed.
            line, self._buffer = lines
            try:
                why = self.lineReceived(line)
            except BaseException:
                self._state = self._restingState()
                raise
            if not (why or self._interrupted or transport.disconnecting) and (
                self._buffer is lines[1]  # nothing received re-entrantly or cleared
            ):
                self._state = _FAST
                return None
            rest = self._buffer
        else:
            self._buffer = tail = lines.pop()
            self._lines = it = iter(lines)
            self._linesDelimiter = delimiter
            why = None
            try:
                for line in it:
                    why = self.lineReceived(line)
                    if why or self._interrupted or transport.disconnecting:
                        break
                else:
                    if self._buffer is tail:
                        self._lines = None
                        self._state = _FAST
                        return None
            except BaseException:
                self._recover()
                raise
            self._lines = None
            rest = _joinRemaining(it, delimiter) + self._buffer
        # Interrupted (mode, pause, delimiter, disconnect, clear, re-entrant data).
        self._interrupted = False
        if why or transport.disconnecting:
            self._buffer = rest
            self._state = self._restingState()
            return why
        self._buffer = b""
        return self._parseSafely(rest)

    def _parseSafely(self, buf: bytes) -> Any:
        """Run :meth:`_parse` (in the busy state) and restore the resting state after it."""
        try:
            why = self._parse(buf)
        except BaseException:
            self._recover()
            raise
        self._state = _FAST if self._lineMode and not self._paused else _SLOW
        return why

    def _recover(self) -> None:
        """A callback raised: keep the lines it did not get (as Twisted does), stop being
        busy."""
        if self._lines is not None:
            self._buffer = self._takeUndelivered() + self._buffer
            self._lines = None
        self._state = self._restingState()

    def _parse(self, buf: bytes) -> Any:
        transport = self.transport
        if transport is None:
            transport = _NoTransport
        while buf and not self._paused:
            self._interrupted = False
            if not self._lineMode:
                why = self.rawDataReceived(buf)
                buf = self._buffer
                self._buffer = b""
                if why:
                    self._buffer = buf
                    return why
                continue
            delimiter = self._delimiter
            lines = buf.split(delimiter)
            self._buffer = tail = lines.pop()
            maxLength = self.MAX_LENGTH
            if not lines:
                if len(tail) >= maxLength + len(delimiter):
                    self._buffer = b""
                    return self.lineLengthExceeded(tail)
                return None
            self._lines = it = iter(lines)
            self._linesDelimiter = delimiter
            lineReceived = self.lineReceived
            why = None
            interrupted = False
            if len(buf) <= maxLength:
                # No line can be too long: the lean loop.
                for line in it:
                    why = lineReceived(line)
                    if why or self._interrupted or transport.disconnecting:
                        interrupted = True
                        break
            else:
                for line in it:
                    if len(line) > maxLength:
                        rest = self._takeUndelivered() + self._buffer
                        self._buffer = b""
                        self._lines = None
                        return self.lineLengthExceeded(line + delimiter + rest)
                    why = lineReceived(line)
                    if why or self._interrupted or transport.disconnecting:
                        interrupted = True
                        break
            self._lines = None
            if interrupted:
                # The lines not delivered go back in front of the tail.
                rest = _joinRemaining(it, delimiter) + self._buffer
                if why or transport.disconnecting:
                    self._buffer = rest
                    return why
                buf = rest
                self._buffer = b""
                continue
            if self._buffer is tail:
                # Nothing arrived re-entrantly and nothing was cleared.
                if len(tail) >= maxLength + len(delimiter):
                    self._buffer = b""
                    return self.lineLengthExceeded(tail)
                return None
            buf = self._buffer
            self._buffer = b""
        if buf:
            self._buffer = buf + self._buffer
        return None

    def setLineMode(self, extra: bytes = b"") -> Any:
        """Switch to line mode; ``extra`` is parsed as if it had just been received."""
        self.line_mode = 1
        if extra:
            return self.dataReceived(extra)
        return None

    def setRawMode(self) -> None:
        """Switch to raw mode: from now on data goes to :meth:`rawDataReceived`."""
        self.line_mode = 0

    def rawDataReceived(self, data: bytes) -> Any:
        """Called with data received in raw mode. Override this."""
        raise NotImplementedError

    def lineReceived(self, line: bytes) -> Any:
        """Called with each line, without its delimiter. Override this."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write ``line`` followed by the delimiter."""
        self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> Any:
        """Called with an over-long line and what followed it; drops the connection by default.

        The data is no longer buffered when this is called.
        """
        return self.transport.loseConnection()


#: ``_need`` while a receiver must not parse: paused.
_NEVER = sys.maxsize
#: ``_need`` while a receiver is delivering: a re-entrant ``dataReceived`` only buffers.
_DELIVERING = sys.maxsize - 1
#: Frames at least this large are gathered as a list of chunks (joined once) instead of by
#: concatenating each received chunk to what came before.
_BIG_FRAME = 1 << 15


class IntNStringReceiver(Protocol, _PauseableMixin):
    """Receives strings each preceded by an unsigned big-endian length prefix.

    Subclasses set :attr:`structFormat` and :attr:`prefixLength`. A length above
    :attr:`MAX_LENGTH` goes to :meth:`lengthLimitExceeded` (which drops the connection by
    default); the framing is lost at that point, so the receiver discards everything it has and
    everything it receives afterwards rather than buffer it.

    Small frames are gathered by concatenation; a large frame arriving in pieces is gathered
    as a list and joined once, so it is copied once, not once per piece.

    :cvar MAX_LENGTH: the longest string accepted.
    """

    structFormat: ClassVar[str]
    prefixLength: ClassVar[int]
    _struct: ClassVar[struct.Struct]
    _unpackFrom: Callable[[bytes, int], tuple[int]]
    MAX_LENGTH: int = 99999

    # _rest: bytes received and not yet delivered, starting at a frame boundary.
    # dataReceived only appends to it while it stays shorter than _need, which is:
    # prefixLength while the next frame's prefix is incomplete; prefixLength + n once the
    # prefix has been parsed and says the frame has n bytes (so it is not parsed again); 0 to
    # take the slow way (before the first data, after a resume or an error, while a large
    # frame is gathered in _chunks, see _BIG_FRAME, once broken); _DELIVERING while delivering;
    # _NEVER while paused.
    _rest = b""
    _need = 0
    _chunks: list[bytes] | None = None
    _have = 0
    _bigNeed = 0
    _paused = False
    _broken = False
    _interrupted = False
    _prefixLength = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fmt = cls.__dict__.get("structFormat")
        if fmt is not None:
            cls._struct = struct.Struct(fmt)
            cls._unpackFrom = cls._struct.unpack_from
            cls.prefixLength = cls._prefixLength = cls._struct.size
        _reinstallProperties(cls, IntNStringReceiver, (("paused", "_paused"),))

    @property
    def paused(self) -> bool:
        """Whether delivery is paused (see :meth:`pauseProducing`)."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = value
        self._interrupted = True
        if self._need != _DELIVERING and not self._broken:
            self._need = _NEVER if value else 0

    @property
    def recvd(self) -> bytes:
        """The bytes received and not delivered yet (Twisted's buffer attribute).

        Assigning replaces them: ``self.recvd = b""`` drops a partial frame, for instance.
        Read or assigned from inside :meth:`stringReceived`, it covers only data received
        during that call, not the rest of the chunk being delivered.
        """
        chunks = self._chunks
        if chunks:
            return b"".join(chunks) + self._rest
        return self._rest

    @recvd.setter
    def recvd(self, value: bytes) -> None:
        self._chunks = None
        self._have = 0
        self._bigNeed = 0
        self._rest = bytes(value)
        if self._need != _DELIVERING and not self._broken:
            self._need = _NEVER if self._paused else 0

    def stringReceived(self, string: bytes) -> None:
        """Called with each complete string. Override this."""
        raise NotImplementedError

    def lengthLimitExceeded(self, length: int) -> None:
        """Called with a length prefix above ``MAX_LENGTH``; drops the connection by default."""
        self.transport.loseConnection()

    def sendString(self, string: bytes) -> None:
        """Write ``string`` with its length prefix.

        :raises StringTooLongError: the length does not fit in the prefix.
        """
        if len(string) >= 1 << (8 * self.prefixLength):
            raise StringTooLongError(
                f"Try to send {len(string)} bytes whereas maximum is "
                f"{(1 << (8 * self.prefixLength)) - 1}"
            )
        self.transport.write(self._struct.pack(len(string)) + string)

    def dataReceived(self, data: bytes) -> None:
        """Buffer ``data`` and deliver every complete string in it."""
        rest = self._rest
        need = self._need
        size = len(rest) + len(data)
        if size < need:
            # Not a whole frame yet (or we must not parse now): just keep it.
            self._rest = rest + data
            return
        prefixLength = self._prefixLength
        if need < prefixLength:
            self._receivedSlowly(data)
            return
        buf = rest + data
        self._rest = b""
        self._need = _DELIVERING
        # The frame loop of _deliver, inlined for the common case; anything unusual (pause,
        # a length over the limit, re-entrant data) is handed to _deliver with what is left.
        # (_interrupted is False here: every setter run outside delivery sends the next call
        # the slow way, which resets it.)
        offset = 0
        try:
            if need > prefixLength:
                # This frame's prefix was parsed when it arrived; now the frame is complete.
                offset = need
                self.stringReceived(buf[prefixLength:need])
            unpack = self._unpackFrom
            maxLength = self.MAX_LENGTH
            if size - offset > maxLength:
                # A frame in here could be too long: let _deliver check each one.
                need = -1
            else:
                # No complete frame can be too long; only the incomplete one is checked.
                while not self._interrupted:
                    start = offset + prefixLength
                    if start > size:
                        need = prefixLength
                        break
                    end = start + unpack(buf, offset)[0]
                    if end > size:
                        need = -1 if end - start > maxLength else end - offset
                        break
                    offset = end
                    self.stringReceived(buf[start:end])
                else:
                    need = -1
        except BaseException:
            self._afterError(buf, offset)
            raise
        if need > 0 and not self._rest:
            if need < _BIG_FRAME:
                # The usual way out, inlined: keep the rest, wait for the rest of the frame.
                self._rest = buf[offset:] if offset else buf
                self._need = need
                return
            self._keep(buf[offset:], need)
            return
        self._deliver(buf[offset:] if offset else buf)

    def _receivedSlowly(self, data: bytes) -> None:
        """``dataReceived`` when ``_need`` is 0: gather a large frame, discard everything once
        broken, or parse what there is (first data, after a resume or an error)."""
        if self._broken:
            self._rest = b""
            return
        # What the fast path reads goes into the instance, where it is found faster than on
        # the class.
        self._unpackFrom = self._unpackFrom
        self._prefixLength = self.prefixLength
        self._interrupted = False
        rest = self._rest
        chunks = self._chunks
        if chunks is not None:
            if rest:
                chunks.append(rest)
                self._rest = b""
            chunks.append(data)
            have = self._have + len(rest) + len(data)
            if have < self._bigNeed or self._paused:
                self._have = have
                return
            self._chunks = None
            self._have = 0
            buf = b"".join(chunks)
        else:
            buf = rest + data
            self._rest = b""
        self._need = _DELIVERING
        self._deliver(buf)

    def _keep(self, rest: bytes, need: int) -> None:
        """Leave the busy state with ``rest`` buffered, waiting for ``need`` bytes."""
        if need >= _BIG_FRAME and rest:
            self._chunks = [rest]
            self._have = len(rest)
            self._bigNeed = need
            need = 0
        else:
            self._rest = rest
        self._need = _NEVER if self._paused else need

    def _afterError(self, buf: bytes, offset: int) -> None:
        """A callback raised: keep what it did not get (as Twisted does), stop being busy."""
        if self._broken:
            self._rest = b""
            return
        self._rest = (buf[offset:] if offset < len(buf) else b"") + self._rest
        self._need = _NEVER if self._paused else 0

    def _deliver(self, buf: bytes) -> None:
        """Deliver the frames in ``buf`` followed by any data received meanwhile (in
        ``_rest``), stopping when paused. Called while busy; leaves the busy state."""
        unpack = self._unpackFrom
        prefixLength = self.prefixLength
        while True:
            pending = self._rest
            if pending:
                buf = buf + pending
                self._rest = b""
            if self._paused:
                self._rest = buf
                self._need = _NEVER
                return
            offset = 0
            size = len(buf)
            self._interrupted = False
            need = prefixLength
            try:
                while size - offset >= prefixLength:
                    length = unpack(buf, offset)[0]
                    if length > self.MAX_LENGTH:
                        # Framing lost: from now on everything received is dropped.
                        self._broken = True
                        self._rest = b""
                        self._chunks = None
                        self._have = 0
                        self._need = 0
                        self.lengthLimitExceeded(length)
                        return
                    start = offset + prefixLength
                    end = start + length
                    if end > size:
                        need = end - offset
                        break
                    offset = end
                    self.stringReceived(buf[start:end])
                    if self._interrupted:
                        break
            except BaseException:
                self._afterError(buf, offset)
                raise
            buf = buf[offset:] if offset else buf
            if self._interrupted or self._rest:
                continue
            self._keep(buf, need)
            return

    def resumeProducing(self) -> None:
        """Resume the transport and deliver the strings that were held back."""
        self.paused = False
        self.transport.resumeProducing()
        if (self._rest or self._chunks) and self._need != _DELIVERING and not self._broken:
            self.dataReceived(b"")


class Int32StringReceiver(IntNStringReceiver):
    """Strings prefixed with a 32-bit big-endian length."""

    structFormat = "!I"
    prefixLength = 4


class Int16StringReceiver(IntNStringReceiver):
    """Strings prefixed with a 16-bit big-endian length."""

    structFormat = "!H"
    prefixLength = 2


class Int8StringReceiver(IntNStringReceiver):
    """Strings prefixed with an 8-bit length."""

    structFormat = "!B"
    prefixLength = 1


class NetstringReceiver(Protocol):
    """Receives netstrings (``<decimal length>:<bytes>,``, D. J. Bernstein's format).

    Anything that is not a well-formed netstring (a non-digit or leading zero in the length,
    a length above :attr:`MAX_LENGTH`, a missing comma) sets :attr:`brokenPeer` and drops the
    connection; nothing more is parsed.

    :cvar MAX_LENGTH: the longest string accepted.
    """

    MAX_LENGTH: int = 99999
    brokenPeer = 0

    _buffer = b""
    _start = 0
    _need = 0
    _chunks: list[bytes] | None = None
    _have = 0
    _busy = False

    def stringReceived(self, string: bytes) -> None:
        """Called with each complete string. Override this."""
        raise NotImplementedError

    def sendString(self, string: bytes) -> None:
        """Write ``string`` as a netstring."""
        self.transport.write(b"%d:%b," % (len(string), string))

    def _handleParseError(self) -> None:
        self.brokenPeer = 1
        self._chunks = None
        self._have = 0
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """Buffer ``data`` and deliver every complete netstring in it."""
        if self.brokenPeer:
            return
        have = self._have + len(data)
        if have < self._need or self._busy:
            if self._chunks is None:
                self._chunks = [data]
            else:
                self._chunks.append(data)
            self._have = have
            return
        chunks = self._chunks
        if chunks:
            chunks.append(data)
            buf = b"".join(chunks)
        else:
            buf = data
        self._chunks = None
        self._have = 0
        self._busy = True
        try:
            self._parse(buf)
        except NetstringParseError:
            self._handleParseError()
        finally:
            self._busy = False

    def _parse(self, buf: bytes) -> None:
        maxLength = self.MAX_LENGTH
        maxDigits = len(str(maxLength))
        offset = 0
        while True:
            size = len(buf)
            while offset < size:
                colon = buf.find(b":", offset, offset + maxDigits + 1)
                if colon < 0:
                    digits = buf[offset : offset + maxDigits + 1]
                    if len(digits) > maxDigits or not digits.isdigit():
                        raise NetstringParseError(f"bad netstring length {digits[:20]!r}")
                    if len(digits) > 1 and digits[0] == 0x30:
                        raise NetstringParseError("netstring length with a leading zero")
                    self._need = size - offset + 1
                    break
                digits = buf[offset:colon]
                if not digits.isdigit() or (len(digits) > 1 and digits[0] == 0x30):
                    raise NetstringParseError(f"bad netstring length {digits!r}")
                length = int(digits)
                if length > maxLength:
                    raise NetstringParseError(
                        f"netstring of {length} bytes is longer than the maximum {maxLength}"
                    )
                end = colon + 1 + length
                if end >= size:
                    self._need = end + 1 - offset
                    break
                if buf[end] != 0x2C:
                    raise NetstringParseError("netstring not terminated by a comma")
                string = buf[colon + 1 : end]
                offset = end + 1
                self.stringReceived(string)
                if self.brokenPeer:
                    return
            else:
                self._need = 0
            rest = buf[offset:] if offset else buf
            pending = self._chunks
            if pending:
                buf = b"".join([rest, *pending])
                self._chunks = None
                self._have = 0
                offset = 0
                if len(buf) >= self._need:
                    continue
                rest = buf
            if rest:
                self._chunks = [rest]
                self._have = len(rest)
            return


class StatefulStringProtocol:
    """Mixin: dispatch each received string to ``proto_<state>`` methods.

    Each ``proto_<state>(string)`` returns the next state's name (or ``None`` to keep it);
    ``"done"`` drops the connection.

    :ivar state: the current state name.
    """

    state = "init"
    transport: Any

    def stringReceived(self, string: bytes) -> None:
        """Hand ``string`` to the current state's handler and switch to the state it returns."""
        try:
            handler: Callable[[bytes], str | None] = getattr(self, "proto_" + self.state)
        except AttributeError:
            self.transport.loseConnection()
            return
        newState = handler(string)
        if newState is not None:
            self.state = newState
        if self.state == "done":
            self.transport.loseConnection()


@implementer(interfaces.IProducer, interfaces.IPullProducer)
class FileSender:
    """Sends a file to a consumer as a pull producer.

    :cvar CHUNK_SIZE: bytes read and written per ``resumeProducing``.
    :ivar lastSent: the last byte written (for protocols that must know how the data ended).
    """

    CHUNK_SIZE = 2**14
    lastSent: bytes = b""
    deferred: Deferred[bytes] | None = None

    def beginFileTransfer(
        self,
        file: IO[bytes],
        consumer: Any,
        transform: Callable[[bytes], bytes] | None = None,
    ) -> Deferred[bytes]:
        """Send ``file`` to ``consumer``.

        :param transform: applied to each chunk before it is written.
        :return: a Deferred that fires with the last byte sent when the file is exhausted, or
            fails if the consumer stops the transfer.
        """
        self.file: IO[bytes] | None = file
        self.consumer = consumer
        self.transform = transform
        deferred: Deferred[bytes] = Deferred()
        self.deferred = deferred
        self.consumer.registerProducer(self, False)
        return deferred

    def resumeProducing(self) -> None:
        """Write the next chunk, or finish the transfer at end of file."""
        chunk = b""
        if self.file is not None:
            chunk = self.file.read(self.CHUNK_SIZE)
        if not chunk:
            self.file = None
            self.consumer.unregisterProducer()
            if self.deferred is not None:
                d, self.deferred = self.deferred, None
                d.callback(self.lastSent)
            return
        if self.transform is not None:
            chunk = self.transform(chunk)
        self.consumer.write(chunk)
        self.lastSent = chunk[-1:]

    def pauseProducing(self) -> None:
        """Nothing to do: a pull producer only writes when asked."""

    def stopProducing(self) -> None:
        """Abandon the transfer; the Deferred fails."""
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(Exception("Consumer asked us to stop producing"))
