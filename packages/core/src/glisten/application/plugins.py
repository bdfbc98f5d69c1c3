"""The ``glisten`` subcommands that ship with core: ``echo``, ``portforward`` and ``app``.

Registered in glisten-core's ``glisten.plugins`` entry points; each object provides
:class:`~glisten.application.service.IServiceMaker`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import runpy
from typing import Any

from zope.interface import implementer

from ..internet.protocol import Factory
from ..protocols.wire import Echo
from .service import IService, IServiceMaker, MultiService


def _listeningService(listen: list[str], factory: Any) -> IService:
    from . import strports

    if len(listen) == 1:
        return strports.service(listen[0], factory)
    parent = MultiService()
    for description in listen:
        strports.service(description, factory).setServiceParent(parent)
    return parent


def _addListen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        action="append",
        required=True,
        metavar="ENDPOINT",
        help="where to listen, e.g. tcp:8000 or systemd:domain=INET:index=0 (repeatable)",
    )


@implementer(IServiceMaker)
class EchoServiceMaker:
    """``glisten echo --listen ENDPOINT``: an echo server, handy for checking a deployment."""

    tapname = "echo"
    description = "An echo server (sends back what it receives), for checks."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        _addListen(parser)

    def makeService(self, options: argparse.Namespace) -> IService:
        return _listeningService(options.listen, Factory.forProtocol(Echo))


def parseDestination(dest: str) -> tuple[str, int]:
    """Split ``host:port`` (or ``[v6address]:port``).

    :raises ValueError: naming ``--dest`` if it is malformed.
    """
    if dest.startswith("["):
        host, sep, rest = dest[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"--dest: expected [ADDRESS]:PORT, not {dest!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"--dest: {host!r} is not an IPv6 address") from None
        rawPort = rest[1:]
    else:
        host, sep, rawPort = dest.rpartition(":")
        if not sep or not host or ":" in host:
            raise ValueError(f"--dest: expected HOST:PORT, not {dest!r}")
    if not rawPort.isascii() or not rawPort.isdigit() or not 0 < int(rawPort) <= 65535:
        raise ValueError(f"--dest: bad port {rawPort!r}")
    return host, int(rawPort)


@implementer(IServiceMaker)
class PortForwardServiceMaker:
    """``glisten portforward --listen ENDPOINT --dest HOST:PORT``: a TCP relay."""

    tapname = "portforward"
    description = "Forward every connection to another host and port."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        _addListen(parser)
        parser.add_argument("--dest", required=True, metavar="HOST:PORT", help="where to relay")

    def makeService(self, options: argparse.Namespace) -> IService:
        host, port = parseDestination(options.dest)
        from ..protocols.portforward import ProxyFactory

        return _listeningService(options.listen, ProxyFactory(host, port))


@implementer(IServiceMaker)
class AppServiceMaker:
    """``glisten app FILE.py``: run the ``application`` defined in a Python file.

    The file is Twisted's ``.tac`` idea: ordinary Python that builds a service tree under
    ``application = service.Application("name")``.
    """

    tapname = "app"
    description = "Run the 'application' object defined in a Python file (like a .tac)."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE.py", help="the file defining 'application'")

    def makeService(self, options: argparse.Namespace) -> IService:
        path: str = options.file
        if not os.path.isfile(path):
            raise ValueError(f"{path}: no such file")
        namespace = runpy.run_path(path, run_name="__glisten_app__")
        application = namespace.get("application")
        if application is None:
            raise ValueError(f"{path} defines no 'application'")
        service = IService(application, None)
        if service is None:
            raise ValueError(f"{path}: 'application' is not a service ({application!r})")
        return service


echo = EchoServiceMaker()
portforward = PortForwardServiceMaker()
app = AppServiceMaker()

__all__ = ["AppServiceMaker", "Echo", "EchoServiceMaker", "PortForwardServiceMaker", "app", "echo"]
