"""
The ``glisten pair`` command: a user-space host on a TUN or TAP device.

``glisten pair --device tap0 --ipv4 10.0.0.2 --ipv6 fd00::2`` creates (or attaches to) the TAP
device ``tap0`` and answers ARP, neighbour solicitations and ICMP/ICMPv6 echo requests for those
addresses; ``--tun`` uses a TUN device (echo only: there is no link layer). Giving the device
its own addresses and bringing it up is left to ``ip``, as for any other interface. Needs
``CAP_NET_ADMIN``; the device is opened before privileges are dropped.
"""

from __future__ import annotations

import argparse
from typing import Any

from zope.interface import implementer

from glisten.application import service
from glisten.application.service import IServiceMaker
from glisten.pair._wire import packAddress
from glisten.pair.responder import EthernetResponder, IPResponder
from glisten.pair.tuntap import TuntapPort

__all__ = ["PairServiceMaker", "TuntapService", "pairPlugin", "parseMAC"]


def parseMAC(value: str) -> bytes:
    """
    Parse ``aa:bb:cc:dd:ee:ff``.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    parts = value.split(":")
    try:
        if len(parts) != 6 or not all(len(p) == 2 for p in parts):
            raise ValueError(value)
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad hardware address {value!r}")


def _address(size: int) -> Any:
    def parse(value: str) -> str:
        try:
            packed = packAddress(value)
        except ValueError:
            packed = b""
        if len(packed) != size:
            raise argparse.ArgumentTypeError(
                f"not an IPv{4 if size == 4 else 6} address: {value!r}"
            )
        return value

    return parse


class TuntapService(service.Service):
    """
    Runs a :class:`~glisten.pair.tuntap.TuntapPort` while the service runs.

    The device is opened in :meth:`privilegedStartService` (it needs ``CAP_NET_ADMIN``), or
    in :meth:`startService` if that was not called.

    :param system: the operating system calls (tests pass a ``MemoryIOSystem``).
    :ivar port: the port, once started.
    """

    def __init__(
        self,
        interface: bytes,
        protocol: Any,
        reactor: Any = None,
        packetInfo: bool = False,
        system: Any = None,
    ) -> None:
        self.interface = interface
        self.protocol = protocol
        self._reactor = reactor
        self.packetInfo = packetInfo
        self._system = system
        self.port: TuntapPort | None = None

    def privilegedStartService(self) -> None:
        self._open()
        super().privilegedStartService()

    def startService(self) -> None:
        self._open()
        super().startService()

    def _open(self) -> None:
        if self.port is None:
            self.port = TuntapPort(
                self.interface,
                self.protocol,
                reactor=self._reactor,
                system=self._system,
                packetInfo=self.packetInfo,
            )
            self.port.startListening()

    def stopService(self) -> Any:
        super().stopService()
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()
        return None


@implementer(IServiceMaker)
class PairServiceMaker:
    """The ``pair`` plugin of the ``glisten`` command."""

    tapname = "pair"
    description = "A user-space host on a TUN/TAP device that answers ARP, ND and ping."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--device", default="tap%d", help="device name (default tap%%d: the kernel numbers it)"
        )
        parser.add_argument("--ipv4", type=_address(4), help="IPv4 address to answer for")
        parser.add_argument("--ipv6", type=_address(16), help="IPv6 address to answer for")
        parser.add_argument(
            "--mac", type=parseMAC, help="hardware address to answer with (default: random)"
        )
        parser.add_argument(
            "--tun", action="store_true", help="a TUN device (IP packets) instead of TAP"
        )

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> TuntapService:
        """
        :raises ValueError: if neither address is given.
        """
        if options.ipv4 is None and options.ipv6 is None:
            raise ValueError("glisten pair needs --ipv4 or --ipv6 to answer for")
        proto: Any
        if options.tun:
            proto = IPResponder(options.ipv4, options.ipv6)
        else:
            proto = EthernetResponder(options.ipv4, options.ipv6, options.mac)
        return TuntapService(options.device.encode(), proto, reactor)


#: The object the ``glisten.plugins`` entry point ``pair`` names.
pairPlugin = PairServiceMaker()
