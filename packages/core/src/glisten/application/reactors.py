"""
Choosing and installing a reactor by name (``glisten --reactor NAME``).

Besides glisten's own reactors, any plugin (see :mod:`glisten.plugin`) in ``glisten.plugins``
providing :class:`IReactorInstaller` is offered, as in Twisted.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import attrs
from zope.interface import Attribute, Interface, implementer

from glisten.plugin import IPlugin, getPlugins

__all__ = [
    "IReactorInstaller",
    "NoSuchReactor",
    "Reactor",
    "getPlugins",
    "getReactorTypes",
    "installReactor",
]


class IReactorInstaller(Interface):
    """
    A reactor that can be installed by name.
    """

    shortName = Attribute("The name used on the command line.")
    description = Attribute("One line for ``--help-reactors``.")

    def install() -> Any:
        """
        Install the reactor as the global one.
        """


class NoSuchReactor(KeyError):
    """
    No reactor has the name asked for.
    """


@implementer(IPlugin, IReactorInstaller)
@attrs.frozen
class Reactor:
    """
    A reactor that can be installed by name.

    :ivar shortName: the name used on the command line.
    :ivar moduleName: the module whose ``install()`` installs it.
    :ivar description: one line for ``--help``.
    """

    shortName: str
    moduleName: str
    description: str

    def install(self) -> Any:
        """
        Install this reactor as the global one.

        :return: the reactor.
        """
        return importlib.import_module(self.moduleName).install()


_REACTORS = (
    Reactor("epoll", "glisten.internet.epollreactor", "epoll(7)-based reactor (Linux default)"),
    Reactor("poll", "glisten.internet.pollreactor", "poll(2)-based reactor"),
    Reactor("select", "glisten.internet.selectreactor", "select(2)-based reactor"),
    Reactor(
        "asyncio",
        "glisten.internet.asyncioreactor",
        "reactor on an asyncio event loop (uvloop's when installed as asyncio's policy)",
    ),
)


def getReactorTypes() -> Iterator[Any]:
    """
    :return: the reactors that can be installed by name: glisten's own, then those that
        ``glisten.plugins`` modules provide.
    """
    yield from _REACTORS
    names = {r.shortName for r in _REACTORS}
    for plugin in getPlugins(IReactorInstaller):
        if plugin.shortName not in names:
            names.add(plugin.shortName)
            yield plugin


def installReactor(shortName: str) -> Any:
    """
    Install the reactor named ``shortName`` (``epoll``, ``poll``, ``select``, ``asyncio``).

    :return: the installed reactor.
    :raises NoSuchReactor: for an unknown name.
    :raises glisten.internet.error.ReactorAlreadyInstalledError: if one is installed already.
    """
    for r in getReactorTypes():
        if r.shortName == shortName:
            return r.install()
    raise NoSuchReactor(shortName)
