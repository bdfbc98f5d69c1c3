"""OpenSSH's ``ssh`` logging in to ``glisten ssh --unix-passwords`` with a password whose hash is
in a test shadow file (yescrypt, as Debian makes them; sha512crypt)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest

from glisten.conch import _crypt

from .conftest import glistenSsh
from .test_kbdint_interop import sshWithAskpass

pytestmark = pytest.mark.interop

PASSWORD = "Tr0ub4dor&3"
OTHER_PASSWORD = "another one"


@pytest.fixture(scope="module")
def unixServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``glisten ssh --unix-passwords`` reading a shadow file with the current user's hash."""
    tmp = tmp_path_factory.mktemp("glisten-ssh-unixpw")
    lib = _crypt.libcrypt()
    user = getpass.getuser()
    yescrypt = lib.gensalt(b"$y$")
    sha512 = lib.gensalt(b"$6$")
    assert yescrypt is not None and sha512 is not None
    mine = lib.crypt(PASSWORD.encode(), yescrypt)
    theirs = lib.crypt(OTHER_PASSWORD.encode(), sha512)
    assert mine is not None and theirs is not None
    shadow = tmp / "shadow"
    shadow.write_bytes(
        user.encode() + b":" + mine + b":19000:0:99999:7:::\n"
        b"glistenother:" + theirs + b":19000:0:99999:7:::\n"
    )
    shadow.chmod(0o600)
    with glistenSsh(tmp, "--unix-passwords", "--shadow-file", str(shadow)) as port:
        yield {"port": port, "tmp": tmp, "user": user, "log": tmp / "server.log"}


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_passwordLogin(unixServer: dict[str, object], method: str) -> None:
    result, asked = sshWithAskpass(unixServer, PASSWORD, method)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"kbd-ok\n"
    assert len(asked) == 1


def test_wrongPasswordRefused(unixServer: dict[str, object]) -> None:
    result, asked = sshWithAskpass(unixServer, PASSWORD + "x", "password")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    assert b"Traceback" not in Path(str(unixServer["log"])).read_bytes()


def test_otherUsersOfTheFileRefused(unixServer: dict[str, object]) -> None:
    """Sessions run as the server's user: another UNIX user's password must not open one."""
    other = dict(unixServer, user="glistenother")
    result, _ = sshWithAskpass(other, OTHER_PASSWORD, "password")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr


@pytest.mark.parametrize("ageing", ["0:0:99999:7:::", "19000:0:30:7:::"])
def test_agedPasswordRefusedWithALogLine(unixServer: dict[str, object], ageing: str) -> None:
    """A password shadow ageing says must be changed (last change 0, or past its maximum
    age) is refused: glisten does not write /etc/shadow, so it cannot offer the change."""
    shadow = Path(str(unixServer["tmp"])) / "shadow"
    original = shadow.read_bytes()
    user = str(unixServer["user"]).encode()
    lines = original.splitlines(keepends=True)
    mine = next(line for line in lines if line.startswith(user + b":"))
    fields = mine.split(b":")
    aged = b":".join(fields[:2]) + b":" + ageing.encode() + b"\n"
    shadow.write_bytes(original.replace(mine, aged))
    try:
        result, _ = sshWithAskpass(unixServer, PASSWORD, "password")
    finally:
        shadow.write_bytes(original)
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    log = Path(str(unixServer["log"])).read_bytes()
    assert b"has expired or must be changed (shadow ageing); change it with passwd" in log
    assert b"Traceback" not in log
