"""Plugins found by interface, the way ``twisted.plugin`` finds them.

A plugin is an object providing :class:`IPlugin` (and whatever interface its users look
for), defined at the top level of a module in a plugin package, by default ``glisten.plugins``.
That package is a PEP 420 namespace package: any distribution (or any directory on
``sys.path``) can add a ``glisten/plugins/NAME.py`` of its own, with no ``__init__.py``,
and :func:`getPlugins` sees it next to everyone else's.

Twisted kept a ``dropin.cache`` pickle next to each plugin directory, and wrote it wherever
it could, including into installed packages. glisten writes no cache: :func:`getPlugins`
imports the plugin modules each time it is asked. A module that fails to import is logged
and skipped; it does not hide the others.

New plugins for the ``glisten`` command should still be published as entry points in the
``glisten.plugins`` group (see :mod:`glisten.application.cli`); a ``glisten/plugins/``
module providing :class:`IPlugin` and ``IServiceMaker`` is found too, so a ported
``twistd`` plugin runs as ``glisten NAME --its-options``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from zope.interface import Interface

from .logger import Logger, LogLevel

__all__ = ["IPlugin", "getPlugins", "pluginPackagePaths"]

_log = Logger(namespace="glisten.plugin")

_T = TypeVar("_T")

#: The package searched when :func:`getPlugins` is given none.
DEFAULT_PLUGIN_PACKAGE = "glisten.plugins"


class IPlugin(Interface):
    """A marker: objects providing it, at the top level of a plugin module, are plugins."""


def _searchPath(package: types.ModuleType | str | None) -> tuple[str, list[str]]:
    if package is None:
        package = DEFAULT_PLUGIN_PACKAGE
    if isinstance(package, str):
        try:
            module = importlib.import_module(package)
        except ModuleNotFoundError as e:
            if e.name is not None and (package == e.name or package.startswith(e.name + ".")):
                # No distribution provides the package (yet): no plugins.
                return package, []
            raise
    else:
        module = package
    return module.__name__, list(getattr(module, "__path__", []))


def _pluginModules(package: types.ModuleType | str | None) -> Iterator[types.ModuleType]:
    name, path = _searchPath(package)
    seen: set[str] = set()
    for info in pkgutil.iter_modules(path):
        if info.name in seen:
            continue
        seen.add(info.name)
        moduleName = f"{name}.{info.name}"
        try:
            yield importlib.import_module(moduleName)
        except Exception:
            # Error, not critical: it reaches the log once logging begins, but is not
            # printed on every command-line invocation before that.
            _log.failure(
                "Cannot import plugin module {module}", level=LogLevel.error, module=moduleName
            )


def getPlugins(interface: Any, package: types.ModuleType | str | None = None) -> Iterable[Any]:
    """Every plugin in ``package`` that provides (or adapts to) ``interface``.

    :param interface: the interface the caller wants.
    :param package: the plugin package (a module or its dotted name); ``glisten.plugins``
        if ``None``.
    :return: an iterable of the plugins, adapted to ``interface``.
    """
    from .python import components  # noqa: F401 - installs the adapter-registry hook

    for module in _pluginModules(package):
        for value in list(vars(module).values()):
            try:
                if not IPlugin.providedBy(value):
                    continue
                adapted = interface(value, None)
            except Exception:
                _log.failure(
                    "Plugin {plugin!r} cannot be adapted", level=LogLevel.error, plugin=value
                )
                continue
            if adapted is not None:
                yield adapted


def pluginPackagePaths(name: str) -> list[str]:
    """The directories on ``sys.path`` that hold parts of the plugin package ``name``.

    For a plugin package that is a regular package (with ``__init__.py``) and wants to
    span several directories, as Twisted's did: ``__path__.extend(pluginPackagePaths(__name__))``.
    Directories that are themselves regular packages are left out (they are imported as such).
    """
    package = name.split(".")
    return [
        os.path.abspath(os.path.join(entry, *package))
        for entry in sys.path
        if not os.path.exists(os.path.join(entry, *package, "__init__.py"))
        and os.path.isdir(os.path.join(entry, *package))
    ]
