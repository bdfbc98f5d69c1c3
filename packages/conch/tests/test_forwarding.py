"""Forwarding: the policy, the wire formats, refusals, and the key options that narrow it."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from glisten.conch import tap
from glisten.conch._processsession import ProcessAvatar
from glisten.conch.checkers import AuthorizedKey, AuthorizedKeyID
from glisten.conch.error import ConchError
from glisten.conch.ssh import forwarding as fw
from glisten.conch.ssh.connection import OPEN_ADMINISTRATIVELY_PROHIBITED
from glisten.conch.ssh.keys import Key
from glisten.internet.testing import MemoryReactor

KEY = Key.generate("ed25519")


def test_defaultPolicyAllowsNothing() -> None:
    policy = fw.ForwardingPolicy()
    assert not policy.allowConnect("127.0.0.1", 80)
    assert not policy.allowListen("127.0.0.1", 0)
    assert not policy.allowStreamLocal("/run/x.sock")
    assert not policy.agent


def test_policyMatching() -> None:
    policy = fw.ForwardingPolicy(
        connect=(("db", 5432), ("*", 443), ("web", 0)),
        listen=(("127.0.0.1", 0), ("0.0.0.0", 8080)),
        streamLocal=("/run/app/*.sock",),
    )
    assert policy.allowConnect("db", 5432) and not policy.allowConnect("db", 22)
    assert policy.allowConnect("anything", 443)
    assert policy.allowConnect("web", 1)
    assert policy.allowListen("127.0.0.1", 0) and policy.allowListen("127.0.0.1", 2000)
    assert not policy.allowListen("127.0.0.1", 80)
    assert policy.allowListen("0.0.0.0", 8080) and not policy.allowListen("0.0.0.0", 8081)
    assert policy.allowStreamLocal("/run/app/a.sock")
    assert not policy.allowStreamLocal("/run/other.sock")


def test_wireFormats() -> None:
    data = fw.packOpen_direct_tcpip(("host", 22), ("1.2.3.4", 5555))
    assert fw.unpackOpen_direct_tcpip(data) == (("host", 22), ("1.2.3.4", 5555))
    assert fw.unpackGlobal_tcpip_forward(fw.packGlobal_tcpip_forward(("", 0))) == ("", 0)
    with pytest.raises(ConchError):
        fw.unpackOpen_direct_tcpip(data[:-1])
    with pytest.raises(ConchError):
        fw.unpackGlobal_tcpip_forward(b"\x00\x00\x00\x01x\x00\x01\x00\x00")


def test_streamLocalWireFormats() -> None:
    """The client's streamlocal data: what the server side reads, and OpenSSH's layout."""
    data = fw.packOpen_direct_streamlocal("/run/x.sock")
    assert data == b"\x00\x00\x00\x0b/run/x.sock" + b"\x00" * 8
    allowed = _Avatar(fw.ForwardingPolicy(streamLocal=("/run/*",)))
    assert fw.openStreamLocalClient(1000, 1000, data, allowed).hostport == "/run/x.sock"
    assert fw.packGlobal_streamlocal_forward("/p") == b"\x00\x00\x00\x02/p"
    forwarded = b"\x00\x00\x00\x02/p\x00\x00\x00\x00"
    assert fw.unpackOpen_forwarded_streamlocal(forwarded) == "/p"
    for bad in (b"", b"\x00\x00\x00\x05/p", b"\x00\x00\x00\x01\xff"):
        with pytest.raises(ConchError):
            fw.unpackOpen_forwarded_streamlocal(bad)


def test_listenFactoryOpensStreamLocalChannels() -> None:
    """A factory for a socket path opens ``direct-streamlocal`` channels with its data."""
    opened: list[tuple[Any, bytes]] = []

    class Conn:
        def openChannel(self, channel: Any, data: bytes) -> None:
            opened.append((channel, data))

    factory = fw.SSHListenForwardingFactory(
        Conn(), "/run/x.sock", fw.SSHListenClientStreamLocalChannel
    )
    client = factory.buildProtocol(None)
    ((channel, data),) = opened
    assert channel.name == b"direct-streamlocal@openssh.com"
    assert client.channel is channel
    assert data == fw.packOpen_direct_streamlocal("/run/x.sock")


class _Avatar(fw.ForwardingUser):
    def __init__(self, policy: fw.ForwardingPolicy) -> None:
        self.channelLookup: dict[bytes, Any] = {}
        self.forwardingPolicy = policy
        self.reactor = MemoryReactor()
        self.conn = object()


def test_directTcpipRefusedByDefault() -> None:
    avatar = _Avatar(fw.ForwardingPolicy())
    data = fw.packOpen_direct_tcpip(("127.0.0.1", 80), ("127.0.0.1", 1))
    with pytest.raises(ConchError) as e:
        fw.openConnectForwardingClient(1000, 1000, data, avatar)
    assert e.value.value == OPEN_ADMINISTRATIVELY_PROHIBITED
    allowed = _Avatar(fw.ForwardingPolicy(connect=(("127.0.0.1", 80),)))
    channel = fw.openConnectForwardingClient(1000, 1000, data, allowed)
    assert channel.hostport == ("127.0.0.1", 80)


def test_streamLocalRefusedByDefault() -> None:
    data = b"\x00\x00\x00\x0b/run/x.sock" + b"\x00" * 8
    with pytest.raises(ConchError):
        fw.openStreamLocalClient(1000, 1000, data, _Avatar(fw.ForwardingPolicy()))
    allowed = _Avatar(fw.ForwardingPolicy(streamLocal=("/run/*",)))
    assert fw.openStreamLocalClient(1000, 1000, data, allowed).hostport == "/run/x.sock"


def test_remoteForwardListensOnlyWhenAllowed() -> None:
    request = fw.packGlobal_tcpip_forward(("127.0.0.1", 0))
    assert _Avatar(fw.ForwardingPolicy()).global_tcpip_forward(request) == 0
    avatar = _Avatar(fw.ForwardingPolicy(listen=(("127.0.0.1", 0),)))
    ok, port = avatar.global_tcpip_forward(request)
    assert ok == 1 and len(avatar.reactor.tcpServers) == 1
    assert avatar.reactor.tcpServers[0][3] == "127.0.0.1"
    bound = int.from_bytes(port, "big")
    cancel = fw.packGlobal_tcpip_forward(("127.0.0.1", bound))
    assert avatar.global_cancel_tcpip_forward(cancel) == 1
    assert avatar.global_cancel_tcpip_forward(cancel) == 0
    avatar.global_tcpip_forward(request)
    avatar.stopForwarding()
    assert avatar._listeners() == {}


def test_remoteSocketForward() -> None:
    """
    ``streamlocal-forward@openssh.com``: refused by default and outside the patterns (and for
    relative or ``..`` paths); allowed, a 0600 socket whose connections open
    ``forwarded-streamlocal`` channels; cancelled and stopped at logout.
    """
    request = fw.packGlobal_streamlocal_forward("/run/fwd/a.sock")
    name = b"streamlocal-forward@openssh.com"
    assert _avatarFor({}, fw.ForwardingPolicy()).gotGlobalRequest(name, request) == 0
    allowing = fw.ForwardingPolicy(streamLocalListen=("/run/fwd/*",))
    assert _avatarFor({}, allowing).gotGlobalRequest(name, request) == 1
    policy = fw.ForwardingPolicy(streamLocalListen=("/run/fwd/*",))
    for path in ("/run/fwd/../x.sock", "run/fwd/a.sock", "/run/fwd/./a", "/run/other.sock"):
        assert not policy.allowStreamLocalListen(path)
    avatar = _Avatar(policy)
    dispatch = getattr(avatar, "global_streamlocal_forward@openssh.com")
    assert dispatch(fw.packGlobal_streamlocal_forward("/run/fwd/../x.sock")) == 0
    assert dispatch(b"\x00\x00\x00\x09short") == 0
    assert dispatch(request) == 1
    assert dispatch(request) == 0  # already listening there
    ((path, factory, _, mode, _),) = avatar.reactor.unixServers
    assert (path, mode) == ("/run/fwd/a.sock", 0o600)
    assert factory.klass is fw.SSHListenServerStreamLocalChannel
    opened: list[tuple[Any, bytes]] = []

    class Conn:
        def openChannel(self, channel: Any, data: bytes) -> None:
            opened.append((channel, data))

    factory.conn = Conn()
    factory.buildProtocol(None)
    ((channel, data),) = opened
    assert channel.name == b"forwarded-streamlocal@openssh.com"
    assert data == fw.packOpen_forwarded_streamlocal("/run/fwd/a.sock")
    assert fw.unpackOpen_forwarded_streamlocal(data) == "/run/fwd/a.sock"
    cancel = getattr(avatar, "global_cancel_streamlocal_forward@openssh.com")
    assert cancel(request) == 1
    assert cancel(request) == 0
    assert cancel(b"\xff") == 0
    assert dispatch(request) == 1
    avatar.stopForwarding()
    assert avatar._listeners() == {}


def test_keyOptionsAndSocketListening() -> None:
    """``no-port-forwarding`` takes socket listening away; ``no-agent-forwarding`` and
    ``permitopen=`` keep it."""
    full = fw.ForwardingPolicy(streamLocalListen=("/run/*",), agent=True)
    assert _avatarFor({b"no-port-forwarding": None}, full).forwardingPolicy == (
        fw.ForwardingPolicy(agent=True)
    )
    kept = _avatarFor({b"no-agent-forwarding": None}, full).forwardingPolicy
    assert kept == fw.ForwardingPolicy(streamLocalListen=("/run/*",))
    limited = _avatarFor({b"permitopen": b"h:1"}, full).forwardingPolicy
    assert limited.allowStreamLocalListen("/run/a.sock")
    assert limited.agent


def _avatarFor(options: dict[bytes, bytes | None], policy: fw.ForwardingPolicy) -> ProcessAvatar:
    avatarId = AuthorizedKeyID(b"alice")
    avatarId.authorizedKey = AuthorizedKey(KEY, options)
    return ProcessAvatar(avatarId, MemoryReactor(), forwardingPolicy=policy)


def test_keyOptionsNarrowThePolicy() -> None:
    full = fw.ForwardingPolicy(connect=(("*", 0),), agent=True)
    assert _avatarFor({}, full).forwardingPolicy == full
    assert _avatarFor({b"no-port-forwarding": None}, full).forwardingPolicy == (
        fw.ForwardingPolicy(agent=True)
    )
    assert not _avatarFor({b"no-agent-forwarding": None}, full).forwardingPolicy.agent
    assert _avatarFor({b"restrict": None}, full).forwardingPolicy == fw.ForwardingPolicy()


def test_tapOptions(tmp_path: Any) -> None:
    parser = argparse.ArgumentParser()
    tap.serviceMaker.addArguments(parser)
    options = parser.parse_args(
        [
            *("--host-keys", str(tmp_path), "--permit-open", "db:5432"),
            *("--permit-listen", "127.0.0.1:0", "--permit-open", "[::1]:80"),
            *("--permit-streamlocal", "/run/*.sock", "--allow-agent-forwarding"),
        ]
    )
    assert tap.forwardingPolicyFromOptions(options) == fw.ForwardingPolicy(
        connect=(("db", 5432), ("::1", 80)),
        listen=(("127.0.0.1", 0),),
        streamLocal=("/run/*.sock",),
        agent=True,
    )
    default = parser.parse_args(["--host-keys", str(tmp_path)])
    assert tap.forwardingPolicyFromOptions(default) == fw.ForwardingPolicy()
    with pytest.raises(ValueError):
        tap.forwardingPolicyFromOptions(
            parser.parse_args(["--host-keys", str(tmp_path), "--permit-open", "nope"])
        )


def test_eofBeforeTheConnectionIsMadeIsPassedOn() -> None:
    """Data and EOF that arrive while the outgoing connection is being made reach it, in
    order, once it is made (the EOF used to be lost, so a peer waiting for it hung)."""
    from glisten.internet.testing import StringTransport

    class HalfClosing(StringTransport):
        halfClosed = False

        def loseWriteConnection(self) -> None:
            self.halfClosed = True

    channel = fw.SSHConnectForwardingChannel(("127.0.0.1", 1))
    channel.dataReceived(b"ping")
    channel.eofReceived()
    client = fw.SSHForwardingClient(channel)
    channel.client = client
    transport = HalfClosing()
    client.transport = transport
    channel._attached()
    assert transport.value() == b"ping"
    assert transport.halfClosed


# ------------------------------------------------------------- authorized_keys permitlisten=


def _line(options: bytes) -> AuthorizedKey:
    from glisten.conch.checkers import readAuthorizedKeys

    (entry,) = readAuthorizedKeys([options + b" " + KEY.public().toString("openssh")])
    return entry


@pytest.mark.parametrize(
    "option,expected",
    [
        (b'permitlisten="8080"', [("*", 8080)]),
        (b'permitlisten="localhost:8080"', [("localhost", 8080)]),
        (b'permitlisten="127.0.0.1:*"', [("127.0.0.1", 0)]),
        (b'permitlisten="[::1]:2222"', [("::1", 2222)]),
        (b'permitlisten="*:*"', [("*", 0)]),
        (
            b'permitlisten="10.0.0.*:7000",permitlisten="localhost:7001"',
            [("10.0.0.*", 7000), ("localhost", 7001)],
        ),
    ],
)
def test_permitListenParsed(option: bytes, expected: list[tuple[str, int]]) -> None:
    assert _line(option).permitListen == expected


def test_permitListenMatching() -> None:
    entry = _line(b'permitlisten="localhost:8080",permitlisten="10.0.0.*:*"')
    assert entry.allowListen("localhost", 8080)
    assert entry.allowListen("LOCALHOST", 8080)
    assert not entry.allowListen("localhost", 8081)
    assert not entry.allowListen("localhost", 0)
    assert not entry.allowListen("0.0.0.0", 8080)
    assert not entry.allowListen("", 8080)
    assert entry.allowListen("10.0.0.7", 9000) and entry.allowListen("10.0.0.7", 0)
    assert not entry.allowListen("10.0.1.7", 9000)
    bare = _line(b'permitlisten="8080"')
    assert bare.allowListen("localhost", 8080) and bare.allowListen("0.0.0.0", 8080)
    assert not bare.allowListen("localhost", 8081)
    plain = _line(b"no-pty")
    assert plain.permitListen is None and plain.allowListen("anywhere", 1)


def test_permitListenNarrowsTheServersPolicy() -> None:
    avatarId = AuthorizedKeyID(b"alice")
    avatarId.authorizedKey = _line(b'permitlisten="localhost:8080"')
    server = fw.ForwardingPolicy(connect=(("*", 0),), listen=(("*", 0),))
    avatar = ProcessAvatar(avatarId, MemoryReactor(), forwardingPolicy=server)
    assert avatar.forwardingPolicy.allowListen("localhost", 8080)
    assert not avatar.forwardingPolicy.allowListen("localhost", 8081)
    assert not avatar.forwardingPolicy.allowListen("0.0.0.0", 8080)
    # permitopen= is not touched by permitlisten=.
    assert avatar.forwardingPolicy.allowConnect("db", 5432)
    refused = fw.packGlobal_tcpip_forward(("localhost", 8081))
    assert avatar.global_tcpip_forward(refused) == 0
    assert avatar.global_tcpip_forward(fw.packGlobal_tcpip_forward(("localhost", 8080))) == 1
    assert [s[0] for s in avatar.reactor.tcpServers] == [8080]
    # The key cannot widen what the server allows.
    narrow = ProcessAvatar(avatarId, MemoryReactor(), forwardingPolicy=fw.ForwardingPolicy())
    assert not narrow.forwardingPolicy.allowListen("localhost", 8080)


def test_restrictThenPortForwarding() -> None:
    full = fw.ForwardingPolicy(connect=(("*", 0),), listen=(("*", 0),), agent=True)
    entry = _line(b'restrict,port-forwarding,permitlisten="localhost:8080"')
    avatarId = AuthorizedKeyID(b"alice")
    avatarId.authorizedKey = entry
    policy = ProcessAvatar(avatarId, MemoryReactor(), forwardingPolicy=full).forwardingPolicy
    assert policy.allowListen("localhost", 8080) and policy.allowConnect("db", 1)
    assert not policy.agent
    assert entry.noPty
    agentOnly = _line(b"restrict,agent-forwarding")
    assert agentOnly.noPortForwarding and not agentOnly.noAgentForwarding
    both = _line(b"no-port-forwarding,port-forwarding")
    assert both.noPortForwarding
