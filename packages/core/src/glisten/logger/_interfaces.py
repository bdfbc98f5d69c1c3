"""The interfaces of the logging system."""

from __future__ import annotations

from typing import Any

from zope.interface import Interface

#: A log event: a dictionary of fields, some of them (those starting with ``log_``) reserved.
LogEvent = dict[str, Any]


class ILogObserver(Interface):
    """Something that receives log events.

    An observer is any callable taking one event; providing this interface is documentation.
    """

    def __call__(event: LogEvent) -> None:
        """Receive one log event.

        :param event: the event; observers must not change it, other observers see it too.
        """
