"""A resolver answering from an ``/etc/hosts`` file (Twisted's ``twisted.names.hosts``)."""

from __future__ import annotations

import socket
from typing import IO, Protocol

from glisten.internet import defer
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._message import RRHeader
from glisten.names._wire._name import Name
from glisten.names._wire._records import Record_A, Record_AAAA
from glisten.names.common import ResolverBase, Result, Timeout

__all__ = ["Resolver", "searchFileFor", "searchFileForAll"]

#: Hosts files larger than this are read only up to here.
MAX_HOSTS_FILE = 16 * 1024 * 1024


def _isIP(s: str, family: int) -> bool:
    try:
        socket.inet_pton(family, s)
    except OSError:
        return False
    return True


class Openable(Protocol):
    """A ``FilePath``-like: something whose ``open()`` gives a binary file."""

    def open(self) -> IO[bytes]: ...


#: A hosts file: a path, or a ``FilePath``-like.
HostsFile = str | bytes | Openable


def searchFileForAll(hostsFile: HostsFile, name: bytes | str) -> list[str]:
    """
    :param hostsFile: a path (``str``/``bytes``) or a ``FilePath``-like with ``open``.
    :return: every address the file gives ``name``, in file order.
    """
    key = Name(name)._key
    try:
        if hasattr(hostsFile, "open") and not isinstance(hostsFile, str | bytes):
            with hostsFile.open() as f:
                data = f.read(MAX_HOSTS_FILE)
        else:
            with open(hostsFile, "rb") as f:
                data = f.read(MAX_HOSTS_FILE)
    except OSError:
        return []
    results = []
    for line in data.splitlines():
        parts = line.split(b"#", 1)[0].split()
        if len(parts) < 2:
            continue
        addr = parts[0].decode("ascii", "replace").split("%", 1)[0]
        if not (_isIP(addr, socket.AF_INET) or _isIP(addr, socket.AF_INET6)):
            continue
        if any(Name(n)._key == key for n in parts[1:] if n.isascii()):
            results.append(addr)
    return results


def searchFileFor(file: HostsFile, name: bytes | str) -> str | None:
    """:return: the first address the file gives ``name``, or ``None``."""
    found = searchFileForAll(file, name)
    return found[0] if found else None


class Resolver(ResolverBase):
    """
    Answer A and AAAA lookups from a hosts file, read at each lookup so
    edits show at once; other types and unknown names fail with
    :class:`~glisten.names.error.DomainError` so a chain moves on.

    As in Twisted, answers are ``(records, (), ())`` with tuples and
    records that are not authoritative (``auth=False``): a hosts file is
    not a zone, so a server relaying them does not set AA.
    """

    def __init__(self, file: HostsFile = b"/etc/hosts", ttl: int = 60 * 60) -> None:
        super().__init__()
        self.file = file
        self.ttl = ttl

    def _records(self, name: bytes, family: int) -> tuple[RRHeader, ...]:
        out = []
        n = Name(name)
        for addr in searchFileForAll(self.file, name):
            if family == socket.AF_INET and _isIP(addr, socket.AF_INET):
                out.append(RRHeader(n, C.A, C.IN, self.ttl, Record_A(addr, self.ttl)))
            elif family == socket.AF_INET6 and _isIP(addr, socket.AF_INET6):
                out.append(RRHeader(n, C.AAAA, C.IN, self.ttl, Record_AAAA(addr, self.ttl)))
        return tuple(out)

    def _respond(self, name: bytes, records: tuple[RRHeader, ...]) -> defer.Deferred[Result]:
        if records:
            return defer.succeed((records, (), ()))  # type: ignore[arg-type]
        return defer.fail(error.DomainError(name))

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        if cls == C.IN and type == C.A:
            return self._respond(name, self._records(name, socket.AF_INET))
        if cls == C.IN and type == C.AAAA:
            return self._respond(name, self._records(name, socket.AF_INET6))
        if cls == C.IN and type == C.ALL_RECORDS:
            return self._respond(
                name, self._records(name, socket.AF_INET) + self._records(name, socket.AF_INET6)
            )
        return defer.fail(error.DomainError(name))
