"""TLS half-close: loseWriteConnection sends close_notify and keeps reading."""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.ssl import (
    Certificate,
    CertificateOptions,
    PrivateCertificate,
    TLSVersion,
    optionsForClientTLS,
)
from glisten.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol


class Plain(Protocol):
    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.lost: Any = None
        self.onData: Any = None

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)
        if self.onData is not None:
            self.onData(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = reason

    def received(self) -> bytes:
        return b"".join(self.data)


@implementer(interfaces.IHalfCloseableProtocol)
class HalfCloseable(Plain):
    def __init__(self) -> None:
        super().__init__()
        self.readLost = 0
        self.writeLost = 0
        self.onReadLost: Any = None

    def readConnectionLost(self) -> None:
        self.readLost += 1
        if self.onReadLost is not None:
            self.onReadLost()

    def writeConnectionLost(self) -> None:
        self.writeLost += 1


def _wrap(options: Any, isClient: bool, app: Protocol) -> TLSMemoryBIOProtocol:
    proto = TLSMemoryBIOFactory(options, isClient, Factory.forProtocol(lambda: app)).buildProtocol(
        None
    )
    assert proto is not None
    return proto


@pytest.fixture(params=[TLSVersion.TLSv1_2, TLSVersion.TLSv1_3], ids=["tls12", "tls13"])
def options(request: pytest.FixtureRequest, pki: Any) -> tuple[Any, Any, str]:
    cert = PrivateCertificate.loadPEM(pki.server.bothPEM)
    server = CertificateOptions(
        privateKey=cert.privateKey, certificate=cert, lowerMaximumSecurityTo=request.param
    )
    client = optionsForClientTLS("localhost", trustRoot=Certificate.loadPEM(pki.ca.certPEM))
    return server, client, request.param.name.replace("TLSv1_", "TLSv1.")


def _clean(reason: Any) -> bool:
    return reason is not None and reason.check(error.ConnectionDone) is not None


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_half_close_request_response(connect: Any, options: Any, byteAtATime: bool) -> None:
    serverOpts, clientOpts, version = options
    client, server = HalfCloseable(), HalfCloseable()
    pair = connect(_wrap(clientOpts, True, client), _wrap(serverOpts, False, server))
    pair.pump(byteAtATime=byteAtATime)
    assert client.transport.TLSVersion == version

    def answer() -> None:
        # The request is complete: answer it, then close.
        server.transport.write(b"answer to " + server.received())
        server.transport.loseConnection()

    server.onReadLost = answer
    client.transport.write(b"request")
    client.transport.loseWriteConnection()
    client.transport.write(b" dropped")
    assert client.writeLost == 1
    pair.pump(rounds=200, byteAtATime=byteAtATime)
    assert server.received() == b"request" and server.readLost == 1
    assert client.received() == b"answer to request"
    assert _clean(client.lost) and _clean(server.lost)


def test_half_close_to_plain_peer_closes_cleanly(connect: Any, options: Any) -> None:
    serverOpts, clientOpts, version = options
    client, server = Plain(), Plain()
    server.onData = lambda data: server.transport.write(data.upper())
    pair = connect(_wrap(clientOpts, True, client), _wrap(serverOpts, False, server))
    pair.pump()
    client.transport.write(b"hello")
    client.transport.loseWriteConnection()
    pair.pump(rounds=200)
    assert server.received() == b"hello"
    # A peer that is not half-closeable answers close_notify by closing.
    assert client.received() == b"HELLO"
    assert _clean(client.lost) and _clean(server.lost)


def test_half_close_before_handshake(connect: Any, options: Any) -> None:
    serverOpts, clientOpts, version = options
    client, server = HalfCloseable(), HalfCloseable()
    server.onReadLost = lambda: server.transport.loseConnection()
    pair = connect(_wrap(clientOpts, True, client), _wrap(serverOpts, False, server))
    client.transport.write(b"early")
    client.transport.loseWriteConnection()
    pair.pump(rounds=200)
    assert server.received() == b"early" and server.readLost == 1 and client.writeLost == 1
    assert _clean(client.lost) and _clean(server.lost)


def test_half_close_from_data_received_with_more_buffered(connect: Any, options: Any) -> None:
    serverOpts, clientOpts, version = options
    client, server = HalfCloseable(), HalfCloseable()
    pair = connect(_wrap(clientOpts, True, client), _wrap(serverOpts, False, server))
    pair.pump()
    # Two records reach the client in one read; it half-closes after the first one.
    server.transport.write(b"one")
    server.transport.write(b"two")
    client.onData = lambda data: client.transport.loseWriteConnection()
    server.onReadLost = lambda: server.transport.loseConnection()
    pair.pump(rounds=200)
    assert client.received() == b"onetwo"
    assert server.readLost == 1
    assert _clean(client.lost) and _clean(server.lost)


def test_peer_truncation_after_half_close_is_reported(connect: Any, options: Any) -> None:
    serverOpts, clientOpts, version = options
    client, server = HalfCloseable(), HalfCloseable()
    pair = connect(_wrap(clientOpts, True, client), _wrap(serverOpts, False, server))
    pair.pump()
    client.transport.loseWriteConnection()
    pair.pump()
    assert server.readLost == 1
    # The server's transport closes without its close_notify: the client must not see a
    # clean end of the server's data.
    server.transport.transport.loseConnection()
    pair.pump()
    assert client.lost is not None and client.lost.check(error.ConnectionLost)
