"""Templates as the web howto uses them: elements, XML templates, slots, renderers,
quoting, transparent tags, Deferreds in the tree, and renderElement behind a Site."""

import os
import tempfile
import urllib.request

from glisten.internet import defer, reactor, threads
from glisten.python.filepath import FilePath
from glisten.web.resource import Resource
from glisten.web.server import Site
from glisten.web.template import (
    CDATA,
    TEMPLATE_NAMESPACE,
    CharRef,
    Comment,
    Element,
    TagLoader,
    XMLFile,
    XMLString,
    flattenString,
    renderElement,
    renderer,
    slot,
    tags,
)

TEMPLATE = (
    """<html xmlns:t="%s">
<head><title t:render="header" /></head>
<body>
<div t:render="widget" class="x">A widget: <t:slot name="content"/></div>
<ul><li t:render="items"><t:attr name="class"><t:slot name="kind"/></t:attr><t:slot name="name"/></li></ul>
<p t:render="footer" />
</body>
</html>
"""
    % TEMPLATE_NAMESPACE
)


class ExampleElement(Element):
    def __init__(self, loader):
        super().__init__(loader)

    @renderer
    def header(self, request, tag):
        return tag("Header.")

    @renderer
    def widget(self, request, tag):
        return tag.fillSlots(content=tags.b("<bold> & 'quoted'"))

    @renderer
    def items(self, request, tag):
        for kind, name in [("fruit", "apple"), ("veg", "<carrot>")]:
            yield tag.clone().fillSlots(kind=kind, name=name)

    @renderer
    def footer(self, request, tag):
        return tag(defer.succeed("Footer, later."))


class QuotingElement(Element):
    loader = TagLoader(
        tags.div(
            tags.span("<<<&&&>>>"),
            tags.a(href='"javascript:alert(1)"')("link"),
            Comment("a -- comment"),
            CDATA("raw <data>"),
            CharRef(9731),
            tags.transparent("bare ", slot("s", default="default")),
        )
    )


class WaitForIt(Element):
    loader = XMLString(
        '<p xmlns:t="%s" t:render="wait">Before <t:slot name="later"/> after</p>'
        % TEMPLATE_NAMESPACE
    )

    @renderer
    def wait(self, request, tag):
        d = defer.Deferred()
        reactor.callLater(0.01, d.callback, "and then")
        return tag.fillSlots(later=d)


class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        return renderElement(request, QuotingElement())


def show(label, result):
    print(label + ":")
    print(result.decode("utf-8"))


@defer.inlineCallbacks
def main():
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "template.xml")
    with open(path, "w") as f:
        f.write(TEMPLATE)
    show("XMLFile", (yield flattenString(None, ExampleElement(XMLFile(FilePath(path))))))
    show("XMLString", (yield flattenString(None, ExampleElement(XMLString(TEMPLATE)))))
    show("quoting", (yield flattenString(None, QuotingElement())))
    show("waiting", (yield flattenString(None, WaitForIt())))
    port = reactor.listenTCP(0, Site(Page()), interface="127.0.0.1")
    url = "http://127.0.0.1:%d/" % port.getHost().port

    def fetch():
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()

    status, ctype, body = yield threads.deferToThread(fetch)
    print("renderElement:", status, ctype.split(";")[0])
    print(body.decode("utf-8"))
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
