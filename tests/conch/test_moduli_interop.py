"""OpenSSH's own ``moduli`` file, read by ``openssh_compat.primes``."""

from __future__ import annotations

from pathlib import Path

import pytest

from glisten.conch.openssh_compat import primes

from .conftest import glistenSsh, requireBinary, sshKeygen
from .test_openssh_client import ssh

pytestmark = pytest.mark.interop


def test_systemModuliFile() -> None:
    """The file that comes with OpenSSH's server: every group in it is read and sized right."""
    sshd = Path(requireBinary("sshd"))
    assert sshd.exists()
    parsed = primes.parseModuliFile("/etc/ssh/moduli")
    listed = sum(
        1
        for line in Path("/etc/ssh/moduli").read_bytes().splitlines()
        if line.strip() and not line.startswith(b"#")
    )
    assert sum(len(groups) for groups in parsed.values()) == listed
    assert min(parsed) >= 2048
    for bits, groups in parsed.items():
        assert all(p.bit_length() == bits and g in (2, 3, 5) for g, p in groups)


def test_groupExchangeWithModuliFile(tmp_path: Path) -> None:
    """``glisten ssh --moduli /etc/ssh/moduli`` against ``ssh -vvv`` forcing group exchange."""
    requireBinary("sshd")
    key = sshKeygen(tmp_path / "id_ed25519", "ed25519")
    (tmp_path / "authorized_keys").write_bytes(Path(str(key) + ".pub").read_bytes())
    with glistenSsh(
        tmp_path,
        "--authorized-keys",
        str(tmp_path / "authorized_keys"),
        "--moduli",
        "/etc/ssh/moduli",
    ) as port:
        server = {"port": port, "key": key}
        result = ssh(
            server,
            "-vvv",
            "-o",
            "KexAlgorithms=diffie-hellman-group-exchange-sha256",
            "-o",
            "LogLevel=DEBUG3",
            "127.0.0.1",
            "echo gex",
        )
    assert result.stdout == b"gex\n", result.stderr
    assert b"SSH2_MSG_KEX_DH_GEX_GROUP received" in result.stderr
    assert b"kex: algorithm: diffie-hellman-group-exchange-sha256" in result.stderr
