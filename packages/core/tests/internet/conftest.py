"""
Fixtures for the reactor tests: a fresh reactor of each kind per test. The tests run it
themselves with the ``runUntil`` fixture of the top-level conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from glisten.trial._driver import makeReactor


@pytest.fixture(params=["asyncio", "epoll", "poll", "select"])
def anyReactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """
    A fresh, not installed, reactor of each kind.
    """
    r = makeReactor(request.param)
    yield r
