"""A TCP server and a client in one program: a line-based "shout" service.

The server answers each line with the line in capitals; the client sends two lines, prints the
answers and stops everything. Both sides use endpoints, so the same code runs over TLS or Unix
sockets by changing the endpoint.
"""

from __future__ import annotations

from glisten.internet import defer, endpoints, protocol, task
from glisten.protocols.basic import LineReceiver


class Shout(LineReceiver):
    def lineReceived(self, line: bytes) -> None:
        self.sendLine(line.upper())


class Asker(LineReceiver):
    def __init__(self) -> None:
        self.answers: defer.DeferredQueue[bytes] = defer.DeferredQueue()

    def lineReceived(self, line: bytes) -> None:
        self.answers.put(line)


async def main(reactor: object) -> None:
    server = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    port = await server.listen(protocol.Factory.forProtocol(Shout))
    client = endpoints.clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}")
    asker = await endpoints.connectProtocol(client, Asker())
    for line in (b"hello", b"glisten"):
        asker.sendLine(line)
        print((await asker.answers.get()).decode())
    asker.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
