"""The ``glisten web`` command-line plugin, as ``twist web`` in ``twisted.web.tap``.

``glisten web --path DIR`` serves a folder; ``--wsgi module.app`` a WSGI application;
``--class module.Resource`` a resource class. ``--listen`` takes endpoint strings (repeatable,
default ``tcp:8080``), e.g. ``--listen ssl:8443:privateKey=key.pem:certKey=cert.pem``. With the
``http2`` extra, TLS ports offer HTTP/2 by ALPN; ``--http2`` also serves it in clear text
(prior knowledge and ``Upgrade: h2c``), ``--no-http2`` never; when the service stops, HTTP/2
connections get GOAWAY and finish their open streams.

Unlike ``twist web``, a folder is served without its hidden files and folders (``.git/``,
``.env``: 404 unless ``--allow-hidden``), files of unknown type are
``application/octet-stream`` (not ``text/html``), and once listening the command logs the URL
it serves on (``serving /srv/www on http://127.0.0.1:8080/``).

Made to run behind a load balancer and as ``glisten --workers N web``: ``--health PATH``
answers 200 there, and 503 once the server is stopping; on SIGTERM the server keeps serving
for ``--drain-delay`` seconds (so the balancer's health check sees the 503 and sends no more),
then stops listening, finishes the requests in flight (each response closing its connection)
and exits.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from zope.interface import implementer

from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IService, IShareableServiceMaker, MultiService
from glisten.internet.defer import Deferred
from glisten.internet.interfaces import (
    IAddress,
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.web import http, resource, server, static
from glisten.web._channel import http2Available
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, RenderResult
from glisten.web.wsgi import WSGIResource

_log = Logger()


class _AddHeadersResource(resource.Resource):
    """Adds fixed response headers to everything below it (``--add-header``)."""

    def __init__(self, original: IResource, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        self._original = original
        self._headers = headers
        self.isLeaf = bool(original.isLeaf)

    def _add(self, request: IRequest) -> None:
        for name, value in self._headers:
            request.responseHeaders.addRawHeader(name, value)

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        self._add(request)
        return self._original.getChildWithDefault(path, request)

    def render(self, request: IRequest) -> RenderResult:
        self._add(request)
        return self._original.render(request)


class _HealthResource(resource.Resource):
    """Answers a load balancer's health check: 200 while serving, 503 while draining."""

    isLeaf = True

    def render(self, request: IRequest) -> RenderResult:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        site = getattr(getattr(request, "channel", None), "factory", None)
        if site is not None and site.draining:
            request.setResponseCode(http.SERVICE_UNAVAILABLE)
            return b"draining\n"
        return b"ok\n"


class _HealthCheckedResource(resource.Resource):
    """``original``, except at the health path (``--health``), before any other resource
    (so neither a folder nor an application can shadow it)."""

    def __init__(self, original: IResource, path: bytes) -> None:
        super().__init__()
        self._original = original
        self._path = path
        self._health = _HealthResource()
        self.isLeaf = bool(original.isLeaf)

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        if request.path == self._path:
            return self._health
        return self._original.getChildWithDefault(path, request)

    def render(self, request: IRequest) -> RenderResult:
        if request.path == self._path:
            return self._health.render(request)
        return self._original.render(request)


def _namedAny(name: str, option: str) -> Any:
    module, _, attr = name.rpartition(".")
    if not module or not attr:
        raise ValueError(f"{option} needs module.name, not {name!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"{option}: cannot import {module!r}: {e}") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ValueError(f"{option}: module {module!r} has no {attr!r}") from None


def _parseHeader(text: str) -> tuple[bytes, bytes]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--add-header needs 'Name: value', not {text!r}")
    if "\r" in text or "\n" in text:
        raise ValueError("--add-header cannot contain line breaks")
    return name.strip().encode("latin-1"), value.strip().encode("latin-1")


def _parseProcessor(text: str) -> tuple[str, Any]:
    ext, sep, name = text.partition("=")
    if not sep or not ext.startswith(".") or not name:
        raise ValueError(f"--processor needs '.ext=module.Callable', not {text!r}")
    processor = _namedAny(name, "--processor")
    if not callable(processor):
        raise ValueError(f"--processor: {name!r} is not callable")
    return ext, processor


def makeResource(options: argparse.Namespace) -> IResource:
    """The root resource the options describe.

    :raises ValueError: The options do not name exactly one thing to serve, or it cannot be
        loaded.
    """
    chosen = [
        n for n in ("path", "wsgi", "resourceClass", "resourceScript") if getattr(options, n, None)
    ]
    if len(chosen) != 1:
        raise ValueError("give exactly one of --path, --wsgi, --class or --resource-script")
    root: IResource
    if options.path:
        path = os.path.abspath(options.path)
        if not os.path.exists(path):
            raise ValueError(f"--path: {options.path!r} does not exist")
        files = static.File(path, defaultType=options.mimeType)
        files.indexNames = [*(options.index or []), *static.File.indexNames]
        files.allowHidden = bool(getattr(options, "allowHidden", False))
        for ext in getattr(options, "ignoreExt", None) or []:
            files.ignoreExt(ext if ext.startswith(".") else "." + ext)
        if getattr(options, "allowIgnoreExt", False):
            files.ignoreExt("*")
        files.precompressed = not getattr(options, "noPrecompressed", False)
        cacheControl = getattr(options, "cacheControl", None)
        if cacheControl is not None:
            if "\r" in cacheControl or "\n" in cacheControl or not cacheControl.strip():
                raise ValueError("--cache-control needs a value on one line")
            files.headers[b"cache-control"] = cacheControl.strip().encode("latin-1")
        processors: dict[str, Any] = {}
        if getattr(options, "runScripts", False):
            from glisten.web.script import PythonScript, ResourceScript
            from glisten.web.twcgi import CGIScript

            processors = {".rpy": ResourceScript, ".epy": PythonScript, ".cgi": CGIScript}
        processors.update(_parseProcessor(p) for p in getattr(options, "processor", None) or [])
        if processors:
            files.processors = processors
        root = files
    elif getattr(options, "cacheControl", None) is not None:
        raise ValueError("--cache-control goes with --path (use --add-header otherwise)")
    elif getattr(options, "resourceScript", None):
        from glisten.web.script import ResourceScriptWrapper

        scriptPath = os.path.abspath(options.resourceScript)
        if not os.path.isfile(scriptPath):
            raise ValueError(f"--resource-script: {options.resourceScript!r} is not a file")
        root = ResourceScriptWrapper(scriptPath)
    elif options.wsgi:
        application = _namedAny(options.wsgi, "--wsgi")
        if not callable(application):
            raise ValueError(f"--wsgi: {options.wsgi!r} is not callable")
        root = WSGIResource(None, None, application)
    else:
        cls = _namedAny(options.resourceClass, "--class")
        try:
            root = cls()
        except Exception as e:
            raise ValueError(f"--class: {options.resourceClass!r}() failed: {e}") from None
        if not resource.IResource.providedBy(root):
            raise ValueError(f"--class: {options.resourceClass!r} is not a resource")
    headers = [_parseHeader(h) for h in options.addHeader or []]
    if headers:
        root = _AddHeadersResource(root, headers)
    health = getattr(options, "health", None)
    if health:
        if not health.startswith("/") or "?" in health or "#" in health:
            raise ValueError(f"--health needs a path such as /healthz, not {health!r}")
        root = _HealthCheckedResource(root, health.encode("utf-8"))
    return root


#: Where ``glisten web`` listens when not told.
DEFAULT_LISTEN = "tcp:8080"


@implementer(IShareableServiceMaker)
class WebServiceMaker:
    """The ``web`` plugin of the ``glisten`` command (runs with ``glisten --workers N``)."""

    tapname = "web"
    description = "Serve a folder, a WSGI application or a resource over HTTP(S)."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listen",
            action="append",
            metavar="ENDPOINT",
            help="where to listen, as an endpoint string (repeatable; default tcp:8080)",
        )
        parser.add_argument("--path", metavar="DIR", help="serve the files in DIR")
        parser.add_argument("--wsgi", metavar="MODULE.APP", help="serve a WSGI application")
        parser.add_argument(
            "--class",
            dest="resourceClass",
            metavar="MODULE.CLASS",
            help="serve an instance of a resource class",
        )
        parser.add_argument(
            "--resource-script",
            dest="resourceScript",
            metavar="FILE.rpy",
            help="serve the resource a .rpy script makes (run again when it changes)",
        )
        parser.add_argument(
            "--processor",
            action="append",
            metavar=".EXT=MODULE.CALLABLE",
            help="with --path, serve files ending in .EXT through a processor, e.g. "
            ".rpy=glisten.web.script.ResourceScript (repeatable; none by default)",
        )
        parser.add_argument(
            "--run-scripts",
            dest="runScripts",
            action="store_true",
            help="with --path, run .rpy, .epy and .cgi files as twist web --path does"
            " (off by default: anyone who can add a file could run code)",
        )
        parser.add_argument(
            "--ignore-ext",
            dest="ignoreExt",
            action="append",
            metavar=".EXT",
            help="with --path, let /name find name.EXT (repeatable)",
        )
        parser.add_argument(
            "--allow-ignore-ext",
            dest="allowIgnoreExt",
            action="store_true",
            help="with --path, let /name find name.ANYTHING (the first such file by name)",
        )
        parser.add_argument(
            "--cache-control",
            dest="cacheControl",
            metavar="VALUE",
            help='with --path, send "Cache-Control: VALUE" with files, e.g. "max-age=3600"',
        )
        parser.add_argument(
            "--no-precompressed",
            dest="noPrecompressed",
            action="store_true",
            help="with --path, do not send NAME.br or NAME.gz (with Content-Encoding) for NAME"
            " to clients that accept them",
        )
        parser.add_argument(
            "--index",
            action="append",
            metavar="NAME",
            help="a file name to serve for a folder (repeatable; tried before index.html)",
        )
        parser.add_argument(
            "--add-header",
            dest="addHeader",
            action="append",
            metavar='"NAME: VALUE"',
            help="add a header to every response (repeatable)",
        )
        parser.add_argument(
            "--mime-type",
            dest="mimeType",
            default=static.DEFAULT_TYPE,
            metavar="TYPE",
            help=f"MIME type of files with an unknown extension (default {static.DEFAULT_TYPE})",
        )
        parser.add_argument(
            "--allow-hidden",
            dest="allowHidden",
            action="store_true",
            help="serve files and folders whose name starts with '.' (404 by default)",
        )
        parser.add_argument(
            "--display-tracebacks",
            dest="displayTracebacks",
            action="store_true",
            help="show tracebacks (escaped) in 500 pages",
        )
        parser.add_argument(
            "--access-log",
            dest="accessLog",
            metavar="FILE",
            help="write the access log (combined format) to FILE, in batches at most a second"
            " late (default: to the log, with the other messages)",
        )
        parser.add_argument(
            "--no-access-log",
            dest="noAccessLog",
            action="store_true",
            help="keep no access log",
        )
        parser.add_argument(
            "--https",
            dest="httpsPort",
            type=int,
            metavar="PORT",
            help="also listen with TLS on PORT (needs --certificate and --privkey)",
        )
        parser.add_argument("--certificate", metavar="FILE", help="TLS certificate (PEM)")
        parser.add_argument("--privkey", metavar="FILE", help="TLS private key (PEM)")
        parser.add_argument(
            "--logfile", dest="accessLog", metavar="FILE", help="twist web's name for --access-log"
        )
        parser.add_argument(
            "--max-request-body",
            dest="maxRequestBody",
            type=int,
            metavar="BYTES",
            help="largest request body accepted (default 64 MiB); larger gets 413",
        )
        parser.add_argument(
            "--http2",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="serve HTTP/2: with --http2 also in clear text (prior knowledge and"
            " Upgrade: h2c); by default only over TLS (ALPN), when glisten-web[http2] is"
            " installed; --no-http2 never",
        )
        parser.add_argument(
            "--min-body-rate",
            dest="minBodyRate",
            type=float,
            metavar="BYTES_PER_SECOND",
            help="a request body averaging less (over at least --body-rate-window seconds)"
            " gets 408 (default 1024; 0 turns it off)",
        )
        parser.add_argument(
            "--body-rate-window",
            dest="bodyRateWindow",
            type=float,
            metavar="SECONDS",
            help="seconds a request body has before its rate is first checked (default 30)",
        )
        parser.add_argument(
            "--health",
            metavar="PATH",
            help="answer a load balancer's health check at PATH: 200, or 503 while stopping",
        )
        parser.add_argument(
            "--drain-delay",
            dest="drainDelay",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="when stopping, go on serving (health 503) this long before closing the "
            "listening sockets, for a load balancer to notice (default 0)",
        )

    def listeningEndpoints(self, options: argparse.Namespace) -> list[str]:
        """The ``--listen`` endpoints (``tcp:8080`` if none) and the ``--https`` one: what
        ``glisten --workers`` binds once and shares."""
        return _listenStrings(options)

    def makeService(self, options: argparse.Namespace) -> IService:
        """Build the service: one listening port per ``--listen``.

        :raises ValueError: With a message for the user.
        """
        from glisten.internet.endpoints import serverFromString

        root = makeResource(options)
        # ``glisten`` has installed the reactor the user chose before calling this.
        reactor = getReactor()
        if options.noAccessLog and options.accessLog:
            raise ValueError("--access-log and --no-access-log exclude each other")
        siteClass = _SiteWithoutAccessLog if options.noAccessLog else server.Site
        site = siteClass(root, logPath=options.accessLog, reactor=reactor)
        site.displayTracebacks = bool(options.displayTracebacks)
        http2 = getattr(options, "http2", None)
        if http2 and not http2Available():
            raise ValueError("--http2 needs the h2 package: install glisten-web[http2]")
        site.http2 = http2
        if options.maxRequestBody is not None:
            if options.maxRequestBody < 0:
                raise ValueError("--max-request-body must not be negative")
            site.maxRequestBody = options.maxRequestBody
        if options.minBodyRate is not None:
            if not options.minBodyRate >= 0:
                raise ValueError("--min-body-rate must not be negative")
            site.minBodyRate = options.minBodyRate
        if options.bodyRateWindow is not None:
            if not options.bodyRateWindow > 0:
                raise ValueError("--body-rate-window must be positive")
            site.bodyRateWindow = options.bodyRateWindow
        drainDelay = getattr(options, "drainDelay", 0.0) or 0.0
        if not drainDelay >= 0:
            raise ValueError("--drain-delay must not be negative")
        service = _DrainingService(site, drainDelay, reactor)
        what = _whatIsServed(options)
        for description in self.listeningEndpoints(options):
            endpoint = serverFromString(reactor, description)
            tls = description.split(":", 1)[0].lower() in ("ssl", "tls")
            _AnnouncingService(endpoint, site, what, tls).setServiceParent(service)
        return service


class _SiteWithoutAccessLog(server.Site):
    """A site that logs no requests (``--no-access-log``)."""

    def log(self, request: Any) -> None:
        pass


def _whatIsServed(options: argparse.Namespace) -> str:
    if getattr(options, "resourceScript", None):
        return os.path.abspath(options.resourceScript)
    if options.path:
        return os.path.abspath(options.path)
    if options.wsgi:
        return f"WSGI application {options.wsgi}"
    return str(options.resourceClass)


def _listenStrings(options: argparse.Namespace) -> list[str]:
    """The endpoint strings: ``--listen`` (default ``tcp:8080``) plus the ``--https`` one."""
    listen = list(options.listen or [])
    httpsPort = getattr(options, "httpsPort", None)
    if httpsPort is not None:
        if not options.certificate or not options.privkey:
            raise ValueError("--https needs --certificate and --privkey")
        for path in (options.certificate, options.privkey):
            if not os.path.isfile(path):
                raise ValueError(f"TLS file {path!r} does not exist")

        def quoted(path: str) -> str:
            return os.path.abspath(path).replace("\\", "\\\\").replace(":", "\\:")

        listen.append(
            f"ssl:{httpsPort}:privateKey={quoted(options.privkey)}"
            f":certKey={quoted(options.certificate)}"
        )
        if not options.listen:
            listen.insert(0, DEFAULT_LISTEN)
    return listen or [DEFAULT_LISTEN]


def serviceURL(address: IAddress, tls: bool = False) -> str:
    """Where a browser reaches a port bound to ``address`` (an ``IAddress``).

    A wildcard address is shown as the loopback one: ``http://0.0.0.0:8080/`` is no place to
    point a browser at.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if not isinstance(host, str) or not isinstance(port, int):
        name = getattr(address, "name", None)
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        return f"unix:{name}" if name else str(address)
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}/"


class _DrainingService(MultiService):
    """The listening ports, stopped gracefully: mark the site draining (health checks fail,
    responses close their connections), wait ``delay`` seconds, stop listening, then wait
    for the open connections to finish (the runner's ``--grace`` bounds that)."""

    def __init__(self, site: server.Site, delay: float, reactor: Any) -> None:
        super().__init__()
        self._site = site
        self._delay = delay
        self._reactor = reactor

    def stopService(self) -> Deferred[None]:
        from glisten.internet.task import deferLater

        self._site.draining = True
        if self._delay > 0:
            _log.info("draining: serving {delay} s more before closing", delay=self._delay)
            waited: Deferred[Any] = deferLater(self._reactor, self._delay, lambda: None)
        else:
            waited = Deferred()
            waited.callback(None)
        stopping = waited.addCallback(lambda _: super(_DrainingService, self).stopService())
        return stopping.addCallback(lambda _: self._site.drain())


class _AnnouncingService(StreamServerEndpointService):
    """Listens like its base class and, once listening, logs what it serves where."""

    def __init__(
        self, endpoint: IStreamServerEndpoint, factory: IProtocolFactory, what: str, tls: bool
    ) -> None:
        super().__init__(endpoint, factory)
        self._what = what
        self._tls = tls

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        if self._waitingForPort is not None:
            self._waitingForPort.addCallback(self._announce)

    def stopService(self) -> Any:
        """Stop listening, then let open HTTP/2 connections finish their streams (GOAWAY)."""
        d = super().stopService()
        factory = self.factory
        if getattr(factory, "http2", False) is not False and http2Available():
            from glisten.web._http2 import drainHTTP2

            d.addCallback(lambda _: drainHTTP2(factory, getReactor()))
        return d

    def _announce(self, port: IListeningPort | None) -> IListeningPort | None:
        if port is not None:
            _log.info(
                "serving {what} on {url}",
                what=self._what,
                url=serviceURL(port.getHost(), self._tls),
            )
        return port


#: The object published in the ``glisten.plugins`` entry-point group as ``web``.
serviceMaker = WebServiceMaker()
