"""
TLS as a protocol wrapper over any transport, on the standard library's memory BIOs.

:class:`TLSMemoryBIOProtocol` sits between a transport (TCP, Unix socket, a process pipe,
standard I/O, another TLS connection) and the application's protocol: bytes from the transport
go into an incoming :class:`ssl.MemoryBIO`, an :class:`ssl.SSLObject` decrypts them and the
plaintext goes to the application; the application's writes are encrypted into an outgoing BIO
and handed to the transport. The wrapper is the application's transport and provides
``ISSLTransport``.

Shutdown: ``loseConnection`` sends a TLS ``close_notify`` before closing the transport; a peer
that closes the transport without one (a possible truncation attack) is reported to the
application as :class:`glisten.internet.error.ConnectionLost`, never as a clean close.
Half-close works as on TCP: ``loseWriteConnection`` sends ``close_notify`` (the end of this
side's data) and keeps reading until the peer's ``close_notify``; an application protocol
providing ``IHalfCloseableProtocol`` gets ``readConnectionLost`` when the peer's
``close_notify`` arrives and may go on writing. TLS
failures (verification, garbage instead of a handshake) reach ``connectionLost`` as the
:class:`ssl.SSLError` itself, after the TLS alert has been sent.

:func:`listenSSL`, :func:`connectSSL` and :func:`startTLS` are the pieces reactors and TCP
connections use for ``reactor.listenSSL``, ``reactor.connectSSL`` and ``transport.startTLS``.
"""

from __future__ import annotations

import importlib
import ssl
import types
from collections.abc import Callable
from typing import Any

from zope.interface import alsoProvides, implementer, providedBy

from glisten.internet import error, interfaces
from glisten.internet._sslverify import (
    Certificate,
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
)
from glisten.python.failure import Failure

__all__ = [
    "TLSMemoryBIOFactory",
    "TLSMemoryBIOProtocol",
    "connectSSL",
    "listenSSL",
    "startTLS",
]

# One SSL_read returns at most one record (16 KiB); larger sizes only cost allocation time
# (above 128 KiB, an mmap/munmap pair per read).
_READ_SIZE = 65536
_WantRead = ssl.SSLWantReadError
_ZeroReturn = ssl.SSLZeroReturnError
_SSLError = ssl.SSLError


class _ProducerMembrane:
    """
    Stands between the application's producer and the transport below.

    The transport may pause it (its buffer is full) and so may the TLS layer (the handshake is
    not done, so writes would only pile up in memory); the producer runs only when neither does.
    """

    def __init__(self, producer: Any, streaming: bool) -> None:
        self.producer = producer
        self.streaming = streaming
        self._pausedByTransport = False
        self._pausedByHandshake = False
        self._pullWanted = False

    def pauseProducing(self) -> None:
        if not self._pausedByTransport:
            self._pausedByTransport = True
            if not self._pausedByHandshake:
                self.producer.pauseProducing()

    def resumeProducing(self) -> None:
        if not self.streaming:
            if self._pausedByHandshake:
                self._pullWanted = True
            else:
                self.producer.resumeProducing()
            return
        if self._pausedByTransport:
            self._pausedByTransport = False
            if not self._pausedByHandshake:
                self.producer.resumeProducing()

    def stopProducing(self) -> None:
        self.producer.stopProducing()

    def pauseForHandshake(self) -> None:
        if self.streaming:
            self._pausedByHandshake = True
            self.producer.pauseProducing()

    def holdForHandshake(self) -> None:
        self._pausedByHandshake = True
        if self.streaming and not self._pausedByTransport:
            self.producer.pauseProducing()

    def handshakeDone(self) -> None:
        if not self._pausedByHandshake:
            return
        self._pausedByHandshake = False
        if self.streaming:
            if not self._pausedByTransport:
                self.producer.resumeProducing()
        elif self._pullWanted:
            self._pullWanted = False
            self.producer.resumeProducing()


@implementer(
    interfaces.ISSLTransport,
    interfaces.IPushProducer,
    interfaces.IProtocol,
    interfaces.ILoggingContext,
)
class TLSMemoryBIOProtocol:
    """
    One TLS connection over a transport.

    :ivar wrappedProtocol: the application protocol.
    :ivar factory: the :class:`TLSMemoryBIOFactory` that built this.
    :ivar incomingBIO: ciphertext from the transport, read by the TLS connection.
    :ivar outgoingBIO: ciphertext written by the TLS connection, for the transport.
    :ivar transport: the transport below.
    """

    transport: Any = None
    connected = 0
    disconnecting = False

    def __init__(
        self, factory: TLSMemoryBIOFactory, wrappedProtocol: Any, _connectWrapped: bool = True
    ) -> None:
        self.factory = factory
        self.wrappedProtocol = wrappedProtocol
        self._connectWrapped = _connectWrapped
        self.incomingBIO = ssl.MemoryBIO()
        self.outgoingBIO = ssl.MemoryBIO()
        self._tls: ssl.SSLObject | None = None
        self._handshakeDone = False
        self._appSendBuffer: list[bytes] = []
        self._lostTLSConnection = False  # loseConnection/abortConnection was called
        self._shutdownSent = False
        self._receivedCloseNotify = False
        self._writeClosed = False  # loseWriteConnection was called
        self._closeNotifyWanted = False  # ... and close_notify waits for the input to drain
        self._reason: BaseException | None = None
        self._timeoutCall: Any = None
        self._producer: _ProducerMembrane | None = None
        self._peerCertificate: Certificate | None = None
        self._onHandshake: Callable[[], object] | None = None

    # -- IProtocol (from the transport below) -------------------------------------------------

    def logPrefix(self) -> str:
        wrapped = getattr(self.wrappedProtocol, "logPrefix", None)
        name = wrapped() if wrapped is not None else type(self.wrappedProtocol).__name__
        return f"{name} (TLS)"

    def makeConnection(self, transport: Any) -> None:
        """
        Start the handshake over ``transport`` and connect the application protocol.
        """
        self.connected = 1
        self.transport = transport
        self._tls = tls = self.factory._createConnection(self)
        self._bioWrite = self.incomingBIO.write
        # The C-level object under ssl.SSLObject: same methods, one Python frame less per call.
        raw = getattr(tls, "_sslobj", tls)
        self._tlsRead = raw.read
        self._tlsWrite = raw.write
        self._tlsPending = raw.pending
        self._bioRead = self.outgoingBIO.read
        timeout = self.factory.handshakeTimeout
        if timeout is not None:
            self._timeoutCall = self.factory._clock().callLater(timeout, self._handshakeTimedOut)
        if self._connectWrapped:
            self.wrappedProtocol.makeConnection(self)
        if self._reason is None:
            self._continueHandshake()

    def connectionMade(self) -> None:
        """
        Unused: :meth:`makeConnection` does the work.
        """

    def dataReceived(self, data: bytes) -> None:
        """
        Decrypt ``data`` from the transport and deliver the plaintext.
        """
        self._bioWrite(data)
        if not self._handshakeDone:
            if self._reason is not None or not self._continueHandshake():
                return
        read = self._tlsRead
        deliver = self.wrappedProtocol.dataReceived
        incoming = self.incomingBIO
        pending = self._tlsPending
        while not self._lostTLSConnection:
            try:
                plain = read(_READ_SIZE)
            except _WantRead:
                break
            except _ZeroReturn:
                self._closeNotifyReceived()
                return
            except _SSLError as e:
                self._fail(e)
                return
            if not plain:
                # The ssl module reports a received close_notify as an empty read.
                self._closeNotifyReceived()
                return
            deliver(plain)
            if not incoming.pending and not pending():
                # Nothing left to decrypt: skip the read that would raise SSLWantReadError.
                break
        if self._closeNotifyWanted and not self._lostTLSConnection:
            self._sendWriteCloseNotify()
        if self.outgoingBIO.pending and self.transport is not None:
            self.transport.write(self._bioRead())

    def connectionLost(self, reason: Any) -> None:
        """
        The transport is gone: tell the application why, in TLS terms.
        """
        self._cancelTimeout()
        if not self.connected:
            return
        self.connected = 0
        if self._reason is not None:
            reason = Failure(self._reason)
        elif reason.check(error.ConnectionDone) and not (
            self._receivedCloseNotify or self._lostTLSConnection
        ):
            if self._handshakeDone:
                why = "the peer closed the connection without a TLS close_notify"
            else:
                why = "the connection closed during the TLS handshake"
            reason = Failure(error.ConnectionLost(why))
        self.wrappedProtocol.connectionLost(reason)

    # -- handshake ----------------------------------------------------------------------------

    def _continueHandshake(self) -> bool:
        """
        Push the handshake forward.

        :return: True once the handshake is complete.
        """
        tls = self._tls
        assert tls is not None
        try:
            tls.do_handshake()
        except _WantRead:
            self._flush()
            return False
        except _SSLError as e:
            self._fail(e)
            return False
        except OSError as e:
            self._fail(e)
            return False
        self._handshakeDone = True
        self._cancelTimeout()
        if self._onHandshake is not None:
            self._onHandshake()
        if self._appSendBuffer:
            data = b"".join(self._appSendBuffer)
            self._appSendBuffer = []
            self._encrypt(data)
        self._flush()
        listener = self.wrappedProtocol
        if interfaces.IHandshakeListener.providedBy(listener):
            listener.handshakeCompleted()
        if self._producer is not None:
            self._producer.handshakeDone()
        if self._lostTLSConnection and not self._shutdownSent and self.connected:
            self._shutdownTLS()
            return False
        if self._writeClosed and not self._shutdownSent and self.connected:
            self._closeNotifyWanted = True
            if not self.incomingBIO.pending:
                self._sendWriteCloseNotify()
        return self.connected == 1

    def _handshakeTimedOut(self) -> None:
        self._timeoutCall = None
        if self._handshakeDone or not self.connected:
            return
        self._reason = error.TimeoutError(string="TLS handshake timed out")
        self._closeTransport(abort=True)

    def _cancelTimeout(self) -> None:
        if self._timeoutCall is not None:
            call, self._timeoutCall = self._timeoutCall, None
            if call.active():
                call.cancel()

    # -- failures and shutdown ----------------------------------------------------------------

    def _flush(self) -> None:
        if self.outgoingBIO.pending and self.transport is not None:
            self.transport.write(self._bioRead())

    def _fail(self, reason: BaseException) -> None:
        """
        A TLS error: send the alert OpenSSL queued, close, remember why.
        """
        if self._reason is None:
            self._reason = reason
        self._flush()
        self._closeTransport(abort=False)

    def _closeTransport(self, abort: bool) -> None:
        self._lostTLSConnection = True
        self.disconnecting = True
        transport = self.transport
        if abort and hasattr(transport, "abortConnection"):
            transport.abortConnection()
        else:
            transport.loseConnection()

    def _closeNotifyReceived(self) -> None:
        if self._receivedCloseNotify:
            return
        self._receivedCloseNotify = True
        wrapped = self.wrappedProtocol
        if not self._shutdownSent and interfaces.IHalfCloseableProtocol.providedBy(wrapped):
            # The peer's data ended; ours may go on (TCP's half-close, at the TLS layer).
            wrapped.readConnectionLost()
            return
        self._shutdownTLS()

    def _sendWriteCloseNotify(self) -> None:
        """
        End this side's data with close_notify but keep the transport open for reading.

        Only called with no undecrypted input buffered: the second ``SSL_shutdown`` that
        :meth:`ssl.SSLObject.unwrap` makes would consume (and reject) it.
        """
        self._closeNotifyWanted = False
        if self._shutdownSent:
            return
        self._shutdownSent = True
        tls = self._tls
        if tls is not None:
            try:
                tls.unwrap()
            except (_SSLError, OSError):
                # SSLWantReadError: close_notify went out, the peer's has not come yet.
                pass
            self._flush()
        if self._receivedCloseNotify:
            # Both directions are done.
            self._lostTLSConnection = True
            self.disconnecting = True
            self.transport.loseConnection()
            return
        wrapped = self.wrappedProtocol
        if interfaces.IHalfCloseableProtocol.providedBy(wrapped):
            wrapped.writeConnectionLost()

    def _shutdownTLS(self) -> None:
        """
        Send close_notify (once) and close the transport without waiting for the peer's reply,
        which RFC 8446 section 6.1 allows.
        """
        self._lostTLSConnection = True
        self.disconnecting = True
        if not self._shutdownSent:
            self._shutdownSent = True
            tls = self._tls
            if tls is not None and self._handshakeDone:
                try:
                    tls.unwrap()
                except (_SSLError, OSError):
                    pass
                self._flush()
        self.transport.loseConnection()

    # -- ITransport (for the application) -----------------------------------------------------

    def _encrypt(self, data: bytes) -> None:
        try:
            self._tlsWrite(data)
        except _SSLError as e:
            self._fail(e)

    def write(self, data: bytes) -> None:
        """
        Encrypt and send ``data`` (buffered until the handshake completes).
        """
        if self._lostTLSConnection or self._writeClosed or not data:
            return
        if not self._handshakeDone:
            self._appSendBuffer.append(bytes(data))
            producer = self._producer
            if producer is not None and len(self._appSendBuffer) > 16:
                # A producer that resumed itself during the handshake: hold it again.
                producer.pauseForHandshake()
            return
        try:
            self._tlsWrite(data)
        except _SSLError as e:
            self._fail(e)
            return
        self.transport.write(self._bioRead())

    def writeSequence(self, iovec: Any) -> None:
        """
        Send every buffer in ``iovec`` (as one TLS write).
        """
        self.write(b"".join(iovec))

    def loseConnection(self) -> None:
        """
        Close cleanly: flush, send close_notify, then close the transport. If the handshake is
        still running, this happens when it completes (so writes made before it still go out).
        """
        if self._lostTLSConnection or not self.connected:
            return
        self._lostTLSConnection = True
        self.disconnecting = True
        if self._handshakeDone:
            self._shutdownTLS()

    def abortConnection(self) -> None:
        """
        Close the transport at once, discarding buffered data and without close_notify.
        """
        if not self.connected:
            return
        self._lostTLSConnection = True
        self._appSendBuffer = []
        self._closeTransport(abort=True)

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Register ``producer`` with the transport below, held back during the handshake.
        """
        membrane = _ProducerMembrane(producer, streaming)
        self._producer = membrane
        if not self._handshakeDone:
            membrane.holdForHandshake()
        self.transport.registerProducer(membrane, streaming)

    def unregisterProducer(self) -> None:
        if self._producer is None:
            return
        self._producer = None
        self.transport.unregisterProducer()

    def pauseProducing(self) -> None:
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self.transport.stopProducing()

    # -- ISSLTransport --------------------------------------------------------------------------

    def getHandle(self) -> ssl.SSLObject | None:
        """
        :return: the :class:`ssl.SSLObject` (for ``cipher()``, ``get_channel_binding()``...),
            or None before the connection is made.
        """
        return self._tls

    def getPeerCertificate(self) -> Certificate | None:
        """
        :return: the certificate the peer presented, or None (none yet, or none at all).
        """
        if self._peerCertificate is None and self._handshakeDone and self._tls is not None:
            der = self._tls.getpeercert(binary_form=True)
            if der:
                self._peerCertificate = Certificate(der)
        return self._peerCertificate

    @property
    def negotiatedProtocol(self) -> bytes | None:
        """
        The ALPN protocol agreed on, or None (no handshake yet, or no agreement).
        """
        if self._tls is None or not self._handshakeDone:
            return None
        proto = self._tls.selected_alpn_protocol()
        return proto.encode("latin-1") if proto is not None else None

    @property
    def TLSVersion(self) -> str | None:
        """
        The negotiated TLS version (``"TLSv1.3"``), or None before the handshake.
        """
        if self._tls is None or not self._handshakeDone:
            return None
        return self._tls.version()

    def getTcpNoDelay(self) -> bool:
        return bool(self.transport.getTcpNoDelay())

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.transport.setTcpNoDelay(enabled)

    def getTcpKeepAlive(self) -> bool:
        return bool(self.transport.getTcpKeepAlive())

    def setTcpKeepAlive(self, enabled: bool) -> None:
        self.transport.setTcpKeepAlive(enabled)

    def loseWriteConnection(self) -> None:
        """
        Half-close: send close_notify after what was written so far, and keep reading.

        Further writes are dropped. The connection closes when the peer's close_notify
        arrives (or the application calls ``loseConnection``). Before the handshake has
        completed, the close_notify is sent as soon as it does.
        """
        if self._lostTLSConnection or self._writeClosed or not self.connected:
            return
        self._writeClosed = True
        if self._handshakeDone:
            self._closeNotifyWanted = True
            if not self.incomingBIO.pending and not self._tlsPending():
                self._sendWriteCloseNotify()
            # else: dataReceived sends it once the input buffered now is decrypted.


def _contextCreator(contextFactory: Any, isClient: bool) -> Any:
    """
    :return: a function building an :class:`ssl.SSLObject` for a protocol.
    """
    if isClient:
        if IOpenSSLClientConnectionCreator.providedBy(contextFactory):
            return contextFactory.clientConnectionForTLS
    elif IOpenSSLServerConnectionCreator.providedBy(contextFactory):
        return contextFactory.serverConnectionForTLS
    getContext = getattr(contextFactory, "getContext", None)
    if getContext is None:
        raise TypeError(f"{contextFactory!r} is not a TLS context factory")

    def create(tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        ctx: ssl.SSLContext = getContext()
        return ctx.wrap_bio(
            tlsProtocol.incomingBIO, tlsProtocol.outgoingBIO, server_side=not isClient
        )

    return create


@implementer(interfaces.IProtocolFactory, interfaces.ILoggingContext)
class TLSMemoryBIOFactory:
    """
    Wraps the protocols of ``wrappedFactory`` in TLS.

    :ivar wrappedFactory: the application's factory.
    :ivar handshakeTimeout: seconds allowed for the handshake, or None for no limit.
    """

    protocol: type[TLSMemoryBIOProtocol] = TLSMemoryBIOProtocol
    noisy = False

    def __init__(
        self,
        contextFactory: Any,
        isClient: bool,
        wrappedFactory: Any,
        clock: Any = None,
        *,
        handshakeTimeout: float | None = None,
    ) -> None:
        """
        :param contextFactory: for clients an ``IOpenSSLClientConnectionCreator`` (such as
            :func:`glisten.internet.ssl.optionsForClientTLS`), for servers an
            ``IOpenSSLServerConnectionCreator`` (such as ``CertificateOptions``); anything with
            ``getContext()`` returning an :class:`ssl.SSLContext` also works.
        :param isClient: this side starts the handshake.
        :param wrappedFactory: builds the application protocols.
        :param clock: ``IReactorTime`` for the handshake timeout; the global reactor by
            default. (Positional fourth, as in Twisted.)
        :param handshakeTimeout: abort connections whose handshake takes longer (seconds).
        """
        self._connectionCreator = _contextCreator(contextFactory, isClient)
        self.contextFactory = contextFactory
        self._isClient = isClient
        self.wrappedFactory = wrappedFactory
        self.handshakeTimeout = handshakeTimeout
        self._clockArg = clock
        if wrappedFactory is not None and interfaces.IProtocolNegotiationFactory.providedBy(
            wrappedFactory
        ):
            creator = (
                IOpenSSLClientConnectionCreator if isClient else IOpenSSLServerConnectionCreator
            )
            # A server's application factory decides what ALPN offers, as in Twisted (a web
            # site offering h2 behind ssl:... endpoints); a client connection creator keeps
            # its own list (it may be shared by connections to other services).
            if not creator.providedBy(contextFactory) or (
                not isClient and hasattr(contextFactory, "getContext")
            ):
                protocols = wrappedFactory.acceptableProtocols()
                contextFactory.getContext().set_alpn_protocols([p.decode() for p in protocols])

    def _clock(self) -> Any:
        if self._clockArg is None:
            self._clockArg = importlib.import_module("glisten.internet.reactor")
        return self._clockArg

    def _createConnection(self, tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        obj: ssl.SSLObject = self._connectionCreator(tlsProtocol)
        return obj

    def logPrefix(self) -> str:
        wrapped = getattr(self.wrappedFactory, "logPrefix", None)
        name = wrapped() if wrapped is not None else type(self.wrappedFactory).__name__
        return f"{name} (TLS)"

    def buildProtocol(self, addr: Any) -> TLSMemoryBIOProtocol | None:
        """
        :return: a TLS protocol around the wrapped factory's, or None if it refused.
        """
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        return self.protocol(self, wrapped)

    def doStart(self) -> None:
        self.wrappedFactory.doStart()

    def doStop(self) -> None:
        self.wrappedFactory.doStop()

    def startedConnecting(self, connector: Any) -> None:
        self.wrappedFactory.startedConnecting(connector)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionFailed(connector, reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionLost(connector, reason)


def listenSSL(
    reactor: Any,
    port: int,
    factory: Any,
    contextFactory: Any,
    backlog: int = 50,
    interface: str = "",
) -> Any:
    """
    ``reactor.listenSSL``: ``listenTCP`` with every connection wrapped in server-side TLS.
    """
    return reactor.listenTCP(
        port, TLSMemoryBIOFactory(contextFactory, False, factory), backlog, interface
    )


def connectSSL(
    reactor: Any,
    host: str,
    port: int,
    factory: Any,
    contextFactory: Any,
    timeout: float = 30,
    bindAddress: tuple[str, int] | None = None,
) -> Any:
    """
    ``reactor.connectSSL``: ``connectTCP`` with the connection wrapped in client-side TLS.
    """
    return reactor.connectTCP(
        host, port, TLSMemoryBIOFactory(contextFactory, True, factory), timeout, bindAddress
    )


class _RawTransport:
    """
    The plaintext face of a connection that switched to TLS: what the TLS layer writes to.

    Calls go to the connection's class methods, bypassing the instance attributes
    :func:`startTLS` set to route the application's calls through TLS.
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        cls = type(connection)
        self.write = types.MethodType(cls.write, connection)
        self.loseConnection = types.MethodType(cls.loseConnection, connection)
        if hasattr(cls, "abortConnection"):
            self.abortConnection = types.MethodType(cls.abortConnection, connection)
        self.registerProducer = types.MethodType(cls.registerProducer, connection)
        self.unregisterProducer = types.MethodType(cls.unregisterProducer, connection)

    def writeSequence(self, iovec: Any) -> None:
        self.write(b"".join(iovec))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


_REROUTED = (
    "write",
    "writeSequence",
    "loseConnection",
    "abortConnection",
    "registerProducer",
    "unregisterProducer",
    "getPeerCertificate",
    "loseWriteConnection",
)


def startTLS(connection: Any, contextFactory: Any, client: bool) -> TLSMemoryBIOProtocol:
    """
    Switch a live connection to TLS (``ITLSTransport.startTLS``, for STARTTLS protocols).

    The connection keeps being the application's transport: its ``write``, ``loseConnection``
    and producer methods are rerouted (as instance attributes) through a
    :class:`TLSMemoryBIOProtocol` that becomes ``connection.protocol``, and the connection
    starts providing ``ISSLTransport``. Bytes already buffered for writing go out in plain text
    first, as STARTTLS requires.

    :param connection: a connected transport whose ``protocol`` attribute the reactor delivers
        data to (a TCP or Unix connection).
    :param contextFactory: TLS settings, as for :class:`TLSMemoryBIOFactory`.
    :param client: this side starts the handshake.
    :return: the TLS layer.
    """
    appProtocol = connection.protocol
    raw = _RawTransport(connection)
    factory = TLSMemoryBIOFactory(contextFactory, client, None)
    tlsProtocol = TLSMemoryBIOProtocol(factory, appProtocol, _connectWrapped=False)
    connection.protocol = tlsProtocol
    for name in _REROUTED:
        setattr(connection, name, getattr(tlsProtocol, name))
    connection.TLS = True
    connection.negotiatedProtocol = None

    def handshakeDone() -> None:
        connection.negotiatedProtocol = tlsProtocol.negotiatedProtocol

    tlsProtocol._onHandshake = handshakeDone
    if interfaces.ISSLTransport not in providedBy(connection):
        alsoProvides(connection, interfaces.ISSLTransport)
    tlsProtocol.makeConnection(raw)
    return tlsProtocol
