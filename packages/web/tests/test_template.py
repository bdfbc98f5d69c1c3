"""glisten.web.template: the tree, escaping, loaders, renderers, Deferreds and streaming."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.parsers.expat import ExpatError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.defer import CancelledError, Deferred, succeed
from glisten.python.failure import Failure
from glisten.web.error import (
    FlattenerError,
    MissingRenderMethod,
    MissingTemplateLoader,
    UnfilledSlot,
    UnsupportedType,
)
from glisten.web.resource import Resource
from glisten.web.template import (
    CDATA,
    CharRef,
    Comment,
    Element,
    Tag,
    TagLoader,
    XMLFile,
    XMLString,
    flatten,
    flattenString,
    renderElement,
    renderer,
    slot,
    tags,
)

Decode = Callable[[bytes], tuple[bytes, bytes]]

T_NS = 'xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1"'

HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "javascript:alert(document.cookie)",
    "&amp; &lt; ]]> -->",
    "</title><img src=x onerror=alert(1)>",
]


def render(root: Any, request: Any = None) -> bytes:
    results: list[Any] = []
    flattenString(request, root).addBoth(results.append)
    assert results, "flattening did not finish synchronously"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    out: bytes = results[0]
    return out


def failure(root: Any) -> FlattenerError:
    results: list[Any] = []
    flattenString(None, root).addBoth(results.append)
    assert isinstance(results[0], Failure)
    value = results[0].value
    assert isinstance(value, FlattenerError)
    return value


# -- the tree and escaping ---------------------------------------------------------------------


def test_tagsBuildElements() -> None:
    tree = tags.div(class_="box", id="x")("Hello, ", tags.b("world"), tags.br)
    assert render(tree) == b'<div class="box" id="x">Hello, <b>world</b><br /></div>'


def test_unknownTagIsAnError() -> None:
    with pytest.raises(AttributeError):
        tags.notatag  # noqa: B018
    assert render(tags.del_("x")) == b"<del>x</del>"
    assert render(tags.transparent("a", tags.i("b"))) == b"a<i>b</i>"


def test_emptyNonVoidElementIsClosed() -> None:
    assert render(tags.script(src="a.js")) == b'<script src="a.js"></script>'
    assert render(tags.img(src="a.png")) == b'<img src="a.png" />'


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostileTextIsEscaped(hostile: str) -> None:
    out = render(tags.p(hostile))
    assert b"<script" not in out and b"<img" not in out and b"<p>" == out[:3]
    assert ET.fromstring(out).text == hostile


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostileAttributeIsEscaped(hostile: str) -> None:
    out = render(tags.a(href=hostile, title=[hostile, slot("s")])("x").fillSlots(s=hostile))
    element = ET.fromstring(out)
    assert element.attrib == {"href": hostile, "title": hostile + hostile}
    assert list(element) == [] and element.text == "x"


def test_javascriptURLStaysText() -> None:
    out = render(tags.p("javascript:alert(1)"))
    assert out == b"<p>javascript:alert(1)</p>"


def test_bytesAreEscapedToo() -> None:
    assert render(tags.p(b"<b>&")) == b"<p>&lt;b&gt;&amp;</p>"


def test_tagInsideAttributeIsText() -> None:
    out = render(tags.img(alt=tags.b('q"<')))
    assert ET.fromstring(out).attrib["alt"] == '<b>q"&lt;</b>'


def test_tagWithAttributesInsideAttribute() -> None:
    """Markup inside an attribute value is escaped once for each level it is nested in."""
    inner = tags.a(href='x"<', title=["y&", slot("s")])("t<")
    out = render(tags.img(alt=inner).fillSlots(s='"'))
    assert (
        ET.fromstring(out).attrib["alt"] == '<a href="x&quot;&lt;" title="y&amp;&quot;">t&lt;</a>'
    )


def test_badNamesRefused() -> None:
    assert isinstance(failure(Tag("a b"))._exception, ValueError)
    bad = Tag("p", attributes={'x" onload="y': "1"})
    assert isinstance(failure(bad)._exception, ValueError)


def test_commentCDATACharRef() -> None:
    assert render(Comment("a -- b")) == b"<!--a -- b-->"
    assert render(Comment("a --> b --!> c-")) == b"<!--a --&gt; b --!&gt; c- -->"
    assert render(Comment("->x")) == b"<!-- ->x-->"
    assert render(Comment(">x")) == b"<!-- >x-->"
    assert render(CDATA("a]]>b")) == b"<![CDATA[a]]]]><![CDATA[>b]]>"
    assert render(CharRef(0x263A)) == b"&#9786;"
    assert isinstance(failure(CharRef(-1))._exception, ValueError)


def test_unsupportedType() -> None:
    error = failure(tags.p(1.5))
    assert isinstance(error._exception, UnsupportedType)


def test_cloneIsIndependent() -> None:
    original = tags.div(tags.p("a"))
    copy = original.clone()
    copy.children[0].children.append("b")
    assert render(original) == b"<div><p>a</p></div>"
    shallow = original.clone(False)
    assert shallow.children[0] is original.children[0]
    assert render(tags.p("x").clear()) == b"<p></p>"


# -- slots -------------------------------------------------------------------------------------


def test_slots() -> None:
    tree = tags.div(tags.p(slot("a")), tags.p(slot("b", default="dflt")))
    tree.fillSlots(a=tags.i("A"))
    assert render(tree) == b"<div><p><i>A</i></p><p>dflt</p></div>"
    inner = tags.p(slot("a")).fillSlots(a="inner")
    assert render(tags.div(inner).fillSlots(a="outer")) == b"<div><p>inner</p></div>"


def test_unfilledSlot() -> None:
    error = failure(tags.div(tags.p(slot("missing"))))
    assert isinstance(error._exception, UnfilledSlot)
    assert "slot('missing')" in repr(error)
    assert "Tag <div>" in repr(error)


# -- elements and loaders ---------------------------------------------------------------------


class Greeting(Element):
    loader = XMLString(
        f'<html {T_NS}><head><title t:render="title" /></head>'
        '<body><p class="greeting" t:render="greet">Hello, <t:slot name="who" />!</p>'
        '<a t:render="link"><t:attr name="href">/u/<t:slot name="who" /></t:attr>me</a>'
        "</body></html>"
    )

    def __init__(self, who: str) -> None:
        super().__init__()
        self.who = who

    @renderer
    def title(self, request: object, tag: Tag) -> Tag:
        return tag(self.who)

    @renderer
    def greet(self, request: object, tag: Tag) -> Tag:
        return tag.fillSlots(who=self.who)

    @renderer
    def link(self, request: object, tag: Tag) -> Tag:
        return tag.fillSlots(who=self.who)

    def notExposed(self, request: object, tag: Tag) -> str:
        return "never"


def test_elementRenders() -> None:
    out = render(Greeting('"<Bob>"'))
    root = ET.fromstring(out)
    assert root.find("head/title").text == '"<Bob>"'  # type: ignore[union-attr]
    assert root.find("body/p").text == 'Hello, "<Bob>"!'  # type: ignore[union-attr]
    assert root.find("body/p").attrib == {"class": "greeting"}  # type: ignore[union-attr]
    assert root.find("body/a").attrib == {"href": '/u/"<Bob>"'}  # type: ignore[union-attr]


def test_templateIsNotChangedByRendering() -> None:
    element = Greeting("A")
    render(element)
    element.who = "B"
    assert b"Hello, B!" in render(element)


def test_onlyDecoratedMethodsAreRenderers() -> None:
    element = Element(XMLString(f'<p {T_NS} t:render="notExposed" />'))
    element.notExposed = Greeting.notExposed  # type: ignore[attr-defined]
    error = failure(element)
    assert isinstance(error._exception, MissingRenderMethod)
    assert isinstance(failure(Element())._exception, MissingTemplateLoader)


def test_rendererOutsideElement() -> None:
    assert isinstance(failure(tags.p(render="x"))._exception, ValueError)


def test_loaderNamespacesAndComments() -> None:
    loader = XMLString(
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:svg="http://www.w3.org/2000/svg" '
        f'{T_NS}><!-- note --><svg:svg width="1"/><t:transparent>bare</t:transparent>'
        "<![CDATA[<raw>]]></html>"
    )
    out = render(Element(loader))
    assert out == (
        b'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:svg="http://www.w3.org/2000/svg">'
        b'<!-- note --><svg:svg width="1"></svg:svg>bare<![CDATA[<raw>]]></html>'
    )


def test_loaderRejectsEntities() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><p>&lol2;</p>'
    )
    with pytest.raises(ValueError, match="entity"):
        XMLString(laughs)
    external = '<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><p>&x;</p>'
    with pytest.raises(ValueError, match="entit"):
        XMLString(external)


def test_loaderRejectsUnknownDirectives() -> None:
    with pytest.raises(ValueError, match="t:bogus"):
        XMLString(f"<p {T_NS}><t:bogus/></p>")
    with pytest.raises(ValueError, match="t:data"):
        XMLString(f'<p {T_NS} t:data="x"/>')
    with pytest.raises(ValueError, match="needs a name"):
        XMLString(f"<p {T_NS}><t:slot/></p>")


def test_slotDefaultFromLoader() -> None:
    element = Element(XMLString(f'<p {T_NS}><t:slot name="x" default="d"/></p>'))
    assert render(element) == b"<p>d</p>"


def test_xmlFile(tmp_path: Any) -> None:
    path = tmp_path / "t.xml"
    path.write_text(f'<div {T_NS}><t:slot name="x"/></div>', encoding="utf-8")
    loader = XMLFile(path)
    tree = loader.load()[0]
    assert isinstance(tree, Tag) and tree.filename == str(path)
    assert render(tree.fillSlots(x="<>")) == b"<div>&lt;&gt;</div>"
    assert render(TagLoader(tags.p("y")).load()) == b"<p>y</p>"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_loaderFuzz(data: bytes) -> None:
    """Random input only ever fails as bad XML or a bad template."""
    try:
        XMLString(b"<p " + T_NS.encode() + b">" + data + b"</p>")
    except (ExpatError, ValueError):
        pass


_XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\r",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n" or ord(c) >= 0x20),
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(_XML_TEXT, _XML_TEXT)
def test_escapingRoundTrips(text: str, attribute: str) -> None:
    """Whatever the strings hold, they come back as exactly one element's text and
    attribute: nothing breaks out of either."""
    out = render(tags.div(title=attribute)(text))
    element = ET.fromstring(out)
    assert element.tag == "div"
    assert list(element) == []
    assert (element.text or "") == text
    # An XML parser normalizes whitespace in attributes; compare with that applied.
    assert element.attrib == {"title": attribute.replace("\t", " ").replace("\n", " ")}


# -- Deferreds, coroutines, streaming --------------------------------------------------------


def test_deferredsAndCoroutines() -> None:
    async def later() -> Any:
        return tags.i("coroutine")

    tree = tags.div(succeed("deferred"), later(), [tags.b("list")], (x for x in ["gen"]))
    assert render(tree) == b"<div>deferred<i>coroutine</i><b>list</b>gen</div>"


def test_rendererReturningDeferred() -> None:
    class Slow(Element):
        loader = TagLoader(tags.p(render="r"))

        @renderer
        def r(self, request: object, tag: Tag) -> Deferred[Tag]:
            return succeed(tag("<slow>"))

    assert render(Slow()) == b"<p>&lt;slow&gt;</p>"


def test_streamsBeforeDeferredFires() -> None:
    written: list[bytes] = []
    pending: Deferred[str] = Deferred()
    done = flatten(None, tags.div("start", pending, "end"), written.append)
    assert b"".join(written) == b"<div>start"
    assert not done.called
    pending.callback("<middle>")
    assert b"".join(written) == b"<div>start&lt;middle&gt;end</div>"
    assert done.called


def test_manyFiredDeferredsDoNotRecurse() -> None:
    tree = [succeed("x") for _ in range(5000)]
    assert render(tree) == b"x" * 5000


def test_largeOutputIsWrittenInPieces() -> None:
    written: list[bytes] = []
    flatten(None, ["a" * 1000] * 200, written.append)
    assert len(written) > 1
    assert b"".join(written) == b"a" * 200_000


def test_failingDeferred() -> None:
    error = failure(tags.div(_failed()))
    assert isinstance(error._exception, ZeroDivisionError)


def _failed() -> Deferred[Any]:
    d: Deferred[Any] = Deferred()
    d.errback(ZeroDivisionError("boom"))
    return d


def test_cancelStopsWaiting() -> None:
    cancelled: list[bool] = []
    pending: Deferred[str] = Deferred(lambda d: cancelled.append(True))
    done = flatten(None, tags.div(pending, "never"), lambda data: None)
    results: list[Any] = []
    done.addBoth(results.append)
    done.cancel()
    assert cancelled == [True]
    assert isinstance(results[0], Failure)
    assert isinstance(results[0].value, FlattenerError)
    assert isinstance(results[0].value._exception, CancelledError)


def test_writeFailureFailsTheFlatten() -> None:
    def write(data: bytes) -> None:
        raise OSError("gone")

    results: list[Any] = []
    flatten(None, tags.p("x"), write).addBoth(results.append)
    assert isinstance(results[0], Failure) and results[0].check(OSError)


# -- renderElement through a Site -------------------------------------------------------------


class Page(Resource):
    isLeaf = True

    def __init__(self, element: Any) -> None:
        super().__init__()
        self.element = element

    def render_GET(self, request: Any) -> int:
        return renderElement(request, self.element)


GET = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"


def test_renderElementOverSite(connect: Callable[..., Any], decode: Decode) -> None:
    conn = connect(Page(Greeting("<Ann>")))
    head, body = decode(conn.send(GET))
    assert b"content-type: text/html; charset=utf-8" in head.lower()
    assert body.startswith(b"<!DOCTYPE html>\n<html>")
    assert b"Hello, &lt;Ann&gt;!" in body


class Broken(Element):
    loader = TagLoader(tags.p("before", tags.span(render="boom")))

    @renderer
    def boom(self, request: object, tag: Tag) -> Tag:
        raise RuntimeError("secret detail")


def test_renderFailureHidesTraceback(connect: Callable[..., Any], decode: Decode) -> None:
    conn = connect(Page(Broken()))
    head, body = decode(conn.send(GET))
    assert b"<p>before" in body
    assert b"An error occurred while rendering the response." in body
    assert b"secret detail" not in body and b"Traceback" not in body


def test_renderFailureShowsTracebackWhenAsked(connect: Callable[..., Any], decode: Decode) -> None:
    conn = connect(Page(Broken()))
    conn.site.displayTracebacks = True
    head, body = decode(conn.send(GET))
    assert b"RuntimeError" in body and b"secret detail" in body
    assert b"test_template.py" in body


def test_renderStopsWhenClientLeaves(connect: Callable[..., Any]) -> None:
    cancelled: list[bool] = []
    pending: Deferred[str] = Deferred(lambda d: cancelled.append(True))
    conn = connect(Page(Element(TagLoader(tags.p(pending)))))
    conn.send(GET)
    conn.channel.connectionLost(Failure(ConnectionError("gone")))
    assert cancelled == [True]


def test_deepTreesDoNotExhaustTheStack() -> None:
    tree: Any = "x"
    for _ in range(5000):
        tree = tags.div(tree)
    out = render(tree)
    assert out == b"<div>" * 5000 + b"x" + b"</div>" * 5000


def test_errorRootsInDeepTree() -> None:
    error = failure(tags.div(tags.p(tags.span(slot("gone")))))
    roots = error._roots
    assert [getattr(r, "tagName", None) for r in roots] == ["div", "p", "span", None]
    assert isinstance(roots[-1], slot) and roots[-1].name == "gone"


_NAMES = st.sampled_from(["div", "p", "span", "b"])
_ATTRS = st.dictionaries(st.sampled_from(["title", "class", "data-x"]), _XML_TEXT, max_size=2)
_TREES = st.recursive(
    _XML_TEXT,
    lambda children: st.tuples(_NAMES, _ATTRS, st.lists(children, max_size=3)),
    max_leaves=12,
)


def _build(tree: Any) -> Any:
    if isinstance(tree, str):
        return tree
    name, attrs, children = tree
    return Tag(name, attributes=dict(attrs), children=[_build(c) for c in children])


def _text(element: ET.Element) -> str:
    return "".join(element.itertext())


def _expectedText(tree: Any) -> str:
    if isinstance(tree, str):
        return tree
    return "".join(_expectedText(c) for c in tree[2])


def _check(element: ET.Element, tree: Any) -> None:
    name, attrs, children = tree
    assert element.tag == name
    assert element.attrib == {k: v.replace("\t", " ").replace("\n", " ") for k, v in attrs.items()}
    tagChildren = [c for c in children if not isinstance(c, str)]
    assert len(list(element)) == len(tagChildren)
    for sub, subTree in zip(element, tagChildren, strict=True):
        _check(sub, subTree)


@settings(max_examples=200, deadline=None)
@given(st.tuples(_NAMES, _ATTRS, st.lists(_TREES, max_size=4)))
def test_randomTreesRoundTrip(tree: Any) -> None:
    """Random trees of tags, attributes and hostile text parse back to the same structure."""
    out = render(_build(tree))
    element = ET.fromstring(out)
    _check(element, tree)
    assert _text(element) == _expectedText(tree)
