"""The runnable example of each package's README runs and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- runs: tests/docs/test_readme_examples.py -->\n```python\n"

#: What each example prints first (the README's comments say the same).
EXPECTED = {
    "core": "HELLO, GLISTEN\n",
    "mail": "accepted for 1 recipient(s)\n1 in alice's maildir\n",
    "words": "#lobby <bob> hello, alice\n",
    "conch": "ssh-ed25519 True\nSHA256:",
}


def examples() -> dict[str, str]:
    found = {}
    for readme in sorted((ROOT / "packages").glob("*/README.md")):
        text = readme.read_text()
        for block in re.findall(re.escape(MARKER) + r"(.*?)```", text, re.S):
            found[readme.parent.name] = block
    return found


def test_everyMarkedExampleIsChecked() -> None:
    assert set(examples()) == set(EXPECTED)


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_readmeExample(package: str, tmp_path: Path) -> None:
    program = tmp_path / "example.py"
    program.write_text(examples()[package])
    result = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(EXPECTED[package]), result.stdout
