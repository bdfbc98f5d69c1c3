"""
UDP over raw IP: :class:`RawUDPProtocol` sits on :class:`~glisten.pair.ip.IPProtocol` and hands
each datagram's payload to the :class:`~glisten.internet.protocol.DatagramProtocol` added for
its destination port, as ``datagramReceived(payload, (sourceAddress, sourcePort))``.

Differences from Twisted, on purpose: the length field is checked (a datagram whose length lies
is dropped with a log line; the payload ends at the length, not at the end of the packet), and
the checksum is verified when the IP layer gave real addresses (IPv4 and IPv6).
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
    Limits,
    MalformedPacket,
    UDPDatagram,
    decodeUDP,
    encodeUDP,
)

__all__ = ["RawUDPProtocol", "UDPDatagram", "UDPHeader", "decodeUDP", "encodeUDP"]

_log = Logger()


class UDPHeader:
    """
    The header of a UDP datagram.

    :ivar source: the source port.
    :ivar dest: the destination port.
    :ivar len: the length field.
    :ivar check: the checksum field.
    :raises glisten.pair.raw.MalformedPacket: if ``data`` is shorter than a header.
    """

    def __init__(self, data: bytes) -> None:
        datagram = decodeUDP(data, partial=True)
        self.source = datagram.sourcePort
        self.dest = datagram.destPort
        self.len = int.from_bytes(data[4:6], "big")
        self.check = datagram.checksum


def _address(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@implementer(raw.IRawDatagramProtocol)
class RawUDPProtocol(protocol.AbstractDatagramProtocol):
    """
    Dispatch UDP datagrams by destination port.

    :ivar udpProtos: port -> the datagram protocols added for it.
    :ivar limits: the decoder's limits.
    :ivar dropped: how many malformed datagrams were dropped.
    """

    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        self.udpProtos: dict[int, list[Any]] = {}
        self.dropped = 0

    def addProto(self, num: int, proto: Any) -> None:
        """
        Hand datagrams for port ``num`` to ``proto``.

        :raises TypeError: if ``proto`` is not a DatagramProtocol or ``num`` not a 16-bit port.
        """
        if not isinstance(proto, protocol.DatagramProtocol):
            raise TypeError("Added protocol must be an instance of DatagramProtocol")
        if num < 0:
            raise TypeError("Added protocol must be positive or zero")
        if num >= 2**16:
            raise TypeError("Added protocol must fit in 16 bits")
        self.udpProtos.setdefault(num, []).append(proto)

    def datagramReceived(
        self,
        data: bytes,
        partial: int = 0,
        source: Any = None,
        dest: Any = None,
        protocol: Any = None,
        version: Any = None,
        ihl: Any = None,
        tos: Any = None,
        tot_len: Any = None,
        fragment_id: Any = None,
        fragment_offset: Any = None,
        dont_fragment: Any = None,
        more_fragments: Any = None,
        ttl: Any = None,
    ) -> None:
        """
        Decode one datagram and hand its payload to the protocols added for its destination
        port; a malformed datagram is dropped with a log line. Later fragments (a non-zero
        ``fragment_offset``) carry no UDP header and are ignored.
        """
        if fragment_offset:
            return
        try:
            datagram = decodeUDP(
                data,
                _address(source),
                _address(dest),
                self.limits,
                bool(partial or more_fragments),
            )
        except MalformedPacket as e:
            dropMalformed(self, _log, "a UDP datagram", e)
            return
        protos = self.udpProtos.get(datagram.destPort)
        if protos:
            peer = (source, datagram.sourcePort)
            for proto in protos:
                proto.datagramReceived(datagram.payload, peer)
