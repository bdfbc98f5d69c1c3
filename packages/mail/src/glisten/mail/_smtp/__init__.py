"""A strict, sans-I/O SMTP codec (RFC 5321) with ESMTP extensions.

Bytes go in, events come out; the application's answers go in, bytes come out. The protocol
classes in :mod:`glisten.mail.smtp` adapt it to a transport. Nothing here imports the
reactor or any other part of glisten's core.
"""

from glisten.mail._smtp._address import (
    Mailbox,
    decodeXtext,
    encodeXtext,
    isAddressLiteral,
    isDomain,
    parseMailbox,
    parsePath,
)
from glisten.mail._smtp._client import ClientConnection
from glisten.mail._smtp._data import DotStuffer, stuff
from glisten.mail._smtp._errors import LocalProtocolError, SMTPProtocolError
from glisten.mail._smtp._events import (
    AuthRequested,
    ConnectionFailed,
    DataStarted,
    Hello,
    MailFrom,
    MailParams,
    MessageAborted,
    MessageComplete,
    MessageData,
    Quit,
    RcptParams,
    RcptTo,
    Reply,
    Reset,
    StartTLS,
)
from glisten.mail._smtp._limits import DEFAULT_LIMITS, Limits
from glisten.mail._smtp._reply import ReplyReader, formatReply
from glisten.mail._smtp._server import ServerConnection
from glisten.mail._smtp._state import ClientState, ServerState

__all__ = [
    "DEFAULT_LIMITS",
    "AuthRequested",
    "ClientConnection",
    "ClientState",
    "ConnectionFailed",
    "DataStarted",
    "DotStuffer",
    "Hello",
    "Limits",
    "LocalProtocolError",
    "MailFrom",
    "MailParams",
    "Mailbox",
    "MessageAborted",
    "MessageComplete",
    "MessageData",
    "Quit",
    "RcptParams",
    "RcptTo",
    "Reply",
    "ReplyReader",
    "Reset",
    "SMTPProtocolError",
    "ServerConnection",
    "ServerState",
    "StartTLS",
    "decodeXtext",
    "encodeXtext",
    "formatReply",
    "isAddressLiteral",
    "isDomain",
    "parseMailbox",
    "parsePath",
    "stuff",
]
