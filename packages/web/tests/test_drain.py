"""A draining site (graceful stop): idle keep-alive connections close, requests in flight
finish with ``Connection: close``, the Deferred fires when the last connection is gone; and
``glisten web --health`` / ``--drain-delay`` around it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.application.service import IShareableServiceMaker
from glisten.internet.task import Clock
from glisten.internet.testing import MemoryReactorClock
from glisten.web import resource, server
from glisten.web.tap import serviceMaker

from .conftest import Conn, parseResponse

Connect = Callable[..., Conn]


class Hello(resource.Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[Any] = []

    def render_GET(self, request: Any) -> bytes | int:
        if request.path == b"/slow":
            self.waiting.append(request)
            return server.NOT_DONE_YET
        return b"hello"


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_idle_keep_alive_closes_at_once(connect: Connect) -> None:
    c = connect(Hello())
    status, headers, body = parseResponse(c.send(GET))
    assert (status, body) == (200, b"hello") and b"connection" not in headers
    drained: list[object] = []
    c.site.drain().addCallback(drained.append)
    assert c.transport.disconnecting
    assert not drained
    c.channel.connectionLost(None)  # type: ignore[arg-type]
    assert drained == [None]


def test_request_in_flight_finishes_with_close(connect: Connect) -> None:
    root = Hello()
    c = connect(root)
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    drained: list[object] = []
    c.site.drain().addCallback(drained.append)
    assert not c.transport.disconnecting
    (request,) = root.waiting
    request.write(b"late")
    request.finish()
    status, headers, body = parseResponse(bytes(c.transport.value()))
    assert status == 200 and headers[b"connection"] == b"close"
    assert c.transport.disconnecting
    c.channel.connectionLost(None)  # type: ignore[arg-type]
    assert drained == [None]


def test_fresh_connection_may_still_send_its_request(connect: Connect) -> None:
    c = connect(Hello())
    drained: list[object] = []
    c.site.drain().addCallback(drained.append)
    # Its request may be on the way: closing now would lose it.
    assert not c.transport.disconnecting
    status, headers, body = parseResponse(c.send(GET))
    assert (status, body, headers[b"connection"]) == (200, b"hello", b"close")
    assert c.transport.disconnecting


def test_drain_without_connections_fires_at_once(clock: Clock) -> None:
    site = server.Site(Hello(), reactor=clock)
    drained: list[object] = []
    site.drain().addCallback(drained.append)
    assert drained == [None] and site.draining


def test_cancelling_only_stops_waiting(connect: Connect) -> None:
    c = connect(Hello())
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    d = c.site.drain()
    d.cancel()
    d.addErrback(lambda f: None)
    c.channel.connectionLost(None)  # type: ignore[arg-type]
    assert c.site._channels == set()


def _options(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def test_web_is_shareable(tmp_path: Path) -> None:
    assert verifyObject(IShareableServiceMaker, serviceMaker)
    assert serviceMaker.listeningEndpoints(_options("--path", str(tmp_path))) == ["tcp:8080"]
    options = _options("--path", ".", "--listen", "tcp:1", "--listen", "unix:/x")
    assert serviceMaker.listeningEndpoints(options) == ["tcp:1", "unix:/x"]


def _siteOf(service: Any) -> server.Site:
    return next(iter(service)).factory  # type: ignore[no-any-return]


def test_health(tmp_path: Path, clock: Clock) -> None:
    (tmp_path / "index.html").write_text("home")
    service = serviceMaker.makeService(_options("--path", str(tmp_path), "--health", "/healthz"))
    site = _siteOf(service)
    c = Conn(site, clock)
    status, headers, body = parseResponse(c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (status, body, headers[b"cache-control"]) == (200, b"ok\n", b"no-store")
    # The folder is still served, and a file of the same name cannot shadow the check.
    assert parseResponse(c.send(GET))[2] == b"home"
    (tmp_path / "healthz").write_text("shadow")
    assert parseResponse(c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))[2] == b"ok\n"
    site.draining = True
    status, headers, body = parseResponse(c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (status, body, headers[b"connection"]) == (503, b"draining\n", b"close")


@pytest.mark.parametrize("bad", ["healthz", "/h?x", "/h#x"])
def test_health_needs_a_path(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="--health needs a path"):
        serviceMaker.makeService(_options("--path", str(tmp_path), "--health", bad))


def test_drain_delay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reactor = MemoryReactorClock()
    monkeypatch.setattr("glisten.web.tap.getReactor", lambda: reactor)
    options = _options("--path", str(tmp_path), "--listen", "tcp:0", "--drain-delay", "3")
    service = serviceMaker.makeService(options)
    site = _siteOf(service)
    service.privilegedStartService()
    service.startService()
    stopped: list[object] = []
    service.stopService().addCallback(stopped.append)
    assert site.draining
    listener = next(iter(service))
    reactor.advance(2.9)
    assert listener.running and not stopped, "still listening during the delay"
    reactor.advance(0.1)
    assert not listener.running
    assert stopped == [None]
    with pytest.raises(ValueError, match="--drain-delay must not be negative"):
        serviceMaker.makeService(_options("--path", str(tmp_path), "--drain-delay", "-1"))
