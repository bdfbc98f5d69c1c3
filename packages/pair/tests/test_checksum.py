"""The Internet checksum against a word-by-word reference, and its incremental update."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from glisten.pair._wire import internetChecksum, onesSum, pseudoHeaderSum, updateChecksum


def referenceSum(data: bytes) -> int:
    """RFC 1071 section 4.1, one 16-bit word at a time."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_rfc1071Example() -> None:
    # RFC 1071 section 3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2.
    assert onesSum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert internetChecksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_knownIPv4Header() -> None:
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internetChecksum(header) == 0xB861
    filled = header[:10] + b"\xb8\x61" + header[12:]
    assert internetChecksum(filled) == 0


def test_zeroAndAllOnes() -> None:
    assert onesSum(b"") == 0
    assert onesSum(b"\x00\x00\x00\x00") == 0
    assert onesSum(b"\xff\xff") == 0xFFFF
    assert onesSum(b"\xff\xff\x00\x00\xff\xff") == 0xFFFF


@given(st.binary(max_size=300))
def test_matchesReference(data: bytes) -> None:
    expected = referenceSum(data)
    # Both representations of zero are the same sum; only the all-zero input gives 0.
    if expected == 0 and any(data):
        expected = 0xFFFF
    assert onesSum(data) == expected


@given(st.binary(min_size=2, max_size=200).filter(lambda b: len(b) % 2 == 0), st.data())
def test_incrementalUpdate(data: bytes, draw: st.DataObject) -> None:
    check = internetChecksum(data)
    index = draw.draw(st.integers(0, len(data) // 2 - 1)) * 2
    new = draw.draw(st.integers(0, 0xFFFF))
    old = int.from_bytes(data[index : index + 2], "big")
    changed = data[:index] + new.to_bytes(2, "big") + data[index + 2 :]
    updated = updateChecksum(check, old, new)
    # Equal as one's complement numbers (0x0000 and 0xFFFF both mean zero).
    assert updated % 0xFFFF == internetChecksum(changed) % 0xFFFF


def test_pseudoHeaderSum() -> None:
    v4 = pseudoHeaderSum(bytes(4), bytes(4), 17, 8)
    assert v4 == 17 + 8
    v6 = pseudoHeaderSum(bytes(16), bytes(16), 58, 16)
    assert v6 == 58 + 16
