"""OpenSSH's ``ssh`` against ``glisten ssh`` with ``from=`` and ``environment=`` key options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import glistenSsh, sshKeygen
from .test_openssh_client import ssh

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def optionsServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("glisten-ssh-options")
    keys = {name: sshKeygen(tmp / f"id_{name}", "ed25519") for name in ("here", "elsewhere")}

    def pub(name: str) -> bytes:
        return Path(str(keys[name]) + ".pub").read_bytes()

    authorized = tmp / "authorized_keys"
    authorized.write_bytes(
        b'from="10.0.0.0/8,127.0.0.*,!127.0.0.2",environment="LANG=C.UTF-8",'
        b'environment="GLISTEN_SECRET=1",environment="LC_TIME=POSIX" '
        + pub("here")
        + b'from="10.0.0.0/8,::2" '
        + pub("elsewhere")
    )
    with glistenSsh(tmp, "--authorized-keys", str(authorized)) as port:
        yield {"port": port, "keys": keys, "log": tmp / "server.log"}


def test_fromAdmitsAndEnvironmentFollowsTheAllowList(
    optionsServer: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")  # sent by Debian's SendEnv: the key's value wins
    keys = optionsServer["keys"]
    assert isinstance(keys, dict)
    result = ssh(
        optionsServer,
        "127.0.0.1",
        'echo "$LANG|$LC_TIME|${GLISTEN_SECRET-unset}"',
        key=keys["here"],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"C.UTF-8|POSIX|unset\n"


def test_fromRefusesOtherAddresses(optionsServer: dict[str, object]) -> None:
    keys = optionsServer["keys"]
    assert isinstance(keys, dict)
    result = ssh(optionsServer, "127.0.0.1", "echo no", key=keys["elsewhere"])
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    assert b"Traceback" not in Path(str(optionsServer["log"])).read_bytes()
