"""dig and kdig (BIND's and Knot's clients) querying a glisten DNS server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import requireBinary

pytestmark = pytest.mark.interop

ZONE = """\
$ORIGIN example.com.
$TTL 3600
@        SOA   ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
@        NS    ns1
@        MX    10 mail
ns1      A     192.0.2.1
mail     A     192.0.2.2
mail     AAAA  2001:db8::2
www      CNAME mail
2.2      PTR   mail
txt      TXT   "hello world" "two"
_sip._tcp SRV  10 20 5060 sip
naptr    NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .
caa      CAA   0 issue "letsencrypt.org"
ssh      SSHFP 4 2 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
tlsa     TLSA  3 1 1 CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD
svc      SVCB  1 svc2 alpn="h2,h3" port=8443 ipv4hint=192.0.2.7
https    HTTPS 1 . alpn=h2 ipv6hint=2001:db8::5
hinfo    HINFO "PC" "Linux"
generic  TYPE65400 \\# 3 010203
big      TXT   "%s" "%s" "%s"
""" % ("a" * 250, "b" * 250, "c" * 250)

SERVER = r"""
import sys
from glisten.internet.epollreactor import EPollReactor
from glisten.names import authority, dns, server
reactor = EPollReactor()
f = server.DNSServerFactory(authorities=[authority.BindAuthority(sys.argv[1])], reactor=reactor)
for attempt in range(50):
    tcp = reactor.listenTCP(0, f, interface="127.0.0.1")
    port = tcp.getHost().port
    try:
        reactor.listenUDP(port, dns.DNSDatagramProtocol(f, reactor=reactor), interface="127.0.0.1")
        break
    except Exception:
        tcp.stopListening()
print(port, flush=True)
# Stop when the test closes our standard input.
reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(reactor.stop)))
reactor.run(installSignalHandlers=False)
"""

# (name, type, text dig prints after the type)
CASES = [
    (
        "example.com",
        "SOA",
        "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
    ),
    ("example.com", "NS", "ns1.example.com."),
    ("example.com", "MX", "10 mail.example.com."),
    ("mail.example.com", "A", "192.0.2.2"),
    ("mail.example.com", "AAAA", "2001:db8::2"),
    ("www.example.com", "CNAME", "mail.example.com."),
    ("2.2.example.com", "PTR", "mail.example.com."),
    ("txt.example.com", "TXT", '"hello world" "two"'),
    ("_sip._tcp.example.com", "SRV", "10 20 5060 sip.example.com."),
    ("naptr.example.com", "NAPTR", '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("caa.example.com", "CAA", '0 issue "letsencrypt.org"'),
    ("ssh.example.com", "SSHFP", "4 2 " + "AB" * 32),
    ("tlsa.example.com", "TLSA", "3 1 1 " + "CD" * 32),
    ("svc.example.com", "SVCB", '1 svc2.example.com. alpn="h2,h3" port=8443 ipv4hint=192.0.2.7'),
    ("https.example.com", "HTTPS", '1 . alpn="h2" ipv6hint=2001:db8::5'),
    ("hinfo.example.com", "HINFO", '"PC" "Linux"'),
    ("generic.example.com", "TYPE65400", "\\# 3 010203"),
]


@pytest.fixture(scope="module")
def glistenServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    zone = os.path.join(tmp_path_factory.mktemp("zone"), "example.zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, zone],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    port = proc.stdout.readline().strip()
    assert port.isdigit(), "glisten server did not start"
    try:
        yield int(port)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _dig(tool: str, port: int, *args: str) -> str:
    exe = requireBinary(tool)
    retry = "+tries=1" if tool == "dig" else "+retry=0"
    out = subprocess.run(
        [exe, "@127.0.0.1", "-p", str(port), "+time=5", retry, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _answerLines(output: str) -> list[list[str]]:
    lines = []
    for line in output.splitlines():
        if line and not line.startswith(";"):
            lines.append(line.split(None, 4))
    return lines


@pytest.mark.parametrize("tool", ["dig", "kdig"])
@pytest.mark.parametrize("name,rtype,text", CASES, ids=[c[1] for c in CASES])
def test_everyRecordType(tool: str, glistenServer: int, name: str, rtype: str, text: str) -> None:
    out = _dig(tool, glistenServer, name, rtype, "+noall", "+answer")
    rows = [r for r in _answerLines(out) if r[3] == rtype]
    assert len(rows) == 1, out
    owner, ttl, cls, typ, data = rows[0]
    assert owner == name + "."
    assert (ttl, cls) == ("3600", "IN")
    # dig and kdig split long hex and quote strings their own ways.
    assert _normalise(data) == _normalise(text), out


def _normalise(text: str) -> str:
    return "".join(text.replace('"', "").split()).lower()


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_nxdomainWithSOA(tool: str, glistenServer: int) -> None:
    out = _dig(tool, glistenServer, "nothere.example.com", "A")
    assert "NXDOMAIN" in out
    assert " aa" in out.lower().split("flags:")[1].split(";")[0]
    assert "SOA" in out.split("AUTHORITY SECTION")[1]


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_tcpAndTruncation(tool: str, glistenServer: int) -> None:
    # Without EDNS the answer does not fit in 512 octets: dig retries over TCP.
    out = _dig(
        tool, glistenServer, "big.example.com", "TXT", "+noedns" if tool == "dig" else "+noedns"
    )
    assert "a" * 250 in out
    out = _dig(tool, glistenServer, "mail.example.com", "A", "+tcp")
    assert "192.0.2.2" in out


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_axfr(tool: str, glistenServer: int) -> None:
    out = _dig(tool, glistenServer, "example.com", "AXFR")
    rows = _answerLines(out)
    assert rows[0][3] == "SOA" and rows[-1][3] == "SOA"
    types = {r[3] for r in rows}
    assert {"A", "AAAA", "MX", "NS", "TXT", "SRV", "CAA", "TLSA"} <= types
    assert len(rows) == len([line for line in ZONE.splitlines() if not line.startswith("$")]) + 1


@pytest.mark.parametrize(
    "listen,host",
    [
        ("tcp:{port}:interface=127.0.0.1", "127.0.0.1"),
        ("tcp:{port}:interface=::1", "::1"),
        ("127.0.0.1:{port}", "127.0.0.1"),
    ],
)
def test_cliPlugin(tmp_path: os.PathLike[str], listen: str, host: str) -> None:
    """``glisten dns --listen ENDPOINT --bindzone ...`` serves UDP and TCP on one address."""
    dig = requireBinary("dig")
    zone = os.path.join(tmp_path, "example.zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        s = socket.socket(family)
        s.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} on this machine")
    port = s.getsockname()[1]
    s.close()
    code = "from glisten.application.cli import main; main()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "dns",
            "--listen",
            listen.format(port=port),
            "--bindzone",
            zone,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Service started" in line:
                break
        else:
            pytest.fail("glisten dns did not start")
        for transport in ("+notcp", "+tcp"):
            out = subprocess.run(
                [dig, f"@{host}", "-p", str(port), "+short", transport, "www.example.com"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            assert out.split() == ["mail.example.com.", "192.0.2.2"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
