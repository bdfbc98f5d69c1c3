"""Legacy authentication (XEP-0078, ``jabber:iq:auth``) against a scripted server over a
memory transport: STARTTLS first, digest preferred, the password in clear only over TLS."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from glisten.internet.testing import Clock
from glisten.words.protocols.jabber import client, error, xmlstream
from glisten.words.protocols.jabber.jid import JID
from glisten.words.xish import domish

from .test_jabber_client import SERVER_HEADER
from .test_jabber_client import Harness as ScriptedServer
from .test_jabber_client import startTLS as scriptedStartTLS

OLD_SERVER_HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    b"from='example.com' id='old-sid'>"
)
IQ_AUTH_FEATURE = b"<auth xmlns='http://jabber.org/features/iq-auth'/>"


class Harness(ScriptedServer):
    """A legacy-authenticating client over a TLS-capable memory transport."""

    def __init__(self, account: str = "juliet@example.com/balcony", **kwargs: Any) -> None:
        self.clock = Clock()
        if kwargs:
            authenticator = client.BasicAuthenticator(JID(account), "secret", **kwargs)
            self.factory = xmlstream.XmlStreamFactory(authenticator)
        else:
            self.factory = client.basicClientFactory(JID(account), "secret")
        self.events: list[Any] = []
        self.factory.addBootstrap(
            xmlstream.STREAM_AUTHD_EVENT, lambda xs: self.events.append("authd")
        )
        self.factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, self.events.append)
        self.tls = True
        self.connect()

    def stanzas(self) -> list[domish.Element]:
        return self._parse()


def startTLS(h: Harness) -> None:
    assert b"version='1.0'" in h.transport.value()
    scriptedStartTLS(h)
    h.feed(SERVER_HEADER + b"<stream:features>" + IQ_AUTH_FEATURE + b"</stream:features>")


def askFields(h: Harness, fields: bytes) -> domish.Element:
    """Answer the client's fields query with ``fields``; return the client's login."""
    (query,) = h.stanzas()
    assert query["type"] == "get" and query.query.uri == client.NS_IQ_AUTH
    assert str(query.query.username) == "juliet"
    h.feed(
        b"<iq type='result' id='%s'><query xmlns='jabber:iq:auth'>%s</query></iq>"
        % (query["id"].encode(), fields)
    )
    (login,) = h.stanzas()
    assert login["type"] == "set" and login.query.uri == client.NS_IQ_AUTH
    assert str(login.query.username) == "juliet" and str(login.query.resource) == "balcony"
    return login


def test_plaintext_over_tls() -> None:
    h = Harness()
    startTLS(h)
    login = askFields(h, b"<username/><password/><resource/>")
    assert str(login.query.password) == "secret" and login.query.digest is None
    h.feed(b"<iq type='result' id='%s'/>" % login["id"].encode())
    assert h.events == ["authd"]
    assert h.xs.thisEntity == JID("juliet@example.com/balcony")


def test_digest_preferred() -> None:
    h = Harness()
    startTLS(h)
    login = askFields(h, b"<username/><password/><digest/><resource/>")
    assert login.query.password is None
    assert str(login.query.digest) == hashlib.sha1(b"s1secret").hexdigest()
    assert str(login.query.digest) == xmlstream.hashPassword("s1", "secret")


def test_tls_required_by_default() -> None:
    h = Harness()
    h.sent()
    h.feed(SERVER_HEADER + b"<stream:features>" + IQ_AUTH_FEATURE + b"</stream:features>")
    (failure,) = h.events
    assert isinstance(failure.value, xmlstream.TLSRequired)
    assert h.sent() == b""  # not even the user name went out


def test_old_server_without_tls_gets_the_digest_only() -> None:
    h = Harness(requireTLS=False)
    h.sent()
    h.feed(OLD_SERVER_HEADER)  # a pre-1.0 stream: no features, no STARTTLS
    login = askFields(h, b"<username/><digest/><password/><resource/>")
    assert str(login.query.digest) == xmlstream.hashPassword("old-sid", "secret")
    h.feed(b"<iq type='result' id='%s'/>" % login["id"].encode())
    assert h.events == ["authd"]


def test_no_plaintext_without_tls() -> None:
    h = Harness(requireTLS=False)
    h.sent()
    h.feed(OLD_SERVER_HEADER)
    (query,) = h.stanzas()
    h.feed(
        b"<iq type='result' id='%s'><query xmlns='jabber:iq:auth'><username/><password/>"
        b"<resource/></query></iq>" % query["id"].encode()
    )
    (failure,) = h.events
    assert isinstance(failure.value, client.PlaintextPasswordRefused)
    assert b"secret" not in h.sent()


def test_plaintext_without_tls_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.IQAuthInitializer, "allowPlaintextPassword", True)
    h = Harness(requireTLS=False)
    h.sent()
    h.feed(OLD_SERVER_HEADER)
    login = askFields(h, b"<username/><password/><resource/>")
    assert str(login.query.password) == "secret"


@pytest.mark.parametrize(
    ("step", "condition", "event"),
    [
        ("query", "not-authorized", client.IQAuthInitializer.INVALID_USER_EVENT),
        ("query", "forbidden", client.IQAuthInitializer.AUTH_FAILED_EVENT),
        ("login", "not-authorized", client.IQAuthInitializer.AUTH_FAILED_EVENT),
    ],
)
def test_refusals(step: str, condition: str, event: str) -> None:
    h = Harness()
    seen: list[domish.Element] = []
    h.xs.addObserver(event, seen.append)
    startTLS(h)
    if step == "login":
        (request,) = [askFields(h, b"<username/><password/><resource/>")]
    else:
        (request,) = h.stanzas()
    h.feed(
        b"<iq type='error' id='%s'><error type='auth'><%s "
        b"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        % (request["id"].encode(), condition.encode())
    )
    (failure,) = h.events
    assert isinstance(failure.value, error.StanzaError)
    assert failure.value.condition == condition
    assert len(seen) == 1 and seen[0]["type"] == "error"


def test_needs_a_resource() -> None:
    h = Harness(account="juliet@example.com")
    startTLS(h)
    (failure,) = h.events
    assert isinstance(failure.value, ValueError)
    assert h.sent() == b""


def test_queries() -> None:
    answer = domish.Element(("jabber:client", "iq"))
    query = answer.addElement((client.NS_IQ_AUTH, "query"))
    query.addElement("password")
    assert client.PlaintextAuthQry.matches(answer)
    assert not client.DigestAuthQry.matches(answer)
    query.addElement("digest")
    assert client.DigestAuthQry.matches(answer)
