"""``glisten --workers N web``: shared sockets, worker ids in the log, restarts, a rolling
reload under load that loses no request, a drain that finishes the request in flight, and
what systemd hears. Real processes on loopback; every wait is on a log line or a socket."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Glisten, Load, freePort, requireBinary, waitForPort

pytestmark = pytest.mark.interop

Run = Callable[..., Glisten]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("hello\n")
    return folder


def _get(port: int, path: str = "/") -> tuple[int, bytes, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("connection")
    finally:
        conn.close()


def _workerPids(g: Glisten, after: int = 0) -> dict[int, int]:
    found: dict[int, int] = {}
    import re

    for line in g.lines[after:]:
        m = re.search(r"worker (\d+) started \(pid (\d+)\)", line)
        if m:
            found[int(m.group(1))] = int(m.group(2))
    return found


def _startWeb(
    run: Run, site: Path, *extra: str, workers: str = "2", env: dict[str, str] | None = None
) -> tuple[Glisten, int]:
    port = freePort()
    g = run(
        "--workers",
        workers,
        "web",
        "--path",
        str(site),
        "--listen",
        f"tcp:{port}:interface=127.0.0.1",
        *extra,
        env=env,
    )
    g.waitFor(r"workers ready")
    return g, port


def test_workers_share_the_port_and_tag_their_lines(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site)
    g.waitFor(r"\[worker 1 glisten\.web\.tap#info\] serving ")
    g.waitFor(r"\[worker 2 glisten\.web\.tap#info\] serving ")
    for _ in range(4):
        assert _get(port) == (200, b"hello\n", None)
    g.waitFor(r"\[worker \d glisten\.web\.access#info\] \"127\.0\.0\.1\" .*\"GET / HTTP/1\.1\" 200")
    assert g.stop() == 0
    assert any("worker 1 (pid" in line and "exited with status 0" in line for line in g.lines)
    assert any("worker 2 (pid" in line and "exited with status 0" in line for line in g.lines)


def test_json_log_lines_carry_the_worker_id(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site, "--log-format", "json")
    g.waitFor(r'"log_worker": ?2')
    # JSON text sequences (RFC 7464): each record starts with RS.
    events = [json.loads(line.lstrip("\x1e")) for line in g.lines if "{" in line]
    assert {e.get("log_worker") for e in events} >= {1, 2}
    assert g.stop() == 0


def test_a_dead_worker_is_restarted(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site)
    pids = _workerPids(g)
    mark = g.mark()
    os.kill(pids[1], signal.SIGKILL)
    g.waitFor(r"worker 1 \(pid \d+\) exited with signal 9; restarting it in 0\.5 s", after=mark)
    g.waitFor(r"\[worker 1 glisten\.application\.runner#info\] Service started", after=mark)
    assert _workerPids(g, mark)[1] != pids[1]
    assert _get(port)[0] == 200
    assert g.stop() == 0


def test_rolling_reload_loses_no_request(
    runGlisten: Run, site: Path, load: Callable[..., Load]
) -> None:
    g, port = _startWeb(runGlisten, site)
    old = _workerPids(g)
    clients = load(lambda: _get(port)[:2], (200, b"hello\n"))
    clients.waitForMore(50)
    mark = g.mark()
    g.signal(signal.SIGHUP)
    g.waitFor(r"reloaded: draining 2 old workers", after=mark)
    for workerId, pid in old.items():
        g.waitFor(rf"worker {workerId} \(pid {pid}\) exited with status 0", after=mark)
    clients.waitForMore(50)
    clients.stop()
    assert clients.failures == []
    new = _workerPids(g, mark)
    assert set(new) == {1, 2} and not set(new.values()) & set(old.values())
    assert g.stop() == 0


def _inFlight(port: int) -> socket.socket:
    """A request whose body is still to come, accepted by the (only) worker."""
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
    # One worker accepts in order: once a later connection is answered, the slow one was
    # accepted before it.
    assert _get(port)[0] == 200
    return slow


def test_sigterm_finishes_the_request_in_flight(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site, workers="1")
    slow = _inFlight(port)
    mark = g.mark()
    g.signal(signal.SIGTERM)
    g.waitFor(r"\[worker 1 glisten\.internet\.tcp#info\] \(TCP Port \d+ Closed\)", after=mark)
    slow.sendall(b"body")
    response = b""
    while chunk := slow.recv(65536):
        response += chunk
    slow.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close" in head
    assert body == b"hello\n"
    assert g.stop() == 0


def test_sigterm_gives_up_after_the_grace_period(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site, "--grace", "0.5", workers="1")
    stuck = _inFlight(port)
    mark = g.mark()
    g.signal(signal.SIGTERM)
    g.waitFor(r"Grace period of 0\.5 s over", after=mark)
    assert g.stop() == 0
    assert stuck.recv(65536) == b""
    stuck.close()


def test_systemd_hears_ready_reloading_and_status(runGlisten: Run, site: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "notify")
        manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        manager.bind(path)
        manager.settimeout(60)
        try:
            g, port = _startWeb(runGlisten, site, workers="2", env={"NOTIFY_SOCKET": path})

            def heard(wanted: str) -> list[str]:
                messages = []
                while True:
                    message = manager.recv(4096).decode()
                    messages.append(message)
                    if wanted in message.splitlines():
                        return messages

            ready = heard("READY=1")
            assert "STATUS=2 workers running" in ready[-1].splitlines()
            g.signal(signal.SIGHUP)
            assert "RELOADING=1" in heard("RELOADING=1")[-1]
            assert "STATUS=2 workers running" in heard("READY=1")[-1].splitlines()
            assert g.stop() == 0
            heard("STOPPING=1")
        finally:
            manager.close()


def test_a_worker_that_cannot_start_ends_the_supervisor(runGlisten: Run, site: Path) -> None:
    port = freePort()
    g = runGlisten("--workers", "2", "web", "--listen", f"tcp:{port}:interface=127.0.0.1")
    assert g.proc.wait(60) == 1
    g.waitFor(r"give exactly one of --path, --wsgi, --class or --resource-script")
    g.waitFor(r"a worker failed to start")


def test_an_unshareable_plugin_refuses_several_workers(runGlisten: Run) -> None:
    # An IRC server keeps its channels and users in memory: one process only.
    pytest.importorskip("glisten.words")
    g = runGlisten("--workers", "2", "irc")
    assert g.proc.wait(60) == 2
    g.waitFor(r"plugin 'irc' cannot run in several processes \(--workers 2\)")


def test_dns_workers_answer_over_udp_and_tcp(runGlisten: Run, tmp_path: Path) -> None:
    pytest.importorskip("glisten.names")
    dig = requireBinary("dig")
    zone = tmp_path / "example.zone"
    zone.write_text(
        "$ORIGIN example.com.\n$TTL 300\n"
        "@ IN SOA ns1 admin 1 3600 600 86400 300\n"
        "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n"
    )
    port = freePort()
    g = runGlisten(
        "--workers", "2", "dns", "--bindzone", str(zone),
        "--listen", f"tcp:{port}:interface=127.0.0.1",
    )  # fmt: skip
    g.waitFor(r"2 workers ready")

    def ask(*flags: str) -> str:
        out = subprocess.run(
            [dig, "@127.0.0.1", "-p", str(port), "+time=5", "+tries=1", "+short", *flags,
             "www.example.com", "A"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.strip()

    for _ in range(3):
        assert ask() == "192.0.2.80"
        assert ask("+tcp") == "192.0.2.80"
    mark = g.mark()
    g.signal(signal.SIGHUP)
    g.waitFor(r"reloaded: draining 2 old workers", after=mark)
    assert ask() == "192.0.2.80"
    assert ask("+tcp") == "192.0.2.80"
    assert g.stop() == 0


def test_mail_workers_deliver_into_one_maildir(runGlisten: Run, tmp_path: Path) -> None:
    pytest.importorskip("glisten.mail")
    import smtplib

    port = freePort()
    domain = tmp_path / "example.com"
    common = ("mail", "--maildirdbmdomain", f"example.com={domain}", "--user", "alice=s3cret")
    g = runGlisten(
        "--workers", "2", *common, "--smtp", f"tcp:{port}:interface=127.0.0.1"
    )  # fmt: skip
    g.waitFor(r"2 workers ready")
    for n in range(6):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("x@example.org", ["alice@example.com"], f"Subject: {n}\r\n\r\nhi")
    delivered = sorted(p.read_bytes() for p in (domain / "alice" / "new").iterdir())
    assert len(delivered) == 6
    assert g.stop() == 0
    # A relaying server has one queue: it says so.
    relaying = runGlisten("--workers", "2", *common, "--relay", str(tmp_path / "queue"))
    assert relaying.proc.wait(60) == 2
    relaying.waitFor(r"glisten mail: cannot run with --workers: --relay keeps one queue")


def test_the_port_is_taken(runGlisten: Run, site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        g = runGlisten(
            "--workers", "2", "web", "--path", str(site), "--listen",
            f"tcp:{port}:interface=127.0.0.1",
        )  # fmt: skip
        assert g.proc.wait(60) == 1
        g.waitFor(rf"glisten: cannot listen on tcp:{port}:interface=127\.0\.0\.1: address already")


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_reuse_port_gives_each_worker_its_socket(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site, "--reuse-port")
    waitForPort(port)
    for _ in range(4):
        assert _get(port)[0] == 200
    assert g.stop() == 0


def test_unix_socket_survives_a_reload(runGlisten: Run, site: Path, tmp_path: Path) -> None:
    path = tmp_path / "web.sock"
    g = runGlisten("--workers", "1", "web", "--path", str(site), "--listen", f"unix:{path}")
    g.waitFor(r"1 workers ready")
    mark = g.mark()
    g.signal(signal.SIGHUP)
    g.waitFor(r"worker 1 \(pid \d+\) exited with status 0", after=mark)
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(30)
        client.connect(str(path))
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert client.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert g.stop() == 0
    assert not path.exists()


def test_workers_do_not_outlive_a_killed_supervisor(runGlisten: Run, site: Path) -> None:
    g, port = _startWeb(runGlisten, site)
    pids = list(_workerPids(g).values())
    g.proc.kill()
    g.proc.wait(30)
    # Each worker drains and exits on its own (they are not our children: poll /proc).
    g.waitFor(r"\[worker 1 glisten\.application\._workers#warn\] The supervisor is gone")
    g.waitFor(r"\[worker 2 glisten\.application\._workers#warn\] The supervisor is gone")
    for pid in pids:
        deadline = time.monotonic() + 60
        while os.path.exists(f"/proc/{pid}") and _isRunning(pid):
            assert time.monotonic() < deadline, f"worker {pid} outlived its supervisor"
            time.sleep(0.05)


def _isRunning(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_take_systemds_socket(runGlisten: Run, site: Path) -> None:
    activate = requireBinary("systemd-socket-activate")
    port = freePort()
    g = runGlisten(
        "--workers", "2", "web", "--path", str(site),
        "--listen", "systemd:domain=INET:name=web",
        launcher=[activate, "-l", f"127.0.0.1:{port}", "--fdname=web"],
    )  # fmt: skip
    g.waitFor(rf"Listening on 127\.0\.0\.1:{port}")
    # systemd-socket-activate starts glisten on the first connection, which waits meanwhile.
    assert _get(port) == (200, b"hello\n", None)
    g.waitFor(r"2 workers ready")
    g.waitFor(r"\[worker 1 glisten\.web\.tap#info\] serving .* on http://127\.0\.0\.1:")
    g.waitFor(r"\[worker 2 glisten\.web\.tap#info\] serving .* on http://127\.0\.0\.1:")
    mark = g.mark()
    g.signal(signal.SIGHUP)
    g.waitFor(r"reloaded: draining 2 old workers", after=mark)
    # (Possibly from an old worker, draining: then with "Connection: close".)
    assert _get(port)[:2] == (200, b"hello\n")
    assert g.stop() == 0
