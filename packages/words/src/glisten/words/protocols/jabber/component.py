"""External components (XEP-0114, "Jabber Component Protocol"): connecting a component to a
server (:func:`componentFactory`), and the server side: authenticating components
(:class:`ListenComponentAuthenticator`) and routing stanzas between them (:class:`Router`,
:class:`XMPPComponentServerFactory`, behind ``glisten xmpp-router``).

A component program in Twisted's style builds a :class:`ServiceManager` with
:func:`buildServiceManager` and adds :class:`Service` children that hear when the component
connects and send through it.

Beyond Twisted: the handshake is compared in constant time, each stream gets an unguessable
stream id, a component may only send stanzas ``from`` its own domain (``invalid-from``
otherwise), and a second component for a domain that is already connected is refused
(``conflict``) rather than silently replacing the first.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from zope.interface import implementer

from glisten.application import service
from glisten.internet import defer
from glisten.python import log
from glisten.words.protocols.jabber import error, ijabber, jid, jstrports, xmlstream
from glisten.words.xish import domish

__all__ = [
    "NS_COMPONENT_ACCEPT",
    "ComponentInitiatingInitializer",
    "ConnectComponentAuthenticator",
    "ListenComponentAuthenticator",
    "Router",
    "Service",
    "ServiceManager",
    "XMPPComponentServerFactory",
    "buildServiceManager",
    "componentFactory",
]

NS_COMPONENT_ACCEPT = "jabber:component:accept"


def componentFactory(componentid: str, password: str) -> xmlstream.XmlStreamFactory:
    """:return: a client stream factory that connects a component to a server.

    :param componentid: the component's domain (``conference.example.com``).
    :param password: the secret shared with the server.
    """
    return xmlstream.XmlStreamFactory(ConnectComponentAuthenticator(componentid, password))


@implementer(ijabber.IService)
class Service(service.Service):
    """A part of a component (Twisted's ``component.Service``): set it as a child of a
    :class:`ServiceManager`, override the ``component*`` methods, send with :meth:`send`."""

    def componentConnected(self, xs: xmlstream.XmlStream) -> None:
        """The component is authenticated; add observers to ``xs`` here."""

    def componentDisconnected(self) -> None:
        """The stream ended; observers added to the old stream are gone with it."""

    def transportConnected(self, xs: xmlstream.XmlStream) -> None:
        """The connection is made, before the handshake."""

    def send(self, obj: Any) -> None:
        """Send through the manager (queued while the component is not connected)."""
        self.parent.send(obj)


class ServiceManager(service.MultiService):
    """Runs a component: connects it with :func:`componentFactory` (reconnecting when the
    connection drops) and tells each :class:`~glisten.words.protocols.jabber.ijabber.IService`
    child when the component connects and disconnects.

    Unlike Twisted's, what :meth:`send` gets before the handshake succeeds is queued (the
    server would refuse it), and stopping the service stops the reconnection attempts.

    :param jid: the component's domain.
    :param password: the secret shared with the server.
    :ivar xmlstream: the authenticated stream, or None.
    """

    def __init__(self, jid: str, password: str) -> None:
        service.MultiService.__init__(self)
        self.jabberId = jid
        self.xmlstream: xmlstream.XmlStream | None = None
        self._packetQueue: list[Any] = []
        self._xsFactory = componentFactory(jid, password)
        self._xsFactory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, self._connected)
        self._xsFactory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self._authd)
        self._xsFactory.addBootstrap(xmlstream.STREAM_END_EVENT, self._disconnected)
        self.addBootstrap = self._xsFactory.addBootstrap
        self.removeBootstrap = self._xsFactory.removeBootstrap

    def getFactory(self) -> xmlstream.XmlStreamFactory:
        """:return: the component's (reconnecting) stream factory, to connect it yourself."""
        return self._xsFactory

    def startService(self) -> None:
        self._xsFactory.continueTrying = True
        service.MultiService.startService(self)

    def stopService(self) -> Any:
        self._xsFactory.stopTrying()
        return service.MultiService.stopService(self)

    def _children(self) -> list[Any]:
        return [child for child in self if ijabber.IService.providedBy(child)]

    def _connected(self, xs: xmlstream.XmlStream) -> None:
        for child in self._children():
            child.transportConnected(xs)

    def _authd(self, xs: xmlstream.XmlStream) -> None:
        self.xmlstream = xs
        queued, self._packetQueue = self._packetQueue, []
        for packet in queued:
            xs.send(packet)
        for child in self._children():
            child.componentConnected(xs)

    def _disconnected(self, reason: Any) -> None:
        self.xmlstream = None
        for child in self._children():
            child.componentDisconnected()

    def send(self, obj: Any) -> None:
        """Send an element (or text) now, or once the component is connected."""
        if self.xmlstream is not None:
            self.xmlstream.send(obj)
        else:
            self._packetQueue.append(obj)


def buildServiceManager(
    jid: str, password: str, strport: str, reactor: Any = None
) -> ServiceManager:
    """Twisted's helper: a :class:`ServiceManager` whose component connects to ``strport``.

    :param strport: ``tcp:HOST:PORT`` or ``unix:PATH`` (see :mod:`glisten.words.protocols.jabber.jstrports`).
    :param reactor: the reactor (None: the global one, looked up when the service starts).
    :raises ValueError: ``strport`` is neither form.
    """
    manager = ServiceManager(jid, password)
    factory = manager.getFactory()
    connection = jstrports.client(strport, factory, reactor)
    if reactor is not None:
        factory.clock = reactor  # reconnection delays on the same reactor
    connection.setServiceParent(manager)
    return manager


class ComponentInitiatingInitializer:
    """Sends the handshake (hex SHA-1 of stream id and secret) and waits for the server's
    empty ``<handshake/>``.

    :param xs: the stream.
    """

    def __init__(self, xs: xmlstream.XmlStream) -> None:
        self.xmlstream = xs
        self._deferred: defer.Deferred[None] | None = None

    def initialize(self) -> defer.Deferred[None]:
        xs = self.xmlstream
        if not xs.sid:
            raise error.StreamError("invalid-id", text="the server sent no stream id")
        handshake = domish.Element((xs.namespace, "handshake"))
        handshake.addContent(xmlstream.hashPassword(xs.sid, xs.authenticator.password))
        self._deferred = defer.Deferred()
        xs.addOnetimeObserver("/handshake", self._cbHandshake)
        xs.send(handshake)
        return self._deferred

    def _cbHandshake(self, _: domish.Element) -> None:
        self.xmlstream.thisEntity = self.xmlstream.otherEntity
        assert self._deferred is not None
        self._deferred.callback(None)


class ConnectComponentAuthenticator(xmlstream.ConnectAuthenticator):
    """Authenticates a component to a server (a pre-1.0 stream: no features).

    :param componentjid: the component's domain.
    :param password: the shared secret.
    """

    namespace = NS_COMPONENT_ACCEPT

    def __init__(self, componentjid: str, password: str) -> None:
        xmlstream.ConnectAuthenticator.__init__(self, componentjid)
        self.password = password

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        xs.version = (0, 0)
        xmlstream.ConnectAuthenticator.associateWithStream(self, xs)
        xs.initializers = [ComponentInitiatingInitializer(xs)]


class ListenComponentAuthenticator(xmlstream.ListenAuthenticator):
    """Authenticates a connecting component by its handshake.

    :param secret: the secret shared with components.
    """

    namespace = NS_COMPONENT_ACCEPT

    def __init__(self, secret: str) -> None:
        xmlstream.ListenAuthenticator.__init__(self)
        self.secret = secret

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        xs.version = (0, 0)
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)

    def streamStarted(self, rootElement: domish.Element) -> None:
        xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        if rootElement.defaultUri != self.namespace:
            xs.sendStreamError(error.StreamError("invalid-namespace"))
            return
        if xs.thisEntity is None:
            xs.sendStreamError(error.StreamError("improper-addressing"))
            return
        xs.sid = secrets.token_hex(16)
        xs.sendHeader()
        xs.addOnetimeObserver("/*", self.onElement)

    def onElement(self, element: domish.Element) -> None:
        """The first element must be the handshake."""
        if (element.uri, element.name) == (self.namespace, "handshake"):
            self.onHandshake(str(element))
        else:
            self.xmlstream.sendStreamError(error.StreamError("not-authorized"))

    def onHandshake(self, handshake: str) -> None:
        """Check the handshake digest; answer ``<handshake/>`` and dispatch
        ``STREAM_AUTHD_EVENT``, or close with ``not-authorized``."""
        xs = self.xmlstream
        expected = xmlstream.hashPassword(xs.sid, self.secret)
        if not hmac.compare_digest(handshake.strip().lower().encode(), expected.encode()):
            xs.sendStreamError(error.StreamError("not-authorized", text="Invalid hash"))
            return
        xs.send("<handshake/>")
        xs.dispatch(xs, xmlstream.STREAM_AUTHD_EVENT)


class Router:
    """Routes stanzas between component streams by the domain of their ``to``; the route
    for ``None`` (if any) takes everything else.

    :ivar routes: the stream for each domain.
    """

    def __init__(self) -> None:
        self.routes: dict[str | None, Any] = {}

    def addRoute(self, destination: str | None, xs: Any) -> None:
        """Deliver stanzas for ``destination`` to ``xs`` and route what ``xs`` sends."""
        self.routes[destination] = xs
        xs.addObserver("/*", self.route)

    def removeRoute(self, destination: str | None, xs: Any) -> None:
        """Forget the route, if it still leads to ``xs``."""
        xs.removeObserver("/*", self.route)
        if self.routes.get(destination) is xs:
            del self.routes[destination]

    def route(self, stanza: domish.Element) -> None:
        """Send ``stanza`` on the stream for its destination; a stanza that cannot be
        delivered is bounced with ``remote-server-not-found`` (or dropped when it is an
        error itself, so errors never loop). A stanza an earlier observer ``handled`` is left
        alone."""
        if stanza.handled:
            return
        try:
            destination = jid.internJID(stanza.getAttribute("to") or "")
        except jid.InvalidFormat:
            self._bounce(stanza, "jid-malformed")
            return
        target = self.routes.get(destination.host, self.routes.get(None))
        if target is None:
            self._bounce(stanza, "remote-server-not-found")
            return
        target.send(stanza)

    def _bounce(self, stanza: domish.Element, condition: str) -> None:
        if stanza.getAttribute("type") == "error" or not stanza.getAttribute("from"):
            return
        try:
            source = jid.internJID(stanza["from"])
        except jid.InvalidFormat:
            return
        back = self.routes.get(source.host)
        if back is not None:
            back.send(error.StanzaError(condition).toResponse(stanza))


class XMPPComponentServerFactory(xmlstream.XmlStreamServerFactory):
    """Accepts components (XEP-0114) and connects them to a :class:`Router`.

    :param router: the router.
    :param secret: the secret every component must prove it knows.
    :ivar logTraffic: log every byte in and out.
    """

    logTraffic = False

    def __init__(self, router: Router, secret: str) -> None:
        self.router = router
        self.secret = secret

        def authenticatorFactory() -> ListenComponentAuthenticator:
            return ListenComponentAuthenticator(self.secret)

        xmlstream.XmlStreamServerFactory.__init__(self, authenticatorFactory)
        self.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, self.onConnectionMade)
        self.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self.onAuthenticated)
        self.serial = 0

    def onConnectionMade(self, xs: Any) -> None:
        """Number the stream and, with :attr:`logTraffic`, log its bytes."""
        xs.serial = self.serial
        self.serial += 1

        def logData(direction: str) -> Any:
            return lambda data: log.msg(f"{direction} {xs.serial}: {data!r}")

        if self.logTraffic:
            xs.rawDataInFn = logData("RECV")
            xs.rawDataOutFn = logData("SEND")

    def onAuthenticated(self, xs: Any) -> None:
        """Route the component's domain to it, unless another component holds it."""
        destination = xs.thisEntity.host
        if destination in self.router.routes:
            xs.sendStreamError(error.StreamError("conflict"))
            return

        def checkSender(stanza: domish.Element) -> None:
            try:
                sender = jid.internJID(stanza.getAttribute("from") or "")
            except jid.InvalidFormat:
                sender = None
            if sender is None or sender.host != destination:
                stanza.handled = True
                xs.sendStreamError(error.StreamError("invalid-from"))

        xs.addObserver("/*", checkSender, 1)
        self.router.addRoute(destination, xs)
        xs.addObserver(xmlstream.STREAM_END_EVENT, self.onConnectionLost, 0, destination, xs)

    def onConnectionLost(self, destination: str, xs: Any, reason: Any) -> None:
        """Drop the component's route."""
        self.router.removeRoute(destination, xs)
