"""A sans-I/O HTTP/2 server codec (RFC 9113) over the ``h2`` package, with the limits a
server exposed to the Internet needs.

Bytes go in, events come out; responses go in, bytes come out. :mod:`glisten.web._http2`
adapts it to a transport and to :class:`glisten.web.http.Request`. Importing this package
needs ``h2``: ``pip install 'glisten-web[http2]'``.
"""

try:
    import h2  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("HTTP/2 needs the h2 package: install glisten-web[http2]") from e

from glisten.web._h2._events import (
    BodyTooLarge,
    ConnectionFailed,
    DataReceived,
    Event,
    GoAwayReceived,
    RawHeaders,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from glisten.web._h2._limits import DEFAULT_LIMITS, Limits
from glisten.web._h2._server import (
    CANCEL,
    ENHANCE_YOUR_CALM,
    INTERNAL_ERROR,
    NO_ERROR,
    PREFACE,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    ServerConnection,
    validUpgradeSettings,
)

__all__ = [
    "CANCEL",
    "DEFAULT_LIMITS",
    "ENHANCE_YOUR_CALM",
    "INTERNAL_ERROR",
    "NO_ERROR",
    "PREFACE",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "BodyTooLarge",
    "ConnectionFailed",
    "DataReceived",
    "Event",
    "GoAwayReceived",
    "Limits",
    "RawHeaders",
    "RequestReceived",
    "ServerConnection",
    "StreamEnded",
    "StreamReset",
    "validUpgradeSettings",
]
