"""Framing protocols: lines, netstrings and length-prefixed strings, plus :class:`FileSender`.

These parsers sit under most text protocols, so they are written for speed: each keeps the
received bytes and an offset into them, looks for frame boundaries with ``bytes.find`` and
slices each frame out once, instead of re-splitting (and so re-copying) the rest of the buffer
for every frame. Length-prefixed receivers wait, without copying, until a whole frame is there.

Every receiver has a size limit (``MAX_LENGTH``) and never buffers much more than that.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
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


class LineReceiver(Protocol, _PauseableMixin):
    """A protocol that receives lines and can switch to raw mode for binary payloads.

    In line mode every delimiter-terminated line goes to :meth:`lineReceived`. Calling
    :meth:`setRawMode` (also from inside ``lineReceived``) hands everything after the current
    line, and all later data, to :meth:`rawDataReceived` until :meth:`setLineMode` is called.
    :meth:`setLineMode` with ``extra`` bytes parses those as lines first.

    :cvar delimiter: the line separator (may be changed at any time, even in ``lineReceived``).
    :cvar MAX_LENGTH: the longest line accepted. A longer line, or that much data without a
        delimiter, is passed (with whatever was buffered) to :meth:`lineLengthExceeded`, which
        drops the connection by default; the buffer never grows past about ``MAX_LENGTH``.
    :ivar line_mode: 1 in line mode, 0 in raw mode.
    """

    line_mode = 1
    _buffer = b""
    _start = 0
    _busyReceiving = False
    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384

    def clearLineBuffer(self) -> bytes:
        """Forget any buffered data (for example the rest of this packet) and return it."""
        rest = self._buffer[self._start :]
        self._buffer = b""
        self._start = 0
        return rest

    def dataReceived(self, data: bytes) -> Any:
        """Parse ``data`` into lines (or raw data) and deliver them.

        :return: whatever a ``lineReceived`` or ``rawDataReceived`` call returned that was
            true (Twisted's way for a callback to stop parsing), else ``None``.
        """
        if self._busyReceiving:
            # Reentrant call (from lineReceived, say): the running loop picks the data up.
            self._buffer = self._buffer + data
            return None
        start = self._start
        if start:
            buf = self._buffer[start:] + data
        elif self._buffer:
            buf = self._buffer + data
        else:
            buf = data
        self._busyReceiving = True
        try:
            return self._parse(buf)
        finally:
            self._busyReceiving = False

    def _parse(self, buf: bytes) -> Any:
        start = 0
        self._buffer = buf
        self._start = 0
        transport = self.transport
        while not self.paused:
            if self.line_mode:
                delimiter = self.delimiter
                end = buf.find(delimiter, start)
                if end < 0:
                    if len(buf) - start >= self.MAX_LENGTH + len(delimiter):
                        line = buf[start:]
                        self._buffer = b""
                        self._start = 0
                        return self.lineLengthExceeded(line)
                    return None
                if end - start > self.MAX_LENGTH:
                    exceeded = buf[start:]
                    self._buffer = b""
                    self._start = 0
                    return self.lineLengthExceeded(exceeded)
                line = buf[start:end]
                self._start = end + len(delimiter)
                why = self.lineReceived(line)
                # The callback may have cleared, extended or replaced the buffer.
                buf = self._buffer
                start = self._start
                if why or (transport is not None and transport.disconnecting):
                    return why
            else:
                if start >= len(buf):
                    return None
                data = buf[start:] if start else buf
                self._buffer = b""
                self._start = 0
                why = self.rawDataReceived(data)
                buf = self._buffer
                start = self._start
                if why:
                    return why
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


class _PendingBuffer:
    """Bytes waiting for a frame to complete, kept as a list so appending never copies."""

    __slots__ = ()


class IntNStringReceiver(Protocol, _PauseableMixin):
    """Receives strings each preceded by an unsigned big-endian length prefix.

    Subclasses set :attr:`structFormat` and :attr:`prefixLength`. A length above
    :attr:`MAX_LENGTH` goes to :meth:`lengthLimitExceeded` (which drops the connection by
    default); the framing is lost at that point, so the receiver discards everything it has and
    everything it receives afterwards rather than buffer it.

    :cvar MAX_LENGTH: the longest string accepted.
    """

    structFormat: ClassVar[str]
    prefixLength: ClassVar[int]
    MAX_LENGTH: int = 99999

    _chunks: list[bytes] | None = None
    _have = 0
    _need = 0
    _busy = False
    _broken = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fmt = cls.__dict__.get("structFormat")
        if fmt is not None:
            cls._struct = struct.Struct(fmt)
            cls.prefixLength = cls._struct.size

    _struct: ClassVar[struct.Struct]

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
        have = self._have + len(data)
        if have < self._need or self._busy or self.paused:
            # Not a whole frame yet (or we are inside a callback / paused): just keep it.
            if self._broken:
                return
            chunks = self._chunks
            if chunks is None:
                self._chunks = [data]
            else:
                chunks.append(data)
            self._have = have
            return
        if self._broken:
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
        finally:
            self._busy = False

    def _parse(self, buf: bytes) -> None:
        unpack = self._struct.unpack_from
        prefixLength = self.prefixLength
        maxLength = self.MAX_LENGTH
        offset = 0
        while True:
            size = len(buf)
            while not self.paused:
                if size - offset < prefixLength:
                    self._need = prefixLength
                    break
                (length,) = unpack(buf, offset)
                if length > maxLength:
                    self._broken = True
                    self._chunks = None
                    self._have = 0
                    self._need = 0
                    self.lengthLimitExceeded(length)
                    return
                end = offset + prefixLength + length
                if end > size:
                    self._need = end - offset
                    break
                string = buf[offset + prefixLength : end]
                offset = end
                self.stringReceived(string)
                if self._broken:
                    return
            # Keep the rest, with whatever arrived re-entrantly while we were delivering.
            rest = buf[offset:] if offset else buf
            pending = self._chunks
            if pending:
                buf = b"".join([rest, *pending])
                self._chunks = None
                self._have = 0
                offset = 0
                if not self.paused and len(buf) >= self._need:
                    continue
                rest = buf
            if rest:
                self._chunks = [rest]
                self._have = len(rest)
            else:
                self._chunks = None
                self._have = 0
            if self.paused:
                self._need = self._have + 1 if self._have >= self._need else self._need
            return

    def resumeProducing(self) -> None:
        """Resume the transport and deliver the strings that were held back."""
        self.paused = False
        self.transport.resumeProducing()
        if self._chunks and not self._busy:
            chunks = self._chunks
            self._chunks = None
            self._have = 0
            self._need = 0
            self._busy = True
            try:
                self._parse(b"".join(chunks))
            finally:
                self._busy = False


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
        self.deferred = deferred = Deferred()
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
