"""The sans-IO wire layer: TCP framing, answer matching, and the client's retries on a Clock."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.testing import FakeDatagramTransport, MemoryReactorClock
from glisten.names import client, dns, error
from glisten.names._wire._framing import LengthPrefixed, frame
from glisten.names._wire._matching import Match, matchAnswer
from glisten.python.failure import Failure


class TestFraming:
    MESSAGES = [b"", b"a", b"hello", bytes(range(256)) * 3]

    def test_whole(self) -> None:
        stream = b"".join(frame(m) for m in self.MESSAGES)
        f = LengthPrefixed()
        assert f.feed(stream) == self.MESSAGES
        assert f.pending == 0

    def test_oneByteAtATime(self) -> None:
        stream = b"".join(frame(m) for m in self.MESSAGES)
        f = LengthPrefixed()
        out: list[bytes] = []
        for i in range(len(stream)):
            out += f.feed(stream[i : i + 1])
        assert out == self.MESSAGES

    def test_partialKept(self) -> None:
        f = LengthPrefixed()
        assert f.feed(frame(b"abc") + b"\x00\x05ab") == [b"abc"]
        assert f.pending == 4
        assert f.feed(b"cde") == [b"abcde"]

    def test_tooLong(self) -> None:
        with pytest.raises(ValueError):
            frame(b"x" * 65536)

    def test_manySmallMessagesLinear(self) -> None:
        """Thousands of messages in one chunk: the buffer is cut once, not per message."""
        n = 20_000
        f = LengthPrefixed()
        assert len(f.feed(frame(b"q" * 20) * n)) == n

    @settings(deadline=None)
    @given(st.lists(st.binary(max_size=300), max_size=8), st.lists(st.integers(1, 50), min_size=1))
    def test_anySplit(self, messages: list[bytes], cuts: list[int]) -> None:
        stream = b"".join(frame(m) for m in messages)
        f = LengthPrefixed()
        out: list[bytes] = []
        i = 0
        k = 0
        while i < len(stream):
            step = cuts[k % len(cuts)]
            out += f.feed(stream[i : i + step])
            i += step
            k += 1
        assert out == messages


class TestMatching:
    Q = [dns.Query(b"example.com", dns.A)]

    def test_ours(self) -> None:
        assert matchAnswer(("192.0.2.1", 53), self.Q, ("192.0.2.1", 53), self.Q) is Match.OURS

    def test_errorAnswerWithoutQuestion(self) -> None:
        assert matchAnswer(("192.0.2.1", 53), self.Q, ("192.0.2.1", 53), []) is Match.OURS

    def test_otherAddress(self) -> None:
        got = matchAnswer(("192.0.2.1", 53), self.Q, ("192.0.2.9", 53), self.Q)
        assert got is Match.WRONG_ADDRESS
        assert matchAnswer(("192.0.2.1", 53), self.Q, ("192.0.2.1", 54), self.Q) is not Match.OURS

    def test_otherQuestion(self) -> None:
        other = [dns.Query(b"example.org", dns.A)]
        assert matchAnswer(None, self.Q, None, other) is Match.WRONG_QUESTION


class _UDPClock(MemoryReactorClock):
    """A memory reactor whose UDP ports give their protocol a transport that records datagrams."""

    def __init__(self) -> None:
        super().__init__()
        self.sockets: list[tuple[Any, FakeDatagramTransport]] = []

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        result = super().listenUDP(port, protocol, interface, maxPacketSize)
        t = FakeDatagramTransport()
        t.stopListening = lambda: None  # type: ignore[attr-defined]
        protocol.transport = t
        self.sockets.append((protocol, t))
        return result


SERVERS = [("192.0.2.1", 53), ("192.0.2.2", 53)]


def _sent(rx: _UDPClock) -> list[tuple[dns.Message, Any]]:
    return [(dns.Message.fromBytes(d), a) for _, t in rx.sockets for d, a in t.written]


class TestClientRetries:
    def test_eachTryNextServerNewSocketNewId(self) -> None:
        rx = _UDPClock()
        r = client.Resolver(servers=SERVERS, timeout=(1, 3, 11), reactor=rx)
        out: list[Any] = []
        r.lookupAddress("example.com").addBoth(out.append)
        assert [a for _, a in _sent(rx)] == [SERVERS[0]]
        rx.advance(0.9)
        assert len(_sent(rx)) == 1
        rx.advance(0.2)
        assert [a for _, a in _sent(rx)] == SERVERS
        rx.advance(3)
        sent = _sent(rx)
        assert [a for _, a in sent] == [*SERVERS, SERVERS[0]]
        assert len({m.id for m, _ in sent}) == 3 and len(rx.sockets) == 3
        assert out == []
        rx.advance(11)
        assert isinstance(out[0], Failure) and out[0].check(error.DNSQueryTimeoutError)

    def test_answerToSecondTry(self) -> None:
        rx = _UDPClock()
        r = client.Resolver(servers=SERVERS, timeout=(1, 3), reactor=rx)
        out: list[Any] = []
        r.lookupAddress("example.com").addBoth(out.append)
        rx.advance(1.5)
        proto, _ = rx.sockets[1]
        asked, addr = _sent(rx)[1]
        answer = dns.Message(id=asked.id, answer=1)
        answer.queries = asked.queries
        answer.answers.append(
            dns.RRHeader(b"example.com", dns.A, dns.IN, 60, dns.Record_A("192.0.2.80"))
        )
        # From another address first: ignored.
        proto.datagramReceived(answer.toStr(), ("192.0.2.66", 53))
        assert out == []
        proto.datagramReceived(answer.toStr(), addr)
        assert out[0][0][0].payload.dottedQuad() == "192.0.2.80"
        assert rx.getDelayedCalls() == []

    def test_numericTimeout(self) -> None:
        rx = _UDPClock()
        r = client.Resolver(servers=SERVERS[:1], reactor=rx)
        out: list[Any] = []
        r.lookupAddress("example.com", timeout=2).addBoth(out.append)
        rx.advance(1.9)
        assert out == []
        rx.advance(0.2)
        assert isinstance(out[0], Failure) and out[0].check(error.DNSQueryTimeoutError)
        assert len(_sent(rx)) == 1


def test_wireLayerImportsNothingFromCore() -> None:
    """The sans-IO layer stands alone: importing it loads no glisten core module."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from glisten.names._wire import _respond, _framing, _matching, _message, _records\n"
        "core = [m for m in sys.modules if m.startswith(('glisten.internet', 'glisten.python',"
        " 'glisten.logger', 'glisten.application'))]\n"
        "assert not core, core\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
