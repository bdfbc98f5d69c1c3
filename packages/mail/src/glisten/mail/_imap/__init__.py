"""A strict, sans-I/O IMAP4rev1 codec (RFC 3501 with LITERAL+, IDLE, ID, ENABLE, UNSELECT,
UIDPLUS and MOVE): command assembly and parsing with limits, the server's state machine,
and the formatting of FETCH data.

Nothing here imports the reactor or any other part of glisten's core.
"""

from glisten.mail._imap._errors import IMAPParseError, LocalProtocolError
from glisten.mail._imap._events import (
    Append,
    ConnectionClosing,
    Copy,
    CramLogin,
    Expunge,
    Fetch,
    Idle,
    IdleDone,
    ListMailboxes,
    Login,
    MailboxCommand,
    Rename,
    Search,
    Select,
    ServerEvent,
    Simple,
    StartTLS,
    Status,
    Store,
)
from glisten.mail._imap._limits import DEFAULT_LIMITS, Limits
from glisten.mail._imap._parser import (
    Atom,
    FetchAttribute,
    Range,
    Scanner,
    Section,
    formatDateTime,
    parseDate,
    parseDateTime,
    parseFetchAttributes,
    parseSequenceSet,
)
from glisten.mail._imap._search import parseSearch
from glisten.mail._imap._server import ServerConnection, ServerState
from glisten.mail._imap._utf7 import MailboxNameError, decodeMailboxName, encodeMailboxName
from glisten.mail._imap._writers import astring, literal, nstring, parenthesised, quote

__all__ = [
    "DEFAULT_LIMITS",
    "Append",
    "Atom",
    "ConnectionClosing",
    "Copy",
    "CramLogin",
    "Expunge",
    "Fetch",
    "FetchAttribute",
    "IMAPParseError",
    "Idle",
    "IdleDone",
    "Limits",
    "ListMailboxes",
    "MailboxNameError",
    "LocalProtocolError",
    "Login",
    "MailboxCommand",
    "Range",
    "Rename",
    "Scanner",
    "Search",
    "Section",
    "Select",
    "ServerConnection",
    "ServerEvent",
    "ServerState",
    "Simple",
    "StartTLS",
    "Status",
    "Store",
    "astring",
    "decodeMailboxName",
    "encodeMailboxName",
    "formatDateTime",
    "literal",
    "nstring",
    "parenthesised",
    "parseDate",
    "parseDateTime",
    "parseFetchAttributes",
    "parseSearch",
    "parseSequenceSet",
    "quote",
]
