"""Errors that tests run on a glisten reactor fail with, and the default timeout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT_DURATION",
    "DirtyReactorAggregateError",
    "LoggedErrorsNotFlushed",
    "suppress",
]

#: Seconds a test may wait for its Deferred before it fails (trial's default).
DEFAULT_TIMEOUT_DURATION = 120.0


class DirtyReactorAggregateError(Exception):
    """A test left delayed calls pending or sockets open in the reactor.

    Leftovers mean the test did not wait for something it started; they would leak into the
    next test, so the test fails and glisten cancels and closes them.

    :ivar delayedCalls: descriptions of the pending delayed calls.
    :ivar selectables: descriptions of the open sockets/descriptors.
    """

    def __init__(self, delayedCalls: Sequence[str], selectables: Sequence[str] = ()) -> None:
        self.delayedCalls = list(delayedCalls)
        self.selectables = list(selectables)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = ["Reactor was unclean."]
        if self.delayedCalls:
            lines.append("DelayedCalls: (set glisten.internet.base.DelayedCall.debug = True)")
            lines.extend(self.delayedCalls)
        if self.selectables:
            lines.append("Selectables:")
            lines.extend(self.selectables)
        return "\n".join(lines)


class LoggedErrorsNotFlushed(AssertionError):
    """Errors were logged during a test and the test did not flush them.

    Call ``flushLoggedErrors`` for errors the test expects.

    :ivar failures: the logged failures.
    """

    def __init__(self, failures: Sequence[object]) -> None:
        self.failures = list(failures)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{len(self.failures)} error(s) logged during the test and not flushed:"]
        for failure in self.failures:
            getTraceback = getattr(failure, "getTraceback", None)
            parts.append(getTraceback() if getTraceback is not None else repr(failure))
        return "\n".join(parts)


def suppress(action: str = "ignore", **kwarg: Any) -> tuple[tuple[str], dict[str, Any]]:
    """A warning filter for a test's ``suppress`` attribute (a list of these).

    ``test_old.suppress = [suppress(category=DeprecationWarning, message="x.*")]`` runs the
    test with :func:`warnings.filterwarnings` applied with these arguments.
    """
    return ((action,), kwarg)
