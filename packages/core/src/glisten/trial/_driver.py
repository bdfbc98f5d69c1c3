"""Running one test on a fresh reactor: shared by the pytest plugin and ``TestCase``.

A :class:`ReactorDriver` owns one reactor for one test. It installs it as the global reactor
for the test's duration (so code that does ``from glisten.internet import reactor`` at call
time gets it), runs it until a Deferred fires (:meth:`ReactorDriver.wait`, with a timeout),
then checks that nothing was left behind and shuts it down for good (:meth:`finish`).

A :class:`LogCapture` collects the failures logged through ``glisten.logger`` meanwhile, so
that errors nobody flushed fail the test.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from glisten.internet import defer
from glisten.python.failure import Failure
from glisten.trial.util import DirtyReactorAggregateError, LoggedErrorsNotFlushed

__all__ = ["REACTOR_ENV", "LogCapture", "ReactorDriver", "makeReactor"]

#: Environment variable naming the reactor to test with.
REACTOR_ENV = "GLISTEN_REACTOR"

_REACTORS = {
    "epoll": ("glisten.internet.epollreactor", "EPollReactor"),
    "poll": ("glisten.internet.pollreactor", "PollReactor"),
    "select": ("glisten.internet.selectreactor", "SelectReactor"),
    "asyncio": ("glisten.internet.asyncioreactor", "AsyncioSelectorReactor"),
}


def makeReactor(name: str | None = None) -> Any:
    """Make a new, not installed reactor of the kind ``name`` (default: ``$GLISTEN_REACTOR``,
    else ``epoll``).

    :raises ValueError: the name is unknown.
    """
    if name is None:
        name = os.environ.get(REACTOR_ENV) or "epoll"
    try:
        moduleName, className = _REACTORS[name]
    except KeyError:
        raise ValueError(
            f"unknown reactor {name!r} in {REACTOR_ENV}; choose one of {', '.join(_REACTORS)}"
        ) from None
    module = importlib.import_module(moduleName)
    return getattr(module, className)()


_MISSING = object()


class LogCapture:
    """Collects failures logged through ``glisten.logger`` while started."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self._publisher: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        failure = event.get("log_failure")
        if isinstance(failure, Failure):
            self.failures.append(failure)

    def start(self) -> None:
        from glisten.logger import globalLogPublisher

        self._publisher = globalLogPublisher
        globalLogPublisher.addObserver(self)

    def stop(self) -> None:
        if self._publisher is not None:
            self._publisher.removeObserver(self)
            self._publisher = None

    def flush(self, *errorTypes: type[BaseException]) -> list[Failure]:
        """Remove and return the captured failures of ``errorTypes`` (all without types)."""
        if not errorTypes:
            flushed, self.failures = self.failures, []
            return flushed
        flushed = [f for f in self.failures if f.check(*errorTypes)]
        self.failures = [f for f in self.failures if not f.check(*errorTypes)]
        return flushed

    def check(self) -> None:
        """Collect garbage (so unhandled-error reports of dead Deferreds arrive now), then fail
        if failures are left.

        :raises LoggedErrorsNotFlushed: errors were logged and not flushed.
        """
        gc.collect()
        if self.failures:
            failures, self.failures = self.failures, []
            raise LoggedErrorsNotFlushed(failures)


class ReactorDriver:
    """Owns a fresh reactor for one test.

    :param reactor: the reactor (default: :func:`makeReactor`).
    """

    def __init__(self, reactor: Any = None) -> None:
        self.reactor = reactor if reactor is not None else makeReactor()
        self._savedModule: Any = _MISSING
        self._savedAttr: Any = _MISSING
        self._installed = False
        self._finished = False

    # ------------------------------------------------------------------- global install
    def install(self) -> None:
        """Make the reactor the global one until :meth:`uninstall`."""
        import glisten.internet as package

        self._savedModule = sys.modules.get("glisten.internet.reactor", _MISSING)
        self._savedAttr = package.__dict__.get("reactor", _MISSING)
        sys.modules["glisten.internet.reactor"] = self.reactor
        package.reactor = self.reactor
        self._installed = True

    def uninstall(self) -> None:
        """Put back whatever was the global reactor before :meth:`install`."""
        if not self._installed:
            return
        import glisten.internet as package

        if self._savedModule is _MISSING:
            sys.modules.pop("glisten.internet.reactor", None)
        else:
            sys.modules["glisten.internet.reactor"] = self._savedModule
        if self._savedAttr is _MISSING:
            package.__dict__.pop("reactor", None)
        else:
            package.reactor = self._savedAttr
        self._installed = False

    # ------------------------------------------------------------------------- running
    def run(self, start: Callable[[], Any], timeout: float) -> Any:
        """Call ``start()`` and, if it returns a Deferred or coroutine, run the reactor until
        that fires.

        Coroutine functions are started inside the running reactor, as a reactor callback would
        run them. Plain results are returned without running the reactor.

        :return: the result.
        :raises: the failure's exception if it failed; :class:`defer.TimeoutError` after
            ``timeout`` seconds (the Deferred is cancelled).
        """
        if inspect.iscoroutinefunction(start):
            holder: list[defer.Deferred[Any]] = []
            gate: defer.Deferred[Any] = defer.Deferred()

            def begin() -> None:
                try:
                    d = defer.Deferred.fromCoroutine(start())
                except BaseException:
                    gate.errback(Failure())
                    return
                holder.append(d)
                d.chainDeferred(gate)

            self.reactor.callWhenRunning(begin)
            return self.wait(gate, timeout)
        result = start()
        if inspect.iscoroutine(result):
            result = defer.Deferred.fromCoroutine(result)
        if isinstance(result, defer.Deferred):
            return self.wait(result, timeout)
        return result

    def wait(self, d: defer.Deferred[Any], timeout: float) -> Any:
        """Run the reactor until ``d`` fires and return its result (or raise its failure).

        :raises defer.TimeoutError: ``d`` did not fire within ``timeout`` seconds.
        :raises RuntimeError: the reactor was stopped before ``d`` fired.
        """
        results: list[Any] = []
        reactor = self.reactor

        def done(result: Any) -> None:
            results.append(result)
            if reactor.running:
                reactor.crash()

        d.addBoth(done)
        if not results:
            timedOut: list[bool] = []

            def onTimeout() -> None:
                timedOut.append(True)
                d.cancel()
                if not results and reactor.running:
                    reactor.crash()

            call = reactor.callLater(timeout, onTimeout)
            try:
                reactor.run(installSignalHandlers=False)
            finally:
                if call.active():
                    call.cancel()
            if timedOut:
                if results and isinstance(results[0], Failure):
                    results[0].trap(defer.CancelledError, defer.TimeoutError)
                raise defer.TimeoutError(f"test timed out after {timeout} seconds")
            if not results:
                raise RuntimeError("the reactor stopped before the test's Deferred fired")
        result = results[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result

    # ----------------------------------------------------------------------- finishing
    def dirt(self) -> tuple[list[str], list[str]]:
        """Cancel the pending delayed calls and return descriptions of them and of the open
        descriptors (which shutdown will close)."""
        reactor = self.reactor
        calls = []
        for call in reactor.getDelayedCalls():
            if call.active():
                calls.append(repr(call))
                call.cancel()
        selectables: list[Any] = []
        for s in list(reactor.getReaders()) + list(reactor.getWriters()):
            if s not in selectables:
                selectables.append(s)
        return calls, [repr(s) for s in selectables]

    def settle(self) -> None:
        """Give the reactor one turn, so that work due now (a ``connectionLost`` scheduled by
        ``loseConnection``, say) runs before the dirty check."""
        d: defer.Deferred[None] = defer.Deferred()
        self.reactor.callLater(0, d.callback, None)
        try:
            self.wait(d, 5.0)
        except (defer.TimeoutError, RuntimeError):
            pass

    def finish(self, check: bool = True) -> None:
        """Check for leftovers (if ``check``), stop the reactor for good (freeing its
        descriptors and threads) and uninstall it.

        :raises DirtyReactorAggregateError: delayed calls or descriptors were left behind.
        """
        if self._finished:
            return
        self._finished = True
        problems: tuple[list[str], list[str]] = ([], [])
        try:
            if not getattr(self.reactor, "_startedBefore", False):
                if check:
                    self.settle()
                problems = self.dirt()
                self._shutdown()
        finally:
            self.uninstall()
        if check and (problems[0] or problems[1]):
            raise DirtyReactorAggregateError(*problems)

    def check(self) -> None:
        """Check for leftovers without shutting the reactor down (for a shared reactor).

        :raises DirtyReactorAggregateError: delayed calls or descriptors were left behind.
        """
        self.settle()
        calls, selectables = self.dirt()
        if calls or selectables:
            raise DirtyReactorAggregateError(calls, selectables)

    def _shutdown(self) -> None:
        reactor = self.reactor

        def stop() -> None:
            try:
                reactor.stop()
            except Exception:
                reactor.crash()

        reactor.callWhenRunning(stop)
        reactor.run(installSignalHandlers=False)
