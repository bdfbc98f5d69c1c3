"""Run ``glisten --workers N ...`` as a user would, and follow its log as it is written."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from .._peers import freePort, requireBinary, waitForPort

__all__ = ["Glisten", "Load", "freePort", "requireBinary", "waitForPort"]


class Glisten:
    """A ``glisten`` command running in the background, its output read line by line.

    :ivar lines: every line written so far (standard output and error together).
    """

    def __init__(
        self,
        args: Sequence[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
    ) -> None:
        self.args = list(args)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [*launcher, sys.executable, "-m", "glisten.application.cli", *self.args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            # Its own process group, so that a test can end the supervisor and its workers.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def waitFor(self, pattern: str, after: int = 0, timeout: float = 60.0) -> re.Match[str]:
        """Wait until a line (from index ``after`` on) matches ``pattern``.

        :raises AssertionError: if the process ends or ``timeout`` passes first.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    found = regex.search(line)
                    if found is not None:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    output = "\n".join(self.lines[-40:])
                    raise AssertionError(f"no line matches {pattern!r}; output:\n{output}")
                self._changed.wait(min(left, 0.5))

    def mark(self) -> int:
        """Where the output is now (for :meth:`waitFor`'s ``after``)."""
        with self._changed:
            return len(self.lines)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(5)

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker (its process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


class Load:
    """Clients asking for a page in a loop, each on a new connection, until told to stop.

    :param fetch: one request: its status and body.
    :param expected: the status and body every request must get.
    :ivar failures: what went wrong (an exception, or another answer), in order.
    """

    def __init__(
        self, fetch: Callable[[], tuple[int, bytes]], expected: tuple[int, bytes], clients: int = 2
    ) -> None:
        self.ok = 0
        self.failures: list[str] = []
        self._fetch = fetch
        self._expected = expected
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                got = self._fetch()
                failure = None if got == self._expected else f"{got[0]} {got[1]!r}"
            except (OSError, http.client.HTTPException) as e:
                failure = repr(e)
            with self._progress:
                if failure is None:
                    self.ok += 1
                else:
                    self.failures.append(failure)
                self._progress.notify_all()

    def waitForMore(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` more requests have succeeded."""
        with self._progress:
            target = self.ok + count
            assert self._progress.wait_for(lambda: self.ok >= target, timeout), self.failures

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


@pytest.fixture
def load() -> Iterator[Callable[..., Load]]:
    """``load(fetch, expected)`` starts a :class:`Load`; it is stopped at the end of the test."""
    running: list[Load] = []

    def start(fetch: Callable[[], tuple[int, bytes]], expected: tuple[int, bytes]) -> Load:
        each = Load(fetch, expected)
        running.append(each)
        return each

    yield start
    for each in running:
        each.stop()


@pytest.fixture
def runGlisten(tmp_path: Path) -> Iterator[Callable[..., Glisten]]:
    """``runGlisten(*args, env=None, launcher=())`` starts ``[LAUNCHER...] glisten ARGS`` in
    ``tmp_path``; whatever is still running at the end of the test is killed."""
    started: list[Glisten] = []

    def run(*args: str, env: dict[str, str] | None = None, launcher: Sequence[str] = ()) -> Glisten:
        g = Glisten(args, tmp_path, env, launcher)
        started.append(g)
        return g

    yield run
    for g in started:
        g.kill()
