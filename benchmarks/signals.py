"""SIGTERM right after start: how many of 1,000 runs stop, per reactor, glisten and Twisted.

Run with ``hatch run python benchmarks/signals.py``. Not a speed benchmark but a reliability
count (issue 12, item 1): each case forks ``RUNS`` children from one process; each child starts
a fresh reactor and the parent sends SIGTERM the moment the child reports that it runs (spread
over the next 20 microseconds, so that some signals land just before the child blocks in its
wait, with no timer pending). A child that has not exited two seconds later is hung. The figure
is the number of runs that stopped cleanly; ``ratio`` compares glisten's with Twisted's.
``GLISTEN_SIGNAL_RUNS`` changes the number of runs. The forking is done by
``packages/core/tests/internet/sigterm_helper.py``, which the test suite runs with fewer runs.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from _harness import Case, main

RUNS = int(os.environ.get("GLISTEN_SIGNAL_RUNS", "1000"))
TIMEOUT = 2.0
HELPER = (
    Path(__file__).resolve().parent.parent
    / "packages"
    / "core"
    / "tests"
    / "internet"
    / "sigterm_helper.py"
)


def _helper() -> Any:
    spec = importlib.util.spec_from_file_location("sigterm_helper", HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _case(reactorName: str) -> Case:
    def run(impl: str, n: int) -> float:
        counts = _helper().runMany(impl, reactorName, RUNS, TIMEOUT)
        sys.stderr.write(f"{reactorName} [{impl}]: {counts}\n")
        return float(counts["stopped"])

    return Case(
        f"sigterm right after start ({reactorName})",
        run,
        selfTimed=True,
        unit=f"/{RUNS} stopped",
    )


CASES = [_case(name) for name in ("epoll", "poll", "select", "asyncio")]

if __name__ == "__main__":
    main(CASES)
