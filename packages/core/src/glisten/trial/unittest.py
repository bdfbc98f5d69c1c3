"""Trial's TestCase API on the standard library's :class:`unittest.TestCase`.

Test cases written for ``twisted.trial.unittest`` run unchanged (after the import is renamed),
under pytest or ``python -m unittest``:

- :class:`SynchronousTestCase`: trial's helpers (:meth:`~SynchronousTestCase.successResultOf`,
  :meth:`~SynchronousTestCase.failureResultOf`, :meth:`~SynchronousTestCase.assertNoResult`,
  :meth:`~SynchronousTestCase.flushLoggedErrors`, :meth:`~SynchronousTestCase.flushWarnings`,
  :meth:`~SynchronousTestCase.mktemp`, :meth:`~SynchronousTestCase.patch`, ``skip``/``todo``
  attributes, ...). A test fails if it logged an error through ``glisten.logger`` that it did
  not flush.
- :class:`TestCase`: also runs the global reactor, as trial does, so a test module that
  imported ``reactor`` at load time schedules on the reactor that runs. ``setUp``, the test,
  ``tearDown`` and cleanups may return Deferreds or be ``async def``; each is waited for, up
  to :attr:`TestCase.timeout` seconds. A test fails if it leaves delayed calls pending or
  sockets open (they are then cancelled and closed, so the next test starts clean). Setting
  :attr:`TestCase.freshReactor` runs each test on a reactor of its own instead (kind from
  ``GLISTEN_REACTOR``, default epoll), installed as the global reactor meanwhile.
"""

from __future__ import annotations

import dis
import os
import shutil
import tempfile
import unittest
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from glisten.internet import defer
from glisten.internet.main import getReactor
from glisten.python.failure import Failure
from glisten.trial._driver import LogCapture, ReactorDriver
from glisten.trial.util import DEFAULT_TIMEOUT_DURATION, DirtyReactorAggregateError

__all__ = [
    "FailTest",
    "SkipTest",
    "SynchronousTestCase",
    "TestCase",
    "Todo",
    "makeTodo",
]

_T = TypeVar("_T")

SkipTest = unittest.SkipTest


class FailTest(AssertionError):
    """Raised by failed assertions (trial's ``failureException``)."""


class Todo:
    """A test expected to fail (trial's ``todo``).

    :param reason: why it is expected to fail.
    :param errors: the exception types it is expected to fail with (any, if ``None``).
    """

    def __init__(self, reason: str, errors: Sequence[type[BaseException]] | None = None) -> None:
        self.reason = reason
        self.errors = errors

    def __repr__(self) -> str:
        return f"<Todo reason={self.reason!r} errors={self.errors!r}>"


def makeTodo(value: str | tuple[Any, str] | Todo) -> Todo:
    """Make a :class:`Todo` from a ``todo`` attribute: a reason, or ``(errors, reason)``."""
    if isinstance(value, Todo):
        return value
    if isinstance(value, str):
        return Todo(reason=value)
    errors, reason = value
    if isinstance(errors, type):
        errors = [errors]
    return Todo(reason=reason, errors=list(errors))


class _Patch:
    """One attribute replaced by :meth:`SynchronousTestCase.patch`."""

    def __init__(self, obj: Any, name: str, value: Any) -> None:
        self._obj = obj
        self._name = name
        self._hadOwn = name in getattr(obj, "__dict__", {})
        self._old = getattr(obj, name, None) if self._hadOwn else None
        self._restored = False
        setattr(obj, name, value)

    def restore(self) -> None:
        """Put the original value back (once)."""
        if self._restored:
            return
        self._restored = True
        if self._hadOwn:
            setattr(self._obj, self._name, self._old)
        else:
            try:
                delattr(self._obj, self._name)
            except AttributeError:
                setattr(self._obj, self._name, self._old)


def _lines(function: Callable[..., Any]) -> tuple[str, set[int]]:
    code = getattr(function, "__code__", None)
    if code is None:
        code = getattr(getattr(function, "__func__", None), "__code__", None)
    if code is None:
        raise TypeError(f"{function!r} has no code to match warnings against")
    lines = {line for _, line in dis.findlinestarts(code) if line is not None}
    lines.add(code.co_firstlineno)
    return os.path.abspath(code.co_filename), lines


class SynchronousTestCase(unittest.TestCase):
    """A test case with trial's API, for tests that do not need a running reactor.

    Class or method attributes: ``skip = "reason"`` skips; ``todo = "reason"`` (or
    ``(ExceptionTypes, "reason")``) marks an expected failure.
    """

    failureException = FailTest

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Map trial's skip/todo attributes onto what unittest (and pytest) understand.
        skip = cls.__dict__.get("skip")
        if skip:
            cls.__unittest_skip__ = True  # type: ignore[attr-defined]
            cls.__unittest_skip_why__ = str(skip)  # type: ignore[attr-defined]
        if cls.__dict__.get("todo"):
            cls.__unittest_expecting_failure__ = True  # type: ignore[attr-defined]
        for name, member in list(cls.__dict__.items()):
            if not name.startswith("test") or not callable(member):
                continue
            methodSkip = getattr(member, "skip", None)
            if methodSkip:
                member.__unittest_skip__ = True
                member.__unittest_skip_why__ = str(methodSkip)
            if getattr(member, "todo", None):
                member.__unittest_expecting_failure__ = True

    # ---------------------------------------------------------------------- running
    def run(self, result: Any = None) -> Any:
        self._logs = LogCapture()
        self._logs.start()
        self._firstCleanupAdded = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for args, kwargs in self.getSuppress():
                warnings.filterwarnings(*args, **kwargs)  # type: ignore[arg-type]
            self._warnings: list[warnings.WarningMessage] = caught
            try:
                outcome = super().run(result)
            finally:
                self._logs.stop()
        for w in self._warnings:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return outcome

    def _callSetUp(self) -> None:
        # Registered before setUp's own cleanups, so it runs after all of them.
        self.addCleanup(self._checkLeftovers)
        self._runPart(self.setUp)

    def _callTestMethod(self, method: Callable[..., Any]) -> None:
        self._runPart(method)

    def _callTearDown(self) -> None:
        self._runPart(self.tearDown)

    def _callCleanup(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        self._runPart(lambda: function(*args, **kwargs))

    def _runPart(self, function: Callable[..., Any]) -> None:
        result = function()
        if isinstance(result, defer.Deferred):
            outcome: list[Any] = []
            result.addBoth(outcome.append)
            if not outcome:
                raise self.failureException(
                    f"{function!r} returned a Deferred that has not fired; "
                    "use glisten.trial.unittest.TestCase to wait for it"
                )
            if isinstance(outcome[0], Failure):
                outcome[0].raiseException()

    def _checkLeftovers(self) -> None:
        self._logs.check()

    # ---------------------------------------------------------------- trial's helpers
    def getSkip(self) -> str | None:
        """The skip reason of this test (method or class attribute), if any."""
        method = getattr(self, self._testMethodName, None)
        return getattr(method, "skip", None) or getattr(self, "skip", None)

    def getSuppress(self) -> list[tuple[tuple[str], dict[str, Any]]]:
        """The warning filters of this test: the method's ``suppress`` attribute, else the
        class's (a list made with :func:`glisten.trial.util.suppress`)."""
        method = getattr(self, self._testMethodName, None)
        value = getattr(method, "suppress", None)
        if value is None:
            value = getattr(self, "suppress", None)
        return list(value or [])

    def getTodo(self) -> Todo | None:
        """The :class:`Todo` of this test (method or class attribute), if any."""
        method = getattr(self, self._testMethodName, None)
        value = getattr(method, "todo", None) or getattr(self, "todo", None)
        return makeTodo(value) if value else None

    def successResultOf(self, deferred: defer.Deferred[_T] | Any) -> _T:
        """Return the result of a Deferred that has already succeeded.

        :raises FailTest: it has no result yet, or failed.
        """
        deferred = defer.ensureDeferred(deferred)
        results: list[Any] = []
        deferred.addBoth(results.append)
        if not results:
            self.fail(f"Success result expected on {deferred!r}, found no result instead")
        result = results[0]
        if isinstance(result, Failure):
            self.fail(
                f"Success result expected on {deferred!r}, found failure result instead:\n"
                f"{result.getTraceback()}"
            )
        return result

    def failureResultOf(
        self, deferred: defer.Deferred[Any] | Any, *expectedExceptionTypes: type[BaseException]
    ) -> Failure:
        """Return the failure of a Deferred that has already failed (with one of
        ``expectedExceptionTypes``, if given).

        :raises FailTest: it has no result yet, succeeded or failed differently.
        """
        deferred = defer.ensureDeferred(deferred)
        results: list[Any] = []
        deferred.addBoth(results.append)
        if not results:
            self.fail(f"Failure result expected on {deferred!r}, found no result instead")
        result = results[0]
        if not isinstance(result, Failure):
            self.fail(
                f"Failure result expected on {deferred!r}, found success result ({result!r}) "
                "instead"
            )
        if expectedExceptionTypes and not result.check(*expectedExceptionTypes):
            expected = " or ".join(
                f"{t.__module__}.{t.__qualname__}" for t in expectedExceptionTypes
            )
            self.fail(
                f"Failure of type ({expected}) expected on {deferred!r}, found type "
                f"{result.type!r} instead: {result.getTraceback()}"
            )
        return result

    def assertNoResult(self, deferred: defer.Deferred[Any] | Any) -> None:
        """Assert that ``deferred`` has not fired yet (a failure it has is then handled).

        :raises FailTest: it has a result.
        """
        deferred = defer.ensureDeferred(deferred)
        results: list[Any] = []

        def record(value: Any) -> Any:
            results.append(value)
            return value

        deferred.addBoth(record)
        if results:
            deferred.addErrback(lambda _: None)
            self.fail(f"No result expected on {deferred!r}, found {results[0]!r} instead")

    def assertFailure(
        self, deferred: defer.Deferred[Any], *expectedFailures: type[BaseException]
    ) -> defer.Deferred[BaseException]:
        """Return a Deferred that fires with the exception if ``deferred`` fails with one of
        ``expectedFailures``, and fails the test otherwise."""

        def succeeded(result: Any) -> Any:
            raise self.failureException(f"did not catch an error, instead got {result!r}")

        def failed(failure: Failure) -> BaseException:
            if failure.check(*expectedFailures):
                return failure.value
            raise self.failureException(f"\nExpected: {expectedFailures!r}\nGot:\n{failure}")

        return deferred.addCallbacks(succeeded, failed)

    def flushLoggedErrors(self, *errorTypes: type[BaseException]) -> list[Failure]:
        """Remove and return the failures logged so far in this test (of ``errorTypes``, or
        all), so that they do not fail it."""
        return self._logs.flush(*errorTypes)

    def flushWarnings(
        self, offendingFunctions: Sequence[Callable[..., Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Remove and return the warnings emitted so far in this test.

        :param offendingFunctions: only warnings whose location lies inside one of these
            functions (all warnings if ``None``).
        :return: dicts with ``message``, ``category``, ``filename`` and ``lineno``.
        """
        if offendingFunctions is None:
            chosen = list(self._warnings)
        else:
            places = [_lines(f) for f in offendingFunctions]
            chosen = [
                w
                for w in self._warnings
                if any(
                    os.path.abspath(w.filename) == filename and w.lineno in lines
                    for filename, lines in places
                )
            ]
        for w in chosen:
            self._warnings.remove(w)
        return [
            {
                "message": str(w.message),
                "category": w.category,
                "filename": w.filename,
                "lineno": w.lineno,
            }
            for w in chosen
        ]

    def mktemp(self) -> str:
        """Return a new path (not created) in a directory private to this test, removed when
        the test ends."""
        base = getattr(self, "_tempBase", None)
        if base is None:
            base = tempfile.mkdtemp(prefix=f"glisten-{self._testMethodName[:40]}-")
            self._tempBase = base
            self.addCleanup(shutil.rmtree, base, True)
        return tempfile.mktemp(dir=base)

    def patch(self, obj: Any, attribute: str, value: Any) -> _Patch:
        """Replace ``obj.attribute`` with ``value`` until the test ends.

        :return: an object whose ``restore()`` puts the original back earlier.
        """
        patch = _Patch(obj, attribute, value)
        self.addCleanup(patch.restore)
        return patch

    # ------------------------------------------------------------ trial's assertions
    def assertIdentical(self, first: Any, second: Any, msg: str | None = None) -> Any:
        """Assert ``first is second``; return ``first``."""
        if first is not second:
            self.fail(msg or f"{first!r} is not {second!r}")
        return first

    def assertNotIdentical(self, first: Any, second: Any, msg: str | None = None) -> Any:
        """Assert ``first is not second``; return ``first``."""
        if first is second:
            self.fail(msg or f"{first!r} is {second!r}")
        return first

    def assertApproximates(
        self, first: float, second: float, tolerance: float, msg: str | None = None
    ) -> float:
        """Assert ``abs(first - second) <= tolerance``; return ``first``."""
        if abs(first - second) > tolerance:
            self.fail(msg or f"{first!r} ~== {second!r}")
        return first

    def assertSubstring(self, substring: Any, astring: Any, msg: str | None = None) -> None:
        """Assert ``substring in astring``."""
        self.assertIn(substring, astring, msg)

    def assertNotSubstring(self, substring: Any, astring: Any, msg: str | None = None) -> None:
        """Assert ``substring not in astring``."""
        self.assertNotIn(substring, astring, msg)

    def assertRaises(self, exception: Any, f: Any = None, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """With a callable: call it, assert it raises ``exception`` and return the exception
        (trial's form). Without: the standard context manager."""
        if f is None:
            return super().assertRaises(exception)
        try:
            f(*args, **kwargs)
        except exception as e:
            return e
        except BaseException as e:
            self.fail(f"{exception!r} not raised ({type(e).__name__} raised instead: {e})")
        self.fail(f"{exception!r} not raised ({f!r} returned)")

    def assertWarns(self, category: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Trial's form ``assertWarns(category, message, filename, f, *args)``: call ``f``,
        assert it emits exactly one warning of ``category`` with ``message`` attributed to
        ``filename``, and return what ``f`` returned. Other forms are the standard one."""
        if len(args) >= 3 and isinstance(args[0], str) and callable(args[2]):
            message, filename, f, *fargs = args
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = f(*fargs, **kwargs)
            if not caught:
                self.fail("No warnings emitted")
            first = caught[0]
            if len(caught) > 1:
                self.fail(
                    f"Expected one warning, got {len(caught)}: {[str(w.message) for w in caught]}"
                )
            self.assertEqual(first.category, category)
            self.assertEqual(str(first.message), message)
            if not (
                os.path.samefile(first.filename, filename)
                if os.path.exists(first.filename) and os.path.exists(filename)
                else first.filename == filename
            ):
                self.fail(f"Warning in {first.filename!r}, expected {filename!r}")
            return result
        return super().assertWarns(category, *args, **kwargs)


class TestCase(SynchronousTestCase):
    """A :class:`SynchronousTestCase` whose tests run on the reactor.

    ``setUp``, the test, ``tearDown`` and cleanups may return Deferreds or be coroutines; they
    are run on the reactor until they finish. The test fails if it takes longer than
    :attr:`timeout` seconds (set on the class or the method), or leaves delayed calls pending
    or sockets open (:class:`~glisten.trial.util.DirtyReactorAggregateError`).

    :cvar timeout: seconds each part may run (default 120).
    :cvar freshReactor: run each test on a new reactor, installed as the global one while the
        test runs, instead of the global reactor (class or method attribute). Tests then
        cannot see one another's leftovers at all, but code that imported ``reactor`` before
        the test started still holds the global one.
    """

    timeout: float = DEFAULT_TIMEOUT_DURATION
    freshReactor: bool = False

    def run(self, result: Any = None) -> Any:
        self._driver: ReactorDriver | None = None
        self._sharedReactor = False
        self._dirtBefore: tuple[set[Any], set[Any]] = (set(), set())
        try:
            return super().run(result)
        finally:
            driver, self._driver = self._driver, None
            if driver is not None:
                if self._sharedReactor:
                    _cleanSharedReactor(driver, self._dirtBefore)
                else:
                    driver.finish(check=False)

    def _wantsFreshReactor(self) -> bool:
        method = getattr(self, self._testMethodName, None)
        value = getattr(method, "freshReactor", None)
        if value is None:
            value = self.freshReactor
        return bool(value)

    def _callSetUp(self) -> None:
        if self._wantsFreshReactor():
            self._driver = ReactorDriver()
            self._driver.install()
        else:
            self._driver = ReactorDriver(getReactor())
            self._sharedReactor = True
            self._dirtBefore = _reactorDirt(self._driver.reactor)
        super()._callSetUp()

    def getTimeout(self) -> float:
        """The timeout of this test: the method's ``timeout`` attribute, else the class's."""
        method = getattr(self, self._testMethodName, None)
        value = getattr(method, "timeout", None)
        if value is None:
            value = self.timeout
        return float(value)

    def _runPart(self, function: Callable[..., Any]) -> None:
        driver = self._driver
        if driver is None:
            super()._runPart(function)
            return
        driver.run(function, self.getTimeout())

    def _checkLeftovers(self) -> None:
        driver, self._driver = self._driver, None
        problems: list[BaseException] = []
        if driver is not None:
            try:
                if self._sharedReactor:
                    driver.settle()
                    _cleanSharedReactor(driver, self._dirtBefore)
                else:
                    driver.finish(check=True)
            except DirtyReactorAggregateError as e:
                problems.append(e)
        try:
            super()._checkLeftovers()
        except AssertionError as e:
            problems.append(e)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise DirtyReactorAggregateError([str(p) for p in problems], [])


def _reactorDirt(reactor: Any) -> tuple[set[Any], set[Any]]:
    """The active delayed calls and the watched descriptors of ``reactor`` now."""
    calls = {call for call in reactor.getDelayedCalls() if call.active()}
    selectables = set(reactor.getReaders()) | set(reactor.getWriters())
    return calls, selectables


def _owner(call: Any) -> object | None:
    """The object whose method a delayed call will call, if it calls a method."""
    return getattr(call.func, "__self__", None)


def _cleanSharedReactor(driver: ReactorDriver, before: tuple[set[Any], set[Any]]) -> None:
    """Cancel the delayed calls and close the descriptors this test left in the global reactor
    (as trial's janitor does), so that the next test starts clean.

    What was there already when the test started (``before``: left by a plain pytest test
    that shares the process, say) is neither blamed on this test nor touched; nor is what that
    leftover scheduled when it fired while this test ran the reactor (a call of a method of the
    same object: an idle timeout that schedules its abort, say).

    :raises DirtyReactorAggregateError: if the test left any.
    """
    reactor = driver.reactor
    callsBefore, selectablesBefore = before
    nowCalls, nowSelectables = _reactorDirt(reactor)
    earlierOwners = {id(owner) for owner in map(_owner, callsBefore) if owner is not None}
    calls = []
    for call in nowCalls - callsBefore:
        owner = _owner(call)
        if owner is not None and id(owner) in earlierOwners:
            continue
        calls.append(repr(call))
        call.cancel()
    selectables = []
    for selectable in nowSelectables - selectablesBefore:
        selectables.append(repr(selectable))
        reactor.removeReader(selectable)
        reactor.removeWriter(selectable)
        if hasattr(selectable, "signalProcess"):
            try:
                selectable.signalProcess("KILL")
            except Exception:
                pass
        sock = getattr(selectable, "socket", None)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    if calls or selectables:
        raise DirtyReactorAggregateError(sorted(calls), sorted(selectables))
