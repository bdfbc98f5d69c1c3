"""The HTTP/1.1 connection: :class:`HTTPChannel`, as in ``twisted.web.http.HTTPChannel``.

The channel is the only driver of its :class:`glisten.web._h11.ServerConnection` codec: it
feeds it the transport's bytes, turns its events into calls on a :class:`Request`, and gives
requests Twisted's channel surface (:meth:`~HTTPChannel.writeHeaders`,
:meth:`~HTTPChannel.write`, :meth:`~HTTPChannel.requestDone`, ...), through which the codec
frames each response.

Timeouts go through :class:`glisten.protocols.policies.TimeoutMixin` (one timer per
connection, reset on traffic) with a period that follows the connection's phase:
:attr:`HTTPChannel.timeOut` while idle, while a request body arrives and while a pull producer
(a static file) writes; :attr:`HTTPChannel.headerTimeout` from the first byte of a request
head until the head is complete (traffic does not reset it: a slowloris client cannot stretch
it); no timeout while the application answers a request otherwise. A request body must also
average :attr:`HTTPChannel.minBodyRate` bytes a second from its start, checked once
:attr:`HTTPChannel.bodyRateWindow` seconds have passed and then again whenever the bytes
received so far would fall behind (a body trickled a byte at a time resets the timeout forever,
but not this); a body too slow is answered 408 and the connection closed. Time during which the
server itself paused reading (:meth:`HTTPChannel.pauseProducing`) does not count.

With HTTP/2 on (the factory's ``http2``, and the ``h2`` package installed) the channel hands
the connection to :class:`glisten.web._http2.H2Connection` when TLS negotiated ``h2`` or the
client opens with the HTTP/2 preface, and answers ``Upgrade: h2c`` with 101 before doing so;
otherwise it stays HTTP/1.1 (it looks at the first bytes once per connection, never per
request).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from zope.interface import implementer

from glisten.internet import interfaces
from glisten.internet.interfaces import IAddress, IProducer, ISendfileTransport
from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol as _Protocol
from glisten.internet.protocol import connectionDone
from glisten.logger import Logger
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure
from glisten.web import _h11
from glisten.web._codes import REQUEST_TIMEOUT, SWITCHING
from glisten.web._request import Request
from glisten.web.http_headers import Headers

if TYPE_CHECKING:
    from glisten.web.http import HTTPFactory
    from glisten.web.server import Site

_log = Logger()

# The codec's event classes, looked up once for the dispatch loop.
_EV_REQUEST = _h11.Request
_EV_END = _h11.EndOfMessage
_EV_DATA = _h11.Data
_EV_ERROR = _h11.ProtocolError

# The connection's phases, which decide the timeout period.
_IDLE = 0  # no request: waiting for the next one (timeOut)
_HEAD = 1  # part of a request head arrived (headerTimeout, not reset by traffic)
_BODY = 2  # a request body is arriving (timeOut, reset by traffic)
_BUSY = 3  # the application answers (no timeout, unless a pull producer stalls)

#: Seconds a timed-out connection gets to close cleanly before it is aborted.
_ABORT_AFTER = 5.0

#: The shortest wait between two checks of a request body's rate, in seconds.
_RATE_RECHECK = 1.0


@functools.cache
def http2Available() -> bool:
    """Whether the ``h2`` package (the ``http2`` extra) is installed."""
    return importlib.util.find_spec("h2") is not None


class UpgradedProtocol(Protocol):
    """What takes a connection over after ``101 Switching Protocols``."""

    def dataReceived(self, data: bytes) -> None: ...

    def connectionLost(self, reason: Failure) -> None: ...


@implementer(interfaces.IPushProducer)
class HTTPChannel(_Protocol, TimeoutMixin):
    """One HTTP/1.1 connection: feeds the codec, makes :class:`Request` objects, writes their
    responses in order, and enforces timeouts.

    :ivar requestFactory: Makes a request: ``requestFactory(channel, queued)``.
    :ivar timeOut: Seconds an idle connection (no request in progress) stays open.
    :ivar headerTimeout: Seconds a client has to send a complete request head.
    :ivar minBodyRate: Bytes a second a request body must average from its start (0: no
        minimum); a slower body gets 408 and a closed connection.
    :ivar bodyRateWindow: Seconds a request body has before its rate is first checked.
    :ivar limits: The codec's request limits; set before the connection is made.
    :ivar maxPipelineBuffer: Bytes of pipelined requests buffered before reading pauses.
    :ivar maxRequestsPerTurn: Pipelined requests answered in one go before the connection
        yields to the others: reading pauses and the rest are answered on the reactor's next
        turn, so one client's megabyte of pipelined requests cannot stall every other client.
    """

    requestFactory: Callable[..., Request] = Request
    timeOut: float | None = 60
    headerTimeout: float = 30
    minBodyRate: float = 1024
    bodyRateWindow: float = 30
    limits: _h11.Limits = _h11.DEFAULT_LIMITS
    maxPipelineBuffer = 65536
    maxRequestsPerTurn = 64
    site: Site | None = None
    factory: HTTPFactory | None = None
    _secure: bool | None = None
    _host: IAddress | None = None
    # HTTP/2 in clear text (prior knowledge or Upgrade: h2c) is accepted; bytes held while
    # telling an HTTP/2 preface from an HTTP/1.1 request.
    _h2c = False
    _sniffed = b""
    _peer: IAddress | None = None

    #: Twisted's names for two of the limits; a subclass may override them.
    maxHeaders: int = _h11.DEFAULT_LIMITS.maxHeaders
    totalHeadersSize: int = _h11.DEFAULT_LIMITS.maxHeaderBytes

    def __init__(self) -> None:
        self._request: Request | None = None
        self._head: _h11.Request | None = None
        # The response head, held until the first piece of body (or the end) so that both
        # leave in one transport write.
        self._pendingHead = b""
        self._dispatching = False
        self._readingPaused = False
        self._nextTurn: Any = None
        self._pullProducer = False
        self._phase = _IDLE
        self._idleTimeout: float | None = None
        self._closed = False
        # The current request body's rate check: when it started, bytes since, the next look.
        self._bodyStart = 0.0
        self._bodyBytes = 0
        self._rateCall: Any = None
        self._pausedAt: float | None = None
        # Read on every request: kept in the instance, where a lookup is quickest.
        self._upgraded: UpgradedProtocol | None = None
        # Whether a response was completed here (an idle connection that served one is a
        # keep-alive connection a drain may close; a fresh one may have a request on its way).
        self._servedOne = False

    # -- connection events -------------------------------------------------------------------

    def connectionMade(self) -> None:
        limits = self.limits
        if self.maxHeaders != limits.maxHeaders or self.totalHeadersSize != limits.maxHeaderBytes:
            limits = self.limits = attrs.evolve(
                limits, maxHeaders=self.maxHeaders, maxHeaderBytes=self.totalHeadersSize
            )
        self._codec = _h11.ServerConnection(limits)
        if self.clock is None:
            # TimeoutMixin's clock: the factory's reactor (a test may have set one already).
            self.clock = getReactor(getattr(self.factory, "reactor", None))
        self._idleTimeout = self.timeOut
        self.setTimeout(self._idleTimeout)
        mode = getattr(self.factory, "http2", False)
        if mode is not False and http2Available():
            secure = self.isSecure()
            if secure or mode:
                self._h2c = bool(mode) and not secure
                # Until the first bytes tell which protocol the client speaks.
                self.dataReceived = self._sniffHTTP2  # type: ignore[method-assign]
        factory = self.factory
        if factory is not None:
            factory._channelOpened(self)

    def dataReceived(self, data: bytes) -> None:
        if self._phase != _HEAD:
            # Traffic restarts the idle and body countdowns, never the head's.
            self.resetTimeout()
        self._dispatch(self._codec.receiveData(data))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closed = True
        self.setTimeout(None)
        self._stopBodyRate()
        if self._nextTurn is not None:
            self._nextTurn.cancel()
            self._nextTurn = None
        factory = self.factory
        if factory is not None:
            factory._channelClosed(self)
        if self._upgraded is not None:
            self._upgraded.connectionLost(reason)
            return
        request = self._request
        self._request = None
        if request is not None and not request.finished:
            request.connectionLost(reason)

    # -- Twisted's channel surface, used by Request ----------------------------------------

    def getPeer(self) -> IAddress | None:
        """The client's address (cached: every request asks)."""
        peer = self._peer
        if peer is None and self.transport is not None:
            peer = self._peer = self.transport.getPeer()
        return peer

    def getHost(self) -> IAddress | None:
        """The server's address (cached: every request asks)."""
        host = self._host
        if host is None and self.transport is not None:
            host = self._host = self.transport.getHost()
        return host

    def isSecure(self) -> bool:
        """Whether the transport is TLS."""
        secure = self._secure
        if secure is None:
            secure = self._secure = interfaces.ISSLTransport.providedBy(self.transport)
        return secure

    def writeHeaders(
        self,
        version: bytes,
        code: bytes,
        reason: bytes,
        headers: Headers | Sequence[tuple[bytes, bytes]],
    ) -> None:
        """Send the response head of the current request.

        The codec writes it (always as HTTP/1.1, whatever ``version`` says, since a server
        answers with its own version) and chooses the body framing from it.

        :param version: The request's version (``b"HTTP/1.1"``); not used.
        :param code: The status code as digits, ``b"200"``.
        :param reason: The reason phrase.
        :param headers: The response headers (or name/value pairs, for old callers).
        """
        if not isinstance(headers, Headers):
            pairs = headers
            headers = Headers()
            for name, value in pairs:
                headers.addRawHeader(name, value)
        status = int(code)
        if status == SWITCHING:
            self._switch(headers._raw, reason)
            return
        factory = self.factory
        if factory is not None and factory.draining:
            # The codec then says "Connection: close", and requestDone closes.
            self._codec.state.disableKeepAlive()
        self._pendingHead = self._codec.sendResponse(status, headers._raw, reason)

    def write(self, data: bytes) -> None:
        """Send a piece of the current response's body, framed by the codec."""
        if self._upgraded is not None:
            return
        out = self._codec.sendData(data)
        pending = self._pendingHead
        if pending:
            self._pendingHead = b""
            out = pending + out
        if out:
            transport = self.transport
            if transport is not None:
                transport.write(out)
        if self._pullProducer:
            # A pull producer writes whenever the client reads: progress.
            self.resetTimeout()

    def sendfile(self, fileno: int, offset: int, count: int) -> int | None:
        """Send up to ``count`` bytes of the current response's body straight from a file,
        when the transport can (plain TCP) and the body goes out unframed. The head must have
        been written (:meth:`Request.sendfile` does).

        :return: The bytes sent (0: not now; a registered pull producer is resumed later), or
            ``None`` when this response cannot be sent that way: use :meth:`write`.
        """
        transport = self.transport
        sender = ISendfileTransport(transport, None)
        if sender is None or self._upgraded is not None or not self._codec.bodyIsUnframed:
            return None
        # The head went out with the request's first write.
        sent = sender.sendfile(fileno, offset, count)
        if sent:
            self._codec.sentDataDirectly(sent)
            self.resetTimeout()
        return sent

    def writeSequence(self, data: Sequence[bytes]) -> None:
        """Send several pieces of the body."""
        self.write(b"".join(data))

    def requestDone(self, request: Request) -> None:
        """``request``'s response is complete: finish it on the wire, log it, and read the
        next request (or close the connection)."""
        codec = self._codec
        end = codec.sendEnd()
        pending = self._pendingHead
        if pending:
            self._pendingHead = b""
            end = pending + end
        if end and self.transport is not None:
            self.transport.write(end)
        self._request = None
        self._pullProducer = False
        factory = self.factory
        if factory is not None:
            factory.log(request)
        self._servedOne = True
        if not codec.state.keepAlive or (factory is not None and factory.draining):
            if self.transport is not None:
                self.transport.loseConnection()
            return
        if not self._dispatching:
            # The idle countdown starts when the response is done (inside _dispatch,
            # dataReceived reset it a moment ago).
            self.resetTimeout()
        if self._readingPaused:
            self._readingPaused = False
            self.transport.resumeProducing()
        if not self._dispatching:
            # Called later than the request arrived (the application answered
            # asynchronously): a pipelined request may be waiting in the codec. Inside
            # _dispatch, its own loop picks that up instead.
            self._dispatch(codec.nextEvents())

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Let ``producer`` write the current response's body, paced by the transport. A
        pull producer that stops making progress for :attr:`timeOut` seconds (the client
        stopped reading) closes the connection."""
        self._pullProducer = not streaming
        if not streaming:
            self.setTimeout(self._idleTimeout)
        if self.transport is not None:
            self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """The producer is done."""
        self._pullProducer = False
        if self.transport is not None:
            self.transport.unregisterProducer()

    def loseConnection(self) -> None:
        """Close the connection after what was written."""
        if self.transport is not None:
            self.transport.loseConnection()

    # -- glisten additions -------------------------------------------------------------------

    def switchProtocols(self, request: Request, protocol: UpgradedProtocol) -> bytes:
        """Answer ``request`` with ``101 Switching Protocols`` (with the headers it has set)
        and hand the connection to ``protocol``, which gets its later bytes and its loss.

        :return: Bytes the client sent after the request: the start of ``protocol``'s stream.
        """
        self._upgradeTo = protocol
        request.setResponseCode(SWITCHING)
        # The request writes its head through writeHeaders, which switches (_switch).
        request.write(b"")
        request.finished = True
        if self.factory is not None:
            self.factory.log(request)
        leftover, self._leftover = self._leftover, b""
        return leftover

    _upgradeTo: UpgradedProtocol | None = None
    _leftover = b""

    def _switch(self, headers: dict[bytes, list[bytes]], reason: bytes) -> None:
        protocol = self._upgradeTo
        if protocol is None:
            raise _h11.LocalProtocolError("101 responses are sent by switchProtocols")
        codec = self._codec
        head = codec.sendResponse(SWITCHING, headers, reason)
        if self.transport is not None:
            self.transport.write(head)
        self._leftover = codec.takeTrailingData()
        self._request = None
        self.setTimeout(None)
        self._upgradeTo = None
        self._upgraded = protocol
        self.dataReceived = protocol.dataReceived  # type: ignore[method-assign]

    # -- HTTP/2 (glisten.web._http2 takes the connection over) -----------------------------

    def _sniffHTTP2(self, data: bytes) -> None:
        from glisten.web import _http2

        # A transport may hold on to this bound method for the rest of a read (TLS delivers
        # each decrypted record through it): once decided, bytes go where they belong.
        if self._upgraded is not None:
            self._upgraded.dataReceived(data)
            return
        if "dataReceived" not in self.__dict__:
            HTTPChannel.dataReceived(self, data)
            return
        data = self._sniffed + data
        negotiated = getattr(self.transport, "negotiatedProtocol", None)
        verdict = _http2.speaksHTTP2(data, negotiated)
        if verdict is None:
            self._sniffed = data
            return
        self._sniffed = b""
        del self.dataReceived  # HTTP/1.1's own, from now on
        if verdict:
            self._handOver(_http2.H2Connection.fromChannel(self), data)
        else:
            self.dataReceived(data)

    def _upgradeH2c(self, head: _h11.Request) -> bool:
        """Answer an ``Upgrade: h2c`` request with 101 and serve it as HTTP/2 stream 1."""
        from glisten.web import _http2

        settings = _http2.upgradeSettings(head.headers)
        if settings is None or head.contentLength != 0:
            return False
        protocol = _http2.H2Connection.fromChannel(self)
        protocol.prepareUpgrade(settings, head.method, head.target, head.headers)
        self._upgradeTo = protocol
        self._switch({b"connection": [b"Upgrade"], b"upgrade": [b"h2c"]}, b"Switching Protocols")
        leftover, self._leftover = self._leftover, b""
        self._handOver(protocol, leftover)
        return True

    def _handOver(self, protocol: Any, data: bytes) -> None:
        self.setTimeout(None)
        self._request = None
        self._upgraded = protocol
        self.dataReceived = protocol.dataReceived  # type: ignore[method-assign]
        protocol.makeConnection(self.transport)
        if data:
            protocol.dataReceived(data)

    # -- the codec's events ------------------------------------------------------------------

    def _dispatch(self, events: list[_h11.Event]) -> None:
        """Turn the codec's events into calls on the request, then settle the connection's
        phase (and so its timeout) for what is left."""
        # A response the application finishes inside requestReceived lets the next
        # pipelined request be parsed: this loop picks it up, rather than requestDone
        # recursing into _dispatch once per pipelined request.
        self._dispatching = True
        codec = self._codec
        started = 0
        try:
            while events:
                for event in events:
                    cls = event.__class__
                    if cls is _EV_REQUEST:
                        started += 1
                        self._startRequest(event)  # type: ignore[arg-type]
                    elif cls is _EV_END:
                        request = self._request
                        head = self._head
                        assert request is not None and head is not None
                        self._head = None
                        if self._h2c and b"upgrade" in head.headers and self._upgradeH2c(head):
                            return
                        request.requestReceived(
                            head.method,
                            head.target,
                            b"HTTP/1.1" if head.version == b"1.1" else b"HTTP/1.0",
                        )
                    elif cls is _EV_DATA:
                        assert self._request is not None
                        data = event.data  # type: ignore[union-attr]
                        self._bodyBytes += len(data)
                        self._request.handleContentChunk(data)
                    elif cls is _EV_ERROR:
                        # Always the last event; the codec has dropped what was buffered.
                        self._protocolError(event)  # type: ignore[arg-type]
                if self._closed or self._upgraded is not None:
                    return
                if self._request is not None:
                    break
                if not codec.bufferedByteCount:
                    if self._phase == _IDLE:
                        return  # answered and idle again, the common case: nothing changes
                    break
                if started >= self.maxRequestsPerTurn:
                    self._yieldTurn()
                    break
                events = codec.nextEvents()
        finally:
            self._dispatching = False
        if self._closed or self._upgraded is not None:
            return
        if self._request is not None:
            self._checkPipelineBuffer()
        elif self._phase == _IDLE and not codec.bufferedByteCount:
            return
        self._updatePhase()

    def _startRequest(self, head: _h11.Request) -> None:
        request = self.requestFactory(self, False)
        # The head, handed to the new request: its fields (already validated and
        # lower-cased by the codec) and its body's announced length.
        request.requestHeaders._raw = head.headers
        self._request = request
        self._head = head
        self._bodyBytes = 0
        if head.contentLength != 0:
            request.gotLength(head.contentLength)
            if head.expectContinue and self.transport is not None:
                self.transport.write(self._codec.sendContinue())

    def _protocolError(self, error: _h11.ProtocolError) -> None:
        _log.debug(
            "Bad HTTP request from {peer}: {message}",
            peer=self.getPeer(),
            message=error.message,
        )
        codec = self._codec
        if self._request is not None and codec.responseStarted:
            self.transport.abortConnection()
            return
        reply = codec.sendError(error.status)
        if reply:
            self.transport.write(reply)
        self.transport.loseConnection()

    def _yieldTurn(self) -> None:
        """Stop reading and answer the rest of the pipelined requests on the next turn."""
        if not self._readingPaused and self.transport is not None:
            self._readingPaused = True
            self.transport.pauseProducing()
        self._nextTurn = self.clock.callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        self._nextTurn = None
        if self._closed or self._upgraded is not None or self._request is not None:
            # A request in progress picks up the rest when it is done.
            return
        self._dispatch(self._codec.nextEvents())
        if (
            self._readingPaused
            and self._nextTurn is None
            and self._codec.bufferedByteCount <= self.maxPipelineBuffer
            and self.transport is not None
        ):
            self._readingPaused = False
            self.transport.resumeProducing()

    def _checkPipelineBuffer(self) -> None:
        if (
            not self._readingPaused
            and self._codec.bufferedByteCount > self.maxPipelineBuffer
            and self.transport is not None
        ):
            self._readingPaused = True
            self.transport.pauseProducing()

    # -- IPushProducer, for callers that pause the whole connection -------------------------

    def pauseProducing(self) -> None:
        if self._rateCall is not None and self._pausedAt is None:
            # The server stops reading: the body's rate does not count that time.
            self._pausedAt = self.clock.seconds()
        if self.transport is not None:
            self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        pausedAt = self._pausedAt
        if pausedAt is not None:
            self._pausedAt = None
            self._bodyStart += self.clock.seconds() - pausedAt
        if self.transport is not None:
            self.transport.resumeProducing()

    def stopProducing(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    # -- timeouts ----------------------------------------------------------------------------

    def _drain(self) -> None:
        """The factory is draining: close now if idle after a response; otherwise the
        current (or next) response is this connection's last."""
        if self._request is None and self._phase == _IDLE and self._servedOne:
            if self.transport is not None and not self._closed:
                self.transport.loseConnection()

    def _updatePhase(self) -> None:
        codec = self._codec
        if self._request is not None:
            phase = _BODY if codec.readingBody else _BUSY
        elif codec.readingHead:
            phase = _HEAD
        else:
            phase = _IDLE
        old = self._phase
        if phase != old:
            self._phase = phase
            if phase == _BODY:
                self._startBodyRate()
            elif old == _BODY:
                self._stopBodyRate()
            period = self.headerTimeout if phase == _HEAD else self._idleTimeout
            if period != self.timeOut:
                # Also restarts the countdown: the new phase's period runs from now.
                self.setTimeout(period)
            elif old == _HEAD:
                # The head's countdown was not reset by traffic; the next phase's starts now.
                self.resetTimeout()

    def timeoutConnection(self) -> None:
        """The phase's timeout passed: answer 408 to an unfinished head, abort a request in
        progress, close an idle connection. A connection that does not close within a few
        seconds (a client that stopped reading) is aborted."""
        phase = self._phase
        transport = self.transport
        if transport is None or self._closed:
            return
        if phase == _BUSY and not self._pullProducer:
            # The application is still answering; that has no time limit here.
            self.setTimeout(self._idleTimeout)
            return
        if phase == _HEAD:
            reply = self._codec.sendError(REQUEST_TIMEOUT)
            if reply:
                transport.write(reply)
            transport.loseConnection()
        elif self._request is not None:
            transport.abortConnection()
        else:
            transport.loseConnection()
        self.callLater(_ABORT_AFTER, self._forceAbort)

    def _forceAbort(self) -> None:
        if not self._closed and self.transport is not None:
            self.transport.abortConnection()

    # -- the request body's minimum rate -----------------------------------------------------

    def _startBodyRate(self) -> None:
        """The body phase begins (the head arrived, the body has not all come): its bytes so
        far count from now, and the first check is a window away."""
        if self.minBodyRate > 0 and self.bodyRateWindow > 0:
            self._bodyStart = self.clock.seconds()
            self._rateCall = self.callLater(self.bodyRateWindow, self._checkBodyRate)

    def _stopBodyRate(self) -> None:
        self._pausedAt = None
        call = self._rateCall
        if call is not None:
            self._rateCall = None
            if call.active():
                call.cancel()

    def _checkBodyRate(self) -> None:
        """Answer 408 to a body that averaged less than :attr:`minBodyRate` since it started;
        otherwise look again when the bytes received so far would fall behind."""
        self._rateCall = None
        transport = self.transport
        if self._phase != _BODY or self._closed or transport is None:
            return
        recheck = min(_RATE_RECHECK, self.bodyRateWindow)
        if self._pausedAt is not None:
            # Paused by the server (pauseProducing): the client is not to blame.
            self._rateCall = self.callLater(recheck, self._checkBodyRate)
            return
        rate = self.minBodyRate
        elapsed = self.clock.seconds() - self._bodyStart
        if elapsed < self.bodyRateWindow:
            # Time spent paused moved the start: the client still gets a whole window.
            self._rateCall = self.callLater(self.bodyRateWindow - elapsed, self._checkBodyRate)
            return
        received = self._bodyBytes
        if received >= rate * elapsed:
            wait = max(received / rate - elapsed, recheck)
            self._rateCall = self.callLater(wait, self._checkBodyRate)
            return
        _log.debug(
            "Request body from {peer} too slow: {received} bytes in {elapsed} s",
            peer=self.getPeer(),
            received=received,
            elapsed=round(elapsed, 1),
        )
        # Read no more of it: the request must not reach the application after its 408.
        transport.pauseProducing()
        self.setTimeout(None)
        reply = self._codec.sendError(REQUEST_TIMEOUT)
        if reply:
            transport.write(reply)
            transport.loseConnection()
            self.callLater(_ABORT_AFTER, self._forceAbort)
        else:
            transport.abortConnection()
