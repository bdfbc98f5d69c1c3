"""The ``glisten cftp`` tool's parts: batch files, options and pipelined transfers. The tool
against ``sshd`` is tested in ``tests/conch/test_conch_tool.py``."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.scripts import cftp
from glisten.conch.ssh.filetransfer import FX_FAILURE, SFTPError
from glisten.conch.ssh.keys import Key
from glisten.internet.defer import Deferred, ensureDeferred, fail, succeed
from glisten.python.failure import Failure


def test_readBatch() -> None:
    lines = ["", "# comment", "  cd /tmp  ", "-rm 'a file'", 'put "x y" z', "ls"]
    assert cftp.readBatch(lines) == [
        (False, ["cd", "/tmp"], "cd /tmp"),
        (True, ["rm", "a file"], "-rm 'a file'"),
        (False, ["put", "x y", "z"], 'put "x y" z'),
        (False, ["ls"], "ls"),
    ]
    with pytest.raises(cftp.CommandError, match="line 2"):
        cftp.readBatch(["ls", "put 'unclosed"])


@pytest.fixture(autouse=True)
def _home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ~/.ssh/config (nor keys) of the machine running the tests applies."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cftp.cftpPlugin.addArguments(parser)
    return parser.parse_args(list(argv))


def test_options(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.write_text("ls\n")
    key = tmp_path / "k"
    key.write_bytes(Key.generate("ed25519").toString("openssh"))
    o = _options("-b", str(batch), "--known-hosts", str(tmp_path / "kh"), "-i", str(key), "u@h")
    assert (o.buffersize, o.requests, o.identity) == (32768, 64, [str(key)])
    service = cftp.cftpPlugin.makeService(o)
    assert isinstance(service, cftp.CftpService)
    assert service.commands == [(False, ["ls"], "ls")]
    assert (o.user, o.host) == ("u", "h")
    # Without -b the commands are typed.
    o = _options("--known-hosts", str(tmp_path / "kh"), "h")
    service = cftp.cftpPlugin.makeService(o)
    assert isinstance(service, cftp.CftpService) and service.commands is None
    for bad in (["-B", "0"], ["-R", "5000"]):
        o = _options("-b", str(batch), *bad, "h")
        with pytest.raises(ValueError):
            cftp.cftpPlugin.makeService(o)


class _File:
    """A remote file of ``data`` that answers reads at most ``most`` bytes long."""

    def __init__(self, data: bytes, most: int, failAt: int | None = None) -> None:
        self.data = data
        self.most = most
        self.failAt = failAt
        self.reads: list[tuple[int, int]] = []
        self.inFlight = 0
        self.maxInFlight = 0
        self.waiting: list[tuple[Deferred[bytes], int, int]] = []
        self.writes: dict[int, bytes] = {}

    def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
        self.reads.append((offset, length))
        d: Deferred[bytes] = Deferred()
        self.waiting.append((d, offset, length))
        self.maxInFlight = max(self.maxInFlight, len(self.waiting))
        return d

    def answerAll(self) -> None:
        while self.waiting:
            d, offset, length = self.waiting.pop(0)
            if self.failAt is not None and offset >= self.failAt:
                d.errback(SFTPError(FX_FAILURE, "disk on fire"))
            elif offset >= len(self.data):
                d.errback(EOFError())
            else:
                d.callback(self.data[offset : offset + min(length, self.most)])

    def writeChunk(self, offset: int, data: bytes) -> Deferred[None]:
        self.writes[offset] = data
        if self.failAt is not None and offset >= self.failAt:
            return fail(SFTPError(FX_FAILURE, "disk full"))
        return succeed(None)


def _download(tmp_path: Path, f: _File, size: int, inFlight: int) -> tuple[Any, bytes]:
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        result: list[Any] = []
        ensureDeferred(cftp._download(f, fd, size, inFlight)).addBoth(result.append)  # type: ignore[arg-type]
        while not result:
            f.answerAll()
        return result[0], (tmp_path / "out").read_bytes()
    finally:
        os.close(fd)


@pytest.mark.parametrize("most", [1000, 333, 1])
def test_downloadShortReads(tmp_path: Path, most: int) -> None:
    """Short reads are asked again for the rest; the file comes out whole."""
    data = os.urandom(5000)
    f = _File(data, most)
    result, written = _download(tmp_path, f, 1000, 4)
    assert result is None
    assert written == data
    assert f.maxInFlight <= 4


def test_downloadEmptyAndExact(tmp_path: Path) -> None:
    assert _download(tmp_path, _File(b"", 100), 100, 8) == (None, b"")
    data = os.urandom(400)
    assert _download(tmp_path, _File(data, 100), 100, 2) == (None, data)


def test_downloadFailure(tmp_path: Path) -> None:
    result, _ = _download(tmp_path, _File(os.urandom(5000), 1000, failAt=2000), 1000, 3)
    assert isinstance(result, Failure) and result.check(SFTPError)


def test_upload() -> None:
    data = os.urandom(2500)
    f = _File(b"", 0)
    result: list[Any] = []
    ensureDeferred(cftp._upload(f, io.BytesIO(data), 1000, 2)).addBoth(result.append)  # type: ignore[arg-type]
    assert result == [None]
    assert b"".join(f.writes[k] for k in sorted(f.writes)) == data
    f = _File(b"", 0, failAt=1000)
    result = []
    ensureDeferred(cftp._upload(f, io.BytesIO(data), 1000, 8)).addBoth(result.append)  # type: ignore[arg-type]
    assert isinstance(result[0], Failure) and result[0].check(SFTPError)


def test_progress() -> None:
    """Redrawn at most ten times a second; the last line shows the whole transfer."""
    now = [100.0]
    stream = io.StringIO()
    progress = cftp._Progress(stream, "big.bin", 4_000_000, lambda: now[0])
    for _ in range(40):
        now[0] += 0.01
        progress.update(100_000)
    assert stream.getvalue().count("\r") == 4
    progress.finish()
    last = stream.getvalue().rsplit("\r", 1)[1]
    assert last.startswith("big.bin") and "100%" in last and "4.0 MB" in last
    assert last.endswith("MB/s\n")


def test_transfersReportProgress(tmp_path: Path) -> None:
    data = os.urandom(5000)
    seen: list[int] = []
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        f = _File(data, 700)
        d = ensureDeferred(cftp._download(f, fd, 1000, 3, seen.append))  # type: ignore[arg-type]
        while not d.called:
            f.answerAll()
    finally:
        os.close(fd)
    assert sum(seen) == len(data)
    seen.clear()
    ensureDeferred(cftp._upload(_File(b"", 0), io.BytesIO(data), 1000, 2, seen.append))  # type: ignore[arg-type]
    assert seen == [1000] * 5


# ---------------------------------------------------------------------- commands in memory


class _Shell:
    """A CftpService whose client talks to a confined file system in memory."""

    def __init__(self, root: Path, fileSystem: Any = None) -> None:
        from glisten.conch.unix import SFTPServerForUnixConchUser

        from ._sftploop import SFTPLoop

        self.loop = SFTPLoop(fileSystem or SFTPServerForUnixConchUser(None, str(root)))
        options = _options("-b", "-", "h")
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.service = cftp.CftpService(
            options,
            [],
            [],
            None,
            stdout=self.stdout,
            stderr=self.stderr,  # type: ignore[arg-type]
        )
        self.service.client = self.loop.client
        self.service.cwd = b"/"

    def __call__(self, line: str) -> str:
        self.stdout.seek(0)
        self.stdout.truncate()
        words = cftp.readBatch([line])[0][1]
        self.loop.run(ensureDeferred(self.service.runCommand(words)))
        return self.stdout.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    (root / "b.txt").write_bytes(b"bb")
    (root / "c.bin").write_bytes(b"ccc")
    (root / ".hidden.txt").write_bytes(b"h")
    (root / "dir" / "inner.txt").write_bytes(b"inner")
    (root / "dir" / "sub" / "deep.txt").write_bytes(b"deep")
    os.symlink("a.txt", root / "dir" / "link")
    local = tmp_path / "local"
    local.mkdir()
    return root, local


def test_lsWildcards(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    shell = _Shell(root)
    assert shell("ls *.txt") == "a.txt\nb.txt\n"
    assert shell("ls .*.txt") == ".hidden.txt\n"
    assert shell("ls d*/*.txt") == "inner.txt\n"
    assert "inner.txt" in shell("ls -l dir/i*")
    assert shell("ls") == "a.txt\nb.txt\nc.bin\ndir\n"
    with pytest.raises(cftp.CommandError, match="no match"):
        shell("ls *.none")


def test_getWildcardsAndRecursive(tree: tuple[Path, Path]) -> None:
    root, local = tree
    shell = _Shell(root)
    out = shell(f"get *.txt {local}")
    assert (local / "a.txt").read_bytes() == b"a" and (local / "b.txt").read_bytes() == b"bb"
    assert not (local / ".hidden.txt").exists() and "Fetched /a.txt" in out
    with pytest.raises(cftp.CommandError, match="not a directory"):
        shell(f"get *.txt {local / 'a.txt'}")
    with pytest.raises(cftp.CommandError, match="use get -r"):
        shell(f"get dir {local / 'copy'}")
    shell(f"get -r dir {local / 'copy'}")
    assert (local / "copy" / "inner.txt").read_bytes() == b"inner"
    assert (local / "copy" / "sub" / "deep.txt").read_bytes() == b"deep"
    assert not (local / "copy" / "link").exists()
    assert "Skipping non-regular file /dir/link" in shell.stderr.getvalue()
    shell(f"get c.bin {local / 'renamed'}")
    assert (local / "renamed").read_bytes() == b"ccc"


def test_putWildcardsAndRecursive(tree: tuple[Path, Path]) -> None:
    root, local = tree
    (local / "x.log").write_bytes(b"x")
    (local / "y.log").write_bytes(b"yy")
    (local / "up" / "nested").mkdir(parents=True)
    (local / "up" / "nested" / "n.txt").write_bytes(b"n")
    os.symlink("/etc/passwd", local / "up" / "escape")
    shell = _Shell(root)
    shell(f"put {local}/*.log dir")
    assert (root / "dir" / "x.log").read_bytes() == b"x"
    assert (root / "dir" / "y.log").read_bytes() == b"yy"
    with pytest.raises(cftp.CommandError, match="use put -r"):
        shell(f"put {local / 'up'}")
    shell(f"put -r {local / 'up'}")
    assert (root / "up" / "nested" / "n.txt").read_bytes() == b"n"
    assert not (root / "up" / "escape").exists()
    # Again: the folders exist already.
    shell(f"put -r {local / 'up'} up")
    assert (root / "up" / "up" / "nested" / "n.txt").read_bytes() == b"n"
    with pytest.raises(cftp.CommandError, match="not a directory"):
        shell(f"put {local}/*.log a.txt")
    with pytest.raises(cftp.CommandError, match="no match"):
        shell(f"put {local}/*.none")


def test_rmChmodLnDf(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    shell = _Shell(root)
    assert shell("chmod 600 *.txt") == "Changing mode on /a.txt\nChanging mode on /b.txt\n"
    assert (root / "a.txt").stat().st_mode & 0o777 == 0o600
    for bad in ("chmod 9 a.txt", "chmod 17777 a.txt", "chmod rw a.txt"):
        with pytest.raises(cftp.CommandError, match="octal"):
            shell(bad)
    shell("ln -s a.txt dir/soft")
    assert os.readlink(root / "dir" / "soft") == "a.txt"
    shell("ln b.txt hard")
    assert (root / "hard").stat().st_ino == (root / "b.txt").stat().st_ino
    shell("rm *.txt")
    assert not (root / "a.txt").exists() and not (root / "b.txt").exists()
    assert (root / ".hidden.txt").exists() and (root / "c.bin").exists()
    out = shell("df")
    header, values = out.splitlines()
    assert header.split() == ["Size", "Used", "Avail", "(root)", "%Capacity"]
    assert len(values.split()) == 5 and values.split()[0].isdigit()
    assert shell("df -h /dir").splitlines()[1].split()[0][-1] in "BKMGTP"
    assert shell("df -i").splitlines()[0].split()[0] == "Inodes"
    with pytest.raises(cftp.CommandError, match="usage"):
        shell("df -h -i")


def test_serverNamesNeverLeaveTheLocalFolder(tree: tuple[Path, Path]) -> None:
    """A server listing ``../x`` or ``a/b`` in a folder gets those names ignored."""
    from glisten.conch.unix import SFTPServerForUnixConchUser

    root, local = tree

    class Listing:
        def __init__(self, entries: list[Any]) -> None:
            self.entries = iter(entries)

        def __iter__(self) -> Any:
            return self.entries

        def close(self) -> None:
            pass

    class Lying(SFTPServerForUnixConchUser):
        def openDirectory(self, path: bytes) -> Any:
            directory = super().openDirectory(path)
            real = list(directory)
            directory.close()
            attrs = real[-1][2]
            lies = [(b"../escaped", b"x", attrs), (b"a/b", b"x", attrs), (b"..", b"", attrs)]
            return Listing([*real, *lies])

    shell = _Shell(root, Lying(None, str(root)))
    shell(f"get -r dir {local / 'copy'}")
    assert (local / "copy" / "inner.txt").exists()
    assert not (local / "escaped").exists()
    assert shell("ls dir") == "inner.txt\nlink\nsub\n"


def test_preserve(tree: tuple[Path, Path]) -> None:
    """``-p`` keeps modes and times both ways; flags combine (``-rp``)."""
    root, local = tree
    os.chmod(root / "dir" / "inner.txt", 0o604)
    os.utime(root / "dir" / "inner.txt", (1300000000, 1200000000))
    os.utime(root / "dir", (1300000000, 1100000000))
    shell = _Shell(root)
    shell(f"get -rp dir {local / 'kept'}")
    assert (local / "kept" / "inner.txt").stat().st_mode & 0o777 == 0o604
    assert int((local / "kept" / "inner.txt").stat().st_mtime) == 1200000000
    assert int((local / "kept").stat().st_mtime) == 1100000000
    shell(f"get dir/inner.txt {local / 'plain'}")
    assert int((local / "plain").stat().st_mtime) != 1200000000
    (local / "up.txt").write_bytes(b"up")
    os.chmod(local / "up.txt", 0o640)
    os.utime(local / "up.txt", (1000000000, 1000000001))
    shell(f"put -p {local / 'up.txt'} up.txt")
    assert (root / "up.txt").stat().st_mode & 0o777 == 0o640
    assert int((root / "up.txt").stat().st_mtime) == 1000000001
    shell(f"put -r -p {local / 'kept'} again")
    assert int((root / "again").stat().st_mtime) == 1100000000
    assert int((root / "again" / "inner.txt").stat().st_mtime) == 1200000000
    with pytest.raises(cftp.CommandError, match="usage"):
        shell("get -x a.txt")


def test_resume(tree: tuple[Path, Path]) -> None:
    """``reget``/``get -a`` and ``reput``/``put -a`` go on from the size already copied."""
    root, local = tree
    data = os.urandom(200_000)
    (root / "big").write_bytes(data)
    (local / "big").write_bytes(data[:12345])
    shell = _Shell(root)
    assert shell(f"reget big {local / 'big'}").endswith("(resumed at 12345)\n")
    assert (local / "big").read_bytes() == data
    # Whole already: nothing more is fetched; a missing copy is fetched whole.
    assert "resumed at 200000" in shell(f"get -a big {local / 'big'}")
    shell(f"get -a big {local / 'fresh'}")
    assert (local / "fresh").read_bytes() == data
    # A local copy larger than the remote file is not "resumed".
    (local / "larger").write_bytes(data + b"more")
    with pytest.raises(cftp.CommandError, match="larger"):
        shell(f"reget big {local / 'larger'}")
    assert (local / "larger").read_bytes() == data + b"more"
    (root / "up").write_bytes(data[:777])
    assert "(resumed at 777)" in shell(f"reput {local / 'big'} up")
    assert (root / "up").read_bytes() == data
    shell(f"put -a {local / 'big'} new")
    assert (root / "new").read_bytes() == data
    (local / "small").write_bytes(b"s")
    with pytest.raises(cftp.CommandError, match="larger"):
        shell(f"reput {local / 'small'} big")
    assert (root / "big").read_bytes() == data
    # Recursive: every file goes on from its own size.
    (root / "dir" / "inner.txt").write_bytes(b"inner and more")
    (local / "tree" / "dir").mkdir(parents=True)
    (local / "tree" / "dir" / "inner.txt").write_bytes(b"inner")
    out = shell(f"get -r -a dir {local / 'tree'}")
    assert (local / "tree" / "dir" / "inner.txt").read_bytes() == b"inner and more"
    assert (local / "tree" / "dir" / "sub" / "deep.txt").read_bytes() == b"deep"
    assert "(resumed at 5)" in out


def test_chownChgrp(tree: tuple[Path, Path]) -> None:
    """Numeric ids; the other id of the pair is kept."""
    root, _ = tree
    shell = _Shell(root)
    uid, gid = (4321, 8765) if os.getuid() == 0 else (os.getuid(), os.getgid())
    assert shell(f"chown {uid} *.txt") == "Changing owner on /a.txt\nChanging owner on /b.txt\n"
    assert shell(f"chgrp {gid} a.txt") == "Changing group on /a.txt\n"
    assert ((root / "a.txt").stat().st_uid, (root / "a.txt").stat().st_gid) == (uid, gid)
    assert (root / "b.txt").stat().st_uid == uid
    for bad in ("chown alice a.txt", "chgrp -1 a.txt", "chown 4294967296 a.txt", "chown ٣ a.txt"):
        with pytest.raises(cftp.CommandError, match="numeric"):
            shell(bad)
    with pytest.raises(cftp.CommandError, match="usage"):
        shell("chown 1")


def test_escapedWildcards(tree: tuple[Path, Path]) -> None:
    """A backslash makes ``*``, ``?`` and ``[`` plain, remotely and locally."""
    root, local = tree
    (root / "a*b").write_bytes(b"star")
    (root / "axb").write_bytes(b"x")
    (root / "q?").mkdir()
    (root / "q?" / "in[1]").write_bytes(b"deep")
    shell = _Shell(root)
    assert shell("ls a\\*b") == "a*b\n"
    assert shell("ls a*b") == "a*b\naxb\n"
    assert shell("ls q\\?/*") == "in[1]\n"
    shell(f"get q\\?/in\\[1\\] {local / 'got'}")
    assert (local / "got").read_bytes() == b"deep"
    shell("rm a\\*b")
    assert not (root / "a*b").exists() and (root / "axb").exists()
    shell("mkdir 'new\\*dir'")
    assert (root / "new*dir").is_dir()
    shell("cd new\\*dir")
    assert shell.service.cwd == b"/new*dir"
    # The working folder's own wildcard characters are plain too.
    (root / "new*dir" / "f1").write_bytes(b"1")
    (root / "new*dir" / "f2").write_bytes(b"2")
    assert shell("ls f*") == "f1\nf2\n"
    (local / "l[1]").write_bytes(b"bracket")
    (local / "l1").write_bytes(b"one")
    shell(f"put {local}/l\\[1\\]")
    assert (root / "new*dir" / "l[1]").read_bytes() == b"bracket"
    assert not (root / "new*dir" / "l1").exists()
    shell(f"put {local}/l[1]")
    assert (root / "new*dir" / "l1").read_bytes() == b"one"


def test_transfersStopWhenInterrupted(tmp_path: Path) -> None:
    """Once interrupted, no new requests go out; those in flight are answered first."""
    data = os.urandom(10_000)
    stop = [False]
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        f = _File(data, 1000)
        result: list[Any] = []
        d = ensureDeferred(
            cftp._download(f, fd, 1000, 2, start=0, interrupted=lambda: stop[0])  # type: ignore[arg-type]
        )
        d.addBoth(result.append)
        first = list(f.waiting)
        f.waiting.clear()
        for waiting, offset, length in first:
            waiting.callback(data[offset : offset + length])
        assert len(f.waiting) == 2  # asked for after the first two answers
        stop[0] = True
        f.answerAll()
        assert len(f.reads) == 4 and not f.waiting
        assert isinstance(result[0], Failure) and result[0].check(cftp.Interrupted)
        assert os.pread(fd, 4000, 0) == data[:4000]
    finally:
        os.close(fd)
    # Interrupted after the end of the file: the download is whole, not interrupted.
    stop[0] = False
    fd = os.open(tmp_path / "whole", os.O_RDWR | os.O_CREAT)
    try:
        f = _File(data[:1500], 1000)
        result = []
        ensureDeferred(
            cftp._download(f, fd, 1000, 4, interrupted=lambda: stop[0])  # type: ignore[arg-type]
        ).addBoth(result.append)
        stop[0] = True
        f.answerAll()
        assert result == [None]
    finally:
        os.close(fd)
    calls = [0]

    def afterTwo() -> bool:
        calls[0] += 1
        return calls[0] > 2

    f = _File(b"", 0)
    result = []
    ensureDeferred(
        cftp._upload(f, io.BytesIO(data), 1000, 8, interrupted=afterTwo)  # type: ignore[arg-type]
    ).addBoth(result.append)
    assert sorted(f.writes) == [0, 1000]
    assert isinstance(result[0], Failure) and result[0].check(cftp.Interrupted)


def test_completion(tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Tab: command names, remote paths, and local ones where the command takes them."""
    root, local = tree
    (root / "a b*.txt").write_bytes(b"")
    (local / "upload.bin").write_bytes(b"")
    (local / "updir").mkdir()
    monkeypatch.chdir(local)
    shell = _Shell(root)

    def complete(before: str) -> tuple[str, list[str]]:
        result: tuple[str, list[str]] = shell.loop.run(
            ensureDeferred(shell.service.complete(before))
        )
        return result

    assert complete("mkd") == ("ir ", [])
    assert complete("re") == ("", ["reget", "rename", "reput"])
    assert complete("get di") == ("r/", [])
    assert complete("get dir/in") == ("ner.txt ", [])
    assert complete("get dir/s") == ("ub/", [])
    assert complete("ls ") == ("", ["a b*.txt", "a.txt", "b.txt", "c.bin", "dir/"])
    assert complete("rm a") == ("", ["a b*.txt", "a.txt"])
    assert complete("rm a\\ ") == ("b\\*.txt ", [])  # the rest escaped for the line
    assert complete("ls .h") == ("idden.txt ", [])
    assert complete("get c.bin up") == ("", ["updir/", "upload.bin"])  # local
    assert complete("put -p upl") == ("oad.bin ", [])  # local
    assert complete("put upload.bin d") == ("ir/", [])  # remote
    assert complete("lcd upd") == ("ir/", [])
    assert complete("get nothing/x") == ("", [])
    assert complete("get 'open quote") == ("", [])
    assert complete("cd zzz") == ("", [])
