"""Starting an application on the running reactor (Twisted's ``app.startApplication``).

``glisten`` itself uses :func:`glisten.application.runner.runService`; this is for programs
that manage the reactor themselves and only want their service tree started and stopped
with it.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from glisten.internet.main import getReactor

from . import reactors
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


class ReactorSelectionMixin:
    """Adds ``--reactor NAME`` (``-r``) and ``--help-reactors`` to a ``usage.Options``.

    ``--reactor`` installs the named reactor at once (so later options can use it) and keeps
    the name in ``self["reactor"]``.
    """

    messageOutput: IO[str] = sys.stdout
    _getReactorTypes = staticmethod(reactors.getReactorTypes)

    def opt_help_reactors(self) -> None:
        """Display a list of possibly available reactor names."""
        for r in self._getReactorTypes():
            self.messageOutput.write(f"    {r.shortName:<10}{r.description}\n")
        raise SystemExit(0)

    def opt_reactor(self, shortName: str) -> None:
        """Which reactor to use (see --help-reactors for a list of possibilities)."""
        from glisten.python.usage import UsageError

        try:
            reactors.installReactor(shortName)
        except reactors.NoSuchReactor:
            raise UsageError(
                f"The specified reactor does not exist: '{shortName}'.\n"
                "See the list of available reactors with --help-reactors"
            )
        except Exception as e:
            raise UsageError(
                f"The specified reactor cannot be used, failed with error: {e}.\n"
                "See the list of available reactors with --help-reactors"
            )
        self["reactor"] = shortName  # type: ignore[index]

    opt_r = opt_reactor


__all__ = ["ReactorSelectionMixin", "startApplication"]
