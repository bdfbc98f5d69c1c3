"""SASL authentication for XMPP clients (RFC 6120 section 6).

The initializer picks the strongest mechanism both sides have: SCRAM-SHA-256-PLUS and
SCRAM-SHA-1-PLUS (bound to the TLS server certificate, ``tls-server-end-point``), then
SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5 only when asked for (``allowDigestMD5``), and PLAIN
only over TLS; ANONYMOUS when the JID has no user.
A SCRAM server that cannot prove it knows the password fails the authentication and the
connection is closed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from glisten.internet import defer
from glisten.internet.interfaces import ISSLTransport
from glisten.words.protocols.jabber import sasl_mechanisms, xmlstream
from glisten.words.xish import domish

__all__ = [
    "NS_XMPP_SASL",
    "SASLAuthError",
    "SASLError",
    "SASLIncorrectEncodingError",
    "SASLInitiatingInitializer",
    "SASLNoAcceptableMechanism",
    "fromBase64",
    "get_mechanisms",
]

NS_XMPP_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_SASL_CB = "urn:xmpp:sasl-cb:0"
_BINDING = "tls-server-end-point"


def get_mechanisms(xs: Any) -> list[str]:
    """:return: the mechanism names the stream's features offer."""
    mechanisms = xs.features[(NS_XMPP_SASL, "mechanisms")]
    return [str(m) for m in mechanisms.elements() if m.name == "mechanism"]


class SASLError(Exception):
    """SASL authentication failed."""


class SASLNoAcceptableMechanism(SASLError):
    """No mechanism both sides accept (PLAIN without TLS is never acceptable)."""


class SASLAuthError(SASLError):
    """The server refused the authentication.

    :ivar condition: the RFC 6120 failure condition (``not-authorized``...), or None.
    """

    def __init__(self, condition: str | None = None) -> None:
        SASLError.__init__(self, condition)
        self.condition = condition

    def __str__(self) -> str:
        return f"SASLAuthError with condition {self.condition!r}"


class SASLIncorrectEncodingError(SASLError):
    """The server sent data that is not base64."""


def fromBase64(s: str) -> bytes:
    """Decode SASL data from an element (``=`` is empty data).

    :raises SASLIncorrectEncodingError: not valid base64.
    """
    s = s.strip()
    if s == "=":
        return b""
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise SASLIncorrectEncodingError("the server sent invalid base64") from None


class SASLInitiatingInitializer(xmlstream.BaseFeatureInitiatingInitializer):
    """Authenticates with the stream authenticator's ``jid`` and ``password``.

    :ivar allowPlaintextPassword: allow PLAIN without TLS (never do this outside tests).
    :ivar allowDigestMD5: use DIGEST-MD5 (RFC 6331: Historic) when the server offers no SCRAM,
        for old servers; off by default, unlike Twisted, where it was the first choice.
    """

    feature = (NS_XMPP_SASL, "mechanisms")
    allowPlaintextPassword = False
    allowDigestMD5 = False
    _deferred: defer.Deferred[Any] | None = None

    def _tlsBinding(self) -> tuple[bool, bytes | None]:
        transport: Any = self.xmlstream.transport
        if not ISSLTransport.providedBy(transport):
            return False, None
        certificate: Any = transport.getPeerCertificate()
        if certificate is None:
            return True, None
        return True, sasl_mechanisms.tlsServerEndPoint(certificate.dump())

    def setMechanism(self) -> None:
        """Choose :attr:`mechanism` from what the server offers.

        :raises SASLNoAcceptableMechanism: nothing acceptable.
        """
        authenticator = self.xmlstream.authenticator
        jid = authenticator.jid
        password = getattr(authenticator, "password", None)
        offered = get_mechanisms(self.xmlstream)
        if jid.user is None or password is None:
            if "ANONYMOUS" in offered:
                self.mechanism: Any = sasl_mechanisms.Anonymous()
                return
            raise SASLNoAcceptableMechanism("only ANONYMOUS fits a JID without a user")
        overTLS, binding = self._tlsBinding()
        cbTypes = self.xmlstream.features.get((NS_SASL_CB, "sasl-channel-binding"))
        bindable = binding is not None and (
            cbTypes is None or any(e.getAttribute("type") == _BINDING for e in cbTypes.elements())
        )
        for name, cls in (
            ("SCRAM-SHA-256", sasl_mechanisms.ScramSHA256),
            ("SCRAM-SHA-1", sasl_mechanisms.ScramSHA1),
        ):
            if bindable and name + "-PLUS" in offered:
                assert binding is not None
                self.mechanism = cls(None, jid.user, password, channelBinding=(_BINDING, binding))
                return
        anyPlus = any(m.endswith("-PLUS") for m in offered)
        for name, cls in (
            ("SCRAM-SHA-256", sasl_mechanisms.ScramSHA256),
            ("SCRAM-SHA-1", sasl_mechanisms.ScramSHA1),
        ):
            if name in offered:
                # "y": this client could bind, but the server offers no -PLUS it could use.
                self.mechanism = cls(
                    None, jid.user, password, bindingSupported=binding is not None and not anyPlus
                )
                return
        if self.allowDigestMD5 and "DIGEST-MD5" in offered:
            self.mechanism = sasl_mechanisms.DigestMD5("xmpp", jid.host, None, jid.user, password)
            return
        if "PLAIN" in offered and (overTLS or self.allowPlaintextPassword):
            self.mechanism = sasl_mechanisms.Plain(None, jid.user, password)
            return
        raise SASLNoAcceptableMechanism("the server offers no acceptable SASL mechanism")

    def start(self) -> defer.Deferred[Any]:
        self.setMechanism()
        self._deferred = defer.Deferred()
        xs = self.xmlstream
        xs.addObserver(f"/challenge[@xmlns='{NS_XMPP_SASL}']", self.onChallenge)
        xs.addOnetimeObserver(f"/success[@xmlns='{NS_XMPP_SASL}']", self.onSuccess)
        xs.addOnetimeObserver(f"/failure[@xmlns='{NS_XMPP_SASL}']", self.onFailure)
        self.sendAuth(self.mechanism.getInitialResponse())
        return self._deferred

    def sendAuth(self, data: bytes | None = None) -> None:
        """Send ``<auth/>`` with the initial response."""
        auth = domish.Element((NS_XMPP_SASL, "auth"))
        auth["mechanism"] = self.mechanism.name
        if data is not None:
            auth.addContent(base64.b64encode(data).decode("ascii") or "=")
        self.xmlstream.send(auth)

    def sendResponse(self, data: bytes | None = b"") -> None:
        """Send ``<response/>`` to a challenge."""
        response = domish.Element((NS_XMPP_SASL, "response"))
        if data:
            response.addContent(base64.b64encode(data).decode("ascii"))
        self.xmlstream.send(response)

    def _stop(self) -> None:
        xs = self.xmlstream
        xs.removeObserver(f"/challenge[@xmlns='{NS_XMPP_SASL}']", self.onChallenge)
        xs.removeObserver(f"/success[@xmlns='{NS_XMPP_SASL}']", self.onSuccess)
        xs.removeObserver(f"/failure[@xmlns='{NS_XMPP_SASL}']", self.onFailure)

    def _abort(self, reason: Exception) -> None:
        self._stop()
        if self.xmlstream.transport is not None:
            self.xmlstream.transport.loseConnection()
        assert self._deferred is not None
        if not self._deferred.called:
            self._deferred.errback(reason)

    def onChallenge(self, element: domish.Element) -> None:
        try:
            response = self.mechanism.getResponse(fromBase64(str(element)))
        except (SASLError, sasl_mechanisms.SASLMechanismError) as e:
            self._abort(e)
            return
        self.sendResponse(response)

    def onSuccess(self, success: domish.Element) -> None:
        verify = getattr(self.mechanism, "verifySuccess", None)
        if verify is not None:
            try:
                verify(fromBase64(str(success)) if str(success).strip() else None)
            except (SASLError, sasl_mechanisms.SASLMechanismError) as e:
                self._abort(e)
                return
        self._stop()
        self.xmlstream.reset()
        self.xmlstream.sendHeader()
        assert self._deferred is not None
        self._deferred.callback(xmlstream.Reset)

    def onFailure(self, failure: domish.Element) -> None:
        self._stop()
        condition = None
        for element in failure.elements():
            if element.name != "text":
                condition = element.name
                break
        assert self._deferred is not None
        self._deferred.errback(SASLAuthError(condition))
