"""Shared helpers for glisten-conch interop tests against OpenSSH."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .._peers import freePort, requireBinary, waitForPort

# Re-exported: the test modules import them from here.
__all__ = ["freePort", "requireBinary", "waitForPort"]

RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "ssh", *sys.argv[1:]])
"""


#: The end of an asyncssh server script (``pythonServer``): serves its ``Server`` class on the
#: port of ``sys.argv[1]`` with a new Ed25519 host key, sessions handled by its ``handle``.
ASYNCSSH_SERVE = """
async def main():
    key = asyncssh.generate_private_key("ssh-ed25519")
    await asyncssh.create_server(
        Server, "127.0.0.1", int(sys.argv[1]), server_host_keys=[key], process_factory=handle
    )
    await asyncio.Event().wait()

asyncio.run(main())
"""


def stopProcess(proc: subprocess.Popen[Any]) -> None:
    """Stop a peer (``ssh -N`` and the like): SIGTERM, then SIGKILL if a loaded machine keeps
    it from acting on that in time (what was tested is the peer's work, not its shutdown)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def connectUnix(path: str, proc: subprocess.Popen[Any]) -> socket.socket:
    """A connection to the Unix socket ``path`` once something listens there (the peer
    ``proc`` that makes it must keep running)."""
    deadline = time.monotonic() + 30
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {path}") from None
            time.sleep(0.05)


def sshKeygen(path: Path, kind: str, bits: int | None = None, passphrase: str = "") -> Path:
    args = [requireBinary("ssh-keygen"), "-q", "-t", kind, "-N", passphrase, "-f", str(path)]
    if bits:
        args += ["-b", str(bits)]
    subprocess.run(args, check=True)
    return path


@contextmanager
def glistenSsh(tmp: Path, *args: str) -> Iterator[int]:
    """Run ``glisten ssh --listen <free port> --host-keys tmp/hostkeys ARGS``; yield the port."""
    requireBinary("ssh")
    port = freePort()
    runner = tmp / "runner.py"
    runner.write_text(RUNNER)
    listen = f"tcp:{port}:interface=127.0.0.1"
    with open(tmp / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(runner), "--listen", listen, "--host-keys", str(tmp / "hostkeys")]
            + list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            waitForPort(port, proc)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def pythonServer(tmp: Path, name: str, source: str, *args: str) -> Iterator[int]:
    """
    Run the program ``source`` (saved as ``tmp/name``) with a free port as its first argument
    and ``args`` after it, its output in ``tmp/server.log``; yield the port once it listens.
    """
    script = tmp / name
    script.write_text(source)
    port = freePort()
    with open(tmp / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(port), *args], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            waitForPort(port, proc)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
def glistenServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``glisten ssh`` on a free port, with a user key made by ssh-keygen."""
    requireBinary("ssh")
    tmp = tmp_path_factory.mktemp("glisten-ssh")
    userKey = sshKeygen(tmp / "id_ed25519", "ed25519")
    rsaKey = sshKeygen(tmp / "id_rsa", "rsa", 3072)
    ecKey = sshKeygen(tmp / "id_ecdsa", "ecdsa", 384)
    forcedKey = sshKeygen(tmp / "id_forced", "ed25519")
    authorized = tmp / "authorized_keys"
    authorized.write_bytes(
        b"".join(Path(str(k) + ".pub").read_bytes() for k in (userKey, rsaKey, ecKey))
        + b'command="echo forced:$SSH_ORIGINAL_COMMAND",no-pty '
        + Path(str(forcedKey) + ".pub").read_bytes()
    )
    hostKeys = tmp / "hostkeys"
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
            str(hostKeys),
            "--authorized-keys",
            str(authorized),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, proc)
        yield {
            "port": port,
            "key": userKey,
            "rsaKey": rsaKey,
            "ecKey": ecKey,
            "forcedKey": forcedKey,
            "hostKeys": hostKeys,
            "tmp": tmp,
            "log": tmp / "server.log",
        }
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def opensshServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """OpenSSH ``sshd`` on a free port with a private config."""
    requireBinary("sshd")
    tmp = tmp_path_factory.mktemp("sshd")
    hostKeys = [
        sshKeygen(tmp / "host_ed25519", "ed25519"),
        sshKeygen(tmp / "host_ecdsa", "ecdsa", 256),
        sshKeygen(tmp / "host_rsa", "rsa", 2048),
    ]
    userKeys = {
        "ed25519": sshKeygen(tmp / "user_ed25519", "ed25519"),
        "rsa": sshKeygen(tmp / "user_rsa", "rsa", 2048),
        "ecdsa": sshKeygen(tmp / "user_ecdsa", "ecdsa", 521, passphrase="secret words"),
    }
    (tmp / "authorized_keys").write_bytes(
        b"".join(Path(str(k) + ".pub").read_bytes() for k in userKeys.values())
    )
    with runSshd(
        tmp,
        *[f"HostKey {k}" for k in hostKeys],
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
        "PasswordAuthentication no",
        "Subsystem sftp internal-sftp",
    ) as port:
        yield {"port": port, "userKeys": userKeys, "hostKeys": hostKeys, "tmp": tmp}


@contextmanager
def runSshd(tmp: Path, *config: str) -> Iterator[int]:
    """
    Run OpenSSH ``sshd`` on a free loopback port with ``config`` lines (plus the listening
    address, port, pid file, ``StrictModes no`` and ``UsePAM no``); yield the port.
    """
    sshd = requireBinary("sshd")
    port = freePort()
    path = tmp / "sshd_config"
    lines = ["ListenAddress 127.0.0.1", f"Port {port}", f"PidFile {tmp / 'sshd.pid'}"]
    path.write_text("\n".join([*lines, "StrictModes no", "UsePAM no", *config, ""]))
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("sshd needs root in CI")
        pytest.skip("sshd needs root")
    os.makedirs("/run/sshd", exist_ok=True)
    with open(tmp / "sshd.log", "wb") as log:
        proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            waitForPort(port, proc)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)
