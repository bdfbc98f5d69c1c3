"""
Unix sockets: stream connections (with file-descriptor passing), listening ports with lock
files and the abstract namespace, and datagram ports.
"""

from __future__ import annotations

import array
import errno
import os
import socket
import stat
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces, tcp, udp
from glisten.internet.abstract import FileDescriptor
from glisten.internet.address import UNIXAddress
from glisten.logger import Logger
from glisten.python._pid import pidIsRunning
from glisten.python.failure import Failure

_log = Logger()

# Room for this many descriptors per recvmsg (Linux's SCM_MAX_FD is 253).
_MAX_FDS = 253
_ANCILLARY_SIZE = socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)


def _inFilesystemNamespace(path: str | bytes) -> bool:
    return path[:1] not in ("\0", b"\0")


def _addrName(name: Any) -> bytes | None:
    if not name:
        return None
    if isinstance(name, str):
        return os.fsencode(name)
    return bytes(name)


class _SendmsgMixin:
    """
    Sending queued descriptors with SCM_RIGHTS (one per byte of data, so each is tied to a
    position in the stream) and receiving them with recvmsg.
    """

    _sendmsgQueue: list[int]
    socket: socket.socket
    protocol: Any

    def sendFileDescriptor(self, fileno: int) -> None:
        """
        Send a duplicate of ``fileno`` to the peer with the next byte written.
        """
        if not hasattr(self, "_sendmsgQueue"):
            self._sendmsgQueue = []
        self._sendmsgQueue.append(fileno)

    def _writeSomeDataWithFDs(self, data: bytes | bytearray) -> int | BaseException:
        sent = 0
        queue = self._sendmsgQueue
        try:
            while queue and sent < len(data):
                fd = queue[0]
                n = self.socket.sendmsg(
                    [memoryview(data)[sent : sent + 1]],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]).tobytes())],
                )
                queue.pop(0)
                sent += n
            if not queue and sent < len(data):
                sent += self.socket.send(memoryview(data)[sent:])
        except (BlockingIOError, InterruptedError):
            return sent
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS):
                return sent
            return error.ConnectionLost(str(e))
        return sent

    def _recvWithFDs(self) -> object:
        try:
            data, ancillary, flags, _addr = self.socket.recvmsg(65536, _ANCILLARY_SIZE)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            return error.ConnectionLost(str(e))
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(payload[: len(payload) - (len(payload) % a.itemsize)])
                fds.extend(a)
        receiver = interfaces.IFileDescriptorReceiver(self.protocol, None)
        for fd in fds:
            if receiver is None:
                os.close(fd)
            else:
                receiver.fileDescriptorReceived(fd)
        if fds and receiver is None:
            _log.warn(
                "{protocol!r} received {n} unwanted file descriptors; closed them",
                protocol=self.protocol,
                n=len(fds),
            )
        if flags & socket.MSG_CTRUNC:
            return error.FileDescriptorOverrun()
        if data:
            self.protocol.dataReceived(data)
            return None
        if fds:
            return None
        return self._readEOF()  # type: ignore[attr-defined]


@implementer(interfaces.IUNIXTransport)
class Server(_SendmsgMixin, tcp.Server):
    """
    An accepted Unix stream connection.
    """

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        client: Any,
        server: Any,
        sessionno: int,
        reactor: Any,
    ) -> None:
        tcp.Server.__init__(self, sock, protocol, client, server or _NoPort(), sessionno, reactor)

    @property
    def hostname(self) -> str:
        return "unix"

    def write(self, data: bytes) -> None:
        if getattr(self, "_sendmsgQueue", None):
            FileDescriptor.write(self, data)
        else:
            tcp.Server.write(self, data)

    def writeSomeData(self, data: bytes | bytearray) -> int | BaseException:
        if getattr(self, "_sendmsgQueue", None):
            return self._writeSomeDataWithFDs(data)
        return tcp.Server.writeSomeData(self, data)

    def doRead(self) -> object:
        if interfaces.IFileDescriptorReceiver.providedBy(self.protocol):
            return self._recvWithFDs()
        return tcp.Server.doRead(self)

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(_addrName(self.socket.getsockname()))

    def getPeer(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(_addrName(self.client))


class _NoPort:
    _realPortNumber = "unix"


class Port(tcp.Port):
    """
    A listening Unix stream socket.

    :ivar mode: permissions of the socket file.
    :ivar wantPID: keep a ``<path>.lock`` lock file and replace stale sockets.
    """

    addressFamily = socket.AF_UNIX
    socketType = socket.SOCK_STREAM
    transport = Server
    lockFile: _LockFile | None = None
    #: Whether closing removes the socket file (not for an adopted socket).
    _ownsPath = True

    def __init__(
        self,
        fileName: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        reactor: Any = None,
        wantPID: bool = False,
    ) -> None:
        tcp.Port.__init__(self, 0, factory, backlog, "", reactor)
        if isinstance(fileName, bytes):
            fileName = os.fsdecode(fileName)
        self.port: Any = fileName
        self.mode = mode
        self.wantPID = wantPID
        self.addressFamily = socket.AF_UNIX

    @classmethod
    def _fromListeningDescriptor(  # type: ignore[override]
        cls, reactor: Any, fd: int, factory: Any
    ) -> Port:
        skt = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=os.dup(fd))
        name = skt.getsockname()
        self = cls(name if isinstance(name, str) else os.fsdecode(name), factory, reactor=reactor)
        self._preexistingSocket = skt
        # The socket file belongs to whoever bound it (systemd, a supervisor whose other
        # workers still listen on it): closing this copy must leave the file in place.
        self._ownsPath = False
        return self

    def __repr__(self) -> str:
        return f"<{self.factory.__class__} on {self.port!r}>"

    def startListening(self) -> None:
        """
        Bind (replacing a stale socket file if ``wantPID``), set the mode, listen.

        :raises glisten.internet.error.CannotListenError: if it cannot.
        """
        pre = getattr(self, "_preexistingSocket", None)
        if pre is not None:
            self._preexistingSocket = None
            skt = pre
        else:
            path = self.port
            if self.wantPID and _inFilesystemNamespace(path):
                lock = _LockFile(path + ".lock")
                if not lock.acquire():
                    raise error.CannotListenError("", path, OSError("Cannot acquire lock"))
                self.lockFile = lock
                if os.path.exists(path):
                    try:
                        if stat.S_ISSOCK(os.stat(path).st_mode):
                            os.unlink(path)
                    except OSError:
                        pass
            try:
                skt = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    skt.bind(path)
                    if _inFilesystemNamespace(path):
                        os.chmod(path, self.mode)
                    skt.listen(self.backlog)
                except BaseException:
                    skt.close()
                    raise
            except OSError as le:
                self._releaseLock()
                raise error.CannotListenError("", path, le)
        skt.setblocking(False)
        self._realPortNumber = self.port
        _log.info(
            "{name} starting on {path!r}", name=self._getLogPrefix(self.factory), path=self.port
        )
        self.factory.doStart()
        self.connected = True
        self.socket = skt
        self._fd = skt.fileno()
        self._accept = skt._accept
        self.startReading()

    def _buildAddr(self, address: Any) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(_addrName(address))

    def doRead(self) -> object:
        accept = self._accept
        for _ in range(self.numberAccepts):
            if self.disconnecting:
                return None
            try:
                fd, addr = accept()
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                if e.errno in tcp._ACCEPT_RESOURCE_ERRNOS:
                    self._outOfResources(e)
                    return None
                if e.errno in tcp._ACCEPT_RETRY_ERRNOS:
                    continue
                _log.failure("Could not accept new connection")
                return None
            skt = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, fileno=fd)
            try:
                protocol = self.factory.buildProtocol(self._buildAddr(addr))
            except Exception:
                _log.failure("Error building a protocol")
                skt.close()
                continue
            if protocol is None:
                skt.close()
                continue
            s = self.sessionno
            self.sessionno = s + 1
            t = Server(skt, protocol, addr, self, s, self.reactor)
            try:
                protocol.makeConnection(t)
            except Exception:
                _log.failure("Error in connectionMade of {protocol!r}", protocol=protocol)
                t.connectionLost(Failure())
        return None

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(self.port)

    def _releaseLock(self) -> None:
        if self.lockFile is not None:
            self.lockFile.release()
            self.lockFile = None

    def connectionLost(self, reason: Failure) -> None:
        if self.disconnected:
            return
        if self._ownsPath and _inFilesystemNamespace(self.port):
            try:
                os.unlink(self.port)
            except OSError:
                pass
        self._releaseLock()
        tcp.Port.connectionLost(self, reason)

    def _closeListeningSocket(self) -> None:
        tcp.Port._closeListeningSocket(self)


class _LockFile:
    """
    A PID lock file: a symlink naming the owner's PID (created atomically); a lock left by a
    dead process is broken.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.locked = False

    def acquire(self) -> bool:
        for _ in range(3):
            try:
                os.symlink(str(os.getpid()), self.name)
            except FileExistsError:
                try:
                    pid = int(os.readlink(self.name))
                except (OSError, ValueError):
                    return False
                if pidIsRunning(pid):
                    return False
                try:
                    os.unlink(self.name)
                except FileNotFoundError:
                    pass
                continue
            self.locked = True
            return True
        return False

    def release(self) -> None:
        if self.locked:
            self.locked = False
            try:
                os.unlink(self.name)
            except OSError:
                pass


@implementer(interfaces.IUNIXTransport)
class Client(_SendmsgMixin, tcp.Client):
    """
    An outgoing Unix stream connection.
    """

    def __init__(self, filename: str, connector: Any, reactor: Any, checkPID: bool = False) -> None:
        self.connector = connector
        self.addr = (filename, 0)
        self.realAddress = filename
        self.addressFamily = socket.AF_UNIX
        if checkPID and not _lockAlive(filename + ".lock"):
            FileDescriptor.__init__(self, reactor)
            reactor.callLater(0, self.failIfNotConnected, error.BadFileError(filename))
            return
        skt = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tcp.Connection.__init__(self, skt, None, reactor)
        reactor.callLater(0, self.doConnect)

    def write(self, data: bytes) -> None:
        if getattr(self, "_sendmsgQueue", None):
            FileDescriptor.write(self, data)
        else:
            tcp.Client.write(self, data)

    def writeSomeData(self, data: bytes | bytearray) -> int | BaseException:
        if getattr(self, "_sendmsgQueue", None):
            return self._writeSomeDataWithFDs(data)
        return tcp.Client.writeSomeData(self, data)

    def doRead(self) -> object:
        if self.connected and interfaces.IFileDescriptorReceiver.providedBy(self.protocol):
            return self._recvWithFDs()
        return tcp.Client.doRead(self)

    def doConnect(self) -> None:
        if not hasattr(self, "connector") or self.disconnected:
            return
        if self._connectStarted:
            tcp.Client.doConnect(self)
            return
        self._connectStarted = True
        result = self.socket.connect_ex(self.realAddress)
        if result in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.doWrite = self.doConnect  # type: ignore[method-assign]
            self.doRead = self.doConnect  # type: ignore[method-assign]
            self.startWriting()
            return
        if result:
            self.failIfNotConnected(error.getConnectError((result, os.strerror(result))))
            return
        self._connectDone()

    def getPeer(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(self.realAddress)

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(_addrName(self.socket.getsockname()))


def _lockAlive(name: str) -> bool:
    try:
        pid = int(os.readlink(name))
    except (OSError, ValueError):
        return False
    return pidIsRunning(pid)


class Connector(tcp.BaseConnector):
    """
    A Unix stream connector (returned by ``connectUNIX``).
    """

    def __init__(
        self, address: str, factory: Any, timeout: float | None, reactor: Any, checkPID: bool
    ) -> None:
        tcp.BaseConnector.__init__(self, factory, timeout, reactor)
        if isinstance(address, bytes):
            address = os.fsdecode(address)
        self.address = address
        self.checkPID = checkPID

    def _makeTransport(self) -> Client:
        return Client(self.address, self, self.reactor, self.checkPID)

    def getDestination(self) -> UNIXAddress:
        return UNIXAddress(self.address)


@implementer(interfaces.IUNIXDatagramTransport)
class DatagramPort(udp.Port):
    """
    A bound Unix datagram socket.
    """

    addressFamily = socket.AF_UNIX

    def __init__(
        self,
        addr: str | None,
        proto: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        reactor: Any = None,
    ) -> None:
        udp.Port.__init__(self, 0, proto, "", maxPacketSize, reactor)
        self.addressFamily = socket.AF_UNIX
        if isinstance(addr, bytes):
            addr = os.fsdecode(addr)
        self.port: Any = addr
        self.mode = mode

    def __repr__(self) -> str:
        return f"<{self.protocol.__class__} on {self.port!r}>"

    def _bindSocket(self) -> None:
        try:
            skt = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                if self.port:
                    skt.bind(self.port)
                    if _inFilesystemNamespace(self.port):
                        os.chmod(self.port, self.mode)
            except BaseException:
                skt.close()
                raise
        except OSError as le:
            raise error.CannotListenError("", self.port, le)
        skt.setblocking(False)
        self.connected = True
        self.socket = skt
        self._fd = skt.fileno()
        self._realPortNumber = self.port

    def doRead(self) -> None:
        assert self.socket is not None
        read = 0
        while read < self.maxThroughput and self.socket is not None:
            try:
                data, addr = self.socket.recvfrom(self.maxPacketSize)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as se:
                if se.errno == errno.ECONNREFUSED and self._connectedAddr is not None:
                    self.protocol.connectionRefused()
                    return
                _log.failure("Error reading Unix datagram")
                return
            read += len(data)
            try:
                self._deliver(data, addr)
            except Exception:
                _log.failure("Unhandled error in datagramReceived of {p!r}", p=self.protocol)

    def _deliver(self, data: bytes, addr: Any) -> None:
        self.protocol.datagramReceived(data, addr)

    def write(self, datagram: bytes, address: Any = None) -> None:
        """
        Send one datagram to the socket at ``address``.

        :raises glisten.internet.error.MessageLengthError: if it is too long.
        """
        assert self.socket is not None
        try:
            if address is None:
                self.socket.send(datagram)
            else:
                self.socket.sendto(datagram, address)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as se:
            if se.errno == errno.EMSGSIZE:
                raise error.MessageLengthError("message too long")
            if se.errno in (errno.EAGAIN, errno.ENOBUFS):
                return
            raise

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.disconnected:
            return
        port = self.port
        udp.Port.connectionLost(self, reason)
        if port and _inFilesystemNamespace(port):
            try:
                os.unlink(port)
            except OSError:
                pass

    def getHost(self) -> UNIXAddress:  # type: ignore[override]
        return UNIXAddress(self.port)

    def setLogStr(self) -> None:
        pass


@implementer(interfaces.IUNIXDatagramConnectedTransport)
class ConnectedDatagramPort(DatagramPort):
    """
    A Unix datagram socket connected to one peer (``connectUNIXDatagram``).
    """

    def __init__(
        self,
        addr: str,
        proto: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: str | None = None,
        reactor: Any = None,
    ) -> None:
        DatagramPort.__init__(self, bindAddress, proto, maxPacketSize, mode, reactor)
        self.remoteaddr = addr

    def startListening(self) -> None:
        try:
            self._bindSocket()
            assert self.socket is not None
            self.socket.connect(self.remoteaddr)
            self._connectedAddr = self.remoteaddr  # type: ignore[assignment]
            self._connectToProtocol()
        except OSError as e:
            self.connectionFailed(Failure(e))

    def connectionFailed(self, reason: Failure) -> None:
        self.connected = False
        self.reactor.removeReader(self)
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        self.protocol.connectionFailed(reason)
        self.protocol.doStop()

    def _deliver(self, data: bytes, addr: Any) -> None:
        self.protocol.datagramReceived(data)

    def write(self, data: bytes, address: Any = None) -> None:
        DatagramPort.write(self, data)

    def getPeer(self) -> UNIXAddress:
        return UNIXAddress(self.remoteaddr)


__all__ = [
    "Client",
    "ConnectedDatagramPort",
    "Connector",
    "DatagramPort",
    "Port",
    "Server",
]
