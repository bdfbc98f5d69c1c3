"""Fixtures for the HTTP/2 tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.task import Clock
from glisten.web import server

from ._h2peer import Hello, Peer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def h2peer(clock: Clock) -> Callable[..., Peer]:
    """``h2peer(root=None, site=None, **peerOptions)``: a connection to a site that accepts
    HTTP/2 in clear text."""

    def make(root: Any = None, site: server.Site | None = None, **kwargs: Any) -> Peer:
        if site is None:
            site = server.Site(root if root is not None else Hello(), reactor=clock)
        site.http2 = True
        return Peer(site, clock, **kwargs)

    return make
