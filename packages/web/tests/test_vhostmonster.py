"""vhost.VHostMonsterResource: the scheme and host a reverse proxy puts in the URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.web.resource import Resource
from glisten.web.util import redirectTo
from glisten.web.vhost import VHostMonsterResource

Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]


class Where(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"|".join(
            [
                request.prePathURL(),
                request.uri,
                request.getRequestHostname(),
                b"secure" if request.isSecure() else b"plain",
            ]
        )


class Redirect(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return redirectTo(request.prePathURL() + b"/next", request)


def get(path: bytes) -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: internal:8080\r\n\r\n" % path


@pytest.fixture
def root() -> Resource:
    root = Resource()
    root.putChild(b"vhost", VHostMonsterResource())
    app = Resource()
    app.putChild(b"where", Where())
    app.putChild(b"go", Redirect())
    root.putChild(b"app", app)
    return root


def test_httpsWithPort(connect: Callable[..., Any], parse: Parse, root: Resource) -> None:
    status, _, body = parse(connect(root).send(get(b"/vhost/https/example.com:8443/app/where?x=1")))
    assert status == 200
    assert body == b"https://example.com:8443/app/where|/app/where?x=1|example.com|secure"


def test_httpDefaultPort(connect: Callable[..., Any], parse: Parse, root: Resource) -> None:
    status, _, body = parse(connect(root).send(get(b"/vhost/http/Example.COM/app/where")))
    assert (status, body) == (200, b"http://example.com/app/where|/app/where|example.com|plain")


def test_httpsDefaultPortIs443(connect: Callable[..., Any], parse: Parse, root: Resource) -> None:
    _, _, body = parse(connect(root).send(get(b"/vhost/https/example.com/app/where")))
    assert body.startswith(b"https://example.com/app/where|")


def test_redirectsPointAtTheOutsideURL(
    connect: Callable[..., Any], parse: Parse, root: Resource
) -> None:
    status, headers, _ = parse(connect(root).send(get(b"/vhost/https/example.com/app/go")))
    assert status == 302
    assert headers[b"location"] == b"https://example.com/app/go/next"


@pytest.mark.parametrize(
    "path",
    [
        b"/vhost/ftp/example.com/app/where",
        b"/vhost/http/exa%3Cmple.com/app/where",
        b"/vhost/http/example.com:0/app/where",
        b"/vhost/http/example.com:99999/app/where",
        b"/vhost/http/example.com:x/app/where",
    ],
)
def test_badSchemeOrHostIs404(
    connect: Callable[..., Any], parse: Parse, root: Resource, path: bytes
) -> None:
    status, _, body = parse(connect(root).send(get(path)))
    assert status == 404
    assert b"<mple" not in body
