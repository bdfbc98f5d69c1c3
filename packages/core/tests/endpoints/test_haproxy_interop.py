"""PROXY protocol headers from a real HAProxy in front of a glisten server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WAIT = 60.0
HELPER = str(Path(__file__).parent.parent / "application" / "runservice_helper.py")


def requireHAProxy() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None
    )
    if found is None:
        message = "haproxy is not installed (apt package haproxy)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def readLine(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(100)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.interop
@pytest.mark.parametrize("sendProxy", ["send-proxy", "send-proxy-v2"])
def test_real_haproxy_passes_the_client_address(tmp_path: Path, sendProxy: str) -> None:
    haproxy = requireHAProxy()
    backend = tmp_path / "backend.sock"
    notifyPath = str(tmp_path / "notify")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(notifyPath)
    receiver.settimeout(WAIT)
    env = {k: v for k, v in os.environ.items() if k not in ("LISTEN_FDS", "JOURNAL_STREAM")}
    env["NOTIFY_SOCKET"] = notifyPath
    server = subprocess.Popen(
        [sys.executable, HELPER, "whoami", f"haproxy:unix:{backend}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proxy = None
    try:
        assert receiver.recv(100) == b"READY=1"
        front = freePort()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            "defaults\n"
            "  mode tcp\n"
            "  timeout connect 10s\n"
            "  timeout client 60s\n"
            "  timeout server 60s\n"
            "frontend fe\n"
            f"  bind 127.0.0.1:{front}\n"
            "  default_backend be\n"
            "backend be\n"
            f"  server glisten {backend} {sendProxy}\n"
        )
        # -Ws: master-worker mode with sd_notify, so readiness arrives on our socket.
        proxy = subprocess.Popen(
            [haproxy, "-Ws", "-f", str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while b"READY=1" not in receiver.recv(1000).split(b"\n"):
            pass  # haproxy also reports RELOADING=1 and STATUS=...; each recv waits
        with socket.create_connection(("127.0.0.1", front), timeout=WAIT) as client:
            host, port = client.getsockname()[:2]
            assert readLine(client) == f"peer={host}:{port}\n".encode()
            client.sendall(b"through haproxy\n")
            assert readLine(client) == b"through haproxy\n"
    finally:
        for process in (proxy, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (proxy, server):
            if process is not None:
                try:
                    process.communicate(timeout=WAIT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
        receiver.close()
    assert server.returncode == 0
