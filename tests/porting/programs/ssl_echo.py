"""An SSL echo server and client; the server finds its certificate next to this module."""

from glisten.internet import defer, protocol, reactor, ssl
from glisten.python.modules import getModule


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Client(protocol.Protocol):
    def __init__(self):
        self.received = b""
        self.done = defer.Deferred()

    def connectionMade(self):
        self.transport.write(b"secret message")

    def dataReceived(self, data):
        self.received += data
        if self.received == b"secret message":
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self.done.callback(self.received)


@defer.inlineCallbacks
def main():
    pem = getModule(__name__).filePath.sibling("server.pem").getContent()
    certificate = ssl.PrivateCertificate.loadPEM(pem)
    print("certificate for:", certificate.getSubject().commonName)
    factory = protocol.Factory.forProtocol(Echo)
    factory.noisy = False
    port = reactor.listenSSL(0, factory, certificate.options(), interface="127.0.0.1")
    authority = ssl.Certificate.loadPEM(pem)
    options = ssl.optionsForClientTLS("localhost", trustRoot=authority)
    client = yield protocol.ClientCreator(reactor, Client).connectSSL(
        "127.0.0.1", port.getHost().port, options
    )
    received = yield client.done
    print("echoed over TLS:", received.decode())
    yield port.stopListening()


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
