"""
The interfaces of the reactor, transports, protocols and endpoints.

Names and semantics follow Twisted's ``twisted.internet.interfaces`` so that code written against
Twisted's interfaces works unchanged; the docstrings here are glisten's own.
"""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

# ----------------------------------------------------------------------------- addresses


class IAddress(Interface):
    """
    The address of one end of a connection or a listening port (a value type, compared by value).
    """


# ----------------------------------------------------------------------------- reactor


class IReactorCore(Interface):
    """
    The core of the event loop: running, stopping and the system event triggers.
    """

    running = Attribute("True while the reactor runs (after startup, until shutdown).")

    def resolve(name: str, timeout: Any = (1, 3, 11, 45)) -> object:
        """
        Resolve a hostname to one IPv4 address.

        :param name: the hostname.
        :param timeout: ignored by most resolvers, kept for compatibility.
        :return: a Deferred firing with the address as a string.
        """

    def run() -> None:
        """
        Fire the startup triggers, then loop until :meth:`stop` (then fire the shutdown ones).
        """

    def stop() -> None:
        """
        Stop the loop after the shutdown triggers have run.

        :raises glisten.internet.error.ReactorNotRunning: if the reactor is not running.
        """

    def crash() -> None:
        """
        Stop the loop at once, without the shutdown triggers (for tests).
        """

    def iterate(delay: float = 0) -> None:
        """
        Run one pass of the loop, waiting at most ``delay`` seconds for events.
        """

    def fireSystemEvent(eventType: str) -> None:
        """
        Run the triggers of ``eventType`` (``"startup"``, ``"shutdown"`` ...) in their phases.
        """

    def addSystemEventTrigger(
        phase: str, eventType: str, callable: Any, *args: Any, **kwargs: Any
    ) -> object:
        """
        Call ``callable`` in ``phase`` (``"before"``, ``"during"``, ``"after"``) of an event.

        A Deferred returned by a ``"before"`` trigger delays the later phases until it fires.

        :return: an identifier for :meth:`removeSystemEventTrigger`.
        """

    def removeSystemEventTrigger(triggerID: Any) -> None:
        """
        Remove a trigger added by :meth:`addSystemEventTrigger`.

        :raises ValueError: if the trigger is not registered.
        """

    def callWhenRunning(callable: Any, *args: Any, **kwargs: Any) -> object:
        """
        Call ``callable`` once the reactor runs (at once if it already does).

        :return: a trigger identifier, or None if it was called at once.
        """


class IReactorTime(Interface):
    """
    Timed calls.
    """

    def seconds() -> float:
        """
        :return: the current time on the reactor's (monotonic) clock.
        """

    def callLater(delay: float, callable: Any, *args: Any, **kw: Any) -> IDelayedCall:
        """
        Call ``callable(*args, **kw)`` after ``delay`` seconds (a negative delay means now).

        :return: an :class:`IDelayedCall` to cancel or move the call.
        """

    def getDelayedCalls() -> object:
        """
        :return: the list of pending :class:`IDelayedCall` objects.
        """


class IDelayedCall(Interface):
    """
    A call scheduled with :meth:`IReactorTime.callLater`.
    """

    def getTime() -> float:
        """
        :return: the time at which the call will run.
        """

    def cancel() -> None:
        """
        Do not run the call.

        :raises glisten.internet.error.AlreadyCancelled: if already cancelled.
        :raises glisten.internet.error.AlreadyCalled: if it already ran.
        """

    def delay(secondsLater: float) -> None:
        """
        Postpone the call by ``secondsLater`` seconds.
        """

    def reset(secondsFromNow: float) -> None:
        """
        Reschedule the call to run ``secondsFromNow`` seconds from now.
        """

    def active() -> bool:
        """
        :return: True until the call runs or is cancelled.
        """


class IReactorThreads(Interface):
    """
    Running code in a thread pool and handing results back to the reactor thread.
    """

    def getThreadPool() -> object:
        """
        :return: the reactor's :class:`glisten.python.threadpool.ThreadPool` (started lazily).
        """

    def callInThread(_callable: Any, *args: Any, **kwargs: Any) -> None:
        """
        Run ``_callable`` in the thread pool.
        """

    def callFromThread(f: Any, *args: Any, **kwargs: Any) -> None:
        """
        Run ``f`` in the reactor thread soon; safe to call from any thread.
        """

    def suggestThreadPoolSize(size: int) -> None:
        """
        Set the maximum number of threads in the pool.
        """


class IReactorTCP(Interface):
    """
    TCP listening and connecting.
    """

    def listenTCP(
        port: int, factory: IProtocolFactory, backlog: int = 50, interface: str = ""
    ) -> IListeningPort:
        """
        Listen for TCP connections.

        :param port: the port number, 0 for any free one.
        :param factory: builds one protocol per accepted connection.
        :param backlog: the listen queue size.
        :param interface: the local address (IPv4 or IPv6 literal) to bind; ``""`` is all IPv4.
        :raises glisten.internet.error.CannotListenError: if the port cannot be bound.
        """

    def connectTCP(
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> IConnector:
        """
        Connect to a TCP server; ``factory`` is a ClientFactory.

        :param timeout: seconds before the attempt fails with a TimeoutError.
        :param bindAddress: a ``(host, port)`` to bind the local end to.
        """


class IReactorSSL(Interface):
    """
    TLS over TCP.
    """

    def connectSSL(
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> IConnector:
        """
        Connect with TLS; ``contextFactory`` gives the client TLS settings.
        """

    def listenSSL(
        port: int,
        factory: IProtocolFactory,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        """
        Listen for TLS connections; ``contextFactory`` gives the server TLS settings.
        """


class IReactorUNIX(Interface):
    """
    Unix stream sockets.
    """

    def connectUNIX(
        address: str, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> IConnector:
        """
        Connect to a Unix socket; a name starting with ``"\\0"`` is in the abstract namespace.
        """

    def listenUNIX(
        address: str,
        factory: IProtocolFactory,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> IListeningPort:
        """
        Listen on a Unix socket.

        :param mode: the permissions of the socket file.
        :param wantPID: keep a ``<address>.lock`` file with the owner's PID, and replace a stale
            socket left behind by a dead process.
        """


class IReactorUNIXDatagram(Interface):
    """
    Unix datagram sockets.
    """

    def connectUNIXDatagram(
        address: str,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: str | None = None,
    ) -> IConnector:
        """
        Connect a datagram protocol to a Unix datagram socket.
        """

    def listenUNIXDatagram(
        address: str, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
    ) -> IListeningPort:
        """
        Bind a datagram protocol to a Unix datagram socket.
        """


class IReactorUDP(Interface):
    """
    UDP sockets.
    """

    def listenUDP(
        port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> IListeningPort:
        """
        Bind a DatagramProtocol to a UDP port.

        :param interface: the local address; an IPv6 literal makes an IPv6 socket.
        """


class IReactorMulticast(Interface):
    """
    UDP multicast.
    """

    def listenMulticast(
        port: int,
        protocol: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> IListeningPort:
        """
        Bind a DatagramProtocol to a UDP port able to join multicast groups.

        :param listenMultiple: allow several sockets to bind the same port (SO_REUSEADDR/PORT).
        """


class IReactorSocket(Interface):
    """
    Adopting sockets created elsewhere (by systemd socket activation, say).
    """

    def adoptStreamPort(fileDescriptor: int, addressFamily: Any, factory: Any) -> object:
        """
        Listen on an already listening stream socket; the fd is duplicated, the caller's is
        left open.
        """

    def adoptStreamConnection(fileDescriptor: int, addressFamily: Any, factory: Any) -> None:
        """
        Wrap an already connected stream socket in a protocol built by ``factory``.
        """

    def adoptDatagramPort(
        fileDescriptor: int, addressFamily: Any, protocol: Any, maxPacketSize: int = 8192
    ) -> object:
        """
        Use an already bound datagram socket with ``protocol``.
        """


class IReactorProcess(Interface):
    """
    Child processes.
    """

    def spawnProcess(
        processProtocol: Any,
        executable: bytes | str,
        args: Any = (),
        env: Any = None,
        path: Any = None,
        uid: Any = None,
        gid: Any = None,
        usePTY: Any = False,
        childFDs: Any = None,
    ) -> object:
        """
        Start a child process connected to ``processProtocol``.

        :return: an :class:`IProcessTransport`.
        """


class IReactorFDSet(Interface):
    """
    Watching raw file descriptors for readability and writability.
    """

    def addReader(reader: IReadDescriptor) -> None:
        """
        Call ``reader.doRead()`` whenever its descriptor is readable.
        """

    def addWriter(writer: IWriteDescriptor) -> None:
        """
        Call ``writer.doWrite()`` whenever its descriptor is writable.
        """

    def removeReader(reader: IReadDescriptor) -> None:
        """
        Stop watching ``reader``.
        """

    def removeWriter(writer: IWriteDescriptor) -> None:
        """
        Stop watching ``writer``.
        """

    def removeAll() -> object:
        """
        Stop watching everything (but the reactor's own waker).

        :return: the readers and writers that were removed.
        """

    def getReaders() -> object:
        """
        :return: the readers being watched.
        """

    def getWriters() -> object:
        """
        :return: the writers being watched.
        """


class IReactorPluggableNameResolver(Interface):
    """
    A reactor whose hostname resolver can be replaced.
    """

    nameResolver = Attribute("The IHostnameResolver used for connections by name.")

    def installNameResolver(resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Use ``resolver`` from now on.

        :return: the previous resolver.
        """


class IReactorPluggableResolver(Interface):
    """
    The older single-address resolver hook (``reactor.resolve``).
    """

    def installResolver(resolver: Any) -> object:
        """
        Use ``resolver`` for :meth:`IReactorCore.resolve`; return the previous one.
        """


class IResolverSimple(Interface):
    """
    A resolver answering one address per name.
    """

    def getHostByName(name: str, timeout: Any = (1, 3, 11, 45)) -> object:
        """
        :return: a Deferred firing with one address for ``name``.
        """


class IResolver(IResolverSimple):
    """
    A DNS resolver (provided by ``glisten-names``; Twisted keeps the interface here).

    Each ``lookup*`` method returns a Deferred firing with a tuple of three lists of resource
    records (answers, authority, additional), or failing with a DNS error.
    """

    def query(query: Any, timeout: Any = None) -> object:
        """
        :return: a Deferred firing with the answer to a ``dns.Query``.
        """

    def lookupAddress(name: Any, timeout: Any = None) -> object:
        """
        Look up IPv4 address (A) records of ``name``.
        """

    def lookupAddress6(name: Any, timeout: Any = None) -> object:
        """
        Look up A6 records (obsolete) of ``name``.
        """

    def lookupIPV6Address(name: Any, timeout: Any = None) -> object:
        """
        Look up IPv6 address (AAAA) records of ``name``.
        """

    def lookupMailExchange(name: Any, timeout: Any = None) -> object:
        """
        Look up mail exchange (MX) records of ``name``.
        """

    def lookupNameservers(name: Any, timeout: Any = None) -> object:
        """
        Look up name server (NS) records of ``name``.
        """

    def lookupCanonicalName(name: Any, timeout: Any = None) -> object:
        """
        Look up canonical name (CNAME) records of ``name``.
        """

    def lookupMailBox(name: Any, timeout: Any = None) -> object:
        """
        Look up mailbox (MB) records of ``name``.
        """

    def lookupMailGroup(name: Any, timeout: Any = None) -> object:
        """
        Look up mail group (MG) records of ``name``.
        """

    def lookupMailRename(name: Any, timeout: Any = None) -> object:
        """
        Look up mail rename (MR) records of ``name``.
        """

    def lookupPointer(name: Any, timeout: Any = None) -> object:
        """
        Look up pointer (PTR) records of ``name``.
        """

    def lookupAuthority(name: Any, timeout: Any = None) -> object:
        """
        Look up start of authority (SOA) records of ``name``.
        """

    def lookupNull(name: Any, timeout: Any = None) -> object:
        """
        Look up NULL records of ``name``.
        """

    def lookupWellKnownServices(name: Any, timeout: Any = None) -> object:
        """
        Look up well known service (WKS) records of ``name``.
        """

    def lookupHostInfo(name: Any, timeout: Any = None) -> object:
        """
        Look up host information (HINFO) records of ``name``.
        """

    def lookupMailboxInfo(name: Any, timeout: Any = None) -> object:
        """
        Look up mailbox information (MINFO) records of ``name``.
        """

    def lookupText(name: Any, timeout: Any = None) -> object:
        """
        Look up text (TXT) records of ``name``.
        """

    def lookupResponsibility(name: Any, timeout: Any = None) -> object:
        """
        Look up responsible person (RP) records of ``name``.
        """

    def lookupAFSDatabase(name: Any, timeout: Any = None) -> object:
        """
        Look up AFS database (AFSDB) records of ``name``.
        """

    def lookupService(name: Any, timeout: Any = None) -> object:
        """
        Look up service (SRV) records of ``name``.
        """

    def lookupAllRecords(name: Any, timeout: Any = None) -> object:
        """
        Look up all records (ANY) of ``name``.
        """

    def lookupSenderPolicy(name: Any, timeout: Any = None) -> object:
        """
        Look up sender policy (SPF) records of ``name``.
        """

    def lookupNamingAuthorityPointer(name: Any, timeout: Any = None) -> object:
        """
        Look up naming authority pointer (NAPTR) records of ``name``.
        """

    def lookupZone(name: Any, timeout: Any = None) -> object:
        """
        Look up a zone transfer (AXFR) of ``name``.
        """


class IHostResolution(Interface):
    """
    One resolution in progress.
    """

    name = Attribute("The name being resolved.")

    def cancel() -> None:
        """
        Stop the resolution; the receiver gets ``resolutionComplete`` at once.
        """


class IResolutionReceiver(Interface):
    """
    Receives the results of one hostname resolution.
    """

    def resolutionBegan(resolutionInProgress: IHostResolution) -> None:
        """
        The resolution started.
        """

    def addressResolved(address: IAddress) -> None:
        """
        One address was found.
        """

    def resolutionComplete() -> None:
        """
        No more addresses will come.
        """


class IHostnameResolver(Interface):
    """
    Resolves hostnames to many addresses of different families.
    """

    def resolveHostName(
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> IResolutionReceiver:
        """
        Resolve ``hostName``, reporting to ``resolutionReceiver``.

        :param addressTypes: the IAddress classes wanted (IPv4Address, IPv6Address); None for all.
        :param transportSemantics: ``"TCP"`` or ``"UDP"``.
        :return: the receiver.
        """


# ----------------------------------------------------------------------------- descriptors


class ILoggingContext(Interface):
    """
    Something that can say which log prefix its events should carry.
    """

    def logPrefix() -> str:
        """
        :return: a short name for log lines about this object.
        """


class IFileDescriptor(ILoggingContext):
    """
    An object wrapping a file descriptor.
    """

    def fileno() -> int:
        """
        :return: the descriptor number, or -1 once closed.
        """

    def connectionLost(reason: Any) -> None:
        """
        The descriptor was closed or failed; ``reason`` is a Failure.
        """


class IReadDescriptor(IFileDescriptor):
    """
    A descriptor the reactor calls when it is readable.
    """

    def doRead() -> object:
        """
        Read what is available; return None, or an exception/Failure to disconnect.
        """


class IWriteDescriptor(IFileDescriptor):
    """
    A descriptor the reactor calls when it is writable.
    """

    def doWrite() -> object:
        """
        Write what is buffered; return None, or an exception/Failure to disconnect.
        """


class IReadWriteDescriptor(IReadDescriptor, IWriteDescriptor):
    """
    A descriptor both read from and written to.
    """


class ISendfileTransport(Interface):
    """
    A transport that can send part of a file straight from the kernel (``sendfile(2)``), so
    the bytes never pass through Python: what a static-file server wants for large files. A
    glisten extension; Twisted has no equivalent. Plain TCP and Unix connections provide it.
    """

    def sendfile(fileno: int, offset: int, count: int) -> int | None:
        """
        Send up to ``count`` bytes of the open file ``fileno`` from ``offset``, after
        everything written before and only once that has gone out.

        :return: the bytes sent; 0 when the connection cannot take any now (a registered
            pull producer is resumed when it can); ``None`` when this connection cannot send
            from files (TLS was started on it, or the file cannot be sent that way): use
            ``write``.
        :raises EOFError: the file ends at or before ``offset`` (it shrank).
        """


class ISystemHandle(Interface):
    """
    An object wrapping an OS-level handle (a socket).
    """

    def getHandle() -> object:
        """
        :return: the handle (for a TCP transport, its socket).
        """


# ----------------------------------------------------------------------------- ports


class IListeningPort(Interface):
    """
    A listening socket.
    """

    def startListening() -> None:
        """
        Start listening (called by ``listenXXX``).

        :raises glisten.internet.error.CannotListenError: if it cannot.
        """

    def stopListening() -> object:
        """
        Close the socket.

        :return: a Deferred firing once it is closed (or None).
        """

    def getHost() -> IAddress:
        """
        :return: the address the port is bound to.
        """


class IConnector(Interface):
    """
    An outgoing connection attempt, re-usable to reconnect.
    """

    def stopConnecting() -> None:
        """
        Abandon the attempt in progress.
        """

    def disconnect() -> None:
        """
        Disconnect if connected, else stop connecting.
        """

    def connect() -> None:
        """
        Try (again) to connect.
        """

    def getDestination() -> IAddress:
        """
        :return: the address being connected to.
        """


# ----------------------------------------------------------------------------- producers


class IProducer(Interface):
    """
    Something that writes data to a consumer.
    """

    def stopProducing() -> None:
        """
        Stop for good; the consumer is going away.
        """


class IPushProducer(IProducer):
    """
    A producer that writes whenever it likes until paused (a streaming producer).
    """

    def pauseProducing() -> None:
        """
        Stop writing until :meth:`resumeProducing`.
        """

    def resumeProducing() -> None:
        """
        Continue writing.
        """


class IPullProducer(IProducer):
    """
    A producer that writes one chunk each time it is asked.
    """

    def resumeProducing() -> None:
        """
        Write one chunk to the consumer now.
        """


class IConsumer(Interface):
    """
    Something that takes data from a producer.
    """

    def registerProducer(producer: IProducer, streaming: bool) -> None:
        """
        Attach ``producer``; ``streaming`` says whether it is an IPushProducer.

        :raises RuntimeError: if a producer is already registered.
        """

    def unregisterProducer() -> None:
        """
        Detach the producer.
        """

    def write(data: bytes) -> None:
        """
        Take ``data``.
        """


# ----------------------------------------------------------------------------- transports


class ITransport(Interface):
    """
    A connection's byte stream as seen by its protocol.
    """

    def write(data: bytes) -> None:
        """
        Send ``data`` (buffered; never blocks). Only ``bytes`` are accepted.
        """

    def writeSequence(data: Any) -> None:
        """
        Send every ``bytes`` in the iterable ``data``, in order.
        """

    def loseConnection() -> None:
        """
        Close the connection once everything written has been sent.
        """

    def getPeer() -> IAddress:
        """
        :return: the remote address.
        """

    def getHost() -> IAddress:
        """
        :return: the local address.
        """


class ITCPTransport(ITransport):
    """
    A TCP connection.
    """

    def loseWriteConnection() -> None:
        """
        Shut down the sending half after the buffer is sent (half-close).
        """

    def abortConnection() -> None:
        """
        Close at once, dropping anything unsent.
        """

    def getTcpNoDelay() -> bool:
        """
        :return: whether Nagle's algorithm is off.
        """

    def setTcpNoDelay(enabled: bool) -> None:
        """
        Turn Nagle's algorithm off (True) or on.
        """

    def getTcpKeepAlive() -> bool:
        """
        :return: whether TCP keepalives are on.
        """

    def setTcpKeepAlive(enabled: bool) -> None:
        """
        Turn TCP keepalives on or off.
        """


class IUNIXTransport(ITransport):
    """
    A Unix stream connection, able to pass file descriptors.
    """

    def sendFileDescriptor(descriptor: int) -> None:
        """
        Send ``descriptor`` to the peer with the next write (SCM_RIGHTS).
        """


class ITLSTransport(ITCPTransport):
    """
    A TCP transport that can start TLS.
    """

    def startTLS(contextFactory: Any) -> None:
        """
        Start TLS on this connection with ``contextFactory``'s settings.
        """


class ISSLTransport(ITCPTransport):
    """
    A TLS connection.
    """

    def getPeerCertificate() -> object:
        """
        :return: the peer's certificate, or None.
        """


class IProcessTransport(ITransport):
    """
    The transport of a child process.
    """

    pid = Attribute("The process id, or None once it has exited.")

    def closeStdin() -> None:
        """
        Close the child's stdin.
        """

    def closeStdout() -> None:
        """
        Close the child's stdout.
        """

    def closeStderr() -> None:
        """
        Close the child's stderr.
        """

    def closeChildFD(descriptor: int) -> None:
        """
        Close one of the child's descriptors.
        """

    def writeToChild(childFD: int, data: bytes) -> None:
        """
        Write ``data`` to the child's descriptor ``childFD``.
        """

    def signalProcess(signalID: str | int) -> None:
        """
        Send a signal (``"TERM"``, ``"KILL"``, ``"INT"`` or a number).

        :raises glisten.internet.error.ProcessExitedAlready: if the process has exited.
        """


class IUDPTransport(Interface):
    """
    The transport of a DatagramProtocol.
    """

    def write(packet: bytes, addr: Any = None) -> None:
        """
        Send one datagram to ``addr`` (or to the connected address).

        :raises glisten.internet.error.MessageLengthError: if the datagram is too long.
        """

    def connect(host: str, port: int) -> None:
        """
        Only exchange datagrams with ``(host, port)`` (an IP literal).
        """

    def getHost() -> IAddress:
        """
        :return: the local address.
        """

    def stopListening() -> object:
        """
        Close the socket.
        """

    def setBroadcastAllowed(enabled: bool) -> None:
        """
        Allow sending to broadcast addresses.
        """

    def getBroadcastAllowed() -> bool:
        """
        :return: whether broadcast is allowed.
        """


class IMulticastTransport(Interface):
    """
    Multicast options of a UDP transport.
    """

    def getOutgoingInterface() -> str:
        """
        :return: the interface address used to send multicast.
        """

    def setOutgoingInterface(addr: str) -> object:
        """
        Send multicast through the interface with address ``addr``.
        """

    def getLoopbackMode() -> bool:
        """
        :return: whether our own multicast comes back to us.
        """

    def setLoopbackMode(mode: bool) -> None:
        """
        Receive (True) or not our own multicast.
        """

    def getTTL() -> int:
        """
        :return: the multicast TTL.
        """

    def setTTL(ttl: int) -> None:
        """
        Set the multicast TTL.
        """

    def joinGroup(addr: str, interface: str = "") -> object:
        """
        Join the multicast group ``addr``; return a Deferred.
        """

    def leaveGroup(addr: str, interface: str = "") -> object:
        """
        Leave the multicast group ``addr``; return a Deferred.
        """


class IUNIXDatagramTransport(Interface):
    """
    The transport of a Unix datagram protocol.
    """

    def write(packet: bytes, addr: str) -> None:
        """
        Send one datagram to the socket at ``addr``.
        """

    def getHost() -> IAddress:
        """
        :return: the local address.
        """


class IUNIXDatagramConnectedTransport(Interface):
    """
    The transport of a connected Unix datagram protocol.
    """

    def write(packet: bytes) -> None:
        """
        Send one datagram to the connected peer.
        """

    def getHost() -> IAddress:
        """
        :return: the local address.
        """

    def getPeer() -> IAddress:
        """
        :return: the remote address.
        """


# ----------------------------------------------------------------------------- protocols


class IProtocol(Interface):
    """
    The application side of a stream connection.
    """

    def dataReceived(data: bytes) -> None:
        """
        Bytes arrived; they may be any slice of what the peer wrote.
        """

    def connectionLost(reason: Any) -> None:
        """
        The connection closed; ``reason`` is a Failure (ConnectionDone when clean).
        """

    def makeConnection(transport: ITransport) -> None:
        """
        Attach ``transport`` and call :meth:`connectionMade`.
        """

    def connectionMade() -> None:
        """
        The connection is up and ``self.transport`` is set.
        """


class IProcessProtocol(Interface):
    """
    The application side of a child process.
    """

    def makeConnection(process: IProcessTransport) -> None:
        """
        Attach the process transport.
        """

    def childDataReceived(childFD: int, data: bytes) -> None:
        """
        The child wrote ``data`` on ``childFD``.
        """

    def childConnectionLost(childFD: int) -> None:
        """
        The child's descriptor ``childFD`` closed.
        """

    def processExited(reason: Any) -> None:
        """
        The child exited (its pipes may still be open).
        """

    def processEnded(reason: Any) -> None:
        """
        The child exited and all its pipes are closed.
        """


class IHalfCloseableProtocol(Interface):
    """
    A protocol that wants to know when either half of the connection closes.
    """

    def readConnectionLost() -> None:
        """
        The peer will send nothing more; we may still write.
        """

    def writeConnectionLost() -> None:
        """
        Our sending half is closed.
        """


class IHandshakeListener(Interface):
    """
    A protocol told when a TLS handshake completes.
    """

    def handshakeCompleted() -> None:
        """
        The TLS handshake finished.
        """


class IFileDescriptorReceiver(Interface):
    """
    A protocol able to receive file descriptors over a Unix socket.
    """

    def fileDescriptorReceived(descriptor: int) -> None:
        """
        A descriptor arrived; it now belongs to the protocol (close it when done).
        """


class IProtocolFactory(Interface):
    """
    Builds protocols for connections.
    """

    def buildProtocol(addr: IAddress) -> IProtocol | None:
        """
        :return: a protocol for a connection with ``addr``, or None to refuse it.
        """

    def doStart() -> None:
        """
        Called before the first use (by a port or connector).
        """

    def doStop() -> None:
        """
        Called after the last use.
        """


class IProtocolNegotiationFactory(Interface):
    """
    A factory that offers protocols for TLS ALPN.
    """

    def acceptableProtocols() -> list[bytes]:
        """
        :return: the ALPN protocol names, most preferred first.
        """


# ----------------------------------------------------------------------------- endpoints


class IStreamServerEndpoint(Interface):
    """
    Somewhere to listen for stream connections.
    """

    def listen(protocolFactory: IProtocolFactory) -> object:
        """
        :return: a Deferred firing with an IListeningPort.
        """


class IStreamClientEndpoint(Interface):
    """
    Somewhere to connect to with a stream connection.
    """

    def connect(protocolFactory: IProtocolFactory) -> object:
        """
        :return: a Deferred firing with the connected protocol.
        """


class IStreamServerEndpointStringParser(Interface):
    """
    A plugin parsing one prefix of server endpoint strings (``prefix:args``).
    """

    prefix = Attribute("The endpoint type handled, e.g. ``tcp``.")

    def parseStreamServer(reactor: Any, *args: Any, **kwargs: Any) -> object:
        """
        :return: an IStreamServerEndpoint built from the string's arguments.
        """


class IStreamClientEndpointStringParserWithReactor(Interface):
    """
    A plugin parsing one prefix of client endpoint strings.
    """

    prefix = Attribute("The endpoint type handled, e.g. ``tcp``.")

    def parseStreamClient(reactor: Any, *args: Any, **kwargs: Any) -> object:
        """
        :return: an IStreamClientEndpoint built from the string's arguments.
        """


__all__ = [name for name in dir() if name.startswith("I") and name[1:2].isupper()]
