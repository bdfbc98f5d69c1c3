"""HTTP serving: glisten-web against twisted.web, loaded by ``wrk`` (Debian package ``wrk``).

Cases (server on 127.0.0.1, one ``wrk`` thread, 50 connections, requests/s, best of three
one-second runs):

- hello-world ``Resource``, keep-alive and a new connection per request;
- a 1 KiB static file (``static.File``), keep-alive and a new connection per request;
- a 1 MiB static file, keep-alive;
- for reference, the ceiling the reactor sets: a bare ``Protocol`` that answers every read
  with a canned response (no HTTP parsing at all), keep-alive;
- hello-world and the canned reference again, as requests per CPU-second of the server
  process (steadier than requests/s when other work shares the machine);
- the static cases also as requests per CPU-second, against nginx as well (one worker,
  ``sendfile on``, ``access_log off``: the limit anchor for serving files);
- a 1 GiB file downloaded twice by curl: gigabytes served per CPU-second of the server
  (the inverse of the CPU seconds one gigabyte costs), glisten against Twisted and nginx.

Both servers are built the same way (a ``Site`` with default settings, so both write their
access log into their logging system) and run on the epoll reactor. The server runs in the
worker process's main thread; ``wrk`` runs as a child process started from a helper thread.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
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


def _files(folder: str) -> None:
    with open(os.path.join(folder, "1k.txt"), "wb") as f:
        f.write(b"x" * 1024)
    with open(os.path.join(folder, "1m.bin"), "wb") as f:
        f.write(os.urandom(1024 * 1024))
    # Sparse: its pages come from the page cache like those of any file read often.
    with open(os.path.join(folder, "1g.bin"), "wb") as f:
        f.truncate(1 << 30)


_PATHS = {"1k": "/1k.txt", "1m": "/1m.bin", "1g": "/1g.bin", "hello": "/", "raw": "/"}


def _load(url: str, kind: str, closeEach: bool, cpuSeconds: Any) -> dict[str, Any]:
    """Load ``url`` (wrk, or curl for the 1 GiB file) and note the server's CPU seconds per run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if kind == "1g":
        args = ["curl", "-s", "-o", "/dev/null", url, "-o", "/dev/null", url]
    else:
        args = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", url]
        if closeEach:
            args[1:1] = ["-H", "Connection: close"]
    outputs = []
    cpu = []
    for _ in range(RUNS):
        before = cpuSeconds()
        outputs.append(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
        cpu.append(cpuSeconds() - before)
    return {"out": "\n".join(outputs), "cpu": cpu}


def _rate(kind: str, result: dict[str, Any], perCPU: bool) -> float:
    if kind == "1g":
        # Two gigabytes per run.
        return max(2 * (1 << 30) / 1e9 / seconds for seconds in result["cpu"])
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


def _serve(impl: str, kind: str, closeEach: bool, perCPU: bool = False) -> float:
    """Serve ``kind`` and load it with wrk (curl for the 1 GiB file).

    :param perCPU: Return requests per CPU-second of the server process instead of per
        second of wall-clock time: on a machine busy with other work this is the steadier
        measure of the server's own cost.
    """
    if impl == "nginx":
        return _nginx(kind, closeEach, perCPU)
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
        _files(folder)
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
        else:
            root: Any = Hello() if kind == "hello" else static.File(folder)
            site = server.Site(root, reactor=reactor) if impl == "glisten" else server.Site(root)
        port = reactor.listenTCP(0, site, backlog=1024, interface="127.0.0.1")
        url = f"http://127.0.0.1:{port.getHost().port}{_PATHS[kind]}"
        result: dict[str, Any] = {}

        def load() -> None:
            try:
                result.update(_load(url, kind, closeEach, time.process_time))
            finally:
                reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=load, daemon=True).start)
        reactor.run(installSignalHandlers=False)
    finally:
        shutil.rmtree(folder)
    return _rate(kind, result, perCPU)


NGINX_CONF = """
user {user};
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ text/plain txt; application/octet-stream bin; }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {dir}/files;
    }}
}}
"""


def _nginx(kind: str, closeEach: bool, perCPU: bool) -> float:
    """The same load against nginx with one worker; CPU time is the worker's, from /proc."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        raise SystemExit("nginx is not installed (apt-get install nginx)")
    folder = tempfile.mkdtemp()
    proc = None
    try:
        os.mkdir(os.path.join(folder, "files"))
        os.mkdir(os.path.join(folder, "tmp"))
        _files(os.path.join(folder, "files"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        conf = os.path.join(folder, "nginx.conf")
        with open(conf, "w") as f:
            # The worker reads the private temporary folder as its owner (nginx started as root
            # would otherwise switch to an unprivileged user that cannot).
            user = pwd.getpwuid(os.getuid()).pw_name
            f.write(NGINX_CONF.format(dir=folder, port=port, user=user))
        proc = subprocess.Popen([nginx, "-p", folder, "-c", conf], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        if len(workers) != 1:
            raise RuntimeError(f"expected one nginx worker, found {workers}")
        tick = os.sysconf("SC_CLK_TCK")

        def cpuSeconds() -> float:
            with open(f"/proc/{workers[0]}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        url = f"http://127.0.0.1:{port}{_PATHS[kind]}"
        return _rate(kind, _load(url, kind, closeEach, cpuSeconds), perCPU)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        shutil.rmtree(folder)


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


def static1kKeepAlivePerCPU(impl: str, n: int) -> float:
    return _serve(impl, "1k", closeEach=False, perCPU=True)


def static1mKeepAlivePerCPU(impl: str, n: int) -> float:
    return _serve(impl, "1m", closeEach=False, perCPU=True)


def static1gPerCPU(impl: str, n: int) -> float:
    return _serve(impl, "1g", closeEach=False, perCPU=True)


WITH_NGINX = ("glisten", "twisted", "nginx")


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
            Case(
                "static 1 KiB keep-alive, per server CPU-second",
                static1kKeepAlivePerCPU,
                impls=WITH_NGINX,
                selfTimed=True,
                unit=" req/cpu-s",
            ),
            Case(
                "static 1 MiB keep-alive, per server CPU-second",
                static1mKeepAlivePerCPU,
                impls=WITH_NGINX,
                selfTimed=True,
                unit=" req/cpu-s",
            ),
            Case(
                "static 1 GiB download, GB per server CPU-second",
                static1gPerCPU,
                impls=WITH_NGINX,
                selfTimed=True,
                unit=" GB/cpu-s",
            ),
        ]
    )
