"""
Installing the global reactor, and finding it lazily.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar, overload

from glisten.internet import error

_R = TypeVar("_R")


def installReactor(reactor: Any) -> None:
    """
    Make ``reactor`` the global one: ``from glisten.internet import reactor`` returns it.

    :raises glisten.internet.error.ReactorAlreadyInstalledError: if one is installed already.
    """
    if "glisten.internet.reactor" in sys.modules:
        raise error.ReactorAlreadyInstalledError("reactor already installed")
    import glisten.internet

    sys.modules["glisten.internet.reactor"] = reactor
    glisten.internet.reactor = reactor
    reactor.installed = True


@overload
def getReactor(reactor: None = None) -> Any: ...


@overload
def getReactor(reactor: _R) -> _R: ...


def getReactor(reactor: Any = None) -> Any:
    """
    The reactor to use: ``reactor`` when one is given, else the global reactor.

    This is the one place glisten looks up the global reactor. APIs take an optional
    ``reactor`` (or ``clock``) and call this at *use* time, not at construction or import,
    so building objects (in a plugin's ``makeService``, at module level) never installs a
    reactor early, and a reactor installed later (``glisten --reactor asyncio``, a test's
    fresh reactor) is the one that gets used.

    :param reactor: the reactor the caller was given, or ``None``.
    :return: ``reactor``, or the global reactor (the platform default is installed if none
        was installed yet).
    """
    if reactor is not None:
        return reactor
    from glisten.internet import reactor as globalReactor

    return globalReactor


__all__ = ["getReactor", "installReactor"]
