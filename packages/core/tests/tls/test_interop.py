"""
glisten TLS against peers nobody here wrote: ``openssl s_client``, ``openssl s_server``, curl.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
from typing import Any

import pytest

from glisten.internet import error
from glisten.internet.defer import Deferred, gatherResults
from glisten.internet.process import spawnProcess
from glisten.internet.protocol import ClientFactory, Factory, ProcessProtocol, Protocol
from glisten.internet.ssl import (
    Certificate,
    CertificateOptions,
    PrivateCertificate,
    optionsForClientTLS,
)

pytestmark = pytest.mark.interop


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is required in CI")
        pytest.skip(f"{binary} is not installed")
    return path


class Collect(ProcessProtocol):
    def __init__(self, onOutput: Any = None) -> None:
        self.out = b""
        self.err = b""
        self.ended: Deferred[None] = Deferred()
        self.reason: Any = None
        self.onOutput = onOutput

    def outReceived(self, data: bytes) -> None:
        self.out += data
        if self.onOutput is not None:
            self.onOutput(self)

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Any) -> None:
        self.reason = reason
        self.ended.callback(None)


class LineEchoThenClose(Protocol):
    """
    Echoes one line back in upper case, then closes cleanly (close_notify).
    """

    buf = b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        if b"\n" in self.buf:
            line = self.buf.split(b"\n", 1)[0]
            alpn = self.transport.negotiatedProtocol or b"none"
            self.transport.write(line.upper() + b" alpn=" + alpn + b"\n")
            self.transport.loseConnection()


def _files(tmp_path: Any, pki: Any) -> dict[str, str]:
    paths = {}
    for name, data in (
        ("ca", pki.ca.certPEM),
        ("cert", pki.server.certPEM),
        ("key", pki.server.keyPEM),
        ("clientCert", pki.client.certPEM),
        ("clientKey", pki.client.keyPEM),
    ):
        p = tmp_path / f"{name}.pem"
        p.write_bytes(data)
        paths[name] = str(p)
    return paths


def test_opensslClientAgainstGlistenServer(
    reactor: Any, wait: Any, pki: Any, tmp_path: Any
) -> None:
    openssl = _need("openssl")
    files = _files(tmp_path, pki)
    server = PrivateCertificate.loadPEM(pki.server.bothPEM)
    options = CertificateOptions(
        privateKey=server.privateKey,
        certificate=server,
        acceptableProtocols=[b"glisten-test"],
        trustRoot=Certificate.loadPEM(pki.ca.certPEM),
    )
    port = reactor.listenSSL(
        0, Factory.forProtocol(LineEchoThenClose), options, interface="127.0.0.1"
    )
    proto = Collect()
    args = [
        openssl, "s_client", "-connect", f"127.0.0.1:{port.getHost().port}",
        "-CAfile", files["ca"], "-verify_return_error", "-verify_hostname", "localhost",
        "-servername", "localhost", "-alpn", "glisten-test",
        "-cert", files["clientCert"], "-key", files["clientKey"], "-quiet",
    ]  # fmt: skip
    transport = spawnProcess(reactor, proto, openssl, args, env=None)
    transport.write(b"hello from openssl\n")
    wait(proto.ended)
    assert b"HELLO FROM OPENSSL alpn=glisten-test" in proto.out, proto.err
    port.stopListening()


def test_opensslClientWithoutClientCertIsRejected(
    reactor: Any, wait: Any, pki: Any, tmp_path: Any
) -> None:
    openssl = _need("openssl")
    files = _files(tmp_path, pki)
    server = PrivateCertificate.loadPEM(pki.server.bothPEM)
    options = server.options(Certificate.loadPEM(pki.ca.certPEM))
    port = reactor.listenSSL(
        0, Factory.forProtocol(LineEchoThenClose), options, interface="127.0.0.1"
    )
    proto = Collect()
    args = [openssl, "s_client", "-connect", f"127.0.0.1:{port.getHost().port}",
            "-CAfile", files["ca"], "-quiet"]  # fmt: skip
    transport = spawnProcess(reactor, proto, openssl, args, env=None)
    transport.write(b"let me in\n")
    wait(proto.ended)
    assert b"LET ME IN" not in proto.out
    port.stopListening()


def test_glistenClientAgainstOpensslServer(
    reactor: Any, wait: Any, pki: Any, tmp_path: Any
) -> None:
    openssl = _need("openssl")
    files = _files(tmp_path, pki)
    done: Deferred[None] = Deferred()
    received = bytearray()
    reasons: list[Any] = []

    class Client(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"GET / HTTP/1.0\r\n\r\n")

        def dataReceived(self, data: bytes) -> None:
            received.extend(data)

        def connectionLost(self, reason: Any = None) -> None:
            reasons.append(reason)
            done.callback(None)

    class Factory1(ClientFactory):
        protocol = Client

    started = {"connected": False}

    def onOutput(p: Collect) -> None:
        match = re.search(rb"ACCEPT [^\s]*:(\d+)", p.out)
        if match and not started["connected"]:
            started["connected"] = True
            options = optionsForClientTLS(
                "localhost", trustRoot=Certificate.loadPEM(pki.ca.certPEM)
            )
            reactor.connectSSL("127.0.0.1", int(match.group(1)), Factory1(), options)

    server = Collect(onOutput)
    args = [openssl, "s_server", "-accept", "127.0.0.1:0", "-cert", files["cert"],
            "-key", files["key"], "-www", "-naccept", "1"]  # fmt: skip
    transport = spawnProcess(reactor, server, openssl, args, env=None)
    done.addBoth(lambda _: transport.signalProcess("TERM") if transport.pid else None)
    wait(done)
    assert received.startswith(b"HTTP/1.0 200 ok"), bytes(received[:200])
    assert b"TLSv1.3" in received
    assert reasons[0].check(error.ConnectionDone, error.ConnectionLost)


class TinyHTTPS(Protocol):
    buf = b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" in self.buf:
            body = b"hello curl, alpn=" + (self.transport.negotiatedProtocol or b"none")
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(body), body)
            )
            self.transport.loseConnection()


def _curl(reactor: Any, wait: Any, pki: Any, tmp_path: Any, host: str, extra: list[str]) -> Collect:
    curl = _need("curl")
    files = _files(tmp_path, pki)
    server = PrivateCertificate.loadPEM(pki.server.bothPEM)
    options = CertificateOptions(
        privateKey=server.privateKey, certificate=server, acceptableProtocols=[b"http/1.1"]
    )
    port = reactor.listenSSL(0, Factory.forProtocol(TinyHTTPS), options, interface="127.0.0.1")
    portNumber = port.getHost().port
    proto = Collect()
    args = [curl, "-sS", "--cacert", files["ca"], "--resolve", f"{host}:{portNumber}:127.0.0.1",
            *extra, f"https://{host}:{portNumber}/"]  # fmt: skip
    spawnProcess(reactor, proto, curl, args, env=None)
    wait(proto.ended)
    port.stopListening()
    return proto


def test_curlAgainstGlistenServer(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    proto = _curl(reactor, wait, pki, tmp_path, "localhost", ["--http1.1"])
    assert proto.reason.check(error.ProcessDone), proto.err
    assert proto.out == b"hello curl, alpn=http/1.1"


def test_curlRejectsWrongName(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    proto = _curl(reactor, wait, pki, tmp_path, "other.example", [])
    assert proto.reason.check(error.ProcessTerminated)
    assert proto.out == b""


@pytest.mark.parametrize(
    ("flags", "accepted"),
    [
        (["-tls1_2"], True),
        (["-tls1_3"], True),
        (["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], False),
    ],
)
def test_opensslClientVersions(
    reactor: Any, wait: Any, pki: Any, tmp_path: Any, flags: list[str], accepted: bool
) -> None:
    openssl = _need("openssl")
    files = _files(tmp_path, pki)
    serverLost: list[Any] = []
    serverDone: Deferred[None] = Deferred()

    class Server(LineEchoThenClose):
        def connectionLost(self, reason: Any = None) -> None:
            serverLost.append(reason)
            serverDone.callback(None)

    options = PrivateCertificate.loadPEM(pki.server.bothPEM).options()
    port = reactor.listenSSL(0, Factory.forProtocol(Server), options, interface="127.0.0.1")
    proto = Collect()
    args = [openssl, "s_client", "-connect", f"127.0.0.1:{port.getHost().port}",
            "-CAfile", files["ca"], "-quiet", *flags]  # fmt: skip
    transport = spawnProcess(reactor, proto, openssl, args, env=None)
    transport.write(b"version check\n")
    wait(gatherResults([proto.ended, serverDone]))
    port.stopListening()
    if accepted:
        assert b"VERSION CHECK" in proto.out, proto.err
    else:
        assert b"VERSION CHECK" not in proto.out
        assert serverLost and serverLost[0].check(ssl.SSLError)


class MiniSMTP(Protocol):
    """
    Just enough ESMTP for ``openssl s_client -starttls smtp``, switching with startTLS.
    """

    def __init__(self, options: Any) -> None:
        self.options = options
        self.buf = b""
        self.secure = False

    def connectionMade(self) -> None:
        self.transport.write(b"220 glisten ESMTP\r\n")

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lineReceived(line.rstrip(b"\r"))

    def lineReceived(self, line: bytes) -> None:
        if self.secure:
            cn = self.transport.getPeerCertificate()
            self.transport.write(b"250 secure " + line.upper() + b" " + repr(cn).encode() + b"\r\n")
            self.transport.loseConnection()
        elif line.upper().startswith((b"EHLO", b"HELO")):
            self.transport.write(b"250-glisten\r\n250 STARTTLS\r\n")
        elif line.upper() == b"STARTTLS":
            self.transport.write(b"220 ready to start TLS\r\n")
            if self.buf:
                # Plain text pipelined after STARTTLS must not count as protected (CVE-2011-0411).
                self.transport.loseConnection()
                return
            self.transport.startTLS(self.options)
            self.secure = True
        else:
            self.transport.write(b"502 unknown\r\n")


def test_opensslStartTLS(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    openssl = _need("openssl")
    files = _files(tmp_path, pki)
    options = PrivateCertificate.loadPEM(pki.server.bothPEM).options()
    port = reactor.listenTCP(
        0, Factory.forProtocol(lambda: MiniSMTP(options)), interface="127.0.0.1"
    )
    proto = Collect()
    args = [openssl, "s_client", "-connect", f"127.0.0.1:{port.getHost().port}",
            "-starttls", "smtp", "-CAfile", files["ca"], "-verify_return_error",
            "-verify_hostname", "localhost", "-quiet"]  # fmt: skip
    transport = spawnProcess(reactor, proto, openssl, args, env=None)
    transport.write(b"noop\n")
    wait(proto.ended)
    port.stopListening()
    assert b"250 secure NOOP None" in proto.out, proto.err


def test_halfCloseAgainstSocat(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    """
    A request ended by close_notify (``loseWriteConnection``) is answered by socat, which only
    runs its command's output back once it has seen the end of the input: the answer arrives
    after the half-close, then socat's own close_notify closes the connection cleanly.
    """
    import socket

    socat = _need("socat")
    files = _files(tmp_path, pki)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        portNumber = s.getsockname()[1]
    args = [
        socat, "-d", "-d",
        f"OPENSSL-LISTEN:{portNumber},bind=127.0.0.1,reuseaddr,cert={files['cert']},"
        f"key={files['key']},verify=0",
        "SYSTEM:tr a-z A-Z",
    ]  # fmt: skip
    listening: Deferred[None] = Deferred()

    class Peer(Collect):
        def errReceived(self, data: bytes) -> None:
            super().errReceived(data)
            if b"listening on" in self.err and not listening.called:
                listening.callback(None)

        def processEnded(self, reason: Any) -> None:
            if not listening.called:
                listening.errback(AssertionError(self.err.decode(errors="replace")))
            super().processEnded(reason)

    peer = Peer()

    class HalfCloser(Protocol):
        def __init__(self) -> None:
            self.received = b""
            self.done: Deferred[Any] = Deferred()

        def connectionMade(self) -> None:
            self.transport.write(b"hello half close\n")
            self.transport.loseWriteConnection()

        def dataReceived(self, data: bytes) -> None:
            self.received += data

        def connectionLost(self, reason: Any = None) -> None:
            self.reason = reason
            self.done.callback(None)

    client = HalfCloser()
    options = optionsForClientTLS("localhost", trustRoot=Certificate.loadPEM(pki.ca.certPEM))

    async def scenario() -> Any:
        spawnProcess(reactor, peer, socat, args, env=None)
        await listening
        reactor.connectSSL(
            "127.0.0.1", portNumber, ClientFactory.forProtocol(lambda: client), options
        )
        await client.done
        await peer.ended
        return [client.reason]  # (a Failure returned as is would be raised)

    (reason,) = wait(lambda: Deferred.fromCoroutine(scenario()))
    assert client.received == b"HELLO HALF CLOSE\n", peer.err
    assert reason.check(error.ConnectionDone), reason
