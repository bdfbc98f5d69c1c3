"""Events the IMAP4 server codec hands to the application.

Every command event carries its ``tag``; the application answers it with one of the
codec's completion methods (``complete``, ``acceptLogin``, ``selected``, ...), after any
untagged data (``untagged``). Until then nothing more is parsed.
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs

from glisten.mail._imap._parser import FetchAttribute, Range


@attrs.frozen
class Login:
    """``LOGIN`` or ``AUTHENTICATE PLAIN``: answer ``acceptLogin`` or ``rejectLogin``."""

    tag: bytes
    username: bytes
    password: bytes


@attrs.frozen
class CramLogin:
    """``AUTHENTICATE CRAM-MD5`` was answered: check ``response`` (hex HMAC-MD5 of
    ``challenge``), then ``acceptLogin`` or ``rejectLogin``."""

    tag: bytes
    username: bytes
    challenge: bytes
    response: bytes


@attrs.frozen
class Select:
    """``SELECT`` (``readOnly`` false) or ``EXAMINE``: send the untagged state, then
    ``selected`` or ``selectFailed``."""

    tag: bytes
    mailbox: bytes
    readOnly: bool


@attrs.frozen
class MailboxCommand:
    """``CREATE``, ``DELETE``, ``SUBSCRIBE`` or ``UNSUBSCRIBE`` one mailbox (``name``)."""

    tag: bytes
    name: str
    mailbox: bytes


@attrs.frozen
class Rename:
    tag: bytes
    old: bytes
    new: bytes


@attrs.frozen
class ListMailboxes:
    """``LIST`` (``subscribed`` false) or ``LSUB``; ``pattern`` may hold ``*`` and ``%``."""

    tag: bytes
    reference: bytes
    pattern: bytes
    subscribed: bool


@attrs.frozen
class Status:
    """``STATUS``: ``items`` from ``MESSAGES``, ``RECENT``, ``UIDNEXT``, ``UIDVALIDITY``,
    ``UNSEEN``."""

    tag: bytes
    mailbox: bytes
    items: tuple[str, ...]


@attrs.frozen
class AppendedMessage:
    """One message of an ``APPEND``: its flags, optional internal date and octets."""

    flags: tuple[bytes, ...]
    date: datetime.datetime | None
    message: bytes


@attrs.frozen
class Append:
    """``APPEND``; ``more`` holds the further messages of a MULTIAPPEND (RFC 3502), which
    are added all or none."""

    tag: bytes
    mailbox: bytes
    flags: tuple[bytes, ...]
    date: datetime.datetime | None
    message: bytes
    more: tuple[AppendedMessage, ...] = ()

    @property
    def messages(self) -> tuple[AppendedMessage, ...]:
        """Every message, the first one included, in order."""
        return (AppendedMessage(self.flags, self.date, self.message), *self.more)


@attrs.frozen
class Fetch:
    tag: bytes
    messages: tuple[Range, ...]
    attributes: tuple[FetchAttribute, ...]
    uid: bool


@attrs.frozen
class Store:
    """``STORE``: ``mode`` is ``"+"`` (add), ``"-"`` (remove) or ``""`` (replace)."""

    tag: bytes
    messages: tuple[Range, ...]
    mode: str
    silent: bool
    flags: tuple[bytes, ...]
    uid: bool


@attrs.frozen
class Search:
    """``SEARCH``: ``query`` is a tree of tuples (see :mod:`glisten.mail._imap._search`)."""

    tag: bytes
    query: Any
    uid: bool


@attrs.frozen
class Copy:
    """``COPY`` or (``move``) ``MOVE`` (RFC 6851)."""

    tag: bytes
    messages: tuple[Range, ...]
    mailbox: bytes
    uid: bool
    move: bool


@attrs.frozen
class Expunge:
    """``EXPUNGE``, or ``UID EXPUNGE`` (RFC 4315) limited to ``uids``."""

    tag: bytes
    uids: tuple[Range, ...] | None


@attrs.frozen
class Simple:
    """A command without arguments the application answers: ``NOOP``, ``CHECK``,
    ``CLOSE``, ``UNSELECT``, ``NAMESPACE``."""

    tag: bytes
    name: str


@attrs.frozen
class Idle:
    """``IDLE`` (RFC 2177) began: push untagged updates until :class:`IdleDone`."""

    tag: bytes


@attrs.frozen
class IdleDone:
    """The client said ``DONE``: complete the ``IDLE`` command."""

    tag: bytes


@attrs.frozen
class StartTLS:
    """``STARTTLS`` was answered: start TLS now, then call ``tlsStarted``."""

    tag: bytes


@attrs.frozen
class ConnectionClosing:
    """The session is over (``LOGOUT``, too many errors, a limit): flush and close."""

    reason: str


ServerEvent = (
    Login
    | CramLogin
    | Select
    | MailboxCommand
    | Rename
    | ListMailboxes
    | Status
    | Append
    | Fetch
    | Store
    | Search
    | Copy
    | Expunge
    | Simple
    | Idle
    | IdleDone
    | StartTLS
    | ConnectionClosing
)
