"""A POP3 server over a small in-memory mailbox (Twisted's pop3.Mailbox, a portal and a
realm) and a POP3Client that logs in, lists, reads, deletes and quits."""

from io import BytesIO

from zope.interface import implementer

from glisten.cred import checkers, portal
from glisten.internet import defer, endpoints, protocol, reactor
from glisten.mail import pop3

MESSAGES = [
    b"Subject: first\n\nHello there.\n",
    b"Subject: second\n\nLine one\n.Line two starts with a dot\n",
]


class ListMailbox(pop3.Mailbox):
    def __init__(self, messages):
        self.messages = list(messages)
        self.deleted = set()

    def listMessages(self, i=None):
        if i is None:
            return [0 if n in self.deleted else len(m) for n, m in enumerate(self.messages)]
        return len(self.messages[i])

    def getMessage(self, i):
        if i in self.deleted:
            raise ValueError("deleted")
        return BytesIO(self.messages[i])

    def getUidl(self, i):
        return b"uid-%d" % i

    def deleteMessage(self, i):
        self.deleted.add(i)

    def undeleteMessages(self):
        self.deleted.clear()

    def sync(self):
        print("server: sync, deleting", sorted(self.deleted))


@implementer(portal.IRealm)
class Realm:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    def requestAvatar(self, avatarId, mind, *interfaces):
        assert pop3.IMailbox in interfaces
        return pop3.IMailbox, self.mailbox, self.mailbox.sync


class POP3Factory(protocol.ServerFactory):
    def __init__(self, portal):
        self.portal = portal

    def buildProtocol(self, addr):
        p = pop3.POP3()
        p.portal = self.portal
        # glisten refuses USER/PASS before TLS unless told (Twisted ignores the attribute).
        p.authOverPlaintext = True
        p.factory = self
        return p


@defer.inlineCallbacks
def session(client):
    yield client.user(b"alice")
    yield client.password(b"secret")
    print("logged in")
    sizes = yield client.listSize()
    print("sizes:", sizes)
    uids = yield client.listUID()
    print("uids:", [u.decode() for u in uids])
    for i in range(len(sizes)):
        lines = yield client.retrieve(i)
        print("message %d:" % i, [line.decode() for line in lines])
    top = yield client.retrieve(1, lines=0)
    print("headers of 1:", [line.decode() for line in top])
    yield client.delete(0)
    try:
        yield client.retrieve(0)
    except pop3.ServerErrorResponse as e:
        print("deleted message:", e.args[0].decode())
    yield client.quit()


def main():
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    mailbox = ListMailbox(MESSAGES)
    p = portal.Portal(Realm(mailbox), [checker])
    port = reactor.listenTCP(0, POP3Factory(p), interface="127.0.0.1")
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    d = endpoints.connectProtocol(endpoint, pop3.AdvancedPOP3Client())
    d.addCallback(session)
    d.addErrback(lambda f: print("failed:", f.getErrorMessage()))
    d.addBoth(lambda _: reactor.callLater(0.1, reactor.stop))
    reactor.run()


main()
