"""Fixtures for the Deferred tests: a clock for addTimeout, debugging off, log capture."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.task import Clock


@pytest.fixture
def timeClock() -> Clock:
    """A clock for addTimeout, moved by hand."""
    return Clock()


@pytest.fixture(autouse=True)
def _noDebugging() -> Iterator[None]:
    """Every test starts and ends with Deferred debugging off."""
    defer.setDebugging(False)
    yield
    defer.setDebugging(False)


@pytest.fixture
def logEvents() -> Iterator[list[dict[str, Any]]]:
    """Collect the events published to the global log publisher during the test."""
    from glisten.logger import globalLogPublisher

    gc.collect()
    events: list[dict[str, Any]] = []
    observer = events.append
    globalLogPublisher.addObserver(observer)
    try:
        yield events
    finally:
        gc.collect()
        globalLogPublisher.removeObserver(observer)
