"""Print, as JSON, the public API of some ``glisten.*`` parts (run by tools/release.py).

Public: every module whose dotted path has no component starting with ``_``; in it, every name
in ``__all__`` (or, without ``__all__``, every name not starting with ``_`` that the module
defines itself); for classes, their own public attributes. One line per name:
``module:Name kind signature``. A module that cannot be imported (a missing optional
dependency) is listed as such, so the line changes if that changes.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import sys
import warnings
from pathlib import Path
from typing import Any

# Importing this installs a reactor and replaces the module: not an API listing can make.
SKIP = {"glisten.internet.reactor"}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return _ADDRESS.sub("", text)


def _isInterface(obj: Any) -> bool:
    try:
        from zope.interface.interface import InterfaceClass
    except ImportError:
        return False
    return isinstance(obj, InterfaceClass)


def _interfaceMembers(prefix: str, iface: Any) -> list[str]:
    lines = []
    for name in sorted(iface.names()):
        member = iface[name]
        signature = getattr(member, "getSignatureString", None)
        if signature is not None:
            lines.append(f"{prefix}{name} method {_ADDRESS.sub('', signature())}")
        else:
            lines.append(f"{prefix}{name} attribute")
    return lines


def _kind(obj: Any) -> str:
    if _isInterface(obj):
        return "interface"
    if inspect.isclass(obj):
        return "class"
    if inspect.ismodule(obj):
        return "module"
    if callable(obj):
        return "function"
    return "data"


def _describe(prefix: str, name: str, obj: Any) -> str:
    kind = _kind(obj)
    if kind == "function":
        return f"{prefix}{name} function {_signature(obj)}"
    if kind == "class":
        return f"{prefix}{name} class"
    return f"{prefix}{name} {kind}"


def _isPrivateClass(cls: type) -> bool:
    return cls.__name__.startswith("_") or any(c.startswith("_") for c in cls.__module__.split("."))


def _ownMembers(cls: type) -> dict[str, Any]:
    """The class's own attributes and those it inherits from private bases (a shared private
    base is an implementation detail: its members are part of each public subclass)."""
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is cls or (klass is not object and _isPrivateClass(klass)):
            members.update(vars(klass))
    return members


def _classMembers(prefix: str, cls: type) -> list[str]:
    lines = []
    for name, value in sorted(_ownMembers(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        if name == "__init__" and value is object.__init__:
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if name == "__init__":
            lines.append(f"{prefix}__init__ function {_signature(value)}")
        elif inspect.isfunction(value):
            lines.append(f"{prefix}{name} function {_signature(value)}")
        elif isinstance(value, property):
            lines.append(f"{prefix}{name} property")
        elif inspect.isclass(value):
            lines.append(f"{prefix}{name} class")
        else:
            lines.append(f"{prefix}{name} data")
    return lines


def _publicNames(module: Any) -> list[str]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return sorted(set(exported))
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or name == "TYPE_CHECKING":
            continue
        owner = getattr(value, "__module__", None)
        if owner is None or owner == module.__name__:
            names.append(name)
    return sorted(names)


def _modules(src: Path, part: str) -> list[str]:
    root = src / "glisten" / part
    found = [f"glisten.{part}"]
    for info in pkgutil.walk_packages([str(root)], prefix=f"glisten.{part}."):
        if any(c.startswith("_") for c in info.name.split(".")):
            continue
        found.append(info.name)
    return sorted(m for m in found if m not in SKIP)


def main(src: Path, parts: list[str]) -> list[str]:
    warnings.simplefilter("ignore")
    lines: list[str] = []
    for part in parts:
        for moduleName in _modules(src, part):
            try:
                module = importlib.import_module(moduleName)
            except ImportError as e:
                lines.append(f"{moduleName} module-needs {getattr(e, 'name', None)}")
                continue
            lines.append(f"{moduleName} module")
            for name in _publicNames(module):
                if not hasattr(module, name):
                    lines.append(f"{moduleName}:{name} missing")
                    continue
                value = getattr(module, name)
                lines.append(_describe(f"{moduleName}:", name, value))
                # Members are listed where a class is defined, or where a public module
                # re-exports a class defined in a private one (its only public home).
                home = getattr(value, "__module__", None) or ""
                ownHere = home == moduleName or any(c.startswith("_") for c in home.split("."))
                if _isInterface(value) and ownHere:
                    lines.extend(_interfaceMembers(f"{moduleName}:{name}.", value))
                elif inspect.isclass(value) and ownHere:
                    lines.extend(_classMembers(f"{moduleName}:{name}.", value))
    return lines


if __name__ == "__main__":
    json.dump(main(Path(sys.argv[1]), sys.argv[2:]), sys.stdout)
