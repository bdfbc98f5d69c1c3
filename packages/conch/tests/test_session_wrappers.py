"""``wrapProcessProtocol``: a plain protocol (a shell written as a LineReceiver) on a session."""

from __future__ import annotations

from typing import Any

from glisten.conch.ssh import session
from glisten.protocols.basic import LineReceiver


class _ProcessSide:
    """Stands for the session's process protocol: records output and the end."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.ended: list[Any] = []

    def outReceived(self, data: bytes) -> None:
        self.written.append(data)

    def processEnded(self, reason: Any) -> None:
        self.ended.append(reason)


class _Quitter(LineReceiver):
    def lineReceived(self, line: bytes) -> None:
        self.sendLine(b"got " + line)
        if line == b"quit":
            self.transport.loseConnection()


def test_aLineReceiverShellEndsTheSessionAndStopsReading() -> None:
    side = _ProcessSide()
    transport = session.wrapProcessProtocol(side)
    assert not transport.disconnecting
    shell = _Quitter()
    shell.makeConnection(transport)
    shell.dataReceived(b"hello\r\nquit\r\nafter quit\r\n")
    assert side.written == [b"got hello\r\n", b"got quit\r\n"]
    assert transport.disconnecting
    (reason,) = side.ended
    assert reason.value.exitCode == 0
