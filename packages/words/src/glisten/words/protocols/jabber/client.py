"""XMPP clients (RFC 6120): :func:`XMPPClientFactory` builds a stream factory whose
authenticator runs STARTTLS (required, verifying the server), SASL, resource binding and,
when the server still asks for it, session establishment.

Connect it to the server's client port yourself (``connectTCP(host, 5222, factory)`` or an
endpoint); DNS SRV lookups are not done here. Observe ``xmlstream.STREAM_AUTHD_EVENT`` to
start sending stanzas and ``xmlstream.INIT_FAILED_EVENT`` for failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.internet import defer
from glisten.words.protocols.jabber import error, sasl, sm, xmlstream
from glisten.words.protocols.jabber import jid as jidmod
from glisten.words.xish import domish

__all__ = [
    "NS_XMPP_BIND",
    "NS_XMPP_SESSION",
    "BindInitializer",
    "CheckVersionInitializer",
    "IQ",
    "SessionInitializer",
    "XMPPAuthenticator",
    "XMPPClientFactory",
]

NS_XMPP_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_XMPP_SESSION = "urn:ietf:params:xml:ns:xmpp-session"


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
        """Call ``fn(answer, *args, **kwargs)`` when the answer arrives."""
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
                fn(answer, *args, **kwargs)

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


class XMPPAuthenticator(xmlstream.ConnectAuthenticator):
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

    namespace = "jabber:client"

    def __init__(
        self,
        jid: jidmod.JID,
        password: str,
        configurationForTLS: Any = None,
        streamManagement: bool = False,
    ) -> None:
        xmlstream.ConnectAuthenticator.__init__(self, jid.host)
        self.jid = jid
        self.password = password
        self._configurationForTLS = configurationForTLS
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
