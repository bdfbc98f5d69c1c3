"""Starting an application on the running reactor (Twisted's ``app.startApplication``).

``glisten`` itself uses :func:`glisten.application.runner.runService`; this is for programs
that manage the reactor themselves and only want their service tree started and stopped
with it.
"""

from __future__ import annotations

from typing import Any

from glisten.internet.main import getReactor

from .service import IService


def startApplication(application: Any, save: bool = False, reactor: Any = None) -> None:
    """Start ``application`` now and stop it when the reactor shuts down.

    :param application: an :class:`~glisten.application.service.IService` (usually made by
        :func:`~glisten.application.service.Application`).
    :param save: ignored: glisten does not persist applications (Twisted's ``.tap`` files
        are not carried over).
    :param reactor: the reactor whose shutdown stops the service; the global one if ``None``.
    """
    reactor = getReactor(reactor)
    service = IService(application)
    service.privilegedStartService()
    service.startService()
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)


__all__ = ["startApplication"]
