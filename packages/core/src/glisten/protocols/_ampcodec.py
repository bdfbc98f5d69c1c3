"""The AMP wire format, sans-IO: boxes of key/value pairs and an incremental decoder.

A box is a sequence of ``<key length:2><key><value length:2><value>`` items (big-endian
lengths; keys 1 to 255 bytes, values up to 65535) ended by a zero key length. This is the
format of Twisted's AMP, byte for byte.

The decoder enforces limits (key length, keys per box, bytes per box) and rejects duplicate
keys (Twisted silently keeps the last one; a box that says two things is malformed).
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "AmpBox",
    "AmpBoxDecoder",
    "AmpError",
    "MalformedAmpBox",
    "TooLong",
]

MAX_KEY_LENGTH = 0xFF
MAX_VALUE_LENGTH = 0xFFFF

_LENGTH = struct.Struct("!H")


class AmpError(Exception):
    """Base of the errors of the AMP implementation."""


class MalformedAmpBox(AmpError):
    """A box that is not valid AMP (bad key, duplicate key, missing terminator ...)."""


class TooLong(AmpError):
    """A key, value or box is longer than allowed.

    :ivar isKey: the key was too long (else the value or the whole box).
    :ivar isLocal: we were about to send it (else the peer sent it).
    :ivar keyName: the key concerned, if known.
    :ivar valueLength: the length that was too long.
    """

    def __init__(
        self,
        isKey: bool,
        isLocal: bool,
        keyName: bytes | None,
        valueLength: int | None = None,
    ) -> None:
        self.isKey = isKey
        self.isLocal = isLocal
        self.keyName = keyName
        self.valueLength = valueLength
        super().__init__(isKey, isLocal, keyName, valueLength)

    def __str__(self) -> str:
        what = "key" if self.isKey else "value"
        where = "local" if self.isLocal else "remote"
        return f"{where} {what} {self.keyName!r} too long ({self.valueLength})"


def _asBytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"AMP box keys and values must be bytes, not {type(value).__name__}")


class AmpBox(dict[bytes, bytes]):
    """One AMP box: a dict of bytes keys to bytes values.

    ``str`` keys and values are accepted and stored as UTF-8 bytes.
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kw).items():
            self[_asBytes(key)] = _asBytes(value)

    def copy(self) -> AmpBox:
        """Return a shallow copy (still an :class:`AmpBox`)."""
        new = type(self)()
        new.update(self)
        return new

    def serialize(self) -> bytes:
        """Return the wire form of this box.

        :raises TooLong: a key or value is too long for the format.
        """
        parts: list[bytes] = []
        pack = _LENGTH.pack
        for key, value in sorted(self.items()):
            key = _asBytes(key)
            value = _asBytes(value)
            if not key or len(key) > MAX_KEY_LENGTH:
                raise TooLong(True, True, key, len(key))
            if len(value) > MAX_VALUE_LENGTH:
                raise TooLong(False, True, key, len(value))
            parts.append(pack(len(key)))
            parts.append(key)
            parts.append(pack(len(value)))
            parts.append(value)
        parts.append(b"\x00\x00")
        return b"".join(parts)

    def _sendTo(self, proto: Any) -> None:
        """Send this box with ``proto`` (a box sender)."""
        proto.sendBox(self)

    def __repr__(self) -> str:
        return f"AmpBox({dict.__repr__(self)})"


class QuitBox(AmpBox):
    """A box after which the sender closes the connection."""

    __slots__ = ()

    def _sendTo(self, proto: Any) -> None:
        proto.sendBox(self)
        proto.transport.loseConnection()


class AmpBoxDecoder:
    """Turns received bytes into :class:`AmpBox` es.

    :param maxBoxSize: the most bytes one box may take on the wire.
    :param maxKeys: the most keys one box may have.
    """

    def __init__(self, maxBoxSize: int = 2**20, maxKeys: int = 1024) -> None:
        self.maxBoxSize = maxBoxSize
        self.maxKeys = maxKeys
        self._buffer = b""
        self._box = AmpBox()
        self._boxBytes = 0
        self._fed = b""
        self._ends: list[int] = []

    def feed(self, data: bytes) -> list[AmpBox]:
        """Add ``data`` and return the boxes it completes.

        :raises MalformedAmpBox: the data is not AMP.
        :raises TooLong: a box is over the limits.
        """
        buf = self._buffer + data if self._buffer else data
        size = len(buf)
        offset = 0
        boxes: list[AmpBox] = []
        box = self._box
        boxBytes = self._boxBytes
        unpack = _LENGTH.unpack_from
        maxBoxSize = self.maxBoxSize
        ends = self._ends = []
        self._fed = buf
        while size - offset >= 2:
            keyLength = unpack(buf, offset)[0]
            if keyLength == 0:
                offset += 2
                boxes.append(box)
                ends.append(offset)
                box = AmpBox()
                boxBytes = 0
                continue
            if keyLength > MAX_KEY_LENGTH:
                raise TooLong(True, False, None, keyLength)
            keyEnd = offset + 2 + keyLength
            if size - keyEnd < 2:
                if boxBytes + size - offset > maxBoxSize:
                    raise TooLong(False, False, None, boxBytes + size - offset)
                break
            valueLength = unpack(buf, keyEnd)[0]
            end = keyEnd + 2 + valueLength
            itemBytes = end - offset
            if boxBytes + itemBytes > maxBoxSize:
                raise TooLong(False, False, buf[offset + 2 : keyEnd], boxBytes + itemBytes)
            if end > size:
                break
            key = buf[offset + 2 : keyEnd]
            if key in box:
                raise MalformedAmpBox(f"duplicate key {key!r} in box")
            if len(box) >= self.maxKeys:
                raise TooLong(True, False, key, len(box) + 1)
            dict.__setitem__(box, key, buf[keyEnd + 2 : end])
            boxBytes += itemBytes
            offset = end
        self._buffer = buf[offset:] if offset else buf
        self._box = box
        self._boxBytes = boxBytes
        return boxes

    def remainderAfter(self, index: int) -> bytes:
        """The bytes of the last :meth:`feed` that follow its box number ``index`` (for a
        protocol switch: they belong to the next protocol, not to AMP)."""
        return self._fed[self._ends[index] :]

    def pending(self) -> bool:
        """Whether a box was started but not finished (the peer hung up mid-box)."""
        return bool(self._buffer) or bool(self._box)
