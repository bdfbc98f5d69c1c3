"""Side-by-side benchmark runner: glisten against Twisted (and asyncio) in one run.

Each benchmark script lists :class:`Case` objects and calls :func:`main`. Every case runs once
per implementation, each in a fresh subprocess, so that neither import state nor garbage left
by one implementation colours the other. glisten and asyncio run on the interpreter that runs
the script (the hatch environment); Twisted runs in ``benchmarks/.venv-twisted``, a virtual
environment this module creates on first use with the newest Twisted from PyPI. Twisted is never
a dependency of any glisten package.

Output is one line per case::

    chain of 10 callbacks  glisten=812345/s  twisted=401234/s  ratio=2.02

``ratio`` is glisten's rate divided by Twisted's (above 1 means glisten is faster); with a
figure for another implementation (asyncio, or a reference server such as nginx),
``asyncio_ratio``/``nginx_ratio`` is glisten's rate divided by that one's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TWISTED_VENV = HERE / ".venv-twisted"
TWISTED_REQUIREMENTS = [
    "twisted[tls,http2]",
    "uvloop",
    "asyncssh",
    "paramiko",
    "treq",
    "aiohttp",
    "gunicorn",
]

#: How long one timed run of a case should last, in seconds.
TARGET_SECONDS = 0.25
#: Timed runs per case and implementation; the best one counts.
REPEATS = 3


@dataclass(frozen=True)
class Case:
    """One benchmark case.

    :param name: what the output line calls the case.
    :param func: ``func(impl, n)`` does ``n`` operations with implementation ``impl``
        (``"glisten"``, ``"twisted"`` or ``"asyncio"``). With ``selfTimed`` it instead measures
        itself and returns operations per second (``n`` is then 0).
    :param impls: the implementations to run; the first must be ``"glisten"``.
    :param selfTimed: the function returns its own rate (load generators, servers).
    :param unit: the unit printed after the rate.
    """

    name: str
    func: Callable[[str, int], float | None]
    impls: tuple[str, ...] = ("glisten", "twisted")
    selfTimed: bool = False
    unit: str = "/s"


def twistedPython() -> str:
    """Return the interpreter of the Twisted virtual environment, creating it if needed."""
    python = TWISTED_VENV / "bin" / "python"
    marker = TWISTED_VENV / ".ready"
    wanted = "\n".join(TWISTED_REQUIREMENTS) + "\n"
    # The marker lists what was installed: a benchmark that needs one more peer gets it.
    if not marker.exists() or marker.read_text() != wanted:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(TWISTED_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--upgrade", *TWISTED_REQUIREMENTS],
            check=True,
        )
        marker.write_text(wanted)
    return str(python)


#: Implementations that run in the Twisted virtual environment (third-party peers installed
#: there with Twisted, never into glisten's environment).
VENV_IMPLS = ("twisted", "asyncssh", "paramiko")


def _interpreter(impl: str) -> str:
    return twistedPython() if impl in VENV_IMPLS else sys.executable


def _timeOne(case: Case, impl: str) -> float:
    """Run ``case`` for ``impl`` in this process and return operations per second.

    In-process cases are timed in CPU time of this process (``time.process_time``), so that
    other load on a shared machine does not skew one implementation's figure more than the
    other's; self-timed cases choose their own clock.
    """
    if case.selfTimed:
        rate = case.func(impl, 0)
        if rate is None:
            raise RuntimeError(f"self-timed case {case.name!r} returned no rate")
        return rate
    clock = time.process_time
    case.func(impl, 1)  # warm up: imports and first-call costs stay out of the calibration
    n = 1
    while True:
        start = clock()
        case.func(impl, n)
        elapsed = clock() - start
        if elapsed >= TARGET_SECONDS / 4:
            break
        elapsed = max(elapsed, 1e-9)
        n *= 4 if elapsed < TARGET_SECONDS / 40 else 2
    n = max(1, int(n * TARGET_SECONDS / elapsed))
    best = 0.0
    for _ in range(REPEATS):
        start = clock()
        case.func(impl, n)
        elapsed = clock() - start
        best = max(best, n / max(elapsed, 1e-9))
    return best


def _format(rate: float, unit: str) -> str:
    if rate >= 100:
        return f"{rate:.0f}{unit}"
    return f"{rate:.3g}{unit}"


#: The block freed by :func:`_primeAllocator`.
PRIME_BYTES = 4 << 20


def _primeAllocator() -> None:
    """Give every worker the allocator state of a process that has run for a while.

    A fresh CPython process on glibc serves each allocation above malloc's initial mmap
    threshold (128 KiB; asyncio's 256 KiB reads, for one) with mmap + mremap + munmap until a
    block that large has been freed whole, which raises the threshold (python/cpython#85451).
    Which implementation happens to free such a block first would otherwise decide the result,
    so every worker frees one at start, whatever it runs. ``GLISTEN_BENCH_FRESH_MALLOC=1``
    measures fresh-process behaviour instead.
    """
    if os.environ.get("GLISTEN_BENCH_FRESH_MALLOC") == "1":
        return
    block = bytearray(PRIME_BYTES)
    del block


def _runWorker(cases: Sequence[Case], argv: Sequence[str]) -> None:
    _primeAllocator()
    caseName, impl = argv
    (case,) = [c for c in cases if c.name == caseName]
    print(json.dumps({"rate": _timeOne(case, impl)}))


def _measure(script: str, case: Case, impl: str) -> float | None:
    env = dict(os.environ)
    env["GLISTEN_BENCH_IMPL"] = impl
    proc = subprocess.run(
        [_interpreter(impl), script, "--worker", case.name, impl],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(HERE),
    )
    if proc.returncode != 0:
        sys.stderr.write(f"{case.name} [{impl}] failed:\n{proc.stderr}\n")
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return float(json.loads(lines[-1])["rate"])


def main(cases: Sequence[Case], argv: Sequence[str] | None = None) -> None:
    """Run every case under each of its implementations and print one line per case.

    ``python benchmarks/x.py`` runs all cases; ``python benchmarks/x.py NAME...`` runs those
    whose name contains one of the given words.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--worker"]:
        _runWorker(cases, args[1:])
        return
    script = str(Path(sys.argv[0]).resolve())
    selected = [c for c in cases if not args or any(word in c.name for word in args)]
    width = max((len(c.name) for c in selected), default=0)
    for case in selected:
        rates = {impl: _measure(script, case, impl) for impl in case.impls}
        parts = [case.name.ljust(width)]
        for impl, rate in rates.items():
            parts.append(f"{impl}=" + ("failed" if rate is None else _format(rate, case.unit)))
        mine = rates.get("glisten")
        for other, theirs in rates.items():
            if other != "glisten" and mine and theirs:
                label = "ratio" if other == "twisted" else f"{other}_ratio"
                parts.append(f"{label}={mine / theirs:.2f}")
        print("  ".join(parts), flush=True)


def cpuRate(units: int, run: Callable[[], object], repeats: int = REPEATS) -> float:
    """``units`` divided by the CPU time of the best of ``repeats`` calls of ``run``: for
    self-timed cases whose cost is all in this process (parsers fed one large buffer)."""
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = max(best, units / max(time.process_time() - start, 1e-9))
    return best
