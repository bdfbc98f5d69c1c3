"""The packaging tests import their shared code from this folder and from tools/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "tools")]

from _support import buildAll  # noqa: E402


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the sdist and the wheel of every package, built once per test run."""
    return buildAll(tmp_path_factory.mktemp("dist"))
