"""Start a reactor, SIGTERM it the moment it runs, and count the runs that do not stop.

``python sigterm_helper.py IMPL REACTOR RUNS [TIMEOUT]`` forks ``RUNS`` children from this
single-threaded process (so a run costs a fork, not an interpreter start-up). Each child builds
a fresh reactor (``IMPL`` is ``glisten`` or ``twisted``; ``REACTOR`` is ``epoll``, ``poll``,
``select`` or ``asyncio``), reports from ``callWhenRunning`` that it runs, and the parent sends
SIGTERM as soon as it reads that report: the signal lands while the child goes from its last
Python step into ``epoll_wait``/``poll``/``select``, with no timer pending. A child that has not
exited ``TIMEOUT`` seconds later is counted as hung and killed.

Prints one JSON object: ``{"runs": N, "stopped": N, "hung": N, "other": N}``; ``other``
counts children that exited some other way (killed by the signal, an error).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
import time
from typing import Any

_GLISTEN = {
    "epoll": ("glisten.internet.epollreactor", "EPollReactor"),
    "poll": ("glisten.internet.pollreactor", "PollReactor"),
    "select": ("glisten.internet.selectreactor", "SelectReactor"),
    "asyncio": ("glisten.internet.asyncioreactor", "AsyncioSelectorReactor"),
}
_TWISTED = {
    "epoll": ("twisted.internet.epollreactor", "EPollReactor"),
    "poll": ("twisted.internet.pollreactor", "PollReactor"),
    "select": ("twisted.internet.selectreactor", "SelectReactor"),
    "asyncio": ("twisted.internet.asyncioreactor", "AsyncioSelectorReactor"),
}


def _reactorClass(impl: str, name: str) -> Any:
    import importlib

    moduleName, className = (_GLISTEN if impl == "glisten" else _TWISTED)[name]
    return getattr(importlib.import_module(moduleName), className)


def _child(cls: Any, name: str, ready: int) -> None:
    if name == "asyncio":
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        reactor = cls(loop)
    else:
        reactor = cls()
    reactor.callWhenRunning(os.write, ready, b"R")
    reactor.run()
    os._exit(0)


def runMany(
    impl: str, name: str, runs: int, timeout: float, spread: float = 20e-6
) -> dict[str, int]:
    """Fork ``runs`` children, SIGTERM each once it runs, and count how each ended."""
    cls = _reactorClass(impl, name)
    if name == "asyncio":
        import asyncio  # noqa: F401 - imported once here, not in every child

    rng = random.Random(runs)
    counts = {"runs": runs, "stopped": 0, "hung": 0, "other": 0}
    for _ in range(runs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _child(cls, name, w)
            finally:
                os._exit(3)
        os.close(w)
        got = os.read(r, 1)
        os.close(r)
        if got:
            # Spread the signal over the child's way from its report into the wait, so some
            # land in the last instant before it blocks.
            end = time.perf_counter() + rng.uniform(0.0, spread)
            while time.perf_counter() < end:
                pass
            os.kill(pid, signal.SIGTERM)
        pidfd = os.pidfd_open(pid)
        try:
            exited, _, _ = select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
        if not exited:
            counts["hung"] += 1
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            continue
        _, status = os.waitpid(pid, 0)
        if got and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            counts["stopped"] += 1
        else:
            counts["other"] += 1
    return counts


if __name__ == "__main__":
    impl, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    spread = float(sys.argv[5]) if len(sys.argv) > 5 else 20e-6
    print(json.dumps(runMany(impl, name, runs, timeout, spread)))
