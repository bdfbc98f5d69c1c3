"""
Ethernet frames: :class:`EthernetProtocol` takes frames (from a TAP device) and hands each
payload to the protocols added for its EtherType.

Beyond Twisted: 802.1Q/802.1ad VLAN tags are taken off (up to :attr:`Limits.maxVLANTags`) and
the frame dispatched on the inner EtherType; frames shorter than a header, or with too many
tags, are dropped with a log line instead of raising :class:`struct.error` into the port.
"""

from __future__ import annotations

from typing import Any

from zope.interface import Interface, implementer

from glisten.internet import protocol
from glisten.logger import Logger
from glisten.pair import raw
from glisten.pair._dropping import dropMalformed
from glisten.pair._wire import (
    DEFAULT_LIMITS,
    EthernetFrame,
    Limits,
    MalformedPacket,
    VLANTag,
    decodeEthernet,
    encodeEthernet,
)
from glisten.pair._wire._events import (
    BROADCAST,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ETHERTYPE_QINQ,
    ETHERTYPE_VLAN,
)

__all__ = [
    "BROADCAST",
    "ETHERTYPE_ARP",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "ETHERTYPE_QINQ",
    "ETHERTYPE_VLAN",
    "EthernetFrame",
    "EthernetHeader",
    "EthernetProtocol",
    "IEthernetProtocol",
    "VLANTag",
    "decodeEthernet",
    "encodeEthernet",
]

_log = Logger()


class IEthernetProtocol(Interface):
    """
    A protocol that takes Ethernet frames.
    """

    def addProto(num: int, proto: Any) -> None:
        """
        Add an :class:`~glisten.pair.raw.IRawPacketProtocol` for EtherType ``num``.
        """

    def datagramReceived(data: bytes, partial: int) -> None:
        """
        An Ethernet frame arrived (``partial``: it was cut short).
        """


class EthernetHeader:
    """
    The header of an Ethernet frame.

    :ivar dest: destination hardware address (6 bytes).
    :ivar source: source hardware address (6 bytes).
    :ivar proto: the EtherType, after any VLAN tags.
    :ivar vlanTags: the VLAN tags, outermost first.
    :raises glisten.pair.raw.MalformedPacket: if ``data`` is shorter than a header.
    """

    def __init__(self, data: bytes) -> None:
        frame = decodeEthernet(data)
        self.dest = frame.dest
        self.source = frame.source
        self.proto = frame.etherType
        self.vlanTags = frame.vlanTags


def _checkNumber(num: int, bits: int) -> None:
    if num < 0:
        raise TypeError("Added protocol must be positive or zero")
    if num >= 2**bits:
        raise TypeError(f"Added protocol must fit in {bits} bits")


@implementer(IEthernetProtocol)
class EthernetProtocol(protocol.AbstractDatagramProtocol):
    """
    Dispatch Ethernet frames by EtherType.

    :ivar etherProtos: EtherType -> the protocols added for it.
    :ivar limits: the decoder's limits.
    :ivar dropped: how many malformed frames were dropped.
    """

    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        self.etherProtos: dict[int, list[Any]] = {}
        self.dropped = 0

    def addProto(self, num: int, proto: Any) -> None:
        """
        Hand frames of EtherType ``num`` to ``proto``.

        :param proto: something that is, or adapts to,
            :class:`~glisten.pair.raw.IRawPacketProtocol`.
        :raises TypeError: if it does not, or ``num`` is not a 16-bit number.
        """
        proto = raw.IRawPacketProtocol(proto)
        _checkNumber(num, 16)
        self.etherProtos.setdefault(num, []).append(proto)

    def datagramReceived(self, data: bytes, partial: int = 0) -> None:
        """
        Decode one frame and hand its payload to the protocols added for its type; a malformed
        frame is dropped with a log line.
        """
        try:
            frame = decodeEthernet(data, self.limits)
        except MalformedPacket as e:
            dropMalformed(self, _log, "an Ethernet frame", e)
            return
        protos = self.etherProtos.get(frame.etherType)
        if protos:
            for proto in protos:
                proto.datagramReceived(
                    data=frame.payload,
                    partial=partial,
                    dest=frame.dest,
                    source=frame.source,
                    protocol=frame.etherType,
                )
