"""What the HTTP/2 server and client codecs share: an ``h2`` connection configured alike,
the rates that catch a peer's floods, and whether the connection failed or is going away."""

from __future__ import annotations

import h2.config
import h2.connection

from glisten.web._h2._limits import Limits


class _Rate:
    """Counts one kind of frame over a window of the caller's clock."""

    __slots__ = ("count", "limit", "start", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.count = 0
        self.start = 0.0

    def exceeded(self, now: float) -> bool:
        if now - self.start >= self.window:
            self.start = now
            self.count = 0
        self.count += 1
        return self.count > self.limit


class CodecBase:
    """An HTTP/2 connection's ``h2`` state machine (validating and normalizing fields both
    ways, fields as bytes) and the PING, SETTINGS and empty-frame rates of :class:`Limits`.

    :param limits: The connection's limits.
    :param clientSide: Which end this is.
    """

    def __init__(self, limits: Limits, clientSide: bool) -> None:
        self.limits = limits
        config = h2.config.H2Configuration(
            client_side=clientSide,
            header_encoding=None,
            validate_inbound_headers=True,
            normalize_inbound_headers=True,
            validate_outbound_headers=True,
            normalize_outbound_headers=True,
        )
        self._h2 = h2.connection.H2Connection(config)
        self._failed = False
        self._goingAway = False
        window = limits.floodWindow
        self._pings = _Rate(limits.maxPings, window)
        self._settings = _Rate(limits.maxSettings, window)
        self._empty = _Rate(limits.maxEmptyFrames, window)

    @property
    def failed(self) -> bool:
        """Whether the codec ended the connection with an error (nothing more is read)."""
        return self._failed

    @property
    def goingAway(self) -> bool:
        """Whether a GOAWAY was sent or received: no new streams."""
        return self._goingAway
