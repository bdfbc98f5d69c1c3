"""HTTP request path without sockets: glisten-web against twisted.web, in one process.

Keep-alive ``GET`` requests (the head ``wrk`` sends) are fed one read at a time to one
``HTTPChannel`` of a ``Site`` with a hello-world ``Resource``, over an in-memory
``StringTransport``; the responses pile up in the transport (emptied every 1024 requests). No
reactor runs: what is measured is the CPU cost of parsing a request, routing and rendering it,
writing the response and logging it, which is what the server does per request under load,
without the noise of the kernel and a load generator sharing the machine. Timed in CPU time of
the process; ``1e6 / rate`` is microseconds per request.

Both sites keep their default settings (an access log sent to the logging system with no
observer attached) and a reactor that is not running (the idle timeout is armed, never fires).
"""

from __future__ import annotations

from typing import Any

from _harness import Case, main

#: The request ``wrk`` sends by default.
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"

_channels: dict[str, tuple[Any, Any]] = {}


def _channel(impl: str) -> tuple[Any, Any]:
    """The channel and transport of ``impl``, made once per process."""
    made = _channels.get(impl)
    if made is not None:
        return made
    if impl == "glisten":
        from glisten.internet.address import IPv4Address
        from glisten.internet.epollreactor import EPollReactor
        from glisten.internet.testing import StringTransport
        from glisten.web import resource, server

        site: Any = server.Site(Hello.make(resource.Resource), reactor=EPollReactor())
    else:
        from twisted.internet.address import IPv4Address  # type: ignore[no-redef]
        from twisted.internet.testing import StringTransport  # type: ignore[no-redef]
        from twisted.web import resource, server  # type: ignore[no-redef]

        site = server.Site(Hello.make(resource.Resource))
    peer = IPv4Address("TCP", "127.0.0.1", 40000)
    transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer)
    channel = site.buildProtocol(peer)
    channel.makeConnection(transport)
    made = _channels[impl] = (channel, transport)
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


def helloKeepAlive(impl: str, n: int) -> None:
    channel, transport = _channel(impl)
    dataReceived = channel.dataReceived
    clear = transport.clear
    for i in range(n):
        if not i & 1023:
            clear()
        dataReceived(REQUEST)
    if n and b"Hello, world!" not in transport.value():
        raise RuntimeError("no hello-world response: " + repr(transport.value()[:200]))


if __name__ == "__main__":
    main([Case("hello-world keep-alive, in-process", helloKeepAlive, unit=" req/s")])
