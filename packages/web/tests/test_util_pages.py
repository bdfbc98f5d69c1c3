"""glisten.web.util helpers, glisten.web.pages and glisten.web.html."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.defer import Deferred
from glisten.python.failure import Failure
from glisten.web import html, pages, util
from glisten.web.resource import Resource

Decode = Callable[[bytes], tuple[bytes, bytes]]
GET = b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n"


class Leaf(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"leaf:" + b"/".join(request.postpath)


def test_redirectToEscapes(connect: Callable[..., Any], decode: Decode) -> None:
    root = Resource()
    root.putChild(b"r", util.Redirect(b'/x"><script>alert(1)</script>'))
    head, body = decode(connect(root).send(GET % b"/r"))
    assert head.startswith(b"HTTP/1.1 302")
    assert b"<script>" not in body and b"&lt;script&gt;" in body
    with pytest.raises(TypeError):
        util.redirectTo("/str", None)  # type: ignore[arg-type]


def test_parentRedirect(connect: Callable[..., Any], decode: Decode) -> None:
    root = Resource()
    root.putChild(b"a", util.ParentRedirect())
    head, _ = decode(connect(root).send(GET % b"/a/b/c"))
    assert head.startswith(b"HTTP/1.1 302")
    assert b"location: /a/b/" in head.lower()


def test_deferredResource(connect: Callable[..., Any], decode: Decode) -> None:
    d: Deferred[Any] = Deferred()
    root = Resource()
    root.putChild(b"later", util.DeferredResource(d))
    conn = connect(root)
    assert conn.send(GET % b"/later/x/y") == b""
    d.callback(Leaf())
    head, body = decode(bytes(conn.transport.value()))
    assert head.startswith(b"HTTP/1.1 200") and body == b"leaf:x/y"


def test_deferredResourceFailure(connect: Callable[..., Any], decode: Decode) -> None:
    d: Deferred[Any] = Deferred()
    conn = connect(util.DeferredResource(d))
    conn.send(GET % b"/")
    d.errback(RuntimeError("hidden"))
    head, body = decode(bytes(conn.transport.value()))
    assert head.startswith(b"HTTP/1.1 500") and b"hidden" not in body


def test_formatFailure() -> None:
    try:
        raise ValueError("<b>bad</b>")
    except ValueError:
        f = Failure()
    out = util.formatFailure(f)
    assert b"ValueError" in out and b"&lt;b&gt;bad&lt;/b&gt;" in out
    assert b"test_util_pages.py" in out
    with pytest.raises(TypeError):
        util.formatFailure("no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("page", "status", "text"),
    [
        (pages.notFound(), 404, b"No Such Resource"),
        (pages.forbidden(), 403, b"Forbidden Resource"),
        (pages.errorPage(418, "<teapot>", "short & stout"), 418, b"&lt;teapot&gt;"),
    ],
)
def test_pages(
    page: Any, status: int, text: bytes, connect: Callable[..., Any], decode: Decode
) -> None:
    head, body = decode(connect(page).send(GET % b"/any/child"))
    assert head.startswith(b"HTTP/1.1 %d" % status)
    assert text in body and b"<teapot>" not in body


def test_html() -> None:
    assert html.escape("<a href='x'>&\"") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;"
    assert html.PRE(b"<x>") == "<pre>&lt;x&gt;</pre>"
    assert html.UL(["<i>"]) == "<ul>\n<li> &lt;i&gt; </li>\n</ul>\n"
    links = html.linkList([("/a?b=1&c", "A<"), (" JavaScript:alert(1)", "x")])
    assert '<a href="/a?b=1&amp;c">A&lt;</a>' in links
    assert 'href="#"' in links and "alert" not in links


def test_deferredResourceServesLaterRequestsToo(
    connect: Callable[..., Any], decode: Decode
) -> None:
    d: Deferred[Any] = Deferred()
    conn = connect(util.DeferredResource(d))
    d.callback(Leaf())
    assert decode(conn.send(GET % b"/a"))[1] == b"leaf:a"
    assert decode(conn.send(GET % b"/b/c"))[1] == b"leaf:b/c"


def test_childRedirector(connect: Callable[..., Any], decode: Decode) -> None:
    root = Resource()
    root.putChild(b"old", util.ChildRedirector(b"https://new.example/base"))
    head, _ = decode(connect(root).send(GET % b"/old/a/b%20c"))
    assert head.startswith(b"HTTP/1.1 302")
    assert b"location: https://new.example/base/a/b%20c" in head.lower()
    with pytest.raises(ValueError):
        util.ChildRedirector(b"relative")
