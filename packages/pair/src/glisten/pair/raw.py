"""
Interfaces of the raw packet layers, and the error their decoders raise.

A layer that carries packets of several kinds (Ethernet, IP) dispatches each to the protocols
added for its type number with ``addProto``; :class:`IRawPacketProtocol` is what sits on
Ethernet (IP, ARP), :class:`IRawDatagramProtocol` what sits on IP (UDP, ICMP).
"""

from __future__ import annotations

from typing import Any

from zope.interface import Interface

from glisten.pair._wire import (
    DEFAULT_LIMITS,
    ChecksumError,
    LimitExceeded,
    Limits,
    MalformedPacket,
    TruncatedPacket,
    UnsupportedPacket,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ChecksumError",
    "IRawDatagramProtocol",
    "IRawPacketProtocol",
    "LimitExceeded",
    "Limits",
    "MalformedPacket",
    "TruncatedPacket",
    "UnsupportedPacket",
]


class IRawDatagramProtocol(Interface):
    """
    A protocol carried by IP (UDP, ICMP, TCP).
    """

    def addProto(num: int, proto: Any) -> None:
        """
        Add a protocol on top of this one, for packets of type ``num``.
        """

    def datagramReceived(
        data: bytes,
        partial: int,
        source: str,
        dest: str,
        protocol: int,
        version: int,
        ihl: int,
        tos: int,
        tot_len: int,
        fragment_id: int,
        fragment_offset: int,
        dont_fragment: bool,
        more_fragments: bool,
        ttl: int,
    ) -> None:
        """
        An IP payload arrived; the keywords are the IP header's fields (``ihl`` in bytes).
        """


class IRawPacketProtocol(Interface):
    """
    A protocol carried by Ethernet (IP, ARP).
    """

    def addProto(num: int, proto: Any) -> None:
        """
        Add a protocol on top of this one, for packets of type ``num``.
        """

    def datagramReceived(
        data: bytes, partial: int, dest: bytes, source: bytes, protocol: int
    ) -> None:
        """
        A frame's payload arrived: ``dest`` and ``source`` are hardware addresses, ``protocol``
        the EtherType.
        """
