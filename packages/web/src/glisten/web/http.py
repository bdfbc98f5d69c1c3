"""HTTP/1.1 server: :class:`Request`, :class:`HTTPChannel` and :class:`HTTPFactory`.

The API is ``twisted.web.http``'s; the wire format is handled by the strict sans-I/O codec in
:mod:`glisten.web._h11`. This module is the façade: the request lives in
:mod:`glisten.web._request`, the connection in :mod:`glisten.web._channel`, access-log lines
and dates in :mod:`glisten.web._accesslog`, and the factory here.

HTTP/2 (the ``http2`` extra) is served by :mod:`glisten.web._http2`, to which a channel hands
its connection (see :attr:`HTTPFactory.http2`); requests cannot tell the difference.

Where glisten differs from Twisted on purpose:

- Requests are parsed one at a time: a pipelined request is read only once the response to the
  previous one is finished, so responses always go out in request order (Twisted
  CVE-2023-46137, CVE-2024-41671), and reading pauses while pipelined bytes pile up.
- Malformed or ambiguous requests (Twisted CVE-2020-10108, CVE-2020-10109, CVE-2022-24801)
  get 400, 413, 414, 431, 501 or 505 and a closed connection.
- A request head must arrive within :attr:`HTTPChannel.headerTimeout` seconds (slowloris),
  idle keep-alive connections close after :attr:`HTTPChannel.timeOut` seconds, and so does a
  connection whose pull producer (a static file) makes no progress for that long because the
  client stopped reading. A request body must average :attr:`HTTPChannel.minBodyRate` bytes
  a second (1 KiB by default, over at least :attr:`HTTPChannel.bodyRateWindow` seconds) or get
  408: a body trickled a byte at a time cannot hold a connection forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
from zope.interface import implementer

from glisten.internet.defer import Deferred, succeed
from glisten.internet.interfaces import IAddress, IProtocolNegotiationFactory, IReactorTime
from glisten.internet.main import getReactor
from glisten.internet.protocol import ServerFactory
from glisten.logger import Logger, LogLevel, globalLogPublisher
from glisten.web._accesslog import (
    AccessLogFile,
    _AccessLine,
    combinedLogFormatter,
    dateCache,
    datetimeToLogString,
    datetimeToString,
    proxiedLogFormatter,
    stringToDatetime,
)
from glisten.web._channel import HTTPChannel, http2Available
from glisten.web._codes import (
    ACCEPTED,
    BAD_GATEWAY,
    BAD_REQUEST,
    CONFLICT,
    CONTINUE,
    CREATED,
    EXPECTATION_FAILED,
    FORBIDDEN,
    FOUND,
    GATEWAY_TIMEOUT,
    GONE,
    HTTP_VERSION_NOT_SUPPORTED,
    INTERNAL_SERVER_ERROR,
    LENGTH_REQUIRED,
    MOVED_PERMANENTLY,
    MULTIPLE_CHOICE,
    NO_BODY_CODES,
    NO_CONTENT,
    NOT_ACCEPTABLE,
    NOT_ALLOWED,
    NOT_FOUND,
    NOT_IMPLEMENTED,
    NOT_MODIFIED,
    OK,
    PARTIAL_CONTENT,
    PERMANENT_REDIRECT,
    PRECONDITION_FAILED,
    REQUEST_ENTITY_TOO_LARGE,
    REQUEST_HEADER_FIELDS_TOO_LARGE,
    REQUEST_TIMEOUT,
    REQUEST_URI_TOO_LONG,
    REQUESTED_RANGE_NOT_SATISFIABLE,
    RESPONSES,
    SEE_OTHER,
    SERVICE_UNAVAILABLE,
    SWITCHING,
    TEMPORARY_REDIRECT,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
)
from glisten.web._newclient import PotentialDataLoss
from glisten.web._request import CACHED, Request
from glisten.web.iweb import IRequest

#: Where access-log lines go when no log file is set (one logger, not one per request).
_accessLog = Logger(namespace="glisten.web.access", observer=globalLogPublisher)
_INFO = LogLevel.info
#: The server's one date cache (``Date`` headers, log timestamps, file dates).
_dateCache = dateCache


@implementer(IProtocolNegotiationFactory)
class HTTPFactory(ServerFactory):
    """Makes :class:`HTTPChannel` connections and writes the access log.

    HTTP/2 (with the ``http2`` extra) follows :attr:`http2`: ``None``, the default, offers it
    to TLS clients through ALPN, as Twisted does; ``True`` also accepts it in clear text, from
    clients that open with the HTTP/2 preface (prior knowledge) or ask for ``Upgrade: h2c``;
    ``False`` never offers it. Either way the same requests and resources answer.

    :param logPath: A file to append access log lines to (in batches, at most a second
        late: see :class:`~glisten.web._accesslog.AccessLogFile`); ``None`` sends them to the
        ``glisten.logger`` system (level info).
    :param timeout: Idle timeout of connections, seconds (``None``: never).
    :param logFormatter: Makes a log line (default :func:`combinedLogFormatter`).
    :param reactor: The reactor for timeouts; the global one if ``None``.
    """

    protocol: Callable[[], HTTPChannel] = HTTPChannel
    logPath: str | None = None
    http2: bool | None = None
    #: Whether the factory is winding down (see :meth:`drain`): every response then closes
    #: its connection, and a health check (``glisten web --health``) answers 503.
    draining = False

    def __init__(
        self,
        logPath: str | None = None,
        timeout: float | None = 60,
        logFormatter: Callable[[str, IRequest], str] | None = None,
        reactor: IReactorTime | None = None,
    ) -> None:
        self.logPath = logPath
        self.timeOut = timeout
        self._logFormatter = logFormatter or combinedLogFormatter
        self.reactor = reactor
        self._logFile: AccessLogFile | None = None
        self.maxRequestBody: int | None = None
        #: The connections' minimum request-body rate, bytes a second (0: none), and the
        #: seconds before it is first checked; ``None`` keeps :class:`HTTPChannel`'s.
        self.minBodyRate: float | None = None
        self.bodyRateWindow: float | None = None
        self._channels: set[HTTPChannel] = set()
        self._drained: list[Deferred[None]] = []

    def startFactory(self) -> None:
        if self.logPath:
            self._logFile = AccessLogFile(
                self.logPath, getReactor(self.reactor), self._logFormatter
            )

    def stopFactory(self) -> None:
        if self._logFile is not None:
            self._logFile.close()
            self._logFile = None

    def drain(self) -> Deferred[None]:
        """Wind down for a graceful stop: finish what the connections are doing, then close.

        From now on each response says ``Connection: close`` and closes its connection; an
        idle keep-alive connection closes at once; a new connection that has not sent its
        request yet may still send it. Stop listening first, or new connections keep coming.
        (Not in Twisted, whose server drops its connections when the reactor stops.)

        :return: fires once no connection is left open; cancelling it only stops waiting.
        """
        self.draining = True
        for channel in list(self._channels):
            channel._drain()
        if not self._channels:
            return succeed(None)
        waiting: Deferred[None] = Deferred(lambda d: self._drained.remove(d))
        self._drained.append(waiting)
        return waiting

    def _channelOpened(self, channel: HTTPChannel) -> None:
        self._channels.add(channel)

    def _channelClosed(self, channel: HTTPChannel) -> None:
        channels = self._channels
        channels.discard(channel)
        if not channels and self._drained:
            drained, self._drained = self._drained, []
            for d in drained:
                d.callback(None)

    def buildProtocol(self, addr: IAddress | None) -> HTTPChannel:
        channel: HTTPChannel = self.protocol()
        channel.factory = self
        channel.timeOut = self.timeOut
        if self.minBodyRate is not None:
            channel.minBodyRate = self.minBodyRate
        if self.bodyRateWindow is not None:
            channel.bodyRateWindow = self.bodyRateWindow
        if self.maxRequestBody is not None:
            # Before the connection is made: the channel builds its codec from its limits then.
            channel.limits = attrs.evolve(channel.limits, maxBody=self.maxRequestBody)
        return channel

    def acceptableProtocols(self) -> list[bytes]:
        """What TLS offers through ALPN: ``h2`` first when HTTP/2 is on and the ``h2``
        package is installed, then ``http/1.1``."""
        if self.http2 is not False and http2Available():
            return [b"h2", b"http/1.1"]
        return [b"http/1.1"]

    @property
    def _logDateTime(self) -> str:
        return dateCache.logStamp()

    def log(self, request: Request) -> None:
        """Write the access log line for a finished request."""
        if self._logFile is not None:
            self._logFile.log(self._logDateTime, request)
        elif self._logFormatter is combinedLogFormatter:
            # What _accessLog.info("{line}", line=...) sends, built directly: this runs for
            # every request, and the Logger's generic path costs more than the event itself.
            # One clock reading serves both the line's timestamp and the event's.
            now = time.time()
            cache = dateCache
            if int(now) != cache.second:
                cache.refresh(int(now))
            globalLogPublisher(
                {
                    "line": _AccessLine(cache.log, request),
                    "log_logger": _accessLog,
                    "log_level": _INFO,
                    "log_namespace": "glisten.web.access",
                    "log_source": None,
                    "log_format": "{line}",
                    "log_time": now,
                }
            )
        else:
            _accessLog.info("{line}", line=self._logFormatter(self._logDateTime, request))


__all__ = [
    "CACHED",
    "HTTPChannel",
    "HTTPFactory",
    "PotentialDataLoss",
    "Request",
    "combinedLogFormatter",
    "datetimeToLogString",
    "datetimeToString",
    "proxiedLogFormatter",
    "stringToDatetime",
    "ACCEPTED",
    "BAD_GATEWAY",
    "BAD_REQUEST",
    "CONFLICT",
    "CONTINUE",
    "CREATED",
    "EXPECTATION_FAILED",
    "FORBIDDEN",
    "FOUND",
    "GATEWAY_TIMEOUT",
    "GONE",
    "HTTP_VERSION_NOT_SUPPORTED",
    "INTERNAL_SERVER_ERROR",
    "LENGTH_REQUIRED",
    "MOVED_PERMANENTLY",
    "MULTIPLE_CHOICE",
    "NOT_ACCEPTABLE",
    "NOT_ALLOWED",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "NOT_MODIFIED",
    "NO_BODY_CODES",
    "NO_CONTENT",
    "OK",
    "PARTIAL_CONTENT",
    "PERMANENT_REDIRECT",
    "PRECONDITION_FAILED",
    "REQUESTED_RANGE_NOT_SATISFIABLE",
    "REQUEST_ENTITY_TOO_LARGE",
    "REQUEST_HEADER_FIELDS_TOO_LARGE",
    "REQUEST_TIMEOUT",
    "REQUEST_URI_TOO_LONG",
    "RESPONSES",
    "SEE_OTHER",
    "SERVICE_UNAVAILABLE",
    "SWITCHING",
    "TEMPORARY_REDIRECT",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
]
