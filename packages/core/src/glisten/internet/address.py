"""
Address value types: IPv4, IPv6, Unix sockets and the host name a connection was asked for.
"""

from __future__ import annotations

import os
from typing import Literal

import attrs
from zope.interface import implementer

from glisten.internet.interfaces import IAddress

TransportType = Literal["TCP", "UDP"]


@implementer(IAddress)
@attrs.frozen
class IPv4Address:
    """
    An IPv4 socket address.

    :ivar type: ``"TCP"`` or ``"UDP"``.
    :ivar host: the dotted-quad address.
    :ivar port: the port number.
    """

    type: TransportType = attrs.field(validator=attrs.validators.in_(("TCP", "UDP")))
    host: str
    port: int


@implementer(IAddress)
@attrs.frozen
class IPv6Address:
    """
    An IPv6 socket address.

    :ivar type: ``"TCP"`` or ``"UDP"``.
    :ivar host: the address literal (without brackets).
    :ivar port: the port number.
    :ivar flowInfo: the flow information.
    :ivar scopeID: the scope (interface) of a link-local address.
    """

    type: TransportType = attrs.field(validator=attrs.validators.in_(("TCP", "UDP")))
    host: str
    port: int
    flowInfo: int = 0
    scopeID: str | int = 0


def _toBytesName(name: str | bytes | None) -> bytes | None:
    if isinstance(name, str):
        return os.fsencode(name)
    return name


@implementer(IAddress)
@attrs.frozen(eq=False)
class UNIXAddress:
    """
    A Unix socket address.

    Two addresses naming the same file (even through different paths or links) compare equal.

    :ivar name: the path, a name starting with a NUL byte for the abstract namespace, or None
        for an unnamed socket.
    """

    name: bytes | None = attrs.field(converter=_toBytesName)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UNIXAddress):
            return NotImplemented
        if self.name == other.name:
            return True
        if self.name is None or other.name is None:
            return False
        if self.name.startswith(b"\0") or other.name.startswith(b"\0"):
            return False
        try:
            return os.path.samefile(self.name, other.name)
        except OSError:
            return False

    def __hash__(self) -> int:
        if self.name is None or self.name.startswith(b"\0"):
            return hash((UNIXAddress, self.name))
        try:
            st = os.stat(self.name)
        except OSError:
            return hash((UNIXAddress, self.name))
        return hash((UNIXAddress, st.st_ino, st.st_dev))


@implementer(IAddress)
@attrs.frozen
class HostnameAddress:
    """
    A host name and port, as asked for before resolution.

    :ivar hostname: the name (bytes, IDNA-encoded).
    :ivar port: the port number.
    """

    hostname: bytes
    port: int


__all__ = ["HostnameAddress", "IPv4Address", "IPv6Address", "UNIXAddress"]
