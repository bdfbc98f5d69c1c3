"""The SSH agent protocol: codec, client and server in memory, private key blobs."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.error import ConchError
from glisten.conch.ssh import agent
from glisten.conch.ssh._agent._codec import AgentCodec, AgentMessage, AgentProtocolError, Limits
from glisten.conch.ssh._ssh._wire import Reader
from glisten.conch.ssh.keys import BadKeyError, Key
from glisten.internet import defer
from glisten.internet.testing import StringTransport

KEYS = {
    "ed25519": Key.generate("ed25519"),
    "ecdsa": Key.generate("ecdsa", 384),
    "rsa": Key.generate("rsa", 2048),
}


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_privateBlobRoundTrip(kind: str) -> None:
    key = KEYS[kind]
    again = Key.fromString(key.privateBlob(), "private_blob")
    assert again == key and not again.isPublic()
    assert again.public().verify(again.sign(b"x"), b"x")


def test_privateBlobRejectsBadInput() -> None:
    blob = KEYS["ed25519"].privateBlob()
    with pytest.raises(BadKeyError):
        Key.fromString(blob[:-1], "private_blob")
    with pytest.raises(BadKeyError):
        Key.fromString(blob + b"x", "private_blob")
    with pytest.raises(BadKeyError):
        KEYS["rsa"].public().privateBlob()


class _Factory:
    def __init__(self) -> None:
        self.keys: dict[bytes, tuple[Key, bytes]] = {}


class AgentLoop:
    def __init__(self) -> None:
        self.factory = _Factory()
        self.server = agent.SSHAgentServer()
        self.server.factory = self.factory  # type: ignore[attr-defined]
        self.client = agent.SSHAgentClient()
        self.st, self.ct = StringTransport(), StringTransport()
        self.server.makeConnection(self.st)
        self.client.makeConnection(self.ct)

    def run(self, d: defer.Deferred[Any], byteAtATime: bool = False) -> Any:
        results: list[Any] = []
        d.addBoth(results.append)
        for _ in range(10):
            toServer, toClient = self.ct.value(), self.st.value()
            self.ct.clear()
            self.st.clear()
            for data, proto in ((toServer, self.server), (toClient, self.client)):
                if byteAtATime:
                    for i in range(len(data)):
                        proto.dataReceived(data[i : i + 1])
                elif data:
                    proto.dataReceived(data)
        assert results
        if isinstance(results[0], defer.Failure):
            results[0].raiseException()
        return results[0]


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_clientAndServer(byteAtATime: bool) -> None:
    lp = AgentLoop()
    assert lp.run(lp.client.requestIdentities(), byteAtATime) == []
    for name, key in KEYS.items():
        lp.run(lp.client.addIdentity(key.privateBlob(), name.encode()), byteAtATime)
    identities = lp.run(lp.client.requestIdentities(), byteAtATime)
    assert identities == [(k.blob(), n.encode()) for n, k in KEYS.items()]
    for key in KEYS.values():
        sig = lp.run(lp.client.signData(key.blob(), b"data"), byteAtATime)
        assert key.public().verify(sig, b"data")
    rsa = KEYS["rsa"]
    for flags, algorithm in (
        (agent.SSH_AGENT_RSA_SHA2_256, b"rsa-sha2-256"),
        (agent.SSH_AGENT_RSA_SHA2_512, b"rsa-sha2-512"),
        (0, b"ssh-rsa"),
    ):
        sig = lp.run(lp.client.signData(rsa.blob(), b"d", flags))
        assert Reader(sig).string() == algorithm
        assert agent.signatureFlags(algorithm) == flags
    lp.run(lp.client.removeIdentity(rsa.blob()))
    assert len(lp.run(lp.client.requestIdentities())) == 2
    with pytest.raises(ConchError):
        lp.run(lp.client.removeIdentity(rsa.blob()))
    with pytest.raises(ConchError):
        lp.run(lp.client.signData(rsa.blob(), b"d"))
    lp.run(lp.client.removeAllIdentities())
    assert lp.run(lp.client.requestIdentities()) == []


def test_pipelinedRequests() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    lp.factory.keys[key.blob()] = (key, b"c")
    ds = [lp.client.signData(key.blob(), bytes([i])) for i in range(20)]
    sigs = lp.run(defer.gatherResults(ds))
    assert all(key.verify(s, bytes([i])) for i, s in enumerate(sigs))


def test_serverRefusesMalformedConstraintsAndBadKeys() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    empty = b"\x00\x00\x00\x00"
    for constraints in (
        b"\x01",  # a lifetime without its seconds
        b"\x02\x02",  # confirm twice
        b"\x01\x00\x00\x00\x05\x01\x00\x00\x00\x05",
        b"\x03",
        # An extension (restrict-destination-v00@openssh.com): a limit we cannot keep.
        b"\xff\x00\x00\x00\x26restrict-destination-v00@openssh.com",
    ):
        with pytest.raises(ConchError):
            lp.run(lp.client.sendRequest(25, key.privateBlob() + empty + constraints))
    with pytest.raises(ConchError):
        lp.run(lp.client.addIdentity(b"\x00\x00\x00\x03bad"))
    with pytest.raises(ConchError):
        lp.run(lp.client.sendRequest(99, b""))
    assert lp.factory.keys == {}


def test_serverKeyLimit() -> None:
    lp = AgentLoop()
    lp.server._codec = AgentCodec(Limits(maxKeys=1))
    lp.run(lp.client.addIdentity(KEYS["ed25519"].privateBlob()))
    with pytest.raises(ConchError):
        lp.run(lp.client.addIdentity(KEYS["ecdsa"].privateBlob()))


def test_absurdIdentityCount() -> None:
    client = agent.SSHAgentClient()
    t = StringTransport()
    client.makeConnection(t)
    d = client.requestIdentities()
    body = struct.pack(">I", 0x7FFFFFFF)
    client.dataReceived(AgentCodec.send(agent.SSH_AGENT_IDENTITIES_ANSWER, body))
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(ConchError)


def test_lyingLengthClosesTheConnection() -> None:
    lp = AgentLoop()
    lp.server.dataReceived(b"\xff\xff\xff\xff")
    assert lp.st.disconnecting
    d = lp.client.requestIdentities()
    lp.client.dataReceived(b"\x00\x00\x00\x00")
    assert lp.ct.disconnecting
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures


def test_unaskedAnswerIsAnError() -> None:
    client = agent.SSHAgentClient()
    t = StringTransport()
    client.makeConnection(t)
    client.dataReceived(AgentCodec.send(agent.SSH_AGENT_SUCCESS))
    assert t.disconnecting


def test_codecWholeAndByteAtATime() -> None:
    stream = AgentCodec.send(11) + AgentCodec.send(13, b"abc") + AgentCodec.send(6)
    expected = [AgentMessage(11, b""), AgentMessage(13, b"abc"), AgentMessage(6, b"")]
    assert AgentCodec().receiveData(stream) == expected
    codec = AgentCodec()
    got: list[AgentMessage] = []
    for i in range(len(stream)):
        got += codec.receiveData(stream[i : i + 1])
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_randomBytesOnlyRaiseTheProtocolError(data: bytes) -> None:
    codec = AgentCodec(Limits(maxMessageLength=1000))
    try:
        for message in codec.receiveData(data):
            for parse in (codec.parseIdentities, codec.parseSignRequest, codec.parseString):
                try:
                    parse(message.body)
                except AgentProtocolError:
                    pass
    except AgentProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_randomAgentInputNeverCrashesTheServer(data: bytes) -> None:
    lp = AgentLoop()
    lp.server.dataReceived(data)


# ---------------------------------------------------------------------- constraints and locking


def test_lifetimeEndsOnTheReactorClock() -> None:
    from glisten.internet.testing import Clock

    lp = AgentLoop()
    clock = Clock()
    lp.factory.reactor = clock  # type: ignore[attr-defined]
    ed, ec = KEYS["ed25519"], KEYS["ecdsa"]
    lp.run(lp.client.addIdentity(ed.privateBlob(), b"short", lifetime=10))
    lp.run(lp.client.addIdentity(ec.privateBlob(), b"longer", lifetime=20))
    clock.advance(9)
    assert len(lp.run(lp.client.requestIdentities())) == 2
    assert ed.verify(lp.run(lp.client.signData(ed.blob(), b"x")), b"x")
    clock.advance(1)
    assert lp.run(lp.client.requestIdentities()) == [(ec.blob(), b"longer")]
    with pytest.raises(ConchError):
        lp.run(lp.client.signData(ed.blob(), b"x"))
    # Adding the key again without a lifetime keeps it.
    lp.run(lp.client.addIdentity(ec.privateBlob(), b"kept"))
    clock.advance(100)
    assert lp.run(lp.client.requestIdentities()) == [(ec.blob(), b"kept")]
    assert clock.getDelayedCalls() == []
    lp.run(lp.client.addIdentity(ed.privateBlob(), lifetime=5))
    lp.run(lp.client.removeAllIdentities())
    assert clock.getDelayedCalls() == []
    assert lp.factory.keyConstraints == {}  # type: ignore[attr-defined]


def test_confirmRefusesByDefault() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    lp.run(lp.client.addIdentity(key.privateBlob(), b"ask", confirm=True))
    assert lp.run(lp.client.requestIdentities()) == [(key.blob(), b"ask")]
    with pytest.raises(ConchError):
        lp.run(lp.client.signData(key.blob(), b"x"))


def test_confirmCallback() -> None:
    lp = AgentLoop()
    key, other = KEYS["ed25519"], KEYS["ecdsa"]
    asked: list[tuple[Key, bytes]] = []
    answers: list[defer.Deferred[bool]] = []

    def confirm(k: Key, comment: bytes) -> defer.Deferred[bool]:
        asked.append((k, comment))
        d: defer.Deferred[bool] = defer.Deferred()
        answers.append(d)
        return d

    lp.factory.confirmSignature = confirm  # type: ignore[attr-defined]
    lp.run(lp.client.addIdentity(key.privateBlob(), b"ask", confirm=True))
    lp.run(lp.client.addIdentity(other.privateBlob(), b"free"))
    # The second request waits behind the confirmation: answers stay in order.
    signed = lp.client.signData(key.blob(), b"x")
    listed = lp.client.requestIdentities()
    results: list[Any] = []
    signed.addBoth(results.append)
    listed.addBoth(results.append)
    lp.run(defer.succeed(None))
    assert asked == [(key, b"ask")] and results == []
    answers.pop().callback(True)
    lp.run(defer.succeed(None))
    assert key.verify(results[0], b"x")
    assert len(results[1]) == 2
    # No, an error, or the key removed while asking: refused.
    for answer in (False, ValueError("askpass crashed"), "removed"):
        d = lp.client.signData(key.blob(), b"y")
        lp.run(defer.succeed(None))
        if answer == "removed":
            lp.factory.keys.pop(key.blob())
            answers.pop().callback(True)
        elif isinstance(answer, Exception):
            answers.pop().errback(answer)
        else:
            answers.pop().callback(answer)
        with pytest.raises(ConchError):
            lp.run(d)
    # Keys without the constraint sign without asking.
    assert other.verify(lp.run(lp.client.signData(other.blob(), b"z")), b"z")
    assert len(asked) == 4


def test_confirmPlainCallback() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    lp.factory.confirmSignature = lambda k, c: True  # type: ignore[attr-defined]
    lp.run(lp.client.addIdentity(key.privateBlob(), confirm=True, lifetime=60))
    assert key.verify(lp.run(lp.client.signData(key.blob(), b"x")), b"x")

    def broken(k: Key, c: bytes) -> bool:
        raise RuntimeError("no terminal")

    lp.factory.confirmSignature = broken  # type: ignore[attr-defined]
    with pytest.raises(ConchError):
        lp.run(lp.client.signData(key.blob(), b"x"))


def test_tooManyRequestsWhileConfirming() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    lp.factory.confirmSignature = lambda k, c: defer.Deferred()  # type: ignore[attr-defined]
    lp.run(lp.client.addIdentity(key.privateBlob(), confirm=True))
    lp.st.clear()
    sign = AgentCodec.packSignRequest(key.blob(), b"x", 0)
    lp.server.dataReceived(AgentCodec.send(agent.SSH_AGENTC_SIGN_REQUEST, sign))
    lp.server.dataReceived(AgentCodec.send(agent.SSH_AGENTC_REQUEST_IDENTITIES) * 60)
    assert lp.st.value() == b"" and not lp.st.disconnecting
    lp.server.dataReceived(AgentCodec.send(agent.SSH_AGENTC_REQUEST_IDENTITIES) * 10)
    assert lp.st.disconnecting


def test_lockAndUnlock() -> None:
    lp = AgentLoop()
    key = KEYS["ed25519"]
    lp.run(lp.client.addIdentity(key.privateBlob(), b"k"))
    with pytest.raises(ConchError):
        lp.run(lp.client.unlock(b"not locked"))
    lp.run(lp.client.lock(b"sesame"))
    stored = lp.factory.lockHash  # type: ignore[attr-defined]
    assert stored.startswith(b"$scrypt$") and b"sesame" not in stored
    assert lp.run(lp.client.requestIdentities()) == []
    for d in (
        lambda: lp.client.signData(key.blob(), b"x"),
        lambda: lp.client.addIdentity(KEYS["ecdsa"].privateBlob()),
        lambda: lp.client.removeAllIdentities(),
        lambda: lp.client.lock(b"again"),
        lambda: lp.client.unlock(b"sesamE"),
        lambda: lp.client.unlock(b""),
    ):
        with pytest.raises(ConchError):
            lp.run(d())
    lp.run(lp.client.unlock(b"sesame"))
    assert lp.run(lp.client.requestIdentities()) == [(key.blob(), b"k")]
    assert key.verify(lp.run(lp.client.signData(key.blob(), b"x")), b"x")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_randomConstraintsOnlyRaiseValueError(data: bytes) -> None:
    try:
        AgentCodec.parseConstraints(Reader(data))
    except ValueError:
        pass


def test_constraintsRoundTrip() -> None:
    for confirm, lifetime in ((True, None), (False, 7), (True, 0xFFFFFFFF)):
        packed = AgentCodec.packConstraints(confirm, lifetime)
        assert AgentCodec.parseConstraints(Reader(packed)) == (confirm, lifetime, ())
