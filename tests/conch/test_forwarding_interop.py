"""Forwarding against OpenSSH's ``ssh``: ``-L``, ``-R``, ``-L`` to a Unix socket and ``-A``,
allowed and refused by ``glisten ssh``'s policy."""

from __future__ import annotations

import errno
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    RUNNER,
    connectUnix,
    freePort,
    requireBinary,
    sshKeygen,
    stopProcess,
    waitForPort,
)

pytestmark = pytest.mark.interop


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _TCPEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _UnixEcho(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Echo servers on loopback TCP and on a Unix socket."""
    tcp = _TCPEcho(("127.0.0.1", 0), _Echo)
    path = str(tmp_path_factory.mktemp("echo") / "echo.sock")
    unix = _UnixEcho(path, _Echo)
    for server in (tcp, unix):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"port": tcp.server_address[1], "path": path}
    finally:
        tcp.shutdown()
        unix.shutdown()


@pytest.fixture(scope="module")
def forwardingServer(
    tmp_path_factory: pytest.TempPathFactory, echo: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """``glisten ssh`` allowing -L to the TCP echo, -R on loopback, the Unix echo and -A."""
    requireBinary("ssh")
    tmp = tmp_path_factory.mktemp("glisten-fwd")
    key = sshKeygen(tmp / "id_ed25519", "ed25519")
    restricted = sshKeygen(tmp / "id_restricted", "ed25519")
    (tmp / "authorized_keys").write_bytes(
        Path(str(key) + ".pub").read_bytes()
        + b"restrict,pty "
        + Path(str(restricted) + ".pub").read_bytes()
    )
    port = freePort()
    (tmp / "runner.py").write_text(RUNNER)
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(tmp / "runner.py"),
            *("--listen", f"tcp:{port}:interface=127.0.0.1"),
            *("--host-keys", str(tmp / "hostkeys")),
            *("--authorized-keys", str(tmp / "authorized_keys")),
            *("--permit-open", f"127.0.0.1:{echo['port']}"),
            *("--permit-listen", "127.0.0.1:0"),
            *("--permit-streamlocal", echo["path"]),
            *("--permit-streamlocal-listen", os.path.dirname(echo["path"]) + "/listen-*"),
            "--allow-agent-forwarding",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, proc)
        yield {"port": port, "key": key, "restricted": restricted, "tmp": tmp}
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _ssh(server: dict[str, Any], *args: str, key: Path | None = None) -> list[str]:
    # ssh keeps the first value of an option: the test's own come first.
    return [
        requireBinary("ssh"),
        *args,
        *("-p", str(server["port"]), "-i", str(key or server["key"])),
        *("-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no"),
        *("-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"),
        *("-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR"),
        "root@127.0.0.1",
    ]


def _roundTrip(connect: Any, payload: bytes) -> bytes:
    data = b""
    with connect() as s:
        s.settimeout(20)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            # ssh resets the local connection when the server refuses the channel.
            pass
        except OSError as e:
            # ...and the reset may come before our shutdown, which then finds the
            # connection gone.
            if e.errno != errno.ENOTCONN:
                raise
    return data


@pytest.fixture
def tunnel(forwardingServer: dict[str, Any]) -> Iterator[Any]:
    procs: list[subprocess.Popen[Any]] = []

    def start(*args: str, key: Path | None = None) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(
            _ssh(forwardingServer, "-N", *args, key=key), stderr=subprocess.PIPE, text=True
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stopProcess(proc)


def test_localForward(tunnel: Any, echo: dict[str, Any]) -> None:
    local = freePort()
    proc = tunnel("-L", f"127.0.0.1:{local}:127.0.0.1:{echo['port']}")
    waitForPort(local, proc)
    payload = os.urandom(300_000)
    assert _roundTrip(lambda: socket.create_connection(("127.0.0.1", local)), payload) == payload


def test_localForwardRefusedOutsideThePolicy(tunnel: Any, echo: dict[str, Any]) -> None:
    local = freePort()
    other = freePort()
    proc = tunnel("-L", f"127.0.0.1:{local}:127.0.0.1:{other}")
    waitForPort(local, proc)
    assert _roundTrip(lambda: socket.create_connection(("127.0.0.1", local)), b"x") == b""


def test_remoteForward(tunnel: Any, echo: dict[str, Any]) -> None:
    proc = tunnel("-o", "LogLevel=INFO", "-R", f"127.0.0.1:0:127.0.0.1:{echo['port']}")
    for line in proc.stderr:
        if line.startswith("Allocated port"):
            break
    port = int(line.split()[2])
    payload = os.urandom(100_000)
    assert _roundTrip(lambda: socket.create_connection(("127.0.0.1", port)), payload) == payload


def test_remoteForwardRefusedOutsideThePolicy(forwardingServer: dict[str, Any]) -> None:
    result = subprocess.run(
        _ssh(forwardingServer, "-N", "-R", "0.0.0.0:0:127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "remote port forwarding failed" in result.stderr


def test_unixSocketForward(tunnel: Any, echo: dict[str, Any]) -> None:
    local = freePort()
    proc = tunnel("-L", f"127.0.0.1:{local}:{echo['path']}")
    waitForPort(local, proc)
    assert _roundTrip(lambda: socket.create_connection(("127.0.0.1", local)), b"unix") == b"unix"


def test_remoteUnixSocketForward(tunnel: Any, echo: dict[str, Any]) -> None:
    """``ssh -R /path:host:port``: a 0600 socket, removed when the client goes."""
    path = os.path.dirname(echo["path"]) + "/listen-ssh.sock"
    proc = tunnel("-R", f"{path}:127.0.0.1:{echo['port']}")
    payload = os.urandom(100_000)
    assert _roundTrip(lambda: connectUnix(path, proc), payload) == payload
    assert os.stat(path).st_mode & 0o777 == 0o600
    stopProcess(proc)
    deadline = time.monotonic() + 30
    while os.path.exists(path):
        assert time.monotonic() < deadline, "the socket was not removed"
        time.sleep(0.05)


def test_remoteUnixSocketForwardRefused(
    forwardingServer: dict[str, Any], echo: dict[str, Any]
) -> None:
    """Outside the pattern, or escaping it with ``..``: refused."""
    folder = os.path.dirname(echo["path"])
    for path in (f"{folder}/other.sock", f"{folder}/listen-x/../../escape.sock"):
        result = subprocess.run(
            _ssh(forwardingServer, "-N", "-o", "ExitOnForwardFailure=yes", "-R", f"{path}:h:1"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "remote port forwarding failed" in result.stderr
        assert not os.path.exists(path)


def test_restrictedKeyForwardsNothing(
    tunnel: Any, echo: dict[str, Any], forwardingServer: Any
) -> None:
    local = freePort()
    proc = tunnel(
        "-L", f"127.0.0.1:{local}:127.0.0.1:{echo['port']}", key=forwardingServer["restricted"]
    )
    waitForPort(local, proc)
    assert _roundTrip(lambda: socket.create_connection(("127.0.0.1", local)), b"x") == b""


def test_agentForwarding(forwardingServer: dict[str, Any], tmp_path: Path) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        [requireBinary("ssh-agent"), "-D", "-a", str(sock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert agent.stdout is not None
        agent.stdout.readline()
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", "-q", str(forwardingServer["key"])], env=env, check=True)
        out = subprocess.run(
            _ssh(forwardingServer, "-A")
            + ['stat -c %a "$SSH_AUTH_SOCK"; echo "$SSH_AUTH_SOCK"; ssh-add -l'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        mode, path, listed = out.stdout.split("\n", 2)
        assert mode == "600", out.stderr
        assert "ED25519" in listed
        # The socket goes away with the session (the server sees the session end a moment
        # after the client has exited).
        deadline = time.monotonic() + 30
        while os.path.exists(path):
            assert time.monotonic() < deadline, "the forwarded agent socket stayed"
            time.sleep(0.05)
        refused = subprocess.run(
            _ssh(forwardingServer, "-A", key=forwardingServer["restricted"])
            + ['echo "agent:$SSH_AUTH_SOCK"'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.stdout == "agent:\n"
    finally:
        agent.terminate()
        agent.wait(10)
