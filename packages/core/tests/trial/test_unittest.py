"""Tests for glisten.trial.unittest, run through the standard library's unittest machinery."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest as pyunit
import warnings
from pathlib import Path
from typing import Any

import pytest

from glisten.internet import defer, task
from glisten.internet.protocol import Factory, Protocol
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.trial import unittest
from glisten.trial.util import DirtyReactorAggregateError, LoggedErrorsNotFlushed

log = Logger()


def runCase(case: type[pyunit.TestCase], name: str) -> pyunit.TestResult:
    result = pyunit.TestResult()
    case(name).run(result)
    return result


def outcome(result: pyunit.TestResult) -> str:
    if result.errors:
        return "error"
    if result.failures:
        return "failure"
    if result.skipped:
        return "skipped"
    if result.expectedFailures:
        return "xfail"
    if result.unexpectedSuccesses:
        return "xpass"
    assert result.testsRun == 1
    return "success"


def text(result: pyunit.TestResult) -> str:
    return "\n".join(t for _, t in result.errors + result.failures)


# --------------------------------------------------------------------- SynchronousTestCase


class Sync(unittest.SynchronousTestCase):
    __test__ = False  # run by the tests below, not collected

    def test_successResultOf(self) -> None:
        assert self.successResultOf(defer.succeed(3)) == 3

    def test_successResultOfNoResult(self) -> None:
        self.successResultOf(defer.Deferred())

    def test_successResultOfFailure(self) -> None:
        self.successResultOf(defer.fail(ValueError("x")))

    def test_failureResultOf(self) -> None:
        f = self.failureResultOf(defer.fail(ValueError("x")), ValueError)
        assert isinstance(f, Failure)
        assert f.check(ValueError)

    def test_failureResultOfWrongType(self) -> None:
        self.failureResultOf(defer.fail(ValueError("x")), KeyError)

    def test_failureResultOfSuccess(self) -> None:
        self.failureResultOf(defer.succeed(1))

    def test_assertNoResult(self) -> None:
        self.assertNoResult(defer.Deferred())

    def test_assertNoResultFired(self) -> None:
        self.assertNoResult(defer.succeed(1))

    def test_assertFailure(self) -> None:
        d = self.assertFailure(defer.fail(KeyError("k")), KeyError)
        exc = self.successResultOf(d)
        assert isinstance(exc, KeyError)

    def test_assertFailureWrong(self) -> None:
        d = self.assertFailure(defer.succeed(1), KeyError)
        self.successResultOf(d)

    def test_loggedError(self) -> None:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("boom")

    def test_flushedError(self) -> None:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("boom")
        assert len(self.flushLoggedErrors(ZeroDivisionError)) == 1

    def test_flushWarnings(self) -> None:
        warnings.warn("careful", DeprecationWarning, stacklevel=1)
        flushed = self.flushWarnings([Sync.test_flushWarnings])
        assert len(flushed) == 1
        assert flushed[0]["message"] == "careful"
        assert flushed[0]["category"] is DeprecationWarning
        assert self.flushWarnings() == []

    def test_flushWarningsOtherFunction(self) -> None:
        warnings.warn("elsewhere", UserWarning, stacklevel=1)
        assert self.flushWarnings([outcome]) == []
        assert len(self.flushWarnings()) == 1

    def test_mktemp(self) -> None:
        path = self.mktemp()
        assert not os.path.exists(path)
        assert os.path.isdir(os.path.dirname(path))
        assert self.mktemp() != path
        Path(path).write_text("x")
        Sync.created = path  # type: ignore[attr-defined]

    def test_patch(self) -> None:
        patch = self.patch(os.path, "sep", "#")
        assert os.path.sep == "#"
        patch.restore()
        assert os.path.sep == "/"
        self.patch(os.path, "sep", "%")

    def test_trialAssertions(self) -> None:
        obj = object()
        self.assertIdentical(obj, obj)
        self.assertNotIdentical(obj, object())
        self.assertApproximates(1.0, 1.05, 0.1)
        self.assertSubstring("b", "abc")
        self.assertNotSubstring("z", "abc")
        exc = self.assertRaises(ValueError, int, "x")
        assert isinstance(exc, ValueError)
        with self.assertRaises(KeyError):
            {}["x"]

    def test_assertWarnsTrialForm(self) -> None:
        def warner(x: int) -> int:
            warnings.warn("old", DeprecationWarning, stacklevel=1)
            return x * 2

        assert self.assertWarns(DeprecationWarning, "old", __file__, warner, 21) == 42

    def test_skipAttribute(self) -> None:
        raise AssertionError("must not run")

    test_skipAttribute.skip = "not today"  # type: ignore[attr-defined]

    def test_todoAttribute(self) -> None:
        raise ValueError("expected")

    test_todoAttribute.todo = "known bug"  # type: ignore[attr-defined]

    def test_todoPasses(self) -> None:
        pass

    test_todoPasses.todo = "should fail"  # type: ignore[attr-defined]


class SkippedClass(unittest.SynchronousTestCase):
    __test__ = False  # run by the tests below, not collected

    skip = "whole class"

    def test_one(self) -> None:
        raise AssertionError("must not run")


SYNC_EXPECTED = {
    "test_successResultOf": "success",
    "test_successResultOfNoResult": "failure",
    "test_successResultOfFailure": "failure",
    "test_failureResultOf": "success",
    "test_failureResultOfWrongType": "failure",
    "test_failureResultOfSuccess": "failure",
    "test_assertNoResult": "success",
    "test_assertNoResultFired": "failure",
    "test_assertFailure": "success",
    "test_assertFailureWrong": "failure",
    "test_loggedError": "error",
    "test_flushedError": "success",
    "test_flushWarnings": "success",
    "test_flushWarningsOtherFunction": "success",
    "test_mktemp": "success",
    "test_patch": "success",
    "test_trialAssertions": "success",
    "test_assertWarnsTrialForm": "success",
    "test_skipAttribute": "skipped",
    "test_todoAttribute": "xfail",
    "test_todoPasses": "xpass",
}


@pytest.mark.parametrize("name", sorted(SYNC_EXPECTED))
def test_synchronousTestCase(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = runCase(Sync, name)
    assert outcome(result) == SYNC_EXPECTED[name], text(result)


def test_loggedErrorMessage() -> None:
    result = runCase(Sync, "test_loggedError")
    assert "LoggedErrorsNotFlushed" in text(result)
    assert "ZeroDivisionError" in text(result)
    assert issubclass(LoggedErrorsNotFlushed, AssertionError)


def test_patchRestoredAfterTest() -> None:
    runCase(Sync, "test_patch")
    assert os.path.sep == "/"


def test_mktempRemovedAfterTest() -> None:
    result = runCase(Sync, "test_mktemp")
    assert outcome(result) == "success"
    assert not os.path.exists(Sync.created)  # type: ignore[attr-defined]


def test_skippedClass() -> None:
    assert outcome(runCase(SkippedClass, "test_one")) == "skipped"


def test_getSkipAndTodo() -> None:
    assert Sync("test_skipAttribute").getSkip() == "not today"
    todo = Sync("test_todoAttribute").getTodo()
    assert todo is not None and todo.reason == "known bug"
    assert Sync("test_patch").getTodo() is None
    assert unittest.makeTodo((ValueError, "r")).errors == [ValueError]


def test_unflushedWarningsReemitted() -> None:
    class Warner(unittest.SynchronousTestCase):
        __test__ = False  # run by the tests below, not collected

        def test_it(self) -> None:
            warnings.warn("left over", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert outcome(runCase(Warner, "test_it")) == "success"
    assert [str(w.message) for w in caught] == ["left over"]


# ---------------------------------------------------------------------------- TestCase


class Async(unittest.TestCase):
    __test__ = False  # run by the tests below, not collected

    def setUp(self) -> defer.Deferred[None]:
        from glisten.internet import reactor

        self.reactor = reactor
        self.order = ["setUp-start"]
        return task.deferLater(reactor, 0, self.order.append, "setUp-done")

    def test_deferred(self) -> defer.Deferred[None]:
        assert self.order == ["setUp-start", "setUp-done"]
        d: defer.Deferred[None] = defer.Deferred()
        self.reactor.callLater(0.001, d.callback, None)
        return d

    async def test_async(self) -> None:
        from glisten.internet import reactor

        assert reactor is self.reactor
        await task.deferLater(reactor, 0, lambda: None)

    async def test_asyncCleanup(self) -> None:
        done: list[int] = []

        async def cleanup() -> None:
            await task.deferLater(self.reactor, 0, done.append, 1)

        def check() -> None:
            assert done == [1]
            Async.cleanupChecked = True  # type: ignore[attr-defined]

        self.addCleanup(check)
        self.addCleanup(cleanup)

    def test_pendingCall(self) -> None:
        self.reactor.callLater(100, lambda: None)

    def test_openPort(self) -> None:
        self.reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")

    async def test_closedPort(self) -> None:
        port = self.reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        await port.stopListening()

    def test_timeout(self) -> defer.Deferred[None]:
        return defer.Deferred()

    test_timeout.timeout = 0.05  # type: ignore[attr-defined]

    def test_failingDeferred(self) -> defer.Deferred[None]:
        return task.deferLater(self.reactor, 0, lambda: 1 / 0)

    def test_assertFailureWaited(self) -> defer.Deferred[Any]:
        d = task.deferLater(self.reactor, 0, lambda: 1 / 0)
        return self.assertFailure(d, ZeroDivisionError)

    async def test_loggedError(self) -> None:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("boom")


ASYNC_EXPECTED = {
    "test_deferred": "success",
    "test_async": "success",
    "test_asyncCleanup": "success",
    "test_pendingCall": "error",
    "test_openPort": "error",
    "test_closedPort": "success",
    "test_timeout": "error",
    "test_failingDeferred": "error",
    "test_assertFailureWaited": "success",
    "test_loggedError": "error",
}


@pytest.mark.parametrize("name", sorted(ASYNC_EXPECTED))
def test_testCase(name: str) -> None:
    result = runCase(Async, name)
    assert outcome(result) == ASYNC_EXPECTED[name], text(result)


def test_dirtyMessages() -> None:
    result = runCase(Async, "test_pendingCall")
    assert "DirtyReactorAggregateError" in text(result)
    assert "DelayedCall" in text(result)
    result = runCase(Async, "test_openPort")
    assert "Selectables" in text(result)
    assert issubclass(DirtyReactorAggregateError, Exception)


def test_timeoutMessage() -> None:
    assert "TimeoutError" in text(runCase(Async, "test_timeout"))


def test_asyncCleanupRan() -> None:
    runCase(Async, "test_asyncCleanup")
    assert Async.cleanupChecked  # type: ignore[attr-defined]


def test_globalReactorRestored() -> None:
    before = sys.modules.get("glisten.internet.reactor")
    runCase(Async, "test_deferred")
    assert sys.modules.get("glisten.internet.reactor") is before


def test_freshReactorEachTest() -> None:
    reactors = []

    class Record(unittest.TestCase):
        __test__ = False  # run by the tests below, not collected
        freshReactor = True

        def test_it(self) -> None:
            from glisten.internet import reactor

            reactors.append(reactor)

    runCase(Record, "test_it")
    runCase(Record, "test_it")
    assert len(reactors) == 2 and reactors[0] is not reactors[1]
    assert all(r._startedBefore for r in reactors)


def test_globalReactorByDefault() -> None:
    # As under trial: a module that imported the reactor at load time schedules on the
    # reactor the tests run.
    from glisten.internet import reactor as loadTimeReactor

    seen = []

    class Global(unittest.TestCase):
        __test__ = False  # run by the tests below, not collected

        def test_deferLater(self) -> defer.Deferred[None]:
            return task.deferLater(loadTimeReactor, 0.01, seen.append, "ran")

        def test_leftovers(self) -> None:
            loadTimeReactor.callLater(100, lambda: None)
            loadTimeReactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")

        def test_same(self) -> None:
            from glisten.internet import reactor

            seen.append(reactor is loadTimeReactor)

    assert outcome(runCase(Global, "test_deferLater")) == "success"
    assert seen == ["ran"]
    result = runCase(Global, "test_leftovers")
    assert outcome(result) == "error" and "DirtyReactorAggregateError" in text(result)
    # The leftovers were cleaned: the next test on the same reactor passes.
    assert not loadTimeReactor.getDelayedCalls()
    assert outcome(runCase(Global, "test_deferLater")) == "success"
    assert outcome(runCase(Global, "test_same")) == "success" and seen[-1] is True
    # What another (plain pytest) test left in the global reactor before this one started is
    # neither blamed on it nor cancelled.
    other = loadTimeReactor.callLater(100, lambda: None)
    try:
        assert outcome(runCase(Global, "test_same")) == "success"
        assert other.active()
    finally:
        other.cancel()

    # Nor what such a leftover schedules when it comes due while this test runs the reactor
    # (a connection's idle timeout that schedules its abort).
    class Stale:
        def __init__(self) -> None:
            self.abort: Any = None

        def timedOut(self) -> None:
            self.abort = loadTimeReactor.callLater(100, self.forceAbort)

        def forceAbort(self) -> None:
            pass

    stale = Stale()
    loadTimeReactor.callLater(0, stale.timedOut)
    try:
        assert outcome(runCase(Global, "test_deferLater")) == "success"
        assert stale.abort is not None and stale.abort.active()
    finally:
        if stale.abort is not None:
            stale.abort.cancel()


MODULE = """
from glisten.internet import task
from glisten.trial import unittest


class T(unittest.TestCase):
    async def test_ok(self):
        from glisten.internet import reactor
        await task.deferLater(reactor, 0, lambda: None)

    def test_bad(self):
        self.assertEqual(1, 2)

    def test_skipped(self):
        pass

    test_skipped.skip = "because"
"""


@pytest.mark.parametrize(
    "runner", [["-m", "unittest", "-v", "test_mod"], ["-m", "pytest", "-v", "test_mod.py"]]
)
def test_runnableByUnittestAndPytest(tmp_path: Path, runner: list[str]) -> None:
    (tmp_path / "test_mod.py").write_text(MODULE)
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, *runner, "-p", "no:cacheprovider"]
        if "pytest" in runner
        else [sys.executable, *runner],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "test_ok" in output
    if "unittest" in runner:
        assert "FAILED (failures=1, skipped=1)" in output, output
    else:
        assert "1 failed, 1 passed, 1 skipped" in output, output
