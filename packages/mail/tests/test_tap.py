"""The ``glisten mail`` plugin: options and the service it builds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.application.service import IServiceMaker
from glisten.internet.testing import MemoryReactor, MemoryReactorClock
from glisten.mail import mail, relaymanager
from glisten.mail.tap import mailPlugin, makeChecker


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    mailPlugin.addArguments(parser)
    return parser.parse_args(list(args))


def test_provides() -> None:
    assert verifyObject(IServiceMaker, mailPlugin)
    assert mailPlugin.tapname == "mail"


def test_service(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases"
    aliases.write_text("team: alice@example.com\n")
    options = parse(
        "-d",
        f"example.com={tmp_path / 'ex'}",
        "-u",
        "alice=secret",
        "-a",
        str(aliases),
        "-d",
        f"example.org={tmp_path / 'org'}",
        "--smtp",
        "tcp:2525",
        "-E",
        "-R",
        str(tmp_path / "queue"),
        "-b",
        "--submission",
        "tcp:2587",
        "--insecure-auth",
        "-H",
        "mx.example.com",
        "--relay-network",
        "10.0.0.0/8",
        "-A",
        "memory:bob:pw",
        "--tls-verify",
        "Example.NET",
    )
    reactor = MemoryReactor()
    svc: Any = mailPlugin.makeService(options, reactor)
    assert isinstance(svc, mail.MailService)
    assert set(dict.keys(svc.domains)) == {b"example.com", b"example.org"}
    assert (tmp_path / "ex" / "passwords" / "alice").read_bytes().startswith(b"$scrypt$")
    assert isinstance(svc.queue, relaymanager.Queue)
    assert str(svc.relayNetworks[0]) == "10.0.0.0/8"
    [helper] = [s for s in svc if isinstance(s, relaymanager.RelayStateHelper)]
    assert helper.manager.tlsPolicy == {"example.net": "verify"}
    svc.startService()
    ports = sorted(p[0] for p in reactor.tcpServers)
    assert ports == [2525, 2587]
    smtpFactory = [p[1] for p in reactor.tcpServers if p[0] == 2525][0]
    submission = [p[1] for p in reactor.tcpServers if p[0] == 2587][0]
    assert submission.requireAuthentication and not smtpFactory.requireAuthentication
    assert smtpFactory.domain == b"mx.example.com"
    svc.stopService()


def test_relayBatchAndDelayWarning(tmp_path: Path) -> None:
    def manager(*args: str) -> Any:
        svc: Any = mailPlugin.makeService(
            parse("-R", str(tmp_path / "q"), "--no-smtp", *args), MemoryReactor()
        )
        [helper] = [s for s in svc if isinstance(s, relaymanager.RelayStateHelper)]
        return helper.manager

    default = manager()
    assert (default.delayWarning, default.maxMessagesPerConnection) == (4 * 3600, 10)
    changed = manager("--delay-warning", "600", "--relay-batch", "3")
    assert (changed.delayWarning, changed.maxMessagesPerConnection) == (600, 3)
    assert manager("--delay-warning", "0").delayWarning is None


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must follow"):
        mailPlugin.makeService(parse("-u", "a=b"), MemoryReactor())
    with pytest.raises(ValueError, match="--certificate"):
        mailPlugin.makeService(parse("--submission", "tcp:2587"), MemoryReactor())
    with pytest.raises(SystemExit):
        parse("-d", "nodomain")
    with pytest.raises(ValueError):
        makeChecker("ldap:x")
    with pytest.raises(ValueError):
        makeChecker("memory:odd")


def test_newQueueEntryStartsTheRelay(tmp_path: Path) -> None:
    reactor = MemoryReactorClock()
    svc: Any = mailPlugin.makeService(parse("-R", str(tmp_path / "q"), "--no-smtp"), reactor)
    m = svc.queue.createNewMessage("a@b.c", ["x@y.z"])
    m.lineReceived(b"hi")
    assert reactor.getDelayedCalls() == []
    m.eomReceived()
    [call] = reactor.getDelayedCalls()
    assert call.getTime() == reactor.seconds()


def test_queuedMailForLocalDomainsIsDeliveredLocally(tmp_path: Path) -> None:
    options = parse(
        "-d",
        f"example.com={tmp_path / 'ex'}",
        "-u",
        "alice=secret",
        "-R",
        str(tmp_path / "queue"),
        "--no-smtp",
    )
    svc: Any = mailPlugin.makeService(options, MemoryReactorClock())
    [helper] = [s for s in svc if isinstance(s, relaymanager.RelayStateHelper)]
    manager = helper.manager
    queue = svc.queue
    m = queue.createNewMessage("", ["alice@example.com"])
    m.lineReceived(b"Subject: local")
    m.eomReceived()
    # Unknown local user, from someone local: bounced back, and the bounce delivered.
    m = queue.createNewMessage("alice@example.com", ["ghost@example.com"])
    m.lineReceived(b"Subject: lost")
    m.eomReceived()
    manager.checkState()
    manager.checkState()
    assert queue.getWaiting() == [] and queue.getRelayed() == []
    delivered = [p.read_bytes() for p in (tmp_path / "ex" / "alice" / "new").iterdir()]
    assert len(delivered) == 2
    assert any(b"Subject: local" in d for d in delivered)
    assert any(b"ghost@example.com" in d and b"multipart/report" in d for d in delivered)


def test_sharedByWorkersUnlessItRelays(tmp_path: Path) -> None:
    from glisten.application.service import IShareableServiceMaker

    assert verifyObject(IShareableServiceMaker, mailPlugin)
    assert mailPlugin.listeningEndpoints(parse()) == ["tcp:8025"]
    options = parse("--smtp", "tcp:25", "--submission", "tcp:587")
    assert mailPlugin.listeningEndpoints(options) == ["tcp:25", "tcp:587"]
    assert mailPlugin.listeningEndpoints(parse("--no-smtp", "--submission", "tcp:587")) == [
        "tcp:587"
    ]
    with pytest.raises(ValueError, match="--relay keeps one queue"):
        mailPlugin.listeningEndpoints(parse("--relay", str(tmp_path)))
