"""Tests for glisten.protocols.basic: every receiver fed whole, byte by byte and randomly."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.testing import StringTransport
from glisten.protocols import basic

Feeder = Callable[[Any, bytes], None]


def feedWhole(proto: Any, data: bytes) -> None:
    proto.dataReceived(data)


def feedBytewise(proto: Any, data: bytes) -> None:
    for i in range(len(data)):
        proto.dataReceived(data[i : i + 1])


def feedWarm(proto: Any, data: bytes) -> None:
    """Whole, but after an empty call: a receiver's first call takes the slow way, later ones
    its fast path."""
    proto.dataReceived(b"")
    proto.dataReceived(data)


def feedSevens(proto: Any, data: bytes) -> None:
    """In 7-byte chunks after an empty call: chunks ending inside lines and frames."""
    proto.dataReceived(b"")
    for i in range(0, len(data), 7):
        proto.dataReceived(data[i : i + 7])


FEEDERS = pytest.mark.parametrize(
    "feed",
    [feedWhole, feedBytewise, feedWarm, feedSevens],
    ids=["whole", "bytewise", "warm", "sevens"],
)


def connect(proto: Any) -> StringTransport:
    transport = StringTransport()
    proto.makeConnection(transport)
    return transport


# --------------------------------------------------------------------------------- LineReceiver


class LineTester(basic.LineReceiver):
    """Records lines; ``len N`` switches to raw mode for N bytes, ``pause`` pauses, ``stop``
    asks to stop, ``clear`` clears the rest of the buffer, ``delim X`` changes the delimiter."""

    MAX_LENGTH = 64

    def connectionMade(self) -> None:
        self.received: list[Any] = []
        self.exceeded: list[bytes] = []
        self.rawLeft = 0
        self.cleared: list[bytes] = []

    def lineReceived(self, line: bytes) -> Any:
        self.received.append(line)
        if line.startswith(b"len "):
            self.rawLeft = int(line[4:])
            self.setRawMode()
        elif line == b"pause":
            self.pauseProducing()
        elif line == b"stop":
            return "stopped"
        elif line == b"clear":
            self.cleared.append(self.clearLineBuffer())
        elif line.startswith(b"delim "):
            self.delimiter = line[6:]
        elif line == b"bye":
            self.transport.loseConnection()
        return None

    def rawDataReceived(self, data: bytes) -> None:
        take, rest = data[: self.rawLeft], data[self.rawLeft :]
        self.rawLeft -= len(take)
        if self.received and isinstance(self.received[-1], bytearray):
            self.received[-1] += take
        else:
            self.received.append(bytearray(take))
        if self.rawLeft == 0:
            self.setLineMode(rest)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.exceeded.append(line)


def normalized(received: list[Any]) -> list[Any]:
    return [("raw", bytes(x)) if isinstance(x, bytearray) else x for x in received]


@FEEDERS
def test_lines(feed: Feeder) -> None:
    proto = LineTester()
    connect(proto)
    feed(proto, b"first\r\nsecond\r\n\r\nlast\r\npartial")
    assert proto.received == [b"first", b"second", b"", b"last"]


@FEEDERS
def test_rawModeSwitchInsideLineReceived(feed: Feeder) -> None:
    """Data after the line that switched to raw mode goes to rawDataReceived, and raw data
    handed back with setLineMode(extra) is parsed as lines again."""
    proto = LineTester()
    connect(proto)
    feed(proto, b"one\r\nlen 10\r\n0123456789two\r\nlen 3\r\nabcthree\r\n")
    assert normalized(proto.received) == [
        b"one",
        b"len 10",
        ("raw", b"0123456789"),
        b"two",
        b"len 3",
        ("raw", b"abc"),
        b"three",
    ]


def test_rawModeDeliversBuffer() -> None:
    class Raw(basic.LineReceiver):
        def connectionMade(self) -> None:
            self.raw: list[bytes] = []

        def lineReceived(self, line: bytes) -> None:
            self.setRawMode()

        def rawDataReceived(self, data: bytes) -> None:
            self.raw.append(data)

    proto = Raw()
    connect(proto)
    proto.dataReceived(b"go\r\nrest of\r\nit")
    proto.dataReceived(b"more")
    assert proto.raw == [b"rest of\r\nit", b"more"]


def test_rawDataReceivedNotImplemented() -> None:
    proto = basic.LineReceiver()
    connect(proto)
    proto.setRawMode()
    with pytest.raises(NotImplementedError):
        proto.dataReceived(b"x")
    with pytest.raises(NotImplementedError):
        basic.LineReceiver().lineReceived(b"x")


@FEEDERS
def test_maxLengthWithDelimiter(feed: Feeder) -> None:
    """A complete line longer than MAX_LENGTH goes to lineLengthExceeded with the rest."""
    proto = LineTester()
    connect(proto)
    long = b"a" * 65
    feed(proto, b"ok\r\n" + long + b"\r\nafter\r\n")
    assert proto.received[0] == b"ok"
    assert proto.exceeded
    assert b"".join(proto.exceeded).startswith(long)


def test_maxLengthExactlyAccepted() -> None:
    proto = LineTester()
    connect(proto)
    proto.dataReceived(b"a" * 64 + b"\r\n")
    assert proto.received == [b"a" * 64]
    assert proto.exceeded == []


def test_maxLengthWithoutDelimiterBoundsBuffer() -> None:
    """Data without a delimiter is handed over once it reaches MAX_LENGTH plus the delimiter
    length, so the buffer never grows past that."""
    proto = LineTester()
    connect(proto)
    for _ in range(10000):
        proto.dataReceived(b"z")
        assert len(proto._buffer) < 64 + 2
    assert len(proto.exceeded) == 10000 // 66
    assert all(len(x) == 66 for x in proto.exceeded)


def test_lineLengthExceededDisconnectsByDefault() -> None:
    class Plain(basic.LineReceiver):
        MAX_LENGTH = 10

        def lineReceived(self, line: bytes) -> None:
            raise AssertionError("no line expected")

    proto = Plain()
    transport = connect(proto)
    proto.dataReceived(b"x" * 20)
    assert transport.disconnecting
    proto2 = Plain()
    transport2 = connect(proto2)
    proto2.dataReceived(b"x" * 11 + b"\r\n")
    assert transport2.disconnecting


def test_clearLineBuffer() -> None:
    proto = LineTester()
    connect(proto)
    proto.dataReceived(b"a\r\nclear\r\nb\r\nc\r\npart")
    assert proto.received == [b"a", b"clear"]
    assert proto.cleared == [b"b\r\nc\r\npart"]
    proto.dataReceived(b"d\r\n")
    assert proto.received[-1] == b"d"


def test_clearLineBufferOutsideCallback() -> None:
    proto = LineTester()
    connect(proto)
    proto.dataReceived(b"a\r\npartial")
    assert proto.clearLineBuffer() == b"partial"
    assert proto.clearLineBuffer() == b""


@FEEDERS
def test_delimiterChange(feed: Feeder) -> None:
    proto = LineTester()
    connect(proto)
    feed(proto, b"delim \n\r\nx\ny\ndelim ;;\nq;;")
    assert proto.received == [b"delim \n", b"x", b"y", b"delim ;;", b"q"]


def test_customDelimiter() -> None:
    class Lf(LineTester):
        delimiter = b"\n"

    proto = Lf()
    transport = connect(proto)
    proto.dataReceived(b"a\nb\r\n")
    assert proto.received == [b"a", b"b\r"]
    proto.sendLine(b"hi")
    assert transport.value() == b"hi\n"


def test_sendLine() -> None:
    proto = LineTester()
    transport = connect(proto)
    proto.sendLine(b"hello")
    assert transport.value() == b"hello\r\n"


def test_stopReturnValue() -> None:
    """A true value returned by lineReceived stops parsing and is returned."""
    proto = LineTester()
    connect(proto)
    assert proto.dataReceived(b"a\r\nstop\r\nb\r\n") == "stopped"
    assert proto.received == [b"a", b"stop"]
    proto.dataReceived(b"")
    assert proto.received == [b"a", b"stop", b"b"]


def test_loseConnectionStopsDelivery() -> None:
    proto = LineTester()
    transport = connect(proto)
    proto.dataReceived(b"a\r\nbye\r\nb\r\nc\r\n")
    assert proto.received == [b"a", b"bye"]
    assert transport.disconnecting


@FEEDERS
def test_pauseAndResume(feed: Feeder) -> None:
    proto = LineTester()
    transport = connect(proto)
    feed(proto, b"a\r\npause\r\nb\r\nc\r\n")
    assert proto.received == [b"a", b"pause"]
    assert transport.producerState == "paused"
    proto.resumeProducing()
    assert transport.producerState == "producing"
    assert proto.received == [b"a", b"pause", b"b", b"c"]


def test_stopProducing() -> None:
    proto = LineTester()
    transport = connect(proto)
    proto.stopProducing()
    proto.dataReceived(b"a\r\n")
    assert proto.received == []
    assert transport.producerState == "stopped"


def test_reentrantDataReceived() -> None:
    """Data passed to dataReceived from inside lineReceived is parsed after the current
    buffer, not in the middle of it."""

    class Reentrant(basic.LineReceiver):
        def connectionMade(self) -> None:
            self.lines: list[bytes] = []

        def lineReceived(self, line: bytes) -> None:
            self.lines.append(line)
            if line == b"inject":
                self.dataReceived(b"injected\r\n")

    proto = Reentrant()
    connect(proto)
    proto.dataReceived(b"inject\r\nnext\r\n")
    assert proto.lines == [b"inject", b"next", b"injected"]


def test_noTransport() -> None:
    """A receiver without transport still parses (as in Twisted)."""
    proto = LineTester()
    proto.connectionMade()
    proto.dataReceived(b"a\r\n")
    assert proto.received == [b"a"]


class Collect(basic.LineReceiver):
    MAX_LENGTH = 50

    def connectionMade(self) -> None:
        self.lines: list[bytes] = []
        self.exceeded = 0

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.exceeded += 1


def chunkedBy(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"")), max_size=30),
    st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
)
def test_hypothesisChunkingPreservesLines(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    proto = Collect()
    connect(proto)
    for chunk in chunkedBy(stream, cuts):
        proto.dataReceived(chunk)
    assert proto.lines == lines


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_hypothesisRandomInput(chunks: list[bytes]) -> None:
    """Random bytes produce lines or length errors, never an exception, and bounded memory."""
    proto = Collect()
    connect(proto)
    for chunk in chunks:
        proto.dataReceived(chunk)
        assert len(proto._buffer) < 50 + 2 + 200
    whole = b"".join(chunks)
    proto2 = Collect()
    connect(proto2)
    for i in range(len(whole)):
        proto2.dataReceived(whole[i : i + 1])
    assert all(len(line) <= 50 for line in proto2.lines)


# ----------------------------------------------------------------------------- LineOnlyReceiver


class OnlyTester(basic.LineOnlyReceiver):
    MAX_LENGTH = 20

    def connectionMade(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if line == b"bye":
            self.transport.loseConnection()


@FEEDERS
def test_lineOnly(feed: Feeder) -> None:
    proto = OnlyTester()
    connect(proto)
    feed(proto, b"a\r\nbb\r\n\r\nccc")
    assert proto.lines == [b"a", b"bb", b""]
    proto.dataReceived(b"\r\n")
    assert proto.lines[-1] == b"ccc"


@FEEDERS
def test_lineOnlyTooLong(feed: Feeder) -> None:
    proto = OnlyTester()
    transport = connect(proto)
    feed(proto, b"ok\r\n" + b"x" * 100 + b"\r\nnever\r\n")
    assert proto.lines == [b"ok"]
    assert transport.disconnecting


def test_lineOnlyLoseConnection() -> None:
    proto = OnlyTester()
    transport = connect(proto)
    proto.dataReceived(b"bye\r\nlater\r\n")
    assert proto.lines == [b"bye"]
    assert transport.disconnecting
    proto.sendLine(b"x")
    assert transport.value() == b"x\r\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=10))
def test_lineOnlyHypothesis(chunks: list[bytes]) -> None:
    proto = OnlyTester()
    connect(proto)
    for chunk in chunks:
        proto.dataReceived(chunk)
        assert len(proto._buffer) <= 20
    assert all(len(line) <= 20 for line in proto.lines)


# ---------------------------------------------------------------------------- NetstringReceiver


class NetTester(basic.NetstringReceiver):
    MAX_LENGTH = 50

    def connectionMade(self) -> None:
        self.strings: list[bytes] = []

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)


@FEEDERS
def test_netstrings(feed: Feeder) -> None:
    proto = NetTester()
    transport = connect(proto)
    feed(proto, b"5:hello,0:,3:a,b,12:hello world!,")
    assert proto.strings == [b"hello", b"", b"a,b", b"hello world!"]
    assert not transport.disconnecting


def test_sendNetstring() -> None:
    proto = NetTester()
    transport = connect(proto)
    proto.sendString(b"abc")
    proto.sendString(b"")
    assert transport.value() == b"3:abc,0:,"


BAD_NETSTRINGS = [
    b"abc:",  # not a number
    b"3:abcd",  # missing comma (d where , belongs)
    b"3:abc;",
    b"-1:a,",
    b"+1:a,",
    b" 1:a,",
    b"01:a,",  # leading zero
    b"00:,",
    b":abc,",  # empty length
    b"51:" + b"a" * 51 + b",",  # longer than MAX_LENGTH
    b"999999999999999999999:",  # absurd length
    b"123456",  # too many digits without a colon
    b"1:a,xyz",
    b"\xff\xfe",
]


@pytest.mark.parametrize("bad", BAD_NETSTRINGS)
@FEEDERS
def test_badNetstrings(feed: Feeder, bad: bytes) -> None:
    proto = NetTester()
    transport = connect(proto)
    feed(proto, bad + b"2:ok,")
    assert proto.brokenPeer == 1
    assert transport.disconnecting
    assert b"ok" not in proto.strings


def test_netstringBrokenIgnoresMore() -> None:
    proto = NetTester()
    connect(proto)
    proto.dataReceived(b"x")
    proto.dataReceived(b"1:a," * 1000)
    assert proto.strings == []
    assert proto._chunks is None


def test_netstringPartialLengthWaits() -> None:
    proto = NetTester()
    transport = connect(proto)
    proto.dataReceived(b"1")
    proto.dataReceived(b"0")
    assert not transport.disconnecting
    proto.dataReceived(b":0123456789,")
    assert proto.strings == [b"0123456789"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=50), max_size=20),
    st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
)
def test_netstringHypothesisRoundTrip(strings: list[bytes], cuts: list[int]) -> None:
    sender = NetTester()
    out = connect(sender)
    for s in strings:
        sender.sendString(s)
    receiver = NetTester()
    connect(receiver)
    for chunk in chunkedBy(out.value(), cuts):
        receiver.dataReceived(chunk)
    assert receiver.strings == strings
    assert not receiver.brokenPeer


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=10))
def test_netstringHypothesisRandom(chunks: list[bytes]) -> None:
    proto = NetTester()
    transport = connect(proto)
    for chunk in chunks:
        proto.dataReceived(chunk)
        assert proto._have <= 50 + 10 + 80
    assert all(len(s) <= 50 for s in proto.strings)
    assert bool(proto.brokenPeer) == transport.disconnecting


# -------------------------------------------------------------------------- IntNStringReceiver

RECEIVERS = [basic.Int8StringReceiver, basic.Int16StringReceiver, basic.Int32StringReceiver]


def makeIntN(base: type[basic.IntNStringReceiver], maxLength: int = 200) -> Any:
    class Tester(base):  # type: ignore[valid-type, misc]
        MAX_LENGTH = maxLength

        def connectionMade(self) -> None:
            self.strings: list[bytes] = []
            self.exceeded: list[int] = []

        def stringReceived(self, string: bytes) -> None:
            self.strings.append(string)
            if string == b"pause":
                self.pauseProducing()

        def lengthLimitExceeded(self, length: int) -> None:
            self.exceeded.append(length)
            base.lengthLimitExceeded(self, length)

    return Tester()


def buffered(proto: basic.IntNStringReceiver) -> int:
    """Bytes an IntN receiver holds (small frames in _rest, a large one in _chunks)."""
    return len(proto._rest) + sum(len(c) for c in proto._chunks or ())


def frame(base: type[basic.IntNStringReceiver], s: bytes) -> bytes:
    return struct.pack(base.structFormat, len(s)) + s


@pytest.mark.parametrize("base", RECEIVERS)
@FEEDERS
def test_intN(feed: Feeder, base: type[basic.IntNStringReceiver]) -> None:
    proto = makeIntN(base)
    transport = connect(proto)
    strings = [b"", b"a", b"hello", b"x" * 200]
    feed(proto, b"".join(frame(base, s) for s in strings) + frame(base, b"partial")[:-1])
    assert proto.strings == strings
    assert not transport.disconnecting


@pytest.mark.parametrize("base", RECEIVERS)
def test_intNSendString(base: type[basic.IntNStringReceiver]) -> None:
    proto = makeIntN(base)
    transport = connect(proto)
    proto.sendString(b"abc")
    assert transport.value() == frame(base, b"abc")
    assert base.prefixLength == struct.calcsize(base.structFormat)


def test_int8SendTooLong() -> None:
    proto = makeIntN(basic.Int8StringReceiver)
    transport = connect(proto)
    with pytest.raises(basic.StringTooLongError):
        proto.sendString(b"x" * 256)
    proto.sendString(b"x" * 255)
    assert len(transport.value()) == 256


@pytest.mark.parametrize("base", [basic.Int16StringReceiver, basic.Int32StringReceiver])
@FEEDERS
def test_intNLengthLimit(feed: Feeder, base: type[basic.IntNStringReceiver]) -> None:
    """A prefix above MAX_LENGTH calls lengthLimitExceeded with it, delivers nothing after it
    and buffers nothing more."""
    proto = makeIntN(base, maxLength=100)
    transport = connect(proto)
    feed(proto, frame(base, b"ok") + frame(base, b"y" * 101) + frame(base, b"later"))
    assert proto.strings == [b"ok"]
    assert proto.exceeded == [101]
    assert transport.disconnecting
    proto.dataReceived(b"z" * 10000)
    assert buffered(proto) == 0


def test_int32HugePrefixNotBuffered() -> None:
    proto = makeIntN(basic.Int32StringReceiver, maxLength=99999)
    connect(proto)
    proto.dataReceived(b"\xff\xff\xff\xff" + b"a" * 100)
    assert proto.exceeded == [0xFFFFFFFF]
    assert buffered(proto) == 0


@pytest.mark.parametrize("base", RECEIVERS)
def test_intNPauseResume(base: type[basic.IntNStringReceiver]) -> None:
    proto = makeIntN(base)
    transport = connect(proto)
    proto.dataReceived(frame(base, b"a") + frame(base, b"pause") + frame(base, b"b"))
    assert proto.strings == [b"a", b"pause"]
    assert transport.producerState == "paused"
    proto.dataReceived(frame(base, b"c"))
    assert proto.strings == [b"a", b"pause"]
    proto.resumeProducing()
    assert proto.strings == [b"a", b"pause", b"b", b"c"]
    proto.dataReceived(frame(base, b"d"))
    assert proto.strings[-1] == b"d"


def test_intNReentrant() -> None:
    base = basic.Int16StringReceiver

    class Reentrant(base):  # type: ignore[valid-type, misc]
        def connectionMade(self) -> None:
            self.strings: list[bytes] = []

        def stringReceived(self, string: bytes) -> None:
            self.strings.append(string)
            if string == b"inject":
                self.dataReceived(frame(base, b"injected"))

    proto = Reentrant()
    connect(proto)
    proto.dataReceived(frame(base, b"inject") + frame(base, b"next"))
    # The re-entrant bytes count as received after everything before them.
    assert proto.strings == [b"inject", b"next", b"injected"]
    assert buffered(proto) == 0


@pytest.mark.parametrize("base", RECEIVERS)
@settings(max_examples=100, deadline=None)
@given(
    strings=st.lists(st.binary(max_size=200), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
)
def test_intNHypothesisRoundTrip(
    base: type[basic.IntNStringReceiver], strings: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame(base, s) for s in strings)
    proto = makeIntN(base)
    connect(proto)
    for chunk in chunkedBy(stream, cuts):
        proto.dataReceived(chunk)
    assert proto.strings == strings


@pytest.mark.parametrize("base", RECEIVERS)
@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.binary(max_size=100), max_size=10))
def test_intNHypothesisRandom(base: type[basic.IntNStringReceiver], chunks: list[bytes]) -> None:
    proto = makeIntN(base, maxLength=60)
    transport = connect(proto)
    for chunk in chunks:
        proto.dataReceived(chunk)
        assert buffered(proto) <= 60 + 4 + 100
    assert all(len(s) <= 60 for s in proto.strings)
    assert bool(proto.exceeded) == transport.disconnecting


# --------------------------------------------------------------------------- StatefulString


def test_statefulStringProtocol() -> None:
    class Stateful(basic.StatefulStringProtocol, basic.Int8StringReceiver):
        def connectionMade(self) -> None:
            self.seen: list[tuple[str, bytes]] = []

        def proto_init(self, string: bytes) -> str:
            self.seen.append(("init", string))
            return "second"

        def proto_second(self, string: bytes) -> str:
            self.seen.append(("second", string))
            return "done"

    proto = Stateful()
    transport = connect(proto)
    base = basic.Int8StringReceiver
    proto.dataReceived(frame(base, b"a") + frame(base, b"b"))
    assert proto.seen == [("init", b"a"), ("second", b"b")]
    assert transport.disconnecting


# --------------------------------------------------------------------------------- FileSender


def pullAll(transport: StringTransport) -> None:
    while transport.producer is not None:
        transport.producer.resumeProducing()


def test_fileSender() -> None:
    data = bytes(range(256)) * 200
    transport = StringTransport()
    sender = basic.FileSender()
    d = sender.beginFileTransfer(io.BytesIO(data), transport)
    assert transport.streaming is False
    results: list[bytes] = []
    d.addCallback(results.append)
    pullAll(transport)
    assert transport.value() == data
    assert results == [data[-1:]]


def test_fileSenderTransform() -> None:
    transport = StringTransport()
    sender = basic.FileSender()
    sender.CHUNK_SIZE = 3
    d = sender.beginFileTransfer(io.BytesIO(b"abcdefg"), transport, bytes.upper)
    results: list[bytes] = []
    d.addCallback(results.append)
    pullAll(transport)
    assert transport.value() == b"ABCDEFG"
    assert results == [b"G"]


def test_fileSenderStop() -> None:
    transport = StringTransport()
    sender = basic.FileSender()
    d = sender.beginFileTransfer(io.BytesIO(b"abc"), transport)
    errors: list[Any] = []
    d.addErrback(errors.append)
    sender.stopProducing()
    assert len(errors) == 1
    sender.pauseProducing()


def test_exceptionInLineReceivedKeepsRest() -> None:
    """A lineReceived that raises loses only its own line; the rest stays buffered."""

    class Raiser(basic.LineReceiver):
        def connectionMade(self) -> None:
            self.lines: list[bytes] = []

        def lineReceived(self, line: bytes) -> None:
            if line == b"bad":
                raise ValueError("bad line")
            self.lines.append(line)

    proto = Raiser()
    connect(proto)
    with pytest.raises(ValueError):
        proto.dataReceived(b"a\r\nbad\r\nb\r\nc")
    assert proto.lines == [b"a"]
    proto.dataReceived(b"\r\n")
    assert proto.lines == [b"a", b"b", b"c"]
    with pytest.raises(ValueError):
        proto.dataReceived(b"bad\r\n")
    proto.dataReceived(b"d\r\n")
    assert proto.lines[-1] == b"d"


@FEEDERS
def test_setLineModeFromRawWithExtra(feed: Feeder) -> None:
    """rawDataReceived handing back data with setLineMode(extra) from a paused state."""
    proto = LineTester()
    connect(proto)
    feed(proto, b"len 4\r\nabcdpause\r\nafter\r\n")
    assert normalized(proto.received) == [b"len 4", ("raw", b"abcd"), b"pause"]
    proto.resumeProducing()
    assert normalized(proto.received)[-1] == b"after"


class PausingLines(basic.LineReceiver):
    """Pauses after every line starting with b"p"; the test resumes between chunks."""

    def connectionMade(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if line.startswith(b"p"):
            self.pauseProducing()


class PausingInt16(basic.Int16StringReceiver):
    def connectionMade(self) -> None:
        self.strings: list[bytes] = []

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)
        if string.startswith(b"p"):
            self.pauseProducing()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"")), max_size=20),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=20),
)
def test_hypothesisPauseResumeLines(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    proto = PausingLines()
    connect(proto)
    for chunk in chunkedBy(stream, cuts):
        proto.dataReceived(chunk)
        if proto.paused:
            proto.resumeProducing()
    while proto.paused:
        proto.resumeProducing()
    assert proto.lines == lines


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=300), max_size=20),
    st.lists(st.integers(min_value=0, max_value=7000), max_size=20),
)
def test_hypothesisPauseResumeIntN(strings: list[bytes], cuts: list[int]) -> None:
    base = basic.Int16StringReceiver
    stream = b"".join(frame(base, s) for s in strings)
    proto = PausingInt16()
    connect(proto)
    for chunk in chunkedBy(stream, cuts):
        proto.dataReceived(chunk)
        if proto.paused:
            proto.resumeProducing()
    while proto.paused:
        proto.resumeProducing()
    assert proto.strings == strings


def test_delimiterFromMixin() -> None:
    """A delimiter set as a class attribute by a mixin (before LineReceiver in the MRO) or a
    subclass is used, and changing it on the instance still takes effect."""

    class NewlineMixin:
        delimiter = b"\n"

    class Mixed(NewlineMixin, LineTester):
        pass

    class Sub(LineTester):
        delimiter = b";"
        paused = False

    proto = Mixed()
    connect(proto)
    proto.dataReceived(b"a\nb\n")
    assert proto.received == [b"a", b"b"]
    proto.delimiter = b"|"
    proto.dataReceived(b"c|d\n|")
    assert proto.received == [b"a", b"b", b"c", b"d\n"]
    sub = Sub()
    connect(sub)
    sub.dataReceived(b"x;y;")
    assert sub.received == [b"x", b"y"]
    assert basic.LineReceiver().delimiter == b"\r\n"


@pytest.mark.parametrize("chunkSize", [97, 1000, 70000])
def test_int32LargeFrames(chunkSize: int) -> None:
    """Large frames arriving in pieces are gathered (and copied) once; pausing in between
    keeps the order."""
    base = basic.Int32StringReceiver
    proto = PausingInt32()
    connect(proto)
    strings = [b"a" * 200000, b"pause", b"b" * 40000, b"c"]
    stream = b"".join(frame(base, s) for s in strings)
    gathered = False
    for i in range(0, len(stream), chunkSize):
        proto.dataReceived(stream[i : i + chunkSize])
        gathered = gathered or proto._chunks is not None
        if proto.paused:
            proto.resumeProducing()
    assert proto.strings == strings
    assert buffered(proto) == 0
    assert gathered


class PausingInt32(basic.Int32StringReceiver):
    MAX_LENGTH = 300000

    def connectionMade(self) -> None:
        self.strings: list[bytes] = []

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)
        if string.startswith(b"p"):
            self.pauseProducing()


def test_intNExceptionKeepsRest() -> None:
    base = basic.Int16StringReceiver

    class Raiser(base):  # type: ignore[valid-type, misc]
        def connectionMade(self) -> None:
            self.strings: list[bytes] = []

        def stringReceived(self, string: bytes) -> None:
            if string == b"bad":
                raise ValueError("bad string")
            self.strings.append(string)

    proto = Raiser()
    connect(proto)
    with pytest.raises(ValueError):
        proto.dataReceived(frame(base, b"a") + frame(base, b"bad") + frame(base, b"b"))
    assert proto.strings == [b"a"]
    proto.dataReceived(frame(base, b"c"))
    assert proto.strings == [b"a", b"b", b"c"]


# ------------------------------------------------------------------------------- fast paths
# A receiver's first call takes the slow way; these feed an empty chunk first so that the
# chunks under test take the fast paths: a chunk with one line (or completing one frame whose
# prefix came earlier) and a chunk with several.


def warmLines() -> LineTester:
    proto = LineTester()
    connect(proto)
    proto.dataReceived(b"")
    return proto


@pytest.mark.parametrize(
    "chunks",
    [[b"a\r\npause\r\nb\r\nc\r\n"], [b"a\r\n", b"pause\r\nb", b"\r\nc\r\n"]],
    ids=["several", "one"],
)
def test_fastPathPause(chunks: list[bytes]) -> None:
    """Pausing in the middle of a chunk holds back the rest of it and anything received
    while paused, in order."""
    proto = warmLines()
    for chunk in chunks:
        proto.dataReceived(chunk)
    assert proto.received == [b"a", b"pause"]
    proto.dataReceived(b"d\r\n")
    assert proto.received == [b"a", b"pause"]
    proto.resumeProducing()
    assert proto.received == [b"a", b"pause", b"b", b"c", b"d"]


@pytest.mark.parametrize(
    "chunks",
    [[b"one\r\nlen 4\r\nabcdtwo\r\n"], [b"one\r\n", b"len 4\r\nab", b"cdtwo\r\n"]],
    ids=["several", "one"],
)
def test_fastPathRawModeSwitch(chunks: list[bytes]) -> None:
    proto = warmLines()
    for chunk in chunks:
        proto.dataReceived(chunk)
    assert normalized(proto.received) == [b"one", b"len 4", ("raw", b"abcd"), b"two"]


@pytest.mark.parametrize(
    ("chunk", "cleared"),
    [(b"a\r\nclear\r\nb\r\nc\r\npart", b"b\r\nc\r\npart"), (b"clear\r\npart", b"part")],
    ids=["several", "one"],
)
def test_fastPathClearLineBuffer(chunk: bytes, cleared: bytes) -> None:
    proto = warmLines()
    proto.dataReceived(chunk)
    assert proto.cleared == [cleared]
    proto.dataReceived(b"x\r\n")
    assert proto.received[-2:] == [b"clear", b"x"]


def test_fastPathDelimiterChangeThenClear() -> None:
    """Lines not yet delivered come back from clearLineBuffer with the delimiter they were
    split on, even if the delimiter has just been changed."""

    class Switcher(LineTester):
        def lineReceived(self, line: bytes) -> Any:
            self.received.append(line)
            if line == b"switch":
                self.delimiter = b"\n"
                self.cleared.append(self.clearLineBuffer())

    proto = Switcher()
    connect(proto)
    proto.dataReceived(b"")
    proto.dataReceived(b"switch\r\nb\r\nc\r\npart")
    assert proto.cleared == [b"b\r\nc\r\npart"]
    proto.dataReceived(b"d\ne\n")
    assert proto.received == [b"switch", b"d", b"e"]


@pytest.mark.parametrize(
    ("chunk", "rest"), [(b"a\r\nstop\r\nb\r\n", b"b"), (b"stop\r\nb", b"b")], ids=["several", "one"]
)
def test_fastPathStopReturnValue(chunk: bytes, rest: bytes) -> None:
    proto = warmLines()
    assert proto.dataReceived(chunk) == "stopped"
    assert proto.received[-1] == b"stop"
    proto.dataReceived(b"" if chunk.endswith(b"\r\n") else b"\r\n")
    assert proto.received[-2:] == [b"stop", rest]


@pytest.mark.parametrize("chunk", [b"a\r\nbye\r\nb\r\n", b"bye\r\nb"], ids=["several", "one"])
def test_fastPathLoseConnection(chunk: bytes) -> None:
    proto = warmLines()
    proto.dataReceived(chunk)
    assert proto.received[-1] == b"bye"
    assert b"b" not in proto.received
    assert proto.transport.disconnecting


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"inject\r\nnext\r\n"], [b"inject", b"after", b"next", b"injected"]),
        ([b"inject\r\n", b"next\r\n"], [b"inject", b"after", b"injected", b"next"]),
    ],
    ids=["several", "one"],
)
def test_fastPathReentrant(chunks: list[bytes], expected: list[bytes]) -> None:
    """Data passed to dataReceived from lineReceived is parsed once that call has returned,
    after the rest of the current chunk."""

    class Reentrant(basic.LineReceiver):
        def connectionMade(self) -> None:
            self.lines: list[bytes] = []

        def lineReceived(self, line: bytes) -> None:
            self.lines.append(line)
            if line == b"inject":
                self.dataReceived(b"injected\r\n")
                self.lines.append(b"after")

    proto = Reentrant()
    connect(proto)
    proto.dataReceived(b"")
    for chunk in chunks:
        proto.dataReceived(chunk)
    assert proto.lines == expected


@pytest.mark.parametrize(
    ("chunk", "kept"), [(b"a\r\nbad\r\nb\r\nc", [b"b", b"c"]), (b"bad\r\nc", [b"c"])]
)
def test_fastPathExceptionKeepsRest(chunk: bytes, kept: list[bytes]) -> None:
    class Raiser(basic.LineReceiver):
        def connectionMade(self) -> None:
            self.lines: list[bytes] = []

        def lineReceived(self, line: bytes) -> None:
            if line == b"bad":
                raise ValueError("bad line")
            self.lines.append(line)

    proto = Raiser()
    connect(proto)
    proto.dataReceived(b"")
    with pytest.raises(ValueError):
        proto.dataReceived(chunk)
    proto.dataReceived(b"\r\n")
    assert proto.lines[-len(kept) :] == kept


def test_fastPathChunkLongerThanMaxLength() -> None:
    """A chunk longer than MAX_LENGTH may still hold only short lines; a long one in it is
    reported."""
    proto = warmLines()
    proto.dataReceived(b"short\r\n" * 20)
    assert proto.received == [b"short"] * 20
    proto.dataReceived(b"ok\r\n" + b"y" * 65 + b"\r\nafter\r\n")
    assert proto.received[-1] == b"ok"
    assert proto.exceeded and proto.exceeded[0].startswith(b"y" * 65)


def warmInt32(maxLength: int = 200) -> Any:
    proto = makeIntN(basic.Int32StringReceiver, maxLength)
    connect(proto)
    proto.dataReceived(b"")
    return proto


I32 = basic.Int32StringReceiver


def test_fastPathIntNPauseInCompletedFrame() -> None:
    """The frame whose prefix arrived in an earlier chunk pauses the receiver."""
    proto = warmInt32()
    pause = frame(I32, b"pause")
    proto.dataReceived(frame(I32, b"a") + pause[:-2])
    assert proto.strings == [b"a"]
    proto.dataReceived(pause[-2:] + frame(I32, b"b") + frame(I32, b"c")[:3])
    assert proto.strings == [b"a", b"pause"]
    proto.dataReceived(frame(I32, b"c")[3:])
    assert proto.strings == [b"a", b"pause"]
    proto.resumeProducing()
    assert proto.strings == [b"a", b"pause", b"b", b"c"]
    assert buffered(proto) == 0


def test_fastPathIntNTooLongAfterOtherFrames() -> None:
    """A prefix above MAX_LENGTH found by the fast path, frame incomplete."""
    proto = warmInt32(maxLength=100)
    proto.dataReceived(frame(I32, b"ok") + struct.pack("!I", 101) + b"z" * 10)
    assert proto.strings == [b"ok"]
    assert proto.exceeded == [101]
    assert proto.transport.disconnecting
    proto.dataReceived(frame(I32, b"later"))
    assert proto.strings == [b"ok"]
    assert buffered(proto) == 0


def test_fastPathIntNChunkLongerThanMaxLength() -> None:
    """Many short frames in a chunk longer than MAX_LENGTH are all delivered; a long one in
    such a chunk is caught."""
    proto = warmInt32(maxLength=10)
    proto.dataReceived(frame(I32, b"1234567890") * 5 + frame(I32, b"x")[:2])
    assert proto.strings == [b"1234567890"] * 5
    proto.dataReceived(frame(I32, b"x")[2:] + frame(I32, b"y" * 11) + frame(I32, b"z"))
    assert proto.strings == [b"1234567890"] * 5 + [b"x"]
    assert proto.exceeded == [11]


def test_fastPathIntNReentrantInCompletedFrame() -> None:
    class Reentrant(I32):
        def connectionMade(self) -> None:
            self.strings: list[bytes] = []

        def stringReceived(self, string: bytes) -> None:
            self.strings.append(string)
            if string == b"inject":
                self.dataReceived(frame(I32, b"injected"))
                self.strings.append(b"after")

    proto = Reentrant()
    connect(proto)
    proto.dataReceived(b"")
    inject = frame(I32, b"inject")
    proto.dataReceived(inject[:5])
    proto.dataReceived(inject[5:] + frame(I32, b"next"))
    assert proto.strings == [b"inject", b"after", b"next", b"injected"]
    assert buffered(proto) == 0


def test_fastPathIntNExceptionInCompletedFrame() -> None:
    class Raiser(I32):
        def connectionMade(self) -> None:
            self.strings: list[bytes] = []

        def stringReceived(self, string: bytes) -> None:
            if string == b"bad":
                raise ValueError("bad string")
            self.strings.append(string)

    proto = Raiser()
    connect(proto)
    proto.dataReceived(b"")
    bad = frame(I32, b"bad")
    proto.dataReceived(bad[:-1])
    with pytest.raises(ValueError):
        proto.dataReceived(bad[-1:] + frame(I32, b"c") + frame(I32, b"d")[:2])
    assert proto.strings == []
    proto.dataReceived(frame(I32, b"d")[2:])
    assert proto.strings == [b"c", b"d"]
    assert buffered(proto) == 0


def test_pauseBeforeFirstData() -> None:
    """Pausing before anything was received (the first call's slow way not taken yet)."""
    lines = LineTester()
    connect(lines)
    lines.pauseProducing()
    lines.dataReceived(b"a\r\nb\r\n")
    assert lines.received == []
    lines.resumeProducing()
    lines.dataReceived(b"c\r\n")
    assert lines.received == [b"a", b"b", b"c"]
    strings = makeIntN(I32)
    connect(strings)
    strings.pauseProducing()
    strings.dataReceived(frame(I32, b"a") + frame(I32, b"b"))
    assert strings.strings == []
    strings.resumeProducing()
    strings.dataReceived(frame(I32, b"c"))
    assert strings.strings == [b"a", b"b", b"c"]
    assert buffered(strings) == 0
