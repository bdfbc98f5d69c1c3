"""
OpenSSH's ``ssh``, on a terminal (tmux), answering a glisten server's PAM-style
keyboard-interactive conversation: a notice, a hidden password and a shown code in one
round, then a PIN in a second round.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._tmux import Pane
from .conftest import pythonServer, requireBinary

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
