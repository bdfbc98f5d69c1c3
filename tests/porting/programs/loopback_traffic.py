"""Two line protocols over loopbackTCP, with a TrafficLoggingFactory around a server."""

import os
import tempfile

from glisten.internet import defer, protocol, reactor
from glisten.protocols import basic, loopback, policies


class Question(basic.LineReceiver):
    def connectionMade(self):
        self.sendLine(b"ping")

    def lineReceived(self, line):
        print("client got", line.decode())
        self.transport.loseConnection()


class Answer(basic.LineReceiver):
    def lineReceived(self, line):
        print("server got", line.decode())
        self.sendLine(b"pong")


class Upper(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data.upper())


@defer.inlineCallbacks
def main():
    yield loopback.loopbackTCP(Answer(), Question(), noisy=False)
    prefix = os.path.join(tempfile.mkdtemp(), "traffic")
    logging = policies.TrafficLoggingFactory(protocol.Factory.forProtocol(Upper), prefix)
    logging.noisy = False
    port = reactor.listenTCP(0, logging, interface="127.0.0.1")
    client = yield protocol.ClientCreator(reactor, protocol.Protocol).connectTCP(
        "127.0.0.1", port.getHost().port
    )
    lost = defer.Deferred()
    client.connectionLost = lambda reason: lost.callback(None)
    client.dataReceived = lambda data: client.transport.loseConnection()
    client.transport.write(b"shout")
    yield lost
    yield port.stopListening()
    with open(prefix + "-1") as f:
        lines = f.read().splitlines()
    for line in lines:
        print("traffic:", line.split(": <")[0] if line.startswith("C 1: <") else line)


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
