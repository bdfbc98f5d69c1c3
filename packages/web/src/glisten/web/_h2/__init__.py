"""Sans-I/O HTTP/2 codecs (RFC 9113) over the ``h2`` package: a server with the limits a
server exposed to the Internet needs, and a client.

Bytes go in, events come out; responses (or requests) go in, bytes come out.
:mod:`glisten.web._http2` adapts the server to a transport and to
:class:`glisten.web.http.Request`, :mod:`glisten.web._http2client` the client to the
agent's connection pool. Importing this package
needs ``h2``: ``pip install 'glisten-web[http2]'``.
"""

try:
    import h2  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("HTTP/2 needs the h2 package: install glisten-web[http2]") from e

from glisten.web._h2._client import ClientConnection, NoStreamAvailable
from glisten.web._h2._events import (
    BodyTooLarge,
    ClientEvent,
    ConnectionFailed,
    DataReceived,
    Event,
    GoAwayReceived,
    RawHeaders,
    RequestReceived,
    ResponseReceived,
    ServerGoAway,
    StreamEnded,
    StreamReset,
)
from glisten.web._h2._limits import CLIENT_LIMITS, DEFAULT_LIMITS, Limits
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
    "CLIENT_LIMITS",
    "DEFAULT_LIMITS",
    "ENHANCE_YOUR_CALM",
    "INTERNAL_ERROR",
    "NO_ERROR",
    "PREFACE",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "BodyTooLarge",
    "ClientConnection",
    "ClientEvent",
    "ConnectionFailed",
    "DataReceived",
    "Event",
    "GoAwayReceived",
    "Limits",
    "NoStreamAvailable",
    "RawHeaders",
    "RequestReceived",
    "ResponseReceived",
    "ServerConnection",
    "ServerGoAway",
    "StreamEnded",
    "StreamReset",
    "validUpgradeSettings",
]
