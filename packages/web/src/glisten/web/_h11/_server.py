"""The server side of an HTTP/1.1 connection, sans I/O.

:class:`ServerConnection` takes the bytes a client sent and gives back events (a request head,
body pieces, the end of the body, or a protocol error with the status to answer with), and
turns the application's response into bytes. It reads one request at a time: once a request is
complete, later bytes (pipelined requests) wait in its buffer until the response to it is
finished, so responses always go out in request order.
"""

from __future__ import annotations

from typing import cast

import attrs

from glisten.web._h11._events import (
    END_OF_MESSAGE,
    ConnectionClosed,
    EndOfMessage,
    Event,
    LocalProtocolError,
    ProtocolError,
    RawHeaders,
    Request,
)
from glisten.web._h11._parse import (
    BARE_LINE_BREAK,
    REQUEST_HEAD,
    REQUEST_LINE,
    connectionTokens,
    isChunkedOnly,
    parseContentLength,
    parseFieldBlock,
)
from glisten.web._h11._readers import (
    MAX_EXTENSION_BYTES,
    MIN_AVERAGE_CHUNK,
    BodyReader,
    ChunkedReader,
    ContentLengthReader,
)
from glisten.web._h11._state import (
    _CLIENT,
    _CLOSED,
    _DONE,
    _ERROR,
    _EV_CLOSED,
    _EV_END,
    _EV_ERROR,
    _EV_INFORMATIONAL,
    _EV_REQUEST,
    _EV_RESPONSE,
    _EV_SWITCH,
    _EV_WHOLE_REQUEST,
    _IDLE,
    _MUST_CLOSE,
    _SEND_BODY,
    _SEND_RESPONSE,
    _SERVER,
    _SWITCHED_PROTOCOL,
    ConnectionState,
)
from glisten.web._h11._writers import (
    CONTINUE,
    chunk,
    errorResponse,
    lastChunk,
    responseHead,
)


@attrs.frozen
class Limits:
    """What a server accepts from one request.

    :ivar maxRequestLine: Longest request line; longer is answered with 414.
    :ivar maxHeaderBytes: Largest request head; larger is answered with 431.
    :ivar maxHeaders: Most header fields; more is answered with 431.
    :ivar maxBody: Largest request body; larger is answered with 413.
    :ivar maxLeadingEmptyLines: Empty lines tolerated before a request line (RFC 9112 2.2).
    :ivar maxChunkExtensionBytes: Most chunk-extension bytes in one chunked body; more is
        answered with 400.
    :ivar minAverageChunkSize: Once a chunked body has more than 1024 chunks, the smallest
        average chunk size accepted; smaller is answered with 413 (``0``: no check).
    """

    maxRequestLine: int = 8192
    maxHeaderBytes: int = 65536
    maxHeaders: int = 100
    maxBody: int = 64 * 1024 * 1024
    maxLeadingEmptyLines: int = 8
    maxChunkExtensionBytes: int = MAX_EXTENSION_BYTES
    minAverageChunkSize: int = MIN_AVERAGE_CHUNK


DEFAULT_LIMITS = Limits()

_NO_BODY_STATUS = frozenset({204, 304})


# How the response body is framed; module constants, read on every response (an attribute of
# a class costs a lookup each time).
_FRAME_NONE = 0
_FRAME_LENGTH = 1
_FRAME_CHUNKED = 2
_FRAME_CLOSE = 3


class ServerConnection:
    """One HTTP/1.1 connection, server side.

    :param limits: The request limits.
    :ivar state: The :class:`ConnectionState` of both sides.
    :ivar request: The request being answered, if any.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.state = ConnectionState()
        self.request: Request | None = None
        self._buf: bytes | bytearray = b""
        self._scanned = 0
        self._reader: BodyReader | None = None
        self._framing = _FRAME_NONE
        self._remaining = 0
        self._continueSent = False
        self._responseStarted = False

    # -- receiving ---------------------------------------------------------------------------

    @property
    def trailingData(self) -> bytes:
        """Bytes received but not consumed: after a 101 response, the start of the new
        protocol's stream."""
        return bytes(self._buf)

    def receiveData(self, data: bytes) -> list[Event]:
        """Add bytes from the client and parse as far as the state allows.

        :param data: The new bytes; ``b""`` just parses what is buffered (after the previous
            response finished, to pick up a pipelined request).
        :return: The events, in order. A :class:`ProtocolError` is always the last one.
        """
        pending = self._buf
        if not pending:
            buf: bytes | bytearray = data
        elif pending.__class__ is bytearray:
            # An incomplete head grows in place: a client sending it a byte at a time must not
            # cost quadratic copying.
            pending += data
            buf = pending
        else:
            buf = pending + data
        events: list[Event] = []
        state = self.state
        while True:
            client = state.client
            if client is _IDLE:
                if state.server is not _IDLE or not buf:
                    break
                buf = self._readHead(buf, events)
            elif client is _SEND_BODY:
                if not buf:
                    break
                reader = self._reader
                assert reader is not None
                buf = reader.feed(cast(bytes, buf), events)
                if reader.done:
                    if self._endBody(events):
                        break
                else:
                    break
            elif client is _ERROR or client is _CLOSED or client is _MUST_CLOSE:
                # Nothing more is read from a failed or finished connection.
                buf = b""
                break
            else:
                break
            if events and events[-1].__class__ is ProtocolError:
                buf = b""
                break
            if state.client is _IDLE:
                # No complete head yet.
                if buf and buf.__class__ is not bytearray:
                    buf = bytearray(buf)
                break
        self._buf = buf
        return events

    def receiveEOF(self) -> list[Event]:
        """The client closed its side of the connection.

        :return: :class:`ConnectionClosed` if that happened between requests, otherwise a
            :class:`ProtocolError` (a truncated request cannot be answered).
        """
        events: list[Event] = []
        state = self.state
        if state.client is _SEND_BODY and self._reader is not None:
            self._reader.eof(events)
            self._fail(events)
            return events
        if state.client is _IDLE and self._buf.strip(b"\r\n"):
            self._fail(events, ProtocolError(400, "connection closed inside a request head"))
            return events
        if state.client in (_IDLE, _DONE, _MUST_CLOSE):
            state.process(_CLIENT, _EV_CLOSED)
            self._buf = b""
            events.append(ConnectionClosed())
        return events

    def _fail(self, events: list[Event], error: ProtocolError | None = None) -> None:
        if error is not None:
            events.append(error)
        self.state.fail(_CLIENT)
        self.state.disableKeepAlive()
        self._buf = b""

    def _endBody(self, events: list[Event]) -> bool:
        last = events[-1]
        if last.__class__ is ProtocolError:
            self._fail(events)
            return True
        assert isinstance(last, EndOfMessage)
        self.state.process(_CLIENT, _EV_END)
        self._reader = None
        return True

    def _readHead(self, buf: bytes | bytearray, events: list[Event]) -> bytes | bytearray:
        limits = self.limits
        if buf[:2] == b"\r\n":
            # RFC 9112 2.2: ignore a few empty lines before the request line.
            stripped = buf.lstrip(b"\r\n")
            if len(buf) - len(stripped) > 2 * limits.maxLeadingEmptyLines:
                self._fail(events, ProtocolError(400, "too many empty lines before request"))
                return b""
            buf = stripped
            self._scanned = 0
            if not buf:
                return buf
        scanned = self._scanned
        end = buf.find(b"\r\n\r\n", scanned - 3 if scanned > 3 else 0, limits.maxHeaderBytes + 4)
        if end < 0:
            self._checkPartialHead(buf, events)
            self._scanned = len(buf)
            return buf
        self._scanned = 0
        if isinstance(buf, bytearray):
            buf = bytes(buf)
        m = REQUEST_HEAD.fullmatch(buf, 0, end + 4)
        if m is not None:
            method, target, minor, block = m.groups()
            if m.start(4) - 2 <= limits.maxRequestLine and (
                not block or block.count(b"\r\n") <= limits.maxHeaders
            ):
                headers: RawHeaders = {}
                if block:
                    # REQUEST_HEAD validated every line as ``token ":" value CRLF`` with no
                    # CR or LF inside, so plain splitting is exact here (and quicker than a
                    # second regular expression): the name ends at the first colon, and the
                    # value is what follows without surrounding blanks.
                    for line in block[:-2].split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        name = name.lower()
                        value = value.strip(b" \t")
                        existing = headers.get(name)
                        if existing is None:
                            headers[name] = [value]
                        else:
                            existing.append(value)
                return self._startRequest(
                    method,
                    target,
                    b"1.0" if minor == b"0" else b"1.1",
                    headers,
                    buf[end + 4 :],
                    events,
                )
        # The slow path: the same grammar step by step, to answer with the precise error.
        lineEnd = buf.find(b"\r\n", 0, end + 2)
        if lineEnd > limits.maxRequestLine:
            self._fail(events, ProtocolError(414, "request line too long"))
            return b""
        m = REQUEST_LINE.fullmatch(buf, 0, lineEnd)
        if m is None:
            self._fail(events, ProtocolError(400, "invalid request line"))
            return b""
        method, target, major, minor = m.groups()
        if major != b"1":
            self._fail(events, ProtocolError(505, "HTTP version not supported"))
            return b""
        version = b"1.0" if minor == b"0" else b"1.1"
        if end > lineEnd:
            block = buf[lineEnd + 2 : end]
            if block.count(b"\r\n") >= limits.maxHeaders:
                self._fail(events, ProtocolError(431, "too many header fields"))
                return b""
            parsed = parseFieldBlock(block)
            if parsed is None:
                self._fail(events, ProtocolError(400, "invalid header field"))
                return b""
            headers = parsed
        else:
            headers = {}
        rest = buf[end + 4 :]
        return self._startRequest(method, target, version, headers, rest, events)

    def _checkPartialHead(self, buf: bytes | bytearray, events: list[Event]) -> None:
        limits = self.limits
        scanned = self._scanned
        if len(buf) > limits.maxRequestLine and scanned <= limits.maxRequestLine + 2:
            if buf.find(b"\r\n", 0, limits.maxRequestLine + 2) < 0:
                self._fail(events, ProtocolError(414, "request line too long"))
                return
        if len(buf) > limits.maxHeaderBytes:
            self._fail(events, ProtocolError(431, "request head too large"))
        elif BARE_LINE_BREAK.search(buf, scanned - 1 if scanned else 0) is not None:
            self._fail(events, ProtocolError(400, "bare CR or LF in request head"))

    def _startRequest(
        self,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: RawHeaders,
        rest: bytes,
        events: list[Event],
    ) -> bytes:
        limits = self.limits
        hosts = headers.get(b"host")
        if hosts is None:
            if version == b"1.1":
                self._fail(events, ProtocolError(400, "HTTP/1.1 request without Host"))
                return b""
        elif len(hosts) > 1 or b"," in hosts[0]:
            self._fail(events, ProtocolError(400, "more than one Host"))
            return b""
        te = headers.get(b"transfer-encoding")
        cl = headers.get(b"content-length")
        length: int | None = 0
        reader: BodyReader | None = None
        if te is not None:
            if cl is not None:
                self._fail(events, ProtocolError(400, "both Content-Length and Transfer-Encoding"))
                return b""
            if version == b"1.0":
                self._fail(events, ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request"))
                return b""
            if not isChunkedOnly(te):
                self._fail(events, ProtocolError(501, "unsupported Transfer-Encoding"))
                return b""
            length = None
            reader = ChunkedReader(
                limits.maxBody,
                maxExtensionBytes=limits.maxChunkExtensionBytes,
                minAverageChunk=limits.minAverageChunkSize,
            )
        elif cl is not None:
            length = parseContentLength(cl)
            if length is None:
                self._fail(events, ProtocolError(400, "invalid Content-Length"))
                return b""
            if length > limits.maxBody:
                self._fail(events, ProtocolError(413, "request body too large"))
                return b""
            if length:
                reader = ContentLengthReader(length)
        state = self.state
        conn = connectionTokens(headers) if b"connection" in headers else None
        if version == b"1.1":
            if conn and b"close" in conn:
                state.keepAlive = False
        elif not conn or b"keep-alive" not in conn or b"close" in conn:
            state.keepAlive = False
        expect = headers.get(b"expect")
        expectContinue = (
            expect is not None
            and version == b"1.1"
            and reader is not None
            and expect[0].lower() == b"100-continue"
        )
        request = Request(method, target, version, headers, expectContinue, length)
        self.request = request
        self._continueSent = False
        self._responseStarted = False
        # The client's request obliges the server to answer (server SEND_RESPONSE); a request
        # without a body is complete at once (client DONE), in one step of the table.
        if reader is None:
            state.process(_CLIENT, _EV_WHOLE_REQUEST)
            events.append(request)
            events.append(END_OF_MESSAGE)
            return rest
        state.process(_CLIENT, _EV_REQUEST)
        events.append(request)
        self._reader = reader
        return rest

    # -- public operations for the connection layer -------------------------------------

    @property
    def bufferedByteCount(self) -> int:
        """How many received bytes wait in the codec (pipelined requests, or the start of the
        next head): the connection layer pauses reading when they pile up."""
        return len(self._buf)

    @property
    def readingHead(self) -> bool:
        """Whether part of a request head has arrived and the rest is awaited (the time a
        client may take for it is limited; see ``HTTPChannel.headerTimeout``)."""
        state = self.state
        return state.client is _IDLE and state.server is _IDLE and bool(self._buf)

    @property
    def readingBody(self) -> bool:
        """Whether the client is still sending a request body."""
        return self.state.client is _SEND_BODY

    def nextEvents(self) -> list[Event]:
        """Parse what is buffered: after a response finished, a pipelined request may be
        complete already.

        :return: The events, as :meth:`receiveData` gives them.
        """
        if not self._buf:
            return []
        return self.receiveData(b"")

    def takeTrailingData(self) -> bytes:
        """After a ``101`` response: the bytes received after the request, which belong to
        the new protocol. The codec forgets them.

        :raises LocalProtocolError: The connection did not switch protocols.
        """
        if self.state.server is not _SWITCHED_PROTOCOL:
            raise LocalProtocolError("trailing data is taken only after a 101 response")
        data = bytes(self._buf)
        self._buf = b""
        return data

    # -- sending -----------------------------------------------------------------------------

    @property
    def keepAlive(self) -> bool:
        """Whether the connection can carry another request after the current one."""
        return self.state.keepAlive

    def sendContinue(self) -> bytes:
        """``100 Continue``, if the client asked for it and nothing was sent yet.

        :return: The bytes to write (possibly empty).
        """
        request = self.request
        if (
            request is None
            or not request.expectContinue
            or self._continueSent
            or self._responseStarted
            or self.state.client is not _SEND_BODY
        ):
            return b""
        self._continueSent = True
        self.state.process(_SERVER, _EV_INFORMATIONAL)
        return CONTINUE

    def sendResponse(self, status: int, headers: RawHeaders, reason: bytes | None = None) -> bytes:
        """Serialize the response head and choose the body framing.

        The codec owns framing: it keeps the application's ``Content-Length``, and otherwise
        uses chunked (HTTP/1.1) or close-delimited (HTTP/1.0) bodies; an application's own
        ``Transfer-Encoding`` is dropped. A ``101`` switches protocols.

        :param status: The status code (101 or 200-599).
        :param headers: Header fields, lower-cased names; only read, never changed.
        :param reason: The reason phrase; the standard one if ``None``.
        :return: The bytes to write.
        :raises LocalProtocolError: A response was already sent, or there is no request.
        """
        state = self.state
        request = self.request
        if request is None or state.server is not _SEND_RESPONSE:
            raise LocalProtocolError("no request is waiting for a response")
        if status < 200 and status != 101:
            raise LocalProtocolError("use sendContinue for 100; other 1xx are not supported")
        self._responseStarted = True
        if status == 101:
            state.process(_SERVER, _EV_SWITCH)
            state.keepAlive = False
            self._framing = _FRAME_NONE
            return responseHead(status, reason, headers, None)
        # The framing, and the lines it adds to the application's (Transfer-Encoding,
        # Connection).
        extra: list[bytes] = []
        conn = headers.get(b"connection")
        if conn is not None and any(b"close" in v.lower() for v in conn):
            state.disableKeepAlive()
        version = request.version
        if request.method == b"HEAD" or status in _NO_BODY_STATUS:
            framing = _FRAME_NONE
        else:
            cl = headers.get(b"content-length")
            if cl is None:
                length = None
            elif len(cl) == 1 and cl[0].isdigit() and len(cl[0]) <= 18:
                # parseContentLength's common case, without the call.
                length = int(cl[0])
            else:
                length = parseContentLength(cl)
                if length is None:
                    raise LocalProtocolError("invalid Content-Length in the response")
            if length is not None:
                framing = _FRAME_LENGTH
                self._remaining = length
            elif version == b"1.1":
                framing = _FRAME_CHUNKED
                extra.append(b"Transfer-Encoding: chunked")
            else:
                framing = _FRAME_CLOSE
                state.disableKeepAlive()
        self._framing = framing
        if not state.keepAlive:
            if conn is None:
                extra.append(b"Connection: close")
        elif version == b"1.0" and conn is None:
            extra.append(b"Connection: keep-alive")
        state.process(_SERVER, _EV_RESPONSE)
        return responseHead(status, reason, headers, extra)

    def sendData(self, data: bytes) -> bytes:
        """Frame a piece of the response body.

        :return: The bytes to write (empty for a response without a body, such as HEAD's).
        :raises LocalProtocolError: More than the announced ``Content-Length``.
        """
        if self.state.server is not _SEND_BODY:
            raise LocalProtocolError("no response body is being sent")
        framing = self._framing
        if framing == _FRAME_LENGTH:
            n = len(data)
            if n > self._remaining:
                raise LocalProtocolError("body longer than Content-Length")
            self._remaining -= n
            return data
        if framing == _FRAME_CHUNKED:
            return chunk(data)
        if framing == _FRAME_CLOSE:
            return data
        return b""

    @property
    def bodyIsUnframed(self) -> bool:
        """Whether the response body now being sent goes out as it is (``Content-Length``
        framing), so the caller may write it to the connection itself (``sendfile``) and
        report it with :meth:`sentDataDirectly`."""
        return self._framing == _FRAME_LENGTH and self.state.server is _SEND_BODY

    def sentDataDirectly(self, n: int) -> None:
        """Count ``n`` bytes of an unframed body that the caller wrote to the connection
        itself (see :attr:`bodyIsUnframed`).

        :raises LocalProtocolError: The body is framed, or ``n`` is more than remains.
        """
        if not self.bodyIsUnframed:
            raise LocalProtocolError("only a Content-Length body can be sent directly")
        if n > self._remaining:
            raise LocalProtocolError("body longer than Content-Length")
        self._remaining -= n

    def sendEnd(self, trailers: RawHeaders | None = None) -> bytes:
        """Finish the response body; starts the next cycle when the connection stays open.

        A body shorter than its ``Content-Length`` cannot be repaired: keep-alive is turned
        off and the caller must close the connection.

        :return: The bytes to write.
        """
        state = self.state
        if state.server is not _SEND_BODY:
            raise LocalProtocolError("no response body is being sent")
        framing = self._framing
        out = b""
        if framing == _FRAME_CHUNKED:
            out = lastChunk(trailers)
        elif framing == _FRAME_LENGTH and self._remaining or framing == _FRAME_CLOSE:
            state.keepAlive = False
        if state.client is not _DONE and state.client is not _MUST_CLOSE:
            # The client is still sending a body nobody will read: close rather than read
            # and discard an unknown amount.
            state.keepAlive = False
        # With the client DONE on a reusable connection, this step also starts the next cycle.
        state.process(_SERVER, _EV_END)
        if state.server is _IDLE:
            self.request = None
        return out

    def sendError(self, status: int) -> bytes:
        """A complete, minimal error response that also closes the connection.

        For a :class:`ProtocolError` or a timeout, when nothing was sent for the request yet:
        the body is only the status line's text, never anything the client sent.

        :return: The bytes to write; empty if a response was already started, which cannot
            be replaced (the caller just closes the connection).
        """
        state = self.state
        state.disableKeepAlive()
        if state.server is not _IDLE and state.server is not _SEND_RESPONSE:
            return b""
        state.process(_SERVER, _EV_ERROR)
        return errorResponse(status)

    @property
    def responseStarted(self) -> bool:
        """Whether the head of a response to the current request has been produced."""
        return self._responseStarted
