"""XMPP speed, glisten against Twisted's words: the XML stream parser, serialising stanzas,
and dispatching them to XPath observers.

- ``stanza parse``: ``domish.elementStream()`` parses a stream of 1,000 chat messages (each
  with attributes, a body with escaped text and a namespaced child) fed in 4 KiB chunks; the
  rate is stanzas per second.
- ``stanza serialize``: ``toXml()`` of such a message; stanzas per second.
- ``stream dispatch``: an ``XmlStream`` with five XPath observers (one matching) receives the
  1,000-message stream; stanzas per second through parsing and dispatch.
- ``round trip via Prosody``: a client logged in to a local Prosody (STARTTLS with a test CA)
  sends a message to its own full JID and waits for it, 500 times in a row; round trips per
  second of wall time (Prosody's share of the time is the same for both). Needs ``prosody``,
  ``prosodyctl`` and ``openssl``.

The same code runs on both: only the package prefix differs.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

from _harness import Case, main

STANZAS = 1000
HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    b"from='example.com' id='s1' version='1.0'>"
)
MESSAGE = (
    b"<message from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='chat' "
    b"id='m%d'><body>Wherefore art thou, Romeo? &lt;3 &amp; more text here</body>"
    b"<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
)
STREAM = HEADER + b"".join(MESSAGE % i for i in range(STANZAS))
CHUNKS = [STREAM[i : i + 4096] for i in range(0, len(STREAM), 4096)]


def _module(impl: str, name: str) -> Any:
    return importlib.import_module(f"{'twisted' if impl == 'twisted' else 'glisten'}.{name}")


def parse(impl: str, n: int) -> None:
    domish = _module(impl, "words.xish.domish")
    for _ in range(n):
        elements: list[Any] = []
        stream = domish.elementStream()
        stream.DocumentStartEvent = lambda root: None
        stream.ElementEvent = elements.append
        stream.DocumentEndEvent = lambda: None
        for chunk in CHUNKS:
            stream.parse(chunk)
        assert len(elements) == STANZAS


def serialize(impl: str, n: int) -> None:
    domish = _module(impl, "words.xish.domish")
    message = domish.Element(("jabber:client", "message"))
    message["from"] = "juliet@example.com/balcony"
    message["to"] = "romeo@example.net/orchard"
    message["type"] = "chat"
    message["id"] = "m1"
    message.addElement("body", content="Wherefore art thou, Romeo? <3 & more text here")
    message.addElement(("http://jabber.org/protocol/chatstates", "active"))
    for _ in range(n * STANZAS):
        message.toXml()


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def loseConnection(self) -> None:
        pass


def dispatch(impl: str, n: int) -> None:
    xmlstream = _module(impl, "words.xish.xmlstream")
    for _ in range(n):
        got: list[Any] = []
        onChat = got.append
        xs = xmlstream.XmlStream()
        xs.transport = _Transport()
        xs.connectionMade()
        xs.addObserver("/message[@type='chat']/body", onChat)
        xs.addObserver("/iq[@type='get']/query[@xmlns='jabber:iq:version']", onChat)
        xs.addObserver("/presence", onChat)
        xs.addObserver("/message[@type='groupchat']", onChat)
        xs.addObserver("/iq[@type='result']", onChat)
        for chunk in CHUNKS:
            xs.dataReceived(chunk)
        assert len(got) == STANZAS


ROUND_TRIPS = 500
PROSODY_CONFIG = """\
pidfile = "{dir}/prosody.pid"
data_path = "{dir}"
run_as_root = true
daemonize = false
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "saslauth"; "tls"; "roster" }}
modules_disabled = {{ "s2s"; "offline" }}
authentication = "internal_hashed"
c2s_require_encryption = true
log = {{ error = "*console" }}
ssl = {{ certificate = "{dir}/server.pem"; key = "{dir}/server.key" }}
VirtualHost "localhost"
"""


def _freePort() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _startProsody(folder: str) -> tuple[subprocess.Popen[bytes], int]:
    for tool in ("prosody", "prosodyctl", "openssl"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (Debian packages prosody, openssl)")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=bench CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=localhost")  # fmt: skip
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    port = _freePort()
    config = os.path.join(folder, "prosody.cfg.lua")
    with open(config, "w") as f:
        f.write(PROSODY_CONFIG.format(dir=folder, port=port))
    subprocess.run(
        ["prosodyctl", "--config", config, "register", "bench", "localhost", "bench-pw"],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(["prosody", "-F", "--config", config], stdout=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("prosody did not start")


def roundTrips(impl: str, n: int) -> float:
    reactor: Any = _module(impl, "internet.reactor")  # installs the default reactor
    ssl = _module(impl, "internet.ssl")
    client = _module(impl, "words.protocols.jabber.client")
    jid = _module(impl, "words.protocols.jabber.jid")
    xmlstream = _module(impl, "words.protocols.jabber.xmlstream")
    domish = _module(impl, "words.xish.domish")
    with tempfile.TemporaryDirectory() as folder:
        proc, port = _startProsody(folder)
        try:
            with open(os.path.join(folder, "ca.pem"), "rb") as f:
                authority = ssl.Certificate.loadPEM(f.read())
            tls = ssl.optionsForClientTLS(
                "localhost", trustRoot=ssl.trustRootFromCertificates([authority])
            )
            me = jid.JID("bench@localhost/bench")
            factory = client.XMPPClientFactory(me, "bench-pw", tls)
            factory.maxRetries = 0
            result: dict[str, Any] = {}

            def failed(failure: Any) -> None:
                result["error"] = failure
                reactor.stop()

            def authenticated(xs: Any) -> None:
                full = xs.authenticator.jid.full()
                state = {"left": ROUND_TRIPS, "start": time.perf_counter()}

                def send() -> None:
                    message = domish.Element((None, "message"))
                    message["to"] = full
                    message["type"] = "chat"
                    message.addElement("body", content="ping %d" % state["left"])
                    xs.send(message)

                def received(message: Any) -> None:
                    state["left"] -= 1
                    if state["left"]:
                        send()
                    else:
                        result["rate"] = ROUND_TRIPS / (time.perf_counter() - state["start"])
                        xs.transport.loseConnection()
                        reactor.callLater(0, reactor.stop)

                xs.addObserver("/message/body", received)
                send()

            factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated)
            factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, failed)
            reactor.connectTCP("127.0.0.1", port, factory)
            reactor.callLater(120, reactor.stop)
            reactor.run()
        finally:
            proc.terminate()
            proc.wait()
    if "rate" not in result:
        raise RuntimeError(f"{impl}: no round trips ({result.get('error')})")
    return float(result["rate"])


CASES = [
    Case(f"stanza parse ({STANZAS} per op)", parse),
    Case(f"stanza serialize ({STANZAS} per op)", serialize),
    Case(f"stream dispatch ({STANZAS} per op)", dispatch),
    Case("message round trip via Prosody", roundTrips, selfTimed=True),
]

if __name__ == "__main__":
    main(CASES)
