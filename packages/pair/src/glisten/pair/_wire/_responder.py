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
    IPv6Packet,
)
from glisten.pair._wire._limits import DEFAULT_LIMITS, Limits
from glisten.pair._wire._readers import (
    checkICMP,
    decodeARP,
    decodeEthernet,
    decodeICMPv6,
    decodeIPv6,
    readIPv4Header,
)
from glisten.pair._wire._writers import (
    encodeARP,
    encodeEthernet,
    encodeICMPv6,
    encodeIPv6,
)

#: An IPv4 header without options and the first four bytes of an ICMP message.
_ECHO_REPLY = struct.Struct("!BBHHHBBHIIBBH")
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
        self._ipv4Number: int | None = None  # as readIPv4Header gives addresses
        if ipv4 is not None:
            packed = packAddress(ipv4)
            if len(packed) != 4:
                raise ValueError(f"not an IPv4 address: {ipv4!r}")
            self._ipv4Number = int.from_bytes(packed, "big")
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
        return self._answerIPv4(data)

    def _answerIPv4(self, data: bytes) -> bytes | None:
        """
        Answer an IPv4 echo request to this host: the one routine that builds an IPv4 echo
        reply. The request is judged by the codec's own checks (:func:`readIPv4Header`,
        :func:`checkICMP`), so what they reject raises here too, but no values are built: the
        reply is packed from the request's raw fields, and both checksums come from sums
        already at hand instead of a second pass over the bytes.

        Header options are accepted and not copied into the reply (RFC 1122 3.2.2.6 makes
        that a SHOULD for Record Route and Timestamp only); fragments are not answered, since
        nothing here reassembles them.

        :return: the reply, or ``None`` for anything but an unfragmented ICMP echo request
            (code 0) to this host's IPv4 address.
        """
        fields, ihl, end = readIPv4Header(data, self.limits)
        _, _, _, ident, frag, _, proto, _, source, dest = fields
        if proto != IPPROTO_ICMP or dest != self._ipv4Number or frag & 0x3FFF:
            return None
        message = data[ihl:end]
        requestSum = checkICMP(message, self.limits)
        if message[0] != ICMP_ECHO_REQUEST or message[1]:
            return None
        body = message[4:]
        # The reply is the request with the type word 0x0800 and the checksum word zeroed;
        # a 16-bit word counts the same at any even offset, so its sum follows from the
        # request's (RFC 1624's reasoning). That holds unverified too (Limits.verifyChecksums
        # off): the request's sum is of its bytes, not its claimed checksum.
        replySum = (requestSum - 0x0800 - (message[2] << 8 | message[3])) % 0xFFFF
        # A sum of 0 modulo 0xFFFF is 0xFFFF or (all zero bytes) 0: onesSum tells them apart.
        check = 0xFFFF - replySum if replySum else internetChecksum(body)
        length = 20 + len(message)
        # The reply header's words, summed without building it (0x4500: version, header
        # length and type of service 0; 0x4001: TTL 64, protocol 1; addresses in any order).
        headerSum = (0x4500 + 0x4001 + length + ident + source + dest) % 0xFFFF
        self.answered += 1
        return (
            _ECHO_REPLY.pack(
                0x45,
                0,
                length,
                ident,
                0,
                64,
                IPPROTO_ICMP,
                0xFFFF - headerSum if headerSum else 0,
                dest,
                source,
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
