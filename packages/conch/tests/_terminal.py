"""A terminal program on an in-memory screen: ServerProtocol -> ClientProtocol(TerminalBuffer)."""

from __future__ import annotations

from typing import Any

from glisten.conch.insults import helper, insults
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport


class Screen:
    """Runs ``factory()`` (a terminal protocol) and shows its output on a TerminalBuffer."""

    def __init__(self, factory: Any, *args: Any) -> None:
        self.buffer = helper.TerminalBuffer()
        # Both ends pace their input over turns of this clock; pump() runs every turn.
        self.clock = Clock()
        self.client = insults.ClientProtocol(lambda: self.buffer)
        self.client.reactor = self.clock
        self.clientTransport = StringTransport()
        self.client.makeConnection(self.clientTransport)
        self.server = insults.ServerProtocol(factory, *args)
        self.server.reactor = self.clock
        self.serverTransport = StringTransport()
        self.server.makeConnection(self.serverTransport)
        self.pump()

    @property
    def program(self) -> Any:
        return self.server.terminalProtocol

    def pump(self) -> None:
        while True:
            out = self.serverTransport.value()
            self.serverTransport.clear()
            keys = self.clientTransport.value()
            self.clientTransport.clear()
            if not out and not keys:
                if not self.clock.getDelayedCalls():
                    return
                self.clock.advance(0)
                continue
            if out:
                self.client.dataReceived(out)
            if keys:
                self.server.dataReceived(keys)

    def type(self, keys: bytes, oneByOne: bool = False) -> None:
        chunks = [keys[i : i + 1] for i in range(len(keys))] if oneByOne else [keys]
        for chunk in chunks:
            self.server.dataReceived(chunk)
            self.pump()

    def lines(self) -> list[str]:
        return str(self.buffer).split("\n")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines()).rstrip("\n")
