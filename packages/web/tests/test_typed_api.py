"""glisten.web's public API is typed: a small consumer program passes ``mypy --strict``, and
mistakes in it are caught (so the types are real, not ``Any``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")

CONSUMER = """
from __future__ import annotations

from glisten.internet.defer import Deferred
from glisten.internet.interfaces import IAddress, IReactorTCP
from glisten.web import http, proxy, server, static, tap, util, vhost
from glisten.web.http_headers import Headers
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, Resource
from glisten.web.websocket import (
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: IRequest) -> bytes:
        agent: bytes | None = request.getHeader(b"user-agent")
        name: str | None = request.getHeader("x-name")
        address: IAddress | None = request.getClientAddress()
        headers: Headers = request.responseHeaders
        headers.addRawHeader(b"x-seen", b"1")
        request.setResponseCode(http.OK)
        request.setHeader(b"content-type", b"text/plain")
        done: Deferred[None] = request.notifyFinish()
        secure: bool = request.isSecure()
        args: dict[bytes, list[bytes]] = request.args
        del agent, name, address, done, secure, args
        return b"hello"

    def render_POST(self, request: IRequest) -> bytes:
        return util.redirectTo(b"/", request)


class Echo(WebSocketProtocol):
    def textMessageReceived(self, data: str) -> None:
        self.transport.sendTextMessage(data)


def build() -> server.Site:
    root = Resource()
    root.putChild(b"hello", Hello())
    root.putChild(b"ws", WebSocketResource(WebSocketServerFactory.forProtocol(Echo)))
    child: IResource = root.getChildWithDefault(b"hello", _request())
    del child
    site = server.Site(root)
    channel: http.HTTPChannel = site.buildProtocol(None)
    del channel
    return site


def _request() -> IRequest:
    raise NotImplementedError


def hosts(reactor: IReactorTCP) -> vhost.NameVirtualHost:
    files = static.File("/srv/www", defaultType="text/plain", ignoredExts=[".html"])
    files.allowHidden = False
    listing: static.DirectoryLister = files.directoryListing()
    page: bytes = listing.render(_request())
    child: IResource = files.getChild(b"index.html", _request())
    body: bytes = static.Data(b"ok", "text/plain").render_GET(_request())
    upstream = proxy.ReverseProxyResource("127.0.0.1", 8080, b"/app", reactor)
    deeper: proxy.ReverseProxyResource = upstream.getChild(b"x", _request())
    pending: int = upstream.render(_request())
    types: dict[str, str] = static.loadMimeTypes(["/etc/mime.types"])
    virtual = vhost.NameVirtualHost()
    virtual.addHost(b"files.example", files)
    virtual.addHost(b"app.example", upstream)
    virtual.default = static.Data(b"who?", "text/plain")
    found: IResource | None = virtual.getStaticEntity(b"app.example")
    url: str = tap.serviceURL(_address(), tls=True)
    del page, child, body, deeper, pending, types, found, url
    return virtual


def _address() -> IAddress:
    raise NotImplementedError


def session(request: server.Request) -> bytes:
    return request.getSession().uid
"""

MISTAKES = """
from glisten.web import proxy, vhost
from glisten.web.iweb import IRequest


def wrong(request: IRequest) -> str:
    request.setResponseCode("200")
    return request.getHeader(b"host")


def wrongHost() -> None:
    vhost.NameVirtualHost().addHost(b"example.com", "not a resource")
    proxy.ReverseProxyResource("example.com", 80, b"/", reactor="not a reactor")
"""

CONFIG = """
[mypy]
strict = True
plugins = mypy_zope:plugin
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "consumer.py").write_text(textwrap.dedent(source))
    (tmp_path / "mypy.ini").write_text(CONFIG)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental"]
        + ["consumer.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )


def test_consumerPassesStrict(tmp_path: Path) -> None:
    result = _mypy(tmp_path, CONSUMER)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mistakesAreCaught(tmp_path: Path) -> None:
    result = _mypy(tmp_path, MISTAKES)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument 1 to "setResponseCode"' in result.stdout
    assert "Incompatible return value type" in result.stdout
    assert 'Argument 2 to "addHost" of "NameVirtualHost"' in result.stdout
    assert 'Argument "reactor" to "ReverseProxyResource"' in result.stdout
