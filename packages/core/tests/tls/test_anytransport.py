"""
TLS over transports other than TCP: a child process's pipes, with the child serving TLS on its
own standard input and output through StandardIO.
"""

from __future__ import annotations

import sys
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.defer import Deferred
from glisten.internet.process import spawnProcess
from glisten.internet.protocol import Factory, ProcessProtocol, Protocol
from glisten.internet.ssl import Certificate, optionsForClientTLS
from glisten.protocols.tls import TLSMemoryBIOFactory
from glisten.python.failure import Failure

_CHILD = """
import sys
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.ssl import PrivateCertificate
from glisten.internet.stdio import StandardIO
from glisten.protocols.tls import TLSMemoryBIOFactory

reactor = EPollReactor()

class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data[::-1])
    def connectionLost(self, reason):
        sys.stderr.write("child: " + type(reason.value).__name__)
        reactor.callWhenRunning(reactor.stop)

with open(sys.argv[1], "rb") as f:
    options = PrivateCertificate.loadPEM(f.read()).options()
factory = TLSMemoryBIOFactory(options, False, Factory.forProtocol(Echo))
StandardIO(factory.buildProtocol(None), reactor=reactor)
reactor.run(installSignalHandlers=False)
"""


@implementer(interfaces.ITransport)
class ChildStdinTransport:
    """
    A stream transport made of a child's stdin (writing) and stdout (reading).
    """

    def __init__(self, process: Any) -> None:
        self.process = process

    def write(self, data: bytes) -> None:
        self.process.write(data)

    def writeSequence(self, seq: list[bytes]) -> None:
        self.process.writeSequence(seq)

    def loseConnection(self) -> None:
        self.process.closeStdin()

    def abortConnection(self) -> None:
        self.process.signalProcess("KILL")

    def getPeer(self) -> Any:
        return self.process.getPeer()

    def getHost(self) -> Any:
        return self.process.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.process.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.process.unregisterProducer()

    def pauseProducing(self) -> None:
        self.process.pauseProducing()

    def resumeProducing(self) -> None:
        self.process.resumeProducing()

    def stopProducing(self) -> None:
        self.process.loseConnection()


class StreamOverProcess(ProcessProtocol):
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.err = b""
        self.ended: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.stream.makeConnection(ChildStdinTransport(self.transport))

    def outReceived(self, data: bytes) -> None:
        self.stream.dataReceived(data)

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def outConnectionLost(self) -> None:
        self.stream.connectionLost(Failure(error.ConnectionDone()))

    def processEnded(self, reason: Any) -> None:
        self.reason = reason
        self.ended.callback(None)


class Client(Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.reason: Any = None
        self.peer: bytes | None = None

    def connectionMade(self) -> None:
        self.transport.write(b"through the pipes")

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) == len(b"through the pipes"):
            self.peer = self.transport.getPeerCertificate().getSubject().commonName
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        self.reason = reason


def test_tlsOverProcessPipes(reactor: Any, wait: Any, pki: Any, tmp_path: Any) -> None:
    certFile = tmp_path / "server.pem"
    certFile.write_bytes(pki.server.bothPEM)
    client = Client()
    options = optionsForClientTLS("localhost", trustRoot=Certificate.loadPEM(pki.ca.certPEM))
    tls = TLSMemoryBIOFactory(options, True, Factory.forProtocol(lambda: client)).buildProtocol(
        None
    )
    proto = StreamOverProcess(tls)
    spawnProcess(
        reactor, proto, sys.executable, [sys.executable, "-c", _CHILD, str(certFile)], env=None
    )
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert client.received == b"sepip eht hguorht"
    assert client.peer == b"localhost"
    assert client.reason.check(error.ConnectionDone)
    # The child saw our close_notify: a clean close on its side too.
    assert proto.err == b"child: ConnectionDone"
