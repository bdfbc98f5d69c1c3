"""Deferreds: results that are not there yet, and the callback chains that wait for them.

A :class:`Deferred` holds a chain of (callback, errback) pairs. When it fires with a result
(:meth:`Deferred.callback`) or a :class:`~glisten.python.failure.Failure`
(:meth:`Deferred.errback`), the result travels down the chain: callbacks see results, errbacks
see Failures, and whatever each one returns (or raises) becomes the input of the next. A
callback that returns another Deferred suspends the chain until that one fires. Callbacks added
after the Deferred fired run at once.

This is Twisted's ``twisted.internet.defer`` with the same names and semantics, typed
(``Deferred[T]``) and built for speed: chains run in one flat loop (no recursion, however deeply
Deferreds are nested or chained, and however many coroutines wait on each other's Deferreds),
and a callback added to an already fired Deferred is called directly.
Coroutines can ``await`` Deferreds; :func:`ensureDeferred`, :meth:`Deferred.fromCoroutine` and
:func:`inlineCallbacks` turn coroutines and generators back into Deferreds.

Deliberate differences from Twisted, each fixing a trap:

- :meth:`Deferred.pause` called from inside a callback stops the chain right there, as the
  documentation of ``pause`` promises; Twisted went on running the callbacks already queued.
- :meth:`Deferred.unpause` without a matching :meth:`Deferred.pause` raises ``ValueError``
  instead of leaving the Deferred with a negative pause count that blocks it forever.
- A callback returning the very Deferred it was added to turns into a ``TypeError`` failure;
  Twisted only warned and then hung waiting for itself.
- :meth:`Deferred.chainDeferred` runs without recursion, so long chains of chained Deferreds
  cannot exhaust the stack.
- ``addCallback`` and friends reject a non-callable at once with ``TypeError``; Twisted
  accepted it and failed later, far from the mistake.
- A coroutine (or ``inlineCallbacks`` generator) that returns a Deferred fires its own
  Deferred with that Deferred's result; Twisted raised an ``AssertionError`` inside its driver.
- Cancelling a coroutine's Deferred from inside the coroutine itself cancels the next
  Deferred it waits on; Twisted failed with an ``AssertionError``.
- Debugging is switched with :func:`setDebugging` or by assigning ``Deferred.debug``. The
  callback list is private (Twisted deprecated ``Deferred.callbacks`` in 25.5).
"""

from __future__ import annotations

import traceback
import types
import warnings
from collections.abc import Callable, Coroutine, Generator
from contextvars import copy_context
from functools import wraps
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    NoReturn,
    ParamSpec,
    TypeVar,
    cast,
    overload,
)

from glisten.python.failure import Failure, _specialTypes

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop, Future

    from glisten.internet.interfaces import IReactorTime
    from glisten.logger import Logger

__all__ = [
    "FAILURE",
    "SUCCESS",
    "AlreadyCalledError",
    "AlreadyTryingToLockError",
    "CancelledError",
    "DebugInfo",
    "Deferred",
    "DeferredFilesystemLock",
    "DeferredList",
    "DeferredLock",
    "DeferredQueue",
    "DeferredSemaphore",
    "FailureGroup",
    "FirstError",
    "NotACoroutineError",
    "QueueOverflow",
    "QueueUnderflow",
    "TimeoutError",
    "ensureDeferred",
    "execute",
    "fail",
    "gatherResults",
    "getDebugging",
    "inlineCallbacks",
    "logError",
    "maybeDeferred",
    "passthru",
    "race",
    "returnValue",
    "setDebugging",
    "succeed",
]

_T = TypeVar("_T")
_U = TypeVar("_U")
_P = ParamSpec("_P")


class AlreadyCalledError(Exception):
    """:meth:`Deferred.callback` or :meth:`Deferred.errback` was called on a Deferred that
    had already fired."""


class CancelledError(Exception):
    """The Deferred was cancelled (see :meth:`Deferred.cancel`)."""


class TimeoutError(Exception):
    """The operation timed out (see :meth:`Deferred.addTimeout`)."""


class NotACoroutineError(TypeError):
    """:func:`ensureDeferred` or :meth:`Deferred.fromCoroutine` was given something that is
    neither a coroutine nor a Deferred."""


def passthru(arg: _T) -> _T:
    """Return ``arg``: the identity callback."""
    return arg


def setDebugging(on: bool) -> None:
    """Turn Deferred debugging on or off (``Deferred.debug = True`` does the same).

    With debugging on, every Deferred records the stack that created it and the stack that
    first fired it; both are shown in :class:`AlreadyCalledError` and in the "Unhandled error
    in Deferred" log message. It makes Deferreds several times slower.
    """
    global _debugging
    _debugging = bool(on)


class _DeferredType(type):
    """Makes ``Deferred.debug`` read and switch the global debugging flag, as assigning
    Twisted's class attribute does."""

    @property
    def debug(cls) -> bool:
        return _debugging

    @debug.setter
    def debug(cls, on: bool) -> None:
        setDebugging(on)


def getDebugging() -> bool:
    """Return whether Deferred debugging is on (see :func:`setDebugging`)."""
    return _debugging


_debugging = False


# Marks, in the callback list, the point where a Deferred waiting on this one takes over the
# result (the first two slots of an entry), and where this Deferred fires another one through
# chainDeferred. Identity-compared, never called.
_CONTINUE: Any = object()
_CHAIN: Any = object()
# What a cancelled fromFuture Deferred fires with while its Future reports its outcome.
_WAIT_FOR_FUTURE: Any = object()
# Marks a coroutine driver (:class:`_CoroutineDeferred`) waiting on this Deferred.
_RESUME: Any = object()
# Stored as the canceller of a Deferred cancelled without one.
_SUPPRESS: Any = object()

_log: Logger | None = None


def _logger() -> Logger:
    """Return this module's logger, importing the logging package on first use only, so that
    importing ``defer`` does not import it."""
    global _log
    if _log is None:
        from glisten.logger import Logger

        _log = Logger(namespace="glisten.internet.defer")
    return _log


class DebugInfo:
    """What a Deferred knows for error reports: the Failure it ended with (if any), and with
    debugging on, the stacks that created it and first fired it.

    A Deferred gets one only when it ends a run of its callbacks holding a Failure (or when
    debugging is on). When this object is garbage collected while still holding a Failure, the
    Failure was never handled: it is logged as "Unhandled error in Deferred".
    """

    __slots__ = ("creator", "failResult", "invoker")

    def __init__(self) -> None:
        self.failResult: Failure | None = None
        self.creator: list[str] | None = None
        self.invoker: list[str] | None = None

    def _getDebugTracebacks(self) -> str:
        info = ""
        if self.creator is not None:
            info += " C: Deferred was created:\n C:"
            info += "".join(self.creator).rstrip().replace("\n", "\n C:")
            info += "\n"
        if self.invoker is not None:
            info += " I: First Invoker was:\n I:"
            info += "".join(self.invoker).rstrip().replace("\n", "\n I:")
            info += "\n"
        return info

    def __del__(self) -> None:
        failure = self.failResult
        if failure is None:
            return
        self.failResult = None
        debugInfo = self._getDebugTracebacks()
        try:
            log = _logger()
        except ImportError:  # pragma: no cover - only while the interpreter shuts down
            return
        # Two events, as Twisted logs them: the notice, then the failure itself.
        log.critical("Unhandled error in Deferred:", isError=True)
        if debugInfo:
            log.failure("(debug: {debugInfo})", failure=failure, debugInfo=debugInfo)
        else:
            log.failure("", failure=failure)


class Deferred(Generic[_T], metaclass=_DeferredType):
    """A result that will arrive later, and the callbacks waiting for it.

    :ivar called: ``False`` until :meth:`callback` or :meth:`errback` is called.
    :ivar paused: how many :meth:`pause` calls are not yet matched by :meth:`unpause` (plus
        one while waiting for a Deferred returned by a callback).
    :ivar result: the current result; absent until the Deferred fires.
    :cvar debug: whether debugging is on; assigning it switches debugging (see
        :func:`setDebugging`).
    """

    __slots__ = (
        "__weakref__",
        "_callbacks",
        "_canceller",
        "_debugInfo",
        "_runningCallbacks",
        "called",
        "paused",
        "result",
    )

    @property
    def debug(self) -> bool:
        """Whether debugging is on. Assigning true on one Deferred makes it keep a
        :class:`DebugInfo` (the stack that first fires it is recorded while debugging is
        on); assigning ``Deferred.debug`` switches debugging for all."""
        return _debugging or self._debugInfo is not None

    @debug.setter
    def debug(self, on: bool) -> None:
        if on and self._debugInfo is None:
            info = self._debugInfo = DebugInfo()
            info.creator = traceback.format_stack()[:-1]

    result: Any
    called: bool
    paused: int
    # Entries are (callback, errback, callbackExtra, errbackExtra); an extra is None or
    # (args, kwargs); a None callback/errback passes the result on. Marker entries hold
    # _CONTINUE/_CHAIN/_RESUME and their target in the extras. None until the first entry.
    _callbacks: list[tuple[Any, Any, Any, Any]] | None
    # The canceller, or _SUPPRESS once cancelled without one (the next callback/errback is
    # then swallowed).
    _canceller: Any
    _debugInfo: DebugInfo | None
    _runningCallbacks: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _specialTypes.add(cls)

    def __init__(self, canceller: Callable[[Deferred[Any]], None] | None = None) -> None:
        """
        :param canceller: called with this Deferred by :meth:`cancel` to stop the operation
            that would fire it. If it does not fire the Deferred itself, :meth:`cancel` errbacks
            it with :class:`CancelledError`.
        """
        self._callbacks = None
        self._canceller = canceller
        self.called = self._runningCallbacks = False
        self.paused = 0
        if _debugging:
            info = self._debugInfo = DebugInfo()
            info.creator = traceback.format_stack()[:-1]
        else:
            self._debugInfo = None

    # -- adding callbacks ---------------------------------------------------------------

    def _append(self, entry: tuple[Any, Any, Any, Any]) -> None:
        cbs = self._callbacks
        if cbs is None:
            self._callbacks = [entry]
        else:
            cbs.append(entry)
        if self.called:
            self._runCallbacks()

    def addCallbacks(
        self,
        callback: Callable[..., Any],
        errback: Callable[..., Any] | None = None,
        callbackArgs: tuple[Any, ...] = (),
        callbackKeywords: dict[str, Any] | None = None,
        errbackArgs: tuple[Any, ...] = (),
        errbackKeywords: dict[str, Any] | None = None,
    ) -> Deferred[Any]:
        """Add a callback and an errback at the same point of the chain.

        Only one of the two runs, depending on whether the result reaching this point is a
        Failure. Each gets the result first, then its extra arguments.

        :param errback: ``None`` passes Failures on unchanged.
        :return: this Deferred.
        :raises TypeError: ``callback`` or ``errback`` is not callable (Twisted found out only
            when the chain reached it).
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        if errback is not None and not callable(errback):
            raise TypeError(f"errback must be callable, not {errback!r}")
        # None is accepted for the extras too, as Twisted's old defaults were None.
        cbExtra = (
            (callbackArgs or (), callbackKeywords or {})
            if callbackArgs or callbackKeywords
            else None
        )
        ebExtra = (
            (errbackArgs or (), errbackKeywords or {}) if errbackArgs or errbackKeywords else None
        )
        self._append((callback, errback, cbExtra, ebExtra))
        return self

    @overload
    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], Failure],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[Any]: ...

    @overload
    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], Deferred[_U]],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]: ...

    @overload
    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]: ...

    def addCallback(self, callback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add a callback: it gets the result (then ``args`` and ``kwargs``) and returns the
        next result. Failures pass it by.

        :return: this Deferred.
        :raises TypeError: ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        if not self.called:
            cbs = self._callbacks
            entry = (callback, None, (args, kwargs) if args or kwargs else None, None)
            if cbs is None:
                self._callbacks = [entry]
            else:
                cbs.append(entry)
            return self
        if self._callbacks or self.paused or self._runningCallbacks:
            self._append((callback, None, (args, kwargs) if args or kwargs else None, None))
            return self
        # Fired, idle and nothing queued: call it right here instead of queueing it.
        result = self.result
        if result.__class__ in _specialTypes and isinstance(result, Failure):
            return self
        self._runningCallbacks = True
        try:
            if args or kwargs:
                result = callback(result, *args, **kwargs)
            else:
                result = callback(result)
        except BaseException as e:
            result = _caught(e)
        self._runningCallbacks = False
        self.result = result
        if self._callbacks or self._debugInfo is not None or result.__class__ in _specialTypes:
            self._runCallbacks()
        return self

    @overload
    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], Failure],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T]: ...

    @overload
    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], Deferred[_U]],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T | _U]: ...

    @overload
    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T | _U]: ...

    def addErrback(self, errback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add an errback: it gets the Failure (then ``args`` and ``kwargs``); what it returns
        becomes the result (returning a Failure or raising keeps the chain on the error path).
        Plain results pass it by.

        :return: this Deferred.
        :raises TypeError: ``errback`` is not callable.
        """
        if not callable(errback):
            raise TypeError(f"errback must be callable, not {errback!r}")
        if not self.called:
            cbs = self._callbacks
            entry = (None, errback, None, (args, kwargs) if args or kwargs else None)
            if cbs is None:
                self._callbacks = [entry]
            else:
                cbs.append(entry)
            return self
        if not (self._callbacks or self.paused or self._runningCallbacks):
            result = self.result
            if not (result.__class__ in _specialTypes and isinstance(result, Failure)):
                return self
        self._append((None, errback, None, (args, kwargs) if args or kwargs else None))
        return self

    @overload
    def addBoth(
        self,
        callback: Callable[Concatenate[_T | Failure, _P], Deferred[_U]],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]: ...

    @overload
    def addBoth(
        self,
        callback: Callable[Concatenate[_T | Failure, _P], _U],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_U]: ...

    def addBoth(self, callback: Any, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add a function as both callback and errback: it gets whatever the result is.

        :return: this Deferred.
        :raises TypeError: ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        extra = (args, kwargs) if args or kwargs else None
        self._append((callback, callback, extra, extra))
        return self

    def chainDeferred(self, d: Deferred[_T]) -> Deferred[None]:
        """Fire ``d`` with whatever result reaches this point of the chain.

        The result here becomes ``None`` afterwards (as if ``d.callback``/``d.errback`` had
        been added as callback and errback, which is what Twisted does; glisten does it without
        recursion). If ``d`` has already fired, an :class:`AlreadyCalledError` Failure
        continues down this chain.

        :return: this Deferred.
        """
        if not isinstance(d, Deferred):
            raise TypeError(f"chainDeferred needs a Deferred, not {d!r}")
        if d is self:
            raise ValueError("a Deferred cannot be chained to itself")
        self._append((_CHAIN, _CHAIN, d, d))
        return self  # type: ignore[return-value]

    def addTimeout(
        self,
        timeout: float,
        clock: IReactorTime,
        onTimeoutCancel: Callable[[Any, float], Any] | None = None,
    ) -> Deferred[_T]:
        """Cancel this Deferred if it has not fired within ``timeout`` seconds.

        :param clock: the reactor (any ``IReactorTime``, such as ``task.Clock`` in tests).
        :param onTimeoutCancel: called as ``onTimeoutCancel(result, timeout)`` with the result
            of a Deferred cancelled by the timeout; its return value (or exception) replaces the
            result. By default a :class:`CancelledError` Failure becomes a
            :class:`TimeoutError`.
        :return: this Deferred.
        """
        timedOut = False

        def timeItOut() -> None:
            nonlocal timedOut
            timedOut = True
            self.cancel()

        delayedCall = clock.callLater(timeout, timeItOut)

        def convertCancelled(result: Any) -> Any:
            if timedOut:
                return (onTimeoutCancel or _cancelledToTimedOutError)(result, timeout)
            return result

        def cancelTimeout(result: Any) -> Any:
            if delayedCall.active():
                delayedCall.cancel()
            return result

        self.addBoth(convertCancelled)
        self.addBoth(cancelTimeout)
        return self

    # -- firing -------------------------------------------------------------------------

    def callback(self, result: _T | Failure) -> None:
        """Fire this Deferred with ``result``, running the callback chain.

        :raises AlreadyCalledError: it has fired already.
        :raises AssertionError: ``result`` is a Deferred (chain them with
            :meth:`chainDeferred`, or return one from a callback). This is an explicit check,
            not an ``assert``, so it holds under ``python -O`` too.
        """
        special = result.__class__ in _specialTypes
        if special and isinstance(result, Deferred):
            raise AssertionError("a Deferred cannot be fired with another Deferred")
        if self.called:
            self._alreadyCalled()
            return
        if _debugging:
            self._recordInvoker()
        self.called = True
        self.result = result
        if self._callbacks or special:
            self._runCallbacks()

    def errback(self, fail: Failure | BaseException | None = None) -> None:
        """Fire this Deferred with a Failure, running the errback chain.

        :param fail: a Failure, an exception (wrapped in a Failure), or ``None`` for the
            exception being handled.
        :raises AlreadyCalledError: it has fired already.
        :raises NoCurrentExceptionError: ``fail`` is ``None`` outside an ``except`` block.
        """
        if fail is None:
            fail = Failure(captureVars=_debugging)
        elif not isinstance(fail, Failure):
            fail = Failure(fail)
        if self.called:
            self._alreadyCalled()
            return
        if _debugging:
            self._recordInvoker()
        self.called = True
        self.result = fail
        self._runCallbacks()

    def _alreadyCalled(self) -> None:
        if self._canceller is _SUPPRESS:
            # Cancelled without a canceller: the operation's own late result is swallowed once.
            self._canceller = None
            return
        if _debugging:
            if self._debugInfo is None:
                self._debugInfo = DebugInfo()
            raise AlreadyCalledError("\n" + self._debugInfo._getDebugTracebacks())
        raise AlreadyCalledError()

    def _recordInvoker(self) -> None:
        if self._debugInfo is None:
            self._debugInfo = DebugInfo()
        self._debugInfo.invoker = traceback.format_stack()[:-2]

    def _fireWithDeferred(self, other: Deferred[Any]) -> None:
        """Fire with ``other``'s eventual result: this Deferred waits for it (internal)."""
        self.called = True
        self.result = other
        self._runCallbacks()

    def pause(self) -> None:
        """Stop running callbacks until :meth:`unpause`.

        Pauses nest: each needs its own :meth:`unpause`. Called from inside one of this
        Deferred's callbacks, it stops the chain right after that callback.
        """
        self.paused += 1

    def unpause(self) -> None:
        """Undo one :meth:`pause`; when none remain and the Deferred has fired, run the
        callbacks added meanwhile.

        :raises ValueError: there is no :meth:`pause` to undo.
        """
        if self.paused <= 0:
            raise ValueError("unpause() called without a matching pause()")
        self.paused -= 1
        if not self.paused and self.called:
            self._runCallbacks()

    def cancel(self) -> None:
        """Cancel the operation this Deferred waits for.

        Not fired yet: call the canceller; if that did not fire the Deferred, errback it with
        :class:`CancelledError` (without a canceller, the operation's eventual
        ``callback``/``errback`` is then silently ignored, once). Fired but waiting on a
        Deferred a callback returned: cancel that one. Otherwise do nothing.
        """
        if not self.called:
            canceller = self._canceller
            if canceller is None:
                self._canceller = _SUPPRESS
            elif canceller is not _SUPPRESS:
                canceller(self)
            if not self.called:
                self.errback(Failure(CancelledError()))
        elif self.paused and isinstance(self.result, Deferred):
            self.result.cancel()

    # -- the callback loop --------------------------------------------------------------

    def _runCallbacks(self) -> None:
        """Run callbacks while there are results to feed them.

        One flat loop handles every Deferred involved: when a callback returns an unfired
        Deferred, the current one pauses and leaves a ``_CONTINUE`` marker in the other's
        callback list; when that marker is reached, the waiting Deferred is pushed on
        ``chain`` and processed next, then the loop comes back. No recursion, so arbitrarily
        deep nesting works.
        """
        if self._runningCallbacks:
            # Already running further up the stack; that loop will see new callbacks.
            return
        special = _specialTypes
        fn: Any
        extra: Any
        current: Deferred[Any] = self
        chain: list[Deferred[Any]] | None = None
        returnedDeferred = False
        while True:
            nextDeferred: Deferred[Any] | None = None
            if not current.paused:
                result = current.result
                isFail = False
                if result.__class__ in special:
                    if isinstance(result, Deferred):
                        # A callback (or the coroutine machinery) handed us a Deferred.
                        if result is current:
                            result = Failure(
                                TypeError("a callback returned the Deferred it was added to")
                            )
                            isFail = True
                        elif result.called and not result.paused:
                            # It has a result already: take it.
                            inner = result
                            result = inner.result
                            inner.result = None
                            if inner._debugInfo is not None:
                                inner._debugInfo.failResult = None
                            isFail = isinstance(result, Failure)
                        else:
                            # Wait for it: it hands its result over at the _CONTINUE marker.
                            current.paused += 1
                            entry = (_CONTINUE, _CONTINUE, current, current)
                            if result._callbacks is None:
                                result._callbacks = [entry]
                            else:
                                result._callbacks.append(entry)
                        current.result = result
                    else:
                        isFail = isinstance(result, Failure)
                cbs = current._callbacks
                if cbs and not current.paused:
                    current._runningCallbacks = True
                    n = 0
                    for entry in cbs:
                        n += 1
                        if isFail:
                            fn = entry[1]
                            extra = entry[3]
                        else:
                            fn = entry[0]
                            extra = entry[2]
                        if fn is None:
                            continue
                        if extra is None:
                            try:
                                result = fn(result)
                            except BaseException as e:
                                result = _caught(e)
                        elif fn is _CONTINUE:
                            # A Deferred waiting on this one: give it our result.
                            nextDeferred = extra
                            nextDeferred.result = result
                            nextDeferred.paused -= 1
                            current.result = None
                            if current._debugInfo is not None:
                                current._debugInfo.failResult = None
                            break
                        elif fn is _RESUME:
                            # A coroutine waiting on this one: resume it. The result is
                            # consumed (it becomes None here), as with any callback.
                            try:
                                fired = extra._resume(result, isFail)
                            except BaseException as e:
                                result = _caught(e)
                            else:
                                result = None
                                if fired is not None:
                                    # The coroutine ended and fired its Deferred: run that
                                    # one's callbacks next, in this loop.
                                    nextDeferred = fired
                                    current.result = None
                                    if current._debugInfo is not None:
                                        current._debugInfo.failResult = None
                                    break
                        elif fn is _CHAIN:
                            target = extra
                            if not target.called:
                                target.called = True
                                target.result = result
                                nextDeferred = target
                                current.result = None
                                if current._debugInfo is not None:
                                    current._debugInfo.failResult = None
                                break
                            if target._canceller is _SUPPRESS:
                                target._canceller = None
                                result = None
                            else:
                                result = Failure(AlreadyCalledError())
                        else:
                            try:
                                result = fn(result, *extra[0], **extra[1])
                            except BaseException as e:
                                result = _caught(e)
                        current.result = result
                        if result.__class__ in special:
                            if isinstance(result, Deferred):
                                isFail = False
                                if result.called or result is current:
                                    # Take its result (or reject it) at the top of the loop.
                                    returnedDeferred = True
                                    break
                                # Unfired: wait for it; it hands its result over at the
                                # _CONTINUE marker.
                                current.paused += 1
                                entry = (_CONTINUE, _CONTINUE, current, current)
                                if result._callbacks is None:
                                    result._callbacks = [entry]
                                else:
                                    result._callbacks.append(entry)
                                break
                            isFail = isinstance(result, Failure)
                        else:
                            isFail = False
                        if current.paused:
                            break
                    del cbs[:n]
                    current._runningCallbacks = False
                    if returnedDeferred:
                        returnedDeferred = False
                        if not current.paused:
                            # Handle the returned Deferred at the top of the loop.
                            continue
                if nextDeferred is None:
                    # Done with this one for now: record whether it ends holding a Failure
                    # (for the "Unhandled error in Deferred" report).
                    info = current._debugInfo
                    if isFail:
                        if info is None:
                            info = current._debugInfo = DebugInfo()
                        info.failResult = result
                    elif info is not None:
                        info.failResult = None
            if nextDeferred is not None:
                if current._callbacks:
                    # Come back for the callbacks after the marker once nextDeferred is done.
                    if chain is None:
                        chain = [current]
                    else:
                        chain.append(current)
                current = nextDeferred
            elif chain:
                current = chain.pop()
            else:
                return

    # -- presentation -------------------------------------------------------------------

    def __str__(self) -> str:
        name = type(self).__name__
        if not self.called:
            return f"<{name} at 0x{id(self):x}>"
        result = self.result
        if self.paused and isinstance(result, Deferred):
            return f"<{name} at 0x{id(self):x} waiting on Deferred at 0x{id(result):x}>"
        return f"<{name} at 0x{id(self):x} current result: {result!r}>"

    __repr__ = __str__

    # -- coroutines and asyncio ---------------------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T]:
        """Wait for the result in a coroutine run by :func:`ensureDeferred` (or
        :meth:`fromCoroutine`, :func:`inlineCallbacks`); a Failure is raised as its
        exception."""
        while self.paused or not self.called:
            yield self
        result: Any = self.result
        if result.__class__ in _specialTypes:
            if self._debugInfo is not None:
                self._debugInfo.failResult = None
            failure = cast(Failure, result)
            raise failure.value.with_traceback(failure.tb)
        return result

    #: ``yield from d`` in a generator driven by :func:`inlineCallbacks` (or a
    #: generator-based coroutine) waits for ``d`` as ``await d`` does.
    __iter__ = __await__

    @classmethod
    def fromCoroutine(cls, coro: Coroutine[Any, Any, _U] | Generator[Any, Any, _U]) -> Deferred[_U]:
        """Run ``coro`` (a coroutine, or a generator as with :func:`inlineCallbacks`) and
        return a Deferred for its outcome.

        The coroutine runs right away until it first waits. Cancelling the returned Deferred
        cancels the Deferred the coroutine is waiting on; the coroutine sees the
        :class:`CancelledError` and decides the outcome.

        :raises NotACoroutineError: ``coro`` is not a coroutine or generator.
        """
        if coro.__class__ is not _CoroutineType and not isinstance(coro, _COROUTINE_TYPES):
            raise NotACoroutineError(f"{coro!r} is not a coroutine")
        return _startCoroutine(coro)

    def asFuture(self, loop: AbstractEventLoop) -> Future[_T]:
        """Return an :class:`asyncio.Future` on ``loop`` that completes with this Deferred's
        outcome. Cancelling the Future cancels the Deferred.

        The Future consumes the result: afterwards this Deferred's result is ``None``.
        """
        future: Future[_T] = loop.create_future()

        def checkCancel(f: Future[_T]) -> None:
            if f.cancelled():
                self.cancel()

        def setResult(result: _T) -> None:
            if not future.done():
                future.set_result(result)

        def setFailure(failure: Failure) -> None:
            if not future.done():
                future.set_exception(failure.value)

        self.addCallbacks(setResult, setFailure)
        future.add_done_callback(checkCancel)
        return future

    @classmethod
    def fromFuture(cls, future: Future[_U]) -> Deferred[_U]:
        """Return a Deferred that fires with the outcome of an :class:`asyncio.Future`
        (wrap a coroutine with ``asyncio.ensure_future`` first).

        Cancelling the Deferred cancels the Future, and the Deferred then fails with what the
        Future ends with, as in Twisted: :class:`asyncio.CancelledError` once the loop has
        run the cancellation (or the Future's result, if it was already done).
        """
        cancelled: list[bool] = []

        def cancel(d: Deferred[Any]) -> None:
            cancelled.append(True)
            future.cancel()
            if not future.done() or future.cancelled():
                # Wait for the Future to report its own outcome (see adapt).
                d.callback(_WAIT_FOR_FUTURE)

        d: Deferred[_U] = Deferred(cancel)
        waiting: list[Deferred[Any]] = []

        def unwait(result: Any) -> Any:
            if result is _WAIT_FOR_FUTURE:
                later: Deferred[Any] = Deferred()
                waiting.append(later)
                return later
            return result

        d.addCallback(unwait)

        def adapt(f: Future[_U]) -> None:
            target = waiting[0] if waiting else d
            if target.called:
                return
            try:
                value = f.result()
            except BaseException as e:
                target.errback(Failure(e))
            else:
                target.callback(value)

        future.add_done_callback(adapt)
        return d


_specialTypes.add(Deferred)
_newDeferred = object.__new__


class _DefGen_Return(BaseException):
    """Raised by :func:`returnValue` to end an :func:`inlineCallbacks` generator with a value."""

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


def returnValue(val: object) -> NoReturn:
    """End the :func:`inlineCallbacks` generator calling it, firing its Deferred with ``val``.

    Deprecated (as in Twisted): write ``return val`` in the generator instead. It is kept,
    with a :class:`DeprecationWarning`, because most existing Twisted code uses it and a
    port must run unchanged.
    """
    warnings.warn(
        "glisten.internet.defer.returnValue is deprecated; use a return statement instead",
        DeprecationWarning,
        stacklevel=2,
    )
    raise _DefGen_Return(val)


def _caught(e: BaseException) -> Failure:
    """The Failure for an exception a callback (or coroutine) raised."""
    if _debugging:
        return Failure(e, captureVars=True)
    return Failure._fromCaught(e)


def _cancelledToTimedOutError(value: Any, timeout: float) -> Any:
    """Turn a :class:`CancelledError` Failure into a :class:`TimeoutError`; pass anything
    else on."""
    if isinstance(value, Failure):
        value.trap(CancelledError)
        raise TimeoutError(timeout, "Deferred")
    return value


def succeed(result: _T) -> Deferred[_T]:
    """Return a Deferred that has already fired with ``result``.

    :raises AssertionError: ``result`` is a Deferred (return that one instead).
    """
    if _debugging or result.__class__ in _specialTypes:
        d: Deferred[_T] = Deferred()
        d.callback(result)
        return d
    d = _newDeferred(Deferred)
    d._callbacks = d._canceller = d._debugInfo = None
    d._runningCallbacks = False
    d.paused = 0
    d.called = True
    d.result = result
    return d


def fail(result: Failure | BaseException | None = None) -> Deferred[Any]:
    """Return a Deferred that has already failed with ``result`` (a Failure, an exception, or
    ``None`` for the exception being handled)."""
    d: Deferred[Any] = Deferred()
    d.errback(result)
    return d


@overload
def maybeDeferred(
    f: Callable[_P, Deferred[_T]], *args: _P.args, **kwargs: _P.kwargs
) -> Deferred[_T]: ...


@overload
def maybeDeferred(
    f: Callable[_P, Coroutine[Any, Any, _T]], *args: _P.args, **kwargs: _P.kwargs
) -> Deferred[_T]: ...


@overload
def maybeDeferred(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...


def maybeDeferred(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
    """Call ``f`` and always get a Deferred: its result as is if it is a Deferred, the
    coroutine's outcome if it is a coroutine, a failed Deferred if ``f`` raised or returned a
    Failure, otherwise an already fired one."""
    try:
        result = f(*args, **kwargs)
    except BaseException as e:
        return fail(_caught(e))
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    if isinstance(result, types.CoroutineType):
        return Deferred.fromCoroutine(result)
    return succeed(result)


# -- coroutines ---------------------------------------------------------------------------

_COROUTINE_TYPES = (types.CoroutineType, types.GeneratorType, Coroutine)
_CoroutineType = types.CoroutineType


class _CoroutineDeferred(Deferred[Any]):
    """The Deferred for a running coroutine or generator, and the driver that runs it.

    It sends the coroutine the result of each Deferred it waits on (or throws the Failure into
    it) and fires with the coroutine's outcome. Being both at once, and waiting on other
    Deferreds through ``_RESUME`` marker entries, it costs one allocation per coroutine and
    none per ``await``. Its class is named ``Deferred`` because to its users it is just that.
    """

    __slots__ = ("_cancelPending", "_gen", "_run", "_target", "_waitingOn")

    _gen: Any
    _run: Any
    # The Deferred to fire with the outcome: None for this one (no reference cycle), or the
    # replacement made by a cancellation.
    _target: Deferred[Any] | None
    _waitingOn: Deferred[Any] | None
    _cancelPending: bool

    def _resume(self, result: Any, isFailure: bool, sent: bool = True) -> Deferred[Any] | None:
        """Run the coroutine until it waits on an unfired Deferred, or ends.

        :param sent: ``False`` when ``result`` is not for the coroutine but what it has just
            yielded (its first step ran in :func:`_startCoroutine`), to be looked at first.
        :return: ``None`` if it waits; when it ended, the Deferred it fired, whose callbacks the
            caller must run. Handing that back instead of running them
            here keeps a stack of coroutines awaiting each other flat: the callback loop runs
            the awaiting coroutine next, at the same depth.
        """
        self._waitingOn = None
        gen = self._gen
        run = self._run
        while True:
            if sent:
                try:
                    if isFailure:
                        yielded = run(gen.throw, result.value.with_traceback(result.tb))
                    else:
                        yielded = run(gen.send, result)
                except StopIteration as e:
                    outcome = e.value
                    break
                except _DefGen_Return as e:
                    outcome = e.value
                    break
                except BaseException as e:
                    outcome = _caught(e)
                    break
            else:
                yielded = result
                sent = True
            if yielded.__class__ in _specialTypes and isinstance(yielded, Deferred):
                d = yielded
            elif isinstance(yielded, _COROUTINE_TYPES):
                d = _startCoroutine(yielded)
            else:
                # Generators may yield plain values: they come straight back.
                result = yielded
                isFailure = False
                continue
            if d.called and not d.paused and not d._runningCallbacks:
                # Already has a result: take it and go on without a callback.
                result = d.result
                d.result = None
                if d._debugInfo is not None:
                    d._debugInfo.failResult = None
                isFailure = isinstance(result, Failure)
                continue
            self._waitingOn = d
            entry = (_RESUME, _RESUME, self, self)
            if d._callbacks is None:
                d._callbacks = [entry]
            else:
                d._callbacks.append(entry)
            if self._cancelPending:
                self._cancelPending = False
                d.cancel()
            return None
        self._gen = self._run = None  # done: let the coroutine and its context go
        target = self._target
        if target is None:
            target = self
        if target.called:
            # Somebody fired the coroutine's Deferred by hand: let callback() complain.
            target.callback(outcome)
        if _debugging:
            target._recordInvoker()
        target.called = True
        target.result = outcome
        return target

    def _cancelCoroutine(self, d: Deferred[Any]) -> None:
        """Cancel ``d`` (this Deferred or a replacement): it now waits for a fresh Deferred,
        which the coroutine fires with whatever it makes of the cancellation (it may catch
        CancelledError and go on), and the Deferred it waits on is cancelled."""
        replacement: Deferred[Any] = Deferred(self._cancelCoroutine)
        self._target = replacement
        d._fireWithDeferred(replacement)
        waitingOn = self._waitingOn
        if waitingOn is not None:
            waitingOn.cancel()
        else:
            # Cancelled from inside the coroutine itself: cancel whatever it waits on next.
            self._cancelPending = True


_CoroutineDeferred.__name__ = _CoroutineDeferred.__qualname__ = "Deferred"


def _cancelOwnCoroutine(d: Deferred[Any]) -> None:
    """The canceller of a coroutine's Deferred (a plain function: no bound method to make)."""
    cast(_CoroutineDeferred, d)._cancelCoroutine(d)


def _startCoroutine(coro: Any) -> Deferred[Any]:
    """Start driving ``coro`` and return its Deferred."""
    run = copy_context().run
    if _debugging:
        # Make the Deferred first, so that its creation stack is recorded before anything runs.
        d = _newDriver(coro, run)
        info = d._debugInfo = DebugInfo()
        info.creator = traceback.format_stack()[:-2]
        fired = d._resume(None, False)
    else:
        # Run the first step before making anything: a coroutine that ends at once (everything
        # it awaited had fired) needs no driver, only a fired Deferred. Nothing can reach its
        # Deferred during that step, so nothing can cancel or fire it meanwhile.
        try:
            yielded = run(coro.send, None)
        except StopIteration as e:
            outcome = e.value
        except _DefGen_Return as e:
            outcome = e.value
        except BaseException as e:
            outcome = _caught(e)
        else:
            d = _newDeferred(_CoroutineDeferred)
            d._callbacks = d._debugInfo = d._waitingOn = d._target = None
            d._canceller = _cancelOwnCoroutine
            d._runningCallbacks = d.called = d._cancelPending = False
            d.paused = 0
            d._gen = coro
            d._run = run
            fired = d._resume(yielded, False, False)
            if fired is not None and (fired._callbacks or fired.result.__class__ in _specialTypes):
                fired._runCallbacks()
            return d
        done: Deferred[Any] = _newDeferred(Deferred)
        done._callbacks = done._canceller = done._debugInfo = None
        done._runningCallbacks = False
        done.paused = 0
        done.called = True
        done.result = outcome
        if outcome.__class__ in _specialTypes:
            # A Failure (noted for the unhandled-error report) or a Deferred to wait for.
            done._runCallbacks()
        return done
    if fired is not None and (fired._callbacks or fired.result.__class__ in _specialTypes):
        fired._runCallbacks()
    return d


def _newDriver(coro: Any, run: Any) -> _CoroutineDeferred:
    """Return a new, unfired driver for ``coro``, to run in the context whose ``run`` is
    given."""
    d: _CoroutineDeferred = _newDeferred(_CoroutineDeferred)
    d._callbacks = d._debugInfo = d._waitingOn = d._target = None
    d._canceller = _cancelOwnCoroutine
    d._runningCallbacks = d.called = d._cancelPending = False
    d.paused = 0
    d._gen = coro
    d._run = run
    return d


def ensureDeferred(coro: Deferred[_T] | Coroutine[Any, Any, _T]) -> Deferred[_T]:
    """Return ``coro`` if it is a Deferred, otherwise run the coroutine (see
    :meth:`Deferred.fromCoroutine`) and return a Deferred for its outcome.

    :raises NotACoroutineError: ``coro`` is neither.
    """
    if isinstance(coro, Deferred):
        return coro
    if not isinstance(coro, _COROUTINE_TYPES):
        raise NotACoroutineError(f"{coro!r} is not a coroutine or a Deferred")
    return _startCoroutine(coro)


def inlineCallbacks(
    f: Callable[_P, Generator[Any, Any, _T]],
) -> Callable[_P, Deferred[_T]]:
    """Decorate a generator function so that it returns a Deferred.

    The generator yields Deferreds (or coroutines) and gets their results back (a Failure is
    raised at the ``yield``); its ``return`` value fires the Deferred, an exception it lets out
    errbacks it. Cancelling that Deferred cancels the Deferred the generator is waiting on.
    """

    @wraps(f)
    def unwindGenerator(*args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
        gen = f(*args, **kwargs)
        if not isinstance(gen, types.GeneratorType):
            raise TypeError(
                f"inlineCallbacks requires {f!r} to produce a generator; instead got {gen!r}"
            )
        return _startCoroutine(gen)

    return unwindGenerator


from glisten.internet._deferhelpers import (  # noqa: E402 - they build on Deferred
    FAILURE,
    SUCCESS,
    DeferredList,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    FailureGroup,
    FirstError,
    QueueOverflow,
    QueueUnderflow,
    gatherResults,
    race,
)
from glisten.internet._deferlock import (  # noqa: E402 - they build on Deferred
    AlreadyTryingToLockError,
    DeferredFilesystemLock,
    execute,
    logError,
)
