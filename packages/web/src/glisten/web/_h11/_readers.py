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
#: Default budget of chunk-extension bytes for a whole body.
MAX_EXTENSION_BYTES = 16384
#: Default number of chunks accepted before the minimum average chunk size applies.
FREE_CHUNKS = 1024
#: Default minimum average chunk size (bytes) once a body has more than ``FREE_CHUNKS`` chunks.
MIN_AVERAGE_CHUNK = 16


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

    One :meth:`feed` walks the buffer with an offset and copies each body byte once: the
    chunk data found in one feed is delivered as a single :class:`Data` event, however many
    chunks carried it. Re-slicing the buffer after every chunk made a read of many tiny
    chunks cost quadratic time, which let one client stall the whole server.

    :param maxBody: Largest total of chunk data; past it the body is refused with 413.
    :param maxTrailerBytes: Largest trailer section; past it the message is refused with 431.
    :param maxTrailers: Most trailer fields; past it the message is refused with 431.
    :param maxExtensionBytes: Most bytes of chunk extensions (everything after the size on
        a chunk-size line) in the whole body; past it the body is refused with 400.
        Extensions carry nothing glisten uses, so they get a small budget.
    :param freeChunks: Chunks accepted before :attr:`minAverageChunk` applies.
    :param minAverageChunk: Past ``freeChunks`` chunks, the average chunk must carry at
        least this many bytes; a body made of tiny chunks costs the server far more than the
        client and is refused with 413. ``0`` turns the check off.
    """

    __slots__ = (
        "done",
        "_state",
        "_remaining",
        "_total",
        "_chunks",
        "_extBytes",
        "_scanned",
        "_maxBody",
        "_maxTB",
        "_maxT",
        "_maxExt",
        "_freeChunks",
        "_minAverage",
    )

    def __init__(
        self,
        maxBody: int,
        maxTrailerBytes: int = 8192,
        maxTrailers: int = 32,
        maxExtensionBytes: int = MAX_EXTENSION_BYTES,
        freeChunks: int = FREE_CHUNKS,
        minAverageChunk: int = MIN_AVERAGE_CHUNK,
    ) -> None:
        self.done = False
        self._state = _Chunk.SIZE
        self._remaining = 0
        self._total = 0
        self._chunks = 0
        self._extBytes = 0
        self._scanned = 0
        self._maxBody = maxBody
        self._maxTB = maxTrailerBytes
        self._maxT = maxTrailers
        self._maxExt = maxExtensionBytes
        self._freeChunks = freeChunks
        self._minAverage = minAverageChunk

    def _fail(self, events: list[Event], status: int, message: str) -> bytes:
        self.done = True
        events.append(ProtocolError(status, message))
        return b""

    def feed(self, buf: bytes, events: list[Event]) -> bytes:
        # ``pos`` walks the buffer; chunk data is remembered as spans (start, end, start,
        # end, ...) and copied once at the end, as one piece. Counters live in locals while
        # the loop runs: this is the hot path of a body made of tiny chunks.
        n = len(buf)
        pos = 0
        spans: list[int] = []
        span = spans.append
        state = self._state
        find = buf.find
        match = _CHUNK_SIZE_MATCH
        total = self._total
        chunks = self._chunks
        free = self._freeChunks
        average = self._minAverage
        maxBody = self._maxBody
        error: tuple[int, str] | None = None
        while pos < n:
            if state is _SIZE:
                end = find(b"\r\n", pos, pos + MAX_CHUNK_LINE + 2)
                if end < 0:
                    if n - pos > MAX_CHUNK_LINE:
                        error = (400, "chunk size line too long")
                    elif find(b"\n", pos) >= 0 or find(b"\r", pos, n - 1) >= 0:
                        error = (400, "bare CR or LF in chunk size line")
                    break
                m = match(buf, pos, end)
                if m is None:
                    error = (400, "invalid chunk size line")
                    break
                sizeEnd = m.end(1)
                if sizeEnd != end:
                    self._extBytes += end - sizeEnd
                    if self._extBytes > self._maxExt:
                        error = (400, "chunk extensions too long")
                        break
                size = int(m.group(1), 16)
                pos = end + 2
                if size == 0:
                    state = _TRAILERS
                    break
                total += size
                chunks += 1
                if total > maxBody:
                    error = (413, "chunked body too large")
                    break
                if chunks > free and average and total < chunks * average:
                    error = (413, "chunks too small")
                    break
                if n - pos > size:
                    # The whole chunk is here: take it and check its CRLF in one step.
                    dataEnd = pos + size
                    if buf[dataEnd : dataEnd + 2] != b"\r\n":
                        if n - dataEnd == 1 and buf[dataEnd] == 13:
                            span(pos)
                            span(dataEnd)
                            pos = dataEnd
                            state = _DATA_END
                            break
                        span(pos)
                        span(dataEnd)
                        error = (400, _NO_CRLF)
                        break
                    span(pos)
                    span(dataEnd)
                    pos = dataEnd + 2
                    continue
                self._remaining = size
                state = _DATA
            elif state is _DATA:
                remaining = self._remaining
                if n - pos <= remaining:
                    span(pos)
                    span(n)
                    self._remaining = remaining - (n - pos)
                    pos = n
                    if not self._remaining:
                        state = _DATA_END
                    break
                span(pos)
                span(pos + remaining)
                pos += remaining
                self._remaining = 0
                state = _DATA_END
            elif state is _DATA_END:
                if n - pos < 2:
                    if buf[pos] != 13:  # CR
                        error = (400, _NO_CRLF)
                    break
                if buf[pos] != 13 or buf[pos + 1] != 10:
                    error = (400, _NO_CRLF)
                    break
                pos += 2
                state = _SIZE
            else:
                break
        self._state = state
        self._total = total
        self._chunks = chunks
        if spans:
            self._emit(events, spans, buf)
        if error is not None:
            return self._fail(events, *error)
        if state is _TRAILERS:
            return self._trailers(buf, pos, events)
        if pos >= n:
            return b""
        return buf[pos:]

    @staticmethod
    def _emit(events: list[Event], spans: list[int], buf: bytes) -> None:
        if len(spans) == 2:
            start, end = spans
            events.append(Data(buf if start == 0 and end == len(buf) else buf[start:end]))
            return
        # Pieces are appended one by one, so no list of temporary views builds up (a long
        # list of them makes the garbage collector's passes grow with the feed).
        view = memoryview(buf)
        out = bytearray()
        for i in range(0, len(spans), 2):
            out += view[spans[i] : spans[i + 1]]
        events.append(Data(bytes(out)))

    def _trailers(self, buf: bytes, pos: int, events: list[Event]) -> bytes:
        if buf[pos : pos + 2] == b"\r\n":
            self.done = True
            events.append(END_OF_MESSAGE)
            return buf[pos + 2 :]
        # Resume the search where the last feed stopped: a trailer section sent a byte at a
        # time must not be rescanned from its start on every byte.
        scanned = self._scanned
        start = pos + scanned - 3 if scanned > 3 else pos
        end = buf.find(b"\r\n\r\n", start, pos + self._maxTB + 4)
        if end < 0:
            if len(buf) - pos > self._maxTB:
                return self._fail(events, 431, "trailer section too large")
            self._scanned = len(buf) - pos
            return buf[pos:] if pos else buf
        block = buf[pos:end]
        if block.count(b"\r\n") >= self._maxT:
            return self._fail(events, 431, "too many trailer fields")
        fields = parseFieldBlock(block)
        if fields is None:
            return self._fail(events, 400, "invalid trailer field")
        self.done = True
        events.append(EndOfMessage(fields))
        return buf[end + 4 :]


_SIZE = _Chunk.SIZE
_DATA = _Chunk.DATA
_DATA_END = _Chunk.DATA_END
_TRAILERS = _Chunk.TRAILERS
_NO_CRLF = "chunk data not followed by CRLF"
_CHUNK_SIZE_MATCH = CHUNK_SIZE.fullmatch


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
