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
from types import MappingProxyType
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


_EMPTY_ENV: Any = MappingProxyType({})


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

    :param pipe: use a pipe even where eventfd exists: ``signal.set_wakeup_fd`` writes single
        bytes, which an eventfd refuses.
    """

    disconnected = 0

    def __init__(self, pipe: bool = False) -> None:
        if hasattr(os, "eventfd") and not pipe:
            self._r = self._w = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._token = b"\x01\x00\x00\x00\x00\x00\x00\x00"
        else:
            self._r, self._w = os.pipe()
            os.set_blocking(self._r, False)
            os.set_blocking(self._w, False)
            self._token = b"x"
        self._closed = False
        fds = {self._r, self._w}
        self._finalizer = weakref.finalize(self, _closeFds, fds)

    def fileno(self) -> int:
        return -1 if self._closed else self._r

    def writeFileno(self) -> int:
        """
        :return: the descriptor to write to (the same as :meth:`fileno` for an eventfd).
        """
        return self._w

    def logPrefix(self) -> str:
        return "-waker-"

    def wakeUp(self) -> None:
        """
        Make a blocked wait return (from any thread, or a signal handler).
        """
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
        self._signalWaker: _Waker | None = None

    def _installWaker(self) -> None:
        self.waker = _Waker()
        self._addInternalReader(self.waker)

    def _addInternalReader(self, reader: Any) -> None:
        self.addReader(reader)

    def _removeInternalReader(self, reader: Any) -> None:
        self.removeReader(reader)

    def _signalWakeupFd(self) -> int | None:
        # A pipe of its own: the signal module writes the signal number, one byte, which the
        # eventfd of the thread waker would refuse. Reading it only drains it: the Python
        # handler does the work once the wait has returned.
        if self._signalWaker is None:
            self._signalWaker = _Waker(pipe=True)
            self._addInternalReader(self._signalWaker)
        return self._signalWaker.writeFileno()

    def _signalWakeupDone(self) -> None:
        waker, self._signalWaker = self._signalWaker, None
        if waker is not None:
            self._removeInternalReader(waker)
            waker.close()

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

    def _disconnectSelectable(self, selectable: Any, why: Any) -> None:
        if isinstance(why, Failure):
            why = why.value
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
        """
        Listen for TCP connections; see :class:`~glisten.internet.interfaces.IReactorTCP`.

        :raises glisten.internet.error.CannotListenError: if the address cannot be bound.
        """
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
        """
        Connect to a TCP server; see :class:`~glisten.internet.interfaces.IReactorTCP`.

        A host name is resolved with :attr:`nameResolver` (IPv4, as Twisted does); use
        ``HostnameEndpoint`` for IPv6 and happy eyeballs.
        """
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
        """
        Bind a DatagramProtocol to a UDP port; see
        :class:`~glisten.internet.interfaces.IReactorUDP`.
        """
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
        """
        Bind a DatagramProtocol to a multicast-capable UDP port; see
        :class:`~glisten.internet.interfaces.IReactorMulticast`.
        """
        from glisten.internet.udp import MulticastPort

        p = MulticastPort(port, protocol, interface, maxPacketSize, self, listenMultiple)
        p.startListening()
        return p

    # ------------------------------------------------------------------ Unix

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> interfaces.IConnector:
        """
        Connect to a Unix stream socket; see :class:`~glisten.internet.interfaces.IReactorUNIX`.
        """
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
        """
        Listen on a Unix stream socket; see :class:`~glisten.internet.interfaces.IReactorUNIX`.
        """
        from glisten.internet.unix import Port as UNIXPort

        p = UNIXPort(address, factory, backlog, mode, self, wantPID)
        p.startListening()
        return p

    def listenUNIXDatagram(
        self, address: str, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
    ) -> interfaces.IListeningPort:
        """
        Bind a datagram protocol to a Unix datagram socket.
        """
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
        """
        Connect a ConnectedDatagramProtocol to a Unix datagram socket.
        """
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
        env: Any = _EMPTY_ENV,
        path: Any = None,
        uid: Any = None,
        gid: Any = None,
        usePTY: Any = False,
        childFDs: Any = None,
    ) -> Any:
        """
        Start a child process (implemented by :mod:`glisten.internet.process`).

        :param env: the child's environment: empty by default, as in Twisted; None inherits
            this process's.
        """
        from glisten.internet.process import spawnProcess

        if env is _EMPTY_ENV:
            env = {}
        return spawnProcess(
            self, processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs
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

    Readers and writers are kept apart, so one descriptor may be read by one object and written
    by another (a PTY's master, say). Descriptors that cannot be polled (regular files: EPERM
    from epoll) are treated as always ready, as Twisted does.
    """

    def __init__(self) -> None:
        PosixReactorBase.__init__(self)
        self._reads: dict[int, Any] = {}
        self._writes: dict[int, Any] = {}
        self._masks: dict[int, int] = {}
        self._continuous: set[int] = set()
        self._internal: set[int] = set()
        self._poller = self._makePoller()
        self._installWaker()

    def _makePoller(self) -> Any:
        raise NotImplementedError()

    def _addInternalReader(self, reader: Any) -> None:
        self.addReader(reader)
        self._internal.add(reader.fileno())

    def _removeInternalReader(self, reader: Any) -> None:
        fd = reader.fileno()
        self.removeReader(reader)
        self._internal.discard(fd)

    def _setMask(self, fd: int, old: int, new: int) -> None:
        """
        Change what the poller watches on ``fd`` from ``old`` to ``new`` (0: nothing).
        """
        if new == 0:
            self._masks.pop(fd, None)
            if fd in self._continuous:
                self._continuous.discard(fd)
                return
            try:
                self._poller.unregister(fd)
            except (OSError, KeyError, ValueError):
                pass
            return
        self._masks[fd] = new
        if fd in self._continuous:
            return
        if old:
            try:
                self._poller.modify(fd, new)
                return
            except FileNotFoundError:
                # Closed and reused under a stale registration: register afresh.
                pass
        try:
            self._poller.register(fd, new)
        except FileExistsError:
            self._poller.modify(fd, new)
        except PermissionError:
            # A regular file: always ready.
            self._continuous.add(fd)

    def _add(self, selectable: Any, table: dict[int, Any], flag: int) -> None:
        fd = selectable.fileno()
        if fd < 0:
            return
        if table.get(fd) is selectable:
            return
        table[fd] = selectable
        old = self._masks.get(fd, 0)
        if not old & flag:
            self._setMask(fd, old, old | flag)
        else:
            # Another object held this role on the descriptor: it was closed under it and the
            # number reused. Make sure the poller watches the new descriptor.
            self._setMask(fd, old, old)

    def _remove(self, selectable: Any, table: dict[int, Any], flag: int) -> None:
        fd = selectable.fileno()
        if fd < 0 or table.get(fd) is not selectable:
            # Closed already, or never added: find it by identity.
            found = [k for k, s in table.items() if s is selectable]
            if not found:
                return
            fd = found[0]
        del table[fd]
        old = self._masks.get(fd, 0)
        self._setMask(fd, old, old & ~flag)

    def addReader(self, reader: Any) -> None:
        """
        Call ``reader.doRead()`` whenever readable.
        """
        self._add(reader, self._reads, _IN)

    def addWriter(self, writer: Any) -> None:
        """
        Call ``writer.doWrite()`` whenever writable.
        """
        self._add(writer, self._writes, _OUT)

    def removeReader(self, reader: Any) -> None:
        """
        Stop watching ``reader``.
        """
        self._remove(reader, self._reads, _IN)

    def removeWriter(self, writer: Any) -> None:
        """
        Stop watching ``writer``.
        """
        self._remove(writer, self._writes, _OUT)

    def getReaders(self) -> list[Any]:
        """
        :return: the watched readers (but the reactor's own).
        """
        return [s for fd, s in self._reads.items() if fd not in self._internal]

    def getWriters(self) -> list[Any]:
        """
        :return: the watched writers.
        """
        return [s for fd, s in self._writes.items() if fd not in self._internal]

    def removeAll(self) -> list[Any]:
        """
        Stop watching everything but the waker.

        :return: what was watched.
        """
        result: list[Any] = []
        for table, flag in ((self._reads, _IN), (self._writes, _OUT)):
            for fd, selectable in list(table.items()):
                if fd in self._internal:
                    continue
                del table[fd]
                old = self._masks.get(fd, 0)
                self._setMask(fd, old, old & ~flag)
                if not any(s is selectable for s in result):
                    result.append(selectable)
        return result

    def _releaseResources(self) -> None:
        if self.waker is not None:
            fd = self.waker.fileno()
            self._reads.pop(fd, None)
            self._masks.pop(fd, None)
            self._internal.discard(fd)
            self.waker.close()
            self.waker = None
        close = getattr(self._poller, "close", None)
        if close is not None:
            close()

    def _poll(self, timeout: float | None) -> list[tuple[int, int]]:
        raise NotImplementedError()

    def doIteration(self, timeout: float | None) -> None:
        """
        Wait for readiness (at most ``timeout`` seconds) and dispatch it.
        """
        continuous = self._continuous
        if continuous:
            timeout = 0
        events = self._poll(timeout)
        if continuous:
            masks = self._masks
            events = list(events) + [(fd, masks.get(fd, 0)) for fd in continuous]
        reads = self._reads
        writes = self._writes
        for fd, event in events:
            if event & _BROKEN and not event & (_IN | _OUT):
                if event & _NVAL:
                    for s in {id(x): x for x in (reads.get(fd), writes.get(fd)) if x}.values():
                        self._disconnectSelectable(
                            s, error.ConnectionFdescWentAway("Filedescriptor went away")
                        )
                    continue
                # Hang-up or error: let the reader (else the writer) find out what happened.
                event |= _IN if fd in reads else _OUT
            if event & _IN:
                sel: Any = reads.get(fd)
                if sel is not None:
                    try:
                        why = sel.doRead()
                    except Exception as e:
                        _log.failure(
                            "Unhandled error in {prefix}; closing it", prefix=_logPrefixOf(sel)
                        )
                        why = e
                    if why is not None:
                        self._disconnectSelectable(sel, why)
            if event & _OUT:
                # doRead may have closed it (and the number may even have been reused).
                sel = writes.get(fd)
                if sel is not None:
                    try:
                        why = sel.doWrite()
                    except Exception as e:
                        _log.failure(
                            "Unhandled error in {prefix}; closing it", prefix=_logPrefixOf(sel)
                        )
                        why = e
                    if why is not None:
                        self._disconnectSelectable(sel, why)


def _logPrefixOf(obj: Any) -> str:
    try:
        return str(obj.logPrefix())
    except Exception:
        return obj.__class__.__name__


__all__ = ["PosixReactorBase"]
