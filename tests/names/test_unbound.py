"""glisten's resolver asking a real unbound server started on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.epollreactor import EPollReactor
from glisten.names import client, dns, error

from .conftest import requireBinary

pytestmark = pytest.mark.interop

BIG = "x" * 200

CONFIG = """\
server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    module-config: "iterator"
    local-zone: "example.test." static
    local-data: "example.test. 300 IN SOA ns.example.test. h.example.test. 7 3600 600 86400 60"
    local-data: "www.example.test. 300 IN A 192.0.2.80"
    local-data: "www.example.test. 300 IN AAAA 2001:db8::80"
    local-data: "example.test. 300 IN MX 10 mail.example.test."
    local-data: 'txt.example.test. 300 IN TXT "hello"'
    local-data: "_imap._tcp.example.test. 300 IN SRV 0 5 143 mail.example.test."
    local-data: 'big.example.test. 300 IN TXT "{big}" "{big}" "{big}"'
remote-control:
    control-enable: no
"""


def _freePort() -> int:
    # Bind TCP and UDP on one port so unbound can take both.
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return int(port)
    raise RuntimeError("no free port")


@pytest.fixture(scope="module")
def unbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    exe = requireBinary("unbound")
    d = str(tmp_path_factory.mktemp("unbound"))
    port = _freePort()
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(CONFIG.format(port=port, dir=d, big=BIG))
    proc = subprocess.Popen([exe, "-d", "-c", conf], stderr=subprocess.PIPE)
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(coro: Any) -> Any:
    reactor = EPollReactor()
    box: list[Any] = []
    d = defer.ensureDeferred(coro(reactor))
    d.addBoth(lambda r: (box.append(r), reactor.stop()))
    guard = reactor.callLater(30, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert box, "timed out"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]


def test_lookups(unbound: int) -> None:
    async def go(reactor: Any) -> None:
        # Many short tries: the first ones may go out before unbound is listening.
        r = client.Resolver(servers=[("127.0.0.1", unbound)], timeout=(0.2,) * 50, reactor=reactor)
        ans, _, _ = await r.lookupAddress("www.example.test")
        assert [a.payload.dottedQuad() for a in ans] == ["192.0.2.80"]
        ans, _, _ = await r.lookupIPV6Address("www.example.test")
        assert ans[0].payload == dns.Record_AAAA("2001:db8::80", ttl=300)
        ans, _, _ = await r.lookupMailExchange("example.test")
        assert ans[0].payload == dns.Record_MX(10, b"mail.example.test", ttl=300)
        ans, _, _ = await r.lookupText("txt.example.test")
        assert ans[0].payload.data == (b"hello",)
        ans, _, _ = await r.lookupService("_imap._tcp.example.test")
        assert ans[0].payload == dns.Record_SRV(0, 5, 143, b"mail.example.test", ttl=300)
        # IPv6 in preference to IPv4, as Twisted documents getHostByName.
        assert await r.getHostByName("www.example.test") == "2001:db8::80"
        # No EDNS in glisten's queries: 600+ octets come back truncated, then over TCP.
        ans, _, _ = await r.lookupText("big.example.test")
        assert ans[0].payload.data == (BIG.encode(),) * 3
        with pytest.raises(error.DNSNameError):
            await r.lookupAddress("nothere.example.test")

    _run(go)
