"""HTTP serving: glisten-web against twisted.web, loaded by ``wrk`` (Debian package ``wrk``).

Cases (server on 127.0.0.1, one ``wrk`` thread, 50 connections, requests/s):

- hello-world ``Resource``, keep-alive and a new connection per request;
- a 1 KiB static file (``static.File``), keep-alive and a new connection per request;
- a 1 MiB static file, keep-alive;
- for reference, the ceiling the reactor sets: a bare ``Protocol`` that answers every read
  with a canned response (no HTTP parsing at all), keep-alive.

Both servers are built the same way (a ``Site`` with default settings, so both write their
access log into their logging system) and run on the epoll reactor. The server runs in the
worker process's main thread; ``wrk`` runs as a child process started from a helper thread.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from typing import Any

from _harness import Case, main

DURATION = 3
CONNECTIONS = 50


def _serve(impl: str, kind: str, closeEach: bool) -> float:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if impl == "glisten":
        from glisten.internet.epollreactor import EPollReactor
        from glisten.web import resource, server, static

        reactor: Any = EPollReactor()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import reactor  # type: ignore[no-redef]
        from twisted.web import resource, server, static  # type: ignore[no-redef]

    class Hello(resource.Resource):  # type: ignore[misc, name-defined]
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"Hello, world!"

    folder = tempfile.mkdtemp()
    try:
        with open(os.path.join(folder, "1k.txt"), "wb") as f:
            f.write(b"x" * 1024)
        with open(os.path.join(folder, "1m.bin"), "wb") as f:
            f.write(os.urandom(1024 * 1024))
        if kind == "raw":
            from importlib import import_module

            protocol = import_module(
                "glisten.internet.protocol" if impl == "glisten" else "twisted.internet.protocol"
            )
            canned = (
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/html\r\n\r\n"
                b"Hello, world!"
            )

            class Canned(protocol.Protocol):  # type: ignore[name-defined, misc]
                def dataReceived(self, data: bytes) -> None:
                    self.transport.write(canned)

            site: Any = protocol.ServerFactory.forProtocol(Canned)
            path = "/"
        elif kind == "hello":
            root: Any = Hello()
            path = "/"
        else:
            root = static.File(folder)
            path = "/1k.txt" if kind == "1k" else "/1m.bin"
        if kind == "raw":
            pass
        elif impl == "glisten":
            site = server.Site(root, reactor=reactor)
        else:
            site = server.Site(root)
        port = reactor.listenTCP(0, site, backlog=1024, interface="127.0.0.1")
        url = f"http://127.0.0.1:{port.getHost().port}{path}"
        result: dict[str, str] = {}

        def load() -> None:
            try:
                args = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
                if closeEach:
                    args[1:1] = ["-H", "Connection: close"]
                result["out"] = subprocess.run(
                    args, capture_output=True, text=True, check=True
                ).stdout
            finally:
                reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=load, daemon=True).start)
        reactor.run(installSignalHandlers=False)
    finally:
        shutil.rmtree(folder)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", result.get("out", ""))
    if m is None:
        raise RuntimeError(f"cannot read wrk's output: {result.get('out')!r}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result["out"])
    if errors:
        raise RuntimeError(f"{errors.group(1)} error responses")
    return float(m.group(1))


def rawKeepAlive(impl: str, n: int) -> float:
    return _serve(impl, "raw", closeEach=False)


def helloKeepAlive(impl: str, n: int) -> float:
    return _serve(impl, "hello", closeEach=False)


def helloNewConnection(impl: str, n: int) -> float:
    return _serve(impl, "hello", closeEach=True)


def static1kKeepAlive(impl: str, n: int) -> float:
    return _serve(impl, "1k", closeEach=False)


def static1kNewConnection(impl: str, n: int) -> float:
    return _serve(impl, "1k", closeEach=True)


def static1mKeepAlive(impl: str, n: int) -> float:
    return _serve(impl, "1m", closeEach=False)


if __name__ == "__main__":
    main(
        [
            Case("hello-world keep-alive", helloKeepAlive, selfTimed=True, unit=" req/s"),
            Case("hello-world new connection", helloNewConnection, selfTimed=True, unit=" req/s"),
            Case("static 1 KiB keep-alive", static1kKeepAlive, selfTimed=True, unit=" req/s"),
            Case(
                "static 1 KiB new connection", static1kNewConnection, selfTimed=True, unit=" req/s"
            ),
            Case("static 1 MiB keep-alive", static1mKeepAlive, selfTimed=True, unit=" req/s"),
            Case(
                "reference: canned bytes, no HTTP, keep-alive",
                rawKeepAlive,
                selfTimed=True,
                unit=" req/s",
            ),
        ]
    )
