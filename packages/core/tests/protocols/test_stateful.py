"""StatefulProtocol: handlers get exactly the sizes they ask for, however the bytes arrive."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.internet.testing import CopyCounter, StringTransport
from glisten.protocols.stateful import StatefulProtocol


class LengthPrefixed(StatefulProtocol):
    """Two-byte length, then that many bytes, again and again."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def getInitialState(self) -> Any:
        return self.header, 2

    def header(self, data: bytes) -> Any:
        (n,) = struct.unpack("!H", data)
        return self.body, n

    def body(self, data: bytes) -> Any:
        self.messages.append(data)
        if data == b"bye":
            self.transport.loseConnection()
        return self.header, 2


def frame(message: bytes) -> bytes:
    return struct.pack("!H", len(message)) + message


def connected() -> LengthPrefixed:
    proto = LengthPrefixed()
    proto.makeConnection(StringTransport())
    return proto


@given(st.lists(st.binary(min_size=1, max_size=50), max_size=20), st.integers(1, 17))
def test_anySplit(messages: list[bytes], step: int) -> None:
    wire = b"".join(frame(m) for m in messages)
    proto = connected()
    for i in range(0, len(wire), step):
        proto.dataReceived(wire[i : i + step])
    assert proto.messages == messages


def test_noneKeepsTheState() -> None:
    class Fours(StatefulProtocol):
        def getInitialState(self) -> Any:
            self.got: list[bytes] = []
            return self.four, 4

        def four(self, data: bytes) -> None:
            self.got.append(data)

    proto = Fours()
    proto.makeConnection(StringTransport())
    proto.dataReceived(b"abcdefghij")
    assert proto.got == [b"abcd", b"efgh"]
    proto.dataReceived(b"kl")
    assert proto.got == [b"abcd", b"efgh", b"ijkl"]


def test_stopsParsingOnceDisconnecting() -> None:
    proto = connected()
    proto.dataReceived(frame(b"bye") + frame(b"ignored"))
    assert proto.messages == [b"bye"]


def test_getInitialStateMustBeDefined() -> None:
    with pytest.raises(NotImplementedError):
        StatefulProtocol().makeConnection(StringTransport())


def test_manySmallPiecesLinear() -> None:
    proto = connected()
    counter = CopyCounter()
    wire = frame(b"x") * 20000
    proto.dataReceived(counter.wrap(wire))
    assert len(proto.messages) == 20000
    assert counter.copied <= 2 * len(wire)
