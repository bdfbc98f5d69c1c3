"""Core parsers cost linear work in their input (issue 29): counted copies, not time.

Each parser gets N bytes made of the smallest units its protocol allows, in one
``dataReceived`` (or one byte at a time, where the protocol's attack is a trickle), through
``testing.CopyCounter``'s bytes. A parser that re-slices its buffer per unit copies about
``N**2 / (2 * unit)`` bytes; these tests allow a small multiple of N, so a quadratic
regression fails them at these sizes by orders of magnitude.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from glisten.internet._haproxy import HAProxyHeaderParser
from glisten.internet.testing import CopyCounter, StringTransport
from glisten.protocols import amp, basic

SIZES = [16 * 1024, 64 * 1024]


class Lines(basic.LineReceiver):
    MAX_LENGTH = 1 << 30

    def __init__(self) -> None:
        self.count = 0

    def lineReceived(self, line: bytes) -> None:
        self.count += 1


class Int32(basic.Int32StringReceiver):
    def __init__(self) -> None:
        self.count = 0

    def stringReceived(self, string: bytes) -> None:
        self.count += 1


class Netstrings(basic.NetstringReceiver):
    def __init__(self) -> None:
        self.count = 0

    def stringReceived(self, string: bytes) -> None:
        self.count += 1


STREAMS = [
    (Lines, b"\r\n"),
    (Lines, b"ab\r\n"),
    (Int32, struct.pack("!I", 1) + b"x"),
    (Netstrings, b"0:,"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("protocol", "unit"), STREAMS, ids=["lines", "words", "int32", "netstr"])
def test_streamParsersLinear(size: int, protocol: Any, unit: bytes) -> None:
    units = size // len(unit)
    proto = protocol()
    proto.makeConnection(StringTransport())
    counter = CopyCounter()
    proto.dataReceived(counter.wrap(unit * units))
    assert proto.count == units
    assert counter.copied <= 3 * size
    assert counter.scanned <= 2 * size


@pytest.mark.parametrize("protocol", [Int32, Netstrings])
def test_bigStringTrickleLinear(protocol: Any) -> None:
    """A long string arriving a few bytes at a time is gathered in pieces and joined once."""
    n = 200_000
    if protocol is Int32:
        data = struct.pack("!I", n) + b"x" * n
    else:
        data = b"%d:" % n + b"x" * n + b","
    proto = protocol()
    proto.MAX_LENGTH = 1 << 20
    proto.makeConnection(StringTransport())
    counter = CopyCounter()
    for i in range(0, len(data), 7):
        proto.dataReceived(counter.wrap(data[i : i + 7]))
    assert proto.count == 1
    assert counter.copied <= 4 * len(data)


def test_lineTrickleBoundedByMaxLength() -> None:
    """A partial line is re-joined on each read (the fast path for the usual short lines), so
    a trickled line costs at most its length per read: bounded by ``MAX_LENGTH``, which is why
    that limit stays small (16 KiB)."""
    proto = Lines()
    proto.MAX_LENGTH = 16384
    proto.makeConnection(StringTransport())
    data = b"x" * 16000 + b"\r\n"
    counter = CopyCounter()
    reads = 0
    for i in range(0, len(data), 7):
        proto.dataReceived(counter.wrap(data[i : i + 7]))
        reads += 1
    assert proto.count == 1
    assert counter.copied <= reads * (proto.MAX_LENGTH + 7)


class Boxes:
    def __init__(self) -> None:
        self.count = 0

    def startReceivingBoxes(self, sender: object) -> None:
        pass

    def ampBoxReceived(self, box: object) -> None:
        self.count += 1

    def stopReceivingBoxes(self, reason: object) -> None:
        pass


@pytest.mark.parametrize("size", SIZES)
def test_ampBoxesLinear(size: int) -> None:
    box = b"\x00\x01a\x00\x00\x00\x00"  # key "a", empty value, end of box
    units = size // len(box)
    receiver = Boxes()
    proto = amp.BinaryBoxProtocol(receiver)
    proto.makeConnection(StringTransport())
    counter = CopyCounter()
    proto.dataReceived(counter.wrap(box * units))
    assert receiver.count == units
    assert counter.copied <= 3 * size


def test_proxyHeaderByteAtATimeLinear() -> None:
    """The largest PROXY v2 header accepted by default, one byte a read."""
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    tlvs = b"\x04" + struct.pack("!H", 4000) + b"x" * 4000
    body = bytes([127, 0, 0, 1, 127, 0, 0, 2]) + struct.pack("!HH", 1234, 80) + tlvs
    header = signature + b"\x21\x11" + struct.pack("!H", len(body)) + body + b"GET /"
    parser = HAProxyHeaderParser()
    counter = CopyCounter()
    result = None
    for i in range(len(header)):
        result = parser.feed(counter.wrap(header[i : i + 1]))
        if result is not None:
            break
    assert result is not None and result[0].source is not None
    assert counter.copied <= 3 * len(header)


def test_counterSeesQuadraticWork() -> None:
    """The witness works: re-slicing a buffer per unit is counted as quadratic."""
    counter = CopyCounter()
    buf = counter.wrap(b"ab\r\n" * 4096)
    while buf:
        _, buf = buf[:4], buf[4:]
    assert counter.copied > 4096 * 4096
