"""
Test certificates (made at test time with ``cryptography``) and an in-memory transport pair.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from glisten.internet import error
from glisten.internet.defer import Deferred
from glisten.python.failure import Failure

_NOW = datetime.datetime.now(datetime.UTC)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "glisten tests"),
        ]
    )


@attrs.frozen
class Issued:
    """
    A certificate and key in PEM.
    """

    certPEM: bytes
    keyPEM: bytes

    @property
    def bothPEM(self) -> bytes:
        return self.certPEM + self.keyPEM


def issue(
    cn: str,
    names: list[str],
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    notBefore: datetime.datetime | None = None,
    notAfter: datetime.datetime | None = None,
) -> tuple[Issued, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = _name(cn)
    issuerName = issuer[0].subject if issuer else subject
    signer = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuerName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(notBefore or _NOW - datetime.timedelta(days=1))
        .not_valid_after(notAfter or _NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    cert = builder.sign(signer, hashes.SHA256())
    pem = Issued(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return pem, cert, key


@attrs.frozen
class PKI:
    ca: Issued
    server: Issued  # localhost, 127.0.0.1, ::1, xn--bcher-kva.example (bücher)
    other: Issued  # other.example, signed by ca
    client: Issued  # client certificate signed by ca
    expired: Issued  # localhost, expired
    selfSigned: Issued  # localhost, self-signed
    otherCA: Issued
    otherClient: Issued  # client cert from an untrusted CA
    intermediate: Issued
    leafViaIntermediate: Issued  # localhost, signed by intermediate


@pytest.fixture(scope="session")
def pki() -> PKI:
    caPem, caCert, caKey = issue("glisten test CA", [], ca=True)
    server, _, _ = issue(
        "localhost", ["localhost", "127.0.0.1", "::1", "xn--bcher-kva.example"], (caCert, caKey)
    )
    other, _, _ = issue("other.example", ["other.example"], (caCert, caKey))
    client, _, _ = issue("client one", [], (caCert, caKey))
    expired, _, _ = issue(
        "localhost",
        ["localhost"],
        (caCert, caKey),
        notBefore=_NOW - datetime.timedelta(days=10),
        notAfter=_NOW - datetime.timedelta(days=2),
    )
    selfSigned, _, _ = issue("localhost", ["localhost"])
    otherCAPem, otherCACert, otherCAKey = issue("untrusted CA", [], ca=True)
    otherClient, _, _ = issue("client two", [], (otherCACert, otherCAKey))
    interPem, interCert, interKey = issue("intermediate", [], (caCert, caKey), ca=True)
    leaf, _, _ = issue("localhost", ["localhost"], (interCert, interKey))
    return PKI(
        caPem,
        server,
        other,
        client,
        expired,
        selfSigned,
        otherCAPem,
        otherClient,
        interPem,
        leaf,
    )


class MemoryTransport:
    """
    One end of an in-memory stream; :func:`pump` moves bytes to the other end.
    """

    def __init__(self) -> None:
        self.outgoing: list[bytes] = []
        self.closing = False
        self.aborted = False
        self.closed = False
        self.producer: Any = None
        self.streaming: bool | None = None
        self.readPaused = False
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        if not self.closed:
            self.outgoing.append(data)

    def writeSequence(self, seq: list[bytes]) -> None:
        self.write(b"".join(seq))

    def loseConnection(self) -> None:
        self.closing = True

    def abortConnection(self) -> None:
        self.aborted = True
        self.closing = True

    def getPeer(self) -> str:
        return "peer"

    def getHost(self) -> str:
        return "host"

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer
        self.streaming = streaming

    def unregisterProducer(self) -> None:
        self.producer = None

    def pauseProducing(self) -> None:
        self.readPaused = True

    def resumeProducing(self) -> None:
        self.readPaused = False

    def stopProducing(self) -> None:
        self.loseConnection()

    def take(self) -> bytes:
        data = b"".join(self.outgoing)
        self.outgoing = []
        return data


@attrs.define
class Pair:
    client: Any
    server: Any
    clientTransport: MemoryTransport
    serverTransport: MemoryTransport

    def pump(self, rounds: int = 50, byteAtATime: bool = False) -> None:
        """
        Move bytes both ways until nothing moves; then deliver closes.
        """
        for _ in range(rounds):
            moved = False
            for src, dst in (
                (self.clientTransport, self.serverTransport),
                (self.serverTransport, self.clientTransport),
            ):
                data = src.take()
                if data and not dst.closed:
                    moved = True
                    if byteAtATime:
                        for i in range(len(data)):
                            if dst.closed:
                                break
                            dst.protocol.dataReceived(data[i : i + 1])
                    else:
                        dst.protocol.dataReceived(data)
            for t, peer in (
                (self.clientTransport, self.serverTransport),
                (self.serverTransport, self.clientTransport),
            ):
                if t.closing and not t.closed and not t.outgoing:
                    t.closed = True
                    moved = True
                    reason = error.ConnectionAborted() if t.aborted else error.ConnectionDone()
                    t.protocol.connectionLost(Failure(reason))
                    if not peer.closed:
                        peer.closed = True
                        rest = peer.take()
                        del rest
                        peer.protocol.connectionLost(Failure(error.ConnectionDone()))
            if not moved:
                return


def _connect(client: Any, server: Any) -> Pair:
    ct, st = MemoryTransport(), MemoryTransport()
    ct.protocol, st.protocol = client, server
    server.makeConnection(st)
    client.makeConnection(ct)
    return Pair(client, server, ct, st)


@pytest.fixture
def connect() -> Callable[[Any, Any], Pair]:
    return _connect


@pytest.fixture
def memoryTransport() -> Callable[[], MemoryTransport]:
    return MemoryTransport


def _makeReactor() -> Any:
    kind = os.environ.get("GLISTEN_REACTOR", "epoll")
    if kind == "poll":
        from glisten.internet.pollreactor import PollReactor

        return PollReactor()
    if kind == "select":
        from glisten.internet.selectreactor import SelectReactor

        return SelectReactor()
    if kind == "asyncio":
        from glisten.internet.asyncioreactor import AsyncioSelectorReactor

        return AsyncioSelectorReactor()
    from glisten.internet.epollreactor import EPollReactor

    return EPollReactor()


@pytest.fixture
def reactor() -> Iterator[Any]:
    yield _makeReactor()


@pytest.fixture
def wait(reactor: Any) -> Callable[..., Any]:
    """
    Run the reactor until ``d`` fires (at most ``limit`` seconds, a guard against hangs) and
    return its result or raise its failure. One call per test: reactors do not restart.
    """

    def wait(d: Deferred[Any], limit: float = 30.0) -> Any:
        result: list[Any] = []

        def done(r: Any) -> None:
            result.append(r)
            if reactor.running:
                reactor.stop()

        d.addBoth(done)
        if result:
            return _unwrap(result[0])
        guard = reactor.callLater(limit, reactor.stop)
        reactor.run(installSignalHandlers=False)
        if guard.active():
            guard.cancel()
        if not result:
            raise AssertionError(f"the Deferred did not fire within {limit} seconds")
        return _unwrap(result[0])

    return wait


def _unwrap(r: Any) -> Any:
    if isinstance(r, Failure):
        r.raiseException()
    return r
