"""HTTP/2 connections: :class:`H2Connection` and its :class:`H2Stream`, as in
``twisted.web._http2``.

An :class:`~glisten.web.http.HTTPChannel` hands its connection over to an
:class:`H2Connection` when TLS negotiated ``h2`` (ALPN), when the client opens with the HTTP/2
preface (prior knowledge, ``h2c``), or when it asks for ``Upgrade: h2c``; the last two only
when the factory's ``http2`` is ``True``. Each stream becomes a request of the factory's
``requestFactory`` whose channel is an :class:`H2Stream`, which offers the same surface as the
HTTP/1.1 channel: a resource, a :class:`~glisten.web.server.Site` or a WSGI application cannot
tell which protocol served it (``request.clientproto`` says ``HTTP/2``).

The wire format, flow control and the flood limits are the sans-I/O codec's
(:mod:`glisten.web._h2`); this module moves bytes, runs the requests and paces their
producers. A response producer is paused while its stream holds more than
``Limits.streamBufferSize`` bytes (the client's window is shut, or the transport is full), so
a slow reader holds back the resource rather than filling memory; a connection whose
responses wait for window with no progress for ``timeOut`` seconds is closed. Server push is
never used.

Unlike Twisted: exceeding the advertised concurrent-stream limit is a connection error (h2's
behaviour; RFC 9113 allows a stream error), and the flood classes of the HTTP/2 CVE list
(ping, settings, empty frames, Rapid Reset, HPACK bomb, CONTINUATION flood) end the
connection with GOAWAY.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from zope.interface import implementer

from glisten.internet import interfaces
from glisten.internet.defer import Deferred, DeferredList
from glisten.internet.error import ConnectionDone, ConnectionLost
from glisten.internet.interfaces import IAddress, IProducer
from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure
from glisten.web import _h2
from glisten.web._codes import REQUEST_ENTITY_TOO_LARGE, REQUEST_TIMEOUT
from glisten.web._request import Request
from glisten.web.http_headers import Headers

if TYPE_CHECKING:
    from glisten.web.http import HTTPFactory
    from glisten.web.server import Site

_log = Logger()

#: Response fields that belong to one HTTP/1.1 hop and are not sent over HTTP/2
#: (RFC 9113 8.2.2).
_CONNECTION_FIELDS = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)

#: Seconds a closing connection gets to flush before it is aborted.
_ABORT_AFTER = 5.0

_EV_REQUEST = _h2.RequestReceived
_EV_DATA = _h2.DataReceived
_EV_ENDED = _h2.StreamEnded
_EV_RESET = _h2.StreamReset
_EV_LARGE = _h2.BodyTooLarge
_EV_GOAWAY = _h2.GoAwayReceived
_EV_FAILED = _h2.ConnectionFailed

#: The open HTTP/2 connections of each factory, for :func:`drainHTTP2`.
_live: weakref.WeakKeyDictionary[Any, weakref.WeakSet[H2Connection]] = weakref.WeakKeyDictionary()


def drainHTTP2(
    factory: Any, clock: interfaces.IReactorTime, timeout: float = 30.0
) -> Deferred[None]:
    """Shut down ``factory``'s HTTP/2 connections gracefully: each gets GOAWAY, finishes the
    streams it has and closes. For a server that is stopping, after it stopped listening.

    :param factory: The site (or ``HTTPFactory``) whose connections to drain.
    :param clock: Measures ``timeout``.
    :param timeout: Seconds the open streams get; connections still open then are aborted.
    :return: Fires once every connection has closed.
    """
    connections = list(_live.get(factory, ()))
    if not connections:
        d: Deferred[None] = Deferred()
        d.callback(None)
        return d
    waits = [connection.whenClosed() for connection in connections]
    for connection in connections:
        connection.gracefulShutdown()

    def abortRest() -> None:
        for connection in connections:
            connection._forceAbort()

    call = clock.callLater(timeout, abortRest)

    def done(_: object) -> None:
        if call.active():
            call.cancel()

    return DeferredList(waits).addCallback(done)


@implementer(interfaces.IPushProducer)
class H2Connection(Protocol, TimeoutMixin):
    """One HTTP/2 connection, server side.

    :ivar site: The site whose requests the streams make (set by the channel handing over).
    :ivar factory: The factory that logs finished requests.
    :ivar requestFactory: Makes a request: ``requestFactory(stream, False)``.
    :ivar timeOut: Seconds without progress before the connection closes: idle (no open
        streams), with responses waiting for the client to open its window (or to read), or
        with requests waiting for body bytes.
    :ivar minBodyRate: Bytes a second a request body must average from its start (0: no
        minimum); a slower one is answered 408 and its stream closed.
    :ivar bodyRateWindow: Seconds a request body has before its rate is first checked.
    :ivar limits: The codec's :class:`glisten.web._h2.Limits`.
    """

    site: Site | None = None
    factory: HTTPFactory | None = None
    requestFactory: Callable[..., Request] = Request
    timeOut: float | None = 60
    minBodyRate: float = 1024
    bodyRateWindow: float = 30
    limits: _h2.Limits = _h2.DEFAULT_LIMITS

    def __init__(self, reactor: interfaces.IReactorTime | None = None) -> None:
        """
        :param reactor: The clock for timeouts and flood rates (the global reactor if
            ``None``, looked up when the connection is made).
        """
        self.clock = reactor
        self.streams: dict[int, H2Stream] = {}
        self._codec: _h2.ServerConnection | None = None
        self._upgradeSettings: bytes | None = None
        self._upgradeRequest: tuple[bytes, bytes, dict[bytes, list[bytes]]] | None = None
        self._transportPaused = False
        self._pumping = False
        self._batching = False
        self._closeStarted = False
        self._lost = False
        self._closedWaiters: list[Deferred[None]] = []
        self._rateCall: Any = None

    @classmethod
    def fromChannel(cls, channel: Any) -> H2Connection:
        """A connection with ``channel``'s site, factory, request factory, clock, idle
        timeout and request body limit: what an HTTP/1.1 channel hands over with."""
        connection = cls(getattr(channel, "clock", None))
        connection.site = channel.site
        connection.factory = channel.factory
        connection.requestFactory = channel.requestFactory
        connection.timeOut = channel.timeOut
        connection.minBodyRate = channel.minBodyRate
        connection.bodyRateWindow = channel.bodyRateWindow
        maxBody = channel.limits.maxBody
        if maxBody != connection.limits.maxBody:
            connection.limits = attrs.evolve(connection.limits, maxBody=maxBody)
        return connection

    def prepareUpgrade(
        self, settings: bytes, method: bytes, target: bytes, headers: dict[bytes, list[bytes]]
    ) -> None:
        """Make this an ``Upgrade: h2c`` connection, to call before the connection is made:
        the upgrading request becomes stream 1.

        :param settings: The ``HTTP2-Settings`` field (checked with
            :func:`glisten.web._h2.validUpgradeSettings`).
        :param method: The upgrading request's method.
        :param target: Its target.
        :param headers: Its fields (hop-by-hop ones are dropped).
        """
        self._upgradeSettings = settings
        self._upgradeRequest = (method, target, headers)

    # -- connection events -------------------------------------------------------------------

    def connectionMade(self) -> None:
        if self.clock is None:
            from glisten.internet.main import getReactor

            self.clock = getReactor(None)
        codec = self._codec = _h2.ServerConnection(self.limits)
        if self.factory is not None:
            _live.setdefault(self.factory, weakref.WeakSet()).add(self)
        self.transport.registerProducer(self, True)
        self.setTimeout(self.timeOut)
        if self._upgradeSettings is not None and self._upgradeRequest is not None:
            codec.initiateUpgrade(self._upgradeSettings)
            method, target, fields = self._upgradeRequest
            fields = {k: v for k, v in fields.items() if k not in _UPGRADE_FIELDS}
            stream = self._openStream(1, fields)
            self._write()
            stream.requestReceived(method, target)
        else:
            codec.initiate()
        self._write()

    def dataReceived(self, data: bytes) -> None:
        codec = self._codec
        if codec is None or self._lost:
            return
        events = codec.receiveData(data, self.clock.seconds())
        # Responses made while these events are handled leave together, after them.
        self._batching = True
        try:
            self._handle(events)
        finally:
            self._batching = False
        self._write()
        self._maybeClose()

    def _handle(self, events: list[_h2.Event]) -> None:
        for event in events:
            cls = event.__class__
            if cls is _EV_REQUEST:
                self._request(event)  # type: ignore[arg-type]
            elif cls is _EV_DATA:
                self.resetTimeout()
                stream = self.streams.get(event.streamId)  # type: ignore[union-attr]
                if stream is not None:
                    stream.receiveBody(event.data)  # type: ignore[union-attr]
            elif cls is _EV_ENDED:
                stream = self.streams.get(event.streamId)  # type: ignore[union-attr]
                if stream is not None:
                    stream.bodyComplete()
            elif cls is _EV_RESET:
                self._streamGone(event.streamId, _reset(event.errorCode))  # type: ignore[union-attr]
            elif cls is _EV_LARGE:
                stream = self.streams.get(event.streamId)  # type: ignore[union-attr]
                if stream is not None:
                    stream.bodyTooLarge()
            elif cls is _EV_GOAWAY:
                self._goAway(event.errorCode)  # type: ignore[union-attr]
            elif cls is _EV_FAILED:
                self._failed(event)  # type: ignore[arg-type]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._lost = True
        self.setTimeout(None)
        if self._rateCall is not None and self._rateCall.active():
            self._rateCall.cancel()
        self._rateCall = None
        live = _live.get(self.factory)
        if live is not None:
            live.discard(self)
        waiters, self._closedWaiters = self._closedWaiters, []
        for d in waiters:
            d.callback(None)
        streams = list(self.streams.values())
        self.streams.clear()
        for stream in streams:
            stream.connectionLost(reason)

    # -- what streams use ----------------------------------------------------------------------

    def getPeer(self) -> IAddress:
        """The client's address."""
        address: IAddress = self.transport.getPeer()
        return address

    def getHost(self) -> IAddress:
        """The server's address."""
        address: IAddress = self.transport.getHost()
        return address

    def isSecure(self) -> bool:
        """Whether the connection is TLS."""
        return bool(interfaces.ISSLTransport.providedBy(self.transport))

    def whenClosed(self) -> Deferred[None]:
        """Fires once the connection has closed."""
        d: Deferred[None] = Deferred()
        if self._lost:
            d.callback(None)
        else:
            self._closedWaiters.append(d)
        return d

    def gracefulShutdown(self) -> None:
        """Send GOAWAY: no new streams; the connection closes once the open ones finish."""
        codec = self._codec
        if codec is None or self._lost:
            return
        codec.startShutdown()
        self._write()
        self._maybeClose()

    def _codecFor(self) -> _h2.ServerConnection:
        codec = self._codec
        assert codec is not None
        return codec

    def _write(self) -> None:
        """Write what the codec has, then pace the streams' producers to what is left."""
        if self._batching:
            return
        self._flush()
        self._pace()

    def _flush(self) -> None:
        codec = self._codec
        if codec is None or self._lost or self.transport is None:
            return
        out = codec.dataToSend(not self._transportPaused)
        if out:
            self.transport.write(out)
            if codec.openStreams:
                # Responses moving: progress, whatever the clients' windows.
                self.resetTimeout()

    def _pace(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            codec = self._codecFor()
            limit = codec.limits.streamBufferSize
            again = True
            while again:
                again = False
                for stream in list(self.streams.values()):
                    producer = stream.producer
                    if producer is None:
                        continue
                    full = self._transportPaused or codec.bufferedFor(stream.streamID) >= limit
                    if stream.streaming:
                        if full and not stream.producerPaused:
                            stream.producerPaused = True
                            producer.pauseProducing()
                            continue
                        if full or not stream.producerPaused:
                            continue
                        stream.producerPaused = False
                    elif full:
                        continue
                    # Room again: a paused push producer resumes, a pull producer writes
                    # (as often as there is room); either may fill the stream again.
                    sent = stream.sentBytes
                    producer.resumeProducing()
                    self._flush()
                    if stream.sentBytes != sent or stream.producer is None:
                        again = True
        finally:
            self._pumping = False

    # -- streams ---------------------------------------------------------------------------

    def _request(self, event: _h2.RequestReceived) -> None:
        self.resetTimeout()
        stream = self._openStream(event.streamId, event.headers)
        stream.method = event.method
        stream.target = event.path
        if not event.endStream:
            stream.bodyStart = self.clock.seconds()
            self._watchBodyRates()
            # A body follows: its announced length (None: unknown) lets the request choose
            # memory or a file for it.
            if event.contentLength != 0:
                stream.request.gotLength(event.contentLength)
            if event.expectContinue:
                self._codecFor().sendInformational(event.streamId, 100)

    def _watchBodyRates(self) -> None:
        """Check request bodies' rates a window from now, unless a check is due already."""
        if self._rateCall is None and self.minBodyRate > 0 and self.bodyRateWindow > 0:
            self._rateCall = self.callLater(self.bodyRateWindow, self._checkBodyRates)

    def _checkBodyRates(self) -> None:
        """Answer 408 to each request body that averaged less than :attr:`minBodyRate` bytes
        a second since it started (one trickled a byte at a time holds a stream, and the
        connection, forever otherwise)."""
        self._rateCall = None
        if self._lost or self._closeStarted:
            return
        now = self.clock.seconds()
        rate, window = self.minBodyRate, self.bodyRateWindow
        nextCheck: float | None = None
        for stream in list(self.streams.values()):
            if not stream.receiving or stream._readPaused:
                continue
            elapsed = now - stream.bodyStart
            if elapsed >= window and stream.bodyBytes < rate * elapsed:
                stream.refuse(REQUEST_TIMEOUT, "request body too slow")
                continue
            # When the bytes so far would fall behind, or the window ends, at least a
            # second from now.
            due = max(stream.bodyStart + max(window, stream.bodyBytes / rate), now + 1.0)
            nextCheck = due if nextCheck is None else min(nextCheck, due)
        self._write()
        if nextCheck is not None:
            self._rateCall = self.callLater(nextCheck - now, self._checkBodyRates)

    def _openStream(self, streamId: int, headers: dict[bytes, list[bytes]]) -> H2Stream:
        stream = H2Stream(streamId, self, headers, self.requestFactory, self.site, self.factory)
        self.streams[streamId] = stream
        return stream

    def _streamGone(self, streamId: int, reason: Failure) -> None:
        stream = self.streams.pop(streamId, None)
        if stream is not None:
            stream.connectionLost(reason)
        self._maybeClose()

    def _streamDone(self, stream: H2Stream) -> None:
        self.streams.pop(stream.streamID, None)
        if not self.streams:
            # The idle countdown starts when the last response is done.
            self.resetTimeout()
        self._write()
        self._maybeClose()

    def _goAway(self, errorCode: int) -> None:
        """The client said goodbye: nothing more can be sent (h2 stops there)."""
        reason = Failure(ConnectionDone("the client sent GOAWAY"))
        if errorCode:
            reason = Failure(ConnectionLost(f"the client sent GOAWAY with error {errorCode}"))
        for streamId in list(self.streams):
            self._streamGone(streamId, reason)
        self._close()

    def _failed(self, event: _h2.ConnectionFailed) -> None:
        _log.debug(
            "HTTP/2 connection from {peer} failed: {message}",
            peer=self.getPeer(),
            message=event.message,
        )
        reason = Failure(ConnectionLost(event.message))
        for streamId in list(self.streams):
            self._streamGone(streamId, reason)
        self._write()
        self._close()

    def _maybeClose(self) -> None:
        codec = self._codec
        if (
            codec is not None
            and codec.goingAway
            and not codec.openStreams
            and not self.streams
            and not self._lost
        ):
            self._close()

    def _close(self) -> None:
        if self._lost or self.transport is None or self._closeStarted:
            return
        self._closeStarted = True
        self.setTimeout(None)
        out = self._codecFor().dataToSend(False)
        if out:
            self.transport.write(out)
        self.transport.loseConnection()
        self.callLater(_ABORT_AFTER, self._forceAbort)

    def _forceAbort(self) -> None:
        if not self._lost and self.transport is not None:
            self.transport.abortConnection()

    # -- timeouts ----------------------------------------------------------------------------

    def timeoutConnection(self) -> None:
        """No progress for :attr:`timeOut` seconds: close an idle connection, one whose
        responses wait on a shut window and one whose requests wait for body bytes that do
        not come; leave one whose application is still answering."""
        codec = self._codec
        if codec is None or self._lost or self._closeStarted:
            return
        waiting = any(stream.receiving for stream in self.streams.values())
        if self.streams and not waiting and not codec.blocked and not self._transportPaused:
            # The application is answering; that has no time limit here.
            self.setTimeout(self.timeOut)
            return
        if self.streams:
            _log.debug("HTTP/2 client {peer} stalled", peer=self.getPeer())
        codec.startShutdown()
        reason = Failure(ConnectionLost("the client stalled"))
        for streamId in list(self.streams):
            codec.resetStream(streamId)
            self._streamGone(streamId, reason)
        self._close()

    # -- IPushProducer: the transport paces the whole connection ----------------------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: hold response bytes, and stop reading (so a client
        that does not read cannot pile up answers to its PINGs and SETTINGS either)."""
        if not self._transportPaused:
            self._transportPaused = True
            if self.transport is not None:
                self.transport.pauseProducing()
            self._pace()

    def resumeProducing(self) -> None:
        if self._transportPaused:
            self._transportPaused = False
            if self.transport is not None and not self._lost:
                self.transport.resumeProducing()
            self._write()

    def stopProducing(self) -> None:
        if self.transport is not None:
            self.transport.abortConnection()


def speaksHTTP2(data: bytes, negotiated: bytes | None) -> bool | None:
    """Whether a connection that sent ``data`` first speaks HTTP/2.

    :param data: The first bytes the client sent.
    :param negotiated: The ALPN protocol TLS agreed on, if any.
    :return: ``True`` (ALPN chose ``h2``, or ``data`` opens with the HTTP/2 preface),
        ``False`` (HTTP/1.1), or ``None`` when ``data`` is too short to tell.
    """
    if negotiated is not None:
        return negotiated == b"h2"
    preface = _h2.PREFACE
    size = min(len(data), len(preface))
    if data[:size] != preface[:size]:
        return False
    return True if size == len(preface) else None


def upgradeSettings(headers: dict[bytes, list[bytes]]) -> bytes | None:
    """The ``HTTP2-Settings`` of a request asking for ``Upgrade: h2c``, or ``None`` when it
    does not ask, or asks with a missing, repeated or malformed field (RFC 7540 3.2: then the
    request is served as HTTP/1.1).

    :param headers: The request's fields.
    """
    upgrade = headers.get(b"upgrade")
    settings = headers.get(b"http2-settings")
    if not upgrade or settings is None or len(settings) != 1:
        return None
    tokens = {token.strip().lower() for value in upgrade for token in value.split(b",")}
    if b"h2c" not in tokens or not _h2.validUpgradeSettings(settings[0]):
        return None
    return settings[0]


#: Fields of an upgrading HTTP/1.1 request that do not carry over to stream 1.
_UPGRADE_FIELDS = frozenset(
    {b"connection", b"upgrade", b"http2-settings", b"keep-alive", b"transfer-encoding"}
)


def _reset(errorCode: int) -> Failure:
    return Failure(ConnectionLost(f"stream reset (error {errorCode})"))


@implementer(interfaces.ITransport, interfaces.IConsumer, interfaces.IPushProducer)
class H2Stream:
    """One request stream of an :class:`H2Connection`: the request's channel, and its
    transport (so ``request.transport.abortConnection()`` resets this stream, not the
    connection).

    :ivar streamID: The stream's identifier (Twisted's name).
    :ivar request: The request it carries.
    :ivar site: The connection's site.
    :ivar factory: The connection's factory.
    """

    def __init__(
        self,
        streamId: int,
        connection: H2Connection,
        headers: dict[bytes, list[bytes]],
        requestFactory: Callable[..., Request],
        site: Site | None,
        factory: HTTPFactory | None,
    ) -> None:
        self.streamID = streamId
        self.connection = connection
        self.site = site
        self.factory = factory
        self.clock = connection.clock
        # Push or pull producer (IPushProducer or IPullProducer), as registered.
        self.producer: Any = None
        self.streaming = False
        self.producerPaused = False
        self.sentBytes = 0
        #: The request is still arriving (its body is not complete).
        self.receiving = True
        #: When its body started (the connection's clock) and how much of it came.
        self.bodyStart = 0.0
        self.bodyBytes = 0
        self.method = b"GET"
        self.target = b"/"
        self._done = False
        self._gone = False
        self._readPaused = False
        self._unacknowledged = 0
        self.request = request = requestFactory(self, False)
        for name, values in headers.items():
            request.requestHeaders.setRawHeaders(name, values)

    @property
    def transport(self) -> H2Stream:
        """The stream itself: what a request writes to and aborts."""
        return self

    # -- from the connection -----------------------------------------------------------------

    def receiveBody(self, data: bytes) -> None:
        """A piece of the request body: stored by the request, then acknowledged, which
        lets the client send more (unless :meth:`pauseProducing` holds the window shut)."""
        self.bodyBytes += len(data)
        self.request.handleContentChunk(data)
        if self._readPaused:
            self._unacknowledged += len(data)
        else:
            self.connection._codecFor().acknowledgeData(self.streamID, len(data))

    def bodyComplete(self) -> None:
        """The request is complete: run it."""
        self.receiving = False
        self.requestReceived(self.method, self.target)

    def requestReceived(self, method: bytes, target: bytes) -> None:
        """Run the request (its body, if any, is complete)."""
        self.receiving = False
        self.request.requestReceived(method, target, b"HTTP/2")

    def bodyTooLarge(self) -> None:
        """Answer 413 without running the request."""
        self.refuse(REQUEST_ENTITY_TOO_LARGE, "request body too large")

    def refuse(self, status: int, why: str) -> None:
        """Answer ``status`` (with no body) without running the request, and tell the client
        to stop sending it."""
        codec = self.connection._codecFor()
        codec.sendResponse(self.streamID, status, [(b"content-length", b"0")])
        codec.sendEnd(self.streamID)
        self._done = True
        self.receiving = False
        self.connectionLost(Failure(ConnectionLost(why)))
        self.connection._streamDone(self)

    def connectionLost(self, reason: Failure) -> None:
        """The stream was reset or the connection lost."""
        if self._gone:
            return
        self._gone = True
        producer = self.producer
        self.producer = None
        if producer is not None:
            producer.stopProducing()
        if not self.request.finished:
            self.request.connectionLost(reason)

    # -- the channel surface Request uses ------------------------------------------------------

    def getPeer(self) -> IAddress:
        return self.connection.getPeer()

    def getHost(self) -> IAddress:
        return self.connection.getHost()

    def isSecure(self) -> bool:
        return self.connection.isSecure()

    def writeHeaders(
        self,
        version: bytes,
        code: bytes,
        reason: bytes,
        headers: Headers | Sequence[tuple[bytes, bytes]],
    ) -> None:
        """Queue the response head (HTTP/2 has no reason phrase and no hop-by-hop fields).

        :param version: Not used.
        :param code: The status code as digits.
        :param reason: Not used (HTTP/2 carries none).
        :param headers: The response headers, or name/value pairs.
        """
        if self._gone:
            return
        pairs: list[tuple[bytes, bytes]] = []
        if isinstance(headers, Headers):
            for name, values in headers.getAllRawHeaders():
                lower = name.lower()
                if lower not in _CONNECTION_FIELDS:
                    pairs.extend((lower, value) for value in values)
        else:
            for name, value in headers:
                lower = name.lower()
                if lower not in _CONNECTION_FIELDS:
                    pairs.append((lower, value))
        self.connection._codecFor().sendResponse(self.streamID, int(code), pairs)

    def write(self, data: bytes) -> None:
        """Send a piece of the response body (queued while the windows are shut)."""
        if self._gone or self._done:
            return
        self.sentBytes += len(data)
        connection = self.connection
        codec = connection._codecFor()
        codec.sendData(self.streamID, data)
        if not connection._pumping:
            connection._write()
        producer = self.producer
        if (
            producer is not None
            and self.streaming
            and (
                connection._transportPaused
                or codec.bufferedFor(self.streamID) >= codec.limits.streamBufferSize
            )
        ):
            # As a transport does: a producer writing while the stream is full hears at
            # once (again, if it resumed itself) that it must wait.
            self.producerPaused = True
            producer.pauseProducing()

    def writeSequence(self, data: Sequence[bytes]) -> None:
        self.write(b"".join(data))

    def requestDone(self, request: Request) -> None:
        """The response is complete: end the stream and log the request."""
        if self._gone or self._done:
            return
        self._done = True
        self.connection._codecFor().sendEnd(self.streamID)
        if self.factory is not None:
            self.factory.log(request)
        self.producer = None
        self.connection._streamDone(self)

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Let ``producer`` write the response body, paced by this stream's window and the
        transport."""
        self.producer = producer
        self.streaming = streaming
        self.producerPaused = False
        if self._gone:
            producer.stopProducing()
            return
        self.connection._pace()

    def unregisterProducer(self) -> None:
        self.producer = None

    def loseConnection(self) -> None:
        """End the stream: an unfinished response is cut short with RST_STREAM(CANCEL)."""
        if not self._done:
            self.abortConnection()

    def abortConnection(self) -> None:
        """Reset the stream (not the connection)."""
        if self._gone:
            return
        self._done = True
        self.connection._codecFor().resetStream(self.streamID, _h2.INTERNAL_ERROR)
        self.connectionLost(Failure(ConnectionLost("stream aborted")))
        self.connection._streamDone(self)

    # -- IPushProducer: the request body -------------------------------------------------------

    def pauseProducing(self) -> None:
        """Stop acknowledging the request body: the client's window closes behind it."""
        self._readPaused = True

    def resumeProducing(self) -> None:
        """Acknowledge what arrived while paused, reopening the client's window."""
        self._readPaused = False
        pending, self._unacknowledged = self._unacknowledged, 0
        if pending and not self._gone:
            self.connection._codecFor().acknowledgeData(self.streamID, pending)
            self.connection._write()

    def stopProducing(self) -> None:
        self.abortConnection()
