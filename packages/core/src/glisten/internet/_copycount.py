"""Counting the work a parser does on its input, for tests that catch quadratic parsing.

A parser that re-slices its buffer after every unit costs about ``N**2 / (2 * unit)`` byte
copies for ``N`` bytes; a linear one a small multiple of ``N``. Time is a poor witness on a
shared machine; counted copies are exact. :class:`CopyCounter` hands out ``bytes`` that
record what their slices, concatenations, ``split``\\ s and ``find``\\ s copy or scan, and whose
results count too, so a chain of re-slicing is seen however deep it goes.

Work done on copies the parser makes by other means (``bytes(memoryview)``, ``bytearray``
growth in place) is not counted: those are the linear ways to parse.
"""

from __future__ import annotations

from typing import Any, SupportsIndex


class CopyCounter:
    """Counts bytes copied and scanned by whatever works on the ``bytes`` it wraps.

    :ivar copied: Bytes copied by slicing, concatenation and ``split``/``partition``.
    :ivar scanned: Bytes searched by ``find``/``index`` (up to the match).
    """

    def __init__(self) -> None:
        self.copied = 0
        self.scanned = 0

    def wrap(self, data: bytes) -> bytes:
        """``data`` as bytes that report their copies and scans to this counter."""
        return _Counting(data, self)

    def reset(self) -> None:
        """Start counting from zero."""
        self.copied = self.scanned = 0


class _Counting(bytes):
    counter: CopyCounter

    def __new__(cls, data: bytes, counter: CopyCounter) -> _Counting:
        self = super().__new__(cls, data)
        self.counter = counter
        return self

    def _wrap(self, data: bytes) -> _Counting:
        self.counter.copied += len(data)
        return _Counting(data, self.counter)

    def __getitem__(self, key: Any) -> Any:
        result = bytes.__getitem__(self, key)
        if isinstance(key, slice):
            return self._wrap(result)
        return result

    def __add__(self, other: Any) -> _Counting:
        return self._wrap(bytes(self) + bytes(other))

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, bytearray):
            return NotImplemented  # ``bytearray += data`` grows in place: no copy to count
        return self._wrap(bytes(other) + bytes(self))

    def split(self, sep: Any = None, maxsplit: SupportsIndex = -1) -> list[bytes]:
        return [self._wrap(part) for part in bytes.split(self, sep, maxsplit)]

    def partition(self, sep: Any) -> tuple[bytes, bytes, bytes]:
        a, b, c = bytes.partition(self, sep)
        return self._wrap(a), b, self._wrap(c)

    def find(  # type: ignore[override]
        self,
        sub: bytes | int,
        start: SupportsIndex | None = None,
        end: SupportsIndex | None = None,
    ) -> int:
        result = bytes.find(self, sub, start, end)
        n = len(self)
        s = 0 if start is None else max(0, min(int(start), n))
        e = n if end is None else max(0, min(int(end), n))
        self.counter.scanned += (result - s + 1) if result >= 0 else max(e - s, 0)
        return result

    def index(  # type: ignore[override]
        self,
        sub: bytes | int,
        start: SupportsIndex | None = None,
        end: SupportsIndex | None = None,
    ) -> int:
        result = self.find(sub, start, end)
        if result < 0:
            raise ValueError("subsection not found")
        return result
