"""``glisten conch`` against OpenSSH's ``sshd``: commands and exit statuses, known hosts,
port forwarding, the agent, and an interactive shell in a tmux pane."""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from . import _tmux
from ._tmux import Pane, waitFor
from .conftest import connectUnix, freePort, requireBinary, runSshd, sshKeygen, waitForPort
from .test_agent_interop import sshAgent
from .test_kbdint_interop import PASSWORD, passwordServer
from .test_sftp_interop import sftpServer

pytestmark = pytest.mark.interop

#: The tmux pane fixture; the ssh-agent and ``glisten ssh --sftp-root`` fixtures.
pane = _tmux.pane
__all__ = ["pane", "passwordServer", "sftpServer", "sshAgent"]

GLISTEN = [sys.executable, "-c", "import sys; from glisten.application import cli; cli.main()"]


def _knownHosts(path: Path, server: dict[str, Any]) -> Path:
    lines = [
        f"[127.0.0.1]:{server['port']} " + Path(str(k) + ".pub").read_text().split(" #")[0]
        for k in server["hostKeys"]
    ]
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env["HOME"] = str(tmp)
    env.update(extra)
    return env


def _conch(server: dict[str, Any], tmp: Path, *args: str, key: str = "ed25519") -> list[str]:
    known = _knownHosts(tmp / "known_hosts", server)
    identity = ["-i", str(server["userKeys"][key])] if key else []
    return [
        *GLISTEN,
        "conch",
        "-p",
        str(server["port"]),
        *identity,
        "--known-hosts",
        str(known),
        *args,
    ]


def _run(command: list[str], env: dict[str, str], stdin: bytes = b"") -> Any:
    return subprocess.run(
        command, input=stdin, capture_output=True, env=env, timeout=60, start_new_session=True
    )


def test_commandStatusAndStreams(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """Output and error come out separately, and the exit status is the command's."""
    result = _run(
        _conch(opensshServer, tmp_path, "127.0.0.1", "echo out; echo err >&2; exit 3"),
        _env(tmp_path),
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == b"out\n"
    assert b"err\n" in result.stderr


def test_inputAndEndOfInput(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """Standard input reaches the command, and its end is the command's end of input."""
    data = os.urandom(8 * 1024 * 1024 + 7)
    result = _run(
        _conch(opensshServer, tmp_path, "-l", "root", "127.0.0.1", "cat"),
        _env(tmp_path),
        stdin=data,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == data


def test_userAtHost(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    result = _run(_conch(opensshServer, tmp_path, "root@127.0.0.1", "id", "-un"), _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"root\n"


def test_unknownHostRefusedWithoutTerminal(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """No terminal to ask on: an unknown host is refused, with ssh's exit status 255."""
    command = _conch(opensshServer, tmp_path, "127.0.0.1", "echo hi")
    (tmp_path / "known_hosts").write_text("")
    command[command.index("--known-hosts") + 1] = str(tmp_path / "empty_known_hosts")
    result = _run(command, _env(tmp_path))
    assert result.returncode == 255
    assert b"Host key verification failed" in result.stderr
    assert result.stdout == b""
    assert not (tmp_path / "empty_known_hosts").exists()


def test_changedHostKeyRefused(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """Another key on record for the host: refused with a warning naming the file and line."""
    fakes = [
        sshKeygen(tmp_path / "fake_ed25519", "ed25519"),
        sshKeygen(tmp_path / "fake_ecdsa", "ecdsa", 256),
        sshKeygen(tmp_path / "fake_rsa", "rsa", 2048),
    ]
    known = tmp_path / "changed_known_hosts"
    _knownHosts(known, {"port": opensshServer["port"], "hostKeys": fakes})
    before = known.read_bytes()
    command = _conch(opensshServer, tmp_path, "127.0.0.1", "echo hi")
    command[command.index("--known-hosts") + 1] = str(known)
    result = _run(command, _env(tmp_path))
    assert result.returncode == 255
    assert b"REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr
    assert str(known).encode() in result.stderr
    assert result.stdout == b""
    assert known.read_bytes() == before


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echoServer() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _echoThrough(port: int) -> bytes:
    return _echoThroughSocket(socket.create_connection(("127.0.0.1", port), timeout=30))


@contextmanager
def _started(command: list[str], tmp: Path, stdin: int) -> Iterator[subprocess.Popen[bytes]]:
    """``glisten conch`` running in the background (killed if a test leaves it running)."""
    proc = subprocess.Popen(
        command,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp),
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("flag", ["-L", "-R"])
def test_portForwarding(
    opensshServer: dict[str, Any], tmp_path: Path, echoServer: int, flag: str
) -> None:
    """``-L``: a local port reaches the echo server through sshd; ``-R``: sshd's port does."""
    port = freePort()
    command = _conch(
        opensshServer, tmp_path, flag, f"{port}:127.0.0.1:{echoServer}", "127.0.0.1", "cat"
    )
    with _started(command, tmp_path, subprocess.PIPE) as proc:
        waitForPort(port, proc)
        _echoThrough(port)
        _echoThrough(port)
        out, err = proc.communicate(b"done\n", timeout=30)
        assert proc.returncode == 0, err
        assert out == b"done\n"


@pytest.fixture
def socketFolder() -> Iterator[Path]:
    """A short folder for Unix sockets (their paths are limited to about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="gcs"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def unixEchoServer(socketFolder: Path) -> Iterator[str]:
    path = str(socketFolder / "echo.sock")
    server = socketserver.ThreadingUnixStreamServer(path, _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


def _echoThroughSocket(s: socket.socket) -> bytes:
    """Send 200 kB through the connected ``s`` to an echo server; they come back whole."""
    payload = os.urandom(200000)
    with s:
        s.settimeout(30)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := s.recv(65536):
            received += chunk
    assert bytes(received) == payload
    return payload


@pytest.mark.parametrize(
    ("flag", "listen", "connect"),
    [
        ("-L", "socket", "port"),
        ("-L", "port", "socket"),
        ("-L", "socket", "socket"),
        ("-R", "socket", "port"),
        ("-R", "port", "socket"),
    ],
)
def test_unixSocketForwarding(
    opensshServer: dict[str, Any],
    tmp_path: Path,
    echoServer: int,
    unixEchoServer: str,
    socketFolder: Path,
    flag: str,
    listen: str,
    connect: str,
) -> None:
    """
    ``-L``/``-R`` with a Unix socket at either end (``direct-streamlocal@openssh.com``,
    ``streamlocal-forward@openssh.com``) through ``sshd``.
    """
    port = freePort()
    listenPath = str(socketFolder / "listen.sock")
    spec = (listenPath if listen == "socket" else str(port)) + ":"
    spec += unixEchoServer if connect == "socket" else f"127.0.0.1:{echoServer}"
    command = _conch(opensshServer, tmp_path, flag, spec, "127.0.0.1", "cat")
    with _started(command, tmp_path, subprocess.PIPE) as proc:
        for _ in range(2):
            if listen == "socket":
                _echoThroughSocket(connectUnix(listenPath, proc))
                if flag == "-L":
                    # Only this user may use the connection through the socket.
                    assert os.stat(listenPath).st_mode & 0o777 == 0o600
            else:
                waitForPort(port, proc)
                _echoThrough(port)
        out, err = proc.communicate(b"done\n", timeout=30)
        assert proc.returncode == 0, err
        assert out == b"done\n"
    if flag == "-L" and listen == "socket":
        assert not os.path.exists(listenPath)


def test_forwardingOnly(opensshServer: dict[str, Any], tmp_path: Path, echoServer: int) -> None:
    """``-N -L``: no command, the forwarding works until the process is told to stop."""
    port = freePort()
    command = _conch(opensshServer, tmp_path, "-N", "-L", f"{port}:127.0.0.1:{echoServer}")
    with _started([*command, "127.0.0.1"], tmp_path, subprocess.DEVNULL) as proc:
        waitForPort(port, proc)
        _echoThrough(port)
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        assert out == b""
        assert proc.returncode == 0, err


def test_agentLoginAndForwarding(
    opensshServer: dict[str, Any], tmp_path: Path, sshAgent: dict[str, Any]
) -> None:
    """No ``-i``: the agent's key logs in; ``-A`` lets the remote ``ssh-add`` list it."""
    key = opensshServer["userKeys"]["ed25519"]
    subprocess.run(["ssh-add", "-q", str(key)], env=sshAgent["env"], check=True)
    listed = subprocess.run(
        ["ssh-add", "-l"], env=sshAgent["env"], check=True, capture_output=True
    ).stdout
    fingerprint = listed.split()[1]
    env = _env(tmp_path, SSH_AUTH_SOCK=str(sshAgent["sock"]))
    command = _conch(opensshServer, tmp_path, "-A", "127.0.0.1", "ssh-add -l", key="")
    result = _run(command, env)
    assert result.returncode == 0, result.stderr
    assert fingerprint in result.stdout
    # Without -A the server gets no agent.
    command = _conch(opensshServer, tmp_path, "127.0.0.1", "ssh-add -l", key="")
    result = _run(command, env)
    assert result.returncode == 2, result.stderr
    assert fingerprint not in result.stdout


def _inTerminal(command: list[str], tmp: Path) -> list[str]:
    """
    A shell running ``command`` in a clean environment, then showing ``status=N`` and
    ``restored`` (the terminal settings before and after are saved in ``tmp``), then ``cat``.
    """
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _env(tmp, TERM="xterm").items())
    script = (
        f"stty -g > {tmp / 'before'}; env -i {env} {shlex.join(command)}; "
        f"echo status=$?; stty -g > {tmp / 'after'}; echo restored; exec cat"
    )
    return ["sh", "-c", script]


def test_interactiveShell(opensshServer: dict[str, Any], tmp_path: Path, pane: Any) -> None:
    """
    Under a terminal: the first-use prompt (answered yes, the key recorded), a shell on a PTY
    of the terminal's size, a resize reaching it, the exit status, and the terminal restored.
    """
    known = tmp_path / "tty_known_hosts"
    command = _conch(opensshServer, tmp_path, "127.0.0.1")
    command[command.index("--known-hosts") + 1] = str(known)
    p: Pane = pane("conch", _inTerminal(command, tmp_path))
    p.waitFor("Are you sure you want to continue connecting (yes/no)?")
    p.type("yes")
    p.keys("Enter")
    p.type("echo product=$((6*7)); stty size")
    p.keys("Enter")
    p.waitFor("product=42")
    p.waitFor("30 100")
    p.resize(90, 20)
    p.type("stty size")
    p.keys("Enter")
    p.waitFor("20 90")
    p.type("exit 5")
    p.keys("Enter")
    p.waitFor("restored")
    assert "status=5" in p.screen()
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()
    # The terminal is blocking again: cat reads it (a non-blocking one makes it fail).
    p.type("still-here")
    p.keys("Enter")
    waitFor(lambda: str(p.screen().count("still-here")), "2")
    assert p.alive()
    assert known.read_text().count("\n") >= 1
    requireBinary("ssh-keygen")
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{opensshServer['port']}", "-f", str(known)],
        capture_output=True,
    )
    assert found.returncode == 0


def _glistenTarget(glistenServer: dict[str, Any]) -> dict[str, Any]:
    """``glisten ssh``'s fixture in the shape of ``opensshServer``'s, for :func:`_conch`."""
    return {
        "port": glistenServer["port"],
        "hostKeys": [Path(str(glistenServer["hostKeys"])) / "ssh_host_ed25519_key"],
        "userKeys": {"ed25519": glistenServer["key"]},
    }


@pytest.mark.parametrize("server", ["openssh", "glisten"])
def test_escapeSequences(
    request: pytest.FixtureRequest, tmp_path: Path, pane: Any, server: str
) -> None:
    """
    In a shell on a PTY: ``~?`` lists the escapes, ``~#`` the connections, ``~~`` sends one
    ``~``, and ``~.`` disconnects (status 255, the terminal restored). Against ``glisten ssh``
    the escape character is ``-e %`` and ``~`` is an ordinary character.
    """
    if server == "openssh":
        target, escape, args = request.getfixturevalue("opensshServer"), "~", []
    else:
        target = _glistenTarget(request.getfixturevalue("glistenServer"))
        escape, args = "%", ["-e", "%"]
    command = _conch(target, tmp_path, *args, "127.0.0.1")
    p: Pane = pane("escapes", _inTerminal(command, tmp_path))
    p.type("echo ready=$((2+3))")
    p.keys("Enter")
    p.waitFor("ready=5")
    p.type(f"{escape}?")
    p.waitFor("Supported escape sequences:")
    assert f" {escape}.   - terminate connection" in p.screen()
    p.type(f"{escape}#")
    p.waitFor("The following connections are open:")
    assert "#0 session" in p.screen()
    # The escape character twice sends one; not after a newline it is ordinary.
    # Typed only once the shell reads (a shell leaving its line editor may drop type-ahead).
    p.type("printf 'wait%s:' ing; read v; echo \"got=$v\"")
    p.keys("Enter")
    p.waitFor("waiting:")
    p.type(f"{escape}{escape}x{escape}.y~.z")
    p.keys("Enter")
    p.waitFor(f"got={escape}x{escape}.y~.z")
    p.type(f"{escape}.")
    p.waitFor("restored")
    shown = p.screen()
    assert "Connection to 127.0.0.1 closed." in shown
    assert "status=255" in shown
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()


def test_escapeCommandLine(
    opensshServer: dict[str, Any], tmp_path: Path, pane: Any, echoServer: int
) -> None:
    """``~C`` in a session: ``-L`` adds a forwarding that works at once, ``-KL`` cancels it."""
    port = freePort()
    command = _conch(opensshServer, tmp_path, "127.0.0.1")
    p: Pane = pane("commandline", _inTerminal(command, tmp_path))
    p.type("echo one=$((0+1))")
    p.keys("Enter")
    p.waitFor("one=1")
    p.type(f"~C-L {port}:127.0.0.1:{echoServer}")
    p.keys("Enter")
    p.waitFor("Forwarding port.")
    _echoThrough(port)
    p.type(f"~C-KL {port}")
    p.keys("Enter")
    p.waitFor("Canceled forwarding.")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
    p.type("exit")
    p.keys("Enter")
    p.waitFor("status=0")


def test_escapeRekeys(opensshServer: dict[str, Any], tmp_path: Path, pane: Any) -> None:
    """``~R``: ``sshd`` (logging at DEBUG1) sees a second KEXINIT; the session goes on."""
    server = opensshServer
    with runSshd(
        tmp_path,
        *[f"HostKey {k}" for k in server["hostKeys"]],
        f"AuthorizedKeysFile {Path(str(server['tmp'])) / 'authorized_keys'}",
        "PasswordAuthentication no",
        "LogLevel DEBUG1",
    ) as port:
        log = tmp_path / "sshd.log"
        command = _conch({**server, "port": port}, tmp_path, "127.0.0.1")
        p: Pane = pane("rekey", _inTerminal(command, tmp_path))
        p.type("echo one=$((0+1))")
        p.keys("Enter")
        p.waitFor("one=1")
        kexinits = log.read_text(errors="replace").count("SSH2_MSG_KEXINIT received")
        assert kexinits >= 1
        p.type("~R")
        waitFor(
            lambda: str(log.read_text(errors="replace").count("SSH2_MSG_KEXINIT received")),
            str(kexinits + 1),
        )
        p.type("echo two=$((1+1))")
        p.keys("Enter")
        p.waitFor("two=2")
        p.type("exit")
        p.keys("Enter")
        p.waitFor("status=0")


def test_escapeSuspends(opensshServer: dict[str, Any], tmp_path: Path, pane: Any) -> None:
    """``~^Z`` in an interactive bash: the job stops (terminal back to the shell), ``fg``
    resumes the session in raw mode."""
    bash = requireBinary("bash")
    command = _conch(opensshServer, tmp_path, "127.0.0.1")
    env = [f"{k}={v}" for k, v in _env(tmp_path, TERM="xterm", PS1="local$ ").items()]
    p: Pane = pane("suspend", ["env", "-i", *env, bash, "--norc", "--noprofile", "-i"])
    p.waitFor("local$")
    p.type(shlex.join(command))
    p.keys("Enter")
    p.type("echo one=$((0+1))")
    p.keys("Enter")
    p.waitFor("one=1")
    p.type("~")
    p.keys("C-z")
    p.waitFor("[suspend glisten conch]")
    p.waitFor("Stopped")
    # The local shell has the terminal again, in its own (cooked) mode.
    p.type("echo local=$((2+2))")
    p.keys("Enter")
    p.waitFor("local=4")
    p.type("fg")
    p.keys("Enter")
    p.type("echo two=$((1+1))")
    p.keys("Enter")
    p.waitFor("two=2")
    p.type("exit 3")
    p.keys("Enter")
    # Typed once the local shell prompts again (type-ahead may go to the ending client).
    waitFor(lambda: str(p.screen().count("local$")), "3")
    p.type("echo status=$?")
    p.keys("Enter")
    p.waitFor("status=3")


@pytest.mark.parametrize("server", ["openssh", "glisten"])
def test_terminalModes(
    request: pytest.FixtureRequest, tmp_path: Path, pane: Any, server: str
) -> None:
    """The local terminal's modes reach the remote PTY (an erase character the server's
    default would not have), made by ``sshd`` or by ``glisten ssh``."""
    if server == "openssh":
        target = request.getfixturevalue("opensshServer")
    else:
        target = _glistenTarget(request.getfixturevalue("glistenServer"))
    command = _conch(target, tmp_path, "127.0.0.1")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _env(tmp_path, TERM="xterm").items())
    script = f"stty erase ^H intr ^G; env -i {env} {shlex.join(command)}; echo done; exec cat"
    p: Pane = pane("modes", ["sh", "-c", script])
    p.type("stty -a | tr ';' '\\n' | grep -E '^ *(erase|intr) ' | tr -d ' ' | tr '\\n' ,")
    p.keys("Enter")
    p.waitFor("intr=^G,erase=^H,")
    p.type("exit")
    p.keys("Enter")
    p.waitFor("done")


def test_sendEnvToOpenSSH(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """``SendEnv``/``SetEnv`` reach an ``sshd`` with ``AcceptEnv``; what it refuses is unset."""
    server = opensshServer
    with runSshd(
        tmp_path,
        *[f"HostKey {k}" for k in server["hostKeys"]],
        f"AuthorizedKeysFile {Path(str(server['tmp'])) / 'authorized_keys'}",
        "PasswordAuthentication no",
        "AcceptEnv GLISTEN_SENT GLISTEN_SET LC_*",
    ) as port:
        target = {**server, "port": port}
        config = tmp_path / "config"
        config.write_text("Host 127.0.0.1\n  SendEnv GLISTEN_* LC_GLISTEN\n  SendEnv -LC_*\n")
        command = _conch(
            target, tmp_path, "-F", str(config), "-o", "SetEnv=GLISTEN_SET=fixed",
            "127.0.0.1", 'echo "[$GLISTEN_SENT][$GLISTEN_SET][$GLISTEN_REFUSED][$LC_GLISTEN]"',
        )  # fmt: skip
        env = _env(tmp_path, GLISTEN_SENT="from here", GLISTEN_REFUSED="no", LC_GLISTEN="removed")
        result = _run(command, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"[from here][fixed][][]\n"


def test_sendEnvToGlisten(glistenServer: dict[str, Any], tmp_path: Path) -> None:
    """``glisten ssh`` takes ``LC_*`` by default (its ``--accept-env`` allow-list)."""
    command = _conch(
        _glistenTarget(glistenServer), tmp_path, "-o", "SendEnv=LC_GLISTEN OTHER",
        "127.0.0.1", 'echo "[$LC_GLISTEN][$OTHER]"',
    )  # fmt: skip
    result = _run(command, _env(tmp_path, LC_GLISTEN="sent", OTHER="refused"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"[sent][]\n"


def _cftpCommand(server: dict[str, Any], tmp: Path, *args: str) -> list[str]:
    known = _knownHosts(tmp / "known_hosts", server)
    return [
        *GLISTEN,
        "cftp",
        "-p",
        str(server["port"]),
        "-i",
        str(server["userKeys"]["ed25519"]),
        "--known-hosts",
        str(known),
        *args,
        "127.0.0.1",
    ]


def _cftp(server: dict[str, Any], tmp: Path, batch: str, *args: str) -> Any:
    (tmp / "batch").write_text(batch)
    return subprocess.run(
        _cftpCommand(server, tmp, "-b", str(tmp / "batch"), *args),
        capture_output=True,
        env=_env(tmp),
        timeout=120,
        start_new_session=True,
        cwd=tmp,
        text=True,
    )


@pytest.fixture(params=["sshd", "glisten"])
def sftpTarget(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, Any], str, Path]:
    """
    A server, the remote folder for a test's files, and where that folder is on disk: sshd's
    internal-sftp, and ``glisten ssh --sftp-root`` (whose root is ``/`` for the client).
    """
    if request.param == "sshd":
        server = request.getfixturevalue("opensshServer")
        remote = tmp_path / "remote"
        remote.mkdir()
        return server, str(remote), remote
    glisten = request.getfixturevalue("sftpServer")
    server = {
        "port": glisten["port"],
        "userKeys": {"ed25519": glisten["key"]},
        "hostKeys": [p.with_suffix("") for p in (glisten["tmp"] / "hostkeys").glob("*.pub")],
    }
    remote = glisten["root"] / tmp_path.name
    remote.mkdir()
    return server, "/" + tmp_path.name, remote


def test_cftpBatch(sftpTarget: tuple[dict[str, Any], str, Path], tmp_path: Path) -> None:
    """put, get, ls, cd, mkdir, rename, rm, rmdir through sshd and ``glisten ssh``."""
    server, remotePath, remote = sftpTarget
    data = os.urandom(3 * 1024 * 1024 + 12345)
    (tmp_path / "up.bin").write_bytes(data)
    batch = f"""
# a comment
cd {remotePath}
mkdir d
cd d
pwd
put up.bin
put up.bin "second copy.bin"
ls
ls -l
get up.bin down.bin
rename "second copy.bin" renamed.bin
-rm nothing-here
rm up.bin
cd ..
"""
    result = _cftp(server, tmp_path, batch, "-R", "16", "-B", "20000")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "down.bin").read_bytes() == data
    assert (remote / "d" / "renamed.bin").read_bytes() == data
    assert sorted(os.listdir(remote / "d")) == ["renamed.bin"]
    out = result.stdout
    assert f"Remote working directory: {remotePath}/d" in out
    listing = out.split("cftp> ls\n", 1)[1].split("cftp> ls -l\n")[0]
    assert listing.split("\n")[:2] == ["second copy.bin", "up.bin"]
    assert f"{len(data)}" in out.split("cftp> ls -l\n", 1)[1]
    assert "cftp> -rm nothing-here" in out
    assert "rm: " in result.stderr  # the tolerated failure is still reported


def test_cftpWildcardsRecursiveAndMore(
    sftpTarget: tuple[dict[str, Any], str, Path], tmp_path: Path
) -> None:
    """Wildcards, get -r / put -r, chmod, ln, ln -s and df through sshd and ``glisten ssh``."""
    server, remotePath, remote = sftpTarget
    (remote / "one.txt").write_bytes(b"1")
    (remote / "two.txt").write_bytes(b"22")
    (remote / "skip.bin").write_bytes(b"x")
    (remote / "tree" / "sub").mkdir(parents=True)
    (remote / "tree" / "sub" / "deep.txt").write_bytes(b"deep")
    upload = tmp_path / "upload"
    (upload / "nested").mkdir(parents=True)
    (upload / "nested" / "n.dat").write_bytes(os.urandom(100000))
    (tmp_path / "a.log").write_bytes(b"a")
    (tmp_path / "b.log").write_bytes(b"b")
    (tmp_path / "got").mkdir()
    os.utime(tmp_path / "a.log", (1000000000, 1000000002))
    os.utime(remote / "one.txt", (1000000000, 1000000003))
    batch = f"""
cd {remotePath}
put -p a.log kept.log
get -p one.txt kept.txt
ls *.txt
get *.txt got
get -r tree got/tree
put -r upload
put *.log tree
chmod 640 *.txt
ln -s one.txt soft
ln two.txt hard
rm *.bin
df
df -h
"""
    result = _cftp(server, tmp_path, batch)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("cftp> ls *.txt\n", 1)[1].startswith("one.txt\ntwo.txt\n")
    assert (tmp_path / "got" / "one.txt").read_bytes() == b"1"
    assert (tmp_path / "got" / "two.txt").read_bytes() == b"22"
    assert (tmp_path / "got" / "tree" / "sub" / "deep.txt").read_bytes() == b"deep"
    assert (remote / "upload" / "nested" / "n.dat").read_bytes() == (
        upload / "nested" / "n.dat"
    ).read_bytes()
    assert (remote / "tree" / "a.log").read_bytes() == b"a"
    assert (remote / "one.txt").stat().st_mode & 0o777 == 0o640
    assert os.readlink(remote / "soft") == "one.txt"
    assert (remote / "hard").stat().st_ino == (remote / "two.txt").stat().st_ino
    assert not (remote / "skip.bin").exists()
    assert "%Capacity" in result.stdout.split("cftp> df\n", 1)[1]
    assert int((remote / "kept.log").stat().st_mtime) == 1000000002
    assert int((tmp_path / "kept.txt").stat().st_mtime) == 1000000003


def test_cftpResumeOwnershipAndEscapes(
    sftpTarget: tuple[dict[str, Any], str, Path], tmp_path: Path
) -> None:
    """reget/reput and get -a/put -a, chown/chgrp, and backslash-escaped wildcard
    characters, through sshd and ``glisten ssh``."""
    server, remotePath, remote = sftpTarget
    down = os.urandom(300_000)
    (remote / "big.bin").write_bytes(down)
    (tmp_path / "big.bin").write_bytes(down[:100_000])
    (tmp_path / "again.bin").write_bytes(down)
    up = os.urandom(250_000)
    (tmp_path / "up.bin").write_bytes(up)
    (remote / "up.bin").write_bytes(up[:70_000])
    (tmp_path / "up2.bin").write_bytes(up)
    (remote / "up2.bin").write_bytes(up[:1000])
    (remote / "huge.bin").write_bytes(b"x" * 300_000)
    (remote / "a*b").write_bytes(b"star")
    (remote / "axb").write_bytes(b"x")
    (tmp_path / "l[1].txt").write_bytes(b"bracket")
    (tmp_path / "l1.txt").write_bytes(b"one")
    (remote / "owned").write_bytes(b"")
    uid, gid = (12345, 2345) if os.getuid() == 0 else (os.getuid(), os.getgid())
    batch = f"""
cd {remotePath}
reget big.bin
get -a big.bin again.bin
reput up.bin
put -a up2.bin
-put -a up.bin huge.bin
get a\\*b star.txt
ls a\\*b
rm a\\*b
mkdir "q\\?"
put l\\[1\\].txt
chown {uid} owned
chgrp {gid} owned
"""
    result = _cftp(server, tmp_path, batch)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "big.bin").read_bytes() == down
    assert (tmp_path / "again.bin").read_bytes() == down
    assert "(resumed at 100000)" in result.stdout
    assert (remote / "up.bin").read_bytes() == up
    assert (remote / "up2.bin").read_bytes() == up
    assert "(resumed at 70000)" in result.stdout
    assert "put: " in result.stderr and "not resumed" in result.stderr
    assert (remote / "huge.bin").read_bytes() == b"x" * 300_000
    assert (tmp_path / "star.txt").read_bytes() == b"star"
    assert result.stdout.split("cftp> ls a\\*b\n", 1)[1].startswith("a*b\n")
    assert not (remote / "a*b").exists() and (remote / "axb").read_bytes() == b"x"
    assert (remote / "q?").is_dir()
    assert (remote / "l[1].txt").read_bytes() == b"bracket" and not (remote / "l1.txt").exists()
    owned = (remote / "owned").stat()
    assert (owned.st_uid, owned.st_gid) == (uid, gid)
    assert "Changing owner on" in result.stdout and "Changing group on" in result.stdout


def test_cftpBatchStopsAtFailure(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    batch = f"cd {remote}\nmkdir a\nrmdir not-there\nmkdir b\n"
    result = _cftp(opensshServer, tmp_path, batch)
    assert result.returncode == 1
    assert "rmdir: " in result.stderr
    assert sorted(os.listdir(remote)) == ["a"]
    assert "mkdir b" not in result.stdout


def test_cftpCommandsFromPipe(sftpTarget: tuple[dict[str, Any], str, Path], tmp_path: Path) -> None:
    """Without ``-b``: commands read as typed; a failure is reported and the session goes on."""
    server, remotePath, remote = sftpTarget
    (remote / "there.txt").write_bytes(b"hello")
    result = subprocess.run(
        _cftpCommand(server, tmp_path),
        input=f"cd {remotePath}\nrm missing\nget there.txt\nmkdir made\nls\n",
        capture_output=True,
        env=_env(tmp_path),
        timeout=60,
        start_new_session=True,
        cwd=tmp_path,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "rm: " in result.stderr
    assert (tmp_path / "there.txt").read_bytes() == b"hello"
    assert (remote / "made").is_dir()
    assert "made\nthere.txt\n" in result.stdout
    assert result.stdout.count("cftp> ") == 6


def _cftpPane(pane: Any, server: dict[str, Any], tmp: Path, remotePath: str, *args: str) -> Pane:
    """``glisten cftp ARGS`` in a tmux pane (then ``cat``), at the prompt in ``remotePath``."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _env(tmp).items())
    command = shlex.join(_cftpCommand(server, tmp, *args))
    script = f"cd {tmp}; env -i {env} {command}; echo status=$?; exec cat"
    p: Pane = pane("cftp", ["sh", "-c", script])
    p.waitFor("cftp>")
    p.type(f"cd {remotePath}")
    p.keys("Enter")
    return p


def test_cftpInteractive(
    sftpTarget: tuple[dict[str, Any], str, Path], tmp_path: Path, pane: Any
) -> None:
    """At the prompt on a terminal: commands, an error that does not end it, ``exit``."""
    server, remotePath, remote = sftpTarget
    p = _cftpPane(pane, server, tmp_path, remotePath)
    p.type("rmdir nothing")
    p.keys("Enter")
    p.waitFor("rmdir: ")
    p.type("mkdir typed")
    p.keys("Enter")
    p.type("ls")
    p.keys("Enter")
    # Typed ahead, a command may share a line with the prompt: count the name instead.
    waitFor(lambda: str(p.screen().count("typed") >= 2), "True")
    # Transfers show a progress bar on a terminal.
    (tmp_path / "local.bin").write_bytes(os.urandom(2_000_000))
    p.type("put local.bin typed/local.bin")
    p.keys("Enter")
    p.waitFor("Uploaded local.bin")
    assert "100%" in p.screen()
    p.type("exit")
    p.keys("Enter")
    p.waitFor("status=0")
    assert (remote / "typed" / "local.bin").read_bytes() == (tmp_path / "local.bin").read_bytes()
    # The terminal is blocking again for cat.
    p.type("still-here")
    p.keys("Enter")
    waitFor(lambda: str(p.screen().count("still-here")), "2")


def test_cftpLineEditing(opensshServer: dict[str, Any], tmp_path: Path, pane: Any) -> None:
    """
    On a terminal the prompt edits lines: arrows, Home/End, Backspace/Delete, history on
    Up/Down, Tab completion, Control-C drops the line, Control-D at an empty prompt ends
    the session.
    """
    remote = tmp_path / "remote"
    remote.mkdir()
    p = _cftpPane(pane, opensshServer, tmp_path, str(remote))
    # Left arrows: "wrng" becomes "wrong".
    p.type("mkdir wrng")
    p.keys("Left", "Left")
    p.type("o")
    p.keys("Enter")
    waitFor(lambda: str((remote / "wrong").is_dir()), "True")
    # Home and End: "kdir x" becomes "mkdir xy".
    p.type("kdir x")
    p.keys("Home")
    p.type("m")
    p.keys("End")
    p.type("y")
    p.keys("Enter")
    waitFor(lambda: str((remote / "xy").is_dir()), "True")
    # Backspace and Delete.
    p.type("rmdir wrongX")
    p.keys("BSpace", "Enter")
    waitFor(lambda: str((remote / "wrong").exists()), "False")
    p.type("mkdir zzq")
    p.keys("Left", "DC", "Enter")
    waitFor(lambda: str((remote / "zz").is_dir()), "True")
    # History: three lines back is "mkdir xy"; one forward again is "rmdir wrong"; back
    # to "mkdir xy", edited into "mkdir x2".
    p.keys("Up", "Up", "Up", "Down", "Up", "BSpace")
    p.type("2")
    p.keys("Enter")
    waitFor(lambda: str((remote / "x2").is_dir()), "True")
    # Control-C drops the line being typed.
    p.type("rmdir xy")
    p.keys("C-c")
    p.waitFor("^C")
    p.type("pwd")
    p.keys("Enter")
    p.waitFor("Remote working directory")
    assert (remote / "xy").is_dir()
    screen = p.screen()
    assert "cftp> mkdir wrong\n" in screen and "cftp> mkdir xy\n" in screen
    assert "cftp> mkdir x2\n" in screen and "cftp> mkdir zz\n" in screen
    # Tab completes a remote name (escaping its blank) and a command.
    (remote / "tabbed name.txt").write_bytes(b"completed")
    p.type("ge")
    p.keys("Tab")
    p.type("tab")
    p.keys("Tab")
    p.waitFor("cftp> get tabbed\\ name.txt")
    p.keys("Enter")
    p.waitFor("Fetched")
    assert (tmp_path / "tabbed name.txt").read_bytes() == b"completed"
    # Control-D on a non-empty line deletes; on an empty one it ends the session.
    p.type("x")
    p.keys("Left", "C-d", "C-d")
    p.waitFor("status=0")
    assert sorted(os.listdir(remote)) == ["tabbed name.txt", "x2", "xy", "zz"]
    # The terminal is back in its modes: cat echoes a line and gets it whole.
    p.type("still-here")
    p.keys("Enter")
    waitFor(lambda: str(p.screen().count("still-here")), "2")


def test_cftpControlCInterruptsATransfer(
    opensshServer: dict[str, Any], tmp_path: Path, pane: Any
) -> None:
    """Control-C during a transfer stops it (what came stays) and the prompt goes on."""
    remote = tmp_path / "remote"
    remote.mkdir()
    data = os.urandom(2_000_000)
    (remote / "big.bin").write_bytes(data)
    # One byte a request, one request in flight: far too slow to finish during the test.
    p = _cftpPane(pane, opensshServer, tmp_path, str(remote), "-R", "1", "-B", "1")
    p.type("get big.bin")
    p.keys("Enter")
    p.waitFor("MB/s")
    p.keys("C-c")
    p.waitFor("get: interrupted")
    p.type("pwd")
    p.keys("Enter")
    p.waitFor("Remote working directory")
    got = (tmp_path / "big.bin").read_bytes()
    assert 0 < len(got) < len(data) and data.startswith(got)
    p.keys("C-d")
    p.waitFor("status=0")


# ---------------------------------------------------------------------- ssh_config, passwords


def test_configFile(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    """``-F``: an alias with HostName, Port, User, IdentityFile, UserKnownHostsFile and
    ``StrictHostKeyChecking accept-new`` (the unknown key recorded without a question)."""
    known = tmp_path / "config_known_hosts"
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host other\n"
        "  Port 1\n"
        "Host alias\n"
        "  HostName 127.0.0.1\n"
        f"  Port {opensshServer['port']}\n"
        f"  User {getpass.getuser()}\n"
        f"  IdentityFile {opensshServer['userKeys']['ed25519']}\n"
        f"  UserKnownHostsFile {known}\n"
        "  StrictHostKeyChecking accept-new\n"
    )
    env = _env(tmp_path)
    first = _run([*GLISTEN, "conch", "-a", "-F", str(config), "alias", "echo configured"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == b"configured\n"
    assert b"Accepted and recorded" in first.stderr
    found = subprocess.run(
        [requireBinary("ssh-keygen"), "-F", f"[127.0.0.1]:{opensshServer['port']}", "-f", known],
        capture_output=True,
    )
    assert found.returncode == 0
    # Known now: no message the second time.
    again = _run([*GLISTEN, "conch", "-a", "-F", str(config), "alias", "echo again"], env)
    assert (again.returncode, again.stdout, again.stderr) == (0, b"again\n", b"")
    # -o wins over the file: StrictHostKeyChecking=yes with an empty known hosts file.
    strict = _run(
        [*GLISTEN, "conch", "-a", "-F", str(config), "-o", "StrictHostKeyChecking=yes"]
        + ["-o", f"UserKnownHostsFile={tmp_path / 'empty'}", "alias", "echo no"],
        env,
    )
    assert strict.returncode == 255
    assert b"not accepted without asking" in strict.stderr
    assert strict.stdout == b""


def test_passwordAndKeyboardInteractiveOnTerminal(
    passwordServer: dict[str, Any], tmp_path: Path, pane: Any
) -> None:
    """No keys: the password is asked for on the terminal (three times, as ssh), then the
    server's keyboard-interactive prompt is shown and answered."""
    known = tmp_path / "pw_known_hosts"
    command = [
        *GLISTEN,
        "conch",
        "-a",
        "-F",
        "none",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "--known-hosts",
        str(known),
        "-p",
        str(passwordServer["port"]),
        f"{passwordServer['user']}@127.0.0.1",
        "echo logged-$((20+3))",
    ]
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _env(tmp_path, TERM="xterm").items())
    script = f"env -i {env} {shlex.join(command)}; echo status=$?; exec cat"
    p: Pane = pane("password", ["sh", "-c", script])
    for attempt in range(1, 4):
        waitFor(lambda: str(p.screen().count("@127.0.0.1's password:")), str(attempt))
        p.type("wrong password")
        p.keys("Enter")
    p.waitFor("Password:")
    # Not echoed.
    p.type(PASSWORD)
    p.keys("Enter")
    p.waitFor("status=")
    screen = p.screen()
    assert "logged-23" in screen and "status=0" in screen
    assert PASSWORD not in screen and "wrong password" not in screen
