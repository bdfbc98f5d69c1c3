"""What the scp codec reads: records of the source (sink role) and statuses (both roles)."""

from __future__ import annotations

import attrs


@attrs.define(slots=True)
class Times:
    """``T``: the times of the file or folder whose record follows (seconds)."""

    mtime: int
    atime: int


@attrs.define(slots=True)
class FileHeader:
    """``C``: a file of ``size`` bytes follows, once we answer ``OK``."""

    mode: int
    size: int
    name: bytes


@attrs.define(slots=True)
class DirectoryHeader:
    """``D``: the records up to the matching ``E`` are inside the folder ``name``."""

    mode: int
    name: bytes


@attrs.define(slots=True)
class EndDirectory:
    """``E``: the current folder is complete."""


@attrs.define(slots=True)
class FileData:
    """Part of the file announced by the last :class:`FileHeader`."""

    data: bytes


@attrs.define(slots=True)
class FileEnd:
    """
    The announced bytes all came; ``error`` is the source's message when it could not read
    the whole file (the bytes were padded).
    """

    error: str | None = None


@attrs.define(slots=True)
class Ack:
    """The peer's ``OK`` status (a single zero byte)."""


@attrs.define(slots=True)
class Warning:
    """A status of 1: something failed and the transfer goes on."""

    message: str


@attrs.define(slots=True)
class Fatal:
    """A status of 2: the peer gives up."""

    message: str


@attrs.define(slots=True)
class Finished:
    """The peer closed its side at a point where that is allowed."""


Event = (
    Times
    | FileHeader
    | DirectoryHeader
    | EndDirectory
    | FileData
    | FileEnd
    | Ack
    | Warning
    | Fatal
    | Finished
)
