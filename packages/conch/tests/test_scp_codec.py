"""The sans-IO scp codec: records, statuses, order, limits, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._scp._codec import SCPConnection
from glisten.conch.ssh._scp._errors import SCPProtocolError
from glisten.conch.ssh._scp._events import (
    Ack,
    DirectoryHeader,
    EndDirectory,
    Event,
    Fatal,
    FileData,
    FileEnd,
    FileHeader,
    Finished,
    Times,
    Warning,
)
from glisten.conch.ssh._scp._limits import Limits

# A source's side of a recursive upload, and the events a sink sees once it answers OK to each.
UPLOAD = (
    b"T1700000000 0 1700000001 0\n"
    b"D0755 0 folder\n"
    b"C0644 5 a.txt\n"
    b"hello\x00"
    b"C0600 0 empty\n"
    b"\x00"
    b"E\n"
    b"C0644 3 top\n"
    b"xyz\x01scp: top: read error\n"
)
EXPECTED: list[Event] = [
    Times(1700000000, 1700000001),
    DirectoryHeader(0o755, b"folder"),
    FileHeader(0o644, 5, b"a.txt"),
    FileData(b"hello"),
    FileEnd(),
    FileHeader(0o600, 0, b"empty"),
    FileEnd(),
    EndDirectory(),
    FileHeader(0o644, 3, b"top"),
    FileData(b"xyz"),
    FileEnd("scp: top: read error"),
    Finished(),
]


def _merge(events: list[Event]) -> list[Event]:
    """Join consecutive FileData events (a byte at a time splits them)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, FileData) and out and isinstance(out[-1], FileData):
            out[-1] = FileData(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def _sink(chunks: list[bytes]) -> list[Event]:
    """Feed a sink ``chunks``, answering OK to everything that waits, as a sink does."""
    sink = SCPConnection("sink")
    assert sink.sendOK() == b"\x00"
    events: list[Event] = []

    def take(new: list[Event]) -> None:
        for event in new:
            events.append(event)
            if isinstance(event, Times | DirectoryHeader | FileHeader | EndDirectory | FileEnd):
                take(_answer(sink))

    for chunk in chunks:
        take(sink.receiveData(chunk))
    take(sink.receiveEOF())
    return _merge(events)


def _answer(sink: SCPConnection) -> list[Event]:
    sink.sendOK()
    return sink.receiveData(b"")


def test_sinkWhole() -> None:
    assert _sink([UPLOAD]) == EXPECTED


def test_sinkByteAtATime() -> None:
    assert _sink([UPLOAD[i : i + 1] for i in range(len(UPLOAD))]) == EXPECTED


def test_sinkHoldsInputUntilItAnswers() -> None:
    sink = SCPConnection("sink")
    # Before the ready byte, nothing is read.
    assert sink.receiveData(b"C0644 2 f\n") == []
    sink.sendOK()
    assert sink.receiveData(b"") == [FileHeader(0o644, 2, b"f")]
    # The data is not read as a record while the header waits for the answer.
    assert sink.receiveData(b"ok\x00") == []
    sink.sendOK()
    assert sink.receiveData(b"") == [FileData(b"ok"), FileEnd()]


def test_sinkRefusedFileHasNoData() -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    assert sink.receiveData(b"C0644 2 f\n") == [FileHeader(0o644, 2, b"f")]
    assert sink.sendError("scp: f: permission denied") == b"\x01scp: f: permission denied\n"
    assert sink.receiveData(b"C0644 1 g\n") == [FileHeader(0o644, 1, b"g")]


def test_sinkRefusedFolderIsNotEntered() -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    assert sink.receiveData(b"D0755 0 d\n") == [DirectoryHeader(0o755, b"d")]
    sink.sendError("no")
    assert sink.depth == 0
    with pytest.raises(SCPProtocolError):
        sink.receiveData(b"E\n")


def test_sinkWarningsAndFatal() -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    assert sink.receiveData(b"\x01scp: x: not a regular file\n") == [
        Warning("scp: x: not a regular file")
    ]
    assert sink.receiveData(b"\x02bye\x07\n") == [Fatal("bye?")]
    assert sink.receiveData(b"C0644 1 f\n") == []


@pytest.mark.parametrize(
    "line",
    [
        b"X\n",
        b"\x00",
        b"C0644 5\n",
        b"C0844 5 f\n",
        b"C06444 5 f\n",
        b"C0644 -5 f\n",
        b"C0644 5 a/b\n",
        b"C0644 5 ..\n",
        b"C0644 5 .\n",
        b"C0644 5 \n",
        b"C0644 5 a\x00b\n",
        b"C0644  5 f\n",
        b"D0755 0 ../up\n",
        b"E\n",
        b"Ex\n",
        b"T1 0 1\n",
        b"T1 1000000 1 0\n",
        b"T1 0 1 0\nT1 0 1 0\n",
        b"T1 0 1 0\nE\n",
        b"C0644 999999999999999999999 f\n",
    ],
)
def test_sinkRejects(line: bytes) -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    with pytest.raises(SCPProtocolError) as info:
        for event in sink.receiveData(line):
            if isinstance(event, Times):
                sink.sendOK()
                sink.receiveData(b"")
    # Our message, not the peer's bytes.
    text = line.decode("latin-1").strip()
    # Short inputs may be words of the fixed message by chance.
    assert len(text) < 12 or text not in str(info.value)


def test_sinkLimits() -> None:
    limits = Limits(maxLineLength=64, maxNameLength=8, maxDepth=2, maxFileSize=10)
    sink = SCPConnection("sink", limits)
    sink.sendOK()
    with pytest.raises(SCPProtocolError, match="too long"):
        sink.receiveData(b"C0644 1 " + b"a" * 100)
    for line, message in [
        (b"C0644 1 abcdefghi\n", "name"),
        (b"C0644 11 f\n", "too large"),
    ]:
        sink = SCPConnection("sink", limits)
        sink.sendOK()
        with pytest.raises(SCPProtocolError, match=message):
            sink.receiveData(line)
    sink = SCPConnection("sink", limits)
    sink.sendOK()
    for _ in range(2):
        sink.receiveData(b"D0755 0 d\n")
        sink.sendOK()
    with pytest.raises(SCPProtocolError, match="deep"):
        sink.receiveData(b"D0755 0 d\n")


@pytest.mark.parametrize(
    "data",
    [b"C0644 5 f\n", b"D0755 0 d\n", b"T1 0 1 0\n", b"C06", b"\x01half a message"],
)
def test_sinkEOFInTheMiddle(data: bytes) -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    for event in sink.receiveData(data):
        if not isinstance(event, Warning):
            sink.sendOK()
    with pytest.raises(SCPProtocolError, match="closed"):
        sink.receiveEOF()


def test_sinkMisuse() -> None:
    sink = SCPConnection("sink")
    sink.sendOK()
    with pytest.raises(RuntimeError):
        sink.sendOK()
    with pytest.raises(RuntimeError):
        sink.sendFileHeader(0o644, 1, b"f")
    assert sink.sendError("stop", fatal=True) == b"\x02stop\n"
    assert sink.receiveData(b"C0644 1 f\n") == []
    with pytest.raises(ValueError):
        SCPConnection("both")  # type: ignore[arg-type]


def test_source() -> None:
    source = SCPConnection("source")
    assert source.receiveData(b"\x00") == [Ack()]
    assert source.sendTimes(5, 6) == b"T5 0 6 0\n"
    assert source.receiveData(b"\x00") == [Ack()]
    assert source.sendDirectoryHeader(0o40755, b"d") == b"D0755 0 d\n"
    assert source.receiveData(b"\x00") == [Ack()]
    assert source.depth == 1
    assert source.sendFileHeader(0o100640, 3, b"f") == b"C0640 3 f\n"
    with pytest.raises(RuntimeError):
        source.sendFileData(b"abc")
    assert source.receiveData(b"\x00") == [Ack()]
    with pytest.raises(RuntimeError):
        source.sendFileData(b"abcd")
    assert source.sendFileData(b"ab") + source.sendFileData(b"c") == b"abc"
    assert source.sendFileEnd() == b"\x00"
    assert source.receiveData(b"\x01scp: f: disk full\n") == [Warning("scp: f: disk full")]
    assert source.sendFileHeader(0o644, 0, b"g") == b"C0644 0 g\n"
    assert source.receiveData(b"\x01no\n") == [Warning("no")]
    # The refused file sends no data.
    with pytest.raises(RuntimeError):
        source.sendFileEnd()
    assert source.sendError("scp: x: not a regular file") == b"\x01scp: x: not a regular file\n"
    assert source.sendEndDirectory() == b"E\n"
    assert source.receiveData(b"\x00") == [Ack()]
    with pytest.raises(RuntimeError):
        source.sendEndDirectory()
    assert source.sendFileHeader(0o644, 1, b"h") == b"C0644 1 h\n"
    source.receiveData(b"\x00")
    source.sendFileData(b"?")
    assert source.sendFileEnd("scp: h: read error") == b"\x01scp: h: read error\n"
    assert source.receiveData(b"\x02gone\n") == [Fatal("gone")]
    assert source.receiveEOF() == []


def test_sourceRejects() -> None:
    source = SCPConnection("source")
    with pytest.raises(SCPProtocolError, match="status"):
        source.receiveData(b"C0644 1 f\n")
    source = SCPConnection("source")
    source.receiveData(b"\x00")
    with pytest.raises(SCPProtocolError, match="answers nothing"):
        source.receiveData(b"\x00")
    source = SCPConnection("source")
    source.receiveData(b"\x00")
    source.sendFileHeader(0o644, 1, b"f")
    with pytest.raises(SCPProtocolError, match="closed"):
        source.receiveEOF()
    source = SCPConnection("source")
    with pytest.raises(RuntimeError):
        source.sendFileHeader(0o644, 1, b"f")
    source.receiveData(b"\x00")
    for bad in (b"", b".", b"..", b"a/b", b"a\nb"):
        with pytest.raises(ValueError):
            source.sendFileHeader(0o644, 1, bad)
    assert source.receiveEOF() == [Finished()]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_sinkRandomInput(data: bytes, step: int) -> None:
    """Any bytes make events or an SCPProtocolError, never another exception."""
    sink = SCPConnection("sink", Limits(maxLineLength=64, maxDepth=3))
    sink.sendOK()
    try:
        for i in range(0, len(data), step):
            for event in sink.receiveData(data[i : i + step]):
                if isinstance(event, Times | DirectoryHeader | FileHeader | EndDirectory | FileEnd):
                    sink.sendOK()
            sink.receiveData(b"")
        sink.receiveEOF()
    except SCPProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sinkMutatedInput(data: st.DataObject) -> None:
    """A valid upload with a byte changed, dropped or added: events or SCPProtocolError."""
    upload = bytearray(UPLOAD)
    position = data.draw(st.integers(0, len(upload) - 1))
    action = data.draw(st.sampled_from(["flip", "drop", "add"]))
    if action == "flip":
        upload[position] = data.draw(st.integers(0, 255))
    elif action == "drop":
        del upload[position]
    else:
        upload.insert(position, data.draw(st.integers(0, 255)))
    try:
        _sink([bytes(upload)])
    except SCPProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_sourceRandomInput(data: bytes) -> None:
    source = SCPConnection("source", Limits(maxLineLength=64))
    try:
        source.receiveData(data)
    except SCPProtocolError:
        pass
