"""``glisten.internet.main.getReactor``: the one lazy lookup of the global reactor."""

from __future__ import annotations

import subprocess
import sys

from glisten.internet.main import getReactor
from glisten.internet.task import Clock


def test_givenReactorWins() -> None:
    clock = Clock()
    assert getReactor(clock) is clock


def test_globalReactorLookedUpAtCallTime() -> None:
    """Importing glisten modules installs nothing; the first ``getReactor()`` installs the
    default, and a reactor installed earlier (``--reactor``) is the one returned."""
    program = """
import sys
import glisten.internet.main, glisten.internet.task, glisten.application.strports
assert "glisten.internet.reactor" not in sys.modules
from glisten.internet import asyncioreactor
asyncioreactor.install()
from glisten.internet.main import getReactor
print(type(getReactor()).__name__)
"""
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "AsyncioSelectorReactor"
