"""DNS over TCP framing: each message preceded by its length in two octets (RFC 1035 4.2.2, RFC 7766)."""

from __future__ import annotations

__all__ = ["LengthPrefixed", "frame"]


def frame(message: bytes) -> bytes:
    """
    :return: ``message`` with its length prefix.
    :raises ValueError: for a message longer than 65535 octets.
    """
    n = len(message)
    if n > 0xFFFF:
        raise ValueError("DNS message longer than 65535 octets")
    return n.to_bytes(2, "big") + message


class LengthPrefixed:
    """
    Splits a byte stream into messages. The cost is linear in the input:
    complete messages are sliced out walking an offset, and the consumed
    prefix is dropped once per :meth:`feed`, not once per message.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """:return: the messages ``data`` completes, in order (without prefixes)."""
        buf = self._buf
        buf += data
        n = len(buf)
        off = 0
        out = []
        while n - off >= 2:
            end = off + 2 + ((buf[off] << 8) | buf[off + 1])
            if end > n:
                break
            out.append(bytes(buf[off + 2 : end]))
            off = end
        if off:
            del buf[:off]
        return out

    @property
    def pending(self) -> int:
        """Octets received that do not complete a message yet."""
        return len(self._buf)
