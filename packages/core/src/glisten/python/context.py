"""Dynamic scope: values visible to everything a function calls (``twisted.python.context``).

``call({"key": value}, f)`` runs ``f`` with ``get("key")`` answering ``value`` inside it
(and in whatever it calls), per thread. Prefer :mod:`contextvars` in new code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "ContextTracker",
    "ThreadedContextTracker",
    "call",
    "get",
    "setDefault",
    "theContextTracker",
]

_T = TypeVar("_T")

defaultContextDict: dict[Any, Any] = {}


def setDefault(key: Any, value: Any) -> None:
    """Make ``value`` what :func:`get` answers for ``key`` outside any :func:`call`."""
    defaultContextDict[key] = value


class ContextTracker:
    """A stack of context dictionaries (for one thread)."""

    def __init__(self) -> None:
        self.contexts: list[dict[Any, Any]] = [defaultContextDict]

    def callWithContext(
        self, newContext: dict[Any, Any], func: Callable[..., _T], *args: Any, **kw: Any
    ) -> _T:
        """Call ``func`` with ``newContext`` added on top of the current context."""
        merged = self.contexts[-1].copy()
        merged.update(newContext)
        self.contexts.append(merged)
        try:
            return func(*args, **kw)
        finally:
            self.contexts.pop()

    def getContext(self, key: Any, default: Any = None) -> Any:
        """The innermost value for ``key``, or ``default``."""
        return self.contexts[-1].get(key, default)


class ThreadedContextTracker:
    """A :class:`ContextTracker` per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def currentContext(self) -> ContextTracker:
        """This thread's tracker."""
        tracker: ContextTracker | None = getattr(self._local, "tracker", None)
        if tracker is None:
            tracker = self._local.tracker = ContextTracker()
        return tracker

    def callWithContext(
        self, ctx: dict[Any, Any], func: Callable[..., _T], *a: Any, **k: Any
    ) -> _T:
        """See :meth:`ContextTracker.callWithContext`."""
        return self.currentContext().callWithContext(ctx, func, *a, **k)

    def getContext(self, key: Any, default: Any = None) -> Any:
        """See :meth:`ContextTracker.getContext`."""
        return self.currentContext().getContext(key, default)


theContextTracker = ThreadedContextTracker()
call = theContextTracker.callWithContext
get = theContextTracker.getContext
