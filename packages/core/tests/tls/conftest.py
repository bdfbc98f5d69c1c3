"""
The TLS tests' certificates (issued at test time with the ``issueCertificate`` fixture of the
top-level conftest) and an in-memory transport pair.

Tests on real sockets use the pytest plugin's ``reactor`` fixture (fresh, installed, checked for
leftovers and logged errors) and run it with the top-level conftest's ``wait`` fixture.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from glisten.internet import error
from glisten.python.failure import Failure

#: An ``Issued`` (certificate and key PEM) from the top-level conftest's ``issueCertificate``.
Issued = Any


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
def pki(issueCertificate: Callable[..., Any]) -> PKI:
    """
    A CA with the leaves the TLS tests need, issued once per session.
    """
    issue = issueCertificate
    now = datetime.datetime.now(datetime.UTC)
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
        notBefore=now - datetime.timedelta(days=10),
        notAfter=now - datetime.timedelta(days=2),
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
