"""SSH without sockets: the same program drives glisten's or Twisted Conch's transports.

Two transports (client and server) are joined by memory (each one's written bytes are fed to
the other's ``dataReceived``), so only the SSH code runs: no reactor, no system calls. Meant
for ``valgrind --tool=callgrind``, whose instruction counts are not disturbed by the
neighbours' load on a shared machine::

    python benchmarks/ssh_inmemory.py IMPL bulk N CIPHER [MAC]
    python benchmarks/ssh_inmemory.py IMPL replies N CIPHER [MAC]
    python benchmarks/ssh_inmemory.py IMPL handshake N
    python benchmarks/ssh_inmemory.py IMPL floor N
    python benchmarks/ssh_inmemory.py IMPL bulkfloor N CIPHER [MAC]

``IMPL`` is ``glisten`` or ``twisted`` (run it with the Python that has that package, e.g.
``benchmarks/.venv-twisted/bin/python`` for Twisted). ``bulk`` makes one connection (key
exchange, then ``ssh-connection`` started on both sides without user authentication), opens a
session channel and sends ``N`` writes of 32 KiB from the server's channel to the client's,
the client giving window back as glisten's and Twisted's channels do; ``replies`` the same
with what an SFTP server writes for each 32 KiB ``READ`` (header and data); ``handshake`` runs ``N``
key exchanges (curve25519-sha256, ssh-ed25519) to the end of the first NEWKEYS; ``floor``
only the cryptographic operations of ``N`` such handshakes (:func:`cryptoFloor`), and
``bulkfloor`` those of ``N`` packets (:func:`bulkFloor`).

Run two sizes and subtract (``--counts``, see :func:`measure`): the difference divided by the
difference in ``N`` is the cost of one 32 KiB packet (or one handshake) with the start-up and
the set-up left out. ``SSH_INMEMORY_REPORT=1`` prints the CPU seconds of the loop itself, and
``SSH_INMEMORY_PROFILE=1`` the loop's Python calls per unit (cProfile).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

CHUNK = b"x" * 32768
HERE = os.path.dirname(os.path.abspath(__file__))


def _keys() -> tuple[bytes, bytes]:
    here = os.path.join(tempfile.gettempdir(), "glisten-ssh-bench")
    os.makedirs(here, mode=0o700, exist_ok=True)
    out = []
    for name in ("host", "user"):
        path = os.path.join(here, name)
        if not os.path.exists(path):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
        with open(path, "rb") as f:
            out.append(f.read())
    return out[0], out[1]


def _pump(a: Any, b: Any) -> None:
    """Move bytes both ways until neither side writes more."""
    while a.transport.out or b.transport.out:
        for src, dst in ((a, b), (b, a)):
            pipe = src.transport
            if pipe.out:
                data = b"".join(pipe.out)
                pipe.out.clear()
                dst.dataReceived(data)


def _setup(impl: str, cipher: bytes, mac: bytes) -> dict[str, Any]:
    root = "glisten" if impl == "glisten" else "twisted"
    names = [
        "internet.error",
        "python.failure",
        "conch.ssh.transport",
        "conch.ssh.factory",
        "conch.ssh.keys",
        "conch.ssh.connection",
        "conch.ssh.channel",
        "conch.avatar",
        "internet.testing",
    ]
    m = {n.rsplit(".", 1)[1]: importlib.import_module(f"{root}.{n}") for n in names}
    hostPEM, _ = _keys()
    hostKey = m["keys"].Key.fromString(hostPEM)
    clock = m["testing"].Clock()

    class Factory(m["factory"].SSHFactory):
        publicKeys = {b"ssh-ed25519": hostKey.public()}
        privateKeys = {b"ssh-ed25519": hostKey}

        def getPrimes(self) -> Any:
            return None

    class Pipe(m["testing"].StringTransport):  # type: ignore[misc]
        """A memory transport keeping writes as they come, for :func:`_pump` (no copy)."""

        def __init__(self) -> None:
            super().__init__()
            self.out: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.out.append(data)

        def writeSequence(self, data: Any) -> None:
            self.out.extend(data)

    factory = Factory()
    factory.reactor = clock
    factory.startFactory()

    class Client(m["transport"].SSHClientTransport):
        supportedCiphers = [cipher]
        supportedMACs = [mac]
        supportedKeyExchanges = [b"curve25519-sha256"]
        supportedPublicKeys = [b"ssh-ed25519"]
        secure = False

        def verifyHostKey(self, hostKey: bytes, fingerprint: Any) -> Any:
            from importlib import import_module

            return import_module(f"{root}.internet.defer").succeed(True)

        def connectionSecure(self) -> None:
            self.secure = True

    class ClientFactory:
        reactor = clock

    def connect() -> tuple[Any, Any]:
        server = factory.buildProtocol(None)
        if hasattr(server, "loginTimeout"):
            server.loginTimeout = 0
        client = Client()
        client.factory = ClientFactory()
        server.makeConnection(Pipe())
        client.makeConnection(Pipe())
        _pump(client, server)
        assert client.secure
        return client, server

    def disconnect(*protocols: Any) -> None:
        # Connections end as a closed socket ends them: timers (rekey, login) cancelled.
        for protocol in protocols:
            protocol.connectionLost(m["failure"].Failure(m["error"].ConnectionDone()))

    m["connect"] = connect
    m["disconnect"] = disconnect
    return m


#: Requests in flight per round trip in ``replies``.
PIPELINE = 16
#: An SFTP ``DATA`` reply's header (length, type 103, request id, data length) for 32 KiB.
REPLY_HEADER = (
    (len(CHUNK) + 9).to_bytes(4, "big") + b"\x67" + bytes(4) + len(CHUNK).to_bytes(4, "big")
)


def bulk(impl: str, n: int, cipher: bytes, mac: bytes, replies: bool = False) -> float:
    """
    Send ``n`` 32 KiB writes through one session channel; return the loop's CPU seconds.

    :param replies: serve a download as an SFTP server does instead: the client sends
        requests (one byte each, :data:`PIPELINE` at a time, each its own packet, as OpenSSH's
        ``sftp`` keeps reads in flight) and the server's channel answers each, while it
        receives, with what an SFTP server writes for a 32 KiB ``READ`` (the reply's 13-byte
        header and the data as one ``writeSequence``, so packets straddle replies).
    """
    m = _setup(impl, cipher, mac)
    client, server = m["connect"]()
    received = [0]

    class Source(m["channel"].SSHChannel):
        name = b"session"

        def dataReceived(self, data: bytes) -> None:
            for _ in range(len(data)):
                self.writeSequence((REPLY_HEADER, CHUNK))

    class Sink(m["channel"].SSHChannel):
        name = b"session"

        def __init__(self) -> None:
            super().__init__(localWindow=2 * 1024 * 1024, localMaxPacket=32768)

        def dataReceived(self, data: bytes) -> None:
            received[0] += len(data)

    source: list[Any] = []

    class Avatar(m["avatar"].ConchUser):
        def __init__(self) -> None:
            super().__init__()
            self.channelLookup[b"session"] = self._make

        def _make(self, *args: Any, **kw: Any) -> Any:
            channel = Source(*args, **kw)
            source.append(channel)
            return channel

    server.avatar = Avatar()
    serverConn = m["connection"].SSHConnection()
    clientConn = m["connection"].SSHConnection()
    server.setService(serverConn)
    client.setService(clientConn)
    sink = Sink()
    clientConn.openChannel(sink)
    _pump(client, server)
    channel = source[0]
    profile = _profiler()
    start = time.process_time()
    if replies:
        for done in range(0, n, PIPELINE):
            for _ in range(min(PIPELINE, n - done)):
                sink.write(b"r")
            _pump(client, server)
    else:
        for _ in range(n):
            channel.write(CHUNK)
            _pump(client, server)
    elapsed = time.process_time() - start
    _endProfile(profile, n)
    size = len(CHUNK) + (len(REPLY_HEADER) if replies else 0)
    assert received[0] == n * size, (received[0], n)
    return elapsed


def handshake(impl: str, n: int) -> float:
    """Run ``n`` key exchanges; return the loop's CPU seconds."""
    m = _setup(impl, b"aes128-ctr", b"hmac-sha2-256")
    profile = _profiler()
    start = time.process_time()
    for _ in range(n):
        m["disconnect"](*m["connect"]())
    elapsed = time.process_time() - start
    _endProfile(profile, n)
    return elapsed


def cryptoFloor(n: int) -> float:
    """
    The cryptography a curve25519-sha256 + ssh-ed25519 handshake cannot do without, both
    ends, ``n`` times, with ``cryptography`` and ``hashlib`` called directly: two X25519 key
    pairs and exchanges, one Ed25519 signature made and checked (with the public key loaded
    from its bytes, as a client must), the exchange hash on each side, six derived keys per
    side and the four AES-CTR contexts. What a handshake costs beyond this is the SSH code.
    """
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    host = Ed25519PrivateKey.generate()
    hostPublic = host.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    transcript = os.urandom(1500)  # two KEXINITs, versions, host key and both halves
    start = time.process_time()
    for _ in range(n):
        client, server = X25519PrivateKey.generate(), X25519PrivateKey.generate()
        clientPublic = client.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        serverPublic = server.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        secrets = (
            server.exchange(X25519PublicKey.from_public_bytes(clientPublic)),
            client.exchange(X25519PublicKey.from_public_bytes(serverPublic)),
        )
        exchangeHash = hashlib.sha256(transcript + secrets[0]).digest()
        signature = host.sign(exchangeHash)
        Ed25519PublicKey.from_public_bytes(hostPublic).verify(
            signature, hashlib.sha256(transcript + secrets[1]).digest()
        )
        for secret in secrets:
            keys = [
                hashlib.sha256(secret + exchangeHash + letter + exchangeHash).digest()
                for letter in (b"A", b"B", b"C", b"D", b"E", b"F")
            ]
            Cipher(algorithms.AES(keys[2][:16]), modes.CTR(keys[0][:16])).encryptor()
            Cipher(algorithms.AES(keys[3][:16]), modes.CTR(keys[1][:16])).decryptor()
    return time.process_time() - start


def bulkFloor(n: int, cipher: bytes, mac: bytes) -> float:
    """
    The cryptography of ``n`` 32 KiB data packets, sent and received (both ends run in the
    benchmark's one process), with ``cryptography`` and ``hmac`` called directly on whole
    packets: what no SSH implementation can avoid for that cipher (and MAC).
    """
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.poly1305 import Poly1305

    packet = os.urandom(len(CHUNK) + 32)
    start = time.process_time()
    if cipher.startswith(b"chacha20"):
        stream = Cipher(algorithms.ChaCha20(os.urandom(32), bytes(16)), None).encryptor()
        for i in range(2 * n):
            stream.reset_nonce(bytes(8) + i.to_bytes(8, "big"))
            polyKey = stream.update(bytes(64))[:32]
            body = stream.update(packet)
            Poly1305.generate_tag(polyKey, body)
    elif b"gcm" in cipher:
        aead = AESGCM(os.urandom(16 if b"128" in cipher else 32))
        nonce = os.urandom(12)
        for _ in range(n):
            aead.decrypt(nonce, aead.encrypt(nonce, packet, b"1234"), b"1234")
    else:
        size = int(cipher[3:6]) // 8
        ctr = Cipher(algorithms.AES(os.urandom(size)), modes.CTR(os.urandom(16)))
        encryptor, decryptor = ctr.encryptor(), ctr.decryptor()
        macKey = os.urandom(64)
        digest = "sha512" if b"512" in mac else "sha256"
        for _ in range(n):
            hmac.digest(macKey, packet, digest)
            wire = encryptor.update(packet)
            hmac.digest(macKey, decryptor.update(wire), digest)
    return time.process_time() - start


def _profiler() -> Any:
    """``SSH_INMEMORY_PROFILE=1``: profile the loop (not the set-up) with cProfile."""
    if not os.environ.get("SSH_INMEMORY_PROFILE"):
        return None
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    return profile


def _endProfile(profile: Any, n: int) -> None:
    """Print the loop's calls and own time per unit, most costly first."""
    if profile is None:
        return
    import pstats

    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = sorted(((v[1], v[2], k) for k, v in stats.items()), key=lambda r: -r[1])
    for calls, inner, (path, line, name) in rows[:60]:
        where = f"{os.path.basename(path)}:{line}" if line else ""
        print(f"{calls / n:7.2f} calls/unit {inner * 1e6 / n:8.2f} us/unit  {where} {name}")


def measure(impl: str, args: list[str], counts: tuple[int, int]) -> float:
    """
    Instructions of one unit (packet or handshake) under callgrind: two runs of
    ``counts[0]`` and ``counts[1]`` units, the difference over the difference in units.
    """
    python = sys.executable
    if impl == "twisted":
        python = os.path.join(HERE, ".venv-twisted", "bin", "python")
    totals = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "cg.out")
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}",
                    python,
                    os.path.abspath(__file__),
                    impl,
                    args[0],
                    str(count),
                    *args[1:],
                ],
                check=True,
                capture_output=True,
            )
            with open(out) as f:
                for line in f:
                    if line.startswith("summary:") or line.startswith("totals:"):
                        totals.append(int(line.split()[1]))
                        break
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


def main(argv: list[str]) -> None:
    if argv[0] == "--counts":
        # --counts KIND LOW HIGH [CIPHER [MAC]]: instructions per unit, glisten and Twisted.
        kind, low, high = argv[1], int(argv[2]), int(argv[3])
        rest = [kind, *argv[4:]]
        results = {impl: measure(impl, rest, (low, high)) for impl in ("glisten", "twisted")}
        for impl, count in results.items():
            print(f"{impl:8} {count / 1e6:10.3f} M instructions per {kind} unit")
        print(f"twisted/glisten {results['twisted'] / results['glisten']:.2f}x")
        return
    impl, kind, n = argv[0], argv[1], int(argv[2])
    if kind in ("bulk", "replies"):
        cipher = argv[3].encode()
        mac = argv[4].encode() if len(argv) > 4 else b"hmac-sha2-256"
        elapsed = bulk(impl, n, cipher, mac, replies=kind == "replies")
        unit = "MB/s"
        rate = n * len(CHUNK) / 1e6 / elapsed if elapsed else 0.0
    elif kind == "bulkfloor":
        cipher = argv[3].encode()
        mac = argv[4].encode() if len(argv) > 4 else b"hmac-sha2-256"
        elapsed = bulkFloor(n, cipher, mac)
        unit = "MB/s (cryptography alone)"
        rate = n * len(CHUNK) / 1e6 / elapsed if elapsed else 0.0
    elif kind == "floor":
        elapsed = cryptoFloor(n)
        unit = "handshakes/s (cryptography alone)"
        rate = n / elapsed if elapsed else 0.0
    else:
        elapsed = handshake(impl, n)
        unit = "handshakes/s"
        rate = n / elapsed if elapsed else 0.0
    if os.environ.get("SSH_INMEMORY_REPORT"):
        print(f"{impl} {kind} {n}: {elapsed:.3f} CPU s, {rate:.1f} {unit}")


if __name__ == "__main__":
    main(sys.argv[1:])
