"""
``glisten manhole`` driven the way a person uses it: inetutils ``telnet`` and OpenSSH
``ssh -t`` in a tmux pane (``send-keys`` in, ``capture-pane`` out), and socat as a raw
Telnet peer. What the test reads is what a person would see on the screen.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import _tmux
from ._tmux import Pane, waitFor
from .conftest import freePort, requireBinary, sshKeygen, waitForPort

pytestmark = pytest.mark.interop

#: The tmux pane fixture.
pane = _tmux.pane

RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "manhole", *sys.argv[1:]])
"""


@pytest.fixture(scope="module")
def manholeServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("manhole")
    from glisten.cred.checkers import scryptHash

    (tmp / "passwd").write_bytes(b"admin:" + scryptHash(b"s3cret words") + b"\n")
    userKey = sshKeygen(tmp / "id_ed25519", "ed25519")
    (tmp / "authorized_keys").write_bytes(Path(str(userKey) + ".pub").read_bytes())
    telnetPort, sshPort = freePort(), freePort()
    (tmp / "runner.py").write_text(RUNNER)
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(tmp / "runner.py"),
            "--telnetPort",
            f"tcp:{telnetPort}",
            "--sshPort",
            f"tcp:{sshPort}",
            "--passwd",
            str(tmp / "passwd"),
            "--authorizedKeys",
            str(tmp / "authorized_keys"),
            "--sshKeyDir",
            str(tmp / "hostkeys"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(telnetPort, proc)
        waitForPort(sshPort, proc)
        yield {
            "telnetPort": telnetPort,
            "sshPort": sshPort,
            "key": userKey,
            "log": tmp / "server.log",
            "tmp": tmp,
        }
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _log(server: dict[str, object]) -> str:
    return Path(str(server["log"])).read_text(errors="replace")


def test_telnetClient(manholeServer: dict[str, object], pane: Callable[..., Pane]) -> None:
    telnet = requireBinary("telnet")
    p = pane("telnet", [telnet, "127.0.0.1", str(manholeServer["telnetPort"])])
    p.waitFor("Username:")
    p.type("admin")
    p.keys("Enter")
    p.waitFor("Password:")
    p.type("s3cret words")
    p.keys("Enter")
    p.waitFor(">>>")
    assert "s3cret" not in p.screen()  # the password was not echoed
    p.type("1+1")
    p.keys("Enter")
    screen = p.waitFor("\n2\n")
    assert ">>> 1+1" in screen
    p.keys("Up")
    waitFor(lambda: p.screen().rstrip().splitlines()[-1], ">>> 1+1")
    p.keys("Enter")
    p.waitFor(">>> 1+1\n2\n>>> 1+1\n2")
    # NAWS: the new size reaches the manhole (it logs it and redraws the prompt).
    p.resize(120, 40)
    waitFor(lambda: _log(manholeServer), "is 120x40")
    assert "manhole" in _log(manholeServer) and ": 1+1" in _log(manholeServer)


def test_sshClient(manholeServer: dict[str, object], pane: Callable[..., Pane]) -> None:
    ssh = requireBinary("ssh")
    tmp = Path(str(manholeServer["tmp"]))
    p = pane(
        "ssh",
        [
            ssh,
            "-t",
            "-p",
            str(manholeServer["sshPort"]),
            "-i",
            str(manholeServer["key"]),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={tmp / 'known_hosts'}",
            "admin@127.0.0.1",
        ],
    )
    p.waitFor(">>>")
    p.type("import os; os.getpid() > 0")
    p.keys("Enter")
    p.waitFor("True")
    # Colour: the keyword was drawn green (SGR 32), as the terminal shows it.
    assert "\x1b[32mimport" in p.screen(escapes=True)
    p.type("[x * 2 for x in range(3)]")
    p.keys("Enter")
    p.waitFor("[0, 2, 4]")
    p.keys("Up", "Up")
    waitFor(lambda: p.screen().rstrip().splitlines()[-1], ">>> import os; os.getpid() > 0")
    p.keys("C-c")
    p.resize(132, 43)
    waitFor(lambda: _log(manholeServer), "is 132x43")
    p.type("from glisten.internet import reactor, task")
    p.keys("Enter")
    p.type("await task.deferLater(reactor, 0.1, lambda: 'slept')")
    p.keys("Enter")
    p.waitFor("\n'slept'\n")
    p.keys("C-d")
    waitFor(lambda: _log(manholeServer), "manhole session closed")


def test_socatRawTelnet(manholeServer: dict[str, object]) -> None:
    """socat answers no negotiation: the server must not wait for one, nor loop."""
    socat = requireBinary("socat")
    proc = subprocess.Popen(
        [socat, "-", f"TCP:127.0.0.1:{manholeServer['telnetPort']}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"admin\r\ns3cret words\r\n6*7\r\n")
        proc.stdin.flush()
        seen = b""
        deadline = time.monotonic() + 20
        while b"42" not in seen and time.monotonic() < deadline:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            seen += chunk
        assert b"42" in seen
        assert b"\xff\xfb\x01" in seen  # IAC WILL ECHO before the password
    finally:
        proc.kill()
        proc.wait(10)


def test_refusesPublicAddressWithoutAuth(tmp_path: Path) -> None:
    (tmp_path / "runner.py").write_text(RUNNER)
    result = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "runner.py"),
            "--telnetPort",
            f"tcp:{freePort()}:interface=0.0.0.0",
        ],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert b"without authentication" in result.stderr


def test_unixSocketWithoutAuth(tmp_path: Path) -> None:
    """No authentication is allowed only on a Unix socket, made private (0600)."""
    socat = requireBinary("socat")
    (tmp_path / "runner.py").write_text(RUNNER)
    path = tmp_path / "manhole.sock"
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, str(tmp_path / "runner.py"), "--telnetPort", f"unix:{path}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitFor(lambda: (tmp_path / "server.log").read_text(errors="replace"), "Service started")
        assert path.stat().st_mode & 0o777 == 0o600
        client = subprocess.run(
            [socat, "-t", "5", "-", f"UNIX-CONNECT:{path}"],
            input=b"6*7\r\n",
            capture_output=True,
            timeout=30,
        )
        assert b"42" in client.stdout
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_localConsole(pane: Callable[..., Pane], tmp_path: Path) -> None:
    """``python -m glisten.conch.stdio``: a manhole on the terminal it runs in."""
    p = pane("stdio", [sys.executable, "-m", "glisten.conch.stdio"])
    p.waitFor(">>>")
    p.type("6*7")
    p.keys("Enter")
    p.waitFor("\n42\n")
    p.keys("Up")
    waitFor(lambda: p.screen().rstrip().splitlines()[-1], ">>> 6*7")
    # A resize reaches the program: it redraws its line at the top of a cleared screen.
    p.resize(90, 20)
    waitFor(lambda: p.screen().splitlines()[0] if p.screen().strip() else "", ">>> 6*7")
    p.keys("C-c")
    p.waitFor("KeyboardInterrupt")
    p.keys("C-d")
    waitFor(lambda: "" if p.alive() else "ended", "ended")
