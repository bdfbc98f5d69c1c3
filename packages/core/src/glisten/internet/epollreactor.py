"""
The epoll reactor: the default on Linux.
"""

from __future__ import annotations

import select

from glisten.internet.posixbase import _PollingReactor


class EPollReactor(_PollingReactor):
    """
    A reactor waiting with ``epoll`` (level-triggered): O(1) per ready descriptor, whatever
    the number of watched ones.
    """

    def _makePoller(self) -> select.epoll:
        return select.epoll()

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        try:
            return self._poller.poll(-1 if timeout is None else timeout)
        except InterruptedError:
            return []


def install() -> EPollReactor:
    """
    Install an EPollReactor as the global reactor.

    :return: the reactor.
    """
    from glisten.internet.main import installReactor

    reactor = EPollReactor()
    installReactor(reactor)
    return reactor


__all__ = ["EPollReactor", "install"]
