"""HTTP request path without sockets: glisten-web against twisted.web, in one process.

Keep-alive ``GET`` requests (the head ``wrk`` sends) are fed one read at a time to one
``HTTPChannel`` of a ``Site`` with a hello-world ``Resource`` (or a ``static.File`` folder
with a 1 KiB file), over an in-memory
``StringTransport``; the responses pile up in the transport (emptied every 1024 requests). No
reactor runs: what is measured is the CPU cost of parsing a request, routing and rendering it,
writing the response and logging it, which is what the server does per request under load,
without the noise of the kernel and a load generator sharing the machine. Timed in CPU time of
the process; ``1e6 / rate`` is microseconds per request.

Both sites keep their default settings (an access log sent to the logging system with no
observer attached) and a reactor that is not running (the idle timeout is armed, never fires).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any

from _harness import Case, main

#: The request ``wrk`` sends by default.
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"

#: The same request for a 1 KiB file under a ``static.File`` root.
STATIC_REQUEST = REQUEST.replace(b"GET / ", b"GET /1k.txt ")

_channels: dict[tuple[str, str], tuple[Any, Any]] = {}


def _channel(impl: str, kind: str = "hello") -> tuple[Any, Any]:
    """The channel and transport of ``impl`` serving ``kind`` (``hello`` or ``static``), made
    once per process."""
    made = _channels.get((impl, kind))
    if made is not None:
        return made
    if impl == "glisten":
        from glisten.internet.address import IPv4Address
        from glisten.internet.epollreactor import EPollReactor
        from glisten.internet.testing import StringTransport
        from glisten.web import resource, server, static

        reactor: Any = EPollReactor()
    else:
        from twisted.internet.address import IPv4Address  # type: ignore[no-redef]
        from twisted.internet.testing import StringTransport  # type: ignore[no-redef]
        from twisted.web import resource, server, static  # type: ignore[no-redef]

        reactor = None
    if kind == "static":
        folder = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "1k.txt"), "wb") as f:
            f.write(b"x" * 1024)
        root: Any = static.File(folder)
    else:
        root = Hello.make(resource.Resource)
    site: Any = server.Site(root, reactor=reactor) if reactor else server.Site(root)
    peer = IPv4Address("TCP", "127.0.0.1", 40000)
    transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer)
    channel = site.buildProtocol(peer)
    channel.makeConnection(transport)
    made = _channels[impl, kind] = (channel, transport)
    return made


class Hello:
    """Makes the hello-world resource class of an implementation."""

    @staticmethod
    def make(base: Any) -> Any:
        class HelloResource(base):  # type: ignore[misc, valid-type]
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                return b"Hello, world!"

        return HelloResource()


def _feed(impl: str, kind: str, request: bytes, expect: bytes, n: int) -> None:
    channel, transport = _channel(impl, kind)
    dataReceived = channel.dataReceived
    clear = transport.clear
    if impl == "twisted" and kind == "static":
        # Twisted streams even a small file through a pull producer that its global
        # cooperator drives from the reactor; with no reactor running, drive it here.
        from twisted.internet import task

        cooperator = task._theCooperator
        for i in range(n):
            if not i & 1023:
                clear()
            dataReceived(request)
            while cooperator._tasks:
                cooperator._tick()
    else:
        for i in range(n):
            if not i & 1023:
                clear()
            dataReceived(request)
    if n and expect not in transport.value():
        raise RuntimeError(f"no {kind} response: " + repr(transport.value()[:200]))


def helloKeepAlive(impl: str, n: int) -> None:
    _feed(impl, "hello", REQUEST, b"Hello, world!", n)


def static1kKeepAlive(impl: str, n: int) -> None:
    _feed(impl, "static", STATIC_REQUEST, b"x" * 1024, n)


if __name__ == "__main__":
    main(
        [
            Case("hello-world keep-alive, in-process", helloKeepAlive, unit=" req/s"),
            Case("static 1 KiB keep-alive, in-process", static1kKeepAlive, unit=" req/s"),
        ]
    )
