"""Helpers: an SFTP client and server connected in memory, without SSH."""

from __future__ import annotations

from typing import Any

from glisten.conch.ssh.filetransfer import FileTransferClient, FileTransferServer
from glisten.internet import defer
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport


class SFTPLoop:
    """A :class:`FileTransferServer` over ``fileSystem`` and a client, pumped by hand."""

    def __init__(self, fileSystem: Any, **serverKw: Any) -> None:
        self.server = FileTransferServer(**serverKw)
        self.server.client = fileSystem
        self.clock = Clock()
        self.server.reactor = self.clock
        self.client = FileTransferClient()
        self.client.reactor = self.clock
        self.serverTransport = StringTransport()
        self.clientTransport = StringTransport()
        self.server.makeConnection(self.serverTransport)
        self.client.makeConnection(self.clientTransport)
        self.pump()

    def pump(self) -> None:
        for _ in range(10000):
            toServer = self.clientTransport.value()
            toClient = self.serverTransport.value()
            if not toServer and not toClient:
                # The server leaves the rest of a long read to a later turn of the reactor.
                now = self.clock.seconds()
                if not any(call.getTime() <= now for call in self.clock.getDelayedCalls()):
                    return
                self.clock.advance(0)
                continue
            self.clientTransport.clear()
            self.serverTransport.clear()
            if toServer and not self.serverTransport.disconnecting:
                self.server.dataReceived(toServer)
            if toClient and not self.clientTransport.disconnecting:
                self.client.dataReceived(toClient)

    def run(self, d: defer.Deferred[Any]) -> Any:
        """Pump until ``d`` fires; return its result or raise its failure."""
        results: list[Any] = []
        d.addBoth(results.append)
        self.pump()
        assert results, "no answer"
        if isinstance(results[0], defer.Failure):
            results[0].raiseException()
        return results[0]
