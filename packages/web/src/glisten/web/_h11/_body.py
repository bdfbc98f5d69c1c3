"""Body readers: strip Content-Length, chunked or close-delimited framing off a message body.

A reader is fed the connection's buffer, appends :class:`Data` (and finally
:class:`EndOfMessage` or :class:`ProtocolError`) events to a list, and returns what it did not
consume: the start of the next message, which the connection keeps.
"""

from __future__ import annotations

import enum

from glisten.web._h11._events import END_OF_MESSAGE, Data, EndOfMessage, Event, ProtocolError
from glisten.web._h11._parse import CHUNK_SIZE, parseFieldBlock

#: The longest chunk-size line (size and extensions) accepted.
MAX_CHUNK_LINE = 4096


class BodyReader:
    """Common interface of the readers.

    :ivar done: The end of the body was found (or the reader failed); feed no more.
    """

    done: bool = False

    def feed(self, buf: bytes, events: list[Event]) -> bytes:
        """Consume body bytes from ``buf``.

        :return: The bytes after the body (or the incomplete tail the reader waits on).
        """
        raise NotImplementedError()

    def eof(self, events: list[Event]) -> None:
        """The peer closed the connection; the body is complete only for close-delimited
        framing."""
        self.done = True
        events.append(ProtocolError(400, "connection closed inside a message body"))


class ContentLengthReader(BodyReader):
    """A body of exactly ``length`` bytes."""

    __slots__ = ("remaining", "done")

    def __init__(self, length: int) -> None:
        self.remaining = length
        self.done = False

    def feed(self, buf: bytes, events: list[Event]) -> bytes:
        remaining = self.remaining
        n = len(buf)
        if n < remaining:
            if n:
                events.append(Data(buf))
                self.remaining = remaining - n
            return b""
        if remaining:
            events.append(Data(buf[:remaining] if n > remaining else buf))
        self.remaining = 0
        self.done = True
        events.append(END_OF_MESSAGE)
        return buf[remaining:] if n > remaining else b""


class _Chunk(enum.Enum):
    SIZE = 0
    DATA = 1
    DATA_END = 2
    TRAILERS = 3


class ChunkedReader(BodyReader):
    """A chunked body (RFC 9112 section 7.1), with trailers and limits.

    :param maxBody: Largest total of chunk data; past it the body is refused with 413.
    :param maxTrailerBytes: Largest trailer section; past it the message is refused with 431.
    :param maxTrailers: Most trailer fields; past it the message is refused with 431.
    """

    __slots__ = ("done", "_state", "_remaining", "_total", "_maxBody", "_maxTB", "_maxT")

    def __init__(self, maxBody: int, maxTrailerBytes: int = 8192, maxTrailers: int = 32) -> None:
        self.done = False
        self._state = _Chunk.SIZE
        self._remaining = 0
        self._total = 0
        self._maxBody = maxBody
        self._maxTB = maxTrailerBytes
        self._maxT = maxTrailers

    def _fail(self, events: list[Event], status: int, message: str) -> bytes:
        self.done = True
        events.append(ProtocolError(status, message))
        return b""

    def feed(self, buf: bytes, events: list[Event]) -> bytes:
        while buf:
            state = self._state
            if state is _Chunk.DATA:
                remaining = self._remaining
                if len(buf) <= remaining:
                    events.append(Data(buf))
                    self._remaining = remaining - len(buf)
                    if not self._remaining:
                        self._state = _Chunk.DATA_END
                    return b""
                events.append(Data(buf[:remaining]))
                buf = buf[remaining:]
                self._remaining = 0
                self._state = _Chunk.DATA_END
            elif state is _Chunk.DATA_END:
                if len(buf) < 2:
                    if buf != b"\r":
                        return self._fail(events, 400, "chunk data not followed by CRLF")
                    return buf
                if buf[:2] != b"\r\n":
                    return self._fail(events, 400, "chunk data not followed by CRLF")
                buf = buf[2:]
                self._state = _Chunk.SIZE
            elif state is _Chunk.SIZE:
                end = buf.find(b"\r\n", 0, MAX_CHUNK_LINE + 2)
                if end < 0:
                    if len(buf) > MAX_CHUNK_LINE:
                        return self._fail(events, 400, "chunk size line too long")
                    if b"\n" in buf or b"\r" in buf[:-1]:
                        return self._fail(events, 400, "bare CR or LF in chunk size line")
                    return buf
                m = CHUNK_SIZE.fullmatch(buf, 0, end)
                if m is None:
                    return self._fail(events, 400, "invalid chunk size line")
                size = int(m.group(1), 16)
                buf = buf[end + 2 :]
                if size == 0:
                    self._state = _Chunk.TRAILERS
                    continue
                self._total += size
                if self._total > self._maxBody:
                    return self._fail(events, 413, "chunked body too large")
                self._remaining = size
                self._state = _Chunk.DATA
            else:
                return self._trailers(buf, events)
        return buf

    def _trailers(self, buf: bytes, events: list[Event]) -> bytes:
        if buf[:2] == b"\r\n":
            self.done = True
            events.append(END_OF_MESSAGE)
            return buf[2:]
        end = buf.find(b"\r\n\r\n", 0, self._maxTB + 4)
        if end < 0:
            if len(buf) > self._maxTB:
                return self._fail(events, 431, "trailer section too large")
            if buf == b"\r":
                return buf
            return buf
        block = buf[:end]
        if block.count(b"\r\n") >= self._maxT:
            return self._fail(events, 431, "too many trailer fields")
        fields = parseFieldBlock(block)
        if fields is None:
            return self._fail(events, 400, "invalid trailer field")
        self.done = True
        events.append(EndOfMessage(fields))
        return buf[end + 4 :]


class CloseDelimitedReader(BodyReader):
    """A response body that ends when the server closes the connection (client side)."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False

    def feed(self, buf: bytes, events: list[Event]) -> bytes:
        if buf:
            events.append(Data(buf))
        return b""

    def eof(self, events: list[Event]) -> None:
        self.done = True
        events.append(END_OF_MESSAGE)
