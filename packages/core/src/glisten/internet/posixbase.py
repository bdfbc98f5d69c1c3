"""
The POSIX reactor base: the waker, the transport factories (TCP, UDP, Unix, adopted sockets)
and a readiness loop shared by the epoll, poll and select reactors, which differ only in how
they wait.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import weakref
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.base import ReactorBase
from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()

_IN = select.POLLIN
_OUT = select.POLLOUT
_PRI = select.POLLPRI
_ERR = select.POLLERR
_HUP = select.POLLHUP
_NVAL = getattr(select, "POLLNVAL", 32)
_BROKEN = _ERR | _HUP | _NVAL


def _closeFds(fds: set[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


@implementer(interfaces.IReadDescriptor)
class _Waker:
    """
    An eventfd (or pipe) whose readability wakes the reactor from another thread.
    """

    disconnected = 0

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self._r = self._w = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._token = b"\x01\x00\x00\x00\x00\x00\x00\x00"
        else:  # pragma: no cover - non-Linux
            self._r, self._w = os.pipe()
            os.set_blocking(self._r, False)
            os.set_blocking(self._w, False)
            self._token = b"x"
        self._closed = False
        fds = {self._r, self._w}
        self._finalizer = weakref.finalize(self, _closeFds, fds)

    def fileno(self) -> int:
        return -1 if self._closed else self._r

    def logPrefix(self) -> str:
        return "-waker-"

    def wakeUp(self) -> None:
        if self._closed:
            return
        try:
            os.write(self._w, self._token)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            if e.errno != errno.EBADF:
                raise

    def doRead(self) -> None:
        try:
            while os.read(self._r, 4096):
                if self._r == self._w:
                    break
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def connectionLost(self, reason: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._finalizer()


@implementer(
    interfaces.IReactorTCP,
    interfaces.IReactorUDP,
    interfaces.IReactorMulticast,
    interfaces.IReactorUNIX,
    interfaces.IReactorUNIXDatagram,
    interfaces.IReactorSocket,
    interfaces.IReactorFDSet,
    interfaces.IReactorProcess,
)
class PosixReactorBase(ReactorBase):
    """
    The transport factories shared by every POSIX reactor.
    """

    def __init__(self) -> None:
        ReactorBase.__init__(self)
        self.waker: _Waker | None = None

    def _installWaker(self) -> None:
        self.waker = _Waker()
        self._addInternalReader(self.waker)

    def _addInternalReader(self, reader: Any) -> None:
        self.addReader(reader)

    def wakeUp(self) -> None:
        waker = self.waker
        if waker is not None:
            waker.wakeUp()

    def disconnectAll(self) -> None:
        """
        Close every watched descriptor with ConnectionLost.
        """
        selectables = self.removeAll()
        for s in selectables:
            try:
                s.connectionLost(Failure(error.ConnectionLost()))
            except Exception:
                _log.failure("Error while disconnecting {s!r}", s=s)

    def addReader(self, reader: Any) -> None:
        """
        Call ``reader.doRead()`` whenever readable.
        """
        raise NotImplementedError()

    def addWriter(self, writer: Any) -> None:
        """
        Call ``writer.doWrite()`` whenever writable.
        """
        raise NotImplementedError()

    def removeReader(self, reader: Any) -> None:
        """
        Stop watching ``reader`` for readability.
        """
        raise NotImplementedError()

    def removeWriter(self, writer: Any) -> None:
        """
        Stop watching ``writer`` for writability.
        """
        raise NotImplementedError()

    def getReaders(self) -> list[Any]:
        """
        :return: the watched readers.
        """
        raise NotImplementedError()

    def getWriters(self) -> list[Any]:
        """
        :return: the watched writers.
        """
        raise NotImplementedError()

    def removeAll(self) -> list[Any]:
        """
        Stop watching everything but the reactor's own descriptors.

        :return: what was watched.
        """
        raise NotImplementedError()

    def _disconnectSelectable(self, selectable: Any, why: BaseException) -> None:
        self.removeReader(selectable)
        self.removeWriter(selectable)
        try:
            selectable.connectionLost(Failure(why))
        except Exception:
            _log.failure("Error in connectionLost of {s!r}", s=selectable)

    # ------------------------------------------------------------------ TCP

    def listenTCP(
        self, port: int, factory: Any, backlog: int = 50, interface: str = ""
    ) -> interfaces.IListeningPort:
        from glisten.internet.tcp import Port

        p = Port(port, factory, backlog, interface, self)
        p.startListening()
        return p

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> interfaces.IConnector:
        from glisten.internet.tcp import Connector

        c = Connector(host, port, factory, timeout, bindAddress, self)
        c.connect()
        return c

    # ------------------------------------------------------------------ TLS

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> interfaces.IListeningPort:
        """
        Listen for TLS connections (TLS is layered on TCP by :mod:`glisten.protocols.tls`).
        """
        from glisten.protocols.tls import TLSMemoryBIOFactory

        tlsFactory = TLSMemoryBIOFactory(contextFactory, False, factory)
        return self.listenTCP(port, tlsFactory, backlog, interface)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> interfaces.IConnector:
        """
        Connect with TLS (layered on TCP by :mod:`glisten.protocols.tls`).
        """
        from glisten.protocols.tls import TLSMemoryBIOFactory

        tlsFactory = TLSMemoryBIOFactory(contextFactory, True, factory)
        return self.connectTCP(host, port, tlsFactory, timeout, bindAddress)

    # ------------------------------------------------------------------ UDP

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> interfaces.IListeningPort:
        from glisten.internet.udp import Port as UDPPort

        p = UDPPort(port, protocol, interface, maxPacketSize, self)
        p.startListening()
        return p

    def listenMulticast(
        self,
        port: int,
        protocol: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> interfaces.IListeningPort:
        from glisten.internet.udp import MulticastPort

        p = MulticastPort(port, protocol, interface, maxPacketSize, self, listenMultiple)
        p.startListening()
        return p

    # ------------------------------------------------------------------ Unix

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> interfaces.IConnector:
        from glisten.internet.unix import Connector as UNIXConnector

        c = UNIXConnector(address, factory, timeout, self, checkPID)
        c.connect()
        return c

    def listenUNIX(
        self,
        address: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> interfaces.IListeningPort:
        from glisten.internet.unix import Port as UNIXPort

        p = UNIXPort(address, factory, backlog, mode, self, wantPID)
        p.startListening()
        return p

    def listenUNIXDatagram(
        self, address: str, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
    ) -> interfaces.IListeningPort:
        from glisten.internet.unix import DatagramPort

        p = DatagramPort(address, protocol, maxPacketSize, mode, self)
        p.startListening()
        return p

    def connectUNIXDatagram(
        self,
        address: str,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: str | None = None,
    ) -> Any:
        from glisten.internet.unix import ConnectedDatagramPort

        p = ConnectedDatagramPort(address, protocol, maxPacketSize, mode, bindAddress, self)
        p.startListening()
        return p

    # ------------------------------------------------------------------ adopted sockets

    def adoptStreamPort(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> Any:
        """
        Listen on an already listening socket (duplicated; the caller closes its own fd).

        :raises glisten.internet.error.UnsupportedAddressFamily: for other families than
            AF_INET, AF_INET6 and AF_UNIX.
        """
        if addressFamily not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            raise error.UnsupportedAddressFamily(addressFamily)
        if addressFamily == socket.AF_UNIX:
            from glisten.internet.unix import Port as UNIXPort

            p: Any = UNIXPort._fromListeningDescriptor(self, fileDescriptor, factory)
        else:
            from glisten.internet.tcp import Port

            p = Port._fromListeningDescriptor(self, fileDescriptor, addressFamily, factory)
        p.startListening()
        return p

    def adoptStreamConnection(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> None:
        """
        Serve an already connected socket (duplicated) with a protocol from ``factory``.
        """
        if addressFamily not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            raise error.UnsupportedAddressFamily(addressFamily)
        skt = socket.socket(addressFamily, socket.SOCK_STREAM, fileno=os.dup(fileDescriptor))
        skt.setblocking(False)
        if addressFamily == socket.AF_UNIX:
            from glisten.internet.address import UNIXAddress
            from glisten.internet.unix import Server as UNIXServer

            peer = skt.getpeername()
            protocol = factory.buildProtocol(UNIXAddress(peer or None))
            if protocol is None:
                skt.close()
                return
            t: Any = UNIXServer(skt, protocol, peer, None, 0, self)
        else:
            from glisten.internet.tcp import Server, _addressFor

            addr = skt.getpeername()
            protocol = factory.buildProtocol(_addressFor(addressFamily, addr))
            if protocol is None:
                skt.close()
                return
            t = Server(skt, protocol, addr, _AdoptedPort(), 0, self)
        protocol.makeConnection(t)

    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: Any, protocol: Any, maxPacketSize: int = 8192
    ) -> Any:
        """
        Use an already bound datagram socket (duplicated) with ``protocol``.
        """
        if addressFamily not in (socket.AF_INET, socket.AF_INET6):
            raise error.UnsupportedAddressFamily(addressFamily)
        from glisten.internet.udp import Port as UDPPort

        p = UDPPort._fromListeningDescriptor(
            self, fileDescriptor, addressFamily, protocol, maxPacketSize
        )
        p.startListening()
        return p

    # ------------------------------------------------------------------ processes

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: bytes | str,
        args: Any = (),
        env: Any = None,
        path: Any = None,
        uid: Any = None,
        gid: Any = None,
        usePTY: Any = False,
        childFDs: Any = None,
    ) -> Any:
        """
        Start a child process (implemented by :mod:`glisten.internet.process`).
        """
        from glisten.internet import process

        if usePTY:
            return process.PTYProcess(
                self, executable, args, env, path, processProtocol, uid, gid, usePTY
            )
        return process.Process(
            self, executable, args, env, path, processProtocol, uid, gid, childFDs
        )


class _AdoptedPort:
    """
    Stands in for the Port of an adopted connection.
    """

    _realPortNumber = "adopted"


class _PollingReactor(PosixReactorBase):
    """
    A reactor waiting with a poll-like object: ``register(fd, mask)``, ``modify``,
    ``unregister`` and ``poll(timeout)`` returning ``(fd, events)`` pairs.

    Descriptors that cannot be polled (regular files, EPERM from epoll) are treated as always
    ready, as Twisted does.
    """

    def __init__(self) -> None:
        PosixReactorBase.__init__(self)
        self._selectables: dict[int, Any] = {}
        self._masks: dict[int, int] = {}
        self._continuous: dict[int, int] = {}
        self._internal: set[int] = set()
        self._poller = self._makePoller()
        self._installWaker()

    def _makePoller(self) -> Any:
        raise NotImplementedError()

    def _addInternalReader(self, reader: Any) -> None:
        self.addReader(reader)
        self._internal.add(reader.fileno())

    def _pollRegister(self, fd: int, mask: int) -> None:
        self._poller.register(fd, mask)

    def _pollModify(self, fd: int, mask: int) -> None:
        self._poller.modify(fd, mask)

    def _pollUnregister(self, fd: int) -> None:
        self._poller.unregister(fd)

    def _add(self, selectable: Any, flag: int) -> None:
        fd = selectable.fileno()
        if fd < 0:
            return
        masks = self._continuous if fd in self._continuous else self._masks
        mask = masks.get(fd, 0)
        if mask & flag:
            self._selectables[fd] = selectable
            return
        new = mask | flag
        if masks is self._continuous:
            masks[fd] = new
        elif mask:
            self._pollModify(fd, new)
            masks[fd] = new
        else:
            try:
                self._pollRegister(fd, new)
            except PermissionError:
                # A regular file: always ready.
                self._continuous[fd] = new
            else:
                masks[fd] = new
        self._selectables[fd] = selectable

    def _remove(self, selectable: Any, flag: int) -> None:
        fd = selectable.fileno()
        if fd < 0:
            # Closed already: find it by identity.
            found = [k for k, s in self._selectables.items() if s is selectable]
            if not found:
                return
            fd = found[0]
        if fd in self._continuous:
            mask = self._continuous[fd]
            if mask & flag:
                new = mask & ~flag
                if new:
                    self._continuous[fd] = new
                else:
                    del self._continuous[fd]
                    self._selectables.pop(fd, None)
            return
        mask = self._masks.get(fd, 0)
        if not mask & flag or self._selectables.get(fd) is not selectable:
            return
        new = mask & ~flag
        if new:
            try:
                self._pollModify(fd, new)
            except OSError:
                pass
            self._masks[fd] = new
        else:
            try:
                self._pollUnregister(fd)
            except (OSError, KeyError, ValueError):
                pass
            del self._masks[fd]
            del self._selectables[fd]

    def addReader(self, reader: Any) -> None:
        """
        Call ``reader.doRead()`` whenever readable.
        """
        self._add(reader, _IN)

    def addWriter(self, writer: Any) -> None:
        """
        Call ``writer.doWrite()`` whenever writable.
        """
        self._add(writer, _OUT)

    def removeReader(self, reader: Any) -> None:
        """
        Stop watching ``reader``.
        """
        self._remove(reader, _IN)

    def removeWriter(self, writer: Any) -> None:
        """
        Stop watching ``writer``.
        """
        self._remove(writer, _OUT)

    def _watched(self, flag: int) -> list[Any]:
        out = []
        for masks in (self._masks, self._continuous):
            for fd, mask in masks.items():
                if mask & flag and fd not in self._internal:
                    out.append(self._selectables[fd])
        return out

    def getReaders(self) -> list[Any]:
        return self._watched(_IN)

    def getWriters(self) -> list[Any]:
        return self._watched(_OUT)

    def removeAll(self) -> list[Any]:
        """
        Stop watching everything but the waker.

        :return: what was watched.
        """
        result = []
        for fd in list(self._masks) + list(self._continuous):
            if fd in self._internal:
                continue
            selectable = self._selectables.get(fd)
            if selectable is None:
                continue
            if fd in self._masks:
                try:
                    self._pollUnregister(fd)
                except (OSError, KeyError, ValueError):
                    pass
                del self._masks[fd]
            else:
                del self._continuous[fd]
            del self._selectables[fd]
            if selectable not in result:
                result.append(selectable)
        return result

    def _releaseResources(self) -> None:
        if self.waker is not None:
            fd = self.waker.fileno()
            self._masks.pop(fd, None)
            self._selectables.pop(fd, None)
            self._internal.discard(fd)
            self.waker.close()
            self.waker = None
        poller = self._poller
        close = getattr(poller, "close", None)
        if close is not None:
            close()

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        raise NotImplementedError()

    def doIteration(self, timeout: float | None) -> None:
        """
        Wait for readiness (at most ``timeout`` seconds) and dispatch it.
        """
        if self._continuous:
            timeout = 0
        events = self._poll(timeout)
        if self._continuous:
            events = list(events) + list(self._continuous.items())
        selectables = self._selectables
        for fd, event in events:
            sel: Any = selectables.get(fd)
            if sel is None:
                continue
            why: Any = None
            try:
                if event & _IN:
                    why = sel.doRead()
                    if why is None and event & _OUT:
                        # doRead may have closed it (and the fd may even be reused).
                        current: Any = selectables.get(fd)
                        if current is sel:
                            why = sel.doWrite()
                elif event & _OUT:
                    why = sel.doWrite()
                elif event & _BROKEN:
                    mask = self._masks.get(fd, 0)
                    if event & _NVAL:
                        why = error.ConnectionFdescWentAway("Filedescriptor went away")
                    elif mask & _IN:
                        why = sel.doRead()
                    elif mask & _OUT:
                        why = sel.doWrite()
                    else:
                        why = error.ConnectionLost()
            except Exception as e:
                _log.failure(
                    "Unhandled error in {prefix}; closing it",
                    prefix=_logPrefixOf(sel),
                )
                why = e
            if why is not None:
                if isinstance(why, Failure):
                    why = why.value
                self._disconnectSelectable(sel, why)


def _logPrefixOf(obj: Any) -> str:
    try:
        return str(obj.logPrefix())
    except Exception:
        return obj.__class__.__name__


def _eintrSafe(f: Any, *args: Any) -> Any:
    try:
        return f(*args)
    except InterruptedError:
        return []
    except OSError as e:
        if e.errno == errno.EINTR:
            return []
        raise


__all__ = ["PosixReactorBase"]
