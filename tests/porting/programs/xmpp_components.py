"""XMPP the way Twisted's words documentation writes it: domish elements and their XML,
XPath queries, JIDs, stanza errors, a parsed stream, and two external components talking
through Twisted's component router, each answering the other's IQ."""

import sys

from glisten.internet import defer, task
from glisten.words.protocols.jabber import component, error, jid, xmlstream
from glisten.words.xish import domish, utility, xpath

NS_VERSION = "jabber:iq:version"


def elements():
    message = domish.Element(("jabber:client", "message"))
    message["to"] = "Romeo@Example.NET/Orchard"
    message["type"] = "chat"
    message.addElement("body", content="Wherefore art thou, Romeo? <3 & 'more'")
    message.addElement(("http://jabber.org/protocol/chatstates", "active"))
    thread = message.addElement("thread", content="t1")
    thread[("http://www.w3.org/XML/1998/namespace", "lang")] = "en"
    print(message.toXml())
    print(str(message.body), message.body.uri, message.thread.attributes)
    stream = domish.Element((xmlstream.NS_STREAMS, "stream"), "jabber:client")
    stream["to"] = "example.com"
    print(stream.toXml(prefixes={xmlstream.NS_STREAMS: "stream"}, closeElement=0))
    pubsub = domish.Element(("http://jabber.org/protocol/pubsub", "pubsub"))
    items = pubsub.addElement("items")
    items["node"] = "princely_musings"
    print(pubsub.toXml())
    print(pubsub.toXml(prefixes={"http://jabber.org/protocol/pubsub": "ps"}))
    return message


def queries(message):
    for query in (
        "/message",
        "/message[@type='chat']/body",
        "/message[@type='groupchat']",
        "/message/active[@xmlns='http://jabber.org/protocol/chatstates']",
        "/message/body[@xmlns='jabber:client']",
        "//thread",
        "/iq",
    ):
        print(query, bool(xpath.matches(query, message)))
    print(xpath.queryForString("/message/body", message))
    print(xpath.queryForStringList("/message/thread", message))
    print(len(xpath.queryForNodes("/message/*", message)))


def jids():
    j = jid.JID("Romeo@Example.NET/Orchard")
    print(j.full(), j.userhost(), j.user, j.host, j.resource)
    print(j.userhostJID().full(), jid.internJID("romeo@example.net") == j.userhostJID())
    print(jid.JID(tuple=("juliet", "capulet.lit", None)).full())
    for bad in ("a b@c.com", "user@exa mple.com", "u@h/\x07"):
        try:
            jid.JID(bad)
        except jid.InvalidFormat:
            print("refused:", repr(bad))


def errors():
    iq = domish.Element((None, "iq"))
    iq["type"], iq["id"], iq["from"], iq["to"] = "get", "v1", "a@b/c", "d.example"
    iq.addElement((NS_VERSION, "query"))
    reply = error.StanzaError("service-unavailable").toResponse(iq)
    print(reply.toXml())
    exc = error.exceptionFromStanza(reply)
    print(exc.condition, exc.type, exc.code)
    print(error.StreamError("host-unknown").getElement().toXml())
    print(xmlstream.toResponse(iq, "result").toXml())


def parsing():
    stream = domish.elementStream()
    got = []
    stream.DocumentStartEvent = lambda root: got.append("start %s %s" % (root.name, root["to"]))
    stream.ElementEvent = lambda e: got.append(e.toXml())
    stream.DocumentEndEvent = lambda: got.append("end")
    stream.parse(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        b"to='example.com' version='1.0'><message type='chat'><body>hi &amp; bye</body>"
        b"</message><iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>"
        b"</stream:stream>"
    )
    for line in got:
        print(line)


def dispatching():
    dispatcher = utility.EventDispatcher()
    seen = []
    dispatcher.addObserver("/message", lambda e: seen.append("low"), -1)
    dispatcher.addObserver("/message", lambda e: seen.append("high"), 1)
    dispatcher.addOnetimeObserver("/message/body", lambda e: seen.append("once"))
    dispatcher.addObserver("//event/custom", lambda e: seen.append("event %s" % e))
    message = domish.Element((None, "message"))
    message.addElement("body", content="x")
    dispatcher.dispatch(message)
    dispatcher.dispatch(message)
    dispatcher.dispatch("payload", "//event/custom")
    print(seen)


class VersionComponent:
    """Answers software version queries, as the component howto's echo does."""

    def __init__(self, xs, name):
        self.xs = xs
        self.name = name
        xs.addObserver("/iq[@type='get']/query[@xmlns='%s']" % NS_VERSION, self.onVersion)

    def onVersion(self, iq):
        response = xmlstream.toResponse(iq, "result")
        query = response.addElement((NS_VERSION, "query"))
        query.addElement("name", content=self.name)
        self.xs.send(response)


def connect(reactor, port, domain):
    d = defer.Deferred()
    factory = component.componentFactory(domain, "secret")
    factory.maxRetries = 0
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, d.callback)
    reactor.connectTCP("127.0.0.1", port, factory)
    return d


@defer.inlineCallbacks
def main(reactor):
    message = elements()
    queries(message)
    jids()
    errors()
    parsing()
    dispatching()

    router = component.Router()
    factory = component.XMPPComponentServerFactory(router, "secret")
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    port = listening.getHost().port
    one = yield connect(reactor, port, "one.example")
    two = yield connect(reactor, port, "two.example")
    print("routes:", sorted(router.routes))
    VersionComponent(one, "component one")
    VersionComponent(two, "component two")
    for xs, sender, target in (
        (one, "one.example", "two.example"),
        (two, "two.example", "one.example"),
    ):
        iq = xmlstream.IQ(xs, "get")
        iq["from"] = sender
        iq.addElement((NS_VERSION, "query"))
        result = yield iq.send(target)
        print(sender, "asked", target, "->", result["type"], str(result.query.firstChildElement()))
    one.transport.loseConnection()
    two.transport.loseConnection()
    yield listening.stopListening()
    sys.stdout.flush()


task.react(main)
