"""DNS benchmark: an authoritative server for a small zone, loaded by dnsperf.

The same zone file is served by ``glisten.names`` and by ``twisted.names``
(each in its own server process on a loopback UDP port, on its default
epoll reactor); ``dnsperf`` (Debian package ``dnsperf``) sends a mix of
queries (positive answers, a CNAME chain, NODATA, NXDOMAIN, MX with
additional records) for a few seconds and reports queries per second.

Besides dnsperf's queries per second (bounded by dnsperf itself, which
shares the machine's cores), each case is also reported per second of the
server process's own CPU time, which is what a query costs the server.

glisten's server reuses the response to an identical query (same octets
but the id) for up to a second (``DNSServerFactory.answerCacheLifetime``);
the second case turns that off, so every query is parsed and answered by
``glisten.names._wire._respond.respond``, which reuses the zones' encoded
answer sections per name and type but builds every response anew.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

from _harness import Case, main

DURATION = 6  # seconds of load per implementation and case

ZONE = """\
$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300
@       IN NS  ns1.example.com.
@       IN MX  10 mail.example.com.
@       IN A   192.0.2.10
ns1     IN A   192.0.2.1
mail    IN A   192.0.2.2
mail    IN AAAA 2001:db8::2
www     IN CNAME mail.example.com.
@       IN TXT "v=spf1 -all"
"""

QUERIES = """\
example.com A
www.example.com A
mail.example.com AAAA
example.com MX
example.com NS
example.com TXT
nothere.example.com A
mail.example.com TXT
"""

SERVER = r"""
import sys
impl, zone, answerCache = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if impl == "glisten":
    from glisten.internet.epollreactor import EPollReactor
    from glisten.names import authority, dns, server
    if not answerCache:
        server.DNSServerFactory.answerCacheLifetime = 0
    reactor = EPollReactor()
    auth = authority.BindAuthority(zone)
    factory = server.DNSServerFactory(authorities=[auth], reactor=reactor)
    port = reactor.listenUDP(0, dns.DNSDatagramProtocol(factory, reactor=reactor), interface="127.0.0.1")
else:
    from twisted.internet import reactor
    from twisted.names import authority, dns, server
    auth = authority.BindAuthority(zone)
    factory = server.DNSServerFactory(authorities=[auth])
    port = reactor.listenUDP(0, dns.DNSDatagramProtocol(controller=factory), interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
"""


def _cpuSeconds(pid: int) -> float:
    """User + system CPU time used so far by process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def authoritative(impl: str, n: int) -> float:
    return _run(impl, answerCache=True)[0]


def authoritativeNoAnswerCache(impl: str, n: int) -> float:
    return _run(impl, answerCache=False)[0]


def authoritativeCPU(impl: str, n: int) -> float:
    return _run(impl, answerCache=True)[1]


def authoritativeNoAnswerCacheCPU(impl: str, n: int) -> float:
    return _run(impl, answerCache=False)[1]


def _run(impl: str, answerCache: bool) -> tuple[float, float]:
    """
    :return: (queries per second as dnsperf saw them, queries per second of
        the server's own CPU time). dnsperf shares the machine with the
        server, so the first is often limited by the load generator; the
        second measures what each query costs the server.
    """
    dnsperf = shutil.which("dnsperf")
    if dnsperf is None:
        raise RuntimeError("dnsperf is not installed (Debian package dnsperf)")
    with tempfile.TemporaryDirectory() as tmp:
        zone = os.path.join(tmp, "example.com.zone")
        queries = os.path.join(tmp, "queries.txt")
        with open(zone, "w") as f:
            f.write(ZONE)
        with open(queries, "w") as f:
            f.write(QUERIES)
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, impl, zone, "1" if answerCache else "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()
            if not port.isdigit():
                raise RuntimeError(f"{impl} server did not start")
            cpuBefore = _cpuSeconds(proc.pid)
            out = subprocess.run(
                [dnsperf, "-s", "127.0.0.1", "-p", port, "-d", queries, "-l", str(DURATION)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            cpu = _cpuSeconds(proc.pid) - cpuBefore
        finally:
            proc.kill()
            proc.wait()
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if lost is not None and int(lost.group(1)) > 0:
        sys.stderr.write(f"{impl}: {lost.group(1)} queries lost\n")
    rate = re.search(r"Queries per second:\s+([\d.]+)", out)
    done = re.search(r"Queries completed:\s+(\d+)", out)
    if rate is None or done is None:
        raise RuntimeError(f"no rate in dnsperf output:\n{out}")
    return float(rate.group(1)), int(done.group(1)) / max(cpu, 1e-3)


if __name__ == "__main__":
    main(
        [
            Case(
                "authoritative UDP, small zone (dnsperf)",
                authoritative,
                selfTimed=True,
                unit=" q/s",
            ),
            Case(
                "authoritative UDP, glisten answer cache off",
                authoritativeNoAnswerCache,
                selfTimed=True,
                unit=" q/s",
            ),
            Case(
                "authoritative UDP, per server CPU second",
                authoritativeCPU,
                selfTimed=True,
                unit=" q/cpu-s",
            ),
            Case(
                "authoritative UDP, answer cache off, per server CPU second",
                authoritativeNoAnswerCacheCPU,
                selfTimed=True,
                unit=" q/cpu-s",
            ),
        ]
    )
