"""Looking things up by name and describing objects safely, as ``twisted.python.reflect`` does.

Plugins, option parsers and configuration name their classes and functions with dotted
strings; :func:`namedAny` turns such a string back into the object and says precisely what is
wrong when it cannot. :func:`safe_repr` and :func:`safe_str` describe an object even when its
own ``__repr__``/``__str__`` is broken, which is what a logger needs.
"""

from __future__ import annotations

import importlib
import inspect
import traceback
import types
from collections.abc import Callable
from typing import Any

__all__ = [
    "InvalidName",
    "ModuleNotFound",
    "ObjectNotFound",
    "accumulateClassDict",
    "accumulateClassList",
    "accumulateMethods",
    "addMethodNamesToDict",
    "allYourBase",
    "filenameToModuleName",
    "fullyQualifiedName",
    "getClass",
    "namedAny",
    "namedClass",
    "namedModule",
    "namedObject",
    "prefixedMethodNames",
    "prefixedMethods",
    "qual",
    "requireModule",
    "safe_repr",
    "safe_str",
]


class InvalidName(ValueError):
    """The name is not a valid dotted Python name."""


class ModuleNotFound(InvalidName):
    """The name's first segment is not an importable module."""


class ObjectNotFound(InvalidName):
    """A module was found but an attribute named after it was not."""


def namedModule(name: str) -> types.ModuleType:
    """Import and return the module called ``name`` (dotted)."""
    return importlib.import_module(name)


def namedObject(name: str) -> Any:
    """The attribute named by the last segment of ``name`` in the module named by the rest."""
    moduleName, _, attr = name.rpartition(".")
    return getattr(namedModule(moduleName), attr)


namedClass = namedObject


def requireModule(name: str, default: Any = None) -> Any:
    """The module called ``name``, or ``default`` if it cannot be imported."""
    try:
        return namedModule(name)
    except ImportError:
        return default


def _importAndCheckStack(importName: str) -> types.ModuleType | None:
    """Import ``importName``; ``None`` if that exact module does not exist.

    An ImportError raised from *inside* an existing module (a broken import there) is re-raised:
    it is a real error, not a missing name.
    """
    try:
        return importlib.import_module(importName)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if importName == missing or importName.startswith(missing + "."):
            return None
        raise


def namedAny(name: str) -> Any:
    """The object named by the dotted ``name``: a module, or any attribute below one.

    :raises InvalidName: ``name`` is empty or has empty segments.
    :raises ModuleNotFound: ``name`` is a single segment and no such module exists.
    :raises ObjectNotFound: no prefix of a dotted ``name`` is a module.
    :raises AttributeError: a module was found but an attribute below it does not exist.
    """
    if not name:
        raise InvalidName("Empty module name")
    names = name.split(".")
    if "" in names:
        raise InvalidName(
            f"name must be a string giving a '.'-separated list of Python identifiers, not {name!r}"
        )
    topLevel: types.ModuleType | None = None
    moduleNames = names[:]
    while topLevel is None:
        if not moduleNames:
            # As Twisted: a bare name is a missing module, a dotted one a missing object.
            if len(names) == 1:
                raise ModuleNotFound(f"No module named {name!r}")
            raise ObjectNotFound(f"{name!r} does not name an object")
        trialName = ".".join(moduleNames)
        topLevel = _importAndCheckStack(trialName)
        if topLevel is None:
            moduleNames.pop()
    obj: Any = topLevel
    for n in names[len(moduleNames) :]:
        # A missing attribute of a module that exists is an AttributeError, as in Twisted.
        obj = getattr(obj, n)
    return obj


def qual(clazz: type) -> str:
    """``module.ClassName`` for a class."""
    return f"{clazz.__module__}.{getattr(clazz, '__qualname__', clazz.__name__)}"


def fullyQualifiedName(obj: Any) -> str:
    """The dotted name of a module, class, function or (bound or unbound) method."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if inspect.ismethod(obj):
        owner = obj.__self__ if isinstance(obj.__self__, type) else type(obj.__self__)
        return f"{fullyQualifiedName(owner)}.{obj.__name__}"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    if name is None:
        return repr(obj)
    return f"{module}.{name}" if module else name


fullFuncName = fullyQualifiedName


def getClass(obj: Any) -> type:
    """The class of ``obj``."""
    return type(obj)


def _safeFormat(formatter: Callable[[Any], str], o: Any) -> str:
    try:
        return formatter(o)
    except BaseException:
        io = traceback.format_exc()
        try:
            className = type(o).__qualname__
        except BaseException:
            className = "<BROKEN CLASS>"
        return f"<{className} instance at 0x{id(o):x} with {formatter.__name__} error:\n {io}>"


def safe_repr(o: Any) -> str:
    """``repr(o)``, or a description of the error if ``repr`` raised."""
    return _safeFormat(repr, o)


def safe_str(o: Any) -> str:
    """``str(o)`` (bytes decoded as UTF-8 with escapes), or a description of the error."""
    if isinstance(o, bytes):
        try:
            return o.decode("utf-8")
        except UnicodeDecodeError:
            return o.decode("utf-8", "backslashreplace")
    return _safeFormat(str, o)


def allYourBase(classObj: type, baseClass: type | None = None) -> list[type]:
    """Every ancestor class of ``classObj`` (optionally only subclasses of ``baseClass``)."""
    result: list[type] = []
    accumulateBases(classObj, result, baseClass)
    return result


def accumulateBases(classObj: type, result: list[type], baseClass: type | None = None) -> None:
    """Append every ancestor of ``classObj`` to ``result`` (repeats included, as Twisted)."""
    for base in classObj.__bases__:
        if baseClass is None or issubclass(base, baseClass):
            result.append(base)
        accumulateBases(base, result, baseClass)


def accumulateClassList(
    classObj: type, attr: str, listObj: list[Any], baseClass: type | None = None
) -> None:
    """Extend ``listObj`` with the list attribute ``attr`` of ``classObj`` and all its bases.

    Base classes come first, so a subclass can add to what its parents declared (this is how
    ``usage.Options`` collects ``optFlags`` from every class in the hierarchy).
    """
    for base in classObj.__bases__:
        accumulateClassList(base, attr, listObj)
    if baseClass is None or baseClass in classObj.__bases__:
        listObj.extend(classObj.__dict__.get(attr, []))


def accumulateClassDict(
    classObj: type, attr: str, adict: dict[Any, Any], baseClass: type | None = None
) -> None:
    """Update ``adict`` with the dict attribute ``attr`` of the bases, then of ``classObj``."""
    for base in classObj.__bases__:
        accumulateClassDict(base, attr, adict)
    if baseClass is None or baseClass in classObj.__bases__:
        adict.update(classObj.__dict__.get(attr, {}))


def addMethodNamesToDict(
    classObj: type, dict: dict[str, int], prefix: str, baseClass: type | None = None
) -> None:
    """Add every method name of ``classObj`` starting with ``prefix`` (prefix removed) to ``dict``."""
    for base in classObj.__bases__:
        addMethodNamesToDict(base, dict, prefix, baseClass)
    if baseClass is None or baseClass in classObj.__bases__:
        for name, method in classObj.__dict__.items():
            optName = name[len(prefix) :]
            if (
                name.startswith(prefix)
                and optName
                and (callable(method) or isinstance(method, (staticmethod, classmethod)))
            ):
                dict[optName] = 1


def prefixedMethodNames(classObj: type, prefix: str) -> list[str]:
    """The names (prefix removed) of every method of ``classObj`` starting with ``prefix``."""
    dct: dict[str, int] = {}
    addMethodNamesToDict(classObj, dct, prefix)
    return list(dct)


def prefixedMethods(obj: Any, prefix: str = "") -> list[Any]:
    """The bound methods of ``obj`` whose names start with ``prefix``."""
    dct: dict[str, Any] = {}
    accumulateMethods(obj, dct, prefix)
    return list(dct.values())


def accumulateMethods(
    obj: Any, dict: dict[str, Any], prefix: str = "", curClass: type | None = None
) -> None:
    """Map each method name (prefix removed) of ``obj`` to the bound method."""
    if curClass is None:
        curClass = type(obj)
    for base in curClass.__bases__:
        if base is not object:
            accumulateMethods(obj, dict, prefix, base)
    for name, method in curClass.__dict__.items():
        optName = name[len(prefix) :]
        if name.startswith(prefix) and optName and callable(method):
            dict[optName] = getattr(obj, name)


def filenameToModuleName(fn: str) -> str:
    """The dotted module name a source file would be imported as, judged by ``__init__.py``."""
    import os

    fn = os.path.abspath(fn)
    if os.path.basename(fn) in ("__init__.py", "__init__.pyc"):
        fn = os.path.dirname(fn)
        modName = os.path.basename(fn)
    else:
        modName = os.path.splitext(os.path.basename(fn))[0]
    while True:
        fn = os.path.dirname(fn)
        if not os.path.exists(os.path.join(fn, "__init__.py")):
            break
        modName = f"{os.path.basename(fn)}.{modName}"
    return modName
