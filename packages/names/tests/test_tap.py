"""Tests for the ``glisten dns`` plugin."""

from __future__ import annotations

import argparse
import os
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.application.service import IServiceMaker
from glisten.names import client, dns, tap

from .helpers import ZONE, makeReactor, runUntil, serve


def _options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    tap.dnsPlugin.addArguments(parser)
    return parser.parse_args(list(argv))


def test_providesIServiceMaker() -> None:
    assert verifyObject(IServiceMaker, tap.dnsPlugin)
    assert tap.dnsPlugin.tapname == "dns"
    assert "\n" not in tap.dnsPlugin.description


@pytest.mark.parametrize(
    "value,expected",
    [
        ("53", ("", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("tcp:53", ("", 53)),
        ("tcp:53:interface=::1", ("::1", 53)),
        ("tcp:53:interface=\\:\\:1", ("::1", 53)),
        ("tcp:5353:interface=127.0.0.1", ("127.0.0.1", 5353)),
        ("tcp6:53", ("::", 53)),
        ("unix:/run/dns.sock", "unix:/run/dns.sock"),
        ("systemd:domain=INET:index=0", "systemd:domain=INET:index=0"),
    ],
)
def test_parseListen(value: str, expected: Any) -> None:
    assert tap.parseListen(value) == expected


@pytest.mark.parametrize(
    "value", ["x", "1.2.3.4:", "[::1]", "70000", "tcp:x", "tcp:53:backlog=5", "tcp:99999"]
)
def test_parseListenRejects(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        tap.parseListen(value)


def test_parseSecondary() -> None:
    assert tap.parseSecondary("192.0.2.1/example.com") == ("192.0.2.1", 53, "example.com")
    assert tap.parseSecondary("192.0.2.1:5353/example.com") == ("192.0.2.1", 5353, "example.com")
    assert tap.parseSecondary("[::1]:5353/example.com") == ("::1", 5353, "example.com")
    with pytest.raises(argparse.ArgumentTypeError):
        tap.parseSecondary("example.com")


def test_serviceServesZoneOverUDPAndTCP(tmp_path: Any) -> None:
    zone = os.path.join(tmp_path, "example.zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    opts = _options("--listen", "tcp:0:interface=127.0.0.1", "--bindzone", zone, "--cache")
    rx = makeReactor()
    svc = tap.dnsPlugin.makeService(opts, reactor=rx)
    svc.startService()
    (listener,) = [s for s in svc if isinstance(s, tap.DNSListener)]
    assert listener.port
    r = client.Resolver(servers=[("127.0.0.1", listener.port)], reactor=rx)

    async def go() -> None:
        ans, _, _ = await r.lookupAddress("mail.example.com")
        assert ans[0].payload == dns.Record_A("192.0.2.2", ttl=3600)
        # Over TCP (a truncated UDP answer is asked again over TCP).
        ans, _, _ = await r.lookupText("big.example.com")
        assert len(ans) == 1

    from glisten.internet import defer

    try:
        runUntil(rx, defer.ensureDeferred(go()))
    finally:
        svc.stopService()


def test_badZoneFileFailsMakeService(tmp_path: Any) -> None:
    zone = os.path.join(tmp_path, "bad.zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN a.\nx A 1.2.3\n")
    with pytest.raises(ValueError, match="bad.zone:2"):
        tap.dnsPlugin.makeService(_options("--bindzone", zone))


def test_secondaryRecursiveCacheAndHosts(tmp_path: Any) -> None:
    """Every source at once: a secondary zone, a hosts file, and recursion with a cache."""
    from glisten.internet import defer
    from glisten.names import authority, resolve
    from glisten.names.authority import BindAuthority

    rx = makeReactor()
    # The primary for the secondary zone, and the upstream for recursion.
    primaryZone = BindAuthority.fromText(ZONE)
    upstreamZone = BindAuthority.fromText(
        "$ORIGIN example.org.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.44\n"
    )
    upPort = serve(rx, [primaryZone, upstreamZone])

    hostsFile = os.path.join(tmp_path, "hosts")
    with open(hostsFile, "w") as f:
        f.write("192.0.2.33 printer.lan\n")
    resolvConf = os.path.join(tmp_path, "resolv.conf")
    with open(resolvConf, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    opts = _options(
        "--listen",
        "127.0.0.1:0",
        "--secondary",
        f"127.0.0.1:{upPort}/example.com",
        "--hosts-file",
        hostsFile,
        "--recursive",
        "--resolv-conf",
        resolvConf,
        "--cache",
    )
    svc = tap.dnsPlugin.makeService(opts, reactor=rx)
    (listener,) = [s for s in svc if isinstance(s, tap.DNSListener)]
    factory = listener.factory
    assert isinstance(factory.resolver, resolve.ResolverChain)
    (upstreamClient,) = [r for r in factory.resolver.resolvers if isinstance(r, client.Resolver)]
    # resolv.conf cannot name a port: point the upstream client at the test's.
    upstreamClient.servers = [("127.0.0.1", upPort)]
    upstreamClient.dynServers = []
    svc.startService()
    (sec,) = [r for r in factory.resolver.resolvers if isinstance(r, authority.FileAuthority)]

    async def go() -> None:
        # Wait for the first transfer (started by the service).
        while not hasattr(sec, "soa"):
            await sec.transfer()
        r = client.Resolver(servers=[("127.0.0.1", listener.port)], reactor=rx)
        ans, _, _ = await r.lookupAddress("mail.example.com")  # secondary zone
        assert ans[0].payload == dns.Record_A("192.0.2.2", ttl=3600)
        ans, _, _ = await r.lookupAddress("printer.lan")  # hosts file
        assert ans[0].payload.dottedQuad() == "192.0.2.33"
        for _ in range(2):  # recursion, then the cache
            ans, _, _ = await r.lookupAddress("www.example.org")
            assert ans[0].payload.dottedQuad() == "192.0.2.44"
        assert factory.cache is not None
        assert dns.Query(b"www.example.org", dns.A) in factory.cache.cache

    try:
        runUntil(rx, defer.ensureDeferred(go()))
    finally:
        svc.stopService()


def test_streamOnlyEndpoint(tmp_path: Any) -> None:
    """A unix: endpoint serves DNS over that stream (no UDP)."""
    from glisten.application.internet import StreamServerEndpointService

    zone = os.path.join(tmp_path, "example.zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    sock = os.path.join(tmp_path, "dns.sock")
    svc = tap.dnsPlugin.makeService(
        _options("--listen", f"unix:{sock}", "--bindzone", zone), reactor=makeReactor()
    )
    assert [type(s) for s in svc] == [StreamServerEndpointService]


def test_helpStyle() -> None:
    """Help texts read like ``glisten web``'s: lower case, no full stop, ENDPOINT for --listen."""
    parser = argparse.ArgumentParser()
    tap.dnsPlugin.addArguments(parser)
    for action in parser._actions[1:]:
        assert action.help and action.help[0].islower() and not action.help.endswith(".")
    listen = next(a for a in parser._actions if "--listen" in a.option_strings)
    assert listen.metavar == "ENDPOINT" and "default tcp:53" in (listen.help or "")


def test_sharedByWorkers() -> None:
    from zope.interface.verify import verifyObject

    from glisten.application.service import IShareableServiceMaker

    maker = tap.DNSServiceMaker()
    assert verifyObject(IShareableServiceMaker, maker)
    parser = argparse.ArgumentParser()
    maker.addArguments(parser)
    endpoints = maker.listeningEndpoints(
        parser.parse_args(
            ["--listen", "tcp:5353", "--listen", "tcp6:53:interface=::1", "--listen", "unix:/s"]
        )
    )
    assert endpoints == [
        "tcp:5353",
        "udp:5353",
        r"tcp6:53:interface=\:\:1",
        r"udp:53:interface=\:\:1",
        "unix:/s",
    ]
    assert maker.listeningEndpoints(parser.parse_args([])) == ["tcp:53", "udp:53"]
    with pytest.raises(ValueError, match="--secondary"):
        maker.listeningEndpoints(parser.parse_args(["--secondary", "127.0.0.1/example.com"]))
