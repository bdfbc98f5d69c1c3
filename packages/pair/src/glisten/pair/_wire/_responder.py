"""A sans-IO host that answers ARP, neighbour solicitations and echo requests for one address.

Bytes of a received frame (TAP) or packet (TUN) go in; the bytes of the answer come out, or
``None`` when the input is not for this host or needs no answer (everything else the kernel
sends unasked, such as IPv6 router solicitations and MLD reports, is ignored here).
"""

from __future__ import annotations

import os
import socket
import struct

from glisten.pair._wire._checksum import internetChecksum, packAddress
from glisten.pair._wire._events import (
    ARP_REPLY,
    ARP_REQUEST,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMPV6_ECHO_REPLY,
    ICMPV6_ECHO_REQUEST,
    ICMPV6_NEIGHBOR_ADVERTISEMENT,
    ICMPV6_NEIGHBOR_SOLICITATION,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    ARPPacket,
    EthernetFrame,
    ICMPMessage,
    IPv4Packet,
    IPv6Packet,
)
from glisten.pair._wire._limits import DEFAULT_LIMITS, Limits
from glisten.pair._wire._readers import (
    decodeARP,
    decodeEthernet,
    decodeICMP,
    decodeICMPv6,
    decodeIPv4,
    decodeIPv6,
)
from glisten.pair._wire._writers import (
    encodeARP,
    encodeEthernet,
    encodeICMP,
    encodeICMPv6,
    encodeIPv4,
    encodeIPv6,
)

#: An IPv4 header without options and the first four bytes of an ICMP message.
_ECHO = struct.Struct("!BBHHHBBHHHHHBBH")
_SOLICITED_NODE_PREFIX = packAddress("ff02::1:ff00:0")[:13]


def randomMAC() -> bytes:
    """
    :return: a random locally administered unicast hardware address.
    """
    first = (os.urandom(1)[0] & 0xFC) | 0x02
    return bytes((first,)) + os.urandom(5)


class EchoResponder:
    """
    The answering logic of a minimal host.

    :param ipv4: the IPv4 address to answer for, or ``None``.
    :param ipv6: the IPv6 address to answer for, or ``None``.
    :param mac: this host's hardware address (TAP); a random local one by default.
    :param limits: the decoders' limits.
    :ivar answered: how many answers were produced.
    """

    def __init__(
        self,
        ipv4: str | None = None,
        ipv6: str | None = None,
        mac: bytes | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.mac = randomMAC() if mac is None else mac
        if len(self.mac) != 6:
            raise ValueError("mac must be 6 bytes")
        self.limits = limits
        self.answered = 0
        self._ipv6Packed = packAddress(ipv6) if ipv6 is not None else None
        self._ipv4Words: tuple[int, int] | None = None
        if ipv4 is not None:
            packed = packAddress(ipv4)
            if len(packed) != 4:
                raise ValueError(f"not an IPv4 address: {ipv4!r}")
            self._ipv4Words = (packed[0] << 8 | packed[1], packed[2] << 8 | packed[3])
            self.ipv4 = socket.inet_ntoa(packed)  # the form decoded packets compare equal to
        if self._ipv6Packed is not None and len(self._ipv6Packed) != 16:
            raise ValueError(f"not an IPv6 address: {ipv6!r}")

    def answerFrame(self, data: bytes) -> bytes | None:
        """
        :param data: an Ethernet frame from a TAP device.
        :return: the frame to send back, or ``None``.
        :raises glisten.pair._wire._errors.MalformedPacket: for a malformed frame.
        """
        frame = decodeEthernet(data, self.limits)
        if frame.dest != self.mac and not frame.dest[0] & 1:
            return None  # unicast to someone else
        kind = frame.etherType
        if kind == ETHERTYPE_ARP:
            payload = self._answerARP(frame.payload)
        elif kind == ETHERTYPE_IPV4:
            payload = self.answerPacket(frame.payload)
        elif kind == ETHERTYPE_IPV6:
            payload = self._answerIPv6(frame.payload, neighbours=True)
        else:
            return None
        if payload is None:
            return None
        return encodeEthernet(EthernetFrame(frame.source, self.mac, kind, payload, frame.vlanTags))

    def answerPacket(self, data: bytes) -> bytes | None:
        """
        :param data: an IPv4 or IPv6 packet (from a TUN device, or a frame's payload).
        :return: the packet to send back, or ``None``.
        :raises glisten.pair._wire._errors.MalformedPacket: for a malformed packet.
        """
        if data and data[0] >> 4 == 6:
            return self._answerIPv6(data, neighbours=False)
        fast = self._answerEcho4(data)
        if fast is not None:
            return fast
        packet = decodeIPv4(data, self.limits)
        if (
            packet.protocol != IPPROTO_ICMP
            or packet.dest != self.ipv4
            or packet.moreFragments
            or packet.fragmentOffset
        ):
            return None
        message = decodeICMP(packet.payload, self.limits)
        if message.type != ICMP_ECHO_REQUEST or message.code != 0:
            return None
        reply = encodeICMP(ICMPMessage(ICMP_ECHO_REPLY, 0, message.rest, message.data))
        self.answered += 1
        return encodeIPv4(
            IPv4Packet(self.ipv4, packet.source, IPPROTO_ICMP, reply, fragmentId=packet.fragmentId)
        )

    def _answerEcho4(self, data: bytes) -> bytes | None:
        """
        The fast path for the common shape: an IPv4 echo request to us without options or
        fragmentation, whose checksums are right. It gives the same bytes as the general path
        (which handles everything else, errors included) without building any values: the
        reply's ICMP checksum is updated for the changed type (RFC 1624) instead of summed.

        :return: the reply, or ``None`` to take the general path.
        """
        size = len(data)
        if size < 28 or size > self.limits.maxFrameSize or self._ipv4Words is None:
            return None
        (
            vihl,
            _,
            total,
            ident,
            frag,
            _,
            proto,
            _,
            srcHi,
            srcLo,
            dstHi,
            dstLo,
            kind,
            code,
            check,
        ) = _ECHO.unpack_from(data)
        if (
            vihl != 0x45
            or proto != IPPROTO_ICMP
            or kind != ICMP_ECHO_REQUEST
            or code
            or frag & 0x3FFF
            or (dstHi, dstLo) != self._ipv4Words
            or total < 28
            or total > size
        ):
            return None
        if self.limits.verifyChecksums:
            # Neither the header (0x45...) nor an echo request (type 8) is all zeros, so a
            # right checksum is exactly a sum of 0 modulo 0xFFFF (see _checksum).
            if int.from_bytes(data[:20], "big") % 0xFFFF:
                return None
            message = data[20:total] if total & 1 == 0 else data[20:total] + b"\x00"
            if int.from_bytes(message, "big") % 0xFFFF:
                return None
        # RFC 1624: the type word drops by 0x0800, so the checksum grows by 0x0800.
        check += 0x0800
        check = (check & 0xFFFF) + (check >> 16)
        body = data[24:total]
        if check == 0xFFFF:
            # Two encodings of zero: take the one a full sum gives.
            check = internetChecksum(b"\x00\x00\x00\x00" + body)
        # The reply header's words, summed without building it (0x4500: version, length and
        # tos 0; 0x4001: ttl 64, protocol 1).
        headerSum = (0x4500 + 0x4001 + total + ident + dstHi + dstLo + srcHi + srcLo) % 0xFFFF
        self.answered += 1
        return (
            _ECHO.pack(
                0x45,
                0,
                total,
                ident,
                0,
                64,
                IPPROTO_ICMP,
                0xFFFF - headerSum if headerSum else 0,
                dstHi,
                dstLo,
                srcHi,
                srcLo,
                ICMP_ECHO_REPLY,
                0,
                check,
            )
            + body
        )

    def _answerARP(self, data: bytes) -> bytes | None:
        packet = decodeARP(data, self.limits)
        if packet.operation != ARP_REQUEST or packet.targetProtocol != self.ipv4:
            return None
        self.answered += 1
        return encodeARP(
            ARPPacket(ARP_REPLY, self.mac, self.ipv4, packet.senderHardware, packet.senderProtocol)
        )

    def _answerIPv6(self, data: bytes, neighbours: bool) -> bytes | None:
        packet = decodeIPv6(data, self.limits)
        if packet.protocol != IPPROTO_ICMPV6 or self.ipv6 is None or packet.fragmentOffset:
            return None
        ours6 = self._ipv6Packed
        assert ours6 is not None
        dest = packAddress(packet.dest)
        ours = dest == ours6
        solicited = dest == _SOLICITED_NODE_PREFIX + ours6[13:]
        if not ours and not solicited:
            return None
        message = decodeICMPv6(packet.payload, packet.source, packet.dest, self.limits)
        if ours and message.type == ICMPV6_ECHO_REQUEST and message.code == 0:
            reply = ICMPMessage(ICMPV6_ECHO_REPLY, 0, message.rest, message.data)
            return self._ipv6(packet.source, reply, 64)
        if (
            neighbours
            and message.type == ICMPV6_NEIGHBOR_SOLICITATION
            and packet.hopLimit == 255
            and len(message.data) >= 16
            and message.data[:16] == ours6
        ):
            dest6 = packet.source
            flags = b"\x60\x00\x00\x00"  # solicited, override
            if dest6 == "::":
                dest6 = "ff02::1"  # answering duplicate address detection (RFC 4861 7.2.4)
                flags = b"\x20\x00\x00\x00"
            options = b"\x02\x01" + self.mac
            advert = ICMPMessage(
                ICMPV6_NEIGHBOR_ADVERTISEMENT,
                0,
                flags,
                ours6 + options,
            )
            return self._ipv6(dest6, advert, 255)
        return None

    def _ipv6(self, dest: str, message: ICMPMessage, hopLimit: int) -> bytes:
        assert self.ipv6 is not None
        self.answered += 1
        body = encodeICMPv6(message, self.ipv6, dest)
        return encodeIPv6(IPv6Packet(self.ipv6, dest, IPPROTO_ICMPV6, body, hopLimit=hopLimit))
