"""What every protocol layer does with input its decoder rejects: count it and say why."""

from __future__ import annotations

from typing import Protocol

from glisten.logger import Logger
from glisten.pair._wire import MalformedPacket


class _Counting(Protocol):
    dropped: int


def dropMalformed(layer: _Counting, log: Logger, what: str, error: MalformedPacket) -> None:
    """
    Count one rejected input on ``layer`` and log the decoder's reason at debug level: bad
    input from the network is expected, so it is never a traceback, and the reason never
    quotes the peer's bytes.

    :param layer: the protocol that dropped it (its ``dropped`` counter is raised).
    :param log: the layer module's logger, so the event keeps that module's namespace.
    :param what: the input, with its article ("an ARP packet").
    :param error: the decoder's error.
    """
    layer.dropped += 1
    log.debug("Dropped {what}: {reason}", what=what, reason=str(error))
