"""Destination constraints on agent keys (``ssh-add -h``) and ``session-bind@openssh.com``,
after OpenSSH's PROTOCOL.agent (against ``ssh-add -h`` and ``ssh`` in
``tests/conch/test_agent_interop.py``)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.error import ConchError
from glisten.conch.ssh import agent
from glisten.conch.ssh._agent import _destinations as d
from glisten.conch.ssh._agent._codec import SSH_AGENTC_EXTENSION, AgentCodec
from glisten.conch.ssh._ssh._wire import Reader, boolean, string
from glisten.conch.ssh.keys import CERT_HOST, CERT_USER, Key

from .test_agent import AgentLoop

HOST_A = Key.generate("ed25519")
HOST_B = Key.generate("ed25519")
HOST_C = Key.generate("ed25519")
USER_KEY = Key.generate("ed25519")


def _hop(host: Key | None, user: bytes = b"", name: bytes = b"") -> agent.Hop:
    if host is None:
        return agent.Hop()
    return agent.Hop(user, name or b"host", (agent.HostKeySpec(host.public().blob()),))


def _dest(source: Key | None, to: Key, user: bytes = b"") -> agent.DestinationConstraint:
    return agent.DestinationConstraint(_hop(source), _hop(to, user))


def _bind(host: Key, sid: bytes, forwarding: bool) -> d.SessionBinding:
    return d.SessionBinding(host.public().blob(), sid, forwarding)


def _login(sid: bytes, user: bytes, key: Key, host: Key | None = None) -> bytes:
    method = b"publickey" if host is None else b"publickey-hostbound-v00@openssh.com"
    data = string(sid) + bytes([50]) + string(user) + string(b"ssh-connection")
    data += string(method) + boolean(True) + string(b"ssh-ed25519") + string(key.blob())
    return data + (string(host.public().blob()) if host is not None else b"")


def test_destinationsRoundTrip() -> None:
    constraints = (
        _dest(None, HOST_A, b"alice"),
        agent.DestinationConstraint(
            _hop(HOST_A, name=b"a"),
            agent.Hop(b"b*", b"b", (agent.HostKeySpec(b"ca", True), agent.HostKeySpec(b"k"))),
        ),
    )
    assert d.parseDestinations(d.packDestinations(constraints)) == constraints
    packed = AgentCodec.packConstraints(True, 5, constraints)
    assert AgentCodec.parseConstraints(Reader(packed)) == (True, 5, constraints)


@pytest.mark.parametrize(
    "constraints",
    [
        (),  # none at all
        (agent.DestinationConstraint(agent.Hop(), agent.Hop(b"", b"x", ())),),  # to: no keys
        (agent.DestinationConstraint(agent.Hop(), agent.Hop(b"", b"", _hop(HOST_A).keys)),),
        (agent.DestinationConstraint(agent.Hop(b"", b"x", ()), _hop(HOST_A)),),  # from: no keys
    ],
)
def test_destinationsRefused(constraints: tuple[agent.DestinationConstraint, ...]) -> None:
    with pytest.raises(ValueError):
        d.parseDestinations(d.packDestinations(constraints))


def test_tooManyDestinations() -> None:
    packed = d.packDestinations((_dest(None, HOST_A),) * 3)
    assert len(d.parseDestinations(packed, 3)) == 3
    with pytest.raises(ValueError, match="too many"):
        d.parseDestinations(packed, 2)


def test_otherConstraintExtensionsRefused() -> None:
    packed = bytes([255]) + string(b"sk-provider@openssh.com") + string(b"x")
    with pytest.raises(ValueError):
        AgentCodec.parseConstraints(Reader(packed))
    twice = AgentCodec.packConstraints(False, None, (_dest(None, HOST_A),)) * 2
    with pytest.raises(ValueError):
        AgentCodec.parseConstraints(Reader(twice))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_randomInputOnlyRaisesValueError(data: bytes) -> None:
    for parse in (
        lambda: d.parseDestinations(data),
        lambda: d.parseSessionBind(Reader(data)),
        lambda: d.parseUserauthRequest(data, b"k"),
        lambda: AgentCodec.parseConstraints(
            Reader(b"\xff" + string(d.RESTRICT_DESTINATION) + data)
        ),
    ):
        try:
            parse()
        except ValueError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.binary(min_size=1, max_size=4))
def test_mutatedDestinationsOnlyRaiseValueError(cut: int, junk: bytes) -> None:
    packed = d.packDestinations((_dest(None, HOST_A, b"u"), _dest(HOST_A, HOST_B)))
    mutated = packed[:cut] + junk + packed[cut + len(junk) :]
    try:
        d.parseDestinations(mutated)
    except ValueError:
        pass


def test_userauthRequest() -> None:
    assert d.parseUserauthRequest(_login(b"sid", b"bob", USER_KEY), USER_KEY.blob()) == (
        b"sid",
        b"bob",
        None,
    )
    hostbound = _login(b"sid", b"bob", USER_KEY, HOST_A)
    assert d.parseUserauthRequest(hostbound, USER_KEY.blob())[2] == HOST_A.public().blob()
    with pytest.raises(ValueError, match="another key"):
        d.parseUserauthRequest(hostbound, HOST_B.blob())
    with pytest.raises(ValueError):
        d.parseUserauthRequest(b"arbitrary data to sign", USER_KEY.blob())


def test_permittedDirect() -> None:
    only = (_dest(None, HOST_A, b"al*"),)
    assert d.permitted(only, [], b"anyone")  # local use: the caller refuses signatures
    assert d.permitted(only, [_bind(HOST_A, b"s", False)], b"alice")
    assert not d.permitted(only, [_bind(HOST_A, b"s", False)], b"bob")
    assert not d.permitted(only, [_bind(HOST_B, b"s", False)], b"alice")
    assert d.permitted(only, [_bind(HOST_A, b"s", False)], None)
    assert not d.permitted(only, [_bind(HOST_B, b"s", False)], None)
    assert d.permitted((), [_bind(HOST_B, b"s", False)], b"x")


@pytest.mark.parametrize(
    "pattern,user,ok",
    [
        (b"[ab]ob", b"[ab]ob", True),  # ``[`` is no character class (OpenSSH's match_pattern)
        (b"[ab]ob", b"bob", False),
        (b"b?b", b"bob", True),
        (b"B*", b"bob", False),  # user names compare with case
    ],
)
def test_userPatterns(pattern: bytes, user: bytes, ok: bool) -> None:
    only = (_dest(None, HOST_A, pattern),)
    assert d.permitted(only, [_bind(HOST_A, b"s", False)], user) is ok


def test_permittedThroughForwarding() -> None:
    """Local -> A (forwarded there) -> B: each hop needs a constraint."""
    chain = (_dest(None, HOST_A), _dest(HOST_A, HOST_B, b"bob"))
    viaA = [_bind(HOST_A, b"1", True), _bind(HOST_B, b"2", False)]
    assert d.permitted(chain, viaA, b"bob")
    assert not d.permitted(chain, viaA, b"eve")
    assert not d.permitted(chain, [_bind(HOST_A, b"1", True), _bind(HOST_C, b"2", False)], b"bob")
    # B reached from C is not a listed hop, nor is a login to A followed by more.
    assert not d.permitted(chain, [_bind(HOST_C, b"1", True), _bind(HOST_B, b"2", False)], b"bob")
    assert not d.permitted(chain, [_bind(HOST_A, b"1", False), _bind(HOST_B, b"2", False)], b"bob")
    # Signing on a connection bound for forwarding is refused; listing there shows the key
    # only when some hop leaves from that host.
    forwarded = [_bind(HOST_A, b"1", True)]
    assert not d.permitted(chain, forwarded, b"bob")
    assert d.permitted(chain, forwarded, None)
    assert not d.permitted((_dest(None, HOST_A),), forwarded, None)


# ---------------------------------------------------------------------- the agent itself


def _sessionBind(loop: AgentLoop, host: Key, sid: bytes, forwarding: bool = False) -> None:
    loop.run(loop.client.bindSession(host.public().blob(), sid, host.sign(sid), forwarding))


def _loaded(constraints: tuple[agent.DestinationConstraint, ...]) -> AgentLoop:
    loop = AgentLoop()
    loop.run(
        loop.client.addIdentity(USER_KEY.privateBlob(), b"restricted", destinations=constraints)
    )
    return loop


def test_agentSignsOnlyBoundLogins() -> None:
    free = Key.generate("ed25519")
    loop = _loaded((_dest(None, HOST_A, b"alice"),))
    loop.run(loop.client.addIdentity(free.privateBlob(), b"free"))
    kept = loop.factory.keyConstraints[USER_KEY.blob()]  # type: ignore[attr-defined]
    assert kept.destinations == (_dest(None, HOST_A, b"alice"),)
    login = _login(b"sid-1", b"alice", USER_KEY)
    # Unbound: listed (local use) but never signing.
    assert len(loop.run(loop.client.requestIdentities())) == 2
    with pytest.raises(ConchError):
        loop.run(loop.client.signData(USER_KEY.blob(), login))
    _sessionBind(loop, HOST_A, b"sid-1")
    signature = loop.run(loop.client.signData(USER_KEY.blob(), login))
    assert USER_KEY.verify(signature, login)
    hostbound = _login(b"sid-1", b"alice", USER_KEY, HOST_A)
    assert USER_KEY.verify(loop.run(loop.client.signData(USER_KEY.blob(), hostbound)), hostbound)
    for refused in (
        _login(b"sid-1", b"mallory", USER_KEY),  # another user
        _login(b"sid-0", b"alice", USER_KEY),  # another session
        _login(b"sid-1", b"alice", USER_KEY, HOST_B),  # another host in the request
        b"anything else",
    ):
        with pytest.raises(ConchError):
            loop.run(loop.client.signData(USER_KEY.blob(), refused))
    # The unconstrained key signs anything.
    assert free.verify(loop.run(loop.client.signData(free.blob(), b"x")), b"x")
    # Bound for a login: no other binding may follow.
    with pytest.raises(ConchError):
        _sessionBind(loop, HOST_B, b"sid-2")


def test_agentHidesKeysFromOtherHosts() -> None:
    loop = _loaded((_dest(None, HOST_A),))
    _sessionBind(loop, HOST_B, b"sid")
    assert loop.run(loop.client.requestIdentities()) == []
    with pytest.raises(ConchError):
        loop.run(loop.client.signData(USER_KEY.blob(), _login(b"sid", b"u", USER_KEY)))


def test_agentThroughForwarding() -> None:
    """A -> B: bound as forwarded to A, then for a login to B (the request names B)."""
    loop = _loaded((_dest(None, HOST_A), _dest(HOST_A, HOST_B)))
    _sessionBind(loop, HOST_A, b"first", forwarding=True)
    _sessionBind(loop, HOST_A, b"first", forwarding=True)  # again: fine
    assert len(loop.run(loop.client.requestIdentities())) == 1
    _sessionBind(loop, HOST_B, b"second")
    with pytest.raises(ConchError):  # beyond the first hop the host key must be named
        loop.run(loop.client.signData(USER_KEY.blob(), _login(b"second", b"u", USER_KEY)))
    login = _login(b"second", b"u", USER_KEY, HOST_B)
    assert USER_KEY.verify(loop.run(loop.client.signData(USER_KEY.blob(), login)), login)


def test_badBindings() -> None:
    """A binding that fails (bad signature, same ID for another key) hides constrained keys."""
    loop = _loaded((_dest(None, HOST_A),))
    with pytest.raises(ConchError):
        loop.run(loop.client.bindSession(HOST_A.public().blob(), b"sid", HOST_B.sign(b"sid")))
    assert loop.run(loop.client.requestIdentities()) == []
    loop = _loaded((_dest(None, HOST_A),))
    _sessionBind(loop, HOST_A, b"sid", forwarding=True)
    with pytest.raises(ConchError):
        _sessionBind(loop, HOST_B, b"sid", forwarding=True)
    loop = _loaded((_dest(None, HOST_A),))
    for bad in (
        d.packSessionBind(b"not a key", b"sid", b"sig", False),
        d.packSessionBind(HOST_A.public().blob(), b"x" * 200, HOST_A.sign(b"x" * 200), False),
        string(b"another-extension@example.com"),
    ):
        with pytest.raises(ConchError):
            loop.run(
                loop.client.sendRequest(SSH_AGENTC_EXTENSION, bad).addCallback(
                    loop.client._expect(6)
                )
            )


def test_bindingLimit() -> None:
    loop = _loaded((_dest(None, HOST_A),))
    for n in range(16):
        _sessionBind(loop, HOST_A, b"sid%d" % n, forwarding=True)
    with pytest.raises(ConchError):
        _sessionBind(loop, HOST_A, b"one too many", forwarding=True)


def test_malformedExtensionEndsTheConnection() -> None:
    loop = _loaded((_dest(None, HOST_A),))
    loop.server.dataReceived(AgentCodec.send(SSH_AGENTC_EXTENSION, b"\x00\x00"))
    assert loop.st.disconnecting


def test_hostCertificates() -> None:
    """A hop's CA keys vouch for host certificates valid now for the hop's host name."""
    ca = Key.generate("ed25519")
    now = int(time.time())
    cert = ca.signCertificate(HOST_A.public(), CERT_HOST, "a", [b"a.example"])
    hop = agent.Hop(b"", b"a.example", (agent.HostKeySpec(ca.public().blob(), True),))
    assert agent.hopHasHostKey(hop, cert.blob())
    assert not hop.hasKey(cert.blob())  # plain matching leaves certificates out
    assert not agent.hopHasHostKey(hop, HOST_A.public().blob())
    for other in (
        ca.signCertificate(HOST_A.public(), CERT_HOST, "a", [b"b.example"]),
        ca.signCertificate(HOST_A.public(), CERT_USER, "a", [b"a.example"]),
        ca.signCertificate(HOST_A.public(), CERT_HOST, "a", [b"a.example"], 0, now - 10),
        HOST_B.signCertificate(HOST_A.public(), CERT_HOST, "a", [b"a.example"]),
    ):
        assert not agent.hopHasHostKey(hop, other.blob())
    assert not agent.hopHasHostKey(hop, b"junk")
    # A CA listed as a plain key vouches for nothing.
    plain = agent.Hop(b"", b"a.example", (agent.HostKeySpec(ca.public().blob()),))
    assert not agent.hopHasHostKey(plain, cert.blob())
    # In the agent: bound to the certified host, the key signs its login.
    loop = _loaded((agent.DestinationConstraint(agent.Hop(), hop),))
    loop.run(loop.client.bindSession(cert.blob(), b"sid", HOST_A.sign(b"sid")))
    login = _login(b"sid", b"u", USER_KEY)
    assert USER_KEY.verify(loop.run(loop.client.signData(USER_KEY.blob(), login)), login)
