"""Run a small service under glisten.application.runner.runService (for test_runner.py).

Usage: python runservice_helper.py KIND ARG [--log-format F] [--log-file P] [--pidfile P]
KIND: ``echo ENDPOINT``, ``whoami ENDPOINT`` (tells clients their address), ``ordered -`` (two services that log when they stop) or
``failing -`` (a service whose start raises), ``preinstalled -`` (installs the default
reactor while building the service), ``command STATUS`` (prints ``RESULT``, stops, exits with
STATUS; ``--log-stderr`` sends the log to standard error).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from glisten.application.plugins import echo
from glisten.application.runner import runService
from glisten.application.service import IService, MultiService, Service
from glisten.internet.protocol import Protocol
from glisten.logger import Logger

log = Logger()


class Named(Service):
    def __init__(self, name: str) -> None:
        self.name = name

    def stopService(self) -> Any:
        log.info("stopping {name}", name=self.name)
        return Service.stopService(self)


class WhoAmI(Protocol):
    """Tells each client the address it is seen as, then echoes."""

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.transport.write(f"peer={peer.host}:{peer.port}\n".encode())

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Command(Service):
    """A one-shot command: prints its result, sets its exit status and stops the reactor."""

    def __init__(self, status: int) -> None:
        self.exitStatus = status

    def startService(self) -> None:
        Service.startService(self)
        from glisten.internet import reactor

        os.write(1, b"RESULT\n")  # the real standard output: print() goes to the log
        reactor.callLater(0, reactor.stop)


class Failing(Service):
    def startService(self) -> None:
        raise RuntimeError("cannot start: the widget is missing")


def build(kind: str, arg: str) -> IService:
    if kind == "echo":
        return echo.makeService(argparse.Namespace(listen=[arg]))
    if kind == "whoami":
        from glisten.application import strports
        from glisten.internet.protocol import Factory

        return strports.service(arg, Factory.forProtocol(WhoAmI))
    if kind == "ordered":
        parent = MultiService()
        Named("first").setServiceParent(parent)
        Named("second").setServiceParent(parent)
        return parent
    if kind == "command":
        return Command(int(arg))
    if kind == "failing":
        return Failing()
    if kind == "preinstalled":
        # Like a .tac file that imports the reactor: the default one gets installed.
        from glisten.internet import reactor  # noqa: F401

        return Named("only")
    raise SystemExit(f"unknown kind {kind}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind")
    parser.add_argument("arg")
    parser.add_argument("--log-format", default=None)
    parser.add_argument("--log-file", default=None)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--pidfile", default=None)
    parser.add_argument("--reactor", default=None)
    parser.add_argument("--log-stderr", action="store_true")
    options = parser.parse_args()
    return runService(
        build(options.kind, options.arg),
        reactorName=options.reactor,
        logLevel=options.log_level,
        logFile=options.log_file,
        logFormat=options.log_format,
        pidFile=options.pidfile,
        logStream=sys.stderr if options.log_stderr else None,
    )


if __name__ == "__main__":
    sys.exit(main())
