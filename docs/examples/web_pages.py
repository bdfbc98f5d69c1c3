"""Dynamic pages: a template-rendered page behind HTTP authentication, and an XML-RPC endpoint.

``/private/`` asks for a user name and password (Digest; Basic only over TLS) through
:mod:`glisten.cred`; once in, the user sees a page built by :mod:`glisten.web.template`, where
a renderer fills slots with values that may hold any characters: they are escaped. ``/rpc``
answers XML-RPC calls. The program plays the browser and the XML-RPC client itself, with
Python's ``urllib`` and ``xmlrpc.client`` in a thread, and prints what came back.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import xmlrpc.client
from typing import Any

from zope.interface import implementer

from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, endpoints, task, threads
from glisten.web import resource, server
from glisten.web import xmlrpc as webxmlrpc
from glisten.web.guard import DigestCredentialFactory, HTTPAuthSessionWrapper
from glisten.web.template import Element, Tag, XMLString, renderElement, renderer

TEMPLATE = """<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1">
<head><title>Welcome</title></head>
<body><p t:render="greeting">Hello, <b><t:slot name="user"/></b>. You have
<t:slot name="count"/> messages.</p></body></html>"""


class Welcome(Element):
    loader = XMLString(TEMPLATE)

    def __init__(self, user: bytes) -> None:
        super().__init__()
        self.user = user

    @renderer
    def greeting(self, request: object, tag: Tag) -> Tag:
        # A Deferred (or a coroutine) works as a slot value too: the page waits for it.
        return tag.fillSlots(user=self.user.decode(), count=defer.succeed("<3>"))


class WelcomePage(resource.Resource):
    isLeaf = True

    def __init__(self, user: bytes) -> None:
        super().__init__()
        self.user = user

    def render_GET(self, request: server.Request) -> int:
        return renderElement(request, Welcome(self.user))


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId: bytes, mind: object, *interfaces: object) -> Any:
        return resource.IResource, WelcomePage(avatarId), lambda: None


class Calculator(webxmlrpc.XMLRPC):
    def xmlrpc_add(self, a: int, b: int) -> int:
        """Add two numbers."""
        return a + b


def browse(url: str, password: str) -> str:
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, "alice", password)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(manager))
    try:
        with opener.open(url, timeout=10) as response:
            body = response.read().decode()
            return f"{response.status} {body[body.index('<p>') : body.index('</p>') + 4]}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.headers['WWW-Authenticate'].split(',')[0]}"


async def main(reactor: Any) -> None:
    checker = InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    factory = DigestCredentialFactory(b"md5", b"example.org")
    root = resource.Resource()
    root.putChild(b"private", HTTPAuthSessionWrapper(Portal(Realm(), [checker]), [factory]))
    root.putChild(b"rpc", Calculator())
    endpoint = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    port = await endpoint.listen(server.Site(root))
    base = f"http://127.0.0.1:{port.getHost().port}"
    print(await threads.deferToThread(browse, base + "/private/", "wrong"))
    print(await threads.deferToThread(browse, base + "/private/", "secret"))
    proxy = xmlrpc.client.ServerProxy(base + "/rpc")
    print("add(2, 3) =", await threads.deferToThread(proxy.add, 2, 3))
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
