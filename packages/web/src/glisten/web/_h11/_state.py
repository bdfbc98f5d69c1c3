"""The connection state machine of the HTTP/1.1 codec, as a transition table.

Each side of the connection (the client, who sends requests, and the server, who answers) has
a state; an event a side sends moves that side along the table. A pair of ``DONE`` states with
keep-alive starts the next request/response cycle in the same step that makes the pair; a side
that may not be reused goes to ``MUST_CLOSE``. Events not in the table are programming errors (:class:`LocalProtocolError`) when
the local side sends them; the codec answers a remote side's ones with a protocol error.
"""

from __future__ import annotations

import enum

from glisten.web._h11._events import LocalProtocolError


class State(enum.Enum):
    """Where one side of an HTTP/1.1 connection is."""

    # Members are singletons: identity hashing (in C) instead of Enum's hash of the name,
    # which is Python code and showed up in profiles of the request path.
    __hash__ = object.__hash__

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
    __hash__ = object.__hash__

    CLIENT = "client"
    SERVER = "server"


class EventType(enum.Enum):
    """The kinds of event that move a side along the table."""

    __hash__ = object.__hash__

    REQUEST = "request"
    #: A request head that is the whole request (no body follows): ``REQUEST`` and ``END``
    #: in one step, since for most requests they always happen together.
    WHOLE_REQUEST = "whole-request"
    INFORMATIONAL = "informational"
    RESPONSE = "response"
    SWITCH = "switch"
    DATA = "data"
    END = "end"
    CLOSED = "closed"
    #: Server only: a minimal error response (a broken request, a timeout) ends the
    #: connection before or instead of a response to a request.
    ERROR = "error"


S = State
E = EventType

#: (role, state, event) -> next state of that role.
TRANSITIONS: dict[tuple[Role, State, EventType], State] = {
    (Role.CLIENT, S.IDLE, E.REQUEST): S.SEND_BODY,
    (Role.CLIENT, S.IDLE, E.WHOLE_REQUEST): S.DONE,
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
    (Role.SERVER, S.IDLE, E.ERROR): S.MUST_CLOSE,
    (Role.SERVER, S.SEND_RESPONSE, E.ERROR): S.MUST_CLOSE,
}


#: The same table by role, then state, then event: the form :meth:`ConnectionState.process`
#: reads, since looking up a tuple of three enum members costs several times more.
_NEXT: dict[Role, dict[State, dict[EventType, State]]] = {
    role: {state: {} for state in State} for role in Role
}
for (_role, _state, _event), _new in TRANSITIONS.items():
    _NEXT[_role][_state][_event] = _new
_CLIENT_NEXT = _NEXT[Role.CLIENT]
_SERVER_NEXT = _NEXT[Role.SERVER]

# Enum members looked up once, for this module and the codecs: attribute access on an Enum
# class is slow, and these are used for every request.
_IDLE = State.IDLE
_SEND_RESPONSE = State.SEND_RESPONSE
_SEND_BODY = State.SEND_BODY
_DONE = State.DONE
_MUST_CLOSE = State.MUST_CLOSE
_CLOSED = State.CLOSED
_ERROR = State.ERROR
_SWITCHED_PROTOCOL = State.SWITCHED_PROTOCOL
_CLIENT = Role.CLIENT
_SERVER = Role.SERVER
_EV_REQUEST = EventType.REQUEST
_EV_WHOLE_REQUEST = EventType.WHOLE_REQUEST
_EV_INFORMATIONAL = EventType.INFORMATIONAL
_EV_RESPONSE = EventType.RESPONSE
_EV_SWITCH = EventType.SWITCH
_EV_END = EventType.END
_EV_CLOSED = EventType.CLOSED
_EV_ERROR = EventType.ERROR
#: The client events that oblige the server to answer.
_OBLIGING = frozenset({_EV_REQUEST, _EV_WHOLE_REQUEST})


class ConnectionState:
    """The pair of states of one connection, with keep-alive and cycle handling.

    :ivar client: The client side's state.
    :ivar server: The server side's state.
    :ivar keepAlive: Whether the connection may carry another cycle after this one.
    """

    __slots__ = ("client", "server", "keepAlive")

    def __init__(self) -> None:
        self.client = _IDLE
        self.server = _IDLE
        self.keepAlive = True

    def process(self, role: Role, event: EventType) -> None:
        """Move ``role`` along the table for ``event``. The step that makes both sides
        ``DONE`` on a reusable connection also starts the next cycle (both ``IDLE``).

        :raises LocalProtocolError: The event is not allowed in the role's current state.
        """
        try:
            if role is _CLIENT:
                new = self.client = _CLIENT_NEXT[self.client][event]
                if event in _OBLIGING:
                    # A request obliges the server to answer it.
                    self.server = _SEND_RESPONSE
            else:
                new = self.server = _SERVER_NEXT[self.server][event]
        except KeyError:
            state = self.client if role is _CLIENT else self.server
            raise LocalProtocolError(f"{role.value} cannot send {event.value} in {state}") from None
        if not self.keepAlive:
            self._settle()
        elif new is _DONE and self.client is self.server:
            # Both sides DONE on a reusable connection: the next cycle.
            self.client = _IDLE
            self.server = _IDLE

    def disableKeepAlive(self) -> None:
        """This cycle is the connection's last."""
        self.keepAlive = False
        self._settle()

    def fail(self, role: Role) -> None:
        """``role`` broke the protocol; nothing more can be done on the connection."""
        if role is _CLIENT:
            self.client = _ERROR
        else:
            self.server = _ERROR

    def _settle(self) -> None:
        if not self.keepAlive:
            if self.client is _DONE:
                self.client = _MUST_CLOSE
            if self.server is _DONE:
                self.server = _MUST_CLOSE
