"""Twisted's ``xish.utility``: callback lists and the :class:`EventDispatcher` behind XML
streams, where observers wait for named events or for elements an XPath query matches."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from glisten.python import log
from glisten.words.xish import xpath

__all__ = ["CallbackList", "EventDispatcher", "XmlPipe"]


class _MethodWrapper:
    """A callable with extra arguments put before each call's own (as Twisted does)."""

    __slots__ = ("method", "args", "kwargs")

    def __init__(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.args and not self.kwargs:
            return self.method(*args, **kwargs)
        merged = dict(self.kwargs)
        merged.update(kwargs)
        return self.method(*(self.args + args), **merged)


class CallbackList:
    """Callables called in the order they were added; one callable is kept once.

    :ivar callbacks: each callable (the key) with what is called for it and whether it is
        called once; change it through :meth:`addCallback` and :meth:`removeCallback`.
    """

    def __init__(self) -> None:
        # A callable added without extra arguments is kept as it is (no wrapper to call
        # through on every event).
        self.callbacks: dict[Any, tuple[Callable[..., Any], bool]] = {}
        # The callbacks' items as they stand, what one event walks (a callable may add or
        # remove others): made again when they change, not for every event.
        self._snapshot: tuple[tuple[Any, tuple[Callable[..., Any], bool]], ...] = ()

    def addCallback(
        self, onetime: bool, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """Add ``method`` (again: ignored), called with ``args``, the event and ``kwargs``.

        :param onetime: remove it after its first call.
        """
        if method not in self.callbacks:
            wrapper = _MethodWrapper(method, *args, **kwargs) if args or kwargs else method
            self.callbacks[method] = (wrapper, onetime)
            self._snapshot = tuple(self.callbacks.items())

    def removeCallback(self, method: Callable[..., Any]) -> None:
        """Remove ``method`` if present."""
        if self.callbacks.pop(method, None) is not None:
            self._snapshot = tuple(self.callbacks.items())

    def callback(self, *args: Any, **kwargs: Any) -> None:
        """Call every callable; a callable that raises is logged and the others still run."""
        for key, (wrapper, onetime) in self._snapshot:
            try:
                if kwargs:
                    wrapper(*args, **kwargs)
                else:
                    wrapper(*args)
            except BaseException:
                log.err(None, "Error in an XML stream observer")
            if onetime:
                self.removeCallback(key)

    def isEmpty(self) -> bool:
        """:return: whether no callable is left."""
        return not self.callbacks


class EventDispatcher:
    """Dispatches objects to observers by priority (higher first).

    An observer's event is a string starting with the prefix (``//event/...``: a named event,
    dispatched with :meth:`dispatch`'s ``event`` argument), an XPath string or an
    :class:`~glisten.words.xish.xpath.XPathQuery` (matched against dispatched elements).
    Observers added or removed while a dispatch runs take effect when it ends.

    :param eventprefix: what starts a named event.
    """

    def __init__(self, eventprefix: str = "//event/") -> None:
        self.prefix = eventprefix
        self._eventObservers: dict[int, dict[Any, CallbackList]] = {}
        self._xpathObservers: dict[int, dict[Any, CallbackList]] = {}
        self._dispatchDepth = 0
        self._updateQueue: list[Callable[[], None]] = []
        # Per element name, the XPath observers that may match an element of that name, in
        # the order they are tried; rebuilt lazily after observers change. Most queries name
        # the stanza they want, so an element is tried only against its own kind's queries.
        self._byName: dict[str, tuple[tuple[Any, CallbackList, int, Any], ...]] = {}

    def _observersFor(self, event: Any) -> tuple[Any, dict[int, dict[Any, CallbackList]]]:
        if isinstance(event, xpath.XPathQuery):
            return event, self._xpathObservers
        if isinstance(event, str) and event.startswith(self.prefix):
            return event, self._eventObservers
        return xpath.internQuery(event), self._xpathObservers

    def addObserver(
        self,
        event: Any,
        observerfn: Callable[..., Any],
        priority: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Call ``observerfn(*args, obj, **kwargs)`` for each matching dispatch (the extra
        arguments first, as in Twisted)."""
        self._addObserver(False, event, observerfn, priority, *args, **kwargs)

    def addOnetimeObserver(
        self,
        event: Any,
        observerfn: Callable[..., Any],
        priority: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Like :meth:`addObserver`, for the first matching dispatch only."""
        self._addObserver(True, event, observerfn, priority, *args, **kwargs)

    def _addObserver(
        self,
        onetime: bool,
        event: Any,
        observerfn: Callable[..., Any],
        priority: int,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if self._dispatchDepth > 0:
            self._updateQueue.append(
                lambda: self._addObserver(onetime, event, observerfn, priority, *args, **kwargs)
            )
            return
        key, observers = self._observersFor(event)
        self._byName.clear()
        byEvent = observers.setdefault(priority, {})
        if key not in byEvent:
            byEvent[key] = CallbackList()
        byEvent[key].addCallback(onetime, observerfn, *args, **kwargs)

    def removeObserver(self, event: Any, observerfn: Callable[..., Any]) -> None:
        """Stop calling ``observerfn`` for ``event`` (at every priority)."""
        if self._dispatchDepth > 0:
            self._updateQueue.append(lambda: self.removeObserver(event, observerfn))
            return
        key, observers = self._observersFor(event)
        self._byName.clear()
        for priority in list(observers):
            byEvent = observers[priority]
            if key in byEvent:
                byEvent[key].removeCallback(observerfn)
                if byEvent[key].isEmpty():
                    del byEvent[key]
            if not byEvent:
                del observers[priority]

    def dispatch(self, obj: Any, event: Any = None) -> bool:
        """Call the observers of a named ``event``, or, without one, those whose query
        matches the element ``obj``.

        :return: whether any observer was called.
        """
        found = False
        self._dispatchDepth += 1
        try:
            # Changes to the observers (additions, removals, spent one-time observers) wait
            # until the outermost dispatch ends, so what is walked here does not change
            # while it is walked, even by a dispatch that a callback starts.
            if event is None:
                candidates = self._byName.get(obj.name)
                if candidates is None:
                    candidates = self._candidates(obj.name)
                for match, callbacks, priority, key in candidates:
                    if callbacks.callbacks and match(obj, None):
                        callbacks.callback(obj)
                        found = True
                        if not callbacks.callbacks:
                            self._updateQueue.append(
                                functools.partial(
                                    self._dropSpent, self._xpathObservers, priority, key
                                )
                            )
            else:
                observers = self._eventObservers
                for priority in sorted(observers, reverse=True):
                    # A named event's observers are found by the event's name.
                    named = observers[priority].get(event)
                    if named is None or not named.callbacks:
                        continue
                    named.callback(obj)
                    found = True
                    if not named.callbacks:
                        self._updateQueue.append(
                            functools.partial(self._dropSpent, observers, priority, event)
                        )
        finally:
            self._dispatchDepth -= 1
        if self._dispatchDepth == 0 and self._updateQueue:
            queue, self._updateQueue = self._updateQueue, []
            for update in queue:
                update()
        return found

    def _candidates(self, name: str) -> tuple[tuple[Any, CallbackList, int, Any], ...]:
        """:return: the XPath observers whose query may match an element called ``name``
        (those naming it or no name), highest priority first, in the order they were added
        within a priority: each with its compiled query, callbacks, priority and key."""
        found = tuple(
            (xpath.matcherOf(query), callbacks, priority, query)
            for priority in sorted(self._xpathObservers, reverse=True)
            for query, callbacks in self._xpathObservers[priority].items()
            if xpath.rootNameOf(query) in (None, name)
        )
        if len(self._byName) >= 64:
            self._byName.clear()  # a peer inventing stanza names gets no unbounded cache
        self._byName[name] = found
        return found

    def _dropSpent(
        self, observers: dict[int, dict[Any, CallbackList]], priority: int, key: Any
    ) -> None:
        byEvent = observers.get(priority)
        if byEvent is not None and key in byEvent and byEvent[key].isEmpty():
            self._byName.clear()
            del byEvent[key]
            if not byEvent:
                del observers[priority]


class XmlPipe:
    """Two connected dispatchers for tests: what one side sends, the other side's observers
    receive (``pipe.source.send(element)`` dispatches on ``pipe.sink``)."""

    def __init__(self) -> None:
        self.source = EventDispatcher()
        self.sink = EventDispatcher()
        self.source.send = lambda obj: self.sink.dispatch(obj)  # type: ignore[attr-defined]
        self.sink.send = lambda obj: self.source.dispatch(obj)  # type: ignore[attr-defined]
