"""
Adapter registration through zope.interface's adapter hooks, so ``ISession(avatar)`` finds
the session of an avatar class the way Twisted's ``components.registerAdapter`` arranges it.
(glisten core has no ``glisten.python.components`` yet; this is conch's own registry.)
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementedBy, providedBy
from zope.interface.adapter import AdapterRegistry
from zope.interface.interface import InterfaceClass, adapter_hooks

__all__ = ["registerAdapter"]

_registry = AdapterRegistry()


def _hook(iface: Any, ob: Any) -> Any:
    factory = _registry.lookup1(providedBy(ob), iface, "")  # type: ignore[attr-defined]
    return None if factory is None else factory(ob)


adapter_hooks.append(_hook)


def registerAdapter(adapterFactory: Any, origInterface: Any, *interfaceClasses: Any) -> None:
    """Make ``iface(obj)`` return ``adapterFactory(obj)`` for objects of ``origInterface``."""
    orig = (
        origInterface if isinstance(origInterface, InterfaceClass) else implementedBy(origInterface)
    )
    for iface in interfaceClasses:
        _registry.register([orig], iface, "", adapterFactory)
