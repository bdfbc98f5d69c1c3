"""EthernetProtocol: Twisted's expectations (parsing, demultiplexing, addProto checks), VLANs."""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface import implementer

from glisten.pair import ethernet, raw
from glisten.pair.ethernet import EthernetFrame, EthernetHeader, EthernetProtocol, VLANTag


@implementer(raw.IRawPacketProtocol)
class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, Any]]] = []

    def addProto(self, num: int, proto: Any) -> None:
        pass

    def datagramReceived(
        self, data: bytes, partial: int, dest: bytes, source: bytes, protocol: int
    ) -> None:
        self.received.append(
            (data, {"partial": partial, "dest": dest, "source": source, "protocol": protocol})
        )


def frame(dest: bytes, source: bytes, proto: int, payload: bytes) -> bytes:
    return dest + source + proto.to_bytes(2, "big") + payload


def test_packetParsing() -> None:
    proto = EthernetProtocol()
    p1 = Recorder()
    proto.addProto(0x0800, p1)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"foobar"), partial=0)
    assert p1.received == [
        (b"foobar", {"partial": 0, "dest": b"123456", "source": b"987654", "protocol": 0x0800})
    ]


def test_multiplePackets() -> None:
    proto = EthernetProtocol()
    p1 = Recorder()
    proto.addProto(0x0800, p1)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"foobar"), partial=0)
    proto.datagramReceived(frame(b"012345", b"abcdef", 0x0800, b"quux"), partial=1)
    assert p1.received == [
        (b"foobar", {"partial": 0, "dest": b"123456", "source": b"987654", "protocol": 0x0800}),
        (b"quux", {"partial": 1, "dest": b"012345", "source": b"abcdef", "protocol": 0x0800}),
    ]


def test_multipleSameProtos() -> None:
    proto = EthernetProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0x0800, p1)
    proto.addProto(0x0800, p2)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"foobar"), partial=0)
    assert p1.received == p2.received
    assert len(p1.received) == 1


def test_wrongProtoNotSeen() -> None:
    proto = EthernetProtocol()
    p1 = Recorder()
    proto.addProto(0x0801, p1)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"foobar"), partial=0)
    proto.datagramReceived(frame(b"012345", b"abcdef", 0x0800, b"quux"), partial=1)
    assert p1.received == []


def test_demuxing() -> None:
    proto = EthernetProtocol()
    p1, p2 = Recorder(), Recorder()
    proto.addProto(0x0800, p1)
    proto.addProto(0x0806, p2)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"foobar"), partial=0)
    proto.datagramReceived(frame(b"012345", b"abcdef", 0x0806, b"quux"), partial=1)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0806, b"foobar"), partial=0)
    proto.datagramReceived(frame(b"012345", b"abcdef", 0x0800, b"quux"), partial=0)
    assert [(d, k["protocol"], k["partial"]) for d, k in p1.received] == [
        (b"foobar", 0x0800, 0),
        (b"quux", 0x0800, 0),
    ]
    assert [(d, k["protocol"], k["partial"]) for d, k in p2.received] == [
        (b"quux", 0x0806, 1),
        (b"foobar", 0x0806, 0),
    ]


def test_addingBadProtosWrongLevel() -> None:
    with pytest.raises(TypeError):
        EthernetProtocol().addProto(42, "silliness")


def test_addingBadProtosTooSmall() -> None:
    with pytest.raises(TypeError, match="Added protocol must be positive or zero"):
        EthernetProtocol().addProto(-1, Recorder())


@pytest.mark.parametrize("num", [2**16, 2**16 + 1])
def test_addingBadProtosTooBig(num: int) -> None:
    with pytest.raises(TypeError, match="Added protocol must fit in 16 bits"):
        EthernetProtocol().addProto(num, Recorder())


def test_header() -> None:
    header = EthernetHeader(frame(b"123456", b"987654", 0x86DD, b""))
    assert (header.dest, header.source, header.proto, header.vlanTags) == (
        b"123456",
        b"987654",
        0x86DD,
        (),
    )


def test_vlanTaggedFrameDispatchedOnInnerType() -> None:
    proto = EthernetProtocol()
    p1 = Recorder()
    proto.addProto(0x0800, p1)
    data = ethernet.encodeEthernet(
        EthernetFrame(b"123456", b"987654", 0x0800, b"payload", (VLANTag(10),))
    )
    proto.datagramReceived(data)
    assert p1.received == [
        (b"payload", {"partial": 0, "dest": b"123456", "source": b"987654", "protocol": 0x0800})
    ]


@pytest.mark.parametrize("size", range(14))
def test_shortFrameDroppedNotRaised(size: int) -> None:
    proto = EthernetProtocol()
    p1 = Recorder()
    proto.addProto(0x0800, p1)
    proto.datagramReceived(frame(b"123456", b"987654", 0x0800, b"")[:size])
    assert p1.received == []
    assert proto.dropped == 1
