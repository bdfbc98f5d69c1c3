"""An XMPP client bot, in the shape of Twisted's ``xmpp_client.py`` example: it finds the
server of its JID's domain through DNS SRV records, logs in (STARTTLS with a verified
certificate, then SASL SCRAM), says it is available and answers each chat message with an
echo, until someone sends it ``quit``.

Run: ``python docs/examples/xmpp_client.py bot@example.org PASSWORD``. ``--ca FILE`` trusts
that certificate authority instead of the system's (a test server's own CA), and ``--dns
HOST:PORT`` asks that DNS server instead of the ones in ``/etc/resolv.conf``.
"""

from __future__ import annotations

import argparse
from typing import Any

from glisten.internet import defer, ssl, task
from glisten.names import client as dnsclient
from glisten.words.protocols.jabber import client, jid, xmlstream
from glisten.words.xish import domish


class Client:
    """Connects, logs in and answers messages; ``finished`` fires when the stream ends."""

    def __init__(
        self, reactor: Any, me: jid.JID, secret: str, configurationForTLS: Any, resolver: Any
    ) -> None:
        self.reactor = reactor
        self.finished: defer.Deferred[None] = defer.Deferred()
        factory = client.XMPPClientFactory(me, secret, configurationForTLS=configurationForTLS)
        factory.maxRetries = 0
        factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, self.connected)
        factory.addBootstrap(xmlstream.STREAM_END_EVENT, self.disconnected)
        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self.authenticated)
        factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, self.initFailed)
        # Twisted's example uses names.srvconnect.SRVConnector here; glisten's connector
        # for XMPP takes the resolver to ask for _xmpp-client._tcp records.
        connector = client.XMPPClientConnector(reactor, me.host, factory, resolver=resolver)
        connector.connect()

    def connected(self, xs: xmlstream.XmlStream) -> None:
        print("Connected.", flush=True)
        self.xmlstream = xs

    def disconnected(self, reason: Any) -> None:
        print("Disconnected.", flush=True)
        if not self.finished.called:
            self.finished.callback(None)

    def authenticated(self, xs: xmlstream.XmlStream) -> None:
        print(f"Authenticated as {xs.authenticator.jid.full()}.", flush=True)
        xs.addObserver("/message[@type='chat']/body", self.onMessage)
        xs.send(domish.Element((None, "presence")))

    def onMessage(self, message: domish.Element) -> None:
        text = str(message.body)
        print(f"{message['from']}: {text}", flush=True)
        reply = domish.Element((None, "message"))
        reply["to"] = message["from"]
        reply["type"] = "chat"
        reply.addElement("body", content="bye" if text == "quit" else f"echo: {text}")
        self.xmlstream.send(reply)
        if text == "quit":
            self.xmlstream.sendFooter()

    def initFailed(self, failure: Any) -> None:
        print(f"Initialization failed: {failure.getErrorMessage()}", flush=True)
        self.xmlstream.sendFooter()
        if not self.finished.called:
            self.finished.errback(failure)


def main(reactor: Any, *argv: str) -> defer.Deferred[None]:
    parser = argparse.ArgumentParser(description="an XMPP echo bot")
    parser.add_argument("jid")
    parser.add_argument("secret")
    parser.add_argument("--ca", help="trust this CA certificate (PEM) instead of the system's")
    parser.add_argument("--dns", help="HOST:PORT of the DNS server to ask for SRV records")
    args = parser.parse_args(argv)
    me = jid.JID(args.jid)
    tls = None  # the default: verify the server against the system's roots and the domain
    if args.ca:
        with open(args.ca, "rb") as f:
            authority = ssl.Certificate.loadPEM(f.read())
        tls = ssl.optionsForClientTLS(me.host, trustRoot=ssl.trustRootFromCertificates([authority]))
    if args.dns:
        host, port = args.dns.rsplit(":", 1)
        resolver = dnsclient.createResolver(servers=[(host, int(port))])
    else:
        resolver = dnsclient.createResolver()
    return Client(reactor, me, args.secret, tls, resolver).finished


if __name__ == "__main__":
    import sys

    task.react(main, sys.argv[1:])
