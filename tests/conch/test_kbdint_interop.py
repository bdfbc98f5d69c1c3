"""OpenSSH's ``ssh`` logging in to ``glisten ssh`` with keyboard-interactive (RFC 4256)."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glisten.cred.checkers import scryptHash

from .conftest import RUNNER, freePort, requireBinary, waitForPort

pytestmark = pytest.mark.interop

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def passwordServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``glisten ssh`` with a password file for the current user and no keys."""
    requireBinary("ssh")
    tmp = tmp_path_factory.mktemp("glisten-ssh-kbdint")
    user = getpass.getuser()
    passwords = tmp / "passwords"
    passwords.write_bytes(user.encode() + b":" + scryptHash(PASSWORD) + b"\n")
    port = freePort()
    runner = tmp / "runner.py"
    runner.write_text(RUNNER)
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(runner),
            "--listen",
            f"tcp:{port}:interface=127.0.0.1",
            "--host-keys",
            str(tmp / "hostkeys"),
            "--password-file",
            str(passwords),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, proc)
        yield {"port": port, "tmp": tmp, "user": user, "log": tmp / "server.log"}
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def sshWithAskpass(
    server: dict[str, object], password: str, method: str
) -> tuple[subprocess.CompletedProcess[bytes], list[str]]:
    """Run ``ssh ... echo`` answering prompts through SSH_ASKPASS; return what it was asked."""
    tmp = Path(str(server["tmp"]))
    prompts = tmp / f"prompts-{method}-{len(password)}"
    askpass = tmp / f"askpass-{method}-{len(password)}.sh"
    askpass.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {prompts}\nprintf "%s\\n" "{password}"\n')
    askpass.chmod(0o700)
    env = dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    result = subprocess.run(
        [
            requireBinary("ssh"),
            "-p",
            str(server["port"]),
            "-l",
            str(server["user"]),
            "-o",
            f"PreferredAuthentications={method}",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "127.0.0.1",
            "echo kbd-ok",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    asked = prompts.read_text().splitlines() if prompts.exists() else []
    return result, asked


def test_keyboardInteractiveLogin(passwordServer: dict[str, object]) -> None:
    result, asked = sshWithAskpass(passwordServer, PASSWORD, "keyboard-interactive")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"kbd-ok\n"
    assert len(asked) == 1 and asked[0].endswith("Password: ")


def test_keyboardInteractiveWrongPassword(passwordServer: dict[str, object]) -> None:
    result, asked = sshWithAskpass(passwordServer, "nope", "keyboard-interactive")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    assert len(asked) == 1
    assert b"Traceback" not in Path(str(passwordServer["log"])).read_bytes()


def test_passwordMethodStillWorks(passwordServer: dict[str, object]) -> None:
    result, _ = sshWithAskpass(passwordServer, PASSWORD, "password")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"kbd-ok\n"
