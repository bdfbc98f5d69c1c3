"""OpenSSH's ``ssh`` client against the ``glisten ssh`` server, run as the command line runs it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import requireBinary

pytestmark = pytest.mark.interop


def ssh(
    server: dict[str, object],
    *args: str,
    key: object = None,
    input: bytes = b"",
    timeout: float = 30,
) -> subprocess.CompletedProcess[bytes]:
    command = [
        requireBinary("ssh"),
        "-p",
        str(server["port"]),
        "-i",
        str(key or server["key"]),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        *args,
    ]
    return subprocess.run(command, input=input, capture_output=True, timeout=timeout)


def test_exec(glistenServer: dict[str, object]) -> None:
    result = ssh(glistenServer, "127.0.0.1", "echo out; echo err >&2; exit 7")
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.returncode == 7


def test_stdinRoundTrip(glistenServer: dict[str, object], tmp_path: Path) -> None:
    """Several megabytes both ways through one channel: windows and flow control."""
    data = os.urandom(8 * 1024 * 1024)
    result = ssh(glistenServer, "127.0.0.1", "cat", input=data, timeout=120)
    assert result.returncode == 0
    assert result.stdout == data


@pytest.mark.parametrize(
    "option",
    [
        "Ciphers=chacha20-poly1305@openssh.com",
        "Ciphers=aes128-gcm@openssh.com",
        "Ciphers=aes256-gcm@openssh.com",
        "Ciphers=aes128-ctr",
        "Ciphers=aes192-ctr",
        "Ciphers=aes256-ctr",
        "KexAlgorithms=curve25519-sha256",
        "KexAlgorithms=curve25519-sha256@libssh.org",
        "KexAlgorithms=sntrup761x25519-sha512@openssh.com",
        "KexAlgorithms=sntrup761x25519-sha512",
        "KexAlgorithms=ecdh-sha2-nistp256",
        "KexAlgorithms=ecdh-sha2-nistp384",
        "KexAlgorithms=ecdh-sha2-nistp521",
        "KexAlgorithms=diffie-hellman-group14-sha256",
        "KexAlgorithms=diffie-hellman-group16-sha512",
        "KexAlgorithms=diffie-hellman-group18-sha512",
        "KexAlgorithms=diffie-hellman-group-exchange-sha256",
        "HostKeyAlgorithms=ssh-ed25519",
        "HostKeyAlgorithms=ecdsa-sha2-nistp256",
    ],
)
def test_eachAlgorithm(glistenServer: dict[str, object], option: str) -> None:
    result = ssh(glistenServer, "-o", option, "127.0.0.1", "echo ok")
    assert result.stdout == b"ok\n", result.stderr


@pytest.mark.parametrize(
    "mac",
    [
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
    ],
)
def test_eachMAC(glistenServer: dict[str, object], mac: str) -> None:
    result = ssh(
        glistenServer, "-o", "Ciphers=aes128-ctr", "-o", f"MACs={mac}", "127.0.0.1", "echo ok"
    )
    assert result.stdout == b"ok\n", result.stderr


@pytest.mark.parametrize("which", ["rsaKey", "ecKey"])
def test_userKeyTypes(glistenServer: dict[str, object], which: str) -> None:
    result = ssh(glistenServer, "127.0.0.1", "echo ok", key=glistenServer[which])
    assert result.stdout == b"ok\n", result.stderr


def test_strictKexAndServerSigAlgs(glistenServer: dict[str, object]) -> None:
    result = ssh(glistenServer, "-vvv", "127.0.0.1", "true")
    assert b"will use strict KEX ordering" in result.stderr
    assert b"server-sig-algs=<ssh-ed25519," in result.stderr


def test_postQuantumKexByDefault(glistenServer: dict[str, object]) -> None:
    """OpenSSH 9 prefers sntrup761x25519; a default glisten server offers it (both names)."""
    result = ssh(glistenServer, "-vvv", "127.0.0.1", "echo ok")
    assert result.stdout == b"ok\n", result.stderr
    # Debian's 9.2 also knows (and prefers) OpenSSH 9.9's name without @openssh.com.
    assert b"kex: algorithm: sntrup761x25519-sha512" in result.stderr


def test_unknownKeyRefused(glistenServer: dict[str, object], tmp_path: Path) -> None:
    from .conftest import sshKeygen

    other = sshKeygen(tmp_path / "other", "ed25519")
    result = ssh(glistenServer, "127.0.0.1", "echo ok", key=other)
    assert result.returncode == 255
    assert result.stdout == b""


def test_sha1RsaRefused(glistenServer: dict[str, object]) -> None:
    result = ssh(
        glistenServer,
        "-o",
        "PubkeyAcceptedAlgorithms=ssh-rsa",
        "127.0.0.1",
        "echo ok",
        key=glistenServer["rsaKey"],
    )
    assert result.returncode == 255


def test_envAllowList(glistenServer: dict[str, object]) -> None:
    env = dict(os.environ, LANG="C.UTF-8", LC_TESTING="yes")
    command = [
        requireBinary("ssh"),
        "-p",
        str(glistenServer["port"]),
        "-i",
        str(glistenServer["key"]),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "SendEnv=LANG LC_TESTING",
        "-o",
        "SetEnv=EVIL=1",
        "127.0.0.1",
        'echo "$LANG/$LC_TESTING/$EVIL"',
    ]
    result = subprocess.run(command, capture_output=True, env=env, timeout=30)
    assert result.stdout == b"C.UTF-8/yes/\n"


def test_ptyExec(glistenServer: dict[str, object]) -> None:
    result = ssh(glistenServer, "-tt", "127.0.0.1", "tty; exit 3")
    assert result.stdout.startswith(b"/dev/pts/")
    assert result.returncode == 3


def test_shellWithPtyThroughTmux(glistenServer: dict[str, object], tmp_path: Path) -> None:
    """An interactive shell on a real terminal: tmux types, the shell answers, resizes work."""
    tmux = requireBinary("tmux")
    socketPath = str(tmp_path / "tmux.sock")
    sshCommand = " ".join(
        [
            requireBinary("ssh"),
            "-p",
            str(glistenServer["port"]),
            "-i",
            str(glistenServer["key"]),
            "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "-o LogLevel=ERROR -tt 127.0.0.1",
        ]
    )
    subprocess.run(
        [tmux, "-S", socketPath, "new-session", "-d", "-x", "90", "-y", "25", sshCommand],
        check=True,
    )
    try:

        def screen() -> str:
            return subprocess.run(
                [tmux, "-S", socketPath, "capture-pane", "-p"], capture_output=True, text=True
            ).stdout

        def waitFor(text: str) -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if text in screen():
                    return
                time.sleep(0.1)
            raise AssertionError(f"{text!r} not on screen:\n{screen()}")

        def type_(text: str) -> None:
            subprocess.run([tmux, "-S", socketPath, "send-keys", text, "Enter"], check=True)

        type_("echo marker-$((6*7))")
        waitFor("marker-42")
        type_("stty size")
        waitFor("25 90")
        subprocess.run(
            [tmux, "-S", socketPath, "resize-window", "-x", "100", "-y", "30"], check=True
        )
        # The resize reaches the shell as a window-change request some time later: ask again
        # until the new size is reported (each answer is a new line on the screen).
        for attempt in range(1, 41):
            type_(f"stty size; echo asked-$(({attempt} * 1000))")
            waitFor(f"asked-{attempt * 1000}")
            if "30 100" in screen():
                break
        else:
            raise AssertionError(f"the new size never reached the shell:\n{screen()}")
    finally:
        subprocess.run([tmux, "-S", socketPath, "kill-server"], capture_output=True)


def test_hostKeysMadeWithPrivateMode(glistenServer: dict[str, object]) -> None:
    hostKeys = Path(str(glistenServer["hostKeys"]))
    key = hostKeys / "ssh_host_ed25519_key"
    assert key.stat().st_mode & 0o777 == 0o600
    keygen = requireBinary("ssh-keygen")
    public = subprocess.run([keygen, "-y", "-f", str(key)], capture_output=True, check=True)
    assert (
        public.stdout.split()[:2]
        == (hostKeys / "ssh_host_ed25519_key.pub").read_bytes().split()[:2]
    )


def test_badVersionGetsNoTraceback(glistenServer: dict[str, object]) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", int(str(glistenServer["port"]))), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\n" + b"x" * 300 + b"\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"SSH-2.0-glisten")
    log = Path(str(glistenServer["log"])).read_text()
    assert "Traceback" not in log


def test_authorizedKeysOptions(glistenServer: dict[str, object]) -> None:
    """A key with ``command=`` and ``no-pty``: the forced command runs, a terminal is refused
    (which OpenSSH's client treats as fatal when it was asked for with ``-tt``)."""
    result = ssh(glistenServer, "127.0.0.1", "ls /", key=glistenServer["forcedKey"])
    assert result.stdout == b"forced:ls /\n"
    result = ssh(glistenServer, "-tt", "127.0.0.1", "tty", key=glistenServer["forcedKey"])
    assert b"PTY allocation request failed" in result.stderr
    assert b"/dev/pts" not in result.stdout
