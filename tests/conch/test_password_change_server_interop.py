"""
OpenSSH's ``ssh``, typed into through tmux, changing an expired password of
``glisten ssh --password-file`` at login: with ``password`` (PASSWD_CHANGEREQ, RFC 4252
section 8) and with ``keyboard-interactive`` (a second round).
"""

from __future__ import annotations

import getpass
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.cred.checkers import scryptHash, scryptVerify

from ._tmux import Pane, pane, waitFor
from .conftest import glistenSsh, requireBinary
from .test_kbdint_interop import sshWithAskpass

pytestmark = pytest.mark.interop
__all__ = ["pane"]

OLD = "old password 1"
NEW = "brand new password"


def _sshPane(
    pane: Callable[[str, list[str]], Pane], tmp: Path, port: int, method: str, user: str
) -> Pane:
    ssh = [
        requireBinary("ssh"),
        "-p",
        str(port),
        "-l",
        user,
        "-o",
        f"PreferredAuthentications={method}",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "127.0.0.1",
        "echo logged-in-$((6*7))",
    ]
    # The pane stays open after ssh ends so its last words can be read.
    script = shlex.join(ssh) + '; echo "ssh-exit=$?"; read done'
    return pane(method, ["sh", "-c", script])


def _waitForTwice(p: Pane, text: str) -> None:
    """Wait until ``text`` is on the screen a second time (the same prompt, asked again)."""
    waitFor(lambda: "#" * p.screen().count(text), "##")


def _storedHash(passwords: Path, user: str) -> bytes:
    for line in passwords.read_bytes().splitlines():
        fields = line.split(b":")
        if fields[0] == user.encode():
            return fields[1]
    raise AssertionError("user gone from the password file")


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_opensshChangesAnExpiredPassword(
    tmp_path: Path, pane: Callable[[str, list[str]], Pane], method: str
) -> None:
    user = getpass.getuser()
    passwords = tmp_path / "passwords"
    passwords.write_bytes(user.encode() + b":" + scryptHash(OLD) + b":0\n")
    with glistenSsh(tmp_path, "--password-file", str(passwords)) as port:
        p = _sshPane(pane, tmp_path, port, method, user)
        p.waitFor("assword:")
        p.type(OLD + "\n")
        if method == "password":
            # OpenSSH shows the server's prompt, then asks for the old password again and the
            # new one twice. A new password that is too short is refused and asked for again.
            p.waitFor("choose a new one")
            p.waitFor("old password:")
            p.type(OLD + "\n")
            p.waitFor("s new password:")
            p.type("short\n")
            p.waitFor("Retype")
            p.type("short\n")
            p.waitFor("too short")
            screen = p.waitFor("old password:")
            assert screen.count("old password:") == 2
            p.type(OLD + "\n")
            _waitForTwice(p, "s new password:")
            p.type(NEW + "\n")
            _waitForTwice(p, "Retype")
            p.type(NEW + "\n")
        else:
            p.waitFor("New password:")
            p.type(NEW + "\n")
            p.waitFor("Retype new password:")
            p.type(NEW + "\n")
        screen = p.waitFor("ssh-exit=")
        assert "logged-in-42" in screen and "ssh-exit=0" in screen, screen
        assert scryptVerify(NEW, _storedHash(passwords, user))
        assert NEW.encode() not in passwords.read_bytes()
        # The new password now logs in without a change; the old one no longer does.
        server = {"port": port, "tmp": tmp_path, "user": user}
        result, asked = sshWithAskpass(server, NEW, "password")
        assert result.returncode == 0, result.stderr
        result, _ = sshWithAskpass(server, OLD, "password")
        assert result.returncode == 255
    log = (tmp_path / "server.log").read_bytes()
    assert b"Traceback" not in log
    assert b"password of " + user.encode() + b" changed" in log


# ------------------------------------ glisten's client endpoint and asyncssh, over sockets


def test_glistenEndpointChangesAnExpiredPassword(tmp_path: Path) -> None:
    from glisten.conch.client.knownhosts import KnownHostsFile
    from glisten.conch.endpoints import SSHCommandClientEndpoint
    from glisten.internet.protocol import Factory

    from .test_openssh_server import _Collect, _run
    from .test_password_change_interop import _PasswordUI

    passwords = tmp_path / "passwords"
    passwords.write_bytes(b"alice:" + scryptHash(OLD) + b":0\n")
    ui = _PasswordUI(["short", NEW])
    with glistenSsh(tmp_path, "--password-file", str(passwords)) as port:

        async def main(reactor: Any) -> Any:
            endpoint = SSHCommandClientEndpoint.newConnection(
                reactor,
                b"echo endpoint-$((6*7))",
                b"alice",
                b"127.0.0.1",
                port,
                password=OLD,
                knownHosts=KnownHostsFile.fromPath(tmp_path / "known_hosts"),
                ui=ui,
            )
            proto = await endpoint.connect(Factory.forProtocol(_Collect))
            await proto.done
            return proto.data

        assert _run(main) == b"endpoint-42\n"
    assert len(ui.prompts) == 2
    assert "choose a new one" in ui.prompts[0] and "too short" in ui.prompts[1]
    assert scryptVerify(NEW, _storedHash(passwords, "alice"))


ASYNCSSH_CLIENT = """
import asyncio, sys
import asyncssh

port, old, new = sys.argv[1:4]

class Client(asyncssh.SSHClient):
    def password_change_requested(self, prompt, lang):
        print("asked:", prompt)
        return old, new

async def main():
    async with asyncssh.connect(
        "127.0.0.1", int(port), username="alice", password=old, known_hosts=None,
        client_factory=Client, preferred_auth="password",
    ) as conn:
        result = await conn.run("echo asyncssh-$((6*7))")
        sys.stdout.write(result.stdout)

asyncio.run(main())
"""


def test_asyncsshChangesAnExpiredPassword(tmp_path: Path) -> None:
    import subprocess
    import sys

    passwords = tmp_path / "passwords"
    passwords.write_bytes(b"alice:" + scryptHash(OLD) + b":0\n")
    (tmp_path / "client.py").write_text(ASYNCSSH_CLIENT)
    with glistenSsh(tmp_path, "--password-file", str(passwords)) as port:
        result = subprocess.run(
            [sys.executable, str(tmp_path / "client.py"), str(port), OLD, NEW],
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(b"asyncssh-42\n")
    assert b"asked: Your password has expired" in result.stdout
    assert scryptVerify(NEW, _storedHash(passwords, "alice"))
