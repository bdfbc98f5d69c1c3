"""Shared test helpers for glisten-names: zones, fake transports, running a reactor."""

from __future__ import annotations

from typing import Any

from glisten.internet.defer import Deferred
from glisten.internet.error import CannotListenError
from glisten.names import authority, dns, server

ZONE = """\
$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
@       IN NS  ns1
@       IN MX  10 mail
@       IN A   192.0.2.10
ns1     IN A   192.0.2.1
mail    IN A   192.0.2.2
mail    IN AAAA 2001:db8::2
www     IN CNAME mail
loop1   IN CNAME loop2
loop2   IN CNAME loop1
dangling IN CNAME nothere
outside IN CNAME www.example.org.
*.wild  IN TXT "wildcard"
*.wild  IN MX 5 mail
a.b.deep IN A 192.0.2.20
sub     IN NS  ns.sub
sub     IN NS  ns.elsewhere.org.
ns.sub  IN A   192.0.2.9
srv._tcp IN SRV 1 1 80 mail
big     IN TXT "%s" "%s" "%s"
""" % ("x" * 250, "y" * 250, "z" * 250)


def exampleAuthority() -> authority.BindAuthority:
    return authority.BindAuthority.fromText(ZONE)


def query(name: bytes, t: int, id: int = 1, **kw: Any) -> bytes:
    m = dns.Message(id=id, recDes=1, **kw)
    m.queries.append(dns.Query(name, t))
    return m.toStr()


class FakeUDPTransport:
    """Collects datagrams written by a DatagramProtocol."""

    def __init__(self) -> None:
        self.written: list[tuple[bytes, Any]] = []

    def write(self, data: bytes, addr: Any = None) -> None:
        self.written.append((data, addr))

    def stopListening(self) -> None:
        pass


def makeReactor() -> Any:
    """A fresh, uninstalled reactor of the kind named by ``GLISTEN_REACTOR`` (default epoll)."""
    import os

    kind = os.environ.get("GLISTEN_REACTOR", "epoll")
    if kind == "poll":
        from glisten.internet.pollreactor import PollReactor

        return PollReactor()
    if kind == "select":
        from glisten.internet.selectreactor import SelectReactor

        return SelectReactor()
    if kind == "asyncio":
        from glisten.internet.asyncioreactor import AsyncioSelectorReactor

        return AsyncioSelectorReactor()
    from glisten.internet.epollreactor import EPollReactor

    return EPollReactor()


def runUntil(reactor: Any, d: Deferred[Any], timeout: float = 10.0) -> Any:
    """
    Run ``reactor`` until ``d`` fires and return its result (raise its failure).

    A test that would otherwise hang fails after ``timeout`` seconds.
    """
    box: list[Any] = []

    def done(result: Any) -> None:
        box.append(result)
        reactor.stop()

    d.addBoth(done)
    if not box:
        guard = reactor.callLater(timeout, reactor.stop)
        reactor.run(installSignalHandlers=False)
        if guard.active():
            guard.cancel()
    if not box:
        raise AssertionError("the Deferred did not fire in time")
    result = box[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def serve(
    reactor: Any,
    authorities: list[Any],
    interface: str = "127.0.0.1",
    port: int = 0,
    factory: Any = None,
) -> int:
    """Serve ``authorities`` (or ``factory``) over UDP and TCP on one loopback port; return it."""
    f = factory or server.DNSServerFactory(authorities=authorities, reactor=reactor)
    for _ in range(20):
        udp = reactor.listenUDP(
            port, dns.DNSDatagramProtocol(f, reactor=reactor), interface=interface
        )
        p = udp.getHost().port
        try:
            reactor.listenTCP(p, f, interface=interface)
        except CannotListenError:
            udp.stopListening()
            if port:
                raise
            continue
        return int(p)
    raise RuntimeError("no free port")
