"""Endpoints from strings: an echo server and a client that connects with connectProtocol."""

from glisten.internet import defer, endpoints, protocol, task


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data[::-1])


class Probe(protocol.Protocol):
    def __init__(self):
        self.reply = defer.Deferred()
        self.buffer = b""

    def dataReceived(self, data):
        self.buffer += data
        if len(self.buffer) >= 5:
            self.reply.callback(self.buffer)


async def main(reactor):
    server = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    factory = protocol.Factory.forProtocol(Echo)
    factory.noisy = False
    port = await server.listen(factory)
    client = endpoints.clientFromString(
        reactor, "tcp:host=127.0.0.1:port=%d" % (port.getHost().port,)
    )
    probe = await endpoints.connectProtocol(client, Probe())
    probe.transport.write(b"hello")
    reply = await probe.reply
    print("reversed:", reply.decode())
    print("host type:", type(port.getHost()).__name__)
    probe.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
