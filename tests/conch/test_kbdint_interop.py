"""OpenSSH's ``ssh`` logging in to ``glisten ssh`` with keyboard-interactive (RFC 4256)."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.cred.checkers import scryptHash

from .conftest import ASYNCSSH_SERVE, freePort, glistenSsh, requireBinary, waitForPort

pytestmark = pytest.mark.interop

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def passwordServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``glisten ssh`` with a password file for the current user and no keys."""
    tmp = tmp_path_factory.mktemp("glisten-ssh-kbdint")
    user = getpass.getuser()
    passwords = tmp / "passwords"
    passwords.write_bytes(user.encode() + b":" + scryptHash(PASSWORD) + b"\n")
    with glistenSsh(tmp, "--password-file", str(passwords)) as port:
        yield {"port": port, "tmp": tmp, "user": user, "log": tmp / "server.log"}


def sshWithAskpass(
    server: dict[str, object], password: str, method: str
) -> tuple[subprocess.CompletedProcess[bytes], list[str]]:
    """Run ``ssh ... echo`` answering prompts through SSH_ASKPASS; return what it was asked."""
    tmp = Path(str(server["tmp"]))
    prompts = tmp / f"prompts-{method}-{len(password)}"
    askpass = tmp / f"askpass-{method}-{len(password)}.sh"
    askpass.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$1" >> {prompts}\nprintf "%s\\n" "{password}"\n'
    )
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


# ------------------------------------------- glisten's client endpoint against asyncssh's server

ASYNCSSH_SERVER = (
    """
import asyncio, sys
import asyncssh

class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return False

    def public_key_auth_supported(self):
        return False

    def kbdint_auth_supported(self):
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return "Login", "Say the word", "", [("Password: ", False)]

    def validate_kbdint_response(self, username, responses):
        return username == "alice" and list(responses) == [sys.argv[2]]

async def handle(process):
    process.stdout.write("kbd:" + process.command + "\\n")
    process.exit(0)

"""
    + ASYNCSSH_SERVE
)


@pytest.fixture(scope="module")
def asyncsshServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """An asyncssh server that lets ``alice`` in by keyboard-interactive only."""
    tmp = tmp_path_factory.mktemp("asyncssh-kbdint")
    script = tmp / "server.py"
    script.write_text(ASYNCSSH_SERVER)
    port = freePort()
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), PASSWORD], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        waitForPort(port, proc)
        yield {"port": port, "tmp": tmp}
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _kbdintCommand(server: dict[str, object], tmp: Path, password: str) -> Any:
    from glisten.conch.client.knownhosts import KnownHostsFile
    from glisten.conch.endpoints import SSHCommandClientEndpoint
    from glisten.internet.protocol import Factory

    from .test_openssh_server import _Collect, _YesUI

    async def main(reactor: Any) -> Any:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"hello",
            b"alice",
            b"127.0.0.1",
            int(str(server["port"])),
            password=password,
            knownHosts=KnownHostsFile.fromPath(tmp / "known_hosts"),
            ui=_YesUI(),
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    return main


def test_endpointAnswersKeyboardInteractive(
    asyncsshServer: dict[str, object], tmp_path: Path
) -> None:
    from .test_openssh_server import _run

    assert _run(_kbdintCommand(asyncsshServer, tmp_path, PASSWORD)) == b"kbd:hello\n"


def test_endpointWrongPasswordFails(asyncsshServer: dict[str, object], tmp_path: Path) -> None:
    from glisten.conch.endpoints import AuthenticationFailed

    from .test_openssh_server import _run

    with pytest.raises(AuthenticationFailed):
        _run(_kbdintCommand(asyncsshServer, tmp_path, "wrong"))
