"""Drive terminal programs the way a person does: in a tmux pane, keys in, screen out."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .._peers import requireBinary


def waitFor(check: Callable[[], str], expected: str, timeout: float = 20.0) -> str:
    """Read ``check()`` until it shows ``expected`` (the screen or a log changes on events)."""
    deadline = time.monotonic() + timeout
    seen = check()
    while expected not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{expected!r} never appeared; last seen:\n{seen}")
        time.sleep(0.05)
        seen = check()
    return seen


class Pane:
    """A tmux session on a private server socket running one command."""

    def __init__(self, tmp: Path, name: str, command: list[str]) -> None:
        self.tmux = requireBinary("tmux")
        self.socket = str(tmp / f"tmux-{name}")
        self._run("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", *command)

    def _run(self, *args: str) -> str:
        return subprocess.run(
            [self.tmux, "-S", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", "t", "-l", text)

    def screen(self, escapes: bool = False) -> str:
        return self._run("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else []))

    def waitFor(self, text: str, escapes: bool = False) -> str:
        return waitFor(lambda: self.screen(escapes), text)

    def resize(self, width: int, height: int) -> None:
        self._run("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def alive(self) -> bool:
        """Whether the program still runs (tmux ends the session when it exits)."""
        result = subprocess.run(
            [self.tmux, "-S", self.socket, "has-session", "-t", "t"], capture_output=True
        )
        return result.returncode == 0

    def close(self) -> None:
        subprocess.run([self.tmux, "-S", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Callable[[str, list[str]], Pane]]:
    panes: list[Pane] = []

    def make(name: str, command: list[str]) -> Pane:
        p = Pane(tmp_path, name, command)
        panes.append(p)
        return p

    yield make
    for p in panes:
        p.close()
