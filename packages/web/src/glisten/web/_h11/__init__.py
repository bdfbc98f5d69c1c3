"""A strict, sans-I/O HTTP/1.1 codec (RFC 9110, RFC 9112), in the style of h11.

Bytes go in, events come out; responses go in, bytes come out. The connection layer in
:mod:`glisten.web.http` adapts it to a transport.
"""

from glisten.web._h11._client import CLIENT_LIMITS, ClientConnection
from glisten.web._h11._events import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    LocalProtocolError,
    ProtocolError,
    RawHeaders,
    Request,
    Response,
)
from glisten.web._h11._server import DEFAULT_LIMITS, Limits, ServerConnection
from glisten.web._h11._state import State
from glisten.web._h11._status import RESPONSES, reasonPhrase
from glisten.web._h11._writers import canonicalName

__all__ = [
    "CLIENT_LIMITS",
    "DEFAULT_LIMITS",
    "RESPONSES",
    "ClientConnection",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "RawHeaders",
    "Request",
    "Response",
    "ServerConnection",
    "State",
    "canonicalName",
    "reasonPhrase",
]
