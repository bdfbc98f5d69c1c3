"""The :class:`Logger`: where log events are born."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._interfaces import LogEvent
from ._levels import InvalidLogLevelError, LogLevel

if TYPE_CHECKING:
    from ..python.failure import Failure


class Logger:
    """Emits structured log events to an observer (the global publisher by default).

    A format string uses PEP 3101 syntax with the keyword arguments as fields; the fields are
    also kept in the event as data, so observers can filter on them or write them as JSON::

        log = Logger()
        log.info("{user} logged in from {peer}", user=user, peer=peer)

    Used as a class attribute, a logger binds itself to the instance (``log_source``) and its
    namespace becomes ``module.Class``.

    :param namespace: the event namespace; by default the calling module's ``__name__``.
    :param source: the object the events are about (``log_source``).
    :param observer: where events go; the global log publisher when ``None``.
    """

    __slots__ = ("namespace", "source", "_observer")

    def __init__(
        self,
        namespace: str | None = None,
        source: object = None,
        observer: Callable[[LogEvent], Any] | None = None,
    ) -> None:
        if namespace is None:
            namespace = self._namespaceFromCallingContext()
        self.namespace: str = namespace
        self.source: object = source
        self._observer = observer

    @staticmethod
    def _namespaceFromCallingContext() -> str:
        try:
            return str(sys._getframe(2).f_globals["__name__"])
        except (KeyError, ValueError):
            return "<unknown>"

    @property
    def observer(self) -> Callable[[LogEvent], Any]:
        """Where this logger's events go."""
        if self._observer is not None:
            return self._observer
        return _publisher[0] if _publisher else _globalPublisher()

    def __get__(self, instance: object, owner: type | None = None) -> Logger:
        if owner is None:
            owner = type(instance)
        source = owner if instance is None else instance
        namespace = f"{owner.__module__}.{owner.__name__}"
        cls = self.__class__
        if cls is not Logger:
            # A subclass may do more in __init__: honour it.
            return cls(namespace, source, observer=self._observer)
        # Every read of ``self.log`` on an instance makes a logger bound to that instance;
        # for the plain class, skip __init__ and its argument handling.
        bound = _newLogger(Logger)
        bound.namespace = namespace
        bound.source = source
        bound._observer = self._observer
        return bound

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.namespace!r}>"

    def emit(self, level: LogLevel, format: str | None = None, **kwargs: Any) -> None:
        """Send one event at ``level`` with ``format`` and ``kwargs`` as its fields.

        An invalid level is itself reported as an error and the event is sent at ``error``,
        so the message is not lost.
        """
        if level.__class__ is not LogLevel:
            self.failure(
                "Got invalid log level {invalidLevel!r} in {logger}.emit().",
                _failureFor(InvalidLogLevelError(level)),
                invalidLevel=level,
                logger=self,
            )
            level = LogLevel.error
        # The keyword dictionary is the event: no copy, and plain stores rather than an
        # update() call that builds a second dictionary of its own.
        event = kwargs
        event["log_logger"] = self
        event["log_level"] = level
        event["log_namespace"] = self.namespace
        event["log_source"] = self.source
        event["log_format"] = format
        event["log_time"] = time.time()
        observer = self._observer
        if observer is None:
            observer = _publisher[0] if _publisher else _globalPublisher()
        if "log_trace" in event:
            event["log_trace"].append((self, observer))
        observer(event)

    def failure(
        self,
        format: str,
        failure: Failure | None = None,
        level: LogLevel = LogLevel.critical,
        **kwargs: Any,
    ) -> None:
        """Log a failure with its traceback.

        Called without ``failure`` inside an ``except`` block, it captures the exception
        being handled::

            try:
                ...
            except Exception:
                log.failure("while frobbing {thing}", thing=thing)

        :param failure: the failure to log; ``None`` means the current exception.
        :param level: ``critical`` by default: an unexpected exception is a bug.
        """
        if failure is None:
            from ..python.failure import Failure

            failure = Failure()
        self.emit(level, format, log_failure=failure, **kwargs)

    @contextmanager
    def failuresHandled(
        self, format: str, level: LogLevel = LogLevel.critical, **kwargs: Any
    ) -> Iterator[Operation]:
        """Run a block; if it raises, log the failure (with ``format``) instead.

        ::

            with log.failuresHandled("while frobbing {thing}", thing=thing) as op:
                frob(thing)
            if op.failed:
                ...

        :return: a context manager giving an :class:`Operation` that records the outcome.
        """
        operation = Operation()
        try:
            yield operation
        except Exception:
            from ..python.failure import Failure

            operation.failure = Failure()
            self.failure(format, operation.failure, level, **kwargs)
        else:
            operation.succeeded = True

    def failureHandler(
        self, staticFormat: str, level: LogLevel = LogLevel.critical
    ) -> _FailureHandler:
        """A reusable context manager that logs (and swallows) exceptions of its block, any
        :class:`BaseException` (``KeyboardInterrupt`` too), as Twisted's does.

        Cheaper than :meth:`failuresHandled` for hot paths: no per-use state is created.
        """
        return _FailureHandler(self, staticFormat, level)

    def debug(self, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at :attr:`LogLevel.debug`."""
        self.emit(LogLevel.debug, format, **kwargs)

    def info(self, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at :attr:`LogLevel.info`."""
        self.emit(LogLevel.info, format, **kwargs)

    def warn(self, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at :attr:`LogLevel.warn`."""
        self.emit(LogLevel.warn, format, **kwargs)

    def error(self, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at :attr:`LogLevel.error`."""
        self.emit(LogLevel.error, format, **kwargs)

    def critical(self, format: str | None = None, **kwargs: Any) -> None:
        """Emit an event at :attr:`LogLevel.critical`."""
        self.emit(LogLevel.critical, format, **kwargs)


_publisher: list[Callable[[LogEvent], Any]] = []
_newLogger = object.__new__


def _globalPublisher() -> Callable[[LogEvent], Any]:
    # Imported on first use: the global module imports this one.
    if not _publisher:
        from ._global import globalLogPublisher

        _publisher.append(globalLogPublisher)
    return _publisher[0]


class Operation:
    """The outcome of a :meth:`Logger.failuresHandled` block."""

    def __init__(self) -> None:
        self.succeeded = False
        self.failure: Failure | None = None

    @property
    def failed(self) -> bool:
        """Whether the block raised."""
        return self.failure is not None


class _FailureHandler:
    def __init__(self, logger: Logger, format: str, level: LogLevel) -> None:
        self._logger = logger
        self._format = format
        self._level = level

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        excType: type[BaseException] | None,
        excValue: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if excValue is None:
            return False
        # Every exception, KeyboardInterrupt included, as Twisted's handler does: the block
        # is a unit of work whose failure is logged and must not end the caller.
        from ..python.failure import Failure

        self._logger.failure(self._format, Failure(excValue, excType, traceback), self._level)
        return True


def _failureFor(error: BaseException) -> Failure:
    from ..python.failure import Failure

    return Failure(error)
