"""The echo responder (sans-IO and on a MemoryIOSystem tunnel), ARPProtocol and ICMPProtocol."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.testing import MemoryReactorClock
from glisten.pair import arp, icmp
from glisten.pair._wire import (
    ARPPacket,
    ChecksumError,
    EchoResponder,
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
    decodeARP,
    decodeEthernet,
    decodeICMP,
    decodeICMPv6,
    decodeIPv4,
    decodeIPv6,
    encodeARP,
    encodeEthernet,
    encodeICMP,
    encodeICMPv6,
    encodeIPv4,
    encodeIPv6,
    encodeUDP,
    internetChecksum,
)
from glisten.pair.ethernet import BROADCAST, EthernetProtocol
from glisten.pair.ip import IPProtocol
from glisten.pair.responder import EthernetResponder, IPResponder
from glisten.pair.testing import MemoryIOSystem, Tunnel
from glisten.pair.tuntap import TuntapPort

OURS = b"\x02\x00\x00\x00\x00\x01"
THEIRS = b"\x02\x00\x00\x00\x00\x09"


def responder() -> EchoResponder:
    return EchoResponder("10.0.0.2", "fd00::2", OURS)


def echo4(dest: str = "10.0.0.2", kind: int = 8) -> bytes:
    message = encodeICMP(ICMPMessage.echo(kind, 0x77, 3, b"abcdefgh"))
    return encodeIPv4(IPv4Packet("10.0.0.1", dest, 1, message, fragmentId=99))


def echo6(dest: str = "fd00::2") -> bytes:
    message = encodeICMPv6(ICMPMessage.echo(128, 0x77, 3, b"abc"), "fd00::1", dest)
    return encodeIPv6(IPv6Packet("fd00::1", dest, 58, message))


def neighbourSolicitation(source: str = "fd00::1", target: str = "fd00::2") -> bytes:
    import socket

    data = socket.inet_pton(socket.AF_INET6, target) + b"\x01\x01" + THEIRS
    dest = "ff02::1:ff00:2"
    message = encodeICMPv6(ICMPMessage(135, 0, bytes(4), data), source, dest)
    return encodeIPv6(IPv6Packet(source, dest, 58, message, hopLimit=255))


def frame(payload: bytes, etherType: int, dest: bytes = OURS) -> bytes:
    return encodeEthernet(EthernetFrame(dest, THEIRS, etherType, payload))


def test_arpRequestAnswered() -> None:
    request = encodeARP(ARPPacket(1, THEIRS, "10.0.0.1", bytes(6), "10.0.0.2"))
    answer = responder().answerFrame(frame(request, 0x0806, BROADCAST))
    assert answer is not None
    reply = decodeEthernet(answer)
    assert (reply.dest, reply.source, reply.etherType) == (THEIRS, OURS, 0x0806)
    assert decodeARP(reply.payload) == ARPPacket(2, OURS, "10.0.0.2", THEIRS, "10.0.0.1")


def test_arpForOthersIgnored() -> None:
    r = responder()
    request = encodeARP(ARPPacket(1, THEIRS, "10.0.0.1", bytes(6), "10.0.0.3"))
    assert r.answerFrame(frame(request, 0x0806, BROADCAST)) is None
    reply = encodeARP(ARPPacket(2, THEIRS, "10.0.0.1", OURS, "10.0.0.2"))
    assert r.answerFrame(frame(reply, 0x0806)) is None
    assert r.answered == 0


def test_echoAnsweredOverEthernet() -> None:
    answer = responder().answerFrame(frame(echo4(), 0x0800))
    assert answer is not None
    reply = decodeEthernet(answer)
    assert (reply.dest, reply.source) == (THEIRS, OURS)
    packet = decodeIPv4(reply.payload)
    assert (packet.source, packet.dest, packet.protocol) == ("10.0.0.2", "10.0.0.1", 1)
    message = decodeICMP(packet.payload)
    assert (message.type, message.identifier, message.sequence, message.data) == (
        0,
        0x77,
        3,
        b"abcdefgh",
    )


def test_echoAnsweredOnTun() -> None:
    answer = responder().answerPacket(echo4())
    assert answer is not None
    assert decodeICMP(decodeIPv4(answer).payload).type == 0


@pytest.mark.parametrize(
    "packet",
    [echo4(dest="10.0.0.3"), echo4(kind=0), echo4(kind=13)],
    ids=["other-address", "echo-reply", "timestamp"],
)
def test_notAnswered(packet: bytes) -> None:
    assert responder().answerPacket(packet) is None


def test_unicastToOtherMACIgnored() -> None:
    assert responder().answerFrame(frame(echo4(), 0x0800, dest=THEIRS)) is None


def test_fragmentNotAnswered() -> None:
    message = encodeICMP(ICMPMessage.echo(8, 1, 1, b"x"))
    packet = encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, message, moreFragments=True))
    assert responder().answerPacket(packet) is None


def test_malformedRaisesCodecError() -> None:
    with pytest.raises(MalformedPacket):
        responder().answerPacket(echo4()[:-1])
    broken = bytearray(echo4())
    broken[-1] ^= 1
    with pytest.raises(MalformedPacket):
        responder().answerPacket(bytes(broken))


def test_echo6Answered() -> None:
    answer = responder().answerPacket(echo6())
    assert answer is not None
    packet = decodeIPv6(answer)
    assert (packet.source, packet.dest) == ("fd00::2", "fd00::1")
    message = decodeICMPv6(packet.payload, packet.source, packet.dest)
    assert (message.type, message.sequence, message.data) == (129, 3, b"abc")


def test_neighbourSolicitationAnswered() -> None:
    answer = responder().answerFrame(
        frame(neighbourSolicitation(), 0x86DD, b"\x33\x33\xff\x00\x00\x02")
    )
    assert answer is not None
    reply = decodeEthernet(answer)
    assert reply.dest == THEIRS
    packet = decodeIPv6(reply.payload)
    assert (packet.dest, packet.hopLimit) == ("fd00::1", 255)
    message = decodeICMPv6(packet.payload, packet.source, packet.dest)
    assert message.type == 136
    assert message.rest[0] & 0x40  # solicited
    assert message.data[18:] == OURS  # target link-layer address option


def test_duplicateAddressDetectionAnswered() -> None:
    answer = responder().answerFrame(frame(neighbourSolicitation(source="::"), 0x86DD, BROADCAST))
    assert answer is not None
    assert decodeIPv6(decodeEthernet(answer).payload).dest == "ff02::1"


def test_neighbourSolicitationNotOnTun() -> None:
    assert responder().answerPacket(neighbourSolicitation()) is None


def test_routerSolicitationAndMLDIgnored() -> None:
    r = responder()
    rs = encodeICMPv6(ICMPMessage(133, 0), "fe80::1", "ff02::2")
    assert (
        r.answerFrame(
            frame(
                encodeIPv6(IPv6Packet("fe80::1", "ff02::2", 58, rs, hopLimit=255)),
                0x86DD,
                BROADCAST,
            )
        )
        is None
    )
    mld = encodeICMPv6(ICMPMessage(143, 0), "fe80::1", "ff02::16")
    hopByHop = (IPv6ExtensionHeader(0, b"\x05\x02\x00\x00\x01\x00"),)
    packet = encodeIPv6(
        IPv6Packet("fe80::1", "ff02::16", 58, mld, hopLimit=1, extensionHeaders=hopByHop)
    )
    assert r.answerFrame(frame(packet, 0x86DD, BROADCAST)) is None
    assert r.answered == 0


def test_badConfiguration() -> None:
    with pytest.raises(ValueError):
        EchoResponder("fd00::1")
    with pytest.raises(ValueError):
        EchoResponder(None, "10.0.0.1")
    with pytest.raises(ValueError):
        EchoResponder("10.0.0.1", mac=b"123")
    assert EchoResponder("10.0.0.1").mac[0] & 0x03 == 0x02  # local, unicast


def port(proto: Any) -> tuple[TuntapPort, Tunnel]:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    p = TuntapPort(b"tap0", proto, reactor=MemoryReactorClock(), system=system)
    p.startListening()
    return p, system.getTunnel(p)


def test_ethernetResponderOnPort() -> None:
    ip = IPProtocol()
    seen: list[bytes] = []

    class ICMP(icmp.ICMPProtocol):
        def icmpReceived(self, message: ICMPMessage, source: str, dest: str, version: int) -> None:
            seen.append(bytes([message.type]))

    ip.addProto(1, ICMP())
    proto = EthernetResponder("10.0.0.2", mac=OURS)
    proto.addProto(0x0800, ip)
    assert proto.mac == OURS
    p, tunnel = port(proto)
    tunnel.readBuffer.append(frame(echo4(), 0x0800))
    tunnel.readBuffer.append(frame(echo4(kind=0), 0x0800))  # not answered: dispatched
    tunnel.readBuffer.append(b"short")  # dropped
    p.doRead()
    assert len(tunnel.writeBuffer) == 1
    assert seen == [b"\x00"]
    assert proto.dropped == 1


def test_ipResponderOnPort() -> None:
    proto = IPResponder("10.0.0.2", "fd00::2")
    p, tunnel = port(proto)
    assert not p.ethernet
    tunnel.readBuffer.append(echo4())
    tunnel.readBuffer.append(echo6())
    tunnel.readBuffer.append(b"\x45")
    p.doRead()
    assert len(tunnel.writeBuffer) == 2
    assert proto.responder.answered == 2
    assert proto.dropped == 1


def test_arpProtocol() -> None:
    got: list[ARPPacket] = []

    class Recorder(arp.ARPProtocol):
        def arpReceived(self, packet: ARPPacket) -> None:
            got.append(packet)

    ether = EthernetProtocol()
    recorder = Recorder()
    ether.addProto(0x0806, recorder)
    packet = ARPPacket(1, THEIRS, "10.0.0.1", bytes(6), "10.0.0.2")
    ether.datagramReceived(frame(arp.encodeARP(packet), 0x0806))
    ether.datagramReceived(frame(b"\x00\x01", 0x0806))
    assert got == [packet]
    assert recorder.dropped == 1
    with pytest.raises(TypeError):
        recorder.addProto(1, recorder)


def test_icmpProtocol() -> None:
    got: list[tuple[int, str, int]] = []

    class Recorder(icmp.ICMPProtocol):
        def icmpReceived(self, message: ICMPMessage, source: str, dest: str, version: int) -> None:
            got.append((message.type, source, version))

    ip = IPProtocol()
    recorder = Recorder()
    ip.addProto(1, recorder)
    ip.addProto(58, recorder)
    ip.datagramReceived(echo4())
    ip.datagramReceived(echo6())
    bad = encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, b"\x08\x00\x00\x00\x00\x00\x00\x00"))
    ip.datagramReceived(bad)
    recorder.datagramReceived(b"", partial=1)
    assert got == [(8, "10.0.0.1", 4), (128, "fd00::1", 6)]
    assert recorder.dropped == 2
    with pytest.raises(TypeError):
        recorder.addProto(1, recorder)


# ---------------------------------------------------------------- IPv4 echo: the one path


def checkEchoReply(reply: bytes, source: str, rest: bytes, data: bytes, fragmentId: int) -> None:
    """The reply is what RFC 792 asks for, both checksums verified by the decoders."""
    packet = decodeIPv4(reply)
    assert (packet.source, packet.dest, packet.protocol) == ("10.0.0.2", source, 1)
    assert (packet.tos, packet.ttl, packet.fragmentId, packet.options) == (0, 64, fragmentId, b"")
    assert not (packet.dontFragment or packet.moreFragments or packet.fragmentOffset)
    assert packet.totalLength == len(reply)
    message = decodeICMP(packet.payload)
    assert (message.type, message.code, message.rest, message.data) == (0, 0, rest, data)


options4 = st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4])


@settings(max_examples=500)
@given(
    source=st.ip_addresses(v=4).map(str),
    rest=st.binary(min_size=4, max_size=4),
    data=st.binary(max_size=80),
    fragmentId=st.integers(0, 0xFFFF),
    ttl=st.integers(1, 255),
    tos=st.integers(0, 255),
    dontFragment=st.booleans(),
    options=options4,
    padding=st.binary(max_size=6),
    verify=st.booleans(),
)
def test_echo4Answered(
    source: str,
    rest: bytes,
    data: bytes,
    fragmentId: int,
    ttl: int,
    tos: int,
    dontFragment: bool,
    options: bytes,
    padding: bytes,
    verify: bool,
) -> None:
    """Any echo request to us, options and link padding included, gets a correct reply."""
    request = encodeICMP(ICMPMessage(8, 0, rest, data))
    packet = encodeIPv4(
        IPv4Packet(
            source,
            "10.0.0.2",
            1,
            request,
            tos=tos,
            ttl=ttl,
            fragmentId=fragmentId,
            dontFragment=dontFragment,
            options=options,
        )
    )
    r = EchoResponder("10.0.0.2", mac=OURS, limits=Limits(verifyChecksums=verify))
    reply = r.answerPacket(packet + padding)
    assert reply is not None
    checkEchoReply(reply, source, rest, data, fragmentId)
    assert r.answered == 1


@settings(max_examples=300)
@given(
    rest=st.binary(min_size=4, max_size=4),
    data=st.binary(max_size=40),
    header=st.integers(0, 19),
    check=st.integers(0, 0xFFFF),
)
def test_echo4UnverifiedWrongChecksum(rest: bytes, data: bytes, header: int, check: int) -> None:
    """
    With checksums not verified, a request whose checksums are wrong is still answered, and
    the reply's checksums are right: they are worked out from the bytes, not the claims.
    """
    packet = bytearray(
        encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, encodeICMP(ICMPMessage(8, 0, rest, data))))
    )
    packet[22:24] = check.to_bytes(2, "big")
    if header in (10, 11):
        packet[header] ^= 0x5A
    r = EchoResponder("10.0.0.2", limits=Limits(verifyChecksums=False))
    reply = r.answerPacket(bytes(packet))
    assert reply is not None
    checkEchoReply(reply, "10.0.0.1", rest, data, 0)


@pytest.mark.parametrize(
    ("rest", "check"),
    [
        (bytes(4), b"\xff\xff"),
        (b"\xff\xff\x00\x00", b"\x00\x00"),
        (b"\x00\x01\x00\x02", b"\xff\xfc"),
    ],
    ids=["all-zero", "sum-0xffff", "plain"],
)
def test_echo4ReplyChecksumForm(rest: bytes, check: bytes) -> None:
    """
    Of the two forms of a zero checksum the reply has the one a full sum gives: 0xFFFF for
    an all-zero message (Linux drops one with 0x0000), 0x0000 otherwise.
    """
    packet = encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 1, encodeICMP(ICMPMessage(8, 0, rest))))
    reply = responder().answerPacket(packet)
    assert reply is not None
    assert reply[20:] == b"\x00\x00" + check + rest
    checkEchoReply(reply, "10.0.0.1", rest, b"", 0)


def test_echo4Golden() -> None:
    """
    A request shaped like ping's (don't fragment, TTL 64, 32 bytes of data) and its reply,
    byte for byte; the checksums were worked out apart from the codec, with RFC 1071's loop
    over 16-bit words.
    """
    data = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    request = bytes.fromhex("4500003c1c46400040010a790a0000010a000002080006ad004f0003" + data)
    reply = bytes.fromhex("4500003c1c46000040014a790a0000020a00000100000ead004f0003" + data)
    assert responder().answerPacket(request) == reply


def echo4WithOptions() -> bytes:
    message = encodeICMP(ICMPMessage.echo(8, 0x77, 3, b"abcdefgh"))
    options = b"\x01\x01\x01\x00"  # no-operation, no-operation, no-operation, end of list
    return encodeIPv4(
        IPv4Packet("10.0.0.1", "10.0.0.2", 1, message, fragmentId=99, options=options)
    )


@pytest.mark.parametrize("packet", [echo4(), echo4WithOptions()], ids=["plain", "options"])
def test_echo4EveryPrefix(packet: bytes) -> None:
    """Fed one byte more at a time, the request raises the codec's error until it is whole."""
    for size in range(len(packet)):
        with pytest.raises(TruncatedPacket):
            responder().answerPacket(packet[:size])
    reply = responder().answerPacket(packet)
    assert reply is not None
    checkEchoReply(reply, "10.0.0.1", b"\x00\x77\x00\x03", b"abcdefgh", 99)


def setBytes(packet: bytes, offset: int, value: bytes, fixHeader: bool = True) -> bytes:
    """:return: ``packet`` with ``value`` at ``offset``, its header checksum made right again."""
    changed = bytearray(packet)
    changed[offset : offset + len(value)] = value
    if fixHeader:
        ihl = (changed[0] & 0x0F) * 4
        changed[10:12] = bytes(2)
        changed[10:12] = internetChecksum(bytes(changed[:ihl])).to_bytes(2, "big")
    return bytes(changed)


def udp4() -> bytes:
    datagram = encodeUDP(UDPDatagram(1, 2, b"x"), "10.0.0.1", "10.0.0.2")
    return encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 17, datagram))


@pytest.mark.parametrize(
    "packet",
    [
        udp4(),
        setBytes(echo4(), 6, b"\x20\x00"),  # more fragments
        setBytes(echo4(), 6, b"\x00\x01"),  # a later fragment
        setBytes(echo4(), 21, b"\x01", fixHeader=False) + b"",  # echo with code 1
    ],
    ids=["udp", "first-fragment", "later-fragment", "code-1"],
)
def test_echo4NotAnswered(packet: bytes) -> None:
    if packet[21]:
        # Make the ICMP checksum right again for the changed code.
        message = packet[20:22] + b"\x00\x00" + packet[24:]
        packet = packet[:22] + internetChecksum(message).to_bytes(2, "big") + packet[24:]
    r = responder()
    assert r.answerPacket(packet) is None
    assert r.answered == 0


def test_echo4WithoutIPv4Address() -> None:
    assert EchoResponder(None, "fd00::2").answerPacket(echo4()) is None


@pytest.mark.parametrize(
    ("packet", "error"),
    [
        (b"", TruncatedPacket),
        (setBytes(echo4(), 0, b"\x35"), UnsupportedPacket),  # version 3
        (setBytes(echo4(), 0, b"\x44"), MalformedPacket),  # header length 16
        (setBytes(echo4(), 2, b"\x00\x13"), MalformedPacket),  # total length below the header
        (setBytes(echo4(), 2, b"\x00\x1b"), TruncatedPacket),  # ICMP message of 7 bytes
        (setBytes(echo4(), 8, b"\x01", fixHeader=False), ChecksumError),  # header checksum
        (setBytes(echo4(), 30, b"\x00"), ChecksumError),  # ICMP checksum
        (echo4() + bytes(70000), LimitExceeded),
    ],
    ids=[
        "empty",
        "version",
        "header-length",
        "total-length",
        "short-icmp",
        "header-checksum",
        "icmp-checksum",
        "too-large",
    ],
)
def test_echo4Malformed(packet: bytes, error: type[MalformedPacket]) -> None:
    r = responder()
    with pytest.raises(error):
        r.answerPacket(packet)
    assert r.answered == 0
