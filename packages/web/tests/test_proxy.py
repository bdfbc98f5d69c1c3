"""ReverseProxyResource against a real upstream glisten server."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from typing import Any

from glisten.web import server
from glisten.web.proxy import ReverseProxyResource
from glisten.web.resource import Resource

Serve = Callable[..., Any]


class Upstream(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"x-upstream", b"1")
        request.setHeader(b"connection", b"x-secret")
        request.setHeader(b"x-secret", b"hop")
        return b"|".join(
            [
                request.uri,
                request.getHeader(b"host") or b"",
                request.getHeader(b"x-forwarded-for") or b"",
                request.getHeader(b"x-forwarded-host") or b"",
                b"hop" if request.getHeader(b"x-hop") else b"-",
            ]
        )

    def render_POST(self, request: Any) -> bytes:
        return b"posted " + request.content.read()


def test_proxy(serveReal: Serve, realReactor: Any) -> None:
    upstream = realReactor.listenTCP(
        0, server.Site(Upstream(), reactor=realReactor), interface="127.0.0.1"
    )
    upPort = upstream.getHost().port
    root = Resource()
    root.putChild(b"app", ReverseProxyResource("127.0.0.1", upPort, b"/base", realReactor))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        deadPort = s.getsockname()[1]
    root.putChild(b"dead", ReverseProxyResource("127.0.0.1", deadPort, b"", realReactor))

    def client(port: int) -> list[Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        conn.request("GET", "/app/a%20b/c?x=1", headers={"Connection": "X-Hop", "X-Hop": "1"})
        r = conn.getresponse()
        out.append((r.status, r.read(), r.getheader("X-Upstream"), r.getheader("X-Secret")))
        conn.request("POST", "/app", body=b"data")
        r = conn.getresponse()
        out.append((r.status, r.read()))
        conn.request("GET", "/dead/x")
        r = conn.getresponse()
        out.append((r.status, r.read()[:30]))
        conn.close()
        return out

    got = serveReal(root, lambda port: (port, client(port)))
    port, results = got
    assert results[0] == (
        200,
        b"/base/a%%20b/c?x=1|127.0.0.1:%d|127.0.0.1|127.0.0.1:%d|-" % (upPort, port),
        "1",
        None,
    )
    assert results[1] == (200, b"posted data")
    assert results[2][0] == 502
