"""
Port, Unix-socket and agent forwarding (RFC 4254 section 7, OpenSSH's ``streamlocal`` and
``auth-agent`` channels), under Twisted's names, with a :class:`ForwardingPolicy` that the
server consults for every request: it allows nothing unless told.

- ``direct-tcpip`` (``ssh -L``): :func:`openConnectForwardingClient` makes an
  :class:`SSHConnectForwardingChannel` that connects to the destination.
- ``tcpip-forward`` (``ssh -R``): :class:`ForwardingUser` listens and opens a
  ``forwarded-tcpip`` channel per connection (:class:`SSHListenForwardingFactory`).
- ``direct-streamlocal@openssh.com`` (``ssh -L port:/path``): :func:`openStreamLocalClient`;
  the client's side of it and of ``streamlocal-forward@openssh.com`` (``ssh -R /path:...``)
  uses :func:`packOpen_direct_streamlocal`, :func:`packGlobal_streamlocal_forward` and
  :func:`unpackOpen_forwarded_streamlocal` (OpenSSH's ``PROTOCOL`` section 2.4).
- ``auth-agent-req@openssh.com`` (``ssh -A``): :class:`AgentForwarding` serves a socket
  (mode 0600 in a 0700 folder, removed at the end of the session) whose connections become
  ``auth-agent@openssh.com`` channels to the client.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from typing import Any

import attrs
from zope.interface import implementer

from glisten.conch.error import ConchError
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string, uint32
from glisten.conch.ssh.channel import SSHChannel
from glisten.conch.ssh.connection import OPEN_ADMINISTRATIVELY_PROHIBITED, OPEN_CONNECT_FAILED
from glisten.internet import protocol
from glisten.internet.interfaces import IHalfCloseableProtocol
from glisten.internet.main import getReactor
from glisten.python.failure import Failure

__all__ = [
    "AgentForwarding",
    "ForwardingPolicy",
    "ForwardingUser",
    "SSHConnectForwardingChannel",
    "SSHForwardingClient",
    "SSHListenClientForwardingChannel",
    "SSHListenClientStreamLocalChannel",
    "SSHListenForwardingChannel",
    "SSHListenForwardingFactory",
    "SSHListenServerForwardingChannel",
    "SSHListenServerStreamLocalChannel",
    "openConnectForwardingClient",
    "openStreamLocalClient",
    "packGlobal_streamlocal_forward",
    "packGlobal_tcpip_forward",
    "packOpen_direct_streamlocal",
    "packOpen_direct_tcpip",
    "packOpen_forwarded_streamlocal",
    "packOpen_forwarded_tcpip",
    "unpackGlobal_tcpip_forward",
    "unpackOpen_direct_tcpip",
    "unpackOpen_forwarded_streamlocal",
    "unpackOpen_forwarded_tcpip",
]


@attrs.frozen
class ForwardingPolicy:
    """
    What a user may forward; the default allows nothing.

    :ivar connect: ``(host, port)`` destinations of ``direct-tcpip`` (``ssh -L``); ``"*"``
        matches any host, port ``0`` any port. Hosts are compared as the client names them.
    :ivar listen: ``(address, port)`` pairs ``tcpip-forward`` (``ssh -R``) may bind; port ``0``
        allows any port above 1023.
    :ivar streamLocal: patterns (``fnmatch``) of Unix socket paths ``direct-streamlocal``
        may connect to.
    :ivar agent: whether ``auth-agent-req@openssh.com`` (``ssh -A``) is granted.
    :ivar streamLocalListen: patterns (``fnmatch``) of Unix socket paths
        ``streamlocal-forward@openssh.com`` (``ssh -R /path:...``) may listen on; only
        absolute paths without ``.``/``..`` components ever match.
    """

    connect: tuple[tuple[str, int], ...] = ()
    listen: tuple[tuple[str, int], ...] = ()
    streamLocal: tuple[str, ...] = ()
    agent: bool = False
    streamLocalListen: tuple[str, ...] = ()

    def allowConnect(self, host: str, port: int) -> bool:
        """Whether ``direct-tcpip`` to ``host:port`` is allowed."""
        return any(h in ("*", host) and p in (0, port) for h, p in self.connect)

    def allowListen(self, host: str, port: int) -> bool:
        """Whether ``tcpip-forward`` may listen on ``host:port``."""
        return any(
            h in ("*", host) and (p == port or (p == 0 and (port == 0 or port > 1023)))
            for h, p in self.listen
        )

    def allowStreamLocal(self, path: str) -> bool:
        """Whether ``direct-streamlocal`` may connect to ``path``."""
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.streamLocal)

    def allowStreamLocalListen(self, path: str) -> bool:
        """Whether ``streamlocal-forward@openssh.com`` may make a socket at ``path``."""
        if not path.startswith("/") or os.path.normpath(path) != path or "\x00" in path:
            return False
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.streamLocalListen)


# ---------------------------------------------------------------------- wire formats


def packOpen_direct_tcpip(destination: tuple[str, int], source: tuple[str, int]) -> bytes:
    """The open data of ``direct-tcpip`` (and ``forwarded-tcpip``)."""
    host, port = destination
    origHost, origPort = source
    return (
        string(host.encode("utf-8"))
        + uint32(port)
        + string(origHost.encode("utf-8"))
        + uint32(origPort)
    )


packOpen_forwarded_tcpip = packOpen_direct_tcpip


def unpackOpen_direct_tcpip(data: bytes) -> tuple[tuple[str, int], tuple[str, int]]:
    """
    Read ``direct-tcpip`` open data: ``((host, port), (originator host, port))``.

    :raises ConchError: malformed.
    """
    try:
        r = Reader(data, maxString=1024)
        host, port = r.string().decode("utf-8"), r.uint32()
        origHost, origPort = r.string().decode("utf-8"), r.uint32()
    except (DecodeError, UnicodeDecodeError):
        raise ConchError(OPEN_CONNECT_FAILED, "malformed forwarding request") from None
    if port > 65535 or origPort > 65535:
        raise ConchError(OPEN_CONNECT_FAILED, "bad port")
    return (host, port), (origHost, origPort)


unpackOpen_forwarded_tcpip = unpackOpen_direct_tcpip


def packGlobal_tcpip_forward(peer: tuple[str, int]) -> bytes:
    """The data of a ``tcpip-forward`` or ``cancel-tcpip-forward`` request."""
    return string(peer[0].encode("utf-8")) + uint32(peer[1])


def unpackGlobal_tcpip_forward(data: bytes) -> tuple[str, int]:
    """
    Read ``tcpip-forward`` data: ``(address, port)``.

    :raises ConchError: malformed.
    """
    try:
        r = Reader(data, maxString=1024)
        host, port = r.string().decode("utf-8"), r.uint32()
    except (DecodeError, UnicodeDecodeError):
        raise ConchError("malformed forwarding request") from None
    if port > 65535:
        raise ConchError("bad port")
    return host, port


def packOpen_direct_streamlocal(path: str) -> bytes:
    """The open data of ``direct-streamlocal@openssh.com``: the socket path, then the two
    reserved fields (an empty string and a zero)."""
    return string(path.encode("utf-8")) + string(b"") + uint32(0)


def packGlobal_streamlocal_forward(path: str) -> bytes:
    """The data of a ``streamlocal-forward@openssh.com`` (or ``cancel-...``) request."""
    return string(path.encode("utf-8"))


def packOpen_forwarded_streamlocal(path: str) -> bytes:
    """The open data of ``forwarded-streamlocal@openssh.com``: the socket path listened on,
    then a reserved empty string."""
    return string(path.encode("utf-8")) + string(b"")


def unpackOpen_forwarded_streamlocal(data: bytes) -> str:
    """
    Read ``forwarded-streamlocal@openssh.com`` open data: the socket path the server
    listens on (the reserved field after it is ignored).

    :raises ConchError: malformed.
    """
    try:
        return Reader(data, maxString=4096).string().decode("utf-8")
    except (DecodeError, UnicodeDecodeError):
        raise ConchError(OPEN_CONNECT_FAILED, "malformed forwarding request") from None


# ---------------------------------------------------------------------- channels


@implementer(IHalfCloseableProtocol)
class SSHForwardingClient(protocol.Protocol):
    """
    The local end of a forwarded connection: bytes go to and come from ``channel``. Half
    closes pass through (the local EOF becomes the channel's EOF and back), so a peer that
    shuts down its sending side still gets its answer.
    """

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    def connectionMade(self) -> None:
        # A slow local reader holds the channel's window closed; a full window pauses us.
        self.channel.registerProducer(self.transport, True)
        self.transport.registerProducer(self.channel, True)
        self.channel._attached()

    def dataReceived(self, data: bytes) -> None:
        self.channel.write(data)

    def readConnectionLost(self) -> None:
        channel = self.channel
        if channel is not None and channel.conn is not None:
            channel.conn.sendEOF(channel)

    def writeConnectionLost(self) -> None:
        """Our half is closed; the rest waits for the channel to close."""

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.channel is not None:
            channel, self.channel = self.channel, None
            channel.unregisterProducer()
            channel.loseConnection()


class _PipeChannel(SSHChannel):
    """A channel carrying one forwarded connection (``client`` is its local end)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.client: SSHForwardingClient | None = None
        self._pending: list[bytes] = []
        self._pendingEOF = False

    def dataReceived(self, data: bytes) -> None:
        transport = getattr(self.client, "transport", None)
        if transport is None:
            self._pending.append(data)
        else:
            transport.write(data)

    def _attached(self) -> None:
        transport = getattr(self.client, "transport", None)
        if transport is not None:
            pending, self._pending = self._pending, []
            for data in pending:
                transport.write(data)
            if self._pendingEOF:
                self._pendingEOF = False
                self.eofReceived()

    def eofReceived(self) -> None:
        transport = getattr(self.client, "transport", None)
        if transport is None:
            # The peer's EOF came before our connection was made: pass it on once it is.
            self._pendingEOF = True
        elif hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()

    def closed(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.transport is not None:
            client.channel = None
            client.transport.loseConnection()


class SSHListenForwardingChannel(_PipeChannel):
    """The channel a listening side opens for each connection it accepts."""

    def channelOpen(self, specificData: bytes) -> None:
        self._attached()

    def openFailed(self, reason: Any) -> None:
        self.closed()


class SSHListenClientForwardingChannel(SSHListenForwardingChannel):
    """Client side of ``ssh -L``."""

    name = b"direct-tcpip"


class SSHListenClientStreamLocalChannel(SSHListenForwardingChannel):
    """Client side of ``ssh -L LISTEN:/remote/socket`` (``direct-streamlocal``)."""

    name = b"direct-streamlocal@openssh.com"


class SSHListenServerForwardingChannel(SSHListenForwardingChannel):
    """Server side of ``ssh -R``."""

    name = b"forwarded-tcpip"


class SSHListenServerStreamLocalChannel(SSHListenForwardingChannel):
    """Server side of ``ssh -R /path:...`` (``forwarded-streamlocal``)."""

    name = b"forwarded-streamlocal@openssh.com"


class _AgentForwardingChannel(SSHListenForwardingChannel):
    name = b"auth-agent@openssh.com"


class SSHListenForwardingFactory(protocol.Factory):
    """
    Accepts local connections and opens a ``klass`` channel on ``connection`` for each.

    :param hostport: the forwarded address, sent in the open data (``None``: no open data,
        as for agent channels; a socket path: ``direct-streamlocal`` open data, for a
        ``klass`` of that channel type).
    """

    def __init__(self, connection: Any, hostport: tuple[str, int] | str | None, klass: Any) -> None:
        self.conn = connection
        self.hostport = hostport
        self.klass = klass

    def buildProtocol(self, addr: Any) -> SSHForwardingClient:
        channel = self.klass(conn=self.conn)
        client = SSHForwardingClient(channel)
        channel.client = client
        data = b""
        if isinstance(self.hostport, str):
            # The two socket channel types lay out their open data differently.
            if self.klass.name == SSHListenServerStreamLocalChannel.name:
                data = packOpen_forwarded_streamlocal(self.hostport)
            else:
                data = packOpen_direct_streamlocal(self.hostport)
        elif self.hostport is not None:
            source = (getattr(addr, "host", "127.0.0.1"), getattr(addr, "port", 0))
            data = packOpen_direct_tcpip(self.hostport, source)
        self.conn.openChannel(channel, data)
        return client


class SSHConnectForwardingChannel(_PipeChannel):
    """
    A channel whose other end is a connection this side makes to ``hostport`` (a
    ``(host, port)`` pair, or a Unix socket path).
    """

    def __init__(self, hostport: tuple[str, int] | str, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.hostport = hostport

    def channelOpen(self, specificData: bytes) -> None:
        reactor = getReactor(getattr(self.avatar, "reactor", None))
        factory = protocol.ClientFactory()

        def build() -> SSHForwardingClient:
            self.client = SSHForwardingClient(self)
            return self.client

        factory.protocol = build
        factory.clientConnectionFailed = lambda connector, reason: self.loseConnection()  # type: ignore[method-assign]
        if isinstance(self.hostport, str):
            reactor.connectUNIX(self.hostport, factory)
        else:
            reactor.connectTCP(self.hostport[0], self.hostport[1], factory)


def _policy(avatar: Any) -> ForwardingPolicy:
    policy = getattr(avatar, "forwardingPolicy", None)
    return policy if isinstance(policy, ForwardingPolicy) else ForwardingPolicy()


def openConnectForwardingClient(
    remoteWindow: int, remoteMaxPacket: int, data: bytes, avatar: Any
) -> SSHConnectForwardingChannel:
    """
    The ``direct-tcpip`` channel for ``ConchUser.channelLookup``, if the avatar's
    ``forwardingPolicy`` allows its destination.

    :raises ConchError: refused or malformed.
    """
    (host, port), _ = unpackOpen_direct_tcpip(data)
    if not _policy(avatar).allowConnect(host, port):
        raise ConchError(OPEN_ADMINISTRATIVELY_PROHIBITED, "forwarding not allowed")
    return SSHConnectForwardingChannel(
        (host, port), remoteWindow=remoteWindow, remoteMaxPacket=remoteMaxPacket, avatar=avatar
    )


def openStreamLocalClient(
    remoteWindow: int, remoteMaxPacket: int, data: bytes, avatar: Any
) -> SSHConnectForwardingChannel:
    """
    The ``direct-streamlocal@openssh.com`` channel, if the policy allows the socket path.

    :raises ConchError: refused or malformed.
    """
    try:
        path = Reader(data, maxString=4096).string().decode("utf-8")
    except (DecodeError, UnicodeDecodeError):
        raise ConchError(OPEN_CONNECT_FAILED, "malformed forwarding request") from None
    if "\x00" in path or not _policy(avatar).allowStreamLocal(path):
        raise ConchError(OPEN_ADMINISTRATIVELY_PROHIBITED, "forwarding not allowed")
    return SSHConnectForwardingChannel(
        path, remoteWindow=remoteWindow, remoteMaxPacket=remoteMaxPacket, avatar=avatar
    )


class ForwardingUser:
    """
    A mixin for :class:`~glisten.conch.avatar.ConchUser` subclasses: ``tcpip-forward`` and
    ``cancel-tcpip-forward`` under ``self.forwardingPolicy``, ``direct-tcpip`` and
    ``direct-streamlocal@openssh.com`` channels; call :meth:`stopForwarding` at logout.
    """

    forwardingPolicy: ForwardingPolicy = ForwardingPolicy()
    channelLookup: dict[bytes, Any]
    conn: Any
    reactor: Any = None
    _forwardListeners: dict[tuple[str, int] | str, Any] | None = None

    def enableForwarding(self) -> None:
        """Register the forwarding channel types (each still asks the policy)."""
        self.channelLookup[b"direct-tcpip"] = openConnectForwardingClient
        self.channelLookup[b"direct-streamlocal@openssh.com"] = openStreamLocalClient

    def _listeners(self) -> dict[tuple[str, int] | str, Any]:
        listeners: dict[tuple[str, int] | str, Any] | None = getattr(
            self, "_forwardListeners", None
        )
        if listeners is None:
            listeners = {}
            self._forwardListeners = listeners
        return listeners

    def global_tcpip_forward(self, data: bytes) -> Any:
        """``ssh -R``: listen, if the policy allows it; answers the port when it was 0."""
        host, port = unpackGlobal_tcpip_forward(data)
        if not self.forwardingPolicy.allowListen(host, port):
            return 0
        listeners = self._listeners()
        if len(listeners) >= 64:
            return 0
        interface = {"": "0.0.0.0", "localhost": "127.0.0.1"}.get(host, host)
        factory = SSHListenForwardingFactory(
            self.conn, (host, port), SSHListenServerForwardingChannel
        )
        try:
            listener = getReactor(self.reactor).listenTCP(port, factory, interface=interface)
        except Exception:
            return 0
        bound = listener.getHost().port
        # Channels name the port actually bound: the client matches them to its -R by it.
        factory.hostport = (host, bound)
        listeners[(host, bound)] = listener
        return (1, uint32(bound)) if port == 0 else 1

    def global_cancel_tcpip_forward(self, data: bytes) -> int:
        """Stop an ``ssh -R`` listener."""
        listener = self._listeners().pop(unpackGlobal_tcpip_forward(data), None)
        if listener is None:
            return 0
        listener.stopListening()
        return 1

    def globalStreamLocalForward(self, data: bytes) -> int:
        """
        ``streamlocal-forward@openssh.com`` (``ssh -R /path:...``): listen on a Unix socket
        (mode 0600, removed when cancelled or at logout), if the policy allows the path.
        """
        try:
            path = Reader(data, maxString=4096).string().decode("utf-8")
        except (DecodeError, UnicodeDecodeError):
            return 0
        listeners = self._listeners()
        if not self.forwardingPolicy.allowStreamLocalListen(path) or path in listeners:
            return 0
        if len(listeners) >= 64:
            return 0
        factory = SSHListenForwardingFactory(self.conn, path, SSHListenServerStreamLocalChannel)
        try:
            listeners[path] = getReactor(self.reactor).listenUNIX(path, factory, mode=0o600)
        except Exception:
            return 0
        return 1

    def globalCancelStreamLocalForward(self, data: bytes) -> int:
        """``cancel-streamlocal-forward@openssh.com``: stop listening on that socket."""
        try:
            path = Reader(data, maxString=4096).string().decode("utf-8")
        except (DecodeError, UnicodeDecodeError):
            return 0
        listener = self._listeners().pop(path, None)
        if listener is None:
            return 0
        listener.stopListening()
        return 1

    def stopForwarding(self) -> None:
        """Close every listener (the user logged out)."""
        listeners = self._listeners()
        for listener in listeners.values():
            listener.stopListening()
        listeners.clear()


# OpenSSH's request names are no Python names: ConchUser.gotGlobalRequest finds these as
# "global_" + the name with dashes as underscores.
setattr(
    ForwardingUser,
    "global_streamlocal_forward@openssh.com",
    ForwardingUser.globalStreamLocalForward,
)
setattr(
    ForwardingUser,
    "global_cancel_streamlocal_forward@openssh.com",
    ForwardingUser.globalCancelStreamLocalForward,
)


class AgentForwarding:
    """
    The server's end of ``ssh -A`` for one session: a Unix socket whose connections become
    ``auth-agent@openssh.com`` channels to the client.

    :ivar path: the socket, for ``SSH_AUTH_SOCK``.
    """

    def __init__(self, connection: Any, reactor: Any = None) -> None:
        self._folder = tempfile.mkdtemp(prefix="glisten-agent-")
        os.chmod(self._folder, 0o700)
        self.path = os.path.join(self._folder, "agent.sock")
        factory = SSHListenForwardingFactory(connection, None, _AgentForwardingChannel)
        self._port = getReactor(reactor).listenUNIX(self.path, factory, mode=0o600)

    def stop(self) -> None:
        """Stop listening and remove the socket and its folder."""
        if self._port is not None:
            port, self._port = self._port, None
            port.stopListening()
            shutil.rmtree(self._folder, ignore_errors=True)
