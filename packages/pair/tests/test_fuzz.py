"""Hypothesis over every decoder: random and mutated input only ever raises the codec's error."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.pair._wire import (
    ARPPacket,
    EchoResponder,
    EthernetFrame,
    ICMPMessage,
    IPv4Packet,
    IPv6ExtensionHeader,
    IPv6Packet,
    Limits,
    MalformedPacket,
    UDPDatagram,
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

DECODERS: dict[str, Callable[[bytes], object]] = {
    "ethernet": decodeEthernet,
    "arp": decodeARP,
    "ipv4": decodeIPv4,
    "ipv6": decodeIPv6,
    "ip": decodeIP,
    "ip-partial": lambda b: decodeIP(b, partial=True),
    "udp": decodeUDP,
    "udp4": lambda b: decodeUDP(b, "10.0.0.1", "10.0.0.2"),
    "udp6": lambda b: decodeUDP(b, "::1", "::2"),
    "udp-partial": lambda b: decodeUDP(b, "10.0.0.1", "10.0.0.2", partial=True),
    "icmp": decodeICMP,
    "icmpv6": lambda b: decodeICMPv6(b, "::1", "::2"),
    "responder-frame": EchoResponder("10.0.0.2", "fd00::2").answerFrame,
    "responder-packet": EchoResponder("10.0.0.2", "fd00::2").answerPacket,
}

SEEDS = [
    encodeEthernet(
        EthernetFrame(b"\xff" * 6, b"\x02" * 6, 0x8100, b"\x00\x05\x86\xdd" + bytes(40))
    ),
    encodeARP(ARPPacket(1, b"\x02" * 6, "10.0.0.1", bytes(6), "10.0.0.2")),
    encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, encodeICMP(ICMPMessage.echo(8, 1, 1)))),
    encodeIPv4(
        IPv4Packet(
            "10.0.0.1", "10.0.0.2", 17, encodeUDP(UDPDatagram(1, 2, b"x"), "10.0.0.1", "10.0.0.2")
        )
    ),
    encodeIPv6(
        IPv6Packet(
            "fd00::1",
            "fd00::2",
            58,
            encodeICMPv6(ICMPMessage.echo(128, 1, 1, b"abc"), "fd00::1", "fd00::2"),
            extensionHeaders=(IPv6ExtensionHeader(0, bytes(6)), IPv6ExtensionHeader(44, bytes(6))),
        )
    ),
]


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200))
def test_randomBytes(name: str, data: bytes) -> None:
    try:
        DECODERS[name](data)
    except MalformedPacket:
        pass


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes] = SEEDS) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.integers(0, 2))
        if action == 0 and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == 1 and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        else:
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_mutatedPackets(name: str, data: bytes) -> None:
    try:
        DECODERS[name](data)
    except MalformedPacket:
        pass


# Every seed also fed inside an Ethernet frame, so the responder walks deeper layers.
@settings(max_examples=300)
@given(data=mutated(), etherType=st.sampled_from([0x0800, 0x86DD, 0x0806]))
def test_mutatedFrames(data: bytes, etherType: int) -> None:
    frame = encodeEthernet(EthernetFrame(b"\xff" * 6, b"\x02" * 6, etherType, data))
    try:
        EchoResponder("10.0.0.2", "fd00::2").answerFrame(frame)
    except MalformedPacket:
        pass


ECHO4_SEEDS = [
    SEEDS[2],
    encodeIPv4(
        IPv4Packet(
            "10.0.0.1",
            "10.0.0.2",
            1,
            encodeICMP(ICMPMessage.echo(8, 7, 9, b"abcdefgh")),
            options=b"\x01\x01\x01\x00",
        )
    ),
]


@settings(max_examples=500)
@given(data=st.one_of(mutated(ECHO4_SEEDS), st.binary(max_size=80)), verify=st.booleans())
def test_mutatedEcho4(data: bytes, verify: bool) -> None:
    """
    Mutated IPv4 echo requests (options too, checksums verified or not) only ever raise the
    codec's error, and what is answered is an echo reply to the request's source whose
    checksums are right.
    """
    try:
        reply = EchoResponder("10.0.0.2", limits=Limits(verifyChecksums=verify)).answerPacket(data)
    except MalformedPacket:
        return
    if reply is not None:
        request = decodeIPv4(data, Limits(verifyChecksums=False))
        packet = decodeIPv4(reply)
        assert (packet.source, packet.dest) == ("10.0.0.2", request.source)
        assert decodeICMP(packet.payload).type == 0
        assert packet.payload[4:] == request.payload[4:]


addresses4 = st.ip_addresses(v=4).map(str)
addresses6 = st.ip_addresses(v=6).map(str)
payloads = st.binary(max_size=64)


@given(
    st.builds(
        IPv4Packet,
        addresses4,
        addresses4,
        st.integers(0, 255),
        payloads,
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 0xFFFF),
        st.booleans(),
        st.booleans(),
        st.integers(0, 0x1FFF),
        st.binary(max_size=10).map(lambda b: b + bytes(-len(b) % 4)),
    )
)
def test_ipv4RoundTrip(packet: IPv4Packet) -> None:
    data = encodeIPv4(packet)
    decoded = decodeIPv4(data)
    expected = attrs.evolve(packet, totalLength=len(data), checksum=decoded.checksum)
    assert decoded == expected
    assert encodeIPv4(decoded) == data


@given(
    addresses6,
    addresses6,
    st.sampled_from([6, 17, 58, 59]),
    payloads,
    st.lists(st.sampled_from([60, 43, 44]), max_size=4),
    st.integers(0, 255),
    st.integers(0, 0xFFFFF),
)
def test_ipv6RoundTrip(
    source: str, dest: str, proto: int, payload: bytes, kinds: list[int], tc: int, flow: int
) -> None:
    headers = tuple(IPv6ExtensionHeader(k, bytes(6)) for k in kinds)
    packet = IPv6Packet(source, dest, proto, payload, tc, flow, 17, headers)
    data = encodeIPv6(packet)
    decoded = decodeIPv6(data)
    assert ipaddress.ip_address(decoded.source) == ipaddress.ip_address(source)
    assert ipaddress.ip_address(decoded.dest) == ipaddress.ip_address(dest)
    assert (decoded.trafficClass, decoded.flowLabel) == (tc, flow)
    assert decoded.extensionHeaders == headers
    assert (decoded.protocol, decoded.payload) == (proto, payload)
    assert encodeIPv6(decoded) == data


@given(
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    payloads,
    st.one_of(st.tuples(addresses4, addresses4), st.tuples(addresses6, addresses6)),
)
def test_udpRoundTrip(sport: int, dport: int, payload: bytes, addresses: tuple[str, str]) -> None:
    data = encodeUDP(UDPDatagram(sport, dport, payload), *addresses)
    decoded = decodeUDP(data, *addresses)
    assert (decoded.sourcePort, decoded.destPort, decoded.payload) == (sport, dport, payload)


@given(
    st.binary(min_size=6, max_size=6),
    st.binary(min_size=6, max_size=6),
    st.integers(0x0600, 0xFFFF).filter(lambda t: t not in (0x8100, 0x88A8, 0x9100)),
    payloads,
    st.lists(
        st.builds(VLANTag, st.integers(0, 4095), st.integers(0, 7), st.booleans()), max_size=2
    ),
)
def test_ethernetRoundTrip(
    dest: bytes, source: bytes, etherType: int, payload: bytes, tags: list[VLANTag]
) -> None:
    frame = EthernetFrame(dest, source, etherType, payload, tuple(tags))
    assert decodeEthernet(encodeEthernet(frame)) == frame


@given(st.integers(0, 255), st.integers(0, 255), st.binary(min_size=4, max_size=4), payloads)
def test_icmpRoundTrip(kind: int, code: int, rest: bytes, data: bytes) -> None:
    message = ICMPMessage(kind, code, rest, data)
    decoded = decodeICMP(encodeICMP(message))
    assert (decoded.type, decoded.code, decoded.rest, decoded.data) == (kind, code, rest, data)
    decoded6 = decodeICMPv6(encodeICMPv6(message, "::1", "fe80::1"), "::1", "fe80::1")
    assert (decoded6.type, decoded6.code, decoded6.rest, decoded6.data) == (kind, code, rest, data)
