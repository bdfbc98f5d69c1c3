"""glisten's XMPP client against Prosody: SCRAM over STARTTLS verified against a test CA,
messages and IQs with a second client written with slixmpp, refusals (wrong password, an
untrusted certificate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.internet import ssl
from glisten.python.failure import Failure
from glisten.words.protocols.jabber import client, error, sasl, xmlstream
from glisten.words.protocols.jabber.jid import JID
from glisten.words.xish import domish, xpath

from .conftest import Prosody, ReactorThread, SlixClient, waitUntil

pytestmark = pytest.mark.interop


class Session:
    """One glisten client connection, driven from the test thread."""

    def __init__(self, rt: ReactorThread) -> None:
        self.rt = rt
        self.xs: Any = None
        self.failure: Failure | None = None
        self.ended = False
        self.received: list[domish.Element] = []
        self.sasl: Any = None
        self.factory: Any = None
        self.logins = 0

    def authenticated(self, xs: Any) -> None:
        self.logins += 1
        xs.addObserver("/message", self.received.append)
        xs.addObserver("/iq[@type='get']/ping[@xmlns='urn:xmpp:ping']", self.pong)
        self.xs = xs

    def pong(self, iq: domish.Element) -> None:
        self.xs.send(xmlstream.toResponse(iq, "result"))

    def call(self, fn: Any, *args: Any) -> None:
        self.rt.call(fn, *args)


def ask(rt: ReactorThread, xs: Any, to: str, payload: tuple[str, str]) -> Any:
    """Send an IQ get with ``payload`` from the reactor thread; return its Deferred's result."""
    answers: list[Any] = []

    def send() -> None:
        iq = xmlstream.IQ(xs, "get")
        iq.addElement(payload)
        iq.timeout = 10
        iq.send(to).addBoth(answers.append)

    rt.call(send)
    waitUntil(lambda: answers, what=f"the answer from {to}")
    return answers[0]


def tlsOptions(caFile: Path, host: str = "localhost") -> Any:
    authority = ssl.Certificate.loadPEM(caFile.read_bytes())
    return ssl.optionsForClientTLS(host, trustRoot=ssl.trustRootFromCertificates([authority]))


def login(
    rt: ReactorThread,
    server: Prosody,
    user: str,
    password: str,
    tls: Any = None,
    streamManagement: bool = False,
) -> Session:
    session = Session(rt)
    account = JID(f"{user}@localhost/glisten")
    factory = client.XMPPClientFactory(
        account, password, tls or tlsOptions(server.caFile), streamManagement=streamManagement
    )
    # Reconnect once (to resume) with stream management; never otherwise.
    factory.maxRetries = 1 if streamManagement else 0
    factory.initialDelay = 0.05
    factory.clock = rt.reactor
    session.factory = factory

    def connected(xs: Any) -> None:
        xs.reactor = rt.reactor
        session.sasl = next(
            i for i in xs.initializers if isinstance(i, sasl.SASLInitiatingInitializer)
        )

    def failed(f: Failure) -> None:
        session.failure = f

    def ended(reason: Any) -> None:
        session.ended = True

    factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, connected)
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, session.authenticated)
    factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, failed)
    factory.addBootstrap(xmlstream.STREAM_END_EVENT, ended)
    rt.call(rt.reactor.connectTCP, "127.0.0.1", server.c2sPort, factory)
    return session


def test_scram_over_verified_starttls(prosody: Prosody, reactorThread: ReactorThread) -> None:
    session = login(reactorThread, prosody, "alice", "alice-pw")
    waitUntil(lambda: session.xs or session.failure, what="login")
    assert session.failure is None, session.failure
    xs = session.xs
    assert xs.transport.TLS
    assert xs.authenticator.jid == JID("alice@localhost/glisten")
    assert session.sasl.mechanism.name.startswith("SCRAM-SHA-")
    # An IQ to the server: its answer fires the Deferred.
    answer = ask(reactorThread, xs, "localhost", ("urn:xmpp:ping", "ping"))
    assert isinstance(answer, domish.Element) and answer["type"] == "result"


def test_messages_and_iqs_with_slixmpp(
    prosody: Prosody, reactorThread: ReactorThread, slix: SlixClient
) -> None:
    session = login(reactorThread, prosody, "alice", "alice-pw")
    waitUntil(lambda: session.xs or session.failure, what="login")
    assert session.failure is None, session.failure
    xs = session.xs

    def sendMessage(to: str, body: str) -> None:
        message = domish.Element((None, "message"))
        message["to"] = to
        message["type"] = "chat"
        message.addElement("body", content=body)
        xs.send(message)

    reactorThread.call(sendMessage, "bob@localhost/slix", "echo?")
    waitUntil(lambda: ("alice@localhost/glisten", "echo?") in slix.messages, what="bob got it")
    waitUntil(
        lambda: any(str(m.body) == "echo!" for m in session.received), what="alice got the echo"
    )
    reply = next(m for m in session.received if str(m.body) == "echo!")
    assert reply["from"] == "bob@localhost/slix"

    # glisten asks slixmpp for its software version (XEP-0092).
    answer = ask(reactorThread, xs, "bob@localhost/slix", ("jabber:iq:version", "query"))
    assert isinstance(answer, domish.Element), answer
    assert xpath.queryForString("/iq/query/name", answer) == "slix-peer"

    # An IQ slixmpp cannot answer comes back as a StanzaError.
    failure = ask(reactorThread, xs, "bob@localhost/slix", ("urn:example:unknown", "query"))
    assert isinstance(failure.value, error.StanzaError)
    assert failure.value.condition in ("feature-not-implemented", "service-unavailable")

    # slixmpp pings glisten (XEP-0199); glisten's observer answers.
    rtt = slix.run(slix.xmpp.plugin["xep_0199"].ping("alice@localhost/glisten", timeout=10))
    assert rtt >= 0


def test_wrong_password_fails_authentication(
    prosody: Prosody, reactorThread: ReactorThread
) -> None:
    session = login(reactorThread, prosody, "alice", "wrong")
    waitUntil(lambda: session.xs or session.failure, what="login result")
    assert session.xs is None
    assert session.failure is not None
    assert isinstance(session.failure.value, sasl.SASLAuthError)
    assert session.failure.value.condition == "not-authorized"


def test_untrusted_certificate_is_refused(
    prosody: Prosody, reactorThread: ReactorThread, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from .conftest import makeCertificates

    otherCA = tmp_path_factory.mktemp("otherca")
    makeCertificates(otherCA)
    session = login(reactorThread, prosody, "alice", "alice-pw", tlsOptions(otherCA / "ca.pem"))
    waitUntil(lambda: session.ended or session.xs, what="the connection to end")
    assert session.xs is None


def test_stream_management_resumes_after_a_dropped_connection(
    prosody: Prosody, reactorThread: ReactorThread, slix: SlixClient
) -> None:
    session = login(reactorThread, prosody, "alice", "alice-pw", streamManagement=True)
    waitUntil(lambda: session.xs or session.failure, what="login")
    assert session.failure is None, session.failure
    first = session.xs
    state = first.authenticator.streamManagement
    assert state.id is not None, "Prosody did not enable resumable stream management"
    # Drop the connection under the stream; meanwhile bob sends a message.
    reactorThread.call(first.transport.abortConnection)
    waitUntil(lambda: first.transport.disconnected, what="the connection to drop")
    slix.sendMessage("alice@localhost/glisten", "while you were away")
    waitUntil(lambda: session.logins == 2, what="the session to resume")
    assert session.xs is not first
    assert session.xs.authenticator.resumed
    waitUntil(
        lambda: any(str(m.body) == "while you were away" for m in session.received),
        what="the message held for the resumed session",
    )
    # What glisten sends on the resumed session arrives, and Prosody acknowledges it.
    message = domish.Element((None, "message"))
    message["to"], message["type"] = "bob@localhost/slix", "chat"
    message.addElement("body", content="back again")
    reactorThread.call(session.xs.send, message)
    waitUntil(lambda: ("alice@localhost/glisten", "back again") in slix.messages, what="bob")
    waitUntil(lambda: not state.unacknowledged, what="Prosody's acknowledgement")
