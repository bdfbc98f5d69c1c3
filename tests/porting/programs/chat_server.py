"""A line chat server (Twisted's classic example) and three clients talking to it."""

from glisten.internet import defer, protocol, reactor
from glisten.protocols import basic


class Chat(basic.LineReceiver):
    def connectionMade(self):
        self.name = None
        self.sendLine(b"What's your name?")

    def connectionLost(self, reason):
        if self.name is not None:
            self.factory.users.pop(self.name, None)
            self.broadcast(self.name + b" has left")

    def lineReceived(self, line):
        if self.name is None:
            if line in self.factory.users:
                self.sendLine(b"Name taken, please choose another.")
                return
            self.name = line
            self.factory.users[line] = self
            self.sendLine(b"Welcome, " + line + b"!")
        elif line == b"/quit":
            self.transport.loseConnection()
        else:
            self.broadcast(b"<" + self.name + b"> " + line)

    def broadcast(self, message):
        for _name, user in sorted(self.factory.users.items()):
            if user is not self:
                user.sendLine(message)


class ChatFactory(protocol.ServerFactory):
    protocol = Chat

    def __init__(self):
        self.users = {}


class Client(basic.LineReceiver):
    def __init__(self, name, script, log):
        self.name, self.script, self.log = name, list(script), log
        self.done = defer.Deferred()

    def lineReceived(self, line):
        self.log.append(self.name + ": " + line.decode())
        if line == b"What's your name?":
            self.sendLine(self.name.encode())

    def say(self):
        self.sendLine(self.script.pop(0))

    def connectionLost(self, reason):
        self.done.callback(None)


@defer.inlineCallbacks
def main():
    factory = ChatFactory()
    factory.noisy = False
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    log = []
    clients = []
    for name, script in [
        ("alice", [b"hi all", b"/quit"]),
        ("bob", [b"hello alice", b"/quit"]),
        ("carol", [b"hey", b"/quit"]),
    ]:
        c = Client(name, script, log)
        cc = protocol.ClientCreator(reactor, lambda c=c: c)
        yield cc.connectTCP("127.0.0.1", port.getHost().port)
        yield task_sleep(0.05)
        clients.append(c)
    for c in clients:
        c.say()
        yield task_sleep(0.05)
    for c in clients:
        c.say()
        yield c.done
        yield task_sleep(0.05)
    yield port.stopListening()
    for line in log:
        print(line)
    print("users left:", sorted(factory.users))


def task_sleep(seconds):
    from glisten.internet import task

    return task.deferLater(reactor, seconds, lambda: None)


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()


if __name__ == "__main__":
    run()
