"""
TLS over real loopback TCP: listenSSL/connectSSL, verification failures, STARTTLS.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from glisten.internet import error, interfaces
from glisten.internet.defer import Deferred, gatherResults
from glisten.internet.protocol import ClientFactory, Factory, Protocol
from glisten.internet.ssl import (
    Certificate,
    CertificateOptions,
    PrivateCertificate,
    optionsForClientTLS,
)
from glisten.protocols.tls import TLSMemoryBIOFactory


class EchoServer(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.received = bytearray()
        self.lost: Deferred[Any] = Deferred()
        self.reason: Any = None

    def connectionMade(self) -> None:
        self.transport.write(self.payload)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(self.payload):
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.reason = reason
        self.lost.callback(None)


class Recording(Factory):
    def __init__(self, protocolFactory: Any) -> None:
        self.protocolFactory = protocolFactory
        self.built: list[Any] = []

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocolFactory()
        p.factory = self
        self.built.append(p)
        return p


class OneClient(ClientFactory):
    def __init__(self, proto: Protocol) -> None:
        self.proto = proto
        self.failed: Any = None

    def buildProtocol(self, addr: Any) -> Protocol:
        return self.proto

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.failed = reason


def _server(pki: Any, which: str = "server") -> Any:
    return PrivateCertificate.loadPEM(getattr(pki, which).bothPEM).options()


def _client(pki: Any, host: str = "localhost") -> Any:
    return optionsForClientTLS(host, trustRoot=Certificate.loadPEM(pki.ca.certPEM))


def test_listenAndConnectSSL(reactor: Any, wait: Any, pki: Any) -> None:
    from glisten.protocols.tls import connectSSL, listenSSL

    port = listenSSL(
        reactor, 0, Factory.forProtocol(EchoServer), _server(pki), interface="127.0.0.1"
    )
    payload = bytes(range(256)) * 4096  # 1 MiB
    client = Client(payload)
    connectSSL(reactor, "127.0.0.1", port.getHost().port, OneClient(client), _client(pki))
    wait(client.lost)
    assert bytes(client.received) == payload
    assert client.reason.check(error.ConnectionDone)
    port.stopListening()


def test_reactorMethods(reactor: Any, wait: Any, pki: Any) -> None:
    port = reactor.listenSSL(
        0, Factory.forProtocol(EchoServer), _server(pki), interface="127.0.0.1"
    )
    client = Client(b"via reactor methods")
    reactor.connectSSL("127.0.0.1", port.getHost().port, OneClient(client), _client(pki))
    wait(client.lost)
    assert bytes(client.received) == b"via reactor methods"
    port.stopListening()


@pytest.mark.parametrize(
    ("which", "host", "message"),
    [
        ("server", "wrong.example", "Hostname mismatch"),
        ("expired", "localhost", "certificate has expired"),
        ("selfSigned", "localhost", "self-signed certificate"),
    ],
)
def test_verificationFailureOverTCP(
    reactor: Any, wait: Any, pki: Any, which: str, host: str, message: str
) -> None:
    serverFactory = Recording(Protocol)
    port = reactor.listenSSL(0, serverFactory, _server(pki, which), interface="127.0.0.1")
    client = Client(b"secret")
    reactor.connectSSL("127.0.0.1", port.getHost().port, OneClient(client), _client(pki, host))
    wait(client.lost)
    assert client.reason.check(ssl.SSLCertVerificationError)
    assert message in client.reason.value.verify_message or message in str(client.reason.value)
    assert client.received == b""
    port.stopListening()


def test_plaintextClientGetsCleanError(reactor: Any, wait: Any, pki: Any) -> None:
    lost: Deferred[Any] = Deferred()

    class Server(Protocol):
        def connectionLost(self, reason: Any = None) -> None:
            lost.callback(reason)

    class Plain(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")

    port = reactor.listenSSL(0, Factory.forProtocol(Server), _server(pki), interface="127.0.0.1")
    plain = Plain()
    reactor.connectTCP("127.0.0.1", port.getHost().port, OneClient(plain))
    result: list[Any] = []
    lost.addBoth(result.append)
    wait(lost)
    assert result[0].check(ssl.SSLError)
    port.stopListening()


def test_handshakeTimeoutOverTCP(reactor: Any, wait: Any, pki: Any) -> None:
    lost: Deferred[Any] = Deferred()

    class Server(Protocol):
        def connectionLost(self, reason: Any = None) -> None:
            lost.callback(None)
            self.reason = reason

    server = Server()
    factory = TLSMemoryBIOFactory(
        _server(pki),
        False,
        Factory.forProtocol(lambda: server),
        handshakeTimeout=0.05,
        clock=reactor,
    )
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    silent = Protocol()  # connects and never says anything
    reactor.connectTCP("127.0.0.1", port.getHost().port, OneClient(silent))
    wait(lost)
    assert server.reason.check(error.TimeoutError)
    port.stopListening()


class StartTLSServer(Protocol):
    """
    Says "ready", waits for "STARTTLS", switches to TLS and echoes.
    """

    def __init__(self, options: Any) -> None:
        self.options = options
        self.tls = False

    def connectionMade(self) -> None:
        self.transport.write(b"ready\n")

    def dataReceived(self, data: bytes) -> None:
        if not self.tls:
            assert data == b"STARTTLS\n"
            self.transport.write(b"go ahead\n")
            self.transport.startTLS(self.options)
            self.tls = True
            # Bytes sent straight from a file would bypass the encryption.
            self.sendfileAfterTLS = self.transport.sendfile(0, 0, 1)
            return
        self.transport.write(data)


class StartTLSClient(Protocol):
    def __init__(self, options: Any) -> None:
        self.options = options
        self.state = "plain"
        self.done: Deferred[Any] = Deferred()
        self.received = b""
        self.peerCN: bytes | None = None

    def dataReceived(self, data: bytes) -> None:
        if self.state == "plain":
            self.received += data
            if self.received == b"ready\n":
                self.transport.write(b"STARTTLS\n")
            elif self.received == b"ready\ngo ahead\n":
                self.transport.startTLS(self.options)
                self.state = "tls"
                self.received = b""
                self.transport.write(b"encrypted hello")
            return
        self.received += data
        if self.received == b"encrypted hello":
            assert interfaces.ISSLTransport.providedBy(self.transport)
            assert interfaces.ITLSTransport.providedBy(self.transport)
            self.peerCN = self.transport.getPeerCertificate().getSubject().commonName
            self.alpn = self.transport.negotiatedProtocol
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.reason = reason
        self.done.callback(None)


def test_startTLS(reactor: Any, wait: Any, pki: Any) -> None:
    servers: list[StartTLSServer] = []

    pc = PrivateCertificate.loadPEM(pki.server.bothPEM)
    serverOptions = CertificateOptions(
        privateKey=pc.privateKey, certificate=pc, acceptableProtocols=[b"smtp"]
    )

    def build() -> StartTLSServer:
        servers.append(StartTLSServer(serverOptions))
        return servers[-1]

    port = reactor.listenTCP(0, Factory.forProtocol(build), interface="127.0.0.1")
    client = StartTLSClient(
        optionsForClientTLS(
            "localhost",
            trustRoot=Certificate.loadPEM(pki.ca.certPEM),
            acceptableProtocols=[b"smtp"],
        )
    )
    reactor.connectTCP("127.0.0.1", port.getHost().port, OneClient(client))
    wait(client.done)
    assert client.received == b"encrypted hello"
    assert client.peerCN == b"localhost"
    assert client.alpn == b"smtp"
    assert client.reason.check(error.ConnectionDone)
    assert servers[0].sendfileAfterTLS is None
    port.stopListening()


def test_manyConcurrentConnections(reactor: Any, wait: Any, pki: Any) -> None:
    port = reactor.listenSSL(
        0, Factory.forProtocol(EchoServer), _server(pki), interface="127.0.0.1"
    )
    clients = [Client(b"client %d" % i) for i in range(20)]
    for c in clients:
        reactor.connectSSL("127.0.0.1", port.getHost().port, OneClient(c), _client(pki))
    wait(gatherResults([c.lost for c in clients]))
    assert [bytes(c.received) for c in clients] == [b"client %d" % i for i in range(20)]
    port.stopListening()


def test_streamingProducerOverTLS(reactor: Any, wait: Any, pki: Any) -> None:
    total = 16 * 1024 * 1024
    done: Deferred[None] = Deferred()

    class Counter(Protocol):
        count = 0

        def dataReceived(self, data: bytes) -> None:
            Counter.count += len(data)

        def connectionLost(self, reason: Any = None) -> None:
            Counter.reason = reason
            done.callback(None)

    class Pusher(Protocol):
        sent = 0
        paused = False
        pauses = 0

        def connectionMade(self) -> None:
            self.transport.registerProducer(self, True)
            self.resumeProducing()

        def pauseProducing(self) -> None:
            self.paused = True
            self.pauses += 1

        def resumeProducing(self) -> None:
            self.paused = False
            while not self.paused and self.sent < total:
                self.transport.write(b"z" * 65536)
                self.sent += 65536
            if self.sent >= total and not self.paused:
                self.transport.unregisterProducer()
                self.transport.loseConnection()

        def stopProducing(self) -> None:
            self.paused = True

    port = reactor.listenSSL(0, Factory.forProtocol(Counter), _server(pki), interface="127.0.0.1")
    pusher = Pusher()
    reactor.connectSSL("127.0.0.1", port.getHost().port, OneClient(pusher), _client(pki))
    wait(done)
    assert Counter.count == total
    assert Counter.reason.check(error.ConnectionDone)
    # Two pauses hold it during the handshake; more mean the transport pushed back.
    assert pusher.pauses >= 3
    port.stopListening()


def test_tlsOverUnixSocket(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "tls.sock")
    serverFactory = TLSMemoryBIOFactory(_server(pki), False, Factory.forProtocol(EchoServer))
    port = reactor.listenUNIX(path, serverFactory)
    client = Client(b"over a unix socket")
    clientFactory = TLSMemoryBIOFactory(_client(pki), True, OneClient(client))
    reactor.connectUNIX(path, clientFactory)
    wait(client.lost)
    assert bytes(client.received) == b"over a unix socket"
    assert client.reason.check(error.ConnectionDone)
    port.stopListening()
