"""
StandardIO, tested in child processes that run it on their own stdin/stdout.
"""

from __future__ import annotations

import sys
from typing import Any

from glisten.internet import error
from glisten.internet.defer import Deferred
from glisten.internet.process import spawnProcess
from glisten.internet.protocol import ProcessProtocol

_PRELUDE = """
import sys
from zope.interface import implementer
from glisten.internet import interfaces
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import Protocol
from glisten.internet.stdio import StandardIO
reactor = EPollReactor()
"""

_ECHO = (
    _PRELUDE
    + """
class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data.upper())
    def connectionLost(self, reason):
        sys.stderr.write(type(reason.value).__name__)
        reactor.callWhenRunning(reactor.stop)
StandardIO(Echo(), reactor=reactor)
reactor.run(installSignalHandlers=False)
"""
)

_HALF_CLOSE = (
    _PRELUDE
    + """
@implementer(interfaces.IHalfCloseableProtocol)
class Counter(Protocol):
    n = 0
    def dataReceived(self, data):
        self.n += len(data)
    def readConnectionLost(self):
        self.transport.write(b"read %d bytes" % self.n)
        self.transport.loseConnection()
    def writeConnectionLost(self):
        pass
    def connectionLost(self, reason):
        reactor.callWhenRunning(reactor.stop)
StandardIO(Counter(), reactor=reactor)
reactor.run(installSignalHandlers=False)
"""
)

_BULK = (
    _PRELUDE
    + """
class Bulk(Protocol):
    def connectionMade(self):
        for i in range(80):
            self.transport.write(bytes([65 + i % 26]) * 65536)
        self.transport.loseConnection()
    def connectionLost(self, reason):
        reactor.callWhenRunning(reactor.stop)
StandardIO(Bulk(), reactor=reactor)
reactor.run(installSignalHandlers=False)
"""
)


class Collect(ProcessProtocol):
    def __init__(self) -> None:
        self.out = bytearray()
        self.err = b""
        self.ended: Deferred[None] = Deferred()
        self.reason: Any = None

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Any) -> None:
        self.reason = reason
        self.ended.callback(None)


def _run(reactor: Any, code: str, **kw: Any) -> Collect:
    proto = Collect()
    spawnProcess(reactor, proto, sys.executable, [sys.executable, "-c", code], env=None, **kw)
    return proto


def test_echoAndEndOfInput(reactor: Any, wait: Any) -> None:
    proto = _run(reactor, _ECHO)
    proto.transport.write(b"hello ")
    proto.transport.write(b"stdio")
    proto.transport.closeStdin()
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert bytes(proto.out) == b"HELLO STDIO"
    assert proto.err == b"ConnectionDone"


def test_halfClose(reactor: Any, wait: Any) -> None:
    proto = _run(reactor, _HALF_CLOSE)
    proto.transport.write(b"x" * 100000)
    proto.transport.closeStdin()
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert bytes(proto.out) == b"read 100000 bytes"


def test_bulkWritesAreBufferedAndFlushed(reactor: Any, wait: Any) -> None:
    proto = _run(reactor, _BULK)
    wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert len(proto.out) == 80 * 65536
    assert proto.out[-1:] == bytes([65 + 79 % 26])


def test_regularFileAsStdin(reactor: Any, wait: Any, tmp_path: Any) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(b"from a file")
    with open(path, "rb") as f:
        proto = _run(reactor, _ECHO, childFDs={0: f.fileno(), 1: "r", 2: "r"})
        wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert bytes(proto.out) == b"FROM A FILE"


def test_regularFileAsStdout(reactor: Any, wait: Any, tmp_path: Any) -> None:
    path = tmp_path / "output.txt"
    with open(path, "wb") as f:
        proto = _run(reactor, _BULK, childFDs={0: "w", 1: f.fileno(), 2: "r"})
        wait(proto.ended)
    assert proto.reason.check(error.ProcessDone), proto.err
    assert path.stat().st_size == 80 * 65536
