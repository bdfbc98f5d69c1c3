"""WebSockets: a chat room served by ``WebSocketResource`` and two clients connected through
``WebSocketClientEndpoint``, in one program.

The server is an ordinary web site: a ``WebSocketResource`` is one more child in the resource
tree, and each accepted connection gets a protocol from the factory. Every text message a
member sends goes to every member of the room.
"""

from __future__ import annotations

from typing import Any

from glisten.internet import defer, task
from glisten.web import resource, server, static
from glisten.web.websocket import (
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)

MEMBERS: list[Member] = []


class Member(WebSocketProtocol):
    """One connection to the room, on the server."""

    def negotiationFinished(self) -> None:
        MEMBERS.append(self)

    def textMessageReceived(self, data: str) -> None:
        for member in MEMBERS:
            member.transport.sendTextMessage(data)

    def connectionLost(self, reason: Any) -> None:
        MEMBERS.remove(self)


class Client(WebSocketProtocol):
    """A client that queues what it hears."""

    def __init__(self) -> None:
        self.heard: defer.DeferredQueue[str] = defer.DeferredQueue()
        self.closed: defer.Deferred[None] = defer.Deferred()

    def textMessageReceived(self, data: str) -> None:
        self.heard.put(data)

    def connectionLost(self, reason: Any) -> None:
        self.closed.callback(None)


async def main(reactor: Any) -> None:
    root = resource.Resource()
    root.putChild(b"", static.Data(b"<p>the room is at /room</p>", "text/html"))
    root.putChild(b"room", WebSocketResource(WebSocketServerFactory.forProtocol(Member)))
    port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
    url = f"ws://127.0.0.1:{port.getHost().port}/room"

    clients = WebSocketClientFactory.forProtocol(Client)
    alice: Any = await WebSocketClientEndpoint.new(reactor, url).connect(clients)
    bob: Any = await WebSocketClientEndpoint.new(reactor, url).connect(clients)
    bob.transport.sendTextMessage("bob is here")
    print("alice heard:", await alice.heard.get())
    alice.transport.sendTextMessage("hello, bob")
    print("alice heard:", await alice.heard.get())
    print("bob heard:", await bob.heard.get(), "/", await bob.heard.get())
    for client in (alice, bob):
        client.transport.loseConnection()
        await client.closed
    print("members left:", len(MEMBERS))
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
