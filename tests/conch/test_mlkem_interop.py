"""
``mlkem768x25519-sha256`` against asyncssh (which has it through ``cryptography``, as
glisten does), in both directions, with only that method offered by the peer. OpenSSH 9.2
here predates it (9.9); ``test_openssh_server.test_eachKexAgainstSshd`` checks that glisten
falls back cleanly against such an OpenSSH.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.ssh._ssh import _mlkem

from .conftest import ASYNCSSH_SERVE, glistenSsh, pythonServer, sshKeygen

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not _mlkem.AVAILABLE, reason="this cryptography has no ML-KEM"),
]

ASYNCSSH_CLIENT = """
import asyncio, sys
import asyncssh

async def main():
    port, key = sys.argv[1:3]
    async with asyncssh.connect(
        "127.0.0.1", int(port), username="me", client_keys=[key], known_hosts=None,
        kex_algs=["mlkem768x25519-sha256"],
    ) as conn:
        result = await conn.run("echo pq-ok")
        sys.stdout.write(result.stdout)

asyncio.run(main())
"""

ASYNCSSH_SERVER = (
    """
import asyncio, sys
import asyncssh

class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return False  # no authentication: the key exchange is what is tested

async def handle(process):
    process.stdout.write("pq:" + process.command + "\\n")
    process.exit(0)

_create = asyncssh.create_server

def create_server(*args, **kwargs):
    return _create(*args, kex_algs=["mlkem768x25519-sha256"], **kwargs)

asyncssh.create_server = create_server
"""
    + ASYNCSSH_SERVE
)


def test_asyncsshClientToGlistenServer(tmp_path: Path) -> None:
    key = sshKeygen(tmp_path / "id_ed25519", "ed25519")
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(Path(str(key) + ".pub").read_bytes())
    (tmp_path / "client.py").write_text(ASYNCSSH_CLIENT)
    with glistenSsh(tmp_path, "--authorized-keys", str(authorized)) as port:
        result = subprocess.run(
            [sys.executable, str(tmp_path / "client.py"), str(port), str(key)],
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == b"pq-ok\n"
    assert b"Traceback" not in (tmp_path / "server.log").read_bytes()


def test_glistenClientToAsyncsshServer(tmp_path: Path) -> None:
    from glisten.conch.client.knownhosts import KnownHostsFile
    from glisten.conch.endpoints import SSHCommandClientEndpoint
    from glisten.conch.ssh.keys import Key
    from glisten.internet.protocol import Factory

    from .test_openssh_server import _Collect, _run, _YesUI

    with pythonServer(tmp_path, "server.py", ASYNCSSH_SERVER) as port:

        async def main(reactor: Any) -> bytes:
            endpoint = SSHCommandClientEndpoint.newConnection(
                reactor,
                b"hello",
                b"me",
                b"127.0.0.1",
                port,
                keys=[Key.generate("ed25519")],
                knownHosts=KnownHostsFile.fromPath(tmp_path / "known_hosts"),
                ui=_YesUI(),
            )
            proto = await endpoint.connect(Factory.forProtocol(_Collect))
            await proto.done
            return proto.data

        assert _run(main) == b"pq:hello\n"
