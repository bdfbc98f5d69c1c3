"""keyboard-interactive authentication (RFC 4256): the codec, then both sides end to end."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.conch import pam
from glisten.conch.ssh import userauth
from glisten.conch.ssh._ssh import _userauth as ua
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    DISCONNECT_PROTOCOL_ERROR,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._wire import string, uint32
from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import defer
from glisten.internet.task import Clock

from ._loop import AcceptingClient, ClientAuth, Loop, makeFactory

KBD_REQUEST = ua.encodeRequest(b"alice", b"ssh-connection", b"keyboard-interactive")[1] + (
    ua.encodeKeyboardInteractive(b"pam")
)


def _machineAwaitingAnswers() -> tuple[ua.UserAuthServerMachine, bytes]:
    m = ua.UserAuthServerMachine(b"sid", maxAttempts=3)
    request = m.receive(ua.MSG_USERAUTH_REQUEST, KBD_REQUEST)
    assert isinstance(request, ua.AuthRequest)
    assert request.method == b"keyboard-interactive"
    assert request.submethods == b"pam"
    messageType, body = m.infoRequest("Login", "Type it", [("Password: ", False), ("OTP: ", True)])
    assert messageType == ua.MSG_USERAUTH_INFO_REQUEST
    return m, body


def test_infoRequestRoundTrip() -> None:
    _, body = _machineAwaitingAnswers()
    request = ua.decodeInfoRequest(body)
    assert request == ua.InfoRequest(
        b"Login", b"Type it", [(b"Password: ", False), (b"OTP: ", True)]
    )


def test_infoRequestEveryPrefixIsAnError() -> None:
    """Decoding a truncated INFO_REQUEST (fed up to each byte) only raises the protocol's error."""
    _, body = _machineAwaitingAnswers()
    for end in range(len(body)):
        with pytest.raises(SSHProtocolError):
            ua.decodeInfoRequest(body[:end])
    with pytest.raises(SSHProtocolError):
        ua.decodeInfoRequest(body + b"\x00")


def test_infoRequestPromptLimit() -> None:
    body = string(b"") + string(b"") + string(b"") + uint32(ua.MAX_PROMPTS + 1)
    with pytest.raises(SSHProtocolError):
        ua.decodeInfoRequest(body)
    m = ua.UserAuthServerMachine(b"sid")
    m.receive(ua.MSG_USERAUTH_REQUEST, KBD_REQUEST)
    with pytest.raises(ValueError):
        m.infoRequest("", "", [("x", False)] * (ua.MAX_PROMPTS + 1))


def test_infoResponse() -> None:
    m, _ = _machineAwaitingAnswers()
    messageType, body = ua.encodeInfoResponse([b"sekrit", b"123456"])
    assert messageType == ua.MSG_USERAUTH_INFO_RESPONSE
    # Every truncation is the protocol's error, and leaves the machine waiting.
    for end in range(len(body)):
        with pytest.raises(SSHProtocolError):
            _machineAwaitingAnswers()[0].receive(messageType, body[:end])
    assert m.receive(messageType, body) == ua.InfoResponse([b"sekrit", b"123456"])
    # Answers are taken once.
    with pytest.raises(SSHProtocolError):
        m.receive(messageType, body)


def test_wrongNumberOfResponses() -> None:
    m, _ = _machineAwaitingAnswers()
    with pytest.raises(SSHProtocolError) as info:
        m.receive(*ua.encodeInfoResponse([b"only one"]))
    assert info.value.reasonCode == DISCONNECT_PROTOCOL_ERROR


def test_unsolicitedResponse() -> None:
    m = ua.UserAuthServerMachine(b"sid")
    with pytest.raises(SSHProtocolError):
        m.receive(*ua.encodeInfoResponse([]))


def test_abandoningCountsAsAFailure() -> None:
    """A new request while answers are awaited abandons the round and counts against the limit."""
    m = ua.UserAuthServerMachine(b"sid", maxAttempts=2)
    m.receive(ua.MSG_USERAUTH_REQUEST, KBD_REQUEST)
    m.infoRequest("", "", [("Password: ", False)])
    m.receive(ua.MSG_USERAUTH_REQUEST, KBD_REQUEST)
    assert m.failures == 1
    m.infoRequest("", "", [("Password: ", False)])
    with pytest.raises(SSHProtocolError) as info:
        m.receive(ua.MSG_USERAUTH_REQUEST, KBD_REQUEST)
    assert info.value.reasonCode == DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=255))
def test_randomInputOnlyProtocolErrors(data: bytes, messageType: int) -> None:
    try:
        ua.decodeInfoRequest(data)
    except SSHProtocolError:
        pass
    m, _ = _machineAwaitingAnswers()
    try:
        m.receive(messageType, data)
    except SSHProtocolError:
        pass


class AnsweringAuth(ClientAuth):
    def __init__(self, *args: Any, answers: list[list[bytes] | None]) -> None:
        super().__init__(*args)
        self.answers = answers
        self.rounds: list[tuple[bytes, bytes, list[tuple[bytes, bool]]]] = []

    def getGenericAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> defer.Deferred[list[bytes]] | None:
        self.rounds.append((name, instruction, prompts))
        answer = self.answers.pop(0) if self.answers else None
        return None if answer is None else defer.succeed(answer)


class KbdClient(AcceptingClient):
    def __init__(self, answers: list[list[bytes] | None]) -> None:
        super().__init__(useKey=False, password=None)
        self.answers = answers

    def connectionSecure(self) -> None:
        self.secure = True
        self.auth = AnsweringAuth(self.user, self.conn, None, None, answers=self.answers)
        self.requestService(self.auth)


def test_loginWithKeyboardInteractive() -> None:
    loop = Loop(KbdClient([[b"sekrit"]]), makeFactory(Clock()))
    loop.pump()
    assert loop.client.conn.started
    assert loop.client.auth.rounds == [(b"", b"", [(b"Password: ", False)])]
    assert loop.server.avatar.username == b"alice"


def test_wrongAnswerIsDelayedThenRetried() -> None:
    loop = Loop(KbdClient([[b"wrong"], [b"sekrit"]]), makeFactory(Clock()))
    loop.pump()
    assert not loop.client.conn.started
    assert loop.serverTransport.value() == b""  # the failure waits for the delay
    loop.clock.advance(1.0)
    loop.pump()
    assert loop.client.conn.started
    assert len(loop.client.auth.rounds) == 2


def test_clientWithoutAnswersGivesUp() -> None:
    """No answers: the client abandons the round once, then runs out of methods."""
    loop = Loop(KbdClient([None]), makeFactory(Clock()))
    loop.pump()
    assert len(loop.client.auth.rounds) == 1
    assert loop.clientTransport.disconnecting
    assert not loop.client.conn.started


def test_notOfferedWithoutPasswords() -> None:
    loop = Loop(KbdClient([[b"sekrit"]]), makeFactory(Clock(), passwords=False))
    loop.pump()
    assert loop.client.auth.rounds == []
    assert not loop.client.conn.started


def test_promptCanBeTurnedOff() -> None:
    class NoKbd(userauth.SSHUserAuthServer):
        keyboardInteractivePrompt = None

    f = makeFactory(Clock())
    f.services = dict(f.services)
    f.services[b"ssh-userauth"] = NoKbd
    loop = Loop(KbdClient([[b"sekrit"]]), f)
    loop.pump()
    assert loop.client.auth.rounds == []


def test_wrongCountFromClientDisconnects() -> None:
    """The client never sends a wrong count itself; a peer that does is disconnected."""
    pending: defer.Deferred[list[bytes]] = defer.Deferred()

    class Stalling(AnsweringAuth):
        def getGenericAnswers(self, *args: Any) -> defer.Deferred[list[bytes]] | None:
            return pending

    class StallingClient(KbdClient):
        def connectionSecure(self) -> None:
            self.secure = True
            self.auth = Stalling(self.user, self.conn, None, None, answers=[])
            self.requestService(self.auth)

    loop = Loop(StallingClient([]), makeFactory(Clock()))
    loop.pump()
    assert not loop.serverTransport.disconnecting
    loop.client.sendPacket(*ua.encodeInfoResponse([b"a", b"b"]))
    loop.pump()
    assert loop.serverTransport.disconnecting
    assert not loop.client.conn.started


# ---------------------------------------------- PAM-style conversations driven by the checker


@implementer(ICredentialsChecker)
class TwoFactorChecker:
    """
    Asks, in a first round, for a password (hidden) and a code (shown) after a notice, then
    in a second round for a PIN; lets ``alice`` in with the right three answers.
    """

    credentialInterfaces = (pam.IPluggableAuthenticationModules,)

    def __init__(self, rounds: int = 2) -> None:
        self.rounds = rounds
        self.answers: list[list[tuple[bytes, int]]] = []

    async def _check(self, creds: Any) -> bytes:
        first = await creds.pamConversion(
            [
                ("Two factors today.", pam.PAM_TEXT_INFO),
                ("Password: ", pam.PAM_PROMPT_ECHO_OFF),
                (b"Code: ", pam.PAM_PROMPT_ECHO_ON),
            ]
        )
        self.answers.append(first)
        expected = [(b"", 0), (b"sekrit", 0), (b"123456", 0)]
        if self.rounds > 1:
            second = await creds.pamConversion([("PIN: ", pam.PAM_PROMPT_ECHO_OFF)])
            self.answers.append(second)
            ok = first == expected and second == [(b"4321", 0)]
        else:
            ok = first == expected
        if not ok or creds.username != b"alice":
            raise UnauthorizedLogin("wrong answers")
        return bytes(creds.username)

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        return defer.Deferred.fromCoroutine(self._check(creds))


def _pamFactory(checker: Any) -> Any:
    f = makeFactory(Clock(), passwords=False)
    f.portal.registerChecker(checker)
    return f


def test_pamConversationOverTwoRounds() -> None:
    checker = TwoFactorChecker()
    loop = Loop(KbdClient([[b"sekrit", b"123456"], [b"4321"]]), _pamFactory(checker))
    loop.pump()
    assert loop.client.auth.rounds == [
        (b"", b"Two factors today.", [(b"Password: ", False), (b"Code: ", True)]),
        (b"", b"", [(b"PIN: ", False)]),
    ]
    assert loop.client.conn.started
    assert loop.server.avatar.username == b"alice"
    assert checker.answers[1] == [(b"4321", 0)]


def test_pamConversationWrongAnswerFailsAfterTheDelay() -> None:
    checker = TwoFactorChecker()
    loop = Loop(
        KbdClient([[b"sekrit", b"123456"], [b"0000"], [b"sekrit", b"123456"], [b"4321"]]),
        _pamFactory(checker),
    )
    loop.pump()
    assert not loop.client.conn.started
    loop.clock.advance(1.0)
    loop.pump()
    assert loop.client.conn.started
    assert len(loop.client.auth.rounds) == 4


def test_pamReplacesThePasswordPrompt() -> None:
    """With both checkers, keyboard-interactive is the conversation (offered once)."""
    f = makeFactory(Clock())
    f.portal.registerChecker(TwoFactorChecker(rounds=1))
    loop = Loop(KbdClient([[b"sekrit", b"123456"]]), f)
    loop.pump()
    assert loop.client.conn.started
    assert loop.client.auth.rounds[0][2] == [(b"Password: ", False), (b"Code: ", True)]


def test_pamOfferedWithoutPasswordChecker() -> None:
    loop = Loop(KbdClient([[b"sekrit", b"123456"], [b"4321"]]), _pamFactory(TwoFactorChecker()))
    loop.pump()
    assert loop.client.conn.started


@implementer(ICredentialsChecker)
class BadKindChecker:
    credentialInterfaces = (pam.IPluggableAuthenticationModules,)

    def __init__(self, items: list[tuple[str, int]]) -> None:
        self.items = items
        self.errors: list[str] = []

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        def failed(reason: Any) -> Any:
            self.errors.append(reason.getErrorMessage())
            return reason

        return creds.pamConversion(self.items).addErrback(failed)


@pytest.mark.parametrize(
    "items",
    [[("What? ", 9)], [("x", pam.PAM_PROMPT_ECHO_OFF)] * (ua.MAX_PROMPTS + 1)],
)
def test_pamConversationRefusesWhatItCannotAsk(items: list[tuple[str, int]]) -> None:
    checker = BadKindChecker(items)
    loop = Loop(KbdClient([[b"x"]] * 3), _pamFactory(checker))
    loop.pump()
    assert checker.errors and not loop.client.conn.started
    assert loop.client.auth.rounds == []


def test_pamAbandonedRoundIsNeverAnswered() -> None:
    """A client that gives up mid-conversation gets a failure; the checker waits forever."""
    checker = TwoFactorChecker()
    loop = Loop(KbdClient([None]), _pamFactory(checker))
    loop.pump()
    assert len(loop.client.auth.rounds) == 1
    assert checker.answers == []
    assert not loop.client.conn.started


@implementer(ICredentialsChecker)
class NoticeFirstChecker:
    """A round with only a message (no prompts), then the password."""

    credentialInterfaces = (pam.IPluggableAuthenticationModules,)

    async def _check(self, creds: Any) -> bytes:
        notice = await creds.pamConversion([("Authorized use only.", pam.PAM_ERROR_MSG)])
        assert notice == [(b"", 0)]
        ((password, _),) = await creds.pamConversion([("Password: ", pam.PAM_PROMPT_ECHO_OFF)])
        if password != b"sekrit":
            raise UnauthorizedLogin("wrong password")
        return bytes(creds.username)

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        return defer.Deferred.fromCoroutine(self._check(creds))


def test_pamRoundWithoutPrompts() -> None:
    """A round of messages only is answered by the client itself (nothing to ask)."""
    loop = Loop(KbdClient([[b"sekrit"]]), _pamFactory(NoticeFirstChecker()))
    loop.pump()
    assert loop.client.auth.rounds == [(b"", b"", [(b"Password: ", False)])]
    assert loop.client.conn.started
