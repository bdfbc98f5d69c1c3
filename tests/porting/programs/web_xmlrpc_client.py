"""The XML-RPC client example of the web howto (Proxy.callRemote with callbacks), against a
local XML-RPC server (the howto's example server is a public one)."""

from glisten.internet import defer, reactor
from glisten.web import resource, server, xmlrpc
from glisten.web.xmlrpc import Proxy


class Test(xmlrpc.XMLRPC):
    def xmlrpc_sumprod(self, a, b):
        """Return the sum and the product of two numbers."""
        return [a + b, a * b]

    def xmlrpc_capitalize(self, s):
        return s.upper()

    def xmlrpc_later(self, delay):
        d = defer.Deferred()
        reactor.callLater(delay, d.callback, "later")
        return d

    def xmlrpc_fault(self):
        raise xmlrpc.Fault(42, "no such thing")


def printValue(value):
    print(repr(value))


def printError(error):
    if error.check(xmlrpc.Fault):
        print("error", error.value.faultCode, error.value.faultString)
    else:
        print("error", error.type.__name__, error.value.args)


@defer.inlineCallbacks
def main():
    rpc = xmlrpc.XMLRPC()
    rpc.putSubHandler("test", Test())
    xmlrpc.addIntrospection(rpc)
    root = resource.Resource()
    root.putChild(b"RPC2", rpc)
    port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
    base = b"http://127.0.0.1:%d" % port.getHost().port
    proxy = Proxy(base + b"/RPC2")
    yield proxy.callRemote("test.sumprod", 3, 5).addCallbacks(printValue, printError)
    yield proxy.callRemote("test.capitalize", "hello").addCallbacks(printValue, printError)
    yield proxy.callRemote("test.later", 0.01).addCallbacks(printValue, printError)
    yield proxy.callRemote("test.fault").addCallbacks(printValue, printError)
    yield proxy.callRemote("test.missing").addCallbacks(printValue, printError)
    yield proxy.callRemote("system.listMethods").addCallbacks(printValue, printError)
    yield proxy.callRemote("system.methodHelp", "test.sumprod").addCallbacks(printValue, printError)
    yield (
        Proxy(base + b"/nowhere")
        .callRemote("test.sumprod", 1, 2)
        .addCallbacks(printValue, printError)
    )
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
