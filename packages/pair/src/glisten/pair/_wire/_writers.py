"""Encoders: a value from :mod:`._events` in, wire bytes out, lengths and checksums computed.

They raise :class:`ValueError` for values that cannot be put on the wire (a field out of range,
an address of the wrong family): that is the caller's mistake, not the peer's.
"""

from __future__ import annotations

import struct

from glisten.pair._wire._checksum import internetChecksum, packAddress, pseudoHeaderSum
from glisten.pair._wire._events import (
    ARPPacket,
    EthernetFrame,
    ICMPMessage,
    IPv4Packet,
    IPv6Packet,
    UDPDatagram,
)
from glisten.pair._wire._layouts import ARP, ICMP, IPV4, IPV6, UDP, VLAN


def _hardware(address: bytes, what: str) -> bytes:
    if len(address) != 6:
        raise ValueError(f"{what} must be 6 bytes, not {len(address)}")
    return address


def _packFamily(address: str, size: int) -> bytes:
    packed = packAddress(address)
    if len(packed) != size:
        raise ValueError(f"{address!r} is not an IPv{4 if size == 4 else 6} address")
    return packed


def encodeEthernet(frame: EthernetFrame) -> bytes:
    """
    :return: the frame's bytes (no FCS, no padding: the device adds what it needs).
    """
    parts = [_hardware(frame.dest, "dest"), _hardware(frame.source, "source")]
    for tag in frame.vlanTags:
        if not 0 <= tag.vid < 4096 or not 0 <= tag.pcp < 8:
            raise ValueError("VLAN id or priority out of range")
        tci = (tag.pcp << 13) | (int(tag.dei) << 12) | tag.vid
        parts.append(VLAN.pack(tag.tpid, tci))
    parts.append(struct.pack("!H", frame.etherType))
    parts.append(frame.payload)
    return b"".join(parts)


def encodeARP(packet: ARPPacket) -> bytes:
    """
    :return: the ARP packet (IPv4 over Ethernet).
    """
    return ARP.pack(
        1,
        0x0800,
        6,
        4,
        packet.operation,
        _hardware(packet.senderHardware, "senderHardware"),
        _packFamily(packet.senderProtocol, 4),
        _hardware(packet.targetHardware, "targetHardware"),
        _packFamily(packet.targetProtocol, 4),
    )


def encodeIPv4(packet: IPv4Packet) -> bytes:
    """
    :return: the packet, its total length and header checksum computed (the decoded-only
        ``totalLength`` and ``checksum`` fields are ignored).
    """
    options = packet.options
    if len(options) % 4 or len(options) > 40:
        raise ValueError("IPv4 options must be a multiple of 4 bytes, at most 40")
    ihl = 20 + len(options)
    total = ihl + len(packet.payload)
    if total > 0xFFFF:
        raise ValueError(f"IPv4 packet of {total} bytes, more than 65535")
    frag = (
        (0x4000 if packet.dontFragment else 0)
        | (0x2000 if packet.moreFragments else 0)
        | packet.fragmentOffset
    )
    header = IPV4.pack(
        0x40 | (ihl // 4),
        packet.tos,
        total,
        packet.fragmentId,
        frag,
        packet.ttl,
        packet.protocol,
        0,
        int.from_bytes(_packFamily(packet.source, 4), "big"),
        int.from_bytes(_packFamily(packet.dest, 4), "big"),
    )
    header += options
    check = internetChecksum(header)
    return header[:10] + check.to_bytes(2, "big") + header[12:] + packet.payload


def encodeIPv6(packet: IPv6Packet) -> bytes:
    """
    :return: the packet with its extension headers chained (each header's ``data`` must make
        it a multiple of 8 bytes long, of 4 for an authentication header).
    """
    chain = []
    kinds = [h.kind for h in packet.extensionHeaders] + [packet.protocol]
    for header, following in zip(packet.extensionHeaders, kinds[1:], strict=False):
        length = len(header.data) + 2
        if header.kind == 51:
            if length % 4 or length < 8:
                raise ValueError("IPv6 authentication header of a bad length")
            units = length // 4 - 2
        else:
            if length % 8:
                raise ValueError("IPv6 extension header not a multiple of 8 bytes")
            units = length // 8 - 1
        if units > 255:
            raise ValueError("IPv6 extension header too long")
        chain.append(bytes((following, units)) + header.data)
    body = b"".join(chain) + packet.payload
    if len(body) > 0xFFFF:
        raise ValueError("IPv6 payload of more than 65535 bytes")
    first = (6 << 28) | ((packet.trafficClass & 0xFF) << 20) | (packet.flowLabel & 0xFFFFF)
    return (
        IPV6.pack(
            first,
            len(body),
            kinds[0],
            packet.hopLimit,
            _packFamily(packet.source, 16),
            _packFamily(packet.dest, 16),
        )
        + body
    )


def encodeUDP(datagram: UDPDatagram, source: str | None = None, dest: str | None = None) -> bytes:
    """
    :param source: the IP source address; with ``dest`` the checksum is computed, without
        them it is 0 ("none", which only IPv4 allows).
    :param dest: the IP destination address.
    :return: the datagram.
    """
    length = 8 + len(datagram.payload)
    if length > 0xFFFF:
        raise ValueError(f"UDP datagram of {length} bytes, more than 65535")
    header = UDP.pack(datagram.sourcePort, datagram.destPort, length, 0)
    if source is None or dest is None:
        return header + datagram.payload
    src = packAddress(source)
    dst = packAddress(dest)
    if len(src) != len(dst):
        raise ValueError("UDP source and destination addresses of different families")
    check = internetChecksum(header + datagram.payload, pseudoHeaderSum(src, dst, 17, length))
    return header[:6] + (check or 0xFFFF).to_bytes(2, "big") + datagram.payload


def _encodeICMP(message: ICMPMessage, initial: int) -> bytes:
    if len(message.rest) != 4:
        raise ValueError("ICMP rest of header must be 4 bytes")
    body = ICMP.pack(message.type, message.code, 0, message.rest) + message.data
    check = internetChecksum(body, initial)
    return body[:2] + check.to_bytes(2, "big") + body[4:]


def encodeICMP(message: ICMPMessage) -> bytes:
    """
    :return: the ICMP message, its checksum computed.
    """
    return _encodeICMP(message, 0)


def encodeICMPv6(message: ICMPMessage, source: str, dest: str) -> bytes:
    """
    :param source: the IPv6 source address the checksum's pseudo-header covers.
    :param dest: the IPv6 destination address.
    :return: the ICMPv6 message, its checksum computed.
    """
    length = 8 + len(message.data)
    initial = pseudoHeaderSum(_packFamily(source, 16), _packFamily(dest, 16), 58, length)
    return _encodeICMP(message, initial)
