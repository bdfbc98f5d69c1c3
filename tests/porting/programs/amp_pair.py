"""An AMP server and client: commands with arguments, responses and declared errors."""

from glisten.internet import reactor
from glisten.internet.defer import inlineCallbacks
from glisten.internet.protocol import ClientCreator, Factory
from glisten.protocols import amp


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


class Greet(amp.Command):
    arguments = [(b"names", amp.ListOf(amp.Unicode())), (b"from", amp.Unicode())]
    response = [(b"greetings", amp.AmpList([(b"text", amp.Unicode())]))]


class Math(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator, denominator):
        return {"result": numerator / denominator}

    @Greet.responder
    def greet(self, names, From):
        return {"greetings": [{"text": "%s greets %s" % (From, n)} for n in names]}


@inlineCallbacks
def main():
    port = reactor.listenTCP(0, Factory.forProtocol(Math), interface="127.0.0.1")
    client = yield ClientCreator(reactor, amp.AMP).connectTCP("127.0.0.1", port.getHost().port)
    result = yield client.callRemote(Sum, a=13, b=81)
    print("sum:", result["total"])
    result = yield client.callRemote(Divide, numerator=10, denominator=4)
    print("divide:", result["result"])
    try:
        yield client.callRemote(Divide, numerator=1, denominator=0)
    except ZeroDivisionError:
        print("divide by zero: ZeroDivisionError raised on the client")
    result = yield client.callRemote(Greet, names=["ann", "bo"], From="cy")
    for g in result["greetings"]:
        print("greet:", g["text"])
    client.transport.loseConnection()
    yield port.stopListening()


def done(result):
    reactor.stop()
    return result


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(done)
    reactor.run()
