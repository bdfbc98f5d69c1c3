"""What an HTTP/2 server connection accepts: :class:`Limits`."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Limits of one HTTP/2 server connection.

    The first group is advertised to the client in SETTINGS; the rest bound what a client can
    make the server do or hold. Rates are counted per :attr:`floodWindow` seconds of the
    caller's clock (the ``now`` given to ``receiveData``); exceeding one ends the connection
    with GOAWAY(ENHANCE_YOUR_CALM).

    :ivar maxConcurrentStreams: Streams a client may have open at once (SETTINGS).
    :ivar maxHeaderListSize: Largest decoded header list of a request (SETTINGS): a larger
        one, however well compressed (an HPACK bomb), ends the connection.
    :ivar maxFrameSize: Largest frame payload accepted (SETTINGS; 16384 to 16777215).
    :ivar initialWindowSize: Each request stream's receive window (SETTINGS).
    :ivar connectionWindowSize: The connection's receive window.
    :ivar maxBody: Largest request body; a larger one is answered 413 and the stream reset.
    :ivar maxStreamsPerConnection: Streams one connection may open in all; the next one is
        refused and the connection ends gracefully (GOAWAY) once the open ones finish.
    :ivar floodWindow: Seconds over which the rates below are counted.
    :ivar maxPings: PING frames per window.
    :ivar maxSettings: SETTINGS frames per window.
    :ivar maxEmptyFrames: Frames that carry no work per window: empty DATA frames that do not
        end their stream, PRIORITY frames and frames of unknown types.
    :ivar maxResets: Streams ended early per window: reset by the client before their
        response was complete (Rapid Reset, CVE-2023-44487), or reset by the server because
        the client sent them something malformed.
    :ivar streamBufferSize: Response bytes held per stream while flow control or the
        transport holds them back; above it the stream's producer is paused.
    """

    maxConcurrentStreams: int = 100
    maxHeaderListSize: int = 65536
    maxFrameSize: int = 16384
    initialWindowSize: int = 65535
    connectionWindowSize: int = 1 << 20
    maxBody: int = 64 * 1024 * 1024
    maxStreamsPerConnection: int = 10000
    floodWindow: float = 10.0
    maxPings: int = 100
    maxSettings: int = 100
    maxEmptyFrames: int = 100
    maxResets: int = 200
    streamBufferSize: int = 65536

    def __attrs_post_init__(self) -> None:
        if not 16384 <= self.maxFrameSize <= 16777215:
            raise ValueError("maxFrameSize must be between 16384 and 16777215")
        if not 0 <= self.initialWindowSize <= 2**31 - 1:
            raise ValueError("initialWindowSize must be between 0 and 2**31 - 1")
        if not 65535 <= self.connectionWindowSize <= 2**31 - 1:
            raise ValueError("connectionWindowSize must be between 65535 and 2**31 - 1")
        if self.maxConcurrentStreams < 1 or self.maxStreamsPerConnection < 1:
            raise ValueError("stream limits must be positive")


DEFAULT_LIMITS = Limits()

CLIENT_LIMITS = Limits(initialWindowSize=1 << 20, connectionWindowSize=1 << 24)
"""A client connection's limits: of the fields, it uses the frame and header list sizes and
the windows it advertises (large, so a response streams at the network's pace; a reader that
stops taking bytes still holds back the server) and the flood rates it tolerates from a
server. The stream counts and ``maxBody`` are a server's."""
