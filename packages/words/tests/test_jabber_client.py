"""The XMPP client stream driven over a memory transport by a scripted server: STARTTLS,
SCRAM (-PLUS), binding, sessions, IQ answers and timeouts, stream errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import alsoProvides, implementer

from glisten.internet import interfaces
from glisten.internet.error import ConnectionLost
from glisten.internet.testing import Clock, StringTransport
from glisten.python import log
from glisten.python.failure import Failure
from glisten.words.protocols.jabber import client, error, sasl, sasl_mechanisms, xmlstream
from glisten.words.protocols.jabber.jid import JID
from glisten.words.xish import domish

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
SERVER_HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    b"from='example.com' id='s1' version='1.0'>"
)
SKELETON_CERT = (
    b"\x30\x12\x30\x00\x30\x0b\x06\x09" + bytes.fromhex("2a864886f70d01010b") + b"\x03\x01\x00"
)


class FakeCertificate:
    def dump(self) -> bytes:
        return SKELETON_CERT


@implementer(interfaces.ITLSTransport)
class TLSStringTransport(StringTransport):
    """A memory transport that records STARTTLS instead of doing it."""

    tlsContext: Any = None

    def startTLS(self, ctx: Any, normal: bool = True) -> None:
        self.tlsContext = ctx
        alsoProvides(self, interfaces.ISSLTransport)

    def getPeerCertificate(self) -> Any:
        return FakeCertificate() if self.tlsContext is not None else None


class ScramServer:
    """The server side of SCRAM for the password ``secret``."""

    def __init__(self, hashName: str, salt: bytes = b"salty", iterations: int = 64) -> None:
        self.hashName = hashName
        self.salt = salt
        self.iterations = iterations
        self.salted = hashlib.pbkdf2_hmac(hashName, b"secret", salt, iterations)

    def first(self, clientFirst: bytes) -> bytes:
        self.gs2, _, self.clientFirstBare = clientFirst.partition(b"n=")
        self.clientFirstBare = b"n=" + self.clientFirstBare
        clientNonce = self.clientFirstBare.split(b",r=")[1]
        self.serverFirst = (
            b"r=" + clientNonce + b"SERVER,s=" + base64.b64encode(self.salt)
            + b",i=" + str(self.iterations).encode()
        )  # fmt: skip
        return self.serverFirst

    def final(self, clientFinal: bytes) -> tuple[bool, bytes]:
        withoutProof, _, proof = clientFinal.rpartition(b",p=")
        authMessage = self.clientFirstBare + b"," + self.serverFirst + b"," + withoutProof
        clientKey = hmac.new(self.salted, b"Client Key", self.hashName).digest()
        storedKey = hashlib.new(self.hashName, clientKey).digest()
        signature = hmac.new(storedKey, authMessage, self.hashName).digest()
        recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        ok = hashlib.new(self.hashName, recovered).digest() == storedKey
        serverKey = hmac.new(self.salted, b"Server Key", self.hashName).digest()
        verifier = hmac.new(serverKey, authMessage, self.hashName).digest()
        self.binding = base64.b64decode(withoutProof.split(b",")[0][2:])
        return ok, b"v=" + base64.b64encode(verifier)


class Harness:
    def __init__(
        self,
        password: str = "secret",
        tls: bool = True,
        account: str = "juliet@example.com/balcony",
        streamManagement: bool = False,
    ) -> None:
        self.clock = Clock()
        factory = client.XMPPClientFactory(
            JID(account), password, streamManagement=streamManagement
        )
        self.factory = factory
        self.manager = xmlstream.StreamManager(factory)
        self.events: list[Any] = []
        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, lambda xs: self.events.append("authd"))
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, self.events.append)
        factory.addBootstrap(xmlstream.STREAM_ERROR_EVENT, self.events.append)
        self.tls = tls
        self.connect()

    def connect(self) -> None:
        self.xs = self.factory.buildProtocol(None)
        self.xs.reactor = self.clock
        self.transport = TLSStringTransport() if self.tls else StringTransport()
        self.xs.makeConnection(self.transport)

    def sent(self) -> bytes:
        value = self.transport.value()
        self.transport.clear()
        return value

    def feed(self, data: bytes) -> None:
        self.xs.dataReceived(data)

    def _parse(self) -> list[domish.Element]:
        data = self.sent()
        stream = domish.elementStream()
        got: list[domish.Element] = []
        stream.ElementEvent = got.append
        stream.parse(
            b"<s xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + data
        )
        return got


def startTLS(h: Harness) -> None:
    header = h.sent()
    assert header.startswith(b"<stream:stream ") and b"to='example.com'" in header
    h.feed(
        SERVER_HEADER + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
        b"<required/></starttls></stream:features>"
    )
    assert h.sent() == b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    h.feed(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert h.transport.tlsContext is not None
    assert h.sent().startswith(b"<stream:stream ")


def offerMechanisms(h: Harness, *names: str, extra: bytes = b"") -> None:
    mechanisms = b"".join(b"<mechanism>%s</mechanism>" % n.encode() for n in names)
    h.feed(
        SERVER_HEADER + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        + mechanisms + b"</mechanisms>" + extra + b"</stream:features>"
    )  # fmt: skip


def scramLogin(h: Harness, hashName: str = "sha256", mechanism: str | None = None) -> ScramServer:
    (auth,) = h._parse()
    if mechanism is not None:
        assert auth["mechanism"] == mechanism
    server = ScramServer(hashName)
    first = server.first(base64.b64decode(str(auth)))
    h.feed(b"<challenge xmlns='%s'>%s</challenge>" % (NS_SASL.encode(), base64.b64encode(first)))
    (response,) = h._parse()
    ok, verifier = server.final(base64.b64decode(str(response)))
    assert ok, "the client's proof is wrong"
    h.feed(b"<success xmlns='%s'>%s</success>" % (NS_SASL.encode(), base64.b64encode(verifier)))
    return server


def bindAndSession(h: Harness, extra: bytes = b"") -> None:
    assert h.sent().startswith(b"<stream:stream ")
    h.feed(
        SERVER_HEADER + b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        b"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>" + extra + b"</stream:features>"
    )
    (iq,) = h._parse()
    assert iq["type"] == "set" and str(iq.bind.resource) == "balcony"
    h.feed(
        b"<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        b"<jid>juliet@example.com/balcony-42</jid></bind></iq>" % iq["id"].encode()
    )
    (iq,) = h._parse()
    assert iq.session is not None
    h.feed(b"<iq type='result' id='%s'/>" % iq["id"].encode())


def test_full_login_with_scram_plus() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "PLAIN")
    server = scramLogin(h, mechanism="SCRAM-SHA-256-PLUS")
    assert server.binding == b"p=tls-server-end-point,," + hashlib.sha256(SKELETON_CERT).digest()
    bindAndSession(h)
    assert h.events == ["authd"]
    assert h.xs.authenticator.jid == JID("juliet@example.com/balcony-42")


def test_scram_without_plus_says_y_over_tls() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-1", "PLAIN")
    server = scramLogin(h, "sha1", "SCRAM-SHA-1")
    assert server.binding == b"y,,"
    bindAndSession(h)
    assert h.events == ["authd"]


def test_plus_not_used_when_binding_type_not_offered() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(
        h,
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-1",
        extra=b"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>"
        b"<channel-binding type='tls-exporter'/></sasl-channel-binding>",
    )
    server = scramLogin(h, "sha1", "SCRAM-SHA-1")
    # The server can bind (with another type): "y" would be a downgrade alarm, so "n".
    assert server.binding == b"n,,"


def test_plain_over_tls() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "PLAIN")
    (auth,) = h._parse()
    assert auth["mechanism"] == "PLAIN"
    assert base64.b64decode(str(auth)) == b"\0juliet\0secret"


def test_wrong_server_signature_aborts() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-1")
    (auth,) = h._parse()
    server = ScramServer("sha1")
    first = server.first(base64.b64decode(str(auth)))
    h.feed(b"<challenge xmlns='%s'>%s</challenge>" % (NS_SASL.encode(), base64.b64encode(first)))
    h._parse()
    h.feed(b"<success xmlns='%s'>%s</success>" % (NS_SASL.encode(), base64.b64encode(b"v=AAAA")))
    assert h.transport.disconnecting
    (failure,) = h.events
    assert isinstance(failure, Failure)


def test_sasl_failure_condition() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-1")
    h._parse()
    h.feed(b"<failure xmlns='%s'><not-authorized/><text>no</text></failure>" % NS_SASL.encode())
    (failure,) = h.events
    assert isinstance(failure.value, sasl.SASLAuthError)
    assert failure.value.condition == "not-authorized"


def test_tls_is_required() -> None:
    h = Harness()
    h.sent()
    offerMechanisms(h, "PLAIN")
    (failure,) = h.events
    assert isinstance(failure.value, xmlstream.TLSRequired)
    assert h.sent() == b""  # no password went out


def test_tls_needs_a_tls_capable_transport() -> None:
    h = Harness(tls=False)
    h.sent()
    h.feed(
        SERVER_HEADER + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        b"</stream:features>"
    )
    (failure,) = h.events
    assert isinstance(failure.value, xmlstream.TLSNotSupported)


def test_plain_never_without_tls() -> None:
    h = Harness(tls=False)
    h.xs.initializers = [
        i for i in h.xs.initializers if not isinstance(i, xmlstream.TLSInitiatingInitializer)
    ]
    h.sent()
    offerMechanisms(h, "PLAIN")
    (failure,) = h.events
    assert isinstance(failure.value, sasl.SASLNoAcceptableMechanism)
    assert h.sent() == b""


def test_starttls_failure() -> None:
    h = Harness()
    h.sent()
    h.feed(
        SERVER_HEADER + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        b"</stream:features><failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    )
    (failure,) = h.events
    assert isinstance(failure.value, xmlstream.TLSFailed)


def loggedIn() -> Harness:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-256")
    scramLogin(h)
    bindAndSession(h)
    assert h.events == ["authd"]
    return h


class TestIQ:
    def test_answer_fires_the_deferred(self) -> None:
        h = loggedIn()
        iq = xmlstream.IQ(h.xs, "get")
        iq.addElement(("jabber:iq:version", "query"))
        results: list[Any] = []
        iq.send("romeo@example.net/orchard").addBoth(results.append)
        (sent,) = h._parse()
        assert sent["to"] == "romeo@example.net/orchard"
        # An answer from someone else is ignored (RFC 6120 8.1.2.1).
        h.feed(b"<iq type='result' from='mallory@example.net' id='%s'/>" % sent["id"].encode())
        assert results == []
        h.feed(
            b"<iq type='result' from='romeo@example.net/orchard' id='%s'/>" % sent["id"].encode()
        )
        assert results and results[0]["type"] == "result"

    def test_error_answer(self) -> None:
        h = loggedIn()
        results: list[Any] = []
        xmlstream.IQ(h.xs, "get").send().addErrback(results.append)
        (sent,) = h._parse()
        h.feed(
            b"<iq type='error' id='%s'><error type='cancel'><service-unavailable "
            b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>" % sent["id"].encode()
        )
        assert isinstance(results[0].value, error.StanzaError)
        assert results[0].value.condition == "service-unavailable"

    def test_timeout(self) -> None:
        h = loggedIn()
        iq = xmlstream.IQ(h.xs, "get")
        iq.timeout = 30
        results: list[Any] = []
        iq.send("example.com").addErrback(results.append)
        h.clock.advance(29)
        assert results == []
        h.clock.advance(1)
        assert isinstance(results[0].value, xmlstream.TimeoutError)
        assert h.xs.iqDeferreds == {}

    def test_connection_lost(self) -> None:
        h = loggedIn()
        results: list[Any] = []
        xmlstream.IQ(h.xs, "get").send().addErrback(results.append)
        h.xs.connectionLost(Failure(ConnectionLost()))
        assert isinstance(results[0].value, ConnectionLost)

    def test_old_client_iq(self) -> None:
        h = loggedIn()
        got: list[Any] = []
        iq = client.IQ(h.xs, "get")
        iq.addCallback(got.append)
        iq.addCallback(lambda *a, **k: got.append((a, k)), "extra", key=1)
        iq.send("example.com")
        (sent,) = h._parse()
        h.feed(b"<iq type='result' from='example.com' id='%s'/>" % sent["id"].encode())
        assert got[0]["type"] == "result"
        # As in Twisted, the extra arguments come before the answer.
        assert got[1] == (("extra", got[0]), {"key": 1})


@pytest.mark.parametrize(
    ("data", "condition"),
    [
        (b"<message></iq>", b"not-well-formed"),
        (b"<!-- no -->", b"restricted-xml"),
        (b"<m " + b" ".join(b"a%d='1'" % i for i in range(80)) + b"/>", b"policy-violation"),
    ],
)
def test_bad_xml_gets_a_stream_error(data: bytes, condition: bytes) -> None:
    h = loggedIn()
    h.feed(data)
    sent = h.sent()
    assert sent.startswith(b"<stream:error><" + condition)
    assert sent.endswith(b"</stream:stream>")
    assert h.transport.disconnecting


def test_stream_error_from_server() -> None:
    h = Harness()
    h.sent()
    h.feed(
        SERVER_HEADER + b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        b"</stream:error>"
    )
    assert isinstance(h.events[0].value, error.StreamError)
    assert h.events[0].value.condition == "host-unknown"
    assert h.transport.disconnecting


def test_wrong_root_element() -> None:
    h = Harness()
    h.sent()
    h.feed(b"<html xmlns='http://www.w3.org/1999/xhtml'>")
    assert h.transport.disconnecting


class Recorder(xmlstream.XMPPHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def connectionMade(self) -> None:
        self.calls.append("made")

    def connectionInitialized(self) -> None:
        self.calls.append("initialized")
        self.send(domish.Element((None, "presence")))

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.calls.append("lost")


def test_stream_manager_drives_handlers_and_queues() -> None:
    h = Harness()
    manager = h.manager
    early = Recorder()
    early.setHandlerParent(manager)
    assert early.calls == ["made"] and early.xmlstream is h.xs
    manager.send(domish.Element((None, "message")))  # queued until authenticated
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-256")
    scramLogin(h)
    bindAndSession(h)
    assert [e.name for e in h._parse()] == ["message", "presence"]
    late = Recorder()
    late.setHandlerParent(manager)
    assert late.calls == ["made", "initialized"]
    h.xs.connectionLost(Failure(ConnectionLost()))
    assert early.calls[-1] == "lost" and late.calls[-1] == "lost"
    late.disownHandlerParent(manager)
    assert list(manager) == [early]


def test_anonymous_login() -> None:
    h = Harness(password="", account="example.com")
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-1", "ANONYMOUS")
    (auth,) = h._parse()
    assert auth["mechanism"] == "ANONYMOUS" and str(auth) == ""


def test_certificate_name_is_the_configured_domain() -> None:
    h = Harness()
    h.sent()
    h.feed(
        SERVER_HEADER.replace(b"from='example.com'", b"from='evil.example'")
        + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        b"</stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    )
    assert h.transport.tlsContext._hostname == "example.com"
    assert h.xs.otherEntity == JID("example.com")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.integers(1, 16))
def test_random_bytes_after_login_never_raise(data: bytes, step: int) -> None:
    errors: list[Any] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("isError"):
            errors.append(event)

    log.addObserver(observe)
    try:
        h = loggedIn()
        for i in range(0, len(data), step):
            h.feed(data[i : i + step])
    finally:
        log.removeObserver(observe)
    assert errors == []
    sent = h.sent()
    # Either the input was acceptable, or the answer is a stream error and a close.
    assert not sent or (sent.startswith(b"<stream:error>") and h.transport.disconnecting)


SM = b"<sm xmlns='urn:xmpp:sm:3'/>"
NS_SM = b"urn:xmpp:sm:3"


def managedLogin(h: Harness) -> None:
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-256")
    scramLogin(h)
    bindAndSession(h, SM)
    (enable,) = h._parse()
    assert (enable.uri, enable.name, enable["resume"]) == ("urn:xmpp:sm:3", "enable", "true")
    h.feed(b"<enabled xmlns='urn:xmpp:sm:3' id='S1' resume='true'/>")


def chat(body: str) -> domish.Element:
    message = domish.Element((None, "message"))
    message["to"] = "romeo@example.net"
    message.addElement("body", content=body)
    return message


def reconnect(h: Harness) -> domish.Element:
    """Drop the connection, connect again, log in; :return: what the client sends after
    the new stream's features (a resume request)."""
    h.xs.connectionLost(Failure(ConnectionLost()))
    h.connect()
    startTLS(h)
    offerMechanisms(h, "SCRAM-SHA-256")
    scramLogin(h)
    assert h.sent().startswith(b"<stream:stream ")
    h.feed(
        SERVER_HEADER
        + b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        + SM
        + b"</stream:features>"
    )
    (resume,) = h._parse()
    return resume


class TestStreamManagement:
    def test_acknowledgements(self) -> None:
        h = Harness(streamManagement=True)
        managedLogin(h)
        assert h.events == ["authd"]
        state = h.xs.authenticator.streamManagement
        h.xs.send(chat("one"))
        h.xs.send(chat("two"))
        sent = h._parse()
        # One request for acknowledgement at a time.
        assert [e.name for e in sent] == ["message", "r", "message"]
        assert len(state.unacknowledged) == 2
        h.feed(b"<a xmlns='urn:xmpp:sm:3' h='1'/>")
        assert [str(m.body) for m in state.unacknowledged] == ["two"]
        assert [e.name for e in h._parse()] == ["r"]  # still one outstanding
        h.feed(b"<a xmlns='urn:xmpp:sm:3' h='2'/>")
        assert not state.unacknowledged and h._parse() == []
        # Incoming stanzas are counted and acknowledged on request.
        h.feed(b"<message from='romeo@example.net'/><presence/><r xmlns='urn:xmpp:sm:3'/>")
        (answer,) = h._parse()
        assert (answer.name, answer["h"]) == ("a", "2")

    def test_bad_acknowledgement_ends_the_stream(self) -> None:
        h = Harness(streamManagement=True)
        managedLogin(h)
        h.feed(b"<a xmlns='urn:xmpp:sm:3' h='5'/>")
        assert h.sent().startswith(b"<stream:error><undefined-condition")
        assert h.transport.disconnecting

    def test_resume_after_reconnecting(self) -> None:
        h = Harness(streamManagement=True)
        managedLogin(h)
        h.feed(b"<message from='romeo@example.net'/>")
        h.xs.send(chat("lost?"))
        h.xs.send(chat("delivered"))
        h._parse()
        h.feed(b"<a xmlns='urn:xmpp:sm:3' h='1'/>")
        h.sent()
        resume = reconnect(h)
        assert (resume.name, resume["previd"], resume["h"]) == ("resume", "S1", "1")
        h.feed(b"<resumed xmlns='urn:xmpp:sm:3' previd='S1' h='1'/>")
        resent = h._parse()
        assert [(e.name, str(e.body or "")) for e in resent] == [
            ("message", "delivered"),
            ("r", ""),
        ]
        assert h.events == ["authd", "authd"]
        assert h.xs.authenticator.resumed
        assert h.xs.authenticator.jid == JID("juliet@example.com/balcony-42")

    def test_resume_refused_binds_anew_and_resends(self) -> None:
        h = Harness(streamManagement=True)
        managedLogin(h)
        h.xs.send(chat("pending"))
        h.sent()
        assert reconnect(h).name == "resume"
        h.feed(b"<failed xmlns='urn:xmpp:sm:3'><item-not-found "
               b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")  # fmt: skip
        (iq,) = h._parse()
        assert iq.bind is not None
        h.feed(
            b"<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            b"<jid>juliet@example.com/balcony-43</jid></bind></iq>" % iq["id"].encode()
        )
        (enable,) = h._parse()
        assert enable.name == "enable"
        h.feed(b"<enabled xmlns='urn:xmpp:sm:3' id='S2' resume='true'/>")
        assert [e.name for e in h._parse()] == ["message", "r"]
        assert not h.xs.authenticator.resumed
        assert h.xs.authenticator.streamManagement.id == "S2"

    def test_server_without_stream_management(self) -> None:
        h = Harness(streamManagement=True)
        startTLS(h)
        offerMechanisms(h, "SCRAM-SHA-256")
        scramLogin(h)
        bindAndSession(h)
        assert h.events == ["authd"]
        h.xs.send(chat("plain"))
        assert [e.name for e in h._parse()] == ["message"]


def test_digest_md5_is_off_by_default() -> None:
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "DIGEST-MD5")
    (failure,) = h.events
    assert isinstance(failure.value, sasl.SASLNoAcceptableMechanism)


def test_digest_md5_when_allowed_after_scram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sasl.SASLInitiatingInitializer, "allowDigestMD5", True)
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "PLAIN", "DIGEST-MD5", "SCRAM-SHA-1")
    (auth,) = h._parse()
    assert auth["mechanism"] == "SCRAM-SHA-1"

    h = Harness()
    startTLS(h)
    offerMechanisms(h, "PLAIN", "DIGEST-MD5")
    (auth,) = h._parse()
    assert auth["mechanism"] == "DIGEST-MD5" and not str(auth).strip("=")
    challenge = b'realm="example.com",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess'
    h.feed(
        b"<challenge xmlns='%s'>%s</challenge>" % (NS_SASL.encode(), base64.b64encode(challenge))
    )
    (response,) = h._parse()
    fields = dict(
        part.split("=", 1) for part in base64.b64decode(str(response)).decode().split(",")
    )
    assert fields["username"] == '"juliet"' and fields["digest-uri"] == '"xmpp/example.com"'
    # The server's side of RFC 2831, computed here independently.
    cnonce = fields["cnonce"].strip('"')
    a1 = hashlib.md5(b"juliet:example.com:secret").digest() + f":abc:{cnonce}".encode()

    def kd(a2: str) -> str:
        ha1, ha2 = hashlib.md5(a1).hexdigest(), hashlib.md5(a2.encode()).hexdigest()
        return hashlib.md5(f"{ha1}:abc:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()

    assert fields["response"] == kd("AUTHENTICATE:xmpp/example.com")
    rspauth = b"rspauth=" + kd(":xmpp/example.com").encode()
    h.feed(b"<challenge xmlns='%s'>%s</challenge>" % (NS_SASL.encode(), base64.b64encode(rspauth)))
    assert h._parse()[0].name == "response"
    h.feed(b"<success xmlns='%s'/>" % NS_SASL.encode())
    bindAndSession(h)
    assert h.events == ["authd"]


def test_digest_md5_wrong_rspauth_aborts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sasl.SASLInitiatingInitializer, "allowDigestMD5", True)
    h = Harness()
    startTLS(h)
    offerMechanisms(h, "DIGEST-MD5")
    h._parse()
    challenge = b'nonce="abc",qop="auth",algorithm=md5-sess'
    h.feed(
        b"<challenge xmlns='%s'>%s</challenge>" % (NS_SASL.encode(), base64.b64encode(challenge))
    )
    h._parse()
    h.feed(
        b"<success xmlns='%s'>%s</success>" % (NS_SASL.encode(), base64.b64encode(b"rspauth=00"))
    )
    assert h.transport.disconnecting
    (failure,) = h.events
    assert isinstance(failure.value, sasl_mechanisms.SASLMechanismError)
