"""Per-session state the way the web howto stores it: an adapter registered from Session to
an interface, found again through the session cookie; expiry callbacks."""

import http.cookiejar
import urllib.request

from zope.interface import Attribute, Interface, implementer

from glisten.internet import defer, reactor, threads
from glisten.python.components import registerAdapter
from glisten.web.resource import Resource
from glisten.web.server import Session, Site


class ICounter(Interface):
    value = Attribute("An int value which counts up once per page view.")


@implementer(ICounter)
class Counter:
    def __init__(self, session):
        self.value = 0


registerAdapter(Counter, Session, ICounter)

expired = []


class CounterResource(Resource):
    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()
        counter = ICounter(session)
        counter.value += 1
        if counter.value == 1:
            session.notifyOnExpire(lambda: expired.append(counter.value))
        if request.args.get(b"expire"):
            session.expire()
            return b"expired after %d views" % (counter.value,)
        return b"Visit #%d for you!" % (counter.value,)


def visits(url, count):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    pages = [opener.open(url, timeout=10).read().decode() for _ in range(count)]
    pages.append(opener.open(url + "?expire=1", timeout=10).read().decode())
    pages.append(opener.open(url, timeout=10).read().decode())
    return pages


@defer.inlineCallbacks
def main():
    site = Site(CounterResource())
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    url = "http://127.0.0.1:%d/" % port.getHost().port
    for name, count in [("alice", 3), ("bob", 1)]:
        pages = yield threads.deferToThread(visits, url, count)
        print(name + ":", " | ".join(pages))
    print("expired with counts:", expired)
    print("live sessions:", len(site.sessions))
    for session in list(site.sessions.values()):
        session.expire()
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
