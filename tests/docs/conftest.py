"""Peers for the howto tests (OpenSSH for the SSH howtos' shells) and free ports for the
servers the command-line howtos start."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .._peers import freePort, requireBinary, waitForPort

__all__ = ["freePort", "requireBinary", "sshUserKey", "waitForPort"]


def sshUserKey(path: Path) -> Path:
    """Make an Ed25519 key without a passphrase at ``path`` (and ``path.pub``) with
    OpenSSH's ``ssh-keygen``; skips where it is missing, fails in CI."""
    keygen = requireBinary("ssh-keygen")
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path
