"""Decoders: bytes in, one value from :mod:`._events` out, or a :class:`MalformedPacket`.

Every length is checked before it is used, so truncated headers and lying length fields raise
the codec's own error, never :class:`struct.error` or :class:`IndexError`. Each decoder reads
its header once at a fixed offset; the only loops (VLAN tags, IPv6 extension headers) are
bounded by :class:`Limits`.
"""

from __future__ import annotations

import socket
from typing import Any

from glisten.pair._wire._checksum import onesSum, pseudoHeaderSum
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
from glisten.pair._wire._layouts import ARP, ETHERNET, ICMP, IPV4, IPV6, UDP, VLAN
from glisten.pair._wire._limits import DEFAULT_LIMITS, Limits

_unpackIPv4 = IPV4.unpack_from

_VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})
_ntoa = socket.inet_ntoa


def _ntop6(packed: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, packed)


#: IPv6 extension headers that share the (next header, length in 8-octet units) layout.
_IPV6_GENERIC_EXTENSIONS = frozenset({0, 43, 60, 135, 139, 140, 253, 254})
_IPV6_FRAGMENT = 44
_IPV6_AUTH = 51
_IPV6_EXTENSIONS = _IPV6_GENERIC_EXTENSIONS | {_IPV6_FRAGMENT, _IPV6_AUTH}


def _sizeOf(data: bytes, limits: Limits, layer: str, header: int) -> int:
    """
    :param header: the smallest size ``layer`` can have.
    :return: ``len(data)``.
    :raises MalformedPacket: if ``data`` is larger than :attr:`Limits.maxFrameSize` or smaller
        than ``header``.
    """
    size = len(data)
    if size > limits.maxFrameSize:
        raise LimitExceeded(f"{layer}: {size} bytes, more than {limits.maxFrameSize}")
    if size < header:
        raise TruncatedPacket(f"{layer} of {size} bytes, shorter than its header")
    return size


def decodeEthernet(data: bytes, limits: Limits = DEFAULT_LIMITS) -> EthernetFrame:
    """
    :param data: one Ethernet II frame without the FCS (as a TAP device delivers it).
    :return: the frame, its VLAN tags taken off.
    :raises MalformedPacket: if it is shorter than its header or has too many VLAN tags.
    """
    _sizeOf(data, limits, "Ethernet frame", 14)
    dest, source, etherType = ETHERNET.unpack_from(data)
    offset = 14
    tags: list[VLANTag] = []
    while etherType in _VLAN_TPIDS:
        if len(tags) >= limits.maxVLANTags:
            raise LimitExceeded(f"Ethernet frame with more than {limits.maxVLANTags} VLAN tags")
        if len(data) < offset + 4:
            raise TruncatedPacket("Ethernet frame truncated inside a VLAN tag")
        tci, inner = VLAN.unpack_from(data, offset)
        tags.append(VLANTag(tci & 0x0FFF, tci >> 13, bool(tci & 0x1000), etherType))
        etherType = inner
        offset += 4
    return EthernetFrame(dest, source, etherType, data[offset:], tuple(tags))


def decodeARP(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ARPPacket:
    """
    :param data: an ARP packet (the payload of an Ethernet frame of type 0x0806).
    :return: the packet, if it is IPv4 over Ethernet.
    :raises MalformedPacket: if truncated or of another hardware or protocol type.
    """
    _sizeOf(data, limits, "ARP packet", 28)
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = ARP.unpack_from(data)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        raise UnsupportedPacket("ARP packet that is not IPv4 over Ethernet")
    return ARPPacket(op, sha, _ntoa(spa), tha, _ntoa(tpa))


def readIPv4Header(
    data: bytes, limits: Limits = DEFAULT_LIMITS, partial: bool = False
) -> tuple[tuple[Any, ...], int, int]:
    """
    Judge an IPv4 packet's header: the one place its size, version, lengths and checksum are
    checked, for :func:`decodeIPv4` and for the echo responder, which answers from the raw
    fields without building an :class:`IPv4Packet`.

    :param data: an IPv4 packet (see :func:`decodeIPv4`).
    :param partial: see :func:`decodeIPv4`.
    :return: the fixed header's ten fields as unpacked (version and header length, type of
        service, total length, identification, flags and fragment offset, TTL, protocol,
        checksum, source and destination as 32-bit numbers), the header's length, and where
        the payload ends.
    :raises MalformedPacket: see :func:`decodeIPv4`.
    """
    size = _sizeOf(data, limits, "IPv4 packet", 20)
    fields = _unpackIPv4(data)
    vihl = fields[0]
    if vihl >> 4 != 4:
        raise UnsupportedPacket(f"IP version {vihl >> 4} where 4 was expected")
    ihl = (vihl & 0x0F) * 4
    if ihl < 20:
        raise MalformedPacket(f"IPv4 header length {ihl} is less than 20")
    if ihl > size:
        raise TruncatedPacket(f"IPv4 header of {ihl} bytes in a packet of {size}")
    total = fields[2]
    if total < ihl:
        raise MalformedPacket(f"IPv4 total length {total} is less than its header ({ihl})")
    if total > size:
        if not partial:
            raise TruncatedPacket(f"IPv4 total length {total} but only {size} bytes")
        end = size
    else:
        end = total
    # The header is never all zeros (version 4), so it sums right exactly when it is 0 modulo
    # 0xFFFF (see _checksum).
    if limits.verifyChecksums and int.from_bytes(data[:ihl], "big") % 0xFFFF:
        raise ChecksumError("IPv4 header checksum mismatch")
    return fields, ihl, end


def decodeIPv4(data: bytes, limits: Limits = DEFAULT_LIMITS, partial: bool = False) -> IPv4Packet:
    """
    :param data: an IPv4 packet; bytes past its total length (link padding) are ignored.
    :param partial: the packet was cut short on capture: a total length past the end is then
        allowed and the payload is what there is.
    :return: the packet.
    :raises MalformedPacket: if truncated, not version 4, lengths lie, or the header checksum
        is wrong (when :attr:`Limits.verifyChecksums`).
    """
    fields, ihl, end = readIPv4Header(data, limits, partial)
    _, tos, total, ident, frag, ttl, proto, check, _, _ = fields
    return IPv4Packet(
        _ntoa(data[12:16]),
        _ntoa(data[16:20]),
        proto,
        data[ihl:end],
        tos,
        ttl,
        ident,
        bool(frag & 0x4000),
        bool(frag & 0x2000),
        frag & 0x1FFF,
        data[20:ihl],
        total,
        check,
    )


def decodeIPv6(data: bytes, limits: Limits = DEFAULT_LIMITS, partial: bool = False) -> IPv6Packet:
    """
    Decode an IPv6 packet and walk its extension headers to the upper layer.

    :param data: an IPv6 packet; bytes past its payload length are ignored.
    :param partial: the packet was cut short on capture (see :func:`decodeIPv4`).
    :return: the packet; ``protocol`` is the upper layer's number.
    :raises MalformedPacket: if truncated, not version 6, lengths lie, a hop-by-hop header is
        not first, or there are more extension headers than
        :attr:`Limits.maxIPv6ExtensionHeaders`.
    """
    size = _sizeOf(data, limits, "IPv6 packet", 40)
    first, plen, nxt, hlim, src, dst = IPV6.unpack_from(data)
    if first >> 28 != 6:
        raise UnsupportedPacket(f"IP version {first >> 28} where 6 was expected")
    end = 40 + plen
    if end > size:
        if not partial:
            raise TruncatedPacket(f"IPv6 payload length {plen} but only {size - 40} bytes")
        end = size
    offset = 40
    headers: list[IPv6ExtensionHeader] = []
    fragId = fragOffset = 0
    more = False
    while nxt in _IPV6_EXTENSIONS:
        if len(headers) >= limits.maxIPv6ExtensionHeaders:
            raise LimitExceeded(
                f"IPv6 packet with more than {limits.maxIPv6ExtensionHeaders} extension headers"
            )
        if nxt == 0 and headers:
            raise MalformedPacket("IPv6 hop-by-hop options header that is not first")
        if offset + 8 > end:
            raise TruncatedPacket("IPv6 extension header past the end of the payload")
        following = data[offset]
        if nxt == _IPV6_FRAGMENT:
            length = 8
            word = (data[offset + 2] << 8) | data[offset + 3]
            fragOffset = word >> 3
            more = bool(word & 1)
            fragId = int.from_bytes(data[offset + 4 : offset + 8], "big")
        elif nxt == _IPV6_AUTH:
            length = (data[offset + 1] + 2) * 4
        else:
            length = (data[offset + 1] + 1) * 8
        if offset + length > end:
            raise TruncatedPacket("IPv6 extension header past the end of the payload")
        headers.append(IPv6ExtensionHeader(nxt, data[offset + 2 : offset + length]))
        offset += length
        nxt = following
        if fragOffset:
            # A later fragment: what follows is the middle of the upper layer's data.
            break
    return IPv6Packet(
        _ntop6(src),
        _ntop6(dst),
        nxt,
        data[offset:end],
        (first >> 20) & 0xFF,
        first & 0xFFFFF,
        hlim,
        tuple(headers),
        fragId,
        fragOffset,
        more,
        offset,
    )


def decodeIP(
    data: bytes, limits: Limits = DEFAULT_LIMITS, partial: bool = False
) -> IPv4Packet | IPv6Packet:
    """
    :param data: an IPv4 or IPv6 packet (a TUN device without packet information).
    :return: the packet, decoded by the version its first nibble names.
    :raises MalformedPacket: see :func:`decodeIPv4` and :func:`decodeIPv6`.
    """
    if not data:
        raise TruncatedPacket("empty IP packet")
    version = data[0] >> 4
    if version == 4:
        return decodeIPv4(data, limits, partial)
    if version == 6:
        return decodeIPv6(data, limits, partial)
    raise UnsupportedPacket(f"IP version {version}")


def _addressesOf(source: str | None, dest: str | None) -> tuple[bytes, bytes] | None:
    if source is None or dest is None:
        return None
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    try:
        return socket.inet_pton(family, source), socket.inet_pton(family, dest)
    except (OSError, TypeError, ValueError):
        return None


def decodeUDP(
    data: bytes,
    source: str | None = None,
    dest: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    partial: bool = False,
) -> UDPDatagram:
    """
    :param data: a UDP datagram (an IP payload).
    :param source: the IP source address; with ``dest``, the checksum is verified.
    :param dest: the IP destination address.
    :param partial: the datagram was cut short on capture: the length field may then point
        past the end, and the checksum is not verified.
    :return: the datagram, its payload cut at the length field.
    :raises MalformedPacket: if truncated, the length field lies, or the checksum is wrong.
    """
    size = _sizeOf(data, limits, "UDP datagram", 8)
    sport, dport, length, check = UDP.unpack_from(data)
    if length < 8:
        raise MalformedPacket(f"UDP length {length} is less than its header")
    if length > size:
        if not partial:
            raise TruncatedPacket(f"UDP length {length} but only {size} bytes")
        return UDPDatagram(sport, dport, data[8:], check)
    if limits.verifyChecksums and not partial:
        addresses = _addressesOf(source, dest)
        if addresses is not None:
            v6 = len(addresses[0]) == 16
            if check == 0:
                if v6:
                    raise ChecksumError("UDP over IPv6 without a checksum")
            else:
                initial = pseudoHeaderSum(addresses[0], addresses[1], 17, length)
                if onesSum(data[:length], initial) != 0xFFFF:
                    raise ChecksumError("UDP checksum mismatch")
    return UDPDatagram(sport, dport, data[8:length], check)


def checkICMP(data: bytes, limits: Limits = DEFAULT_LIMITS) -> int:
    """
    Judge an ICMP message's size and checksum: the one place they are checked, for
    :func:`decodeICMP` and for the echo responder (which derives its reply's checksum from the
    sum returned here instead of summing the reply again).

    :param data: an ICMP message.
    :return: the message's one's complement sum modulo 0xFFFF (0 when the checksum is right).
    :raises MalformedPacket: see :func:`decodeICMP`.
    """
    size = _sizeOf(data, limits, "ICMP message", 8)
    # An odd length is padded with a zero byte (RFC 1071): a shift, not a copy.
    value = int.from_bytes(data, "big") << (size & 1) * 8
    total = value % 0xFFFF
    # An all-zero message sums to 0, not 0xFFFF, so its checksum (0) is wrong (see _checksum).
    if limits.verifyChecksums and (total or not value):
        raise ChecksumError("ICMP checksum mismatch")
    return total


def decodeICMP(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ICMPMessage:
    """
    :param data: an ICMP message (the payload of an IPv4 packet of protocol 1).
    :return: the message.
    :raises MalformedPacket: if shorter than its header or the checksum is wrong.
    """
    checkICMP(data, limits)
    kind, code, check, rest = ICMP.unpack_from(data)
    return ICMPMessage(kind, code, rest, data[8:], check)


def decodeICMPv6(
    data: bytes, source: str, dest: str, limits: Limits = DEFAULT_LIMITS
) -> ICMPMessage:
    """
    :param data: an ICMPv6 message (the upper-layer payload of an IPv6 packet, protocol 58).
    :param source: the IPv6 source address (the checksum covers a pseudo-header).
    :param dest: the IPv6 destination address.
    :return: the message.
    :raises MalformedPacket: if shorter than its header or the checksum is wrong.
    """
    _sizeOf(data, limits, "ICMPv6 message", 8)
    if limits.verifyChecksums:
        addresses = _addressesOf(source, dest)
        if addresses is None or len(addresses[0]) != 16:
            raise MalformedPacket("ICMPv6 needs IPv6 source and destination addresses")
        initial = pseudoHeaderSum(addresses[0], addresses[1], 58, len(data))
        if onesSum(data, initial) != 0xFFFF:
            raise ChecksumError("ICMPv6 checksum mismatch")
    kind, code, check, rest = ICMP.unpack_from(data)
    return ICMPMessage(kind, code, rest, data[8:], check)
