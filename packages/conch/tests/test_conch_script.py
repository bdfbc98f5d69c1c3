"""The ``glisten conch`` tool's parts: options, forwarding specifications, the host key prompt,
the session channel's requests and the exit status. The tool against ``sshd`` is tested in
``tests/conch/test_conch_tool.py``."""

from __future__ import annotations

import argparse
import io
import os
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.error import ConchError, HostKeyChanged, UserRejectedKey
from glisten.conch.scripts import conch
from glisten.conch.ssh import common
from glisten.conch.ssh.session import parseRequest_pty_req
from glisten.internet.defer import Deferred, succeed
from glisten.internet.error import ConnectionDone, ConnectionLost, ProcessTerminated
from glisten.python.failure import Failure


@pytest.fixture(autouse=True)
def _home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ~/.ssh/config (nor keys) of the machine running the tests applies."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    conch.conchPlugin.addArguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("8080:web:80", (None, 8080, "web", 80)),
        ("0.0.0.0:8080:web:80", ("0.0.0.0", 8080, "web", 80)),
        ("[::1]:8080:[2001:db8::1]:443", ("::1", 8080, "2001:db8::1", 443)),
        ("0:localhost:22", (None, 0, "localhost", 22)),
    ],
)
def test_parseForward(spec: str, expected: tuple[Any, ...]) -> None:
    assert conch.parseForward(spec) == expected


@pytest.mark.parametrize(
    "spec", ["", "8080", "8080:web", "a:web:80", "8080:web:x", "8080:web:0", "70000:h:1", "[::1"]
)
def test_parseForwardRefuses(spec: str) -> None:
    with pytest.raises(ValueError):
        conch.parseForward(spec)


@pytest.mark.parametrize(
    ("spec", "listen", "connect"),
    [
        ("8080:web:80", (None, 8080), ("web", 80)),
        ("[::1]:8080:[2001:db8::1]:443", ("::1", 8080), ("2001:db8::1", 443)),
        ("8080:/run/app.sock", (None, 8080), "/run/app.sock"),
        ("0.0.0.0:8080:/run/app.sock", ("0.0.0.0", 8080), "/run/app.sock"),
        ("/tmp/l.sock:web:80", "/tmp/l.sock", ("web", 80)),
        ("/tmp/l.sock:/run/app.sock", "/tmp/l.sock", "/run/app.sock"),
        ("./rel/l.sock:[/odd:path]", "./rel/l.sock", "/odd:path"),
    ],
)
def test_parseForwardSpec(spec: str, listen: Any, connect: Any) -> None:
    assert conch.parseForwardSpec(spec) == conch.ForwardSpec(listen, connect)


@pytest.mark.parametrize(
    "spec",
    [
        "/a.sock",
        "8080:web",
        "/a:web:0",
        "/a:/b:/c",
        "a:x:/b",
        "8080:/b:80",
        "h:1:/p:2",
        "/a:x:80:90",
        "x:/b",
    ],
)
def test_parseForwardSpecRefuses(spec: str) -> None:
    with pytest.raises(ValueError):
        conch.parseForwardSpec(spec)


def test_parseForwardIsTCPOnly() -> None:
    with pytest.raises(ValueError, match="use \\[BIND:\\]PORT"):
        conch.parseForward("8080:/run/app.sock")


def test_options() -> None:
    o = _options(
        "-l", "me", "-p", "2222", "-i", "k1", "-i", "k2", "-A", "-L", "1:h:2", "-R", "3:h:4",
        "host", "ls", "-l", "/tmp",
    )  # fmt: skip
    assert (o.user, o.port, o.identity, o.forward_agent) == ("me", 2222, ["k1", "k2"], True)
    assert (o.local_forward, o.remote_forward) == (["1:h:2"], ["3:h:4"])
    # Options after the host belong to the command.
    assert (o.host, o.command) == ("host", ["ls", "-l", "/tmp"])
    assert _options("-a", "h").noagent is True


def test_makeServiceUserAtHost(tmp_path: Any) -> None:
    o = _options("--known-hosts", str(tmp_path / "kh"), "-i", "/nonexistent/key", "me@there")
    with pytest.raises(ValueError, match="cannot read key"):
        conch.conchPlugin.makeService(o)
    assert (o.user, o.host) == ("me", "there")
    o = _options("-l", "first", "--known-hosts", str(tmp_path / "kh"), "-L", "x:y:z", "h")
    with pytest.raises(ValueError, match="bad port"):
        conch.conchPlugin.makeService(o)


def test_makeServiceReadsKeys(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from glisten.conch.ssh.keys import Key

    key = Key.generate("ed25519")
    path = tmp_path / "id"
    path.write_bytes(key.toString("openssh", passphrase=b"pw"))
    monkeypatch.setattr(conch.getpass, "getpass", lambda prompt: "pw")
    o = _options("--known-hosts", str(tmp_path / "kh"), "-i", str(path), "u@h", "true")
    service = conch.conchPlugin.makeService(o)
    assert isinstance(service, conch.ConchService)
    assert [k.public() for k in service.keys] == [key.public()]
    monkeypatch.setattr(conch.getpass, "getpass", lambda prompt: "wrong")
    with pytest.raises(ValueError, match="cannot read key"):
        conch.conchPlugin.makeService(o)


class _Terminal:
    """``/dev/tty``: what is typed is read, what is written is shown."""

    def __init__(self, typed: str) -> None:
        self._typed = io.StringIO(typed)
        self._shown = io.StringIO()
        self.readline = self._typed.readline
        self.write = self._shown.write

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return self._shown.getvalue()

    def __enter__(self) -> _Terminal:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("typed", "accepted"), [("yes\n", True), ("no\n", False), ("maybe\nYES\n", True), ("", False)]
)
def test_promptOnTerminal(typed: str, accepted: bool) -> None:
    terminal = _Terminal(typed)
    ui = conch._TerminalUI(io.StringIO(), lambda: terminal)
    assert ui.prompt("Are you sure (yes/no)? ") is accepted
    shown = terminal.getvalue()
    assert "Are you sure" in shown
    assert ("Please type 'yes' or 'no'" in shown) is typed.startswith("maybe")


def test_promptInterrupted() -> None:
    """Control-C at the question is a no (and the previous SIGINT handler comes back)."""
    import signal

    def interrupted() -> str:
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGINT)
    terminal = _Terminal("yes\n")
    terminal.readline = interrupted  # type: ignore[method-assign]
    assert conch._TerminalUI(io.StringIO(), lambda: terminal).prompt("Sure? ") is False
    assert terminal.getvalue() == "Sure? \n"
    assert signal.getsignal(signal.SIGINT) is before


def test_promptWithoutTerminal() -> None:
    def noTerminal() -> Any:
        raise OSError(6, "No such device or address")

    stderr = io.StringIO()
    ui = conch._TerminalUI(stderr, noTerminal)
    assert ui.prompt("The authenticity...\nfingerprint SHA256:x.\nAre you sure? ") is False
    assert "No terminal" in stderr.getvalue()
    assert "fingerprint SHA256:x." in stderr.getvalue()


def test_pty() -> None:
    r, w = os.pipe()
    try:
        assert conch._wantPty(_options("h"), r) is False  # not a terminal
        assert conch._wantPty(_options("-t", "h", "ls"), r) is True
        assert conch._wantPty(_options("-T", "-t", "h"), r) is False
    finally:
        os.close(r)
        os.close(w)


class _FakeConn:
    def __init__(self) -> None:
        self.requests: list[tuple[bytes, bytes, bool]] = []
        self.globals: list[tuple[bytes, bytes]] = []
        self.answers: dict[bytes, Deferred[Any]] = {}

    def sendRequest(
        self, channel: Any, requestType: bytes, data: bytes, wantReply: bool = False
    ) -> Deferred[Any] | None:
        self.requests.append((requestType, data, wantReply))
        if not wantReply:
            return None
        d: Deferred[Any] = Deferred()
        self.answers[requestType] = d
        return d

    def sendGlobalRequest(self, request: bytes, data: bytes, wantReply: bool = False) -> Any:
        self.globals.append((request, data))
        return succeed(b"")


class _Creator:
    failure = None


def _service(*argv: str, stdin: int = 0) -> tuple[conch.ConchService, io.StringIO]:
    stderr = io.StringIO()
    service = conch.ConchService(
        _options(*argv), [], KnownHostsFile(None), reactor=object(), stdin=stdin, stderr=stderr
    )
    return service, stderr


def test_sessionRequests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PTY of the terminal's size and agent forwarding come before the shell."""
    monkeypatch.setenv("SSH_AUTH_SOCK", "/agent")
    monkeypatch.setenv("TERM", "xterm-256color")
    service, stderr = _service("-t", "-A", "-R", "0:h:80", "h")
    monkeypatch.setattr(service, "_geometry", lambda: (40, 132, 0, 0))
    channel = conch._Session(service, _Creator(), b"", None, Deferred())
    conn = _FakeConn()
    channel.conn = conn
    channel.channelOpen(b"")
    assert [(t, want) for t, _, want in conn.requests] == [
        (b"auth-agent-req@openssh.com", False),
        (b"pty-req", True),
        (b"shell", True),
    ]
    term, geometry, _ = parseRequest_pty_req(conn.requests[1][1])
    assert (term, geometry) == (b"xterm-256color", (40, 132, 0, 0))
    assert conn.globals[0][0] == b"tcpip-forward"
    conn.answers[b"pty-req"].callback(b"")
    assert stderr.getvalue() == ""
    conn.answers[b"pty-req"] = Deferred()
    channel.channelOpen(b"")
    conn.answers[b"pty-req"].errback(ConchError("refused"))
    assert "PTY allocation request failed" in stderr.getvalue()


def test_sessionCommand(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command is run with ``exec``; no agent is forwarded without ``-A``."""
    monkeypatch.setenv("SSH_AUTH_SOCK", "/agent")
    service, _ = _service("h", "ls")
    channel = conch._Session(service, _Creator(), b"ls -l", None, Deferred())
    conn = _FakeConn()
    channel.conn = conn
    channel.channelOpen(b"")
    assert conn.requests == [(b"exec", common.NS(b"ls -l"), True)]


def test_forwardedChannels() -> None:
    """Only the ports asked for with ``-R`` may be opened by the server."""
    from glisten.conch.ssh.forwarding import packOpen_forwarded_tcpip

    service, _ = _service("-R", "9000:target:80", "h")
    service._connected(_FakeConn())
    channel = service._openForwarded(1000, 100, packOpen_forwarded_tcpip(("x", 9000), ("a", 1)))
    assert channel.hostport == ("target", 80)
    assert service._openForwarded(1000, 100, packOpen_forwarded_tcpip(("x", 22), ("a", 1))) is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (ConnectionDone(), 0),
        (ProcessTerminated(7, None, None), 7),
        (ProcessTerminated(None, 15, None), 255),
        (ConnectionLost(), 255),
    ],
)
def test_exitStatus(reason: Exception, status: int) -> None:
    service, _ = _service("h")
    stopped: list[bool] = []
    service._stop = lambda: stopped.append(True)  # type: ignore[method-assign]
    service._sessionEnded(Failure(reason))
    assert (service.exitStatus, stopped) == (status, [True])


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (HostKeyChanged(None, "/kh", 3), "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        (UserRejectedKey("no"), "Host key verification failed"),
        (ConnectionLost("gone"), "gone"),
    ],
)
def test_connectionFailed(error: Exception, message: str) -> None:
    service, stderr = _service("h")
    service._stop = lambda: None  # type: ignore[method-assign]
    service.running = True
    service._failed(Failure(error))
    assert service.exitStatus == 255
    assert message in stderr.getvalue()


def test_connectionClosedWhileStopping() -> None:
    """Told to stop (SIGTERM, the end of ``-N``): the connection's end is not reported."""
    service, stderr = _service("h")
    service.running = False
    service._failed(Failure(ConnectionLost("closed")))
    assert (service.exitStatus, stderr.getvalue()) == (0, "")


def test_noAgent(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-a`` keeps a running agent out: nothing forwarded even with ``-A``."""
    monkeypatch.setenv("SSH_AUTH_SOCK", "/agent")
    assert _service("-A", "h")[0].forwardAgent is True
    assert _service("-A", "-a", "h")[0].forwardAgent is False
    monkeypatch.delenv("SSH_AUTH_SOCK")
    assert _service("-A", "h")[0].forwardAgent is False


def test_noCommand(tmp_path: Any) -> None:
    """``-N``: the forwardings start, and nothing is asked of the session channel."""
    service, _ = _service("-N", "-t", "-R", "9000:h:80", "h")
    assert service.usePty is False
    channel = conch._Session(service, _Creator(), b"", None, Deferred())
    conn = _FakeConn()
    channel.conn = conn
    channel.channelOpen(b"")
    assert conn.requests == []
    assert [g[0] for g in conn.globals] == [b"tcpip-forward"]
    o = _options("--known-hosts", str(tmp_path / "kh"), "-N", "h", "ls")
    with pytest.raises(ValueError, match="-N"):
        conch.conchPlugin.makeService(o)


# ---------------------------------------------------------------------- ssh_config and -o


def test_configFileAndOptions(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from glisten.conch.ssh.keys import Key

    key = Key.generate("ed25519")
    (tmp_path / "id_config").write_bytes(key.toString("openssh"))
    config = tmp_path / "config"
    config.write_text(
        "Host alias\n"
        "  HostName 127.0.0.9\n"
        "  Port 2200\n"
        "  User configured\n"
        f"  IdentityFile {tmp_path}/id_config\n"
        f"  IdentityFile {tmp_path}/missing\n"
        f"  UserKnownHostsFile {tmp_path}/kh_%h\n"
        "  StrictHostKeyChecking accept-new\n"
    )
    o = _options("-F", str(config), "alias", "true")
    service = conch.conchPlugin.makeService(o)
    assert (o.host, o.port, o.user) == ("127.0.0.9", 2200, "configured")
    assert [k.public() for k in service.keys] == [key.public()]  # type: ignore[attr-defined]
    assert service.knownHosts.savePath == f"{tmp_path}/kh_127.0.0.9"  # type: ignore[attr-defined]
    assert o.strict_host_key_checking == "accept-new"
    # The command line wins over -o, which wins over the file.
    o = _options("-F", str(config), "-o", "Port=1", "-o", "User=other", "-p", "3", "alias", "x")
    conch.conchPlugin.makeService(o)
    assert (o.port, o.user) == (3, "other")
    o = _options("-F", str(config), "-o", "StrictHostKeyChecking=yes", "me@alias", "x")
    conch.conchPlugin.makeService(o)
    assert (o.user, o.strict_host_key_checking) == ("me", "yes")
    # -F none reads nothing; without -F, ~/.ssh/config is read.
    o = _options("-F", "none", "--known-hosts", str(tmp_path / "kh"), "alias", "x")
    conch.conchPlugin.makeService(o)
    assert (o.host, o.port) == ("alias", 22)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host alias\n  Port 4\n")
    o = _options("alias", "x")
    conch.conchPlugin.makeService(o)
    assert o.port == 4
    with pytest.raises(ValueError, match="configuration file"):
        conch.conchPlugin.makeService(_options("-F", str(tmp_path / "nope"), "alias"))
    with pytest.raises(ValueError, match="bad port"):
        conch.conchPlugin.makeService(_options("-o", "Port=x", "alias"))


@pytest.mark.parametrize(
    ("strict", "batch", "accepted", "message"),
    [
        ("accept-new", False, True, "Accepted and recorded"),
        ("no", False, True, "Accepted and recorded"),
        ("yes", False, False, "not accepted without asking"),
        ("ask", True, False, "not accepted without asking"),
    ],
)
def test_hostKeyPolicy(strict: str, batch: bool, accepted: bool, message: str) -> None:
    def noTerminal() -> Any:
        raise AssertionError("no question is asked")

    stderr = io.StringIO()
    ui = conch._TerminalUI(stderr, noTerminal, strictHostKeyChecking=strict, batchMode=batch)
    assert ui.prompt("The authenticity...\nfingerprint SHA256:x.\nAre you sure? ") is accepted
    assert message in stderr.getvalue()
    assert "SHA256:x" in stderr.getvalue()


def test_askPassword() -> None:
    terminal = _Terminal("secret\n")
    ui = conch._TerminalUI(io.StringIO(), lambda: terminal)
    assert ui.askPassword("me@h's password: ") == b"secret"
    assert terminal.getvalue() == "me@h's password: \n"
    assert conch._TerminalUI(io.StringIO(), lambda: _Terminal("")).askPassword("p: ") is None
    assert (
        conch._TerminalUI(io.StringIO(), lambda: terminal, batchMode=True).askPassword("p: ")
        is None
    )

    def noTerminal() -> Any:
        raise OSError(6, "No such device or address")

    assert conch._TerminalUI(io.StringIO(), noTerminal).askPassword("p: ") is None


def test_askPasswordTurnsEchoOff() -> None:
    """On a real terminal (a pseudo-terminal here) the answer is not echoed."""
    import pty
    import termios

    main, secondary = pty.openpty()
    states: list[bool] = []

    class Terminal(_Terminal):
        def fileno(self) -> int:
            return secondary

    def readline() -> str:
        states.append(bool(termios.tcgetattr(secondary)[3] & termios.ECHO))
        return "pw\n"

    terminal = Terminal("")
    terminal.readline = readline  # type: ignore[method-assign]
    try:
        ui = conch._TerminalUI(io.StringIO(), lambda: terminal)
        assert ui.askPassword("p: ") == b"pw"
        assert states == [False]
        assert termios.tcgetattr(secondary)[3] & termios.ECHO
    finally:
        os.close(main)
        os.close(secondary)


def test_askAnswers() -> None:
    terminal = _Terminal("visible\nhidden\n")
    ui = conch._TerminalUI(io.StringIO(), lambda: terminal)
    answers = ui.askAnswers(
        b"Two \x1b[31mfactors", b"Answer both.\n", [(b"Name: ", True), (b"Code: ", False)]
    )
    assert answers == [b"visible", b"hidden"]
    shown = terminal.getvalue()
    assert shown == "Two ?[31mfactors\nAnswer both.\nName: Code: \n"
    assert ui.askAnswers(b"", b"", [(b"a", True), (b"b", True)]) is None


class _AuthCreator:
    def __init__(self, ui: Any) -> None:
        self.ui = ui
        self.hostname = b"example"
        self.agentKeys: list[Any] = []


def test_endpointAsksTheUI() -> None:
    from glisten.conch.endpoints import _UserAuth

    asked: list[Any] = []

    class UI:
        def askPassword(self, prompt: str) -> bytes:
            asked.append(prompt)
            return b"typed"

        def askAnswers(self, name: bytes, instruction: bytes, prompts: Any) -> Deferred[Any]:
            asked.append(prompts)
            return succeed([b"answer"] * len(prompts))

    auth = _UserAuth(_AuthCreator(UI()), b"me", None, [], None)  # type: ignore[arg-type]
    results: list[Any] = []
    for _ in range(4):
        d = auth.getPassword()
        results.append(None if d is None else d.result)
    assert results == [b"typed"] * 3 + [None]
    assert asked == ["me@example's password: "] * 3
    d = auth.getGenericAnswers(b"", b"", [(b"Code: ", True), (b"PIN: ", False)])
    assert d is not None and d.result == [b"answer", b"answer"]
    # A given password is used once before anything is asked.
    auth = _UserAuth(_AuthCreator(UI()), b"me", None, [], b"given")  # type: ignore[arg-type]
    d = auth.getGenericAnswers(b"", b"", [(b"Password: ", False)])
    assert d is not None and d.result == [b"given"]
    # A UI without the methods, or without an answer: nothing to send.
    assert _UserAuth(_AuthCreator(object()), b"me", None, [], None).getPassword() is None  # type: ignore[arg-type]

    class Silent:
        def askPassword(self, prompt: str) -> None:
            return None

        def askAnswers(self, *args: Any) -> Deferred[Any]:
            return succeed(None)

    auth = _UserAuth(_AuthCreator(Silent()), b"me", None, [], None)  # type: ignore[arg-type]
    assert auth.getPassword() is None
    failed: list[Any] = []
    d = auth.getGenericAnswers(b"", b"", [(b"x", True)])
    assert d is not None
    d.addErrback(failed.append)
    assert failed and failed[0].check(ConchError)


class _EscapeConn(_FakeConn):
    """A connection with channels to list and a transport that can be closed."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.channels: dict[int, Any] = {}
        self.transport = self

        self.kexInits = 0

    def loseConnection(self) -> None:
        self.closed = True

    def sendKexInit(self) -> None:
        self.kexInits += 1


class _Written:
    localClosed = False

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.data: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)


def _escapeSession(*argv: str) -> tuple[conch.ConchService, _Written, io.StringIO, list[int]]:
    service, stderr = _service(*argv)
    channel = _Written(_EscapeConn())
    service._channel = channel
    finished: list[int] = []
    service._finish = finished.append  # type: ignore[method-assign]
    return service, channel, stderr, finished


def test_escapes() -> None:
    """With a PTY: ``~?``, ``~#``, ``~B`` and ``~~`` act; ``~.`` closes with status 255."""
    from glisten.conch.ssh.forwarding import packOpen_forwarded_tcpip

    service, channel, stderr, finished = _escapeSession("-t", "host")
    conn = channel.conn
    service._remoteForwards[9000] = ("target", 80)
    forwarded = service._openForwarded(10, 10, packOpen_forwarded_tcpip(("x", 9000), ("a", 1)))
    conn.channels = {0: channel, 3: forwarded}
    channel.name = b"session"  # type: ignore[attr-defined]
    service._sendInput(b"ls\r~?~#~B~R~~x")
    assert b"".join(channel.data) == b"ls\r~x"
    assert conn.kexInits == 1
    shown = stderr.getvalue()
    assert "~.   - terminate connection" in shown
    assert "#0 session" in shown
    assert "#3 forwarded-tcpip to target port 80" in shown
    assert conn.requests == [(b"break", b"\x00\x00\x03\xe8", False)]
    service._sendInput(b"\n~.")
    assert finished == [255]
    assert conn.closed
    assert "Connection to host closed." in stderr.getvalue()


@pytest.mark.parametrize(
    ("argv", "typed", "sent"),
    [
        (("-t", "-e", "none", "h"), b"~.", b"~."),
        (("-t", "-e", "^]", "h"), b"~?\r\x1d\x1d", b"~?\r\x1d"),
        # No PTY, no escapes (as ssh).
        (("-T", "h"), b"~.", b"~."),
    ],
)
def test_escapeCharOption(argv: tuple[str, ...], typed: bytes, sent: bytes) -> None:
    o = _options(*argv)
    if o.escape_char is not None:
        o.escape_byte = conch._escapes.parseEscapeChar(o.escape_char)
    service = conch.ConchService(
        o, [], KnownHostsFile(None), reactor=object(), stderr=io.StringIO()
    )
    channel = _Written(_EscapeConn())
    service._channel = channel
    service._sendInput(typed)
    assert b"".join(channel.data) == sent


def test_escapeCharSettings(tmp_path: Any) -> None:
    """``-e`` wins over ``EscapeChar``; bad values are refused before connecting."""
    config = tmp_path / "config"
    config.write_text("Host h\n  EscapeChar %\n")
    known = ["--known-hosts", str(tmp_path / "kh")]
    o = _options("-F", str(config), *known, "h")
    conch.conchPlugin.makeService(o)
    assert o.escape_byte == ord("%")
    o = _options("-F", str(config), *known, "-e", "none", "h")
    conch.conchPlugin.makeService(o)
    assert o.escape_byte is None
    o = _options("-F", "none", *known, "h")
    conch.conchPlugin.makeService(o)
    assert o.escape_byte == ord("~")
    with pytest.raises(ValueError, match="escape character"):
        conch.conchPlugin.makeService(_options(*known, "-e", "ab", "h"))
    config.write_text("Host h\n  EscapeChar xy\n")
    with pytest.raises(ValueError, match="bad EscapeChar"):
        conch.conchPlugin.makeService(_options("-F", str(config), *known, "h"))


def test_environment(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``SendEnv``/``SetEnv`` variables go in ``env`` requests between the PTY and the shell."""
    monkeypatch.setenv("LC_GLISTEN", "sent")
    monkeypatch.setenv("NOT_SENT", "x")
    o = _options(
        "--known-hosts", str(tmp_path / "kh"), "-F", "none", "-o", "SendEnv=LC_*",
        "-o", "SetEnv=FIXED=one", "-t", "h",
    )  # fmt: skip
    service = conch.conchPlugin.makeService(o)
    assert isinstance(service, conch.ConchService)
    service._reactor = object()
    monkeypatch.setattr(service, "_geometry", lambda: (24, 80, 0, 0))
    channel = conch._Session(service, _Creator(), b"", None, Deferred())
    conn = _FakeConn()
    channel.conn = conn
    channel.channelOpen(b"")
    envs = [(data, want) for t, data, want in conn.requests if t == b"env"]
    assert envs == [
        (common.NS(b"LC_GLISTEN") + common.NS(b"sent"), False),
        (common.NS(b"FIXED") + common.NS(b"one"), False),
    ]
    kinds = [t for t, _, _ in conn.requests]
    assert kinds == [b"pty-req", b"env", b"env", b"shell"]


class _Listening:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def listenTCP(self, port: int, factory: Any, interface: str = "") -> Any:
        self.calls.append(("tcp", port, interface, factory))
        return self

    def listenUNIX(self, path: str, factory: Any, mode: int = 0o666) -> Any:
        if path.endswith("busy.sock"):
            raise OSError(98, "Address already in use")
        assert mode == 0o600
        self.calls.append(("unix", path, factory))
        return self


def test_unixSocketForwardings() -> None:
    """
    ``-L`` to and from Unix sockets listens with the right channel type; ``-R /path`` sends
    ``streamlocal-forward@openssh.com`` and lets the server open channels for that path only.
    """
    from glisten.conch.ssh import forwarding

    service, stderr = _service(
        "-L", "/tmp/l.sock:web:80", "-L", "8080:/run/app.sock", "-L", "/tmp/busy.sock:/x/y",
        "-R", "/remote/r.sock:127.0.0.1:22", "-R", "9000:/local/app.sock", "h",
    )  # fmt: skip
    reactor = _Listening()
    service._reactor = reactor
    conn = _FakeConn()
    service._connected(conn)
    (_, path, unixFactory), (_, port, interface, tcpFactory) = reactor.calls
    assert (path, port, interface) == ("/tmp/l.sock", 8080, "127.0.0.1")
    assert unixFactory.klass is forwarding.SSHListenClientForwardingChannel
    assert unixFactory.hostport == ("web", 80)
    assert tcpFactory.klass is forwarding.SSHListenClientStreamLocalChannel
    assert tcpFactory.hostport == "/run/app.sock"
    assert "cannot listen on /tmp/busy.sock" in stderr.getvalue()
    assert conn.globals == [
        (b"streamlocal-forward@openssh.com", common.NS(b"/remote/r.sock")),
        (b"tcpip-forward", forwarding.packGlobal_tcpip_forward(("localhost", 9000))),
    ]
    opened = service._openForwardedStreamLocal(
        10, 10, common.NS(b"/remote/r.sock") + common.NS(b"")
    )
    assert (opened.name, opened.hostport) == (
        b"forwarded-streamlocal@openssh.com",
        ("127.0.0.1", 22),
    )
    assert service._openForwardedStreamLocal(10, 10, common.NS(b"/other")) is None
    with pytest.raises(ConchError):
        service._openForwardedStreamLocal(10, 10, b"\x00\x00")
    tcp = service._openForwarded(10, 10, forwarding.packOpen_forwarded_tcpip(("x", 9000), ("a", 1)))
    assert tcp.hostport == "/local/app.sock"
    service._remoteSocketRefused(Failure(ConchError("no")), "/remote/r.sock")
    assert "failed for listen path /remote/r.sock" in stderr.getvalue()
    assert service._openForwardedStreamLocal(10, 10, common.NS(b"/remote/r.sock")) is None


def test_escapeSuspends(monkeypatch: pytest.MonkeyPatch) -> None:
    """``~^Z``: the terminal restored, SIGTSTP raised, then raw again and the size sent."""
    import signal

    service, channel, stderr, _ = _escapeSession("-t", "h")
    steps: list[str] = []
    service._savedTerminal = object()
    monkeypatch.setattr(service, "_restoreTerminal", lambda: steps.append("restored"))
    monkeypatch.setattr(service, "_rawTerminal", lambda: steps.append("raw"))
    monkeypatch.setattr(service, "_resized", lambda: steps.append("resized"))
    monkeypatch.setattr(signal, "raise_signal", lambda signum: steps.append(f"signal {signum}"))
    service._sendInput(b"~\x1a")
    assert steps == ["restored", f"signal {signal.SIGTSTP}", "raw", "resized"]
    assert "~^Z [suspend glisten conch]" in stderr.getvalue()
    assert channel.data == []


def test_commandLine() -> None:
    """``~C``: the prompt and echo on the terminal; ``-L``/``-R`` add forwardings, ``-KL``/
    ``-KR`` cancel them, anything else shows the commands."""
    from glisten.conch.ssh import forwarding

    service, channel, stderr, _ = _escapeSession("-t", "h")
    reactor = _Listening()
    service._reactor = reactor
    conn = channel.conn
    service._sendInput(b"~C-L 8080:web:80\r")
    assert stderr.getvalue() == "\r\nssh> -L 8080:web:80\r\nForwarding port.\r\n"
    assert channel.data == []
    ((_, port, _, factory),) = reactor.calls
    assert (port, factory.hostport) == (8080, ("web", 80))
    service._sendInput(b"~C-R/remote/s.sock:127.0.0.1:22\r~C-R 9000:h:1\r")
    assert [g[0] for g in conn.globals] == [
        b"streamlocal-forward@openssh.com",
        b"tcpip-forward",
    ]
    stopped: list[bool] = []
    service._listeners["port 8080"].stopListening = lambda: stopped.append(True)
    service._sendInput(b"~C-KL 8080\r~C-KR /remote/s.sock\r~C-KR 9000\r")
    assert stopped == [True]
    assert [g[0] for g in conn.globals[2:]] == [
        b"cancel-streamlocal-forward@openssh.com",
        b"cancel-tcpip-forward",
    ]
    assert conn.globals[3][1] == forwarding.packGlobal_tcpip_forward(("localhost", 9000))
    assert stderr.getvalue().count("Canceled forwarding.") == 3
    for typed, message in [
        (b"~C-KL 8080\r", "no local forwarding on port 8080"),
        (b"~C-KR 1\r", "no remote forwarding on port 1"),
        (b"~C-L nonsense\r", "bad forwarding specification"),
        (b"~C-KL x\r", "bad port"),
        (b"~Cwhat\r", "Request local forward"),
        (b'~C-L "a\r', "Request local forward"),
    ]:
        service._sendInput(typed)
        assert message in stderr.getvalue().rsplit("ssh> ", 1)[1]
    before = stderr.getvalue()
    service._sendInput(b"~C-L 1:h:2\x03")
    assert stderr.getvalue() == before + "\r\nssh> -L 1:h:2\r\n"
    assert len(reactor.calls) == 1


def test_streamLocalBindUnlink(tmp_path: Any) -> None:
    """A socket left over is replaced only with ``StreamLocalBindUnlink yes`` (and only a
    socket: another file at the path stays)."""
    import socket

    left = str(tmp_path / "left.sock")
    plain = tmp_path / "plain"
    plain.write_text("keep")
    socket.socket(socket.AF_UNIX).bind(left)
    for setting, removed in (("no", False), ("yes", True)):
        o = _options(
            "-F", "none", "--known-hosts", str(tmp_path / "kh"),
            "-o", f"StreamLocalBindUnlink={setting}", "-L", f"{left}:h:1", "-L", f"{plain}:h:1", "h",
        )  # fmt: skip
        conch.conchPlugin.makeService(o)
        service = conch.ConchService(o, [], KnownHostsFile(None), reactor=_Listening())
        service._connected(_FakeConn())
        assert os.path.exists(left) is not removed
    assert plain.read_text() == "keep"
    with pytest.raises(ValueError, match="bad StreamLocalBindUnlink"):
        conch.conchPlugin.makeService(_options("-o", "StreamLocalBindUnlink=maybe", "h"))
