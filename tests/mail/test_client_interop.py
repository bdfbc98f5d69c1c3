"""glisten's SMTP client and relay against aiosmtpd (a real peer, in its own process)."""

from __future__ import annotations

import io
import json
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    freePort,
    makeCertificate,
    requireModule,
    startMail,
    stop,
    waitForPort,
)

pytestmark = pytest.mark.interop

SINK = Path(__file__).with_name("aiosmtpd_sink.py")


class Sink:
    def __init__(self, folder: Path, port: int, process: subprocess.Popen[bytes]) -> None:
        self.folder = folder
        self.port = port
        self.process = process

    def messages(self) -> list[tuple[dict[str, Any], bytes]]:
        out = []
        for env in sorted(self.folder.glob("*.json")):
            out.append((json.loads(env.read_text()), env.with_suffix(".eml").read_bytes()))
        return out

    def waitFor(self, count: int, timeout: float = 30.0) -> list[tuple[dict[str, Any], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages()
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"only {len(self.messages())} of {count} messages arrived")


def startSink(folder: Path, port: int, *tls: str) -> Sink:
    requireModule("aiosmtpd")
    folder.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, str(SINK), str(port), str(folder), *tls],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(b"ready"), line
    return Sink(folder, port, process)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    s = startSink(tmp_path / "sink", freePort())
    yield s
    stop(s.process)


def reactorAndRun() -> tuple[Any, Any]:
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()

    def run(d: Any, timeout: float = 30.0) -> Any:
        box: list[Any] = []
        d.addBoth(lambda r: (box.append(r), reactor.stop()))
        if not box:
            reactor.callLater(timeout, reactor.stop)
            reactor.run(installSignalHandlers=False)
        assert box, "timed out"
        if hasattr(box[0], "raiseException"):
            box[0].raiseException()
        return box[0]

    return reactor, run


def test_sendmailToAiosmtpd(sink: Sink) -> None:
    from glisten.mail import smtp

    reactor, run = reactorAndRun()
    message = "Subject: to aiosmtpd\r\n\r\n.dotted\r\nGrüße\r\n".encode()
    d = smtp.sendmail(
        "127.0.0.1",
        "me@glisten.test",
        ["a@sink.test", "b@sink.test"],
        message,
        port=sink.port,
        reactor=reactor,
    )
    numOk, results = run(d)
    assert numOk == 2 and [r[1] for r in results] == [250, 250]
    [(env, content)] = sink.waitFor(1)
    assert env["from"] == "me@glisten.test" and env["to"] == ["a@sink.test", "b@sink.test"]
    assert "BODY=8BITMIME" in env["mail_options"]
    assert content == message


def test_esmtpSenderStartTLSAndAuth(tmp_path: Path) -> None:
    from glisten.internet import defer, ssl
    from glisten.mail import smtp

    both = makeCertificate(tmp_path)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert both.exists()
    s = startSink(tmp_path / "sink", freePort(), str(cert), str(key), "alice", "pw")
    try:
        reactor, run = reactorAndRun()
        d: defer.Deferred[Any] = defer.Deferred()
        trust = ssl.Certificate.loadPEM(cert.read_bytes())
        f = smtp.ESMTPSenderFactory(
            "alice",
            "pw",
            "alice@glisten.test",
            "x@sink.test",
            io.BytesIO(b"Subject: secure\r\n\r\nhi\r\n"),
            d,
            retries=0,
            contextFactory=ssl.optionsForClientTLS("127.0.0.1", trustRoot=trust),
        )
        reactor.connectTCP("127.0.0.1", s.port, f)
        numOk, _ = run(d)
        assert numOk == 1
        [(env, _content)] = s.waitFor(1)
        assert env["tls"] and env["auth"]
        # Wrong password: the client reports AUTHDeclinedError.
        reactor, run = reactorAndRun()
        d = defer.Deferred()
        f = smtp.ESMTPSenderFactory(
            "alice",
            "bad",
            "alice@glisten.test",
            "x@sink.test",
            io.BytesIO(b"x"),
            d,
            retries=0,
            contextFactory=ssl.optionsForClientTLS("127.0.0.1", trustRoot=trust),
        )
        reactor.connectTCP("127.0.0.1", s.port, f)
        with pytest.raises(smtp.AUTHDeclinedError):
            run(d)
    finally:
        stop(s.process)


def test_manyRecipientsPipelined(sink: Sink) -> None:
    from glisten.mail import smtp

    reactor, run = reactorAndRun()
    rcpts = [f"user{i}@sink.test" for i in range(50)]
    numOk, _ = run(
        smtp.sendmail(
            "127.0.0.1",
            "me@glisten.test",
            rcpts,
            b"Subject: many\r\n\r\n",
            port=sink.port,
            reactor=reactor,
        )
    )
    assert numOk == 50
    assert sink.waitFor(1)[0][0]["to"] == rcpts


def test_relayThroughQueueToAiosmtpd(tmp_path: Path) -> None:
    """glisten mail queues mail from a trusted client and relays it; the relay target is
    down at first, and the queue holds the message until it comes up."""
    sinkPort, smtpPort = freePort(), freePort()
    folder = tmp_path / "glisten"
    folder.mkdir()
    process = startMail(
        folder,
        "--smtp",
        f"tcp:{smtpPort}:interface=127.0.0.1",
        "--esmtp",
        "--relay",
        str(folder / "queue"),
        "--smarthost",
        f"127.0.0.1:{sinkPort}",
        "--relay-interval",
        "0.2",
        "--relay-retry",
        "0.3",
    )
    sink = None
    try:
        waitForPort(smtpPort, process)
        with smtplib.SMTP("127.0.0.1", smtpPort, timeout=20) as c:
            c.sendmail("me@origin.test", ["far@away.test"], b"Subject: relayed\r\n\r\nbody\r\n")
        queue = folder / "queue"
        assert [p.name for p in queue.iterdir() if p.name.endswith("-H")]
        # Wait until at least one attempt failed (the envelope counts attempts).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            heads = [json.loads(p.read_text()) for p in queue.glob("*-H")]
            if heads and heads[0]["attempts"] >= 1:
                break
            time.sleep(0.1)
        assert heads[0]["attempts"] >= 1
        sink = startSink(tmp_path / "sink", sinkPort)
        [(env, content)] = sink.waitFor(1)
        assert env["from"] == "me@origin.test" and env["to"] == ["far@away.test"]
        assert content.endswith(b"Subject: relayed\r\n\r\nbody\r\n")
        assert content.startswith(b"Received: from ")
        deadline = time.monotonic() + 10
        while list(queue.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(queue.iterdir()) == []
    finally:
        stop(process)
        if sink is not None:
            stop(sink.process)
