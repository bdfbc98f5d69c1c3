"""HAProxy (Debian's) in front of two ``glisten web`` processes, speaking PROXY v2 to them:
the client's address reaches the access log, a draining instance is marked down through its
health check before it stops listening, and no request fails while one instance restarts."""

from __future__ import annotations

import csv
import http.client
import io
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Glisten, Load, freePort, requireBinary, waitForPort

pytestmark = pytest.mark.interop

Run = Callable[..., Glisten]

CONFIG = """\
global
    stats socket {stats} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure empty-response

frontend web
    bind 127.0.0.1:{front}
    default_backend glisten

backend glisten
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server send-proxy-v2 check check-send-proxy inter 100ms fall 1 rise 1
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""

#: The client's own address, different from the one HAProxy connects from (127.0.0.1).
CLIENT = "127.0.0.2"


def _status(stats: Path) -> dict[str, dict[str, str]]:
    """HAProxy's ``show stat`` for the glisten backend's servers, by server name."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(stats))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    text = data.decode().lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {r["svname"]: r for r in rows if r["pxname"] == "glisten" and r["svname"] in "ab"}


def _waitStatus(stats: Path, server: str, wanted: str, timeout: float = 60) -> dict[str, str]:
    """Wait until HAProxy reports ``server`` as ``wanted`` (asking its stats socket)."""
    deadline = time.monotonic() + timeout
    while True:
        row = _status(stats)[server]
        if row["status"].startswith(wanted):
            return row
        assert time.monotonic() < deadline, f"server {server} stays {row['status']}"
        time.sleep(0.05)


def _get(port: int) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(CLIENT, 0))
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Callable[[int, int], tuple[int, Path]]]:
    binary = requireBinary("haproxy")
    started: list[subprocess.Popen[bytes]] = []

    def start(a: int, b: int) -> tuple[int, Path]:
        front = freePort()
        stats = tmp_path / "haproxy.sock"
        config = tmp_path / "haproxy.cfg"
        config.write_text(CONFIG.format(stats=stats, front=front, a=a, b=b))
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        waitForPort(front, proc)
        return front, stats

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def _web(run: Run, site: Path, port: int, log: Path) -> Glisten:
    g = run(
        "web",
        "--path",
        str(site),
        "--listen",
        f"haproxy:tcp:{port}:interface=127.0.0.1",
        "--health",
        "/healthz",
        "--drain-delay",
        "3",
        "--access-log",
        str(log),
    )
    g.waitFor(r"Service started")
    return g


def _waitForLog(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait until the access logs show what ``condition`` looks for: they are written in
    batches, at most a second after the requests."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the access log did not show the requests"
        time.sleep(0.05)


def test_behind_haproxy(
    runGlisten: Run,
    haproxy: Callable[[int, int], tuple[int, Path]],
    load: Callable[..., Load],
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("hello\n")
    ports = {"a": freePort(), "b": freePort()}
    logs = {name: tmp_path / f"{name}.log" for name in ports}
    webs = {name: _web(runGlisten, site, ports[name], logs[name]) for name in ports}
    front, stats = haproxy(ports["a"], ports["b"])
    _waitStatus(stats, "a", "UP")
    _waitStatus(stats, "b", "UP")

    # The client's address, not HAProxy's, reaches the access log.
    for _ in range(4):
        assert _get(front) == (200, b"hello\n")

    def requests() -> list[str]:
        lines = logs["a"].read_text().splitlines() + logs["b"].read_text().splitlines()
        return [line for line in lines if '"GET / HTTP/1.1"' in line]

    _waitForLog(lambda: len(requests()) >= 4)
    assert all(line.startswith(f'"{CLIENT}" ') for line in requests()), requests()

    clients = load(lambda: _get(front), (200, b"hello\n"))
    try:
        clients.waitForMore(30)
        # Instance a stops: its health check answers 503 while it still serves...
        webs["a"].signal(signal.SIGTERM)
        row = _waitStatus(stats, "a", "DOWN")
        assert webs["a"].proc.poll() is None, "marked down only once it had stopped"
        assert row["check_code"] == "503"
        clients.waitForMore(30)
        assert webs["a"].stop() == 0
        # ...and comes back.
        webs["a"] = _web(runGlisten, site, ports["a"], logs["a"])
        _waitStatus(stats, "a", "UP")
        served = len(re.findall(r'"GET / ', logs["a"].read_text()))
        clients.waitForMore(60)
        _waitForLog(lambda: len(re.findall(r'"GET / ', logs["a"].read_text())) > served)
    finally:
        clients.stop()
    assert clients.failures == []
    assert clients.ok > 100
