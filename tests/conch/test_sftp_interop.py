"""SFTP against OpenSSH: ``sftp -b`` and ``scp`` against ``glisten ssh --sftp-root``, and
glisten's FileTransferClient against ``sshd`` with ``internal-sftp``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import SSHCommandClientEndpoint
from glisten.conch.ssh import filetransfer as ft
from glisten.conch.ssh.keys import Key
from glisten.internet import defer
from glisten.internet.protocol import Factory

from .conftest import RUNNER, freePort, requireBinary, sshKeygen, waitForPort
from .test_openssh_server import _Collect, _run, _YesUI

pytestmark = pytest.mark.interop

PAYLOAD = os.urandom(3 * 1024 * 1024 + 12345)


@pytest.fixture(scope="module")
def sftpServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``glisten ssh --sftp-root`` on a free port; the root has a secret file beside it."""
    requireBinary("sftp")
    tmp = tmp_path_factory.mktemp("glisten-sftp")
    key = sshKeygen(tmp / "id_ed25519", "ed25519")
    (tmp / "authorized_keys").write_bytes(Path(str(key) + ".pub").read_bytes())
    root = tmp / "root"
    root.mkdir()
    (tmp / "secret.txt").write_bytes(b"outside the root")
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
            str(tmp / "hostkeys"),
            "--authorized-keys",
            str(tmp / "authorized_keys"),
            "--sftp-root",
            str(root),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, proc)
        yield {"port": port, "key": key, "root": root, "tmp": tmp}
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _options(server: dict[str, Any]) -> list[str]:
    return [
        "-i",
        str(server["key"]),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
    ]


def _sftp(server: dict[str, Any], batch: str) -> subprocess.CompletedProcess[str]:
    script = server["tmp"] / "batch"
    script.write_text(batch)
    return subprocess.run(
        [requireBinary("sftp"), "-b", str(script), "-P", str(server["port"]), *_options(server)]
        + ["root@127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sftpBatch(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    root: Path = sftpServer["root"]
    (tmp_path / "upload.bin").write_bytes(PAYLOAD)
    result = _sftp(
        sftpServer,
        f"""
        pwd
        mkdir dir
        put {tmp_path}/upload.bin dir/upload.bin
        get dir/upload.bin {tmp_path}/download.bin
        rename dir/upload.bin dir/moved.bin
        ln -s dir/moved.bin link
        ln dir/moved.bin hard
        chmod 600 dir/moved.bin
        ls -l
        ls -l dir
        df -h /
        rm hard
        rm link
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "Remote working directory: /" in result.stdout
    assert (tmp_path / "download.bin").read_bytes() == PAYLOAD
    assert (root / "dir" / "moved.bin").read_bytes() == PAYLOAD
    assert (root / "dir" / "moved.bin").stat().st_mode & 0o777 == 0o600
    assert not (root / "hard").exists() and not (root / "link").exists()
    assert "moved.bin" in result.stdout


@pytest.mark.parametrize(
    "remote", ["../secret.txt", "/../secret.txt", "dir/../../secret.txt", "/etc/passwd"]
)
def test_sftpCannotReadOutside(sftpServer: dict[str, Any], tmp_path: Path, remote: str) -> None:
    result = _sftp(sftpServer, f"get {remote} {tmp_path}/got\n")
    assert result.returncode != 0
    assert not (tmp_path / "got").exists()


def test_sftpCannotWriteOutside(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    root: Path = sftpServer["root"]
    (tmp_path / "f").write_bytes(b"dropped")
    result = _sftp(sftpServer, f"put {tmp_path}/f ../../dropped\n")
    assert result.returncode == 0, result.stderr
    assert (root / "dropped").read_bytes() == b"dropped"
    assert not (root.parent / "dropped").exists()
    assert not (root.parent.parent / "dropped").exists()


def test_sftpSymlinkEscape(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    root: Path = sftpServer["root"]
    os.symlink(str(root.parent), root / "planted")
    result = _sftp(
        sftpServer,
        f"""
        -ln -s ../secret.txt made
        -get made {tmp_path}/made
        -get planted/secret.txt {tmp_path}/planted
        -ls planted
        """,
    )
    assert not (tmp_path / "planted").exists()
    assert not (tmp_path / "made").exists()
    listed = [line for line in result.stdout.splitlines() if not line.startswith("sftp>")]
    assert not any("secret.txt" in line for line in listed)


def _scp(server: dict[str, Any], *args: str) -> subprocess.CompletedProcess[bytes]:
    scp = requireBinary("scp")
    return subprocess.run(
        [scp, "-P", str(server["port"]), *_options(server), *args],
        capture_output=True,
        timeout=60,
    )


def test_scp(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    """OpenSSH 9's scp speaks SFTP."""
    root: Path = sftpServer["root"]
    (tmp_path / "scp.bin").write_bytes(PAYLOAD[:100000])
    up = _scp(sftpServer, str(tmp_path / "scp.bin"), "root@127.0.0.1:/scp.bin")
    assert up.returncode == 0, up.stderr
    assert (root / "scp.bin").read_bytes() == PAYLOAD[:100000]
    down = _scp(sftpServer, "root@127.0.0.1:/scp.bin", str(tmp_path / "back.bin"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back.bin").read_bytes() == PAYLOAD[:100000]


def test_scpLegacyFile(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    """``scp -O`` (a remote ``scp -t``/``scp -f``) both ways, served in-process."""
    root: Path = sftpServer["root"]
    (tmp_path / "legacy.bin").write_bytes(PAYLOAD)
    up = _scp(sftpServer, "-O", str(tmp_path / "legacy.bin"), "root@127.0.0.1:legacy.bin")
    assert up.returncode == 0, up.stderr
    assert (root / "legacy.bin").read_bytes() == PAYLOAD
    down = _scp(sftpServer, "-O", "root@127.0.0.1:/legacy.bin", str(tmp_path / "back.bin"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back.bin").read_bytes() == PAYLOAD


def test_scpLegacyRecursive(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    root: Path = sftpServer["root"]
    tree = tmp_path / "tree"
    (tree / "inner").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha")
    (tree / "inner" / "b.bin").write_bytes(PAYLOAD[:70000])
    os.chmod(tree / "a.txt", 0o604)
    os.utime(tree / "a.txt", (1500000000, 1400000000))
    up = _scp(sftpServer, "-O", "-r", "-p", str(tree), "root@127.0.0.1:/")
    assert up.returncode == 0, up.stderr
    assert (root / "tree" / "a.txt").read_bytes() == b"alpha"
    assert (root / "tree" / "a.txt").stat().st_mode & 0o777 == 0o604
    assert int((root / "tree" / "a.txt").stat().st_mtime) == 1400000000
    assert (root / "tree" / "inner" / "b.bin").read_bytes() == PAYLOAD[:70000]
    down = _scp(sftpServer, "-O", "-r", "-p", "root@127.0.0.1:/tree", str(tmp_path / "back"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back" / "a.txt").read_bytes() == b"alpha"
    assert int((tmp_path / "back" / "a.txt").stat().st_mtime) == 1400000000
    assert (tmp_path / "back" / "inner" / "b.bin").read_bytes() == PAYLOAD[:70000]
    (tmp_path / "globbed").mkdir()
    glob = _scp(sftpServer, "-O", "root@127.0.0.1:/tree/*.txt", str(tmp_path / "globbed"))
    assert glob.returncode == 0, glob.stderr
    assert os.listdir(tmp_path / "globbed") == ["a.txt"]


@pytest.mark.parametrize(
    "remote", ["../secret.txt", "/../secret.txt", "tree/../../secret.txt", "/etc/passwd"]
)
def test_scpLegacyCannotReadOutside(
    sftpServer: dict[str, Any], tmp_path: Path, remote: str
) -> None:
    result = _scp(sftpServer, "-O", f"root@127.0.0.1:{remote}", str(tmp_path / "got"))
    assert result.returncode != 0
    assert not (tmp_path / "got").exists()


def test_scpLegacyConfined(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    """Uploads by ``..`` and absolute paths land inside the root; links are followed as in a
    chroot; nothing but scp runs."""
    root: Path = sftpServer["root"]
    tmp: Path = sftpServer["tmp"]
    (tmp_path / "f").write_bytes(b"dropped")
    up = _scp(sftpServer, "-O", str(tmp_path / "f"), "root@127.0.0.1:../../dropped-scp")
    assert up.returncode == 0, up.stderr
    assert (root / "dropped-scp").read_bytes() == b"dropped"
    assert not (root.parent / "dropped-scp").exists()
    os.symlink(str(tmp), root / "planted-scp")
    down = _scp(sftpServer, "-O", "root@127.0.0.1:planted-scp/secret.txt", str(tmp_path / "s"))
    assert down.returncode != 0
    assert not (tmp_path / "s").exists()
    up = _scp(sftpServer, "-O", str(tmp_path / "f"), "root@127.0.0.1:planted-scp/secret.txt")
    assert up.returncode != 0
    assert (tmp / "secret.txt").read_bytes() == b"outside the root"
    shell = subprocess.run(
        [requireBinary("ssh"), "-p", str(sftpServer["port"]), *_options(sftpServer)]
        + ["root@127.0.0.1", "cat /etc/passwd"],
        capture_output=True,
        timeout=60,
    )
    assert shell.returncode != 0
    assert b"root:" not in shell.stdout


# ---------------------------------------------------------------------- client against sshd


def _withSFTP(server: dict[str, Any], work: Any) -> Any:
    key = Key.fromFile(server["userKeys"]["ed25519"])

    async def main(reactor: Any) -> Any:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"sleep 60",
            b"root",
            b"127.0.0.1",
            server["port"],
            keys=[key],
            knownHosts=KnownHostsFile(None),
            ui=_YesUI(),
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        try:
            client = await ft.openSFTP(proto.transport.conn)
            return await work(client)
        finally:
            proto.transport.conn.transport.loseConnection()

    return _run(main)


def test_clientAgainstSshd(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    remote = str(tmp_path / "remote").encode()
    os.mkdir(remote)

    async def work(client: ft.FileTransferClient) -> Any:
        assert client.version == 3
        assert b"posix-rename@openssh.com" in client.serverExtensions
        f = await client.openFile(
            remote + b"/up.bin", ft.FXF_WRITE | ft.FXF_CREAT | ft.FXF_TRUNC, {}
        )
        chunk = 32768
        await defer.gatherResults(
            [f.writeChunk(o, PAYLOAD[o : o + chunk]) for o in range(0, len(PAYLOAD), chunk)]
        )
        await f.fsync()
        await f.close()
        f = await client.openFile(remote + b"/up.bin", ft.FXF_READ)
        parts = await defer.gatherResults(
            [f.readChunk(o, chunk) for o in range(0, len(PAYLOAD), chunk)]
        )
        size = (await f.getAttrs())["size"]
        await f.close()
        await client.makeDirectory(remote + b"/d", {"permissions": 0o700})
        await client.posixRename(remote + b"/up.bin", remote + b"/d/moved.bin")
        await client.makeHardLink(remote + b"/d/moved.bin", remote + b"/hard")
        await client.makeLink(remote + b"/link", b"d/moved.bin")
        target = await client.readLink(remote + b"/link")
        d = await client.openDirectory(remote)
        names = []
        while True:
            try:
                names += [n for n, _, _ in await d.read()]
            except EOFError:
                break
        await d.close()
        vfs = await client.statVFS(remote)
        limits = await client.limits()
        real = await client.realPath(remote + b"/d/../d")
        try:
            await client.getAttrs(remote + b"/missing")
        except ft.SFTPError as e:
            missing = e.code
        return b"".join(parts), size, target, sorted(names), vfs, limits, real, missing

    data, size, target, names, vfs, limits, real, missing = _withSFTP(opensshServer, work)
    assert data == PAYLOAD and size == len(PAYLOAD)
    assert os.readlink(tmp_path / "remote" / "link") == "d/moved.bin" == target.decode()
    assert names == [b".", b"..", b"d", b"hard", b"link"]
    assert os.stat(tmp_path / "remote" / "hard").st_nlink == 2
    assert vfs["f_bsize"] > 0
    assert limits["maxReadLength"] > 0
    assert real == remote + b"/d"
    assert missing == ft.FX_NO_SUCH_FILE


# ---------------------------------------------------------------------- asyncssh's client


def test_asyncsshClient(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    """asyncssh's SFTP client, a second implementation, against ``glisten ssh --sftp-root``."""
    import asyncio

    import asyncssh

    root: Path = sftpServer["root"]
    (tmp_path / "up.bin").write_bytes(PAYLOAD)

    async def main() -> Any:
        async with asyncssh.connect(
            "127.0.0.1",
            sftpServer["port"],
            username="root",
            client_keys=[str(sftpServer["key"])],
            known_hosts=None,
        ) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.makedirs("/async/deep")
                await sftp.put(str(tmp_path / "up.bin"), "/async/deep/file.bin")
                await sftp.get("/async/deep/file.bin", str(tmp_path / "down.bin"))
                await sftp.rename("/async/deep/file.bin", "/async/renamed.bin")
                await sftp.symlink("renamed.bin", "/async/link")
                link = await sftp.readlink("/async/link")
                names = sorted(await sftp.listdir("/async"))
                size = (await sftp.stat("/async/link")).size
                vfs = await sftp.statvfs("/")
                escaped = []
                for path in ("/../secret.txt", "../../secret.txt", "/async/../../secret.txt"):
                    try:
                        await sftp.stat(path)
                        escaped.append(path)
                    except asyncssh.SFTPError:
                        pass
                await sftp.remove("/async/link")
                return link, names, size, vfs, escaped

    link, names, size, vfs, escaped = asyncio.run(main())
    assert (tmp_path / "down.bin").read_bytes() == PAYLOAD
    assert (root / "async" / "renamed.bin").read_bytes() == PAYLOAD
    assert link == "renamed.bin"
    assert names == [".", "..", "deep", "link", "renamed.bin"]
    assert size == len(PAYLOAD)
    assert vfs.bsize > 0
    assert escaped == []


def test_asyncsshScp(sftpServer: dict[str, Any], tmp_path: Path) -> None:
    """asyncssh's scp (the legacy protocol: remote ``scp -t``/``scp -f``), a second
    implementation, against ``glisten ssh --sftp-root``."""
    import asyncio

    import asyncssh

    root: Path = sftpServer["root"]
    tree = tmp_path / "atree"
    (tree / "in").mkdir(parents=True)
    (tree / "big.bin").write_bytes(PAYLOAD)
    (tree / "in" / "small.txt").write_bytes(b"small")
    os.utime(tree / "in" / "small.txt", (1500000000, 1400000000))

    async def main() -> list[str]:
        async with asyncssh.connect(
            "127.0.0.1",
            sftpServer["port"],
            username="root",
            client_keys=[str(sftpServer["key"])],
            known_hosts=None,
        ) as conn:
            await asyncssh.scp(str(tree), (conn, "/"), recurse=True, preserve=True)
            await asyncssh.scp((conn, "/atree"), str(tmp_path / "back"), recurse=True)
            await asyncssh.scp((conn, "/atree/big.bin"), str(tmp_path / "big.bin"))
            refused = []
            for path in ("../secret.txt", "/../secret.txt", "/atree/../../secret.txt"):
                try:
                    await asyncssh.scp((conn, path), str(tmp_path / "stolen"))
                except asyncssh.SFTPError as e:
                    refused.append(str(e.reason))
            return refused

    refused = asyncio.run(main())
    assert (root / "atree" / "big.bin").read_bytes() == PAYLOAD
    assert int((root / "atree" / "in" / "small.txt").stat().st_mtime) == 1400000000
    assert (tmp_path / "back" / "in" / "small.txt").read_bytes() == b"small"
    assert (tmp_path / "big.bin").read_bytes() == PAYLOAD
    assert len(refused) == 3 and all("No such file" in r for r in refused)
    assert not (tmp_path / "stolen").exists()
