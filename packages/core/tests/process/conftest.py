"""
A fresh reactor per test that the process tests run themselves, with the ``wait`` fixture of
the top-level conftest.
"""

from __future__ import annotations

from typing import Any

import pytest

from glisten.trial._driver import makeReactor


@pytest.fixture
def reactor() -> Any:
    """
    A fresh reactor (kind from ``GLISTEN_REACTOR``); it overrides the pytest plugin's: not
    installed globally nor checked for leftovers.
    """
    return makeReactor()
