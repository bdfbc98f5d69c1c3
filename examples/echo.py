"""An echo server and a client talking to it, in one program.

Run: ``hatch run python examples/echo.py``. The server listens on a free loopback port; the
client sends each line it is given and prints what comes back, then everything stops.
"""

from __future__ import annotations

import sys

from glisten.internet import defer, endpoints, protocol, task
from glisten.internet.interfaces import IReactorTCP
from glisten.protocols.basic import LineReceiver


class Echo(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(LineReceiver):
    delimiter = b"\n"

    def __init__(self) -> None:
        self.replies: defer.DeferredQueue[bytes] = defer.DeferredQueue()

    def lineReceived(self, line: bytes) -> None:
        self.replies.put(line)


async def main(reactor: IReactorTCP, *words: str) -> None:
    server = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    port = await server.listen(protocol.Factory.forProtocol(Echo))
    address = port.getHost()
    client = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", address.port)
    proto = await endpoints.connectProtocol(client, Client())
    for word in words or ("hello", "world"):
        proto.sendLine(word.encode())
        print((await proto.replies.get()).decode())
    proto.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, *sys.argv[1:])))
