"""XMPP streams (RFC 6120): the stream header, features, stream errors and restarts,
authenticators that run a list of initializers (STARTTLS, SASL, bind...), and IQ requests whose
answers arrive as Deferreds.

Differences from Twisted, on purpose: STARTTLS verifies the server's certificate and host name
by default (Twisted did not before 19.7, CVE-2019-12855); an IQ answer is accepted only from
the entity the request went to; unacceptable XML is answered with the matching stream error
(``not-well-formed``, ``restricted-xml``, ``policy-violation``) before the connection closes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from zope.interface import directlyProvides, implementer

from glisten.internet import defer
from glisten.internet import error as ierror
from glisten.internet.interfaces import ITLSTransport
from glisten.internet.main import getReactor
from glisten.python import log
from glisten.python.failure import Failure
from glisten.words.protocols.jabber import error, ijabber, jid
from glisten.words.protocols.jabber.error import toResponse
from glisten.words.xish import domish, xmlstream
from glisten.words.xish.xmlstream import (
    STREAM_CONNECTED_EVENT,
    STREAM_END_EVENT,
    STREAM_ERROR_EVENT,
    STREAM_START_EVENT,
)

__all__ = [
    "INIT_FAILED_EVENT",
    "NS_STREAMS",
    "NS_XMPP_TLS",
    "STREAM_AUTHD_EVENT",
    "STREAM_CONNECTED_EVENT",
    "STREAM_END_EVENT",
    "STREAM_ERROR_EVENT",
    "STREAM_START_EVENT",
    "IQ",
    "Authenticator",
    "BaseFeatureInitiatingInitializer",
    "ConnectAuthenticator",
    "FeatureNotAdvertized",
    "ListenAuthenticator",
    "Reset",
    "TLSError",
    "TLSFailed",
    "TLSInitiatingInitializer",
    "TLSNotSupported",
    "TLSRequired",
    "TimeoutError",
    "XmlStream",
    "XmlStreamFactory",
    "XmlStreamServerFactory",
    "XMPPHandler",
    "XMPPHandlerCollection",
    "StreamManager",
    "hashPassword",
    "toResponse",
    "upgradeWithIQResponseTracker",
]

STREAM_AUTHD_EVENT = "//event/stream/authd"
INIT_FAILED_EVENT = "//event/xmpp/initfailed"

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_XMPP_TLS = "urn:ietf:params:xml:ns:xmpp-tls"


_STANZA_NAMES = frozenset({"message", "presence", "iq"})


class _ResetType:
    def __repr__(self) -> str:
        return "Reset"


#: What an initializer's Deferred fires with when the stream restarted (after STARTTLS or
#: SASL): the remaining initializers wait for the new stream's features.
Reset = _ResetType()


def hashPassword(sid: str, password: str) -> str:
    """The XEP-0114 handshake digest: hex SHA-1 of the stream id and the secret.

    :raises TypeError: if either is not text.
    """
    if not isinstance(sid, str) or not isinstance(password, str):
        raise TypeError("the stream id and the password must be text")
    return hashlib.sha1((sid + password).encode("utf-8")).hexdigest()


def _parseVersion(value: str) -> tuple[int, int]:
    major, _, minor = value.partition(".")
    try:
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


class Authenticator:
    """Authenticates one side of a stream; subclasses decide how.

    :ivar xmlstream: the stream, once associated.
    """

    def __init__(self) -> None:
        self.xmlstream: Any = None

    def connectionMade(self) -> None:
        """The transport connected."""

    def streamStarted(self, rootElement: domish.Element) -> None:
        """The peer's stream header arrived: agree on the lower version."""
        version = _parseVersion(rootElement.getAttribute("version") or "0.0")
        self.xmlstream.version = min(self.xmlstream.version, version)

    def associateWithStream(self, xmlstream: XmlStream) -> None:
        """Remember the stream this authenticator works on."""
        self.xmlstream = xmlstream


class ConnectAuthenticator(Authenticator):
    """The initiating side: sends the header, then runs ``xmlstream.initializers`` in order
    once features arrive; dispatches :data:`STREAM_AUTHD_EVENT` when all are done or
    :data:`INIT_FAILED_EVENT` (with the failure) when one fails.

    :param otherHost: the domain to connect to.
    """

    namespace: str | None = None

    def __init__(self, otherHost: str) -> None:
        Authenticator.__init__(self)
        self.otherHost = otherHost

    def connectionMade(self) -> None:
        self.xmlstream.namespace = self.namespace
        self.xmlstream.otherEntity = jid.internJID(self.otherHost)
        self.xmlstream.sendHeader()

    def initializeStream(self) -> None:
        """Run the remaining initializers, one after the other."""
        xs = self.xmlstream

        def removeFirst(result: Any) -> Any:
            xs.initializers.pop(0)
            return result

        def doNext(result: Any) -> Any:
            if result is Reset:
                return None
            if xs.initializers:
                init = xs.initializers[0]
                d = defer.maybeDeferred(init.initialize)
                d.addCallback(removeFirst)
                d.addCallback(doNext)
                return d
            xs.dispatch(xs, STREAM_AUTHD_EVENT)
            return None

        d = defer.succeed(None)
        d.addCallback(doNext)
        d.addErrback(xs.dispatch, INIT_FAILED_EVENT)

    def streamStarted(self, rootElement: domish.Element) -> None:
        Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.sid = rootElement.getAttribute("id")
        # The peer's header may name itself ("from"), but the entity this side connected to
        # stays the one it asked for: STARTTLS verifies the certificate against that name,
        # so a peer cannot choose which name its certificate is checked against.
        sender = rootElement.getAttribute("from")
        if sender:
            try:
                jid.internJID(sender)
            except jid.InvalidFormat:
                xs.sendStreamError(error.StreamError("invalid-from"))
                return
        if xs.version >= (1, 0):

            def onFeatures(element: domish.Element) -> None:
                xs.features = {(f.uri, f.name): f for f in element.elements()}
                self.initializeStream()

            xs.addOnetimeObserver(f"/features[@xmlns='{NS_STREAMS}']", onFeatures)
        else:
            self.initializeStream()


class ListenAuthenticator(Authenticator):
    """The receiving side: learns the stream's namespace and addressee from the header."""

    namespace: str | None = None

    def associateWithStream(self, xmlstream: XmlStream) -> None:
        Authenticator.associateWithStream(self, xmlstream)
        self.xmlstream.initiating = False

    def streamStarted(self, rootElement: domish.Element) -> None:
        Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.namespace = rootElement.defaultUri
        to = rootElement.getAttribute("to")
        if to:
            try:
                xs.thisEntity = jid.internJID(to)
            except jid.InvalidFormat:
                xs.sendStreamError(error.StreamError("host-unknown"))
                return
        xs.prefixes = {}
        for prefix, uri in rootElement.localPrefixes.items():
            xs.prefixes[uri] = prefix
        xs.prefixes.setdefault(NS_STREAMS, "stream")


class FeatureNotAdvertized(Exception):
    """A required feature is missing from the stream features."""


class BaseFeatureInitiatingInitializer:
    """An initializer for one stream feature: :meth:`start` runs when the feature is
    advertised; a missing required feature fails the initialisation.

    :param xs: the stream.
    :param required: fail when the feature is not advertised.
    """

    feature: tuple[str, str] | None = None

    def __init__(self, xs: XmlStream, required: bool = False) -> None:
        self.xmlstream = xs
        self.required = required

    def initialize(self) -> Any:
        if self.feature in self.xmlstream.features:
            return self.start()
        if self.required:
            raise FeatureNotAdvertized(f"{self.feature!r} is required but not advertised")
        return None

    #: Negotiates the feature, returning a Deferred or None; each subclass defines it.
    start: Callable[[], Any]


class TLSError(Exception):
    """STARTTLS failed."""


class TLSFailed(TLSError):
    """The server answered STARTTLS with ``<failure/>``."""


class TLSRequired(TLSError):
    """The server requires TLS but this side does not want it."""


class TLSNotSupported(TLSError):
    """TLS is wanted (or required) but the transport cannot switch to it."""


class TLSInitiatingInitializer(BaseFeatureInitiatingInitializer):
    """STARTTLS (RFC 6120 section 5), required by default, verifying the server's
    certificate chain and host name (the stream's domain) unless other TLS options are given.

    :param configurationForTLS: client TLS options (``glisten.internet.ssl``); by default
        ``optionsForClientTLS(domain)`` with the platform's trust roots.
    """

    feature = (NS_XMPP_TLS, "starttls")
    wanted = True

    def __init__(
        self, xs: XmlStream, required: bool = True, configurationForTLS: Any = None
    ) -> None:
        BaseFeatureInitiatingInitializer.__init__(self, xs, required)
        self._configurationForTLS = configurationForTLS
        self._deferred: defer.Deferred[Any] | None = None

    def initialize(self) -> Any:
        if self.feature not in self.xmlstream.features and self.wanted and self.required:
            raise TLSRequired("TLS is required but the server does not offer STARTTLS")
        return BaseFeatureInitiatingInitializer.initialize(self)

    def onProceed(self, obj: domish.Element) -> None:
        from glisten.internet import ssl

        self.xmlstream.removeObserver(f"/failure[@xmlns='{NS_XMPP_TLS}']", self.onFailure)
        ctx = self._configurationForTLS
        if ctx is None:
            other = self.xmlstream.otherEntity
            assert other is not None, "the stream's domain is set before STARTTLS"
            ctx = ssl.optionsForClientTLS(other.host)
        self.xmlstream.transport.startTLS(ctx)
        self.xmlstream.reset()
        self.xmlstream.sendHeader()
        assert self._deferred is not None
        self._deferred.callback(Reset)

    def onFailure(self, obj: domish.Element) -> None:
        self.xmlstream.removeObserver(f"/proceed[@xmlns='{NS_XMPP_TLS}']", self.onProceed)
        assert self._deferred is not None
        self._deferred.errback(TLSFailed("the server refused STARTTLS"))

    def start(self) -> Any:
        starttls = self.xmlstream.features[self.feature]
        if not self.wanted:
            if starttls.required is not None:
                raise TLSRequired("the server requires TLS")
            return None
        if not ITLSTransport.providedBy(self.xmlstream.transport):
            if self.required:
                raise TLSNotSupported("the transport cannot switch to TLS")
            return None
        self._deferred = defer.Deferred()
        self.xmlstream.addOnetimeObserver(f"/proceed[@xmlns='{NS_XMPP_TLS}']", self.onProceed)
        self.xmlstream.addOnetimeObserver(f"/failure[@xmlns='{NS_XMPP_TLS}']", self.onFailure)
        self.xmlstream.send(domish.Element((NS_XMPP_TLS, "starttls")))
        return self._deferred


class XmlStream(xmlstream.XmlStream):
    """An XMPP stream.

    :ivar version: the stream version agreed on.
    :ivar namespace: the stream's default namespace (``jabber:client``, ...).
    :ivar thisEntity: this side's JID, or None.
    :ivar otherEntity: the peer's JID, or None.
    :ivar sid: the stream id.
    :ivar initiating: whether this side opened the stream.
    :ivar features: the peer's stream features by ``(uri, name)``.
    :ivar initializers: what the authenticator still has to run.
    :ivar reactor: the reactor for IQ timeouts (None: the global one, looked up when needed).
    """

    version = (1, 0)
    namespace: str | None = "invalid"
    thisEntity: jid.JID | None = None
    otherEntity: jid.JID | None = None
    sid: str | None = None
    initiating = True
    _headerSent = False
    reactor: Any = None

    def __init__(self, authenticator: Authenticator) -> None:
        xmlstream.XmlStream.__init__(self)
        self.prefixes: dict[str, str] = {NS_STREAMS: "stream"}
        self.authenticator: Any = authenticator
        self.initializers: list[Any] = []
        self.features: dict[tuple[str | None, str], domish.Element] = {}
        self.sentStanzaObservers: list[Callable[[domish.Element], object]] = []
        authenticator.associateWithStream(self)

    def reset(self) -> None:
        """Expect a new stream from the peer (after STARTTLS or SASL success)."""
        self._headerSent = False
        self._initializeStream()

    def onStreamError(self, errelem: domish.Element) -> None:
        """The peer sent a stream error: dispatch it as a failure and close."""
        self.dispatch(Failure(error.exceptionFromStreamError(errelem)), STREAM_ERROR_EVENT)
        if self.transport is not None:
            self.transport.loseConnection()

    def onParserError(self, parserError: domish.ParserError) -> None:
        """Answer unacceptable XML with the matching stream error, then close."""
        self.dispatch(Failure(parserError), STREAM_ERROR_EVENT)
        if self.transport is not None:
            self.sendStreamError(error.StreamError(parserError.kind.value))

    def sendHeader(self) -> None:
        """Send this side's stream header."""
        localPrefixes = {p: u for u, p in self.prefixes.items() if u != NS_STREAMS}
        root = domish.Element((NS_STREAMS, "stream"), self.namespace, localPrefixes=localPrefixes)
        if self.otherEntity:
            root["to"] = self.otherEntity.userhost()
        if self.thisEntity:
            root["from"] = self.thisEntity.userhost()
        if not self.initiating and self.sid:
            root["id"] = self.sid
        if self.version >= (1, 0):
            root["version"] = "%d.%d" % self.version
        self.send(root.toXml(prefixes=self.prefixes, closeElement=0))
        self._headerSent = True

    def sendFooter(self) -> None:
        """End this side's stream."""
        self.send("</stream:stream>")

    def sendStreamError(self, streamError: error.StreamError) -> None:
        """Send a stream error (with a header first if this side has not sent one as the
        receiving side), end the stream and close the connection."""
        if not self._headerSent and not self.initiating:
            self.sendHeader()
        if self._headerSent:
            self.send(streamError.getElement())
            self.sendFooter()
        if self.transport is not None:
            self.transport.loseConnection()

    def send(self, obj: Any) -> None:
        """Send an element (serialised in the stream's namespaces), text or bytes; each
        ``message``, ``presence`` or ``iq`` element is also passed to the callables in
        :attr:`sentStanzaObservers` (stream management counts them)."""
        stanza = None
        if isinstance(obj, domish.Element):
            if self.sentStanzaObservers and obj.name in _STANZA_NAMES:
                stanza = obj
            obj = obj.toXml(
                prefixes=self.prefixes,
                defaultUri=self.namespace or "",
                prefixesInScope=list(self.prefixes.values()),
            )
        xmlstream.XmlStream.send(self, obj)
        if stanza is not None:
            for observer in list(self.sentStanzaObservers):
                observer(stanza)

    def connectionMade(self) -> None:
        xmlstream.XmlStream.connectionMade(self)
        self.authenticator.connectionMade()

    def onDocumentStart(self, rootElement: domish.Element) -> None:
        if rootElement.uri != NS_STREAMS or rootElement.name != "stream":
            self.sendStreamError(error.StreamError("invalid-namespace"))
            return
        if rootElement.hasAttribute("id"):
            self.sid = rootElement["id"]
        xmlstream.XmlStream.onDocumentStart(self, rootElement)
        self.addOnetimeObserver(f"/error[@xmlns='{NS_STREAMS}']", self.onStreamError)
        self.authenticator.streamStarted(rootElement)


class XmlStreamFactory(xmlstream.XmlStreamFactory):
    """A (reconnecting) client factory for XMPP streams with one authenticator.

    :param authenticator: the authenticator every stream uses.
    """

    protocol = XmlStream

    def __init__(self, authenticator: Authenticator) -> None:
        xmlstream.XmlStreamFactory.__init__(self, authenticator)
        self.authenticator = authenticator


class XmlStreamServerFactory(xmlstream.XmlStreamServerFactory):
    """A server factory for XMPP streams, one authenticator per connection."""

    protocol = XmlStream


class TimeoutError(Exception):
    """No answer to an IQ request within its timeout."""


def _responderMatches(xs: Any, to: str | None, sender: str | None) -> bool:
    """Whether an IQ answer from ``sender`` may answer a request sent to ``to``
    (RFC 6120 section 8.1.2.1: the answer comes from the addressee; for a request to this
    account or its server, also from no address)."""

    def parsed(value: str | None) -> jid.JID | None:
        if value is None:
            return None
        try:
            return jid.internJID(value)
        except jid.InvalidFormat:
            return None

    expected = parsed(to)
    got = parsed(sender)
    if sender is not None and got is None:
        return False
    if expected is not None:
        if got == expected:
            return True
        own = getattr(xs, "thisEntity", None)
        return got is None and own is not None and expected.userhostJID() == own.userhostJID()
    if got is None:
        return True
    candidates = [getattr(xs, "otherEntity", None), getattr(xs, "thisEntity", None)]
    authenticator = getattr(xs, "authenticator", None)
    candidates.append(getattr(authenticator, "jid", None))
    for candidate in candidates:
        if candidate is not None and (got == candidate or got == candidate.userhostJID()):
            return True
    return False


def upgradeWithIQResponseTracker(xs: Any) -> None:
    """Make ``xs`` track IQ requests: answers fire the Deferreds that :meth:`IQ.send`
    returned (errors as :class:`~glisten.words.protocols.jabber.error.StanzaError`), and
    losing the connection fails those still waiting with ``ConnectionLost``."""

    def callback(iq: domish.Element) -> None:
        if iq.handled:
            return
        entry = xs.iqDeferreds.get(iq.getAttribute("id"))
        if entry is None:
            return
        d = entry
        to = xs._iqRecipients.get(iq["id"])
        if not _responderMatches(xs, to, iq.getAttribute("from")):
            return
        del xs.iqDeferreds[iq["id"]]
        xs._iqRecipients.pop(iq["id"], None)
        iq.handled = True
        if iq["type"] == "error":
            d.errback(error.exceptionFromStanza(iq))
        else:
            d.callback(iq)

    def disconnected(_: Any) -> None:
        waiting = xs.iqDeferreds
        xs.iqDeferreds = {}
        xs._iqRecipients = {}
        for d in waiting.values():
            d.errback(ierror.ConnectionLost("the stream ended before the answer arrived"))

    xs.iqDeferreds = {}
    xs._iqRecipients = {}
    xs.iqDefaultTimeout = getattr(xs, "iqDefaultTimeout", None)
    xs.addObserver(STREAM_END_EVENT, disconnected)
    xs.addObserver('/iq[@type="result"]', callback)
    xs.addObserver('/iq[@type="error"]', callback)
    directlyProvides(xs, ijabber.IIQResponseTracker)


class IQ(domish.Element):
    """An IQ request whose answer :meth:`send` returns as a Deferred.

    :ivar timeout: seconds to wait for the answer (None: the stream's ``iqDefaultTimeout``,
        and no timeout when that is None too).
    :param xmlstream: the stream to send on.
    :param stanzaType: ``get`` or ``set``.
    """

    timeout: float | None = None

    def __init__(self, xmlstream: Any, stanzaType: str = "set") -> None:
        domish.Element.__init__(self, (None, "iq"))
        self.addUniqueId()
        self["type"] = stanzaType
        self._xmlstream = xmlstream

    def send(self, to: str | None = None) -> defer.Deferred[domish.Element]:
        """Send the request.

        :param to: the addressee (None: this account's server).
        :return: a Deferred that fires with the ``result`` stanza, or fails with a
            ``StanzaError``, :class:`TimeoutError` or ``ConnectionLost``.
        """
        if to is not None:
            self["to"] = to
        xs = self._xmlstream
        if not ijabber.IIQResponseTracker.providedBy(xs):
            upgradeWithIQResponseTracker(xs)
        iqId = self["id"]

        def forget(d: defer.Deferred[domish.Element]) -> None:
            # Cancelled (by the timeout): stop waiting for the answer.
            xs.iqDeferreds.pop(iqId, None)
            xs._iqRecipients.pop(iqId, None)

        def timedOut(result: Any, timeout: float) -> Failure:
            return Failure(TimeoutError("IQ timed out"))

        d: defer.Deferred[domish.Element] = defer.Deferred(forget)
        xs.iqDeferreds[iqId] = d
        xs._iqRecipients[iqId] = self.getAttribute("to")
        timeout = self.timeout if self.timeout is not None else xs.iqDefaultTimeout
        if timeout is not None:
            d.addTimeout(timeout, getReactor(getattr(xs, "reactor", None)), timedOut)
        xs.send(self)
        return d


@implementer(ijabber.IXMPPHandler)
class XMPPHandler:
    """A piece of an XMPP program (a protocol extension, a bot's brain) that lives in a
    :class:`StreamManager` and follows its stream: connected, initialised, lost.

    :ivar parent: the collection it belongs to.
    :ivar xmlstream: the current stream, or None.
    """

    def __init__(self) -> None:
        self.parent: Any = None
        self.xmlstream: Any = None

    def setHandlerParent(self, parent: Any) -> None:
        """Join ``parent`` (a :class:`StreamManager`)."""
        self.parent = parent
        self.parent.addHandler(self)

    def disownHandlerParent(self, parent: Any) -> None:
        """Leave ``parent``."""
        self.parent.removeHandler(self)
        self.parent = None

    def makeConnection(self, xs: Any) -> None:
        """A stream connected."""
        self.xmlstream = xs
        self.connectionMade()

    def connectionMade(self) -> None:
        """Called when the stream connects (before authentication): add observers here."""

    def connectionInitialized(self) -> None:
        """Called when the stream is authenticated and ready for stanzas."""

    def connectionLost(self, reason: Any) -> None:
        """The stream ended."""
        self.xmlstream = None

    def send(self, obj: Any) -> None:
        """Send through the parent (queued until the stream is ready)."""
        self.parent.send(obj)


class XMPPHandlerCollection:
    """An ordered collection of :class:`XMPPHandler`."""

    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.handlers)

    def addHandler(self, handler: Any) -> None:
        """Add ``handler``."""
        self.handlers.append(handler)

    def removeHandler(self, handler: Any) -> None:
        """Remove ``handler``."""
        self.handlers.remove(handler)


class StreamManager(XMPPHandlerCollection):
    """Connects handlers to the streams a factory builds, and queues what they send until
    the stream is authenticated.

    :param factory: an XMPP stream factory (its bootstraps are used).
    :ivar logTraffic: log every byte in and out.
    """

    logTraffic = False

    def __init__(self, factory: Any) -> None:
        XMPPHandlerCollection.__init__(self)
        self.xmlstream: Any = None
        self._initialized = False
        self._packetQueue: list[Any] = []
        factory.addBootstrap(STREAM_CONNECTED_EVENT, self._connected)
        factory.addBootstrap(STREAM_AUTHD_EVENT, self._authd)
        factory.addBootstrap(INIT_FAILED_EVENT, self.initializationFailed)
        factory.addBootstrap(STREAM_END_EVENT, self._disconnected)
        self.factory = factory

    def addHandler(self, handler: Any) -> None:
        """Add ``handler`` and bring it up to date with the current stream."""
        XMPPHandlerCollection.addHandler(self, handler)
        if self.xmlstream is not None:
            handler.makeConnection(self.xmlstream)
        if self._initialized:
            handler.connectionInitialized()

    def _connected(self, xs: Any) -> None:
        if self.logTraffic:
            xs.rawDataInFn = lambda data: log.msg(f"RECV: {data!r}")
            xs.rawDataOutFn = lambda data: log.msg(f"SEND: {data!r}")
        self.xmlstream = xs
        for handler in list(self):
            handler.makeConnection(xs)

    def _authd(self, xs: Any) -> None:
        queued, self._packetQueue = self._packetQueue, []
        for obj in queued:
            xs.send(obj)
        self._initialized = True
        for handler in list(self):
            handler.connectionInitialized()

    def initializationFailed(self, reason: Any) -> None:
        """The stream could not be initialised; override to react."""

    def _disconnected(self, reason: Any) -> None:
        self.xmlstream = None
        self._initialized = False
        for handler in list(self):
            handler.connectionLost(reason)

    def send(self, obj: Any) -> None:
        """Send now if the stream is ready, else when it is."""
        if self._initialized:
            self.xmlstream.send(obj)
        else:
            self._packetQueue.append(obj)
