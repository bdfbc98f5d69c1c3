"""
The SSH transport protocols: thin adapters over the sans-IO machine in ``_ssh``.

:class:`SSHServerTransport` and :class:`SSHClientTransport` keep Twisted's API (``sendPacket``,
``setService``, ``sendDisconnect``, ``verifyHostKey``, ``connectionSecure``...). Every protocol
decision is the machine's; these classes move bytes, run services and keep the rekey timer.

Unlike Twisted Conch, both sides use strict key exchange (the Terrapin fix, CVE-2023-48795), cap
the lines before the version (CVE-2022-21716) and do not offer SHA-1 or DSA by default.
"""

from __future__ import annotations

from typing import Any

from glisten.conch._turns import Turns, pauseInput
from glisten.conch._version import __version__
from glisten.conch.ssh._ssh import _events as ev
from glisten.conch.ssh._ssh._certificates import CERT_ALGORITHM_FOR
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_AUTH_CANCELLED_BY_USER,
    DISCONNECT_BY_APPLICATION,
    DISCONNECT_COMPRESSION_ERROR,
    DISCONNECT_CONNECTION_LOST,
    DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
    DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT,
    DISCONNECT_ILLEGAL_USER_NAME,
    DISCONNECT_KEY_EXCHANGE_FAILED,
    DISCONNECT_MAC_ERROR,
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    DISCONNECT_PROTOCOL_ERROR,
    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED,
    DISCONNECT_RESERVED,
    DISCONNECT_SERVICE_NOT_AVAILABLE,
    DISCONNECT_TOO_MANY_CONNECTIONS,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._limits import (
    DEFAULT_CIPHERS,
    DEFAULT_HOST_KEYS,
    DEFAULT_KEX,
    DEFAULT_MACS,
    DEFAULT_PUBLIC_KEY_ALGORITHMS,
    Algorithms,
    Limits,
)
from glisten.conch.ssh._ssh._machine import Phase, SSHTransportMachine
from glisten.conch.ssh.keys import FingerprintFormats, Key
from glisten.internet import protocol
from glisten.internet.defer import Deferred, maybeDeferred
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "DISCONNECT_AUTH_CANCELLED_BY_USER",
    "DISCONNECT_BY_APPLICATION",
    "DISCONNECT_COMPRESSION_ERROR",
    "DISCONNECT_CONNECTION_LOST",
    "DISCONNECT_HOST_KEY_NOT_VERIFIABLE",
    "DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT",
    "DISCONNECT_ILLEGAL_USER_NAME",
    "DISCONNECT_KEY_EXCHANGE_FAILED",
    "DISCONNECT_MAC_ERROR",
    "DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE",
    "DISCONNECT_PROTOCOL_ERROR",
    "DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED",
    "DISCONNECT_RESERVED",
    "DISCONNECT_SERVICE_NOT_AVAILABLE",
    "DISCONNECT_TOO_MANY_CONNECTIONS",
    "Limits",
    "SSHClientTransport",
    "SSHServerTransport",
    "SSHTransportBase",
]

_SIG_ALGS_BY_KEY_TYPE = {
    b"ssh-ed25519": [b"ssh-ed25519"],
    b"ecdsa-sha2-nistp256": [b"ecdsa-sha2-nistp256"],
    b"ecdsa-sha2-nistp384": [b"ecdsa-sha2-nistp384"],
    b"ecdsa-sha2-nistp521": [b"ecdsa-sha2-nistp521"],
    b"ssh-rsa": [b"rsa-sha2-512", b"rsa-sha2-256", b"ssh-rsa"],
}


class SSHTransportBase(protocol.Protocol):
    """
    What both sides share.

    :cvar supportedKeyExchanges: key exchange methods offered, best first.
    :cvar supportedPublicKeys: host key algorithms offered (server: those it has keys for).
    :cvar supportedCiphers: ciphers offered.
    :cvar supportedMACs: MACs offered.
    :cvar limits: the parser and rekey limits.
    :ivar service: the running service.
    :ivar sessionID: the session identifier, after the first key exchange.
    :ivar otherVersionString: the peer's identification line.
    """

    isClient = False
    ourVersionString = b"SSH-2.0-glisten_" + __version__.encode("ascii")
    supportedKeyExchanges: list[bytes] = list(DEFAULT_KEX)
    supportedPublicKeys: list[bytes] = list(DEFAULT_HOST_KEYS)
    supportedCiphers: list[bytes] = list(DEFAULT_CIPHERS)
    supportedMACs: list[bytes] = list(DEFAULT_MACS)
    supportedCompressions: list[bytes] = [b"none"]
    limits = Limits()
    service: Any = None
    otherVersionString: bytes | None = None
    factory: Any = None
    _machine: SSHTransportMachine
    _rekeyCall: Any = None
    _log = Logger()
    #: Packets of one read handled in one go before the connection yields to the others:
    #: reading pauses and the rest wait for the reactor's next turn, so one peer's megabyte
    #: of small packets cannot stall every other connection (issue 29).
    maxPacketsPerTurn = 64
    _turns: Turns | None = None

    @property
    def sessionID(self) -> bytes | None:
        return self._machine.sessionID if hasattr(self, "_machine") else None

    def _algorithms(self) -> Algorithms:
        return Algorithms(
            tuple(self.supportedKeyExchanges),
            tuple(self.supportedPublicKeys),
            tuple(self.supportedCiphers),
            tuple(self.supportedMACs),
            tuple(self.supportedCompressions),
        )

    def _makeMachine(self) -> SSHTransportMachine:
        raise NotImplementedError

    def _reactor(self) -> Any:
        return getReactor(getattr(self.factory, "reactor", None))

    def logPrefix(self) -> str:
        return "SSHClientTransport" if self.isClient else "SSHServerTransport"

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def connectionMade(self) -> None:
        # Packets leave whole, so Nagle's algorithm only delays the small ones (SFTP status
        # replies, window adjusts) behind a delayed ACK: a bulk upload ran at half speed.
        setNoDelay = getattr(self.transport, "setTcpNoDelay", None)
        if setNoDelay is not None:
            try:
                setNoDelay(True)
            except OSError:
                pass
        self._machine = self._makeMachine()
        self._machine.start()
        self._flush()
        self._scheduleRekey()
        # Channel data stops while the network transport's buffer is full (see writePaused).
        register = getattr(self.transport, "registerProducer", None)
        if register is not None:
            try:
                register(self, True)
            except RuntimeError:
                pass  # someone else produces into that transport: no pausing then

    #: Whether the network transport asked us to stop (its write buffer passed its mark):
    #: channels then keep their data, pausing their writers at their high-water mark.
    writePaused = False

    def pauseProducing(self) -> None:
        """The network transport is full: hold channel data back."""
        self.writePaused = True

    def resumeProducing(self) -> None:
        """The network transport drained: let the service send what it holds."""
        self.writePaused = False
        resumed = getattr(self.service, "transportResumed", None)
        if resumed is not None:
            resumed()

    def stopProducing(self) -> None:
        """The network transport is going away; nothing more will be sent."""
        self.writePaused = True

    def _scheduleRekey(self) -> None:
        interval = self.limits.rekeyInterval
        if interval and interval > 0:
            self._rekeyCall = self._reactor().callLater(interval, self._rekeyTimer)

    def _rekeyTimer(self) -> None:
        self._rekeyCall = None
        self.sendKexInit()
        self._scheduleRekey()

    def sendKexInit(self) -> None:
        """Start a new key exchange now (``ssh``'s ``~R``); nothing while one is running."""
        self._machine.startRekey()
        self._flush()

    def _flush(self) -> None:
        data = self._machine.dataToSend()
        if data and self.transport is not None:
            self.transport.write(data)

    #: Whether :meth:`dataReceived` runs: packets sent meanwhile (replies, the data a window
    #: adjust lets out) are written together when it returns, in one write, or once
    #: :attr:`coalesceBytes` wait (so the network transport's flow control still applies).
    _receiving = False
    coalesceBytes = 262144

    def dataReceived(self, data: bytes) -> None:
        self._startTurn()
        self._receiving = True
        try:
            self._handleEvents(self._machine.receiveData(data))
        except SSHProtocolError as e:
            self._protocolError(e)
        finally:
            self._receiving = False
            # Channel data held back during the turn (a packet's short tail) joins this write.
            turnEnded = getattr(self.service, "_receiveTurnEnded", None)
            if turnEnded is not None:
                turnEnded()
            self._flush()
        self._endTurn()

    def _startTurn(self) -> None:
        if self._turns is None or not self._turns.waiting:
            # A new turn (not one cut short and waiting for the next): a fresh budget.
            self._machine.budget = self.maxPacketsPerTurn

    def _endTurn(self) -> None:
        """The budget is spent with packets maybe left: read them on the next turn."""
        machine = self._machine
        if machine.budget == 0 and machine.phase is not Phase.CLOSED and self.transport is not None:
            if self._turns is None:
                self._turns = Turns(self._takeTurn, self._pauseReading)
            self._turns.later(self._reactor())

    def _takeTurn(self) -> None:
        if self.transport is not None and self._machine.phase is not Phase.CLOSED:
            self.dataReceived(b"")

    def _pauseReading(self, paused: bool) -> None:
        # A closed session's reading stays paused: it is being torn down.
        if paused or self._machine.phase is not Phase.CLOSED:
            pauseInput(self.transport, paused)

    def _protocolError(self, e: SSHProtocolError) -> None:
        self._log.info(
            "SSH protocol error from {peer}: {message}", peer=self._peerText(), message=e.message
        )
        self.sendDisconnect(e.reasonCode, e.message.encode("utf-8"))

    def _peerText(self) -> str:
        try:
            return str(self.transport.getPeer())
        except Exception:
            return "?"

    def _handleEvents(self, events: list[Any]) -> None:
        machine = self._machine
        for event in events:
            kind = type(event)
            if machine.phase is Phase.CLOSED and kind is not ev.DisconnectReceived:
                return
            # Service packets are nearly every event: handed on here, without another call.
            if kind is ev.PacketReceived:
                self.service.packetReceived(event.messageType, event.payload)
            else:
                self._handleEvent(event)

    def _handleEvent(self, event: Any) -> None:
        if isinstance(event, ev.VersionReceived):
            self.otherVersionString = event.version
        elif isinstance(event, ev.KeysReady):
            if event.first:
                self.connectionSecure()
        elif isinstance(event, ev.DisconnectReceived):
            self.receiveError(event.reasonCode, event.description)
            if self.transport is not None:
                self.transport.loseConnection()
        elif isinstance(event, ev.UnimplementedReceived):
            self.receiveUnimplemented(event.sequence)
        elif isinstance(event, ev.ExtInfoReceived):
            self.peerExtensions = event.extensions
        else:
            self._handleSideEvent(event)

    def _handleSideEvent(self, event: Any) -> None:
        raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected message")

    # ------------------------------------------------------------------ Twisted's API

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        """Send a service message (held back during a key exchange)."""
        try:
            self._machine.sendPacket(messageType, payload)
        except SSHProtocolError as e:
            self._protocolError(e)
        if not self._receiving or self._machine.pendingBytes() >= self.coalesceBytes:
            self._flush()

    def sendUnimplemented(self) -> None:
        """Tell the peer the last packet was not understood."""
        self._machine.sendUnimplemented()
        self._flush()

    def sendIgnore(self, message: bytes) -> None:
        self._machine.sendIgnore(message)
        self._flush()

    def sendDebug(self, message: bytes, alwaysDisplay: bool = False, language: bytes = b"") -> None:
        self._machine.sendDebug(message.decode("utf-8", "replace"), alwaysDisplay)
        self._flush()

    def sendDisconnect(self, reason: int, desc: bytes | str) -> None:
        """Send DISCONNECT with an RFC 4253 reason code, then close."""
        if isinstance(desc, bytes):
            desc = desc.decode("utf-8", "replace")
        self._machine.sendDisconnect(reason, desc)
        self._flush()
        if self.transport is not None:
            self.transport.loseConnection()

    def loseConnection(self) -> None:
        """Close politely (DISCONNECT_BY_APPLICATION)."""
        self.sendDisconnect(DISCONNECT_BY_APPLICATION, b"user closed connection")

    def setService(self, service: Any) -> None:
        """Make ``service`` the running service."""
        if self.service is not None:
            self.service.serviceStopped()
        self.service = service
        service.transport = self
        self._machine.setService(service.name)
        service.serviceStarted()

    def isEncrypted(self, direction: str = "out") -> bool:
        """Whether ``"in"``, ``"out"`` or ``"both"`` directions are encrypted."""
        m = self._machine
        if direction == "out":
            return m.outgoingCipher is not None
        if direction == "in":
            return m.incomingCipher is not None
        return m.outgoingCipher is not None and m.incomingCipher is not None

    def isVerified(self, direction: str = "out") -> bool:
        """Whether messages are authenticated; with AEAD or a MAC, same as :meth:`isEncrypted`."""
        return self.isEncrypted(direction)

    def receiveError(self, reasonCode: int, description: bytes) -> None:
        """The peer disconnected with this reason (logged)."""
        self._log.info("SSH peer disconnected, reason {code}", code=reasonCode)

    def receiveUnimplemented(self, seqnum: int) -> None:
        """The peer did not understand one of our packets."""

    def connectionSecure(self) -> None:
        """The first key exchange finished."""

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self._rekeyCall is not None and self._rekeyCall.active():
            self._rekeyCall.cancel()
        self._rekeyCall = None
        if self._turns is not None:
            self._turns.cancel()
        if self.service is not None:
            service, self.service = self.service, None
            service.serviceStopped()
        logout = getattr(self, "logoutFunction", None)
        if logout is not None:
            self.logoutFunction = None
            logout()


class SSHServerTransport(SSHTransportBase):
    """
    The server side; its factory (an :class:`~glisten.conch.ssh.factory.SSHFactory`) gives host
    keys, services and the portal.

    :cvar supportedPublicKeySignatures: what ``publickey`` authentication accepts, announced
        through ``server-sig-algs``.
    """

    isClient = False
    supportedPublicKeySignatures: list[bytes] = list(DEFAULT_PUBLIC_KEY_ALGORITHMS)
    #: Seconds a client has to log in (OpenSSH's LoginGraceTime); 0 for no limit.
    loginTimeout = 120.0
    avatar: Any = None
    _loginCall: Any = None

    def connectionMade(self) -> None:
        super().connectionMade()
        if self.loginTimeout:
            self._loginCall = self._reactor().callLater(self.loginTimeout, self._loginTimedOut)

    def _loginTimedOut(self) -> None:
        self._loginCall = None
        if self.avatar is None:
            self.sendDisconnect(DISCONNECT_BY_APPLICATION, b"login time exceeded")

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self._loginCall is not None and self._loginCall.active():
            self._loginCall.cancel()
        self._loginCall = None
        super().connectionLost(reason)

    def _makeMachine(self) -> SSHTransportMachine:
        privateKeys: dict[bytes, Key] = self.factory.getPrivateKeys()
        byAlg: dict[bytes, Key] = {}
        for keyType, key in privateKeys.items():
            if key.certificate is not None:
                # A host certificate (under its certificate type): its certificate algorithms.
                for alg in key.supportedSignatureAlgorithms():
                    byAlg[alg] = key
                continue
            for alg in _SIG_ALGS_BY_KEY_TYPE.get(keyType, [keyType]):
                byAlg[alg] = key
        offered = [a for a in self.supportedPublicKeys if a in byAlg]
        # Certificate algorithms first, as OpenSSH; each only when its plain one is offered.
        offered = [
            CERT_ALGORITHM_FOR[a] for a in offered if CERT_ALGORITHM_FOR.get(a) in byAlg
        ] + offered
        algorithms = Algorithms(
            tuple(self.supportedKeyExchanges),
            tuple(offered),
            tuple(self.supportedCiphers),
            tuple(self.supportedMACs),
            tuple(self.supportedCompressions),
        )
        return SSHTransportMachine(
            False,
            byAlg,
            version=self.ourVersionString,
            algorithms=algorithms,
            limits=self.limits,
            serverSigAlgs=tuple(self.supportedPublicKeySignatures),
            gexGroups=self.factory.getPrimes() or None,
        )

    def _handleSideEvent(self, event: Any) -> None:
        if isinstance(event, ev.ServiceRequested):
            # One request per connection: a second ssh-userauth would reset the attempt count,
            # and services after authentication are started by ssh-userauth itself.
            if self.service is not None:
                raise SSHProtocolError(DISCONNECT_SERVICE_NOT_AVAILABLE, "service already running")
            serviceClass = self.factory.getService(self, event.name)
            if serviceClass is None:
                raise SSHProtocolError(DISCONNECT_SERVICE_NOT_AVAILABLE, "service not available")
            self._machine.acceptService(event.name)
            self.setService(serviceClass())
            return
        super()._handleSideEvent(event)


class SSHClientTransport(SSHTransportBase):
    """
    The client side. Subclasses override :meth:`verifyHostKey` and :meth:`connectionSecure`
    (which usually calls :meth:`requestService` with a user authentication client).
    """

    isClient = True
    _pendingService: Any = None
    peerExtensions: dict[bytes, bytes] = {}

    def _makeMachine(self) -> SSHTransportMachine:
        return SSHTransportMachine(
            True,
            version=self.ourVersionString,
            algorithms=self._algorithms(),
            limits=self.limits,
        )

    def _handleSideEvent(self, event: Any) -> None:
        if isinstance(event, ev.HostKeyReceived):
            key: Key = event.key
            fingerprint = key.fingerprint(FingerprintFormats.MD5_HEX).encode("ascii")
            d: Deferred[Any] = maybeDeferred(self.verifyHostKey, key.blob(), fingerprint)
            d.addCallbacks(self._hostKeyAccepted, self._hostKeyRefused)
            return
        if isinstance(event, ev.ServiceAccepted):
            service, self._pendingService = self._pendingService, None
            if service is not None:
                self.setService(service)
            return
        super()._handleSideEvent(event)

    def _hostKeyAccepted(self, _: Any) -> None:
        if self._machine.phase is Phase.CLOSED:
            return
        self._startTurn()
        try:
            self._handleEvents(self._machine.acceptHostKey())
        except SSHProtocolError as e:
            self._protocolError(e)
        self._flush()
        self._endTurn()

    def _hostKeyRefused(self, reason: Failure) -> None:
        self._log.info("host key rejected: {reason}", reason=reason.getErrorMessage())
        self.sendDisconnect(DISCONNECT_HOST_KEY_NOT_VERIFIABLE, b"bad host key")

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
        """
        Decide whether to trust the server's host key.

        :param hostKey: the key blob.
        :param fingerprint: its MD5 fingerprint (``aa:bb:...``), as Twisted passes it.
        :return: a Deferred firing to accept, failing to refuse. The default refuses: a client
            must check keys (see :mod:`glisten.conch.client.knownhosts`).
        """
        from glisten.internet.defer import fail

        return fail(Failure(Exception("host key verification not implemented by this client")))

    def requestService(self, instance: Any) -> None:
        """Ask for ``instance``'s service; it runs once the server accepts."""
        self._pendingService = instance
        self._machine.requestService(instance.name)
        self._flush()
