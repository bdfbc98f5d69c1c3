"""The HTTP/2 client connection: :class:`H2ClientProtocol`, and the protocol that picks
HTTP/2 or HTTP/1.1 once TLS has negotiated (ALPN).

An :class:`~glisten.web.client.HTTPConnectionPool` connects an ``https`` origin with
:func:`negotiatingProtocol`: when the server selects ``h2`` the connection becomes an
:class:`H2ClientProtocol`, which carries many requests at once (one stream each), otherwise an
:class:`~glisten.web._newclient.HTTP11ClientProtocol`. Either way the agent's requests give the
same :class:`~glisten.web._newclient.Response` objects: ``deliverBody`` with a transport whose
``pauseProducing`` holds back the server (here by not acknowledging the stream's bytes, so its
flow control window closes), and ``readBody``.

The wire format, flow control and the limits on a misbehaving server are the sans-I/O codec's
(:class:`glisten.web._h2.ClientConnection`); this module moves bytes and turns events into
responses. Importing it needs ``h2`` (``pip install 'glisten-web[http2]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from glisten.internet.defer import CancelledError, Deferred, TimeoutError, fail
from glisten.internet.error import ConnectionDone, ConnectionLost
from glisten.internet.interfaces import (
    IConsumer,
    IHandshakeListener,
    IPushProducer,
    ISSLTransport,
)
from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure
from glisten.web import _h2
from glisten.web._codes import RESPONSES
from glisten.web._newclient import (
    _CONNECTION_CONTROL,
    RESPONSE_DONE,
    BadHeaders,
    ConnectionAborted,
    ExcessWrite,
    HTTP11ClientProtocol,
    Request,
    RequestGenerationFailed,
    RequestNotSent,
    Response,
    ResponseFailed,
    ResponseNeverReceived,
    StreamResetError,
    WrongBodyLength,
    _PausingProxy,
)
from glisten.web.http_headers import Headers
from glisten.web.iweb import UNKNOWN_LENGTH

_log = Logger()

_VERSION = (b"HTTP", 2, 0)

#: Request fields that belong to one HTTP/1.1 hop and may not be sent over HTTP/2
#: (RFC 9113 8.2.2); ``host`` becomes ``:authority``.
_HOP_FIELDS = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host"}
)


class _Stream:
    """One request of an :class:`H2ClientProtocol` and what became of it."""

    __slots__ = (
        "finished",
        "producer",
        "producerPaused",
        "readPaused",
        "request",
        "response",
        "streamId",
        "unacknowledged",
        "writer",
    )

    def __init__(self, streamId: int, request: Request, finished: Deferred[Response]) -> None:
        self.streamId = streamId
        self.request = request
        self.finished: Deferred[Response] | None = finished
        self.response: Response | None = None
        self.producer: _PausingProxy | None = None
        self.producerPaused = False
        self.writer: _StreamWriter | None = None
        self.readPaused = False
        self.unacknowledged = 0


@implementer(IPushProducer)
class _StreamBodyTransport:
    """A response body protocol's transport: pausing it stops acknowledging the stream's
    bytes (the server stops at the window's end); stopping it resets the stream."""

    def __init__(self, connection: H2ClientProtocol, stream: _Stream) -> None:
        self._connection = connection
        self._stream = stream

    def pauseProducing(self) -> None:
        self._stream.readPaused = True

    def resumeProducing(self) -> None:
        self._connection._resumeReading(self._stream)

    def stopProducing(self) -> None:
        self._connection._stopBody(self._stream)

    def loseConnection(self) -> None:
        self.stopProducing()


@implementer(IConsumer)
class _StreamWriter:
    """What a request body producer writes to: queued on its stream, and counted against the
    length the producer announced."""

    def __init__(self, connection: H2ClientProtocol, stream: _Stream, length: int | None) -> None:
        self._connection = connection
        self._stream = stream
        self.remaining = length
        self.finished = False

    def write(self, data: bytes) -> None:
        if self.finished:
            raise ExcessWrite()
        if self.remaining is not None:
            self.remaining -= len(data)
            if self.remaining < 0:
                raise WrongBodyLength("the body producer wrote more than its length")
        self._connection._writeBody(self._stream, data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Producers are paced by the stream's window; nothing to register here."""

    def unregisterProducer(self) -> None:
        """See :meth:`registerProducer`."""


@implementer(IPushProducer)
class H2ClientProtocol(Protocol, TimeoutMixin):
    """One HTTP/2 client connection: concurrent requests, one stream each.

    It fits the pool where an :class:`~glisten.web._newclient.HTTP11ClientProtocol` does
    (``request``, ``abort``, ``state``, the two callbacks); :attr:`multiplexed` tells the pool
    it may hand the connection out again while requests are under way.

    :param quiescentCallback: Called with this protocol when a request finished and the
        connection can take another.
    :param timeout: Seconds without a byte from the server, while responses are due, before
        they fail with :class:`TimeoutError` and the connection is dropped (``None``: wait).
    :param limits: The codec's limits.
    :param clock: What schedules the timeout and measures flood rates.
    :param lostCallback: Called with this protocol when its connection is gone.
    """

    multiplexed = True
    #: Read by the pool's retry logic, which for HTTP/1.1 asks whether any byte of the
    #: response came; here a failed stream says so itself (ResponseNeverReceived).
    _gotBytes = False

    def __init__(
        self,
        quiescentCallback: Callable[[H2ClientProtocol], object] = lambda p: None,
        timeout: float | None = None,
        limits: _h2.Limits = _h2.CLIENT_LIMITS,
        clock: Any = None,
        lostCallback: Callable[[H2ClientProtocol], object] = lambda p: None,
    ) -> None:
        self._quiescentCallback = quiescentCallback
        self._lostCallback = lostCallback
        self._codec = _h2.ClientConnection(limits)
        self._timeout = timeout
        self.clock = clock
        self._streams: dict[int, _Stream] = {}
        self._lost = False
        self._transportPaused = False
        self._handling = False
        self._ready: list[tuple[Deferred[Response], Response]] = []
        self._closed: list[Deferred[None]] = []
        self._abortReason: Failure | None = None
        #: True once a request finished on this connection (for the pool's retries).
        self.reused = False

    @property
    def state(self) -> str:
        """``"QUIESCENT"`` (it can take another request), ``"WAITING"`` (as many requests
        are under way as the server allows) or ``"CONNECTION_LOST"`` (closed, or going away:
        no new request)."""
        if self._lost or self._codec.goingAway:
            return "CONNECTION_LOST"
        return "QUIESCENT" if self._codec.canOpenStream else "WAITING"

    @property
    def openStreams(self) -> int:
        """Requests under way."""
        return len(self._streams)

    # -- connection events -------------------------------------------------------------------

    def connectionMade(self) -> None:
        self._codec.initiate()
        self.transport.registerProducer(self, True)
        self._flush()

    def dataReceived(self, data: bytes) -> None:
        if self._lost:
            return
        if self._streams:
            self.resetTimeout()
        now = self.clock.seconds() if self.clock is not None else 0.0
        events = self._codec.receiveData(data, now)
        self._handling = True
        try:
            for event in events:
                self._handle(event)
        finally:
            self._handling = False
            # Responses go to the application once the read is processed, so a body that
            # ended in it is complete by then.
            ready, self._ready = self._ready, []
            for finished, response in ready:
                finished.callback(response)
        self._flush()
        self._pace()
        self._maybeClose()

    def _handle(self, event: _h2.ClientEvent) -> None:
        cls = event.__class__
        if cls is _h2.DataReceived:
            stream = self._streams.get(event.streamId)  # type: ignore[union-attr]
            if stream is not None and stream.response is not None:
                size = len(event.data)  # type: ignore[union-attr]
                stream.response._bodyDataReceived(event.data)  # type: ignore[union-attr]
                if stream.readPaused:
                    stream.unacknowledged += size
                else:
                    self._codec.acknowledgeData(stream.streamId, size)
        elif cls is _h2.ResponseReceived:
            self._gotResponse(event)  # type: ignore[arg-type]
        elif cls is _h2.StreamEnded:
            stream = self._streams.pop(event.streamId, None)  # type: ignore[union-attr]
            if stream is not None:
                self._finishStream(stream, RESPONSE_DONE)
        elif cls is _h2.StreamReset:
            stream = self._streams.pop(event.streamId, None)  # type: ignore[union-attr]
            if stream is not None:
                self._finishStream(stream, Failure(StreamResetError(event.errorCode)))  # type: ignore[union-attr]
        elif cls is _h2.ServerGoAway:
            self._goAway(event.lastStreamId, event.errorCode)  # type: ignore[union-attr]
        elif cls is _h2.ConnectionFailed:
            self._abortReason = Failure(ConnectionLost(event.message))  # type: ignore[union-attr]
            self._flush()
            self.transport.loseConnection()

    def _gotResponse(self, event: _h2.ResponseReceived) -> None:
        stream = self._streams.get(event.streamId)
        if stream is None or stream.finished is None:
            return
        fields = event.headers
        if not _CONNECTION_CONTROL.isdisjoint(fields):
            fields = {k: v for k, v in fields.items() if k not in _CONNECTION_CONTROL}
        status = event.status
        response = Response(
            _VERSION,
            status,
            RESPONSES.get(status, b""),
            Headers._fromParsed(fields),
            _StreamBodyTransport(self, stream),
            stream.request,
        )
        if stream.request.method == b"HEAD" or status in (204, 304) or event.endStream:
            response.length = 0
        elif event.contentLength is not None:
            response.length = event.contentLength
        else:
            response.length = UNKNOWN_LENGTH
        stream.response = response
        finished, stream.finished = stream.finished, None
        self._ready.append((finished, response))

    def _finishStream(self, stream: _Stream, reason: Failure) -> None:
        """``stream`` ended (``reason``: :data:`RESPONSE_DONE`, or why not)."""
        self._stopProducer(stream)
        finished, stream.finished = stream.finished, None
        response, stream.response = stream.response, None
        if reason is RESPONSE_DONE:
            self.reused = True
        if not self._streams:
            self.setTimeout(None)
        if not self._lost and not self._codec.goingAway and self._codec.canOpenStream:
            # The pool may hand the connection out again before the application hears.
            self._quiescentCallback(self)
        if finished is not None:
            finished.errback(ResponseNeverReceived([reason]))
        elif response is not None:
            if reason is not RESPONSE_DONE:
                reason = Failure(ResponseFailed([reason], response))
            response._bodyDataFinished(reason)

    def _goAway(self, lastStreamId: int, errorCode: int) -> None:
        """The server goes away: streams it did not process fail (ResponseNeverReceived:
        they may be retried on a new connection); the rest finish, then it closes."""
        why = "the server sent GOAWAY" + (f" with error {errorCode}" if errorCode else "")
        reason = Failure(ConnectionDone(why) if not errorCode else ConnectionLost(why))
        for streamId in sorted(self._streams):
            if streamId > lastStreamId:
                stream = self._streams.pop(streamId)
                self._codec.resetStream(streamId)
                self._finishStream(stream, reason)

    def _maybeClose(self) -> None:
        if not self._lost and self._codec.goingAway and not self._streams:
            self._flush()
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._lost = True
        self.setTimeout(None)
        cause = self._abortReason or reason
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            self._finishStream(stream, cause)
        closed, self._closed = self._closed, []
        for d in closed:
            d.callback(None)
        self._lostCallback(self)

    # -- requests ----------------------------------------------------------------------------

    def request(self, request: Request) -> Deferred[Response]:
        """Send ``request`` on a new stream.

        :return: Fires with the :class:`Response` once its head arrived; fails with
            :class:`ResponseNeverReceived` (cancelling it resets the stream, not the
            connection), :class:`RequestGenerationFailed` or :class:`RequestNotSent`.
        """
        codec = self._codec
        if self._lost or not codec.canOpenStream:
            return fail(RequestNotSent())
        producer = request.bodyProducer
        length: int | None = 0
        if producer is not None:
            length = None if producer.length is UNKNOWN_LENGTH else int(producer.length)  # type: ignore[call-overload]
        headers: list[tuple[bytes, bytes]] = []
        authority = b""
        for name, values in request.headers._raw.items():
            if name == b"host":
                authority = values[0]
            elif name == b"te":
                # Only "trailers" may be sent over HTTP/2 (RFC 9113 8.2.2).
                if any(v.strip().lower() == b"trailers" for v in values):
                    headers.append((b"te", b"trailers"))
            elif name not in _HOP_FIELDS:
                headers.extend((name, value) for value in values)
        if length and not request.headers.hasHeader(b"content-length"):
            headers.append((b"content-length", b"%d" % length))
        scheme = b"https" if ISSLTransport.providedBy(self.transport) else b"http"
        try:
            streamId = codec.sendRequest(
                request.method, scheme, authority, request.uri, headers, not length
            )
        except _h2.NoStreamAvailable:
            return fail(RequestNotSent())
        except ValueError as e:
            return fail(RequestGenerationFailed([Failure(BadHeaders(str(e)))]))
        finished: Deferred[Response] = Deferred(lambda d: self._cancel(streamId, d))
        stream = _Stream(streamId, request, finished)
        self._streams[streamId] = stream
        if self._timeout is not None:
            self.setTimeout(self._timeout)
        if producer is not None:
            self._startBody(stream, producer, length)
        self._flush()
        return finished

    def _startBody(self, stream: _Stream, producer: Any, length: int | None) -> None:
        writer = _StreamWriter(self, stream, length)
        stream.writer = writer
        if length == 0:
            # A zero-length producer still gets to run (it may check it was called).
            producer.startProducing(writer).addErrback(lambda f: None)
            writer.finished = True
            return
        stream.producer = _PausingProxy(producer)
        try:
            d = producer.startProducing(writer)
        except Exception:
            self._bodyFailed(stream, Failure())
            return
        d.addCallbacks(lambda _: self._bodyDone(stream), lambda f: self._bodyFailed(stream, f))

    def _writeBody(self, stream: _Stream, data: bytes) -> None:
        if self._lost or self._streams.get(stream.streamId) is not stream:
            return
        codec = self._codec
        codec.sendData(stream.streamId, data)
        self._flush()
        if (
            stream.producer is not None
            and not stream.producerPaused
            and (
                self._transportPaused
                or codec.bufferedFor(stream.streamId) >= codec.limits.streamBufferSize
            )
        ):
            stream.producerPaused = True
            stream.producer.pauseProducing()

    def _bodyDone(self, stream: _Stream) -> None:
        writer = stream.writer
        if writer is not None:
            writer.finished = True
        stream.producer = None
        if self._lost or self._streams.get(stream.streamId) is not stream:
            return
        if writer is not None and writer.remaining:
            self._bodyFailed(stream, Failure(WrongBodyLength("the body producer wrote too little")))
            return
        self._codec.sendEnd(stream.streamId)
        self._flush()

    def _bodyFailed(self, stream: _Stream, reason: Failure) -> None:
        if stream.writer is not None:
            stream.writer.finished = True
        stream.producer = None
        if self._streams.pop(stream.streamId, None) is None:
            return
        self._codec.resetStream(stream.streamId)
        self._flush()
        finished, stream.finished = stream.finished, None
        if finished is not None:
            finished.errback(RequestGenerationFailed([reason]))
        elif stream.response is not None:
            response, stream.response = stream.response, None
            response._bodyDataFinished(Failure(ResponseFailed([reason], response)))

    def _stopProducer(self, stream: _Stream) -> None:
        producer, stream.producer = stream.producer, None
        if stream.writer is not None:
            stream.writer.finished = True
        if producer is not None:
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("stopping a request body producer")

    def _cancel(self, streamId: int, d: Deferred[Response]) -> None:
        stream = self._streams.pop(streamId, None)
        if stream is None:
            return
        stream.finished = None
        self._codec.resetStream(streamId)
        self._flush()
        self._stopProducer(stream)
        if not d.called:
            d.errback(ResponseNeverReceived([Failure(CancelledError())]))
        self._maybeClose()

    # -- response bodies ---------------------------------------------------------------------

    def _resumeReading(self, stream: _Stream) -> None:
        stream.readPaused = False
        pending, stream.unacknowledged = stream.unacknowledged, 0
        if pending and not self._lost:
            self._codec.acknowledgeData(stream.streamId, pending)
            self._flush()

    def _stopBody(self, stream: _Stream) -> None:
        if self._streams.pop(stream.streamId, None) is None or self._lost:
            return
        self._codec.resetStream(stream.streamId)
        self._flush()
        self._finishStream(stream, Failure(ConnectionAborted()))
        self._maybeClose()

    # -- writing and pacing ------------------------------------------------------------------

    def _flush(self) -> None:
        if self._lost or self.transport is None:
            return
        out = self._codec.dataToSend(not self._transportPaused)
        if out:
            self.transport.write(out)

    def _pace(self) -> None:
        """Resume body producers whose streams have room again (a window opened)."""
        if self._transportPaused:
            return
        codec = self._codec
        limit = codec.limits.streamBufferSize
        for stream in list(self._streams.values()):
            producer = stream.producer
            if (
                producer is not None
                and stream.producerPaused
                and codec.bufferedFor(stream.streamId) < limit
            ):
                stream.producerPaused = False
                producer.resumeProducing()

    def pauseProducing(self) -> None:
        """The transport's buffer is full: hold request bodies."""
        if not self._transportPaused:
            self._transportPaused = True
            for stream in self._streams.values():
                if stream.producer is not None and not stream.producerPaused:
                    stream.producerPaused = True
                    stream.producer.pauseProducing()

    def resumeProducing(self) -> None:
        if self._transportPaused:
            self._transportPaused = False
            self._flush()
            self._pace()

    def stopProducing(self) -> None:
        self.abort()

    # -- closing -----------------------------------------------------------------------------

    def timeoutConnection(self) -> None:
        """No byte from the server for ``timeout`` seconds while responses are due: they
        fail and the connection is dropped; unless every open stream is a response body the
        application holds back (the silence is its own)."""
        streams = self._streams.values()
        if streams and all(s.response is not None and s.readPaused for s in streams):
            self.setTimeout(self._timeout)
            return
        self._abortReason = Failure(TimeoutError("no data from the server in time"))
        self.transport.abortConnection()

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


@implementer(IHandshakeListener)
class _ProtocolNegotiator(Protocol):
    """Waits for TLS to agree on a protocol (ALPN), then hands the connection to an
    :class:`H2ClientProtocol` (``h2``) or an HTTP/1.1 one (anything else, or no TLS);
    :attr:`ready` fires with it."""

    def __init__(
        self, makeHTTP11: Callable[[], HTTP11ClientProtocol], makeHTTP2: Callable[[], Any]
    ) -> None:
        self._makeHTTP11 = makeHTTP11
        self._makeHTTP2 = makeHTTP2
        self._inner: Protocol | None = None
        self.ready: Deferred[Any] = Deferred()

    def connectionMade(self) -> None:
        if not ISSLTransport.providedBy(self.transport):
            self._choose(None)

    def handshakeCompleted(self) -> None:
        if self._inner is None:
            self._choose(getattr(self.transport, "negotiatedProtocol", None))

    def _choose(self, negotiated: bytes | None) -> None:
        inner = self._makeHTTP2() if negotiated == b"h2" else self._makeHTTP11()
        self._inner = inner
        # What arrives from now on goes straight to the chosen protocol.
        self.dataReceived = inner.dataReceived  # type: ignore[method-assign]
        inner.makeConnection(self.transport)
        self.ready.callback(inner)

    def dataReceived(self, data: bytes) -> None:
        # Only before the handshake listener was told: the transport knows by now.
        self._choose(getattr(self.transport, "negotiatedProtocol", None))
        self.dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        inner = self._inner
        if inner is not None:
            inner.connectionLost(reason)
        elif not self.ready.called:
            self.ready.errback(ResponseNeverReceived([reason]))


def negotiatingProtocol(
    quiescentCallback: Callable[[Any], object],
    timeout: float | None,
    limits: Any,
    clock: Any,
    lostCallback: Callable[[Any], object],
) -> _ProtocolNegotiator:
    """A protocol for a new pooled connection that speaks HTTP/2 if TLS selects ``h2`` and
    HTTP/1.1 otherwise; the pool waits for its ``ready`` to get the one chosen.

    :param limits: The HTTP/1.1 response limits (HTTP/2 uses :data:`_h2.CLIENT_LIMITS`).
    """

    def http11() -> HTTP11ClientProtocol:
        return HTTP11ClientProtocol(
            quiescentCallback,
            timeout=timeout,
            limits=limits,
            clock=clock,
            lostCallback=lostCallback,
        )

    def http2() -> H2ClientProtocol:
        return H2ClientProtocol(
            quiescentCallback, timeout=timeout, clock=clock, lostCallback=lostCallback
        )

    return _ProtocolNegotiator(http11, http2)
