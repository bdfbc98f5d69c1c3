"""``glisten web --http2``: the option, its default, and its message without the extra."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glisten.application.service import MultiService
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.python.failure import Failure
from glisten.web import server
from glisten.web._http2 import drainHTTP2
from glisten.web.tap import serviceMaker

from ._h2peer import Hello, Later, Peer


def _options(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def _site(options: argparse.Namespace) -> server.Site:
    service = serviceMaker.makeService(options)
    assert isinstance(service, MultiService)
    child: Any = next(iter(service))
    site: server.Site = child.factory
    return site


@pytest.mark.parametrize(
    ("flag", "expected", "alpn"),
    [
        ((), None, [b"h2", b"http/1.1"]),
        (("--http2",), True, [b"h2", b"http/1.1"]),
        (("--no-http2",), False, [b"http/1.1"]),
    ],
)
def test_option(
    tmp_path: Path, flag: tuple[str, ...], expected: bool | None, alpn: list[bytes]
) -> None:
    site = _site(_options("--path", str(tmp_path), "--listen", "tcp:0", *flag))
    assert site.http2 is expected
    assert site.acceptableProtocols() == alpn


WITHOUT_H2 = """
import argparse, sys
sys.modules["h2"] = None  # as if glisten-web[http2] were not installed
from glisten.web.tap import serviceMaker
parser = argparse.ArgumentParser()
serviceMaker.addArguments(parser)
options = parser.parse_args(sys.argv[1:])
try:
    site = next(iter(serviceMaker.makeService(options))).factory
except ValueError as e:
    print("error:", e)
else:
    print("alpn:", site.acceptableProtocols())
"""


def _withoutH2(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_H2, *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_withoutTheExtra(tmp_path: Path) -> None:
    out = _withoutH2("--path", str(tmp_path), "--listen", "tcp:0", "--http2")
    assert out == "error: --http2 needs the h2 package: install glisten-web[http2]"
    # Without the option, HTTP/1.1 is served and TLS offers only http/1.1.
    assert _withoutH2("--path", str(tmp_path), "--listen", "tcp:0") == "alpn: [b'http/1.1']"


def test_drain(clock: Clock) -> None:
    site = server.Site(Hello(), reactor=clock)
    site.http2 = True
    peers = [Peer(site, clock) for _ in range(2)]
    for peer in peers:
        peer.request(b"/")
    # Connections close when their transport says so; a StringTransport does not, so the
    # test tells each connection itself.
    done: list[object] = []
    drainHTTP2(site, clock).addCallback(done.append)
    for peer in peers:
        peer.read()
        assert peer.goaway() is not None and peer.closed
        assert done == []
        peer.channel.connectionLost(Failure(ConnectionDone()))
    assert done == [None]


def test_drainAbortsAfterTimeout(clock: Clock) -> None:
    class Hang(Hello):
        def render_GET(self, request: Any) -> int:
            return server.NOT_DONE_YET

    site = server.Site(Hang(), reactor=clock)
    site.http2 = True
    peer = Peer(site, clock)
    peer.request(b"/")
    drainHTTP2(site, clock, timeout=5)
    assert not peer.closed
    clock.advance(5)
    assert peer.transport.aborted


def test_serviceStopDrains(clock: Clock) -> None:
    """Stopping the ``glisten web`` service stops listening, sends GOAWAY on HTTP/2
    connections and waits for their open streams."""
    from glisten.internet.defer import succeed
    from glisten.web.tap import _AnnouncingService

    later = Later()
    site = server.Site(later, reactor=clock)
    site.http2 = True

    class Port:
        stopped = False

        def getHost(self) -> Any:
            return None

        def stopListening(self) -> None:
            self.stopped = True

    port = Port()

    class Endpoint:
        def listen(self, factory: Any) -> Any:
            return succeed(port)

    service = _AnnouncingService(Endpoint(), site, "test", False)  # type: ignore[arg-type]
    service.startService()
    peer = Peer(site, clock)
    peer.request(b"/")
    stopped: list[object] = []
    service.stopService().addCallback(stopped.append)
    assert port.stopped
    peer.read()
    assert peer.goaway() is not None and not peer.closed and stopped == []
    later.pending[0].callback(b"done")
    assert peer.closed
    assert b"done" in peer.transport.value()
    peer.channel.connectionLost(Failure(ConnectionDone()))
    assert stopped == [None]
