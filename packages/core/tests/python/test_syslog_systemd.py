"""glisten.python.syslog (records sent to syslog) and glisten.python.systemd (its public home)."""

from __future__ import annotations

import os
import syslog
from typing import Any

import pytest

from glisten.python import log
from glisten.python import syslog as gsyslog
from glisten.python.systemd import ListenFDs


class Recording(gsyslog.SyslogObserver):
    def __init__(self, *args: Any) -> None:
        self.opened: list[tuple[Any, ...]] = []
        self.records: list[tuple[int, str]] = []
        super().__init__(*args)

    def openlog(self, *args: Any) -> None:  # type: ignore[override]
        self.opened.append(args)

    def syslog(self, priority: int, message: str) -> None:  # type: ignore[override]
        self.records.append((priority, message))


def test_observer() -> None:
    observer = Recording("myapp", syslog.LOG_PID, syslog.LOG_DAEMON)
    assert observer.opened == [("myapp", syslog.LOG_PID, syslog.LOG_DAEMON)]
    observer.emit({"message": ("hello",), "isError": 0, "system": "web"})
    observer.emit({"message": ("two\nlines",), "isError": 1, "system": "x"})
    observer.emit({"message": ("urgent",), "isError": 0, "system": "-", "syslogPriority": 2})
    observer.emit(
        {"message": ("mail",), "isError": 0, "system": "-", "syslogFacility": syslog.LOG_MAIL}
    )
    observer.emit({"message": (), "isError": 0})  # nothing to say
    assert observer.records == [
        (syslog.LOG_INFO, "[web] hello"),
        (syslog.LOG_ALERT, "[x] two"),
        (syslog.LOG_ALERT, "[x] lines"),
        (2, "[-] urgent"),
        (syslog.LOG_INFO | syslog.LOG_MAIL, "[-] mail"),
    ]


def test_startLogging(monkeypatch: pytest.MonkeyPatch) -> None:
    observers: list[Any] = []
    monkeypatch.setattr(
        log, "startLoggingWithObserver", lambda obs, setStdout=True: observers.append(obs)
    )
    monkeypatch.setattr(gsyslog.SyslogObserver, "openlog", lambda *a: None)
    gsyslog.startLogging("prefix", setStdout=False)
    assert len(observers) == 1 and observers[0].__self__.__class__ is gsyslog.SyslogObserver


def test_listenFDsFromEnvironment() -> None:
    env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web:dns"}
    fds = ListenFDs.fromEnvironment(env)
    assert fds.inheritedDescriptors() == [3, 4]
    assert fds.inheritedNamedDescriptors() == {"web": 3, "dns": 4}
    assert ListenFDs.fromEnvironment({"LISTEN_PID": "1", "LISTEN_FDS": "2"}).descriptors == ()
