"""SSH over loopback TCP: glisten against Twisted Conch and asyncssh.

Cases (client and server in one process, one event loop, the same program for glisten and
Twisted: glisten's API is Twisted's; asyncssh's own API on asyncio's default loop):

- handshakes: connect, key exchange (curve25519-sha256, ssh-ed25519 host key), close (per s);
  asyncssh's ``connect`` returns only after user authentication, so its server accepts the
  ``none`` method and its figure includes that one extra round trip;
- bulk: the server streams 32 KiB writes into one session channel as fast as the window lets
  it, the client counts (MB/s), with ``aes128-ctr`` + ``hmac-sha2-256`` (a cipher all have),
  ``chacha20-poly1305@openssh.com`` and ``aes128-gcm@openssh.com`` (Twisted Conch has neither:
  its row uses its default, ``aes256-ctr`` + ``hmac-sha2-512``).

Rates are per CPU second of the one process that runs both ends (``time.process_time``), the
best of several windows: on a shared machine wall-clock rates measure the neighbours' load.
``SSH_BENCH_CLOCK=wall`` measures wall-clock time instead.

Ceilings (issue 18 asks for 2x Twisted): both ends run in this one process, so each packet is
encrypted, MACed, decrypted and checked once per CPU second counted, and each handshake does
both sides' key exchange. ``benchmarks/ssh_inmemory.py`` measures what ``cryptography`` alone
costs for that (``bulkfloor``, ``floor``) and runs both stacks without sockets. On this
machine (AES-NI, SHA-NI; CPU seconds, best of three, December 2026):

- bulk floors, cryptography alone: aes128-ctr + hmac-sha2-256 about 650 MB/s, aes256-ctr +
  hmac-sha2-512 about 350 MB/s, chacha20-poly1305 about 1200 MB/s, aes128-gcm about
  4200 MB/s. Twisted moved 270-340 MB/s with aes128-ctr + hmac-sha2-256 here (330-340 in
  the quieter runs), so 2x Twisted on that row (up to 680 MB/s) is at or above the floor: it
  would need the SSH layers, the reactor and the kernel's loopback TCP to cost nothing. The
  row with each side's default cipher has no such bound (Twisted's default runs close to its
  own 350 MB/s floor).
- handshakes: the cryptography of one (two X25519 key pairs and exchanges, one Ed25519
  signature made and checked, hashes, key derivation, four AES contexts) takes about 335 us;
  without sockets Twisted's whole handshake takes about 750 us and glisten's about 600 us
  (callgrind: 6.6 and 5.5 million instructions against 4.3 for the cryptography; valgrind
  hides some CPU features, so it over-counts the cryptography), so even SSH code that cost
  nothing would make 2.2x Twisted in memory. Over TCP each handshake adds about 400-450 us
  (glisten) and 500-650 us (Twisted) of connect, accept, close and reactor work, which puts
  the ceiling near (750 + 550) / (335 + 430), 1.7x.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from typing import Any

from _harness import Case, main, twistedPython

DURATION = 2.0
WINDOW = 0.25
CHUNK = b"x" * 32768
_CLOCK = time.perf_counter if os.environ.get("SSH_BENCH_CLOCK") == "wall" else time.process_time


class _Windows:
    """Counts operations; reports the best rate seen over any one window (of CPU time)."""

    def __init__(self) -> None:
        self.start = self.windowStart = _CLOCK()
        self.count = 0.0
        self.best = 0.0

    def add(self, n: float = 1) -> bool:
        self.count += n
        now = _CLOCK()
        if now - self.windowStart >= WINDOW:
            self.best = max(self.best, self.count / (now - self.windowStart))
            self.windowStart = now
            self.count = 0
        return now - self.start >= DURATION


def _modules(impl: str) -> dict[str, Any]:
    root = "glisten" if impl == "glisten" else "twisted"
    names = [
        "conch.ssh.transport",
        "conch.ssh.factory",
        "conch.ssh.keys",
        "conch.ssh.userauth",
        "conch.ssh.connection",
        "conch.ssh.channel",
        "conch.ssh.common",
        "conch.avatar",
        "conch.checkers",
        "cred.portal",
        "internet.protocol",
        "internet.defer",
    ]
    if impl == "glisten":
        from glisten.internet.epollreactor import EPollReactor

        reactor: Any = EPollReactor()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import reactor  # type: ignore[no-redef]
    mods = {n.rsplit(".", 1)[1]: importlib.import_module(f"{root}.{n}") for n in names}
    mods["reactor"] = reactor
    return mods


def _run(impl: str, kind: str, cipher: bytes, mac: bytes = b"hmac-sha2-256") -> float:
    m = _modules(impl)
    reactor, keys, transport = m["reactor"], m["keys"], m["transport"]
    from zope.interface import implementer

    hostKey = keys.Key.fromString(_HOST_KEY)
    userKey = keys.Key.fromString(_USER_KEY)
    result: dict[str, float] = {}
    w = _Windows()

    def finish() -> None:
        result["rate"] = w.best
        reactor.stop()

    class Source(m["channel"].SSHChannel):
        name = b"session"

        def channelOpen(self, data: bytes) -> None:
            self._pump()

        def _pump(self) -> None:
            # Write while the window has room and nothing waits in the channel's buffer
            # (Twisted's channel calls startWriting before it flushes its buffer).
            while (
                self.areWriting and not self.closing and not self.buf and self.remoteWindowLeft > 0
            ):
                self.write(CHUNK)

        def startWriting(self) -> None:
            self._pump()

        def addWindowBytes(self, data: int) -> None:
            super().addWindowBytes(data)
            self._pump()

    class Avatar(m["avatar"].ConchUser):
        def __init__(self) -> None:
            super().__init__()
            self.channelLookup[b"session"] = Source

    @implementer(m["portal"].IRealm)
    class Realm:
        def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
            return interfaces[0], Avatar(), lambda: None

    class AllowKey:
        def getAuthorizedKeys(self, username: bytes) -> Any:
            return [userKey.public()]

    portal = m["portal"].Portal(Realm())
    portal.registerChecker(m["checkers"].SSHPublicKeyChecker(AllowKey()))

    class ServerFactory(m["factory"].SSHFactory):
        publicKeys = {b"ssh-ed25519": hostKey.public()}
        privateKeys = {b"ssh-ed25519": hostKey}

        def getPrimes(self) -> Any:
            return None

    ServerFactory.portal = portal
    serverFactory = ServerFactory()
    if impl == "glisten":
        serverFactory.reactor = reactor
    port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")

    class Sink(m["channel"].SSHChannel):
        name = b"session"

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, localWindow=2 * 1024 * 1024, localMaxPacket=32768, **kw)

        def dataReceived(self, data: bytes) -> None:
            if w.add(len(data) / 1e6):
                self.conn.transport.loseConnection()
                finish()

    class Conn(m["connection"].SSHConnection):
        def serviceStarted(self) -> None:
            super().serviceStarted()
            self.openChannel(Sink())

    class Auth(m["userauth"].SSHUserAuthClient):
        def getPublicKey(self) -> Any:
            if self.lastPublicKey:
                return None
            return userKey.public()

        def getPrivateKey(self) -> Any:
            return m["defer"].succeed(userKey)

        def getPassword(self, prompt: Any = None) -> Any:
            return None

    class Client(transport.SSHClientTransport):
        supportedCiphers = [cipher]
        supportedMACs = [mac]
        supportedKeyExchanges = [b"curve25519-sha256"]
        supportedPublicKeys = [b"ssh-ed25519"]

        def verifyHostKey(self, hostKey: bytes, fingerprint: Any) -> Any:
            return m["defer"].succeed(True)

        def connectionSecure(self) -> None:
            if kind == "handshake":
                self.transport.loseConnection()
                if w.add():
                    finish()
                else:
                    connect()
                return
            self.requestService(Auth(b"bench", Conn()))

    clientFactory = m["protocol"].ClientFactory.forProtocol(Client)
    clientFactory.reactor = reactor

    def connect() -> None:
        reactor.connectTCP("127.0.0.1", port.getHost().port, clientFactory)

    reactor.callWhenRunning(connect)
    reactor.callLater(DURATION * 5 + 10, finish)
    w.__init__()  # type: ignore[misc]
    reactor.run(installSignalHandlers=False)
    return result["rate"]


def _runAsyncssh(kind: str, cipher: bytes, mac: bytes = b"hmac-sha2-256") -> float:
    """The same cases with asyncssh at both ends, on asyncio's default event loop."""
    import asyncio

    import asyncssh  # type: ignore[import-not-found]

    hostKey = asyncssh.import_private_key(_HOST_KEY)
    userKey = asyncssh.import_private_key(_USER_KEY)
    authorized = asyncssh.import_authorized_keys(userKey.export_public_key().decode())
    w = _Windows()
    algs: dict[str, Any] = {
        "kex_algs": ["curve25519-sha256"],
        "encryption_algs": [cipher.decode()],
        "mac_algs": [mac.decode()],
        "compression_algs": ["none"],
    }

    class Source(asyncssh.SSHServerSession):  # type: ignore[misc]
        def connection_made(self, chan: Any) -> None:
            self._chan = chan
            self._paused = False

        def shell_requested(self) -> bool:
            return True

        def session_started(self) -> None:
            self._pump()

        def _pump(self) -> None:
            while not self._paused and not self._chan.is_closing():
                self._chan.write(CHUNK)

        def pause_writing(self) -> None:
            self._paused = True

        def resume_writing(self) -> None:
            self._paused = False
            self._pump()

    class Server(asyncssh.SSHServer):  # type: ignore[misc]
        def begin_auth(self, username: str) -> bool:
            # Handshakes: no authentication (see the module docstring); bulk: a key.
            return kind != "handshake"

        def session_requested(self) -> Any:
            return Source()

    done = asyncio.Event()

    class Sink(asyncssh.SSHClientSession):  # type: ignore[misc]
        def data_received(self, data: bytes, datatype: Any) -> None:
            if w.add(len(data) / 1e6):
                done.set()

    async def run() -> None:
        server = await asyncssh.create_server(
            Server,
            "127.0.0.1",
            0,
            server_host_keys=[hostKey],
            authorized_client_keys=authorized,
            encoding=None,
            line_editor=False,
            **algs,
        )
        port = server.sockets[0].getsockname()[1]
        options = dict(
            username="bench",
            client_keys=[userKey],
            known_hosts=None,
            server_host_key_algs=["ssh-ed25519"],
            **algs,
        )
        w.__init__()  # type: ignore[misc]
        if kind == "handshake":
            while True:
                conn = await asyncssh.connect("127.0.0.1", port, **options)
                conn.close()
                await conn.wait_closed()
                if w.add():
                    break
        else:
            async with asyncssh.connect("127.0.0.1", port, **options) as conn:
                w.__init__()  # type: ignore[misc]
                chan, _ = await conn.create_session(
                    Sink, encoding=None, window=2 * 1024 * 1024, max_pktsize=32768
                )
                await done.wait()
                chan.abort()
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(run(), DURATION * 5 + 10))
    return w.best


_HOST_KEY = b""
_USER_KEY = b""


def _keys() -> None:
    """Fixed keys for every worker (made once by the parent, passed through files)."""
    global _HOST_KEY, _USER_KEY
    import os
    import tempfile

    here = os.path.join(tempfile.gettempdir(), "glisten-ssh-bench")
    os.makedirs(here, mode=0o700, exist_ok=True)
    paths = [os.path.join(here, "host"), os.path.join(here, "user")]
    for path in paths:
        if not os.path.exists(path):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path],
                check=True,
            )
    with open(paths[0], "rb") as f:
        _HOST_KEY = f.read()
    with open(paths[1], "rb") as f:
        _USER_KEY = f.read()


def _case(kind: str, cipher: bytes, twisted: tuple[bytes, bytes] | None = None) -> Any:
    """A case; ``twisted`` is the (cipher, MAC) Twisted uses instead, when it lacks ``cipher``."""

    def run(impl: str, n: int) -> float:
        _keys()
        if impl == "asyncssh":
            return _runAsyncssh(kind, cipher)
        if impl == "twisted" and twisted is not None:
            return _run(impl, kind, *twisted)
        return _run(impl, kind, cipher)

    return run


def _ensureTwistedConch() -> None:
    """The shared Twisted environment is made with TLS only; conch needs its extras."""
    python = twistedPython()
    probe = subprocess.run(
        [python, "-c", "import twisted.conch.ssh.transport, bcrypt"], capture_output=True
    )
    if probe.returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "-q", "twisted[conch]"], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        _ensureTwistedConch()
    both = ("glisten", "twisted", "asyncssh")
    main(
        [
            Case(
                "SSH handshakes (curve25519, ed25519)",
                _case("handshake", b"aes128-ctr"),
                both,
                True,
            ),
            Case(
                "SSH bulk, aes128-ctr + hmac-sha2-256",
                _case("bulk", b"aes128-ctr"),
                both,
                True,
                " MB/s",
            ),
            Case(
                "SSH bulk, each side's default cipher (glisten chacha20-poly1305,"
                " twisted aes256-ctr + hmac-sha2-512)",
                _case("bulk", b"chacha20-poly1305@openssh.com", (b"aes256-ctr", b"hmac-sha2-512")),
                ("glisten", "twisted"),
                True,
                " MB/s",
            ),
            Case(
                "SSH bulk, chacha20-poly1305",
                _case("bulk", b"chacha20-poly1305@openssh.com"),
                ("glisten", "asyncssh"),
                True,
                " MB/s",
            ),
            Case(
                "SSH bulk, aes128-gcm",
                _case("bulk", b"aes128-gcm@openssh.com"),
                ("glisten", "asyncssh"),
                True,
                " MB/s",
            ),
        ]
    )
