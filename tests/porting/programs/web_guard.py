"""HTTP authentication as the webguard.py example does it: a realm of resources behind
HTTPAuthSessionWrapper, with Basic and Digest, checked with urllib as the client."""

import base64
import urllib.error
import urllib.request

from zope.interface import implementer

from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, reactor, threads
from glisten.web.guard import (
    BasicCredentialFactory,
    DigestCredentialFactory,
    HTTPAuthSessionWrapper,
)
from glisten.web.resource import IResource, Resource
from glisten.web.server import Site
from glisten.web.static import Data


class GuardedResource(Resource):
    def getChild(self, path, request):
        return Data(b"Authorized for " + path + b" as " + request.getUser() + b"!", "text/plain")

    def render_GET(self, request):
        return b"Authorized!"


@implementer(IRealm)
class SimpleRealm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        if IResource in interfaces:
            return IResource, GuardedResource(), lambda: None
        raise NotImplementedError()


def wrapper(factory):
    checkers = [InMemoryUsernamePasswordDatabaseDontUse(joe=b"blow")]
    return HTTPAuthSessionWrapper(Portal(SimpleRealm(), checkers), [factory])


def fetch(url, handler=None, header=None):
    opener = urllib.request.build_opener(*([handler] if handler else []))
    request = urllib.request.Request(url)
    if header:
        request.add_header("Authorization", header)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("WWW-Authenticate", "").split(" ")[0].lower()


def digest(url, password):
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, "joe", password)
    return urllib.request.HTTPDigestAuthHandler(manager)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@defer.inlineCallbacks
def main():
    root = Resource()
    root.putChild(b"basic", wrapper(BasicCredentialFactory("auth")))
    root.putChild(b"digest", wrapper(DigestCredentialFactory(b"MD5", b"example.org")))
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    base = "http://127.0.0.1:%d" % port.getHost().port
    checks = [
        ("no credentials", base + "/basic/", None, None),
        ("basic, right", base + "/basic/", None, basic("joe", "blow")),
        ("basic, child", base + "/basic/child", None, basic("joe", "blow")),
        ("basic, wrong", base + "/basic/", None, basic("joe", "nope")),
        ("basic, no user", base + "/basic/", None, basic("jane", "blow")),
        ("digest, none", base + "/digest/", None, None),
        ("digest, right", base + "/digest/x", digest(base + "/digest/x", "blow"), None),
        ("digest, wrong", base + "/digest/x", digest(base + "/digest/x", "bad"), None),
    ]
    for label, url, handler, header in checks:
        result = yield threads.deferToThread(fetch, url, handler, header)
        print(label + ":", *result)
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
