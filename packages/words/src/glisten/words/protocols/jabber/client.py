"""XMPP clients (RFC 6120): :func:`XMPPClientFactory` builds a stream factory whose
authenticator runs STARTTLS (required, verifying the server), SASL, resource binding and,
when the server still asks for it, session establishment.

Connect it with :class:`XMPPClientConnector` (the domain's ``_xmpp-client._tcp`` SRV
records through a resolver you pass, else the domain on port 5222), or to a known server
yourself (``connectTCP(host, 5222, factory)`` or an endpoint). Observe
``xmlstream.STREAM_AUTHD_EVENT`` to start sending stanzas and ``xmlstream.INIT_FAILED_EVENT``
for failures.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Sequence
from typing import Any

import idna
from zope.interface import implementer

from glisten.internet import defer
from glisten.internet import error as ierror
from glisten.internet.address import HostnameAddress
from glisten.internet.interfaces import IConnector, ISSLTransport
from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory
from glisten.python.failure import Failure
from glisten.words.protocols.jabber import error, sasl, sm, xmlstream
from glisten.words.protocols.jabber import jid as jidmod
from glisten.words.xish import domish, xpath

__all__ = [
    "NS_IQ_AUTH",
    "NS_IQ_AUTH_FEATURE",
    "NS_XMPP_BIND",
    "NS_XMPP_SESSION",
    "BasicAuthenticator",
    "BindInitializer",
    "CheckVersionInitializer",
    "DigestAuthQry",
    "IQ",
    "IQAuthInitializer",
    "PlaintextAuthQry",
    "PlaintextPasswordRefused",
    "SessionInitializer",
    "XMPPAuthenticator",
    "XMPPClientConnector",
    "XMPPClientFactory",
    "basicClientFactory",
    "orderServers",
]

NS_XMPP_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_XMPP_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
#: Legacy (non-SASL) authentication, XEP-0078.
NS_IQ_AUTH = "jabber:iq:auth"
#: The stream feature a server advertises when it offers XEP-0078.
NS_IQ_AUTH_FEATURE = "http://jabber.org/features/iq-auth"

#: Matches a server's answer to the fields query that accepts a digest.
DigestAuthQry = xpath.internQuery("/iq/query/digest")
#: Matches a server's answer to the fields query that accepts a password in clear.
PlaintextAuthQry = xpath.internQuery("/iq/query/password")


class IQ(domish.Element):
    """Twisted's older IQ helper: register callbacks with :meth:`addCallback` (called with
    the answer, result or error), then :meth:`send`. New code uses
    :class:`glisten.words.protocols.jabber.xmlstream.IQ`, whose ``send`` returns a Deferred.

    :param xmlstream: the stream.
    :param type: ``get`` or ``set``.
    """

    def __init__(self, xmlstream: Any, type: str = "set") -> None:
        domish.Element.__init__(self, ("jabber:client", "iq"))
        self.addUniqueId()
        self["type"] = type
        self._xmlstream = xmlstream
        self.callbacks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def addCallback(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, answer, **kwargs)`` when the answer arrives (the extra arguments
        first, as in Twisted)."""
        self.callbacks.append((fn, args, kwargs))

    def send(self, to: str | None = None) -> None:
        """Send the request; answers are matched by id, from the addressee."""
        if to is not None:
            self["to"] = to
        request = xmlstream.IQ(self._xmlstream, self["type"])
        request.attributes = dict(self.attributes)
        request.children = self.children
        d = request.send()

        def answered(answer: domish.Element) -> None:
            for fn, args, kwargs in self.callbacks:
                fn(*args, answer, **kwargs)

        def failed(f: Any) -> None:
            stanza = getattr(f.value, "stanza", None)
            if stanza is not None:
                answered(stanza)

        d.addCallbacks(answered, failed)


class CheckVersionInitializer:
    """Refuses a stream older than XMPP 1.0 (``unsupported-version``)."""

    def __init__(self, xs: xmlstream.XmlStream) -> None:
        self.xmlstream = xs

    def initialize(self) -> None:
        if self.xmlstream.version < (1, 0):
            raise error.StreamError("unsupported-version")


class BindInitializer(xmlstream.BaseFeatureInitiatingInitializer):
    """Binds a resource (RFC 6120 section 7): the authenticator's JID becomes the full JID
    the server assigned."""

    feature = (NS_XMPP_BIND, "bind")

    def start(self) -> defer.Deferred[None]:
        iq = xmlstream.IQ(self.xmlstream, "set")
        bind = iq.addElement((NS_XMPP_BIND, "bind"))
        resource = self.xmlstream.authenticator.jid.resource
        if resource:
            bind.addElement("resource", content=resource)
        return iq.send().addCallback(self.onBind)

    def onBind(self, iq: domish.Element) -> None:
        bound = iq.bind
        if bound is None or bound.jid is None:
            raise error.StanzaError("bad-request", text="the server bound no JID")
        self.xmlstream.authenticator.jid = jidmod.JID(str(bound.jid))
        self.xmlstream.thisEntity = self.xmlstream.authenticator.jid


class SessionInitializer(xmlstream.BaseFeatureInitiatingInitializer):
    """Establishes a session (RFC 3921) when the server advertises it as not optional."""

    feature = (NS_XMPP_SESSION, "session")

    def start(self) -> defer.Deferred[None] | None:
        feature = self.xmlstream.features[self.feature]
        if feature.optional is not None:
            return None
        iq = xmlstream.IQ(self.xmlstream, "set")
        iq.addElement((NS_XMPP_SESSION, "session"))
        return iq.send().addCallback(lambda _: None)


class PlaintextPasswordRefused(Exception):
    """The server takes the password only in clear text, and the stream is not encrypted
    (see :attr:`IQAuthInitializer.allowPlaintextPassword`)."""


class IQAuthInitializer:
    """Legacy authentication (XEP-0078, ``jabber:iq:auth``), for servers that predate SASL
    or keep it for old clients: asks the server which fields it wants, then sends the
    account's user name, the resource and either the digest (SHA-1 of the stream id and the
    password, preferred) or the password.

    Unlike Twisted, the password is never sent in clear text on a stream without TLS unless
    :attr:`allowPlaintextPassword` is set: the attempt fails with
    :class:`PlaintextPasswordRefused` instead. The JID must have a resource: the server binds
    it as part of the login.

    :ivar allowPlaintextPassword: send the password in clear text without TLS (never do this
        outside tests).
    """

    #: Dispatched (with the error stanza) when the server refuses the fields query.
    INVALID_USER_EVENT = "//event/client/basicauth/invaliduser"
    #: Dispatched (with the error stanza) when the server refuses the credentials.
    AUTH_FAILED_EVENT = "//event/client/basicauth/authfailed"
    allowPlaintextPassword = False

    def __init__(self, xs: xmlstream.XmlStream) -> None:
        self.xmlstream = xs

    def initialize(self) -> defer.Deferred[Any]:
        jid = self.xmlstream.authenticator.jid
        if not jid.user or not jid.resource:
            raise ValueError("legacy authentication needs a JID with a user and a resource")
        iq = xmlstream.IQ(self.xmlstream, "get")
        query = iq.addElement((NS_IQ_AUTH, "query"))
        query.addElement("username", content=jid.user)
        d = iq.send()
        d.addCallbacks(self._cbAuthQuery, self._ebAuthQuery)
        return d

    def _overTLS(self) -> bool:
        return ISSLTransport.providedBy(self.xmlstream.transport)

    def _cbAuthQuery(self, iq: domish.Element) -> defer.Deferred[Any]:
        authenticator = self.xmlstream.authenticator
        jid = authenticator.jid
        reply = xmlstream.IQ(self.xmlstream, "set")
        query = reply.addElement((NS_IQ_AUTH, "query"))
        query.addElement("username", content=jid.user)
        query.addElement("resource", content=jid.resource)
        if DigestAuthQry.matches(iq) and self.xmlstream.sid:
            digest = xmlstream.hashPassword(self.xmlstream.sid, authenticator.password)
            query.addElement("digest", content=digest)
        elif self._overTLS() or self.allowPlaintextPassword:
            query.addElement("password", content=authenticator.password)
        else:
            raise PlaintextPasswordRefused(
                "the server wants the password in clear text and the stream is not encrypted"
            )
        d = reply.send()
        d.addCallbacks(self._cbAuth, self._ebAuth)
        return d

    def _ebAuthQuery(self, failure: Failure) -> Failure:
        failure.trap(error.StanzaError)
        stanzaError: Any = failure.value
        if stanzaError.condition == "not-authorized":
            self.xmlstream.dispatch(stanzaError.stanza, self.INVALID_USER_EVENT)
        else:
            self.xmlstream.dispatch(stanzaError.stanza, self.AUTH_FAILED_EVENT)
        return failure

    def _cbAuth(self, iq: domish.Element) -> None:
        # The server bound the resource asked for: the account's full JID is this side's.
        self.xmlstream.thisEntity = self.xmlstream.authenticator.jid

    def _ebAuth(self, failure: Failure) -> Failure:
        failure.trap(error.StanzaError)
        stanzaError: Any = failure.value
        self.xmlstream.dispatch(stanzaError.stanza, self.AUTH_FAILED_EVENT)
        return failure


class _AccountAuthenticator(xmlstream.ConnectAuthenticator):
    """What the client authenticators share: the account, its password and the TLS options.

    :param jid: the account's JID.
    :param password: the password.
    :param configurationForTLS: client TLS options; by default the platform's trust roots
        and the JID's domain as the name to verify.
    """

    namespace = "jabber:client"

    def __init__(self, jid: jidmod.JID, password: str, configurationForTLS: Any = None) -> None:
        xmlstream.ConnectAuthenticator.__init__(self, jid.host)
        self.jid = jid
        self.password = password
        self._configurationForTLS = configurationForTLS


class BasicAuthenticator(_AccountAuthenticator):
    """Logs a client in with legacy authentication (XEP-0078) instead of SASL, for old
    servers: STARTTLS (required and verified by default), then :class:`IQAuthInitializer`.

    Twisted's BasicAuthenticator opened a pre-1.0 stream, which has no STARTTLS; this one
    asks for XMPP 1.0 so that TLS comes first, and still logs in to a server that answers
    with an older stream when ``requireTLS`` is False (then only with the digest, unless
    the initializer's ``allowPlaintextPassword`` is set).

    :param jid: the account's JID, with the resource to bind.
    :param password: the password.
    :param configurationForTLS: client TLS options; by default the platform's trust roots
        and the JID's domain as the name to verify.
    :param requireTLS: fail when the server does not offer STARTTLS.
    """

    def __init__(
        self,
        jid: jidmod.JID,
        password: str,
        configurationForTLS: Any = None,
        requireTLS: bool = True,
    ) -> None:
        _AccountAuthenticator.__init__(self, jid, password, configurationForTLS)
        self.requireTLS = requireTLS

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        xmlstream.ConnectAuthenticator.associateWithStream(self, xs)
        xs.initializers = [
            xmlstream.TLSInitiatingInitializer(
                xs, required=self.requireTLS, configurationForTLS=self._configurationForTLS
            ),
            IQAuthInitializer(xs),
        ]


def basicClientFactory(
    jid: jidmod.JID, secret: str, configurationForTLS: Any = None
) -> xmlstream.XmlStreamFactory:
    """A client stream factory that logs ``jid`` in with legacy authentication
    (:class:`BasicAuthenticator`: STARTTLS required, then XEP-0078).

    :param secret: the password.
    :param configurationForTLS: client TLS options for STARTTLS.
    """
    return xmlstream.XmlStreamFactory(BasicAuthenticator(jid, secret, configurationForTLS))


class XMPPAuthenticator(_AccountAuthenticator):
    """Logs a client in: version check, STARTTLS (required and verified by default), SASL,
    resource binding, session, and optionally stream management.

    :param jid: the account's JID (with the resource to ask for, if any).
    :param password: the password.
    :param configurationForTLS: client TLS options; by default the platform's trust roots
        and the JID's domain as the name to verify.
    :param streamManagement: enable stream management (XEP-0198) and resume the session
        when the factory reconnects (see :mod:`glisten.words.protocols.jabber.sm`).
    :ivar resumed: whether the current stream resumed the previous session.
    """

    def __init__(
        self,
        jid: jidmod.JID,
        password: str,
        configurationForTLS: Any = None,
        streamManagement: bool = False,
    ) -> None:
        _AccountAuthenticator.__init__(self, jid, password, configurationForTLS)
        self.resumed = False
        self.streamManagement = sm.StreamManagementState() if streamManagement else None

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        xmlstream.ConnectAuthenticator.associateWithStream(self, xs)
        xs.initializers = [
            CheckVersionInitializer(xs),
            xmlstream.TLSInitiatingInitializer(
                xs, required=True, configurationForTLS=self._configurationForTLS
            ),
            sasl.SASLInitiatingInitializer(xs, required=True),
            BindInitializer(xs, required=True),
            SessionInitializer(xs, required=False),
        ]
        state = self.streamManagement
        if state is not None:
            xs.initializers.insert(3, sm.ResumeInitializer(xs, state))
            xs.initializers.append(sm.StreamManagementInitializer(xs, state))


def XMPPClientFactory(
    jid: jidmod.JID,
    password: str,
    configurationForTLS: Any = None,
    streamManagement: bool = False,
) -> xmlstream.XmlStreamFactory:
    """:return: a client stream factory that logs ``jid`` in with ``password``.

    :param configurationForTLS: client TLS options for STARTTLS (by default: verify the
        server against the platform's trust roots and the JID's domain).
    :param streamManagement: use XEP-0198 acknowledgements and session resumption.
    """
    authenticator = XMPPAuthenticator(jid, password, configurationForTLS, streamManagement)
    return xmlstream.XmlStreamFactory(authenticator)


#: The DNS type code of SRV records (RFC 2782).
_SRV = 33


def orderServers(records: Sequence[tuple[int, int, str, int]]) -> list[tuple[str, int]]:
    """Order SRV records as RFC 2782 says a client tries them: lowest priority first, and
    within a priority a random order in which each record's chance to come next is
    proportional to its weight (records of weight 0 get a small chance).

    :param records: ``(priority, weight, target, port)`` tuples.
    :return: ``(target, port)`` in the order to try.
    """
    ordered: list[tuple[str, int]] = []
    for priority in sorted({r[0] for r in records}):
        # Weight 0 first, as RFC 2782 asks, then weighted draws without replacement.
        group = sorted((r for r in records if r[0] == priority), key=lambda r: r[1] != 0)
        while group:
            total = sum(r[1] for r in group)
            threshold = random.randint(0, total)
            index = 0
            running = group[0][1]
            while running < threshold:
                index += 1
                running += group[index][1]
            record = group.pop(index)
            ordered.append((record[2], record[3]))
    return ordered


class _AttemptFactory(ClientFactory):
    """Stands between one TCP attempt and the :class:`XMPPClientConnector` that made it, so
    that the XMPP factory only ever sees the connector (and reconnects through it)."""

    def __init__(self, connector: XMPPClientConnector) -> None:
        self.connector = connector

    def buildProtocol(self, addr: Any) -> Any:
        return self.connector._connected(addr)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.connector._attemptFailed(reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.connector._lost(reason)


@implementer(IConnector)
class XMPPClientConnector:
    """Connects an XMPP client factory to the server of a domain, found as RFC 6120 section
    3.2 says: the ``_xmpp-client._tcp`` SRV records of the domain, tried in RFC 2782 order
    until one accepts the connection; without records (or without a resolver) the domain
    itself on ``defaultPort``. A single record whose target is ``.`` means the domain offers
    no XMPP service: the connection fails with a :class:`~glisten.internet.error.DNSLookupError`.

    The factory sees this object as its connector, so a reconnecting factory looks the
    records up again for each new attempt. TLS is verified against the domain, not against
    the SRV target (RFC 6125), which is what :func:`XMPPClientFactory` does.

    :param reactor: the reactor (None: the global one, looked up when connecting).
    :param domain: the domain, usually ``jid.host``.
    :param factory: a client factory, usually from :func:`XMPPClientFactory`.
    :param resolver: an :class:`~glisten.internet.interfaces.IResolver` for the SRV lookup
        (``glisten.names.client.createResolver()``, say); None skips it. glisten-words does
        not depend on glisten-names, so it does not pick one itself.
    :param defaultPort: the port when there are no SRV records.
    :param timeout: seconds each TCP attempt may take.
    """

    service = "xmpp-client"
    protocol = "tcp"

    def __init__(
        self,
        reactor: Any,
        domain: str,
        factory: ClientFactory,
        resolver: Any = None,
        defaultPort: int = 5222,
        timeout: float = 30,
    ) -> None:
        self.reactor = reactor
        self.domain = domain
        self.factory = factory
        self.resolver = resolver
        self.defaultPort = defaultPort
        self.timeout = timeout
        #: The servers still to try in this round, None before the lookup.
        self.servers: list[tuple[str, int]] | None = None
        self.state = "disconnected"
        self._attempt: Any = None
        self._lookup: defer.Deferred[Any] | None = None
        self._destination: tuple[str, int] | None = None
        self._factoryStarted = False

    def _isAddress(self) -> bool:
        try:
            ipaddress.ip_address(self.domain.removeprefix("[").removesuffix("]"))
        except ValueError:
            return False
        return True

    def _asciiDomain(self) -> str:
        if self._isAddress():
            return self.domain.removeprefix("[").removesuffix("]")
        try:
            return idna.encode(self.domain, uts46=True).decode("ascii")
        except idna.IDNAError:
            return self.domain

    def connect(self) -> None:
        """Look the servers up (when needed) and connect to the first that answers."""
        if self.state != "disconnected":
            raise RuntimeError("already connecting or connected")
        self.state = "connecting"
        if not self._factoryStarted:
            self.factory.doStart()
            self._factoryStarted = True
        self.factory.startedConnecting(self)
        if self.servers:
            self._tryNext()
            return
        if self.resolver is None or self._isAddress():
            # An IP address as domain has no SRV records: connect to it (RFC 6120 3.2.1).
            self._gotServers([(self._asciiDomain(), self.defaultPort)])
            return
        name = f"_{self.service}._{self.protocol}.{self._asciiDomain()}"
        lookup = self._lookup = defer.maybeDeferred(self.resolver.lookupService, name)
        lookup.addCallbacks(self._answered, self._unanswered)
        lookup.addErrback(self._failed)

    def _answered(self, result: Any) -> None:
        self._lookup = None
        answers = result[0] if isinstance(result, tuple) else result
        records = []
        for rr in answers:
            if getattr(rr, "type", None) != _SRV:
                continue
            srv = rr.payload
            target = getattr(srv.target, "name", srv.target)
            if isinstance(target, bytes):
                target = target.decode("ascii", "replace")
            records.append((srv.priority, srv.weight, target.rstrip("."), srv.port))
        if len(records) == 1 and not records[0][2]:
            raise ierror.DNSLookupError(
                f"{self.domain} says it offers no {self.service} service (SRV target '.')"
            )
        if not records:
            self._gotServers([(self._asciiDomain(), self.defaultPort)])
        else:
            self._gotServers(orderServers(records))

    def _unanswered(self, reason: Failure) -> None:
        # No records (or no answer): RFC 6120 section 3.2.2, fall back to the domain itself.
        self._lookup = None
        if reason.check(defer.CancelledError):
            raise ierror.UserError()  # stopConnecting() during the lookup
        self._gotServers([(self._asciiDomain(), self.defaultPort)])

    def _gotServers(self, servers: list[tuple[str, int]]) -> None:
        if self.state != "connecting":
            return
        self.servers = servers
        self._tryNext()

    def _tryNext(self) -> None:
        assert self.servers
        host, port = self._destination = self.servers.pop(0)
        reactor = getReactor(self.reactor)
        self._attempt = reactor.connectTCP(host, port, _AttemptFactory(self), self.timeout)

    def _connected(self, addr: Any) -> Any:
        self.state = "connected"
        self.servers = None
        return self.factory.buildProtocol(addr)

    def _attemptFailed(self, reason: Failure) -> None:
        self._attempt = None
        if self.state == "connecting" and self.servers:
            self._tryNext()
            return
        self._failed(reason)

    def _failed(self, reason: Failure) -> None:
        self.servers = None
        self.state = "disconnected"
        self.factory.clientConnectionFailed(self, reason)
        self._stopFactory()

    def _lost(self, reason: Failure) -> None:
        self._attempt = None
        self.state = "disconnected"
        self.factory.clientConnectionLost(self, reason)
        self._stopFactory()

    def _stopFactory(self) -> None:
        if self.state == "disconnected" and self._factoryStarted:
            self._factoryStarted = False
            self.factory.doStop()

    def stopConnecting(self) -> None:
        """Abandon the lookup or the connection attempt in progress."""
        if self.state != "connecting":
            raise ierror.NotConnectingError()
        self.servers = []
        if self._lookup is not None:
            self._lookup.cancel()  # reported to the factory as a UserError
        elif self._attempt is not None:
            self._attempt.stopConnecting()

    def disconnect(self) -> None:
        """Close the connection, or stop connecting."""
        if self.state == "connecting":
            self.stopConnecting()
        elif self.state == "connected" and self._attempt is not None:
            self._attempt.disconnect()

    def getDestination(self) -> HostnameAddress:
        """:return: the server being (or last) connected to, before its name is resolved."""
        host, port = self._destination or (self._asciiDomain(), self.defaultPort)
        return HostnameAddress(host.encode("ascii", "replace"), port)
