"""Twisted-style programs, ported by renaming the imports, print what they print under Twisted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROGRAMS = sorted(p.stem for p in (HERE / "programs").glob("*.py"))


def _normalize(text: str) -> str:
    """Remove what legitimately differs between runs: log timestamps and file paths."""
    text = re.sub(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} ", "TIME ", text)
    return re.sub(r'File "[^"]*/([a-z_]+\.py)"', r'File "\1"', text)


def _run(
    args: list[str], cwd: Path, extraPath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LISTEN_FDS", "NOTIFY_SOCKET")}
    if extraPath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extraPath), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=90
    )


def test_at_least_fifteen_programs() -> None:
    assert len(PROGRAMS) >= 15
    assert sorted(p.stem for p in (HERE / "expected").glob("*.out")) == PROGRAMS


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_output_matches_twisted(name: str, tmp_path: Path) -> None:
    source = (HERE / "programs" / f"{name}.py").read_text()
    # Only the import rename separates the program from its Twisted original.
    assert "twisted" not in source
    result = _run([str(HERE / "programs" / f"{name}.py")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stdout, result.stdout
    expected = (HERE / "expected" / f"{name}.out").read_text()
    assert _normalize(result.stdout) == expected


def _notes(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        ["-c", "from glisten.application.cli import main; main()", *args],
        cwd=tmp_path,
        extraPath=HERE / "plugindir",
    )


def test_twistd_style_plugin(tmp_path: Path) -> None:
    result = _notes("notes", "add", "-c", "2", "buy milk", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("notes: buy milk") == 2
    result = _notes("notes", "--greeting", "hey", "show", "--upper", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "HEY: (NO NOTES)" in result.stdout
    result = _notes("notes", tmp_path=tmp_path)  # the default sub-command
    assert result.returncode == 0, result.stderr
    assert "notes: (no notes)" in result.stdout
    result = _notes("notes", "add", "-c", "many", "x", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "glisten notes: Parameter type enforcement failed" in result.stderr
    result = _notes("--help", tmp_path=tmp_path)
    assert "notes" in result.stdout and "Keep notes (a porting example)." in result.stdout
