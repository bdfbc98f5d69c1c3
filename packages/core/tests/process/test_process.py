"""
spawnProcess against real programs: cat, sh, head, a missing executable, a PTY.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from glisten.internet import error
from glisten.internet.defer import Deferred
from glisten.internet.process import ProcessExecError, spawnProcess
from glisten.internet.protocol import ProcessProtocol
from glisten.python.failure import Failure


class Recorder(ProcessProtocol):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.fds: dict[int, list[bytes]] = {}
        self.exited: Failure | None = None
        self.ended: Deferred[None] = Deferred()
        self.reason: Any = None

    def connectionMade(self) -> None:
        self.events.append("connectionMade")

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.fds.setdefault(childFD, []).append(data)
        super().childDataReceived(childFD, data)

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def inConnectionLost(self) -> None:
        self.events.append("inConnectionLost")

    def outConnectionLost(self) -> None:
        self.events.append("outConnectionLost")

    def errConnectionLost(self) -> None:
        self.events.append("errConnectionLost")

    def childConnectionLost(self, childFD: int) -> None:
        if childFD > 2:
            self.events.append(f"childConnectionLost{childFD}")
        super().childConnectionLost(childFD)

    def processExited(self, reason: Failure) -> None:
        self.events.append("processExited")
        self.exited = reason

    def processEnded(self, reason: Failure) -> None:
        self.events.append("processEnded")
        self.reason = reason
        self.ended.callback(None)


def _assertReaped(pid: int) -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_catEcho(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "cat", ["cat"])
    pid = transport.pid
    assert isinstance(pid, int)
    transport.write(b"hello ")
    transport.writeSequence([b"from ", b"cat"])
    transport.closeStdin()
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(error.ProcessDone)
    assert reason.value.exitCode == 0
    assert b"".join(proto.out) == b"hello from cat"
    assert proto.events[0] == "connectionMade"
    assert proto.events[-1] == "processEnded"
    assert {"inConnectionLost", "outConnectionLost", "errConnectionLost", "processExited"} <= set(
        proto.events
    )
    assert transport.pid is None
    _assertReaped(pid)


def test_exitCode(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(reactor, proto, "sh", ["sh", "-c", "echo oops >&2; exit 3"])
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(error.ProcessTerminated)
    assert reason.value.exitCode == 3
    assert reason.value.signal is None
    assert b"".join(proto.err) == b"oops\n"
    assert proto.exited is not None and proto.exited.value.exitCode == 3


def test_killNine(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "sleep", ["sleep", "60"])
    reactor.callWhenRunning(transport.signalProcess, "KILL")
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(error.ProcessTerminated)
    assert reason.value.signal == 9
    assert reason.value.exitCode is None
    with pytest.raises(error.ProcessExitedAlready):
        transport.signalProcess("TERM")


def test_signalByNumberAndBadName(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "sleep", ["sleep", "60"])
    with pytest.raises(ValueError):
        transport.signalProcess("NOSUCHSIGNAL")
    transport.signalProcess(15)
    wait(proto.ended)
    reason = proto.reason
    assert reason.value.signal == 15


def test_bigOutputWithPausedReading(reactor: Any, wait: Any) -> None:
    total = 50 * 1024 * 1024
    state = {"received": 0, "pauses": 0, "deliveredWhilePaused": 0, "paused": False}

    class Slow(Recorder):
        def outReceived(self, data: bytes) -> None:
            if state["paused"]:
                state["deliveredWhilePaused"] += 1
            state["received"] += len(data)
            # Pause after every ~10 MB; the child must block, not the parent buffer.
            due = state["received"] // (10 * 1024 * 1024) > state["pauses"]
            if due and state["received"] < total - 1024 * 1024:
                state["pauses"] += 1
                state["paused"] = True
                self.transport.pauseProducing()
                reactor.callLater(0.01, resume, self.transport)

    def resume(transport: Any) -> None:
        assert transport.pid is not None  # still alive: blocked on the full pipe
        state["paused"] = False
        transport.resumeProducing()

    proto = Slow()
    spawnProcess(reactor, proto, "head", ["head", "-c", str(total), "/dev/zero"])
    wait(proto.ended, limit=60)
    reason = proto.reason
    assert reason.check(error.ProcessDone)
    assert state["received"] == total
    assert state["pauses"] >= 4
    assert state["deliveredWhilePaused"] == 0


def test_missingExecutable(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(reactor, proto, "/nonexistent/glisten-no-such-program", ["x"])
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(ProcessExecError)
    assert reason.check(error.ProcessTerminated)
    assert reason.value.exitCode == 127
    assert isinstance(reason.value.osError, OSError)
    assert "No such file" in str(reason.value)


def test_badWorkingDirectory(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(reactor, proto, "true", ["true"], path="/nonexistent/glisten-dir")
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(ProcessExecError)


def test_childClosesStdoutButKeepsRunning(reactor: Any, wait: Any) -> None:
    class Proto(Recorder):
        def outConnectionLost(self) -> None:
            super().outConnectionLost()
            # The child is still running, waiting for a line on stdin.
            assert self.transport.pid is not None
            assert "processExited" not in self.events
            self.transport.write(b"go\n")
            self.transport.closeStdin()

    proto = Proto()
    spawnProcess(reactor, proto, "sh", ["sh", "-c", "echo before; exec 1>&-; read x; exit 5"])
    wait(proto.ended)
    reason = proto.reason
    assert reason.value.exitCode == 5
    assert b"".join(proto.out) == b"before\n"
    assert proto.events.index("outConnectionLost") < proto.events.index("processExited")


def test_extraChildFDs(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(
        reactor,
        proto,
        "sh",
        ["sh", "-c", "echo three >&3; echo four >&4; cat <&5"],
        childFDs={0: "w", 1: "r", 2: "r", 3: "r", 4: "r", 5: "w"},
    )
    wait(_writeThenEnd(reactor, proto))
    reason = proto.reason
    assert reason.check(error.ProcessDone)
    assert b"".join(proto.fds[3]) == b"three\n"
    assert b"".join(proto.fds[4]) == b"four\n"
    assert b"".join(proto.out) == b"via five"
    assert "childConnectionLost3" in proto.events


def _writeThenEnd(reactor: Any, proto: Recorder) -> Deferred[None]:
    def go() -> None:
        proto.transport.writeToChild(5, b"via five")
        proto.transport.closeChildFD(5)
        proto.transport.closeStdin()

    reactor.callWhenRunning(go)
    return proto.ended


def test_childFDsSharingParentDescriptor(reactor: Any, wait: Any) -> None:
    r, w = os.pipe()
    try:
        proto = Recorder()
        spawnProcess(
            reactor,
            proto,
            "sh",
            ["sh", "-c", "echo shared"],
            childFDs={0: "w", 1: w, 2: "r"},
        )
        os.close(w)
        w = -1
        wait(proto.ended)
        reason = proto.reason
        assert reason.check(error.ProcessDone)
        assert os.read(r, 100) == b"shared\n"
        assert 1 not in proto.fds
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_envAndPath(reactor: Any, wait: Any, tmp_path: Any) -> None:
    proto = Recorder()
    spawnProcess(
        reactor,
        proto,
        "/bin/sh",
        ["sh", "-c", 'echo "$GLISTEN_TEST_VAR"; pwd; echo "${HOME:-unset}"'],
        env={"GLISTEN_TEST_VAR": "value with spaces"},
        path=str(tmp_path),
    )
    wait(proto.ended)
    lines = b"".join(proto.out).decode().splitlines()
    assert lines[0] == "value with spaces"
    assert os.path.realpath(lines[1]) == os.path.realpath(str(tmp_path))
    assert lines[2] == "unset"


def test_inheritEnvironmentWithNone(reactor: Any, wait: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("GLISTEN_INHERITED", "yes")
    proto = Recorder()
    spawnProcess(reactor, proto, "sh", ["sh", "-c", 'echo "$GLISTEN_INHERITED"'], env=None)
    wait(proto.ended)
    assert b"".join(proto.out) == b"yes\n"


def test_pty(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    transport = spawnProcess(
        reactor,
        proto,
        "sh",
        ["sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; read line; echo got-$line"],
        usePTY=True,
    )
    transport.write(b"typed\n")
    wait(proto.ended)
    reason = proto.reason
    assert reason.check(error.ProcessDone)
    output = b"".join(proto.out)
    assert b"is-a-tty" in output
    assert b"got-typed" in output


def test_ptyWithChildFDsRejected(reactor: Any) -> None:
    with pytest.raises(ValueError):
        spawnProcess(reactor, Recorder(), "true", ["true"], usePTY=True, childFDs={0: "w"})


@pytest.mark.parametrize(
    ("executable", "args", "env"),
    [
        ("true", ["tr\0ue"], None),
        ("tr\0ue", ["true"], None),
        ("true", ["true"], {"A\0": "b"}),
        ("true", ["true"], {"A=B": "c"}),
    ],
)
def test_badArguments(reactor: Any, executable: str, args: list[str], env: Any) -> None:
    with pytest.raises(ValueError):
        spawnProcess(reactor, Recorder(), executable, args, env=env)


def test_nonStringArgument(reactor: Any) -> None:
    with pytest.raises(TypeError):
        spawnProcess(reactor, Recorder(), "true", ["true", 3])  # type: ignore[list-item]


def test_loseConnection(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "cat", ["cat"])
    transport.write(b"partial")
    transport.loseConnection()
    wait(proto.ended)
    reason = proto.reason
    # cat sees EOF on stdin and exits 0 (or dies of SIGPIPE writing to the closed stdout).
    assert reason.check(error.ProcessDone, error.ProcessTerminated)
    assert "inConnectionLost" in proto.events


def test_bytesArguments(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(reactor, proto, b"sh", [b"sh", b"-c", b"printf '%s' \"$0\"", b"\xff-arg"])
    wait(proto.ended)
    assert b"".join(proto.out) == b"\xff-arg"


def test_stdinProducer(reactor: Any, wait: Any) -> None:
    chunks = [bytes([65 + i]) * 100000 for i in range(20)]

    class Pull:
        def __init__(self, transport: Any) -> None:
            self.transport = transport

        def resumeProducing(self) -> None:
            if chunks:
                self.transport.write(chunks.pop(0))
            else:
                self.transport.unregisterProducer()
                self.transport.closeStdin()

        def stopProducing(self) -> None:
            pass

    proto = Recorder()
    transport = spawnProcess(reactor, proto, "wc", ["wc", "-c"])
    transport.registerProducer(Pull(transport), False)
    wait(proto.ended)
    assert int(b"".join(proto.out)) == 2_000_000


def test_pythonChild(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(
        reactor,
        proto,
        sys.executable,
        [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
    )
    proto.transport.write(b"shout")
    proto.transport.closeStdin()
    wait(proto.ended)
    assert b"".join(proto.out) == b"SHOUT"


def test_uidAndGid(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(reactor, proto, "id", ["id", "-u"], uid=os.getuid(), gid=os.getgid())
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone)
    assert int(b"".join(proto.out)) == os.getuid()


def test_noZombiesAfterManyChildren(reactor: Any, wait: Any) -> None:
    from glisten.internet.defer import gatherResults

    protos = [Recorder() for _ in range(20)]
    pids = [spawnProcess(reactor, p, "true", ["true"]).pid for p in protos]
    wait(gatherResults([p.ended for p in protos]))
    for pid in pids:
        _assertReaped(pid)


def test_reapingWithoutPidfd(reactor: Any, wait: Any, monkeypatch: Any) -> None:
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "sh", ["sh", "-c", "exit 4"])
    pid = transport.pid
    wait(proto.ended)
    assert proto.reason.value.exitCode == 4
    _assertReaped(pid)


def test_reapAllProcesses(reactor: Any, wait: Any, monkeypatch: Any) -> None:
    from glisten.internet.process import reapAllProcesses

    monkeypatch.delattr(os, "pidfd_open", raising=False)
    proto = Recorder()
    transport = spawnProcess(reactor, proto, "sh", ["sh", "-c", "exec 1>&- 2>&-; exit 6"])

    # What a SIGCHLD handler does; with nothing exited yet it is a no-op.
    reapAllProcesses()
    reactor.callWhenRunning(_reapUntilExited, reactor, transport, reapAllProcesses)
    wait(proto.ended)
    assert proto.reason.value.exitCode == 6


def _reapUntilExited(reactor: Any, transport: Any, reap: Any) -> None:
    reap()
    if transport.pid is not None:
        reactor.callLater(0, _reapUntilExited, reactor, transport, reap)


def test_ptyGivenAsTuple(reactor: Any, wait: Any) -> None:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    proto = Recorder()
    spawnProcess(reactor, proto, "sh", ["sh", "-c", "tty"], usePTY=(master, slave, name))
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone)
    assert name.encode() in b"".join(proto.out)


def test_unmappedDescriptorsAreClosed(reactor: Any, wait: Any) -> None:
    proto = Recorder()
    spawnProcess(
        reactor,
        proto,
        "sh",
        ["sh", "-c", "if [ -e /proc/$$/fd/2 ]; then echo open; else echo closed; fi"],
        childFDs={0: "w", 1: "r"},
    )
    wait(proto.ended)
    assert b"".join(proto.out) == b"closed\n"
    assert 2 not in proto.fds


def test_childFDsWhoseSourcesAreOtherTargets(reactor: Any, wait: Any) -> None:
    # The child's fd `w` is a new pipe while its fd 1 is the parent's fd `w`: the parent's
    # descriptor must be moved out of the way before the new pipe takes its number.
    r, w = os.pipe()
    target = w
    try:
        proto = Recorder()
        spawnProcess(
            reactor,
            proto,
            sys.executable,
            [sys.executable, "-c", f"import os; os.write(1, b'one\\n'); os.write({w}, b'two\\n')"],
            childFDs={0: "w", 1: w, 2: "r", w: "r"},
        )
        os.close(w)
        w = -1
        wait(proto.ended)
        assert proto.reason.check(error.ProcessDone), proto.err
        assert os.read(r, 100) == b"one\n"
        assert proto.fds == {target: [b"two\n"]}
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
