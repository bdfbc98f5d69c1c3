"""SFTP through the SSH protocols in memory: openSFTP, the subsystem, window flow control,
and the ``--sftp-root`` realm of ``glisten ssh``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.conch import tap
from glisten.conch.interfaces import IConchUser
from glisten.conch.ssh import filetransfer as ft
from glisten.conch.unix import SFTPServerForUnixConchUser
from glisten.internet import defer
from glisten.internet.task import Clock

from ._loop import AcceptingClient, Loop, makeFactory


def _sftpLoop(root: Path) -> tuple[Loop, ft.FileTransferClient]:
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    loop.pump()
    avatar = loop.server.factory.realm.avatars[0]

    def subsystem(data: bytes, avatar: Any) -> ft.FileTransferServer:
        server = ft.FileTransferServer(data)
        server.client = SFTPServerForUnixConchUser(avatar, str(root))
        return server

    avatar.subsystemLookup[b"sftp"] = subsystem
    results: list[Any] = []
    ft.openSFTP(loop.client.conn).addBoth(results.append)  # type: ignore[attr-defined]
    loop.pump()
    assert results and isinstance(results[0], ft.FileTransferClient)
    return loop, results[0]


def _run(loop: Loop, d: defer.Deferred[Any]) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    loop.pump(10000)
    assert results, "no answer"
    if isinstance(results[0], defer.Failure):
        results[0].raiseException()
    return results[0]


def test_bigFileBothWays(tmp_path: Path) -> None:
    """Two MiB up and down with 64 requests in flight, through the channel windows."""
    loop, client = _sftpLoop(tmp_path)
    payload = bytes(range(256)) * 8192
    f = _run(loop, client.openFile(b"/up", ft.FXF_WRITE | ft.FXF_CREAT | ft.FXF_READ))
    chunk = 32768
    writes = [f.writeChunk(o, payload[o : o + chunk]) for o in range(0, len(payload), chunk)]
    _run(loop, defer.gatherResults(writes))
    assert (tmp_path / "up").read_bytes() == payload
    reads = [f.readChunk(o, chunk) for o in range(0, len(payload), chunk)]
    assert b"".join(_run(loop, defer.gatherResults(reads))) == payload
    _run(loop, f.close())


def test_noSubsystemWithoutIt(tmp_path: Path) -> None:
    loop = Loop(AcceptingClient(), makeFactory(Clock()))
    loop.pump()
    results: list[Any] = []
    ft.openSFTP(loop.client.conn).addBoth(results.append)  # type: ignore[attr-defined]
    loop.pump()
    assert isinstance(results[0], defer.Failure) and results[0].check(ft.SFTPError)


def test_sftpRootRealm(tmp_path: Path) -> None:
    (tmp_path / "ak").write_bytes(b"")
    factory = tap.makeFactory(
        tap.loadHostKeys(str(tmp_path / "keys")), str(tmp_path / "ak"), sftpRoot=str(tmp_path)
    )
    _, avatar, _ = factory.portal.realm.requestAvatar(b"bob", None, IConchUser)
    assert set(avatar.subsystemLookup) == {b"sftp"}
    server = avatar.lookupSubsystem(b"sftp", b"")
    assert isinstance(server.client, SFTPServerForUnixConchUser)
    assert server.client.root == str(tmp_path).encode()
    # No shells or commands: the session has no ISession to run them.
    session = avatar.lookupChannel(b"session", 65536, 32768, b"")
    session.avatar = avatar
    assert session.request_exec(b"\x00\x00\x00\x02id") == 0
    assert session.request_shell(b"") == 0


def test_sftpRootMustExist(tmp_path: Path) -> None:
    (tmp_path / "ak").write_bytes(b"")
    with pytest.raises(ValueError):
        tap.makeFactory({}, str(tmp_path / "ak"), sftpRoot=str(tmp_path / "missing"))


def test_sftpRootOption(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    tap.serviceMaker.addArguments(parser)
    options = parser.parse_args(
        ["--host-keys", str(tmp_path / "keys"), "--authorized-keys", "x", "--sftp-root", "/srv"]
    )
    assert options.sftp_root == "/srv"
