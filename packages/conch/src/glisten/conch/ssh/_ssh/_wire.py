"""
SSH data types (RFC 4251 section 5): encoders, and a reader that walks a buffer with an offset
so decoding costs linear time.
"""

from __future__ import annotations

import struct

from glisten.conch.ssh._ssh._errors import DecodeError

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def uint32(value: int) -> bytes:
    """Encode an ``uint32``."""
    return _U32.pack(value)


def uint64(value: int) -> bytes:
    """Encode an ``uint64``."""
    return _U64.pack(value)


def string(value: bytes) -> bytes:
    """Encode a ``string``: a length then the bytes."""
    return _U32.pack(len(value)) + value


def mpint(value: int) -> bytes:
    """Encode an ``mpint``: two's complement, big-endian, minimal length."""
    if value == 0:
        return b"\x00\x00\x00\x00"
    length = (value.bit_length() + 8) // 8 if value > 0 else ((-value - 1).bit_length() + 8) // 8
    raw = value.to_bytes(length, "big", signed=True)
    return _U32.pack(len(raw)) + raw


def boolean(value: bool) -> bytes:
    """Encode a ``boolean``."""
    return b"\x01" if value else b"\x00"


def nameList(names: list[bytes] | tuple[bytes, ...]) -> bytes:
    """Encode a ``name-list``."""
    return string(b",".join(names))


class Reader:
    """
    Reads SSH data types from ``data`` starting at ``offset``.

    Every method raises :class:`DecodeError` when the data runs out, so a truncated message is
    the protocol's error and never an ``IndexError``.

    :param maxString: the longest string accepted.
    """

    __slots__ = ("data", "end", "maxString", "offset")

    def __init__(self, data: bytes | memoryview, offset: int = 0, maxString: int = 1 << 20) -> None:
        self.data = data
        self.offset = offset
        self.end = len(data)
        self.maxString = maxString

    def byte(self) -> int:
        """Read one byte."""
        if self.offset >= self.end:
            raise DecodeError("truncated message")
        value = self.data[self.offset]
        self.offset += 1
        return value

    def boolean(self) -> bool:
        """Read a ``boolean``."""
        return self.byte() != 0

    def uint32(self) -> int:
        """Read an ``uint32``."""
        if self.offset + 4 > self.end:
            raise DecodeError("truncated message")
        (value,) = _U32.unpack_from(self.data, self.offset)
        self.offset += 4
        return int(value)

    def uint64(self) -> int:
        """Read an ``uint64``."""
        if self.offset + 8 > self.end:
            raise DecodeError("truncated message")
        (value,) = _U64.unpack_from(self.data, self.offset)
        self.offset += 8
        return int(value)

    def raw(self, length: int) -> bytes:
        """Read ``length`` bytes."""
        if self.offset + length > self.end:
            raise DecodeError("truncated message")
        value = self.data[self.offset : self.offset + length]
        self.offset += length
        return bytes(value)

    def string(self) -> bytes:
        """Read a ``string``."""
        length = self.uint32()
        if length > self.maxString:
            raise DecodeError("string too long")
        return self.raw(length)

    def mpint(self) -> int:
        """Read an ``mpint``."""
        raw = self.string()
        if len(raw) > 2048:
            raise DecodeError("mpint too long")
        return int.from_bytes(raw, "big", signed=True)

    def nameList(self) -> list[bytes]:
        """Read a ``name-list``; an empty string is an empty list."""
        return self.nameLists(1)[0]

    def nameLists(self, count: int) -> list[list[bytes]]:
        """
        Read ``count`` ``name-list`` values in a row (a KEXINIT has ten), in one loop
        rather than a method call per field: each handshake reads twenty.
        """
        data, offset, end, maxString = self.data, self.offset, self.end, self.maxString
        unpack = _U32.unpack_from
        out: list[list[bytes]] = []
        for _ in range(count):
            if offset + 4 > end:
                raise DecodeError("truncated message")
            (length,) = unpack(data, offset)
            offset += 4
            if length > maxString:
                raise DecodeError("string too long")
            if offset + length > end:
                raise DecodeError("truncated message")
            if not length:
                out.append([])
                continue
            names = bytes(data[offset : offset + length]).split(b",")
            offset += length
            # min/max over the lengths: C loops, where a generator cost a frame per name.
            lengths = list(map(len, names))
            if len(names) > 256 or min(lengths) == 0 or max(lengths) > 64:
                raise DecodeError("bad name-list")
            out.append(names)
        self.offset = offset
        return out

    def rest(self) -> bytes:
        """Read everything left."""
        value = bytes(self.data[self.offset : self.end])
        self.offset = self.end
        return value

    def remaining(self) -> int:
        """How many bytes are left."""
        return self.end - self.offset

    def done(self) -> None:
        """Check that nothing is left.

        :raises DecodeError: trailing bytes.
        """
        if self.offset != self.end:
            raise DecodeError("trailing bytes in message")
