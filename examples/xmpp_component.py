"""Two XMPP components (XEP-0114) talking through a component router, written as Twisted's
component examples are (import names aside): the router ``glisten xmpp-router`` runs, in the
same program.

Run: ``hatch run python examples/xmpp_component.py``. A router listens on a free loopback
port; an echo component (``echo.example.org``) and a bot component (``bot.example.org``)
connect with the shared secret; the bot asks the echo component for its software version and
sends it a message; the echo component answers both; the program prints what the bot got.

With a port number as argument, the components connect to a router that already listens there
on 127.0.0.1, such as ``glisten xmpp-router --port tcp:5347:interface=127.0.0.1 --secret
example-secret``, and no router is started.
"""

from __future__ import annotations

from typing import Any

from glisten.internet import defer, task
from glisten.words.protocols.jabber import component, xmlstream
from glisten.words.protocols.jabber.xmlstream import toResponse
from glisten.words.xish import domish, xpath

SECRET = "example-secret"


def echoComponent(xs: Any) -> None:
    """Once authenticated: answer version queries and echo messages."""

    def onVersion(iq: domish.Element) -> None:
        response = toResponse(iq, "result")
        query = response.addElement(("jabber:iq:version", "query"))
        query.addElement("name", content="glisten echo")
        query.addElement("version", content="1.0")
        xs.send(response)

    def onMessage(message: domish.Element) -> None:
        reply = toResponse(message, message.getAttribute("type"))
        reply.addElement("body", content=f"echo: {message.body}")
        xs.send(reply)

    xs.addObserver("/iq[@type='get']/query[@xmlns='jabber:iq:version']", onVersion)
    xs.addObserver("/message/body", onMessage)


def connect(reactor: Any, port: int, domain: str) -> defer.Deferred[Any]:
    """Connect a component and fire with its stream once the router accepted it."""
    authenticated: defer.Deferred[Any] = defer.Deferred()
    factory = component.componentFactory(domain, SECRET)
    factory.maxRetries = 0
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated.callback)
    reactor.connectTCP("127.0.0.1", port, factory)
    return authenticated


async def main(reactor: Any, routerPort: str | None = None) -> None:
    listening = None
    if routerPort is None:
        router = component.Router()
        listening = reactor.listenTCP(
            0, component.XMPPComponentServerFactory(router, SECRET), interface="127.0.0.1"
        )
        port = listening.getHost().port
    else:
        port = int(routerPort)

    echo = await connect(reactor, port, "echo.example.org")
    echoComponent(echo)
    bot = await connect(reactor, port, "bot.example.org")

    iq = xmlstream.IQ(bot, "get")
    iq["from"] = "bot.example.org"
    iq.addElement(("jabber:iq:version", "query"))
    iq.timeout = 10
    answer = await iq.send("echo.example.org")
    # ``answer.query.name`` would be the element's own name: XPath reads the child.
    name = xpath.queryForString("/iq/query/name", answer)
    print("version:", name, answer.query.version)

    replied: defer.Deferred[domish.Element] = defer.Deferred()
    bot.addOnetimeObserver("/message", replied.callback)
    message = domish.Element((None, "message"))
    message["from"], message["to"], message["type"] = "bot.example.org", "echo.example.org", "chat"
    message.addElement("body", content="hello, components")
    bot.send(message)
    reply = await replied
    print(f"{reply['from']} said: {reply.body}")

    echo.transport.loseConnection()
    bot.transport.loseConnection()
    if listening is not None:
        await listening.stopListening()


if __name__ == "__main__":
    import sys

    task.react(lambda reactor, *argv: defer.ensureDeferred(main(reactor, *argv)), sys.argv[1:])
