"""glisten.web.rewrite: rules applied before the resource walk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.web.resource import Resource
from glisten.web.rewrite import RewriterResource, alias, tildeToUsers

GET = b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n"


class Show(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"%s|%s|%s" % (request.path, b"/".join(request.prepath), b"/".join(request.postpath))


def tree() -> Resource:
    root = Resource()
    users = Resource()
    root.putChild(b"users", users)
    users.putChild(b"ann", Show())
    static = Resource()
    root.putChild(b"static", static)
    static.putChild(b"manual", Show())
    root.putChild(b"plain", Show())
    return root


def body(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def test_tildeAndAlias(connect: Callable[..., Any]) -> None:
    conn = connect(RewriterResource(tree(), tildeToUsers, alias(b"docs/v1", b"static/manual")))
    assert body(conn.send(GET % b"/~ann/page")) == b"/users/ann/page|users/ann|page"
    assert body(conn.send(GET % b"/docs/v1/intro")) == b"/static/manual/intro|static/manual|intro"
    assert body(conn.send(GET % b"/plain/x")) == b"/plain/x|plain|x"
    assert conn.send(GET % b"/docs/v2").startswith(b"HTTP/1.1 404")
