"""UDP: a datagram echo server and a client that waits for its answer with a timeout.

UDP has no connections: a ``DatagramProtocol`` gets each datagram with the address it came
from. The client ``connect``\\s its port to the server, so it only hears from that address.
"""

from __future__ import annotations

from glisten.internet import defer, protocol, task


class EchoServer(protocol.DatagramProtocol):
    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.transport.write(b"echo: " + datagram, addr)


class Client(protocol.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: defer.Deferred[bytes] = defer.Deferred()

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.answer.callback(datagram)


async def main(reactor: object) -> None:
    server = reactor.listenUDP(0, EchoServer(), interface="127.0.0.1")  # type: ignore[attr-defined]
    client = Client()
    clientPort = reactor.listenUDP(0, client, interface="127.0.0.1")  # type: ignore[attr-defined]
    clientPort.connect("127.0.0.1", server.getHost().port)
    client.transport.write(b"ping")
    client.answer.addTimeout(5, reactor)
    print((await client.answer).decode())
    await clientPort.stopListening()
    await server.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
