"""``glisten-ckeygen`` against OpenSSH's ``ssh-keygen``, and its passphrase prompts on a
real terminal (tmux)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from glisten.conch.ssh.keys import Key

from ._tmux import Pane, waitFor
from .conftest import requireBinary, sshKeygen

pytestmark = pytest.mark.interop

CKEYGEN = [sys.executable, "-m", "glisten.conch.scripts.ckeygen"]


@pytest.mark.parametrize("kind, bits", [("ed25519", None), ("ecdsa", 521), ("rsa", 3072)])
def test_sshKeygenReadsOurKeys(tmp_path: Path, kind: str, bits: int | None) -> None:
    keygen = requireBinary("ssh-keygen")
    path = tmp_path / "key"
    args = [*CKEYGEN, "-t", kind, "-f", str(path), "-N", "secret words", "-q"]
    subprocess.run(args + (["-b", str(bits)] if bits else []), check=True)
    public = subprocess.run(
        [keygen, "-y", "-P", "secret words", "-f", str(path)], capture_output=True, check=True
    ).stdout
    assert public.split()[:2] == (tmp_path / "key.pub").read_bytes().split()[:2]
    ours = subprocess.run([*CKEYGEN, "-l", "-f", str(path)], capture_output=True, text=True)
    theirs = subprocess.run(
        [keygen, "-l", "-f", str(path) + ".pub"], capture_output=True, text=True
    )
    assert ours.stdout.split()[:2] == theirs.stdout.split()[:2]


def test_weReadAndReencryptSshKeygenKeys(tmp_path: Path) -> None:
    keygen = requireBinary("ssh-keygen")
    path = sshKeygen(tmp_path / "theirs", "ecdsa", 384, passphrase="old")
    subprocess.run([*CKEYGEN, "-p", "-f", str(path), "-P", "old", "-N", "new", "-q"], check=True)
    subprocess.run([keygen, "-y", "-P", "new", "-f", str(path)], capture_output=True, check=True)
    subprocess.run([*CKEYGEN, "--convert", "PEM", "-f", str(path), "-P", "new", "-q"], check=True)
    converted = subprocess.run(
        [keygen, "-y", "-P", "new", "-f", str(path)], capture_output=True, check=True
    ).stdout
    assert Key.fromString(converted) == Key.fromFile(str(path) + ".pub")
    exported = subprocess.run(
        [*CKEYGEN, "-e", "-f", str(path) + ".pub"], capture_output=True, check=True
    ).stdout
    (tmp_path / "rfc4716").write_bytes(exported)
    imported = subprocess.run(
        [keygen, "-i", "-f", str(tmp_path / "rfc4716")], capture_output=True, check=True
    ).stdout
    assert imported.split()[:2] == (Path(str(path) + ".pub")).read_bytes().split()[:2]


def test_passphrasePromptsOnATerminal(tmp_path: Path) -> None:
    key = tmp_path / "key"
    terminal = Pane(tmp_path, "ckeygen", [*CKEYGEN, "-t", "ed25519", "-f", str(key)])
    try:
        terminal.waitFor("Enter new passphrase")
        terminal.type("typed words")
        terminal.keys("Enter")
        terminal.waitFor("Enter same passphrase again")
        terminal.type("typed words")
        terminal.keys("Enter")
        # tmux ends the session when ckeygen exits.
        waitFor(lambda: "running" if terminal.alive() else "exited", "exited")
    finally:
        terminal.close()
    assert Key.fromFile(str(key), passphrase="typed words").public() == Key.fromFile(
        str(key) + ".pub"
    )
    assert "typed words" not in key.read_text()
