"""
``SSHCommandClientEndpoint``: run a command on an SSH server and talk to it as a protocol.

``SSHCommandClientEndpoint.newConnection(reactor, b"cat", b"user", b"host", keys=[key],
knownHosts=KnownHostsFile.fromPath(path)).connect(factory)`` connects, checks the host key,
logs in with the keys (then the password, when given, by ``password`` or as the answer to a
single hidden ``keyboard-interactive`` prompt), runs the command and fires with the
protocol connected to the command's stdin and stdout. When the command ends the protocol's
``connectionLost`` gets :class:`~glisten.internet.error.ConnectionDone` for exit status 0 and
:class:`~glisten.internet.error.ProcessTerminated` otherwise. Keys come from ``keys`` and, with
``agentEndpoint`` (for instance ``UNIXClientEndpoint(reactor, os.environ["SSH_AUTH_SOCK"])``),
from a running SSH agent, which signs for them (agent keys are tried first, as OpenSSH does).

OpenSSH certificates: a key given as ``key.withCertificate(Key.fromFile("id-cert.pub"))``
logs in with its user certificate (pass the plain key too for servers that want the key
itself, as ``ssh -i`` tries both). When ``knownHosts`` has ``@cert-authority`` lines for the
host, host certificates are asked for first and checked against them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from zope.interface import implementer

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.error import ConchError
from glisten.conch.ssh import common
from glisten.conch.ssh._ssh._certificates import CERT_ALGORITHM_FOR, plainAlgorithm
from glisten.conch.ssh.agent import SSHAgentClient, signatureFlags
from glisten.conch.ssh.channel import SSHChannel
from glisten.conch.ssh.connection import SSHConnection
from glisten.conch.ssh.keys import Key
from glisten.conch.ssh.transport import SSHClientTransport
from glisten.conch.ssh.userauth import SSHUserAuthClient
from glisten.internet import interfaces
from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.endpoints import HostnameEndpoint
from glisten.internet.error import ConnectionDone, ConnectionLost, ProcessTerminated
from glisten.internet.protocol import Factory, connectionDone
from glisten.python.failure import Failure

__all__ = ["AuthenticationFailed", "SSHCommandClientEndpoint"]


class AuthenticationFailed(Exception):
    """The server accepted none of the keys and passwords offered."""


class _CommandChannel(SSHChannel):
    name = b"session"

    def __init__(
        self, creator: _Creator, command: bytes, protocolFactory: Any, ready: Deferred[Any]
    ) -> None:
        super().__init__()
        self._creator = creator
        self._command = command
        self._protocolFactory = protocolFactory
        self._ready = ready
        self._protocol: Any = None
        self._exitStatus: int | None = None
        self._exitSignal: bytes | None = None

    def openFailed(self, reason: Any) -> None:
        self._fire(Failure(reason if isinstance(reason, Exception) else ConchError(reason)))

    def _fire(self, result: Any) -> None:
        ready, self._ready = self._ready, None  # type: ignore[assignment]
        if ready is not None:
            if isinstance(result, Failure):
                ready.errback(result)
            else:
                ready.callback(result)

    def channelOpen(self, specificData: bytes) -> None:
        self._creator.failure = None
        self._startCommand(b"exec", common.NS(self._command))

    def _startCommand(self, requestType: bytes, data: bytes) -> None:
        d = self.conn.sendRequest(self, requestType, data, wantReply=True)
        d.addCallbacks(self._execOK, self._execFailed)

    def _execFailed(self, reason: Failure) -> None:
        self._fire(reason)
        self.loseConnection()

    def _execOK(self, _: Any) -> None:
        self._protocol = self._protocolFactory.buildProtocol(_CommandAddress(self))
        if self._protocol is None:
            self._fire(Failure(ConchError("the factory made no protocol")))
            self.loseConnection()
            return
        self._protocol.makeConnection(self)
        self._fire(self._protocol)

    def dataReceived(self, data: bytes) -> None:
        if self._protocol is not None:
            self._protocol.dataReceived(data)

    def request_exit_status(self, data: bytes) -> int:
        self._exitStatus = int.from_bytes(data[:4], "big")
        return 1

    def request_exit_signal(self, data: bytes) -> int:
        self._exitSignal = common.getNS(data)[0]
        return 1

    def closed(self) -> None:
        self._fire(Failure(ConnectionLost("the channel closed before the command started")))
        if self._protocol is not None:
            if self._exitSignal is not None:
                reason = Failure(ProcessTerminated(None, 15, None))
            elif self._exitStatus:
                reason = Failure(ProcessTerminated(self._exitStatus, None, None))
            else:
                reason = Failure(ConnectionDone("command finished"))
            protocol, self._protocol = self._protocol, None
            protocol.connectionLost(reason)
        self._creator.commandEnded()


class _CommandAddress:
    def __init__(self, channel: Any) -> None:
        self.channel = channel


class _CommandConnection(SSHConnection):
    def __init__(self, creator: _Creator) -> None:
        super().__init__()
        self._creator = creator

    def serviceStarted(self) -> None:
        super().serviceStarted()
        self._creator.connectionReady(self)

    def getChannel(self, channelType: bytes, windowSize: int, maxPacket: int, data: bytes) -> Any:
        # Channels the server opens (forwarded ports, agent requests) only when asked for.
        opener = self._creator.channelOpeners.get(channelType)
        if opener is None:
            return super().getChannel(channelType, windowSize, maxPacket, data)
        return opener(windowSize, maxPacket, data)


class _UserAuth(SSHUserAuthClient):
    def __init__(
        self,
        creator: _Creator,
        user: bytes,
        instance: Any,
        keys: Sequence[Key],
        password: bytes | None,
    ) -> None:
        super().__init__(user, instance)
        self._creator = creator
        self._agentKeys = list(creator.agentKeys)
        self._keys = list(keys)
        self._password = password
        self._answerPassword = password
        self._passwordsAsked = 0
        self._current: Key | None = None
        self._fromAgent = False

    def _tryNext(self, methods: list[bytes]) -> None:
        self._creator.failure = Failure(AuthenticationFailed("no more authentication methods"))
        super()._tryNext(methods)

    def getPublicKey(self) -> Key | None:
        if self._agentKeys:
            self._current = self._agentKeys.pop(0)
            self._fromAgent = True
            return self._current
        self._fromAgent = False
        if not self._keys:
            return None
        self._current = self._keys.pop(0)
        return self._current.public()

    def signData(self, publicKey: Key, signData: bytes) -> Deferred[bytes]:
        agent = self._creator.agent
        if self._fromAgent and agent is not None:
            return agent.signData(
                publicKey.blob(), signData, signatureFlags(plainAlgorithm(self._lastAlg))
            )
        return super().signData(publicKey, signData)

    def getPrivateKey(self) -> Deferred[Key]:
        if self._current is None:
            return fail(Failure(ConchError("no key")))
        return succeed(self._current)

    def getPassword(self, prompt: bytes | None = None) -> Deferred[bytes] | None:
        ask = getattr(self._creator.ui, "askPassword", None)
        if prompt is not None:
            # The server wants a new password (the old one expired): only a person can say.
            if ask is None:
                return None
            text = "".join(c if c.isprintable() else "?" for c in prompt.decode("utf-8", "replace"))
            return _answered(ask(f"Password change requested: {text}\nNew password: "))
        if self._password is not None:
            password, self._password = self._password, None
            return succeed(password)
        if ask is None or self._passwordsAsked >= MAX_PASSWORD_PROMPTS:
            return None
        self._passwordsAsked += 1
        host = self._creator.hostname.decode("utf-8", "replace")
        user = self.user.decode("utf-8", "replace")
        return _answered(ask(f"{user}@{host}'s password: "))

    def getGenericAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> Deferred[list[bytes]] | None:
        # A server that asks for passwords only through keyboard-interactive (sshd with PAM)
        # gets the password once, for a round with a single hidden prompt.
        if self._answerPassword is not None and len(prompts) == 1 and not prompts[0][1]:
            password, self._answerPassword = self._answerPassword, None
            return succeed([password])
        ask = getattr(self._creator.ui, "askAnswers", None)
        if ask is None:
            return None
        return _answered(ask(name, instruction, prompts))


#: Passwords asked of a UI per connection (OpenSSH's ``NumberOfPasswordPrompts``).
MAX_PASSWORD_PROMPTS = 3


def _answered(result: Any) -> Deferred[Any] | None:
    """A UI's answer (a value, a Deferred, or ``None`` for no answer) as a Deferred or None."""
    if result is None:
        return None
    if isinstance(result, Deferred):
        return result.addCallback(_required)
    return succeed(result)


def _required(result: Any) -> Any:
    if result is None:
        raise ConchError("no answer")
    return result


class _CommandTransport(SSHClientTransport):
    _creator: _Creator

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
        return self._creator.verifyHostKey(self, hostKey)

    def connectionSecure(self) -> None:
        c = self._creator
        self.requestService(_UserAuth(c, c.username, _CommandConnection(c), c.keys, c.password))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        self._creator.connectionLost(reason)


class _Creator:
    """Shared state of one connection attempt."""

    def __init__(self, endpoint: SSHCommandClientEndpoint, protocolFactory: Any) -> None:
        self.username = endpoint.username
        self.hostname = endpoint.hostname
        self.port = endpoint.port
        self.keys = endpoint.keys
        self.password = endpoint.password
        self.knownHosts = endpoint.knownHosts
        self.ui = endpoint.ui
        self.command = endpoint.command
        self.protocolFactory = protocolFactory
        self.ready: Deferred[Any] = Deferred()
        self.transport: _CommandTransport | None = None
        self.closeWhenDone = True
        self.failure: Failure | None = None
        self.agent: SSHAgentClient | None = None
        self.agentKeys: list[Key] = []
        self.channelClass: Any = endpoint._channelClass
        self.channelOpeners: dict[bytes, Any] = endpoint._channelOpeners

    def connectAgent(self, agentEndpoint: Any) -> Deferred[None]:
        """Connect to the agent and list its keys (unreadable keys are skipped)."""
        d = agentEndpoint.connect(Factory.forProtocol(SSHAgentClient))

        def connected(agent: SSHAgentClient) -> Deferred[None]:
            self.agent = agent
            return agent.requestIdentities().addCallback(listed)

        def listed(identities: list[tuple[bytes, bytes]]) -> None:
            for blob, _ in identities:
                try:
                    self.agentKeys.append(Key.fromString(blob, "blob"))
                except Exception:
                    continue

        return d.addCallback(connected)

    def closeAgent(self, result: Any = None) -> Any:
        if self.agent is not None and self.agent.transport is not None:
            self.agent.transport.loseConnection()
        self.agent = None
        return result

    def hostKeyAlgorithms(self) -> list[bytes]:
        """
        The host key algorithms to offer: certificate algorithms first when ``knownHosts``
        has a CA for this host (as OpenSSH orders them), else the plain ones.
        """
        plain = list(SSHClientTransport.supportedPublicKeys)
        cas = getattr(self.knownHosts, "certificateAuthorities", None)
        host = self.hostname
        if self.port != 22:
            host = b"[" + host + b"]:" + str(self.port).encode("ascii")
        if cas is None or not cas(host):
            return plain
        return [CERT_ALGORITHM_FOR[a] for a in plain if a in CERT_ALGORITHM_FOR] + plain

    def verifyHostKey(self, transport: Any, blob: bytes) -> Deferred[Any]:
        key = Key.fromString(blob, "blob")
        try:
            ip = transport.transport.getPeer().host.encode("ascii")
        except Exception:
            ip = b""
        d: Deferred[Any] = self.knownHosts.verifyHostKey(self.ui, self.hostname, ip, key, self.port)

        def remember(f: Failure) -> Failure:
            self.failure = f
            return f

        return d.addErrback(remember)

    def connectionReady(self, conn: SSHConnection) -> None:
        channel = self.channelClass(self, self.command, self.protocolFactory, self.ready)
        conn.openChannel(channel)

    def commandEnded(self) -> None:
        if self.closeWhenDone and self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure) -> None:
        if not self.ready.called:
            if self.failure is not None:
                self.ready.errback(self.failure)
            elif reason.check(ConnectionDone):
                self.ready.errback(Failure(ConnectionLost("connection closed during setup")))
            else:
                self.ready.errback(reason)


@implementer(interfaces.IStreamClientEndpoint)
class SSHCommandClientEndpoint:
    """Connects protocols to commands run over SSH."""

    def __init__(self) -> None:
        self.reactor: Any = None
        self.command = b""
        self.username = b""
        self.hostname = b""
        self.port = 22
        self.keys: list[Key] = []
        self.password: bytes | None = None
        self.knownHosts: Any = None
        self.ui: Any = None
        self.agentEndpoint: Any = None
        self._connection: Any = None
        # For the ``conch`` tool: the session channel's class (terminals, shells) and the
        # channel types the server may open (``forwarded-tcpip``, agent channels).
        self._channelClass: Any = _CommandChannel
        self._channelOpeners: dict[bytes, Any] = {}

    @classmethod
    def newConnection(
        cls,
        reactor: Any,
        command: bytes | str,
        username: bytes | str,
        hostname: bytes | str,
        port: int | None = None,
        keys: Sequence[Key] | None = None,
        password: bytes | str | None = None,
        agentEndpoint: Any = None,
        knownHosts: Any = None,
        ui: Any = None,
    ) -> SSHCommandClientEndpoint:
        """
        An endpoint that makes a new SSH connection for each :meth:`connect`.

        :param keys: private keys to try, in order.
        :param password: tried after the keys.
        :param agentEndpoint: an endpoint connecting to a running SSH agent, whose keys are
            tried (and which signs for them) before ``keys``.
        :param knownHosts: a :class:`KnownHostsFile`; ``~/.ssh/known_hosts`` by default.
        :param ui: asked about unknown host keys (``prompt(text) -> Deferred[bool]``); without
            one, unknown hosts are refused. When it has them, ``askPassword(prompt)`` (up to
            three times, and for the new password when the server says the password has
            expired) and ``askAnswers(name, instruction, prompts)`` (keyboard-interactive
            rounds) give passwords and answers (values, Deferreds, or ``None`` for none).
        """
        self = cls()
        self.agentEndpoint = agentEndpoint
        self.reactor = reactor
        self.command = _b(command)
        self.username = _b(username)
        self.hostname = _b(hostname)
        self.port = port or 22
        self.keys = list(keys or [])
        self.password = _b(password) if password is not None else None
        if knownHosts is None:
            knownHosts = KnownHostsFile.fromPath(os.path.expanduser("~/.ssh/known_hosts"))
        self.knownHosts = knownHosts
        self.ui = ui
        return self

    @classmethod
    def existingConnection(cls, connection: Any, command: bytes | str) -> SSHCommandClientEndpoint:
        """An endpoint running ``command`` on an open connection (its ``.conn``)."""
        self = cls()
        self.command = _b(command)
        self._connection = connection
        return self

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        """Run the command; fires with the connected protocol."""
        creator = _Creator(self, protocolFactory)
        if self._connection is not None:
            creator.closeWhenDone = False
            conn = getattr(self._connection, "conn", self._connection)
            creator.connectionReady(conn)
            return creator.ready

        def build(addr: Any) -> Any:
            transport = _CommandTransport()
            transport._creator = creator
            transport.supportedPublicKeys = creator.hostKeyAlgorithms()
            transport.factory = factory
            creator.transport = transport
            return transport

        factory = Factory()
        factory.buildProtocol = build  # type: ignore[method-assign]
        factory.reactor = self.reactor  # type: ignore[attr-defined]
        endpoint = HostnameEndpoint(self.reactor, self.hostname.decode("idna"), self.port)

        def connected(transport: Any) -> Deferred[Any]:
            creator.ready.addBoth(_attachConnection, transport)
            creator.ready.addBoth(creator.closeAgent)
            return creator.ready

        if self.agentEndpoint is not None:
            d = creator.connectAgent(self.agentEndpoint).addCallback(
                lambda _: endpoint.connect(factory)
            )
            d.addErrback(creator.closeAgent)
        else:
            d = endpoint.connect(factory)
        return d.addCallback(connected)


def _attachConnection(result: Any, transport: Any) -> Any:
    if isinstance(result, Failure):
        if transport.transport is not None:
            transport.transport.loseConnection()
        return result
    service = transport.service
    if service is not None and hasattr(result, "transport"):
        result.transport.conn = service
    return result


def _b(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value
