"""Adapters and components on top of :mod:`zope.interface`, as ``twisted.python.components``.

:func:`registerAdapter` records in one global registry how to turn objects of a class (or
providing an interface) into providers of another interface; importing this module installs
a hook so that calling the interface, ``IFoo(obj)``, finds those adapters. A
:class:`Componentized` object keeps adapters for itself (an avatar that is at once a shell
user and a file-transfer user); :func:`proxyForInterface` builds a class that forwards one
interface to a wrapped object, so a wrapper only overrides what it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import declarations, implementer, interface
from zope.interface.adapter import AdapterRegistry

from . import reflect

__all__ = [
    "ALLOW_DUPLICATES",
    "Adapter",
    "CannotAdapt",
    "Componentized",
    "ReprableComponentized",
    "getAdapterFactory",
    "getRegistry",
    "globalRegistry",
    "proxyForInterface",
    "registerAdapter",
]

#: When true, :func:`registerAdapter` replaces an existing registration instead of refusing.
ALLOW_DUPLICATES = 0

globalRegistry: Any = AdapterRegistry()


class CannotAdapt(TypeError):
    """An object could not be adapted to an interface."""


def _toSpec(fromThing: Any) -> Any:
    if isinstance(fromThing, interface.InterfaceClass):
        return fromThing
    return declarations.implementedBy(fromThing)


def registerAdapter(
    adapterFactory: Callable[[Any], Any], origInterface: Any, *interfaceClasses: Any
) -> None:
    """Make ``adapterFactory(obj)`` the way to adapt providers of ``origInterface``.

    :param origInterface: an interface, or a class (meaning: instances of that class).
    :param interfaceClasses: the interfaces the adapter provides (at least one).
    :raises ValueError: an adapter is already registered for one of the pairs (unless
        :data:`ALLOW_DUPLICATES` is set).
    """
    if not interfaceClasses:
        raise ValueError("registerAdapter needs at least one interface to adapt to")
    spec = _toSpec(origInterface)
    for interfaceClass in interfaceClasses:
        factory = globalRegistry.registered([spec], interfaceClass)
        if factory is not None and not ALLOW_DUPLICATES:
            raise ValueError(f"an adapter ({factory}) was already registered.")
    for interfaceClass in interfaceClasses:
        globalRegistry.register([spec], interfaceClass, "", adapterFactory)


def getAdapterFactory(fromInterface: Any, toInterface: Any, default: Any) -> Any:
    """The factory registered to adapt ``fromInterface`` (or a class) to ``toInterface``.

    :return: the factory, or ``default`` if none applies.
    """
    factory = globalRegistry.lookup1(_toSpec(fromInterface), toInterface)
    return default if factory is None else factory


def getRegistry() -> AdapterRegistry:
    """The global adapter registry."""
    return globalRegistry


def _hook(iface: Any, ob: Any) -> Any:
    factory = globalRegistry.lookup1(declarations.providedBy(ob), iface)
    if factory is None:
        return None
    return factory(ob)


if _hook not in interface.adapter_hooks:
    interface.adapter_hooks.append(_hook)


class Adapter:
    """A base class for adapters: keeps the adapted object as :attr:`original`.

    :cvar temporaryAdapter: if true, a :class:`Componentized` does not cache this adapter.
    :cvar multiComponent: if true, a :class:`Componentized` registers this adapter for every
        interface it provides.
    """

    temporaryAdapter = 0
    multiComponent = 1

    def __init__(self, original: Any) -> None:
        self.original = original

    def __conform__(self, interface: Any) -> Any:
        """Adapt through the original object when it knows how."""
        conform = getattr(self.original, "__conform__", None)
        if conform is not None:
            return conform(interface)
        return None

    def isuper(self, iface: Any, adapter: Any) -> Any:
        """Forward to the original's ``isuper`` (a compatibility hook)."""
        return self.original.isuper(iface, adapter)


class Componentized:
    """An object made of components, each providing an interface on its behalf.

    ``IFoo(componentized)`` returns the component registered for ``IFoo``; if there is none,
    the global registry's adapter is created once and kept (unless it is a temporary one).
    """

    persistenceVersion = 1

    def __init__(self) -> None:
        self._adapterCache: dict[str, Any] = {}

    def locateAdapterClass(self, klass: Any, interfaceClass: Any, default: Any) -> Any:
        """The adapter factory registered for ``klass`` to ``interfaceClass``, or ``default``."""
        return getAdapterFactory(klass, interfaceClass, default)

    def setAdapter(self, interfaceClass: Any, adapterClass: Callable[[Any], Any]) -> None:
        """Make ``adapterClass(self)`` this object's ``interfaceClass`` component."""
        self.setComponent(interfaceClass, adapterClass(self))

    def addAdapter(self, adapterClass: Callable[[Any], Any], ignoreClass: bool = False) -> Any:
        """Create ``adapterClass(self)`` and add it for every interface it provides."""
        adapt = adapterClass(self)
        self.addComponent(adapt, ignoreClass)
        return adapt

    def setComponent(self, interfaceClass: Any, component: Any) -> None:
        """Make ``component`` this object's provider of ``interfaceClass``."""
        self._adapterCache[reflect.qual(interfaceClass)] = component

    def addComponent(self, component: Any, ignoreClass: bool = False) -> None:
        """Register ``component`` for every interface it provides (those of its class too,
        unless ``ignoreClass``)."""
        if ignoreClass:
            ifaces = list(declarations.directlyProvidedBy(component))
        else:
            ifaces = list(declarations.providedBy(component))
        for iface in ifaces:
            for base in iface.__iro__:
                if base is interface.Interface:
                    continue
                self.setComponent(base, component)

    def unsetComponent(self, interfaceClass: Any) -> None:
        """Forget the component for ``interfaceClass``."""
        del self._adapterCache[reflect.qual(interfaceClass)]

    def removeComponent(self, component: Any) -> list[Any]:
        """Forget ``component`` for every interface it was registered for.

        :return: the interfaces it was removed from.
        """
        removed = []
        for iface in list(declarations.providedBy(component)):
            for base in iface.__iro__:
                key = reflect.qual(base)
                if self._adapterCache.get(key) is component:
                    del self._adapterCache[key]
                    removed.append(base)
        return removed

    def getComponent(self, interface: Any, default: Any = None) -> Any:
        """This object's provider of ``interface``: cached, else adapted and cached.

        :return: the component, or ``default`` if nothing provides it.
        """
        key = reflect.qual(interface)
        if key in self._adapterCache:
            return self._adapterCache[key]
        adapter = interface.__adapt__(self)
        if adapter is not None and not getattr(adapter, "temporaryAdapter", False):
            self._adapterCache[key] = adapter
            if getattr(adapter, "multiComponent", False):
                self.addComponent(adapter)
        if adapter is None:
            return default
        return adapter

    def __conform__(self, interface: Any) -> Any:
        return self.getComponent(interface)


class ReprableComponentized(Componentized):
    """A :class:`Componentized` whose repr lists its components."""

    def __repr__(self) -> str:
        items = "".join(f"\n  {k}: {v!r}" for k, v in sorted(self._adapterCache.items()))
        return f"<{type(self).__name__}{items}>"


class _ProxiedAttribute:
    """Reads (and writes) ``attributeName`` on the wrapped object."""

    def __init__(self, attributeName: str, originalAttribute: str) -> None:
        self.attributeName = attributeName
        self.originalAttribute = originalAttribute

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return getattr(getattr(instance, self.originalAttribute), self.attributeName)

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(getattr(instance, self.originalAttribute), self.attributeName, value)

    def __delete__(self, instance: Any) -> None:
        delattr(getattr(instance, self.originalAttribute), self.attributeName)


def proxyForInterface(iface: Any, originalAttribute: str = "original") -> type:
    """A class that provides ``iface`` by forwarding every name of it to a wrapped object.

    Subclass it and override only what changes::

        class Logged(proxyForInterface(IProtocol)):
            def dataReceived(self, data):
                log(data)
                return self.original.dataReceived(data)

    :param originalAttribute: the attribute holding the wrapped object (its ``__init__``
        argument).
    """

    def __init__(self: Any, original: Any) -> None:
        setattr(self, originalAttribute, original)

    contents: dict[str, Any] = {"__init__": __init__}
    for name in iface.names(all=True):
        contents[name] = _ProxiedAttribute(name, originalAttribute)
    proxy = type(f"(Proxy for {reflect.qual(iface)})", (object,), contents)
    return implementer(iface)(proxy)
