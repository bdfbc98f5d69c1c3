"""Queued DATA: what the server and client codecs share to send body bytes as the peer's flow
control windows allow (RFC 9113 5.2, 6.9)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import h2.connection


class Queued(Protocol):
    """A stream's body bytes waiting for window."""

    pending: deque[bytes]
    buffered: int
    endAfter: bool


def releaseQueued(
    h2conn: h2.connection.H2Connection,
    ready: deque[int],
    queues: Mapping[int, Queued],
    done: Callable[[int, Any], None],
) -> None:
    """Move queued bytes into DATA frames, one frame per stream in turn (so no stream starves
    the others), while the connection's window and each stream's own allow.

    :param ready: The streams with bytes queued, in turn order; a stream leaves it when its
        queue is empty.
    :param queues: Each ready stream's :class:`Queued`.
    :param done: Called with a stream and its queue once its last bytes went out with
        END_STREAM (its ``endAfter`` was set).
    """
    frameSize = h2conn.max_outbound_frame_size
    stalled = 0
    while ready and stalled < len(ready) and h2conn.outbound_flow_control_window > 0:
        streamId = ready.popleft()
        queue = queues[streamId]
        room = min(h2conn.local_flow_control_window(streamId), frameSize)
        if room <= 0:
            # This stream's own window is shut: the others may still send.
            ready.append(streamId)
            stalled += 1
            continue
        stalled = 0
        chunk = queue.pending.popleft()
        if len(chunk) > room:
            queue.pending.appendleft(chunk[room:])
            chunk = chunk[:room]
        queue.buffered -= len(chunk)
        last = queue.endAfter and not queue.buffered
        h2conn.send_data(streamId, chunk, end_stream=last)
        if queue.buffered:
            ready.append(streamId)
        elif last:
            done(streamId, queue)
