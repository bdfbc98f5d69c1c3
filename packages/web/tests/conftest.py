"""Shared helpers: run requests through a Site over an in-memory transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.web import server


class Conn:
    """A Site connection over a StringTransport with a fake clock."""

    def __init__(self, site: server.Site, clock: Clock) -> None:
        self.site = site
        self.clock = clock
        self.channel = site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> bytes:
        self.transport.clear()
        self.channel.dataReceived(data)
        return bytes(self.transport.value())

    def pump(self) -> bytes:
        """Let a registered pull producer write everything."""
        while self.transport.producer is not None:
            self.transport.producer.resumeProducing()
        return bytes(self.transport.value())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connect(clock: Clock) -> Callable[..., Conn]:
    def make(root: Any, site: server.Site | None = None, **kwargs: Any) -> Conn:
        if site is None:
            maxBody = kwargs.pop("maxRequestBody", None)
            site = server.Site(root, reactor=clock, **kwargs)
            site.maxRequestBody = maxBody
        return Conn(site, clock)

    return make


def parseResponse(data: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Split one Content-Length response into status, headers (lower-cased) and body."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b": ")
        headers[k.lower()] = v
    return status, headers, body


@pytest.fixture
def parse() -> Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]:
    return parseResponse


def runServer(
    site: server.Site, reactor: Any, client: Callable[[int], Any], tls: Any = None
) -> Any:
    """Serve ``site`` on a loopback port of ``reactor`` (over TLS with the ``tls`` options, if
    given) and run the blocking ``client(port)`` in a thread; the reactor stops when the
    client returns. Returns what it returned."""
    import threading

    if tls is not None:
        port = reactor.listenSSL(0, site, tls, backlog=1024, interface="127.0.0.1")
    else:
        port = reactor.listenTCP(0, site, backlog=1024, interface="127.0.0.1")
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["value"] = client(port.getHost().port)
        except BaseException as e:  # re-raised in the test's thread
            result["error"] = e
        finally:
            reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(threading.Thread(target=work, daemon=True).start)
    reactor.run(installSignalHandlers=False)
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def realReactor() -> Any:
    from glisten.internet.epollreactor import EPollReactor

    return EPollReactor()


@pytest.fixture
def serveReal(realReactor: Any) -> Callable[..., Any]:
    """``serveReal(rootResource, client)`` or ``serveReal(site, client)``."""

    def serve(root: Any, client: Callable[[int], Any]) -> Any:
        site = root if isinstance(root, server.Site) else server.Site(root, reactor=realReactor)
        site.reactor = realReactor
        return runServer(site, realReactor, client)

    return serve


def decodeResponse(data: bytes) -> tuple[bytes, bytes]:
    """Split one response into its head and its body, decoding a chunked body."""
    head, _, rest = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return head, rest
    body = b""
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        body += rest[:n]
        rest = rest[n + 2 :]
    return head, body


@pytest.fixture
def decode() -> Callable[[bytes], tuple[bytes, bytes]]:
    return decodeResponse
