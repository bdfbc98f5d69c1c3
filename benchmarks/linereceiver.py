"""LineReceiver and Int32StringReceiver parsing speed, glisten against Twisted.

Each operation parses one 64 KiB stream (lines of 10 to 120 bytes, or Int32-prefixed strings
of the same sizes) delivered in chunks of 16, 64, 256 or 1024 bytes to a fresh protocol.
"""

from __future__ import annotations

import struct
from typing import Any

from _harness import Case, main


def _sizes() -> list[int]:
    return [10 + (i * 37) % 111 for i in range(1000)]


def _lineStream() -> bytes:
    return b"".join(b"x" * size + b"\r\n" for size in _sizes())


def _int32Stream() -> bytes:
    return b"".join(struct.pack("!I", size) + b"y" * size for size in _sizes())


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _Transport:
    disconnecting = False

    def write(self, data: bytes) -> None:
        pass


def _basic(impl: str) -> Any:
    if impl == "glisten":
        from glisten.protocols import basic
    else:
        from twisted.protocols import basic  # type: ignore[no-redef]
    return basic


def _lineCase(chunkSize: int) -> Any:
    def run(impl: str, n: int) -> None:
        basic = _basic(impl)
        chunks = _chunked(_lineStream(), chunkSize)
        count = [0]

        class Receiver(basic.LineReceiver):  # type: ignore[misc, name-defined]
            def lineReceived(self, line: bytes) -> None:
                count[0] += 1

        transport = _Transport()
        for _ in range(n):
            proto = Receiver()
            proto.transport = transport
            received = proto.dataReceived
            for chunk in chunks:
                received(chunk)
        assert count[0] == 1000 * n, count

    return run


def _int32Case(chunkSize: int) -> Any:
    def run(impl: str, n: int) -> None:
        basic = _basic(impl)
        chunks = _chunked(_int32Stream(), chunkSize)
        count = [0]

        class Receiver(basic.Int32StringReceiver):  # type: ignore[misc, name-defined]
            def stringReceived(self, string: bytes) -> None:
                count[0] += 1

        transport = _Transport()
        for _ in range(n):
            proto = Receiver()
            proto.transport = transport
            received = proto.dataReceived
            for chunk in chunks:
                received(chunk)
        assert count[0] == 1000 * n, count

    return run


CASES = [
    Case(f"LineReceiver {size}-byte chunks", _lineCase(size)) for size in (16, 64, 256, 1024)
] + [
    Case(f"Int32StringReceiver {size}-byte chunks", _int32Case(size))
    for size in (16, 64, 256, 1024)
]

if __name__ == "__main__":
    main(CASES)
