"""
The SSH transport state machine (RFC 4253) for both sides.

Bytes go in through :meth:`SSHTransportMachine.receiveData`, which returns events; everything
to send collects in :meth:`SSHTransportMachine.dataToSend`. It does the version exchange (with
line length and count limits), algorithm negotiation, the key exchange, NEWKEYS, rekeying,
service requests and DISCONNECT. Strict key exchange (``kex-strict-*-v00@openssh.com``, the
Terrapin fix) is offered and enforced on both sides: during the first exchange only key exchange
messages are allowed, and sequence numbers restart at every NEWKEYS.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Sequence
from typing import Any

from glisten.conch.ssh._ssh import _events as ev
from glisten.conch.ssh._ssh._certificates import (
    CERT_SIGNATURE_ALGORITHMS,
    CERT_TYPE_FOR_KEY,
    plainAlgorithm,
)
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
    DISCONNECT_KEY_EXCHANGE_FAILED,
    DISCONNECT_PROTOCOL_ERROR,
    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED,
    DecodeError,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._kex import (
    KEX_METHODS,
    DHGroupExchangeSHA256,
    Groups,
    KexMethod,
    deriveKey,
)
from glisten.conch.ssh._ssh._limits import Algorithms, Limits
from glisten.conch.ssh._ssh._packets import (
    CIPHERS,
    MACS,
    DirectionKeys,
    PacketReader,
    PacketWriter,
)
from glisten.conch.ssh._ssh._wire import Reader, boolean, nameList, string, uint32

MSG_DISCONNECT = 1
MSG_IGNORE = 2
MSG_UNIMPLEMENTED = 3
MSG_DEBUG = 4
MSG_SERVICE_REQUEST = 5
MSG_SERVICE_ACCEPT = 6
MSG_EXT_INFO = 7
MSG_KEXINIT = 20
MSG_NEWKEYS = 21
MSG_KEX_INIT = 30
MSG_KEX_REPLY = 31
MSG_KEX_DH_GEX_GROUP = 31
MSG_KEX_DH_GEX_INIT = 32
MSG_KEX_DH_GEX_REPLY = 33
MSG_KEX_DH_GEX_REQUEST = 34

STRICT_CLIENT = b"kex-strict-c-v00@openssh.com"
STRICT_SERVER = b"kex-strict-s-v00@openssh.com"
EXT_INFO_CLIENT = b"ext-info-c"
EXT_INFO_SERVER = b"ext-info-s"
_MARKERS = {STRICT_CLIENT, STRICT_SERVER, EXT_INFO_CLIENT, EXT_INFO_SERVER}

_RSA_SIGS = {b"rsa-sha2-256", b"rsa-sha2-512", b"ssh-rsa"}
_BYTES = [bytes((i,)) for i in range(256)]


class Phase(enum.Enum):
    """Where the transport is."""

    VERSION = "version"
    KEX = "kex"
    OPEN = "open"
    CLOSED = "closed"


def _keyTypeFor(algorithm: bytes) -> bytes:
    plain = CERT_SIGNATURE_ALGORITHMS.get(algorithm)
    if plain is not None:
        return CERT_TYPE_FOR_KEY[_keyTypeFor(plain)]
    return b"ssh-rsa" if algorithm in _RSA_SIGS else algorithm


def negotiate(client: Sequence[bytes], server: Sequence[bytes], what: str) -> bytes:
    """
    The first of the client's algorithms the server also offers (RFC 4253 section 7.1).

    :raises SSHProtocolError: none in common.
    """
    offered = set(server)
    for name in client:
        if name in offered and name not in _MARKERS:
            return name
    raise SSHProtocolError(DISCONNECT_KEY_EXCHANGE_FAILED, f"no matching {what} algorithm")


_KEXINIT_BYTE = bytes((MSG_KEXINIT,))


@functools.lru_cache(maxsize=64)
def _kexInitLists(
    kex: tuple[bytes, ...],
    hostKeys: tuple[bytes, ...],
    ciphers: tuple[bytes, ...],
    macs: tuple[bytes, ...],
    compressions: tuple[bytes, ...],
) -> tuple[tuple[tuple[bytes, ...], ...], bytes]:
    """
    The ten name-lists of a KEXINIT and their encoding after the cookie (with the
    ``first_kex_packet_follows`` flag and the reserved field): every connection of a
    server offers the same lists, so they are encoded once, not once per handshake.
    """
    lists = (kex, hostKeys, ciphers, ciphers, macs, macs, compressions, compressions, (), ())
    encoded = b"".join(nameList(names) for names in lists) + boolean(False) + uint32(0)
    return lists, encoded


class SSHTransportMachine:
    """
    One side of an SSH transport.

    :param isClient: which side this is.
    :param hostKeys: server only: private :class:`~glisten.conch.ssh.keys.Key` objects by
        host key algorithm name (``b"rsa-sha2-256"`` and ``b"rsa-sha2-512"`` may share a key).
    :param version: our identification line, without CR LF.
    :param algorithms: what to offer.
    :param limits: what to accept.
    :param serverSigAlgs: server only: the ``server-sig-algs`` announced through ``ext-info``.
    :param keyParser: turns a host key blob into a key object with ``verify`` and ``sshType``
        (client only; :meth:`glisten.conch.ssh.keys.Key._fromBlob` by default).
    :param gexGroups: server only: the group exchange groups (size in bits to
        ``(generator, prime)`` pairs); RFC 3526's by default.
    :ivar budget: packets :meth:`receiveData` may still read before it stops and keeps the
        rest buffered (``None``: no bound). An adapter sets it once per turn of its event
        loop, so one peer's megabyte of small packets cannot stall other connections.
    """

    # Slotted: a connection's machine is made per handshake, and some forty attributes in
    # a dict cost its growth and lookups.
    __slots__ = (
        "_awaitingHostKey",
        "_firstPacket",
        "_hostKeyData",
        "_ignoreNextKexPacket",
        "_kex",
        "_kexCount",
        "_keyParser",
        "_nextIn",
        "_nextOut",
        "_offeredHostKeys",
        "_ourKexInit",
        "_ourLists",
        "_out",
        "_peerKexInit",
        "_pendingKeys",
        "_queued",
        "_reader",
        "_receivedNewKeys",
        "_requestedService",
        "_sentNewKeys",
        "_started",
        "_taken",
        "_versionBuffer",
        "_versionLines",
        "_writer",
        "algorithms",
        "budget",
        "gexGroups",
        "hostKeyAlg",
        "hostKeys",
        "incomingCipher",
        "incomingMAC",
        "isClient",
        "kexAlg",
        "limits",
        "ourVersion",
        "outgoingCipher",
        "outgoingMAC",
        "peerExtInfo",
        "peerVersion",
        "phase",
        "serverSigAlgs",
        "service",
        "sessionID",
        "strictKex",
    )

    def __init__(
        self,
        isClient: bool,
        hostKeys: dict[bytes, Any] | None = None,
        version: bytes = b"SSH-2.0-glisten",
        algorithms: Algorithms | None = None,
        limits: Limits | None = None,
        serverSigAlgs: tuple[bytes, ...] = (),
        keyParser: Any = None,
        gexGroups: Groups | None = None,
    ) -> None:
        self.budget: int | None = None
        self.isClient = isClient
        self.hostKeys = dict(hostKeys or {})
        self.ourVersion = version
        self.algorithms = algorithms or Algorithms()
        if not isClient:
            hostAlgs = tuple(a for a in self.algorithms.hostKeys if a in self.hostKeys)
            if not hostAlgs:
                raise ValueError("a server needs a host key for an offered algorithm")
            self._offeredHostKeys = hostAlgs
        else:
            self._offeredHostKeys = self.algorithms.hostKeys
        self.limits = limits or Limits()
        self.serverSigAlgs = serverSigAlgs
        self.gexGroups = gexGroups
        if keyParser is None:
            from glisten.conch.ssh.keys import Key

            keyParser = Key._fromBlob
        self._keyParser = keyParser
        self.phase = Phase.VERSION
        self.peerVersion: bytes | None = None
        self.sessionID: bytes | None = None
        self.strictKex = False
        self.peerExtInfo = False
        self.kexAlg: bytes | None = None
        self.hostKeyAlg: bytes | None = None
        self.outgoingCipher: bytes | None = None
        self.incomingCipher: bytes | None = None
        self.outgoingMAC: bytes | None = None
        self.incomingMAC: bytes | None = None
        self.service: bytes | None = None
        self._requestedService: bytes | None = None
        self._out: list[bytes] = []
        self._taken = 0
        self._reader = PacketReader(self.limits.maxPacketSize)
        self._writer = PacketWriter()
        self._versionBuffer = bytearray()
        self._versionLines = 0
        self._started = False
        # key exchange state
        self._ourKexInit: bytes | None = None
        self._ourLists: tuple[tuple[bytes, ...], ...] = ()
        self._peerKexInit: bytes | None = None
        self._kex: KexMethod | None = None
        self._kexCount = 0
        self._ignoreNextKexPacket = False
        self._pendingKeys: tuple[DirectionKeys, DirectionKeys] | None = None
        self._sentNewKeys = False
        self._receivedNewKeys = False
        self._awaitingHostKey = False
        self._hostKeyData: tuple[bytes, bytes] | None = None
        self._queued: list[bytes] = []
        self._firstPacket = True

    # ------------------------------------------------------------------ output

    def dataToSend(self) -> bytes:
        """Return and forget everything waiting to be written."""
        out = b"".join(self._out)
        self._out.clear()
        self._taken = self._writer.bytesEncoded
        return out

    def pendingBytes(self) -> int:
        """How many bytes of packets wait in :meth:`dataToSend`."""
        return self._writer.bytesEncoded - self._taken

    def _sendRaw(self, payload: bytes) -> None:
        self._writer.encodeInto(self._out, (payload,))

    def _kexRunning(self) -> bool:
        return self._ourKexInit is not None

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        """
        Send a service message (number 50 and above); held back while a key exchange runs.

        :raises SSHProtocolError: too many packets are held back.
        """
        phase = self.phase
        if phase is Phase.CLOSED:
            return
        if self._ourKexInit is not None or phase is not Phase.OPEN:
            if len(self._queued) >= self.limits.maxQueuedPackets:
                raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "too many packets held back")
            self._queued.append(_BYTES[messageType] + payload)
            return
        # The message number goes in as its own piece: the payload is not copied to prefix it.
        writer = self._writer
        writer.encodeInto(self._out, (_BYTES[messageType], payload))
        limit = self.limits.rekeyBytes
        if writer.bytesSent > limit or self._reader.bytesReceived > limit:
            self._sendKexInit()

    def start(self) -> None:
        """Send our identification line and first KEXINIT."""
        if self._started:
            return
        self._started = True
        self._out.append(self.ourVersion + b"\r\n")
        self._sendKexInit()

    def sendDisconnect(self, reasonCode: int, description: str) -> None:
        """Send DISCONNECT; the machine then ignores all input."""
        if self.phase is Phase.CLOSED:
            return
        if self._started:
            self._sendRaw(
                bytes((MSG_DISCONNECT,))
                + uint32(reasonCode)
                + string(description.encode("utf-8"))
                + string(b"")
            )
        self.phase = Phase.CLOSED

    def sendIgnore(self, data: bytes = b"") -> None:
        """Send an SSH_MSG_IGNORE (not during the first strict key exchange)."""
        if self.phase is Phase.OPEN:
            self._sendRaw(bytes((MSG_IGNORE,)) + string(data))

    def sendDebug(self, message: str, alwaysDisplay: bool = False) -> None:
        """Send an SSH_MSG_DEBUG."""
        if self.phase is Phase.OPEN:
            self._sendRaw(
                bytes((MSG_DEBUG,))
                + boolean(alwaysDisplay)
                + string(message.encode("utf-8"))
                + string(b"")
            )

    def sendUnimplemented(self) -> None:
        """Tell the peer the last packet received was not understood."""
        seq = (self._reader.sequence - 1) & 0xFFFFFFFF
        self._sendRaw(bytes((MSG_UNIMPLEMENTED,)) + uint32(seq))

    def requestService(self, name: bytes) -> None:
        """Client: ask for a service (``ssh-userauth``, then the auth layer asks for more)."""
        self._requestedService = name
        self._sendTransport(bytes((MSG_SERVICE_REQUEST,)) + string(name))

    def acceptService(self, name: bytes) -> None:
        """Server: start the service the client asked for."""
        self.service = name
        self._sendTransport(bytes((MSG_SERVICE_ACCEPT,)) + string(name))

    def setService(self, name: bytes) -> None:
        """Switch to another service without a request (ssh-userauth hands over this way)."""
        self.service = name

    def _sendTransport(self, data: bytes) -> None:
        # Service requests are not key exchange messages: hold them during a re-exchange.
        if self._kexRunning() or self.phase is not Phase.OPEN:
            self._queued.append(data)
        else:
            self._sendRaw(data)

    def startRekey(self) -> None:
        """Begin a new key exchange (no-op if one is already running)."""
        if self.phase is Phase.OPEN and not self._kexRunning():
            self._sendKexInit()

    def needsRekey(self) -> bool:
        """Whether enough data passed under the current keys to renew them."""
        limit = self.limits.rekeyBytes
        return self._writer.bytesSent > limit or self._reader.bytesReceived > limit

    def _maybeRekey(self) -> None:
        if self.phase is Phase.OPEN and not self._kexRunning() and self.needsRekey():
            self._sendKexInit()

    # ------------------------------------------------------------------ KEXINIT

    def _sendKexInit(self) -> None:
        a = self.algorithms
        markers: tuple[bytes, ...] = ()
        if self._kexCount == 0:
            markers = (
                (EXT_INFO_CLIENT, STRICT_CLIENT)
                if self.isClient
                else (EXT_INFO_SERVER, STRICT_SERVER)
            )
        lists, encoded = _kexInitLists(
            # Methods this build cannot run (ML-KEM without it in cryptography) are not offered.
            tuple(name for name in a.kex if name in KEX_METHODS) + markers,
            tuple(self._offeredHostKeys),
            tuple(a.ciphers),
            tuple(a.macs),
            tuple(a.compressions),
        )
        payload = _KEXINIT_BYTE + os.urandom(16) + encoded
        self._ourKexInit = payload
        self._ourLists = lists
        self._sentNewKeys = False
        self._receivedNewKeys = False
        self._sendRaw(payload)

    def _handleKexInit(self, payload: bytes) -> None:
        if self._peerKexInit is not None:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "KEXINIT during key exchange")
        r = Reader(payload, 1)
        r.raw(16)
        lists = r.nameLists(10)
        follows = r.boolean()
        r.uint32()
        r.done()
        if not self._kexRunning():
            self._sendKexInit()
        assert self._ourKexInit is not None
        self._peerKexInit = payload
        mine: Sequence[Sequence[bytes]] = self._ourLists
        client, server = (mine, lists) if self.isClient else (lists, mine)
        if self._kexCount == 0:
            if self.isClient:
                self.strictKex = STRICT_SERVER in server[0]
                self.peerExtInfo = EXT_INFO_SERVER in server[0]
            else:
                self.strictKex = STRICT_CLIENT in client[0]
                self.peerExtInfo = EXT_INFO_CLIENT in client[0]
            if self.strictKex and self._reader.sequence != 1:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_ERROR, "strict kex: KEXINIT was not the first packet"
                )
        kexAlg = negotiate(client[0], server[0], "key exchange")
        # Only host key algorithms the server has a key for (client lists are preference).
        hostAlg = negotiate(client[1], server[1], "host key")
        c2s = negotiate(client[2], server[2], "cipher")
        s2c = negotiate(client[3], server[3], "cipher")
        c2sMac = self._negotiateMAC(c2s, client[4], server[4])
        s2cMac = self._negotiateMAC(s2c, client[5], server[5])
        negotiate(client[6], server[6], "compression")
        negotiate(client[7], server[7], "compression")
        if follows:
            guessRight = (
                lists[0][:1] == [kexAlg] and lists[1][:1] == [hostAlg]
                if lists[0] and lists[1]
                else False
            )
            self._ignoreNextKexPacket = not guessRight
        self.kexAlg = kexAlg
        self.hostKeyAlg = hostAlg
        if self.isClient:
            self._nextOut = (c2s, c2sMac)
            self._nextIn = (s2c, s2cMac)
        else:
            self._nextOut = (s2c, s2cMac)
            self._nextIn = (c2s, c2sMac)
        self._kex = KEX_METHODS[kexAlg]()
        if self.isClient and isinstance(self._kex, DHGroupExchangeSHA256):
            limits = self.limits
            body = self._kex.request(limits.gexMinBits, limits.gexPreferredBits, limits.gexMaxBits)
            self._sendRaw(bytes((MSG_KEX_DH_GEX_REQUEST,)) + body)
        elif self.isClient:
            self._sendRaw(bytes((MSG_KEX_INIT,)) + self._kex.localField)

    def _negotiateMAC(
        self, cipher: bytes, client: Sequence[bytes], server: Sequence[bytes]
    ) -> bytes | None:
        if CIPHERS[cipher].kind in ("gcm", "chacha"):
            return None
        return negotiate(client, server, "MAC")

    # ------------------------------------------------------------------ exchange

    def _exchangeHash(
        self, hostKeyBlob: bytes, clientField: bytes, serverField: bytes, k: bytes
    ) -> bytes:
        assert self._kex is not None and self._ourKexInit is not None
        assert self._peerKexInit is not None and self.peerVersion is not None
        if self.isClient:
            vc, vs, ic, is_ = self.ourVersion, self.peerVersion, self._ourKexInit, self._peerKexInit
        else:
            vc, vs, ic, is_ = self.peerVersion, self.ourVersion, self._peerKexInit, self._ourKexInit
        # One join: the two KEXINITs are most of these bytes, and a chain of ``+`` copied
        # them once per term.
        data = b"".join(
            (
                uint32(len(vc)),
                vc,
                uint32(len(vs)),
                vs,
                uint32(len(ic)),
                ic,
                uint32(len(is_)),
                is_,
                uint32(len(hostKeyBlob)),
                hostKeyBlob,
                self._kex.hashPrefix,
                clientField,
                serverField,
                k,
            )
        )
        return bytes(self._kex.hashFunc(data).digest())

    def _deriveKeys(self, k: bytes, h: bytes) -> None:
        assert self._kex is not None
        if self.sessionID is None:
            self.sessionID = h
        sid = self.sessionID
        hf = self._kex.hashFunc

        def make(cipherMac: tuple[bytes, bytes | None], letters: bytes) -> DirectionKeys:
            cipher, mac = cipherMac
            spec = CIPHERS[cipher]
            macSize = MACS[mac].keySize if mac else 0
            return DirectionKeys(
                cipher,
                mac,
                deriveKey(hf, k, h, letters[2:3], sid, spec.keySize),
                deriveKey(hf, k, h, letters[0:1], sid, spec.ivSize) if spec.ivSize else b"",
                deriveKey(hf, k, h, letters[4:5], sid, macSize) if macSize else b"",
            )

        ours, theirs = (b"A?C?E", b"B?D?F") if self.isClient else (b"B?D?F", b"A?C?E")
        self._pendingKeys = (make(self._nextOut, ours), make(self._nextIn, theirs))

    def _handleKexInitMessage(self, payload: bytes, replyType: int = MSG_KEX_REPLY) -> None:
        """Server: the client's ephemeral key."""
        if self.isClient or self._kex is None or self._pendingKeys is not None:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected key exchange message")
        r = Reader(payload, 1)
        clientField, k = self._kex.readPeer(r)
        r.done()
        assert self.hostKeyAlg is not None
        hostKey = self.hostKeys[self.hostKeyAlg]
        blob = hostKey.blob()
        serverField = self._kex.localField
        h = self._exchangeHash(blob, clientField, serverField, k)
        sig = hostKey.sign(h, self.hostKeyAlg)
        self._deriveKeys(k, h)
        self._sendRaw(bytes((replyType,)) + string(blob) + serverField + string(sig))
        self._sendNewKeys()

    def _handleGroupExchange(
        self, msg: int, payload: bytes, kex: DHGroupExchangeSHA256
    ) -> list[Any]:
        """RFC 4419's messages: request and group, then the exchange in that group."""
        if msg == MSG_KEX_DH_GEX_REQUEST and not self.isClient:
            limits = self.limits
            body = kex.readRequest(
                Reader(payload, 1), limits.gexMinBits, limits.gexMaxBits, self.gexGroups
            )
            self._sendRaw(bytes((MSG_KEX_DH_GEX_GROUP,)) + body)
            return []
        if msg == MSG_KEX_DH_GEX_GROUP and self.isClient:
            kex.readGroup(Reader(payload, 1))
            self._sendRaw(bytes((MSG_KEX_DH_GEX_INIT,)) + kex.localField)
            return []
        if msg == MSG_KEX_DH_GEX_INIT and not self.isClient and kex.prime:
            self._handleKexInitMessage(payload, MSG_KEX_DH_GEX_REPLY)
            return []
        if msg == MSG_KEX_DH_GEX_REPLY and self.isClient and kex.prime:
            return self._handleKexReply(payload)
        raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected key exchange message")

    def _handleKexReply(self, payload: bytes) -> list[Any]:
        """Client: the server's ephemeral key, host key and signature."""
        if not self.isClient or self._kex is None or self._pendingKeys is not None:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected key exchange message")
        r = Reader(payload, 1)
        blob = r.string()
        serverField, k = self._kex.readPeer(r)
        sig = r.string()
        r.done()
        assert self.hostKeyAlg is not None
        try:
            key = self._keyParser(blob)
        except Exception:
            raise SSHProtocolError(
                DISCONNECT_HOST_KEY_NOT_VERIFIABLE, "unusable server host key"
            ) from None
        if key.sshType() != _keyTypeFor(self.hostKeyAlg):
            raise SSHProtocolError(DISCONNECT_HOST_KEY_NOT_VERIFIABLE, "host key type mismatch")
        try:
            sigAlg = Reader(sig).string()
        except DecodeError:
            sigAlg = b""
        h = self._exchangeHash(blob, self._kex.localField, serverField, k)
        # A host certificate's signature names the plain algorithm.
        if sigAlg != plainAlgorithm(self.hostKeyAlg) or not key.verify(sig, h):
            raise SSHProtocolError(DISCONNECT_KEY_EXCHANGE_FAILED, "bad host key signature")
        self._deriveKeys(k, h)
        if self._kexCount > 0 and self._hostKeyData is not None and self._hostKeyData[0] != blob:
            raise SSHProtocolError(DISCONNECT_HOST_KEY_NOT_VERIFIABLE, "host key changed in rekey")
        self._hostKeyData = (blob, h)
        if self._kexCount > 0:
            self._sendNewKeys()
            return []
        self._awaitingHostKey = True
        return [ev.HostKeyReceived(key)]

    def acceptHostKey(self) -> list[Any]:
        """Client: the host key is trusted; finish the exchange and read on."""
        if not self._awaitingHostKey:
            return []
        self._awaitingHostKey = False
        self._sendNewKeys()
        return self.receiveData(b"")

    def _sendNewKeys(self) -> None:
        assert self._pendingKeys is not None
        self._sendRaw(bytes((MSG_NEWKEYS,)))
        self._writer.setKeys(self._pendingKeys[0])
        if self.strictKex:
            self._writer.sequence = 0
        self.outgoingCipher, self.outgoingMAC = self._nextOut
        self._sentNewKeys = True
        if not self.isClient and self._kexCount == 0 and self.peerExtInfo:
            self._sendExtInfo()
        self._maybeFinishKex()

    def _sendExtInfo(self) -> None:
        if not self.serverSigAlgs:
            return
        self._sendRaw(
            bytes((MSG_EXT_INFO,))
            + uint32(1)
            + string(b"server-sig-algs")
            + string(b",".join(self.serverSigAlgs))
        )

    def _handleNewKeys(self, payload: bytes) -> list[Any]:
        if len(payload) != 1 or self._pendingKeys is None or self._receivedNewKeys:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected NEWKEYS")
        if self.isClient and not self._sentNewKeys and self._awaitingHostKey:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected NEWKEYS")
        self._reader.setKeys(self._pendingKeys[1])
        if self.strictKex:
            self._reader.sequence = 0
        self.incomingCipher, self.incomingMAC = self._nextIn
        self._receivedNewKeys = True
        return self._maybeFinishKex()

    def _maybeFinishKex(self) -> list[Any]:
        if not (self._sentNewKeys and self._receivedNewKeys):
            return []
        first = self._kexCount == 0
        self._kexCount += 1
        self._ourKexInit = None
        self._peerKexInit = None
        self._kex = None
        self._pendingKeys = None
        self._ignoreNextKexPacket = False
        self.phase = Phase.OPEN
        queued, self._queued = self._queued, []
        for data in queued:
            self._sendRaw(data)
        return [ev.KeysReady(first)]

    # ------------------------------------------------------------------ input

    def receiveData(self, data: bytes) -> list[Any]:
        """
        Consume received bytes.

        :return: the events they make.
        :raises SSHProtocolError: the peer broke the protocol; send
            :meth:`sendDisconnect` with its ``reasonCode`` and close.
        """
        if self.phase is Phase.CLOSED:
            return []
        events: list[Any] = []
        if self.phase is Phase.VERSION:
            self._versionBuffer += data
            version = self._readVersion()
            if version is None:
                return events
            events.append(ev.VersionReceived(version))
            rest = bytes(self._versionBuffer)
            self._versionBuffer = bytearray()
            self._reader.feed(rest)
            self.phase = Phase.KEX
            if not self._started:
                self.start()
        elif data:
            self._reader.feed(data)
        reader = self._reader
        while self.phase is not Phase.CLOSED and not self._awaitingHostKey and self.budget != 0:
            packet = reader.next()
            if packet is None:
                break
            if self.budget is not None:
                self.budget -= 1
            event = self._dispatch(*packet)
            if type(event) is list:
                events.extend(event)
            elif event is not None:
                events.append(event)
        self._maybeRekey()
        return events

    def _readVersion(self) -> bytes | None:
        buf = self._versionBuffer
        limit = self.limits.maxVersionLineLength
        while True:
            end = buf.find(b"\n", 0, limit + 1)
            if end < 0:
                if len(buf) > limit:
                    raise SSHProtocolError(
                        DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED, "identification line too long"
                    )
                return None
            line = bytes(buf[:end])
            del buf[: end + 1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.startswith(b"SSH-"):
                if not (line.startswith(b"SSH-2.0-") or line.startswith(b"SSH-1.99-")):
                    raise SSHProtocolError(
                        DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED, "protocol version not supported"
                    )
                if b"\x00" in line:
                    raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad identification line")
                self.peerVersion = line
                return line
            if not self.isClient:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED, "no SSH identification line"
                )
            self._versionLines += 1
            if self._versionLines > self.limits.maxVersionLines:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED,
                    "too many lines before identification",
                )

    def _dispatch(self, msg: int, rest: bytes) -> Any:
        """
        Handle one packet: message number ``msg`` and the payload after it (``rest``).

        :return: its event, a list of events, or ``None`` (a service packet's one event is
            not wrapped in a list: that is nearly every packet).
        """
        if msg >= 50:
            # Service messages (nearly every packet) are tested first. They are refused until
            # the first key exchange is done and between the peer's KEXINIT and its NEWKEYS.
            if self._peerKexInit is not None or self._kexCount == 0:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_ERROR, "message not allowed during key exchange"
                )
            if self.service is None:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_ERROR, "message before a service started"
                )
            return ev.PacketReceived(msg, rest)
        # Transport messages are small: their handlers read the whole payload.
        payload = _BYTES[msg] + rest
        first = self._firstPacket
        self._firstPacket = False
        initialKex = self._kexCount == 0
        if first and msg != MSG_KEXINIT:
            # Strict or not, the first thing a peer sends after its version is KEXINIT; the
            # other side's strictness is not known yet, so accept only that.
            if msg not in (MSG_IGNORE, MSG_DEBUG):
                raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "KEXINIT expected")
            # Tolerated only without strict kex; the KEXINIT check below catches the strict case.
            self._firstPacket = True
            return []
        if initialKex and self.strictKex and not (20 <= msg <= 49) and msg != MSG_DISCONNECT:
            raise SSHProtocolError(
                DISCONNECT_PROTOCOL_ERROR, "strict kex: unexpected message during key exchange"
            )
        if msg == MSG_DISCONNECT:
            r = Reader(payload, 1)
            code = r.uint32()
            description = r.string()
            self.phase = Phase.CLOSED
            return [ev.DisconnectReceived(code, description[:512])]
        if msg in (MSG_IGNORE, MSG_DEBUG):
            return []
        if msg == MSG_UNIMPLEMENTED:
            r = Reader(payload, 1)
            seq = r.uint32()
            return [ev.UnimplementedReceived(seq)]
        if msg == MSG_KEXINIT:
            self._handleKexInit(payload)
            return []
        if 30 <= msg <= 49:
            if self._peerKexInit is None:
                raise SSHProtocolError(
                    DISCONNECT_PROTOCOL_ERROR, "key exchange message out of order"
                )
            if self._ignoreNextKexPacket:
                self._ignoreNextKexPacket = False
                return []
            if isinstance(self._kex, DHGroupExchangeSHA256):
                return self._handleGroupExchange(msg, payload, self._kex)
            if msg == MSG_KEX_INIT:
                self._handleKexInitMessage(payload)
                return []
            if msg == MSG_KEX_REPLY:
                return self._handleKexReply(payload)
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected key exchange message")
        if msg == MSG_NEWKEYS:
            return self._handleNewKeys(payload)
        if self._peerKexInit is not None or self.sessionID is None:
            # Between the peer's KEXINIT and its NEWKEYS only key exchange messages may come.
            raise SSHProtocolError(
                DISCONNECT_PROTOCOL_ERROR, "message not allowed during key exchange"
            )
        if msg == MSG_SERVICE_REQUEST and not self.isClient:
            r = Reader(payload, 1)
            name = r.string()
            r.done()
            return [ev.ServiceRequested(name)]
        if msg == MSG_SERVICE_ACCEPT and self.isClient:
            r = Reader(payload, 1)
            name = r.string()
            if name != self._requestedService:
                raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "unexpected SERVICE_ACCEPT")
            self.service = name
            return [ev.ServiceAccepted(name)]
        if msg == MSG_EXT_INFO:
            return [ev.ExtInfoReceived(self._readExtInfo(payload))]
        self._sendRaw(
            bytes((MSG_UNIMPLEMENTED,)) + uint32((self._reader.sequence - 1) & 0xFFFFFFFF)
        )
        return []

    def _readExtInfo(self, payload: bytes) -> dict[bytes, bytes]:
        r = Reader(payload, 1, maxString=65536)
        count = r.uint32()
        if count > 64:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "too many extensions")
        out: dict[bytes, bytes] = {}
        for _ in range(count):
            name = r.string()
            out[name] = r.string()
        r.done()
        return out
