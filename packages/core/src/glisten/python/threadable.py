"""Thread helpers Twisted code imports: ``synchronize``, ``isInIOThread``."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "getThreadID",
    "init",
    "isInIOThread",
    "registerAsIOThread",
    "synchronize",
    "threaded",
    "threadingmodule",
    "threadmodule",
]

threadingmodule = threading
threadmodule = threading
threaded = True
ioThread: threading.Thread | None = None


def init(with_threads: int = 1) -> None:
    """Kept for compatibility: threads are always available."""


def getThreadID() -> int:
    """The identifier of the calling thread."""
    return threading.get_ident()


def registerAsIOThread() -> None:
    """Mark the calling thread as the one running the reactor."""
    global ioThread
    ioThread = threading.current_thread()


def isInIOThread() -> bool:
    """Whether the caller runs in the reactor's thread.

    That is the thread marked with :func:`registerAsIOThread`, else the thread the global
    reactor runs (or last ran) in, else the main thread.
    """
    thread = ioThread
    if thread is None:
        reactor = sys.modules.get("glisten.internet.reactor")
        thread = getattr(reactor, "_ioThread", None)
    if thread is None:
        thread = threading.main_thread()
    return threading.current_thread() is thread


def _synchPre(self: Any) -> threading.RLock:
    lock: threading.RLock | None = self.__dict__.get("_threadable_lock")
    if lock is None:
        lock = self.__dict__.setdefault("_threadable_lock", threading.RLock())
    return lock


def synchronize(*klasses: type) -> None:
    """Make the methods each class names in its ``synchronized`` list hold a per-instance
    lock while they run."""
    for klass in klasses:
        for methodName in getattr(klass, "synchronized", ()):
            method: Callable[..., Any] = getattr(klass, methodName)

            def wrapper(self: Any, *a: Any, __method: Any = method, **kw: Any) -> Any:
                with _synchPre(self):
                    return __method(self, *a, **kw)

            setattr(klass, methodName, functools.wraps(method)(wrapper))
