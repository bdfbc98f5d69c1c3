"""The sans-IO codec: round trips, every prefix of a packet, lying lengths, limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from glisten.pair._wire import (
    ARPPacket,
    ChecksumError,
    EthernetFrame,
    ICMPMessage,
    IPv4Packet,
    IPv6ExtensionHeader,
    IPv6Packet,
    LimitExceeded,
    Limits,
    MalformedPacket,
    TruncatedPacket,
    UDPDatagram,
    UnsupportedPacket,
    VLANTag,
    decodeARP,
    decodeEthernet,
    decodeICMP,
    decodeICMPv6,
    decodeIP,
    decodeIPv4,
    decodeIPv6,
    decodeUDP,
    encodeARP,
    encodeEthernet,
    encodeICMP,
    encodeICMPv6,
    encodeIPv4,
    encodeIPv6,
    encodeUDP,
)

MAC1 = b"\x02\x00\x00\x00\x00\x01"
MAC2 = b"\x02\x00\x00\x00\x00\x02"


def udp4() -> bytes:
    body = encodeUDP(UDPDatagram(1234, 53, b"hello"), "192.0.2.1", "192.0.2.2")
    return encodeIPv4(IPv4Packet("192.0.2.1", "192.0.2.2", 17, body, ttl=33, fragmentId=7))


def udp6(headers: tuple[IPv6ExtensionHeader, ...] = ()) -> bytes:
    body = encodeUDP(UDPDatagram(1234, 53, b"hello"), "2001:db8::1", "2001:db8::2")
    return encodeIPv6(IPv6Packet("2001:db8::1", "2001:db8::2", 17, body, extensionHeaders=headers))


# ---------------------------------------------------------------- Ethernet


def test_ethernetRoundTrip() -> None:
    frame = EthernetFrame(MAC1, MAC2, 0x0800, b"payload")
    data = encodeEthernet(frame)
    assert data == MAC1 + MAC2 + b"\x08\x00payload"
    assert decodeEthernet(data) == frame


def test_ethernetVLANTags() -> None:
    tags = (VLANTag(100, 0, False, 0x88A8), VLANTag(4095, 7, True))
    frame = EthernetFrame(MAC1, MAC2, 0x86DD, b"x", tags)
    data = encodeEthernet(frame)
    assert data[12:14] == b"\x88\xa8"
    assert decodeEthernet(data) == frame


def test_ethernetTooManyVLANTags() -> None:
    tags = (VLANTag(1), VLANTag(2), VLANTag(3))
    data = encodeEthernet(EthernetFrame(MAC1, MAC2, 0x0800, b"", tags))
    with pytest.raises(LimitExceeded):
        decodeEthernet(data)
    assert len(decodeEthernet(data, Limits(maxVLANTags=3)).vlanTags) == 3


def test_ethernetTooLarge() -> None:
    with pytest.raises(LimitExceeded):
        decodeEthernet(bytes(100), Limits(maxFrameSize=99))


def test_ethernetEncodeChecksAddresses() -> None:
    with pytest.raises(ValueError):
        encodeEthernet(EthernetFrame(b"short", MAC2, 0x0800, b""))


# ---------------------------------------------------------------- ARP


def test_arpRoundTrip() -> None:
    packet = ARPPacket(1, MAC1, "10.0.0.1", bytes(6), "10.0.0.2")
    data = encodeARP(packet)
    assert len(data) == 28
    assert decodeARP(data) == packet
    # Ethernet padding after the packet is ignored.
    assert decodeARP(data + bytes(18)) == packet


def test_arpOtherHardware() -> None:
    data = bytearray(encodeARP(ARPPacket(1, MAC1, "10.0.0.1", bytes(6), "10.0.0.2")))
    data[1] = 6  # IEEE 802 instead of Ethernet
    with pytest.raises(UnsupportedPacket):
        decodeARP(bytes(data))


# ---------------------------------------------------------------- IPv4


def test_ipv4RoundTrip() -> None:
    data = udp4()
    packet = decodeIPv4(data)
    assert (packet.source, packet.dest, packet.protocol, packet.ttl) == (
        "192.0.2.1",
        "192.0.2.2",
        17,
        33,
    )
    assert packet.fragmentId == 7
    assert packet.totalLength == len(data)
    assert packet.headerLength == 20
    assert encodeIPv4(packet) == data


def test_ipv4Options() -> None:
    data = encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, b"abc", options=b"\x01\x01\x01\x00"))
    assert data[0] == 0x46
    packet = decodeIPv4(data)
    assert packet.options == b"\x01\x01\x01\x00"
    assert packet.payload == b"abc"
    assert packet.headerLength == 24


def test_ipv4FlagsAndFragments() -> None:
    data = encodeIPv4(
        IPv4Packet(
            "10.0.0.1", "10.0.0.2", 6, b"", dontFragment=True, moreFragments=True, fragmentOffset=99
        )
    )
    packet = decodeIPv4(data)
    assert (packet.dontFragment, packet.moreFragments, packet.fragmentOffset) == (True, True, 99)


def test_ipv4PaddingDropped() -> None:
    data = udp4()
    assert decodeIPv4(data + bytes(10)).payload == decodeIPv4(data).payload


def test_ipv4LyingTotalLength() -> None:
    data = udp4()
    with pytest.raises(TruncatedPacket):
        decodeIPv4(data[:-1], Limits(verifyChecksums=False))
    # A partial capture may be shorter than its total length.
    assert decodeIPv4(data[:-1], partial=True).payload == decodeIPv4(data).payload[:-1]


def test_ipv4HeaderLengthPastEnd() -> None:
    data = bytearray(udp4())
    data[0] = 0x4F  # 60-byte header in a 33-byte packet
    with pytest.raises(TruncatedPacket):
        decodeIPv4(bytes(data))
    data[0] = 0x44  # 16-byte header: less than the minimum
    with pytest.raises(MalformedPacket):
        decodeIPv4(bytes(data))


def test_ipv4TotalLengthBelowHeader() -> None:
    data = bytearray(udp4())
    data[2:4] = b"\x00\x10"
    with pytest.raises(MalformedPacket):
        decodeIPv4(bytes(data), Limits(verifyChecksums=False))


def test_ipv4Checksum() -> None:
    data = bytearray(udp4())
    data[8] ^= 1  # ttl
    with pytest.raises(ChecksumError):
        decodeIPv4(bytes(data))
    assert decodeIPv4(bytes(data), Limits(verifyChecksums=False)).ttl == 32


def test_ipVersionDispatch() -> None:
    assert isinstance(decodeIP(udp4()), IPv4Packet)
    assert isinstance(decodeIP(udp6()), IPv6Packet)
    with pytest.raises(UnsupportedPacket):
        decodeIP(b"\x50" + bytes(30))
    with pytest.raises(UnsupportedPacket):
        decodeIPv4(udp6())
    with pytest.raises(UnsupportedPacket):
        decodeIPv6(udp4() + bytes(20))
    with pytest.raises(TruncatedPacket):
        decodeIP(b"")


# ---------------------------------------------------------------- IPv6


def test_ipv6RoundTrip() -> None:
    data = udp6()
    packet = decodeIPv6(data)
    assert (packet.source, packet.dest, packet.protocol, packet.hopLimit) == (
        "2001:db8::1",
        "2001:db8::2",
        17,
        64,
    )
    assert packet.headerLength == 40
    assert encodeIPv6(packet) == data


def test_ipv6TrafficClassAndFlowLabel() -> None:
    data = encodeIPv6(IPv6Packet("::1", "::2", 59, b"", trafficClass=0xB8, flowLabel=0xABCDE))
    packet = decodeIPv6(data)
    assert (packet.trafficClass, packet.flowLabel) == (0xB8, 0xABCDE)


def test_ipv6ExtensionHeadersWalked() -> None:
    headers = (
        IPv6ExtensionHeader(0, b"\x01\x04\x00\x00\x00\x00"),  # hop-by-hop, PadN
        IPv6ExtensionHeader(60, b"\x01\x04\x00\x00\x00\x00"),  # destination options
        IPv6ExtensionHeader(44, b"\x00\x00\x00\x00\x12\x34"),  # fragment, offset 0
    )
    data = udp6(headers)
    packet = decodeIPv6(data)
    assert packet.protocol == 17
    assert [h.kind for h in packet.extensionHeaders] == [0, 60, 44]
    assert packet.headerLength == 40 + 24
    assert packet.fragmentId == 0x1234
    assert decodeUDP(packet.payload, packet.source, packet.dest).payload == b"hello"
    assert encodeIPv6(packet) == data


def test_ipv6LaterFragmentStopsTheWalk() -> None:
    fragment = IPv6ExtensionHeader(44, b"\x00\x11\x00\x00\x00\x05")  # offset 2, M=1
    data = encodeIPv6(
        IPv6Packet("::1", "::2", 60, b"\x11\x00rest-of-data", extensionHeaders=(fragment,))
    )
    packet = decodeIPv6(data)
    assert (packet.fragmentOffset, packet.moreFragments, packet.fragmentId) == (2, True, 5)
    # What follows a later fragment is data, not a header, even if it looks like one.
    assert packet.protocol == 60
    assert packet.payload == b"\x11\x00rest-of-data"


def test_ipv6ExtensionHeaderLimit() -> None:
    options = IPv6ExtensionHeader(60, bytes(6))
    data = udp6((options,) * 9)
    with pytest.raises(LimitExceeded):
        decodeIPv6(data)
    assert decodeIPv6(data, Limits(maxIPv6ExtensionHeaders=9)).protocol == 17


def test_ipv6HopByHopMustBeFirst() -> None:
    data = udp6((IPv6ExtensionHeader(60, bytes(6)), IPv6ExtensionHeader(0, bytes(6))))
    with pytest.raises(MalformedPacket):
        decodeIPv6(data)


def test_ipv6ExtensionHeaderPastEnd() -> None:
    data = bytearray(udp6((IPv6ExtensionHeader(60, bytes(6)),)))
    data[41] = 200  # length: 201 * 8 bytes
    with pytest.raises(TruncatedPacket):
        decodeIPv6(bytes(data))


def test_ipv6LyingPayloadLength() -> None:
    data = udp6()
    with pytest.raises(TruncatedPacket):
        decodeIPv6(data[:-1])
    assert decodeIPv6(data[:-1], partial=True).payload == decodeIPv6(data).payload[:-1]


def test_ipv6AuthenticationHeaderLength() -> None:
    auth = IPv6ExtensionHeader(51, bytes(10))  # 12 bytes: 4-byte units
    data = udp6((auth,))
    packet = decodeIPv6(data)
    assert packet.headerLength == 52
    assert packet.protocol == 17


# ---------------------------------------------------------------- UDP


def test_udpRoundTripAndChecksum() -> None:
    data = encodeUDP(UDPDatagram(1, 2, b"abc"), "10.0.0.1", "10.0.0.2")
    datagram = decodeUDP(data, "10.0.0.1", "10.0.0.2")
    assert (datagram.sourcePort, datagram.destPort, datagram.payload) == (1, 2, b"abc")
    with pytest.raises(ChecksumError):
        decodeUDP(data, "10.0.0.1", "10.0.0.3")
    # Without addresses the checksum cannot be checked.
    assert decodeUDP(data).payload == b"abc"


def test_udpNoChecksum() -> None:
    data = encodeUDP(UDPDatagram(1, 2, b"abc"))
    assert data[6:8] == b"\x00\x00"
    assert decodeUDP(data, "10.0.0.1", "10.0.0.2").payload == b"abc"
    with pytest.raises(ChecksumError):
        decodeUDP(data, "::1", "::2")


def test_udpLyingLength() -> None:
    data = bytearray(encodeUDP(UDPDatagram(1, 2, b"abc")))
    data[5] = 12
    with pytest.raises(TruncatedPacket):
        decodeUDP(bytes(data))
    data[5] = 7
    with pytest.raises(MalformedPacket):
        decodeUDP(bytes(data))
    data[5] = 10
    assert decodeUDP(bytes(data)).payload == b"ab"


# ---------------------------------------------------------------- ICMP


def test_icmpRoundTrip() -> None:
    message = ICMPMessage.echo(8, 0x1234, 7, b"ping")
    data = encodeICMP(message)
    decoded = decodeICMP(data)
    assert (decoded.type, decoded.identifier, decoded.sequence, decoded.data) == (
        8,
        0x1234,
        7,
        b"ping",
    )
    broken = data[:-1] + b"X"
    with pytest.raises(ChecksumError):
        decodeICMP(broken)


def test_icmpv6RoundTrip() -> None:
    message = ICMPMessage.echo(128, 1, 2, b"ping6")
    data = encodeICMPv6(message, "fe80::1", "fe80::2")
    assert decodeICMPv6(data, "fe80::1", "fe80::2").data == b"ping6"
    with pytest.raises(ChecksumError):
        decodeICMPv6(data, "fe80::1", "fe80::3")
    with pytest.raises(MalformedPacket):
        decodeICMPv6(data, "10.0.0.1", "10.0.0.2")


# ---------------------------------------------------------------- every prefix

SAMPLES: list[tuple[str, Callable[[bytes], object], bytes]] = [
    (
        "ethernet",
        decodeEthernet,
        encodeEthernet(EthernetFrame(MAC1, MAC2, 0x8100, b"\x00\x05\x08\x00")),
    ),
    ("arp", decodeARP, encodeARP(ARPPacket(1, MAC1, "10.0.0.1", bytes(6), "10.0.0.2"))),
    ("ipv4", decodeIPv4, udp4()),
    ("ipv6", decodeIPv6, udp6((IPv6ExtensionHeader(60, bytes(6)),))),
    ("udp", decodeUDP, encodeUDP(UDPDatagram(1, 2, b"abc"))),
    ("icmp", decodeICMP, encodeICMP(ICMPMessage.echo(8, 1, 1, b"x"))),
]


@pytest.mark.parametrize(("name", "decode", "data"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_everyPrefix(name: str, decode: Callable[[bytes], object], data: bytes) -> None:
    """Fed one byte more at a time, a decoder raises its own error until the packet is whole."""
    decode(data)
    for size in range(len(data)):
        with pytest.raises(MalformedPacket):
            decode(data[:size])
