"""
ARP for IPv4 over Ethernet (RFC 826), which Twisted Pair does not have.

:class:`ARPProtocol` sits on :class:`~glisten.pair.ethernet.EthernetProtocol` (EtherType
0x0806) and calls :meth:`ARPProtocol.arpReceived` with each decoded packet; the codec builds
and parses packets for programs that answer or ask themselves.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.internet import protocol
from glisten.logger import Logger
from glisten.pair import raw
from glisten.pair._dropping import dropMalformed
from glisten.pair._wire import ARPPacket, MalformedPacket, decodeARP, encodeARP
from glisten.pair._wire._events import ARP_REPLY, ARP_REQUEST

__all__ = ["ARP_REPLY", "ARP_REQUEST", "ARPPacket", "ARPProtocol", "decodeARP", "encodeARP"]

_log = Logger()


@implementer(raw.IRawPacketProtocol)
class ARPProtocol(protocol.AbstractDatagramProtocol):
    """
    Decode ARP packets; override :meth:`arpReceived`.

    :ivar dropped: how many malformed or unsupported packets were dropped.
    """

    def __init__(self) -> None:
        self.dropped = 0

    def addProto(self, num: int, proto: Any) -> None:
        """
        Nothing is carried by ARP.

        :raises TypeError: always.
        """
        raise TypeError("ARP carries no protocols")

    def datagramReceived(
        self,
        data: bytes,
        partial: int = 0,
        dest: Any = None,
        source: Any = None,
        protocol: Any = None,
    ) -> None:
        """
        Decode one ARP packet and pass it to :meth:`arpReceived`; drop a malformed one with a
        log line.
        """
        try:
            packet = decodeARP(data)
        except MalformedPacket as e:
            dropMalformed(self, _log, "an ARP packet", e)
            return
        self.arpReceived(packet)

    def arpReceived(self, packet: ARPPacket) -> None:
        """
        Override: an ARP packet arrived.
        """
