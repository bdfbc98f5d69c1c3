"""scp -t / scp -f served over a confined ISFTPServer: uploads, downloads, escapes, flow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.conch.ssh.scp import SCPOnlySession, SCPProcess, parseSCPCommand
from glisten.conch.unix import SFTPServerForUnixConchUser
from glisten.internet.defer import Deferred
from glisten.python.failure import Failure


class ProcessProtocol:
    """What a session gives a process: collects its output and how it ended."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.transport: Any = None
        self.ended: Failure | None = None

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        raise AssertionError("scp writes its errors in the protocol")

    def processEnded(self, reason: Failure) -> None:
        assert self.ended is None
        self.ended = reason

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data

    @property
    def exitCode(self) -> int | None:
        return None if self.ended is None else self.ended.value.exitCode


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    (r / "hello.txt").write_bytes(b"hello world")
    (r / "sub").mkdir()
    (r / "sub" / "inner.txt").write_bytes(b"inner")
    os.chmod(r / "sub" / "inner.txt", 0o640)
    os.utime(r / "sub" / "inner.txt", (1600000000, 1500000000))
    (tmp_path / "secret.txt").write_bytes(b"outside")
    return r


def run(root: Path | Any, command: bytes) -> tuple[SCPProcess, ProcessProtocol]:
    server = root if not isinstance(root, Path) else SFTPServerForUnixConchUser(None, str(root))
    parsed = parseSCPCommand(command)
    assert parsed is not None
    pp = ProcessProtocol()
    process = SCPProcess(server, parsed, pp)
    process.start()
    return process, pp


# ---------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    "command, expected",
    [
        (b"scp -t -- /x", ("sink", False, False, False, (b"/x",))),
        (b"/usr/bin/scp -v -r -p -d -t dir", ("sink", True, True, True, (b"dir",))),
        (b"scp -rf 'a b' c\\ d", ("source", True, False, False, (b"a b", b"c d"))),
        (b"scp -f '*.txt'", ("source", False, False, False, (b"*.txt",))),
    ],
)
def test_parse(command: bytes, expected: tuple[Any, ...]) -> None:
    parsed = parseSCPCommand(command)
    assert parsed is not None
    assert (
        parsed.mode,
        parsed.recursive,
        parsed.preserve,
        parsed.targetIsDirectory,
        parsed.paths,
    ) == expected


@pytest.mark.parametrize(
    "command",
    [b"ls -l", b"scp", b"scp -t", b"scp -t -f x", b"scp -x -t x", b"scp -t 'x", b"rm -rf /", b""],
)
def test_parseRefuses(command: bytes) -> None:
    assert parseSCPCommand(command) is None


# ---------------------------------------------------------------------- sink (uploads)


def test_uploadIntoFolder(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    assert pp.take() == b"\x00"
    process.write(b"C0600 5 new.txt\n")
    assert pp.take() == b"\x00"
    process.write(b"he")
    process.write(b"llo\x00")
    assert pp.take() == b"\x00"
    process.closeStdin()
    assert pp.exitCode == 0
    assert (root / "new.txt").read_bytes() == b"hello"


def test_uploadToFileName(root: Path) -> None:
    process, pp = run(root, b"scp -t sub/renamed.txt")
    process.write(b"C0644 2 original.txt\nok\x00")
    process.closeStdin()
    assert pp.take() == b"\x00\x00\x00"
    assert pp.exitCode == 0
    assert (root / "sub" / "renamed.txt").read_bytes() == b"ok"
    assert not (root / "sub" / "original.txt").exists()


def test_uploadOverwrites(root: Path) -> None:
    process, pp = run(root, b"scp -t hello.txt")
    process.write(b"C0644 3 x\nabc\x00")
    process.closeStdin()
    assert pp.exitCode == 0
    assert (root / "hello.txt").read_bytes() == b"abc"


def test_uploadRecursivePreserving(root: Path) -> None:
    process, pp = run(root, b"scp -r -p -t /")
    process.write(b"T1000000000 0 1000000001 0\n")
    process.write(b"D0750 0 tree\n")
    process.write(b"T1200000000 0 1200000001 0\n")
    process.write(b"C0604 3 a\nabc\x00")
    process.write(b"D0700 0 deeper\nC0644 0 empty\n\x00E\n")
    process.write(b"E\n")
    process.closeStdin()
    assert pp.take() == b"\x00" * 11
    assert pp.exitCode == 0
    tree = root / "tree"
    assert (tree / "a").read_bytes() == b"abc"
    assert (tree / "a").stat().st_mode & 0o777 == 0o604
    assert int((tree / "a").stat().st_mtime) == 1200000000
    assert (tree / "deeper" / "empty").read_bytes() == b""
    assert tree.stat().st_mode & 0o777 == 0o750
    assert int(tree.stat().st_mtime) == 1000000000


def test_folderWithoutRecursive(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    pp.take()
    process.write(b"D0755 0 d\n")
    assert pp.take().startswith(b"\x02scp: received a folder without -r")
    assert pp.exitCode == 1
    assert not (root / "d").exists()


def test_targetMustBeFolder(root: Path) -> None:
    _, pp = run(root, b"scp -d -t hello.txt")
    assert pp.take() == b"\x02scp: hello.txt: not a directory\n"
    assert pp.exitCode == 1
    _, pp = run(root, b"scp -t a b")
    assert pp.take() == b"\x02scp: ambiguous target\n"
    assert pp.exitCode == 1


def test_uploadRefusedGoesOn(root: Path) -> None:
    """A file that cannot be made is refused (its data is not sent) and the next one comes."""
    process, pp = run(root, b"scp -r -t /")
    pp.take()
    process.write(b"C0644 3 sub\n")
    assert pp.take().startswith(b"\x01scp: /sub: ")
    process.write(b"D0755 0 hello.txt\n")
    assert pp.take() == b"\x01scp: /hello.txt: not a directory\n"
    process.write(b"C0644 2 fine\nok\x00")
    assert pp.take() == b"\x00\x00"
    process.closeStdin()
    assert pp.exitCode == 1
    assert (root / "fine").read_bytes() == b"ok"


def test_sourceReadErrorCounts(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    process.write(b"C0644 2 f\nzz\x01scp: f: read error\n")
    process.closeStdin()
    assert pp.take() == b"\x00\x00\x00"
    assert pp.exitCode == 1


@pytest.mark.parametrize("target", [b"../../escaped", b"/../escaped", b"sub/../../../escaped"])
def test_uploadCannotLeaveRootByDots(root: Path, target: bytes) -> None:
    process, pp = run(root, b"scp -t " + target)
    process.write(b"C0644 1 x\n!\x00")
    process.closeStdin()
    assert pp.exitCode == 0
    assert (root / "escaped").read_bytes() == b"!"
    assert not (root.parent / "escaped").exists()


def test_uploadCannotLeaveRootByLinks(root: Path, tmp_path: Path) -> None:
    os.symlink(str(tmp_path), root / "planted")
    os.symlink("../secret.txt", root / "relative")
    process, pp = run(root, b"scp -r -t /")
    pp.take()
    process.write(b"C0644 1 x\n")
    process.write(b"!\x00")
    pp.take()
    process.closeStdin()
    for target in (b"planted/dropped", b"/planted", b"relative"):
        process, pp = run(root, b"scp -t " + target)
        process.write(b"C0644 5 dropped\n")
        if pp.out.endswith(b"\x00\x00"):
            process.write(b"12345\x00")
        process.closeStdin()
    assert (tmp_path / "secret.txt").read_bytes() == b"outside"
    assert not (tmp_path / "dropped").exists()
    # The link to "../secret.txt" is followed as in a chroot: to /secret.txt in the root.
    assert (root / "secret.txt").read_bytes() == b"12345"


def test_protocolErrorEnds(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    pp.take()
    process.write(b"C0644 1 ..\n")
    assert pp.take() == b"\x02scp: protocol error: bad file name in control record\n"
    assert pp.exitCode == 1
    assert not (root.parent / "evil").exists()
    process.write(b"more")
    process.closeStdin()


def test_truncatedUpload(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    process.write(b"C0644 10 f\nabc")
    process.closeStdin()
    assert pp.exitCode == 1
    assert pp.take().endswith(
        b"\x02scp: protocol error: the peer closed in the middle of a transfer\n"
    )


def test_sessionClosedMidway(root: Path) -> None:
    process, pp = run(root, b"scp -t /")
    process.write(b"C0644 10 f\nabc")
    process.loseConnection()
    process.write(b"more")
    assert pp.ended is None


# ---------------------------------------------------------------------- source (downloads)


def test_download(root: Path) -> None:
    process, pp = run(root, b"scp -f hello.txt")
    assert pp.take() == b""
    process.write(b"\x00")
    assert pp.take() == b"C0644 11 hello.txt\n"
    process.write(b"\x00")
    assert pp.take() == b"hello world\x00"
    process.write(b"\x00")
    assert pp.exitCode == 0


def test_downloadRecursivePreserving(root: Path) -> None:
    process, pp = run(root, b"scp -r -p -f /sub")
    expected = [
        b"T%d 0 %d 0\n"
        % (int((root / "sub").stat().st_mtime), int((root / "sub").stat().st_atime)),
        b"D0755 0 sub\n",
        b"T1500000000 0 1600000000 0\n",
        b"C0640 5 inner.txt\n",
        b"inner\x00",
        b"E\n",
    ]
    for record in expected:
        process.write(b"\x00")
        assert pp.take() == record
    process.write(b"\x00")
    assert pp.exitCode == 0


def test_downloadFolderWithoutRecursive(root: Path) -> None:
    process, pp = run(root, b"scp -f sub hello.txt")
    process.write(b"\x00")
    assert pp.take() == b"\x01scp: sub: not a regular file\nC0644 11 hello.txt\n"
    process.write(b"\x00")
    pp.take()
    process.write(b"\x00")
    assert pp.exitCode == 1


def test_downloadWildcards(root: Path) -> None:
    (root / "sub" / "other.txt").write_bytes(b"x")
    (root / "sub" / "skip.bin").write_bytes(b"x")
    process, pp = run(root, b"scp -f 'sub/*.txt'")
    process.write(b"\x00")
    assert pp.take() == b"C0640 5 inner.txt\n"
    process.write(b"\x00")
    pp.take()
    process.write(b"\x00")
    assert pp.take() == b"C0644 1 other.txt\n"
    process.write(b"\x00")
    pp.take()
    process.write(b"\x00")
    assert pp.exitCode == 0


def test_downloadRefusedByClient(root: Path) -> None:
    process, pp = run(root, b"scp -f hello.txt sub/inner.txt")
    process.write(b"\x00")
    pp.take()
    process.write(b"\x01scp: local error\n")
    assert pp.take() == b"C0640 5 inner.txt\n"
    process.write(b"\x00")
    process.write(b"\x00")
    assert pp.exitCode == 1


@pytest.mark.parametrize(
    "path", [b"../secret.txt", b"/../secret.txt", b"sub/../../secret.txt", b"/etc/passwd"]
)
def test_downloadCannotLeaveRoot(root: Path, path: bytes) -> None:
    process, pp = run(root, b"scp -f " + path)
    process.write(b"\x00")
    out = pp.take()
    assert out.startswith(b"\x01scp: ") and out.endswith(b": No such file or directory\n")
    assert pp.exitCode == 1


def test_downloadCannotFollowLinksOut(root: Path, tmp_path: Path) -> None:
    os.symlink(str(tmp_path), root / "planted")
    os.symlink("../secret.txt", root / "relative")
    for path in (b"planted/secret.txt", b"relative"):
        process, pp = run(root, b"scp -r -f " + path)
        process.write(b"\x00")
        assert b"outside" not in pp.take()
        assert pp.exitCode == 1


class FullChannel(ProcessProtocol):
    """A channel whose buffer fills with every write: the process is paused each time."""

    def outReceived(self, data: bytes) -> None:
        super().outReceived(data)
        if len(data) > 1:
            self.transport.pauseProducing()


def test_downloadWaitsForTheChannel(root: Path) -> None:
    payload = os.urandom(200000)
    (root / "big").write_bytes(payload)
    parsed = parseSCPCommand(b"scp -f big")
    assert parsed is not None
    pp = FullChannel()
    process = SCPProcess(SFTPServerForUnixConchUser(None, str(root)), parsed, pp)
    process.start()
    process.write(b"\x00")
    assert pp.take() == b"C0644 200000 big\n"
    process.write(b"\x00")
    received = pp.take()
    assert len(received) == 32768
    while len(received) < len(payload):
        process.resumeProducing()
        chunk = pp.take()
        assert 0 < len(chunk) <= 32768
        received += chunk
    process.resumeProducing()
    assert pp.take() == b"\x00"
    assert received == payload
    process.write(b"\x00")
    assert pp.exitCode == 0


# ---------------------------------------------------------------------- a slow file system


class SlowFile:
    def __init__(self, f: Any, pending: list[Deferred[Any]]) -> None:
        self.f = f
        self.pending = pending

    def writeChunk(self, offset: int, data: bytes) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        d.addCallback(lambda _: self.f.writeChunk(offset, data))
        self.pending.append(d)
        return d

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


class SlowServer:
    """A file system answering writes with Deferreds fired by the test."""

    def __init__(self, root: Path) -> None:
        self.server = SFTPServerForUnixConchUser(None, str(root))
        self.pending: list[Deferred[Any]] = []

    def openFile(self, path: bytes, flags: int, attrs: dict[str, Any]) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        d.addCallback(lambda _: SlowFile(self.server.openFile(path, flags, attrs), self.pending))
        self.pending.append(d)
        return d

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)

    def release(self) -> None:
        while self.pending:
            self.pending.pop(0).callback(None)


class Producer:
    paused = False

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False


def test_slowFileSystemPausesTheClient(root: Path) -> None:
    server = SlowServer(root)
    process, pp = run(server, b"scp -t /")
    producer = Producer()
    process.registerProducer(producer, True)
    data = os.urandom(3 * 1024 * 1024)
    process.write(b"C0644 %d slow\n" % len(data))
    server.release()
    for i in range(0, len(data), 65536):
        process.write(data[i : i + 65536])
    assert producer.paused
    process.write(b"\x00")
    server.release()
    while server.pending:
        server.release()
    assert not producer.paused
    process.closeStdin()
    assert pp.exitCode == 0
    assert (root / "slow").read_bytes() == data


# ---------------------------------------------------------------------- the session


class Avatar:
    def __init__(self, root: Path) -> None:
        self.sftpRoot = str(root)


def test_sessionRefusesTheRest(root: Path) -> None:
    from glisten.conch.interfaces import ISFTPServer
    from glisten.python.components import registerAdapter

    registerAdapter(SFTPServerForUnixConchUser, Avatar, ISFTPServer)
    session = SCPOnlySession(Avatar(root))
    pp = ProcessProtocol()
    for call in (
        lambda: session.openShell(pp),
        lambda: session.getPty(b"xterm", (24, 80, 0, 0), b""),
        lambda: session.execCommand(pp, b"cat /etc/passwd"),
        lambda: session.execCommand(pp, b"scp -t"),
    ):
        with pytest.raises(ValueError):
            call()
    session.execCommand(pp, b"scp -t /")
    assert pp.take() == b"\x00"
    pp.transport.write(b"C0644 1 s\nS\x00")
    session.eofReceived()
    assert pp.exitCode == 0
    assert (root / "s").read_bytes() == b"S"
    session.windowChanged((1, 2, 3, 4))
    session.closed()


# ---------------------------------------------------------------------- bad input


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from([b"scp -t /", b"scp -r -p -t /", b"scp -r -f /", b"scp -f hello.txt"]),
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(
                [b"\x00", b"C0644 3 f\n", b"D0755 0 d\n", b"E\n", b"T1 0 1 0\n", b"abc"]
            ),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_randomInputNeverBreaksTheServer(
    tmp_path_factory: pytest.TempPathFactory, command: bytes, chunks: list[bytes], eof: bool
) -> None:
    """Whatever the client sends: records, refusals or a protocol error; never an internal
    error, and nothing written outside the root."""
    base = tmp_path_factory.mktemp("random")
    root = base / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello")
    process, pp = run(root, command)
    for chunk in chunks:
        process.write(chunk)
    if eof:
        process.closeStdin()
    assert b"internal error" not in pp.out
    assert sorted(p.name for p in base.iterdir()) == ["root"]


def test_closedWhileWaitingForTheChannel(root: Path) -> None:
    """The session closing while a download waits for window ends the run (the file closed)."""
    (root / "big").write_bytes(os.urandom(100000))
    parsed = parseSCPCommand(b"scp -f big")
    assert parsed is not None
    pp = FullChannel()
    process = SCPProcess(SFTPServerForUnixConchUser(None, str(root)), parsed, pp)
    done: list[int] = []
    process.start().addCallback(done.append)
    process.write(b"\x00")
    process.write(b"\x00")
    assert len(pp.take()) > 0 and not done
    process.loseConnection()
    assert done == [1]
    assert pp.ended is None
