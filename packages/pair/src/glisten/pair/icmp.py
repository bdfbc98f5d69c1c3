"""
ICMP (RFC 792) and ICMPv6 (RFC 4443), which Twisted Pair does not have.

:class:`ICMPProtocol` sits on :class:`~glisten.pair.ip.IPProtocol` (protocol 1 for ICMP, 58 for
ICMPv6) and calls :meth:`ICMPProtocol.icmpReceived` with each message whose checksum is right;
the codec builds messages (checksums computed) and parses them.
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
    ICMPMessage,
    Limits,
    MalformedPacket,
    decodeICMP,
    decodeICMPv6,
    encodeICMP,
    encodeICMPv6,
)
from glisten.pair._wire._events import (
    ICMP_DEST_UNREACHABLE,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMPV6_ECHO_REPLY,
    ICMPV6_ECHO_REQUEST,
    ICMPV6_NEIGHBOR_ADVERTISEMENT,
    ICMPV6_NEIGHBOR_SOLICITATION,
    ICMPV6_ROUTER_SOLICITATION,
)

__all__ = [
    "ICMPV6_ECHO_REPLY",
    "ICMPV6_ECHO_REQUEST",
    "ICMPV6_NEIGHBOR_ADVERTISEMENT",
    "ICMPV6_NEIGHBOR_SOLICITATION",
    "ICMPV6_ROUTER_SOLICITATION",
    "ICMP_DEST_UNREACHABLE",
    "ICMP_ECHO_REPLY",
    "ICMP_ECHO_REQUEST",
    "ICMPMessage",
    "ICMPProtocol",
    "decodeICMP",
    "decodeICMPv6",
    "encodeICMP",
    "encodeICMPv6",
]

_log = Logger()


@implementer(raw.IRawDatagramProtocol)
class ICMPProtocol(protocol.AbstractDatagramProtocol):
    """
    Decode ICMP and ICMPv6 messages (by the IP version); override :meth:`icmpReceived`.

    :ivar limits: the decoder's limits.
    :ivar dropped: how many malformed messages were dropped.
    """

    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        self.dropped = 0

    def addProto(self, num: int, proto: Any) -> None:
        """
        Nothing is carried by ICMP.

        :raises TypeError: always.
        """
        raise TypeError("ICMP carries no protocols")

    def datagramReceived(  # type: ignore[override]
        self,
        data: bytes,
        partial: int = 0,
        source: Any = None,
        dest: Any = None,
        protocol: Any = None,
        version: Any = 4,
        **kw: Any,
    ) -> None:
        """
        Decode one message and pass it to :meth:`icmpReceived`; drop a malformed one (or a
        partial one, whose checksum cannot be checked) with a log line.
        """
        if partial:
            self.dropped += 1
            return
        try:
            if version == 6:
                message = decodeICMPv6(data, source, dest, self.limits)
            else:
                message = decodeICMP(data, self.limits)
        except MalformedPacket as e:
            dropMalformed(self, _log, "an ICMP message", e)
            return
        self.icmpReceived(message, source, dest, version)

    def icmpReceived(self, message: ICMPMessage, source: str, dest: str, version: int) -> None:
        """
        Override: an ICMP (``version`` 4) or ICMPv6 (``version`` 6) message arrived from
        ``source`` to ``dest``.
        """
