"""The built-in plugins through the real ``glisten`` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

WAIT = 60.0


def glisten() -> list[str]:
    return [sys.executable, "-c", "from glisten.application.cli import main; main()"]


@pytest.fixture(autouse=True)
def pluginsRegistered() -> None:
    names = {ep.name for ep in entry_points(group="glisten.plugins")}
    assert {"echo", "portforward", "app"} <= names


@pytest.fixture
def notifySocket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(WAIT)
    yield sock, path
    sock.close()


def recvExactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def start(args: list[str], notifyPath: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "LISTEN_FDS")}
    if notifyPath is not None:
        env["NOTIFY_SOCKET"] = notifyPath
    return subprocess.Popen(
        [*glisten(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def complete(args: list[str]) -> tuple[int, str, str]:
    process = start(args)
    out, err = process.communicate(timeout=WAIT)
    return process.returncode, out.decode(), err.decode()


def test_echo(tmp_path: Path, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    path = str(tmp_path / "e.sock")
    process = start(["echo", "--listen", f"unix:{path}"], notifyPath)
    try:
        assert sock.recv(100) == b"READY=1"
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(WAIT)
            client.connect(path)
            client.sendall(b"cli echo")
            assert recvExactly(client, 8) == b"cli echo"
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


def test_app_file(tmp_path: Path, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    path = tmp_path / "a.sock"
    appFile = tmp_path / "myapp.py"
    appFile.write_text(
        "from glisten.application import service, strports\n"
        "from glisten.application.plugins import Echo\n"
        "from glisten.internet.protocol import Factory\n"
        "application = service.Application('myapp')\n"
        f"strports.service('unix:{path}', Factory.forProtocol(Echo))"
        ".setServiceParent(application)\n"
    )
    process = start(["--log-format", "json", "app", str(appFile)], notifyPath)
    try:
        assert sock.recv(100) == b"READY=1"
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(WAIT)
            client.connect(str(path))
            client.sendall(b"from the app")
            assert recvExactly(client, 12) == b"from the app"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert out.startswith(b"\x1e{")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["echo", "--listen", "tcp:nope"], "field 'port'"),
        (["echo", "--listen", "systemd:domain=INET:index=0"], "field 'index'"),
        (["portforward", "--listen", "tcp:0", "--dest", "nowhere"], "--dest"),
        (["app", "/no/such/file.py"], "no such file"),
    ],
)
def test_bad_options_exit_1_with_one_line(args: list[str], message: str) -> None:
    status, _, err = complete(args)
    assert status == 1
    assert message in err and err.count("\n") == 1


def test_listen_failure_exits_1(tmp_path: Path) -> None:
    status, _, err = complete(["echo", "--listen", f"unix:{tmp_path}/missing/x.sock"])
    assert status == 1
    assert (
        err
        == f"glisten: cannot listen on unix:{tmp_path}/missing/x.sock: no such file or directory\n"
    )


def _takenPort() -> tuple[socket.socket, int]:
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    return taken, taken.getsockname()[1]


def test_port_in_use_is_one_line_without_traceback() -> None:
    """Issue 12: no 17-line traceback before the useful line."""
    taken, port = _takenPort()
    with taken:
        status, out, err = complete(["echo", "--listen", f"tcp:{port}"])
    assert status == 1
    assert err == f"glisten: cannot listen on tcp:{port}: address already in use\n"
    assert "Traceback" not in out + err


def test_port_in_use_traceback_at_debug_level() -> None:
    taken, port = _takenPort()
    with taken:
        status, out, err = complete(["--log-level", "debug", "echo", "--listen", f"tcp:{port}"])
    assert status == 1
    assert err == f"glisten: cannot listen on tcp:{port}: address already in use\n"
    assert "Traceback" in out


def test_global_options_after_the_plugin_name() -> None:
    """``glisten echo --listen ... --log-level debug`` is ``glisten --log-level debug echo ...``."""
    taken, port = _takenPort()
    with taken:
        status, out, err = complete(["echo", "--listen", f"tcp:{port}", "--log-level", "debug"])
    assert status == 1
    assert err == f"glisten: cannot listen on tcp:{port}: address already in use\n"
    assert "Traceback" in out  # the debug level took effect


def test_sighup_reopens_the_log_file(
    tmp_path: Path, notifySocket: tuple[socket.socket, str]
) -> None:
    """SIGHUP never kills the process; with --log-file it reopens the file (logrotate)."""
    sock, notifyPath = notifySocket
    log = tmp_path / "glisten.log"
    process = start(
        ["--log-file", str(log), "echo", "--listen", f"unix:{tmp_path}/echo.sock"], notifyPath
    )
    try:
        assert sock.recv(100) == b"READY=1"
        rotated = tmp_path / "glisten.log.1"
        log.rename(rotated)
        process.send_signal(signal.SIGHUP)
        # The reopened file gets the line saying so: wait for it to appear.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(WAIT)
            client.connect(f"{tmp_path}/echo.sock")
            client.sendall(b"ping")
            assert recvExactly(client, 4) == b"ping"
        assert process.poll() is None, "SIGHUP ended the process"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "reopened the log file" in log.read_text()
    assert "Service started" in rotated.read_text()


def test_sighup_ignored_when_logging_to_stdout(
    tmp_path: Path, notifySocket: tuple[socket.socket, str]
) -> None:
    sock, notifyPath = notifySocket
    process = start(["echo", "--listen", f"unix:{tmp_path}/echo.sock"], notifyPath)
    try:
        assert sock.recv(100) == b"READY=1"
        process.send_signal(signal.SIGHUP)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "SIGHUP ignored" in out.decode()


def test_unopenable_log_file(tmp_path: Path) -> None:
    status, _, err = complete(
        ["--log-file", str(tmp_path / "no" / "log"), "echo", "--listen", "tcp:0"]
    )
    assert status == 1
    assert err.startswith("glisten: cannot open log file") and err.count("\n") == 1


def test_portforward(tmp_path: Path, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    with socket.socket() as target:
        target.bind(("127.0.0.1", 0))
        target.listen()
        targetPort = target.getsockname()[1]
        front = str(tmp_path / "front.sock")
        process = start(
            ["portforward", "--listen", f"unix:{front}", "--dest", f"127.0.0.1:{targetPort}"],
            notifyPath,
        )
        try:
            assert sock.recv(100) == b"READY=1"
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(WAIT)
                client.connect(front)
                client.sendall(b"forward me")
                target.settimeout(WAIT)
                accepted, _ = target.accept()
                with accepted:
                    accepted.settimeout(WAIT)
                    assert recvExactly(accepted, 10) == b"forward me"
                    accepted.sendall(b"and back")
                    assert recvExactly(client, 8) == b"and back"
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=WAIT)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
