"""The sans-IO SFTP codec: framing, every request and reply, limits, bad input."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._sftp import _codec as c
from glisten.conch.ssh._sftp._errors import SFTPProtocolError
from glisten.conch.ssh._sftp._events import (
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

ATTRS = {"size": 5, "uid": 1, "gid": 2, "permissions": 0o100644, "atime": 3, "mtime": 4}

REQUESTS: list[tuple[int, tuple[Any, ...]]] = [
    (c.FXP_OPEN, (b"/a", 0x1A, ATTRS)),
    (c.FXP_CLOSE, (b"h1",)),
    (c.FXP_READ, (b"h1", 1 << 40, 32768)),
    (c.FXP_WRITE, (b"h1", 7, b"data" * 100)),
    (c.FXP_LSTAT, (b"/l",)),
    (c.FXP_FSTAT, (b"h",)),
    (c.FXP_SETSTAT, (b"/s", {"permissions": 0o600, "ext_x@y": b"z"})),
    (c.FXP_FSETSTAT, (b"h", {})),
    (c.FXP_OPENDIR, (b"/d",)),
    (c.FXP_READDIR, (b"h",)),
    (c.FXP_REMOVE, (b"/r",)),
    (c.FXP_MKDIR, (b"/m", {"permissions": 0o700})),
    (c.FXP_RMDIR, (b"/m",)),
    (c.FXP_REALPATH, (b".",)),
    (c.FXP_STAT, (b"/s",)),
    (c.FXP_RENAME, (b"/a", b"/b")),
    (c.FXP_READLINK, (b"/l",)),
    (c.FXP_SYMLINK, (b"target", b"/link")),
    (c.FXP_EXTENDED, (b"statvfs@openssh.com", b"\x00\x00\x00\x01/")),
]


def _stream() -> tuple[bytes, list[Any]]:
    client = c.SFTPCodec(True)
    data = client.sendInit([(b"ext@x", b"1")])
    expected: list[Any] = [Init(3, [(b"ext@x", b"1")])]
    for i, (kind, args) in enumerate(REQUESTS):
        data += client.sendRequest(i, kind, args)
        expected.append(Request(i, kind, args))
    return data, expected


def test_requestsWholeAndByteAtATime() -> None:
    data, expected = _stream()
    assert c.SFTPCodec(False).receiveData(data) == expected
    server = c.SFTPCodec(False)
    events: list[Any] = []
    for i in range(len(data)):
        events += server.receiveData(data[i : i + 1])
    assert events == expected


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_anyChunkingGivesTheSameEvents(draw: st.DataObject) -> None:
    """Packets cut anywhere (a 64 KiB write spans many channel packets, a channel packet holds
    many requests, a length field is split) come out whole, in order, within the budget."""
    data, expected = _stream()
    big = c.SFTPCodec(True).sendRequest(99, c.FXP_WRITE, (b"h", 0, bytes(range(256)) * 256))
    data += big
    expected = [*expected, Request(99, c.FXP_WRITE, (b"h", 0, bytes(range(256)) * 256))]
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=40)))
    budget = draw.draw(st.integers(1, 8))
    server = c.SFTPCodec(False)
    events: list[Any] = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        server.budget = budget
        got = server.receiveData(bytearray(data[start:end]))
        assert len(got) <= budget
        events += got
    while len(events) < len(expected):
        server.budget = budget
        got = server.receiveData(b"")
        assert got
        events += got
    assert events == expected


def _outcome(codec: c.SFTPCodec, pieces: list[bytes]) -> tuple[list[Any], bool]:
    """The events ``codec`` gives for ``pieces`` fed in turn, and whether it raised the
    protocol's error (anything else fails the test)."""
    events: list[Any] = []
    try:
        for piece in pieces:
            # One packet per call, so the events before an error are kept.
            codec.budget = 1
            got = codec.receiveData(piece)
            while got:
                events += got
                codec.budget = 1
                got = codec.receiveData(b"")
    except SFTPProtocolError:
        return events, True
    return events, False


def _bigPackets(client: bool) -> bytes:
    """A session holding packets larger than a channel packet, between small ones."""
    block = bytes(range(256)) * 300
    if client:
        server = c.SFTPCodec(False)
        return (
            server.sendVersion([])
            + server.sendStatus(1, 0)
            + server.sendData(2, block)
            + server.sendData(3, b"")
            + server.sendHandle(4, b"h")
            + server.sendData(5, block[:40000])
        )
    client_ = c.SFTPCodec(True)
    return (
        client_.sendInit([])
        + client_.sendRequest(1, c.FXP_WRITE, (b"h" * 200, 1 << 33, block))
        + client_.sendRequest(2, c.FXP_READ, (b"h", 0, 10))
        + client_.sendRequest(3, c.FXP_WRITE, (b"", 0, b""))
        + client_.sendRequest(4, c.FXP_WRITE, (b"h", 5, block[:40000]))
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_bigPacketsInPiecesAsWhole(draw: st.DataObject) -> None:
    """
    A ``WRITE`` or ``DATA`` spanning chunks (its data joined straight from them) decodes as
    when it comes whole, also when its bytes are mutated (lying inner lengths, long handles,
    other types, trailing bytes): the same events, the same protocol error.
    """
    client = draw.draw(st.booleans())
    data = bytearray(_bigPackets(client))
    for _ in range(draw.draw(st.integers(0, 4))):
        # Mostly the headers, where the lengths and types are.
        i = draw.draw(st.one_of(st.integers(0, 300), st.integers(0, len(data) - 1)))
        data[i] = draw.draw(st.integers(0, 255))
    whole = _outcome(c.SFTPCodec(client), [bytes(data)])
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=30)))
    pieces = [bytes(data[a:b]) for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert _outcome(c.SFTPCodec(client), pieces) == whole


def test_bigPacketsInChannelSizedPieces() -> None:
    """The unmutated sessions, cut as OpenSSH's 32 KiB channel packets cut them."""
    for client in (False, True):
        data = _bigPackets(client)
        pieces = [data[i : i + 32768] for i in range(0, len(data), 32768)]
        events, failed = _outcome(c.SFTPCodec(client), pieces)
        assert not failed
        assert (events, failed) == _outcome(c.SFTPCodec(client), [data])
        assert len(events) == (6 if client else 5)


def _replies() -> tuple[bytes, list[Any]]:
    server = c.SFTPCodec(False)
    data = server.sendVersion([(b"posix-rename@openssh.com", b"1")])
    expected: list[Any] = [Version(3, [(b"posix-rename@openssh.com", b"1")])]
    data += server.sendStatus(1, 2, b"no such file")
    expected.append(Status(1, 2, b"no such file", b""))
    data += server.sendHandle(2, b"17")
    expected.append(Handle(2, b"17"))
    data += server.sendData(3, b"x" * 1000)
    expected.append(Data(3, b"x" * 1000))
    data += server.sendName(4, [(b"a", b"-rw a", ATTRS), (b"b", b"b", {})])
    expected.append(Name(4, [(b"a", b"-rw a", ATTRS), (b"b", b"b", {})]))
    data += server.sendAttrs(5, ATTRS)
    expected.append(Attrs(5, ATTRS))
    data += server.sendExtendedReply(6, b"\x00" * 8)
    expected.append(ExtendedReply(6, b"\x00" * 8))
    return data, expected


def test_repliesWholeAndByteAtATime() -> None:
    data, expected = _replies()
    assert c.SFTPCodec(True).receiveData(data) == expected
    client = c.SFTPCodec(True)
    events: list[Any] = []
    for i in range(len(data)):
        events += client.receiveData(data[i : i + 1])
    assert events == expected


def _started(client: bool = False, limits: Limits | None = None) -> c.SFTPCodec:
    codec = c.SFTPCodec(client, limits)
    if client:
        codec.receiveData(c.SFTPCodec(False).sendVersion([]))
    else:
        codec.receiveData(c.SFTPCodec(True).sendInit([]))
    return codec


def test_lyingLengthIsAProtocolError() -> None:
    codec = _started()
    with pytest.raises(SFTPProtocolError):
        codec.receiveData(struct.pack(">I", 0xFFFFFFF0) + b"\x03")
    with pytest.raises(SFTPProtocolError):
        _started().receiveData(b"\x00\x00\x00\x00")


def test_lengthUpToTheLimitWaitsForTheRest() -> None:
    codec = _started(limits=Limits(maxPacketLength=1000))
    assert codec.receiveData(struct.pack(">I", 1000) + b"\x06") == []
    with pytest.raises(SFTPProtocolError):
        _started(limits=Limits(maxPacketLength=1000)).receiveData(struct.pack(">I", 1001))


def test_innerLengthLyingIsABadRequest() -> None:
    """A string length beyond its packet: the id is known, so the answer is a status."""
    body = bytes([c.FXP_OPEN]) + struct.pack(">I", 9) + struct.pack(">I", 0xFFFFFFFF) + b"ab"
    events = _started().receiveData(struct.pack(">I", len(body)) + body)
    assert events == [BadRequest(9, "string too long")]


def test_pathLimit() -> None:
    codec = _started(limits=Limits(maxPathLength=10))
    packet = c.SFTPCodec(True).sendRequest(1, c.FXP_STAT, (b"/" * 11,))
    assert codec.receiveData(packet) == [BadRequest(1, "path too long")]
    assert codec.receiveData(c.SFTPCodec(True).sendRequest(2, c.FXP_STAT, (b"/" * 10,))) == [
        Request(2, c.FXP_STAT, (b"/" * 10,))
    ]


def test_attributeExtensionCountLimit() -> None:
    attrs = struct.pack(">II", c.FILEXFER_ATTR_EXTENDED, 1_000_000)
    body = bytes([c.FXP_SETSTAT]) + struct.pack(">I", 4) + struct.pack(">I", 1) + b"/" + attrs
    events = _started().receiveData(struct.pack(">I", len(body)) + body)
    assert events == [BadRequest(4, "too many extended attributes")]


def test_unknownTypeIsUnsupported() -> None:
    body = bytes([99]) + struct.pack(">I", 3)
    assert _started().receiveData(struct.pack(">I", len(body)) + body) == [UnknownRequest(3)]


def test_mustStartWithInit() -> None:
    codec = c.SFTPCodec(False)
    with pytest.raises(SFTPProtocolError):
        codec.receiveData(c.SFTPCodec(True).sendRequest(1, c.FXP_STAT, (b"/",)))
    codec = _started()
    with pytest.raises(SFTPProtocolError):
        codec.receiveData(c.SFTPCodec(True).sendInit([]))


def test_noIdIsAProtocolError() -> None:
    with pytest.raises(SFTPProtocolError):
        _started().receiveData(b"\x00\x00\x00\x02\x03\x00")


def test_clientRejectsAbsurdNameCount() -> None:
    body = bytes([c.FXP_NAME]) + struct.pack(">II", 1, 0xFFFFFFFF)
    with pytest.raises(SFTPProtocolError):
        _started(client=True).receiveData(struct.pack(">I", len(body)) + body)


def test_sendRequestChecksItsArguments() -> None:
    with pytest.raises(ValueError):
        c.SFTPCodec(True).sendRequest(1, c.FXP_STATUS, ())
    with pytest.raises(ValueError):
        c.SFTPCodec(True).sendRequest(1, c.FXP_OPEN, (b"/",))


def _feed(codec: c.SFTPCodec, data: bytes) -> None:
    try:
        codec.receiveData(data)
    except SFTPProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_randomBytesOnlyRaiseTheProtocolError(data: bytes, client: bool) -> None:
    _feed(_started(client), data)
    _feed(c.SFTPCodec(client), data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutatedStreamsOnlyRaiseTheProtocolError(draw: st.DataObject) -> None:
    client = draw.draw(st.booleans())
    data = bytearray((_replies if client else _stream)()[0])
    for _ in range(draw.draw(st.integers(1, 8))):
        i = draw.draw(st.integers(0, len(data) - 1))
        data[i] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(data)))
    _feed(c.SFTPCodec(client), bytes(data[:cut]))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["size", "permissions", "uid", "gid", "atime", "mtime"]),
        st.integers(0, 0xFFFFFFFF),
    )
)
def test_attributesRoundTrip(attrs: dict[str, int]) -> None:
    # uid/gid and atime/mtime travel in pairs.
    expected = {
        k: v
        for k, v in attrs.items()
        if not (k in ("uid", "gid") and not {"uid", "gid"} <= attrs.keys())
        and not (k in ("atime", "mtime") and not {"atime", "mtime"} <= attrs.keys())
    }
    packet = c.SFTPCodec(False).sendAttrs(1, attrs)
    assert _started(client=True).receiveData(packet) == [Attrs(1, expected)]


def test_dataHeaderStartsTheDataReply() -> None:
    """``dataHeader`` and the data after it are the ``DATA`` reply ``sendData`` makes."""
    codec = c.SFTPCodec(False)
    data = bytes(range(256)) * 3
    assert codec.dataHeader(7, len(data)) + data == codec.sendData(7, data)
    assert _started(client=True).receiveData(codec.dataHeader(7, len(data)) + data) == [
        Data(7, data)
    ]


def _write(dataLength: int, data: bytes, trailing: bytes = b"") -> bytes:
    """A ``WRITE`` of ``data`` whose data length field says ``dataLength``."""
    body = (
        bytes([c.FXP_WRITE])
        + struct.pack(">I", 9)
        + struct.pack(">I", 3)
        + b"abc"
        + struct.pack(">Q", 77)
        + struct.pack(">I", dataLength)
        + data
        + trailing
    )
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    ("dataLength", "trailing"),
    [(50000, b""), (50000, b"later fields"), (49990, b""), (50001, b""), (50008, b""), (0, b"")],
)
def test_bigWriteFieldsInPieces(dataLength: int, trailing: bytes) -> None:
    """
    A ``WRITE`` spanning chunks: trailing bytes are skipped, a data length a little short
    leaves the rest as trailing bytes, one beyond the packet is a bad request, as whole.
    """
    data = bytes(range(250)) * 200
    stream = _write(dataLength, data, trailing) + c.SFTPCodec(True).sendRequest(
        10, c.FXP_CLOSE, (b"abc",)
    )
    if dataLength > len(data) + len(trailing):
        first: Any = BadRequest(9, "truncated message")
    else:
        first = Request(9, c.FXP_WRITE, (b"abc", 77, data[:dataLength]))
    expected = ([first, Request(10, c.FXP_CLOSE, (b"abc",))], False)
    init = c.SFTPCodec(True).sendInit([])
    whole = _outcome(c.SFTPCodec(False), [init, stream])
    assert whole[0][1:] == expected[0] and whole[1] is False
    pieces = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert _outcome(c.SFTPCodec(False), [init, *pieces]) == whole


@pytest.mark.parametrize("extra", [1, 4, 8])
def test_bigDataReplyLyingInPieces(extra: int) -> None:
    """A ``DATA`` reply spanning chunks whose data length runs past it ends the session."""
    data = bytes(range(250)) * 200
    body = bytes([c.FXP_DATA]) + struct.pack(">II", 5, len(data) + extra) + data
    stream = struct.pack(">I", len(body)) + body
    version = c.SFTPCodec(False).sendVersion([])
    pieces = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert _outcome(c.SFTPCodec(True), [version, *pieces]) == ([Version(3, [])], True)
    assert _outcome(c.SFTPCodec(True), [version, stream]) == ([Version(3, [])], True)
