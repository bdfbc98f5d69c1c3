"""The connection state machine of the HTTP/1.1 codec, as a transition table.

Each side of the connection (the client, who sends requests, and the server, who answers) has
a state; an event a side sends moves that side along the table. A pair of ``DONE`` states with
keep-alive starts the next request/response cycle; a side that may not be reused goes to
``MUST_CLOSE``. Events not in the table are programming errors (:class:`LocalProtocolError`) when
the local side sends them; the codec answers a remote side's ones with a protocol error.
"""

from __future__ import annotations

import enum

from glisten.web._h11._events import LocalProtocolError


class State(enum.Enum):
    """Where one side of an HTTP/1.1 connection is."""

    IDLE = "idle"
    #: Server only: a request head arrived, the response head is not sent yet.
    SEND_RESPONSE = "send-response"
    SEND_BODY = "send-body"
    DONE = "done"
    MUST_CLOSE = "must-close"
    CLOSED = "closed"
    ERROR = "error"
    #: Server only: a 101 response was sent; the bytes are no longer HTTP.
    SWITCHED_PROTOCOL = "switched-protocol"


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class EventType(enum.Enum):
    """The kinds of event that move a side along the table."""

    REQUEST = "request"
    INFORMATIONAL = "informational"
    RESPONSE = "response"
    SWITCH = "switch"
    DATA = "data"
    END = "end"
    CLOSED = "closed"


S = State
E = EventType

#: (role, state, event) -> next state of that role.
TRANSITIONS: dict[tuple[Role, State, EventType], State] = {
    (Role.CLIENT, S.IDLE, E.REQUEST): S.SEND_BODY,
    (Role.CLIENT, S.SEND_BODY, E.DATA): S.SEND_BODY,
    (Role.CLIENT, S.SEND_BODY, E.END): S.DONE,
    (Role.CLIENT, S.IDLE, E.CLOSED): S.CLOSED,
    (Role.CLIENT, S.DONE, E.CLOSED): S.CLOSED,
    (Role.CLIENT, S.MUST_CLOSE, E.CLOSED): S.CLOSED,
    (Role.SERVER, S.SEND_RESPONSE, E.INFORMATIONAL): S.SEND_RESPONSE,
    (Role.SERVER, S.SEND_RESPONSE, E.RESPONSE): S.SEND_BODY,
    (Role.SERVER, S.SEND_RESPONSE, E.SWITCH): S.SWITCHED_PROTOCOL,
    (Role.SERVER, S.SEND_BODY, E.DATA): S.SEND_BODY,
    (Role.SERVER, S.SEND_BODY, E.END): S.DONE,
    (Role.SERVER, S.IDLE, E.CLOSED): S.CLOSED,
    (Role.SERVER, S.DONE, E.CLOSED): S.CLOSED,
    (Role.SERVER, S.MUST_CLOSE, E.CLOSED): S.CLOSED,
}


class ConnectionState:
    """The pair of states of one connection, with keep-alive and cycle handling.

    :ivar client: The client side's state.
    :ivar server: The server side's state.
    :ivar keepAlive: Whether the connection may carry another cycle after this one.
    """

    __slots__ = ("client", "server", "keepAlive")

    def __init__(self) -> None:
        self.client = State.IDLE
        self.server = State.IDLE
        self.keepAlive = True

    def process(self, role: Role, event: EventType) -> None:
        """Move ``role`` along the table for ``event``.

        :raises LocalProtocolError: The event is not allowed in the role's current state.
        """
        if role is Role.CLIENT:
            new = TRANSITIONS.get((role, self.client, event))
            if new is None:
                raise LocalProtocolError(f"client cannot send {event.value} in {self.client}")
            self.client = new
            if event is E.REQUEST:
                # A request obliges the server to answer it.
                self.server = State.SEND_RESPONSE
        else:
            new = TRANSITIONS.get((role, self.server, event))
            if new is None:
                raise LocalProtocolError(f"server cannot send {event.value} in {self.server}")
            self.server = new
        self._settle()

    def disableKeepAlive(self) -> None:
        """This cycle is the connection's last."""
        self.keepAlive = False
        self._settle()

    def fail(self, role: Role) -> None:
        """``role`` broke the protocol; nothing more can be done on the connection."""
        if role is Role.CLIENT:
            self.client = State.ERROR
        else:
            self.server = State.ERROR

    def _settle(self) -> None:
        if not self.keepAlive:
            if self.client is State.DONE:
                self.client = State.MUST_CLOSE
            if self.server is State.DONE:
                self.server = State.MUST_CLOSE

    def startNextCycleIfDone(self) -> bool:
        """Reset both sides to ``IDLE`` when the cycle is over and the connection is reusable.

        :return: Whether a new cycle started.
        """
        if self.client is State.DONE and self.server is State.DONE:
            self.client = State.IDLE
            self.server = State.IDLE
            return True
        return False
