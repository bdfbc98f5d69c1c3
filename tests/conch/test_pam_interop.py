"""
OpenSSH's ``ssh``, on a terminal (tmux), answering a glisten server's PAM-style
keyboard-interactive conversation: a notice, a hidden password and a shown code in one
round, then a PIN in a second round.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._tmux import Pane
from .conftest import ASYNCSSH_SERVE, pythonServer, requireBinary

pytestmark = pytest.mark.interop

SERVER = r"""
import sys
from zope.interface import implementer
from glisten.conch import pam, tap
from glisten.conch.ssh.keys import Key
from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import reactor
from glisten.internet.defer import Deferred

PORT, LOG = int(sys.argv[1]), sys.argv[2]


@implementer(ICredentialsChecker)
class PasswordCodeAndPIN:
    credentialInterfaces = (pam.IPluggableAuthenticationModules,)

    async def check(self, creds):
        first = await creds.pamConversion([
            ("Two factors today.", pam.PAM_TEXT_INFO),
            ("Password: ", pam.PAM_PROMPT_ECHO_OFF),
            ("Code: ", pam.PAM_PROMPT_ECHO_ON),
        ])
        second = await creds.pamConversion([("PIN: ", pam.PAM_PROMPT_ECHO_OFF)])
        with open(LOG, "a") as log:
            log.write(repr([a for a, _ in first + second]) + "\n")
        if [a for a, _ in first] != [b"", b"sekrit", b"123456"] or second != [(b"4321", 0)]:
            raise UnauthorizedLogin("wrong answers")
        return creds.username

    def requestAvatarId(self, creds):
        return Deferred.fromCoroutine(self.check(creds))


factory = tap.makeFactory({b"ssh-ed25519": Key.generate("ed25519")}, None, reactor=reactor)
factory.portal.registerChecker(PasswordCodeAndPIN())
reactor.listenTCP(PORT, factory, interface="127.0.0.1")
reactor.run()
"""


@pytest.fixture(scope="module")
def pamServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("glisten-pam")
    answers = tmp / "answers.log"
    with pythonServer(tmp, "server.py", SERVER, str(answers)) as port:
        yield {"port": port, "tmp": tmp, "answers": answers, "log": tmp / "server.log"}


def _ssh(server: dict[str, object], name: str) -> Pane:
    command = " ".join(
        [
            requireBinary("ssh"),
            f"-p {server['port']}",
            f"-l {getpass.getuser()}",
            "-o PreferredAuthentications=keyboard-interactive",
            "-o PubkeyAuthentication=no",
            "-o NumberOfPasswordPrompts=1",
            "-o StrictHostKeyChecking=no",
            "-o UserKnownHostsFile=/dev/null",
            # INFO, for ssh shows the round's name and instruction at that level.
            "-o LogLevel=INFO",
            "127.0.0.1",
            "echo pam-$((40+2))",
        ]
    )
    # The shell keeps the pane (and the result) on screen after ssh exits.
    return Pane(Path(str(server["tmp"])), name, ["sh", "-c", f"{command}; echo exit=$?; read x"])


def _answer(pane: Pane, password: str, code: str, pin: str) -> str:
    """Answer the three prompts as they come; the screen once ssh has exited."""
    for prompt, answer in (("Password:", password), ("Code:", code), ("PIN:", pin)):
        pane.waitFor(prompt)
        pane.type(answer)
        pane.keys("Enter")
    return pane.waitFor("exit=")


def test_twoRoundsThroughATerminal(pamServer: dict[str, object]) -> None:
    pane = _ssh(pamServer, "good")
    assert "Two factors today." in pane.waitFor("Password:")
    screen = _answer(pane, "sekrit", "123456", "4321")
    assert "pam-42" in screen and "exit=0" in screen
    # The code prompt echoes; the password and the PIN do not.
    assert "123456" in screen and "sekrit" not in screen and "4321" not in screen
    pane.keys("Enter")
    assert "b'sekrit', b'123456', b'4321'" in Path(str(pamServer["answers"])).read_text()


def test_wrongPINRefused(pamServer: dict[str, object]) -> None:
    pane = _ssh(pamServer, "bad")
    screen = _answer(pane, "sekrit", "123456", "0000")
    assert "Permission denied" in screen and "exit=255" in screen
    assert "pam-42" not in screen
    pane.keys("Enter")
    assert b"Traceback" not in Path(str(pamServer["log"])).read_bytes()


# --------------------------------------- glisten's client answering asyncssh's two rounds

ASYNCSSH_SERVER = (
    """
import asyncio, sys
import asyncssh

class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        self.round = 0
        return True

    def password_auth_supported(self):
        return False

    def public_key_auth_supported(self):
        return False

    def kbdint_auth_supported(self):
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return "Login", "Round one", "", [("Password: ", False), ("Code: ", True)]

    def validate_kbdint_response(self, username, responses):
        self.round += 1
        if self.round == 1 and list(responses) == ["sekrit", "123456"]:
            return "", "Round two", "", [("PIN: ", False)]
        return self.round == 2 and list(responses) == ["4321"]

async def handle(process):
    process.stdout.write("in as " + process.get_extra_info("username") + "\\n")
    process.exit(0)

"""
    + ASYNCSSH_SERVE
)


def _loginWithAnswers(port: int, answers: dict[bytes, bytes]) -> dict[str, Any]:
    """
    Log in with a client whose ``getGenericAnswers`` answers from ``answers``, and gives up
    (returns ``None``) when asked the first round again, as a person would after a failure.
    """
    from glisten.conch.ssh import connection, transport, userauth
    from glisten.internet import defer
    from glisten.internet.epollreactor import EPollReactor
    from glisten.internet.protocol import ClientFactory

    reactor = EPollReactor()
    seen: dict[str, Any] = {"rounds": [], "connected": False, "lost": False}

    class Transport(transport.SSHClientTransport):
        def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> Any:
            return defer.succeed(True)

        def connectionSecure(self) -> None:
            self.requestService(Answering(b"alice", Connection()))

        def connectionLost(self, reason: Any = None) -> None:
            super().connectionLost(reason)
            seen["lost"] = True
            reactor.stop()

    class Answering(userauth.SSHUserAuthClient):
        def getGenericAnswers(
            self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
        ) -> defer.Deferred[list[bytes]] | None:
            if seen["rounds"] and prompts == seen["rounds"][0][2]:
                return None
            seen["rounds"].append((name, instruction, prompts))
            return defer.succeed([answers[prompt] for prompt, _ in prompts])

    class Connection(connection.SSHConnection):
        def serviceStarted(self) -> None:
            seen["connected"] = True
            self.transport.loseConnection()

    factory = ClientFactory.forProtocol(Transport)
    factory.reactor = reactor  # type: ignore[attr-defined]
    reactor.connectTCP("127.0.0.1", port, factory)
    timeout = reactor.callLater(30, reactor.stop)
    reactor.run()
    if timeout.active():
        timeout.cancel()
    return seen


@pytest.fixture(scope="module")
def asyncsshTwoRounds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("asyncssh-two-rounds")
    with pythonServer(tmp, "server.py", ASYNCSSH_SERVER) as port:
        yield port


def test_clientAnswersTwoRounds(asyncsshTwoRounds: int) -> None:
    seen = _loginWithAnswers(
        asyncsshTwoRounds, {b"Password: ": b"sekrit", b"Code: ": b"123456", b"PIN: ": b"4321"}
    )
    assert seen["rounds"] == [
        (b"Login", b"Round one", [(b"Password: ", False), (b"Code: ", True)]),
        (b"", b"Round two", [(b"PIN: ", False)]),
    ]
    assert seen["connected"]


def test_clientWrongSecondRound(asyncsshTwoRounds: int) -> None:
    seen = _loginWithAnswers(
        asyncsshTwoRounds, {b"Password: ": b"sekrit", b"Code: ": b"123456", b"PIN: ": b"0"}
    )
    assert len(seen["rounds"]) == 2
    # Refused, the client stops asking and gives up: no methods left, it disconnects.
    assert seen["lost"] and not seen["connected"]
