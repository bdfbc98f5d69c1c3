"""
A DNS server (Twisted's ``twisted.names.server``).

One :class:`DNSServerFactory` serves TCP (it is a protocol factory) and UDP
(wrap it in :class:`~glisten.names.dns.DNSDatagramProtocol`)::

    factory = server.DNSServerFactory(authorities=[authority.BindAuthority("example.zone")])
    reactor.listenUDP(53, dns.DNSDatagramProtocol(factory))
    reactor.listenTCP(53, factory)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from glisten.internet import protocol
from glisten.internet.defer import Deferred, maybeDeferred
from glisten.internet.defer import TimeoutError as DeferTimeoutError
from glisten.internet.interfaces import IAddress
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.names import error, resolve
from glisten.names._protocol import DNSDatagramProtocol, DNSProtocol
from glisten.names._wire import _constants as C
from glisten.names._wire._framing import frame
from glisten.names._wire._message import MAX_UDP_PAYLOAD, Message, RRHeader
from glisten.names._wire._zones import Zones
from glisten.names.authority import FileAuthority, NameNotInZone
from glisten.names.common import QueryResolver, Result, TimeReactor
from glisten.python.failure import Failure

__all__ = ["DNSServerFactory"]

log = Logger()

#: The protocols a server answers through.
ServerProtocol = DNSDatagramProtocol | DNSProtocol
#: Where a UDP query came from; ``None`` over TCP.
Address = tuple[str, int] | None

#: Records per message when a zone transfer is split over several messages.
AXFR_RECORDS_PER_MESSAGE = 100


class DNSServerFactory(protocol.ServerFactory):
    """
    Answers queries from a chain of resolvers: authorities first, then
    caches, then clients (upstream servers, which make it recursive).

    :ivar resolver: the :class:`~glisten.names.resolve.ResolverChain` asked.
    :ivar canRecurse: whether clients were given (sets RA in answers).
    :ivar cache: the last cache given, which learns non-authoritative answers.
    :ivar connections: the TCP protocols connected now.

    There is one way to answer from in-memory zones:
    :func:`~glisten.names._wire._respond.respond` over :attr:`zones` (built
    once, here), which the UDP and TCP protocols call first for every
    message. What it leaves (other query shapes, names outside the zones,
    zone transfers, answers to truncate) goes through :meth:`messageReceived`
    and the resolver chain, Deferreds and all.

    :ivar zones: the :class:`~glisten.names._wire._zones.Zones` answered
        from, or ``None``.
    """

    protocol = DNSProtocol

    #: Seconds a response from the zones is reused for queries with the same
    #: octets but the id; 0 turns that off.
    answerCacheLifetime = 1.0
    #: Seconds an encoded answer from the zones is kept at most (it is dropped
    #: at once when a zone says it changed; this bounds how stale an answer
    #: gets after a record list is edited in place).
    zoneAnswerLifetime = 1.0
    #: Whether queries for names in the zones are answered by
    #: :func:`~glisten.names._wire._respond.respond`, without the per-query
    #: hooks (``messageReceived``, ``allowQuery``, ``handleQuery``,
    #: ``gotResolverResponse``, ``gotResolverError``, ``sendReply``). A
    #: subclass overriding one of those hooks gets ``False`` unless it sets
    #: this itself, so a ported Twisted subclass (an ``allowQuery`` access
    #: list, say) sees every query as it did with Twisted. Like ``verbose``
    #: (a logging factory answers everything the long way), it is read once,
    #: when the factory is built: hooks patched onto an instance later are
    #: not seen.
    answerFromZones = True

    _QUERY_HOOKS = (
        "messageReceived",
        "allowQuery",
        "handleQuery",
        "gotResolverResponse",
        "gotResolverError",
        "sendReply",
    )

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "answerFromZones" not in cls.__dict__ and any(
            h in cls.__dict__ for h in cls._QUERY_HOOKS
        ):
            cls.answerFromZones = False

    def __init__(
        self,
        authorities: Sequence[QueryResolver] | None = None,
        caches: Sequence[QueryResolver] | None = None,
        clients: Sequence[QueryResolver] | None = None,
        verbose: int = 0,
        reactor: TimeReactor | None = None,
    ) -> None:
        resolvers: list[Any] = []
        if authorities:
            resolvers.extend(authorities)
        if caches:
            resolvers.extend(caches)
        if clients:
            resolvers.extend(clients)
        self.canRecurse = bool(clients)
        self.resolver = resolve.ResolverChain(resolvers)
        self.verbose = verbose
        # Any cache with Twisted's cacheResult/cacheNegative will do.
        self.cache: Any = caches[-1] if caches else None
        self.connections: list[DNSProtocol] = []
        self._givenReactor = reactor
        self.zones = self._zonesFor(list(authorities or ()))

    def _zonesFor(self, authorities: list[QueryResolver]) -> Zones | None:
        """
        Decide, once, what :func:`~glisten.names._wire._respond.respond`
        answers from: the in-memory zones at the head of the authorities
        (up to the first authority of another kind), or nothing when the
        factory logs queries or its class turned :attr:`answerFromZones` off.
        """
        if not self.answerFromZones or self.verbose:
            return None
        plain: list[FileAuthority] = []
        for a in authorities:
            if not (isinstance(a, FileAuthority) and a.answersFromZone):
                break
            plain.append(a)
        if not plain:
            return None
        given = self._givenReactor
        zones = Zones(
            [a._wireAnswer for a in plain],
            self._seconds if given is None else given.seconds,
            recursionAvailable=self.canRecurse,
            lifetime=self.zoneAnswerLifetime,
            responseLifetime=self.answerCacheLifetime,
        )
        for a in plain:
            a._addChangeListener(zones.changed)
        return zones

    def _seconds(self) -> float:
        return float(getReactor(self._givenReactor).seconds())

    def buildProtocol(self, addr: IAddress | None) -> DNSProtocol:
        p = self.protocol(self, self._givenReactor)
        p.factory = self
        return p

    def connectionMade(self, protocol: DNSProtocol) -> None:
        """Track a TCP connection."""
        self.connections.append(protocol)

    def connectionLost(self, protocol: DNSProtocol) -> None:
        """Forget a TCP connection."""
        if protocol in self.connections:
            self.connections.remove(protocol)

    # -- replies

    def sendReply(self, protocol: ServerProtocol, message: Message, address: Address) -> None:
        """
        Send ``message`` over TCP (``address`` is ``None``) or UDP.

        A reply that cannot be encoded (a record set up in code with an
        invalid name, say) is logged once and replaced by SERVFAIL, so the
        client is told rather than left waiting.
        """
        if self.verbose > 1:
            log.info("Replying {message} to {address}", message=message, address=address)
        self._repliesSent += 1
        try:
            self._sendReply(protocol, message, address)
        except Exception:
            log.failure("Cannot encode the answer to {queries}", queries=message.queries)
            self._sendReply(
                protocol,
                self._responseFromMessage(message, C.ESERVER),
                address,
            )

    #: Replies sent so far, so a failure after a reply is not answered twice.
    _repliesSent = 0

    def _answerFailed(
        self,
        failure: Failure,
        message: Message,
        protocol: ServerProtocol,
        address: Address,
        sent: int,
    ) -> None:
        """
        Something raised while answering ``message``: log it once and, unless
        a reply already went out, answer SERVFAIL (a query never goes unanswered).
        """
        log.failure("Unexpected error answering {query}", failure, query=message.queries)
        if self._repliesSent != sent:
            return
        try:
            self.sendReply(protocol, self._responseFromMessage(message, C.ESERVER), address)
        except Exception:
            log.failure("Cannot send SERVFAIL for {query}", query=message.queries)

    def _sendReply(self, protocol: ServerProtocol, message: Message, address: Address) -> None:
        if address is None:
            cast(DNSProtocol, protocol).writeMessage(message)
        else:
            cast(DNSDatagramProtocol, protocol).writeMessage(message, address)

    def _responseFromMessage(self, message: Message, rCode: int = C.OK, **kw: Any) -> Message:
        r = Message.__new__(Message)
        r.id = message.id
        r.answer = 1
        r.opCode = message.opCode
        r.recDes = message.recDes
        r.recAv = int(self.canRecurse)
        r.auth = 0
        r.rCode = rCode
        r.trunc = 0
        r.authenticData = 0
        r.checkingDisabled = message.checkingDisabled
        r.queries = message.queries
        r.answers = []
        r.authority = []
        r.additional = []
        r.ednsOptions = []
        if message.ednsVersion is not None:
            r.ednsVersion = 0
            r.dnssecOK = message.dnssecOK
            r.maxSize = min(message.maxSize, MAX_UDP_PAYLOAD)
        else:
            r.ednsVersion = None
            r.dnssecOK = False
            r.maxSize = 512
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    def badMessageReceived(
        self, reply: Message, protocol: ServerProtocol, address: Address
    ) -> None:
        """Answer a query that could not be decoded (FORMERR, prepared by the protocol)."""
        self.sendReply(protocol, reply, address)

    # -- dispatch

    def messageReceived(
        self, message: Message, proto: ServerProtocol, address: Address = None
    ) -> None:
        """
        Answer one message received over UDP or TCP.

        Whatever a hook or resolver raises, the client gets an answer
        (SERVFAIL) and the error is logged once.
        """
        if message.answer:
            return
        sent = self._repliesSent
        try:
            self._dispatch(message, proto, address)
        except Exception:
            self._answerFailed(Failure(), message, proto, address, sent)

    def _dispatch(self, message: Message, proto: Any, address: Any) -> None:
        if self.verbose:
            log.info("Query {queries} from {address}", queries=message.queries, address=address)
        if not self.allowQuery(message, proto, address):
            self.sendReply(proto, self._responseFromMessage(message, C.EREFUSED), address)
            return
        if message.ednsVersion is not None and message.ednsVersion > 0:
            self.sendReply(proto, self._responseFromMessage(message, C.EBADVERSION), address)
            return
        op = message.opCode
        if op == C.OP_QUERY:
            self.handleQuery(message, proto, address)
        elif op == C.OP_INVERSE:
            self.handleInverseQuery(message, proto, address)
        elif op == C.OP_STATUS:
            self.handleStatus(message, proto, address)
        elif op == C.OP_NOTIFY:
            self.handleNotify(message, proto, address)
        else:
            self.handleOther(message, proto, address)

    def allowQuery(self, message: Message, protocol: ServerProtocol, address: Address) -> bool:
        """:return: whether to answer; answers must hold exactly one question (RFC 9619)."""
        return len(message.queries) == 1

    def allowTransfer(self, message: Message, protocol: ServerProtocol) -> bool:
        """
        :return: whether to send this TCP client a zone transfer. Every client
            may, as with Twisted; override (``protocol.transport.getPeer()``
            tells who asks) to restrict transfers.
        """
        return True

    def handleQuery(self, message: Message, protocol: ServerProtocol, address: Address) -> None:
        """Look the question up and reply."""
        query = message.queries[0]
        if query.type in (C.AXFR, C.IXFR):
            if address is not None:
                # Zone transfers only over TCP (RFC 5936 4.2).
                self.sendReply(protocol, self._responseFromMessage(message, C.EREFUSED), address)
                return
            self._transferZone(message, protocol)
            return
        d = maybeDeferred(self.resolver.query, query)
        d.addBoth(self._resolved, protocol, message, address)

    def _resolved(
        self, result: Any, protocol: ServerProtocol, message: Message, address: Address
    ) -> None:
        """Hand the resolver's answer (or failure) to the Twisted hooks; never leave it unanswered."""
        sent = self._repliesSent
        try:
            if isinstance(result, Failure):
                self.gotResolverError(result, protocol, message, address)
            else:
                self.gotResolverResponse(result, protocol, message, address)
        except Exception:
            self._answerFailed(Failure(), message, protocol, address, sent)

    def gotResolverResponse(
        self, response: Result, protocol: ServerProtocol, message: Message, address: Address
    ) -> None:
        """Reply with the resolver's (answers, authority, additional)."""
        ans, auth, add = response
        r = self._responseFromMessage(message)
        r.answers = list(ans)
        r.authority = list(auth)
        r.additional = list(add)
        # Authoritative when every record is: referrals (NS with auth unset)
        # and answers from caches or upstream servers are not.
        r.auth = int(
            bool(r.answers or r.authority)
            and all(x.auth for x in r.answers)
            and all(x.auth for x in r.authority)
        )
        self.sendReply(protocol, r, address)
        if self.cache is not None and not r.auth and (r.answers or r.authority):
            self.cache.cacheResult(message.queries[0], response)

    def gotResolverError(
        self, failure: Failure, protocol: ServerProtocol, message: Message, address: Address
    ) -> None:
        """Reply with the response code the failure stands for."""
        e = failure.value
        r = self._responseFromMessage(message)
        if isinstance(e, NameNotInZone):
            r.rCode = C.ENAME
            r.auth = 1
            r.answers = list(e.answers)
            r.authority = list(e.authority)
        elif isinstance(e, error.AuthoritativeDomainError | error.DNSNameError):
            r.rCode = C.ENAME
            r.auth = int(isinstance(e, error.AuthoritativeDomainError))
            upstream = e.args[0] if e.args and isinstance(e.args[0], Message) else None
            if upstream is not None:
                # NXDOMAIN from upstream or the cache: pass on the CNAMEs and SOA.
                r.answers = list(upstream.answers)
                r.authority = list(upstream.authority)
                if self.cache is not None and not isinstance(e, error.AuthoritativeDomainError):
                    self.cache.cacheNegative(message.queries[0], upstream)
        elif isinstance(e, NotImplementedError | error.DNSNotImplementedError):
            r.rCode = C.ENOTIMP
        elif type(e) is error.DomainError:
            # No resolver in the chain is responsible for the name.
            r.rCode = C.EREFUSED
        elif isinstance(e, error.DomainError | DeferTimeoutError):
            r.rCode = C.ESERVER
        else:
            log.failure("Unexpected error answering {query}", failure, query=message.queries)
            r.rCode = C.ESERVER
        self.sendReply(protocol, r, address)

    def _transferZone(self, message: Message, protocol: ServerProtocol) -> None:
        query = message.queries[0]
        if not self.allowTransfer(message, protocol):
            self.sendReply(protocol, self._responseFromMessage(message, C.EREFUSED), None)
            return
        # Only our own zones are transferred: never pass an AXFR on to an
        # upstream server. IXFR is answered with the whole zone (RFC 1995 4).
        for r in self.resolver.resolvers:
            soa = getattr(r, "soa", None)
            if isinstance(r, FileAuthority) and soa is not None and soa[0] == query.name._key:
                d: Deferred[Result] = r.lookupZone(query.name.name)
                break
        else:
            self.sendReply(protocol, self._responseFromMessage(message, C.EREFUSED), None)
            return

        def send(result: Result) -> None:
            records = list(result[0])
            if not records:
                self.sendReply(protocol, self._responseFromMessage(message, C.EREFUSED), None)
                return
            for i in range(0, len(records), AXFR_RECORDS_PER_MESSAGE):
                self._sendChunk(protocol, message, records[i : i + AXFR_RECORDS_PER_MESSAGE])

        def failed(failure: Failure) -> None:
            # Not our zone: refuse rather than claim it does not exist.
            r = self._responseFromMessage(message, C.EREFUSED)
            if isinstance(failure.value, NotImplementedError):
                r.rCode = C.ENOTIMP
            self.sendReply(protocol, r, None)

        sent = self._repliesSent
        d.addCallbacks(send, failed).addErrback(self._answerFailed, message, protocol, None, sent)

    def _sendChunk(
        self, protocol: ServerProtocol, message: Message, records: list[RRHeader]
    ) -> None:
        r = self._responseFromMessage(message, auth=1)
        r.answers = records
        data = r._toWire(65535)
        if r.trunc and len(records) > 1:
            half = len(records) // 2
            self._sendChunk(protocol, message, records[:half])
            self._sendChunk(protocol, message, records[half:])
            return
        self._repliesSent += 1
        protocol.transport.write(frame(data))

    def _notImplemented(self, message: Message, protocol: ServerProtocol, address: Address) -> None:
        self.sendReply(protocol, self._responseFromMessage(message, C.ENOTIMP), address)

    def handleInverseQuery(
        self, message: Message, protocol: ServerProtocol, address: Address
    ) -> None:
        """Inverse queries are obsolete (RFC 3425): NOTIMP."""
        self._notImplemented(message, protocol, address)

    def handleStatus(self, message: Message, protocol: ServerProtocol, address: Address) -> None:
        """STATUS is not implemented: NOTIMP."""
        self._notImplemented(message, protocol, address)

    def handleNotify(self, message: Message, protocol: ServerProtocol, address: Address) -> None:
        """
        A primary says a zone changed (RFC 1996): when the zone is one of our
        secondaries and the NOTIFY comes from its primary, acknowledge it and
        check the serial now; otherwise REFUSED.
        """
        from glisten.names.secondary import SecondaryAuthority

        source: str | None
        if address is not None:
            source = address[0]
        else:
            source = getattr(protocol.transport.getPeer(), "host", None)
        qname = message.queries[0].name._key
        for r in self.resolver.resolvers:
            if isinstance(r, SecondaryAuthority) and r.domain.lower() == qname:
                if r.primary == source:
                    self.sendReply(protocol, self._responseFromMessage(message, auth=1), address)
                    r.notified()
                    return
        self.sendReply(protocol, self._responseFromMessage(message, C.EREFUSED), address)

    def handleOther(self, message: Message, protocol: ServerProtocol, address: Address) -> None:
        """Any other opcode: NOTIMP."""
        self._notImplemented(message, protocol, address)
