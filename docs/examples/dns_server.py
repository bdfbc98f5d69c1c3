"""A DNS server with a zone of its own that forwards everything else, with a cache.

The server is authoritative for ``example.com`` (a BIND zone file) and forwards other names
to an upstream server, caching the answers. So that the program runs anywhere, the
"upstream" is a second glisten server on loopback, authoritative for ``example.org``; in real
use it is your ISP's resolver or ``1.1.1.1``. A client then asks the first server for a name
of each zone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from glisten.internet import defer, error, task
from glisten.names import authority, cache, client, dns, server

ZONE = """\
$ORIGIN example.com.
$TTL 300
@    IN SOA ns1 hostmaster 2026120601 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
"""

UPSTREAM_ZONE = ZONE.replace("example.com", "example.org").replace("192.0.2.80", "198.51.100.7")


def listen(reactor: Any, factory: server.DNSServerFactory) -> int:
    """Serve ``factory`` on UDP and TCP (the same port number) on 127.0.0.1. The number
    the system picks for UDP may be in use for TCP already: then try another."""
    for _ in range(20):
        udp = reactor.listenUDP(0, dns.DNSDatagramProtocol(factory), interface="127.0.0.1")
        number = udp.getHost().port
        try:
            reactor.listenTCP(number, factory, interface="127.0.0.1")
        except error.CannotListenError:
            udp.stopListening()
            continue
        return int(number)
    raise error.CannotListenError("127.0.0.1", 0, "no port free for both UDP and TCP")


async def main(reactor: object, folder: Path) -> None:
    (folder / "example.com.zone").write_text(ZONE)
    (folder / "example.org.zone").write_text(UPSTREAM_ZONE)

    upstream = server.DNSServerFactory(
        authorities=[authority.BindAuthority(str(folder / "example.org.zone"))]
    )
    upstreamPort = listen(reactor, upstream)

    forwarder = client.Resolver(servers=[("127.0.0.1", upstreamPort)], reactor=reactor)
    ours = server.DNSServerFactory(
        authorities=[authority.BindAuthority(str(folder / "example.com.zone"))],
        caches=[cache.CacheResolver(reactor=reactor)],
        clients=[forwarder],
    )
    ourPort = listen(reactor, ours)

    asker = client.Resolver(servers=[("127.0.0.1", ourPort)], reactor=reactor)
    for name in ("www.example.com", "www.example.org"):
        answers, _, _ = await asker.lookupAddress(name)
        print(name, "->", answers[0].payload.dottedQuad())


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor, Path(tmp))))
