"""
IP packets: :class:`IPProtocol` takes IP packets (from Ethernet or a TUN device) and hands each
payload to the protocols added for its protocol number, with the header's fields as keywords.

Differences from Twisted, on purpose:

- The version and header length come from the right nibbles (Twisted swaps them, so it reads
  ``ihl`` from the version nibble); the payload starts after the real header (options
  included) and ends at the total length, so Ethernet padding is not handed up.
- Truncated packets, lying lengths and wrong header checksums are dropped with a log line
  (``partial`` packets may be shorter than their total length).
- IPv6 is decoded too: extension headers are walked (at most
  :attr:`Limits.maxIPv6ExtensionHeaders`) to the upper layer, whose number is ``protocol``;
  ``ihl`` is then the length of all headers, ``tos`` the traffic class and ``ttl`` the hop
  limit.
- Protocol numbers are 8 bits: :data:`MAX_SIZE` is 2**8 (Twisted allowed 32 bits that can never
  match a packet).
- ``dest``, ``source`` and ``protocol`` may be left out, so the protocol can sit directly on a
  TUN device.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.internet import protocol
from glisten.logger import Logger
from glisten.pair import raw
from glisten.pair._dropping import dropMalformed
from glisten.pair._wire import (
    DEFAULT_LIMITS,
    IPv4Packet,
    IPv6ExtensionHeader,
    IPv6Packet,
    Limits,
    MalformedPacket,
    decodeIP,
    decodeIPv4,
    decodeIPv6,
    encodeIPv4,
    encodeIPv6,
    internetChecksum,
)
from glisten.pair._wire._events import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP

__all__ = [
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "MAX_SIZE",
    "IPHeader",
    "IPProtocol",
    "IPv4Packet",
    "IPv6ExtensionHeader",
    "IPv6Packet",
    "decodeIP",
    "decodeIPv4",
    "decodeIPv6",
    "encodeIPv4",
    "encodeIPv6",
    "internetChecksum",
]

_log = Logger()

#: Protocol numbers must be below this.
MAX_SIZE = 2**8


class IPHeader:
    """
    The header of an IPv4 or IPv6 packet, with Twisted's attribute names.

    :ivar version: 4 or 6.
    :ivar ihl: the header length in bytes (all IPv6 extension headers included).
    :ivar tos: type of service (IPv6: traffic class).
    :ivar tot_len: the total length.
    :ivar fragment_id: the identification.
    :ivar fragment_offset: the fragment offset in 8-byte units.
    :ivar dont_fragment: the DF flag (IPv6: always false).
    :ivar more_fragments: the MF flag.
    :ivar ttl: time to live (IPv6: hop limit).
    :ivar protocol: the upper-layer protocol number.
    :ivar check: the header checksum (IPv6: 0, it has none).
    :ivar saddr: the source address.
    :ivar daddr: the destination address.
    :ivar payload: the upper-layer payload.
    :raises glisten.pair.raw.MalformedPacket: if ``data`` is not a well-formed packet.
    """

    def __init__(self, data: bytes, limits: Limits = DEFAULT_LIMITS, partial: int = 0) -> None:
        packet = decodeIP(data, limits, bool(partial))
        self.saddr = packet.source
        self.daddr = packet.dest
        self.protocol = packet.protocol
        self.payload = packet.payload
        self.version = packet.version
        if isinstance(packet, IPv4Packet):
            self.ihl = packet.headerLength
            self.tos = packet.tos
            self.tot_len = packet.totalLength
            self.fragment_id = packet.fragmentId
            self.fragment_offset = packet.fragmentOffset
            self.dont_fragment = packet.dontFragment
            self.more_fragments = packet.moreFragments
            self.ttl = packet.ttl
            self.check = packet.checksum
        else:
            self.ihl = packet.headerLength
            self.tos = packet.trafficClass
            self.tot_len = packet.headerLength + len(packet.payload)
            self.fragment_id = packet.fragmentId
            self.fragment_offset = packet.fragmentOffset
            self.dont_fragment = False
            self.more_fragments = packet.moreFragments
            self.ttl = packet.hopLimit
            self.check = 0


@implementer(raw.IRawPacketProtocol)
class IPProtocol(protocol.AbstractDatagramProtocol):
    """
    Dispatch IP packets by protocol number.

    :ivar ipProtos: protocol number -> the protocols added for it.
    :ivar limits: the decoder's limits.
    :ivar dropped: how many malformed packets were dropped.
    """

    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        self.ipProtos: dict[int, list[Any]] = {}
        self.dropped = 0

    def addProto(self, num: int, proto: Any) -> None:
        """
        Hand packets of protocol ``num`` to ``proto``.

        :param proto: something that is, or adapts to,
            :class:`~glisten.pair.raw.IRawDatagramProtocol`.
        :raises TypeError: if it does not, or ``num`` is not an 8-bit number.
        """
        proto = raw.IRawDatagramProtocol(proto)
        if num < 0:
            raise TypeError("Added protocol must be positive or zero")
        if num >= MAX_SIZE:
            raise TypeError("Added protocol must fit in 8 bits")
        self.ipProtos.setdefault(num, []).append(proto)

    def datagramReceived(
        self,
        data: bytes,
        partial: int = 0,
        dest: Any = None,
        source: Any = None,
        protocol: Any = None,
    ) -> None:
        """
        Decode one packet and hand its payload to the protocols added for its protocol number;
        a malformed packet is dropped with a log line. ``dest``, ``source`` and ``protocol``
        (the Ethernet layer's) are not used.
        """
        try:
            header = IPHeader(data, self.limits, partial)
        except MalformedPacket as e:
            dropMalformed(self, _log, "an IP packet", e)
            return
        protos = self.ipProtos.get(header.protocol)
        if not protos:
            return
        for proto in protos:
            proto.datagramReceived(
                data=header.payload,
                partial=partial,
                source=header.saddr,
                dest=header.daddr,
                protocol=header.protocol,
                version=header.version,
                ihl=header.ihl,
                tos=header.tos,
                tot_len=header.tot_len,
                fragment_id=header.fragment_id,
                fragment_offset=header.fragment_offset,
                dont_fragment=header.dont_fragment,
                more_fragments=header.more_fragments,
                ttl=header.ttl,
            )
