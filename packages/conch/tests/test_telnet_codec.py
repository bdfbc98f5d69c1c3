"""The sans-IO Telnet codec: NVT data, commands, subnegotiation, RFC 1143 negotiation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch._telnet import (
    Command,
    Data,
    Limits,
    NegotiationStateError,
    OptionDisabled,
    OptionEnabled,
    OptionOffered,
    OptionRefused,
    OptionState,
    Subnegotiation,
    TelnetCodec,
    TelnetProtocolError,
    packNAWS,
    packNewEnvironIs,
    packTerminalTypeIs,
    parseNAWS,
    parseNewEnviron,
    parseTerminalType,
)
from glisten.conch._telnet import _constants as C

IAC, SB, SE = C.IAC, C.SB, C.SE


def _events(codec: TelnetCodec, accept: bool = True) -> list[object]:
    out: list[object] = []
    while (event := codec.nextEvent()) is not None:
        out.append(event)
        if isinstance(event, OptionOffered):
            codec.answerOffer(accept)
    return out


def _merge(events: list[object]) -> list[object]:
    """Adjacent Data events joined (byte-at-a-time feeding splits them)."""
    merged: list[object] = []
    for e in events:
        if isinstance(e, Data) and merged and isinstance(merged[-1], Data):
            merged[-1] = Data(merged[-1].data + e.data)
        else:
            merged.append(e)
    return merged


def _both(data: bytes, accept: bool = True) -> tuple[list[object], bytes]:
    """Feed ``data`` whole and byte by byte; both must give the same events and replies."""
    whole = TelnetCodec()
    whole.receiveData(data)
    events = _events(whole, accept)
    replies = whole.dataToSend()
    single = TelnetCodec()
    singleEvents: list[object] = []
    singleReplies = b""
    for i in range(len(data)):
        single.receiveData(data[i : i + 1])
        singleEvents += _events(single, accept)
        singleReplies += single.dataToSend()
    assert _merge(singleEvents) == _merge(events)
    assert singleReplies == replies
    return _merge(events), replies


STREAM = (
    b"hello\r\nworld\r\0x"
    + bytes([IAC, IAC])
    + b"y"
    + bytes([IAC, C.AYT])
    + bytes([IAC, SB, C.NAWS, 0, 80, 0, IAC, IAC, IAC, SE])
    + bytes([IAC, C.WILL, C.NAWS])
    + b"\rz"
    + bytes([IAC, C.NOP])
)


def test_streamWholeAndByteAtATime() -> None:
    events, replies = _both(STREAM)
    assert events == [
        Data(b"hello\nworld\rx\xffy"),
        Command(C.AYT),
        Subnegotiation(C.NAWS, bytes([0, 80, 0, 255])),
        OptionOffered(C.NAWS, False),
        Data(b"\rz"),
        Command(C.NOP),
    ]
    assert replies == bytes([IAC, C.DO, C.NAWS])


def test_refusedOffer() -> None:
    events, replies = _both(bytes([IAC, C.DO, C.ECHO, IAC, C.WILL, C.LINEMODE]), accept=False)
    assert events == [OptionOffered(C.ECHO, True), OptionOffered(C.LINEMODE, False)]
    assert replies == bytes([IAC, C.WONT, C.ECHO, IAC, C.DONT, C.LINEMODE])


def test_unansweredOfferIsRefused() -> None:
    codec = TelnetCodec()
    codec.receiveData(bytes([IAC, C.DO, C.ECHO]) + b"x")
    assert codec.nextEvent() == OptionOffered(C.ECHO, True)
    assert codec.nextEvent() == Data(b"x")
    assert codec.dataToSend() == bytes([IAC, C.WONT, C.ECHO])
    assert codec.optionState(C.ECHO, True) is OptionState.NO
    with pytest.raises(RuntimeError):
        codec.answerOffer(True)


def test_ourRequestAccepted() -> None:
    codec = TelnetCodec()
    assert codec.requestEnable(C.ECHO, True) == bytes([IAC, C.WILL, C.ECHO])
    assert codec.optionState(C.ECHO, True) is OptionState.WANTYES
    with pytest.raises(NegotiationStateError) as e:
        codec.requestEnable(C.ECHO, True)
    assert e.value.reason == "negotiating"
    codec.receiveData(bytes([IAC, C.DO, C.ECHO]))
    assert _events(codec) == [OptionEnabled(C.ECHO, True, True)]
    assert codec.dataToSend() == b""  # no answer to an answer: no loop
    assert codec.isEnabled(C.ECHO, True)
    with pytest.raises(NegotiationStateError) as e:
        codec.requestEnable(C.ECHO, True)
    assert e.value.reason == "enabled"
    # A repeated DO is ignored (RFC 1143: YES + DO).
    codec.receiveData(bytes([IAC, C.DO, C.ECHO]))
    assert _events(codec) == []
    assert codec.requestDisable(C.ECHO, True) == bytes([IAC, C.WONT, C.ECHO])
    codec.receiveData(bytes([IAC, C.DONT, C.ECHO]))
    assert _events(codec) == [OptionDisabled(C.ECHO, True, True)]
    with pytest.raises(NegotiationStateError) as e:
        codec.requestDisable(C.ECHO, True)
    assert e.value.reason == "disabled"


def test_ourRequestRefused() -> None:
    codec = TelnetCodec()
    codec.requestEnable(C.NAWS, False)
    codec.receiveData(bytes([IAC, C.WONT, C.NAWS]))
    assert _events(codec) == [OptionRefused(C.NAWS, False)]
    assert codec.optionState(C.NAWS, False) is OptionState.NO
    assert codec.dataToSend() == b""


def test_peerTurnsOptionOff() -> None:
    codec = TelnetCodec()
    codec.receiveData(bytes([IAC, C.WILL, C.NAWS]))
    _events(codec)
    assert codec.dataToSend() == bytes([IAC, C.DO, C.NAWS])
    codec.receiveData(bytes([IAC, C.WONT, C.NAWS, IAC, C.WONT, C.NAWS]))
    assert _events(codec) == [OptionDisabled(C.NAWS, False, False)]
    assert codec.dataToSend() == bytes([IAC, C.DONT, C.NAWS])  # once, not per WONT


def test_crossedRequestsDoNotLoop() -> None:
    """Both ends ask at once; each sees the other's request as the answer to its own."""
    a, b = TelnetCodec(), TelnetCodec()
    toB = a.requestEnable(C.SGA, True)
    toA = b.requestEnable(C.SGA, False)
    for _ in range(4):
        a.receiveData(toA)
        b.receiveData(toB)
        _events(a)
        _events(b)
        toA, toB = b.dataToSend(), a.dataToSend()
    assert a.isEnabled(C.SGA, True) and b.isEnabled(C.SGA, False)
    assert toA == toB == b""


def test_wantNoAnsweredByYes() -> None:
    codec = TelnetCodec()
    codec.receiveData(bytes([IAC, C.WILL, C.SGA]))
    _events(codec)
    codec.dataToSend()
    codec.requestDisable(C.SGA, False)
    codec.receiveData(bytes([IAC, C.WILL, C.SGA]))
    assert _events(codec) == [OptionDisabled(C.SGA, False, True)]
    assert codec.optionState(C.SGA, False) is OptionState.NO


def test_binaryModeKeepsCR() -> None:
    codec = TelnetCodec()
    codec.receiveData(bytes([IAC, C.WILL, C.BINARY]) + b"a\r\nb\r")
    assert _events(codec) == [OptionOffered(C.BINARY, False), Data(b"a\r\nb\r")]


def test_sendData() -> None:
    codec = TelnetCodec()
    assert codec.sendData(b"a\nb\r\nc\rd\xff") == b"a\r\nb\r\nc\r\0d\xff\xff"
    codec.receiveData(bytes([IAC, C.DO, C.BINARY]))
    _events(codec)
    assert codec.sendData(b"a\n\xff") == b"a\n\xff\xff"


def test_sendCommandAndSubnegotiation() -> None:
    codec = TelnetCodec()
    assert codec.sendCommand(C.GA) == bytes([IAC, C.GA])
    with pytest.raises(ValueError):
        codec.sendCommand(C.WILL)
    assert codec.sendSubnegotiation(C.TTYPE, b"\x01\xff") == bytes(
        [IAC, SB, C.TTYPE, 1, IAC, IAC, IAC, SE]
    )


def test_subnegotiationLimit() -> None:
    codec = TelnetCodec(Limits(maxSubnegotiationLength=8))
    codec.receiveData(bytes([IAC, SB, C.TTYPE]) + b"x" * 8 + bytes([IAC, SE]))
    assert _events(codec) == [Subnegotiation(C.TTYPE, b"x" * 8)]
    codec.receiveData(bytes([IAC, SB, C.TTYPE]) + b"x" * 9)
    with pytest.raises(TelnetProtocolError) as e:
        _events(codec)
    assert "x" not in str(e.value)
    with pytest.raises(TelnetProtocolError):
        codec.nextEvent()  # stays broken


def test_subnegotiationLimitWithEscapes() -> None:
    codec = TelnetCodec(Limits(maxSubnegotiationLength=4))
    codec.receiveData(bytes([IAC, SB, C.TTYPE] + [IAC, IAC] * 5))
    with pytest.raises(TelnetProtocolError):
        _events(codec)


@pytest.mark.parametrize(
    "data",
    [
        bytes([IAC, SB, C.TTYPE, 1, IAC, 65]),
        bytes([IAC, SB, IAC, SE]),
    ],
)
def test_malformedSubnegotiation(data: bytes) -> None:
    codec = TelnetCodec()
    codec.receiveData(data)
    with pytest.raises(TelnetProtocolError):
        _events(codec)


def test_strayCommands() -> None:
    events, _ = _both(bytes([IAC, SE, IAC, C.GA, IAC, 3]) + b"q")
    assert events == [Command(C.GA), Command(3), Data(b"q")]


def test_options() -> None:
    assert parseNAWS(packNAWS(132, 43)) == (132, 43)
    with pytest.raises(TelnetProtocolError):
        parseNAWS(b"\0\1")
    assert parseTerminalType(packTerminalTypeIs("XTERM-256COLOR")) == "XTERM-256COLOR"
    for bad in (b"", b"\x01VT100", b"\x00", b"\x00a b"):
        with pytest.raises(TelnetProtocolError):
            parseTerminalType(bad)
    payload = packNewEnvironIs({b"USER": b"me", b"X\x01": b"v\x02"})
    assert parseNewEnviron(payload) == (
        C.IS,
        [(C.VAR, b"USER", b"me"), (C.VAR, b"X\x01", b"v\x02")],
    )
    assert parseNewEnviron(bytes([C.SEND, C.VAR, C.USERVAR])) == (
        C.SEND,
        [(C.VAR, b"", None), (C.USERVAR, b"", None)],
    )
    for bad in (b"", b"\x05", bytes([C.IS, C.VAR, C.ESC]), bytes([C.IS, C.VALUE]), b"\x00x"):
        with pytest.raises(TelnetProtocolError):
            parseNewEnviron(bad)


_SPECIAL = st.sampled_from(
    [IAC, SB, SE, C.WILL, C.WONT, C.DO, C.DONT, 13, 10, 0, C.NAWS, C.ECHO, C.BINARY, C.GA]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_SPECIAL, st.integers(0, 255)), max_size=200), st.booleans())
def test_randomInputOnlyRaisesProtocolError(data: list[int], accept: bool) -> None:
    raw = bytes(data)
    for chunks in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
        codec = TelnetCodec(Limits(maxSubnegotiationLength=16))
        try:
            for chunk in chunks:
                codec.receiveData(chunk)
                for event in iter(codec.nextEvent, None):
                    if isinstance(event, OptionOffered):
                        codec.answerOffer(accept)
                codec.dataToSend()
        except TelnetProtocolError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_dataRoundTrip(payload: bytes) -> None:
    """What :meth:`sendData` encodes decodes to the same text (line ends normalised)."""
    sender, receiver = TelnetCodec(), TelnetCodec()
    receiver.receiveData(sender.sendData(payload))
    got = b"".join(e.data for e in _events(receiver) if isinstance(e, Data))
    assert got == payload.replace(b"\r\n", b"\n")
