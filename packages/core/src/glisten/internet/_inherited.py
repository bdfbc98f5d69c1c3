"""Listening sockets that a ``glisten --workers`` supervisor binds once and its workers share.

The supervisor builds each endpoint a plugin declares with :func:`serverFromString` as usual,
but over a :class:`BindingReactor`: the endpoint's ``listenTCP``/``listenSSL``/``listenUNIX``
call binds and listens on a plain socket and keeps it, keyed by what was asked for (kind,
interface, port or path). The sockets pass to each worker by inheritance; the worker reads
the table from its environment (:func:`adoptFromEnvironment`), and from then on
:func:`serverFromString` builds endpoints over an :class:`AdoptingReactor`, whose ``listen*``
call for a key in the table adopts the inherited socket (``adoptStreamPort``, as for systemd's
sockets) instead of binding. So a plugin's endpoint strings, TLS, ``haproxy:`` wrapping and
all, work unchanged in a worker; a string that was not declared binds as before (and fails
with "address already in use" when it collides, which shows the mistake).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from typing import Any

#: The environment variable holding the shared-socket table of a worker.
SHARED_SOCKETS_ENV = "GLISTEN_SHARED_SOCKETS"

Key = tuple[str, str, int] | tuple[str, str]

#: This process's inherited sockets, ``key -> (descriptor, address family, shared)``, where
#: ``shared`` says that other workers accept from the same socket; empty outside a worker.
_table: dict[Key, tuple[int, int, bool]] = {}


def _tcpKey(port: int, interface: str) -> Key:
    return ("tcp", interface, port)


def _unixKey(address: str) -> Key:
    return ("unix", os.fsdecode(address))


def _udpKey(port: int, interface: str) -> Key:
    return ("udp", interface, port)


def parseDatagramDescription(description: str) -> tuple[int, str]:
    """Read ``udp:PORT[:interface=HOST]``, the form in which a shareable plugin declares a
    datagram port (``\\:`` escapes a colon in an IPv6 address, as in endpoint strings).

    :return: the port and the interface (``""``: every IPv4 address).
    :raises ValueError: for anything else.
    """
    kind, _, rest = description.partition(":")
    fields = [f.replace("\\:", ":") for f in re.split(r"(?<!\\):", rest)]
    if kind.lower() != "udp" or not fields[0].isdigit() or int(fields[0]) > 65535:
        raise ValueError(f"not a datagram port description (udp:PORT): {description!r}")
    interface = ""
    for field in fields[1:]:
        name, sep, value = field.partition("=")
        if name != "interface" or not sep:
            raise ValueError(f"udp endpoint: unknown field {name!r} in {description!r}")
        interface = value
    return int(fields[0]), interface


class BindingReactor:
    """Stands in for the reactor while the supervisor builds the declared endpoints: each
    ``listen*`` call binds a listening socket and keeps it instead of serving.

    :param reusePort: set ``SO_REUSEPORT`` on TCP sockets, and only bind them (reserving the
        address): each worker then gets its own listening socket on the same address
        (:meth:`bindTCP`), and Linux spreads connections across them. A socket that only
        reserves must not listen, or the kernel would queue connections on it too.
    """

    def __init__(self, reusePort: bool = False) -> None:
        self.reusePort = reusePort
        #: What was bound: ``key -> socket``.
        self.sockets: dict[Key, socket.socket] = {}
        #: The backlog asked for each TCP key.
        self.backlogs: dict[Key, int] = {}

    def _tcp(self, port: int, backlog: int, interface: str) -> socket.socket:
        key = _tcpKey(port, interface)
        existing = self.sockets.get(key)
        if existing is not None:
            return existing
        sock = self._bind(port, interface, listen=None if self.reusePort else backlog)
        self.sockets[key] = sock
        self.backlogs[key] = backlog
        return sock

    def bindTCP(self, key: Key, port: int, backlog: int) -> None:
        """Bind a listening ``SO_REUSEPORT`` socket for ``key`` on ``port`` (the real port
        when ``key`` asked for 0)."""
        self.sockets[key] = self._bind(port, str(key[1]), listen=backlog)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        """Bind a datagram socket. With port 0 next to a TCP socket of the same interface
        that also asked for 0, take that socket's port (a DNS server's TCP and UDP pair), and
        keep it under the real port: the worker asks for UDP on the port TCP gave it."""
        if port == 0:
            tcp = self.sockets.get(_tcpKey(0, interface))
            if tcp is not None:
                port = tcp.getsockname()[1]
        key = _udpKey(port, interface)
        existing = self.sockets.get(key)
        if existing is not None:
            return existing
        sock = self._bind(port, interface, listen=None, kind=socket.SOCK_DGRAM)
        if port == 0:
            key = _udpKey(0, interface)
        self.sockets[key] = sock
        return sock

    def _bind(
        self, port: int, interface: str, listen: int | None, kind: int = socket.SOCK_STREAM
    ) -> socket.socket:
        host = interface or "0.0.0.0"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        info = socket.getaddrinfo(host, port, family, kind)[0]
        sock = socket.socket(family, kind)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reusePort and kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(info[4])
            if listen is not None:
                sock.listen(listen)
        except OSError as e:
            sock.close()
            from .error import CannotListenError

            raise CannotListenError(interface, port, e) from None
        return sock

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        """Bind and listen on a TCP socket (the factory is not used)."""
        return self._tcp(port, backlog, interface)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> Any:
        """Bind and listen on a TCP socket; each worker speaks TLS over its copy."""
        return self._tcp(port, backlog, interface)

    def listenUNIX(
        self, address: str, factory: Any, backlog: int = 50, mode: int = 0o666, wantPID: int = 0
    ) -> Any:
        """Bind and listen on a Unix socket (replacing a stale socket file)."""
        key = _unixKey(address)
        existing = self.sockets.get(key)
        if existing is not None:
            return existing
        path = os.fsdecode(address)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not path.startswith("\0"):
                try:
                    if os.path.exists(path) and _isStaleSocket(path):
                        os.unlink(path)
                except OSError:
                    pass
            sock.bind(path)
            if not path.startswith("\0"):
                os.chmod(path, mode)
            sock.listen(backlog)
        except OSError as e:
            sock.close()
            from .error import CannotListenError

            raise CannotListenError("", path, e) from None
        self.sockets[key] = sock
        return sock

    def callLater(self, delay: float, f: Any, *args: Any, **kwargs: Any) -> Any:
        """Endpoint wrappers (``haproxy:``) keep a clock; binding never calls it."""
        raise RuntimeError("the binding reactor keeps no time")

    def table(self, exceptTCP: bool = False) -> list[dict[str, Any]]:
        """The table a worker's environment carries (:data:`SHARED_SOCKETS_ENV`).

        :param exceptTCP: leave the TCP sockets out (they only reserve the address).
        """
        return [
            {
                "key": list(key),
                "fd": sock.fileno(),
                "family": int(sock.family),
                # A worker's own SO_REUSEPORT socket is not shared.
                "shared": not (self.reusePort and key[0] == "tcp"),
            }
            for key, sock in self.sockets.items()
            if not (exceptTCP and key[0] == "tcp")
        ]

    def close(self) -> None:
        """Close every socket (the supervisor is done; a Unix socket's file is removed)."""
        for key, sock in self.sockets.items():
            if key[0] == "unix" and not str(key[1]).startswith("\0"):
                try:
                    os.unlink(str(key[1]))
                except OSError:
                    pass
            sock.close()
        self.sockets.clear()


def _isStaleSocket(path: str) -> bool:
    """Whether ``path`` is a socket file nobody listens on any more."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


def encodeTable(entries: list[dict[str, Any]]) -> str:
    """The environment value for ``entries`` (from :meth:`BindingReactor.table`)."""
    return json.dumps(entries, separators=(",", ":"))


def adoptFromEnvironment(environ: Mapping[str, str]) -> dict[Key, tuple[int, int, bool]]:
    """Read a worker's shared-socket table into this process's.

    :return: the table read.
    :raises ValueError: if the value is not a table the supervisor wrote.
    """
    raw = environ.get(SHARED_SOCKETS_ENV)
    if not raw:
        return {}
    try:
        entries = json.loads(raw)
        table: dict[Key, tuple[int, int, bool]] = {}
        for entry in entries:
            kind, *rest = entry["key"]
            key: Key
            if kind == "tcp":
                key = _tcpKey(int(rest[1]), str(rest[0]))
            elif kind == "udp":
                key = _udpKey(int(rest[1]), str(rest[0]))
            elif kind == "unix":
                key = _unixKey(str(rest[0]))
            else:
                raise ValueError(kind)
            table[key] = (int(entry["fd"]), int(entry["family"]), bool(entry.get("shared", True)))
    except (ValueError, KeyError, TypeError, IndexError):
        raise ValueError(f"malformed {SHARED_SOCKETS_ENV}") from None
    _table.clear()
    _table.update(table)
    return table


def forgetInherited() -> None:
    """Empty this process's table (tests; a worker never forgets)."""
    _table.clear()


class AdoptingReactor:
    """A reactor whose ``listen*`` calls adopt this process's inherited sockets.

    Every other attribute is the wrapped reactor's.
    """

    def __init__(self, reactor: Any, table: Mapping[Key, tuple[int, int, bool]]) -> None:
        self._reactor = reactor
        self._inherited = table

    def _adopt(self, found: tuple[int, int, bool], factory: Any) -> Any:
        port = self._reactor.adoptStreamPort(found[0], found[1], factory)
        if found[2] and hasattr(port, "acceptsPerRead"):
            port.acceptsPerRead = 1
        return port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def __repr__(self) -> str:
        return f"<AdoptingReactor {self._reactor!r}>"

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        found = self._inherited.get(_tcpKey(port, interface))
        if found is None:
            return self._reactor.listenTCP(port, factory, backlog=backlog, interface=interface)
        return self._adopt(found, factory)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> Any:
        from ..protocols.tls import TLSMemoryBIOFactory

        found = self._inherited.get(_tcpKey(port, interface))
        if found is None:
            listenSSL = getattr(self._reactor, "listenSSL", None)
            if listenSSL is not None:
                return listenSSL(
                    port, factory, contextFactory, backlog=backlog, interface=interface
                )
            return self._reactor.listenTCP(
                port,
                TLSMemoryBIOFactory(contextFactory, False, factory),
                backlog=backlog,
                interface=interface,
            )
        return self._adopt(found, TLSMemoryBIOFactory(contextFactory, False, factory))

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        found = self._inherited.get(_udpKey(port, interface))
        if found is None:
            return self._reactor.listenUDP(
                port, protocol, interface=interface, maxPacketSize=maxPacketSize
            )
        return self._reactor.adoptDatagramPort(found[0], found[1], protocol, maxPacketSize)

    def listenUNIX(
        self, address: str, factory: Any, backlog: int = 50, mode: int = 0o666, wantPID: int = 0
    ) -> Any:
        found = self._inherited.get(_unixKey(address))
        if found is None:
            return self._reactor.listenUNIX(
                address, factory, backlog=backlog, mode=mode, wantPID=wantPID
            )
        return self._adopt(found, factory)


def adopting(reactor: Any) -> Any:
    """``reactor``, or an :class:`AdoptingReactor` around it when this process inherited
    sockets."""
    if not _table or isinstance(reactor, (AdoptingReactor, BindingReactor)):
        return reactor
    return AdoptingReactor(reactor, _table)
