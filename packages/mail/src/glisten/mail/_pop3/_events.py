"""Events the POP3 codec hands to the application, server side and client side.

Server events that ask for something carry the message *index* counted from 0 (as
Twisted's ``IMailbox`` does); the wire's message numbers count from 1.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class LoginRequested:
    """``USER``/``PASS`` or ``AUTH PLAIN`` gave a name and password: answer with
    ``acceptLogin`` or ``rejectLogin``.

    :ivar mechanism: ``"USER"`` or ``"PLAIN"``.
    """

    username: bytes
    password: bytes
    mechanism: str


@attrs.frozen
class APOPRequested:
    """``APOP name digest`` (RFC 1939 7): the digest is MD5 of the greeting's challenge
    followed by the password. Answer with ``acceptLogin`` or ``rejectLogin``."""

    username: bytes
    digest: bytes
    challenge: bytes


@attrs.frozen
class CramMD5Requested:
    """``AUTH CRAM-MD5`` (RFC 2195) was answered: check ``response`` against ``challenge``.
    Answer with ``acceptLogin`` or ``rejectLogin``."""

    username: bytes
    challenge: bytes
    response: bytes


@attrs.frozen
class Stat:
    """``STAT``: answer ``ok(b"COUNT SIZE")`` over the messages not marked deleted."""


@attrs.frozen
class ListMessages:
    """``LIST`` (``index`` is ``None``: answer ``sendLines``) or ``LIST n`` (answer ``ok``)."""

    index: int | None


@attrs.frozen
class ListUIDs:
    """``UIDL`` or ``UIDL n`` (RFC 1939 7), answered as :class:`ListMessages`."""

    index: int | None


@attrs.frozen
class Retrieve:
    """``RETR n`` (``lines`` is ``None``) or ``TOP n lines``: answer ``sendMessage``."""

    index: int
    lines: int | None


@attrs.frozen
class Delete:
    """``DELE n``: mark the message deleted (it goes at ``QUIT``)."""

    index: int


@attrs.frozen
class Reset:
    """``RSET``: unmark every message marked deleted."""


@attrs.frozen
class Quit:
    """``QUIT`` in the TRANSACTION state: remove the messages marked deleted, then answer
    ``ok`` (or ``error`` if they could not all be removed); the codec then closes."""


@attrs.frozen
class StartTLS:
    """``STLS`` was accepted and answered: start TLS on the transport now, then call
    ``tlsStarted``."""


@attrs.frozen
class ConnectionClosing:
    """The session is over (``QUIT`` answered, too many errors, a limit): flush what is owed
    and close the connection.

    :ivar reason: Why, for logs.
    """

    reason: str


ServerEvent = (
    LoginRequested
    | APOPRequested
    | CramMD5Requested
    | Stat
    | ListMessages
    | ListUIDs
    | Retrieve
    | Delete
    | Reset
    | Quit
    | StartTLS
    | ConnectionClosing
)

# -- client side ------------------------------------------------------------------------


@attrs.frozen
class Greeting:
    """The server's ``+OK`` greeting.

    :ivar challenge: The APOP timestamp (``<...>``) if the server offered one, else ``None``.
    """

    text: bytes
    challenge: bytes | None


@attrs.frozen
class Response:
    """The answer to one command, in the order the commands were sent.

    :ivar ok: ``+OK`` rather than ``-ERR``.
    :ivar text: The status line after ``+OK``/``-ERR``.
    :ivar lines: The lines of a multi-line answer, un-byte-stuffed; ``None`` for a
        single-line answer.
    """

    ok: bool
    text: bytes
    lines: list[bytes] | None = None


@attrs.frozen
class Continuation:
    """A SASL server challenge (``+ base64``) during ``AUTH``: answer with
    ``sendAuthResponse``."""

    data: bytes


ClientEvent = Greeting | Response | Continuation
