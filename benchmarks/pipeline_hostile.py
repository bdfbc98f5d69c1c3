"""One client pipelines 1 MiB of cheap commands; how long does another client wait? (issue 29)

For each of glisten's servers that answers pipelined commands (SMTP, POP3, IMAP4, IRC, DNS over
TCP and an XML stream), a server runs on a real epoll reactor on 127.0.0.1 while two clients
connect: one sends 1 MiB of the protocol's cheapest command (``NOOP``, ``PING``, a query, a
tiny stanza) in one go and reads every answer; the other sends one command at a time on its
own connection and times each answer. Printed per server: the other client's worst (and 99th
percentile) latency and how long the flood took, with the per-turn budget lifted (``before``: every command of a
read is answered before anyone else is served) and with glisten's defaults (``after``: 64
commands or stanzas per reactor turn).

For SSH, both clients are glisten's SSH client, logged in with a password: the flooder
sends 1 MiB of empty ``SSH_MSG_IGNORE`` packets then a global request, the other times one
global request after another.

One client case turns the roles round: glisten's ``IRCClient`` is connected to a hostile
server that sends 1 MiB of ``PING`` lines in one go, while an outside client times a tiny
echo service on the same reactor (``IRC client PING flood``).

``python benchmarks/pipeline_hostile.py [NAME...]`` runs the cases whose name contains one
of the words. There is no Twisted column: its servers have no such budget (they answer a
read whole), which is what ``before`` shows for glisten.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
from typing import Any

FLOOD = 1024 * 1024
LIFTED = 10**9

# Each client speaks raw bytes over a socket: JSON carries them as latin-1 text. The prober
# (``fetcher``) times one probe after another on a connection of its own until ``done``.
_PROBER = r"""
import json, socket, sys, threading, time
port = int(sys.argv[1]); spec = json.loads(sys.argv[2])
b = lambda key, **kw: spec[key].format(**kw).encode("latin-1")
result = {}
done = threading.Event()

def readUntil(s, marker, data=b""):
    while marker not in data:
        got = s.recv(65536)
        if not got:
            raise ConnectionError("closed before %r" % marker)
        # Keep only what a marker cut in two needs: the flood's answers are megabytes.
        data = (data[-len(marker):] if len(data) > 65536 else data) + got
    return data[data.index(marker) + len(marker):]

def connect(who, login="login"):
    s = socket.create_connection(("127.0.0.1", port))
    rest = b""
    if spec["greeting"]:
        rest = readUntil(s, b("greeting"))
    if spec[login]:
        s.sendall(b(login, who=who))
        rest = readUntil(s, b(login + "Done"), rest)
    return s, rest

def fetcher():
    s, rest = connect("other", "probeLogin" if "probeLogin" in spec else "login")
    probe = b("probe"); marker = b("probeMarker")
    times = []
    while not done.is_set():
        start = time.perf_counter()
        s.sendall(probe)
        rest = readUntil(s, marker, b"")
        times.append(time.perf_counter() - start)
    times.sort()
    result["worst_latency_ms"] = times[-1] * 1000
    result["p99_latency_ms"] = times[int(len(times) * 0.99)] * 1000
    result["probes"] = len(times)
"""

_CLIENTS = (
    _PROBER
    + r"""
def attacker():
    s, rest = connect("flooder")
    unit = b("unit")
    flood = unit * (spec["flood"] // len(unit)) + b("end")
    box = {}
    def reader():
        try:
            readUntil(s, b("endMarker"), rest)
        except OSError as e:
            box["error"] = repr(e)
        box["end"] = time.perf_counter()
    t = threading.Thread(target=reader)
    start = time.perf_counter()
    t.start()
    s.sendall(flood)
    t.join()
    result["flood_s"] = box["end"] - start
    if "error" in box:
        result["error"] = box["error"]
    done.set()

f = threading.Thread(target=fetcher)
f.start()
time.sleep(0.2)
attacker()
f.join()
print(json.dumps(result))
"""
)


# SSH needs a key exchange and a login first: each client is glisten's own SSH client, in a
# process of its own (so that the flooder's encryption does not delay the prober's clock).
_SSH_CLIENT = r"""
import json, os, sys, time
from glisten.conch.ssh import connection, transport, userauth
from glisten.internet import defer, protocol
from glisten.internet.epollreactor import EPollReactor

port, role, flood, doneFile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
reactor = EPollReactor()
result = {}

class Conn(connection.SSHConnection):
    def serviceStarted(self):
        super().serviceStarted()
        if role == "flooder":
            print("ready", flush=True)
            start = time.perf_counter()
            # An empty IGNORE is a 32-byte packet once encrypted (chacha20-poly1305).
            for _ in range(flood // 32):
                self.transport.sendIgnore(b"")
            d = self.sendGlobalRequest(b"ping", b"end", wantReply=True)
            d.addCallback(lambda _: result.update(flood_s=time.perf_counter() - start))
            d.addBoth(lambda _: reactor.stop())
        else:
            self.times = []
            print("ready", flush=True)
            self.probe()

    def probe(self):
        if os.path.exists(doneFile):
            self.times.sort()
            result.update(
                worst_latency_ms=self.times[-1] * 1000,
                p99_latency_ms=self.times[int(len(self.times) * 0.99)] * 1000,
                probes=len(self.times),
            )
            reactor.stop()
            return
        start = time.perf_counter()

        def answered(_):
            self.times.append(time.perf_counter() - start)
            self.probe()

        self.sendGlobalRequest(b"ping", b"p", wantReply=True).addCallback(answered)

class Auth(userauth.SSHUserAuthClient):
    def getPassword(self, prompt=None):
        return defer.succeed(b"pw")

    def getPublicKey(self):
        return None

class Client(transport.SSHClientTransport):
    def verifyHostKey(self, hostKey, fingerprint):
        return defer.succeed(True)

    def connectionSecure(self):
        self.requestService(Auth(b"bob", Conn()))

factory = protocol.ClientFactory.forProtocol(Client)
factory.reactor = reactor
reactor.connectTCP("127.0.0.1", port, factory)
reactor.run(installSignalHandlers=False)
print(json.dumps(result), flush=True)
"""


# The client case: a hostile IRC server floods glisten's IRCClient with PINGs while a prober
# times the echo service that runs on the client's reactor.
_HOSTILE_SERVER = (
    _PROBER
    + r"""
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
f = threading.Thread(target=fetcher)
f.start()
time.sleep(0.2)
unit = b"PING :x\r\n"
flood = unit * (spec["flood"] // len(unit)) + b"PING :zzend\r\n"
start = time.perf_counter()
sender = threading.Thread(target=conn.sendall, args=(flood,))
sender.start()
try:
    readUntil(conn, b"zzend\r\n")
except OSError as e:
    result["error"] = repr(e)
result["flood_s"] = time.perf_counter() - start
sender.join()
done.set()
f.join()
print(json.dumps(result), flush=True)
"""
)


def _ircClientCase(reactor: Any, lifted: bool, out: dict[str, Any]) -> None:
    """Listen with the echo service, start the hostile server, connect an IRCClient to it."""
    from glisten.internet.protocol import ClientFactory, ServerFactory
    from glisten.protocols.basic import LineReceiver
    from glisten.words.protocols import irc

    class Echo(LineReceiver):
        def lineReceived(self, line: bytes) -> None:
            self.sendLine(line + b"r")

    class Client(irc.IRCClient):
        performLogin = 0
        heartbeatInterval = None

    Client.reactor = reactor
    if lifted:
        Client.maxMessagesPerTurn = LIFTED
        Client.maxBytesPerTurn = LIFTED
    echo = reactor.listenTCP(0, ServerFactory.forProtocol(Echo), interface="127.0.0.1")

    def run() -> None:
        spec = dict(greeting="", login="", probe="p\r\n", probeMarker="pr\r\n", flood=FLOOD)
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOSTILE_SERVER, str(echo.getHost().port), json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        reactor.callFromThread(
            reactor.connectTCP, "127.0.0.1", port, ClientFactory.forProtocol(Client)
        )
        stdout, stderr = proc.communicate(timeout=600)
        try:
            out.update(json.loads(stdout.strip().splitlines()[-1]))
        except (IndexError, ValueError):
            out["error"] = stderr[-800:]
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(threading.Thread(target=run, daemon=True).start)


def _sshClients(port: int) -> dict[str, Any]:
    """Start the prober, then the flooder; stop the prober once the flood is answered."""
    with tempfile.TemporaryDirectory() as tmp:
        doneFile = os.path.join(tmp, "done")

        def start(role: str) -> subprocess.Popen[str]:
            proc = subprocess.Popen(
                [sys.executable, "-c", _SSH_CLIENT, str(port), role, str(FLOOD), doneFile],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(proc.communicate(timeout=60)[1][-800:])
            return proc

        prober = start("prober")
        flooder = start("flooder")
        out: dict[str, Any] = {}
        try:
            out.update(json.loads(flooder.communicate(timeout=600)[0].strip().splitlines()[-1]))
        finally:
            open(doneFile, "w").close()
            out.update(json.loads(prober.communicate(timeout=60)[0].strip().splitlines()[-1]))
        return out


def _dnsQuery(id: int) -> str:
    from glisten.names import dns

    m = dns.Message(id=id, recDes=1)
    m.queries.append(dns.Query(b"example.com", dns.A))
    raw = m.toStr()
    return (struct.pack("!H", len(raw)) + raw).decode("latin-1")


ZONE = """\
$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1.example.com. admin.example.com. 1 3600 600 86400 300
@       IN NS  ns1.example.com.
@       IN A   192.0.2.10
ns1     IN A   192.0.2.1
"""


def _specs() -> dict[str, dict[str, Any]]:
    crlf = "\r\n"
    return {
        "SMTP NOOP": dict(
            greeting="220 ",
            login="EHLO {who}" + crlf,
            loginDone="250 ",
            unit="NOOP" + crlf,
            end="QUIT" + crlf,
            endMarker="221 ",
            probe="NOOP" + crlf,
            probeMarker="250 ",
        ),
        "SMTP DATA of 1-character lines": dict(
            greeting="220 ",
            login="EHLO {who}\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
            loginDone="354 ",
            unit="x" + crlf,
            end="." + crlf,
            endMarker="Message accepted",
            probeLogin="EHLO {who}" + crlf,
            probeLoginDone="250 ",
            probe="NOOP" + crlf,
            probeMarker="250 ",
        ),
        "POP3 NOOP": dict(
            greeting="+OK",
            login="USER bob\r\nPASS pw\r\nSTAT\r\n",
            loginDone="+OK 0 0\r\n",
            unit="NOOP" + crlf,
            end="STAT" + crlf,
            endMarker="+OK 0 0\r\n",
            probe="NOOP" + crlf,
            probeMarker="+OK\r\n",
        ),
        "IMAP4 NOOP": dict(
            greeting="* OK",
            login="l LOGIN bob pw" + crlf,
            loginDone="l OK",
            unit="n NOOP" + crlf,
            end="z NOOP" + crlf,
            endMarker="z OK",
            probe="p NOOP" + crlf,
            probeMarker="p OK",
        ),
        "IRC PING": dict(
            greeting="",
            login="NICK {who}\r\nUSER {who} 0 * :{who}\r\n",
            loginDone=" 001 ",
            unit="PING x" + crlf,
            end="PING zzend" + crlf,
            endMarker="zzend",
            probe="PING pp" + crlf,
            probeMarker="pp\r\n",
        ),
        "DNS TCP queries": dict(
            greeting="",
            login="",
            loginDone="",
            unit=_dnsQuery(1),
            end=_dnsQuery(0xBEEF),
            endMarker="\xbe\xef",
            probe=_dnsQuery(0x7777),
            probeMarker="\x77\x77",
        ),
        "SSH IGNORE packets": {},
        "XML stream stanzas": dict(
            greeting="",
            login="<s>",
            loginDone="<s>",
            unit="<a/>",
            end="<end/>",
            endMarker="<endr/>",
            probe="<p/>",
            probeMarker="<pr/>",
        ),
        "IRC client PING flood": {},
    }


def _factory(name: str, lifted: bool, reactor: Any, tmp: str) -> Any:
    from zope.interface import implementer

    from glisten.cred import checkers, portal

    users = checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")
    if name.startswith("SMTP"):
        from glisten.mail import smtp
        from glisten.mail._driver import CodecDriver

        if lifted:
            CodecDriver.maxCommandsPerTurn = LIFTED

        @implementer(smtp.IMessage)
        class Discard:
            def lineReceived(self, line: bytes) -> None:
                pass

            def eomReceived(self) -> Any:
                from glisten.internet.defer import succeed

                return succeed(None)

            def connectionLost(self) -> None:
                pass

        @implementer(smtp.IMessageDelivery)
        class Anyone:
            def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
                return b"Received: by bench"

            def validateFrom(self, helo: Any, origin: Any) -> Any:
                return origin

            def validateTo(self, user: Any) -> Any:
                return Discard

        class ESMTP(smtp.ESMTP):
            def __init__(self) -> None:
                super().__init__()
                self.delivery = Anyone()

        smtpFactory = smtp.SMTPFactory()
        smtpFactory.protocol = ESMTP
        return smtpFactory
    if name.startswith("POP3"):
        from glisten.internet.protocol import ServerFactory
        from glisten.mail import maildir, pop3
        from glisten.mail._driver import CodecDriver

        if lifted:
            CodecDriver.maxCommandsPerTurn = LIFTED

        @implementer(portal.IRealm)
        class Boxes:
            def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
                return pop3.IMailbox, maildir.StringListMailbox([]), lambda: None

        class POP3(pop3.POP3):
            authOverPlaintext = True

        POP3.portal = portal.Portal(Boxes(), [users])
        return ServerFactory.forProtocol(POP3)
    if name.startswith("IMAP4"):
        from glisten.internet.protocol import ServerFactory
        from glisten.mail import imap4
        from glisten.mail._driver import CodecDriver

        if lifted:
            CodecDriver.maxCommandsPerTurn = LIFTED
        account = imap4.MemoryAccount("bob")

        @implementer(portal.IRealm)
        class Accounts:
            def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
                return imap4.IAccount, account, lambda: None

        class IMAP(imap4.IMAP4Server):
            authOverPlaintext = True

        IMAP.portal = portal.Portal(Accounts(), [users])
        return ServerFactory.forProtocol(IMAP)
    if name.startswith("IRC"):
        from glisten.cred.portal import Portal
        from glisten.words import service
        from glisten.words.protocols import irc

        if lifted:
            irc.IRC.maxMessagesPerTurn = LIFTED
            irc.IRC.maxBytesPerTurn = LIFTED
        realm = service.InMemoryWordsRealm("bench")
        return service.IRCFactory(
            realm, Portal(realm, [service.OpenRegistrationChecker()]), reactor=reactor
        )
    if name.startswith("DNS"):
        from glisten.names import authority, dns, server

        if lifted:
            dns.DNSProtocol.maxMessagesPerTurn = LIFTED
        server.DNSServerFactory.answerCacheLifetime = 0
        zone = os.path.join(tmp, "example.com.zone")
        with open(zone, "w") as f:
            f.write(ZONE)
        return server.DNSServerFactory(authorities=[authority.BindAuthority(zone)], reactor=reactor)
    if name.startswith("SSH"):
        from glisten.conch.avatar import ConchUser
        from glisten.conch.ssh import factory, keys, transport

        if lifted:
            transport.SSHTransportBase.maxPacketsPerTurn = LIFTED

        class Avatar(ConchUser):
            def global_ping(self, data: bytes) -> Any:
                return True, data

        @implementer(portal.IRealm)
        class Users:
            def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
                return interfaces[0], Avatar(), lambda: None

        hostKey = keys.Key.generate("ed25519")

        class SSHFactory(factory.SSHFactory):
            publicKeys = {b"ssh-ed25519": hostKey.public()}
            privateKeys = {b"ssh-ed25519": hostKey}

        SSHFactory.portal = portal.Portal(Users(), [users])
        sshFactory = SSHFactory()
        sshFactory.reactor = reactor
        return sshFactory
    from glisten.internet.protocol import ServerFactory
    from glisten.words.xish import xmlstream

    class Echo(xmlstream.XmlStream):
        """Answers each stanza ``<x/>`` with ``<xr/>``."""

        def onDocumentStart(self, rootElement: Any) -> None:
            self.send(b"<s>")

        def onElement(self, element: Any) -> None:
            self.send(f"<{element.name}r/>")

    Echo.reactor = reactor
    if lifted:
        Echo.maxElementsPerTurn = LIFTED
        Echo.maxBytesPerTurn = LIFTED
    return ServerFactory.forProtocol(Echo)


def _serve(name: str, lifted: bool) -> dict[str, Any]:
    from glisten.internet.epollreactor import EPollReactor
    from glisten.internet.main import installReactor

    reactor = EPollReactor()
    # The global reactor is the one protocols without a reactor of their own look up.
    installReactor(reactor)
    out: dict[str, Any] = {}
    if name == "IRC client PING flood":
        _ircClientCase(reactor, lifted, out)
        reactor.run(installSignalHandlers=False)
        return out
    with tempfile.TemporaryDirectory() as tmp:
        factory = _factory(name, lifted, reactor, tmp)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        spec = dict(_specs()[name], flood=FLOOD)

        def clients() -> None:
            if name.startswith("SSH"):
                try:
                    out.update(_sshClients(port.getHost().port))
                except Exception as e:  # reported in the output, not raised in a thread
                    out["error"] = repr(e)
                reactor.callFromThread(reactor.stop)
                return
            proc = subprocess.run(
                [sys.executable, "-c", _CLIENTS, str(port.getHost().port), json.dumps(spec)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            try:
                out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            except (IndexError, ValueError):
                out["error"] = proc.stderr[-800:]
            reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=clients, daemon=True).start)
        reactor.run(installSignalHandlers=False)
    return out


def _run(name: str, lifted: bool) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--serve", name, "1" if lifted else "0"],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": proc.stderr[-1500:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(words: list[str]) -> None:
    names = [n for n in _specs() if not words or any(w in n for w in words)]
    width = max(len(n) for n in names) + len(" 1 MiB: worst latency of another client")
    for name in names:
        before = _run(name, True)
        after = _run(name, False)
        label = f"{name} 1 MiB: worst latency of another client"
        if "error" in before or "error" in after:
            print(f"{label}: failed\n{before.get('error', '')}\n{after.get('error', '')}")
            continue
        b, a = before["worst_latency_ms"], after["worst_latency_ms"]
        print(
            f"{label:<{width}}  before={b:.1f} ms  after={a:.1f} ms  ratio={b / a:.1f}x"
            f"  (99th percentile {before['p99_latency_ms']:.1f} -> {after['p99_latency_ms']:.1f}"
            f" ms; flood answered in {before['flood_s']:.2f} s before, {after['flood_s']:.2f} s"
            f" after)",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        print(json.dumps(_serve(sys.argv[2], sys.argv[3] == "1")))
    else:
        main(sys.argv[1:])
