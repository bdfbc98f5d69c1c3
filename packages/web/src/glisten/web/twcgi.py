"""CGI scripts as resources, as in ``twisted.web.twcgi``: :class:`CGIScript`,
:class:`FilteredScript` and :class:`CGIDirectory`.

A script is started through the reactor (``spawnProcess``) for each request, gets the RFC 3875
meta-variables, reads the request body on its standard input, and its output is streamed to
the client as it comes, paced by the connection.

Where this differs from Twisted, on purpose:

- the script's header block is checked strictly (see :mod:`glisten.web._cgi`): a malformed
  head is a 500, never forwarded, so a script cannot inject headers or responses;
- ``Proxy`` is never passed as ``HTTP_PROXY`` ("httpoxy"), nor ``Authorization`` (RFC 3875
  section 4.1.18), nor header names with ``_`` (they could pose as others);
- the server's own environment is not passed on, only ``PATH`` (it may hold secrets);
- a query string without ``=`` is not turned into command-line arguments (RFC 3875 section
  4.4 allows it; it let ``?-s`` reach ``php-cgi``'s options, CVE-2012-1823);
- the script is killed when the client goes away.
"""

from __future__ import annotations

import os
from typing import Any

from glisten.internet.interfaces import IReactorProcess
from glisten.internet.main import getReactor
from glisten.internet.protocol import ProcessProtocol
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import http, resource
from glisten.web._cgi import CGILimits, CGIResponseError, CGIResponseParser, cgiEnvironment
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource
from glisten.web.server import NOT_DONE_YET, version

__all__ = ["CGIDirectory", "CGIProcessProtocol", "CGIScript", "FilteredScript"]

_log = Logger()

#: Request body read and written to the script at a time.
_CHUNK = 65536


class CGIDirectory(resource.Resource):
    """A folder whose files are CGI scripts and whose subfolders are such folders. The
    folder itself is not listed (403).

    :param pathname: The folder.
    :param reactor: Spawns the scripts; the global reactor if ``None``.
    """

    def __init__(self, pathname: str, reactor: IReactorProcess | None = None) -> None:
        super().__init__()
        self.path = os.path.abspath(pathname)
        self._reactor = reactor

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        name = os.fsdecode(path)
        if not name:
            return self
        if name in (".", "..") or "/" in name or "\0" in name or name.startswith("."):
            return resource.NoResource()
        child = os.path.join(self.path, name)
        if os.path.isdir(child):
            return CGIDirectory(child, self._reactor)
        if os.path.isfile(child):
            return CGIScript(child, reactor=self._reactor)
        return resource.NoResource()

    def render(self, request: IRequest) -> bytes:
        return resource.ForbiddenResource(
            "CGI directories do not support directory listing."
        ).render(request)


class CGIScript(resource.Resource):
    """One CGI script; the rest of the URL path is its ``PATH_INFO``.

    :param filename: The executable.
    :param registry: Ignored; kept for Twisted compatibility (``static.File`` processors pass
        it).
    :param reactor: Spawns the script; the global reactor if ``None``.
    :ivar limits: The limits on the script's header block.
    """

    isLeaf = True
    limits = CGILimits()

    def __init__(
        self, filename: str, registry: object = None, reactor: IReactorProcess | None = None
    ) -> None:
        super().__init__()
        self.filename = filename
        self._reactor = reactor

    def _environment(self, request: Any) -> dict[str, str]:
        prepath: list[bytes] = getattr(request, "prepath", [])
        postpath: list[bytes] = getattr(request, "postpath", [])
        host = request.getHost()
        content = request.content
        content.seek(0, 2)
        length = content.tell()
        content.seek(0)
        return cgiEnvironment(
            method=request.method,
            uri=request.uri,
            clientproto=request.clientproto,
            scriptName="/" + "/".join(os.fsdecode(p) for p in prepath),
            scriptFilename=self.filename,
            pathInfo="/" + "/".join(os.fsdecode(p) for p in postpath) if postpath else None,
            serverName=request.getRequestHostname(),
            serverPort=getattr(host, "port", 0),
            remoteAddr=request.getClientIP(),
            secure=request.isSecure(),
            headers=request.getAllHeaders(),
            contentLength=length,
            serverSoftware=version.decode("ascii"),
        )

    def render(self, request: IRequest) -> int:
        """Start the script; it answers the request."""
        self.runProcess(self._environment(request), request)
        return NOT_DONE_YET

    def runProcess(self, env: dict[str, str], request: IRequest, qargs: list[bytes] = []) -> None:  # noqa: B006
        """Spawn the script with ``env`` in its folder.

        :param qargs: Extra command-line arguments (Twisted passes query words here;
            glisten's :meth:`render` never does).
        """
        reactor: Any = getReactor(self._reactor)
        protocol = CGIProcessProtocol(request, self.limits)
        reactor.spawnProcess(
            protocol,
            self.filename,
            [self.filename, *(os.fsdecode(a) for a in qargs)],
            env,
            os.path.dirname(self.filename),
        )


class FilteredScript(CGIScript):
    """A file run by an interpreter (:attr:`filter`) rather than executed itself.

    :ivar filter: The interpreter's path, e.g. ``/usr/bin/php-cgi``.
    """

    filter = "/usr/bin/cat"

    def runProcess(self, env: dict[str, str], request: IRequest, qargs: list[bytes] = []) -> None:  # noqa: B006
        reactor: Any = getReactor(self._reactor)
        protocol = CGIProcessProtocol(request, self.limits)
        reactor.spawnProcess(
            protocol,
            self.filter,
            [self.filter, self.filename, *(os.fsdecode(a) for a in qargs)],
            env,
            os.path.dirname(self.filename),
        )


class CGIProcessProtocol(ProcessProtocol):
    """Feeds the request body to a script and its output to the response.

    It is the response's producer: when the client reads slowly, the script's output is
    paused.

    :param request: The request being answered.
    :param limits: Limits on the script's header block.
    """

    def __init__(self, request: Any, limits: CGILimits | None = None) -> None:
        self.request = request
        self._parser = CGIResponseParser(limits or CGILimits())
        self._failed = False
        self._requestGone = False

    # -- producer -------------------------------------------------------------------------

    def pauseProducing(self) -> None:
        if self.transport is not None:
            self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        if self.transport is not None:
            self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self._kill()

    def _kill(self) -> None:
        transport: Any = self.transport
        if transport is None:
            return
        try:
            transport.signalProcess("KILL")
        except Exception:  # the process has already gone
            pass

    # -- process ----------------------------------------------------------------------------

    def connectionMade(self) -> None:
        request = self.request
        request.registerProducer(self, True)
        request.notifyFinish().addErrback(self._requestLost)
        transport: Any = self.transport
        content = request.content
        content.seek(0)
        while True:
            chunk = content.read(_CHUNK)
            if not chunk:
                break
            transport.write(chunk)
        transport.closeStdin()

    def _requestLost(self, reason: Failure) -> None:
        self._requestGone = True
        self._kill()

    def outReceived(self, data: bytes) -> None:
        if self._failed or self._requestGone:
            return
        try:
            head, body = self._parser.receiveData(data)
        except CGIResponseError as e:
            _log.error(
                "CGI script {script!r} wrote a bad header: {error}",
                script=self._script(),
                error=str(e),
            )
            self._fail()
            return
        request = self.request
        if head is not None:
            request.setResponseCode(head.status, head.reason)
            for name, value in head.headers:
                request.responseHeaders.addRawHeader(name, value)
        if body and self._parser.head is not None:
            request.write(body)

    def errReceived(self, data: bytes) -> None:
        _log.error(
            "CGI script {script!r} wrote to stderr: {text}",
            script=self._script(),
            text=data.decode("utf-8", "replace")[:2000],
        )

    def _script(self) -> str:
        return os.fsdecode(getattr(self.request, "uri", b""))

    def _fail(self) -> None:
        self._failed = True
        self._kill()
        request = self.request
        if request.startedWriting:
            transport = getattr(request.channel, "transport", None)
            if transport is not None:
                transport.abortConnection()
            return
        request.responseHeaders = type(request.responseHeaders)()
        page = resource.ErrorPage(
            http.INTERNAL_SERVER_ERROR, "CGI Script Error", "The script's response was invalid."
        )
        request.write(page.render(request))

    def processEnded(self, reason: Failure) -> None:
        request = self.request
        request.unregisterProducer()
        if self._requestGone or getattr(request, "finished", False):
            return
        if not self._failed and self._parser.head is None:
            _log.error("CGI script {script!r} ended before its header", script=self._script())
            self._fail()
        request.finish()
