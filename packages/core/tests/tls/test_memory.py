"""
TLSMemoryBIOProtocol over in-memory transports: handshakes, data, shutdown, failures.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.ssl import (
    Certificate,
    CertificateOptions,
    PrivateCertificate,
    TLSVersion,
    optionsForClientTLS,
    trustRootFromCertificates,
)
from glisten.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol


@implementer(interfaces.IHandshakeListener)
class Recorder(Protocol):
    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.lost: Any = None
        self.handshakes = 0
        self.made = 0

    def connectionMade(self) -> None:
        self.made += 1

    def handshakeCompleted(self) -> None:
        self.handshakes += 1

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = reason

    def received(self) -> bytes:
        return b"".join(self.data)


class Echo(Recorder):
    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        self.transport.write(data)


def _wrap(contextFactory: Any, isClient: bool, app: Protocol, **kw: Any) -> TLSMemoryBIOProtocol:
    factory = TLSMemoryBIOFactory(contextFactory, isClient, Factory.forProtocol(lambda: app), **kw)
    proto = factory.buildProtocol(None)
    assert proto is not None
    return proto


def _serverOptions(pki: Any, **kw: Any) -> CertificateOptions:
    cert = PrivateCertificate.loadPEM(pki.server.bothPEM)
    return CertificateOptions(privateKey=cert.privateKey, certificate=cert, **kw)


def _clientOptions(pki: Any, host: str = "localhost", **kw: Any) -> Any:
    return optionsForClientTLS(host, trustRoot=Certificate.loadPEM(pki.ca.certPEM), **kw)


def _pair(connect: Any, serverOptions: Any, clientOptions: Any, **kw: Any) -> Any:
    server, client = Echo(), Recorder()
    pair = connect(_wrap(clientOptions, True, client, **kw), _wrap(serverOptions, False, server))
    return pair, client, server


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_handshakeAndEcho(pki: Any, connect: Any, byteAtATime: bool) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    client.transport.write(b"hello ")
    client.transport.writeSequence([b"over ", b"TLS"])
    pair.pump(byteAtATime=byteAtATime)
    assert server.received() == b"hello over TLS"
    assert client.received() == b"hello over TLS"
    assert client.handshakes == server.handshakes == 1
    assert client.made == server.made == 1
    assert client.transport.TLSVersion == "TLSv1.3"
    peer = client.transport.getPeerCertificate()
    assert peer is not None and peer.getSubject().commonName == b"localhost"
    assert server.transport.getPeerCertificate() is None
    assert interfaces.ISSLTransport.providedBy(client.transport)
    assert client.transport.getHandle().cipher()[1] == "TLSv1.3"
    assert client.transport.getHandle().get_channel_binding() is not None


def test_writesBeforeHandshakeAreBuffered(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    assert b"early" not in pair.clientTransport.outgoing
    client.transport.write(b"early")
    assert all(b"early" not in chunk for chunk in pair.clientTransport.outgoing)
    pair.pump()
    assert server.received() == b"early"


def test_largeTransfer(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    blob = bytes(range(256)) * 20000
    client.transport.write(blob)
    pair.pump()
    assert server.received() == blob
    assert client.received() == blob


def test_loseConnectionSendsCloseNotify(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    client.transport.write(b"last words")
    client.transport.loseConnection()
    pair.pump()
    assert server.received() == b"last words"
    assert client.lost.check(error.ConnectionDone)
    assert server.lost.check(error.ConnectionDone)


def test_loseConnectionDuringHandshakeStillFlushes(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    client.transport.write(b"bye")
    client.transport.loseConnection()
    pair.pump()
    assert server.received() == b"bye"
    assert server.lost.check(error.ConnectionDone)


def test_closeWithoutCloseNotifyIsConnectionLost(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    # The client's raw transport closes without TLS shutdown (a truncation).
    pair.clientTransport.loseConnection()
    pair.pump()
    assert server.lost.check(error.ConnectionLost)
    assert "close_notify" in str(server.lost.value)


def test_abortConnection(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    client.transport.write(b"dropped")
    pair.clientTransport.outgoing.clear()
    client.transport.abortConnection()
    assert pair.clientTransport.aborted
    pair.pump()
    assert client.lost.check(error.ConnectionAborted)
    assert server.lost.check(error.ConnectionLost)


@pytest.mark.parametrize(
    ("which", "host", "message"),
    [
        ("server", "wrong.example", "Hostname mismatch"),
        ("expired", "localhost", "expired"),
        ("selfSigned", "localhost", "self-signed"),
        ("other", "localhost", "Hostname mismatch"),
    ],
)
def test_verificationFailures(pki: Any, connect: Any, which: str, host: str, message: str) -> None:
    serverCert = PrivateCertificate.loadPEM(getattr(pki, which).bothPEM)
    pair, client, server = _pair(connect, serverCert.options(), _clientOptions(pki, host))
    pair.pump()
    assert client.lost is not None
    assert client.lost.check(ssl.SSLCertVerificationError)
    assert message in str(client.lost.value)
    assert client.handshakes == 0
    assert server.lost.check(ssl.SSLError)  # the alert the client sent
    assert client.received() == b""


def test_intermediateChain(pki: Any, connect: Any) -> None:
    leaf = PrivateCertificate.loadPEM(pki.leafViaIntermediate.bothPEM)
    opts = CertificateOptions(
        privateKey=leaf.privateKey,
        certificate=leaf,
        extraCertChain=[Certificate.loadPEM(pki.intermediate.certPEM)],
    )
    pair, client, server = _pair(connect, opts, _clientOptions(pki))
    client.transport.write(b"x")
    pair.pump()
    assert server.received() == b"x"


def test_idnaHostName(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(
        connect, _serverOptions(pki), _clientOptions(pki, "Bücher.example")
    )
    client.transport.write(b"ok")
    pair.pump()
    assert server.received() == b"ok"


def test_ipAddressHostName(pki: Any, connect: Any) -> None:
    for host in ("127.0.0.1", "::1"):
        pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki, host))
        client.transport.write(b"ok")
        pair.pump()
        assert server.received() == b"ok", host


def test_bytesHostNameRejected() -> None:
    with pytest.raises(TypeError):
        optionsForClientTLS(b"localhost")  # type: ignore[arg-type]


def test_alpn(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(
        connect,
        _serverOptions(pki, acceptableProtocols=[b"h2", b"http/1.1"]),
        _clientOptions(pki, acceptableProtocols=[b"http/1.1"]),
    )
    assert client.transport.negotiatedProtocol is None
    pair.pump()
    assert client.transport.negotiatedProtocol == b"http/1.1"
    assert server.transport.negotiatedProtocol == b"http/1.1"


def test_noAlpnAgreement(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    assert client.transport.negotiatedProtocol is None


@pytest.mark.parametrize("present", ["good", "none", "untrusted"])
def test_clientCertificates(pki: Any, connect: Any, present: str) -> None:
    serverCert = PrivateCertificate.loadPEM(pki.server.bothPEM)
    opts = serverCert.options(Certificate.loadPEM(pki.ca.certPEM))
    clientCert = {
        "good": PrivateCertificate.loadPEM(pki.client.bothPEM),
        "none": None,
        "untrusted": PrivateCertificate.loadPEM(pki.otherClient.bothPEM),
    }[present]
    pair, client, server = _pair(connect, opts, _clientOptions(pki, clientCertificate=clientCert))
    client.transport.write(b"who am I")
    pair.pump()
    if present == "good":
        assert server.received() == b"who am I"
        peer = server.transport.getPeerCertificate()
        assert peer.getSubject().commonName == b"client one"
    else:
        assert server.received() == b""
        assert server.lost.check(ssl.SSLError)


def test_optionalClientCertificate(pki: Any, connect: Any) -> None:
    serverCert = PrivateCertificate.loadPEM(pki.server.bothPEM)
    opts = CertificateOptions(
        privateKey=serverCert.privateKey,
        certificate=serverCert,
        trustRoot=trustRootFromCertificates([Certificate.loadPEM(pki.ca.certPEM)]),
        requireCertificate=False,
    )
    pair, client, server = _pair(connect, opts, _clientOptions(pki))
    client.transport.write(b"anon")
    pair.pump()
    assert server.received() == b"anon"
    assert server.transport.getPeerCertificate() is None


def test_sniChoosesCertificate(pki: Any, connect: Any) -> None:
    default = PrivateCertificate.loadPEM(pki.server.bothPEM)
    other = PrivateCertificate.loadPEM(pki.other.bothPEM)
    opts = CertificateOptions(
        privateKey=default.privateKey,
        certificate=default,
        sniCertificates={"Other.Example": other},
    )
    for host, cn in (("other.example", "other.example"), ("localhost", "localhost")):
        pair, client, server = _pair(connect, opts, _clientOptions(pki, host))
        client.transport.write(b"sni")
        pair.pump()
        assert server.received() == b"sni"
        assert client.transport.getPeerCertificate().getSubject().commonName == cn.encode()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls12Minimum(pki: Any, connect: Any) -> None:
    client = CertificateOptions(
        insecurelyLowerMinimumTo=TLSVersion.TLSv1, lowerMaximumSecurityTo=TLSVersion.TLSv1_1
    )
    pair, c, s = _pair(connect, _serverOptions(pki), client)
    pair.pump()
    assert s.lost.check(ssl.SSLError)
    assert c.lost.check(ssl.SSLError)


def test_tls12Works(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(
        connect,
        _serverOptions(pki, lowerMaximumSecurityTo=TLSVersion.TLSv1_2),
        _clientOptions(pki),
    )
    client.transport.write(b"1.2")
    pair.pump()
    assert server.received() == b"1.2"
    assert client.transport.TLSVersion == "TLSv1.2"


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
        b"\x00" * 64,
        bytes(range(256)),
    ],
)
def test_garbageInsteadOfClientHello(pki: Any, memoryTransport: Any, garbage: bytes) -> None:
    app = Recorder()
    proto = _wrap(_serverOptions(pki), False, app)
    transport = memoryTransport()
    proto.makeConnection(transport)
    proto.dataReceived(garbage)
    assert transport.closing or garbage == b"\x16\x03\x01\x00\x05hello"
    if not transport.closing:
        # A truncated but plausible record: wait for more, then the peer gives up.
        proto.connectionLost(_failure(error.ConnectionDone()))
        assert app.lost.check(error.ConnectionLost)
        return
    proto.connectionLost(_failure(error.ConnectionDone()))
    assert app.lost.check(ssl.SSLError)
    assert app.data == []


def _failure(exc: BaseException) -> Any:
    from glisten.python.failure import Failure

    return Failure(exc)


def test_handshakeTimeout(pki: Any, memoryTransport: Any) -> None:
    from glisten.internet.task import Clock

    clock = Clock()
    app = Recorder()
    proto = _wrap(_serverOptions(pki), False, app, handshakeTimeout=5.0, clock=clock)
    transport = memoryTransport()
    proto.makeConnection(transport)
    clock.advance(4.9)
    assert not transport.closing
    clock.advance(0.2)
    assert transport.aborted
    proto.connectionLost(_failure(error.ConnectionAborted()))
    assert app.lost.check(error.TimeoutError)


def test_handshakeTimeoutCancelledOnSuccess(pki: Any, connect: Any) -> None:
    from glisten.internet.task import Clock

    clock = Clock()
    pair, client, server = _pair(
        connect, _serverOptions(pki), _clientOptions(pki), handshakeTimeout=1, clock=clock
    )
    pair.pump()
    assert client.handshakes == 1
    assert clock.getDelayedCalls() == []


class Producer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")


def test_streamingProducerHeldDuringHandshake(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    producer = Producer()
    client.transport.registerProducer(producer, True)
    assert producer.events == ["pause"]
    membrane = pair.clientTransport.producer
    assert pair.clientTransport.streaming is True
    membrane.pauseProducing()  # transport buffer full: no second pause
    assert producer.events == ["pause"]
    pair.pump()
    assert producer.events == ["pause"]  # still paused by the transport
    membrane.resumeProducing()
    assert producer.events == ["pause", "resume"]
    membrane.pauseProducing()
    assert producer.events == ["pause", "resume", "pause"]
    membrane.stopProducing()
    assert producer.events[-1] == "stop"
    client.transport.unregisterProducer()
    assert pair.clientTransport.producer is None


def test_pullProducerWaitsForHandshake(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    producer = Producer()
    client.transport.registerProducer(producer, False)
    pair.clientTransport.producer.resumeProducing()
    assert producer.events == []
    pair.pump()
    assert producer.events == ["resume"]


def test_pauseReadingPassesThrough(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    client.transport.pauseProducing()
    assert pair.clientTransport.readPaused
    client.transport.resumeProducing()
    assert not pair.clientTransport.readPaused


def test_peerCloseNotifyAnswered(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    server.transport.loseConnection()
    # Deliver the server's close_notify only; the client answers and closes.
    client.transport  # noqa: B018
    pair.client.dataReceived(pair.serverTransport.take())
    assert pair.clientTransport.closing
    assert pair.clientTransport.outgoing  # its own close_notify
    pair.pump()
    assert client.lost.check(error.ConnectionDone)


def test_writeAfterLoseConnectionIgnored(pki: Any, connect: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.pump()
    client.transport.loseConnection()
    client.transport.write(b"too late")
    pair.pump()
    assert server.received() == b""


def test_refusedByWrappedFactory(pki: Any) -> None:
    class Refuse(Factory):
        def buildProtocol(self, addr: Any) -> None:
            return None

    factory = TLSMemoryBIOFactory(_serverOptions(pki), False, Refuse())
    assert factory.buildProtocol(None) is None


def test_plainContextFactory(pki: Any, connect: Any, tmp_path: Any) -> None:
    from glisten.internet.ssl import DefaultOpenSSLContextFactory

    (tmp_path / "k.pem").write_bytes(pki.server.keyPEM)
    (tmp_path / "c.pem").write_bytes(pki.server.certPEM)
    opts = DefaultOpenSSLContextFactory(str(tmp_path / "k.pem"), str(tmp_path / "c.pem"))
    pair, client, server = _pair(connect, opts, _clientOptions(pki))
    client.transport.write(b"old style")
    pair.pump()
    assert server.received() == b"old style"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5))
def test_randomBytesNeverRaise(pki: Any, chunks: list[bytes]) -> None:
    from glisten.internet.testing import StringTransport

    for isClient, options in ((False, _serverOptions(pki)), (True, _clientOptions(pki))):
        app = Recorder()
        proto = _wrap(options, isClient, app)
        transport = StringTransport()
        proto.makeConnection(transport)
        for chunk in chunks:
            proto.dataReceived(chunk)
        proto.connectionLost(_failure(error.ConnectionDone()))
        assert app.data == []
        assert app.lost.check(ssl.SSLError, error.ConnectionLost)


def test_defaultTrustIsThePlatformStore(pki: Any, connect: Any) -> None:
    # The test CA is not in the system store, so the default client options refuse it.
    pair, client, server = _pair(connect, _serverOptions(pki), optionsForClientTLS("localhost"))
    client.transport.write(b"never sent")
    pair.pump()
    assert client.lost.check(ssl.SSLCertVerificationError)
    assert "unable to get local issuer certificate" in str(client.lost.value)
    assert server.received() == b""


def test_handshakeListenerMayCloseAtOnce(pki: Any, connect: Any) -> None:
    class Closer(Recorder):
        def handshakeCompleted(self) -> None:
            super().handshakeCompleted()
            self.transport.loseConnection()

    server, client = Echo(), Closer()
    pair = connect(
        _wrap(_clientOptions(pki), True, client), _wrap(_serverOptions(pki), False, server)
    )
    client.transport.write(b"buffered first")
    pair.pump()
    assert server.received() == b"buffered first"
    assert client.lost.check(error.ConnectionDone)
    assert server.lost.check(error.ConnectionDone)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutatedServerFlight(pki: Any, connect: Any, data: Any) -> None:
    pair, client, server = _pair(connect, _serverOptions(pki), _clientOptions(pki))
    pair.server.dataReceived(pair.clientTransport.take())
    flight = bytearray(pair.serverTransport.take())
    assert flight
    for _ in range(data.draw(st.integers(1, 6))):
        # Positions are drawn independently of the flight's length, which varies run to run.
        flight[data.draw(st.integers(0, 10**6)) % len(flight)] = data.draw(st.integers(0, 255))
    cut = 1 + data.draw(st.integers(0, 10**6)) % len(flight)
    pair.client.dataReceived(bytes(flight[:cut]))
    pair.client.dataReceived(bytes(flight[cut:]))
    pair.client.connectionLost(_failure(error.ConnectionDone()))
    assert client.data == []
    assert client.lost.check(ssl.SSLError, error.ConnectionLost)


@pytest.mark.parametrize(
    ("clientOffers", "agreed"), [([b"http/1.1", b"h2"], b"h2"), ([b"http/1.1"], b"http/1.1")]
)
def test_serverFactoryChoosesAlpn(
    pki: Any, connect: Any, clientOffers: list[bytes], agreed: bytes
) -> None:
    """A server's application factory that offers protocols (IProtocolNegotiationFactory, as
    a web site offering h2) sets what ALPN offers, also with CertificateOptions, as in
    Twisted; a client's connection creator keeps its own list."""
    from zope.interface import implementer

    from glisten.internet.interfaces import IProtocolNegotiationFactory

    @implementer(IProtocolNegotiationFactory)
    class Offering(Factory):
        def acceptableProtocols(self) -> list[bytes]:
            return [b"h2", b"http/1.1"]

    server, client = Echo(), Recorder()
    serverFactory = TLSMemoryBIOFactory(
        _serverOptions(pki), False, Offering.forProtocol(lambda: server)
    )
    clientFactory = TLSMemoryBIOFactory(
        _clientOptions(pki, acceptableProtocols=clientOffers),
        True,
        Offering.forProtocol(lambda: client),
    )
    pair = connect(clientFactory.buildProtocol(None), serverFactory.buildProtocol(None))
    pair.pump()
    assert server.transport.negotiatedProtocol == agreed
    assert client.transport.negotiatedProtocol == agreed
