"""The protocol-level IRC server, ``glisten.words.protocols.irc.IRC``, over a StringTransport."""

from __future__ import annotations

from glisten.internet.testing import StringTransport
from glisten.logger import capturedLogs
from glisten.words.protocols import irc


class Buggy(irc.IRC):
    hostname = "irc.test"

    def __init__(self) -> None:
        self.heard: list[str] = []

    def irc_BOOM(self, prefix: str, params: list[str]) -> None:
        raise ValueError("a bug in the server")

    def irc_PING(self, prefix: str, params: list[str]) -> None:
        self.heard.append(params[0])
        self.sendCommand("PONG", [self.hostname or "", params[0]], self.hostname)


def test_handlerErrorIsLoggedAndTheNextLineIsRead() -> None:
    """As Twisted's ``IRC.handleCommand``: a handler's exception is logged with its
    traceback, the connection stays open and the following command is answered."""
    server = Buggy()
    transport = StringTransport()
    server.makeConnection(transport)
    with capturedLogs() as events:
        server.dataReceived(b"BOOM now\r\nPING one\r\n")
        server.dataReceived(b"BOOM again\r\nPING two\r\n")
    assert server.heard == ["one", "two"]
    assert not transport.disconnecting
    assert transport.value() == b":irc.test PONG irc.test one\r\n:irc.test PONG irc.test two\r\n"
    failures = [e["log_failure"] for e in events if "log_failure" in e]
    assert len(failures) == 2 and all(f.check(ValueError) for f in failures)
