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
from typing import Any

from glisten.internet import protocol
from glisten.internet.defer import Deferred, fail
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names import _constants as C
from glisten.names._message import Message, Query
from glisten.names._name import DNSDecodeError
from glisten.names.error import DNSQueryTimeoutError

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


class DNSMixin:
    """
    Query bookkeeping shared by the UDP and TCP protocols.

    :ivar liveMessages: id -> (Deferred, timeout call, address asked) for
        queries awaiting an answer.
    """

    transport: Any = None
    #: The RD bit of queries sent (an iterative resolver clears it).
    recDes = 1

    def __init__(self, controller: Any, reactor: Any = None) -> None:
        self.controller = controller
        self._givenReactor = reactor
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
        if asked is not None and (address is None or tuple(address[:2]) != tuple(asked[:2])):
            log.debug(
                "Ignoring DNS answer from {address}: asked {asked}", address=address, asked=asked
            )
            return True
        if m.queries and m.queries != self._questions.get(m.id):
            log.debug("Ignoring DNS answer to another question from {address}", address=address)
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
        getReactor(self._givenReactor).listenUDP(0, self, maxPacketSize=65535)

    def writeMessage(self, message: Message, address: Any) -> None:
        """Send ``message`` to ``address`` (truncated to its ``maxSize``)."""
        self.transport.write(message.toStr(), address)

    #: The datagram being answered, while the controller answers it synchronously.
    _current: bytes | None = None

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        cache = getattr(self.controller, "answerCache", None)
        if cache is not None:
            hit = cache.get(datagram)
            if hit is not None:
                self.transport.write(hit, addr)
                return
        fast = getattr(self.controller, "_fastUDPReply", None)
        if (
            fast is not None
            and type(self).writeMessage is DNSDatagramProtocol.writeMessage
            and fast(datagram, self, addr)
        ):
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
        self._current = datagram
        try:
            self.controller.messageReceived(m, self, addr)
        finally:
            self._current = None

    def removeResend(self, id: int) -> None:
        """Forget a query id (Twisted API; glisten keeps no resend table)."""
        self.liveMessages.pop(id, None)

    def query(
        self, address: Any, queries: list[Query], timeout: float = 10, id: int | None = None
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


class DNSProtocol(DNSMixin, protocol.Protocol):
    """
    DNS over TCP: each message preceded by its 2-octet length (RFC 1035 4.2.2).

    A connection that goes :data:`TCP_IDLE_TIMEOUT` seconds without completing
    a message is closed, so a length prefix followed by nothing cannot hold
    it (or anything else) forever.
    """

    idleTimeout = TCP_IDLE_TIMEOUT

    def __init__(self, controller: Any, reactor: Any = None) -> None:
        super().__init__(controller, reactor)
        self._buffer = bytearray()
        self._idleCall: Any = None

    def _resetIdle(self) -> None:
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.reset(self.idleTimeout)
        else:
            self._idleCall = self.callLater(self.idleTimeout, self._idleExpired)

    def _idleExpired(self) -> None:
        self._idleCall = None
        if self.transport is not None:
            log.debug("Closing idle DNS TCP connection")
            abort = getattr(self.transport, "abortConnection", None)
            if abort is not None:
                abort()
            else:
                self.transport.loseConnection()

    def connectionMade(self) -> None:
        self._resetIdle()
        made = getattr(self.controller, "connectionMade", None)
        if made is not None:
            made(self)

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None
        lost = getattr(self.controller, "connectionLost", None)
        if lost is not None:
            lost(self)
        self._failAll(reason.value if hasattr(reason, "value") else ConnectionError())
        self.transport = None

    def writeMessage(self, message: Message) -> None:
        """Send ``message`` with its length prefix (never truncated below 64 KiB)."""
        data = message._toWire(65535)
        self.transport.write(len(data).to_bytes(2, "big") + data)

    def dataReceived(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        while len(buf) >= 2:
            n = (buf[0] << 8) | buf[1]
            if len(buf) < n + 2:
                return
            raw = bytes(buf[2 : n + 2])
            del buf[: n + 2]
            self._resetIdle()
            m = Message()
            try:
                m.fromStr(raw)
            except DNSDecodeError as e:
                log.debug("Bad DNS message over TCP: {e}", e=e)
                reply = _formatErrorFor(raw)
                handler = getattr(self.controller, "badMessageReceived", None)
                if reply is not None and handler is not None:
                    handler(reply, self, None)
                    continue
                # A stream we cannot parse cannot be trusted to stay framed.
                if self.transport is not None:
                    self.transport.loseConnection()
                return
            if m.answer:
                self._answerReceived(m, None)
            else:
                self.controller.messageReceived(m, self)
            if self.transport is None:
                return

    def query(
        self, queries: list[Query], timeout: float = 60, id: int | None = None
    ) -> Deferred[Message]:
        """
        Send ``queries`` over this connection and wait for the answer.

        :return: a Deferred firing with the answer :class:`Message`.
        """
        if id is None:
            id = self.pickID()
        self._resetIdle()
        return self._query(queries, timeout, id, self.writeMessage)
