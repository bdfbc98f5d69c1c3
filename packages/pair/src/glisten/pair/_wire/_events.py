"""The decoded forms of frames and packets; the writers take the same classes.

Slotted attrs classes, not frozen: one is made per packet, and a frozen class costs three
times as much to build; treat them as values all the same. Addresses are text
(``"192.0.2.1"``, ``"2001:db8::1"``) as Twisted's IP layer hands them out; hardware addresses
are 6 raw bytes, as Twisted's Ethernet layer hands them out.
"""

from __future__ import annotations

import attrs

#: EtherType values (IEEE 802).
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
ETHERTYPE_IPV6 = 0x86DD

#: IP protocol numbers (IANA).
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59

#: ARP operations (RFC 826).
ARP_REQUEST = 1
ARP_REPLY = 2

#: ICMP (RFC 792) and ICMPv6 (RFC 4443, RFC 4861) message types.
ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACHABLE = 3
ICMP_ECHO_REQUEST = 8
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
ICMPV6_ROUTER_SOLICITATION = 133
ICMPV6_NEIGHBOR_SOLICITATION = 135
ICMPV6_NEIGHBOR_ADVERTISEMENT = 136

#: The broadcast hardware address.
BROADCAST = b"\xff" * 6


@attrs.define(slots=True)
class VLANTag:
    """One 802.1Q (or 802.1ad) tag.

    :ivar vid: The VLAN identifier, 0..4095.
    :ivar pcp: The priority code point, 0..7.
    :ivar dei: The drop eligible indicator.
    :ivar tpid: The tag protocol identifier: 0x8100 (802.1Q) or 0x88A8 (802.1ad outer tag).
    """

    vid: int
    pcp: int = 0
    dei: bool = False
    tpid: int = ETHERTYPE_VLAN


@attrs.define(slots=True)
class EthernetFrame:
    """An Ethernet II frame, VLAN tags taken off.

    :ivar dest: Destination hardware address, 6 bytes.
    :ivar source: Source hardware address, 6 bytes.
    :ivar etherType: The type of the payload (after any VLAN tags).
    :ivar payload: What follows the header (and tags); any padding is kept, the layer above
        knows its own length.
    :ivar vlanTags: The VLAN tags, outermost first.
    """

    dest: bytes
    source: bytes
    etherType: int
    payload: bytes
    vlanTags: tuple[VLANTag, ...] = ()


@attrs.define(slots=True)
class ARPPacket:
    """An ARP packet for IPv4 over Ethernet (RFC 826).

    :ivar operation: :data:`ARP_REQUEST` or :data:`ARP_REPLY`.
    :ivar senderHardware: 6 bytes.
    :ivar senderProtocol: The sender's IPv4 address.
    :ivar targetHardware: 6 bytes (zero in a request).
    :ivar targetProtocol: The IPv4 address asked about or answered to.
    """

    operation: int
    senderHardware: bytes
    senderProtocol: str
    targetHardware: bytes
    targetProtocol: str


@attrs.define(slots=True)
class IPv4Packet:
    """An IPv4 packet (RFC 791).

    :ivar source: Source address.
    :ivar dest: Destination address.
    :ivar protocol: The payload's protocol number.
    :ivar payload: The payload, cut at the total length (Ethernet padding is not part of it).
    :ivar tos: Type of service (DSCP and ECN).
    :ivar ttl: Time to live.
    :ivar fragmentId: The identification field.
    :ivar dontFragment: The DF flag.
    :ivar moreFragments: The MF flag.
    :ivar fragmentOffset: The fragment offset, in 8-byte units as on the wire.
    :ivar options: The header options, raw (a multiple of 4 bytes).
    :ivar totalLength: Decoded only: the total length field (header and payload).
    :ivar checksum: Decoded only: the header checksum field.
    """

    source: str
    dest: str
    protocol: int
    payload: bytes
    tos: int = 0
    ttl: int = 64
    fragmentId: int = 0
    dontFragment: bool = False
    moreFragments: bool = False
    fragmentOffset: int = 0
    options: bytes = b""
    totalLength: int = 0
    checksum: int = 0

    @property
    def version(self) -> int:
        """:return: 4."""
        return 4

    @property
    def headerLength(self) -> int:
        """:return: the header's length in bytes (Twisted's ``ihl``)."""
        return 20 + len(self.options)


@attrs.define(slots=True)
class IPv6ExtensionHeader:
    """One IPv6 extension header (RFC 8200 section 4), as found on the walk.

    :ivar kind: Its protocol number (0 hop-by-hop, 43 routing, 44 fragment, 60 destination
        options, 51 authentication, ...).
    :ivar data: Its bytes after the next-header and length octets.
    """

    kind: int
    data: bytes


@attrs.define(slots=True)
class IPv6Packet:
    """An IPv6 packet (RFC 8200), extension headers walked.

    :ivar source: Source address.
    :ivar dest: Destination address.
    :ivar protocol: The upper-layer protocol after the last extension header (59: none).
    :ivar payload: The upper-layer payload.
    :ivar trafficClass: The traffic class.
    :ivar flowLabel: The flow label.
    :ivar hopLimit: The hop limit.
    :ivar extensionHeaders: The extension headers in order (writers emit them too).
    :ivar fragmentId: Decoded only: the identification of a fragment header, else 0.
    :ivar fragmentOffset: Decoded only: its offset in 8-byte units, else 0.
    :ivar moreFragments: Decoded only: its M flag, else False.
    :ivar headerLength: Decoded only: bytes before the upper-layer payload.
    """

    source: str
    dest: str
    protocol: int
    payload: bytes
    trafficClass: int = 0
    flowLabel: int = 0
    hopLimit: int = 64
    extensionHeaders: tuple[IPv6ExtensionHeader, ...] = ()
    fragmentId: int = 0
    fragmentOffset: int = 0
    moreFragments: bool = False
    headerLength: int = 40

    @property
    def version(self) -> int:
        """:return: 6."""
        return 6


@attrs.define(slots=True)
class UDPDatagram:
    """A UDP datagram (RFC 768).

    :ivar sourcePort: Source port.
    :ivar destPort: Destination port.
    :ivar payload: The payload, cut at the length field.
    :ivar checksum: Decoded only: the checksum field (0: none was sent, IPv4 only).
    """

    sourcePort: int
    destPort: int
    payload: bytes
    checksum: int = 0


@attrs.define(slots=True)
class ICMPMessage:
    """An ICMP (RFC 792) or ICMPv6 (RFC 4443) message.

    :ivar type: The message type.
    :ivar code: The code.
    :ivar rest: The 4 bytes after the checksum ("rest of header": identifier and sequence of an
        echo, the unused or pointer field of an error).
    :ivar data: What follows.
    :ivar checksum: Decoded only: the checksum field.
    """

    type: int
    code: int
    rest: bytes = b"\x00\x00\x00\x00"
    data: bytes = b""
    checksum: int = 0

    @classmethod
    def echo(cls, type: int, identifier: int, sequence: int, data: bytes = b"") -> ICMPMessage:
        """
        :return: an echo request or reply (``type`` says which, and whether v4 or v6).
        """
        return cls(type, 0, identifier.to_bytes(2, "big") + sequence.to_bytes(2, "big"), data)

    @property
    def identifier(self) -> int:
        """:return: an echo's identifier."""
        return int.from_bytes(self.rest[:2], "big")

    @property
    def sequence(self) -> int:
        """:return: an echo's sequence number."""
        return int.from_bytes(self.rest[2:4], "big")
