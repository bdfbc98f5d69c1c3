"""OpenSSH certificates end to end in memory: user certificates, host certificates, known_hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.conch import checkers
from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.error import HostKeyChanged, UserRejectedKey
from glisten.conch.ssh.keys import CERT_HOST, CERT_USER, Key
from glisten.conch.tap import addHostCertificates
from glisten.cred.portal import Portal
from glisten.internet.task import Clock
from glisten.python.failure import Failure

from ._loop import AcceptingClient, ClientAuth, Loop, makeFactory
from ._loop import TestRealm as _Realm
from ._pairs import hostKey

CA = hostKey("ecdsa", 384)
HOST_CA = Key.generate("ed25519")


def _userCertFactory(clock: Clock, trusted: list[Key]) -> Any:
    f = makeFactory(clock, passwords=False)
    portal = Portal(_Realm())
    portal.registerChecker(checkers.SSHPublicKeyChecker(checkers.InMemorySSHKeyDB({}), trusted))
    f.portal = portal
    f.realm = portal.realm  # type: ignore[attr-defined]
    return f


class CertClient(AcceptingClient):
    def __init__(self, key: Key, **kw: Any) -> None:
        super().__init__(**kw)
        self.certKey = key

    def connectionSecure(self) -> None:
        self.secure = True
        self.auth = ClientAuth(self.user, self.conn, self.certKey, None)
        self.requestService(self.auth)


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("rsa", 2048), ("ecdsa", 521)])
def test_userCertificateLogin(kind: str, bits: int | None) -> None:
    user = hostKey(kind, bits)
    cert = user.withCertificate(CA.signCertificate(user, CERT_USER, "alice-key", [b"alice"]))
    loop = Loop(CertClient(cert), _userCertFactory(Clock(), [CA.public()]))
    loop.pump()
    assert loop.server.avatar is not None
    assert loop.server.avatar.username == b"alice"
    assert loop.server.avatar.username.authorizedKey.certificate.keyId == b"alice-key"


@pytest.mark.parametrize(
    "issue",
    [
        {"principals": [b"bob"]},
        {"validBefore": 1000},
        {"certType": CERT_HOST},
    ],
)
def test_refusedUserCertificates(issue: dict[str, Any]) -> None:
    user = hostKey()
    args: dict[str, Any] = {"certType": CERT_USER, "keyId": "k", "principals": [b"alice"]}
    args.update(issue)
    cert = user.withCertificate(CA.signCertificate(user, **args))
    loop = Loop(CertClient(cert), _userCertFactory(Clock(), [CA.public()]))
    loop.pump()
    assert loop.server.avatar is None


def _hostCertServer(clock: Clock, principals: list[bytes], **kw: Any) -> Any:
    f = makeFactory(clock)
    host = hostKey()
    cert = HOST_CA.signCertificate(host, CERT_HOST, "host", principals, **kw)
    f.privateKeys = addHostCertificates({b"ssh-ed25519": host}, [])
    f.privateKeys[cert.sshType()] = host.withCertificate(cert)
    return f


class KnownHostsClient(AcceptingClient):
    def __init__(self, knownHosts: KnownHostsFile, hostname: bytes, **kw: Any) -> None:
        super().__init__(**kw)
        self.knownHosts = knownHosts
        self.hostname = hostname
        self.verified: list[Any] = []

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
        key = Key.fromString(hostKey, "blob")
        self.offeredKey = key
        d = self.knownHosts.verifyHostKey(None, self.hostname, b"127.0.0.1", key, 2222)

        def record(result: Any) -> Any:
            self.verified.append(result)
            return result

        return d.addBoth(record)


def _knownHosts(tmp_path: Path, text: bytes) -> KnownHostsFile:
    path = tmp_path / "known_hosts"
    path.write_bytes(text)
    return KnownHostsFile.fromPath(path)


CA_LINE = b"@cert-authority [*.example.com]:2222 " + HOST_CA.public().toString("openssh")


def test_hostCertificateVerifiedThroughCertAuthority(tmp_path: Path) -> None:
    client = KnownHostsClient(_knownHosts(tmp_path, CA_LINE + b"\n"), b"box.example.com")
    client.supportedPublicKeys = [b"ssh-ed25519-cert-v01@openssh.com", b"ssh-ed25519"]
    loop = Loop(client, _hostCertServer(Clock(), [b"box.example.com"]))
    loop.pump()
    assert client.verified == [True]
    assert client.offeredKey.certificate is not None
    assert loop.server.avatar is not None


@pytest.mark.parametrize(
    "hostname,principals,extra,plainLine",
    [
        (b"box.example.com", [b"other.example.com"], {}, False),
        (b"box.example.com", [b"box.example.com"], {"validBefore": 1000}, False),
        (b"box.example.org", [b"box.example.org"], {}, False),
        (
            b"box.example.com",
            [b"box.example.com"],
            {"criticalOptions": {"force-command": "x"}},
            False,
        ),
        # An unusable certificate falls back to its key as a plain host key.
        (b"box.example.com", [b"other.example.com"], {}, True),
    ],
)
def test_badHostCertificates(
    tmp_path: Path, hostname: bytes, principals: list[bytes], extra: dict[str, Any], plainLine: bool
) -> None:
    text = CA_LINE + b"\n"
    if plainLine:
        text += b"[" + hostname + b"]:2222 " + hostKey().public().toString("openssh") + b"\n"
    client = KnownHostsClient(_knownHosts(tmp_path, text), hostname)
    client.supportedPublicKeys = [b"ssh-ed25519-cert-v01@openssh.com"]
    loop = Loop(client, _hostCertServer(Clock(), principals, **extra))
    loop.pump()
    if plainLine:
        assert client.verified == [True]
        assert loop.server.avatar is not None
    else:
        (failure,) = client.verified
        assert isinstance(failure, Failure) and failure.check(UserRejectedKey)
        assert loop.server.avatar is None


@pytest.mark.parametrize("revoke", ["ca", "key"])
def test_revokedCertificateAuthorityOrKey(tmp_path: Path, revoke: str) -> None:
    revoked = HOST_CA.public() if revoke == "ca" else hostKey().public()
    text = CA_LINE + b"\n@revoked * " + revoked.toString("openssh") + b"\n"
    knownHosts = _knownHosts(tmp_path, text)
    cert = HOST_CA.signCertificate(hostKey(), CERT_HOST, "h", [b"box.example.com"])
    results: list[Any] = []
    knownHosts.verifyHostKey(None, b"box.example.com", b"", cert, 2222).addBoth(results.append)
    assert isinstance(results[0], Failure) and results[0].check(HostKeyChanged)


def test_certificateAuthoritiesAndEndpointOrder(tmp_path: Path) -> None:
    from glisten.conch.endpoints import SSHCommandClientEndpoint, _Creator

    knownHosts = _knownHosts(tmp_path, CA_LINE + b"\n")
    assert knownHosts.certificateAuthorities(b"[a.example.com]:2222") == [HOST_CA.public()]
    assert knownHosts.certificateAuthorities(b"a.example.com") == []
    for host, port, certsFirst in [(b"a.example.com", 2222, True), (b"a.example.com", 22, False)]:
        endpoint = SSHCommandClientEndpoint.newConnection(
            None, b"true", b"alice", host, port, knownHosts=knownHosts
        )
        algorithms = _Creator(endpoint, None).hostKeyAlgorithms()
        assert algorithms[0].endswith(b"-cert-v01@openssh.com") is certsFirst
        assert b"ssh-ed25519" in algorithms


def test_hostCertificateFiles(tmp_path: Path) -> None:
    host = hostKey()
    cert = HOST_CA.signCertificate(host, CERT_HOST, "h", [b"x"])
    path = tmp_path / "host-cert.pub"
    path.write_bytes(cert.toString("openssh"))
    keys = addHostCertificates({b"ssh-ed25519": host}, [str(path)])
    assert keys[b"ssh-ed25519-cert-v01@openssh.com"].certificate == cert.certificate
    userCert = tmp_path / "user-cert.pub"
    userCert.write_bytes(HOST_CA.signCertificate(host, CERT_USER, "u").toString("openssh"))
    other = tmp_path / "other-cert.pub"
    other.write_bytes(HOST_CA.signCertificate(CA, CERT_HOST, "h").toString("openssh"))
    for bad, reason in [(userCert, "not a host"), (other, "none of"), (tmp_path / "no", "read")]:
        with pytest.raises(ValueError, match=reason):
            addHostCertificates({b"ssh-ed25519": host}, [str(bad)])


def test_serverOffersCertificateAlgorithmsFirst() -> None:
    f = _hostCertServer(Clock(), [b"h"])
    server = f.buildProtocol(None)
    from glisten.internet.testing import StringTransport

    server.makeConnection(StringTransport())
    assert server._machine.algorithms.hostKeys[:1] == (b"ssh-ed25519-cert-v01@openssh.com",)


def test_permitOpenNarrowsTheServersPolicy() -> None:
    from glisten.conch._processsession import ProcessAvatar
    from glisten.conch.ssh.forwarding import ForwardingPolicy

    (entry,) = checkers.readAuthorizedKeys(
        [b'permitopen="db:5432",permitopen="*:80" ' + hostKey().public().toString("openssh")]
    )
    avatarID = checkers.AuthorizedKeyID(b"alice")
    avatarID.authorizedKey = entry
    policy = ForwardingPolicy(connect=(("*", 0),))
    avatar = ProcessAvatar(avatarID, Clock(), forwardingPolicy=policy)
    allowed = avatar.forwardingPolicy.allowConnect
    assert allowed("db", 5432) and allowed("web", 80)
    assert not allowed("db", 22) and not allowed("other", 5432)
    # The key cannot widen what the server allows.
    narrow = ProcessAvatar(avatarID, Clock(), forwardingPolicy=ForwardingPolicy())
    assert not narrow.forwardingPolicy.allowConnect("db", 5432)
