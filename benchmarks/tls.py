"""TLS over loopback TCP: glisten against Twisted (pyOpenSSL) and asyncio's TLS transport.

Cases (client and server in one process, one event loop, a verified TLS 1.3 connection with an
ECDSA P-256 certificate):

- echo round trips: the client sends 1 KiB, waits for the echo, repeats (round trips/s);
- bulk: the client streams 64 KiB writes through a push producer (flow control on), the server
  counts (MB/s);
- handshakes: connect, complete the handshake, close, repeat (connections/s).

glisten and Twisted run the very same code (glisten's API is Twisted's); asyncio uses protocols
and ``loop.create_connection(ssl=...)``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from typing import Any

from _harness import Case, main

DURATION = 2.0
#: Rates are measured over windows this long; the best window counts, which keeps the figures
#: steady on a busy machine (the same rule for every implementation).
WINDOW = 0.25
ECHO_SIZE = 1024
BULK_CHUNK = 64 * 1024


def _certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate for localhost, made with the openssl command."""
    with tempfile.TemporaryDirectory() as d:
        key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        with open(cert, "rb") as f:
            certPEM = f.read()
        with open(key, "rb") as f:
            keyPEM = f.read()
    return certPEM, keyPEM


class _Windows:
    """Counts operations; reports the best rate seen over any one window."""

    def __init__(self) -> None:
        self.start = self.windowStart = time.perf_counter()
        self.count = 0.0
        self.best = 0.0

    def add(self, n: float = 1) -> bool:
        """Count ``n`` operations; True once the whole measurement is over."""
        self.count += n
        now = time.perf_counter()
        if now - self.windowStart >= WINDOW:
            self.best = max(self.best, self.count / (now - self.windowStart))
            self.count = 0
            self.windowStart = now
        return now - self.start >= DURATION


# ------------------------------------------------------------------- glisten and Twisted


def _framework(impl: str) -> Any:
    """Return (reactor, protocol module, ssl module, interfaces module) for glisten or Twisted."""
    if impl == "glisten":
        from glisten.internet import interfaces, protocol, ssl
        from glisten.internet.epollreactor import EPollReactor

        return EPollReactor(), protocol, ssl, interfaces
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import interfaces, protocol, reactor, ssl  # type: ignore[no-redef]

    return reactor, protocol, ssl, interfaces


def _options(ssl: Any) -> tuple[Any, Any]:
    certPEM, keyPEM = _certificate()
    server = ssl.PrivateCertificate.loadPEM(certPEM + keyPEM).options()
    client = ssl.optionsForClientTLS("localhost", trustRoot=ssl.Certificate.loadPEM(certPEM))
    return server, client


def _twistedStyle(impl: str, kind: str) -> float:
    reactor, protocol, ssl, interfaces = _framework(impl)
    serverOptions, clientOptions = _options(ssl)
    result: dict[str, float] = {}

    class Echo(protocol.Protocol):  # type: ignore[misc, name-defined]
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    class Sink(protocol.Protocol):  # type: ignore[misc, name-defined]
        windows: _Windows | None = None

        def dataReceived(self, data: bytes) -> None:
            if self.windows is None:
                self.windows = _Windows()
            if self.windows.add(len(data) / 1e6) and "rate" not in result:
                result["rate"] = self.windows.best
                reactor.stop()

    class Pinger(protocol.Protocol):  # type: ignore[misc, name-defined]
        payload = b"x" * ECHO_SIZE
        got = 0
        windows: _Windows | None = None

        def connectionMade(self) -> None:
            self.transport.write(self.payload)

        def dataReceived(self, data: bytes) -> None:
            self.got += len(data)
            if self.got < ECHO_SIZE:
                return
            self.got = 0
            if self.windows is None:
                self.windows = _Windows()
            elif self.windows.add():
                result["rate"] = self.windows.best
                reactor.stop()
                return
            self.transport.write(self.payload)

    class Blaster(protocol.Protocol):  # type: ignore[misc, name-defined]
        chunk = b"y" * BULK_CHUNK
        paused = False

        def connectionMade(self) -> None:
            self.transport.registerProducer(self, True)
            self.resumeProducing()

        def pauseProducing(self) -> None:
            self.paused = True

        def resumeProducing(self) -> None:
            self.paused = False
            write = self.transport.write
            while not self.paused and "rate" not in result:
                write(self.chunk)

        def stopProducing(self) -> None:
            self.paused = True

    handshakes: dict[str, _Windows] = {}

    @_implementer(interfaces.IHandshakeListener)
    class Handshaker(protocol.Protocol):  # type: ignore[misc, name-defined]
        def handshakeCompleted(self) -> None:
            self.transport.loseConnection()

        def connectionLost(self, reason: Any = None) -> None:
            if handshakes["w"].add():
                result["rate"] = handshakes["w"].best
                reactor.stop()
            else:
                connect()

    server = {"echo": Echo, "bulk": Sink, "handshake": Echo}[kind]
    client = {"echo": Pinger, "bulk": Blaster, "handshake": Handshaker}[kind]
    factory = protocol.Factory.forProtocol(server)
    port = reactor.listenSSL(0, factory, serverOptions, interface="127.0.0.1")
    clientFactory = protocol.ClientFactory.forProtocol(client)

    def connect() -> None:
        reactor.connectSSL("127.0.0.1", port.getHost().port, clientFactory, clientOptions)

    handshakes["w"] = _Windows()
    connect()
    reactor.run(installSignalHandlers=False)
    return result["rate"]


def _implementer(iface: Any) -> Any:
    from zope.interface import implementer

    return implementer(iface)


# ------------------------------------------------------------------- asyncio


def _asyncio(kind: str) -> float:
    import asyncio
    import ssl

    certPEM, keyPEM = _certificate()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "both.pem")
        with open(path, "wb") as f:
            f.write(certPEM + keyPEM)
        serverCtx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        serverCtx.load_cert_chain(path)
    clientCtx = ssl.create_default_context(cadata=certPEM.decode())
    result: dict[str, float] = {}

    async def run() -> float:
        loop = asyncio.get_running_loop()
        finished = loop.create_future()

        class Echo(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.transport.write(data)

        class Sink(asyncio.Protocol):
            windows: _Windows | None = None

            def data_received(self, data: bytes) -> None:
                if self.windows is None:
                    self.windows = _Windows()
                if self.windows.add(len(data) / 1e6) and not finished.done():
                    finished.set_result(self.windows.best)

        class Pinger(asyncio.Protocol):
            payload = b"x" * ECHO_SIZE
            got = 0
            windows: _Windows | None = None

            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                transport.write(self.payload)

            def data_received(self, data: bytes) -> None:
                self.got += len(data)
                if self.got < ECHO_SIZE:
                    return
                self.got = 0
                if self.windows is None:
                    self.windows = _Windows()
                elif self.windows.add():
                    if not finished.done():
                        finished.set_result(self.windows.best)
                    return
                self.transport.write(self.payload)

        class Blaster(asyncio.Protocol):
            chunk = b"y" * BULK_CHUNK
            paused = False

            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                self.resume_writing()

            def pause_writing(self) -> None:
                self.paused = True

            def resume_writing(self) -> None:
                self.paused = False
                while not self.paused and not finished.done():
                    self.transport.write(self.chunk)

        server = {"echo": Echo, "bulk": Sink, "handshake": Echo}[kind]
        srv = await loop.create_server(server, "127.0.0.1", 0, ssl=serverCtx)
        port = srv.sockets[0].getsockname()[1]
        if kind == "handshake":
            windows = _Windows()
            while True:
                transport, _ = await loop.create_connection(
                    asyncio.Protocol, "127.0.0.1", port, ssl=clientCtx, server_hostname="localhost"
                )
                transport.close()
                if windows.add():
                    break
            rate = windows.best
        else:
            client = {"echo": Pinger, "bulk": Blaster}[kind]
            transport, _ = await loop.create_connection(
                client, "127.0.0.1", port, ssl=clientCtx, server_hostname="localhost"
            )
            rate = await finished
            transport.abort()
        srv.close()
        return rate

    result["rate"] = asyncio.run(run())
    return result["rate"]


def _case(kind: str) -> Any:
    def run(impl: str, n: int) -> float:
        if impl == "asyncio":
            return _asyncio(kind)
        return _twistedStyle(impl, kind)

    return run


if __name__ == "__main__":
    impls = ("glisten", "twisted", "asyncio")
    main(
        [
            Case("TLS echo round trips, 1 KiB", _case("echo"), impls, selfTimed=True),
            Case("TLS bulk transfer, 64 KiB writes", _case("bulk"), impls, True, " MB/s"),
            Case("TLS handshakes (connect+close)", _case("handshake"), impls, True),
        ]
    )
