"""The Deferred API's static types, checked by running mypy on a small program."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_PROGRAM = """
from typing import Any, Generator, assert_type

from glisten.internet.defer import (
    Deferred, ensureDeferred, gatherResults, inlineCallbacks, maybeDeferred, race, succeed,
)
from glisten.python.failure import Failure


def toStr(x: int) -> str:
    return str(x)


def toDeferred(x: int) -> Deferred[bytes]:
    return succeed(b"")


def withArg(x: int, y: float) -> float:
    return y


def recover(f: Failure) -> int:
    return 1


d: Deferred[int] = Deferred()
assert_type(d.addCallback(toStr), Deferred[str])
assert_type(d.addCallback(toDeferred), Deferred[bytes])
assert_type(d.addCallback(withArg, 2.0), Deferred[float])
assert_type(d.addErrback(recover), Deferred[int])
assert_type(succeed("s"), Deferred[str])


async def coro() -> int:
    x = await succeed("s")
    assert_type(x, str)
    return 1


assert_type(ensureDeferred(coro()), Deferred[int])
assert_type(Deferred.fromCoroutine(coro()), Deferred[int])


@inlineCallbacks
def gen(a: int) -> Generator[Deferred[Any], Any, str]:
    yield succeed(1)
    return "x"


assert_type(gen(1), Deferred[str])
assert_type(maybeDeferred(toStr, 1), Deferred[str])
assert_type(gatherResults([succeed(1)]), Deferred[list[int]])
assert_type(race([succeed(1)]), Deferred[tuple[int, int]])
"""

_WRONG = """
from glisten.internet.defer import Deferred


def withArg(x: int, y: float) -> float:
    return y


Deferred[int]().addCallback(withArg, "not a float")
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent(source))
    src = Path(__file__).resolve().parents[2] / "src"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--strict",
            "--config-file=/dev/null",
            "--namespace-packages",
            "--explicit-package-bases",
            str(program),
        ],
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(src), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )


def test_typesAreInferred(tmp_path: Path) -> None:
    result = _mypy(tmp_path, _PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrongArgumentTypeIsCaught(tmp_path: Path) -> None:
    result = _mypy(tmp_path, _WRONG)
    assert result.returncode == 1
    assert "addCallback" in result.stdout
