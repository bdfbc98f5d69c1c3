"""glisten's SSH client endpoint against OpenSSH ``sshd``; keys written by ssh-keygen and read
back by it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import AuthenticationFailed, SSHCommandClientEndpoint
from glisten.conch.error import HostKeyChanged, UserRejectedKey
from glisten.conch.ssh import transport
from glisten.conch.ssh.keys import EncryptedKeyError, FingerprintFormats, Key
from glisten.internet import defer, error
from glisten.internet.protocol import Factory, Protocol

from .conftest import requireBinary, sshKeygen

pytestmark = pytest.mark.interop


class _Collect(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: defer.Deferred[Any] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Any = None) -> None:
        # A Failure given to callback() would turn into an errback: wrap it.
        self.done.callback([reason])


class _YesUI:
    def __init__(self) -> None:
        self.asked = 0

    def prompt(self, text: str) -> defer.Deferred[bool]:
        self.asked += 1
        return defer.succeed(True)


def _run(coroutine: Any) -> Any:
    """Run a coroutine on a fresh epoll reactor (each test gets its own)."""
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    result: list[Any] = []

    def start() -> None:
        d = defer.ensureDeferred(coroutine(reactor))
        d.addBoth(result.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    timeout = reactor.callLater(60, reactor.stop)
    reactor.run()
    if timeout.active():
        timeout.cancel()
    assert result, "timed out"
    if isinstance(result[0], defer.Failure):
        result[0].raiseException()
    return result[0]


def _command(
    server: dict[str, Any],
    reactor: Any,
    command: bytes,
    key: Key,
    knownHosts: KnownHostsFile,
    ui: Any,
) -> SSHCommandClientEndpoint:
    return SSHCommandClientEndpoint.newConnection(
        reactor,
        command,
        b"root",
        b"127.0.0.1",
        server["port"],
        keys=[key],
        knownHosts=knownHosts,
        ui=ui,
    )


@pytest.mark.parametrize("which", ["ed25519", "rsa", "ecdsa"])
def test_commandEndpoint(opensshServer: dict[str, Any], tmp_path: Path, which: str) -> None:
    key = Key.fromFile(
        opensshServer["userKeys"][which], passphrase="secret words" if which == "ecdsa" else None
    )
    knownHosts = KnownHostsFile.fromPath(tmp_path / "known_hosts")
    ui = _YesUI()

    async def main(reactor: Any) -> tuple[bytes, Any]:
        endpoint = _command(opensshServer, reactor, b"cat; echo done; exit 3", key, knownHosts, ui)
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        proto.transport.write(b"hello sshd\n" * 1000)
        proto.transport.conn.sendEOF(proto.transport)
        (reason,) = await proto.done
        return proto.data, reason

    data, reason = _run(main)
    assert data == b"hello sshd\n" * 1000 + b"done\n"
    assert reason.check(error.ProcessTerminated)
    assert reason.value.exitCode == 3
    assert ui.asked == 1
    # The key is now on record: no question the second time.
    saved = KnownHostsFile.fromPath(tmp_path / "known_hosts")

    async def again(reactor: Any) -> Any:
        endpoint = _command(opensshServer, reactor, b"true", key, saved, None)
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        return await proto.done

    assert _run(again)[0].check(error.ConnectionDone)


@pytest.mark.parametrize(
    "cipher", [c.decode() for c in transport.SSHClientTransport.supportedCiphers]
)
def test_eachCipherAgainstSshd(
    opensshServer: dict[str, Any], tmp_path: Path, cipher: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport.SSHClientTransport, "supportedCiphers", [cipher.encode()])
    key = Key.fromFile(opensshServer["userKeys"]["ed25519"])

    async def main(reactor: Any) -> bytes:
        endpoint = _command(opensshServer, reactor, b"echo ok", key, KnownHostsFile(None), _YesUI())
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    assert _run(main) == b"ok\n"


@pytest.mark.parametrize(
    "kex", [k.decode() for k in transport.SSHClientTransport.supportedKeyExchanges]
)
def test_eachKexAgainstSshd(
    opensshServer: dict[str, Any], kex: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each method glisten offers logs in, unless this OpenSSH lacks it (``mlkem768x25519``
    before 9.9): then the exchange fails as it should, for want of a common method."""
    monkeypatch.setattr(transport.SSHClientTransport, "supportedKeyExchanges", [kex.encode()])
    key = Key.fromFile(opensshServer["userKeys"]["ed25519"])
    opensshKex = subprocess.run(
        [requireBinary("ssh"), "-Q", "kex"], capture_output=True, check=True
    ).stdout.split()

    async def main(reactor: Any) -> bytes:
        endpoint = _command(opensshServer, reactor, b"echo ok", key, KnownHostsFile(None), _YesUI())
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    if kex.encode() in opensshKex:
        assert _run(main) == b"ok\n"
    else:
        with pytest.raises(error.ConnectionLost):
            _run(main)


@pytest.mark.parametrize(
    "hostKeyAlg", ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512"]
)
def test_eachHostKeyAgainstSshd(
    opensshServer: dict[str, Any], hostKeyAlg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport.SSHClientTransport, "supportedPublicKeys", [hostKeyAlg.encode()])
    key = Key.fromFile(opensshServer["userKeys"]["ed25519"])

    async def main(reactor: Any) -> bytes:
        endpoint = _command(opensshServer, reactor, b"echo ok", key, KnownHostsFile(None), _YesUI())
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    assert _run(main) == b"ok\n"


def test_changedHostKeyRefused(opensshServer: dict[str, Any], tmp_path: Path) -> None:
    knownHosts = KnownHostsFile(None)
    wrong = Key.generate("ed25519")
    knownHosts.addHostKey(b"[127.0.0.1]:%d" % opensshServer["port"], wrong)
    key = Key.fromFile(opensshServer["userKeys"]["ed25519"])

    async def main(reactor: Any) -> Any:
        endpoint = _command(opensshServer, reactor, b"echo ok", key, knownHosts, _YesUI())
        return await endpoint.connect(Factory.forProtocol(_Collect))

    with pytest.raises(HostKeyChanged):
        _run(main)


def test_unknownHostWithoutUIRefused(opensshServer: dict[str, Any]) -> None:
    key = Key.fromFile(opensshServer["userKeys"]["ed25519"])

    async def main(reactor: Any) -> Any:
        endpoint = _command(opensshServer, reactor, b"echo ok", key, KnownHostsFile(None), None)
        return await endpoint.connect(Factory.forProtocol(_Collect))

    with pytest.raises(UserRejectedKey):
        _run(main)


def test_wrongKeyRefused(opensshServer: dict[str, Any]) -> None:
    async def main(reactor: Any) -> Any:
        endpoint = _command(
            opensshServer,
            reactor,
            b"echo ok",
            Key.generate("ed25519"),
            KnownHostsFile(None),
            _YesUI(),
        )
        return await endpoint.connect(Factory.forProtocol(_Collect))

    with pytest.raises(AuthenticationFailed):
        _run(main)


# ----------------------------------------------------------------------------- ssh-keygen


@pytest.mark.parametrize(
    "kind,bits", [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048)]
)
def test_sshKeygenKeysLoad(tmp_path: Path, kind: str, bits: int | None) -> None:
    path = sshKeygen(tmp_path / "k", kind, bits, passphrase="pass words")
    with pytest.raises(EncryptedKeyError):
        Key.fromFile(path)
    key = Key.fromFile(path, passphrase="pass words")
    public = Key.fromFile(str(path) + ".pub")
    assert key.public() == public
    fingerprint = subprocess.run(
        [requireBinary("ssh-keygen"), "-l", "-f", str(path) + ".pub"],
        capture_output=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint == b"SHA256:" + public.fingerprint(FingerprintFormats.SHA256_BASE64).encode()
    data = b"signed by glisten"
    assert public.verify(key.sign(data), data)


@pytest.mark.parametrize("fmt", ["PEM", "PKCS8", "RFC4716"])
def test_sshKeygenExportFormats(tmp_path: Path, fmt: str) -> None:
    path = sshKeygen(tmp_path / "k", "ecdsa", 256)
    keygen = requireBinary("ssh-keygen")
    exported = subprocess.run(
        [keygen, "-e", "-m", fmt, "-f", str(path) + ".pub"], capture_output=True, check=True
    ).stdout
    assert Key.fromString(exported) == Key.fromFile(str(path) + ".pub")
    # PEM private keys (SEC1 for ECDSA) too:
    subprocess.run(
        [keygen, "-p", "-q", "-N", "", "-m", "PEM", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    assert Key.fromFile(path).public() == Key.fromFile(str(path) + ".pub")


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_sshKeygenReadsOurKeys(tmp_path: Path, kind: str) -> None:
    key = Key.generate(kind, 2048 if kind == "rsa" else None)
    path = tmp_path / "ours"
    path.write_bytes(key.toString("openssh", passphrase=b"pw"))
    path.chmod(0o600)
    out = subprocess.run(
        [requireBinary("ssh-keygen"), "-y", "-P", "pw", "-f", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    assert Key.fromString(out) == key.public()
    rfc = tmp_path / "ours.rfc"
    rfc.write_bytes(key.public().toString("rfc4716", comment=b"glisten"))
    imported = subprocess.run(
        [requireBinary("ssh-keygen"), "-i", "-m", "RFC4716", "-f", str(rfc)],
        capture_output=True,
        check=True,
    ).stdout
    assert Key.fromString(imported) == key.public()
