"""AMP StartTLS over real TCP on 127.0.0.1 (certificates made at test time)."""

from __future__ import annotations

import datetime
import ssl
from typing import Any

import pytest

from glisten.internet import defer, error, task
from glisten.internet.protocol import ClientFactory, Factory
from glisten.protocols import amp
from glisten.trial import unittest

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from glisten.internet.ssl import Certificate, PrivateCertificate  # noqa: E402


def _make(cn: str, issuer: tuple[Any, Any] | None = None, ca: bool = False) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    issuerCert, issuerKey = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuerCert.subject if issuerCert else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False
        )
    return builder.sign(issuerKey, hashes.SHA256()), key


def _pem(cert: Any, key: Any | None = None) -> bytes:
    out = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        out += key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return out


caCert, caKey = _make("glisten test CA", ca=True)
otherCaCert, _ = _make("another CA", ca=True)
serverCert, serverKey = _make("server.example", (caCert, caKey))
CA = Certificate.loadPEM(_pem(caCert))
OTHER_CA = Certificate.loadPEM(_pem(otherCaCert))
SERVER = PrivateCertificate.loadPEM(_pem(serverCert, serverKey))


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Server(amp.AMP):
    @amp.StartTLS.responder
    def startTLS(self) -> dict[str, Any]:
        return {"tls_localCertificate": SERVER}

    @Sum.responder
    def sum(self, a: int, b: int) -> dict[str, int]:
        return {"total": a + b}


class StartTLSTests(unittest.TestCase):
    timeout = 20

    async def _connect(self) -> tuple[Any, Any, list[Any]]:
        from glisten.internet import reactor

        self.reactor = reactor
        lost: list[defer.Deferred[None]] = []
        self.lost = lost

        class Watched(amp.AMP):
            def connectionLost(self, reason: Any = None) -> None:
                amp.AMP.connectionLost(self, reason)
                done.callback(None)

        class WatchedServer(Server):
            def connectionLost(self, reason: Any = None) -> None:
                Server.connectionLost(self, reason)
                serverDone.callback(None)

        done: defer.Deferred[None] = defer.Deferred()
        serverDone: defer.Deferred[None] = defer.Deferred()
        lost.extend([done, serverDone])
        port = reactor.listenTCP(0, Factory.forProtocol(WatchedServer), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        connected: defer.Deferred[Any] = defer.Deferred()

        class CF(ClientFactory):
            protocol = Watched

            def buildProtocol(self, addr: Any) -> Any:
                p = ClientFactory.buildProtocol(self, addr)
                reactor.callLater(0, connected.callback, p)
                return p

        reactor.connectTCP("127.0.0.1", port.getHost().port, CF())
        client = await connected
        return client, port, lost

    async def _close(self, client: Any) -> None:
        client.transport.loseConnection()
        await defer.gatherResults(self.lost)
        await task.deferLater(self.reactor, 0.01, lambda: None)

    async def test_startTLSVerified(self) -> None:
        client, port, lost = await self._connect()
        assert await client.callRemote(Sum, a=1, b=2) == {"total": 3}
        await client.callRemote(amp.StartTLS, tls_verifyAuthorities=[CA])
        assert await client.callRemote(Sum, a=20, b=22) == {"total": 42}
        peer = client.transport.getPeerCertificate()
        assert peer is not None
        await self._close(client)

    async def test_startTLSWrongAuthority(self) -> None:
        client, port, lost = await self._connect()
        await client.callRemote(amp.StartTLS, tls_verifyAuthorities=[OTHER_CA])
        with pytest.raises((ssl.SSLError, error.ConnectionClosed)):
            await client.callRemote(Sum, a=1, b=1)
        await defer.gatherResults(self.lost)
        await task.deferLater(self.reactor, 0.01, lambda: None)


def test_tlsArgumentsNotOnTheWire() -> None:
    from glisten.internet.testing import StringTransport
    from glisten.protocols._ampcodec import AmpBoxDecoder

    proto = amp.AMP()
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.callRemote(amp.StartTLS, tls_verifyAuthorities=[CA])
    [box] = AmpBoxDecoder().feed(transport.value())
    assert box == {b"_ask": b"1", b"_command": b"StartTLS"}
    # Boxes sent before TLS is up are held back.
    transport.clear()
    proto.callRemote(Sum, a=1, b=2)
    assert transport.value() == b""
