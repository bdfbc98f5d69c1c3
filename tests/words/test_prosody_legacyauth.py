"""Legacy authentication (XEP-0078) against Prosody's mod_legacyauth: STARTTLS verified
against a test CA, then ``jabber:iq:auth``; a wrong password is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.python.failure import Failure
from glisten.words.protocols.jabber import client, error, xmlstream
from glisten.words.protocols.jabber.jid import JID
from glisten.words.xish import domish

from .conftest import Prosody, ReactorThread, runningProsody, waitUntil
from .test_prosody import ask, tlsOptions

pytestmark = pytest.mark.interop


@pytest.fixture
def legacyProsody(tmp_path: Path) -> Iterator[Prosody]:
    """A Prosody that also offers legacy authentication (accounts as ``prosody``'s)."""
    with runningProsody(tmp_path, ("legacyauth",)) as server:
        yield server


class Login:
    def __init__(self, rt: ReactorThread, server: Prosody, password: str) -> None:
        self.xs: Any = None
        self.failure: Failure | None = None
        self.refused: list[domish.Element] = []
        factory = client.basicClientFactory(
            JID("alice@localhost/legacy"), password, tlsOptions(server.caFile)
        )
        factory.maxRetries = 0

        def connected(xs: Any) -> None:
            xs.reactor = rt.reactor
            xs.addObserver(client.IQAuthInitializer.AUTH_FAILED_EVENT, self.refused.append)

        factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, connected)
        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self.authenticated)
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, self.failed)
        rt.call(rt.reactor.connectTCP, "127.0.0.1", server.c2sPort, factory)

    def authenticated(self, xs: Any) -> None:
        self.xs = xs

    def failed(self, failure: Failure) -> None:
        self.failure = failure


def test_legacy_login_over_starttls(legacyProsody: Prosody, reactorThread: ReactorThread) -> None:
    session = Login(reactorThread, legacyProsody, "alice-pw")
    waitUntil(lambda: session.xs or session.failure, what="legacy login")
    assert session.failure is None, session.failure
    xs = session.xs
    assert xs.transport.TLS
    assert xs.thisEntity == JID("alice@localhost/legacy")
    # The session is bound and usable: the server answers a ping.
    answer = ask(reactorThread, xs, "localhost", ("urn:xmpp:ping", "ping"))
    assert isinstance(answer, domish.Element) and answer["type"] == "result"


def test_wrong_password_refused(legacyProsody: Prosody, reactorThread: ReactorThread) -> None:
    session = Login(reactorThread, legacyProsody, "wrong")
    waitUntil(lambda: session.xs or session.failure, what="the refusal")
    assert session.xs is None
    assert session.failure is not None
    assert isinstance(session.failure.value, error.StanzaError)
    assert session.failure.value.condition == "not-authorized"
    assert len(session.refused) == 1
