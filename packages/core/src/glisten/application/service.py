"""Services: long-running parts of a program, arranged in a tree, started and stopped together.

A :class:`MultiService` starts its children in the order they were added and stops them in
reverse order, each one only after the previous one's ``stopService`` Deferred has fired, so a
service can rely on everything added before it being up while it runs (a web server on its
database pool, say). Twisted stops all children at once; the ordered stop is deliberate.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zope.interface import Attribute, Interface, implementer

from ..logger import Logger

if TYPE_CHECKING:
    from ..internet.defer import Deferred

_log = Logger()


class IServiceMaker(Interface):
    """A ``glisten`` command-line plugin: builds a service from its parsed options.

    Published in the entry-point group ``glisten.plugins`` under the subcommand name.
    """

    tapname = Attribute("The subcommand name, e.g. ``web``.")
    description = Attribute("A one-line description, shown by ``glisten --help``.")

    def addArguments(parser: argparse.ArgumentParser) -> None:
        """Add this plugin's options to ``parser``."""

    def makeService(options: argparse.Namespace) -> IService:
        """Build the service to run from the parsed ``options``.

        :raises Exception: with a message for the user if the options cannot work.
        """


class IShareableServiceMaker(IServiceMaker):
    """A plugin whose service may run in several worker processes (``glisten --workers N``).

    The contract between the ``glisten`` supervisor and the plugin: the supervisor asks for
    the endpoint strings the service will listen on and binds each once (TCP, TLS, Unix,
    ``haproxy:`` around those, and datagram ports written ``udp:PORT[:interface=HOST]``;
    ``systemd:`` sockets are passed through as they came). Each worker then runs the plugin
    as usual; whenever ``makeService`` builds one of those strings with
    :func:`glisten.internet.endpoints.serverFromString`, the endpoint listens on the
    supervisor's socket instead of binding its own (a service that calls the reactor's
    ``listenTCP``/``listenUDP`` itself listens through
    :func:`glisten.internet.endpoints.inheritingReactor`). A plugin that does not provide this
    interface runs with one worker only.

    Only declare it for a service whose state is per connection or kept outside the process
    (files, a database): each worker has its own memory.
    """

    def listeningEndpoints(options: argparse.Namespace) -> Sequence[str]:
        """The endpoint strings the service built from ``options`` listens on, exactly as
        ``makeService`` passes them to ``serverFromString`` (defaults included).

        :raises ValueError: with a message for the user, when these options make the service
            unfit to share (a single writer of a file, say).
        """


class IService(Interface):
    """A service: something with a start and a stop, usually part of a tree."""

    name = Attribute("The name, unique among siblings, or ``None``.")
    running = Attribute("Whether the service is running.")
    parent = Attribute("The :class:`IServiceCollection` holding this service, or ``None``.")

    def setName(name: str) -> None:
        """Set the name; only possible before the service has a parent.

        :raises RuntimeError: if the service already has a parent.
        """

    def setServiceParent(parent: IServiceCollection) -> None:
        """Add this service to ``parent`` (leaving any previous parent)."""

    def disownServiceParent() -> Deferred[None] | None:
        """Leave the parent; returns what ``removeService`` returned."""

    def privilegedStartService() -> None:
        """Do the part of starting that needs privileges (binding low ports)."""

    def startService() -> None:
        """Start the service."""

    def stopService() -> Deferred[None] | None:
        """Stop the service; a Deferred if stopping takes time."""


class IServiceCollection(Interface):
    """A service holding other services."""

    def getServiceNamed(name: str) -> IService:
        """The child named ``name``.

        :raises KeyError: if there is none.
        """

    def __iter__() -> Iterator[IService]:
        """The children, in the order they were added."""

    def addService(service: IService) -> None:
        """Add a child, starting it if this collection is running.

        :raises RuntimeError: if a child of the same name exists.
        """

    def removeService(service: IService) -> Deferred[None] | None:
        """Remove a child, stopping it if this collection is running."""


class IProcess(Interface):
    """Process-wide settings of an application."""

    processName = Attribute("The process name, or ``None``.")
    uid = Attribute("The user id to run as, or ``None``.")
    gid = Attribute("The group id to run as, or ``None``.")


@implementer(IService)
class Service:
    """A base service that only tracks its name, parent and running state."""

    name: str | None = None
    parent: Any = None
    running: bool = False

    def __repr__(self) -> str:
        shown = f" {self.name!r}" if self.name is not None else ""
        return f"<{type(self).__name__}{shown} running={self.running}>"

    def setName(self, name: str) -> None:
        if self.parent is not None:
            raise RuntimeError("cannot change name when parent exists")
        self.name = name

    def setServiceParent(self, parent: Any) -> None:
        if self.parent is not None:
            self.disownServiceParent()
        collection = IServiceCollection(parent, parent)
        self.parent = collection
        collection.addService(self)

    def disownServiceParent(self) -> Deferred[None] | None:
        parent = self.parent
        if parent is None:
            return None
        d = parent.removeService(self)
        self.parent = None
        return d

    def privilegedStartService(self) -> None:
        pass

    def startService(self) -> None:
        self.running = True

    def stopService(self) -> Deferred[None] | None:
        self.running = False
        return None


@implementer(IServiceCollection)
class MultiService(Service):
    """A service made of child services, started in order and stopped in reverse."""

    def __init__(self) -> None:
        self.services: list[IService] = []
        self.namedServices: dict[str, IService] = {}
        self.parent = None

    def privilegedStartService(self) -> None:
        Service.privilegedStartService(self)
        for service in list(self):
            service.privilegedStartService()

    def startService(self) -> None:
        Service.startService(self)
        for service in list(self):
            service.startService()

    def stopService(self) -> Deferred[None]:
        """Stop the children one at a time, last added first.

        :return: a Deferred that fires once every child has stopped; a child whose stop fails
            is logged and the others are still stopped.
        """
        from ..internet.defer import maybeDeferred, succeed

        Service.stopService(self)
        d: Deferred[Any] = succeed(None)
        for service in reversed(list(self)):

            def stopOne(_: object, service: IService = service) -> Deferred[Any]:
                stopped: Deferred[Any] = maybeDeferred(service.stopService)
                stopped.addErrback(
                    lambda f: _log.failure("Error stopping service {service}", f, service=service)
                )
                return stopped

            d.addCallback(stopOne)
        done: Deferred[None] = d.addCallback(lambda _: None)
        return done

    def getServiceNamed(self, name: str) -> IService:
        return self.namedServices[name]

    def __iter__(self) -> Iterator[IService]:
        return iter(self.services)

    def addService(self, service: IService) -> None:
        if service.name is not None:
            if service.name in self.namedServices:
                raise RuntimeError(f"cannot have two services with same name {service.name!r}")
            self.namedServices[service.name] = service
        self.services.append(service)
        if self.running:
            service.privilegedStartService()
            service.startService()

    def removeService(self, service: IService) -> Deferred[None] | None:
        if service.name:
            del self.namedServices[service.name]
        self.services.remove(service)
        if self.running:
            return service.stopService()
        return None


@implementer(IProcess)
class Process:
    """Process settings: the user and group to run as."""

    processName: str | None = None

    def __init__(self, uid: int | None = None, gid: int | None = None) -> None:
        self.uid = uid
        self.gid = gid


@implementer(IService, IServiceCollection, IProcess)
class _Application(MultiService):
    """The root of a service tree, with process settings; made by :func:`Application`."""

    def __init__(self, name: str, uid: int | None, gid: int | None) -> None:
        super().__init__()
        self.name = name
        self.processName = name
        self.uid = uid
        self.gid = gid


def Application(name: str, uid: int | None = None, gid: int | None = None) -> Any:
    """The root service of a program: what ``glisten app FILE.py`` runs.

    ``IService(application)`` and ``IServiceCollection(application)`` return the application
    itself, so Twisted's ``service.setServiceParent(application)`` idiom works unchanged.

    :param name: the application (and process) name.
    :param uid: the user id to run as, or ``None``.
    :param gid: the group id to run as, or ``None``.
    """
    return _Application(name, uid, gid)


__all__ = [
    "Application",
    "IProcess",
    "IService",
    "IServiceCollection",
    "IServiceMaker",
    "IShareableServiceMaker",
    "MultiService",
    "Process",
    "Service",
]
