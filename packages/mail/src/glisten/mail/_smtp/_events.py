"""Events the SMTP codec hands to the application, server side and client side."""

from __future__ import annotations

import attrs

from glisten.mail._smtp._address import Mailbox


@attrs.frozen
class MailParams:
    """The ESMTP parameters of ``MAIL FROM`` that the server understood and honours.

    :ivar size: The announced size (RFC 1870), or ``None``.
    :ivar body: ``"7BIT"`` or ``"8BITMIME"`` (RFC 6152), or ``None`` when not given.
    :ivar smtputf8: The client asked for RFC 6531 (UTF-8 addresses and headers).
    :ivar ret: RFC 3461 ``RET``: ``"FULL"``, ``"HDRS"`` or ``None``.
    :ivar envid: RFC 3461 ``ENVID``, decoded from xtext, or ``None``.
    :ivar auth: RFC 4954 ``AUTH=`` mailbox, decoded, or ``None``.
    """

    size: int | None = None
    body: str | None = None
    smtputf8: bool = False
    ret: str | None = None
    envid: bytes | None = None
    auth: bytes | None = None


@attrs.frozen
class RcptParams:
    """The ESMTP parameters of ``RCPT TO`` (RFC 3461 DSN).

    :ivar notify: The ``NOTIFY`` conditions (``"NEVER"`` alone, or some of ``"SUCCESS"``,
        ``"FAILURE"``, ``"DELAY"``); empty when not given.
    :ivar orcpt: The original recipient ``(addr-type, address)``, decoded, or ``None``.
    """

    notify: frozenset[str] = frozenset()
    orcpt: tuple[str, bytes] | None = None


# -- server side --------------------------------------------------------------------------


@attrs.frozen
class Hello:
    """``HELO`` or ``EHLO`` arrived and was answered; any transaction was reset.

    :ivar domain: The name the client gave, as sent.
    :ivar extended: ``EHLO`` (ESMTP) rather than ``HELO``.
    """

    domain: bytes
    extended: bool


@attrs.frozen
class MailFrom:
    """``MAIL FROM`` arrived: answer with ``acceptMail`` or ``rejectMail``.

    :ivar sender: The reverse path; ``Mailbox(b"", b"")`` for the null path ``<>``.
    """

    sender: Mailbox
    params: MailParams


@attrs.frozen
class RcptTo:
    """``RCPT TO`` arrived: answer with ``acceptRecipient`` or ``rejectRecipient``."""

    recipient: Mailbox
    params: RcptParams


@attrs.frozen
class DataStarted:
    """``DATA`` or the first ``BDAT`` was accepted: message text follows."""


@attrs.frozen
class MessageData:
    """A piece of the message, transparency (dot-stuffing) and chunk framing removed."""

    data: bytes


@attrs.frozen
class MessageComplete:
    """The message ended: answer with ``acceptMessage`` or ``rejectMessage``."""


@attrs.frozen
class MessageAborted:
    """The message was refused by the codec (too large, a line too long, a bare CR or LF) or
    the transaction was reset mid-message; the codec already answered. Drop what arrived."""

    reason: str


@attrs.frozen
class Reset:
    """The transaction was abandoned (``RSET``, a new ``EHLO``, or STARTTLS)."""


@attrs.frozen
class AuthRequested:
    """The client finished a SASL exchange: answer with ``authSucceeded`` or ``authFailed``.

    :ivar mechanism: ``"PLAIN"``, ``"LOGIN"`` or ``"CRAM-MD5"``.
    :ivar username: The authentication identity.
    :ivar password: The password (PLAIN, LOGIN), else ``None``.
    :ivar challenge: The challenge sent (CRAM-MD5), else ``None``.
    :ivar response: The hex digest answered (CRAM-MD5), else ``None``.
    """

    mechanism: str
    username: bytes
    password: bytes | None = None
    challenge: bytes | None = None
    response: bytes | None = None


@attrs.frozen
class StartTLS:
    """``STARTTLS`` was answered with 220: switch the transport to TLS, then call
    ``tlsStarted``. Bytes pipelined after the command were discarded (CVE-2011-0411)."""


@attrs.frozen
class Quit:
    """``QUIT`` was answered: close the connection once the reply is written."""


@attrs.frozen
class ConnectionFailed:
    """The codec gave up on the peer (too many errors, pipelining overflow); it already wrote
    its last reply. Close the connection.

    :ivar reason: A short explanation for logs.
    """

    reason: str


ServerEvent = (
    Hello
    | MailFrom
    | RcptTo
    | DataStarted
    | MessageData
    | MessageComplete
    | MessageAborted
    | Reset
    | AuthRequested
    | StartTLS
    | Quit
    | ConnectionFailed
)


# -- client side --------------------------------------------------------------------------


@attrs.frozen
class Reply:
    """One reply, all its lines joined.

    :ivar code: The three-digit code.
    :ivar lines: The text of each line, without code and separator.
    """

    code: int
    lines: tuple[bytes, ...]

    @property
    def text(self) -> bytes:
        return b"\n".join(self.lines)

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    @property
    def permanent(self) -> bool:
        return self.code >= 500


@attrs.frozen
class ReplyReceived:
    """A raw reply arrived (low-level client codec)."""

    reply: Reply


@attrs.frozen
class Ready:
    """The session is ready for a transaction: call ``sendMessage`` or ``quit``.

    :ivar extensions: What the server's ``EHLO`` reply offered, keyword -> parameters.
    """

    extensions: dict[str, bytes]


@attrs.frozen
class TLSRequested:
    """The server answered ``STARTTLS`` with 220: switch the transport to TLS, then call
    ``tlsStarted``."""


@attrs.frozen
class RecipientResult:
    """The server answered one ``RCPT TO``."""

    recipient: bytes
    reply: Reply


@attrs.frozen
class SendData:
    """The server answered ``DATA`` with 354: call ``sendData`` and then ``endData``."""


@attrs.frozen
class MessageSent:
    """The server took the message.

    :ivar reply: Its final reply.
    :ivar accepted: The recipients it accepted.
    :ivar rejected: The recipients it refused, with its replies.
    """

    reply: Reply
    accepted: tuple[bytes, ...]
    rejected: tuple[tuple[bytes, Reply], ...]


@attrs.frozen
class TransactionFailed:
    """The message was not taken; the session goes on (a ``Ready`` follows).

    :ivar stage: ``"mail"``, ``"rcpt"`` (no recipient accepted), ``"data"`` or ``"message"``.
    :ivar reply: The reply that decided it.
    """

    stage: str
    reply: Reply
    rejected: tuple[tuple[bytes, Reply], ...] = ()


@attrs.frozen
class SessionFailed:
    """The session cannot go on; close the connection.

    :ivar stage: ``"greeting"``, ``"helo"``, ``"tls"``, ``"auth"``, ``"protocol"``.
    :ivar reason: A short explanation.
    :ivar reply: The server's reply that decided it, if one did.
    """

    stage: str
    reason: str
    reply: Reply | None = None


@attrs.frozen
class Closed:
    """``QUIT`` was answered."""

    reply: Reply


ClientEvent = (
    Ready
    | TLSRequested
    | RecipientResult
    | SendData
    | MessageSent
    | TransactionFailed
    | SessionFailed
    | Closed
)
