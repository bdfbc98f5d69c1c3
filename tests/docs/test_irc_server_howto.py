"""The IRC server howto's command line works as the page says: ``glisten words`` with a
``--passwd`` file made by its one-liner and ``--group`` channels, used by the howto's client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import freePort, waitForPort

ROOT = Path(__file__).resolve().parents[2]
HOWTO = ROOT / "docs" / "examples" / "irc_server.py"

#: ``glisten ARGS`` as installed, on the default reactor.
GLISTEN = "import sys; from glisten.application import cli; cli.main(sys.argv[1:])"

#: The page's way of adding an account to the password file: prints ``name:hash``.
HASH_LINE = (
    "import sys; from glisten.cred.checkers import scryptHash\n"
    'print("alice:" + scryptHash(sys.argv[1].encode()).decode())'
)

#: The howto's ``Chatter`` users against the server on port ``argv[2]``.
CLIENTS = r"""
import importlib.util, sys
from glisten.internet import defer, endpoints, task

spec = importlib.util.spec_from_file_location("howto", sys.argv[1])
howto = importlib.util.module_from_spec(spec)
spec.loader.exec_module(howto)

async def main(reactor):
    there = endpoints.clientFromString(reactor, f"tcp:127.0.0.1:{sys.argv[2]}")
    alice = howto.Chatter("alice", "alice's secret", "#lobby")
    await endpoints.connectProtocol(there, alice)
    await alice.joinedChannel
    bob = howto.Chatter("Bob", "bob's secret", "#lobby")
    await endpoints.connectProtocol(there, bob)
    await bob.joinedChannel
    bob.say("#lobby", "hello from the command line")
    print(f"alice heard {await alice.heard}")
    bob.joinedChannel = defer.Deferred()
    bob.join("#random")
    await bob.joinedChannel
    intruder = howto.Chatter("carol", "anything", "#lobby")
    await endpoints.connectProtocol(there, intruder)
    await intruder.closed
    print("carol: refused")
    for user in (alice, bob):
        user.quit("bye")
        await user.closed

task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
"""


def test_glistenWordsFromTheCommandLine(tmp_path: Path) -> None:
    passwd = tmp_path / "irc.passwd"
    for line in [
        subprocess.run(
            [sys.executable, "-c", HASH_LINE, "alice's secret"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout,
        "bob:bob's secret\n",  # clear text works too (names are not case-sensitive)
    ]:
        with passwd.open("a") as f:
            f.write(line)
    port = freePort()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            GLISTEN,
            "words",
            "--irc-port",
            f"tcp:{port}:interface=127.0.0.1",
            "--passwd",
            str(passwd),
            "--group",
            "lobby",
            "--group",
            "ops",
            "--hostname",
            "irc.example.org",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        waitForPort(port, server)
        clients = subprocess.run(
            [sys.executable, "-c", CLIENTS, str(HOWTO), str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert clients.returncode == 0, clients.stdout + clients.stderr
        assert clients.stdout == (
            "alice heard <Bob> hello from the command line\n"
            "Bob cannot join #random: no such channel\n"
            "carol: refused\n"
        )
    finally:
        server.terminate()
        server.communicate(timeout=30)
