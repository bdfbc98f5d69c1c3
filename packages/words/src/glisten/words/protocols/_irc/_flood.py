"""A token bucket for commands a client sends (flood protection), without I/O: the caller
passes the time."""

from __future__ import annotations

__all__ = ["FloodGuard"]


class FloodGuard:
    """Allows ``burst`` commands at once, then ``rate`` per second.

    :param burst: commands allowed back to back.
    :param rate: commands per second refilled.
    """

    def __init__(self, burst: float, rate: float, now: float) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._last = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough; ``False`` means the client floods."""
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True
