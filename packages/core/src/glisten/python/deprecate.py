"""Marking APIs deprecated so their callers get a clear :class:`DeprecationWarning`.

The warning text follows Twisted's form, ``pkg.mod.name was deprecated in Glisten 0.2.0;
please use pkg.mod.other instead``, so tools that match on it keep working.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from .reflect import fullyQualifiedName
from .versions import getVersionString

__all__ = [
    "DEPRECATION_WARNING_FORMAT",
    "deprecated",
    "deprecatedKeywordParameter",
    "deprecatedModuleAttribute",
    "deprecatedProperty",
    "getDeprecationWarningString",
    "getWarningMethod",
    "setWarningMethod",
]

_F = TypeVar("_F", bound=Callable[..., Any])

DEPRECATION_WARNING_FORMAT = "%(fqpn)s was deprecated in %(version)s"

_warn: Callable[..., None] = warnings.warn


def getWarningMethod() -> Callable[..., None]:
    """The function used to emit deprecation warnings (``warnings.warn`` by default)."""
    return _warn


def setWarningMethod(newMethod: Callable[..., None]) -> None:
    """Replace the function used to emit deprecation warnings."""
    global _warn
    _warn = newMethod


def _replacementText(replacement: Any) -> str:
    if replacement is None:
        return ""
    if not isinstance(replacement, str):
        replacement = fullyQualifiedName(replacement)
    return f"; please use {replacement} instead"


def _deprecationText(fqpn: str, version: Any, format: str | None, replacement: Any) -> str:
    text = (format or DEPRECATION_WARNING_FORMAT) % {
        "fqpn": fqpn,
        "version": getVersionString(version),
    }
    return text + _replacementText(replacement)


def getDeprecationWarningString(
    callableThing: Any, version: Any, format: str | None = None, replacement: Any = None
) -> str:
    """The warning text for calling a deprecated ``callableThing``.

    :param replacement: what to use instead: a dotted name, or the object itself.
    """
    return _deprecationText(fullyQualifiedName(callableThing), version, format, replacement)


def _appendToDocstring(thingWithDoc: Any, text: str) -> None:
    doc = thingWithDoc.__doc__ or ""
    thingWithDoc.__doc__ = (inspect.cleandoc(doc) + "\n\n" if doc else "") + text


def deprecated(version: Any, replacement: Any = None) -> Callable[[_F], _F]:
    """A decorator: calling the function (or instantiating the class) warns.

    :param version: the release it was deprecated in (a :class:`~glisten.python.versions.Version`).
    :param replacement: what to use instead: a dotted name or the object.
    """

    def decorator(function: _F) -> _F:
        warningString = getDeprecationWarningString(function, version, None, replacement)

        if isinstance(function, type):
            cls: Any = function
            original_init = cls.__init__

            @functools.wraps(original_init)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                _warn(warningString, DeprecationWarning, stacklevel=2)
                original_init(self, *args, **kwargs)

            cls.__init__ = __init__
            cls.deprecatedVersion = version
            return function

        @functools.wraps(function)
        def deprecatedFunction(*args: Any, **kwargs: Any) -> Any:
            _warn(warningString, DeprecationWarning, stacklevel=2)
            return function(*args, **kwargs)

        _appendToDocstring(
            deprecatedFunction,
            f"Deprecated in {getVersionString(version)}{_replacementText(replacement)}.",
        )
        deprecatedFunction.deprecatedVersion = version  # type: ignore[attr-defined]
        return deprecatedFunction  # type: ignore[return-value]

    return decorator


def deprecatedProperty(
    version: Any, replacement: Any = None
) -> Callable[[Callable[..., Any]], property]:
    """Like :func:`deprecated`, for a property: reading or setting it warns."""

    def decorator(function: Callable[..., Any]) -> property:
        warningString = getDeprecationWarningString(function, version, None, replacement)

        class _DeprecatedProperty(property):
            def __get__(self, instance: Any, owner: type | None = None) -> Any:
                if instance is not None:
                    _warn(warningString, DeprecationWarning, stacklevel=2)
                return super().__get__(instance, owner)

            def __set__(self, instance: Any, value: Any) -> None:
                _warn(warningString, DeprecationWarning, stacklevel=2)
                super().__set__(instance, value)

        prop = _DeprecatedProperty(function, doc=function.__doc__)
        return prop

    return decorator


def deprecatedKeywordParameter(
    version: Any, name: str, replacement: str | None = None
) -> Callable[[_F], _F]:
    """A decorator: passing keyword ``name`` to the function warns."""

    def decorator(function: _F) -> _F:
        message = f"The {name!r} parameter to {fullyQualifiedName(function)} was deprecated in {getVersionString(version)}"
        if replacement:
            message += f"; please use {replacement} instead"

        @functools.wraps(function)
        def checker(*args: Any, **kwargs: Any) -> Any:
            if name in kwargs:
                _warn(message, DeprecationWarning, stacklevel=2)
            return function(*args, **kwargs)

        return checker  # type: ignore[return-value]

    return decorator


class _DeprecatingModule(types.ModuleType):
    """A module type whose deprecated attributes warn when read."""

    _glistenDeprecated: dict[str, str]

    def __getattribute__(self, name: str) -> Any:
        deprecatedAttributes = types.ModuleType.__getattribute__(self, "__dict__").get(
            "_glistenDeprecated", {}
        )
        if name in deprecatedAttributes:
            _warn(deprecatedAttributes[name], DeprecationWarning, stacklevel=2)
        return types.ModuleType.__getattribute__(self, name)


def deprecatedModuleAttribute(version: Any, message: str, moduleName: str, name: str) -> None:
    """Make reading ``moduleName.name`` emit a DeprecationWarning.

    :param message: why, or what to use instead; appended to the standard text.
    """
    module = sys.modules[moduleName]
    if not isinstance(module, _DeprecatingModule):
        module.__class__ = _DeprecatingModule
    table = module.__dict__.setdefault("_glistenDeprecated", {})
    fqpn = f"{moduleName}.{name}"
    table[name] = f"{_deprecationText(fqpn, version, None, None)}: {message}"
