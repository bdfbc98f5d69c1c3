"""``authorized_keys`` ``permitlisten=`` against OpenSSH's ``ssh -R``: the key narrows where the
server's ``--permit-listen`` lets it listen."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import freePort, glistenSsh, sshKeygen, stopProcess, waitForPort
from .test_forwarding_interop import _roundTrip, _ssh, echo

pytestmark = pytest.mark.interop

__all__ = ["echo"]


@pytest.fixture(scope="module")
def listenServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``glisten ssh`` allowing ``-R`` on any port above 1023; the key only on one."""
    tmp = tmp_path_factory.mktemp("glisten-permitlisten")
    key = sshKeygen(tmp / "id_ed25519", "ed25519")
    allowed = freePort()
    (tmp / "authorized_keys").write_bytes(
        b'restrict,port-forwarding,permitlisten="127.0.0.1:%d" ' % allowed
        + Path(str(key) + ".pub").read_bytes()
    )
    args = ["--authorized-keys", str(tmp / "authorized_keys"), "--permit-listen", "*:0"]
    with glistenSsh(tmp, *args) as port:
        yield {"port": port, "key": key, "allowed": allowed, "log": tmp / "server.log"}


def test_listensWhereTheKeyAllows(listenServer: dict[str, Any], echo: dict[str, Any]) -> None:
    allowed = listenServer["allowed"]
    proc = subprocess.Popen(
        _ssh(listenServer, "-N", "-R", f"127.0.0.1:{allowed}:127.0.0.1:{echo['port']}"),
        stderr=subprocess.DEVNULL,
    )
    try:
        waitForPort(allowed, proc)
        payload = os.urandom(50_000)
        connect = lambda: socket.create_connection(("127.0.0.1", allowed))  # noqa: E731
        assert _roundTrip(connect, payload) == payload
    finally:
        stopProcess(proc)


@pytest.mark.parametrize("bind", ["127.0.0.1:{other}", "127.0.0.1:0", "localhost:{allowed}"])
def test_refusedElsewhere(listenServer: dict[str, Any], bind: str) -> None:
    """Another port, a port the server picks, another host name: all outside the key's
    ``permitlisten=`` though the server's policy admits them."""
    address = bind.format(other=freePort(), allowed=listenServer["allowed"])
    result = subprocess.run(
        _ssh(listenServer, "-N", "-R", f"{address}:127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "remote port forwarding failed" in result.stderr
    assert b"Traceback" not in Path(listenServer["log"]).read_bytes()
