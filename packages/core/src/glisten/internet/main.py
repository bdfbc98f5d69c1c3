"""
Installing the global reactor.
"""

from __future__ import annotations

import sys
from typing import Any

from glisten.internet import error


def installReactor(reactor: Any) -> None:
    """
    Make ``reactor`` the global one: ``from glisten.internet import reactor`` returns it.

    :raises glisten.internet.error.ReactorAlreadyInstalledError: if one is installed already.
    """
    if "glisten.internet.reactor" in sys.modules:
        raise error.ReactorAlreadyInstalledError("reactor already installed")
    import glisten.internet

    sys.modules["glisten.internet.reactor"] = reactor
    glisten.internet.reactor = reactor  # type: ignore[attr-defined]
    reactor.installed = True


__all__ = ["installReactor"]
