"""Capturing events in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._global import globalLogPublisher
from ._interfaces import LogEvent
from ._levels import LogLevel
from ._observer import LogPublisher


@contextmanager
def capturedLogs(
    publisher: LogPublisher | None = None, level: LogLevel = LogLevel.debug
) -> Iterator[list[LogEvent]]:
    """Collect the events sent to ``publisher`` (the global one) while the block runs.

    :param level: events below this level are not collected.
    """
    if publisher is None:
        publisher = globalLogPublisher
    events: list[LogEvent] = []

    def observer(event: LogEvent) -> None:
        eventLevel = event.get("log_level")
        if not isinstance(eventLevel, LogLevel) or eventLevel >= level:
            events.append(event)

    publisher.addObserver(observer)
    try:
        yield events
    finally:
        publisher.removeObserver(observer)
