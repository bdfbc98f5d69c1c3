"""
The buffered, producer-aware base of every stream transport (sockets, pipes).

Writes go straight to the descriptor while nothing is buffered; only what the kernel does not
take is buffered, and only then does the transport ask the reactor for writability. When the
buffer passes :attr:`FileDescriptor.bufferSize` a registered streaming producer is paused; it is
resumed once the buffer has drained.
"""

from __future__ import annotations

import socket
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()


def _checkData(data: object) -> bytes:
    # The slow path of write(): bytes subclasses, bytearray and memoryview are copied to bytes
    # (a mutable buffer may change after write() returns); anything else is refused.
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"Data must be bytes, not {type(data).__name__}")


@implementer(
    interfaces.IPushProducer,
    interfaces.IReadWriteDescriptor,
    interfaces.IConsumer,
    interfaces.ITransport,
    interfaces.ILoggingContext,
)
class FileDescriptor:
    """
    A transport over a non-blocking file descriptor.

    Subclasses implement :meth:`doRead`, :meth:`writeSomeData` and :meth:`fileno`.

    :ivar bufferSize: the write buffer's high-water mark (bytes) above which a streaming
        producer is paused.
    :ivar connected: true while connected.
    :ivar disconnecting: true once :meth:`loseConnection` was called.
    :ivar disconnected: true once the connection is lost.
    """

    connected = 0
    disconnected = 0
    disconnecting = 0
    _writeDisconnecting = False
    _writeDisconnected = False
    producer: Any = None
    streamingProducer = False
    producerPaused = False
    bufferSize = 2**16
    _wbuf: bytearray | None = None
    _writeError: BaseException | None = None
    _fd = -1

    def __init__(self, reactor: Any = None) -> None:
        self.reactor = getReactor(reactor)

    # ------------------------------------------------------------- descriptor

    def fileno(self) -> int:
        """
        :return: the descriptor, -1 once closed.
        """
        return self._fd

    def getHost(self) -> Any:
        """
        :return: the local address (subclasses say which).
        """
        raise NotImplementedError()

    def getPeer(self) -> Any:
        """
        :return: the remote address (subclasses say which).
        """
        raise NotImplementedError()

    def logPrefix(self) -> str:
        """
        :return: the class name, for log lines.
        """
        return self.__class__.__name__

    def doRead(self) -> object:
        """
        Read what is available (the reactor calls this when readable).
        """
        raise NotImplementedError(f"{self.__class__.__name__} does not implement doRead")

    def writeSomeData(self, data: bytes | bytearray) -> int | BaseException:
        """
        Write as much of ``data`` as possible, without blocking.

        :return: the number of bytes written, or an exception to lose the connection with.
        """
        raise NotImplementedError(f"{self.__class__.__name__} does not implement writeSomeData")

    def startReading(self) -> None:
        """
        Ask the reactor to call :meth:`doRead` when readable.
        """
        self.reactor.addReader(self)

    def stopReading(self) -> None:
        """
        Stop watching for readability.
        """
        self.reactor.removeReader(self)

    def startWriting(self) -> None:
        """
        Ask the reactor to call :meth:`doWrite` when writable.
        """
        self.reactor.addWriter(self)

    def stopWriting(self) -> None:
        """
        Stop watching for writability.
        """
        self.reactor.removeWriter(self)

    # ------------------------------------------------------------- writing

    def write(self, data: bytes) -> None:
        """
        Send ``data``: now if the buffer is empty, else after what is buffered.

        :raises TypeError: if ``data`` is not bytes-like (``str`` in particular).
        """
        if type(data) is not bytes:
            data = _checkData(data)
        if not self.connected or self._writeDisconnected or not data:
            return
        buf = self._wbuf
        if not buf and self._writeError is None:
            n = self.writeSomeData(data)
            if type(n) is int:
                if n >= len(data):
                    if self.producer is not None and not self.streamingProducer:
                        # A pull producer is asked for more from doWrite.
                        self.startWriting()
                    return
                data = data[n:]
            else:
                self._writeError = n  # type: ignore[assignment]
                self.startWriting()
                return
        if buf is None:
            buf = self._wbuf = bytearray(data)
        else:
            buf += data
        self.startWriting()
        producer = self.producer
        if (
            producer is not None
            and self.streamingProducer
            and not self.producerPaused
            and len(buf) > self.bufferSize
        ):
            self.producerPaused = True
            producer.pauseProducing()

    def writeSequence(self, iovec: Any) -> None:
        """
        Send every bytes object of ``iovec``, in order.
        """
        for data in iovec:
            if type(data) is not bytes:
                _checkData(data)
        self.write(b"".join(iovec))

    def doWrite(self) -> object:
        """
        Send buffered data (the reactor calls this when writable); resume the producer, finish
        a pending close or half-close once empty.
        """
        if self._writeError is not None:
            return self._writeError
        buf = self._wbuf
        if buf:
            n = self.writeSomeData(buf)
            if type(n) is not int:
                return n
            if n:
                del buf[:n]
            if buf:
                return None
        self.stopWriting()
        producer = self.producer
        if producer is not None and ((not self.streamingProducer) or self.producerPaused):
            self.producerPaused = False
            producer.resumeProducing()
        elif self.disconnecting:
            return self._postLoseConnection()
        elif self._writeDisconnecting:
            self._writeDisconnected = True
            return self._closeWriteConnection()
        return None

    def _postLoseConnection(self) -> object:
        """
        Everything was sent after :meth:`loseConnection`.

        :return: the reason to disconnect with.
        """
        return error.ConnectionDone()

    def _closeWriteConnection(self) -> object:
        """
        Everything was sent after :meth:`loseWriteConnection`; shut down the writing half.
        """
        return None

    def _isSendBufferEmpty(self) -> bool:
        return not self._wbuf

    # ------------------------------------------------------------- closing

    def loseConnection(self) -> None:
        """
        Close once everything buffered has been sent (and a pull producer unregistered).
        """
        if self.connected and not self.disconnecting:
            if self._writeDisconnected:
                # Half-closed already: nothing left to flush.
                self.stopReading()
                self.stopWriting()
                self.connectionLost(Failure(error.ConnectionDone()))
            else:
                self.stopReading()
                self.startWriting()
                self.disconnecting = 1

    def loseWriteConnection(self) -> None:
        """
        Shut the writing half once the buffer is sent.
        """
        self._writeDisconnecting = True
        self.startWriting()

    def connectionLost(self, reason: Failure) -> None:
        """
        The descriptor is done: stop the producer and stop watching it.
        """
        self.disconnected = 1
        self.connected = 0
        producer = self.producer
        if producer is not None:
            self.producer = None
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("Error stopping producer {producer!r}", producer=producer)
        self.stopReading()
        self.stopWriting()

    def readConnectionLost(self, reason: Failure) -> None:
        """
        The reading half closed; by default close everything.
        """
        self.connectionLost(reason)

    # ------------------------------------------------------------- producer/consumer

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Attach ``producer``; a pull producer is asked for data whenever the buffer drains.

        :raises RuntimeError: if a producer is already registered.
        """
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because producer "
                f"{self.producer!r} was never unregistered."
            )
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streamingProducer = streaming
        self.producerPaused = False
        if not streaming:
            producer.resumeProducing()
        elif self._wbuf is not None and len(self._wbuf) > self.bufferSize:
            self.producerPaused = True
            producer.pauseProducing()

    def unregisterProducer(self) -> None:
        """
        Detach the producer (a pending :meth:`loseConnection` may now finish).
        """
        self.producer = None
        self.producerPaused = False
        if self.connected and self.disconnecting:
            self.startWriting()

    def stopConsuming(self) -> None:
        """
        Detach the producer and close.
        """
        self.unregisterProducer()
        self.loseConnection()

    # the transport as a producer of incoming data

    def pauseProducing(self) -> None:
        """
        Stop reading (the protocol cannot take more data now).
        """
        self.stopReading()

    def resumeProducing(self) -> None:
        """
        Read again.
        """
        if self.connected and not self.disconnecting:
            self.startReading()

    def stopProducing(self) -> None:
        """
        Close the connection.
        """
        self.loseConnection()


def isIPAddress(addr: str, family: int = socket.AF_INET) -> bool:
    """
    :return: whether ``addr`` is a literal address of ``family`` (dotted quad for IPv4).
    """
    if isinstance(addr, bytes):
        try:
            addr = addr.decode("ascii")
        except UnicodeDecodeError:
            return False
    if family == socket.AF_INET6:
        addr = addr.split("%", 1)[0]
    elif family == socket.AF_INET:
        if addr.count(".") != 3:
            return False
    else:
        raise ValueError(f"unknown address family {family!r}")
    try:
        socket.inet_pton(family, addr)
    except (ValueError, OSError):
        return False
    return True


def isIPv6Address(addr: str) -> bool:
    """
    :return: whether ``addr`` is an IPv6 literal (a ``%scope`` suffix allowed).
    """
    return isIPAddress(addr, socket.AF_INET6)


__all__ = ["FileDescriptor", "isIPAddress", "isIPv6Address"]
