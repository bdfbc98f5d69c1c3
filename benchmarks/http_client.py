"""HTTP client: glisten's Agent against Twisted's Agent, treq, aiohttp's client and httpx.

Each worker starts its own nginx on 127.0.0.1 (one worker process, ``return 200`` of a
12-byte body, unlimited keep-alive) so the server is never the bottleneck, then makes GET
requests and reads each body:

- ``1 conn``: one request at a time over one persistent connection;
- ``pool 50``: 50 requests in flight at once over a pool of 50 persistent connections.

The figure is requests per CPU-second of the client process (``time.process_time``), best of
three one-second runs after a warm-up: on a machine shared with other work this is steadier
than requests per wall-clock second, and it is the client's own cost that is compared.
Twisted and treq run in the Twisted environment (the ``twisted=`` column); aiohttp and httpx
on asyncio's default loop (the ``asyncio=`` column). Every client keeps as many idle
connections as it has in flight, so none of them reconnects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _harness import Case, main

DURATION = 1.0
WARMUP = 0.3
RUNS = 3

NGINX_CONF = """
{user}worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 60;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello world\\n"; }}
    }}
}}
"""


def _nginx() -> tuple[subprocess.Popen[bytes], int, str]:
    import socket

    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if binary is None:
        raise SystemExit("nginx is not installed (apt-get install nginx)")
    folder = tempfile.mkdtemp(prefix="glisten-bench-nginx-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as f:
        f.write(
            NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "", dir=folder, port=port
            )
        )
    proc = subprocess.Popen(
        [binary, "-p", folder, "-c", conf, "-g", "daemon off;"], stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("nginx did not start") from None
            time.sleep(0.02)
    return proc, port, folder


class _Meter:
    """Counts requests; records the CPU time and count between warm-up and each run's end."""

    def __init__(self) -> None:
        self.count = 0
        self.best = 0.0
        self.done = False

    def schedule(
        self, callLater: Callable[[float, Callable[[], None]], Any], stop: Callable[[], None]
    ) -> None:
        marks: list[tuple[int, float]] = []

        def mark(run: int) -> None:
            marks.append((self.count, time.process_time()))
            if len(marks) > 1:
                (c0, t0), (c1, t1) = marks[-2], marks[-1]
                self.best = max(self.best, (c1 - c0) / max(t1 - t0, 1e-9))
            if run == RUNS:
                self.done = True
                stop()
            else:
                callLater(DURATION, lambda: mark(run + 1))

        callLater(WARMUP, lambda: mark(0))


def _twistedStyle(impl: str, conns: int, useTreq: bool, port: int) -> float:
    """glisten's or Twisted's Agent (or treq) with ``conns`` requests in flight."""
    if impl == "glisten":
        from glisten.internet import defer
        from glisten.internet.epollreactor import EPollReactor
        from glisten.web.client import Agent, HTTPConnectionPool, readBody

        reactor: Any = EPollReactor()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import (
            defer,  # type: ignore[no-redef]
            reactor,  # type: ignore[no-redef]
        )
        from twisted.web.client import (  # type: ignore[no-redef]
            Agent,
            HTTPConnectionPool,
            readBody,
        )
    pool = HTTPConnectionPool(reactor)
    pool.maxPersistentPerHost = conns
    agent = Agent(reactor, pool=pool)
    url = b"http://127.0.0.1:%d/" % port
    meter = _Meter()
    if useTreq:
        import treq  # type: ignore[import-not-found]

        client = treq.client.HTTPClient(agent)

        async def one() -> None:
            response = await client.get(url)
            await response.content()

    else:

        async def one() -> None:
            response = await agent.request(b"GET", url)
            await readBody(response)

    async def worker() -> None:
        while not meter.done:
            await one()
            meter.count += 1

    def start() -> None:
        for _ in range(conns):
            defer.ensureDeferred(worker())
        meter.schedule(reactor.callLater, reactor.stop)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    return meter.best


def _asyncioStyle(impl: str, conns: int, library: str, port: int) -> float:
    """aiohttp's or httpx's client on asyncio's default loop."""
    import asyncio

    url = f"http://127.0.0.1:{port}/"
    meter = _Meter()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        finished = loop.create_future()
        if library == "aiohttp":
            import aiohttp

            session: Any = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns))

            async def one() -> None:
                async with session.get(url) as response:
                    await response.read()

        else:
            import httpx

            session = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
            )

            async def one() -> None:
                response = await session.get(url)
                await response.aread()

        async def worker() -> None:
            while not meter.done:
                await one()
                meter.count += 1

        tasks = [asyncio.ensure_future(worker()) for _ in range(conns)]
        meter.schedule(loop.call_later, lambda: finished.set_result(None))
        await finished
        await asyncio.gather(*tasks)
        if library == "aiohttp":
            await session.close()
        else:
            await session.aclose()

    asyncio.run(run())
    return meter.best


def _case(conns: int, rival: str) -> Callable[[str, int], float]:
    def run(impl: str, n: int) -> float:
        proc, port, folder = _nginx()
        try:
            if impl == "glisten":
                return _twistedStyle("glisten", conns, False, port)
            if impl == "twisted":
                return _twistedStyle("twisted", conns, rival == "treq", port)
            return _asyncioStyle(impl, conns, rival, port)
        finally:
            proc.terminate()
            proc.wait(10)
            shutil.rmtree(folder, ignore_errors=True)

    return run


CASES = [
    Case(
        f"{label} vs {rival}",
        _case(conns, rival),
        impls=("glisten", "twisted" if rival in ("Agent", "treq") else "asyncio"),
        selfTimed=True,
        unit=" req/cpu-s",
    )
    for conns, label in ((1, "1 conn"), (50, "pool 50"))
    for rival in ("Agent", "treq", "aiohttp", "httpx")
]


if __name__ == "__main__":
    main(CASES)
