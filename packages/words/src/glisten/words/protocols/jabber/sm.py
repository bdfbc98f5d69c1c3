"""Stream management (XEP-0198) for clients: stanza acknowledgements and resuming a session
on a new connection, so that nothing sent or received is lost when a connection drops.

Not in Twisted. Enable it with ``XMPPClientFactory(jid, password, streamManagement=True)``:
after binding, the client enables stream management (asking for resumption); it counts the
stanzas it handles and answers the server's ``<r/>``, keeps what it sent until the server
acknowledges it, and asks for acknowledgements itself. When the factory reconnects, the
client resumes the previous session instead of binding a new resource, and sends again what
the server had not acknowledged; if the server cannot resume, it binds anew and sends the
unacknowledged stanzas on the new session. ``authenticator.resumed`` tells which happened.
"""

from __future__ import annotations

import collections
from typing import Any

from glisten.internet import defer
from glisten.words.protocols.jabber import error, xmlstream
from glisten.words.xish import domish

__all__ = [
    "NS_SM",
    "ResumeInitializer",
    "StreamManagementError",
    "StreamManagementInitializer",
    "StreamManagementState",
]

NS_SM = "urn:xmpp:sm:3"
_MODULUS = 1 << 32
_STANZAS = frozenset({"message", "presence", "iq"})


class StreamManagementError(Exception):
    """The server's acknowledgements contradict what was sent."""


class StreamManagementState:
    """What survives a connection: the session id, the stanzas handled, and what was sent
    but not yet acknowledged. Pure bookkeeping, no I/O.

    :ivar id: the resumable session's id, or None.
    :ivar handled: stanzas received and handled on the session (mod 2**32).
    :ivar acknowledged: stanzas the server has acknowledged (mod 2**32).
    :ivar unacknowledged: sent stanzas awaiting acknowledgement, oldest first.
    :ivar maxUnacknowledged: refuse to keep more than this (a server that never acknowledges).
    """

    maxUnacknowledged = 10_000

    def __init__(self) -> None:
        self.id: str | None = None
        self.enabled = False
        self.handled = 0
        self.acknowledged = 0
        self.unacknowledged: collections.deque[domish.Element] = collections.deque()

    def start(self, sessionId: str | None) -> None:
        """A new session was enabled (nothing received on it yet)."""
        self.id = sessionId
        self.enabled = True
        self.handled = 0
        self.acknowledged = 0

    def forget(self) -> None:
        """The session cannot be resumed; unacknowledged stanzas stay, to send again."""
        self.id = None
        self.enabled = False

    def sent(self, stanza: domish.Element) -> None:
        """A stanza went out on the managed session.

        :raises StreamManagementError: too many stanzas wait for acknowledgement.
        """
        if len(self.unacknowledged) >= self.maxUnacknowledged:
            raise StreamManagementError("the server does not acknowledge stanzas")
        self.unacknowledged.append(stanza)

    def received(self) -> None:
        """A stanza arrived on the managed session."""
        self.handled = (self.handled + 1) % _MODULUS

    def acknowledge(self, h: int) -> None:
        """The server has handled ``h`` stanzas in all: drop what it has.

        :raises StreamManagementError: ``h`` is more than was sent.
        """
        count = (h - self.acknowledged) % _MODULUS
        if count > len(self.unacknowledged):
            raise StreamManagementError("the server acknowledged more stanzas than were sent")
        for _ in range(count):
            self.unacknowledged.popleft()
        self.acknowledged = h % _MODULUS


def _counter(value: str | None) -> int:
    if value is None or not value.isdigit() or int(value) >= _MODULUS:
        raise StreamManagementError("the server sent an invalid stanza count")
    return int(value)


class _Session:
    """Counts and acknowledges stanzas on one stream of a managed session."""

    def __init__(self, xs: Any, state: StreamManagementState) -> None:
        self.xs = xs
        self.state = state
        self.requested = False
        xs.addObserver("/*", self.onStanza, 100)
        xs.addObserver(f"/r[@xmlns='{NS_SM}']", self.onRequest)
        xs.addObserver(f"/a[@xmlns='{NS_SM}']", self.onAck)
        xs.sentStanzaObservers.append(self.onSent)

    def onStanza(self, element: domish.Element) -> None:
        if element.name in _STANZAS and element.uri == self.xs.namespace:
            self.state.received()

    def onRequest(self, element: domish.Element) -> None:
        answer = domish.Element((NS_SM, "a"))
        answer["h"] = str(self.state.handled)
        self.xs.send(answer)

    def onAck(self, element: domish.Element) -> None:
        self.requested = False
        try:
            self.state.acknowledge(_counter(element.getAttribute("h")))
        except StreamManagementError as e:
            self.xs.sendStreamError(error.StreamError("undefined-condition", text=str(e)))
            return
        if self.state.unacknowledged:
            self.request()

    def onSent(self, stanza: domish.Element) -> None:
        try:
            self.state.sent(stanza)
        except StreamManagementError as e:
            self.xs.sendStreamError(error.StreamError("resource-constraint", text=str(e)))
            return
        self.request()

    def request(self) -> None:
        if not self.requested:
            self.requested = True
            self.xs.send(domish.Element((NS_SM, "r")))


class StreamManagementInitializer(xmlstream.BaseFeatureInitiatingInitializer):
    """Enables stream management (with resumption) after binding; a server that refuses
    leaves the session unmanaged, which is not an error.

    :param state: the state shared by the connections of one client.
    """

    feature = (NS_SM, "sm")

    def __init__(self, xs: xmlstream.XmlStream, state: StreamManagementState) -> None:
        xmlstream.BaseFeatureInitiatingInitializer.__init__(self, xs, required=False)
        self.state = state

    def start(self) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        xs = self.xmlstream
        pending = list(self.state.unacknowledged)
        self.state.unacknowledged.clear()

        def enabled(element: domish.Element) -> None:
            xs.removeObserver(f"/failed[@xmlns='{NS_SM}']", failed)
            resumable = element.getAttribute("resume") in ("true", "1")
            self.state.start(element.getAttribute("id") if resumable else None)
            _Session(xs, self.state)
            for stanza in pending:
                xs.send(stanza)
            d.callback(None)

        def failed(element: domish.Element) -> None:
            xs.removeObserver(f"/enabled[@xmlns='{NS_SM}']", enabled)
            self.state.forget()
            for stanza in pending:
                xs.send(stanza)
            d.callback(None)

        xs.addOnetimeObserver(f"/enabled[@xmlns='{NS_SM}']", enabled)
        xs.addOnetimeObserver(f"/failed[@xmlns='{NS_SM}']", failed)
        enable = domish.Element((NS_SM, "enable"))
        enable["resume"] = "true"
        xs.send(enable)
        return d


class ResumeInitializer:
    """Resumes the previous session, if there is one and the server offers stream
    management; on success the binding, session and enabling initializers are skipped.

    :param state: the state shared by the connections of one client.
    """

    def __init__(self, xs: xmlstream.XmlStream, state: StreamManagementState) -> None:
        self.xmlstream = xs
        self.state = state

    def initialize(self) -> defer.Deferred[None] | None:
        xs = self.xmlstream
        xs.authenticator.resumed = False
        if self.state.id is None or (NS_SM, "sm") not in xs.features:
            return None
        d: defer.Deferred[None] = defer.Deferred()

        def resumed(element: domish.Element) -> None:
            xs.removeObserver(f"/failed[@xmlns='{NS_SM}']", failed)
            try:
                self.state.acknowledge(_counter(element.getAttribute("h")))
            except StreamManagementError as e:
                d.errback(e)
                return
            pending = list(self.state.unacknowledged)
            self.state.unacknowledged.clear()
            _Session(xs, self.state)
            for stanza in pending:
                xs.send(stanza)
            xs.authenticator.resumed = True
            # The session (and its bound resource) continues: skip binding and enabling.
            xs.initializers[1:] = []
            d.callback(None)

        def failed(element: domish.Element) -> None:
            xs.removeObserver(f"/resumed[@xmlns='{NS_SM}']", resumed)
            h = element.getAttribute("h")
            if h is not None:
                try:
                    self.state.acknowledge(_counter(h))
                except StreamManagementError:
                    pass
            self.state.forget()
            d.callback(None)

        xs.addOnetimeObserver(f"/resumed[@xmlns='{NS_SM}']", resumed)
        xs.addOnetimeObserver(f"/failed[@xmlns='{NS_SM}']", failed)
        resume = domish.Element((NS_SM, "resume"))
        resume["previd"] = self.state.id
        resume["h"] = str(self.state.handled)
        xs.send(resume)
        return d
