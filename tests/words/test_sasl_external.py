"""SASL EXTERNAL on glisten's IRC server over real TLS: a client certificate signed by the
server's CA (made with openssl) logs its holder in; glisten's IRCClient is the peer."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from glisten.cred.portal import Portal
from glisten.internet.protocol import ClientFactory
from glisten.internet.ssl import (
    Certificate,
    CertificateOptions,
    KeyPair,
    PrivateCertificate,
    optionsForClientTLS,
)
from glisten.words import service
from glisten.words.protocols import irc

from .conftest import (
    ReactorThread,
    freePort,
    makeCertificates,
    requireBinary,
    runGlisten,
    stopGlisten,
    waitUntil,
)

pytestmark = pytest.mark.interop


def makeClientCertificate(folder: Path, name: str) -> PrivateCertificate:
    """A client certificate for ``name`` signed by the CA ``makeCertificates`` left there."""
    openssl = requireBinary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=folder)

    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
        f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
    run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2")  # fmt: skip
    return PrivateCertificate.loadPEM(
        (folder / f"{name}.pem").read_bytes() + (folder / f"{name}.key").read_bytes()
    )


class Bot(irc.IRCClient):
    heartbeatInterval = None
    saslMechanism = "EXTERNAL"

    def __init__(self, nickname: str) -> None:
        super().__init__()
        self.nickname = nickname
        self.events: list[Any] = []

    def signedOn(self) -> None:
        self.events.append(("signedOn", self.nickname))

    def saslSucceeded(self, account: str | None) -> None:
        self.events.append(("sasl-ok", account))

    def saslFailed(self, numeric: str) -> None:
        self.events.append(("sasl-failed", numeric))

    def connectionLost(self, reason: Any = None) -> None:
        super().connectionLost(reason)
        self.events.append("lost")


def connectBot(
    rt: ReactorThread, port: int, ca: Certificate, nick: str, cert: PrivateCertificate | None
) -> Bot:
    """Connect a :class:`Bot` over TLS (trusting ``ca``, presenting ``cert``)."""
    bot = Bot(nick)
    bot.reactor = rt.reactor
    factory = ClientFactory.forProtocol(lambda: bot)
    options = optionsForClientTLS("localhost", ca, cert)
    rt.call(rt.reactor.connectSSL, "127.0.0.1", port, factory, options)
    return bot


def test_saslExternalOverTLS(tmp_path: Path, reactorThread: ReactorThread) -> None:
    rt = reactorThread
    makeCertificates(tmp_path)
    ca = Certificate.loadPEM((tmp_path / "ca.pem").read_bytes())
    alice = makeClientCertificate(tmp_path, "alice")
    mallory = makeClientCertificate(tmp_path, "mallory")

    realm = service.InMemoryWordsRealm("irc.test")
    checker = service.CertificateFingerprintChecker(
        {service.certificateFingerprint(alice): "alice"}
    )
    factory = service.IRCFactory(realm, Portal(realm, [checker]), reactor=rt.reactor)
    serverOptions = CertificateOptions(
        privateKey=KeyPair.load((tmp_path / "server.key").read_bytes()),
        certificate=Certificate.loadPEM((tmp_path / "server.pem").read_bytes()),
        verify=True,
        caCerts=[ca],
        requireCertificate=False,
    )
    ports: list[Any] = []
    rt.call(
        lambda: ports.append(rt.reactor.listenSSL(0, factory, serverOptions, interface="127.0.0.1"))
    )
    port = waitUntil(lambda: ports, what="the server to listen")[0].getHost().port

    good = connectBot(rt, port, ca, "someone", alice)
    waitUntil(lambda: ("signedOn", "alice") in good.events, what="alice signed on by certificate")
    assert ("sasl-ok", "alice") in good.events
    bad = connectBot(rt, port, ca, "mallory", mallory)
    waitUntil(lambda: ("sasl-failed", "904") in bad.events, what="mallory refused")
    assert not any(e[0] == "signedOn" for e in bad.events if isinstance(e, tuple))
    rt.call(ports[0].stopListening)


def test_glistenWordsCommandSaslExternal(tmp_path: Path, reactorThread: ReactorThread) -> None:
    """``glisten words --irc-tls-port ... --client-ca ... --certfp ...`` logs certificate
    holders in with SASL EXTERNAL; the server runs as the installed command."""
    rt = reactorThread
    makeCertificates(tmp_path)
    ca = Certificate.loadPEM((tmp_path / "ca.pem").read_bytes())
    (tmp_path / "server-both.pem").write_bytes(
        (tmp_path / "server.pem").read_bytes() + (tmp_path / "server.key").read_bytes()
    )
    alice = makeClientCertificate(tmp_path, "alice")
    mallory = makeClientCertificate(tmp_path, "mallory")
    (tmp_path / "certfp").write_text(f"alice:{service.certificateFingerprint(alice)}\n")
    tlsPort = freePort()
    proc = runGlisten(
        tmp_path, tlsPort, "words",
        "--irc-port", f"tcp:{freePort()}:interface=127.0.0.1",
        "--irc-tls-port", f"tcp:{tlsPort}:interface=127.0.0.1",
        "--certificate", "server-both.pem", "--client-ca", "ca.pem", "--certfp", "certfp",
        "--hostname", "irc.test",
    )  # fmt: skip
    try:
        good = connectBot(rt, tlsPort, ca, "someone", alice)
        waitUntil(lambda: ("signedOn", "alice") in good.events, what="alice signed on")
        assert ("sasl-ok", "alice") in good.events
        bad = connectBot(rt, tlsPort, ca, "mallory", mallory)
        waitUntil(lambda: ("sasl-failed", "904") in bad.events, what="mallory refused")
        # Without a certificate, EXTERNAL is not even offered.
        none = connectBot(rt, tlsPort, ca, "nobody", None)
        waitUntil(lambda: ("sasl-failed", "") in none.events, what="no EXTERNAL offered")
        for bot in (good, bad, none):
            rt.call(bot.quit, "bye")
    finally:
        stopGlisten(proc)
