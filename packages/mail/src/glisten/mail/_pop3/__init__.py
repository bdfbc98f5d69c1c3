"""A strict, sans-I/O POP3 codec (RFC 1939 with CAPA, STLS, AUTH, PIPELINING).

Bytes go in, events come out; the application's answers go in, bytes come out. The protocol
classes in :mod:`glisten.mail.pop3` and :mod:`glisten.mail.pop3client` adapt it to a
transport. Nothing here imports the reactor or any other part of glisten's core.
"""

from glisten.mail._pop3._client import ClientConnection
from glisten.mail._pop3._errors import LocalProtocolError, POP3ProtocolError
from glisten.mail._pop3._events import (
    APOPRequested,
    ClientEvent,
    ConnectionClosing,
    Continuation,
    CramMD5Requested,
    Delete,
    Greeting,
    ListMessages,
    ListUIDs,
    LoginRequested,
    Quit,
    Reset,
    Response,
    Retrieve,
    ServerEvent,
    StartTLS,
    Stat,
)
from glisten.mail._pop3._limits import DEFAULT_LIMITS, Limits
from glisten.mail._pop3._server import MECHANISMS, ServerConnection, ServerState
from glisten.mail._pop3._text import stuff, toCRLF, topOf

__all__ = [
    "DEFAULT_LIMITS",
    "MECHANISMS",
    "APOPRequested",
    "ClientConnection",
    "ClientEvent",
    "ConnectionClosing",
    "Continuation",
    "CramMD5Requested",
    "Delete",
    "Greeting",
    "Limits",
    "ListMessages",
    "ListUIDs",
    "LocalProtocolError",
    "LoginRequested",
    "POP3ProtocolError",
    "Quit",
    "Reset",
    "Response",
    "Retrieve",
    "ServerConnection",
    "ServerEvent",
    "ServerState",
    "Stat",
    "StartTLS",
    "stuff",
    "toCRLF",
    "topOf",
]
