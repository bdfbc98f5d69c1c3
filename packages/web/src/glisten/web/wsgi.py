"""Serve a WSGI (PEP 3333) application: :class:`WSGIResource`, as in ``twisted.web.wsgi``.

The application runs in a thread of the reactor's thread pool, so it may block; every write
it makes is handed to the reactor thread and waits there until it is written, which gives
the application the transport's back-pressure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, cast

from zope.interface import implementer

from glisten.internet.interfaces import IReactorThreads
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.python.threadpool import ThreadPool
from glisten.web import http, server
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource
from glisten.web.server import NOT_DONE_YET

_log = Logger()

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
Application = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _ErrorStream:
    """``wsgi.errors``: text written to it becomes log events."""

    def write(self, data: str) -> None:
        if not isinstance(data, str):
            raise TypeError("wsgi.errors takes str")
        if data.strip():
            _log.error("WSGI application error: {text}", text=data.rstrip("\n"))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


def _latin1(b: bytes) -> str:
    return b.decode("latin-1")


class _WSGIResponse:
    """One application call for one request."""

    def __init__(
        self,
        reactor: IReactorThreads,
        threadpool: ThreadPool,
        application: Application,
        request: server.Request,
    ) -> None:
        self.reactor = reactor
        self.threadpool = threadpool
        self.application = application
        self.request = request
        self.started = False
        self.headersSent = False
        self.requestFinished = False
        self.status: str | None = None
        self.headers: list[tuple[str, str]] | None = None
        request.notifyFinish().addBoth(self._finished)
        self.environ = self._environ(request)

    def _finished(self, result: object) -> None:
        self.requestFinished = True

    @staticmethod
    def _environ(request: server.Request) -> dict[str, Any]:
        scriptName = b"/" + b"/".join(request.prepath) if request.prepath else b""
        pathInfo = b"/" + b"/".join(request.postpath) if request.postpath else b""
        _, _, query = request.uri.partition(b"?")
        host = request.getHost()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": _latin1(request.method),
            "SCRIPT_NAME": _latin1(scriptName),
            "PATH_INFO": _latin1(pathInfo),
            "QUERY_STRING": _latin1(query),
            "CONTENT_TYPE": _latin1(request.getHeader(b"content-type") or b""),
            "CONTENT_LENGTH": _latin1(request.getHeader(b"content-length") or b""),
            "SERVER_NAME": _latin1(request.getRequestHostname()),
            "SERVER_PORT": str(getattr(host, "port", "")),
            "SERVER_PROTOCOL": _latin1(request.clientproto),
            "REMOTE_ADDR": str(getattr(request.getClientAddress(), "host", "")),
            "REMOTE_PORT": str(getattr(request.getClientAddress(), "port", "")),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if request.isSecure() else "http",
            "wsgi.input": request.content,
            "wsgi.errors": _ErrorStream(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, values in request.requestHeaders._raw.items():
            if name in (b"content-type", b"content-length"):
                continue
            key = "HTTP_" + _latin1(name).upper().replace("-", "_")
            environ[key] = ",".join(_latin1(v) for v in values)
        return environ

    def start(self) -> None:
        self.threadpool.callInThread(self.run)

    def startResponse(
        self,
        status: str,
        headers: list[tuple[str, str]],
        excInfo: _ExcInfo | None = None,
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response``, with its type checks."""
        if excInfo is not None and self.headersSent:
            raise excInfo[1].with_traceback(excInfo[2])
        if not isinstance(status, str):
            raise TypeError(f"status must be str, not {status!r}")
        if not isinstance(headers, list):
            raise TypeError(f"headers must be a list, not {headers!r}")
        for header in headers:
            if (
                not isinstance(header, tuple)
                or len(header) != 2
                or not all(isinstance(x, str) for x in header)
            ):
                raise TypeError(f"each header must be a (str, str) tuple, not {header!r}")
        self.status = status
        self.headers = headers
        self.started = True
        return self.write

    def write(self, data: bytes) -> None:
        """Write body bytes from the application's thread, waiting until they are written."""
        if not isinstance(data, bytes):
            raise TypeError(f"WSGI body data must be bytes, not {type(data).__name__}")
        if not self.started:
            raise RuntimeError("write() called before start_response()")
        from glisten.internet.threads import blockingCallFromThread

        def wsgiWrite() -> None:
            if self.requestFinished:
                return
            if not self.headersSent:
                self._sendHeaders()
            self.request.write(data)

        blockingCallFromThread(self.reactor, wsgiWrite)

    def _sendHeaders(self) -> None:
        assert self.status is not None and self.headers is not None
        self.headersSent = True
        code, _, message = self.status.partition(" ")
        self.request.setResponseCode(int(code), message.encode("latin-1"))
        raw = self.request.responseHeaders
        replaced: set[str] = set()
        for name, value in self.headers:
            lower = name.lower()
            if lower in ("server", "date") and lower not in replaced:
                raw.removeHeader(name.encode("latin-1"))
                replaced.add(lower)
            raw.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))

    def run(self) -> None:
        """Call the application (in a pool thread)."""
        try:
            result = self.application(self.environ, self.startResponse)
            try:
                for chunk in result:
                    if chunk:
                        self.write(chunk)
                    if self.requestFinished:
                        break
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except BaseException:
            failure = Failure()

            def wsgiError() -> None:
                _log.failure("WSGI application error", failure=failure)
                if self.requestFinished:
                    return
                if self.headersSent:
                    self.request.loseConnection()
                else:
                    self.request.setResponseCode(http.INTERNAL_SERVER_ERROR)
                    self.request.responseHeaders.setRawHeaders(b"content-length", [b"0"])
                    self.request.finish()

            self.reactor.callFromThread(wsgiError)
        else:

            def wsgiFinish() -> None:
                if self.requestFinished:
                    return
                if not self.started:
                    self.request.setResponseCode(http.INTERNAL_SERVER_ERROR)
                    self.request.finish()
                    return
                if not self.headersSent:
                    self._sendHeaders()
                self.request.finish()

            self.reactor.callFromThread(wsgiFinish)


@implementer(IResource)
class WSGIResource:
    """A leaf resource that hands every request to a WSGI application.

    :param reactor: The reactor (``None``: the global one, looked up per request).
    :param threadpool: Where the application runs (``None``: ``reactor.getThreadPool()``).
    :param application: The WSGI callable.
    """

    isLeaf = True

    def __init__(
        self,
        reactor: IReactorThreads | None,
        threadpool: ThreadPool | None,
        application: Application,
    ) -> None:
        self._reactor = reactor
        self._threadpool = threadpool
        self._application = application

    def render(self, request: IRequest) -> int:
        if not isinstance(request, server.Request):
            raise TypeError("a WSGIResource renders site requests (glisten.web.server.Request)")
        reactor = getReactor(self._reactor)
        threadpool = self._threadpool
        if threadpool is None:
            threadpool = cast(ThreadPool, reactor.getThreadPool())
        _WSGIResponse(reactor, threadpool, self._application, request).start()
        return NOT_DONE_YET

    def getChildWithDefault(self, name: bytes, request: IRequest) -> IResource:
        raise RuntimeError("a WSGIResource has no children")

    def putChild(self, path: bytes, child: IResource) -> None:
        raise RuntimeError("a WSGIResource has no children")
