"""
The SFTP v3 codec: frames packets (``uint32 length``, ``byte type``, fields), decodes requests
on the server and replies on the client, and encodes the other direction.

A ``length`` beyond :attr:`Limits.maxPacketLength`, a packet too short for its type and a
session that does not start with ``INIT``/``VERSION`` are :class:`SFTPProtocolError` (the
session ends). A request whose fields do not decode, but whose id could be read, becomes a
:class:`BadRequest` so the server answers it and goes on, as OpenSSH's server does.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from glisten.conch.ssh._sftp._errors import SFTPProtocolError
from glisten.conch.ssh._sftp._events import (
    Attributes,
    Attrs,
    BadRequest,
    Data,
    ExtendedReply,
    Handle,
    Init,
    Name,
    Request,
    Status,
    UnknownRequest,
    Version,
)
from glisten.conch.ssh._sftp._limits import Limits
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader

FXP_INIT = 1
FXP_VERSION = 2
FXP_OPEN = 3
FXP_CLOSE = 4
FXP_READ = 5
FXP_WRITE = 6
FXP_LSTAT = 7
FXP_FSTAT = 8
FXP_SETSTAT = 9
FXP_FSETSTAT = 10
FXP_OPENDIR = 11
FXP_READDIR = 12
FXP_REMOVE = 13
FXP_MKDIR = 14
FXP_RMDIR = 15
FXP_REALPATH = 16
FXP_STAT = 17
FXP_RENAME = 18
FXP_READLINK = 19
FXP_SYMLINK = 20
FXP_STATUS = 101
FXP_HANDLE = 102
FXP_DATA = 103
FXP_NAME = 104
FXP_ATTRS = 105
FXP_EXTENDED = 200
FXP_EXTENDED_REPLY = 201

FILEXFER_ATTR_SIZE = 0x00000001
FILEXFER_ATTR_UIDGID = 0x00000002
FILEXFER_ATTR_PERMISSIONS = 0x00000004
FILEXFER_ATTR_ACMODTIME = 0x00000008
FILEXFER_ATTR_EXTENDED = 0x80000000

#: The longest handle we accept or make (OpenSSH's are 4 bytes).
MAX_HANDLE = 256
#: The longest extended request name.
MAX_EXTENDED_NAME = 256
#: How far into a packet the data of a ``WRITE`` may start (length, type, id, handle, offset,
#: data length).
_DATA_START_MAX = 4 + 1 + 4 + 4 + MAX_HANDLE + 8 + 4

# Field kinds: p path, h handle, u uint32, q uint64, a attributes, d data string, n extension
# name, r the rest of the packet.
REQUEST_FIELDS: dict[int, str] = {
    FXP_OPEN: "pua",
    FXP_CLOSE: "h",
    FXP_READ: "hqu",
    FXP_WRITE: "hqd",
    FXP_LSTAT: "p",
    FXP_FSTAT: "h",
    FXP_SETSTAT: "pa",
    FXP_FSETSTAT: "ha",
    FXP_OPENDIR: "p",
    FXP_READDIR: "h",
    FXP_REMOVE: "p",
    FXP_MKDIR: "pa",
    FXP_RMDIR: "p",
    FXP_REALPATH: "p",
    FXP_STAT: "p",
    FXP_RENAME: "pp",
    FXP_READLINK: "p",
    FXP_SYMLINK: "pp",
    FXP_EXTENDED: "nr",
}

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEAD = struct.Struct(">IBI")
_DATA_HEAD = struct.Struct(">IBII")


def packAttributes(attrs: Attributes) -> bytes:
    """Encode a Twisted-style attribute dictionary; unknown keys are ignored."""
    flags = 0
    parts: list[bytes] = []
    if "size" in attrs:
        flags |= FILEXFER_ATTR_SIZE
        parts.append(_U64.pack(attrs["size"]))
    if "uid" in attrs and "gid" in attrs:
        flags |= FILEXFER_ATTR_UIDGID
        parts.append(_U32.pack(attrs["uid"]) + _U32.pack(attrs["gid"]))
    if "permissions" in attrs:
        flags |= FILEXFER_ATTR_PERMISSIONS
        parts.append(_U32.pack(attrs["permissions"]))
    if "atime" in attrs and "mtime" in attrs:
        flags |= FILEXFER_ATTR_ACMODTIME
        parts.append(_U32.pack(attrs["atime"]) + _U32.pack(attrs["mtime"]))
    extended = [(k[4:].encode("utf-8"), v) for k, v in attrs.items() if k.startswith("ext_")]
    if extended:
        flags |= FILEXFER_ATTR_EXTENDED
        parts.append(_U32.pack(len(extended)))
        for name, value in extended:
            parts.append(_string(name) + _string(value))
    return _U32.pack(flags) + b"".join(parts)


def _string(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


def _readAttributes(r: Reader, limits: Limits) -> Attributes:
    flags = r.uint32()
    attrs: Attributes = {}
    if flags & FILEXFER_ATTR_SIZE:
        attrs["size"] = r.uint64()
    if flags & FILEXFER_ATTR_UIDGID:
        attrs["uid"] = r.uint32()
        attrs["gid"] = r.uint32()
    if flags & FILEXFER_ATTR_PERMISSIONS:
        attrs["permissions"] = r.uint32()
    if flags & FILEXFER_ATTR_ACMODTIME:
        attrs["atime"] = r.uint32()
        attrs["mtime"] = r.uint32()
    if flags & FILEXFER_ATTR_EXTENDED:
        count = r.uint32()
        if count > limits.maxExtensions:
            raise DecodeError("too many extended attributes")
        for _ in range(count):
            name = r.string().decode("utf-8", "replace")
            attrs["ext_" + name] = r.string()
    return attrs


def _readExtensions(r: Reader, limits: Limits) -> list[tuple[bytes, bytes]]:
    extensions: list[tuple[bytes, bytes]] = []
    while r.remaining():
        if len(extensions) >= limits.maxExtensions:
            raise DecodeError("too many extensions")
        extensions.append((r.string(), r.string()))
    return extensions


class SFTPCodec:
    """
    One side of an SFTP session.

    :param client: ``True`` on the client (reads replies), ``False`` on the server (reads
        requests).
    :param limits: what the peer may send.
    :ivar budget: packets :meth:`receiveData` may still read before it stops and keeps the
        rest buffered (``None``: no bound); an adapter sets it once per turn of its event loop.
    """

    __slots__ = ("_buffered", "_chunks", "_client", "_started", "budget", "limits")

    def __init__(self, client: bool, limits: Limits | None = None) -> None:
        self._client = client
        self.limits = limits or Limits()
        # What arrived and was not read yet, as it arrived: a packet larger than one channel
        # packet (a 256 KiB write or read reply) is joined once when all of it is here, rather
        # than appended piece by piece to a buffer and copied out of it.
        self._chunks: deque[bytes | memoryview] = deque()
        self._buffered = 0
        self._started = False
        self.budget: int | None = None

    # ------------------------------------------------------------------ receiving

    def receiveData(self, data: bytes) -> list[Any]:
        """
        Feed bytes from the channel.

        :return: the events of every complete packet.
        :raises SFTPProtocolError: a lying length, a truncated packet, or a wrong first packet.
        """
        chunks = self._chunks
        if data:
            # Kept as it came until its packet is complete: a mutable buffer is copied first.
            chunks.append(data if type(data) is bytes else bytes(data))
            self._buffered += len(data)
        events: list[Any] = []
        maxLength = self.limits.maxPacketLength
        while self._buffered >= 4 and self.budget != 0:
            first = chunks[0]
            if len(first) >= 4:
                (length,) = _U32.unpack_from(first)
            else:
                (length,) = _U32.unpack(self._peek(4))
            if length == 0 or length > maxLength:
                chunks.clear()
                self._buffered = 0
                raise SFTPProtocolError("bad packet length")
            if self._buffered - 4 < length:
                break
            first = chunks[0]
            if len(first) >= 4 + length:
                # The whole packet is in the first chunk: read through a view of it.
                view = first if type(first) is memoryview else memoryview(first)
                chunks[0] = view[4 + length :]
                if not chunks[0]:
                    chunks.popleft()
                self._buffered -= 4 + length
                event = self._packet(view[4 : 4 + length])
            else:
                event = self._spanning(length)
            if self.budget is not None:
                self.budget -= 1
            events.append(event)
        return events

    def _spanning(self, length: int) -> Any:
        """
        The event of a packet that spans chunks (a 256 KiB write or read reply comes in 32 KiB
        channel packets). The data of a ``WRITE`` (server) or ``DATA`` (client), nearly all
        of such a packet, is joined from the chunks as the ``bytes`` handed on: its one copy.
        The rest is decoded as any packet, the data put in afterwards.
        """
        head = self._peek(min(4 + length, _DATA_START_MAX))
        start = self._dataStart(head)
        size = _U32.unpack_from(head, start - 4)[0] if start is not None else 0
        if start is None or start + size > 4 + length:
            # Another packet, or a lying data length (decoded as any packet, so it becomes
            # the usual error).
            return self._packet(memoryview(self._take(4 + length))[4:])
        self._take(start)
        data = self._take(size)
        self._take(4 + length - start - size)
        event = self._packet(memoryview(head[4 : start - 4] + b"\0\0\0\0"))
        if isinstance(event, Request):
            event.args = (*event.args[:-1], data)
        elif isinstance(event, Data):
            event.data = data
        return event

    def _dataStart(self, head: bytes) -> int | None:
        """Where the data of the ``WRITE``/``DATA`` packet starting with ``head`` begins (after
        its length field), or ``None`` for another packet."""
        if not self._started or len(head) < 13:
            return None
        if self._client:
            return 13 if head[4] == FXP_DATA else None
        if head[4] != FXP_WRITE:
            return None
        (handleLength,) = _U32.unpack_from(head, 9)
        if handleLength > MAX_HANDLE or len(head) < 13 + handleLength + 12:
            return None
        return 13 + handleLength + 12

    def _peek(self, size: int) -> bytes:
        """The first ``size`` buffered bytes (fewer than that are in the first chunk)."""
        head = b""
        for chunk in self._chunks:
            head += bytes(chunk[: size - len(head)])
            if len(head) == size:
                break
        return head

    def _take(self, size: int) -> bytes:
        """Remove the first ``size`` buffered bytes (that many are buffered), joined."""
        chunks = self._chunks
        self._buffered -= size
        pieces: list[bytes | memoryview] = []
        while size:
            chunk = chunks.popleft()
            if len(chunk) > size:
                chunk = chunk if type(chunk) is memoryview else memoryview(chunk)
                chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            pieces.append(chunk)
            size -= len(chunk)
        if len(pieces) == 1 and type(pieces[0]) is bytes:
            return pieces[0]
        return b"".join(pieces)

    def _packet(self, packet: memoryview) -> Any:
        kind = packet[0]
        if not self._started:
            expected = FXP_VERSION if self._client else FXP_INIT
            if kind != expected:
                raise SFTPProtocolError("the session must start with INIT and VERSION")
            self._started = True
            r = Reader(packet, 1, maxString=self.limits.maxPathLength)
            try:
                version = r.uint32()
                extensions = _readExtensions(r, self.limits)
            except DecodeError:
                raise SFTPProtocolError("malformed INIT or VERSION") from None
            return (Version if self._client else Init)(version, extensions)
        if kind in (FXP_INIT, FXP_VERSION):
            raise SFTPProtocolError("INIT or VERSION sent twice")
        if len(packet) < 5:
            raise SFTPProtocolError("packet too short for a request id")
        (requestId,) = _U32.unpack_from(packet, 1)
        if self._client:
            try:
                return self._reply(kind, requestId, packet)
            except DecodeError:
                raise SFTPProtocolError("malformed reply") from None
        fields = REQUEST_FIELDS.get(kind)
        if fields is None:
            return UnknownRequest(requestId)
        try:
            return Request(requestId, kind, self._fields(fields, packet))
        except DecodeError as e:
            return BadRequest(requestId, e.message)

    def _fields(self, fields: str, packet: memoryview) -> tuple[Any, ...]:
        limits = self.limits
        r = Reader(packet, 5, maxString=limits.maxPacketLength)
        args: list[Any] = []
        for f in fields:
            if f == "p":
                value = r.string()
                if len(value) > limits.maxPathLength:
                    raise DecodeError("path too long")
                args.append(value)
            elif f == "h":
                value = r.string()
                if len(value) > MAX_HANDLE:
                    raise DecodeError("handle too long")
                args.append(value)
            elif f == "u":
                args.append(r.uint32())
            elif f == "q":
                args.append(r.uint64())
            elif f == "a":
                args.append(_readAttributes(r, limits))
            elif f == "d":
                args.append(r.string())
            elif f == "n":
                value = r.string()
                if len(value) > MAX_EXTENDED_NAME:
                    raise DecodeError("extended request name too long")
                args.append(value)
            else:
                args.append(r.rest())
        # Trailing bytes are tolerated: clients (OpenSSH's among them) may add fields that
        # later versions define.
        return tuple(args)

    def _reply(self, kind: int, requestId: int, packet: memoryview) -> Any:
        limits = self.limits
        r = Reader(packet, 5, maxString=limits.maxPacketLength)
        if kind == FXP_STATUS:
            code = r.uint32()
            # OpenSSH before 3.x sent no message; take what is there.
            message = r.string() if r.remaining() else b""
            language = r.string() if r.remaining() else b""
            return Status(requestId, code, message, language)
        if kind == FXP_HANDLE:
            handle = r.string()
            if len(handle) > MAX_HANDLE:
                raise DecodeError("handle too long")
            return Handle(requestId, handle)
        if kind == FXP_DATA:
            return Data(requestId, r.string())
        if kind == FXP_NAME:
            count = r.uint32()
            if count > limits.maxNames or count * 12 > r.remaining():
                raise DecodeError("bad name count")
            names = [(r.string(), r.string(), _readAttributes(r, limits)) for _ in range(count)]
            return Name(requestId, names)
        if kind == FXP_ATTRS:
            return Attrs(requestId, _readAttributes(r, limits))
        if kind == FXP_EXTENDED_REPLY:
            return ExtendedReply(requestId, r.rest())
        raise SFTPProtocolError("unknown reply type")

    # ------------------------------------------------------------------ sending (server)

    def sendVersion(self, extensions: list[tuple[bytes, bytes]], version: int = 3) -> bytes:
        """The ``VERSION`` answering ``INIT``."""
        body = bytes([FXP_VERSION]) + _U32.pack(version)
        body += b"".join(_string(n) + _string(v) for n, v in extensions)
        return _U32.pack(len(body)) + body

    def sendStatus(self, requestId: int, code: int, message: bytes = b"") -> bytes:
        """A ``STATUS`` reply; ``message`` must be ours, not the peer's bytes."""
        payload = _U32.pack(code) + _string(message) + _string(b"")
        return _HEAD.pack(len(payload) + 5, FXP_STATUS, requestId) + payload

    def sendHandle(self, requestId: int, handle: bytes) -> bytes:
        """A ``HANDLE`` reply."""
        return _HEAD.pack(len(handle) + 9, FXP_HANDLE, requestId) + _string(handle)

    def sendData(self, requestId: int, data: bytes) -> bytes:
        """A ``DATA`` reply."""
        return self.dataHeader(requestId, len(data)) + data

    def dataHeader(self, requestId: int, length: int) -> bytes:
        """
        The start of a ``DATA`` reply of ``length`` bytes, for a sender that writes the data
        after it as it is (a 256 KiB read is then not copied to make the reply).
        """
        return _DATA_HEAD.pack(length + 9, FXP_DATA, requestId, length)

    def sendName(self, requestId: int, names: list[tuple[bytes, bytes, Attributes]]) -> bytes:
        """A ``NAME`` reply of ``(filename, longname, attributes)`` entries."""
        payload = _U32.pack(len(names)) + b"".join(
            _string(f) + _string(ln) + packAttributes(a) for f, ln, a in names
        )
        return _HEAD.pack(len(payload) + 5, FXP_NAME, requestId) + payload

    def sendAttrs(self, requestId: int, attrs: Attributes) -> bytes:
        """An ``ATTRS`` reply."""
        payload = packAttributes(attrs)
        return _HEAD.pack(len(payload) + 5, FXP_ATTRS, requestId) + payload

    def sendExtendedReply(self, requestId: int, data: bytes) -> bytes:
        """An ``EXTENDED_REPLY``."""
        return _HEAD.pack(len(data) + 5, FXP_EXTENDED_REPLY, requestId) + data

    # ------------------------------------------------------------------ sending (client)

    def sendInit(self, extensions: list[tuple[bytes, bytes]], version: int = 3) -> bytes:
        """The client's ``INIT``."""
        body = bytes([FXP_INIT]) + _U32.pack(version)
        body += b"".join(_string(n) + _string(v) for n, v in extensions)
        return _U32.pack(len(body)) + body

    def sendRequest(self, requestId: int, kind: int, args: tuple[Any, ...]) -> bytes:
        """
        A request of ``kind`` with ``args`` in the order :class:`Request` gives them.

        :raises ValueError: ``kind`` is not a request type.
        """
        fields = REQUEST_FIELDS.get(kind)
        if fields is None or len(fields) != len(args):
            raise ValueError("not a request type, or the wrong number of fields")
        parts: list[bytes] = []
        for f, value in zip(fields, args, strict=True):
            if f in "phdn":
                parts.append(_U32.pack(len(value)))
                parts.append(value)
            elif f == "u":
                parts.append(_U32.pack(value))
            elif f == "q":
                parts.append(_U64.pack(value))
            elif f == "a":
                parts.append(packAttributes(value))
            else:
                parts.append(value)
        payload = b"".join(parts)
        return _HEAD.pack(len(payload) + 5, kind, requestId) + payload
