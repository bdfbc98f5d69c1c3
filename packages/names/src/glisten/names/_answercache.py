"""A short-lived cache of encoded authoritative UDP answers, keyed by the query's octets.

Two queries whose octets differ only in the id get answers that differ only
in the id, as long as the zone does not change: the question (with its
letter case), opcode, RD/CD bits and EDNS options are all in the key. So a
repeated query skips decoding, lookup and encoding. Entries are dropped
every ``lifetime`` seconds, which bounds how stale an answer can be after a
zone changes in place; ``FileAuthority.setData`` clears the cache at once.
"""

from __future__ import annotations

import time

__all__ = ["AnswerCache"]


class AnswerCache:
    """
    :param lifetime: seconds an entry may live.
    :param maxEntries: entries held at most (the cache is cleared when full).
    """

    __slots__ = ("_born", "_entries", "lifetime", "maxEntries")

    def __init__(self, lifetime: float = 1.0, maxEntries: int = 10_000) -> None:
        self.lifetime = lifetime
        self.maxEntries = maxEntries
        self._entries: dict[bytes, bytes] = {}
        self._born = time.monotonic()

    def get(self, datagram: bytes) -> bytes | None:
        """:return: the whole answer to ``datagram`` (its id patched in), or ``None``."""
        now = time.monotonic()
        if now - self._born > self.lifetime:
            self._entries.clear()
            self._born = now
            return None
        tail = self._entries.get(datagram[2:])
        if tail is None:
            return None
        return datagram[:2] + tail

    def put(self, datagram: bytes, answer: bytes) -> None:
        """Remember ``answer`` (same id as ``datagram``) for queries like ``datagram``."""
        if len(self._entries) >= self.maxEntries:
            self._entries.clear()
        self._entries[datagram[2:]] = answer[2:]

    def clear(self) -> None:
        """Forget every entry (the zone changed)."""
        self._entries.clear()
