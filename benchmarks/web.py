"""HTTP serving: glisten-web against twisted.web, loaded by ``wrk`` (Debian package ``wrk``).

Cases (server on 127.0.0.1, one ``wrk`` thread, 50 connections, requests/s, best of three
one-second runs):

- hello-world ``Resource``, keep-alive and a new connection per request;
- a 1 KiB static file (``static.File``), keep-alive and a new connection per request;
- a 1 MiB static file, keep-alive;
- for reference, the ceiling the reactor sets: a bare ``Protocol`` that answers every read
  with a canned response (no HTTP parsing at all), keep-alive;
- hello-world and the canned reference again, as requests per CPU-second of the server
  process (steadier than requests/s when other work shares the machine).

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
import time
from typing import Any

from _harness import Case, main

#: Seconds per wrk run, and runs per case: the best run counts, which keeps a busy machine's
#: bursts of other work from deciding the result.
DURATION = 1
RUNS = 3
CONNECTIONS = 50


def _serve(impl: str, kind: str, closeEach: bool, perCPU: bool = False) -> float:
    """Serve ``kind`` and load it with wrk.

    :param perCPU: Return requests per CPU-second of the server process instead of per
        second of wall-clock time: on a machine busy with other work this is the steadier
        measure of the server's own cost.
    """
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
        result: dict[str, Any] = {}

        def load() -> None:
            try:
                args = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
                if closeEach:
                    args[1:1] = ["-H", "Connection: close"]
                outputs = []
                cpu = []
                for _ in range(RUNS):
                    before = time.process_time()
                    outputs.append(
                        subprocess.run(args, capture_output=True, text=True, check=True).stdout
                    )
                    cpu.append(time.process_time() - before)
                result["out"] = "\n".join(outputs)
                result["cpu"] = cpu
            finally:
                reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=load, daemon=True).start)
        reactor.run(installSignalHandlers=False)
    finally:
        shutil.rmtree(folder)
    rates = re.findall(r"Requests/sec:\s+([0-9.]+)", result.get("out", ""))
    if len(rates) != RUNS:
        raise RuntimeError(f"cannot read wrk's output: {result.get('out')!r}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result["out"])
    if errors:
        raise RuntimeError(f"{errors.group(1)} error responses")
    if perCPU:
        counts = re.findall(r"(\d+) requests in", result["out"])
        return max(int(n) / seconds for n, seconds in zip(counts, result["cpu"], strict=True))
    return max(float(rate) for rate in rates)


def rawKeepAlive(impl: str, n: int) -> float:
    return _serve(impl, "raw", closeEach=False)


def helloKeepAlivePerCPU(impl: str, n: int) -> float:
    return _serve(impl, "hello", closeEach=False, perCPU=True)


def rawKeepAlivePerCPU(impl: str, n: int) -> float:
    return _serve(impl, "raw", closeEach=False, perCPU=True)


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
            Case(
                "hello-world keep-alive, per server CPU-second",
                helloKeepAlivePerCPU,
                selfTimed=True,
                unit=" req/cpu-s",
            ),
            Case(
                "reference: canned bytes, per server CPU-second",
                rawKeepAlivePerCPU,
                selfTimed=True,
                unit=" req/cpu-s",
            ),
        ]
    )
