"""The ``glisten manhole`` plugin: options, safe listening defaults, authentication."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.conch import manhole_tap
from glisten.cred.checkers import scryptHash
from glisten.cred.credentials import UsernamePassword
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.task import Clock
from glisten.python import usage


def _parse(*args: str) -> manhole_tap.Options:
    options = manhole_tap.Options()
    options.parseOptions(list(args))
    return options


def test_optionsAreTwistManholes() -> None:
    options = _parse(
        "--telnetPort", "tcp:4040", "-s", "tcp:2222", "--passwd", "p", "--sshKeyDir", "d"
    )
    assert (options["telnetPort"], options["sshPort"], options["passwd"], options["sshKeyDir"]) == (
        "tcp:4040",
        "tcp:2222",
        "p",
        "d",
    )
    with pytest.raises(usage.UsageError):
        _parse("--passwd", "p")


@pytest.mark.parametrize(
    "description,expected",
    [
        ("tcp:4040", "tcp:4040:interface=127.0.0.1"),
        ("4040", "tcp:4040:interface=127.0.0.1"),
        ("tcp6:4040", "tcp6:4040:interface=\\:\\:1"),
        ("tcp:4040:interface=127.0.0.2", "tcp:4040:interface=127.0.0.2"),
        ("tcp:4040:interface=0.0.0.0", "tcp:4040:interface=0.0.0.0"),
        ("unix:/tmp/m.sock", "unix:/tmp/m.sock:mode=600"),
        ("unix:/tmp/m.sock:mode=660", "unix:/tmp/m.sock:mode=660"),
    ],
)
def test_safeEndpoint(description: str, expected: str) -> None:
    assert manhole_tap.safeEndpoint(description, True, "telnet") == expected


@pytest.mark.parametrize(
    "description", ["tcp:4040", "tcp:4040:interface=0.0.0.0", "ssl:4040", "6000"]
)
def test_refusesNetworkListenersWithoutAuth(description: str) -> None:
    with pytest.raises(usage.UsageError) as e:
        manhole_tap.makeService({"telnetPort": description})
    assert "without authentication" in str(e.value)


def test_refusesSSHWithoutAuth(tmp_path: Path) -> None:
    with pytest.raises(usage.UsageError):
        manhole_tap.makeService(
            {"sshPort": "unix:" + str(tmp_path / "s"), "sshKeyDir": str(tmp_path)}
        )


def test_unixTelnetWithoutAuth(tmp_path: Path) -> None:
    svc = manhole_tap.makeService(
        {"telnetPort": "unix:" + str(tmp_path / "m.sock")}, reactor=object()
    )
    assert len(list(svc)) == 1


def test_publicAddressWithAuth(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_bytes(b"admin:" + scryptHash(b"pw", n=2**4) + b"\n")
    svc = manhole_tap.makeService(
        {
            "telnetPort": "tcp:0:interface=0.0.0.0",
            "sshPort": "tcp:0",
            "passwd": str(passwd),
            "sshKeyDir": str(tmp_path / "keys"),
        },
        reactor=object(),
    )
    assert len(list(svc)) == 2
    assert (tmp_path / "keys" / "ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600


def _check(passwd: Path, user: bytes, password: bytes) -> Any:
    results: list[Any] = []
    manhole_tap._PasswordFile(str(passwd)).requestAvatarId(
        UsernamePassword(user, password)
    ).addBoth(results.append)
    return results[0]


def test_passwordFileHashedAndClear(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_bytes(b"hashed:" + scryptHash(b"one", n=2**4) + b"\nclear:two\n")
    assert _check(passwd, b"hashed", b"one") == b"hashed"
    assert _check(passwd, b"clear", b"two") == b"clear"
    for user, password in ((b"hashed", b"two"), (b"clear", b"one"), (b"nobody", b"one")):
        assert _check(passwd, user, password).check(UnauthorizedLogin)
    assert manhole_tap._countClearPasswords(str(passwd)) == 1


def test_serviceMakerIsAUsageOptionsPlugin() -> None:
    maker = manhole_tap.serviceMaker
    assert maker.tapname == "manhole" and maker.options is manhole_tap.Options
    assert not hasattr(maker, "addArguments")


def test_oneLinerNamespaceReachesTheShell(tmp_path: Path) -> None:
    """The documented one-liner: the application's objects are there at the prompt."""
    from glisten.conch._telnet import Data, TelnetCodec
    from glisten.conch.insults import helper, insults
    from glisten.internet.testing import StringTransport

    svc = manhole_tap.makeService(
        {"telnetPort": "unix:" + str(tmp_path / "m.sock"), "namespace": {"app": 40}},
        reactor=object(),
    )
    (listener,) = list(svc)
    proto = listener.factory.buildProtocol(None)
    out = StringTransport()
    proto.makeConnection(out)
    screen = helper.TerminalBuffer()
    client = insults.ClientProtocol(lambda: screen)
    client.reactor = clock = Clock()
    client.makeConnection(StringTransport())
    proto.dataReceived(b"app + 2\r\n")
    telnetClient = TelnetCodec()
    telnetClient.receiveData(out.value())
    for event in iter(telnetClient.nextEvent, None):
        if isinstance(event, Data):
            # The codec gives NVT line ends as LF; a terminal gets them as CR LF.
            client.dataReceived(event.data.replace(b"\n", b"\r\n"))
    clock.advance(0)
    assert str(screen).split("\n")[:3] == [">>> app + 2", "42", ">>> "]
