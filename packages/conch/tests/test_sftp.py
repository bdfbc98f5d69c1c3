"""FileTransferServer and FileTransferClient over the confined Unix file system, in memory."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.conch.ssh import filetransfer as ft
from glisten.conch.ssh._sftp import _codec as c
from glisten.conch.ssh.filetransfer import SFTPError
from glisten.conch.unix import SFTPServerForUnixConchUser
from glisten.internet.error import ConnectionLost

from ._sftploop import SFTPLoop


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    (r / "hello.txt").write_bytes(b"hello world")
    (r / "sub").mkdir()
    (r / "sub" / "inner.txt").write_bytes(b"inner")
    (tmp_path / "secret.txt").write_bytes(b"outside")
    return r


def loop(root: Path, **kw: Any) -> SFTPLoop:
    return SFTPLoop(SFTPServerForUnixConchUser(None, str(root)), **kw)


def test_versionAndExtensions(root: Path) -> None:
    lp = loop(root)
    assert lp.client.version == 3
    for name in (
        b"posix-rename@openssh.com",
        b"statvfs@openssh.com",
        b"fsync@openssh.com",
        b"hardlink@openssh.com",
        b"limits@openssh.com",
    ):
        assert name in lp.client.serverExtensions


def test_readWriteClose(root: Path) -> None:
    lp = loop(root)
    f = lp.run(lp.client.openFile(b"/new.bin", ft.FXF_WRITE | ft.FXF_CREAT, {}))
    lp.run(f.writeChunk(0, b"abc"))
    lp.run(f.writeChunk(3, b"def"))
    assert lp.run(f.getAttrs())["size"] == 6
    lp.run(f.close())
    assert (root / "new.bin").read_bytes() == b"abcdef"
    f = lp.run(lp.client.openFile(b"hello.txt", ft.FXF_READ))
    assert lp.run(f.readChunk(0, 5)) == b"hello"
    assert lp.run(f.readChunk(6, 100)) == b"world"
    with pytest.raises(EOFError):
        lp.run(f.readChunk(11, 100))
    lp.run(f.close())
    assert lp.server.openFiles == {}


def test_pipelinedRequests(root: Path) -> None:
    """64 writes and 64 reads in flight at once, as OpenSSH's sftp sends them."""
    lp = loop(root)
    f = lp.run(lp.client.openFile(b"/big", ft.FXF_WRITE | ft.FXF_CREAT | ft.FXF_READ))
    chunks = [bytes([i]) * 1000 for i in range(64)]
    writes = [f.writeChunk(i * 1000, chunk) for i, chunk in enumerate(chunks)]
    assert len(lp.client.openRequests) == 64
    lp.pump()
    assert all(w.called for w in writes)
    results: list[bytes] = []
    reads = [f.readChunk(i * 1000, 1000).addCallback(results.append) for i in range(64)]
    lp.pump()
    assert all(r.called for r in reads)
    assert b"".join(results) == b"".join(chunks)


def test_requestsBeforeVersionWait(root: Path) -> None:
    server = ft.FileTransferServer()
    server.client = SFTPServerForUnixConchUser(None, str(root))
    client = ft.FileTransferClient()
    from glisten.internet.testing import StringTransport

    ct, st = StringTransport(), StringTransport()
    client.makeConnection(ct)
    d = client.realPath(b".")
    assert ct.value() == c.SFTPCodec(True).sendInit([])
    server.makeConnection(st)
    server.dataReceived(ct.value())
    client.dataReceived(st.value())
    st.clear()
    server.dataReceived(client.transport.value()[len(c.SFTPCodec(True).sendInit([])) :])
    client.dataReceived(st.value())
    assert d.result == b"/"


def test_hugeReadIsShortened(root: Path) -> None:
    (root / "big").write_bytes(b"x" * 300_000)
    lp = loop(root)
    f = lp.run(lp.client.openFile(b"/big", ft.FXF_READ))
    data = lp.run(f.readChunk(0, 0xFFFFFFFF))
    assert len(data) == lp.server.limits.maxReadLength


def test_statAndSetStat(root: Path) -> None:
    lp = loop(root)
    attrs = lp.run(lp.client.getAttrs(b"/hello.txt"))
    assert attrs["size"] == 11
    lp.run(lp.client.setAttrs(b"/hello.txt", {"permissions": 0o600, "atime": 10, "mtime": 20}))
    s = os.stat(root / "hello.txt")
    assert s.st_mode & 0o777 == 0o600 and int(s.st_mtime) == 20
    lp.run(lp.client.setAttrs(b"/hello.txt", {"size": 2}))
    assert (root / "hello.txt").read_bytes() == b"he"
    f = lp.run(lp.client.openFile(b"/hello.txt", ft.FXF_READ | ft.FXF_WRITE))
    lp.run(f.setAttrs({"size": 1}))
    lp.run(f.fsync())
    assert (root / "hello.txt").read_bytes() == b"h"
    with pytest.raises(SFTPError) as e:
        lp.run(lp.client.getAttrs(b"/nothing"))
    assert e.value.code == ft.FX_NO_SUCH_FILE


def test_directories(root: Path) -> None:
    lp = loop(root)
    lp.run(lp.client.makeDirectory(b"/made", {"permissions": 0o700}))
    assert (root / "made").is_dir()
    d = lp.run(lp.client.openDirectory(b"/"))
    names = [n for n, _, _ in lp.run(d.read())]
    with pytest.raises(EOFError):
        lp.run(d.read())
    lp.run(d.close())
    assert sorted(names) == [b".", b"..", b"hello.txt", b"made", b"sub"]
    d = lp.run(lp.client.openDirectory(b"/sub"))
    entry = lp.run(next(iter(d)))
    assert entry[0] == b"."
    lp.run(lp.client.removeDirectory(b"/made"))
    assert not (root / "made").exists()


def test_renameRemoveLinks(root: Path) -> None:
    lp = loop(root)
    lp.run(lp.client.renameFile(b"/hello.txt", b"/moved.txt"))
    assert (root / "moved.txt").exists()
    with pytest.raises(SFTPError):
        lp.run(lp.client.renameFile(b"/moved.txt", b"/sub/inner.txt"))
    lp.run(lp.client.posixRename(b"/moved.txt", b"/sub/inner.txt"))
    assert (root / "sub" / "inner.txt").read_bytes() == b"hello world"
    lp.run(lp.client.makeHardLink(b"/sub/inner.txt", b"/hard"))
    assert os.stat(root / "hard").st_nlink == 2
    lp.run(lp.client.makeLink(b"/link", b"sub/inner.txt"))
    assert os.readlink(root / "link") == "sub/inner.txt"
    assert lp.run(lp.client.readLink(b"/link")) == b"sub/inner.txt"
    assert lp.run(lp.client.getAttrs(b"/link", True))["size"] == 11
    lp.run(lp.client.removeFile(b"/link"))
    assert not (root / "link").exists() and (root / "sub" / "inner.txt").exists()


def test_realPathAndStatVFS(root: Path) -> None:
    lp = loop(root)
    assert lp.run(lp.client.realPath(b".")) == b"/"
    assert lp.run(lp.client.realPath(b"sub/../sub/./inner.txt")) == b"/sub/inner.txt"
    vfs = lp.run(lp.client.statVFS(b"/"))
    assert vfs["f_bsize"] > 0
    limits = lp.run(lp.client.limits())
    assert limits["maxOpenHandles"] == lp.server.limits.maxHandles


# ---------------------------------------------------------------------- confinement


@pytest.mark.parametrize(
    "path",
    [b"../secret.txt", b"/../secret.txt", b"/sub/../../secret.txt", b"../../../../etc/passwd"],
)
def test_dotDotStaysInside(root: Path, path: bytes) -> None:
    lp = loop(root)
    with pytest.raises(SFTPError) as e:
        lp.run(lp.client.openFile(path, ft.FXF_READ))
    assert e.value.code == ft.FX_NO_SUCH_FILE
    # Writing creates the file inside the root (when its folder exists there), never beside it.
    try:
        f = lp.run(lp.client.openFile(path, ft.FXF_WRITE | ft.FXF_CREAT))
    except SFTPError:
        assert b"etc" in path
    else:
        lp.run(f.writeChunk(0, b"mine"))
        lp.run(f.close())
        assert (root / "secret.txt").read_bytes() == b"mine"
        assert lp.run(lp.client.realPath(path)) == b"/secret.txt"
    assert (root.parent / "secret.txt").read_bytes() == b"outside"


def test_absolutePathsAreUnderTheRoot(root: Path) -> None:
    lp = loop(root)
    outside = str(root.parent / "secret.txt").encode()
    with pytest.raises(SFTPError):
        lp.run(lp.client.openFile(outside, ft.FXF_READ))
    with pytest.raises(SFTPError):
        lp.run(lp.client.getAttrs(b"/etc/passwd"))
    assert lp.run(lp.client.realPath(b"/")) == b"/"


@pytest.mark.parametrize("target", ["../secret.txt", "SECRET", "/etc/passwd", "../../.."])
def test_symlinksCannotLeave(root: Path, target: str) -> None:
    if target == "SECRET":
        target = str(root.parent / "secret.txt")
    os.symlink(target, root / "escape")
    os.symlink(str(root.parent), root / "dirEscape")
    lp = loop(root)
    for path in (b"/escape", b"/dirEscape/secret.txt", b"/sub/../escape"):
        with pytest.raises(SFTPError):
            f = lp.run(lp.client.openFile(path, ft.FXF_READ))
            lp.run(f.readChunk(0, 100))
    with pytest.raises(SFTPError):
        lp.run(lp.client.openDirectory(b"/dirEscape"))
    # Writing through the link creates nothing outside.
    try:
        f = lp.run(lp.client.openFile(b"/escape", ft.FXF_WRITE | ft.FXF_CREAT | ft.FXF_TRUNC))
        lp.run(f.writeChunk(0, b"pwned"))
        lp.run(f.close())
    except SFTPError:
        pass
    assert (root.parent / "secret.txt").read_bytes() == b"outside"
    # Relative targets resolve under the root (a chroot): changing them changes only files
    # inside.
    try:
        lp.run(lp.client.setAttrs(b"/escape", {"permissions": 0o777}))
    except SFTPError:
        pass
    assert os.stat(root.parent / "secret.txt").st_mode & 0o777 != 0o777
    # A link made by the client through SFTP is no better.
    lp.run(lp.client.makeLink(b"/mine", b"../secret.txt"))
    try:
        f = lp.run(lp.client.openFile(b"/mine", ft.FXF_READ))
    except SFTPError:
        pass
    else:
        assert lp.run(f.readChunk(0, 100)) != b"outside"


def test_absoluteLinkTargetsMeanTheRoot(root: Path) -> None:
    """A link to ``/sub/inner.txt`` reaches the file under the root, as in a chroot."""
    os.symlink("/sub/inner.txt", root / "abs")
    lp = loop(root)
    f = lp.run(lp.client.openFile(b"/abs", ft.FXF_READ))
    assert lp.run(f.readChunk(0, 100)) == b"inner"
    assert lp.run(lp.client.realPath(b"/abs")) == b"/sub/inner.txt"


def test_renameAndHardLinkCannotLeave(root: Path) -> None:
    os.symlink(str(root.parent), root / "out")
    lp = loop(root)
    lp.run(lp.client.renameFile(b"/hello.txt", b"/../../moved"))
    assert (root / "moved").exists()
    with pytest.raises(SFTPError):
        lp.run(lp.client.renameFile(b"/moved", b"/out/moved"))
    with pytest.raises(SFTPError):
        lp.run(lp.client.makeHardLink(b"/out/secret.txt", b"/stolen"))
    assert not (root / "stolen").exists()
    assert not (root.parent / "moved").exists()


def test_linkLoop(root: Path) -> None:
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    lp = loop(root)
    with pytest.raises(SFTPError):
        lp.run(lp.client.openFile(b"/a", ft.FXF_READ))


def test_specialFilesAreRefused(root: Path) -> None:
    os.mkfifo(root / "fifo")
    lp = loop(root)
    with pytest.raises(SFTPError):
        lp.run(lp.client.openFile(b"/fifo", ft.FXF_READ))
    with pytest.raises(SFTPError):
        lp.run(lp.client.openFile(b"/sub", ft.FXF_READ))


# ---------------------------------------------------------------------- handles and bad input


def test_unknownAndForeignHandles(root: Path) -> None:
    first, second = loop(root), loop(root)
    f = first.run(first.client.openFile(b"/hello.txt", ft.FXF_READ))
    foreign = ft.ClientFile(second.client, f.handle)
    second.server.openFiles.clear()
    with pytest.raises(SFTPError) as e:
        second.run(foreign.readChunk(0, 10))
    assert e.value.code == ft.FX_FAILURE
    with pytest.raises(SFTPError):
        first.run(ft.ClientFile(first.client, b"nope").close())
    with pytest.raises(SFTPError):
        first.run(ft.ClientDirectory(first.client, b"nope").read())


def test_handleLimit(root: Path) -> None:
    lp = loop(root, limits=ft.Limits(maxHandles=3))
    for _ in range(3):
        lp.run(lp.client.openFile(b"/hello.txt", ft.FXF_READ))
    with pytest.raises(SFTPError) as e:
        lp.run(lp.client.openFile(b"/hello.txt", ft.FXF_READ))
    assert "handles" in e.value.message
    with pytest.raises(SFTPError):
        lp.run(lp.client.openDirectory(b"/"))


def test_badRequestGetsAStatus(root: Path) -> None:
    lp = loop(root)
    body = bytes([c.FXP_OPEN]) + struct.pack(">II", 77, 0xFFFFFFFF)
    lp.server.dataReceived(struct.pack(">I", len(body)) + body)
    reply = c.SFTPCodec(True, None)
    reply.receiveData(c.SFTPCodec(False).sendVersion([]))
    events = reply.receiveData(lp.serverTransport.value())
    assert events[0].requestId == 77 and events[0].code == ft.FX_BAD_MESSAGE
    assert not lp.serverTransport.disconnecting


def test_lyingLengthEndsTheSession(root: Path) -> None:
    lp = loop(root)
    lp.server.dataReceived(b"\xff\xff\xff\xff\x05")
    assert lp.serverTransport.disconnecting


def test_unsupportedExtension(root: Path) -> None:
    lp = loop(root)
    with pytest.raises(SFTPError) as e:
        lp.run(lp.client.extendedRequest(b"nothing@example.com", b""))
    assert e.value.code == ft.FX_OP_UNSUPPORTED


def test_errorsDoNotEchoPaths(root: Path) -> None:
    lp = loop(root)
    with pytest.raises(SFTPError) as e:
        lp.run(lp.client.removeDirectory(b"/hello.txt"))
    assert b"hello" not in e.value.message.encode()


def test_connectionLostClosesHandlesAndFailsRequests(root: Path) -> None:
    lp = loop(root)
    f = lp.run(lp.client.openFile(b"/hello.txt", ft.FXF_READ))
    fd = lp.server.openFiles[f.handle].fd
    lp.server.connectionLost(None)
    with pytest.raises(OSError):
        os.fstat(fd)
    d = lp.client.realPath(b"/")
    lp.client.connectionLost(None)
    with pytest.raises(ConnectionLost):
        lp.run(d)


@pytest.mark.parametrize(
    "version, reversed_", [(b"SSH-2.0-OpenSSH_9.2", True), (b"SSH-2.0-AsyncSSH_2.24", False)]
)
def test_symlinkOrderFollowsThePeer(root: Path, version: bytes, reversed_: bool) -> None:
    """OpenSSH sends SYMLINK's target first; the draft (asyncssh, Twisted) the link first."""
    lp = loop(root)

    class _SSH:
        otherVersionString = version

    class _Channel:
        conn = type("Conn", (), {"transport": _SSH()})()

    lp.serverTransport.session = _Channel()  # type: ignore[attr-defined]
    first, second = b"/first", b"second-target"
    lp.server.dataReceived(c.SFTPCodec(True).sendRequest(9, c.FXP_SYMLINK, (first, second)))
    if reversed_:
        assert os.readlink(root / "second-target") == "/first"
    else:
        assert os.readlink(root / "first") == "second-target"


# ---------------------------------------------------------------------- flow control, fuzzing


class _SlowFileSystem:
    """Answers realPath with Deferreds fired by the test."""

    def __init__(self) -> None:
        self.waiting: list[Any] = []

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {}

    def realPath(self, path: bytes) -> Any:
        from glisten.internet.defer import Deferred

        d: Deferred[bytes] = Deferred()
        self.waiting.append(d)
        return d


class _PausableTransport:
    """A StringTransport stand-in that records input pauses, as a session's transport does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.paused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False


def test_slowFileSystemPausesTheClient() -> None:
    fs = _SlowFileSystem()
    lp = SFTPLoop(fs, limits=ft.Limits(maxPendingRequests=4))
    transport = _PausableTransport(lp.serverTransport)
    lp.server.transport = transport
    ds = [lp.client.realPath(b"/x") for _ in range(5)]
    lp.pump()
    assert len(fs.waiting) == 5 and transport.paused
    for d in fs.waiting:
        d.callback(b"/x")
    assert not transport.paused
    lp.pump()
    assert all(d.called for d in ds)


def test_fullChannelPausesInput(root: Path) -> None:
    lp = loop(root)
    transport = _PausableTransport(lp.serverTransport)
    lp.server.transport = transport
    lp.server.pauseProducing()
    assert transport.paused
    lp.server.resumeProducing()
    assert not transport.paused


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_randomRequestsNeverEscapeOrCrash(draw: st.DataObject) -> None:
    """Mutated request streams against the confined file system: replies or a clean close."""
    client = c.SFTPCodec(True)
    stream = bytearray()
    for i, (kind, args) in enumerate(
        [
            (c.FXP_OPEN, (b"/f", ft.FXF_WRITE | ft.FXF_CREAT, {})),
            (c.FXP_WRITE, (b"1", 0, b"data")),
            (c.FXP_READ, (b"1", 0, 0xFFFFFFFF)),
            (c.FXP_OPENDIR, (b"/..",)),
            (c.FXP_READDIR, (b"2",)),
            (c.FXP_SYMLINK, (b"../../x", b"/l")),
            (c.FXP_RENAME, (b"/f", b"/../g")),
            (c.FXP_SETSTAT, (b"/l", {"permissions": 0o777})),
            (c.FXP_EXTENDED, (b"hardlink@openssh.com", b"\x00\x00\x00\x02/g\x00\x00\x00\x02/h")),
        ]
    ):
        stream += client.sendRequest(i, kind, args)
    for _ in range(draw.draw(st.integers(0, 6))):
        stream[draw.draw(st.integers(0, len(stream) - 1))] = draw.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as name:
        top = Path(name)
        (top / "root").mkdir()
        (top / "outside").write_bytes(b"x")
        lp = SFTPLoop(SFTPServerForUnixConchUser(None, str(top / "root")))
        lp.server.dataReceived(bytes(stream))
        lp.server.connectionLost(None)
        assert sorted(p.name for p in top.iterdir()) == ["outside", "root"]
        assert (top / "outside").read_bytes() == b"x"


def test_directoryEntriesMayBeDeferreds() -> None:
    """A listing fetched from elsewhere: the iterator gives Deferreds, as Twisted allows."""
    from glisten.internet.defer import Deferred

    waiting: list[Deferred[Any]] = []

    class Listing:
        def __init__(self) -> None:
            self.entries = iter([(b"a", b"a", {}), "later", (b"c", b"c", {"size": 3})])

        def __iter__(self) -> Any:
            return self

        def __next__(self) -> Any:
            item = next(self.entries)
            if item == "later":
                d: Deferred[Any] = Deferred()
                waiting.append(d)
                return d
            return item

        def close(self) -> None:
            pass

    class FileSystem:
        def openDirectory(self, path: bytes) -> Listing:
            return Listing()

    lp = SFTPLoop(FileSystem())
    directory = lp.run(lp.client.openDirectory(b"/"))
    result = directory.read()
    lp.pump()
    assert not result.called and len(waiting) == 1
    waiting[0].callback((b"b", b"b", {}))
    assert [n for n, _, _ in lp.run(result)] == [b"a", b"b", b"c"]
    with pytest.raises(EOFError):
        lp.run(directory.read())
