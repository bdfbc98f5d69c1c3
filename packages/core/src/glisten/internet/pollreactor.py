"""
The poll reactor: ``poll(2)``, for platforms or sandboxes without epoll.
"""

from __future__ import annotations

import math
import select

from glisten.internet.posixbase import _PollingReactor


class PollReactor(_PollingReactor):
    """
    A reactor waiting with ``poll`` (cost grows with the number of watched descriptors).
    """

    def _makePoller(self) -> select.poll:
        return select.poll()

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        ms = None if timeout is None else int(math.ceil(timeout * 1000))
        try:
            return self._poller.poll(ms)
        except InterruptedError:
            return []


def install() -> PollReactor:
    """
    Install a PollReactor as the global reactor.

    :return: the reactor.
    """
    from glisten.internet.main import installReactor

    reactor = PollReactor()
    installReactor(reactor)
    return reactor


__all__ = ["PollReactor", "install"]
