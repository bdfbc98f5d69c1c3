"""The XML-RPC server of the web howto (echo, hello, defer, fault, a sub-handler and
introspection), called with Python's xmlrpc.client."""

import xmlrpc.client as xmlrpclib

from glisten.internet import defer, reactor, threads
from glisten.web import server, xmlrpc


class Example(xmlrpc.XMLRPC):
    """An example object to be published."""

    def xmlrpc_echo(self, x):
        """Return all passed args."""
        return x

    def xmlrpc_hello(self):
        """Return 'hello, world'."""
        return "hello, world!"

    def xmlrpc_defer(self):
        """Show how xmlrpc methods can return Deferred."""
        return defer.succeed("hello")

    def xmlrpc_fault(self):
        """Show how we can return a failure code."""
        raise xmlrpc.Fault(123, "The fault procedure is faulty.")

    @xmlrpc.withRequest
    def xmlrpc_headerValue(self, request, headerName):
        """Return a header of the request."""
        return request.requestHeaders.getRawHeaders(headerName)


class Math(xmlrpc.XMLRPC):
    def xmlrpc_add(self, a, b):
        """Return sum of arguments."""
        return a + b

    xmlrpc_add.signature = [["int", "int", "int"], ["double", "double", "double"]]


def client(url):
    proxy = xmlrpclib.ServerProxy(url)
    print("echo:", proxy.echo([1, "two", {"three": 3.0}]))
    print("hello:", proxy.hello())
    print("defer:", proxy.defer())
    print("math.add:", proxy.math.add(3, 5))
    print("headerValue:", proxy.headerValue("Content-Type"))
    try:
        proxy.fault()
    except xmlrpclib.Fault as fault:
        print("fault:", fault.faultCode, fault.faultString)
    try:
        proxy.nonexistent()
    except xmlrpclib.Fault as fault:
        print("missing:", fault.faultCode, fault.faultString)
    print("listMethods:", proxy.system.listMethods())
    print("methodHelp:", proxy.system.methodHelp("echo"))
    print("methodSignature:", proxy.system.methodSignature("math.add"))
    print("no signature:", repr(proxy.system.methodSignature("hello")))


@defer.inlineCallbacks
def main():
    root = Example()
    root.putSubHandler("math", Math())
    xmlrpc.addIntrospection(root)
    port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")
    yield threads.deferToThread(client, "http://127.0.0.1:%d/" % port.getHost().port)
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
