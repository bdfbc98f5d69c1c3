"""
getProcessOutput, getProcessValue and getProcessOutputAndValue.
"""

from __future__ import annotations

from typing import Any

import pytest

from glisten.internet import utils
from glisten.internet.process import ProcessExecError


def test_getProcessOutput(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutput("sh", ["-c", "printf 'out'"], reactor=reactor)
    assert wait(d) == b"out"


def test_getProcessOutputStderrFails(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutput("sh", ["-c", "echo bad >&2"], reactor=reactor)
    with pytest.raises(OSError, match="got stderr"):
        wait(d)


def test_getProcessOutputErrortoo(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutput(
        "sh", ["-c", "printf a; printf b >&2"], reactor=reactor, errortoo=True
    )
    assert sorted(wait(d)) == [ord("a"), ord("b")]


def test_getProcessOutputMissingExecutable(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutput("/nonexistent/glisten-missing", reactor=reactor)
    with pytest.raises(ProcessExecError):
        wait(d)


def test_getProcessValue(reactor: Any, wait: Any) -> None:
    d = utils.getProcessValue("sh", ["-c", "exit 7"], reactor=reactor)
    assert wait(d) == 7


def test_getProcessValueZero(reactor: Any, wait: Any) -> None:
    assert wait(utils.getProcessValue("true", reactor=reactor)) == 0


def test_getProcessOutputAndValue(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutputAndValue(
        "sh", ["-c", "printf o; printf e >&2; exit 2"], env={"X": "1"}, reactor=reactor
    )
    assert wait(d) == (b"o", b"e", 2)


def test_getProcessOutputAndValueSignal(reactor: Any, wait: Any) -> None:
    d = utils.getProcessOutputAndValue("sh", ["-c", "printf o; kill -9 $$"], reactor=reactor)
    with pytest.raises(utils.ProcessKilledError) as info:
        wait(d)
    assert info.value.args == (b"o", b"", 9)


def test_pathArgument(reactor: Any, wait: Any, tmp_path: Any) -> None:
    d = utils.getProcessOutput("pwd", path=str(tmp_path), reactor=reactor)
    assert wait(d).strip().endswith(tmp_path.name.encode())
