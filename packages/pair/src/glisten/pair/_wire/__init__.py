"""A sans-IO codec for Ethernet, ARP, IPv4, IPv6, UDP, ICMP and ICMPv6, with checksums.

Decoders take bytes and return frozen values or raise :class:`MalformedPacket` (a
:class:`ValueError`); encoders take those values and return bytes. Nothing here imports the
reactor: :mod:`glisten.pair.ethernet`, :mod:`glisten.pair.ip` and friends adapt it.
"""

from glisten.pair._wire._checksum import (
    internetChecksum,
    onesSum,
    packAddress,
    pseudoHeaderSum,
    updateChecksum,
)
from glisten.pair._wire._errors import (
    ChecksumError,
    LimitExceeded,
    MalformedPacket,
    TruncatedPacket,
    UnsupportedPacket,
)
from glisten.pair._wire._events import (
    ARPPacket,
    EthernetFrame,
    ICMPMessage,
    IPv4Packet,
    IPv6ExtensionHeader,
    IPv6Packet,
    UDPDatagram,
    VLANTag,
)
from glisten.pair._wire._limits import DEFAULT_LIMITS, Limits
from glisten.pair._wire._readers import (
    decodeARP,
    decodeEthernet,
    decodeICMP,
    decodeICMPv6,
    decodeIP,
    decodeIPv4,
    decodeIPv6,
    decodeUDP,
)
from glisten.pair._wire._responder import EchoResponder, randomMAC
from glisten.pair._wire._writers import (
    encodeARP,
    encodeEthernet,
    encodeICMP,
    encodeICMPv6,
    encodeIPv4,
    encodeIPv6,
    encodeUDP,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ARPPacket",
    "ChecksumError",
    "EchoResponder",
    "EthernetFrame",
    "ICMPMessage",
    "IPv4Packet",
    "IPv6ExtensionHeader",
    "IPv6Packet",
    "LimitExceeded",
    "Limits",
    "MalformedPacket",
    "TruncatedPacket",
    "UDPDatagram",
    "UnsupportedPacket",
    "VLANTag",
    "decodeARP",
    "decodeEthernet",
    "decodeICMP",
    "decodeICMPv6",
    "decodeIP",
    "decodeIPv4",
    "decodeIPv6",
    "decodeUDP",
    "encodeARP",
    "encodeEthernet",
    "encodeICMP",
    "encodeICMPv6",
    "encodeIPv4",
    "encodeIPv6",
    "encodeUDP",
    "internetChecksum",
    "onesSum",
    "packAddress",
    "pseudoHeaderSum",
    "randomMAC",
    "updateChecksum",
]
