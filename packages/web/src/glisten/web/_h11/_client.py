"""The client side of an HTTP/1.1 connection, sans I/O, for the reverse proxy.

It sends one request at a time and reads the response's head and body (Content-Length,
chunked, or delimited by the close of the connection), skipping interim 1xx responses.
"""

from __future__ import annotations

from glisten.web._h11._events import (
    EndOfMessage,
    Event,
    LocalProtocolError,
    ProtocolError,
    RawHeaders,
    Response,
)
from glisten.web._h11._parse import STATUS_LINE, isChunkedOnly, parseContentLength, parseFieldBlock
from glisten.web._h11._readers import (
    BodyReader,
    ChunkedReader,
    CloseDelimitedReader,
    ContentLengthReader,
)
from glisten.web._h11._server import DEFAULT_LIMITS, Limits
from glisten.web._h11._state import (
    _CLIENT,
    _IDLE,
    _SEND_BODY,
    _SEND_RESPONSE,
    _SERVER,
    ConnectionState,
    EventType,
)
from glisten.web._h11._writers import requestHead


class ClientConnection:
    """One HTTP/1.1 request/response exchange, client side.

    The exchange moves along the same transition table as the server codec
    (:mod:`glisten.web._h11._state`): the local side is the client role, the remote server
    the server role. The connection carries one exchange, so keep-alive is off from the start.

    :param limits: Limits on the response head and body.
    :ivar state: The :class:`ConnectionState` of both sides.
    :ivar response: The response head, once it arrived.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.state = ConnectionState()
        self.state.disableKeepAlive()
        self.response: Response | None = None
        self._method = b""
        self._buf: bytes | bytearray = b""
        self._scanned = 0
        self._reader: BodyReader | None = None

    @property
    def _reading(self) -> bool:
        server = self.state.server
        return server is _SEND_RESPONSE or server is _SEND_BODY

    def sendRequest(self, method: bytes, target: bytes, headers: RawHeaders) -> bytes:
        """Serialize a request head. The caller frames the body itself (``Content-Length``)
        or sends none.

        :raises LocalProtocolError: A request was already sent.
        """
        if self.state.client is not _IDLE:
            raise LocalProtocolError("one request per ClientConnection")
        data = requestHead(method, target, headers)
        self._method = method
        state = self.state
        # The body, if any, is the caller's: the request is complete as far as the codec goes.
        state.process(_CLIENT, EventType.WHOLE_REQUEST)
        return data

    def _failed(self, events: list[Event]) -> None:
        self.state.fail(_SERVER)
        self._buf = b""

    def _ended(self) -> None:
        self.state.process(_SERVER, EventType.END)

    def receiveData(self, data: bytes) -> list[Event]:
        """Parse response bytes.

        :return: Events; a :class:`ProtocolError` is the last one if the server broke HTTP.
        """
        events: list[Event] = []
        if not self._reading:
            return events
        pending = self._buf
        buf: bytes | bytearray
        if not pending:
            buf = data
        elif pending.__class__ is bytearray:
            # An incomplete head grows in place (see _readHead).
            pending += data
            buf = pending
        else:
            buf = pending + data
        while buf and self._reading:
            if self._reader is None:
                rest = self._readHead(buf, events)
                if rest is buf:
                    # An incomplete head: keep it in a bytearray that grows in place, so a
                    # head sent a byte at a time costs linear, not quadratic, copying.
                    if not isinstance(buf, bytearray):
                        buf = bytearray(buf)
                    break
                buf = rest
            else:
                buf = self._reader.feed(bytes(buf) if isinstance(buf, bytearray) else buf, events)
                if not self._reader.done:
                    break
                if not isinstance(events[-1], ProtocolError):
                    self._ended()
            if events and isinstance(events[-1], ProtocolError):
                self._failed(events)
                return events
        self._buf = buf
        return events

    def receiveEOF(self) -> list[Event]:
        """The server closed the connection."""
        events: list[Event] = []
        if not self._reading:
            return events
        if self._reader is not None:
            self._reader.eof(events)
            if isinstance(events[-1], ProtocolError):
                self._failed(events)
            else:
                self._ended()
        else:
            events.append(ProtocolError(502, "connection closed before a response"))
            self._failed(events)
        return events

    def _readHead(self, buf: bytes | bytearray, events: list[Event]) -> bytes | bytearray:
        limits = self.limits
        scanned = self._scanned
        end = buf.find(b"\r\n\r\n", scanned - 3 if scanned > 3 else 0, limits.maxHeaderBytes + 4)
        if end < 0:
            if len(buf) > limits.maxHeaderBytes:
                events.append(ProtocolError(502, "response head too large"))
                return b""
            # The next search resumes here rather than at the start.
            self._scanned = len(buf)
            return buf
        self._scanned = 0
        if isinstance(buf, bytearray):
            buf = bytes(buf)
        lineEnd = buf.find(b"\r\n", 0, end + 2)
        m = STATUS_LINE.fullmatch(buf, 0, lineEnd)
        if m is None or m.group(1) != b"1":
            events.append(ProtocolError(502, "invalid status line"))
            return b""
        status = int(m.group(3))
        block = buf[lineEnd + 2 : end] if end > lineEnd else b""
        if block.count(b"\r\n") >= limits.maxHeaders:
            events.append(ProtocolError(502, "too many response header fields"))
            return b""
        headers = parseFieldBlock(block)
        if headers is None:
            events.append(ProtocolError(502, "invalid response header field"))
            return b""
        rest = buf[end + 4 :]
        if 100 <= status < 200:
            # Interim responses (100 Continue, 103 Early Hints) carry nothing we forward.
            self.state.process(_SERVER, EventType.INFORMATIONAL)
            return rest
        version = b"1.0" if m.group(2) == b"0" else b"1.1"
        response = Response(status, m.group(4) or b"", version, headers)
        self.response = response
        events.append(response)
        self.state.process(_SERVER, EventType.RESPONSE)
        te = headers.get(b"transfer-encoding")
        cl = headers.get(b"content-length")
        reader: BodyReader
        if self._method == b"HEAD" or status in (204, 304):
            events.append(EndOfMessage())
            self._ended()
            return rest
        if te is not None:
            if cl is not None or not isChunkedOnly(te):
                events.append(ProtocolError(502, "unsupported response framing"))
                return b""
            reader = ChunkedReader(
                limits.maxBody,
                limits.maxHeaderBytes,
                limits.maxHeaders,
                limits.maxChunkExtensionBytes,
                minAverageChunk=limits.minAverageChunkSize,
            )
        elif cl is not None:
            length = parseContentLength(cl)
            if length is None:
                events.append(ProtocolError(502, "invalid Content-Length in response"))
                return b""
            if length == 0:
                events.append(EndOfMessage())
                self._ended()
                return rest
            reader = ContentLengthReader(length)
        else:
            reader = CloseDelimitedReader()
        self._reader = reader
        return rest
