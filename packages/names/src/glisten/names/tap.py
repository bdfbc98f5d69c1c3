"""
The ``glisten dns`` command: an authoritative, caching and/or recursive server.

``glisten dns --listen tcp:5353 --bindzone example.zone`` serves a zone over
UDP and TCP on the same address and port; ``--recursive --cache`` forwards
everything else to the servers of ``--resolv-conf`` and caches their answers.
``--listen`` takes endpoint strings like every plugin's (``tcp:`` and
``tcp6:`` serve UDP too; ``unix:``, ``systemd:`` and the other stream types
serve DNS over that stream only) and the older ``[HOST:]PORT``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Protocol

from zope.interface import implementer

from glisten.application import service
from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IShareableServiceMaker
from glisten.internet.defer import Deferred
from glisten.internet.endpoints import inheritingReactor, serverFromString
from glisten.internet.error import CannotListenError
from glisten.internet.main import getReactor
from glisten.names import authority, cache, client, hosts, secondary, server
from glisten.names._protocol import DNSDatagramProtocol
from glisten.names._wire import _constants as C
from glisten.names.common import ClientReactor


class _ServingReactor(ClientReactor, Protocol):
    """What the ``dns`` plugin needs: a resolver's reactor that also listens on TCP."""

    def listenTCP(self, *args: Any, **kwargs: Any) -> Any: ...


__all__ = ["DNSListener", "DNSServiceMaker", "dnsPlugin", "parseListen", "parseSecondary"]


#: Endpoint types served over TCP and UDP on the same address.
_DATAGRAM_TOO = ("tcp", "tcp6")
#: Other stream endpoint types: DNS over that stream only.
_STREAM_ONLY = ("unix", "ssl", "systemd", "stdio", "haproxy")

#: What ``--listen`` gives: ``(interface, port)`` for TCP and UDP, or an
#: endpoint string for one stream endpoint.
Listen = tuple[str, int] | str


def _hostPort(value: str) -> tuple[str, int]:
    host = ""
    portText = value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or value[end + 1 : end + 2] != ":":
            raise argparse.ArgumentTypeError(f"bad listen address {value!r}")
        host, portText = value[1:end], value[end + 2 :]
    elif ":" in value:
        host, _, portText = value.rpartition(":")
    if not portText.isdigit() or not 0 <= int(portText) <= 65535:
        raise argparse.ArgumentTypeError(f"bad port in {value!r}")
    return host, int(portText)


def _tcpEndpoint(kind: str, rest: str) -> tuple[str, int]:
    # Options start at a colon followed by NAME=, so an IPv6 interface needs
    # no escaping (tcp:53:interface=::1); Twisted's escaped form works too.
    fields = re.split(r"(?<!\\):(?=[A-Za-z]+=)", rest)
    portText = fields[0]
    interface = "::" if kind == "tcp6" else ""
    for field in fields[1:]:
        key, _, val = field.partition("=")
        if key != "interface":
            raise argparse.ArgumentTypeError(
                f"{kind}: endpoint option {key!r} is not supported by glisten dns"
            )
        interface = val.replace("\\:", ":")
    if not portText.isdigit() or not 0 <= int(portText) <= 65535:
        raise argparse.ArgumentTypeError(f"bad port in {kind}:{rest!r}")
    return interface, int(portText)


def parseListen(value: str) -> Listen:
    """
    Parse ``--listen``: an endpoint string, or ``PORT``, ``HOST:PORT``, ``[V6HOST]:PORT``.

    :return: ``(interface, port)`` to serve over TCP and UDP (``tcp:``,
        ``tcp6:`` and the host-and-port forms), or the endpoint string of a
        stream-only endpoint (``unix:``, ``systemd:``, ...).
    :raises argparse.ArgumentTypeError: for anything else.
    """
    kind, sep, rest = value.partition(":")
    if sep and kind.lower() in _DATAGRAM_TOO:
        return _tcpEndpoint(kind.lower(), rest)
    if sep and kind.lower() in _STREAM_ONLY:
        return value
    return _hostPort(value)


def parseSecondary(value: str) -> tuple[str, int, str]:
    """
    Parse ``ADDR[:PORT]/DOMAIN`` (``[V6ADDR]:PORT/DOMAIN`` for IPv6 with a port).

    :raises argparse.ArgumentTypeError: for anything else.
    """
    addr, sep, domain = value.partition("/")
    if not sep or not domain or not addr:
        raise argparse.ArgumentTypeError(f"--secondary wants ADDR/DOMAIN, got {value!r}")
    port = C.PORT
    if addr.startswith("[") or addr.count(":") == 1:
        host, port = _hostPort(addr)
    else:
        host = addr
    return host, port, domain


class DNSListener(service.Service):
    """
    Serves one :class:`~glisten.names.server.DNSServerFactory` over TCP and
    UDP on the same port (with port 0, UDP takes the port TCP was given).

    :ivar port: the port bound, once started.
    """

    def __init__(
        self,
        factory: server.DNSServerFactory,
        interface: str,
        port: int,
        reactor: _ServingReactor | None = None,
    ) -> None:
        self.factory = factory
        self.interface = interface
        self.portNumber = port
        self._reactor = reactor
        self.port: int | None = None
        self._listening: list[Any] = []

    def startService(self) -> None:
        reactor = getReactor(self._reactor)
        self.factory._givenReactor = reactor
        # In a ``glisten --workers`` worker: the ports the supervisor bound (see
        # DNSServiceMaker.listeningEndpoints).
        reactor = inheritingReactor(reactor)
        # With port 0, the port TCP gets may be taken for UDP: try another.
        for attempt in range(1 if self.portNumber else 20):
            tcp = reactor.listenTCP(self.portNumber, self.factory, interface=self.interface)
            port = tcp.getHost().port
            proto = DNSDatagramProtocol(self.factory, reactor=reactor)
            try:
                udp = reactor.listenUDP(port, proto, interface=self.interface)
            except CannotListenError:
                tcp.stopListening()
                if self.portNumber or attempt == 19:
                    raise
                continue
            break
        self._listening += [tcp, udp]
        self.port = port
        super().startService()

    def stopService(self) -> None:
        super().stopService()
        listening, self._listening = self._listening, []
        for p in listening:
            p.stopListening()
        return None


def _escaped(interface: str) -> str:
    return interface.replace(":", "\\:")


@implementer(IShareableServiceMaker)
class DNSServiceMaker:
    """The ``dns`` plugin of the ``glisten`` command (runs with ``glisten --workers N``)."""

    tapname = "dns"
    description = "A DNS server: authoritative zones, secondary zones, cache, recursion."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listen",
            action="append",
            type=parseListen,
            metavar="ENDPOINT",
            help="where to listen, as an endpoint string; tcp: and tcp6: serve UDP on the same "
            "address too, [HOST:]PORT still works (repeatable; default tcp:53)",
        )
        parser.add_argument(
            "--bindzone",
            action="append",
            default=[],
            metavar="FILE",
            help="an RFC 1035 zone file (repeatable)",
        )
        parser.add_argument(
            "--pyzone",
            action="append",
            default=[],
            metavar="FILE",
            help="a Python zone file (repeatable)",
        )
        parser.add_argument(
            "--secondary",
            action="append",
            default=[],
            type=parseSecondary,
            metavar="ADDR[:PORT]/DOMAIN",
            help="copy DOMAIN from the primary at ADDR by zone transfer (repeatable)",
        )
        parser.add_argument(
            "--resolv-conf",
            default=None,
            metavar="FILE",
            help="where --recursive finds upstream servers (default /etc/resolv.conf)",
        )
        parser.add_argument(
            "--hosts-file", default=None, metavar="FILE", help="answer A/AAAA from this hosts file"
        )
        parser.add_argument(
            "--cache", action="store_true", help="cache answers from upstream servers"
        )
        parser.add_argument(
            "--recursive", action="store_true", help="forward other queries to upstream servers"
        )
        parser.add_argument(
            "--verbose", "-v", action="count", default=0, help="log queries (twice: and replies)"
        )

    def listeningEndpoints(self, options: argparse.Namespace) -> list[str]:
        """What ``glisten --workers`` binds once: each ``--listen`` stream endpoint, and for a
        TCP address its UDP port too (``udp:PORT``).

        :raises ValueError: with ``--secondary``: every worker would transfer the zones
            and keep its own copy.
        """
        if options.secondary:
            raise ValueError(
                "--secondary keeps the transferred zones in the process's memory; "
                "run a secondary server in one process"
            )
        found: list[str] = []
        for listen in options.listen or [("", C.PORT)]:
            if isinstance(listen, str):
                found.append(listen)
                continue
            interface, port = listen
            where = f"{port}:interface={_escaped(interface)}" if interface else str(port)
            found.append(f"{'tcp6' if ':' in interface else 'tcp'}:{where}")
            found.append(f"udp:{where}")
        return found

    def makeService(
        self, options: argparse.Namespace, reactor: _ServingReactor | None = None
    ) -> service.MultiService:
        """
        :raises authority.ZoneFileError: for a zone file that cannot be read.
        """
        top = service.MultiService()
        authorities: list[Any] = []
        for fn in options.bindzone:
            authorities.append(authority.BindAuthority(fn))
        for fn in options.pyzone:
            authorities.append(authority.PySourceAuthority(fn))
        for host, port, domain in options.secondary:
            sec = secondary.SecondaryAuthority(host, domain, reactor, port)
            authorities.append(sec)
            _SecondaryRunner(sec).setServiceParent(top)
        if options.hosts_file:
            authorities.append(hosts.Resolver(options.hosts_file))
        caches = (
            [cache.CacheResolver(verbose=options.verbose, reactor=reactor)] if options.cache else []
        )
        clients = []
        if options.recursive:
            clients.append(
                client.Resolver(resolv=options.resolv_conf or "/etc/resolv.conf", reactor=reactor)
            )
        factory = server.DNSServerFactory(
            authorities, caches, clients, options.verbose, reactor=reactor
        )
        for listen in options.listen or [("", C.PORT)]:
            if isinstance(listen, str):
                endpoint = serverFromString(getReactor(reactor), listen)
                StreamServerEndpointService(endpoint, factory).setServiceParent(top)
            else:
                DNSListener(factory, listen[0], listen[1], reactor).setServiceParent(top)
        return top


class _SecondaryRunner(service.Service):
    def __init__(self, authority: secondary.SecondaryAuthority) -> None:
        self.authority = authority

    def startService(self) -> None:
        super().startService()
        self.authority.startRefreshing()

    def stopService(self) -> Deferred[None] | None:
        self.authority.stopRefreshing()
        return super().stopService()


#: The object the ``glisten.plugins`` entry point ``dns`` names.
dnsPlugin = DNSServiceMaker()
