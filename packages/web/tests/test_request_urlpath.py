"""server.Request.URLPath: the URL of the resource being rendered, as a URLPath."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.python.urlpath import URLPath
from glisten.web.resource import Resource

from .conftest import Conn, parseResponse


class Links(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        here = request.URLPath()
        assert isinstance(here, URLPath)
        return b"\n".join(
            [
                bytes(str(here), "ascii"),
                bytes(str(here.child(b"edit")), "ascii"),
                bytes(str(here.sibling(b"other")), "ascii"),
                bytes(str(here.parent()), "ascii"),
            ]
        )


def test_URLPath(connect: Callable[..., Conn]) -> None:
    root = Resource()
    folder = Resource()
    root.putChild(b"a b", folder)
    folder.putChild(b"page", Links())
    conn = connect(root)
    # The port is the one the connection came in on (StringTransport says 12345).
    status, _, body = parseResponse(
        conn.send(b"GET /a%20b/page/extra?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    )
    assert status == 200
    assert body.split(b"\n") == [
        b"http://example.com:12345/a%20b/page",
        b"http://example.com:12345/a%20b/page/edit",
        b"http://example.com:12345/a%20b/other",
        b"http://example.com:12345/",
    ]
