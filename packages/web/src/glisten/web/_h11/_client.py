"""The client side of an HTTP/1.1 connection, sans I/O (the Agent and the reverse proxy).

It sends one request at a time (head, then its body framed by ``Content-Length`` or chunked
coding) and reads the response's head and body (Content-Length, chunked, or delimited by the
close of the connection), skipping interim 1xx responses. A connection whose exchange ended
cleanly on both sides and that neither side asked to close goes back to ``IDLE`` and can carry
the next request (keep-alive).

Anything a server sends outside of a response to an outstanding request (a second response
after the first, bytes on an idle connection) is a :class:`ProtocolError`: accepting it is how
a response gets smuggled into the answer to the next request.
"""

from __future__ import annotations

import sys

from glisten.web._h11._events import (
    END_OF_MESSAGE,
    ConnectionClosed,
    Event,
    LocalProtocolError,
    ProtocolError,
    RawHeaders,
    Response,
)
from glisten.web._h11._parse import (
    STATUS_LINE,
    connectionTokens,
    isChunkedOnly,
    parseContentLength,
    parseFieldBlock,
)
from glisten.web._h11._readers import (
    BodyReader,
    ChunkedReader,
    CloseDelimitedReader,
    ContentLengthReader,
)
from glisten.web._h11._server import Limits
from glisten.web._h11._state import (
    _CLIENT,
    _DONE,
    _ERROR,
    _EV_CLOSED,
    _EV_END,
    _EV_REQUEST,
    _EV_WHOLE_REQUEST,
    _IDLE,
    _MUST_CLOSE,
    _SEND_BODY,
    _SEND_RESPONSE,
    _SERVER,
    _SWITCHED_PROTOCOL,
    ConnectionState,
    EventType,
)
from glisten.web._h11._writers import LAST_CHUNK, chunk, requestHead

#: The client's limits: the server's head limits, but no cap on a response body, which is
#: streamed to the application rather than held (an application that buffers it, like
#: ``readBody``, chooses to).
CLIENT_LIMITS = Limits(maxBody=sys.maxsize)

#: Methods whose request carries ``Content-Length: 0`` when it has no body (RFC 9110 8.6:
#: a server may otherwise wait for a body it cannot delimit, or answer 411).
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})
#: Framing fields: the codec writes them from the framing it was asked for, never the caller.
_FRAMING = (b"content-length", b"transfer-encoding")

_CHUNKED = -1
_NO_TOKENS: frozenset[bytes] = frozenset()


class ClientConnection:
    """One HTTP/1.1 connection, client side, carrying one exchange after another.

    The exchange moves along the same transition table as the server codec
    (:mod:`glisten.web._h11._state`): the local side is the client role, the remote server
    the server role.

    :param limits: Limits on the response head and body.
    :ivar state: The :class:`ConnectionState` of both sides.
    :ivar response: The head of the response being read, once it arrived.
    :ivar trailingData: After a ``101 Switching Protocols`` response (or a ``2xx`` answer to
        ``CONNECT``), the bytes that followed its head: they belong to the new protocol.
    """

    def __init__(self, limits: Limits = CLIENT_LIMITS) -> None:
        self.limits = limits
        self.state = ConnectionState()
        self.response: Response | None = None
        self.trailingData = b""
        #: The request asked ``Expect: 100-continue`` and no answer came yet: its sender may
        #: wait (a while) before sending the body.
        self.expectingContinue = False
        self._method = b""
        self._buf: bytes | bytearray = b""
        self._scanned = 0
        self._reader: BodyReader | None = None
        self._remaining = 0

    @property
    def _reading(self) -> bool:
        server = self.state.server
        return server is _SEND_RESPONSE or server is _SEND_BODY

    @property
    def reusable(self) -> bool:
        """Whether the connection is idle and may carry another request."""
        state = self.state
        return state.keepAlive and state.client is _IDLE and state.server is _IDLE

    @property
    def sendingBody(self) -> bool:
        """Whether the request body is still being sent."""
        return self.state.client is _SEND_BODY

    # -- sending -----------------------------------------------------------------------------

    def sendRequest(
        self, method: bytes, target: bytes, headers: RawHeaders, length: int | None = 0
    ) -> bytes:
        """Serialize a request head with the framing of its body.

        :param headers: The header fields, names lower-cased; ``Content-Length`` and
            ``Transfer-Encoding`` are ignored (the codec frames the body). ``Connection:
            close`` makes this the connection's last exchange.
        :param length: The body's length, ``0`` for none, or ``None`` for a body of unknown
            length, sent chunked. A body is then given to :meth:`sendData` and ended with
            :meth:`sendEndOfMessage`.
        :raises LocalProtocolError: The connection cannot carry a request now, or a header
            value holds CR or LF.
        """
        state = self.state
        if state.client is not _IDLE or state.server is not _IDLE:
            raise LocalProtocolError("the connection is not idle")
        fields = {k: v for k, v in headers.items() if k not in _FRAMING}
        if length is None:
            fields[b"transfer-encoding"] = [b"chunked"]
        elif length or method in _BODY_METHODS:
            fields[b"content-length"] = [b"%d" % length]
        data = requestHead(method, target, fields)
        if b"close" in connectionTokens(headers):
            state.disableKeepAlive()
        self._method = method
        self.response = None
        self.trailingData = b""
        self.expectingContinue = length != 0 and any(
            v.strip().lower() == b"100-continue" for v in headers.get(b"expect", ())
        )
        if length == 0:
            state.process(_CLIENT, _EV_WHOLE_REQUEST)
        else:
            self._remaining = _CHUNKED if length is None else length
            state.process(_CLIENT, _EV_REQUEST)
        return data

    def sendData(self, data: bytes) -> bytes:
        """Frame a piece of the request body.

        :raises LocalProtocolError: No body is being sent, or it outgrows its length.
        """
        self.state.process(_CLIENT, EventType.DATA)
        remaining = self._remaining
        if remaining == _CHUNKED:
            return chunk(data)
        if len(data) > remaining:
            raise LocalProtocolError("request body longer than its Content-Length")
        self._remaining = remaining - len(data)
        return data

    def sendEndOfMessage(self) -> bytes:
        """End the request body.

        :raises LocalProtocolError: No body is being sent, or it is shorter than announced.
        """
        if self.state.client is not _SEND_BODY:
            raise LocalProtocolError("no request body is being sent")
        remaining = self._remaining
        if remaining > 0:
            raise LocalProtocolError("request body shorter than its Content-Length")
        self.state.process(_CLIENT, _EV_END)
        return LAST_CHUNK if remaining == _CHUNKED else b""

    def abandonRequest(self) -> None:
        """The request body will not be finished (its producer failed): the connection
        cannot be reused, whatever the server answers."""
        self.state.disableKeepAlive()
        self.state.fail(_CLIENT)

    # -- receiving ---------------------------------------------------------------------------

    def _failed(self) -> None:
        self.state.fail(_SERVER)
        self._buf = b""
        self._reader = None

    def _ended(self) -> None:
        state = self.state
        if state.client is not _DONE and state.client is not _MUST_CLOSE:
            # The server answered before it read the whole request body: what it does with
            # the rest is unknown, so the connection is not reused.
            state.disableKeepAlive()
        self._reader = None
        state.process(_SERVER, _EV_END)

    def receiveData(self, data: bytes) -> list[Event]:
        """Parse response bytes.

        :return: Events; a :class:`ProtocolError` is the last one if the server broke HTTP
            (or sent bytes when no response was due, which can follow a complete response).
        """
        events: list[Event] = []
        server = self.state.server
        if server is _ERROR or server is _SWITCHED_PROTOCOL:
            if server is _SWITCHED_PROTOCOL:
                self.trailingData += data
            return events
        if not self._reading:
            if data:
                events.append(ProtocolError(502, "data outside of a response"))
                self._failed()
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
                reader = self._reader
                buf = reader.feed(bytes(buf) if isinstance(buf, bytearray) else buf, events)
                if not reader.done:
                    break
                if not isinstance(events[-1], ProtocolError):
                    self._ended()
            if events and isinstance(events[-1], ProtocolError):
                self._failed()
                return events
        if self.state.server is _SWITCHED_PROTOCOL:
            self.trailingData = bytes(buf)
            buf = b""
        elif buf and not self._reading:
            events.append(ProtocolError(502, "data after the end of a response"))
            self._failed()
            return events
        self._buf = buf
        return events

    def receiveEOF(self) -> list[Event]:
        """The server closed the connection.

        :return: The end of a close-delimited body, a :class:`ProtocolError` if a response
            was cut short, or :class:`ConnectionClosed` if none was due.
        """
        events: list[Event] = []
        state = self.state
        if not self._reading:
            if state.server is not _ERROR:
                events.append(ConnectionClosed())
                if state.server is _IDLE or state.server is _DONE or state.server is _MUST_CLOSE:
                    state.process(_SERVER, _EV_CLOSED)
            return events
        if self._reader is not None:
            self._reader.eof(events)
            if isinstance(events[-1], ProtocolError):
                events[-1] = ProtocolError(502, "connection closed inside a response body")
                self._failed()
            else:
                self._ended()
        else:
            events.append(ProtocolError(502, "connection closed before a complete response"))
            self._failed()
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
        version = b"1.0" if m.group(2) == b"0" else b"1.1"
        if status == 101 or (self._method == b"CONNECT" and 200 <= status < 300):
            # A switch to another protocol, or a tunnel: the rest is not HTTP.
            response = Response(status, m.group(4) or b"", version, headers)
            self.response = response
            events.append(response)
            self.state.process(_SERVER, EventType.SWITCH)
            return rest
        if 100 <= status < 200:
            # Interim responses (100 Continue, 103 Early Hints) carry nothing to deliver.
            if status == 100:
                self.expectingContinue = False
            self.state.process(_SERVER, EventType.INFORMATIONAL)
            return rest
        self.expectingContinue = False
        # The framing is checked before the head is handed out: a response that cannot be
        # delimited is never seen as a response at all.
        te = headers.get(b"transfer-encoding")
        cl = headers.get(b"content-length")
        reader: BodyReader | None
        if self._method == b"HEAD" or status in (204, 304):
            reader = None
        elif te is not None:
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
            if length > limits.maxBody:
                events.append(ProtocolError(502, "response body too large"))
                return b""
            reader = ContentLengthReader(length) if length else None
        else:
            reader = CloseDelimitedReader()
        response = Response(status, m.group(4) or b"", version, headers)
        self.response = response
        events.append(response)
        tokens = connectionTokens(headers) if b"connection" in headers else _NO_TOKENS
        if (
            b"close" in tokens
            or (version == b"1.0" and b"keep-alive" not in tokens)
            or reader.__class__ is CloseDelimitedReader
        ):
            # The server closes after this response (or delimits it by closing).
            self.state.disableKeepAlive()
        self.state.process(_SERVER, EventType.RESPONSE)
        if reader is None:
            events.append(END_OF_MESSAGE)
            self._ended()
            return rest
        self._reader = reader
        return rest


__all__ = ["CLIENT_LIMITS", "ClientConnection"]
