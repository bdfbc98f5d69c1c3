"""Testing protocols without a network or a real clock.

``StringTransport`` records what a protocol writes; ``Clock`` is a reactor's time that moves
only when the test says so. With them a test is fast, exact and never flaky: there is no
sleep to tune. Run this file with pytest, or as a program (it runs pytest on itself).
"""

from __future__ import annotations

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.protocols.basic import LineReceiver
from glisten.protocols.policies import TimeoutMixin


class Counter(LineReceiver, TimeoutMixin):
    """Answers each line with how many lines it has seen; drops clients idle for 30 s."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.count = 0

    def connectionMade(self) -> None:
        self.setTimeout(30)

    def lineReceived(self, line: bytes) -> None:
        self.resetTimeout()
        self.count += 1
        self.sendLine(str(self.count).encode())


def connected() -> tuple[Counter, StringTransport, Clock]:
    clock = Clock()
    proto = Counter(clock)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport, clock


def test_counts_lines() -> None:
    proto, transport, _ = connected()
    proto.dataReceived(b"a\r\nb\r\n")
    assert transport.value() == b"1\r\n2\r\n"


def test_one_byte_at_a_time() -> None:
    """The same input split anywhere gives the same answer."""
    proto, transport, _ = connected()
    for byte in b"a\r\nb\r\n":
        proto.dataReceived(bytes([byte]))
    assert transport.value() == b"1\r\n2\r\n"


def test_idle_clients_are_dropped() -> None:
    proto, transport, clock = connected()
    clock.advance(29)
    proto.dataReceived(b"still here\r\n")
    clock.advance(29)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting


if __name__ == "__main__":
    import pytest

    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
