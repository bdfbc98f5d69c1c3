"""Log to the system log (``syslog(3)``), as ``twisted.python.syslog`` does.

``startLogging(prefix)`` sends every log event to syslog under ``prefix``; error events go
at ``LOG_ALERT``, others at ``LOG_INFO`` unless they carry ``syslogPriority``. A multi-line
message becomes one syslog record per line, each marked with the event's system.
"""

from __future__ import annotations

import syslog as _syslog
from collections.abc import Callable
from typing import Any

from glisten.python import log

__all__ = ["DEFAULT_FACILITY", "DEFAULT_OPTIONS", "SyslogObserver", "startLogging"]

DEFAULT_OPTIONS = 0
DEFAULT_FACILITY = _syslog.LOG_USER


class SyslogObserver:
    """A legacy log observer writing to syslog.

    :param prefix: The identity every record carries (``openlog``'s ``ident``).
    :param options: ``openlog`` options (``syslog.LOG_PID``, ...).
    :param facility: The facility records go to unless an event says ``syslogFacility``.
    """

    openlog: Callable[..., None] = staticmethod(_syslog.openlog)
    syslog: Callable[..., None] = staticmethod(_syslog.syslog)

    def __init__(
        self, prefix: str, options: int = DEFAULT_OPTIONS, facility: int = DEFAULT_FACILITY
    ) -> None:
        self.openlog(prefix, options, facility)

    def emit(self, eventDict: dict[str, Any]) -> None:
        """Send one legacy event (an event with nothing to say is skipped)."""
        text = log.textFromEventDict(eventDict)
        if text is None:
            return
        priority = _syslog.LOG_ALERT if eventDict.get("isError") else _syslog.LOG_INFO
        priority = int(eventDict.get("syslogPriority", priority))
        if "syslogFacility" in eventDict:
            priority |= int(eventDict["syslogFacility"])
        system = eventDict.get("system", "-")
        for line in text.splitlines() or [""]:
            self.syslog(priority, f"[{system}] {line}")


def startLogging(
    prefix: str = "glisten",
    options: int = DEFAULT_OPTIONS,
    facility: int = DEFAULT_FACILITY,
    setStdout: bool = True,
) -> None:
    """Send the log to syslog from now on (and ``print`` output too, with ``setStdout``)."""
    observer = SyslogObserver(prefix, options, facility)
    log.startLoggingWithObserver(observer.emit, setStdout=setStdout)
