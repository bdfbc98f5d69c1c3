"""The packet layer's fast paths: payloads in pieces, reused cipher contexts, zero-copy reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh._errors import DISCONNECT_MAC_ERROR, SSHProtocolError
from glisten.conch.ssh._ssh._packets import (
    CIPHERS,
    MACS,
    DirectionKeys,
    PacketReader,
    PacketWriter,
)

_SUITES = [
    (b"chacha20-poly1305@openssh.com", None),
    (b"aes128-gcm@openssh.com", None),
    (b"aes256-gcm@openssh.com", None),
    (b"aes128-ctr", b"hmac-sha2-256"),
    (b"aes192-ctr", b"hmac-sha2-512"),
    (b"aes256-ctr", b"hmac-sha2-256-etm@openssh.com"),
    (b"aes128-ctr", b"hmac-sha2-512-etm@openssh.com"),
]


def _keys(cipher: bytes, mac: bytes | None) -> DirectionKeys:
    spec = CIPHERS[cipher]
    return DirectionKeys(
        cipher,
        mac,
        bytes(range(spec.keySize)),
        bytes(range(100, 100 + spec.ivSize)),
        bytes(range(50, 50 + MACS[mac].keySize)) if mac else b"",
    )


def _pair(cipher: bytes | None, mac: bytes | None) -> tuple[PacketWriter, PacketReader]:
    writer, reader = PacketWriter(), PacketReader(1 << 20)
    if cipher is not None:
        writer.setKeys(_keys(cipher, mac))
        reader.setKeys(_keys(cipher, mac))
    return writer, reader


def _readAll(reader: PacketReader) -> list[bytes]:
    """Whole payloads (message number and rest) of the packets read."""
    out = []
    while (packet := reader.next()) is not None:
        message, rest = packet
        out.append(bytes((message,)) + rest)
    return out


@pytest.mark.parametrize("cipher,mac", [(None, None), *_SUITES])
@settings(max_examples=25, deadline=None)
@given(
    packets=st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), max_size=6),
    byteAtATime=st.booleans(),
)
def test_piecesAreOnePayload(
    cipher: bytes | None, mac: bytes | None, packets: list[list[bytes]], byteAtATime: bool
) -> None:
    """
    A payload handed over in pieces (never joined before encryption) reads back as their
    concatenation, packet after packet (the stream ciphers' state and the reused ChaCha20
    contexts carry over correctly), whole or one byte at a time.
    """
    writer, reader = _pair(cipher, mac)
    packets = [[b"\x5e", *pieces] for pieces in packets]
    out: list[bytes] = []
    for pieces in packets:
        writer.encodeInto(out, tuple(pieces))
    wire = b"".join(out)
    assert writer.bytesSent == writer.bytesEncoded == len(wire)
    received: list[bytes] = []
    if byteAtATime:
        for i in range(len(wire)):
            reader.feed(wire[i : i + 1])
            received += _readAll(reader)
    else:
        reader.feed(wire)
        received = _readAll(reader)
    assert received == [b"".join(pieces) for pieces in packets]
    assert reader.pending() == 0
    assert reader.bytesReceived == len(wire)


@pytest.mark.parametrize("cipher,mac", _SUITES)
def test_largePayloadInPieces(cipher: bytes, mac: bytes | None) -> None:
    """A 32 KiB data message given as header and data reads back whole."""
    writer, reader = _pair(cipher, mac)
    data = bytes(range(256)) * 128
    out: list[bytes] = []
    for n in range(3):
        writer.encodeInto(out, (b"\x5e", n.to_bytes(4, "big") + len(data).to_bytes(4, "big"), data))
    reader.feed(b"".join(out))
    for n in range(3):
        assert reader.next() == (0x5E, n.to_bytes(4, "big") + len(data).to_bytes(4, "big") + data)
    assert reader.next() is None


@pytest.mark.parametrize("cipher,mac", _SUITES)
def test_bufferStillGrowsAfterAMACError(cipher: bytes, mac: bytes | None) -> None:
    """
    The reader decrypts through views of its buffer; none outlives a failed packet, so the
    buffer can still take bytes (a live view would make that a BufferError).
    """
    writer, reader = _pair(cipher, mac)
    packet = bytearray(writer.encode(b"\x5e" + b"x" * 100))
    packet[-1] ^= 1
    reader.feed(bytes(packet[:10]))
    reader.feed(bytes(packet[10:]))
    with pytest.raises(SSHProtocolError) as e:
        reader.next()
    assert e.value.reasonCode == DISCONNECT_MAC_ERROR
    reader.feed(b"more bytes")
    reader.feed(b"x" * 100000)


def test_paddingVaries() -> None:
    """Padding comes from a pool of random bytes, a new stretch for every packet."""
    writer = PacketWriter()
    first = writer.encode(b"\x02" + b"\x00" * 11)
    second = writer.encode(b"\x02" + b"\x00" * 11)
    padLength = first[4]
    assert second[4] == padLength
    assert first[-padLength:] != second[-padLength:]


@pytest.mark.parametrize("cipher,mac", [(None, None), *_SUITES])
def test_emptyPayloadRefused(cipher: bytes | None, mac: bytes | None) -> None:
    """A packet without even a message number is a protocol error (after its MAC checks)."""
    writer, reader = _pair(cipher, mac)
    reader.feed(writer.encode(b""))
    with pytest.raises(SSHProtocolError) as e:
        reader.next()
    assert e.value.message == "empty packet"


@pytest.mark.parametrize("cipher,mac", [(None, None), *_SUITES])
def test_readsInPlaceAndGathersPartials(cipher: bytes | None, mac: bytes | None) -> None:
    """
    Bytes fed while nothing waits are read where they are; a packet split across reads is
    gathered, and reading goes on in place once the leftovers are used up.
    """
    writer, reader = _pair(cipher, mac)
    payloads = [b"\x5e" + bytes([n]) * (9000 + 700 * n) for n in range(4)]
    wire = [writer.encode(p) for p in payloads]
    reader.feed(wire[0])
    assert reader._buffer is wire[0]
    assert _readAll(reader) == payloads[:1]
    cut = len(wire[1]) // 2
    reader.feed(wire[1][:cut])
    assert _readAll(reader) == []
    after = wire[1][cut:] + wire[2][:7]
    reader.feed(after)
    assert _readAll(reader) == payloads[1:2]
    # Only the split packet was gathered: the bytes after it are read where they are.
    assert reader._buffer is after
    reader.feed(wire[2][7:])
    assert _readAll(reader) == payloads[2:3]
    assert reader.pending() == 0
    reader.feed(wire[3])
    assert reader._buffer is wire[3]
    assert _readAll(reader) == payloads[3:]


@pytest.mark.parametrize("cipher,mac", _SUITES)
def test_macCoversEveryByte(cipher: bytes, mac: bytes | None) -> None:
    """Flipping any one bit of a packet (length field aside) fails its MAC or tag."""
    writer, _ = _pair(cipher, mac)
    packet = writer.encode(b"\x5e" + b"y" * 40)
    for i in range(4, len(packet)):
        _, reader = _pair(cipher, mac)
        damaged = bytearray(packet)
        damaged[i] ^= 0x10
        reader.feed(bytes(damaged))
        with pytest.raises(SSHProtocolError) as e:
            reader.next()
        assert e.value.reasonCode == DISCONNECT_MAC_ERROR


def test_takeRemaining() -> None:
    """The bytes not read yet, in order, across everything fed (the version's leftovers)."""
    _, reader = _pair(None, None)
    for piece in (b"abc", b"defg", b"h"):
        reader.feed(piece)
    assert reader.pending() == 8
    assert reader.takeRemaining() == b"abcdefgh"
    assert reader.pending() == 0
    writer = PacketWriter()
    packet = writer.encode(b"\x5e" + b"z" * 30)
    reader.feed(packet[:3])
    reader.feed(packet[3:] + b"rest")
    assert reader.next() == (0x5E, b"z" * 30)
    reader.feed(b"more")
    assert reader.pending() == 8
    assert reader.takeRemaining() == b"restmore"


def test_drippedBytesShareOneBuffer() -> None:
    """
    A large packet arriving a byte at a time is kept in one growing buffer (not an object
    per read), and waiting for its end costs no rescan of what came.
    """
    writer, reader = _pair(b"aes128-gcm@openssh.com", None)
    payload = b"\x5e" + bytes(range(256)) * 200
    packet = writer.encode(payload)
    for i in range(len(packet) - 1):
        reader.feed(packet[i : i + 1])
        assert reader.next() is None
    assert len(reader._later) == 1
    assert reader.pending() == len(packet) - 1
    reader.feed(packet[-1:])
    assert reader.next() == (0x5E, payload[1:])
    assert reader.pending() == 0


@pytest.mark.parametrize("cipher,mac", [(None, None), *_SUITES])
@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 20000), min_size=1, max_size=5),
    cuts=st.lists(st.integers(1, 9000), max_size=40),
)
def test_anySplitOfReads(
    cipher: bytes | None, mac: bytes | None, sizes: list[int], cuts: list[int]
) -> None:
    """Packets read back the same however the bytes are split into reads, big or small."""
    writer, reader = _pair(cipher, mac)
    payloads = [b"\x5e" + bytes([i % 256]) * size for i, size in enumerate(sizes)]
    wire = b"".join(writer.encode(p) for p in payloads)
    received: list[bytes] = []
    at = 0
    for cut in [*cuts, len(wire)]:
        reader.feed(wire[at : at + cut])
        at += cut
        received += _readAll(reader)
        if at >= len(wire):
            break
    assert received == payloads
    assert reader.pending() == 0
