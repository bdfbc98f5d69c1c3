"""RawUDPProtocol: Twisted's expectations (payload and (host, port) to the DatagramProtocol of
the destination port, addProto checks), lengths and checksums checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet import protocol
from glisten.pair import rawudp
from glisten.pair.ip import IPProtocol, IPv4Packet, IPv6Packet, encodeIPv4, encodeIPv6
from glisten.pair.rawudp import RawUDPProtocol, UDPDatagram, encodeUDP


class Recorder(protocol.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[bytes, Any]] = []

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self.received.append((datagram, addr))


DUMMY = dict.fromkeys(
    [
        "dest",
        "protocol",
        "version",
        "ihl",
        "tos",
        "tot_len",
        "fragment_id",
        "fragment_offset",
        "dont_fragment",
        "more_fragments",
        "ttl",
    ],
    b"dummy",
)


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return encodeUDP(UDPDatagram(sport, dport, payload))


def deliver(proto: RawUDPProtocol, data: bytes, source: Any, partial: int = 0) -> None:
    kw = dict(DUMMY, fragment_offset=0, more_fragments=False)
    proto.datagramReceived(data, partial=partial, source=source, **kw)


def test_packetParsing() -> None:
    proto = RawUDPProtocol()
    p1 = Recorder()
    proto.addProto(0xF00F, p1)
    deliver(proto, udp(0x43A2, 0xF00F, b"foobar"), b"testHost")
    assert p1.received == [(b"foobar", (b"testHost", 0x43A2))]


def test_multiplePackets() -> None:
    proto = RawUDPProtocol()
    p1 = Recorder()
    proto.addProto(0xF00F, p1)
    deliver(proto, udp(0x43A2, 0xF00F, b"foobar"), b"testHost")
    deliver(proto, udp(0x33FE, 0xF00F, b"quux"), b"otherHost", partial=1)
    assert p1.received == [
        (b"foobar", (b"testHost", 0x43A2)),
        (b"quux", (b"otherHost", 0x33FE)),
    ]


def test_multipleSameProtos() -> None:
    proto = RawUDPProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0xF00F, p1)
    proto.addProto(0xF00F, p2)
    deliver(proto, udp(0x43A2, 0xF00F, b"foobar"), b"testHost")
    assert p1.received == p2.received == [(b"foobar", (b"testHost", 0x43A2))]


def test_wrongProtoNotSeen() -> None:
    proto = RawUDPProtocol()
    p1 = Recorder()
    proto.addProto(1, p1)
    deliver(proto, udp(0x43A2, 0xF00F, b"foobar"), b"testHost")
    assert p1.received == []


def test_demuxing() -> None:
    proto = RawUDPProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0xF00F, p1)
    proto.addProto(0xB050, p2)
    deliver(proto, udp(0x43A2, 0xF00F, b"foobar"), b"testHost")
    deliver(proto, udp(0x33FE, 0xB050, b"quux"), b"otherHost")
    deliver(proto, udp(0x43A2, 0xB050, b"foobar"), b"testHost")
    deliver(proto, udp(0x33FE, 0xF00F, b"quux"), b"otherHost")
    assert p1.received == [(b"foobar", (b"testHost", 0x43A2)), (b"quux", (b"otherHost", 0x33FE))]
    assert p2.received == [(b"quux", (b"otherHost", 0x33FE)), (b"foobar", (b"testHost", 0x43A2))]


def test_addingBadProtosWrongLevel() -> None:
    with pytest.raises(TypeError, match="Added protocol must be an instance of DatagramProtocol"):
        RawUDPProtocol().addProto(42, "silliness")


def test_addingBadProtosTooSmall() -> None:
    with pytest.raises(TypeError, match="Added protocol must be positive or zero"):
        RawUDPProtocol().addProto(-1, protocol.DatagramProtocol())


@pytest.mark.parametrize("num", [2**16, 2**16 + 1])
def test_addingBadProtosTooBig(num: int) -> None:
    with pytest.raises(TypeError, match="Added protocol must fit in 16 bits"):
        RawUDPProtocol().addProto(num, protocol.DatagramProtocol())


def test_lyingLengthDropped() -> None:
    proto = RawUDPProtocol()
    p1 = Recorder()
    proto.addProto(53, p1)
    data = bytearray(udp(1, 53, b"abc"))
    data[5] = 200
    deliver(proto, bytes(data), "10.0.0.1")
    data[5] = 6  # less than the header
    deliver(proto, bytes(data), "10.0.0.1")
    deliver(proto, b"\x00\x01\x00", "10.0.0.1")
    assert p1.received == []
    assert proto.dropped == 3


@pytest.mark.parametrize(
    ("source", "dest", "encode"),
    [
        ("10.0.0.1", "10.0.0.2", lambda s, d, b: encodeIPv4(IPv4Packet(s, d, 17, b))),
        ("fd00::1", "fd00::2", lambda s, d, b: encodeIPv6(IPv6Packet(s, d, 17, b))),
    ],
    ids=["ipv4", "ipv6"],
)
def test_stackedOnIPWithChecksum(
    source: str, dest: str, encode: Callable[[str, str, bytes], bytes]
) -> None:
    ipProto = IPProtocol()
    udpProto = RawUDPProtocol()
    p1 = Recorder()
    udpProto.addProto(53, p1)
    ipProto.addProto(17, udpProto)
    body = encodeUDP(UDPDatagram(4000, 53, b"query"), source, dest)
    ipProto.datagramReceived(encode(source, dest, body))
    ipProto.datagramReceived(encode(source, dest, body[:-1] + b"X"))
    assert p1.received == [(b"query", (source, 4000))]
    assert udpProto.dropped == 1


def test_header() -> None:
    header = rawudp.UDPHeader(udp(1, 2, b"abc"))
    assert (header.source, header.dest, header.len, header.check) == (1, 2, 11, 0)
