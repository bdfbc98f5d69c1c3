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
