"""
``glisten ssh --authorized-principals-file`` with OpenSSH's ``ssh`` presenting certificates
that ``ssh-keygen -s`` issued: the user's principals file, not the user name, decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import glistenSsh, runSshd, sshKeygen
from .test_certificates_interop import _sign, _ssh, assertLogin

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def principalsServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("principals")
    ca = sshKeygen(tmp / "ca", "ed25519")
    (tmp / "trusted").write_bytes(Path(str(ca) + ".pub").read_bytes())
    folder = tmp / "principals"
    folder.mkdir()
    (folder / "alice").write_bytes(
        b"# alice's principals\ndeploy\n"
        b'command="echo forced-$USER",restrict ops\n'
        b'from="192.0.2.0/24" elsewhere\n'
    )
    args = ["--trusted-user-ca-keys", str(tmp / "trusted")]
    args += ["--authorized-principals-file", str(folder / "%u")]
    with glistenSsh(tmp, *args) as port:
        yield {"port": port, "tmp": tmp, "ca": ca, "log": tmp / "server.log"}


@pytest.mark.parametrize(
    "principals,user,expected",
    [
        ("deploy", "alice", b"in\n"),
        ("web,deploy", "alice", b"in\n"),
        ("ops", "alice", b"forced-"),  # the line's command= applies
        ("alice", "alice", None),  # the user name alone no longer does
        ("deploy", "bob", None),  # bob has no principals file
        ("elsewhere", "alice", None),  # the line's from= refuses 127.0.0.1
    ],
)
def test_principalsFileDecides(
    principalsServer: dict[str, Any], principals: str, user: str, expected: bytes | None
) -> None:
    tmp: Path = principalsServer["tmp"]
    name = f"id_{principals.replace(',', '_')}_{user}"
    key = sshKeygen(tmp / name, "ed25519")
    _sign(tmp, principalsServer["ca"], key, "-I", name, "-n", principals)
    result = _ssh(principalsServer["port"], key, "-l", user, "127.0.0.1", "echo in")
    assertLogin(result, expected)
    log = Path(principalsServer["log"]).read_bytes()
    assert b"Traceback" not in log


# ------------------------------------------------------- the same file, OpenSSH's sshd

PRINCIPALS_LINES = (
    b"# the principals of the logged-in user\ndeploy\n"
    b'command="echo forced",restrict ops\n'
    b'from="192.0.2.0/24" elsewhere\n'
    b'expiry-time="20200101" expired\n'
)


@pytest.fixture(scope="module")
def bothServers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``sshd`` and ``glisten ssh`` trusting one CA with one principals file for the user."""
    import getpass

    tmp = tmp_path_factory.mktemp("principals-both")
    user = getpass.getuser()
    ca = sshKeygen(tmp / "ca", "ed25519")
    folder = tmp / "principals"
    folder.mkdir()
    (folder / user).write_bytes(PRINCIPALS_LINES)
    pattern = str(folder / "%u")
    hostKey = sshKeygen(tmp / "host", "ed25519")
    with runSshd(
        tmp,
        f"HostKey {hostKey}",
        f"TrustedUserCAKeys {ca}.pub",
        f"AuthorizedPrincipalsFile {pattern}",
        "AuthorizedKeysFile none",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ) as sshdPort:
        glistenTmp = tmp / "glisten"
        glistenTmp.mkdir()
        args = ["--trusted-user-ca-keys", f"{ca}.pub", "--authorized-principals-file", pattern]
        with glistenSsh(glistenTmp, *args) as glistenPort:
            yield {"tmp": tmp, "ca": ca, "user": user, "ports": (sshdPort, glistenPort)}


@pytest.mark.parametrize(
    "principals", ["deploy", "web,deploy", "ops", "root,alice", "elsewhere", "expired"]
)
def test_sameAnswersAsSshd(bothServers: dict[str, Any], principals: str) -> None:
    tmp: Path = bothServers["tmp"]
    name = "both_" + principals.replace(",", "_")
    key = sshKeygen(tmp / name, "ed25519")
    _sign(tmp, bothServers["ca"], key, "-I", name, "-n", principals)
    outcomes = []
    for port in bothServers["ports"]:
        result = _ssh(port, key, "-l", bothServers["user"], "127.0.0.1", "echo in")
        outcomes.append((result.returncode, result.stdout))
    sshd, glisten = outcomes
    assert glisten == sshd, principals
    assert sshd[0] == (0 if principals in ("deploy", "web,deploy", "ops") else 255)
