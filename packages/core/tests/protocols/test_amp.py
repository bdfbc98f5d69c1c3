"""Tests for glisten.protocols.amp and its box codec."""

from __future__ import annotations

import datetime
import decimal
import math
import pathlib
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet import error
from glisten.internet.defer import Deferred
from glisten.internet.testing import StringTransport, connectedServerAndClient
from glisten.logger import globalLogPublisher
from glisten.protocols import amp
from glisten.protocols._ampcodec import AmpBoxDecoder
from glisten.python.failure import Failure


def item(key: bytes, value: bytes) -> bytes:
    return struct.pack("!H", len(key)) + key + struct.pack("!H", len(value)) + value


# ------------------------------------------------------------------------------- codec


def test_serializeKnownBytes() -> None:
    """The exact wire form Twisted produces and accepts."""
    box = amp.AmpBox({b"_ask": b"1", b"_command": b"Sum", b"a": b"13"})
    assert box.serialize() == (
        b"\x00\x04_ask\x00\x011"
        + b"\x00\x08_command\x00\x03Sum"
        + b"\x00\x01a\x00\x0213"
        + b"\x00\x00"
    )


def test_strKeysBecomeBytes() -> None:
    box = amp.AmpBox(key="välue")
    assert box == {b"key": "välue".encode()}
    with pytest.raises(TypeError):
        amp.AmpBox({b"k": 1})


def test_serializeLimits() -> None:
    with pytest.raises(amp.TooLong):
        amp.AmpBox({b"k" * 256: b""}).serialize()
    with pytest.raises(amp.TooLong):
        amp.AmpBox({b"k": b"v" * 65536}).serialize()
    assert len(amp.AmpBox({b"k" * 255: b"v" * 65535}).serialize()) == 2 + 255 + 2 + 65535 + 2


@pytest.mark.parametrize("bytewise", [False, True])
def test_decode(bytewise: bool) -> None:
    boxes = [amp.AmpBox({b"a": b"1", b"bb": b""}), amp.AmpBox(), amp.AmpBox({b"x": b"\x00" * 300})]
    data = b"".join(b.serialize() for b in boxes)
    decoder = AmpBoxDecoder()
    out: list[amp.AmpBox] = []
    if bytewise:
        for i in range(len(data)):
            out.extend(decoder.feed(data[i : i + 1]))
    else:
        out = decoder.feed(data)
    assert out == boxes
    assert not decoder.pending()


BAD_STREAMS = [
    (b"\x01\x00" + b"k" * 256, amp.TooLong),  # key length 256
    (item(b"a", b"1") + item(b"a", b"2") + b"\x00\x00", amp.MalformedAmpBox),  # duplicate key
]


@pytest.mark.parametrize("data,exc", BAD_STREAMS)
@pytest.mark.parametrize("bytewise", [False, True])
def test_decodeBad(data: bytes, exc: type[Exception], bytewise: bool) -> None:
    decoder = AmpBoxDecoder()
    with pytest.raises(exc):
        if bytewise:
            for i in range(len(data)):
                decoder.feed(data[i : i + 1])
        else:
            decoder.feed(data)


@pytest.mark.parametrize("bytewise", [False, True])
def test_decodeLimits(bytewise: bool) -> None:
    big = item(b"k", b"v" * 600) + item(b"l", b"v" * 600)
    decoder = AmpBoxDecoder(maxBoxSize=1000)
    with pytest.raises(amp.TooLong):
        if bytewise:
            for i in range(len(big)):
                decoder.feed(big[i : i + 1])
        else:
            decoder.feed(big)
    many = b"".join(item(b"%d" % i, b"") for i in range(11))
    with pytest.raises(amp.TooLong):
        AmpBoxDecoder(maxKeys=10).feed(many)
    assert AmpBoxDecoder(maxKeys=11).feed(many + b"\x00\x00")


def test_decodeBufferBounded() -> None:
    """A value announced larger than the box limit is refused at once, not buffered."""
    decoder = AmpBoxDecoder(maxBoxSize=1000)
    with pytest.raises(amp.TooLong):
        decoder.feed(b"\x00\x01k\xff\xff")


boxStrategy = st.dictionaries(
    st.binary(min_size=1, max_size=20), st.binary(max_size=100), max_size=8
).map(amp.AmpBox)


@settings(max_examples=200, deadline=None)
@given(st.lists(boxStrategy, max_size=5), st.lists(st.integers(0, 3000), max_size=10))
def test_hypothesisRoundTrip(boxes: list[amp.AmpBox], cuts: list[int]) -> None:
    data = b"".join(b.serialize() for b in boxes)
    points = sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]
    decoder = AmpBoxDecoder()
    out: list[amp.AmpBox] = []
    prev = 0
    for p in points:
        out.extend(decoder.feed(data[prev:p]))
        prev = p
    assert out == boxes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_hypothesisRandomBytes(chunks: list[bytes]) -> None:
    decoder = AmpBoxDecoder(maxBoxSize=5000)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            assert len(decoder._buffer) <= 5000 + 200
    except amp.AmpError:
        pass


# --------------------------------------------------------------------------- arguments

ROUND_TRIPS = [
    (amp.Integer(), [0, -5, 2**100, -(2**70)]),
    (amp.String(), [b"", b"\x00\xff", b"x" * 1000]),
    (amp.Unicode(), ["", "snow ☃", "\x00"]),
    (amp.Boolean(), [True, False]),
    (amp.Float(), [0.0, -1.5, 1e300, math.inf, -math.inf]),
    (amp.Decimal(), [decimal.Decimal("1.10"), decimal.Decimal("-0"), decimal.Decimal("NaN")]),
    (amp.Path(), [pathlib.Path("/tmp/x y"), pathlib.Path("rel/ä")]),
    (amp.ListOf(amp.Integer()), [[], [1, 2, 3], [-(2**64)]]),
    (amp.ListOf(amp.Unicode()), [["a", "", "b"]]),
    (
        amp.DateTime(),
        [
            datetime.datetime(2012, 1, 23, 12, 34, 56, 54321, tzinfo=datetime.UTC),
            datetime.datetime(
                1999,
                12,
                31,
                23,
                59,
                59,
                0,
                tzinfo=datetime.timezone(-datetime.timedelta(hours=1, minutes=23)),
            ),
        ],
    ),
]


@pytest.mark.parametrize("argument,values", ROUND_TRIPS)
def test_argumentRoundTrip(argument: amp.Argument, values: list[Any]) -> None:
    for value in values:
        back = argument.fromString(argument.toString(value))
        if isinstance(value, decimal.Decimal) and value.is_nan():
            assert back.is_nan()
        else:
            assert back == value
            assert type(back) is type(value)


def test_knownArgumentBytes() -> None:
    assert amp.Integer().toString(-12) == b"-12"
    assert amp.Boolean().toString(True) == b"True"
    assert amp.ListOf(amp.Integer()).toString([1, 22]) == b"\x00\x011\x00\x0222"
    dt = datetime.datetime(
        2012,
        1,
        23,
        12,
        34,
        56,
        54321,
        tzinfo=datetime.timezone(-datetime.timedelta(hours=1, minutes=23)),
    )
    assert amp.DateTime().toString(dt) == b"2012-01-23T12:34:56.054321-01:23"
    assert math.isnan(amp.Float().fromString(b"nan"))


BAD_VALUES = [
    (amp.Integer(), b"12x"),
    (amp.Integer(), b""),
    (amp.Integer(), b"1" * 5000),
    (amp.Boolean(), b"true"),
    (amp.Float(), b"one"),
    (amp.Decimal(), b"1.2.3"),
    (amp.Unicode(), b"\xff"),
    (amp.DateTime(), b"2012-01-23 12:34:56.054321-01:23"),
    (amp.DateTime(), b"2012-01-23T12:34:56.054321-01:99"),
    (amp.DateTime(), b"short"),
    (amp.ListOf(amp.Integer()), b"\x00\x05ab"),
    (amp.ListOf(amp.Integer()), b"\x00"),
]


@pytest.mark.parametrize("argument,value", BAD_VALUES)
def test_argumentBadValues(argument: amp.Argument, value: bytes) -> None:
    with pytest.raises((ValueError, TypeError)):
        argument.fromString(value)


def test_dateTimeNeedsTimezone() -> None:
    with pytest.raises(ValueError):
        amp.DateTime().toString(datetime.datetime(2000, 1, 1))


def test_ampList() -> None:
    arg = amp.AmpList([(b"a", amp.Integer()), (b"b", amp.Unicode(optional=True))])
    value = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    encoded = arg.toStringProto(value, None)
    assert encoded == (
        amp.AmpBox({b"a": b"1", b"b": b"x"}).serialize() + amp.AmpBox({b"a": b"2"}).serialize()
    )
    assert arg.fromStringProto(encoded, None) == value
    with pytest.raises(ValueError):
        arg.fromStringProto(encoded[:-1], None)


# ----------------------------------------------------------------------------- protocol


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


class Explode(amp.Command):
    arguments: list[Any] = []
    response: list[Any] = []
    fatalErrors = {RuntimeError: b"BOOM"}


class Buggy(amp.Command):
    response = [(b"x", amp.Integer())]


class Notify(amp.Command):
    arguments = [(b"message", amp.Unicode())]
    requiresAnswer = False


class Later(amp.Command):
    response = [(b"value", amp.Unicode())]


class Unanswered(amp.Command):
    pass


class Calculator(amp.AMP):
    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self.pending: Deferred[dict[str, str]] | None = None

    @Sum.responder
    def sum(self, a: int, b: int) -> dict[str, int]:
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator: int, denominator: int) -> dict[str, float]:
        return {"result": numerator / denominator}

    @Explode.responder
    def explode(self) -> dict[str, Any]:
        raise RuntimeError("kaboom")

    @Buggy.responder
    def buggy(self) -> dict[str, Any]:
        raise KeyError("a local bug")

    @Notify.responder
    def notify(self, message: str) -> None:
        self.notes.append(message)

    @Later.responder
    def later(self) -> Deferred[dict[str, str]]:
        self.pending = Deferred()
        return self.pending

    def amp_ECHO(self, box: amp.AmpBox) -> dict[bytes, bytes]:
        return {b"echo": box[b"data"]}


def pair() -> tuple[Calculator, Calculator, Any]:
    return connectedServerAndClient(Calculator, Calculator)


def resultOf(d: Any, pump: Any) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    pump.flush()
    return out


class CaptureLogs:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> CaptureLogs:
        globalLogPublisher.addObserver(self.events.append)
        return self

    def __exit__(self, *a: Any) -> None:
        globalLogPublisher.removeObserver(self.events.append)

    def failures(self) -> list[Any]:
        return [e["log_failure"] for e in self.events if "log_failure" in e]


def test_callRemote() -> None:
    client, server, pump = pair()
    assert resultOf(client.callRemote(Sum, a=13, b=81), pump) == [{"total": 94}]
    assert resultOf(server.callRemote(Sum, a=-1, b=1), pump) == [{"total": 0}]


def test_requestOnTheWire() -> None:
    proto = Calculator()
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.callRemote(Sum, a=1, b=2)
    assert (
        transport.value()
        == amp.AmpBox({b"_ask": b"1", b"_command": b"Sum", b"a": b"1", b"b": b"2"}).serialize()
    )
    transport.clear()
    proto.dataReceived(item(b"_answer", b"1") + item(b"total", b"3") + b"\x00\x00")
    proto.dataReceived(
        item(b"_ask", b"ff")
        + item(b"_command", b"Sum")
        + item(b"a", b"2")
        + item(b"b", b"5")
        + b"\x00\x00"
    )
    assert AmpBoxDecoder().feed(transport.value()) == [
        amp.AmpBox({b"_answer": b"ff", b"total": b"7"})
    ]


def test_knownError() -> None:
    client, server, pump = pair()
    [f] = resultOf(client.callRemote(Divide, numerator=1, denominator=0), pump)
    assert isinstance(f, Failure) and f.check(ZeroDivisionError)
    assert resultOf(client.callRemote(Divide, numerator=1, denominator=4), pump) == [
        {"result": 0.25}
    ]


def test_errorOnTheWire() -> None:
    proto = Calculator()
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(
        amp.AmpBox(
            {b"_ask": b"7", b"_command": b"Divide", b"numerator": b"1", b"denominator": b"0"}
        ).serialize()
    )
    [box] = AmpBoxDecoder().feed(transport.value())
    assert box[b"_error"] == b"7"
    assert box[b"_error_code"] == b"ZERO_DIVISION"
    assert b"division" in box[b"_error_description"]
    assert not transport.disconnecting


def test_fatalError() -> None:
    client, server, pump = pair()
    lost: list[Any] = []
    [f] = resultOf(client.callRemote(Explode), pump)
    assert f.check(RuntimeError)
    assert server.transport.disconnected and client.transport.disconnected
    lost = resultOf(client.callRemote(Sum, a=1, b=1), pump)
    assert isinstance(lost[0], Failure)


def test_unknownErrorClosesConnection() -> None:
    client, server, pump = pair()
    with CaptureLogs() as logs:
        [f] = resultOf(client.callRemote(Buggy), pump)
    assert f.check(amp.UnknownRemoteError)
    assert [x.check(KeyError) for x in logs.failures()] == [KeyError]
    assert client.transport.disconnected


def test_unhandledCommand() -> None:
    client, server, pump = pair()
    with CaptureLogs() as logs:
        [f] = resultOf(client.callRemote(Unanswered), pump)
    assert f.check(amp.UnhandledCommand)
    assert logs.failures() == []
    assert not client.transport.disconnected
    assert resultOf(client.callRemote(Sum, a=1, b=1), pump) == [{"total": 2}]


def test_noAnswer() -> None:
    client, server, pump = pair()
    assert client.callRemote(Notify, message="hi") is None
    pump.flush()
    assert server.notes == ["hi"]


def test_deferredResponder() -> None:
    client, server, pump = pair()
    out = resultOf(client.callRemote(Later), pump)
    assert out == []
    assert server.pending is not None
    server.pending.callback({"value": "done"})
    pump.flush()
    assert out == [{"value": "done"}]


def test_simpleStringLocator() -> None:
    client, server, pump = pair()
    [box] = resultOf(client.callRemoteString(b"echo", data=b"xyz"), pump)
    assert box[b"echo"] == b"xyz"


def test_invalidSignature() -> None:
    client, server, pump = pair()
    [f] = resultOf(client.callRemote(Sum, a=1), pump)
    assert f.check(amp.InvalidSignature)
    [f] = resultOf(client.callRemote(Sum, a=1, b=2, c=3), pump)
    assert f.check(amp.InvalidSignature)


def test_badArgumentsFromPeer() -> None:
    """Arguments that do not parse get an UNKNOWN error and a closed connection, without a
    traceback in the log."""
    proto = Calculator()
    transport = StringTransport()
    proto.makeConnection(transport)
    with CaptureLogs() as logs:
        proto.dataReceived(
            amp.AmpBox({b"_ask": b"1", b"_command": b"Sum", b"a": b"x", b"b": b"1"}).serialize()
        )
    [box] = AmpBoxDecoder().feed(transport.value())
    assert box[b"_error_code"] == b"UNKNOWN"
    assert transport.disconnecting
    assert logs.failures() == []


def malformedInputs() -> list[bytes]:
    return [
        b"\x01\x00" + b"k" * 256,  # key too long
        item(b"a", b"1") + item(b"a", b"1") + b"\x00\x00",  # duplicate key
        b"\x00\x00",  # empty box
        item(b"_answer", b"99") + b"\x00\x00",  # answer to nothing
        item(b"_error", b"99") + b"\x00\x00",  # error for nothing
        item(b"k", b"v" * 60000) * 20,  # box over the size limit
    ]


@pytest.mark.parametrize("data", malformedInputs())
@pytest.mark.parametrize("bytewise", [False, True])
def test_malformedClosesAndFailsOutstanding(data: bytes, bytewise: bool) -> None:
    client, server, pump = pair()
    outstanding = client.callRemote(Later)
    results: list[Any] = []
    outstanding.addBoth(results.append)
    pump.flush()
    with CaptureLogs() as logs:
        if bytewise:
            for i in range(len(data)):
                client.dataReceived(data[i : i + 1])
        else:
            client.dataReceived(data)
    assert client.transport.disconnecting
    assert len(results) == 1 and isinstance(results[0], Failure)
    assert logs.failures() == []
    pump.flush()
    assert client.transport.disconnected


def test_connectionLostFailsOutstanding() -> None:
    client, server, pump = pair()
    d = client.callRemote(Later)
    results: list[Any] = []
    d.addBoth(results.append)
    pump.flush()
    server.transport.loseConnection()
    pump.flush()
    assert results[0].check(error.ConnectionDone)
    [f] = resultOf(client.callRemote(Sum, a=1, b=2), pump)
    assert f.check(error.ConnectionDone)


def test_notConnected() -> None:
    proto = Calculator()
    out: list[Any] = []
    proto.callRemote(Sum, a=1, b=2).addBoth(out.append)
    assert isinstance(out[0], Failure)


def test_commandNames() -> None:
    class Named(amp.Command):
        commandName = b"other-name"
        arguments = [(b"text", amp.Unicode())]

    assert Named.commandName == b"other-name"
    assert Sum.commandName == b"Sum"
    assert Named.arguments[0][0] == b"text"
    # As Twisted: names on the wire must be bytes, caught when the class is made.
    with pytest.raises(TypeError, match="Command names must be byte strings"):

        class BadName(amp.Command):
            commandName = "other-name"  # type: ignore[assignment]

    with pytest.raises(TypeError, match="Argument names must be byte strings"):

        class BadArgument(amp.Command):
            arguments = [("text", amp.Unicode())]

    with pytest.raises(TypeError, match="Response names must be byte strings"):

        class BadResponse(amp.Command):
            response = [("text", amp.Unicode())]

    with pytest.raises(TypeError, match="Error names must be byte strings"):

        class BadError(amp.Command):
            errors = {ValueError: "BAD"}  # type: ignore[dict-item]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=6))
def test_hypothesisProtocolRandomInput(chunks: list[bytes]) -> None:
    """Random bytes never raise out of dataReceived nor log a traceback."""
    proto = Calculator()
    transport = StringTransport()
    proto.makeConnection(transport)
    with CaptureLogs() as logs:
        for chunk in chunks:
            proto.dataReceived(chunk)
    assert logs.failures() == []
