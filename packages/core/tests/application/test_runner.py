"""The runner, end to end in a child process: logging, pid file, signals, systemd notify."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.application.runner import journalFormat, runService
from glisten.application.service import Service
from glisten.logger import LogLevel, eventsFromJSONLogFile, formatEvent

HELPER = str(Path(__file__).with_name("runservice_helper.py"))
WAIT = 60.0


@pytest.fixture
def notifySocket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(WAIT)
    yield sock, path
    sock.close()


def spawn(args: list[str], notifyPath: str | None, **kw: Any) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    env.pop("LISTEN_FDS", None)
    if notifyPath is not None:
        env["NOTIFY_SOCKET"] = notifyPath
    env.update(kw.pop("env", {}))
    return subprocess.Popen(
        [sys.executable, HELPER, *args],
        env=env,
        stdout=kw.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        **kw,
    )


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=WAIT)
    return process.returncode, (out or b"").decode(), err.decode()


def echoOnce(path: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(WAIT)
        client.connect(path)
        client.sendall(b"ping")
        return client.recv(100)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_echo_ready_notify_and_clean_stop(
    tmp_path: Path, notifySocket: tuple[socket.socket, str], sig: int
) -> None:
    sock, notifyPath = notifySocket
    listen = str(tmp_path / "echo.sock")
    pidfile = tmp_path / "echo.pid"
    process = spawn(["echo", f"unix:{listen}", "--pidfile", str(pidfile)], notifyPath)
    try:
        assert sock.recv(100) == b"READY=1"
        assert pidfile.read_text().strip() == str(process.pid)
        assert echoOnce(listen) == b"ping"
        process.send_signal(sig)
        assert sock.recv(100) == b"STOPPING=1"
        status, out, err = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == 0, err
    assert "Service started" in out and "Service stopped" in out
    assert not pidfile.exists()


def test_services_stop_in_reverse_order(notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    process = spawn(["ordered", "-"], notifyPath)
    assert sock.recv(100) == b"READY=1"
    process.send_signal(signal.SIGTERM)
    status, out, _ = finish(process)
    assert status == 0
    assert 0 < out.index("stopping second") < out.index("stopping first")


def test_json_log_file_parses_back(tmp_path: Path, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    logFile = tmp_path / "log.json"
    process = spawn(
        ["ordered", "-", "--log-format", "json", "--log-file", str(logFile)], notifyPath
    )
    assert sock.recv(100) == b"READY=1"
    process.send_signal(signal.SIGTERM)
    status, out, _ = finish(process)
    assert status == 0 and out == ""
    with logFile.open() as f:
        events = list(eventsFromJSONLogFile(f))
    messages = [formatEvent(e) for e in events]
    assert any(m.startswith("Service started") for m in messages)
    stopping = [e for e in events if e.get("log_format") == "stopping {name}"]
    assert [e["name"] for e in stopping] == ["second", "first"]
    assert all(e["log_level"] is LogLevel.info for e in stopping)


def test_journal_format_when_stdout_is_the_journal(
    notifySocket: tuple[socket.socket, str],
) -> None:
    sock, notifyPath = notifySocket
    readEnd, writeEnd = os.pipe()
    st = os.fstat(writeEnd)
    process = spawn(
        ["ordered", "-"],
        notifyPath,
        stdout=writeEnd,
        env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"},
    )
    os.close(writeEnd)
    assert sock.recv(100) == b"READY=1"
    process.send_signal(signal.SIGTERM)
    status, _, _ = finish(process)
    with os.fdopen(readEnd, "rb") as f:
        lines = f.read().decode().splitlines()
    assert status == 0
    assert lines and all(line.startswith("<") for line in lines)
    assert any(line.startswith("<6>") and "stopping second" in line for line in lines)


def test_journal_stream_of_another_file_is_ignored(
    notifySocket: tuple[socket.socket, str],
) -> None:
    sock, notifyPath = notifySocket
    process = spawn(["ordered", "-"], notifyPath, env={"JOURNAL_STREAM": "1:2"})
    assert sock.recv(100) == b"READY=1"
    process.send_signal(signal.SIGTERM)
    status, out, _ = finish(process)
    assert status == 0 and not out.startswith("<") and "stopping second" in out


def test_service_that_fails_to_start() -> None:
    process = spawn(["failing", "-"], None)
    status, out, err = finish(process)
    assert status == 1
    assert err == "glisten: the service failed to start: cannot start: the widget is missing\n"
    assert "Traceback" in out  # the full story is in the log


def test_listen_failure_is_a_start_failure(tmp_path: Path) -> None:
    process = spawn(["echo", f"unix:{tmp_path}/no/such/dir/echo.sock"], None)
    status, out, err = finish(process)
    assert status == 1
    assert err.startswith(f"glisten: cannot listen on unix:{tmp_path}/no/such/dir/echo.sock: ")
    assert err.count("\n") == 1
    assert "Traceback" not in out


def test_unopenable_log_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = runService(Service(), logFile=str(tmp_path / "missing" / "log.txt"))
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("glisten: cannot open log file ") and err.count("\n") == 1


def test_bad_log_level_and_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert runService(Service(), logLevel="loud") == 1
    assert runService(Service(), logFormat="xml") == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["glisten: unknown log level 'loud'", "glisten: unknown log format 'xml'"]


def test_pidfile_of_running_process_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pidfile = tmp_path / "x.pid"
    pidfile.write_text(f"{os.getppid()}\n")
    assert runService(Service(), pidFile=str(pidfile)) == 1
    assert "which is running" in capsys.readouterr().err
    assert pidfile.read_text() == f"{os.getppid()}\n"


def test_stale_pidfile_is_replaced(tmp_path: Path, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    pidfile = tmp_path / "x.pid"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pidfile.write_text(f"{dead.pid}\n")
    process = spawn(["ordered", "-", "--pidfile", str(pidfile)], notifyPath)
    assert sock.recv(100) == b"READY=1"
    assert pidfile.read_text().strip() == str(process.pid)
    process.send_signal(signal.SIGTERM)
    assert finish(process)[0] == 0
    assert not pidfile.exists()


def test_journal_format_priorities() -> None:
    event = {"log_format": "a\nb", "log_level": LogLevel.warn, "log_namespace": "ns"}
    assert journalFormat(event) == "<4>[ns#warn] a\n<4>  b\n"
    assert journalFormat({"log_format": "x", "log_level": LogLevel.critical}).startswith("<2>")
    assert journalFormat({"log_format": "x", "log_level": LogLevel.debug}).startswith("<7>")
    assert journalFormat({}) is None
    out = io.StringIO()
    from glisten.application.runner import journalFileLogObserver

    journalFileLogObserver(out)({"log_format": "hi", "log_level": LogLevel.error})
    assert out.getvalue().startswith("<3>")


@pytest.mark.parametrize("name", ["epoll", "poll", "select", "asyncio"])
def test_reactor_by_name(name: str, notifySocket: tuple[socket.socket, str]) -> None:
    sock, notifyPath = notifySocket
    process = spawn(["ordered", "-", "--reactor", name], notifyPath)
    assert sock.recv(100) == b"READY=1"
    process.send_signal(signal.SIGTERM)
    status, out, err = finish(process)
    assert status == 0, err
    assert "stopping first" in out


def test_reactor_installed_while_building_the_service(
    notifySocket: tuple[socket.socket, str],
) -> None:
    sock, notifyPath = notifySocket
    same = spawn(["preinstalled", "-", "--reactor", "epoll"], notifyPath)
    assert sock.recv(100) == b"READY=1"
    same.send_signal(signal.SIGTERM)
    assert finish(same)[0] == 0
    other = spawn(["preinstalled", "-", "--reactor", "poll"], notifyPath)
    status, _, err = finish(other)
    assert status == 1
    assert err == "glisten: cannot install reactor 'poll': EPollReactor was installed already\n"


def test_command_exit_status_and_log_on_stderr() -> None:
    """A one-shot service stops the reactor itself; its exitStatus is the process's, and with
    a log stream its result alone is on standard output."""
    code, out, err = finish(spawn(["command", "3", "--log-stderr"], None))
    assert code == 3
    assert out == "RESULT\n"
    assert "Service started" in err
    code, out, err = finish(spawn(["command", "0"], None))
    assert code == 0 and "RESULT" in out and "Service started" in out
