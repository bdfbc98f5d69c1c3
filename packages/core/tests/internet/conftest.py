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
    # A loop the test left open (a crashed or never-run reactor) is closed now, not by the
    # garbage collector, which may finalize its self-pipe socket before it and then complain.
    loop = getattr(r, "_asyncioEventloop", None)
    if loop is not None and not loop.is_running() and not loop.is_closed():
        loop.close()
