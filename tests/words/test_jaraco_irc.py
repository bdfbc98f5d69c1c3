"""The ``irc`` (jaraco) client library against ``glisten words``, run as the command runs it:
registration, channels, messages, topic, NAMES, WHOIS, nick in use, server password and SASL
PLAIN, CAP."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import freePort, runGlisten, stopGlisten

irc_client = pytest.importorskip("irc.client")

pytestmark = pytest.mark.interop


def startServer(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = freePort()
    proc = runGlisten(
        tmp_path, port, "words",
        "--irc-port", f"tcp:{port}:interface=127.0.0.1", "--hostname", "glisten.test", *args,
    )  # fmt: skip
    return proc, port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    proc, port = startServer(tmp_path)
    yield port
    stopGlisten(proc)


class Peer:
    """One jaraco client and the events it saw."""

    def __init__(self, reactor: Any, port: int, nick: str, **kw: Any) -> None:
        self.events: list[Any] = []
        self.conn = reactor.server()
        self.conn.add_global_handler("all_events", self._record, -10)
        self.conn.connect("127.0.0.1", port, nick, **kw)

    def _record(self, conn: Any, event: Any) -> None:
        if conn is self.conn:
            self.events.append(event)

    def saw(self, type: str, pred: Callable[[Any], bool] = lambda e: True) -> Any:
        for e in self.events:
            if e.type == type and pred(e):
                return e
        return None


def pump(reactor: Any, predicate: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reactor.process_once(0.02)
        value = predicate()
        if value:
            return value
    raise AssertionError("timed out")


def test_chatBetweenTwoLibraryClients(server: int) -> None:
    reactor = irc_client.Reactor()
    alice = Peer(reactor, server, "alice", ircname="Alice")
    bob = Peer(reactor, server, "bob")
    pump(reactor, lambda: alice.saw("welcome") and bob.saw("welcome"))
    assert alice.saw("featurelist") is not None
    assert alice.conn.get_server_name() == "glisten.test"

    alice.conn.join("#lobby")
    pump(reactor, lambda: alice.saw("endofnames"))
    bob.conn.join("#lobby")
    pump(reactor, lambda: alice.saw("join", lambda e: e.source.nick == "bob"))
    pump(reactor, lambda: bob.saw("endofnames"))
    names = bob.saw("namreply")
    assert names is not None and set(names.arguments[2].split()) == {"@alice", "bob"}

    alice.conn.privmsg("#lobby", "hello, glisten")
    got = pump(reactor, lambda: bob.saw("pubmsg"))
    assert got.source.nick == "alice" and got.arguments == ["hello, glisten"]

    bob.conn.privmsg("alice", "psst")
    got = pump(reactor, lambda: alice.saw("privmsg"))
    assert got.arguments == ["psst"]

    bob.conn.action("#lobby", "waves")
    got = pump(reactor, lambda: alice.saw("action"))
    assert got.arguments == ["waves"]

    alice.conn.topic("#lobby", "a fine topic")
    got = pump(reactor, lambda: bob.saw("topic"))
    assert got.target == "#lobby" and got.arguments == ["a fine topic"]

    bob.conn.whois("alice")
    pump(reactor, lambda: bob.saw("endofwhois"))
    user = bob.saw("whoisuser")
    assert user.arguments[:3] == ["alice", "~alice", "127.0.0.1"]
    assert user.arguments[-1] == "Alice"

    bob.conn.mode("#lobby", "+o bob")
    pump(reactor, lambda: bob.saw("chanoprivsneeded"))
    alice.conn.kick("#lobby", "bob", "bye")
    got = pump(reactor, lambda: bob.saw("kick"))
    assert got.arguments == ["bob", "bye"]

    alice.conn.list()
    got = pump(reactor, lambda: alice.saw("list"))
    assert got.arguments[:3] == ["#lobby", "1", "a fine topic"]

    bob.conn.join("#lobby")
    pump(reactor, lambda: len([e for e in alice.events if e.type == "join"]) == 3)
    bob.conn.quit("done")
    got = pump(reactor, lambda: alice.saw("quit"))
    assert got.source.nick == "bob"


def test_nickInUse(server: int) -> None:
    reactor = irc_client.Reactor()
    first = Peer(reactor, server, "dup")
    pump(reactor, lambda: first.saw("welcome"))
    second = Peer(reactor, server, "dup")
    pump(reactor, lambda: second.saw("nicknameinuse"))
    second.conn.nick("dup2")
    pump(reactor, lambda: second.saw("welcome"))
    assert second.conn.get_nickname() == "dup2"


def test_passwordsAndSasl(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("alice:wonderland\nbob:builder\n")
    proc, port = startServer(tmp_path, "--passwd", str(tmp_path / "passwd"))
    try:
        reactor = irc_client.Reactor()
        alice = Peer(reactor, port, "alice", password="wonderland")
        bob = Peer(reactor, port, "bob", password="builder", sasl_login="bob")
        mallory = Peer(reactor, port, "alice2", password="guess")
        pump(reactor, lambda: alice.saw("welcome") and bob.saw("welcome"))
        pump(reactor, lambda: mallory.saw("passwdmismatch"))
        assert mallory.saw("welcome") is None
        assert bob.saw("saslsuccess") or bob.saw("903")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in out, out


def test_capabilityNegotiation(server: int) -> None:
    reactor = irc_client.Reactor()
    peer = Peer(reactor, server, "capper")
    pump(reactor, lambda: peer.saw("welcome"))
    peer.conn.cap("LS", "302")
    got = pump(reactor, lambda: peer.saw("cap"))
    assert "server-time" in " ".join(got.arguments)


def test_bansAndOperators(tmp_path: Path) -> None:
    """Bans keep a user out; an operator from ``--oper-passwd`` kills a user."""
    (tmp_path / "opers").write_text("root:sesame\n")
    proc, port = startServer(tmp_path, "--oper-passwd", str(tmp_path / "opers"))
    try:
        reactor = irc_client.Reactor()
        alice = Peer(reactor, port, "alice")
        bob = Peer(reactor, port, "bob")
        pump(reactor, lambda: alice.saw("welcome") and bob.saw("welcome"))
        alice.conn.join("#room")
        pump(reactor, lambda: alice.saw("endofnames"))
        alice.conn.mode("#room", "+b bob")
        pump(reactor, lambda: alice.saw("mode", lambda e: "bob!*@*" in e.arguments))
        alice.conn.mode("#room", "b")
        got = pump(reactor, lambda: alice.saw("banlist"))
        assert got.arguments[:2] == ["#room", "bob!*@*"]
        bob.conn.join("#room")
        pump(reactor, lambda: bob.saw("bannedfromchan"))

        bob.conn.oper("root", "guess")
        pump(reactor, lambda: bob.saw("passwdmismatch"))
        alice.conn.oper("root", "sesame")
        pump(reactor, lambda: alice.saw("youreoper"))
        alice.conn.send_raw("KILL bob :enough")
        got = pump(reactor, lambda: bob.saw("error"))
        assert "Killed (alice (enough))" in got.target
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in out, out
