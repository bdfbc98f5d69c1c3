"""Access-log lines (Combined Log Format) and the server's cached dates.

There is one line formatter, :func:`_formatLine`: :func:`combinedLogFormatter` uses it on a
request, and :class:`_AccessLine` on the few fields it copied from one, when the line goes to
the logging system (formatted only if an observer reads it) or to a log file
(:class:`AccessLogFile`, formatted when its batch is written). There is one date cache,
:data:`dateCache`, for everything the server stamps with the current second (the ``Date``
header and log timestamps) and for the ``Last-Modified`` dates of files.
"""

from __future__ import annotations

import calendar
import time
from email.utils import formatdate, parsedate_tz
from typing import IO, TYPE_CHECKING, Any

from zope.interface import implementer

from glisten.web.iweb import IAccessLogFormatter

if TYPE_CHECKING:
    from collections.abc import Callable

    from glisten.internet.interfaces import IDelayedCall, IReactorTime
    from glisten.web.iweb import IRequest


def datetimeToString(msSinceEpoch: float | None = None) -> bytes:
    """An HTTP date (RFC 9110 5.6.7), e.g. ``b"Sun, 06 Nov 1994 08:49:37 GMT"``."""
    if msSinceEpoch is None:
        msSinceEpoch = time.time()
    return formatdate(msSinceEpoch, usegmt=True).encode("ascii")


def stringToDatetime(dateString: bytes) -> int:
    """Parse an HTTP date into seconds since the epoch.

    :raises ValueError: Not a date.
    """
    parsed = parsedate_tz(dateString.decode("ascii", "replace"))
    if parsed is None:
        raise ValueError(f"invalid HTTP date {dateString!r}")
    return calendar.timegm(parsed[:6]) - (parsed[9] or 0)


def datetimeToLogString(msSinceEpoch: float | None = None) -> str:
    """A timestamp in the Common Log Format: ``[25/Nov/2026:07:54:49 +0000]``."""
    return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(msSinceEpoch))


class _DateCache:
    """Dates formatted once a second rather than once a request (formatting is slow).

    :ivar second: The whole second the values below belong to.
    :ivar value: The HTTP date of that second (the ``Date`` header).
    :ivar log: The log timestamp of that second.
    """

    __slots__ = ("second", "value", "log", "_files")

    def __init__(self) -> None:
        self.second = -1
        self.value = b""
        self.log = ""
        self._files: dict[int, bytes] = {}

    def refresh(self, now: int) -> None:
        """Make the values those of second ``now``."""
        self.second = now
        self.value = datetimeToString(now)
        self.log = datetimeToLogString(now)

    def get(self) -> bytes:
        """The HTTP date of the current second."""
        now = int(time.time())
        if now != self.second:
            self.refresh(now)
        return self.value

    def logStamp(self) -> str:
        """The log timestamp of the current second."""
        now = int(time.time())
        if now != self.second:
            self.refresh(now)
        return self.log

    def httpDate(self, seconds: int) -> bytes:
        """:func:`datetimeToString` of any whole second, cached: the modification times of
        static files come back request after request."""
        files = self._files
        value = files.get(seconds)
        if value is None:
            if len(files) > 4096:
                files.clear()
            value = files[seconds] = datetimeToString(seconds)
        return value


#: The server's one date cache.
dateCache = _DateCache()


def _escape(s: str) -> str:
    return (
        s.replace("\\", "\\\\")
        .replace('"', '\\"')
        .encode("ascii", "backslashreplace")
        .decode("ascii")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _printable(b: bytes | None) -> str:
    if b is None:
        return "-"
    return _escape(b.decode("latin-1"))


def _formatLine(
    ip: str,
    timestamp: str,
    requestLine: bytes,
    code: int,
    length: int,
    referer: bytes | None,
    agent: bytes | None,
) -> str:
    """The Combined Log Format line; every field from the client is escaped, so a request
    cannot forge log lines."""
    return '"%s" - - %s "%s" %d %s "%s" "%s"' % (
        ip,
        timestamp,
        _printable(requestLine),
        code,
        str(length) if length else "-",
        _printable(referer),
        _printable(agent),
    )


def _lastHeader(request: IRequest, name: bytes) -> bytes | None:
    values = request.requestHeaders.getRawHeaders(name)
    return values[-1] if values else None


@implementer(IAccessLogFormatter)
def combinedLogFormatter(timestamp: str, request: IRequest) -> str:
    """One line in the Combined Log Format."""
    return _formatLine(
        getattr(request.getClientAddress(), "host", "-"),
        timestamp,
        request.method + b" " + request.uri + b" " + request.clientproto,
        request.code,
        request.sentLength,
        _lastHeader(request, b"referer"),
        _lastHeader(request, b"user-agent"),
    )


@implementer(IAccessLogFormatter)
def proxiedLogFormatter(timestamp: str, request: IRequest) -> str:
    """Like :func:`combinedLogFormatter`, with the client address taken from the last
    ``X-Forwarded-For`` entry (for a server behind a reverse proxy you trust)."""
    forwarded = _lastHeader(request, b"x-forwarded-for")
    line = combinedLogFormatter(timestamp, request)
    if forwarded:
        ip = _printable(forwarded.split(b",")[-1].strip())
        line = '"%s"%s' % (ip, line[line.index('"', 1) + 1 :])
    return line


class _AccessLine:
    """An access-log line for the logging system, formatted only if an observer reads it.

    It keeps a copy of the few fields the combined format needs, not the request: log buffers
    may hold many events, and holding whole requests there would cost memory and GC time.
    """

    __slots__ = ("fields", "timestamp", "_text")

    def __init__(self, timestamp: str, r: IRequest) -> None:
        # The parsed fields directly (this runs for every request); names are lower-cased.
        headers = r.requestHeaders._raw
        referer = headers.get(b"referer")
        agent = headers.get(b"user-agent")
        # The request line is joined only if the line is formatted.
        self.fields = (
            getattr(r.getClientAddress(), "host", "-"),
            (r.method, r.uri, r.clientproto),
            r.code,
            r.sentLength,
            referer[-1] if referer else None,
            agent[-1] if agent else None,
        )
        self.timestamp = timestamp
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            ip, line, code, length, referer, agent = self.fields
            self._text = _formatLine(
                ip, self.timestamp, b" ".join(line), code, length, referer, agent
            )
        return self._text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class AccessLogFile:
    """An access log file written in batches, off the request path.

    Each request only records the few fields of its line (or, with a custom formatter, the
    line itself); the lines are formatted and written, in order and with one ``write`` to the
    unbuffered file, :attr:`interval` seconds after the first of a batch or as soon as
    :attr:`maxLines` are waiting. A crash loses at most the last batch; :meth:`close`
    writes it.

    :param path: The file to append to.
    :param reactor: Schedules the batches.
    :param formatter: Makes a line from a log timestamp and a request.
    """

    #: Seconds a line may wait before its batch is written.
    interval = 1.0
    #: Lines that make a batch be written at once.
    maxLines = 1000

    def __init__(
        self, path: str, reactor: IReactorTime, formatter: Callable[[str, IRequest], str]
    ) -> None:
        # Unbuffered, appending: each batch is one write of whole lines, so several processes
        # (``glisten --workers``) can append to one file without splitting each other's lines.
        self._file: IO[bytes] = open(path, "ab", buffering=0)
        self._reactor = reactor
        self._formatter = formatter
        self._pending: list[Any] = []
        self._call: IDelayedCall | None = None

    def log(self, timestamp: str, request: IRequest) -> None:
        """Record the line of a finished request."""
        pending = self._pending
        if self._formatter is combinedLogFormatter:
            pending.append(_AccessLine(timestamp, request))
        else:
            pending.append(self._formatter(timestamp, request))
        if len(pending) >= self.maxLines:
            self.flush()
        elif self._call is None:
            self._call = self._reactor.callLater(self.interval, self.flush)

    def flush(self) -> None:
        """Write the waiting lines now."""
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()
        pending, self._pending = self._pending, []
        if pending:
            data = memoryview("".join([f"{line}\n" for line in pending]).encode("utf-8"))
            while data:
                written = self._file.write(data)
                if not written:
                    raise OSError("the access log file took no bytes")
                data = data[written:]

    def close(self) -> None:
        """Write the waiting lines and close the file."""
        self.flush()
        self._file.close()
