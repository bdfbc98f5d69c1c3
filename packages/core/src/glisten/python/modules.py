"""Finding modules and the files they came from, as ``twisted.python.modules``.

The common use is locating data shipped next to a module::

    cert = getModule(__name__).filePath.sibling("server.pem").getContent()

:func:`getModule` uses :mod:`importlib`'s finders: an already-imported module is described
from ``sys.modules``; otherwise its spec is found without running the module itself
(its parent packages are imported, as Python's import system requires). Namespace
packages (PEP 420, like ``glisten`` itself) have a directory as their ``filePath``.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import sys
from collections.abc import Iterator
from typing import Any

from .filepath import FilePath
from .reflect import namedAny

__all__ = [
    "PathEntry",
    "PythonAttribute",
    "PythonModule",
    "PythonPath",
    "getModule",
    "iterModules",
    "theSystemPath",
    "walkModules",
]

_nothing = object()


class PythonAttribute:
    """A name defined in a module."""

    def __init__(self, name: str, onObject: Any, loaded: bool, pythonValue: Any) -> None:
        self.name = name
        self.onObject = onObject
        self._loaded = loaded
        self.pythonValue = pythonValue

    def __repr__(self) -> str:
        return f"PythonAttribute<{self.name!r}>"

    def isLoaded(self) -> bool:
        """Whether the value is loaded (always, here)."""
        return self._loaded

    def load(self, default: Any = _nothing) -> Any:
        """The attribute's value."""
        return self.pythonValue


class PathEntry:
    """One entry of ``sys.path``, as a FilePath."""

    def __init__(self, filePath: FilePath[str], pythonPath: PythonPath) -> None:
        self.filePath = filePath
        self.pythonPath = pythonPath

    def __repr__(self) -> str:
        return f"PathEntry<{self.filePath!r}>"

    def iterModules(self) -> Iterator[PythonModule]:
        """The top-level modules found in this entry."""
        for info in pkgutil.iter_modules([self.filePath.path]):
            yield self.pythonPath[info.name]


class PythonModule:
    """A module known by name, with the file it lives in.

    :ivar name: the dotted name.
    :ivar filePath: its ``.py`` file, a package's ``__init__.py``, or a namespace
        package's (first) directory.
    """

    def __init__(
        self,
        name: str,
        filePath: FilePath[str],
        pathEntry: PathEntry | None = None,
        searchLocations: list[str] | None = None,
    ) -> None:
        self.name = name
        self.filePath = filePath
        self.pathEntry = pathEntry
        self._searchLocations = searchLocations

    def __repr__(self) -> str:
        return f"PythonModule<{self.name!r}>"

    def isLoaded(self) -> bool:
        """Whether the module has been imported."""
        return self.name in sys.modules

    def isPackage(self) -> bool:
        """Whether it is a package (regular or namespace)."""
        return self._searchLocations is not None

    def load(self, default: Any = _nothing) -> Any:
        """Import the module and return it (``default`` if it fails and one was given)."""
        try:
            return namedAny(self.name)
        except Exception:
            if default is _nothing:
                raise
            return default

    def iterModules(self) -> Iterator[PythonModule]:
        """The direct submodules of a package (nothing for a plain module)."""
        if not self._searchLocations:
            return
        seen = set()
        for info in pkgutil.iter_modules(self._searchLocations):
            if info.name in seen:
                continue
            seen.add(info.name)
            yield getModule(f"{self.name}.{info.name}")

    def walkModules(self, importPackages: bool = False) -> Iterator[PythonModule]:
        """This module and, recursively, every submodule."""
        if importPackages and self.isPackage():
            self.load()
        yield self
        for module in self.iterModules():
            yield from module.walkModules(importPackages)

    def __getitem__(self, modname: str) -> PythonModule:
        for module in self.iterModules():
            if module.name == f"{self.name}.{modname}":
                return module
        raise KeyError(modname)

    def __iter__(self) -> Iterator[PythonModule]:
        return self.iterModules()

    def iterAttributes(self) -> Iterator[PythonAttribute]:
        """The module's top-level names (the module is imported)."""
        module = self.load()
        for name, value in vars(module).items():
            yield PythonAttribute(f"{self.name}.{name}", self, True, value)


def _fromSpec(name: str, spec: Any) -> PythonModule:
    locations = (
        list(spec.submodule_search_locations)
        if spec.submodule_search_locations is not None
        else None
    )
    if spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
        path = FilePath(spec.origin)
    elif locations:
        path = FilePath(locations[0])
    else:
        raise KeyError(f"{name!r} has no file (it is built in)")
    return PythonModule(name, path, None, locations)


def getModule(moduleName: str) -> PythonModule:
    """The :class:`PythonModule` for a dotted module name.

    :raises KeyError: no such module, or it has no file (built in).
    """
    module = sys.modules.get(moduleName)
    spec = getattr(module, "__spec__", None) if module is not None else None
    if spec is None:
        try:
            spec = importlib.util.find_spec(moduleName)
        except (ImportError, ValueError):
            spec = None
    if spec is None:
        file = getattr(module, "__file__", None)
        if file:
            return PythonModule(moduleName, FilePath(file), None, getattr(module, "__path__", None))
        raise KeyError(moduleName)
    return _fromSpec(moduleName, spec)


class PythonPath:
    """``sys.path`` as a mapping from module names to :class:`PythonModule`."""

    def __init__(self, sysPath: list[str] | None = None) -> None:
        self._sysPath = sysPath

    @property
    def sysPath(self) -> list[str]:
        """The path list (``sys.path`` unless another was given)."""
        return self._sysPath if self._sysPath is not None else sys.path

    def __getitem__(self, modname: str) -> PythonModule:
        return getModule(modname)

    def __contains__(self, modname: str) -> bool:
        try:
            self[modname]
        except KeyError:
            return False
        return True

    def iterEntries(self) -> Iterator[PathEntry]:
        """Each path entry."""
        for entry in self.sysPath:
            yield PathEntry(FilePath(entry or "."), self)

    def iterModules(self) -> Iterator[PythonModule]:
        """Every top-level module on the path."""
        seen = set()
        for info in pkgutil.iter_modules(self.sysPath):
            if info.name not in seen:
                seen.add(info.name)
                try:
                    yield self[info.name]
                except KeyError:
                    continue

    def walkModules(self, importPackages: bool = False) -> Iterator[PythonModule]:
        """Every module on the path, recursively."""
        for module in self.iterModules():
            yield from module.walkModules(importPackages)


theSystemPath = PythonPath()


def iterModules() -> Iterator[PythonModule]:
    """Every top-level module on ``sys.path``."""
    return theSystemPath.iterModules()


def walkModules(importPackages: bool = False) -> Iterator[PythonModule]:
    """Every module on ``sys.path``, recursively."""
    return theSystemPath.walkModules(importPackages)
