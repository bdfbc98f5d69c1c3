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

    def feed(self, data: bytes, limit: int | None = None) -> list[bytes]:
        """
        :param limit: Hand back at most this many messages; the others stay buffered for a
            later call (``feed(b"")``), so one read of many small messages can be answered a
            few at a time.
        :return: the messages ``data`` completes, in order (without prefixes).
        """
        buf = self._buf
        buf += data
        n = len(buf)
        off = 0
        out: list[bytes] = []
        if limit is None:
            limit = n
        while n - off >= 2 and len(out) < limit:
            end = off + 2 + ((buf[off] << 8) | buf[off + 1])
            if end > n:
                break
            out.append(bytes(buf[off + 2 : end]))
            off = end
        if off:
            del buf[:off]
        return out

    @property
    def complete(self) -> bool:
        """A whole message is buffered (left by a ``limit``)."""
        buf = self._buf
        return len(buf) >= 2 and len(buf) >= 2 + ((buf[0] << 8) | buf[1])

    @property
    def pending(self) -> int:
        """Octets received that do not complete a message yet."""
        return len(self._buf)
