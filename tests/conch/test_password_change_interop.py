"""glisten's client endpoint answering asyncssh's request for a new password (RFC 4252
section 8: SSH_MSG_USERAUTH_PASSWD_CHANGEREQ); OpenSSH's sshd never sends one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.internet import defer

from .conftest import ASYNCSSH_SERVE, pythonServer
from .test_openssh_server import _Collect, _run, _YesUI

pytestmark = pytest.mark.interop

OLD = "expired-pw"
NEW = "fresh-pw-2026"

ASYNCSSH_SERVER = (
    """
import asyncio, sys
import asyncssh

changed = []

class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        if username != "alice":
            return False
        if changed:
            return password == changed[-1]
        if password == sys.argv[2]:
            raise asyncssh.PasswordChangeRequired("Your password has expired.\\x1b[2J")
        return False

    def change_password(self, username, old_password, new_password):
        if old_password != sys.argv[2]:
            return False
        if len(new_password) < 8:
            raise asyncssh.PasswordChangeRequired("Too short; another one")
        changed.append(new_password)
        return True

async def handle(process):
    process.stdout.write("changed:" + ",".join(changed) + "\\n")
    process.exit(0)

"""
    + ASYNCSSH_SERVE
)


@pytest.fixture
def asyncsshServer(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An asyncssh server whose user ``alice`` must change the password ``OLD``."""
    with pythonServer(tmp_path, "server.py", ASYNCSSH_SERVER, OLD) as port:
        yield {"port": port, "tmp": tmp_path}


class _PasswordUI(_YesUI):
    def __init__(self, answers: list[str]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.prompts: list[str] = []

    def askPassword(self, prompt: str) -> defer.Deferred[bytes] | None:
        self.prompts.append(prompt)
        if not self.answers:
            return None
        return defer.succeed(self.answers.pop(0).encode())


def _login(server: dict[str, Any], ui: Any) -> Any:
    from glisten.conch.client.knownhosts import KnownHostsFile
    from glisten.conch.endpoints import SSHCommandClientEndpoint
    from glisten.internet.protocol import Factory

    async def main(reactor: Any) -> Any:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"hello",
            b"alice",
            b"127.0.0.1",
            server["port"],
            password=OLD,
            knownHosts=KnownHostsFile.fromPath(server["tmp"] / "known_hosts"),
            ui=ui,
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    return _run(main)


def test_newPasswordAskedAndSent(asyncsshServer: dict[str, Any]) -> None:
    ui = _PasswordUI(["short", NEW])
    assert _login(asyncsshServer, ui) == f"changed:{NEW}\n".encode()
    # The server's prompts are shown with their control characters replaced.
    assert len(ui.prompts) == 2
    assert "Your password has expired.?[2J" in ui.prompts[0]
    assert "Too short; another one" in ui.prompts[1]
    assert all("\x1b" not in p for p in ui.prompts)


def test_noNewPasswordFailsTheLogin(asyncsshServer: dict[str, Any]) -> None:
    from glisten.conch.endpoints import AuthenticationFailed

    ui = _PasswordUI([])
    with pytest.raises(AuthenticationFailed):
        _login(asyncsshServer, ui)
    assert len(ui.prompts) == 1 and "expired" in ui.prompts[0]
