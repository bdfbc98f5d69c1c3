"""
The select reactor: ``select(2)``, the most portable (limited to descriptors below 1024).
"""

from __future__ import annotations

import errno
import select
from typing import Any

from glisten.internet.posixbase import _IN, _OUT, _PollingReactor


class _SelectPoller:
    """
    A poll-like object built on ``select``.
    """

    def __init__(self) -> None:
        self.masks: dict[int, int] = {}

    def register(self, fd: int, mask: int) -> None:
        self.masks[fd] = mask

    def modify(self, fd: int, mask: int) -> None:
        self.masks[fd] = mask

    def unregister(self, fd: int) -> None:
        self.masks.pop(fd, None)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        masks = self.masks
        r = [fd for fd, m in masks.items() if m & _IN]
        w = [fd for fd, m in masks.items() if m & _OUT]
        try:
            readable, writable, _ = select.select(r, w, [], timeout)
        except InterruptedError:
            return []
        except (OSError, ValueError) as e:
            if isinstance(e, OSError) and e.errno not in (errno.EBADF, errno.EINVAL):
                raise
            return self._findBad(r, w)
        events: dict[int, int] = {}
        for fd in readable:
            events[fd] = _IN
        for fd in writable:
            events[fd] = events.get(fd, 0) | _OUT
        return list(events.items())

    def _findBad(self, r: list[int], w: list[int]) -> list[tuple[int, int]]:
        # Report each descriptor select refuses as broken (NVAL), so it gets disconnected.
        bad = []
        for fd in set(r) | set(w):
            try:
                select.select([fd], [], [], 0)
            except (OSError, ValueError):
                bad.append((fd, select.POLLNVAL))
        return bad


class SelectReactor(_PollingReactor):
    """
    A reactor waiting with ``select``.
    """

    def _makePoller(self) -> Any:
        return _SelectPoller()

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        return self._poller.poll(timeout)


def install() -> SelectReactor:
    """
    Install a SelectReactor as the global reactor.

    :return: the reactor.
    """
    from glisten.internet.main import installReactor

    reactor = SelectReactor()
    installReactor(reactor)
    return reactor


__all__ = ["SelectReactor", "install"]
