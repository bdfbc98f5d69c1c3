"""Hostile input against glisten-web's parsers (issue 29): cost must be linear in the input.

Per-unit cases feed one buffer of 64 KiB, 256 KiB and 1 MiB made of the smallest units the
protocol allows and print units decoded per CPU-second; a flat rate across sizes means linear
cost (a quadratic parser's rate falls by 4x from one size to the next):

- chunked request body of 1-byte chunks (``1\\r\\nx\\r\\n``), against Twisted's
  ``_ChunkedTransferDecoder``;
- a request head of ``a:b`` header lines (limits raised so the head is accepted);
- WebSocket frames of 1 byte (no Twisted equivalent);
- an HTTP client reading a chunked response of 1-byte chunks.

``probe`` is the attack of issue 29 on a real server: one client sends a million 1-byte
chunks as fast as it can while another fetches a small page over and over; it prints the
other client's worst latency and how long the chunked request took to be answered, with
glisten's default limits (the body is refused once its chunks average under 16 bytes),
with that limit off (all million chunks decoded), and for Twisted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

from _harness import Case, _interpreter, cpuRate, main

SIZES = {"64 KiB": 64 * 1024, "256 KiB": 256 * 1024, "1 MiB": 1024 * 1024}
UNIT = b"1\r\nx\r\n"


def chunkedBody(impl: str, size: int) -> float:
    units = size // len(UNIT)
    data = UNIT * units + b"0\r\n\r\n"
    if impl == "glisten":
        from glisten.web._h11._readers import ChunkedReader

        def run() -> None:
            events: list[Any] = []
            ChunkedReader(len(data), minAverageChunk=0).feed(data, events)
            assert len(events) == 2

    else:
        from twisted.web.http import _ChunkedTransferDecoder

        def run() -> None:
            got: list[bytes] = []
            done: list[bytes] = []
            _ChunkedTransferDecoder(got.append, done.append).dataReceived(data)
            assert done

    return cpuRate(units, run)


def headFields(impl: str, size: int) -> float:
    from glisten.web._h11 import Limits, ServerConnection

    lines = size // 5
    head = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"a:b\r\n" * lines + b"\r\n"
    limits = Limits(maxHeaders=lines + 10, maxHeaderBytes=len(head) + 10)

    def run() -> None:
        assert len(ServerConnection(limits).receiveData(head)) == 2

    return cpuRate(lines, run)


def websocketFrames(impl: str, size: int) -> float:
    from glisten.web._ws import FrameDecoder

    frame = bytes([0x82, 0x81]) + b"abcd" + bytes([ord("y") ^ ord("a")])
    units = size // len(frame)
    data = frame * units

    def run() -> None:
        assert len(FrameDecoder().receiveData(data)) == units

    return cpuRate(units, run)


def clientChunked(impl: str, size: int) -> float:
    from glisten.web._h11 import ClientConnection, Limits

    units = size // len(UNIT)
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + UNIT * units + b"0\r\n\r\n"
    limits = Limits(minAverageChunkSize=0)

    def run() -> None:
        conn = ClientConnection(limits)
        conn.sendRequest(b"GET", b"/", {b"host": [b"a"]})
        assert len(conn.receiveData(data)) == 3

    return cpuRate(units, run)


def _cases() -> list[Case]:
    cases = []
    for label, size in SIZES.items():
        cases.append(
            Case(
                f"chunked body, 1-byte chunks, {label}",
                lambda impl, n, size=size: chunkedBody(impl, size),
                selfTimed=True,
                unit=" chunks/s",
            )
        )
    for name, func, unit in (
        ("request head, a:b lines", headFields, " lines/s"),
        ("websocket, 1-byte frames", websocketFrames, " frames/s"),
        ("client, chunked response, 1-byte chunks", clientChunked, " chunks/s"),
    ):
        for label, size in SIZES.items():
            cases.append(
                Case(
                    f"{name}, {label}",
                    lambda impl, n, size=size, func=func: func(impl, size),
                    impls=("glisten",),
                    selfTimed=True,
                    unit=unit,
                )
            )
    return cases


# -- the probe ------------------------------------------------------------------------------

CHUNKS = 1_000_000

_CLIENTS = r"""
import json, socket, sys, threading, time
port = int(sys.argv[1]); chunks = int(sys.argv[2])
result = {}
done = threading.Event()

def attacker():
    s = socket.create_connection(("127.0.0.1", port))
    head = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"1\r\nx\r\n" * chunks + b"0\r\n\r\n"
    start = time.perf_counter()
    try:
        s.sendall(head + body)
    except OSError:
        pass
    reply = b""
    try:
        while b"\r\n\r\n" not in reply:
            got = s.recv(65536)
            if not got:
                break
            reply += got
    except OSError:
        pass
    result["request_s"] = time.perf_counter() - start
    result["status"] = reply[9:12].decode("ascii", "replace")
    done.set()

def fetcher():
    s = socket.create_connection(("127.0.0.1", port))
    worst = 0.0
    count = 0
    while not done.is_set():
        start = time.perf_counter()
        s.sendall(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
        reply = b""
        while not reply.endswith(b"hello"):
            reply += s.recv(65536)
        worst = max(worst, time.perf_counter() - start)
        count += 1
    result["worst_latency_ms"] = worst * 1000
    result["fetches"] = count

f = threading.Thread(target=fetcher)
f.start()
time.sleep(0.2)
attacker()
f.join()
print(json.dumps(result))
"""


def _probeServer(impl: str, limitsOff: bool) -> dict[str, Any]:
    if impl == "glisten":
        from glisten.internet.epollreactor import EPollReactor
        from glisten.web import http, resource, server
        from glisten.web._h11 import Limits

        reactor: Any = EPollReactor()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import reactor  # type: ignore[no-redef]
        from twisted.web import resource, server  # type: ignore[no-redef]

    class Page(resource.Resource):  # type: ignore[misc, name-defined]
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"hello"

        def render_POST(self, request: Any) -> bytes:
            return b"%d" % len(request.content.read())

    site = server.Site(Page())
    if impl == "glisten":
        site.reactor = reactor
        if limitsOff:

            class Channel(http.HTTPChannel):
                limits = Limits(minAverageChunkSize=0)

            site.protocol = Channel
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    out: dict[str, Any] = {}

    def clients() -> None:
        proc = subprocess.run(
            [sys.executable, "-c", _CLIENTS, str(port.getHost().port), str(CHUNKS)],
            capture_output=True,
            text=True,
        )
        try:
            out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        except (IndexError, ValueError):
            out["error"] = proc.stderr[-500:]
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(threading.Thread(target=clients, daemon=True).start)
    reactor.run(installSignalHandlers=False)
    return out


def probe() -> None:
    for impl, limitsOff, label in (
        ("glisten", False, "glisten (default limits)"),
        ("glisten", True, "glisten (chunk-size limit off)"),
        ("twisted", False, "twisted"),
    ):
        env = dict(os.environ, GLISTEN_BENCH_IMPL=impl)
        proc = subprocess.run(
            [
                _interpreter(impl),
                os.path.abspath(__file__),
                "--probe-worker",
                impl,
                "1" if limitsOff else "0",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if not lines:
            print(f"probe {label}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(lines[-1])
        if "error" in r:
            print(f"probe {label}: client failed\n{r['error']}", flush=True)
            continue
        print(
            f"probe 1M 1-byte chunks  {label}: other client's worst latency="
            f"{r['worst_latency_ms']:.1f} ms over {r['fetches']} fetches, chunked request "
            f"answered {r['status']} after {r['request_s']:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe-worker"]:
        print(json.dumps(_probeServer(sys.argv[2], sys.argv[3] == "1")))
    elif sys.argv[1:2] == ["probe"]:
        probe()
    else:
        main(_cases())
        if len(sys.argv) == 1:
            probe()
