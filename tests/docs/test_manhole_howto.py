"""The manhole howto's SSH snippet works as the page says: ``manhole_tap.makeService`` with
``sshPort``, ``authorizedKeys`` and ``sshKeyDir``, logged in to with OpenSSH's ``ssh``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import freePort, requireBinary, sshUserKey, waitForPort

#: The page's snippet in a program of its own: ``argv`` gives the port, the authorized keys
#: file and the host key folder.
SERVER = r"""
import sys, types
from glisten.application import service
from glisten.conch import manhole_tap
from glisten.internet import reactor

greeter = types.SimpleNamespace(greeting="Hello from the program")
application = service.MultiService()
manhole_tap.makeService({
    "sshPort": f"tcp:{sys.argv[1]}",
    "authorizedKeys": sys.argv[2],
    "sshKeyDir": sys.argv[3],
    "namespace": {"greeter": greeter},
}).setServiceParent(application)
application.startService()
reactor.run()
"""


@pytest.mark.interop
def test_sshManholeSnippetWithOpenSSH(tmp_path: Path) -> None:
    ssh = requireBinary("ssh")
    key = sshUserKey(tmp_path / "id_ed25519")
    authorizedKeys = tmp_path / "authorized_keys"
    authorizedKeys.write_bytes((tmp_path / "id_ed25519.pub").read_bytes())
    port = freePort()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(authorizedKeys), str(tmp_path / "keys")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, server)
        # -tt: a terminal for the shell although ssh's input is a pipe; Ctrl-D ends it.
        shell = subprocess.run(
            [ssh, "-tt", "-p", str(port), "-i", str(key), "-o", "IdentitiesOnly=yes"]
            + ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
            + ["-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}", "-o", "LogLevel=error"]
            + ["you@127.0.0.1"],
            input=b"greeter.greeting.upper()\r\x04",
            capture_output=True,
            timeout=60,
        )
        # (ssh's own exit status is 255: the session ends without an exit status, as a
        # terminal program's does in Twisted too.)
        assert b"\n'HELLO FROM THE PROGRAM'\n" in shell.stdout.replace(b"\r\n", b"\n"), (
            shell.stdout + shell.stderr
        )
        # The host keys were made where the snippet said.
        assert sorted(p.name for p in (tmp_path / "keys").glob("*_key"))
    finally:
        server.terminate()
        server.communicate(timeout=30)
