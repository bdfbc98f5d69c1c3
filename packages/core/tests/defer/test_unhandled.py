"""Unhandled errors logged when a failed Deferred is garbage collected, and debugging."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.defer import AlreadyCalledError, Deferred, fail, succeed
from glisten.python.failure import Failure


def _unhandled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failure events of unhandled-error reports: as in Twisted, each report is two events,
    the critical notice and then the failure."""
    found = []
    for i, e in enumerate(events):
        if e.get("log_format") == "Unhandled error in Deferred:":
            assert "log_failure" not in e and e["log_level"].name == "critical"
            found.append(events[i + 1])
    return found


def test_garbageFailureIsLogged(logEvents: list[dict[str, Any]]) -> None:
    d: Deferred[int] = Deferred()
    d.errback(KeyError("lost"))
    del d
    gc.collect()
    (event,) = _unhandled(logEvents)
    assert event["log_failure"].check(KeyError)
    assert event["log_namespace"] == "glisten.internet.defer"
    assert event["log_level"].name == "critical"


def test_failureFromCallbackIsLogged(logEvents: list[dict[str, Any]]) -> None:
    d = succeed(1)
    d.addCallback(lambda r: 1 / 0)
    del d
    gc.collect()
    (event,) = _unhandled(logEvents)
    assert event["log_failure"].check(ZeroDivisionError)


def test_handledFailureIsNotLogged(logEvents: list[dict[str, Any]]) -> None:
    d = fail(KeyError())
    d.addErrback(lambda f: None)
    del d
    gc.collect()
    assert _unhandled(logEvents) == []


def test_failureHandedToWaitingDeferredIsNotLoggedTwice(logEvents: list[dict[str, Any]]) -> None:
    inner: Deferred[int] = Deferred()
    outer = succeed(0)
    outer.addCallback(lambda _, inner=inner: inner)
    inner.errback(ValueError())
    outer.addErrback(lambda f: None)
    del inner, outer
    gc.collect()
    assert _unhandled(logEvents) == []


def test_failureHandedToWaitingDeferredIsLoggedOnce(logEvents: list[dict[str, Any]]) -> None:
    inner: Deferred[int] = Deferred()
    outer = succeed(0)
    outer.addCallback(lambda _, inner=inner: inner)
    inner.errback(ValueError())
    del inner, outer
    gc.collect()
    assert len(_unhandled(logEvents)) == 1


def test_successIsNotLogged(logEvents: list[dict[str, Any]]) -> None:
    d = succeed(1)
    del d
    gc.collect()
    assert _unhandled(logEvents) == []


def test_recoveredAfterFailureNotLogged(logEvents: list[dict[str, Any]]) -> None:
    d = fail(KeyError())
    d.addErrback(lambda f: "fine")
    d.addCallback(lambda r: r)
    del d
    gc.collect()
    assert _unhandled(logEvents) == []


def test_debuggingRecordsCreatorAndInvoker(logEvents: list[dict[str, Any]]) -> None:
    defer.setDebugging(True)
    assert defer.getDebugging()
    assert Deferred.debug

    def makeIt() -> Deferred[int]:
        return Deferred()

    def fireIt(d: Deferred[int]) -> None:
        d.errback(KeyError())

    d = makeIt()
    fireIt(d)
    with pytest.raises(AlreadyCalledError) as info:
        d.callback(1)
    message = str(info.value)
    assert "C: Deferred was created:" in message and "makeIt" in message
    assert "I: First Invoker was:" in message and "fireIt" in message
    # The exception's traceback holds the Deferred: drop both.
    del d, info
    gc.collect()
    (event,) = _unhandled(logEvents)
    assert "makeIt" in event["debugInfo"] and "fireIt" in event["debugInfo"]
    defer.setDebugging(False)
    assert not defer.getDebugging()
    assert not Deferred.debug


def test_debuggingCapturesVarsInCallbackFailures() -> None:
    defer.setDebugging(True)
    d = succeed(1)

    def boom(r: int) -> None:
        local = "visible"  # noqa: F841 - captured in the Failure
        raise ValueError()

    d.addCallback(boom)
    failure = d.result
    assert isinstance(failure, Failure)
    assert failure.captureVars
    assert "local : 'visible'" in failure.getTraceback(detail="verbose")
    d.addErrback(lambda f: None)


def test_debuggingSucceed() -> None:
    defer.setDebugging(True)
    d = succeed(1)
    assert d._debugInfo is not None and d._debugInfo.creator
    assert d.result == 1


def test_alreadyCalledWithoutDebuggingHasNoStacks() -> None:
    d = succeed(1)
    with pytest.raises(AlreadyCalledError) as info:
        d.callback(2)
    assert str(info.value) == ""


def test_importingDeferDoesNotImportLogging() -> None:
    import subprocess
    import sys

    code = (
        "import sys, glisten.internet.defer\n"
        "assert 'glisten.logger' not in sys.modules, 'logger imported'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
