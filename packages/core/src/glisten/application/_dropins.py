"""``glisten`` command plugins found the Twisted way: ``glisten/plugins/`` modules.

A ported ``twistd`` plugin is an object providing :class:`~glisten.plugin.IPlugin` and
``IServiceMaker`` with ``tapname``, ``description``, an ``options`` class (a
:class:`~glisten.python.usage.Options`) and ``makeService(options)``. The ``glisten``
command lists such objects next to its entry-point plugins (an entry point of the same name
wins) and parses their command line with their ``options`` class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DropinEntry:
    """A plugin found in ``glisten/plugins/``, shaped like an entry point (``name``, ``load``)."""

    def __init__(self, name: str, maker: Any) -> None:
        self.name = name
        self._maker = maker

    def load(self) -> Any:
        """The service maker."""
        return self._maker


def dropinServiceMakers() -> dict[str, DropinEntry]:
    """The service makers in ``glisten.plugins`` modules, by ``tapname``."""
    from glisten.plugin import getPlugins

    from .service import IServiceMaker

    found: dict[str, DropinEntry] = {}
    for maker in getPlugins(IServiceMaker):
        name = getattr(maker, "tapname", None)
        if isinstance(name, str) and name:
            found.setdefault(name, DropinEntry(name, maker))
    return found


def usesUsageOptions(maker: Any) -> bool:
    """Whether ``maker`` is a Twisted-style maker (an ``options`` class, no ``addArguments``)."""
    return not hasattr(maker, "addArguments") and hasattr(maker, "options")


def parseUsageOptions(
    maker: Any, name: str, args: Sequence[str], errorClass: type[Exception]
) -> Any:
    """Parse ``args`` with the maker's ``usage.Options`` class.

    :raises errorClass: with a one-line message, for a usage error.
    """
    from glisten.python import usage

    config = maker.options()
    if not hasattr(config, "synopsis"):
        config.synopsis = f"Usage: glisten {name} [options]"
    try:
        config.parseOptions(list(args))
    except usage.UsageError as e:
        raise errorClass(f"glisten {name}: {e}")
    return config
