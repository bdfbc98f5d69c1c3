"""systemd: LISTEN_FDS parsing, sd_notify, and a real socket-activation run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from glisten.internet._systemd import ListenFDs, notify

WAIT = 60.0
HELPER = str(Path(__file__).parent.parent / "application" / "runservice_helper.py")


def test_listen_fds_from_environment() -> None:
    pid = str(os.getpid())
    fds = ListenFDs.fromEnvironment(
        {"LISTEN_PID": pid, "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web:api"}
    )
    assert fds.inheritedDescriptors() == [3, 4]
    assert fds.inheritedNamedDescriptors() == {"web": 3, "api": 4}
    unnamed = ListenFDs.fromEnvironment({"LISTEN_PID": pid, "LISTEN_FDS": "2"})
    assert list(unnamed.names) == ["unknown", "unknown"]
    mismatched = ListenFDs.fromEnvironment(
        {"LISTEN_PID": pid, "LISTEN_FDS": "2", "LISTEN_FDNAMES": "one"}
    )
    assert list(mismatched.names) == ["unknown", "unknown"]
    for bad in [
        {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1"},  # meant for another process
        {"LISTEN_PID": pid, "LISTEN_FDS": "x"},
        {"LISTEN_PID": pid, "LISTEN_FDS": "-1"},
        {"LISTEN_PID": pid, "LISTEN_FDS": "99999"},
        {"LISTEN_FDS": "1"},
        {},
    ]:
        assert ListenFDs.fromEnvironment(bad).inheritedDescriptors() == []


def test_notify_to_path_and_abstract_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(path)
        receiver.settimeout(WAIT)
        assert notify("READY=1", {"NOTIFY_SOCKET": path})
        assert receiver.recv(100) == b"READY=1"
    abstractName = f"glisten-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + abstractName)
        receiver.settimeout(WAIT)
        assert notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + abstractName})
        assert receiver.recv(100) == b"STOPPING=1"


def test_notify_without_or_with_broken_socket(tmp_path: Path) -> None:
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": "relative/path"})
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def glistenCommand() -> list[str]:
    script = Path(sys.executable).with_name("glisten")
    return [str(script)]


def requirePeer() -> str:
    found = shutil.which("systemd-socket-activate")
    if found is None:
        message = "systemd-socket-activate is not installed (apt package systemd)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def socketActivationRun(command: list[str], tmp_path: Path) -> None:
    activate = requirePeer()
    notifyPath = str(tmp_path / "notify")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(notifyPath)
    receiver.settimeout(WAIT)
    port = freePort()
    env = dict(os.environ)
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM"):
        env.pop(name, None)
    env["NOTIFY_SOCKET"] = notifyPath
    process = subprocess.Popen(
        [activate, "-l", f"127.0.0.1:{port}", "-E", "NOTIFY_SOCKET", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode()
        assert "Listening on" in line, line
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as client:
            # The first connection makes systemd-socket-activate start glisten, which
            # adopts the listening socket and accepts this very connection.
            client.sendall(b"activated")
            assert client.recv(100) == b"activated"
        assert receiver.recv(100) == b"READY=1"
        process.send_signal(signal.SIGTERM)
        assert receiver.recv(100) == b"STOPPING=1"
        out, err = process.communicate(timeout=WAIT)
        assert process.returncode == 0, err
        assert b"Service stopped" in out
    finally:
        receiver.close()
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.interop
def test_socket_activation_with_the_runner(tmp_path: Path) -> None:
    socketActivationRun([sys.executable, HELPER, "echo", "systemd:domain=INET:index=0"], tmp_path)


@pytest.mark.interop
def test_socket_activation_of_glisten_echo(tmp_path: Path) -> None:
    if not list(entry_points(group="glisten.plugins", name="echo")):
        message = "the echo plugin is not registered in glisten-core's entry points"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    socketActivationRun(
        [*glistenCommand(), "echo", "--listen", "systemd:domain=INET:index=0"], tmp_path
    )
