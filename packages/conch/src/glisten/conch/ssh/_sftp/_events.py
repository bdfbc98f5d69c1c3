"""
What the SFTP codec reads: requests (server side) and replies (client side).

File attributes are dictionaries as in Twisted: ``size``, ``uid``, ``gid``, ``permissions``,
``atime``, ``mtime`` (integers) and ``ext_<name>`` (bytes) for extended attributes.
"""

from __future__ import annotations

from typing import Any

import attrs

Attributes = dict[str, Any]


@attrs.define(slots=True)
class Init:
    """The client's ``INIT``: its version and extension pairs."""

    version: int
    extensions: list[tuple[bytes, bytes]]


@attrs.define(slots=True)
class Request:
    """
    One request of the client.

    :ivar requestId: echoed in the reply.
    :ivar kind: the packet type (``FXP_OPEN``...).
    :ivar args: the decoded fields in wire order: paths and handles as ``bytes``, offsets and
        lengths as ``int``, attributes as a dictionary (see the module docstring).
    """

    requestId: int
    kind: int
    args: tuple[Any, ...]


@attrs.define(slots=True)
class BadRequest:
    """A request whose fields did not decode; answer ``FX_BAD_MESSAGE`` and go on."""

    requestId: int
    message: str


@attrs.define(slots=True)
class UnknownRequest:
    """A request of a type SFTP v3 does not have; answer ``FX_OP_UNSUPPORTED``."""

    requestId: int


@attrs.define(slots=True)
class Version:
    """The server's ``VERSION``."""

    version: int
    extensions: list[tuple[bytes, bytes]]


@attrs.define(slots=True)
class Status:
    """A ``STATUS`` reply: ``FX_OK``, ``FX_EOF`` or an error code with its message."""

    requestId: int
    code: int
    message: bytes
    language: bytes


@attrs.define(slots=True)
class Handle:
    """A ``HANDLE`` reply to an open."""

    requestId: int
    handle: bytes


@attrs.define(slots=True)
class Data:
    """A ``DATA`` reply to a read."""

    requestId: int
    data: bytes


@attrs.define(slots=True)
class Name:
    """A ``NAME`` reply: ``(filename, longname, attributes)`` entries."""

    requestId: int
    names: list[tuple[bytes, bytes, Attributes]]


@attrs.define(slots=True)
class Attrs:
    """An ``ATTRS`` reply."""

    requestId: int
    attrs: Attributes


@attrs.define(slots=True)
class ExtendedReply:
    """An ``EXTENDED_REPLY``: the request-specific bytes."""

    requestId: int
    data: bytes
