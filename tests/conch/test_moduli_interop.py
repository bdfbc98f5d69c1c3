"""OpenSSH's own ``moduli`` file, read by ``openssh_compat.primes``."""

from __future__ import annotations

from pathlib import Path

import pytest

from glisten.conch.openssh_compat import primes

from .conftest import requireBinary

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
