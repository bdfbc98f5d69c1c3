"""DNS over UDP and TCP: thin protocols around the message codec.

``DNSDatagramProtocol`` and ``DNSProtocol`` both send queries (matching
answers to them by id) and hand everything else to a *controller* (a
resolver or a :class:`~glisten.names.server.DNSServerFactory`) through
``messageReceived(message, protocol, address=None)``.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from glisten.internet import protocol
from glisten.internet.defer import Deferred, fail
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names._wire import _constants as C
from glisten.names._wire._framing import LengthPrefixed, frame
from glisten.names._wire._matching import Match, matchAnswer
from glisten.names._wire._message import Message, Query
from glisten.names._wire._name import DNSDecodeError
from glisten.names._wire._respond import NEEDS_RESOLVER, respond
from glisten.names._wire._zones import Zones
from glisten.names.error import DNSQueryTimeoutError
from glisten.python.failure import Failure

if TYPE_CHECKING:
    from glisten.names.common import ClientReactor, TimeReactor
from glisten.protocols.policies import TimeoutMixin

__all__ = ["DNSDatagramProtocol", "DNSMixin", "DNSProtocol"]

log = Logger()

#: Seconds a TCP connection may sit without completing a message before it is closed.
TCP_IDLE_TIMEOUT = 30.0


def _canonicalAddress(address: Any) -> Any:
    """``(host, port)`` with the host in the form the reactor reports sources in."""
    host = address[0]
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return (socket.inet_ntop(family, socket.inet_pton(family, host)), *address[1:2])
        except (OSError, TypeError):
            continue
    return tuple(address[:2])


def _formatErrorFor(data: bytes) -> Message | None:
    """
    :return: a FORMERR answer to a query that could not be decoded, or
        ``None`` when the datagram is not even a query header (drop it).
    """
    if len(data) < 12 or data[2] & 0x80:
        return None
    m = Message(
        id=int.from_bytes(data[0:2], "big"),
        answer=1,
        opCode=(data[2] >> 3) & 0xF,
        recDes=data[2] & 1,
        rCode=C.EFORMAT,
    )
    return m


class DNSController(Protocol):
    """What the protocols hand queries to: a server factory or a resolver."""

    def messageReceived(self, message: Message, protocol: Any, address: Any = None) -> None: ...


#: A UDP peer: ``(host, port)``.
Address = tuple[str, int]


class DNSMixin:
    """
    Query bookkeeping shared by the UDP and TCP protocols.

    :ivar liveMessages: id -> (Deferred, timeout call, address asked) for
        queries awaiting an answer.
    """

    transport: Any = None
    #: The RD bit of queries sent (an iterative resolver clears it).
    recDes = 1

    def __init__(self, controller: DNSController, reactor: TimeReactor | None = None) -> None:
        self.controller = controller
        self._givenReactor = reactor
        #: What the controller answers from without Message objects (a server
        #: made of in-memory zones), decided when the controller was built.
        self._zones: Zones | None = getattr(controller, "zones", None)
        self.liveMessages: dict[int, tuple[Deferred[Message], Any, Any]] = {}
        #: id -> the questions asked, which an answer must repeat (if it has any).
        self._questions: dict[int, list[Query]] = {}

    def pickID(self) -> int:
        """:return: an unpredictable transaction id not in use on this protocol."""
        while True:
            i = secrets.randbits(16)
            if i not in self.liveMessages:
                return i

    def callLater(self, period: float, func: Callable[..., object], *args: Any) -> Any:
        """Schedule ``func`` on this protocol's reactor."""
        return getReactor(self._givenReactor).callLater(period, func, *args)

    def _query(
        self,
        queries: list[Query],
        timeout: float,
        id: int,
        writeMessage: Callable[[Message], None],
        address: Any = None,
    ) -> Deferred[Message]:
        m = Message(id, recDes=self.recDes)
        m.queries = list(queries)
        try:
            writeMessage(m)
        except Exception:
            return fail()
        d: Deferred[Message] = Deferred()
        call = self.callLater(timeout, self._clearFailed, d, id)
        self.liveMessages[id] = (d, call, address)
        self._questions[id] = m.queries
        return d

    def _clearFailed(self, deferred: Deferred[Message], id: int) -> None:
        self.liveMessages.pop(id, None)
        self._questions.pop(id, None)
        deferred.errback(DNSQueryTimeoutError(id))

    def _answerReceived(self, m: Message, address: Any) -> bool:
        """
        Fire the query waiting for ``m``, if it is one of ours.

        An answer whose id is unknown, that came from another address than
        the one asked, or that repeats another question is not ours: an
        off-path spoofer must guess the port and the id (Twisted issue 12696
        accepted answers from any address). Error answers may omit the question.

        :return: whether ``m`` answered a live query.
        """
        live = self.liveMessages.get(m.id)
        if live is None:
            return False
        d, call, asked = live
        verdict = matchAnswer(asked, self._questions.get(m.id, ()), address, m.queries)
        if verdict is not Match.OURS:
            log.debug(
                "Ignoring DNS answer from {address}: {verdict}",
                address=address,
                verdict=verdict.value,
            )
            return True
        del self.liveMessages[m.id]
        self._questions.pop(m.id, None)
        if call.active():
            call.cancel()
        d.callback(m)
        return True

    def _failAll(self, reason: BaseException) -> None:
        live, self.liveMessages = self.liveMessages, {}
        self._questions = {}
        for d, call, _ in live.values():
            if call.active():
                call.cancel()
            d.errback(reason)


class DNSDatagramProtocol(DNSMixin, protocol.DatagramProtocol):
    """
    DNS over UDP, for clients and servers.

    Answers to our queries are matched by id and source address; queries
    go to ``controller.messageReceived(message, self, address)``. A query
    that cannot be decoded gets FORMERR when the controller wants to answer
    (``controller.badMessageReceived`` exists); anything else bad is dropped.
    """

    def stopProtocol(self) -> None:
        self._failAll(DNSQueryTimeoutError(None))
        self.transport = None

    def startListening(self) -> None:
        """Listen on a random UDP port (for a client with no transport yet)."""
        reactor = cast("ClientReactor", getReactor(self._givenReactor))
        reactor.listenUDP(0, self, maxPacketSize=65535)

    def writeMessage(self, message: Message, address: Address) -> None:
        """Send ``message`` to ``address`` (truncated to its ``maxSize``)."""
        self.transport.write(message.toStr(), address)

    def datagramReceived(self, datagram: bytes, addr: Address) -> None:
        zones = self._zones
        if zones is not None:
            try:
                out = respond(datagram, zones)
            except Exception:
                log.failure("Answering from the zones failed")
                out = NEEDS_RESOLVER
            if out is not NEEDS_RESOLVER:
                self.transport.write(out, addr)
                return
        try:
            m = Message.fromBytes(datagram)
        except DNSDecodeError as e:
            log.debug("Dropping bad DNS datagram from {addr}: {e}", addr=addr, e=e)
            reply = _formatErrorFor(datagram)
            handler = getattr(self.controller, "badMessageReceived", None)
            if reply is not None and handler is not None:
                handler(reply, self, addr)
            return
        if m.answer:
            self._answerReceived(m, addr)
            return
        self.controller.messageReceived(m, self, addr)

    def removeResend(self, id: int) -> None:
        """Forget a query id (Twisted API; glisten keeps no resend table)."""
        self.liveMessages.pop(id, None)

    def query(
        self, address: Address, queries: list[Query], timeout: float = 10, id: int | None = None
    ) -> Deferred[Message]:
        """
        Send ``queries`` to ``address`` and wait for the answer.

        :return: a Deferred firing with the answer :class:`Message`, or
            failing with :class:`~glisten.names.error.DNSQueryTimeoutError`.
        """
        if self.transport is None:
            self.startListening()
        if id is None:
            id = self.pickID()

        def writeMessage(m: Message) -> None:
            self.writeMessage(m, address)

        return self._query(queries, timeout, id, writeMessage, _canonicalAddress(address))


class DNSProtocol(DNSMixin, TimeoutMixin, protocol.Protocol):
    """
    DNS over TCP: each message preceded by its 2-octet length (RFC 1035 4.2.2).

    A connection that goes :data:`TCP_IDLE_TIMEOUT` seconds without completing
    a message is closed, so a length prefix followed by nothing cannot hold
    it (or anything else) forever.
    """

    idleTimeout = TCP_IDLE_TIMEOUT
    #: Messages of one read handled in one go before the connection yields to the others:
    #: reading pauses and the rest wait for the reactor's next turn, so one client's
    #: megabyte of pipelined queries cannot stall every other client (issue 29).
    maxMessagesPerTurn = 64
    _nextTurn: Any = None
    _readingPaused = False

    def __init__(self, controller: DNSController, reactor: TimeReactor | None = None) -> None:
        super().__init__(controller, reactor)
        self._framer = LengthPrefixed()
        self._answerRoute: Callable[[Message, Address | None], object] | None = None

    def routeAnswers(self, handler: Callable[[Message, Address | None], object]) -> None:
        """
        Hand every answer received from now on to ``handler(message, None)``
        instead of matching it to one query (a zone transfer is many messages).
        """
        self._answerRoute = handler

    def callLater(self, period: float, func: Callable[..., object], *args: Any) -> Any:
        """Schedule ``func`` on this protocol's reactor (queries and the idle timeout)."""
        return getReactor(self._givenReactor).callLater(period, func, *args)

    def timeoutConnection(self) -> None:
        """Idle too long: drop the connection at once."""
        if self.transport is not None:
            log.debug("Closing idle DNS TCP connection")
            abort = getattr(self.transport, "abortConnection", None)
            if abort is not None:
                abort()
            else:
                self.transport.loseConnection()

    def connectionMade(self) -> None:
        self.setTimeout(self.idleTimeout)
        made = getattr(self.controller, "connectionMade", None)
        if made is not None:
            made(self)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.setTimeout(None)
        call, self._nextTurn = self._nextTurn, None
        if call is not None and call.active():
            call.cancel()
        lost = getattr(self.controller, "connectionLost", None)
        if lost is not None:
            lost(self)
        self._failAll(reason.value if hasattr(reason, "value") else ConnectionError())
        self.transport = None

    def writeMessage(self, message: Message) -> None:
        """Send ``message`` with its length prefix (never truncated below 64 KiB)."""
        self.transport.write(frame(message._toWire(65535)))

    def dataReceived(self, data: bytes) -> None:
        if self._nextTurn is not None:
            # Messages wait for the next turn already: these go behind them.
            self._framer.feed(data, 0)
            return
        self._messagesReceived(self._framer.feed(data, self.maxMessagesPerTurn))
        if self.transport is not None and self._framer.complete:
            if not self._readingPaused:
                self._readingPaused = True
                self.transport.pauseProducing()
            self._nextTurn = self.callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        self._nextTurn = None
        if self.transport is None:
            return
        self.dataReceived(b"")
        if self._readingPaused and self._nextTurn is None and self.transport is not None:
            self._readingPaused = False
            self.transport.resumeProducing()

    def _messagesReceived(self, messages: list[bytes]) -> None:
        zones = self._zones
        for raw in messages:
            if self.transport is None:
                return
            self.resetTimeout()
            if zones is not None:
                try:
                    out = respond(raw, zones, tcp=True)
                except Exception:
                    log.failure("Answering from the zones failed")
                    out = NEEDS_RESOLVER
                if out is not NEEDS_RESOLVER:
                    self.transport.write(frame(out))
                    continue
            try:
                m = Message.fromBytes(raw)
            except DNSDecodeError as e:
                log.debug("Bad DNS message over TCP: {e}", e=e)
                reply = _formatErrorFor(raw)
                handler = getattr(self.controller, "badMessageReceived", None)
                if reply is not None and handler is not None:
                    handler(reply, self, None)
                    continue
                # A stream we cannot parse cannot be trusted to stay framed: nothing more
                # of it is read.
                self._framer = LengthPrefixed()
                self.transport.loseConnection()
                return
            if m.answer:
                if self._answerRoute is None:
                    self._answerReceived(m, None)
                else:
                    self._answerRoute(m, None)
            else:
                self.controller.messageReceived(m, self)

    def query(
        self, queries: list[Query], timeout: float = 60, id: int | None = None
    ) -> Deferred[Message]:
        """
        Send ``queries`` over this connection and wait for the answer.

        :return: a Deferred firing with the answer :class:`Message`.
        """
        if id is None:
            id = self.pickID()
        self.resetTimeout()
        return self._query(queries, timeout, id, self.writeMessage)
