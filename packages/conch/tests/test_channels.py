"""The sans-IO connection machine: windows, packet sizes, channel ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh import _channels as ch
from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._wire import string, uint32


def _pair(
    window: int = 1000, maxPacket: int = 100
) -> tuple[ch.ConnectionMachine, ch.ConnectionMachine, int, int]:
    """Two machines with one open session channel; returns their local ids."""
    a, b = ch.ConnectionMachine(), ch.ConnectionMachine()
    aID, packet = a.openChannel(b"session", window, maxPacket)
    (request,) = b.receive(*packet)
    assert isinstance(request, ch.ChannelOpenRequested)
    bID, confirm = b.confirmOpen(request, window, maxPacket)
    (opened,) = a.receive(*confirm)
    assert opened == ch.ChannelOpened(aID, b"")
    return a, b, aID, bID


def test_dataWithinWindowAndPacketSize() -> None:
    a, b, aID, bID = _pair(window=1000, maxPacket=100)
    packets, rest = a.sendData(aID, b"x" * 1500)
    assert len(packets) == 10  # 1000 bytes of window in 100-byte packets
    assert rest == b"x" * 500
    received = b"".join(e.data for p in packets for e in b.receive(*p))
    assert received == b"x" * 1000
    adjust = b.consumed(bID)
    assert adjust
    for p in adjust:
        a.receive(*p)
    packets, rest = a.sendData(aID, rest)
    assert rest == b""


def test_dataAsPieces() -> None:
    """Pieces that fit one packet leave as one; pieces past the window are cut as bytes are."""
    a, b, aID, bID = _pair(window=150, maxPacket=100)
    view = memoryview(b"0123456789")
    packets, rest = a.sendData(aID, [b"ab", view[2:5], b"cd"])
    assert rest == b""
    assert [e.data for p in packets for e in b.receive(*p)] == [b"ab234cd"]
    packets, rest = a.sendData(aID, [b"e" * 60, b"f" * 60, b"g" * 60])
    assert len(packets) == 2  # 143 bytes of window left: 100 and 43
    assert bytes(rest) == b"g" * 37
    received = b"".join(e.data for p in packets for e in b.receive(*p))
    assert received == b"e" * 60 + b"f" * 60 + b"g" * 23
    packets, rest = a.sendData(aID, [b"h"], dataType=1)
    assert packets == [] and rest == b"h"  # no window left
    for p in b.consumed(bID):
        a.receive(*p)
    packets, rest = a.sendData(aID, [b"h", b"i"], dataType=1)
    assert rest == b""
    (event,) = b.receive(*packets[0])
    assert event == ch.ChannelExtendedData(bID, 1, b"hi")


def test_windowOverrun() -> None:
    a, b, aID, bID = _pair(window=10, maxPacket=100)
    with pytest.raises(SSHProtocolError):
        b.receive(ch.MSG_CHANNEL_DATA, uint32(bID) + string(b"x" * 11))


def test_packetTooLarge() -> None:
    a, b, aID, bID = _pair(window=1000, maxPacket=10)
    with pytest.raises(SSHProtocolError):
        b.receive(ch.MSG_CHANNEL_DATA, uint32(bID) + string(b"x" * 11))


def test_unknownChannel() -> None:
    a, b, aID, bID = _pair()
    for message in (
        ch.MSG_CHANNEL_DATA,
        ch.MSG_CHANNEL_EOF,
        ch.MSG_CHANNEL_CLOSE,
        ch.MSG_CHANNEL_WINDOW_ADJUST,
        ch.MSG_CHANNEL_REQUEST,
    ):
        with pytest.raises(SSHProtocolError):
            b.receive(message, uint32(77) + string(b"x") + b"\x00")


def test_dataAfterEOF() -> None:
    a, b, aID, bID = _pair()
    for p in a.sendEOF(aID):
        b.receive(*p)
    with pytest.raises(SSHProtocolError):
        b.receive(ch.MSG_CHANNEL_DATA, uint32(bID) + string(b"x"))


def test_windowAdjustOverflow() -> None:
    a, b, aID, bID = _pair()
    with pytest.raises(SSHProtocolError):
        a.receive(ch.MSG_CHANNEL_WINDOW_ADJUST, uint32(aID) + uint32(0xFFFFFFFF))


def test_closeBothWays() -> None:
    a, b, aID, bID = _pair()
    packets, done = a.sendClose(aID)
    assert not done
    (closed,) = b.receive(*packets[0])
    assert closed == ch.ChannelClosed(bID, False)
    packets, done = b.sendClose(bID)
    assert done and bID not in b.channels
    (closed,) = a.receive(*packets[0])
    assert closed == ch.ChannelClosed(aID, True)
    assert aID not in a.channels


def test_channelLimit() -> None:
    m = ch.ConnectionMachine(maxChannels=2)
    m.openChannel(b"session", 10, 10)
    m.openChannel(b"session", 10, 10)
    with pytest.raises(SSHProtocolError):
        m.openChannel(b"session", 10, 10)


def test_unexpectedGlobalReply() -> None:
    with pytest.raises(SSHProtocolError):
        ch.ConnectionMachine().receive(ch.MSG_REQUEST_SUCCESS, b"")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=80, max_value=100), st.binary(max_size=64))
def test_randomMessagesOnlyRaiseProtocolErrors(messageType: int, payload: bytes) -> None:
    a, b, aID, bID = _pair()
    try:
        b.receive(messageType, payload)
    except SSHProtocolError:
        pass
