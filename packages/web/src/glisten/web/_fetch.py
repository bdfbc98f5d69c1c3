"""The ``glisten fetch`` command: a small, curl-like HTTP client over :mod:`glisten.web.client`.

``glisten fetch URL [-o FILE] [-X METHOD] [-H 'Name: value'] [-d DATA | -d @FILE] [-L] [-i]
[-f] [--cacert FILE] [--max-time SECONDS] [-s]``. The body goes to standard output (or
``FILE``); the log and a progress bar (on a terminal, for bodies over 1 MB) go to standard
error. The exit status is 0 for any HTTP response (22 with ``--fail`` for a status of 400 or
more) and 1 when no response arrived (the reason is one line on standard error).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO, Any

from zope.interface import implementer

from glisten.application.service import IService, IServiceMaker, Service
from glisten.internet.defer import Deferred, ensureDeferred
from glisten.internet.main import getReactor
from glisten.python.failure import Failure

#: Bodies above this size get a progress bar on a terminal.
PROGRESS_THRESHOLD = 1 << 20


class _Progress:
    """A one-line progress bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: IO[str], total: int | None) -> None:
        self._stream = stream
        self._total = total
        self._done = 0
        self._last = 0.0
        self._shown = False

    def update(self, n: int) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        mb = self._done / 1e6
        if self._total:
            share = self._done / self._total
            bar = "#" * int(share * 30)
            line = f"\r[{bar:<30}] {share:4.0%} {mb:8.1f} MB"
        else:
            line = f"\r{mb:8.1f} MB"
        self._stream.write(line)
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()


class FetchService(Service):
    """Makes one request, writes the response, then stops the reactor.

    :ivar exitStatus: The command's exit status, set when done.
    """

    exitStatus = 0

    def __init__(
        self,
        options: argparse.Namespace,
        reactor: Any = None,
        stdout: IO[bytes] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.options = options
        self._reactor = getReactor(reactor)
        self._stdout = stdout if stdout is not None else sys.stdout.buffer
        self._stderr = stderr if stderr is not None else sys.stderr
        self.done: Deferred[None] | None = None

    def startService(self) -> None:
        super().startService()
        self.done = ensureDeferred(self._fetch()).addErrback(self._failed)
        self.done.addBoth(lambda _: self._reactor.stop())

    def _client(self) -> Any:
        from glisten.internet.ssl import Certificate
        from glisten.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPClient

        trustRoot = None
        if self.options.cacert:
            with open(self.options.cacert, "rb") as f:
                trustRoot = Certificate.loadPEM(f.read())
        agent = Agent(self._reactor, BrowserLikePolicyForHTTPS(trustRoot))
        return HTTPClient(agent, reactor=self._reactor)

    async def _fetch(self) -> None:
        from glisten.web.client import collect

        options = self.options
        headers: dict[bytes, list[bytes]] = {}
        for line in options.header or []:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"not a header: {line!r} (use 'Name: value')")
            headers.setdefault(name.strip().encode("latin-1"), []).append(
                value.strip().encode("latin-1")
            )
        data: bytes | None = None
        if options.data is not None:
            if options.data.startswith("@"):
                with open(options.data[1:], "rb") as f:
                    data = f.read()
            else:
                data = options.data.encode("utf-8")
            headers.setdefault(b"content-type", [b"application/x-www-form-urlencoded"])
        method = options.request or ("POST" if data is not None else "GET")
        response = await self._client().request(
            method,
            options.url,
            headers=headers,
            data=data,
            timeout=options.max_time,
            allow_redirects=options.location,
        )
        out: IO[bytes] = (
            self._stdout if options.output in (None, "-") else open(options.output, "wb")
        )
        try:
            if options.include:
                version = b"HTTP/%d.%d" % response.version[1:]
                out.write(b"%s %d %s\r\n" % (version, response.code, response.phrase))
                for name, values in response.headers.getAllRawHeaders():
                    for value in values:
                        out.write(b"%s: %s\r\n" % (name, value))
                out.write(b"\r\n")
            length = response.length if isinstance(response.length, int) else None
            progress = None
            if (
                not options.silent
                and self._stderr.isatty()
                and (length is None or length > PROGRESS_THRESHOLD)
            ):
                progress = _Progress(self._stderr, length)

            def write(piece: bytes) -> None:
                out.write(piece)
                if progress is not None:
                    progress.update(len(piece))

            await collect(response, write)
            if progress is not None:
                progress.finish()
        finally:
            if out is not self._stdout:
                out.close()
            else:
                out.flush()
        if options.fail and response.code >= 400:
            self._stderr.write(f"glisten fetch: the server answered {response.code}\n")
            self.exitStatus = 22

    def _failed(self, failure: Failure) -> None:
        reasons = getattr(failure.value, "reasons", None)
        cause = reasons[0].value if reasons else failure.value
        self._stderr.write(f"glisten fetch: {type(cause).__name__}: {cause}\n")
        self._stderr.flush()
        self.exitStatus = 1


@implementer(IServiceMaker)
class FetchServiceMaker:
    """``glisten fetch``: fetch a URL."""

    tapname = "fetch"
    description = "Fetch a URL over HTTP or HTTPS (a small curl)."
    options = None
    #: The body is the command's result, on standard output: the log goes to standard error.
    resultOnStdout = True

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("url", help="the http:// or https:// URL to fetch")
        parser.add_argument("-o", "--output", metavar="FILE", help="write the body to FILE")
        parser.add_argument("-X", "--request", metavar="METHOD", help="the request method")
        parser.add_argument(
            "-H", "--header", action="append", metavar="'NAME: VALUE'", help="add a header"
        )
        parser.add_argument(
            "-d", "--data", metavar="DATA", help="send DATA (or @FILE) as the body, with POST"
        )
        parser.add_argument("-L", "--location", action="store_true", help="follow redirects")
        parser.add_argument(
            "-i", "--include", action="store_true", help="write the response head too"
        )
        parser.add_argument(
            "-f", "--fail", action="store_true", help="exit with 22 for a status of 400 or more"
        )
        parser.add_argument(
            "--cacert", metavar="FILE", help="trust the authorities in this PEM file instead"
        )
        parser.add_argument(
            "--max-time", type=float, metavar="SECONDS", help="give up waiting for the response"
        )
        parser.add_argument("-s", "--silent", action="store_true", help="no progress bar")

    def makeService(self, options: argparse.Namespace) -> IService:
        if not options.url.startswith(("http://", "https://")):
            raise ValueError(f"not an http:// or https:// URL: {options.url!r}")
        return FetchService(options)


#: The object published in the ``glisten.plugins`` entry-point group as ``fetch``.
fetchPlugin = FetchServiceMaker()
