"""Scaling across cores: ``glisten --workers N web`` against gunicorn with aiohttp workers and
Twisted (one process), all serving the same hello-world, loaded by ``wrk`` (Debian ``wrk``).

Cases (server processes on 127.0.0.1, ``wrk`` with one thread and 50 keep-alive connections,
requests/s, best of three two-second runs):

- glisten with 1 and 2 workers (``glisten --log-level warn --workers N web --class
  hello.Hello``: the access log is filtered out, as gunicorn writes none by default), and
  with 2 workers and ``--reuse-port``;
- gunicorn with ``aiohttp.GunicornWebWorker`` and 1 and 2 workers;
- Twisted, one process (``twisted.web.server.Site``, epoll reactor, no log observer);

then the scaling factor of each (2 workers / 1 worker) and glisten's ratio to gunicorn with
the same number of workers and to Twisted. ``wrk`` itself needs a core, so on a 2-core machine
two workers share the CPU with the load generator: say so when quoting the numbers.

gunicorn and aiohttp live in the benchmark virtual environment next to Twisted
(``benchmarks/.venv-twisted``, see ``_harness.TWISTED_REQUIREMENTS``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _harness import TWISTED_VENV, twistedPython

DURATION = 2
RUNS = 3
CONNECTIONS = 50

GLISTEN_APP = """
from glisten.web import resource


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"Hello, world!"
"""

AIOHTTP_APP = """
from aiohttp import web


async def hello(request):
    return web.Response(body=b"Hello, world!")


app = web.Application()
app.router.add_get("/", hello)
"""

TWISTED_SERVER = """
import sys
from twisted.internet import epollreactor

epollreactor.install()
from twisted.internet import reactor
from twisted.web import resource, server


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"Hello, world!"


reactor.listenTCP(int(sys.argv[1]), server.Site(Hello()), backlog=1024, interface="127.0.0.1")
reactor.run()
"""


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _waitForPort(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _load(port: int) -> float:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    best = 0.0
    for _ in range(RUNS):
        out = subprocess.run(
            [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"errors under load:\n{out}")
        best = max(best, float(re.findall(r"Requests/sec:\s+([0-9.]+)", out)[0]))
    return best


def _serve(command: Sequence[str], folder: Path, port: int) -> float:
    proc = subprocess.Popen(
        list(command),
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _waitForPort(port, proc)
        # Every worker ready, not just the first: one warm-up request per connection.
        subprocess.run(
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                "-d1s",
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            check=True,
        )
        return _load(port)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(60)


def _venvTools() -> Path:
    twistedPython()
    gunicorn = TWISTED_VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        # A venv made before these joined TWISTED_REQUIREMENTS.
        subprocess.run(
            [
                str(TWISTED_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "aiohttp",
                "gunicorn",
            ],
            check=True,
        )
    return TWISTED_VENV / "bin"


def glisten(workers: int, folder: Path, reusePort: bool = False) -> float:
    port = _freePort()
    command = [
        sys.executable,
        "-m",
        "glisten.application.cli",
        "--log-level",
        "warn",
        "--reactor",
        "epoll",
        "--workers",
        str(workers),
        *(["--reuse-port"] if reusePort else []),
        "web",
        "--class",
        "hello.Hello",
        "--listen",
        f"tcp:{port}:interface=127.0.0.1",
    ]
    return _serve(command, folder, port)


def gunicorn(workers: int, folder: Path) -> float:
    port = _freePort()
    tools = _venvTools()
    command = [
        str(tools / "gunicorn"),
        "--workers",
        str(workers),
        "--worker-class",
        "aiohttp.GunicornWebWorker",
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "1024",
        "aiohello:app",
    ]
    return _serve(command, folder, port)


def twisted(folder: Path) -> float:
    port = _freePort()
    return _serve([twistedPython(), "twistedhello.py", str(port)], folder, port)


def _rate(value: float) -> str:
    return f"{value:.0f}/s"


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "hello.py").write_text(GLISTEN_APP)
        (folder / "aiohello.py").write_text(AIOHTTP_APP)
        (folder / "twistedhello.py").write_text(TWISTED_SERVER)
        print(f"({os.cpu_count()} CPUs; wrk shares them with the servers)", flush=True)
        mine = {n: glisten(n, folder) for n in (1, 2)}
        reusePort = glisten(2, folder, reusePort=True)
        theirs = {n: gunicorn(n, folder) for n in (1, 2)}
        single = twisted(folder)
        for n in (1, 2):
            print(
                f"hello-world, {n} worker{'s' if n > 1 else ''}  glisten={_rate(mine[n])}  "
                f"gunicorn_aiohttp={_rate(theirs[n])}  aiohttp_ratio={mine[n] / theirs[n]:.2f}  "
                f"twisted_1proc={_rate(single)}  ratio={mine[n] / single:.2f}",
                flush=True,
            )
        print(
            f"hello-world, 2 workers, --reuse-port  glisten={_rate(reusePort)}  "
            f"aiohttp_ratio={reusePort / theirs[2]:.2f}",
            flush=True,
        )
        print(
            f"scaling 2/1 workers  glisten={mine[2] / mine[1]:.2f}  "
            f"glisten_reuse_port={reusePort / mine[1]:.2f}  "
            f"gunicorn_aiohttp={theirs[2] / theirs[1]:.2f}",
            flush=True,
        )
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
