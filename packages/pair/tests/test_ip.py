"""IPProtocol: Twisted's expectations (header fields as keywords, demultiplexing, addProto
checks), with real packets; IPv6; malformed packets dropped."""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface import implementer

from glisten.pair import ip, raw
from glisten.pair.ip import IPProtocol, IPv4Packet, IPv6ExtensionHeader, IPv6Packet


@implementer(raw.IRawDatagramProtocol)
class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, Any]]] = []

    def addProto(self, num: int, proto: Any) -> None:
        pass

    def datagramReceived(self, data: bytes, **kw: Any) -> None:
        self.received.append((data, kw))


def packet(source: str, dest: str, payload: bytes, protocol: int = 0x0F) -> bytes:
    return ip.encodeIPv4(
        IPv4Packet(
            source,
            dest,
            protocol,
            payload,
            tos=7,
            ttl=0xC0,
            fragmentId=0xDEAD,
            moreFragments=True,
            fragmentOffset=0x1EEF,
        )
    )


def expected(source: str, dest: str, length: int, partial: int = 0) -> dict[str, Any]:
    return {
        "partial": partial,
        "dest": dest,
        "source": source,
        "protocol": 0x0F,
        "version": 4,
        "ihl": 20,
        "tos": 7,
        "tot_len": 20 + length,
        "fragment_id": 0xDEAD,
        "fragment_offset": 0x1EEF,
        "dont_fragment": False,
        "more_fragments": True,
        "ttl": 0xC0,
    }


def test_packetParsing() -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(0x0F, p1)
    data = packet("5.6.7.8", "1.2.3.4", b"foobar")
    assert data[0] == 0x45  # version 4 in the high nibble (RFC 791)
    proto.datagramReceived(data, partial=0, dest="dummy", source="dummy", protocol="dummy")
    assert p1.received == [(b"foobar", expected("5.6.7.8", "1.2.3.4", 6))]


def test_multiplePackets() -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(0x0F, p1)
    proto.datagramReceived(packet("5.6.7.8", "1.2.3.4", b"foobar"), partial=0)
    proto.datagramReceived(packet("6.7.8.9", "5.4.3.2", b"quux"), partial=1)
    assert p1.received == [
        (b"foobar", expected("5.6.7.8", "1.2.3.4", 6)),
        (b"quux", expected("6.7.8.9", "5.4.3.2", 4, partial=1)),
    ]


def test_multipleSameProtos() -> None:
    proto = IPProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0x0F, p1)
    proto.addProto(0x0F, p2)
    proto.datagramReceived(packet("5.6.7.8", "1.2.3.4", b"foobar"), partial=0)
    assert p1.received == p2.received == [(b"foobar", expected("5.6.7.8", "1.2.3.4", 6))]


def test_wrongProtoNotSeen() -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(1, p1)
    proto.datagramReceived(packet("5.6.7.8", "1.2.3.4", b"foobar"), partial=0)
    assert p1.received == []


def test_demuxing() -> None:
    proto = IPProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0x0F, p1)
    proto.addProto(0x0A, p2)
    proto.datagramReceived(packet("5.6.7.8", "1.2.3.4", b"foobar"), partial=0)
    proto.datagramReceived(packet("6.7.8.9", "5.4.3.2", b"quux", 0x0A), partial=1)
    proto.datagramReceived(packet("5.6.7.8", "1.2.3.4", b"foobar", 0x0A), partial=0)
    proto.datagramReceived(packet("6.7.8.9", "5.4.3.2", b"quux"), partial=1)
    assert [(d, k["protocol"], k["source"]) for d, k in p1.received] == [
        (b"foobar", 0x0F, "5.6.7.8"),
        (b"quux", 0x0F, "6.7.8.9"),
    ]
    assert [(d, k["protocol"], k["partial"]) for d, k in p2.received] == [
        (b"quux", 0x0A, 1),
        (b"foobar", 0x0A, 0),
    ]


def test_addingBadProtosWrongLevel() -> None:
    with pytest.raises(TypeError):
        IPProtocol().addProto(42, "silliness")


def test_addingBadProtosTooSmall() -> None:
    with pytest.raises(TypeError, match="Added protocol must be positive or zero"):
        IPProtocol().addProto(-1, Recorder())


@pytest.mark.parametrize("num", [2**8, 2**32, 2**32 + 1])
def test_addingBadProtosTooBig(num: int) -> None:
    with pytest.raises(TypeError, match="Added protocol must fit in 8 bits"):
        IPProtocol().addProto(num, Recorder())


def test_optionsSkipped() -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(17, p1)
    data = ip.encodeIPv4(IPv4Packet("10.0.0.1", "10.0.0.2", 17, b"data", options=bytes(8)))
    proto.datagramReceived(data + b"\x00" * 10)  # with Ethernet padding
    assert p1.received[0][0] == b"data"
    assert p1.received[0][1]["ihl"] == 28


def test_ipv6() -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(17, p1)
    data = ip.encodeIPv6(
        IPv6Packet(
            "2001:db8::1",
            "2001:db8::2",
            17,
            b"payload",
            trafficClass=3,
            hopLimit=9,
            extensionHeaders=(IPv6ExtensionHeader(0, bytes(6)),),
        )
    )
    proto.datagramReceived(data)
    ((payload, kw),) = p1.received
    assert payload == b"payload"
    assert kw["version"] == 6
    assert (kw["source"], kw["dest"], kw["ttl"], kw["tos"], kw["ihl"]) == (
        "2001:db8::1",
        "2001:db8::2",
        9,
        3,
        48,
    )
    assert kw["tot_len"] == len(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x45" + bytes(10),
        b"\x45\x00\x00\x40" + bytes(16),  # lying total length
        b"\x54\x07\x00\x1a\xde\xad\xbe\xef\xc0\x0fFE\x05\x06\x07\x08\x01\x02\x03\x04foobar",
        b"\x60" + bytes(20),
    ],
    ids=["empty", "short", "lying-length", "twisted-swapped-nibbles", "short-v6"],
)
def test_malformedDropped(data: bytes) -> None:
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(0x0F, p1)
    proto.datagramReceived(data)
    assert p1.received == []
    assert proto.dropped == 1


def test_badChecksumDropped() -> None:
    data = bytearray(packet("5.6.7.8", "1.2.3.4", b"foobar"))
    data[10] ^= 0xFF
    proto = IPProtocol()
    p1 = Recorder()
    proto.addProto(0x0F, p1)
    proto.datagramReceived(bytes(data))
    assert p1.received == [] and proto.dropped == 1


def test_header() -> None:
    header = ip.IPHeader(packet("5.6.7.8", "1.2.3.4", b"foobar"))
    assert (header.version, header.ihl, header.saddr, header.daddr, header.tot_len) == (
        4,
        20,
        "5.6.7.8",
        "1.2.3.4",
        26,
    )
