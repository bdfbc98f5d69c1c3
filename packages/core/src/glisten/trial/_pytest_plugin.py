"""The glisten pytest plugin: run ``async def`` tests and Deferred-returning tests on a reactor.

glisten-core registers this module under the ``pytest11`` entry point, so it is active wherever
glisten-core is installed. It only acts on tests that use it; other tests run exactly as
without it.

Writing tests
-------------

An ``async def`` test, or a plain test that uses the ``reactor`` fixture and returns a
Deferred, runs on a **fresh reactor** made for that test (kind from the ``GLISTEN_REACTOR``
environment variable: ``epoll`` (the default), ``poll``, ``select`` or ``asyncio``). The reactor
is installed as the global one while the test runs, so ``from glisten.internet import reactor``
inside the code under test gets it::

    async def test_echo(reactor):
        port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")
        try:
            ...  # await Deferreds
        finally:
            await port.stopListening()

    def test_deferred(reactor):
        return task.deferLater(reactor, 0, lambda: None)

A plain test that returns a Deferred *without* asking for ``reactor`` is run trial's way: the
Deferred can only have been set up on the process-wide global reactor, so that one is run until
the Deferred fires (and checked for leftovers, but not replaced or shut down). Prefer the
fixture.

Fixtures:

``reactor``
    The fresh reactor of this test (also usable from synchronous tests that run it
    themselves). Fixtures that depend on it are torn down before it is checked.
``clock``
    A new :class:`glisten.internet.task.Clock` for fake time.
``flushLoggedErrors``
    A function ``flushLoggedErrors(*exceptionTypes) -> list[Failure]`` that removes expected
    logged errors (see below) and returns them.

Checks, which fail the test:

- **Timeout**: the test's Deferred must fire within 120 seconds, or the value given with
  ``@pytest.mark.glisten_timeout(seconds)`` or a ``timeout`` attribute on the test function.
  On timeout the Deferred is cancelled.
- **Dirty reactor**: delayed calls still pending or sockets still open when the test (and the
  fixtures using ``reactor``) finished. They are cancelled/closed, and the test fails with
  :class:`glisten.trial.util.DirtyReactorAggregateError`. Wait for what you start (await
  ``port.stopListening()``, wait for ``connectionLost``) before returning.
- **Logged errors**: a failure logged through ``glisten.logger`` (``log.failure(...)``, an
  unhandled error in a Deferred) during the test fails it with
  :class:`glisten.trial.util.LoggedErrorsNotFlushed`, unless the test flushed it with the
  ``flushLoggedErrors`` fixture.

These checks apply only to tests that are ``async def``, return a Deferred, or use the
``reactor`` or ``flushLoggedErrors`` fixture. Async fixtures are not supported: set things up
in the test or in a synchronous fixture. Tests marked for another async framework
(``asyncio``, ``anyio``, ``trio``) are left to it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from glisten.trial._driver import LogCapture, ReactorDriver
from glisten.trial.util import DEFAULT_TIMEOUT_DURATION

__all__ = ["clock", "flushLoggedErrors", "reactor"]

_STATE = pytest.StashKey["_TestState"]()
_OTHER_ASYNC_MARKERS = ("asyncio", "anyio", "trio")


class _TestState:
    """The reactor and log capture of one test, created on first need."""

    def __init__(self) -> None:
        self.driver = ReactorDriver()
        self.driver.install()
        self.logs = LogCapture()
        self.logs.start()
        self.ownedByFixture = False
        self.finished = False

    def finish(self, check: bool) -> None:
        """Check and release everything; raise the first problem found (if ``check``)."""
        if self.finished:
            return
        self.finished = True
        try:
            self.driver.finish(check=check)
        finally:
            self.logs.stop()
        if check:
            self.logs.check()


def _state(item: pytest.Item, create: bool = True) -> _TestState | None:
    state = item.stash.get(_STATE, None)
    if state is None and create:
        state = _TestState()
        item.stash[_STATE] = state
    return state


def _timeoutFor(item: pytest.Item, function: Any) -> float:
    marker = item.get_closest_marker("glisten_timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    value = getattr(function, "timeout", None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return DEFAULT_TIMEOUT_DURATION


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "glisten_timeout(seconds): how long an async/Deferred test may run on the glisten "
        "reactor before it fails",
    )


def _leftToOthers(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) is not None for name in _OTHER_ASYNC_MARKERS)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
    """Wrap the test function so that a Deferred or coroutine it returns is run on a reactor.

    The wrapper returns what the function returned in every other case, so pytest (and other
    plugins) see ordinary tests unchanged.
    """
    if _leftToOthers(pyfuncitem):
        yield
        return
    original = pyfuncitem.obj
    isAsync = inspect.iscoroutinefunction(original)

    @functools.wraps(original)
    def wrapper(**kwargs: Any) -> Any:
        if isAsync:
            return _runOnReactor(pyfuncitem, original, kwargs, asyncFunction=True)
        result = original(**kwargs)
        if _isDeferred(result) or inspect.iscoroutine(result):
            return _runOnReactor(pyfuncitem, lambda: result, {}, asyncFunction=False)
        return result

    # pytest refuses coroutine functions it cannot run; the wrapper is a plain function.
    pyfuncitem.obj = wrapper
    try:
        yield
    finally:
        pyfuncitem.obj = original


def _isDeferred(value: Any) -> bool:
    from glisten.internet.defer import Deferred

    return isinstance(value, Deferred)


def _runOnReactor(
    item: pytest.Function,
    function: Callable[..., Any],
    kwargs: dict[str, Any],
    asyncFunction: bool,
) -> None:
    timeout = _timeoutFor(item, getattr(item, "obj", function))
    state = _state(item, create=False)
    if asyncFunction:

        async def start() -> Any:
            return await function(**kwargs)

        starter: Callable[[], Any] = start
    else:
        result = function()
        if state is None:
            _runOnGlobalReactor(result, timeout)
            return None

        def starter() -> Any:
            return result

    if state is None:
        state = _state(item)
        assert state is not None
    try:
        state.driver.run(starter, timeout)
    except BaseException:
        if not state.ownedByFixture:
            state.finish(check=False)
        raise
    if not state.ownedByFixture:
        state.finish(check=True)
    else:
        # Errors logged by the test itself fail it here; later ones fail the teardown.
        state.logs.check()
    return None


def _runOnGlobalReactor(result: Any, timeout: float) -> None:
    """A synchronous test that uses no ``reactor`` fixture returned a Deferred (or coroutine):
    its Deferred can only be fired by the global reactor, as under trial. Run that one (if
    the test installed it) until the Deferred fires, and check it for leftovers."""
    import sys

    from glisten.internet.defer import Deferred

    if inspect.iscoroutine(result):
        result = Deferred.fromCoroutine(result)
    outcome: list[Any] = []
    result.addBoth(outcome.append)
    if outcome:
        _raiseIfFailure(outcome[0])
        return
    globalReactor = sys.modules.get("glisten.internet.reactor")
    if globalReactor is None or not hasattr(globalReactor, "callLater"):
        raise RuntimeError(
            "the test returned a Deferred that has not fired, and no reactor is installed to "
            "fire it: request the 'reactor' fixture or make the test 'async def'"
        )
    driver = ReactorDriver(globalReactor)
    driver.wait(result, timeout)
    _raiseIfFailure(outcome[0])
    driver.check()


def _raiseIfFailure(value: Any) -> None:
    from glisten.python.failure import Failure

    if isinstance(value, Failure):
        value.raiseException()


@pytest.fixture
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh reactor for this test, installed as the global reactor meanwhile; checked for
    leftovers (pending calls, open sockets) and shut down after the test."""
    state = _state(request.node)
    assert state is not None
    state.ownedByFixture = True
    yield state.driver.reactor
    state.finish(check=True)


@pytest.fixture
def clock() -> Any:
    """A fake clock (:class:`glisten.internet.task.Clock`) for this test."""
    from glisten.internet.task import Clock

    return Clock()


@pytest.fixture
def flushLoggedErrors(request: pytest.FixtureRequest) -> Iterator[Callable[..., list[Any]]]:
    """``flushLoggedErrors(*exceptionTypes)``: remove the failures logged so far in this test
    (of those types, or all) and return them, so that they do not fail the test."""
    state = _state(request.node)
    assert state is not None
    state.ownedByFixture = True
    yield state.logs.flush
    state.finish(check=True)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Release a reactor that a failed or unusual test left behind."""
    state = _state(item, create=False)
    if state is not None and not state.ownedByFixture:
        state.finish(check=False)
