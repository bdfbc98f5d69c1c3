"""The states of an SMTP session, server side and client side."""

from __future__ import annotations

import enum


class ServerState(enum.Enum):
    """Where a server session is. ``*_PENDING`` states wait for the application's answer and
    parse nothing meanwhile (pipelined commands wait in the buffer, answered in order)."""

    __hash__ = object.__hash__

    #: No ``HELO``/``EHLO`` yet (again after STARTTLS).
    INITIAL = "initial"
    #: Greeted, no transaction.
    READY = "ready"
    MAIL_PENDING = "mail-pending"
    #: Sender accepted; ``RCPT``, ``DATA`` and ``BDAT`` may follow.
    MAIL = "mail"
    RCPT_PENDING = "rcpt-pending"
    #: Reading message text after ``DATA``'s 354.
    DATA = "data"
    #: Reading the octets of a ``BDAT`` chunk.
    BDAT = "bdat"
    #: Between ``BDAT`` chunks: only ``BDAT``, ``RSET``, ``NOOP``, ``QUIT`` make sense.
    BDAT_WAIT = "bdat-wait"
    MESSAGE_PENDING = "message-pending"
    #: In a SASL exchange, reading base64 response lines.
    AUTH = "auth"
    AUTH_PENDING = "auth-pending"
    #: 220 to STARTTLS sent; waiting for the transport to switch.
    TLS_PENDING = "tls-pending"
    CLOSED = "closed"


#: States in which the server parses nothing until the application answers.
BLOCKED = frozenset(
    {
        ServerState.MAIL_PENDING,
        ServerState.RCPT_PENDING,
        ServerState.MESSAGE_PENDING,
        ServerState.AUTH_PENDING,
        ServerState.TLS_PENDING,
        ServerState.CLOSED,
    }
)


class ClientState(enum.Enum):
    """Where a client session is."""

    __hash__ = object.__hash__

    GREETING = "greeting"
    EHLO = "ehlo"
    HELO = "helo"
    STARTTLS = "starttls"
    #: 220 to STARTTLS received; waiting for the transport to switch.
    TLS_PENDING = "tls-pending"
    AUTH = "auth"
    #: Ready for a transaction.
    IDLE = "idle"
    #: ``MAIL``/``RCPT``/``DATA`` sent, replies coming in.
    ENVELOPE = "envelope"
    #: 354 received; the application sends the message.
    SEND_DATA = "send-data"
    #: End of data sent; waiting for the final reply.
    DATA_SENT = "data-sent"
    RSET = "rset"
    QUIT = "quit"
    CLOSED = "closed"
