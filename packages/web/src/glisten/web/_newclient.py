"""The HTTP/1.1 client connection: :class:`HTTP11ClientProtocol`, :class:`Request`,
:class:`Response` and the client's exceptions, as in ``twisted.web._newclient``.

The protocol is a thin adapter around the sans-I/O :class:`glisten.web._h11.ClientConnection`:
it writes what the codec frames, feeds it what arrives and turns its events into a
:class:`Response` whose body goes to the protocol given to :meth:`Response.deliverBody`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from zope.interface import implementer

from glisten.internet.defer import CancelledError, Deferred, TimeoutError, fail
from glisten.internet.interfaces import IConsumer, IProtocol, IPushProducer
from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web.http_headers import Headers
from glisten.web.iweb import UNKNOWN_LENGTH, IBodyProducer, IClientRequest, IResponse

_log = Logger()


class ResponseDone(Exception):
    """The whole response body was delivered (the reason ``connectionLost`` gets)."""


#: The reason a body protocol's ``connectionLost`` gets when the body is complete.
RESPONSE_DONE = Failure(ResponseDone("Response body fully received"))
RESPONSE_DONE.cleanFailure()


class PotentialDataLoss(Exception):
    """The body ended with the connection, without a length or chunked framing that proves
    it complete: it may have been cut short."""


class _WrapperException(Exception):
    """An error made of the failures that caused it.

    :ivar reasons: The underlying :class:`Failure` instances.
    """

    def __init__(self, reasons: list[Failure]) -> None:
        super().__init__(reasons)
        self.reasons = reasons

    def __repr__(self) -> str:
        inner = ", ".join(repr(r.value) for r in self.reasons)
        return f"<{type(self).__name__} [{inner}]>"


class RequestGenerationFailed(_WrapperException):
    """The request body's producer failed; the request was not completed."""


class RequestTransmissionFailed(_WrapperException):
    """The request could not be written (the connection was lost while sending)."""


class ResponseFailed(_WrapperException):
    """The response could not be read completely (a protocol error, a lost connection,
    a timeout).

    :ivar response: The response, if its head had arrived.
    """

    def __init__(self, reasons: list[Failure], response: Response | None = None) -> None:
        super().__init__(reasons)
        self.response = response


class ResponseNeverReceived(ResponseFailed):
    """No response head arrived: the connection failed, timed out or was cancelled first."""


class RequestNotSent(Exception):
    """The request was not sent: the connection was already closing or busy."""


class ConnectionAborted(Exception):
    """The application stopped the body (``stopProducing``) and the connection was dropped."""


class WrongBodyLength(Exception):
    """A body producer wrote more or fewer bytes than its ``length`` said."""


class ExcessWrite(Exception):
    """A body producer wrote after it said it was done."""


class StreamResetError(Exception):
    """The server reset the request's HTTP/2 stream (RST_STREAM).

    :ivar errorCode: Its error code (``REFUSED_STREAM``, 7: the request was not processed
        and may be sent again).
    """

    def __init__(self, errorCode: int) -> None:
        super().__init__(f"the server reset the stream (error {errorCode})")
        self.errorCode = errorCode


class BadHeaders(Exception):
    """Request headers hold something the wire cannot carry (CR or LF in a value)."""


@implementer(IClientRequest)
@attrs.define(eq=False)
class Request:
    """A request to send on a connection.

    :ivar method: The method, e.g. ``b"GET"``.
    :ivar uri: The request target (origin-form, or absolute-form through a proxy).
    :ivar headers: The header fields; the connection adds framing fields.
    :ivar bodyProducer: Writes the body, or ``None`` for no body.
    :ivar persistent: Whether to keep the connection open after the response.
    :ivar absoluteURI: The full URI the request is for, for redirects and cookies.
    """

    method: bytes
    uri: bytes
    headers: Headers
    bodyProducer: IBodyProducer | None = None
    persistent: bool = False
    absoluteURI: bytes | None = None

    def _rawHeaders(self) -> _h11.RawHeaders:
        # Headers keeps its fields by lower-cased name already; the codec only reads them.
        raw: _h11.RawHeaders = dict(self.headers._raw)
        if not self.persistent:
            raw[b"connection"] = [b"close"]
        return raw


#: Response fields kept out of ``Response.headers``.
_CONNECTION_CONTROL = frozenset(
    {
        b"content-length",
        b"connection",
        b"keep-alive",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
    }
)

#: Seconds a request with ``Expect: 100-continue`` waits for ``100 Continue`` before it sends
#: its body anyway (RFC 9110 10.1.1: the server may not support expectations).
CONTINUE_TIMEOUT = 1.0

#: Body bytes held for a response whose body nobody asked for yet, before reading pauses.
_MAX_UNDELIVERED = 1 << 20

_READY = 0
_READING = 1
_DONE = 2


@implementer(IPushProducer)
class _BodyTransport:
    """What a body protocol gets as its transport: pausing it pauses reading from the
    connection; stopping it drops the connection."""

    def __init__(self, connection: HTTP11ClientProtocol) -> None:
        self._connection = connection

    def pauseProducing(self) -> None:
        self._connection._pauseReading()

    def resumeProducing(self) -> None:
        self._connection._resumeReading()

    def stopProducing(self) -> None:
        self._connection._stopBody()

    def loseConnection(self) -> None:
        self.stopProducing()


@implementer(IResponse)
class Response:
    """A response: status, headers, and a body to deliver to a protocol.

    :ivar version: ``(b"HTTP", major, minor)``.
    :ivar code: The status code.
    :ivar phrase: The reason phrase.
    :ivar headers: The response headers.
    :ivar length: The body length, or :data:`UNKNOWN_LENGTH`.
    :ivar request: The request this answers.
    :ivar previousResponse: The response that redirected here, if any.
    """

    def __init__(
        self,
        version: tuple[bytes, int, int],
        code: int,
        phrase: bytes,
        headers: Headers,
        transport: Any,
        request: IClientRequest | None = None,
    ) -> None:
        self.version = version
        self.code = code
        self.phrase = phrase
        self.headers = headers
        self.request = request
        self.previousResponse: IResponse | None = None
        self.length: int | object = UNKNOWN_LENGTH
        self._transport = transport
        self._state = _READY
        self._buffer: list[bytes] = []
        self._reason: Failure | None = None
        self._protocol: IProtocol | None = None
        self._buffered = 0
        self._heldBack = False

    @classmethod
    def _fromHead(
        cls, head: _h11.Response, transport: Any, request: IClientRequest | None = None
    ) -> Response:
        """A response for a head the codec parsed. As in Twisted, the fields that control
        the connection and the framing stay out of ``headers`` (``length`` tells the size)."""
        fields = head.headers
        if not _CONNECTION_CONTROL.isdisjoint(fields):
            fields = {k: v for k, v in fields.items() if k not in _CONNECTION_CONTROL}
        version = (b"HTTP", 1, 0) if head.version == b"1.0" else (b"HTTP", 1, 1)
        return cls(
            version, head.status, head.reason, Headers._fromParsed(fields), transport, request
        )

    @classmethod
    def _construct(
        cls,
        version: tuple[bytes, int, int],
        code: int,
        phrase: bytes,
        headers: Headers,
        transport: Any,
        request: IClientRequest | None = None,
    ) -> Response:
        """Twisted's constructor for responses made outside a connection (tests, wrappers)."""
        return cls(version, code, phrase, headers, transport, request)

    def setPreviousResponse(self, response: IResponse) -> None:
        """Remember the response that led here (a redirect)."""
        self.previousResponse = response

    def deliverBody(self, protocol: IProtocol) -> None:
        """Send the body to ``protocol``: ``makeConnection`` (with a pausable transport),
        ``dataReceived`` per piece, then ``connectionLost`` with :class:`ResponseDone`,
        :class:`PotentialDataLoss` or :class:`ResponseFailed`.

        :raises RuntimeError: The body already went to another protocol.
        """
        if self._protocol is not None or self._state == _DONE and self._reason is None:
            raise RuntimeError("the response body was already delivered")
        self._protocol = protocol
        protocol.makeConnection(self._transport)
        buffered, self._buffer = self._buffer, []
        for data in buffered:
            protocol.dataReceived(data)
        if self._heldBack:
            self._heldBack = False
            self._transport.resumeProducing()
        if self._state == _READY:
            self._state = _READING
        elif self._reason is not None:
            reason, self._reason = self._reason, None
            self._state = _DONE
            protocol.connectionLost(reason)

    def _bodyDataReceived(self, data: bytes) -> None:
        if self._protocol is None:
            # Held until deliverBody; past a limit, reading stops so an unread body cannot
            # fill memory (a small one is read, so its connection comes free).
            self._buffer.append(data)
            self._buffered += len(data)
            if self._buffered > _MAX_UNDELIVERED and not self._heldBack:
                self._heldBack = True
                self._transport.pauseProducing()
        else:
            self._protocol.dataReceived(data)

    def _bodyDataFinished(self, reason: Failure) -> None:
        if self._protocol is None:
            self._state = _DONE
            self._reason = reason
            return
        if self._state != _DONE:
            self._state = _DONE
            self._protocol.connectionLost(reason)


def fileLength(fileObj: Any) -> int | object:
    """The bytes left to read in ``fileObj`` (found by seeking), or :data:`UNKNOWN_LENGTH`
    for a file that cannot seek (a pipe): its body is then sent chunked."""
    try:
        here = fileObj.tell()
        fileObj.seek(0, 2)
        end = fileObj.tell()
        fileObj.seek(here, 0)
    except (AttributeError, OSError, ValueError):
        return UNKNOWN_LENGTH
    return int(end - here)


@implementer(IPushProducer)
class _PausingProxy:
    """Lets the transport pause and resume a body producer; a producer without one of the
    methods (Twisted's examples leave ``resumeProducing`` out) is not asked."""

    def __init__(self, producer: IBodyProducer) -> None:
        self._producer = producer

    def pauseProducing(self) -> None:
        method = getattr(self._producer, "pauseProducing", None)
        if method is not None:
            method()

    def resumeProducing(self) -> None:
        method = getattr(self._producer, "resumeProducing", None)
        if method is not None:
            method()

    def stopProducing(self) -> None:
        method = getattr(self._producer, "stopProducing", None)
        if method is not None:
            method()


@implementer(IConsumer)
class _BodyWriter:
    """The consumer a body producer writes to: frames each piece through the codec."""

    def __init__(self, connection: HTTP11ClientProtocol) -> None:
        self._connection = connection
        self.finished = False

    def write(self, data: bytes) -> None:
        self._connection._writeBody(self, data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._connection.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._connection.transport.unregisterProducer()


class HTTP11ClientProtocol(Protocol, TimeoutMixin):
    """One HTTP/1.1 client connection; one request at a time.

    :param quiescentCallback: Called with this protocol when an exchange ended and the
        connection can carry another request (the pool caches it).
    :param timeout: Seconds without a byte from the server, while a response is due, before
        the request fails with :class:`TimeoutError` and the connection is dropped
        (``None``: wait forever).
    :param limits: Limits on response heads and bodies.
    :param clock: What schedules the timeout (the global reactor by default).
    :param lostCallback: Called with this protocol when its connection is gone.
    """

    def __init__(
        self,
        quiescentCallback: Callable[[HTTP11ClientProtocol], object] = lambda p: None,
        timeout: float | None = None,
        limits: _h11.Limits = _h11.CLIENT_LIMITS,
        clock: Any = None,
        lostCallback: Callable[[HTTP11ClientProtocol], object] = lambda p: None,
    ) -> None:
        self._quiescentCallback = quiescentCallback
        self._lostCallback = lostCallback
        self._codec = _h11.ClientConnection(limits)
        self._timeout = timeout
        self.clock = clock
        self._finished: Deferred[Response] | None = None
        self._response: Response | None = None
        self._request: Request | None = None
        self._writer: _BodyWriter | None = None
        self._producerDone: Deferred[None] | None = None
        self._lost = False
        self._paused = False
        self._responseDone = False
        #: True once this connection carried a complete exchange (for retries).
        self.reused = False
        #: True once any byte of the current response arrived.
        self._gotBytes = False
        self._closed: list[Deferred[None]] = []

    @property
    def state(self) -> str:
        """``"QUIESCENT"`` (idle, reusable), ``"WAITING"`` (a request is under way) or
        ``"CONNECTION_LOST"`` (closed, or closing once the current response is read)."""
        if self._lost:
            return "CONNECTION_LOST"
        if self._finished is not None or self._response is not None:
            return "WAITING"
        return "QUIESCENT" if self._codec.reusable else "CONNECTION_LOST"

    # -- sending -----------------------------------------------------------------------------

    def request(self, request: Request) -> Deferred[Response]:
        """Send ``request``.

        :return: Fires with the :class:`Response` once its head arrived; fails with
            :class:`ResponseNeverReceived` (cancelling it drops the connection),
            :class:`RequestGenerationFailed` or :class:`RequestNotSent`.
        """
        if self._lost or not self._codec.reusable or self._finished is not None:
            return fail(RequestNotSent())
        self._request = request
        self._response = None
        self._responseDone = False
        self._gotBytes = False
        producer = request.bodyProducer
        if producer is None:
            length: int | None = 0
        else:
            length = None if producer.length is UNKNOWN_LENGTH else int(producer.length)  # type: ignore[call-overload]
        try:
            head = self._codec.sendRequest(
                request.method, request.uri, request._rawHeaders(), length
            )
        except _h11.LocalProtocolError as e:
            return fail(RequestGenerationFailed([Failure(BadHeaders(str(e)))]))
        finished: Deferred[Response] = Deferred(self._cancel)
        self._finished = finished
        self.setTimeout(self._timeout)
        self.transport.write(head)
        if producer is not None and length != 0:
            if self._codec.expectingContinue:
                # Expect: 100-continue: the body waits for the server's go-ahead (or its
                # refusal, which means the body is never sent), at most CONTINUE_TIMEOUT.
                self._pendingBody = producer
                self._continueTimer = self.callLater(CONTINUE_TIMEOUT, self._sendPendingBody)
            else:
                self._startBody(producer)
        elif producer is not None:
            self._writeEmptyBody(producer)
        return finished

    _pendingBody: IBodyProducer | None = None
    _continueTimer: Any = None

    def _sendPendingBody(self) -> None:
        producer, self._pendingBody = self._pendingBody, None
        timer, self._continueTimer = self._continueTimer, None
        if timer is not None and timer.active():
            timer.cancel()
        if producer is None or self._lost:
            return
        if self._codec.response is not None:
            # The final answer came first: the body is not wanted, and the connection, whose
            # request is unfinished, closes once the response is read.
            return
        self._startBody(producer)

    def _writeEmptyBody(self, producer: IBodyProducer) -> None:
        # A zero-length producer still gets to run (it may check it was called).
        writer = _BodyWriter(self)
        self._writer = writer
        d = producer.startProducing(writer)
        writer.finished = True
        d.addErrback(lambda f: None)

    def _startBody(self, producer: IBodyProducer) -> None:
        writer = _BodyWriter(self)
        self._writer = writer
        # The transport pauses the producer while its buffer is full: a large upload streams
        # at the network's pace with flat memory.
        self.transport.registerProducer(_PausingProxy(producer), True)
        self._producerRegistered = True
        try:
            d = producer.startProducing(writer)
        except Exception:
            self._bodyFailed(writer, Failure())
            return
        self._producerDone = d
        d.addCallbacks(lambda _: self._bodyFinished(writer), lambda f: self._bodyFailed(writer, f))

    def _writeBody(self, writer: _BodyWriter, data: bytes) -> None:
        if writer is not self._writer or writer.finished:
            raise ExcessWrite()
        if self._lost or not self._codec.sendingBody:
            return
        try:
            framed = self._codec.sendData(data)
        except _h11.LocalProtocolError:
            raise WrongBodyLength("the body producer wrote more than its length") from None
        if framed:
            self.transport.write(framed)

    def _unregisterProducer(self) -> None:
        if self._producerRegistered:
            self._producerRegistered = False
            self.transport.unregisterProducer()

    _producerRegistered = False

    def _bodyFinished(self, writer: _BodyWriter) -> None:
        writer.finished = True
        self._producerDone = None
        self._unregisterProducer()
        if self._lost or not self._codec.sendingBody:
            return
        try:
            self.transport.write(self._codec.sendEndOfMessage())
        except _h11.LocalProtocolError:
            self._bodyFailed(writer, Failure(WrongBodyLength("the body producer wrote too little")))
            return
        self._maybeQuiescent()

    def _bodyFailed(self, writer: _BodyWriter, reason: Failure) -> None:
        writer.finished = True
        self._producerDone = None
        self._unregisterProducer()
        if self._lost:
            return
        self._codec.abandonRequest()
        finished, self._finished = self._finished, None
        self.transport.abortConnection()
        if finished is not None:
            finished.errback(RequestGenerationFailed([reason]))

    def _cancel(self, d: Deferred[Response]) -> None:
        # Cancelling before the response arrived drops the connection.
        reason = Failure(CancelledError())
        if self._finished is d:
            self._finished = None
        self._abortWith(reason)
        if not d.called:
            d.errback(ResponseNeverReceived([reason]))

    def _abortWith(self, reason: Failure) -> None:
        self._abortReason = reason
        self.transport.abortConnection()

    _abortReason: Failure | None = None

    # -- receiving ---------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        self._gotBytes = True
        if self._finished is not None or self._response is not None:
            self.resetTimeout()
        if self._pendingBody is not None:
            events = self._codec.receiveData(data)
            if not self._codec.expectingContinue:
                self._sendPendingBody()
            self._handle(events)
            return
        self._handle(self._codec.receiveData(data))

    def _handle(self, events: list[_h11.Event]) -> None:
        try:
            for event in events:
                cls = event.__class__
                if cls is _h11.Data:
                    if self._response is not None:
                        self._response._bodyDataReceived(event.data)  # type: ignore[union-attr]
                elif cls is _h11.Response:
                    self._gotResponse(event)  # type: ignore[arg-type]
                elif cls is _h11.EndOfMessage:
                    self._endOfBody(RESPONSE_DONE)
                elif cls is _h11.ProtocolError:
                    self._protocolError(event.message)  # type: ignore[union-attr]
                    return
        finally:
            # The response goes to the application once this read is processed: a body
            # that ended in the same read has put the connection back in the pool, so what
            # the application does next (follow a redirect) can reuse it.
            ready = self._ready
            if ready is not None:
                self._ready = None
                ready[0].callback(ready[1])

    _ready: tuple[Deferred[Response], Response] | None = None

    def _gotResponse(self, head: _h11.Response) -> None:
        response = Response._fromHead(head, _BodyTransport(self), self._request)
        if self._request is not None and self._request.method != b"HEAD":
            cl = head.headers.get(b"content-length")
            if (
                cl is not None
                and b"transfer-encoding" not in head.headers
                and head.status not in (204, 304)
            ):
                response.length = int(cl[0].split(b",")[0])
            elif head.status in (204, 304):
                response.length = 0
        else:
            response.length = 0
        self._response = response
        finished, self._finished = self._finished, None
        if finished is not None:
            self._ready = (finished, response)

    def _endOfBody(self, reason: Failure) -> None:
        response, self._response = self._response, None
        self._responseDone = True
        if self._paused and not self._lost:
            self._paused = False
            self.transport.resumeProducing()
        # The connection goes back to the pool first, so that whatever the end of the body
        # triggers (the next request, often) can use it.
        self._maybeQuiescent()
        if response is not None:
            response._bodyDataFinished(reason)

    def _maybeQuiescent(self) -> None:
        if self._codec.reusable and self._responseDone and not self._lost:
            self.setTimeout(None)
            self.reused = True
            self._request = None
            self._writer = None
            self._quiescentCallback(self)
        elif self._responseDone and not self._lost:
            # The exchange is over but the connection cannot carry another one (if the
            # server answered before the request body was sent, the rest is not wanted).
            self.setTimeout(None)
            self._stopProducer()
            self.transport.loseConnection()

    def _protocolError(self, message: str) -> None:
        if self._responseDone and self._finished is None:
            # Bytes after a complete response: the response stands; the connection goes.
            self.transport.abortConnection()
            return
        self._abortWith(Failure(_ParseError(message)))

    def timeoutConnection(self) -> None:
        self._abortWith(Failure(TimeoutError("no data from the server in time")))

    def _pauseReading(self) -> None:
        if not self._paused and not self._lost:
            self._paused = True
            # The application holds the body back: the server's silence is not a timeout.
            self.setTimeout(None)
            self.transport.pauseProducing()

    def _resumeReading(self) -> None:
        if self._paused and not self._lost:
            self._paused = False
            if self._response is not None:
                self.setTimeout(self._timeout)
            self.transport.resumeProducing()

    def _stopBody(self) -> None:
        if self._response is not None and not self._lost:
            self._abortWith(Failure(ConnectionAborted()))

    def _stopProducer(self) -> None:
        self._unregisterProducer()
        if self._producerDone is not None and self._request is not None:
            producer = self._request.bodyProducer
            self._producerDone = None
            if producer is not None:
                try:
                    producer.stopProducing()
                except Exception:
                    _log.failure("stopping a request body producer")

    def abort(self) -> Deferred[None]:
        """Drop the connection now.

        :return: Fires once it is closed.
        """
        done: Deferred[None] = Deferred()
        if self._lost:
            done.callback(None)
        else:
            self._closed.append(done)
            self.transport.abortConnection()
        return done

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        writer = self._writer
        transmitting = writer is not None and not writer.finished and self._codec.sendingBody
        self._lost = True
        self._sendPendingBody()
        self.setTimeout(None)
        cause = self._abortReason or reason
        events = [] if self._abortReason is not None else self._codec.receiveEOF()
        self._stopProducer()
        response = self._response
        if response is not None:
            reasons = [cause]
            for event in events:
                if event.__class__ is _h11.EndOfMessage:
                    # A body delimited by the close: it may be complete, or cut short.
                    self._endOfBody(Failure(PotentialDataLoss()))
                    break
                if event.__class__ is _h11.ProtocolError:
                    reasons.append(Failure(_ParseError(event.message)))
            else:
                self._response = None
                response._bodyDataFinished(Failure(ResponseFailed(reasons, response)))
        finished, self._finished = self._finished, None
        if finished is not None:
            if transmitting and self._abortReason is None:
                # Lost while the body was still going out (as Twisted reports it).
                finished.errback(RequestTransmissionFailed([cause]))
            else:
                finished.errback(ResponseNeverReceived([cause]))
        closed, self._closed = self._closed, []
        for d in closed:
            d.callback(None)
        self._lostCallback(self)


class _ParseError(Exception):
    """The server broke HTTP/1.1 (the codec's message; never the server's bytes)."""
