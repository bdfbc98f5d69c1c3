"""The client's side of RFC 4252 section 8: a server asking for a new password."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh import userauth
from glisten.conch.ssh._ssh import _userauth as ua
from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._wire import Reader
from glisten.conch.ssh.common import NS
from glisten.internet.defer import Deferred, succeed


class _Transport:
    def __init__(self) -> None:
        self.packets: list[tuple[int, bytes]] = []
        self.service: Any = None
        self.disconnected: tuple[int, bytes] | None = None

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        self.packets.append((messageType, payload))

    def setService(self, service: Any) -> None:
        self.service = service

    def sendDisconnect(self, reason: int, description: bytes) -> None:
        self.disconnected = (reason, description)


class _Instance:
    name = b"ssh-connection"


class _Client(userauth.SSHUserAuthClient):
    def __init__(self, passwords: list[bytes | None]) -> None:
        super().__init__(b"alice", _Instance())
        self.passwords = list(passwords)
        self.prompts: list[bytes | None] = []

    def getPassword(self, prompt: bytes | None = None) -> Deferred[bytes] | None:
        self.prompts.append(prompt)
        if not self.passwords:
            return None
        password = self.passwords.pop(0)
        return None if password is None else succeed(password)


def _request(payload: bytes) -> tuple[bytes, bytes, Reader]:
    r = Reader(payload)
    r.string()
    r.string()
    method = r.string()
    return method, payload, r


def _started(passwords: list[bytes | None]) -> tuple[_Client, _Transport]:
    client = _Client(passwords)
    transport = _Transport()
    client.transport = transport
    client.serviceStarted()
    client.packetReceived(ua.MSG_USERAUTH_FAILURE, NS(b"password,publickey") + b"\x00")
    message, payload = transport.packets[-1]
    method, _, r = _request(payload)
    assert (message, method, r.boolean(), r.string()) == (50, b"password", False, b"old-pw")
    return client, transport


def _changeRequest(prompt: bytes = b"Your password has expired.") -> bytes:
    return NS(prompt) + NS(b"en")


def test_answersAChangeRequest() -> None:
    client, transport = _started([b"old-pw", b"new-pw"])
    client.packetReceived(userauth.MSG_USERAUTH_PASSWD_CHANGEREQ, _changeRequest())
    assert client.prompts == [None, b"Your password has expired."]
    message, payload = transport.packets[-1]
    method, _, r = _request(payload)
    assert message == ua.MSG_USERAUTH_REQUEST and method == b"password"
    assert r.boolean() is True
    assert (r.string(), r.string()) == (b"old-pw", b"new-pw")
    r.done()
    client.packetReceived(ua.MSG_USERAUTH_SUCCESS, b"")
    assert transport.service is client.instance


def test_askedAgainWhenTheNewPasswordIsRefused() -> None:
    client, transport = _started([b"old-pw", b"weak", b"str0nger"])
    client.packetReceived(60, _changeRequest())
    client.packetReceived(60, _changeRequest(b"Too weak; again:"))
    _, _, r = _request(transport.packets[-1][1])
    assert r.boolean() and (r.string(), r.string()) == (b"old-pw", b"str0nger")


def test_declinedChangeGivesThePasswordUp() -> None:
    client, transport = _started([b"old-pw", None])
    client.packetReceived(60, _changeRequest())
    method, _, _ = _request(transport.packets[-1][1])
    assert method == b"none"
    # Other methods are tried; passwords are not offered again.
    client.packetReceived(ua.MSG_USERAUTH_FAILURE, NS(b"password") + b"\x00")
    assert transport.disconnected is not None
    assert client.prompts == [None, b"Your password has expired."]


def test_changeRequestsAreLimited() -> None:
    client, transport = _started([b"old-pw"] + [b"n%d" % i for i in range(10)])
    for _ in range(client.maxPasswordChangeRequests + 1):
        client.packetReceived(60, _changeRequest())
    assert _request(transport.packets[-1][1])[0] == b"none"
    assert len(client.prompts) == 1 + client.maxPasswordChangeRequests


def test_changeRequestOutsideAPasswordRequestIsAnError() -> None:
    client = _Client([])
    client.transport = _Transport()
    client.serviceStarted()
    with pytest.raises(SSHProtocolError):
        client.packetReceived(60, _changeRequest())


def test_malformedChangeRequest() -> None:
    client, _ = _started([b"old-pw", b"new"])
    with pytest.raises(SSHProtocolError):
        client.packetReceived(60, NS(b"prompt"))


def test_codecWholeAndByteAtATimePrefixes() -> None:
    payload = _changeRequest(b"prompt")
    assert ua.decodePasswordChangeRequest(payload) == b"prompt"
    for i in range(len(payload)):
        with pytest.raises(SSHProtocolError):
            ua.decodePasswordChangeRequest(payload[:i])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_randomChangeRequestsOnlyRaiseTheProtocolError(payload: bytes) -> None:
    try:
        ua.decodePasswordChangeRequest(payload)
    except SSHProtocolError:
        pass
